//! One sender's pending transactions: a nonce-ordered queue guarded by that sender's own lock.
//!
//! The queue is a vector of entries sorted by nonce, holding its first entry inline: a queue
//! holds at most `nonce_window` entries (64 by default), a new sender's first transaction
//! allocates nothing, and appending the next nonce — the usual case — is a push. (A `BTreeMap`
//! allocated a 540-byte node for every new sender, the largest allocation of an admission.)
//!
//! Its *ready* part is the run of consecutive nonces starting at the committed nonce;
//! everything after the first gap is the *parking lot* (future nonces waiting for the gap to
//! fill). Reap takes only ready transactions, eviction only the tail (highest nonce), so neither
//! ever opens a gap in front of a ready transaction.
use crate::{AdmitError, MempoolConfig};
use cairn_proto::{Account, Address, VerifiedTx};
use parking_lot::Mutex;
use smallvec::SmallVec;
use std::time::Instant;

/// Position in the fee index, best first: the highest fee, and among equal fees the oldest.
/// Reap walks the index forwards, the direction a skip list steps through in O(1) (backwards,
/// every step is a search); eviction, which runs only when the pool is full, walks it backwards.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct FeeKey {
    pub fee: u64,
    /// Arrival sequence number: unique per admitted transaction.
    pub seq: u64,
}

impl Ord for FeeKey {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        other.fee.cmp(&self.fee).then(self.seq.cmp(&other.seq))
    }
}

impl PartialOrd for FeeKey {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// What the fee index holds for a pending transaction: where to find it, not the transaction
/// itself (no reference count to touch when it is indexed, walked or dropped).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Slot {
    pub sender: Address,
    pub nonce: u64,
}

/// A pending transaction as every index holds it (cheap to clone: the tx is an `Arc`).
#[derive(Clone, Debug)]
pub(crate) struct Entry {
    pub tx: VerifiedTx,
    pub key: FeeKey,
    pub inserted: Instant,
}

/// `nonce_too_low` below the committed nonce, `nonce_too_high` at or beyond it plus the window.
pub(crate) fn check_nonce(nonce: u64, account_nonce: u64, window: u64) -> Result<(), AdmitError> {
    if nonce < account_nonce {
        return Err(AdmitError::NonceTooLow { nonce, account_nonce });
    }
    if nonce - account_nonce >= window {
        return Err(AdmitError::NonceTooHigh { nonce, account_nonce, window });
    }
    Ok(())
}

/// What the sender must be able to pay for `tx`: the amount sent or bonded plus the fee (u128:
/// cannot overflow). An unbond costs only its fee (its stake comes back later).
pub(crate) fn cost(tx: &VerifiedTx) -> u128 {
    u128::from(tx.body().action.debit()) + u128::from(tx.fee())
}

pub(crate) struct SenderQueue {
    pub state: Mutex<SenderState>,
}

impl SenderQueue {
    pub fn new(account: Account) -> Self {
        SenderQueue { state: Mutex::new(SenderState { account, txs: SmallVec::new(), pending_cost: 0, dead: false }) }
    }
}

/// A sender's entries with their nonces, sorted by nonce (each nonce once).
type Queue = SmallVec<[(u64, Entry); 1]>;

pub(crate) struct SenderState {
    account: Account,
    txs: Queue,
    /// Sum of `cost` over `txs`.
    pending_cost: u128,
    /// Set (under the lock) just before the queue is unlinked from the sender map; a thread
    /// that finds it set looks the sender up again instead of inserting into a dropped queue.
    pub dead: bool,
}

impl SenderState {
    pub fn is_empty(&self) -> bool {
        self.txs.is_empty()
    }

    pub fn len(&self) -> usize {
        self.txs.len()
    }

    /// The committed nonce this queue was last told of.
    pub fn account_nonce(&self) -> u64 {
        self.account.nonce
    }

    /// Where `nonce` is (`Ok`) or would go (`Err`).
    fn position(&self, nonce: u64) -> Result<usize, usize> {
        self.txs.binary_search_by_key(&nonce, |(n, _)| *n)
    }

