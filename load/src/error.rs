//! The crate's error type: what can stop a client call or a load run.
//!
//! Causes are kept as text in the message (not as a `source` chain): every error here ends up
//! in front of a person at the command line, and the `cairn` binary prints the whole chain, so a
//! `source` would print each cause twice.

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
}

pub type Result<T, E = LoadError> = std::result::Result<T, E>;
