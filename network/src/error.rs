//! The crate's one error type.
use libp2p::PeerId;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum NetworkError {
    #[error("invalid network config: {reason}")]
    Config { reason: String },
    #[error("cannot listen on {addr}: {reason}")]
    Listen { addr: String, reason: String },
    #[error("cannot build the libp2p {component}: {reason}")]
    Setup { component: &'static str, reason: String },
    #[error("block sync request to {peer} failed: {reason}")]
    Request { peer: PeerId, reason: String },
    #[error("the network task has stopped")]
    Stopped,
}
