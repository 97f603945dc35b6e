//! What a peer's tx batch says about the peer. Admission refuses bad transactions one by one;
//! this turns a batch's refusals into at most one complaint about its author, which the node
//! hands to the network's peer scoring (enough complaints within a short while get a peer
//! banned). The node asks only while it is in step with the network itself, as is an honest
//! author when it gossips, so both judge nonces against the same state.
//!
//! Two kinds of batches are complained about:
//! - **forged**: any malformed transaction, bad signature or foreign chain id. An honest peer
//!   gossips only transactions it admitted itself, and admission verified those, so one is
//!   enough.
//! - **wasteful**: a batch mostly made of transactions that could never be admitted and cost us
//!   decoding and lookups: copies of a transaction earlier in the same batch, and nonces beyond
//!   the sender's window. Honest gossip makes a few of these, never a batch where they are the
//!   majority: the floor of `WASTE_MIN` keeps small batches out of reach, and the peer's score
//!   decays between complaints.
//!
//! Not waste, because honest nodes send them in bulk:
//! - transactions we already hold: an honest node gossips again what a client resubmitted to
//!   it after another node failed (the fault suite's kill -9 runs got honest validators banned
//!   that way);
//! - nonces already used: the same resubmitted txs once either copy is committed, and what a
//!   validator that was behind (resyncing after a wipe, frozen) admitted against its stale
//!   state; counting them got a wiped validator banned by every peer as it rejoined (a CI run
//!   of 3 Dec, `faults::quick` seed 21456).
//!
//! Both cost us one lookup each, before any signature check, and the network caps how many
//! batches wait for us.
use bytes::Bytes;
use cairn_proto::{Hash, RejectReason, TxRejection};
use std::collections::HashSet;

/// A batch is wasteful when at least this many of its transactions are waste…
pub const WASTE_MIN: usize = 16;

/// The complaint about the author of `batch`, whose admission gave `results` (one per
/// transaction, as `submit` returns them), if any: `"invalid_tx"` or `"wasteful_tx_batch"`.
pub fn complaint(batch: &[Bytes], results: &[Result<Hash, TxRejection>]) -> Option<&'static str> {
    // The usual batch is all admitted: no set of its bytes to build on that path.
    if results.iter().all(Result::is_ok) {
        return None;
    }
    let mut seen = HashSet::with_capacity(batch.len());
    let mut waste = 0;
    for (raw, r) in batch.iter().zip(results) {
        let repeated = !seen.insert(raw);
        match r.as_ref().map_err(|e| e.reason) {
            Err(RejectReason::MalformedTx | RejectReason::InvalidSignature | RejectReason::WrongChainId) => {
                return Some("invalid_tx");
            }
            Err(RejectReason::NonceTooHigh) => waste += 1,
            Err(RejectReason::Duplicate) if repeated => waste += 1,
            _ => {}
        }
    }
    // …and more than half of the batch.
    (waste >= WASTE_MIN && waste * 2 > results.len()).then_some("wasteful_tx_batch")
}
