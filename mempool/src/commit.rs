//! After a block commits: remove by (sender, nonce) and revalidate only the touched senders;
//! the periodic TTL sweep; and the set of recently committed hashes that refuses replays.
use crate::metrics::EvictCause;
use crate::sender::Entry;
use crate::{KeyHasher, Mempool};
use cairn_proto::{Account, Address, Hash, VerifiedTx};
use parking_lot::Mutex;
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::Ordering;
use std::time::Instant;

/// The last `capacity` committed hashes. Lookups are lock-free; the FIFO that ages them out is
/// behind a mutex that only `on_commit` (one caller: consensus) takes.
pub(crate) struct RecentlyCommitted {
    set: papaya::HashSet<Hash, KeyHasher>,
    order: Mutex<VecDeque<Hash>>,
    capacity: usize,
}

impl RecentlyCommitted {
    pub fn new(capacity: usize) -> Self {
        RecentlyCommitted {
            set: papaya::HashSet::with_hasher(KeyHasher::default()),
            order: Mutex::new(VecDeque::new()),
            capacity,
        }
    }

    pub fn pin(&self) -> papaya::HashSetRef<'_, Hash, KeyHasher, papaya::LocalGuard<'_>> {
        self.set.pin()
    }

    fn record(&self, hashes: impl Iterator<Item = Hash>) {
        let set = self.set.pin();
        let mut order = self.order.lock();
        for h in hashes {
            if set.insert(h) {
                order.push_back(h);
            }
        }
        while order.len() > self.capacity {
            if let Some(old) = order.pop_front() {
                set.remove(&old);
            }
        }
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
        let mut updates: HashMap<Address, Option<Account>> = touched.iter().map(|(a, acc)| (*a, Some(*acc))).collect();
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
