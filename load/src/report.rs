//! The load report of SPEC §7, as JSON or for people.
use hdrhistogram::Histogram;
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Serialize)]
pub struct Latency {
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
    pub max: f64,
}

#[derive(Debug, Serialize)]
pub struct Report {
    pub target_tps: u64,
    pub duration_s: f64,
    /// Sends, each answered as accepted or rejected; includes the `resent` ones.
    pub submitted: u64,
    /// Sends of txs refused earlier as `nonce_too_high` or `mempool_full` (an extension of
    /// SPEC §7's report).
    pub resent: u64,
    pub accepted: u64,
    pub rejected: u64,
    pub committed: u64,
    pub tps_committed: f64,
    pub latency_ms: Latency,
    pub rejected_by_reason: BTreeMap<String, u64>,
}

/// The committed txs first sent in one second of a run, and their latency to finality.
#[derive(Debug, Clone, Serialize)]
pub struct SecondLatency {
    /// Seconds since the run's first send.
    pub second: u64,
    pub committed: u64,
    pub latency_ms: Latency,
}

impl Latency {
    /// Percentiles of a histogram recorded in microseconds, reported in milliseconds.
    pub fn from_histogram(h: &Histogram<u64>) -> Self {
        let ms = |v: u64| (v as f64 / 1000.0 * 100.0).round() / 100.0;
        if h.is_empty() {
            return Latency { p50: 0.0, p95: 0.0, p99: 0.0, max: 0.0 };
        }
        Latency {
            p50: ms(h.value_at_quantile(0.50)),
            p95: ms(h.value_at_quantile(0.95)),
            p99: ms(h.value_at_quantile(0.99)),
            max: ms(h.max()),
        }
    }
}

impl Report {
    pub fn human(&self) -> String {
        let mut s = format!(
            "target {} tx/s for {:.1} s: submitted {} ({} sent again), accepted {}, rejected {}, committed {}\n\
             committed throughput {:.0} tx/s\n\
             latency to finality (ms): p50 {} · p95 {} · p99 {} · max {}\n",
            self.target_tps,
            self.duration_s,
            self.submitted,
            self.resent,
            self.accepted,
            self.rejected,
            self.committed,
            self.tps_committed,
            self.latency_ms.p50,
            self.latency_ms.p95,
            self.latency_ms.p99,
            self.latency_ms.max
        );
        for (reason, n) in &self.rejected_by_reason {
            s += &format!("rejected {reason}: {n}\n");
        }
        s
    }
}
