//! Choosing a block's transactions: highest fee first, each sender's nonces consecutive from its
//! committed nonce, within a count and a byte budget. Reap removes nothing; `on_commit` does.
//!
//! The rule is "repeatedly take the best of every sender's next transaction" (best = highest
//! fee, then oldest). It is computed lazily: a heap holds each loaded sender's next ready tx,
//! and the fee index is walked from the top only as far as needed to be sure that no sender not
//! yet loaded has a better next tx (all of an unloaded sender's txs rank below the walk's
//! position, so its next tx does too). A sender is loaded once, on first sight: its ready chain
//! is copied under its lock, held for the copy only.
use crate::sender::FeeKey;
use crate::{KeyHasher, Mempool};
use cairn_proto::{Address, VerifiedTx};
use std::collections::{BinaryHeap, HashSet};

/// No encoded SignedTx is smaller than this (64-byte signature, 32-byte sender and recipient
/// plus framing), so once less room is left the walk can stop.
const MIN_TX_BYTES: usize = 130;

impl Mempool {
    /// Best transactions by fee, each sender's nonces consecutive from its committed nonce, at
    /// most `max_txs` and `max_bytes` (sum of encoded sizes). Does not remove them.
    pub fn reap(&self, max_txs: usize, max_bytes: usize) -> Vec<VerifiedTx> {
        let mut out = Vec::new();
        let mut bytes = 0usize;
        let mut loaded: HashSet<Address, KeyHasher> = HashSet::default();
        // Each loaded sender's ready chain, and how far into it this reap has taken.
        let mut chains: Vec<(Vec<(FeeKey, VerifiedTx)>, usize)> = Vec::new();
        let mut heads: BinaryHeap<(FeeKey, usize)> = BinaryHeap::new();
        let senders = self.senders.pin();
        let mut walk = self.by_fee.iter().rev().peekable();
        while out.len() < max_txs && max_bytes.saturating_sub(bytes) >= MIN_TX_BYTES {
            // Load senders until the best loaded head beats everything not yet walked.
            while let Some(entry) = walk.peek() {
                if heads.peek().is_some_and(|(best, _)| best > entry.key()) {
                    break;
                }
                let sender = entry.value().sender();
                walk.next();
                if !loaded.insert(sender) {
                    continue;
                }
                let Some(queue) = senders.get(&sender) else { continue };
                let chain = queue.state.lock().ready_chain();
                if let Some((key, _)) = chain.first() {
                    heads.push((*key, chains.len()));
                    chains.push((chain, 0));
                }
            }
            let Some((_, c)) = heads.pop() else { break };
            let (chain, pos) = &mut chains[c];
            let tx = &chain[*pos].1;
            if bytes + tx.len() > max_bytes {
                continue; // this sender is done: nothing after a tx that does not fit
            }
            bytes += tx.len();
            out.push(tx.clone());
            *pos += 1;
            if let Some((key, _)) = chain.get(*pos) {
                heads.push((*key, c));
            }
        }
        out
    }
}
