//! The mempool's Prometheus metrics (SPEC §6 names: `cairn_mempool_size`, `cairn_mempool_bytes`,
//! `cairn_mempool_rejected_total{reason}`; and `cairn_mempool_capacity`, which alerts divide the
//! size by). Label children are resolved once at construction so
//! the admission path only touches atomics.
use crate::Origin;
use cairn_proto::RejectReason;
use prometheus::{IntCounter, IntCounterVec, IntGauge, Opts, Registry};

/// Why a pending transaction left the pool without being committed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum EvictCause {
    /// Pushed out by a higher-fee transaction when full.
    Capacity,
    /// Older than the TTL.
    Expired,
    /// No longer payable after a commit changed the sender's balance.
    Balance,
    /// Replaced by a higher-fee transaction with the same (sender, nonce).
    Replaced,
}

impl EvictCause {
    const ALL: [EvictCause; 4] = [EvictCause::Capacity, EvictCause::Expired, EvictCause::Balance, EvictCause::Replaced];
    fn label(self) -> &'static str {
        match self {
            EvictCause::Capacity => "capacity",
            EvictCause::Expired => "expired",
            EvictCause::Balance => "balance",
            EvictCause::Replaced => "replaced",
        }
    }
}

pub(crate) struct Metrics {
    pub size: IntGauge,
    pub bytes: IntGauge,
    rejected: Vec<IntCounter>,
    admitted: [IntCounter; 2],
    evicted: Vec<IntCounter>,
    pub committed_removed: IntCounter,
    pub gossip_dropped: IntCounter,
}

impl Metrics {
    /// Registers every metric; `capacity` is the configured `max_txs`.
    pub fn new(registry: &Registry, capacity: usize) -> Result<Self, prometheus::Error> {
        let size = IntGauge::new("cairn_mempool_size", "Transactions in the mempool")?;
        let capacity_gauge =
            IntGauge::new("cairn_mempool_capacity", "Most transactions the mempool holds (mempool.max_txs)")?;
        capacity_gauge.set(i64::try_from(capacity).unwrap_or(i64::MAX));
        let bytes = IntGauge::new("cairn_mempool_bytes", "Encoded bytes of the transactions in the mempool")?;
        let rejected = IntCounterVec::new(
            Opts::new("cairn_mempool_rejected_total", "Transactions refused by the mempool, by SPEC reason"),
            &["reason"],
        )?;
        let admitted = IntCounterVec::new(
            Opts::new("cairn_mempool_admitted_total", "Transactions admitted to the mempool, by origin"),
            &["origin"],
        )?;
        let evicted = IntCounterVec::new(
            Opts::new("cairn_mempool_evicted_total", "Pending transactions dropped before commit, by cause"),
            &["cause"],
        )?;
        let committed_removed = IntCounter::new(
            "cairn_mempool_committed_removed_total",
            "Pending transactions removed because their (sender, nonce) was committed",
        )?;
        let gossip_dropped = IntCounter::new(
            "cairn_mempool_gossip_dropped_total",
            "Locally admitted transactions not gossiped because the gossip channel was full",
        )?;
        registry.register(Box::new(size.clone()))?;
        registry.register(Box::new(bytes.clone()))?;
        registry.register(Box::new(capacity_gauge))?;
        registry.register(Box::new(rejected.clone()))?;
        registry.register(Box::new(admitted.clone()))?;
        registry.register(Box::new(evicted.clone()))?;
        registry.register(Box::new(committed_removed.clone()))?;
        registry.register(Box::new(gossip_dropped.clone()))?;
        Ok(Metrics {
            size,
            bytes,
            // Every label value exists from the start, so dashboards see zeros, not gaps.
            rejected: RejectReason::ALL.iter().map(|r| rejected.with_label_values(&[r.name()])).collect(),
            admitted: [Origin::Local, Origin::Peer].map(|o| admitted.with_label_values(&[o.label()])),
            evicted: EvictCause::ALL.iter().map(|c| evicted.with_label_values(&[c.label()])).collect(),
            committed_removed,
            gossip_dropped,
        })
    }

    pub fn rejected(&self, reason: RejectReason) {
        let i = RejectReason::ALL.iter().position(|r| *r == reason).unwrap_or(0);
        self.rejected[i].inc();
    }

    pub fn admitted(&self, origin: Origin, n: u64) {
        self.admitted[origin as usize].inc_by(n);
    }

    pub fn evicted(&self, cause: EvictCause, n: u64) {
        self.evicted[cause as usize].inc_by(n);
    }
}
