#![doc = include_str!("../README.md")]

mod accounts;
mod chunks;
mod commit;
mod config;
mod db;
mod error;
mod exec;
pub mod failpoint;
mod index;
mod metrics;
mod proof;
mod restore;
mod schema;
mod snapshot;
mod staking;
mod state;
pub mod tree;

pub use chunks::{ChunkError, ChunkSummary, SnapshotChunk, SnapshotManifest, CHUNKS, CHUNK_PREFIX_BITS};
pub use commit::CommitOutcome;
pub use config::StateConfig;
pub use error::StateError;
pub use exec::{
    BlockContext, Receipt, BALANCE_OVERFLOW, BELOW_MIN_STAKE, INSUFFICIENT_STAKE, LAST_VALIDATOR, NONCE_OVERFLOW,
    UNKNOWN_SENDER, ZERO_AMOUNT,
};
pub use proof::{verify_account_proof, verify_proof, AccountProof, OtherLeaf, ProofError, Proven, MAX_DEPTH};
pub use restore::Restore;
pub use schema::{TxLocation, ALL_CFS as COLUMN_FAMILIES};
pub use snapshot::SnapshotInfo;
pub use state::State;
