//! The signing-state file, `signing_state.json` in the home directory beside the key and
//! outside `data/` (CometBFT's `priv_validator_state.json`): the highest (height, round, step)
//! this validator signed, written atomically and fsynced before a signature leaves the process.
//! Wiping `data/` or importing an older snapshot leaves it in place, so the engine refuses to
//! sign again at those heights (`cairn_engine::first_signable_height`).
//!
//! The file is the JSON padded with spaces to `SLOT` bytes, overwritten in place: one
//! `fdatasync` of a file whose size never changes writes one sector and no filesystem journal,
//! where a rename costs two journal commits (file and directory). A validator signs twice or
//! three times a height, so this was 4-6 of the ≈ 13 fsyncs a height cost on the consensus
//! thread. The write is one sector, which disks write whole (PostgreSQL's `pg_control` relies
//! on the same); a torn one would fail to parse, and the node refuses to start rather than
//! sign without it. A file of another length (first save, older builds) is replaced atomically.
use super::wal::sync_dir;
use anyhow::{Context, Result};
use cairn_engine::SignPoint;
use std::fs::File;
use std::io::Write;
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// The file's fixed length: the JSON of any point and its padding, within one 512-byte sector.
const SLOT: usize = 128;

pub struct SignStateFile {
    path: PathBuf,
    /// Open for in-place writes once the file has the `SLOT` layout.
    in_place: Option<File>,
}

impl SignStateFile {
    /// Opens the file at `path` and returns the point it holds (none if it does not exist). A
    /// file that does not parse is an error: starting without it could mean signing twice.
    pub fn open(path: &Path) -> Result<(Self, Option<SignPoint>)> {
        let saved = match std::fs::read_to_string(path) {
            Ok(text) => Some(serde_json::from_str(&text).with_context(|| {
                format!(
                    "signing state {} does not parse; it guards against double-signing, so fix or restore it",
                    path.display()
                )
            })?),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(e).with_context(|| format!("cannot read signing state {}", path.display())),
        };
        let in_place = match std::fs::metadata(path) {
            Ok(m) if m.len() == SLOT as u64 => Some(Self::open_in_place(path)?),
            _ => None,
        };
        Ok((SignStateFile { path: path.to_path_buf(), in_place }, saved))
    }

    fn open_in_place(path: &Path) -> Result<File> {
        std::fs::OpenOptions::new()
            .write(true)
            .open(path)
            .with_context(|| format!("cannot open signing state {} for writing", path.display()))
    }

    /// Persists `point` before returning: in place with one `fdatasync`, or (the first time)
    /// through a temporary file (0600), fsync, rename and fsync of the directory.
    pub fn save(&mut self, point: SignPoint) -> Result<()> {
        let slot = Self::slot(point)?;
        if let Some(f) = &self.in_place {
            f.write_all_at(&slot, 0)?;
            return f.sync_data().context("fsync of the signing state failed");
        }
        let tmp = self.path.with_extension("json.tmp");
        let mut f = std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(&tmp)?;
        f.write_all(&slot)?;
        f.sync_all()?;
        std::fs::rename(&tmp, &self.path)?;
        sync_dir(self.path.parent().unwrap_or(Path::new(".")))?;
        self.in_place = Some(Self::open_in_place(&self.path)?);
        Ok(())
    }

    /// `point` as JSON padded with spaces (still JSON) to `SLOT` bytes.
    fn slot(point: SignPoint) -> Result<Vec<u8>> {
        let mut slot = serde_json::to_vec(&point)?;
        anyhow::ensure!(slot.len() < SLOT, "signing state {} bytes long, over {SLOT}", slot.len());
        slot.resize(SLOT - 1, b' ');
        slot.push(b'\n');
        Ok(slot)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_of_an_older_build_is_read_then_replaced_by_the_fixed_layout() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("signing_state.json");
        std::fs::write(&path, r#"{"height":3,"round":0,"step":2}"#).unwrap();
        let (mut f, saved) = SignStateFile::open(&path).unwrap();
        assert_eq!(saved, Some(SignPoint { height: 3, round: 0, step: 2 }));
        let p = SignPoint { height: 4, round: 0, step: 0 };
        f.save(p).unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().len(), SLOT as u64);
        assert_eq!(SignStateFile::open(&path).unwrap().1, Some(p));
    }

    #[test]
    fn saved_points_survive_reopen_and_garbage_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("signing_state.json");
        let (mut f, saved) = SignStateFile::open(&path).unwrap();
        assert_eq!(saved, None);
        let p = SignPoint { height: 7, round: 1, step: 2 };
        f.save(p).unwrap();
        assert_eq!(SignStateFile::open(&path).unwrap().1, Some(p));
        // Later saves overwrite in place, through this handle or a reopened one.
        let q = SignPoint { height: 8, round: 0, step: 1 };
        f.save(q).unwrap();
        assert_eq!(SignStateFile::open(&path).unwrap().1, Some(q));
        let (mut g, _) = SignStateFile::open(&path).unwrap();
        let widest = SignPoint { height: u64::MAX, round: u32::MAX, step: u8::MAX };
        g.save(widest).unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().len(), SLOT as u64);
        assert_eq!(SignStateFile::open(&path).unwrap().1, Some(widest));
        std::fs::write(&path, "{").unwrap();
        assert!(SignStateFile::open(&path).is_err());
    }
}
