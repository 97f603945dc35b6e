//! The crate's error type: what can go wrong starting the servers.
use std::net::SocketAddr;

/// Why the RPC servers could not start.
#[derive(Debug, thiserror::Error)]
pub enum RpcError {
    #[error("cannot bind the {server} server to {addr}: {source}")]
    Bind {
        server: &'static str,
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot register metric `{name}`: {source}")]
    Metrics {
        name: &'static str,
        #[source]
        source: prometheus::Error,
    },
    #[error("invalid configuration: {field}: {reason}")]
    Config { field: &'static str, reason: String },
    #[error("cannot set up the {what}: {reason}")]
    Setup { what: &'static str, reason: String },
}
