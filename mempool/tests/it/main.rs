//! Integration tests of cairn-mempool: one binary, one module per concern.
mod admission;
mod commit;
mod common;
mod eviction;
mod gossip;
mod model;
mod peer;
mod reap;
mod stress;
