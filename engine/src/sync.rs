//! Block sync, both sides. Serving: certified blocks after a height, from the store. Accepting:
//! an answer is checked block by block, each certificate against the validator set *before*
//! any transaction signature (a certificate costs a few signature checks, a block's txs
//! thousands: a peer sending junk is caught at the cheap step), and only a verified block makes
//! the engine believe it is behind — a peer's claimed height alone proves nothing.
//!
//! The set that signs each block: the syncing node knows the sets of the two heights after its
//! tip (`Signers`), and each certified header commits to the set of the height after it
//! (`next_validators_hash`). An answer is checked while that chain of hashes leads to a set we
//! hold; at the first block signed by a set we have not seen yet (its stakes are in a block we
//! have not executed) the answer is cut there, and the next request, made after the commits,
//! goes on from it. Sets change rarely, so an answer is almost never cut.
use crate::{Signers, SyncError};
use cairn_proto::{pb, Block, Certificate, CertifiedBlock, Hash, Header, ValidatorSet, VerifiedTx};

/// Where served blocks come from.
pub trait BlockSource {
    fn latest_height(&self) -> u64;
    /// The certified block at `height`, as stored (already encoded).
    fn block_pb(&self, height: u64) -> Option<pb::CertifiedBlock>;
}

/// Answers a request: consecutive blocks from `from_height`, at most `max_blocks` of them and
/// about `max_bytes` (the block that crosses it is the last one sent).
pub fn serve(src: &impl BlockSource, req: &pb::SyncRequest, max_blocks: u32, max_bytes: usize) -> pb::SyncResponse {
    let latest = src.latest_height();
    let count = u64::from(req.max_blocks.clamp(1, max_blocks.max(1)));
    let first = req.from_height.max(1);
    let mut blocks = Vec::new();
    let mut bytes = 0;
    for h in first..=latest.min(first.saturating_add(count - 1)) {
        let Some(b) = src.block_pb(h) else { break };
        bytes += prost::Message::encoded_len(&b);
        blocks.push(b);
        if bytes > max_bytes {
            break;
        }
    }
    pb::SyncResponse { blocks, latest_height: latest, ..Default::default() }
}

/// Blocks of a sync answer that passed `verify_response`, in height order. Only that function
/// makes one, so the engine can take them as checked.
#[derive(Debug)]
pub struct SyncedBlocks {
    pub(crate) blocks: Vec<CertifiedBlock>,
    /// The responder's claimed latest height (believed only together with verified blocks).
    pub(crate) claimed_height: u64,
}

impl SyncedBlocks {
    /// The height the responder says it has, believed only when it sent at least one block
    /// that verified: a peer cannot make us think we are behind (`/readyz` 503, sync mode) by
    /// claiming a height alone.
    pub fn believed_height(&self) -> Option<u64> {
        (!self.blocks.is_empty()).then_some(self.claimed_height)
    }
    pub fn len(&self) -> usize {
        self.blocks.len()
    }
    pub fn is_empty(&self) -> bool {
        self.blocks.is_empty()
    }
}

/// Checks an answer to a request for blocks from `from_height`, whose sets (those of
/// `from_height` and the height after) are `signers`: order, each certificate (before the
/// txs), then the txs, taking already-verified ones from `known` (the pool). Blocks signed by
/// a set not known yet are left out (see the module doc).
pub fn verify_response(
    resp: pb::SyncResponse,
    from_height: u64,
    chain_id: &str,
    signers: &Signers,
    known: impl Fn(&Hash) -> Option<VerifiedTx>,
) -> Result<SyncedBlocks, SyncError> {
    let mut blocks = Vec::with_capacity(resp.blocks.len());
    // The set of the block at hand, and the hash the certified chain says the next one has.
    let mut set: &ValidatorSet = &signers.current;
    let mut next_hash = None;
    for (index, cb) in resp.blocks.into_iter().enumerate() {
        if let Some(hash) = next_hash {
            match [&signers.current, &signers.next].into_iter().find(|s| s.hash() == hash) {
                Some(known) => set = known,
                None => break,
            }
        }
        let expected = from_height + index as u64;
        let decode = |reason: String| SyncError::Decode { index, reason };
        let block_pb = cb.block.ok_or_else(|| decode("no block".into()))?;
        let header_pb = block_pb.header.clone().ok_or_else(|| decode("no header".into()))?;
        let header = Header::from_pb(header_pb).map_err(|e| decode(e.to_string()))?;
        if header.height != expected {
            return Err(SyncError::OutOfOrder { index, got: header.height, expected });
        }
        let cert_pb = cb.certificate.ok_or_else(|| decode("no certificate".into()))?;
        let certificate = Certificate::from_pb(cert_pb).map_err(|e| decode(e.to_string()))?;
        let bad_cert = |reason: String| SyncError::Certificate { height: expected, reason };
        if certificate.block_hash != header.hash() || certificate.height != expected {
            return Err(bad_cert("it is for another block".into()));
        }
        certificate.verify(chain_id, set).map_err(|e| bad_cert(e.to_string()))?;
        next_hash = Some(header.next_validators_hash);
        let block = Block::from_pb(block_pb, &known)
            .map_err(|e| SyncError::Transactions { height: expected, reason: e.to_string() })?;
        blocks.push(CertifiedBlock { block, certificate });
    }
    Ok(SyncedBlocks { blocks, claimed_height: resp.latest_height })
}
