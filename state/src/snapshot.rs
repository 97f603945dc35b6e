//! Backup and restore: a snapshot is a RocksDB checkpoint (a consistent copy of every column
//! family, hard-linked where the filesystem allows). Importing copies it into place and opens
//! it, which recomputes the state root from every account and checks it against the
//! committed one, so a damaged or doctored snapshot is refused.
use crate::{State, StateConfig, StateError};
use cairn_proto::Hash;
use rocksdb::checkpoint::Checkpoint;
use std::path::Path;

/// What a snapshot holds.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SnapshotInfo {
    pub height: u64,
    pub state_root: Hash,
}

impl State {
    /// Writes a snapshot of the committed state into `dir`, which must not exist yet.
    pub fn export_snapshot(&self, dir: &Path) -> Result<SnapshotInfo, StateError> {
        // Holding the writer lock makes the reported height the snapshot's height.
        let _writer = self.inner.commit_lock.lock();
        Checkpoint::new(&self.inner.db.db)?.create_checkpoint(dir)?;
        Ok(SnapshotInfo { height: self.latest_height(), state_root: self.state_root() })
    }

    /// Restores the snapshot in `snapshot` into `target` (absent or empty) and opens it. With
    /// `expected_root`, also requires the snapshot's state root to be that one. On failure,
    /// the copied files are removed again.
    pub fn import_snapshot(
        snapshot: &Path,
        target: &Path,
        config: StateConfig,
        expected_root: Option<&Hash>,
    ) -> Result<State, StateError> {
        if std::fs::read_dir(target).is_ok_and(|mut d| d.next().is_some()) {
            return Err(StateError::Snapshot(format!("target {} is not empty", target.display())));
        }
        std::fs::create_dir_all(target).map_err(io_err(target))?;
        let result = (|| {
            for entry in std::fs::read_dir(snapshot).map_err(io_err(snapshot))? {
                let entry = entry.map_err(io_err(snapshot))?;
                if entry.file_type().map_err(io_err(&entry.path()))?.is_file() {
                    std::fs::copy(entry.path(), target.join(entry.file_name())).map_err(io_err(&entry.path()))?;
                }
            }
            let state = State::open(target, config)?;
            match expected_root {
                Some(root) if state.state_root() != *root => Err(StateError::Snapshot(format!(
                    "snapshot root {} at height {} is not the expected {root}",
                    state.state_root(),
                    state.latest_height()
                ))),
                _ => Ok(state),
            }
        })();
        if result.is_err() {
            let _ = std::fs::remove_dir_all(target);
        }
        result
    }
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> StateError + '_ {
    move |source| StateError::Io { path: path.to_owned(), source }
}