    fn get(&self, nonce: u64) -> Option<&Entry> {
        self.position(nonce).ok().map(|i| &self.txs[i].1)
    }

    /// Where the entry at `nonce` is, if it is still the one with `key` (not replaced).
    fn index_of(&self, nonce: u64, key: FeeKey) -> Option<usize> {
        self.position(nonce).ok().filter(|&i| self.txs[i].1.key == key)
    }

    /// The index of the first entry with a nonce of at least `nonce`.
    fn index_from(&self, nonce: u64) -> usize {
        self.txs.partition_point(|(n, _)| *n < nonce)
    }

    /// Removes and returns the entries at `range` (indexes).
    fn take(&mut self, range: impl std::ops::RangeBounds<usize>) -> Vec<Entry> {
        self.txs.drain(range).map(|(_, e)| e).collect()
    }

    /// Checks `tx` against the account and the queue without changing anything. Returns the
    /// pending entry it would replace (same nonce, lower fee), if any.
    pub fn check(&self, tx: &VerifiedTx, config: &MempoolConfig) -> Result<Option<&Entry>, AdmitError> {
        let nonce = tx.nonce();
        check_nonce(nonce, self.account.nonce, config.nonce_window)?;
        let replaced = self.get(nonce);
        match replaced {
            Some(old) if old.tx.hash() == tx.hash() => return Err(AdmitError::Duplicate { hash: tx.hash() }),
            Some(old) if tx.fee() <= old.tx.fee() => {
                return Err(AdmitError::NonceTaken { sender: tx.sender(), nonce, pending_fee: old.tx.fee() })
            }
            Some(_) => {}
            None if self.txs.len() >= config.sender_limit => {
                return Err(AdmitError::SenderLimit { sender: tx.sender(), limit: config.sender_limit })
            }
            None => {}
        }
        let pending = self.pending_cost - replaced.map_or(0, |e| cost(&e.tx));
        let cost = cost(tx);
        if pending + cost > u128::from(self.account.balance) {
            return Err(AdmitError::InsufficientBalance { balance: self.account.balance, cost, pending });
        }
        Ok(replaced)
    }

    /// Inserts a checked entry; returns the entry it replaced.
    pub fn insert(&mut self, entry: Entry) -> Option<Entry> {
        self.pending_cost += cost(&entry.tx);
        let nonce = entry.tx.nonce();
        let old = match self.position(nonce) {
            Ok(i) => Some(std::mem::replace(&mut self.txs[i].1, entry)),
            Err(i) => {
                self.txs.insert(i, (nonce, entry));
                None
            }
        };
        if let Some(old) = &old {
            self.pending_cost -= cost(&old.tx);
        }
        old
    }

    /// The highest-nonce entry: the only one eviction may take.
    pub fn tail(&self) -> Option<&Entry> {
        self.txs.last().map(|(_, e)| e)
    }

    /// Removes the entry at `nonce` if it is the one with `key` (it may have been replaced).
    pub fn remove(&mut self, nonce: u64, key: FeeKey) -> Option<Entry> {
        let (_, e) = self.txs.remove(self.index_of(nonce, key)?);
        self.pending_cost -= cost(&e.tx);
        Some(e)
    }

    /// The ready chain's keys and nonces: entries with consecutive nonces from the committed
    /// nonce, in order. Keys only: reap takes the transactions themselves (`tx_at`) one by one,
    /// as it chooses them, instead of copying (and reference-counting) a whole chain.
    pub fn ready_keys(&self) -> Vec<(FeeKey, u64)> {
        let mut next = self.account.nonce;
        // Every entry's nonce is at least the committed one: `apply_account` drops the others.
        self.txs
            .iter()
            .map_while(|(nonce, e)| {
                let ready = *nonce == next;
                next += 1;
                ready.then_some((e.key, *nonce))
            })
            .collect()
    }

    /// The pending transaction at `nonce`, if it is still the one with `key`.
    pub fn tx_at(&self, nonce: u64, key: FeeKey) -> Option<VerifiedTx> {
        self.index_of(nonce, key).map(|i| self.txs[i].1.tx.clone())
    }

