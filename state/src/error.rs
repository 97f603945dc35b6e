//! The crate's one error type.
use cairn_proto::Hash;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("rocksdb: {0}")]
    Db(#[from] rocksdb::Error),
    #[error("database at {path} is corrupt: {what}")]
    Corrupt { path: PathBuf, what: String },
    #[error(
        "database at {path} is in the format of an earlier cairn ({found}), which this build does not read: \
         create the node home again (or sync it from peers)"
    )]
    OldFormat { path: PathBuf, found: String },
    #[error("stored {what} does not decode: {reason}")]
    BadRecord { what: &'static str, reason: String },
    #[error("state root at height {height} is {computed}, but {expected} was committed")]
    RootMismatch { height: u64, expected: Hash, computed: Hash },
    #[error("block height {got} is not the next height {expected}")]
    WrongHeight { expected: u64, got: u64 },
    #[error("height {height} is above the latest height {latest}")]
    FutureHeight { height: u64, latest: u64 },
    #[error("height {height} was pruned; the oldest retained height is {oldest}")]
    Pruned { height: u64, oldest: u64 },
    #[error("genesis is not initialised")]
    NoGenesis,
    #[error("database holds genesis {stored}, not the given genesis {given}")]
    GenesisMismatch { stored: Hash, given: Hash },
    #[error("invalid genesis: {0}")]
    InvalidGenesis(String),
    #[error("block {height} is for chain {got}, this state is chain {expected}")]
    WrongChain { height: u64, expected: String, got: String },
    #[error("snapshot: {0}")]
    Snapshot(String),
    #[error("io on {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("writing the account index failed, commits are stopped: {0}")]
    Index(String),
    #[error("metrics: {0}")]
    Metrics(#[from] prometheus::Error),
}

impl StateError {
    pub(crate) fn bad_record(what: &'static str, reason: impl ToString) -> Self {
        StateError::BadRecord { what, reason: reason.to_string() }
    }
}
