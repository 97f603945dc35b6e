//! The consensus write-ahead log: every own vote and proposal is appended and fsynced before
//! it is sent, so that a restarted validator replays what it signed and never signs anything
//! different for the same height, round and step.
//!
//! File format: records of `[len: u32 LE][check: 4 bytes = blake3(payload)[..4]][payload]`.
//! A torn last record (a crash mid-append) is detected by its length or check and dropped;
//! everything before it is kept. After a block commits the log is rewritten empty (atomically,
//! via rename), since entries for decided heights are no longer needed.
use anyhow::{Context, Result};
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
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let mut bytes = vec![];
        if path.exists() {
            File::open(path)?.read_to_end(&mut bytes).with_context(|| format!("reading WAL {}", path.display()))?;
        }
        let (records, intact) = Self::parse(&bytes);
        if intact < bytes.len() {
            tracing::warn!(dropped = bytes.len() - intact, "WAL ends in a torn record; dropping it");
            let f = OpenOptions::new().write(true).open(path)?;
            f.set_len(intact as u64)?;
            f.sync_all()?;
        }
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        Ok((Wal { path: path.to_path_buf(), file }, records))
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

    /// Appends one record and fsyncs before returning.
    pub fn append(&mut self, payload: &[u8]) -> Result<()> {
        let mut rec = Vec::with_capacity(payload.len() + 8);
        rec.extend_from_slice(&(payload.len() as u32).to_le_bytes());
        rec.extend_from_slice(&check(payload));
        rec.extend_from_slice(payload);
        self.file.write_all(&rec)?;
        self.file.sync_data().context("fsync of the consensus WAL failed")?;
        Ok(())
    }

    /// Drops every record (after a commit made them obsolete), atomically.
    pub fn reset(&mut self) -> Result<()> {
        let tmp = self.path.with_extension("wal.tmp");
        File::create(&tmp)?.sync_all()?;
        std::fs::rename(&tmp, &self.path)?;
        self.file = OpenOptions::new().append(true).open(&self.path)?;
        Ok(())
    }
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
        w.append(b"one").unwrap();
        w.append(b"two").unwrap();
        drop(w);
        // A crash mid-append: half a record at the end.
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(&[9, 0, 0, 0, 1, 2]).unwrap();
        let (mut w, recs) = Wal::open(&path).unwrap();
        assert_eq!(recs, vec![b"one".to_vec(), b"two".to_vec()]);
        w.append(b"three").unwrap();
        drop(w);
        let (mut w, recs) = Wal::open(&path).unwrap();
        assert_eq!(recs.len(), 3);
        w.reset().unwrap();
        drop(w);
        assert!(Wal::open(&path).unwrap().1.is_empty());
    }

    #[test]
    fn a_corrupted_record_ends_the_log() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.wal");
        let (mut w, _) = Wal::open(&path).unwrap();
        w.append(b"good").unwrap();
        w.append(b"flipped").unwrap();
        drop(w);
        let mut bytes = std::fs::read(&path).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        std::fs::write(&path, bytes).unwrap();
        assert_eq!(Wal::open(&path).unwrap().1, vec![b"good".to_vec()]);
    }
}
