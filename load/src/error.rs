//! The crate's error type: what can stop a client call, a load run or a benchmark.
//!
//! Causes are kept as text in the message (not as a `source` chain): every error here ends up
//! in front of a person at the command line, and the `cairn` binary prints the whole chain, so a
//! `source` would print each cause twice.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// An argument, or an input file's content, is unusable.
    #[error("{0}")]
    Input(String),
    /// A node answered a JSON-RPC call with an error object.
    #[error("{method} failed: {message} (code {code}) {data}")]
    Refused { method: String, message: String, code: i32, data: String },
    /// A node could not be reached, or the connection failed.
    #[error("{what}: {reason}")]
    Unreachable { what: String, reason: String },
    /// A node answered something this client cannot use.
    #[error("{0}")]
    Protocol(String),
    /// Reading or writing a local file failed.
    #[error("{what} {}: {reason}", path.display())]
    File { what: &'static str, path: PathBuf, reason: String },
    /// Setting up, running or stopping the benchmark's testnet failed.
    #[error("{0}")]
    Testnet(String),
}

impl LoadError {
    pub(crate) fn file(what: &'static str, path: &std::path::Path, e: impl std::fmt::Display) -> LoadError {
        LoadError::File { what, path: path.to_path_buf(), reason: e.to_string() }
    }
}

pub type Result<T, E = LoadError> = std::result::Result<T, E>;
