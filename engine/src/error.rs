//! The crate's errors: a host failing to persist (fatal for the node), a block that is not
//! valid, a sync answer that is refused.
use thiserror::Error;

/// A host operation failed; the engine stops (a node must not go on after a failed fsync).
#[derive(Debug, Error)]
pub enum EngineError {
    #[error("committing block {height}: {reason}")]
    Commit { height: u64, reason: String },
    #[error("consensus WAL: {0}")]
    Wal(String),
    #[error("signing state: {0}")]
    SignState(String),
    /// A committed block's header names another next validator set than this node's own
    /// execution decided: its state diverged from the chain's (or the chain is broken).
    #[error("block {height} commits to validator set {header} for the next height, ours is {ours}")]
    ValidatorSetDiverged { height: u64, header: String, ours: String },
}

/// Why a proposed block may not extend the tip (Tendermint's `valid(v)` is false).
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum InvalidBlock {
    #[error("chain id {got:?} is not ours")]
    ChainId { got: String },
    #[error("height {got} does not follow the tip {tip}")]
    Height { got: u64, tip: u64 },
    #[error("parent {got} is not the tip {tip}")]
    Parent { got: String, tip: String },
    #[error("state root {got} is not ours {ours}")]
    StateRoot { got: String, ours: String },
    #[error("next validator set hash {got} is not ours {ours}")]
    NextValidators { got: String, ours: String },
    #[error("header proposer {0} is not a validator")]
    ProposerNotValidator(String),
    #[error("a fresh proposal's header names {header} as proposer, but {signer} signed it")]
    ProposerNotSigner { header: String, signer: String },
    #[error("time {time_ms} is not after the parent's {parent_ms}")]
    TimeNotAfterParent { time_ms: u64, parent_ms: u64 },
    #[error("time {time_ms} is ahead of our clock {now_ms} by more than {drift_ms} ms")]
    TimeAhead { time_ms: u64, now_ms: u64, drift_ms: u64 },
    #[error("time {time_ms} of a fresh proposal is behind our clock {now_ms} by more than {lag_ms} ms")]
    TimeBehind { time_ms: u64, now_ms: u64, lag_ms: u64 },
    #[error("{count} transactions, over the limit of {max}")]
    TooManyTxs { count: usize, max: usize },
    #[error("{bytes} bytes of transactions, over the limit of {max}")]
    TooManyBytes { bytes: usize, max: usize },
    #[error("transaction {hash} is for chain {chain_id:?}")]
    TxChainId { hash: String, chain_id: String },
}

/// Why a block-sync answer was refused (the peer sent it: lower its score).
#[derive(Debug, Error)]
pub enum SyncError {
    #[error("block {index} of the answer does not decode: {reason}")]
    Decode { index: usize, reason: String },
    #[error("block {index} is at height {got}, expected {expected}")]
    OutOfOrder { index: usize, got: u64, expected: u64 },
    #[error("block {height} has a bad certificate: {reason}")]
    Certificate { height: u64, reason: String },
    #[error("block {height} has a bad transaction: {reason}")]
    Transactions { height: u64, reason: String },
}
