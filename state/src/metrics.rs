//! The state store's Prometheus metrics.
use prometheus::{Histogram, HistogramOpts, IntCounterVec, IntGauge, Opts, Registry};

pub struct Metrics {
    /// SPEC §6: time to execute and persist one block.
    pub commit_duration: Histogram,
    pub height: IntGauge,
    pub accounts: IntGauge,
    /// Executed transactions by `result` (`success` / `failed`).
    pub txs: IntCounterVec,
    pub oldest: IntGauge,
}

impl Metrics {
    pub fn new(registry: &Registry) -> Result<Self, prometheus::Error> {
        let buckets = vec![0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5];
        let m = Metrics {
            commit_duration: Histogram::with_opts(
                HistogramOpts::new("cairn_state_commit_duration_seconds", "Time to execute and persist a block")
                    .buckets(buckets),
            )?,
            height: IntGauge::new("cairn_state_height", "Latest committed height")?,
            accounts: IntGauge::new("cairn_state_accounts", "Accounts in the latest state")?,
            txs: IntCounterVec::new(
                Opts::new("cairn_state_executed_txs_total", "Executed transactions by result"),
                &["result"],
            )?,
            oldest: IntGauge::new("cairn_state_oldest_retained_height", "Oldest height still readable")?,
        };
        registry.register(Box::new(m.commit_duration.clone()))?;
        registry.register(Box::new(m.height.clone()))?;
        registry.register(Box::new(m.accounts.clone()))?;
        registry.register(Box::new(m.txs.clone()))?;
        registry.register(Box::new(m.oldest.clone()))?;
        Ok(m)
    }
}
