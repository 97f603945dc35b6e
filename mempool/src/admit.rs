//! Admission of verified transactions: stateless checks, the per-sender checks under that
//! sender's lock, capacity reservation with atomics, and eviction when full.
//!
//! Locking rule: a thread holds at most one sender lock at a time and never waits on anything
//! else while holding it, so there is no lock ordering to get wrong and no deadlock.
use crate::commit::PinnedRecent;
use crate::metrics::EvictCause;
use crate::sender::{Entry, FeeKey, SenderQueue, SenderState, Slot};
use crate::{AdmitError, KeyHasher, Mempool};
use cairn_proto::{Account, Address, Hash, TxBody, VerifiedTx};
use papaya::{HashMapRef, LocalGuard};
use std::cell::Cell;
use std::sync::atomic::Ordering;
use std::time::Instant;

pub(crate) type SenderMap<'a> = HashMapRef<'a, Address, SenderQueue, KeyHasher, LocalGuard<'a>>;

/// The pool's maps, pinned once for a batch of admissions (at most a chunk of
/// [`crate::submit::PIN_CHUNK`] txs) instead of once per map per tx: entering and leaving a map's
/// epoch costs as much as a lookup. Holding them only delays the reclamation of removed entries.
pub(crate) struct Pinned<'a> {
    pub senders: SenderMap<'a>,
    pub by_hash: HashMapRef<'a, Hash, Entry, KeyHasher, LocalGuard<'a>>,
    pub recent: PinnedRecent<'a>,
}

impl Pinned<'_> {
    /// Pending, or committed recently enough to be remembered.
    pub fn is_known(&self, hash: &Hash) -> bool {
        self.by_hash.contains_key(hash) || self.recent.contains(hash)
    }
}

/// How many lowest-fee entries a full pool looks at to find an evictable tail.
const EVICT_SCAN: usize = 64;
/// How many transactions one admission may evict to make room.
const MAX_EVICTIONS: usize = 8;

impl Mempool {
    /// Checks that need nothing but the transaction: size, chain id, fee floor.
    pub(crate) fn check_stateless(&self, body: &TxBody, len: usize) -> Result<(), AdmitError> {
        let c = &self.config;
        if len > c.max_tx_bytes {
            return Err(AdmitError::TooLarge { size: len, max: c.max_tx_bytes });
        }
        if body.chain_id != c.chain_id {
            return Err(AdmitError::WrongChainId { expected: c.chain_id.clone(), got: body.chain_id.clone() });
        }
        if body.fee < c.min_fee {
            return Err(AdmitError::FeeTooLow { fee: body.fee, min: c.min_fee });
        }
        Ok(())
    }

