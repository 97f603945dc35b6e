//! The consensus write-ahead log: every own vote and proposal is appended and fsynced before
//! it is sent, so that a restarted validator replays what it signed and never signs anything
//! different for the same height, round and step.
//!
//! File format: records of `[len: u32 LE][check: 4 bytes = blake3(payload)[..4]][payload]`.
//! A torn last record (a crash mid-append: it runs past the end of the file, or it is the last
//! one and fails its check) is dropped and everything before it kept. A record that fails its
//! check with more records after it is not a torn append but corruption: opening fails with a
//! clear error instead of silently cutting what follows (it may hold our own signatures). After
//! a block commits the log is truncated (atomically). The directory is fsynced after the file
//! is created, so it cannot be lost in a crash.
use anyhow::{bail, Context, Result};
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

pub struct Wal {
    path: PathBuf,
    file: File,
}

fn check(payload: &[u8]) -> [u8; 4] {
    let h = blake3::hash(payload);
    [h.as_bytes()[0], h.as_bytes()[1], h.as_bytes()[2], h.as_bytes()[3]]
}

impl Wal {
    /// Opens (creating) the log and returns it with the intact records it holds.
    pub fn open(path: &Path) -> Result<(Wal, Vec<Vec<u8>>)> {
        let dir = path.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir)?;
        let mut bytes = vec![];
        let existed = path.exists();
        if existed {
            File::open(path)?.read_to_end(&mut bytes).with_context(|| format!("reading WAL {}", path.display()))?;
        }
        let (records, intact) = Self::parse(&bytes);
        if Self::more_after(&bytes, intact) {
            bail!(
                "consensus WAL {} is corrupt at byte {intact} of {}: a record fails its checksum and more \
                 records follow it. Refusing to start, as the records after it may hold this validator's \
                 signatures; restore the file or move it away only if you know this validator signed \
                 nothing at the height being decided",
                path.display(),
                bytes.len()
            );
        }
        if intact < bytes.len() {
            tracing::warn!(dropped = bytes.len() - intact, "WAL ends in a torn record; dropping it");
            let f = OpenOptions::new().write(true).open(path)?;
            f.set_len(intact as u64)?;
            f.sync_all()?;
        }
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        if !existed {
            sync_dir(dir)?;
        }
        Ok((Wal { path: path.to_path_buf(), file }, records))
    }

    /// Whether a well-framed record starts right after the bad one at `at`: then the bad one
    /// is not a torn tail.
    fn more_after(bytes: &[u8], at: usize) -> bool {
        let Some(len) = bytes.get(at..at + 4).map(|b| u32::from_le_bytes(b.try_into().expect("4 bytes")) as usize)
        else {
            return false;
        };
        let next = at + 8 + len;
        next < bytes.len() && Self::parse(&bytes[next..]).1 > 0
    }

    /// The intact records and how many leading bytes they span.
    fn parse(bytes: &[u8]) -> (Vec<Vec<u8>>, usize) {
        let mut out = vec![];
        let mut at = 0;
        while bytes.len() - at >= 8 {
            let len = u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4 bytes")) as usize;
            let Some(payload) = bytes.get(at + 8..at + 8 + len) else { break };
            if bytes[at + 4..at + 8] != check(payload) {
                break;
            }
            out.push(payload.to_vec());
            at += 8 + len;
        }
        (out, at)
    }

    /// Appends one record; with `sync`, fsyncs (this record and all before it) before returning.
    pub fn append(&mut self, payload: &[u8], sync: bool) -> Result<()> {
        let mut rec = Vec::with_capacity(payload.len() + 8);
        rec.extend_from_slice(&(payload.len() as u32).to_le_bytes());
        rec.extend_from_slice(&check(payload));
        rec.extend_from_slice(payload);
        self.file.write_all(&rec)?;
        if sync {
            self.file.sync_data().context("fsync of the consensus WAL failed")?;
        }
        Ok(())
    }

    /// Drops every record (after a commit made them obsolete): an atomic truncation, not
    /// fsynced by itself. Lost in a crash, it leaves the records of a committed height, which
    /// the engine's replay skips (it takes only those of the height after the tip); the next
    /// synced append makes it durable with that record. The rename it replaced cost two
    /// journal commits per height on the consensus thread.
    pub fn reset(&mut self) -> Result<()> {
        self.file.set_len(0).with_context(|| format!("cannot truncate the consensus WAL {}", self.path.display()))
    }
}

/// Fsyncs a directory, so that a file created or renamed in it survives a crash.
pub fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir).and_then(|d| d.sync_all()).with_context(|| format!("fsync of directory {}", dir.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_survive_reopen_and_a_torn_tail_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.wal");
        let (mut w, recs) = Wal::open(&path).unwrap();
        assert!(recs.is_empty());
        w.append(b"one", true).unwrap();
        w.append(b"two", true).unwrap();
        drop(w);
        // A crash mid-append: half a record at the end.
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(&[9, 0, 0, 0, 1, 2]).unwrap();
        let (mut w, recs) = Wal::open(&path).unwrap();
        assert_eq!(recs, vec![b"one".to_vec(), b"two".to_vec()]);
        w.append(b"three", true).unwrap();
        drop(w);
        let (mut w, recs) = Wal::open(&path).unwrap();
        assert_eq!(recs.len(), 3);
        w.reset().unwrap();
        drop(w);
        assert!(Wal::open(&path).unwrap().1.is_empty());
    }

    #[test]
    fn a_corrupted_last_record_is_a_torn_tail() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.wal");
        let (mut w, _) = Wal::open(&path).unwrap();
        w.append(b"good", true).unwrap();
        w.append(b"flipped", true).unwrap();
        drop(w);
        let mut bytes = std::fs::read(&path).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        std::fs::write(&path, bytes).unwrap();
        assert_eq!(Wal::open(&path).unwrap().1, vec![b"good".to_vec()]);
    }

    #[test]
    fn a_corrupted_record_in_the_middle_stops_the_node() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.wal");
        let (mut w, _) = Wal::open(&path).unwrap();
        for r in [&b"first"[..], b"second", b"third"] {
            w.append(r, true).unwrap();
        }
        drop(w);
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[8 + 5 + 8] ^= 1; // the first byte of "second"
        std::fs::write(&path, &bytes).unwrap();
        let err = Wal::open(&path).err().expect("corruption is an error");
        assert!(format!("{err:#}").contains("corrupt at byte 13"), "{err:#}");
        assert_eq!(std::fs::read(&path).unwrap(), bytes, "nothing was cut");
    }
}