    /// Takes the new committed account: drops every entry with a nonce below its nonce (they
    /// are committed or can never be), then, walking up in nonce order, the first entry the
    /// balance cannot pay together with those before it, and everything after it.
    /// Returns (committed-or-stale entries, unpayable entries).
    pub fn apply_account(&mut self, account: Account) -> (Vec<Entry>, Vec<Entry>) {
        self.account = account;
        let stale = self.take(..self.index_from(account.nonce));
        let mut total = 0u128;
        let mut cut = None;
        for (nonce, e) in &self.txs {
            total += cost(&e.tx);
            if total > u128::from(account.balance) {
                cut = Some(*nonce);
                break;
            }
        }
        let unpaid = cut.map(|n| self.take(self.index_from(n)..)).unwrap_or_default();
        self.pending_cost = self.txs.iter().map(|(_, e)| cost(&e.tx)).sum();
        (stale, unpaid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cairn_proto::{Keypair, Transfer, TxAction, TxBody};

    fn entry(k: &Keypair, nonce: u64, fee: u64, amount: u64, seq: u64) -> Entry {
        let tx = TxBody {
            chain_id: "cairn-local".into(),
            sender: k.address(),
            nonce,
            fee,
            action: TxAction::Transfer(Transfer { recipient: cairn_proto::Address([1; 32]), amount }),
        }
        .sign(k);
        Entry { key: FeeKey { fee, seq }, tx, inserted: Instant::now() }
    }

    #[test]
    fn fee_key_orders_best_first() {
        let old = FeeKey { fee: 5, seq: 1 };
        let new = FeeKey { fee: 5, seq: 2 };
        let rich = FeeKey { fee: 6, seq: 3 };
        // Ascending = reap order: high fee first, and among equals the oldest first.
        let mut keys = vec![new, old, rich];
        keys.sort();
        assert_eq!(keys, vec![rich, old, new]);
    }

    #[test]
    fn apply_account_drops_stale_then_unpayable_suffix() {
        let k = Keypair::from_seed([3; 32]);
        let queue = SenderQueue::new(Account::new(1_000, 0));
        let mut st = queue.state.lock();
        for n in 0..5 {
            assert!(st.check(&entry(&k, n, 0, 100, n).tx, &MempoolConfig::default()).is_ok());
            st.insert(entry(&k, n, 0, 100, n));
        }
        assert_eq!(st.pending_cost, 500);
        // Nonce 2 committed; 250 left pays nonces 2 and 3 only.
        let (stale, unpaid) = st.apply_account(Account::new(250, 2));
        assert_eq!(stale.iter().map(|e| e.tx.nonce()).collect::<Vec<_>>(), vec![0, 1]);
        assert_eq!(unpaid.iter().map(|e| e.tx.nonce()).collect::<Vec<_>>(), vec![4]);
        assert_eq!(st.pending_cost, 200);
        assert_eq!(st.ready_keys().iter().map(|(_, n)| *n).collect::<Vec<_>>(), vec![2, 3]);
        assert_eq!(st.tail().map(|e| e.tx.nonce()), Some(3));
    }

    #[test]
    fn replacement_swaps_cost_and_remove_checks_the_key() {
        let k = Keypair::from_seed([4; 32]);
        let queue = SenderQueue::new(Account::new(1_000, 0));
        let mut st = queue.state.lock();
        let first = entry(&k, 0, 1, 10, 1);
        let better = entry(&k, 0, 2, 50, 2);
        st.insert(first.clone());
        assert_eq!(st.check(&better.tx, &MempoolConfig::default()).map(|r| r.map(|e| e.key)), Ok(Some(first.key)));
        assert_eq!(st.insert(better.clone()).map(|e| e.key), Some(first.key));
        assert_eq!(st.pending_cost, 52);
        assert!(st.remove(0, first.key).is_none(), "stale key must not remove the replacement");
        assert!(st.remove(0, better.key).is_some());
        assert!(st.is_empty() && st.pending_cost == 0);
    }
}