    pub(crate) fn pinned(&self) -> Pinned<'_> {
        Pinned { senders: self.senders.pin(), by_hash: self.by_hash.pin(), recent: self.recent.pin() }
    }

    /// Admits one transaction whose stateless checks passed and whose signature is verified.
    ///
    /// The caller has refused recently committed hashes (`submit` refuses pending ones too,
    /// before verifying). A pending duplicate needs no `by_hash` lookup here: the same hash
    /// means the same sender and nonce, so the sender's queue refuses it under its lock.
    pub(crate) fn admit(&self, pins: &Pinned<'_>, tx: VerifiedTx, now: Instant) -> Result<VerifiedTx, AdmitError> {
        let len = tx.len();
        // Whether this admission holds a claim on `size`/`bytes` that it must give back on refusal.
        let claimed = Cell::new(self.reserve(len));
        if !claimed.get() {
            // Full: check the tx first, so that nothing is evicted for one that is refused anyway.
            // A replacement frees its own slot and needs no eviction.
            let replaces =
                self.with_sender(&pins.senders, tx.sender(), |_, st| Ok(st.check(&tx, &self.config)?.is_some()))?;
            if !replaces {
                self.make_room(&tx)?;
                claimed.set(true);
            }
        }
        let inserted = self.with_sender(&pins.senders, tx.sender(), |_, st| {
            let replaces = st.check(&tx, &self.config)?.is_some();
            if !claimed.get() {
                if !replaces {
                    // The tx it was to replace left in the meantime, and the pool is still full.
                    return Err(self.full());
                }
                // The replaced entry gives its claim back just below.
                self.size.fetch_add(1, Ordering::AcqRel);
                self.bytes.fetch_add(len, Ordering::AcqRel);
                claimed.set(true);
            }
            let key = FeeKey { fee: tx.fee(), seq: self.seq.fetch_add(1, Ordering::Relaxed) };
            // Indexes first, queue last: a reader that finds the tx in the queue finds it everywhere.
            self.by_fee.insert(key, Slot { sender: tx.sender(), nonce: tx.nonce() });
            let entry = Entry { tx: tx.clone(), key, inserted: now };
            pins.by_hash.insert(tx.hash(), entry.clone());
            if let Some(old) = st.insert(entry) {
                self.unindex(&old);
                self.metrics.evicted(EvictCause::Replaced, 1);
            }
            Ok(())
        });
        match inserted {
            Ok(()) => Ok(tx),
            Err(e) => {
                if claimed.get() {
                    self.release(1, len);
                }
                Err(e)
            }
        }
    }

    fn full(&self) -> AdmitError {
        AdmitError::Full { size: self.size.load(Ordering::Relaxed), bytes: self.bytes.load(Ordering::Relaxed) }
    }

    /// Runs `f` on `sender`'s queue under its lock, creating the queue if needed and unlinking
    /// it again if it is left empty.
    pub(crate) fn with_sender<T>(
        &self,
        senders: &SenderMap<'_>,
        sender: Address,
        f: impl FnOnce(&SenderQueue, &mut SenderState) -> Result<T, AdmitError>,
    ) -> Result<T, AdmitError> {
        loop {
            let queue = match senders.get(&sender) {
                Some(q) => q,
                None => self.new_queue(senders, sender),
            };
            let mut st = queue.state.lock();
            if st.dead {
                continue; // unlinked under our feet: look it up again
            }
            let result = f(queue, &mut st);
            if st.is_empty() {
                Self::unlink(senders, sender, queue, &mut st);
            }
            return result;
        }
    }

    /// Creates and publishes a queue seeded from committed state.
    fn new_queue<'g>(&self, senders: &'g SenderMap<'_>, sender: Address) -> &'g SenderQueue {
        // A commit may land between reading the account and publishing the queue; on_commit
        // bumps the epoch before it walks the queues, so a changed epoch means "read again".
        let epoch = self.commit_epoch.load(Ordering::SeqCst);
        let account = self.accounts.account(&sender);
        match senders.try_insert(sender, SenderQueue::new(account)) {
            Ok(queue) => {
                if self.commit_epoch.load(Ordering::SeqCst) != epoch {
                    let mut st = queue.state.lock();
                    if !st.dead {
                        self.apply_account(senders, sender, queue, &mut st, self.accounts.account(&sender));
                    }
                }
                queue
            }
            Err(occupied) => occupied.current,
        }
    }

    /// Marks an empty queue dead and removes it from the sender map (if it is still there).
    pub(crate) fn unlink(senders: &SenderMap<'_>, sender: Address, queue: &SenderQueue, st: &mut SenderState) {
        st.dead = true;
        let _ = senders.remove_if(&sender, |_, q| std::ptr::eq(q, queue));
    }

    /// Takes a new committed account for `sender` and drops what it makes stale or unpayable.
    pub(crate) fn apply_account(
        &self,
        senders: &SenderMap<'_>,
        sender: Address,
        queue: &SenderQueue,
        st: &mut SenderState,
        account: Account,
    ) {
        let (stale, unpaid) = st.apply_account(account);
        for e in stale.iter().chain(&unpaid) {
            self.unindex(e);
        }
        self.metrics.committed_removed.inc_by(stale.len() as u64);
        self.metrics.evicted(EvictCause::Balance, unpaid.len() as u64);
        if st.is_empty() {
            Self::unlink(senders, sender, queue, st);
        }
    }

    /// Removes an entry (already taken out of its sender queue) from the shared indexes and
    /// gives its capacity back.
    pub(crate) fn unindex(&self, e: &Entry) {
        self.by_hash.pin().remove(&e.tx.hash());
        self.by_fee.remove(&e.key);
        self.release(1, e.tx.len());
    }

    /// Claims room for one transaction of `len` bytes; false (and nothing claimed) if full.
    fn reserve(&self, len: usize) -> bool {
        let n = self.size.fetch_add(1, Ordering::AcqRel) + 1;
        let b = self.bytes.fetch_add(len, Ordering::AcqRel) + len;
        if n > self.config.max_txs || b > self.config.max_bytes {
            self.release(1, len);
            return false;
        }
        true
    }

    fn release(&self, n: usize, len: usize) {
        self.size.fetch_sub(n, Ordering::AcqRel);
        self.bytes.fetch_sub(len, Ordering::AcqRel);
    }

    /// Evicts lower-fee tails until `tx` fits, or says the pool is full.
    fn make_room(&self, tx: &VerifiedTx) -> Result<(), AdmitError> {
        for _ in 0..MAX_EVICTIONS {
            if !self.evict_one(tx.fee(), tx.sender()) {
                break;
            }
            if self.reserve(tx.len()) {
                return Ok(());
            }
        }
        Err(self.full())
    }

    /// Evicts the lowest-fee transaction below `fee` that is the tail (highest nonce) of its
    /// sender's queue, so that no gap opens in front of another pending transaction. The
    /// admitting sender's own queue is spared: evicting its tail could strand the new tx.
    fn evict_one(&self, fee: u64, spare: Address) -> bool {
        let senders = self.senders.pin();
        // Worst first: the lowest fee, and among equal fees the newest.
        for candidate in self.by_fee.iter().rev().take(EVICT_SCAN) {
            let key = *candidate.key();
            if key.fee >= fee {
                return false;
            }
            let slot = *candidate.value();
            if slot.sender == spare {
                continue;
            }
            let Some(queue) = senders.get(&slot.sender) else { continue };
            let mut st = queue.state.lock();
            if st.dead || st.tail().map(|t| t.key) != Some(key) {
                continue;
            }
            if let Some(e) = st.remove(slot.nonce, key) {
                self.unindex(&e);
                self.metrics.evicted(EvictCause::Capacity, 1);
                if st.is_empty() {
                    Self::unlink(&senders, slot.sender, queue, &mut st);
                }
                return true;
            }
        }
        false
    }
}
