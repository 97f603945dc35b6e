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
//!   decoding and lookups: copies of a transaction earlier in the same batch, and nonces far
//!   beyond the sender's window. Honest gossip makes a few of these, never a batch where they
//!   are the majority: the floor of `WASTE_MIN` keeps small batches out of reach, and the
//!   peer's score decays between complaints.
//!
//! "Far" is `FAR_WINDOWS` windows past the sender's committed nonce. An honest author admitted
//! each nonce below *its* committed nonce plus one window, and one block can move an account's
//! nonce on by up to a window (a block takes from pending txs, at most a window per sender).
//! So an author a height ahead of us, as every node is now and then while blocks drain a
//! backlog, sends nonces up to two windows past ours, in bulk after a partition heals.
//! `caught_up` in the node keeps us from judging at all while we are further behind.
//!
//! Not waste, because honest nodes send them in bulk:
//! - transactions we already hold: an honest node gossips again what a client resubmitted to
//!   it after another node failed;
//! - nonces already used: the same resubmitted txs once either copy is committed, and what a
//!   validator that was behind (resyncing after a wipe, frozen) admitted against its stale
//!   state.
//!
//! Both cost us one lookup each, before any signature check, and the network caps how many
//! batches wait for us.
use crate::AdmitError;
use bytes::Bytes;
use cairn_proto::VerifiedTx;
use std::collections::HashSet;

/// A batch is wasteful when at least this many of its transactions are waste…
pub const WASTE_MIN: usize = 16;
/// A nonce this many windows or more past the sender's committed nonce is waste.
pub const FAR_WINDOWS: u64 = 4;

/// The complaint about the author of `batch`, whose admission gave `results` (one per
/// transaction), if any: `"invalid_tx"` or `"wasteful_tx_batch"`.
pub(crate) fn complaint(
    batch: &[Bytes],
    results: &[Result<VerifiedTx, AdmitError>],
    window: u64,
) -> Option<&'static str> {
    // The usual batch is all admitted: no set of its bytes to build on that path.
    if results.iter().all(Result::is_ok) {
        return None;
    }
    let mut seen = HashSet::with_capacity(batch.len());
    let mut waste = 0;
    for (raw, r) in batch.iter().zip(results) {
        let repeated = !seen.insert(raw);
        match r {
            Err(
                AdmitError::Malformed { .. } | AdmitError::InvalidSignature { .. } | AdmitError::WrongChainId { .. },
            ) => return Some("invalid_tx"),
            Err(AdmitError::NonceTooHigh { nonce, account_nonce, .. })
                if nonce - account_nonce >= FAR_WINDOWS.saturating_mul(window) =>
            {
                waste += 1
            }
            Err(AdmitError::Duplicate { .. }) if repeated => waste += 1,
            _ => {}
        }
    }
    // …and more than half of the batch.
    (waste >= WASTE_MIN && waste * 2 > results.len()).then_some("wasteful_tx_batch")
}
