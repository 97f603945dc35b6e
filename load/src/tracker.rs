//! Counters and the send-time table shared by the senders and the finality watcher.
use crate::report::{Latency, SecondLatency};
use cairn_proto::Hash;
use hdrhistogram::Histogram;
use parking_lot::Mutex;
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Instant;

/// A tx a node admitted to its mempool: which endpoint (index into `--rpc`/`--grpc`) and when.
/// Kept so that a fault test can account for every admitted tx after the run.
#[derive(Debug, Clone, Copy)]
pub struct Admission {
    pub hash: Hash,
    pub endpoint: usize,
    pub at: Instant,
}

pub struct Tracker {
    admitted: Mutex<Vec<Admission>>,
    in_flight: Mutex<HashMap<Hash, Instant>>,
    latency_us: Mutex<Histogram<u64>>,
    rejected_by_reason: Mutex<BTreeMap<String, u64>>,
    pub submitted: AtomicU64,
    pub accepted: AtomicU64,
    pub rejected: AtomicU64,
    pub committed: AtomicU64,
    /// When the last of our txs was seen finalized.
    last_commit: Mutex<Option<Instant>>,
    /// The first send of the run: second `k` of the run starts `k` s after it.
    first_send: Mutex<Option<Instant>>,
    /// Latency of the committed txs by the second of the run in which they were first sent
    /// (2 significant digits: a per-second curve needs no more, and 60 of them stay small).
    by_second_us: Mutex<Vec<Histogram<u64>>>,
}

impl Default for Tracker {
    fn default() -> Self {
        Tracker {
            admitted: Mutex::default(),
            in_flight: Mutex::new(HashMap::new()),
            latency_us: Mutex::new(Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("valid bounds")),
            rejected_by_reason: Mutex::default(),
            submitted: AtomicU64::new(0),
            accepted: AtomicU64::new(0),
            rejected: AtomicU64::new(0),
            committed: AtomicU64::new(0),
            last_commit: Mutex::new(None),
            first_send: Mutex::new(None),
            by_second_us: Mutex::default(),
        }
    }
}

impl Tracker {
    /// Called just before a batch goes out: the latency clock starts here (at the first send of
    /// a tx that is sent again).
    pub fn sending(&self, hashes: impl Iterator<Item = Hash>) {
        let now = Instant::now();
        self.first_send.lock().get_or_insert(now);
        let mut m = self.in_flight.lock();
        let mut n = 0;
        for h in hashes {
            m.entry(h).or_insert(now);
            n += 1;
        }
        self.submitted.fetch_add(n, Relaxed);
    }

    pub fn accepted(&self, hash: Hash, endpoint: usize) {
        self.accepted.fetch_add(1, Relaxed);
        self.admitted.lock().push(Admission { hash, endpoint, at: Instant::now() });
    }

    /// Every admission so far, in the order the replies came.
    pub fn admitted(&self) -> Vec<Admission> {
        self.admitted.lock().clone()
    }

    pub fn rejected(&self, hash: &Hash, reason: String) {
        self.in_flight.lock().remove(hash);
        self.refused_for_now(reason);
    }

    /// A refusal of a tx that will be sent again: counted, and the tx stays in flight.
    pub fn refused_for_now(&self, reason: String) {
        self.rejected.fetch_add(1, Relaxed);
        *self.rejected_by_reason.lock().entry(reason).or_default() += 1;
    }

    /// A tx hash seen in a finalized block: records its latency if it is one of ours.
    pub fn finalized(&self, hash: &Hash, seen: Instant) {
        if let Some(sent) = self.in_flight.lock().remove(hash) {
            let us = seen.saturating_duration_since(sent).as_micros().max(1) as u64;
            self.latency_us.lock().saturating_record(us);
            let first = self.first_send.lock().unwrap_or(sent);
            let second = sent.saturating_duration_since(first).as_secs() as usize;
            let mut by_second = self.by_second_us.lock();
            if by_second.len() <= second {
                by_second.resize_with(second + 1, second_histogram);
            }
            by_second[second].saturating_record(us);
            self.committed.fetch_add(1, Relaxed);
            let mut last = self.last_commit.lock();
            *last = Some(last.map_or(seen, |l| l.max(seen)));
        }
    }

    /// When the last of our txs was seen finalized, if any was.
    pub fn last_commit(&self) -> Option<Instant> {
        *self.last_commit.lock()
    }

    pub fn pending(&self) -> usize {
        self.in_flight.lock().len()
    }

    pub fn latency(&self) -> Histogram<u64> {
        self.latency_us.lock().clone()
    }

    pub fn rejected_by_reason(&self) -> BTreeMap<String, u64> {
        self.rejected_by_reason.lock().clone()
    }

    /// Latency percentiles of the committed txs, by the second of the run they were first sent in.
    pub fn per_second(&self) -> Vec<SecondLatency> {
        let by_second = self.by_second_us.lock();
        by_second
            .iter()
            .enumerate()
            .map(|(second, h)| SecondLatency {
                second: second as u64,
                committed: h.len(),
                latency_ms: Latency::from_histogram(h),
            })
            .collect()
    }
}

fn second_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 3_600_000_000, 2).expect("valid bounds")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn last_commit_is_the_latest_finalization_of_our_own_txs() {
        let t = Tracker::default();
        let (a, b, stranger) = (Hash::of(b"a"), Hash::of(b"b"), Hash::of(b"c"));
        t.sending([a, b].into_iter());
        assert_eq!(t.last_commit(), None);
        let now = Instant::now();
        t.finalized(&b, now + Duration::from_millis(50));
        t.finalized(&a, now + Duration::from_millis(20));
        // A tx we did not send is not ours to count.
        t.finalized(&stranger, now + Duration::from_secs(9));
        assert_eq!(t.last_commit(), Some(now + Duration::from_millis(50)));
        assert_eq!((t.committed.load(Relaxed), t.pending()), (2, 0));
    }

    #[test]
    fn latency_is_grouped_by_the_second_of_the_first_send() {
        let t = Tracker::default();
        let (a, b, c) = (Hash::of(b"a"), Hash::of(b"b"), Hash::of(b"c"));
        t.sending([a].into_iter());
        std::thread::sleep(Duration::from_millis(1100));
        t.sending([b, c].into_iter());
        // A second send does not move the clock of a tx already in flight.
        t.sending([a].into_iter());
        let now = Instant::now();
        t.finalized(&b, now + Duration::from_millis(40));
        t.finalized(&c, now + Duration::from_millis(80));
        t.finalized(&a, now);
        let s = t.per_second();
        assert_eq!(s.iter().map(|s| (s.second, s.committed)).collect::<Vec<_>>(), vec![(0, 1), (1, 2)]);
        assert!(s[0].latency_ms.p50 >= 1100.0, "a waited since its first send: {:?}", s[0]);
        assert!(
            s[1].latency_ms.p50 >= 40.0 && s[1].latency_ms.max >= 80.0 && s[1].latency_ms.max < 1000.0,
            "{:?}",
            s[1]
        );
    }
}
