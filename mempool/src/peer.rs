//! What a peer's tx batch says about the peer. Admission refuses bad transactions one by one;
//! this turns a batch's refusals into at most one complaint about its sender, which the node
//! hands to the network's peer scoring (enough complaints within a short while get a peer
//! banned).
//!
//! Two kinds of batches are complained about:
//! - **forged**: any malformed transaction, bad signature or foreign chain id. An honest peer
//!   gossips only transactions it admitted itself, and admission verified those, so one is
//!   enough.
//! - **wasteful**: a batch mostly made of transactions that cost us the decoding and lookups and
//!   could never be admitted: duplicates of what we hold or committed, nonces already used, or
//!   nonces beyond the sender's window. Honest gossip produces a few of these (a client that
//!   sent one tx to two nodes, a tx committed before its gossip arrived), never a batch where
//!   they are the majority: the floor of `WASTE_MIN` keeps small honest batches out of reach,
//!   and the peer's score decays between complaints.
use cairn_proto::{Hash, RejectReason, TxRejection};

/// A batch is wasteful when at least this many of its transactions are waste…
pub const WASTE_MIN: usize = 16;

/// The complaint about a peer whose batch is `results` (one per transaction, as `submit`
/// returns them), if any: `"invalid_tx"` or `"wasteful_tx_batch"`.
pub fn complaint(results: &[Result<Hash, TxRejection>]) -> Option<&'static str> {
    let mut waste = 0;
    for r in results {
        match r.as_ref().map_err(|e| e.reason) {
            Err(RejectReason::MalformedTx | RejectReason::InvalidSignature | RejectReason::WrongChainId) => {
                return Some("invalid_tx");
            }
            Err(RejectReason::Duplicate | RejectReason::NonceTooLow | RejectReason::NonceTooHigh) => waste += 1,
            _ => {}
        }
    }
    // …and more than half of the batch.
    (waste >= WASTE_MIN && waste * 2 > results.len()).then_some("wasteful_tx_batch")
}
