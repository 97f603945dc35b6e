//! The signing-state file, `signing_state.json` in the home directory beside the key and
//! outside `data/` (CometBFT's `priv_validator_state.json`): the highest (height, round, step)
//! this validator signed, written atomically and fsynced before a signature leaves the process.
//! Wiping `data/` or importing an older snapshot leaves it in place, so the engine refuses to
//! sign again at those heights (`cairn_engine::first_signable_height`).
use super::wal::sync_dir;
use anyhow::{Context, Result};
use cairn_engine::SignPoint;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

pub struct SignStateFile {
    path: PathBuf,
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
        Ok((SignStateFile { path: path.to_path_buf() }, saved))
    }

    /// Replaces the file with `point`: a temporary file (0600), fsync, rename, fsync of the
    /// directory.
    pub fn save(&mut self, point: SignPoint) -> Result<()> {
        let tmp = self.path.with_extension("json.tmp");
        let mut f = std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(&tmp)?;
        f.write_all(serde_json::to_string(&point)?.as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&tmp, &self.path)?;
        sync_dir(self.path.parent().unwrap_or(Path::new(".")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saved_points_survive_reopen_and_garbage_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("signing_state.json");
        let (mut f, saved) = SignStateFile::open(&path).unwrap();
        assert_eq!(saved, None);
        let p = SignPoint { height: 7, round: 1, step: 2 };
        f.save(p).unwrap();
        assert_eq!(SignStateFile::open(&path).unwrap().1, Some(p));
        std::fs::write(&path, "{").unwrap();
        assert!(SignStateFile::open(&path).is_err());
    }
}
