//! The node's own metrics (the crates register theirs in the same registry: the state store
//! owns `cairn_state_commit_duration_seconds`, consensus its height and round).
use prometheus::{Histogram, HistogramOpts, IntCounter, Registry};

#[derive(Clone)]
pub struct NodeMetrics {
    pub block_interval: Histogram,
    pub committed_txs: IntCounter,
    pub synced_blocks: IntCounter,
    pub dropped_peer_batches: IntCounter,
}

impl NodeMetrics {
    pub fn new(registry: &Registry) -> prometheus::Result<Self> {
        let m = NodeMetrics {
            block_interval: Histogram::with_opts(
                HistogramOpts::new(
                    "cairn_consensus_block_interval_seconds",
                    "Time between the timestamps of consecutive finalized blocks",
                )
                .buckets(vec![0.05, 0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0, 30.0]),
            )?,
            committed_txs: IntCounter::new("cairn_consensus_committed_txs_total", "Transactions in finalized blocks")?,
            synced_blocks: IntCounter::new("cairn_sync_blocks_total", "Blocks applied from block sync")?,
            dropped_peer_batches: IntCounter::new(
                "cairn_mempool_peer_batches_dropped_total",
                "Peers' tx batches dropped unadmitted: consensus.peer_tx_batches_waiting were waiting already",
            )?,
        };
        registry.register(Box::new(m.block_interval.clone()))?;
        registry.register(Box::new(m.committed_txs.clone()))?;
        registry.register(Box::new(m.synced_blocks.clone()))?;
        registry.register(Box::new(m.dropped_peer_batches.clone()))?;
        Ok(m)
    }
}
