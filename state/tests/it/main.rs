//! Integration tests of cairn-state (one binary).
mod background;
mod chunks;
mod commit;
mod common;
mod concurrency;
mod corruption;
mod crash;
mod proofs;
mod pruning;
mod snapshot;
mod staking;
mod tree_model;
