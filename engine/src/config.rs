//! The engine's configuration: the node's `[consensus]` section, serialized directly.
use cairn_consensus::ConsensusConfig;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Timeouts, block limits, clock bounds and the bounds on what peers can make us hold.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EngineConfig {
    /// Base propose timeout of round 0 (the idle proposer's `empty_block_interval_ms` is added).
    pub timeout_propose_ms: u64,
    pub timeout_prevote_ms: u64,
    pub timeout_precommit_ms: u64,
    /// Added to every step timeout per round number.
    pub timeout_delta_ms: u64,
    /// How often own messages of an undecided height are sent again.
    pub timeout_rebroadcast_ms: u64,
    /// When the pool is empty, the proposer waits up to this long for a transaction before
    /// proposing an empty block.
    pub empty_block_interval_ms: u64,
    pub max_block_txs: usize,
    pub max_block_bytes: usize,
    /// A proposal whose time is further than this ahead of our clock is invalid.
    pub max_clock_drift_ms: u64,
    /// A fresh proposal (not a re-proposal) whose time is further than this behind our clock is
    /// invalid: a proposer cannot stamp blocks in the past to slow the chain's clock down.
    pub max_clock_lag_ms: u64,
    /// Rounds above the current one that a validator may fill with votes (and the furthest
    /// round a proposal is kept for).
    pub max_future_rounds: u32,
    /// Messages of at most this many heights ahead are kept until we get there; further ones
    /// only trigger block sync.
    pub future_heights: u64,
    /// Bytes of future-height messages kept; one signer may hold at most its share
    /// (`future_buffer_bytes / validators`).
    pub future_buffer_bytes: usize,
    /// Future-height messages kept, whatever their size.
    pub future_buffer_messages: usize,
    /// Least time between two sync requests triggered by messages from later heights.
    pub sync_retry_ms: u64,
    /// Events (messages, timers, synced blocks) waiting for the engine's thread; when full,
    /// the network's decoders wait (backpressure).
    pub event_queue: usize,
    /// Threads decoding peers' consensus messages (and, as many again, admitting their tx
    /// batches) at one time.
    pub peer_workers: usize,
    /// Peers' tx batches waiting for an admission worker; one arriving when this many wait is
    /// dropped (counted), so that the consensus messages behind it never wait for admission.
    pub peer_tx_batches_waiting: usize,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            timeout_propose_ms: 3000,
            timeout_prevote_ms: 1000,
            timeout_precommit_ms: 1000,
            timeout_delta_ms: 500,
            timeout_rebroadcast_ms: 2000,
            empty_block_interval_ms: 1000,
            max_block_txs: 10_000,
            max_block_bytes: 4 << 20,
            max_clock_drift_ms: 2000,
            max_clock_lag_ms: 10_000,
            max_future_rounds: 2,
            future_heights: 2,
            future_buffer_bytes: 64 << 20,
            future_buffer_messages: 20_000,
            sync_retry_ms: 300,
            event_queue: 4096,
            peer_workers: 4,
            peer_tx_batches_waiting: 64,
        }
    }
}

impl EngineConfig {
    /// The state machine's configuration. `verify_signatures: false` only where every message
    /// was verified before (the node's gossip validator).
    pub fn consensus(&self, verify_signatures: bool) -> ConsensusConfig {
        let ms = Duration::from_millis;
        ConsensusConfig {
            timeout_propose: ms(self.timeout_propose_ms + self.empty_block_interval_ms),
            timeout_prevote: ms(self.timeout_prevote_ms),
            timeout_precommit: ms(self.timeout_precommit_ms),
            timeout_delta: ms(self.timeout_delta_ms),
            timeout_rebroadcast: ms(self.timeout_rebroadcast_ms),
            verify_signatures,
            max_future_rounds: self.max_future_rounds,
        }
    }

    /// Checks the values a node must not start with.
    pub fn check(&self) -> Result<(), String> {
        if self.max_block_txs == 0 || self.max_block_bytes == 0 {
            return Err("consensus.max_block_txs and consensus.max_block_bytes must be positive".into());
        }
        if self.future_buffer_messages == 0 || self.future_buffer_bytes == 0 {
            return Err("consensus.future_buffer_messages and future_buffer_bytes must be positive".into());
        }
        if self.event_queue == 0 || self.peer_workers == 0 || self.peer_tx_batches_waiting == 0 {
            return Err(
                "consensus.event_queue, consensus.peer_workers and consensus.peer_tx_batches_waiting must be positive"
                    .into(),
            );
        }
        Ok(())
    }
}
