//! After a block commits: remove by (sender, nonce) and revalidate only the touched senders;
//! the periodic TTL sweep; and the set of recently committed hashes that refuses replays.
use crate::metrics::EvictCause;
use crate::sender::Entry;
use crate::{KeyHasher, Mempool};
use cairn_proto::{Account, Address, Hash, VerifiedTx};
use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::time::Instant;

/// The recently committed hashes, in two generations that each take up to half of `capacity`:
/// new hashes go into the current one; once it is full, the older one is emptied as a whole and
/// becomes the current one. So it remembers at least the last `capacity / 2` hashes and at most
/// `capacity`. Aging out a whole generation at once spares the lookup and removal per hash
/// that a FIFO costs (2.6 % of a validator's CPU at 20k tx/s went to that). Lookups are
/// lock-free and look in both; only `on_commit` (one caller: consensus) records.
pub(crate) struct RecentlyCommitted {
    generations: [papaya::HashSet<Hash, KeyHasher>; 2],
    /// Which generation takes new hashes, and how many it took; behind a mutex that only
    /// `record` takes.
    current: Mutex<(usize, usize)>,
    half: usize,
}

/// Both generations, pinned for a batch of lookups.
pub(crate) struct PinnedRecent<'a> {
    generations: [papaya::HashSetRef<'a, Hash, KeyHasher, papaya::LocalGuard<'a>>; 2],
}

impl PinnedRecent<'_> {
    pub fn contains(&self, hash: &Hash) -> bool {
        self.generations.iter().any(|g| g.contains(hash))
    }
}

impl RecentlyCommitted {
    pub fn new(capacity: usize) -> Self {
        let generation = || papaya::HashSet::with_hasher(KeyHasher::default());
        RecentlyCommitted { generations: [generation(), generation()], current: Mutex::new((0, 0)), half: capacity / 2 }
    }

    pub fn pin(&self) -> PinnedRecent<'_> {
        PinnedRecent { generations: [self.generations[0].pin(), self.generations[1].pin()] }
    }

    fn record(&self, hashes: impl Iterator<Item = Hash>) {
        if self.half == 0 {
            return; // `recent_committed` below 2: remember none
        }
        let mut current = self.current.lock();
        let (mut index, mut count) = *current;
        let mut set = self.generations[index].pin();
        for h in hashes {
            if count == self.half {
                // The older generation goes; it becomes the current one, empty.
                index = 1 - index;
                count = 0;
                set = self.generations[index].pin();
                set.clear();
            }
            count += usize::from(set.insert(h));
        }
        *current = (index, count);
    }
}

impl Mempool {
    /// After a block commits: drops its txs and every pending (sender, nonce < new nonce), and
    /// revalidates the balance of only the senders in `touched` (new account values) and the
    /// senders of `committed`. Costs O(touched senders' queues), never a full recheck.
    ///
    /// Call it after the new state is readable through the `AccountSource`.
    pub fn on_commit(&self, committed: &[VerifiedTx], touched: &[(Address, Account)]) {
        // Before anything else: a queue being created concurrently re-reads its account.
        self.commit_epoch.fetch_add(1, Ordering::SeqCst);
        self.recent.record(committed.iter().map(VerifiedTx::hash));
        let mut updates: HashMap<Address, Option<Account>, KeyHasher> =
            HashMap::with_capacity_and_hasher(touched.len() + committed.len(), KeyHasher::default());
        updates.extend(touched.iter().map(|(a, acc)| (*a, Some(*acc))));
        for tx in committed {
            updates.entry(tx.sender()).or_insert(None);
        }
        let senders = self.senders.pin();
        for (sender, account) in updates {
            let Some(queue) = senders.get(&sender) else { continue };
            let mut st = queue.state.lock();
            if st.dead {
                continue; // a queue made after this point reads the new state itself
            }
            let account = account.unwrap_or_else(|| self.accounts.account(&sender));
            self.apply_account(&senders, sender, queue, &mut st, account);
        }
        self.sync_gauges();
    }

    /// Drops every transaction older than the TTL. Walks the whole pool (lock-free), so the node
    /// calls it on a timer, off the consensus path. A later nonce of the same sender stays,
    /// parked behind the gap, until it expires too or the gap is refilled.
    pub fn evict_expired(&self) {
        let now = Instant::now();
        let ttl = self.config.ttl;
        let expired: Vec<Entry> =
            self.by_hash.pin().values().filter(|e| now.duration_since(e.inserted) >= ttl).cloned().collect();
        let senders = self.senders.pin();
        let mut count = 0;
        for e in expired {
            let sender = e.tx.sender();
            let Some(queue) = senders.get(&sender) else { continue };
            let mut st = queue.state.lock();
            if st.dead {
                continue;
            }
            if let Some(removed) = st.remove(e.tx.nonce(), e.key) {
                self.unindex(&removed);
                count += 1;
            }
            if st.is_empty() {
                Self::unlink(&senders, sender, queue, &mut st);
            }
        }
        self.metrics.evicted(EvictCause::Expired, count);
        self.sync_gauges();
    }
}

#[cfg(test)]
mod tests {
    use super::RecentlyCommitted;
    use cairn_proto::Hash;

    fn hashes(range: std::ops::Range<u8>) -> Vec<Hash> {
        range.map(|i| Hash([i; 32])).collect()
    }

    #[test]
    fn remembers_the_latest_half_at_least_and_the_capacity_at_most() {
        let recent = RecentlyCommitted::new(6);
        let all = hashes(0..10);
        for (recorded, h) in all.iter().enumerate() {
            recent.record(std::iter::once(*h));
            let pins = recent.pin();
            let remembered: Vec<bool> = all[..=recorded].iter().map(|h| pins.contains(h)).collect();
            let kept = remembered.iter().filter(|k| **k).count();
            // The remembered ones are always the latest: a suffix of what was recorded.
            assert!(
                remembered.iter().skip_while(|k| !**k).all(|k| *k),
                "not a suffix after {recorded}: {remembered:?}"
            );
            assert!((3.min(recorded + 1)..=6).contains(&kept), "{kept} remembered after {}", recorded + 1);
        }
        // After 10 hashes in generations of 3: the last generation (9) and the one before it (6..9).
        let pins = recent.pin();
        assert!(hashes(6..10).iter().all(|h| pins.contains(h)));
        assert!(hashes(0..6).iter().all(|h| !pins.contains(h)));
    }

    #[test]
    fn a_capacity_below_two_remembers_nothing() {
        for capacity in [0, 1] {
            let recent = RecentlyCommitted::new(capacity);
            recent.record(hashes(0..3).into_iter());
            assert!(hashes(0..3).iter().all(|h| !recent.pin().contains(h)), "capacity {capacity}");
        }
    }

    #[test]
    fn one_block_larger_than_a_generation_keeps_its_latest_hashes() {
        let recent = RecentlyCommitted::new(4);
        recent.record(hashes(0..9).into_iter());
        let pins = recent.pin();
        let kept: Vec<u8> = hashes(0..9).iter().filter(|h| pins.contains(h)).map(|h| h.0[0]).collect();
        assert_eq!(kept, vec![6, 7, 8]);
    }
}
