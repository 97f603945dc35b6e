//! The node's own metrics (the crates register theirs in the same registry).
use prometheus::{Histogram, HistogramOpts, IntCounter, Registry};

#[derive(Clone)]
pub struct NodeMetrics {
    pub block_interval: Histogram,
    pub committed_txs: IntCounter,
    pub state_commit: Histogram,
    pub synced_blocks: IntCounter,
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
            state_commit: Histogram::with_opts(
                HistogramOpts::new("cairn_state_commit_duration_seconds", "Execution and persistence of one block")
                    .buckets(vec![0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5]),
            )?,
            synced_blocks: IntCounter::new("cairn_sync_blocks_total", "Blocks applied from block sync")?,
        };
        registry.register(Box::new(m.block_interval.clone()))?;
        registry.register(Box::new(m.committed_txs.clone()))?;
        registry.register(Box::new(m.state_commit.clone()))?;
        registry.register(Box::new(m.synced_blocks.clone()))?;
        Ok(m)
    }
}
