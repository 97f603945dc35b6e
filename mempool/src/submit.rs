//! The entry points for new transactions: raw bytes from RPC or gossip (`submit`), and
//! transactions whose signatures this node already checked (`insert_verified`).
//!
//! Raw input is split into chunks that rayon processes in parallel; each chunk is decoded,
//! prechecked (size, chain id, fee floor, already known, sender has an account, nonce within
//! the sender's window), verified as one ed25519 batch (one bad signature makes proto fall back
//! to single checks for that chunk only), and admitted. Cheap refusals happen before verification, so junk never
//! costs a signature check, and a transaction already pending or recently committed is refused
//! without being verified again.
use crate::admit::Pinned;
use crate::sender::check_nonce;
use crate::{AdmitError, KeyHasher, Mempool, Origin};
use bytes::Bytes;
use cairn_proto::{Hash, TxBody, TxRejection, UncheckedTx, VerifiedTx};
use rayon::prelude::*;
use std::collections::HashSet;
use std::time::Instant;

/// The default of `MempoolConfig::verify_batch`: a gossip or RPC batch of a couple of hundred
/// txs is checked as one batch (per signature, 256 cost 14.0 µs against 15.3 for 128 and
/// 17.6 for 72: `mempool/README.md`), and larger submissions still spread over the cores.
pub const VERIFY_CHUNK: usize = 256;
/// Pre-verified txs admitted under one pinning of the maps (see `admit::Pinned`).
pub(crate) const PIN_CHUNK: usize = 128;

/// What admitting a peer's batch gave: one result per tx, and the complaint about the peer,
/// if the batch earns one (`"invalid_tx"` or `"wasteful_tx_batch"`).
#[derive(Debug)]
pub struct PeerBatch {
    pub results: Vec<Result<Hash, TxRejection>>,
    pub complaint: Option<&'static str>,
}

impl Mempool {
    /// Decodes, verifies in parallel batches and admits; one result per input, in order.
    ///
    /// Runs on the calling thread and rayon's global pool: call it from a blocking context
    /// (e.g. `tokio::task::spawn_blocking`), not directly on an async executor thread.
    pub fn submit(&self, raw: Vec<Bytes>, origin: Origin) -> Vec<Result<Hash, TxRejection>> {
        let results = self.admit_raw(&raw);
        self.finish(results, origin)
    }

    /// [`Mempool::submit`] for a batch gossiped by a peer, with what the batch says about the
    /// peer (see [`crate::peer`]): judged on the refusals themselves, which know how far out of
    /// the window a nonce is.
    pub fn submit_peer_batch(&self, raw: Vec<Bytes>) -> PeerBatch {
        let results = self.admit_raw(&raw);
        let complaint = crate::peer::complaint(&raw, &results, self.config.nonce_window);
        PeerBatch { results: self.finish(results, Origin::Peer), complaint }
    }

    fn admit_raw(&self, raw: &[Bytes]) -> Vec<Result<VerifiedTx, AdmitError>> {
        let now = Instant::now();
        let batch = self.config.verify_batch;
        if raw.len() <= batch {
            self.submit_chunk(raw, now)
        } else {
            let chunks: Vec<Vec<_>> = raw.par_chunks(batch).map(|c| self.submit_chunk(c, now)).collect();
            chunks.into_iter().flatten().collect()
        }
    }

    /// Admits transactions whose signatures were already verified on this node (e.g. from a
    /// proposal that did not commit); every other check still applies.
    pub fn insert_verified(&self, txs: Vec<VerifiedTx>, origin: Origin) -> Vec<Result<Hash, TxRejection>> {
        let now = Instant::now();
        let mut results = Vec::with_capacity(txs.len());
        let mut txs = txs.into_iter().peekable();
        while txs.peek().is_some() {
            let pins = self.pinned();
            results.extend(txs.by_ref().take(PIN_CHUNK).map(|tx| {
                self.check_stateless(tx.body(), tx.len())?;
                // A pending duplicate is refused by its sender's queue (see `admit`).
                if pins.recent.contains(&tx.hash()) {
                    return Err(AdmitError::Duplicate { hash: tx.hash() });
                }
                self.admit(&pins, tx, now)
            }));
        }
        self.finish(results, origin)
    }

