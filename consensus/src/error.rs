//! The crate's one error type. `Consensus::handle` itself never fails: bad messages from the
//! network are counted and dropped (see `ConsensusStats`), so errors only come from decoding
//! the WAL and registering metrics.
use thiserror::Error;

#[derive(Debug, Error)]
pub enum ConsensusError {
    #[error("WAL entry does not decode: {reason}")]
    WalDecode { reason: String },
    #[error("cannot register metric `{name}`: {source}")]
    Metrics { name: &'static str, source: prometheus::Error },
}
