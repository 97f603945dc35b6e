//! Choosing a block's transactions: highest fee first, each sender's nonces consecutive from its
//! committed nonce, within a count and a byte budget. Lock-free: it walks the fee skip list and
//! reads each sender's committed nonce from an atomic; it takes no lock and removes nothing.
use crate::Mempool;
use cairn_proto::{Address, VerifiedTx};
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::Ordering;

/// No encoded SignedTx is smaller than this (64-byte signature, 32-byte sender and recipient
/// plus framing), so once less room is left the walk can stop.
const MIN_TX_BYTES: usize = 130;

/// A sender's progress during one reap.
struct Cursor {
    /// The nonce this sender's next taken tx must have.
    next: u64,
    /// Higher-fee txs seen before the nonces in front of them; taken once the gap closes.
    waiting: BTreeMap<u64, VerifiedTx>,
    /// A tx of this sender did not fit: nothing after it may be taken.
    blocked: bool,
}

impl Mempool {
    /// Best transactions by fee, each sender's nonces consecutive from its committed nonce, at
    /// most `max_txs` and `max_bytes` (sum of encoded sizes). Does not remove them.
    pub fn reap(&self, max_txs: usize, max_bytes: usize) -> Vec<VerifiedTx> {
        let mut out = Vec::with_capacity(max_txs.min(self.size.load(Ordering::Relaxed)));
        let mut bytes = 0usize;
        let mut cursors: HashMap<Address, Cursor> = HashMap::new();
        let senders = self.senders.pin();
        for entry in self.by_fee.iter().rev() {
            if out.len() >= max_txs || max_bytes.saturating_sub(bytes) < MIN_TX_BYTES {
                break;
            }
            let tx = entry.value();
            let cursor = match cursors.entry(tx.sender()) {
                std::collections::hash_map::Entry::Occupied(o) => o.into_mut(),
                std::collections::hash_map::Entry::Vacant(v) => {
                    // No queue: the sender's txs are being removed right now; skip them.
                    let Some(queue) = senders.get(&tx.sender()) else { continue };
                    let next = queue.committed_nonce.load(Ordering::Acquire);
                    v.insert(Cursor { next, waiting: BTreeMap::new(), blocked: false })
                }
            };
            if cursor.blocked || tx.nonce() < cursor.next {
                continue;
            }
            if tx.nonce() > cursor.next {
                cursor.waiting.insert(tx.nonce(), tx.clone());
                continue;
            }
            let mut next_tx = Some(tx.clone());
            while let Some(tx) = next_tx {
                if out.len() >= max_txs || bytes + tx.len() > max_bytes {
                    cursor.blocked = true;
                    break;
                }
                bytes += tx.len();
                out.push(tx);
                cursor.next += 1;
                next_tx = cursor.waiting.remove(&cursor.next);
            }
        }
        out
    }
}
