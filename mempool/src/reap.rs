//! Choosing a block's transactions: highest fee first, each sender's nonces consecutive from its
//! committed nonce, within a count and a byte budget. Reap removes nothing; `on_commit` does.
//!
//! The rule is "repeatedly take the best of every sender's next transaction" (best = highest
//! fee, then oldest). It is computed lazily: a heap holds each loaded sender's next ready tx,
//! and the fee index is walked from the top only as far as needed to be sure that no sender not
//! yet loaded has a better next tx (all of an unloaded sender's txs rank below the walk's
//! position, so its next tx does too). A sender is loaded once, on first sight: the keys and
//! nonces of its ready chain are copied under its lock, and each transaction is taken from the
//! queue (under the lock again, briefly) only when it is chosen, so a long chain that is mostly
//! not taken costs no reference counting.
use crate::sender::{FeeKey, SenderQueue};
use crate::{KeyHasher, Mempool};
use cairn_proto::{Address, VerifiedTx};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashSet};

/// No encoded SignedTx is smaller than this (64-byte signature, 32-byte sender and recipient
/// plus framing), so once less room is left the walk can stop.
const MIN_TX_BYTES: usize = 130;

/// A loaded sender: its queue, its ready chain's keys and nonces, and how many of them this
/// reap has taken.
struct Chain<'g> {
    queue: &'g SenderQueue,
    keys: Vec<(FeeKey, u64)>,
    taken: usize,
}

impl Mempool {
    /// Best transactions by fee, each sender's nonces consecutive from its committed nonce, at
    /// most `max_txs` and `max_bytes` (sum of encoded sizes). Does not remove them.
    pub fn reap(&self, max_txs: usize, max_bytes: usize) -> Vec<VerifiedTx> {
        let mut out = Vec::new();
        let mut bytes = 0usize;
        let mut loaded: HashSet<Address, KeyHasher> = HashSet::default();
        let mut chains: Vec<Chain<'_>> = Vec::new();
        // A min-heap: the smallest key is the best (see `FeeKey`).
        let mut heads: BinaryHeap<Reverse<(FeeKey, usize)>> = BinaryHeap::new();
        let senders = self.senders.pin();
        let mut walk = self.by_fee.iter().peekable();
        while out.len() < max_txs && max_bytes.saturating_sub(bytes) >= MIN_TX_BYTES {
            // Load senders until the best loaded head beats everything not yet walked.
            while let Some(entry) = walk.peek() {
                if heads.peek().is_some_and(|Reverse((best, _))| best < entry.key()) {
                    break;
                }
                let sender = entry.value().sender;
                walk.next();
                if !loaded.insert(sender) {
                    continue;
                }
                let Some(queue) = senders.get(&sender) else { continue };
                let chain = queue.state.lock().ready_keys();
                if let Some((key, _)) = chain.first() {
                    heads.push(Reverse((*key, chains.len())));
                    chains.push(Chain { queue, keys: chain, taken: 0 });
                }
            }
            let Some(Reverse((_, c))) = heads.pop() else { break };
            let Chain { queue, keys, taken } = &mut chains[c];
            let (key, nonce) = keys[*taken];
            // Gone or replaced since the chain was read (a commit or a fee bump raced with
            // this reap): this sender's run ends here, so its nonces stay consecutive.
            let Some(tx) = queue.state.lock().tx_at(nonce, key) else { continue };
            if bytes + tx.len() > max_bytes {
                continue; // this sender is done: nothing after a tx that does not fit
            }
            bytes += tx.len();
            out.push(tx);
            *taken += 1;
            if let Some((key, _)) = keys.get(*taken) {
                heads.push(Reverse((*key, c)));
            }
        }
        out
    }
}