    fn submit_chunk(&self, raw: &[Bytes], now: Instant) -> Vec<Result<VerifiedTx, AdmitError>> {
        let mut results = Vec::with_capacity(raw.len());
        let mut slots = Vec::with_capacity(raw.len());
        let mut unchecked = Vec::with_capacity(raw.len());
        // The same tx twice in one call is verified once; the copy is a duplicate.
        let mut seen = HashSet::with_capacity_and_hasher(raw.len(), KeyHasher::default());
        let pins = self.pinned();
        for bytes in raw {
            match self.precheck(&pins, bytes) {
                Ok(tx) if !seen.insert(tx.hash) => results.push(Err(AdmitError::Duplicate { hash: tx.hash })),
                Ok(tx) => {
                    // The placeholder is what the slot ends as if the signature fails.
                    slots.push(results.len());
                    results.push(Err(AdmitError::InvalidSignature { sender: tx.body.sender }));
                    unchecked.push(tx);
                }
                Err(e) => results.push(Err(e)),
            }
        }
        // Not pinned while verifying (milliseconds): that would hold back reclamation.
        drop(pins);
        let verified = UncheckedTx::verify_many(unchecked);
        let pins = self.pinned();
        for (slot, verified) in slots.into_iter().zip(verified) {
            if let Ok(tx) = verified {
                results[slot] = self.admit(&pins, tx, now);
            }
        }
        results
    }

    fn precheck(&self, pins: &Pinned<'_>, raw: &Bytes) -> Result<UncheckedTx, AdmitError> {
        if raw.len() > self.config.max_tx_bytes {
            return Err(AdmitError::TooLarge { size: raw.len(), max: self.config.max_tx_bytes });
        }
        let tx = UncheckedTx::decode(raw.clone())?;
        self.check_stateless(&tx.body, raw.len())?;
        if pins.is_known(&tx.hash) {
            return Err(AdmitError::Duplicate { hash: tx.hash });
        }
        self.check_sender_early(pins, &tx.body)?;
        Ok(tx)
    }

    /// Refuses a sender without an account, and a nonce outside the sender's window, before
    /// the signature is checked: unfunded keys, and clients that run ahead of the chain or send
    /// again too early, cost a lookup, not a verification. The sender's queue checks the nonce
    /// again under its lock (and the balance, which an absent account cannot pay); a commit
    /// landing in between only makes a refusal here one that a moment later would have been an
    /// admission. A sender with a queue has an account: a queue holds txs it could pay for.
    fn check_sender_early(&self, pins: &Pinned<'_>, body: &TxBody) -> Result<(), AdmitError> {
        let account_nonce = match pins.senders.get(&body.sender) {
            Some(queue) => queue.state.lock().account_nonce(),
            None => match self.accounts.record(&body.sender) {
                Some(account) => account.nonce,
                None => return Err(AdmitError::UnknownSender { sender: body.sender }),
            },
        };
        check_nonce(body.nonce, account_nonce, self.config.nonce_window)
    }

    /// Counts outcomes, hands locally admitted txs to gossip, and converts for the caller.
    fn finish(&self, results: Vec<Result<VerifiedTx, AdmitError>>, origin: Origin) -> Vec<Result<Hash, TxRejection>> {
        let mut admitted = Vec::with_capacity(if origin == Origin::Local { results.len() } else { 0 });
        let mut count = 0u64;
        let out = results
            .into_iter()
            .map(|r| match r {
                Ok(tx) => {
                    count += 1;
                    let hash = tx.hash();
                    if origin == Origin::Local {
                        admitted.push(tx);
                    }
                    Ok(hash)
                }
                Err(e) => {
                    self.metrics.rejected(e.reason());
                    Err(e.into())
                }
            })
            .collect();
        self.metrics.admitted(origin, count);
        self.gossip.offer(admitted);
        self.sync_gauges();
        out
    }
}
