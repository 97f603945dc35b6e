//! Consensus messages: votes, proposals, commit certificates and equivocation evidence, with
//! their domain-separated sign bytes (`VoteSignBytes`, `ProposalSignBytes` in consensus.proto).
use crate::crypto::{BatchItem, SignatureDomain};
use crate::{
    pb, verify_batch, Address, Block, BlockError, DecodeError, Hash, Keypair, Signature, ValidatorSet, VerifiedTx,
    VerifyError,
};
use bytes::Bytes;
use prost::Message;
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum VoteKind {
    Prevote,
    Precommit,
}

impl VoteKind {
    fn to_pb(self) -> pb::VoteKind {
        match self {
            VoteKind::Prevote => pb::VoteKind::Prevote,
            VoteKind::Precommit => pb::VoteKind::Precommit,
        }
    }
    fn from_pb(k: i32) -> Result<Self, DecodeError> {
        match pb::VoteKind::try_from(k) {
            Ok(pb::VoteKind::Prevote) => Ok(VoteKind::Prevote),
            Ok(pb::VoteKind::Precommit) => Ok(VoteKind::Precommit),
            _ => Err(DecodeError::Invalid { field: "kind", reason: format!("unknown vote kind {k}") }),
        }
    }
}

fn opt_hash_bytes(h: &Option<Hash>) -> Bytes {
    h.map_or_else(Bytes::new, |h| Bytes::copy_from_slice(&h.0))
}

fn opt_hash_from(b: &[u8]) -> Result<Option<Hash>, DecodeError> {
    if b.is_empty() {
        Ok(None)
    } else {
        Hash::from_slice(b).map(Some)
    }
}

/// A prevote or precommit for a block (`Some(hash)`) or for nil (`None`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Vote {
    pub kind: VoteKind,
    pub height: u64,
    pub round: u32,
    pub block_hash: Option<Hash>,
    pub validator: Address,
    pub signature: Signature,
}

impl Vote {
    /// The payload signed (after the `cairn/vote/v1` tag).
    pub fn sign_bytes(chain_id: &str, kind: VoteKind, height: u64, round: u32, block_hash: &Option<Hash>) -> Vec<u8> {
        pb::VoteSignBytes {
            chain_id: chain_id.to_string(),
            kind: kind.to_pb() as i32,
            height,
            round,
            block_hash: opt_hash_bytes(block_hash),
        }
        .encode_to_vec()
    }

    pub fn new_signed(
        key: &Keypair,
        chain_id: &str,
        kind: VoteKind,
        height: u64,
        round: u32,
        block_hash: Option<Hash>,
    ) -> Self {
        let signature = key.sign(SignatureDomain::Vote, &Self::sign_bytes(chain_id, kind, height, round, &block_hash));
        Vote { kind, height, round, block_hash, validator: key.address(), signature }
    }

    pub fn verify(&self, chain_id: &str) -> Result<(), VerifyError> {
        let payload = Self::sign_bytes(chain_id, self.kind, self.height, self.round, &self.block_hash);
        self.signature.verify(&self.validator, SignatureDomain::Vote, &payload)
    }

    pub fn to_pb(&self) -> pb::Vote {
        pb::Vote {
            kind: self.kind.to_pb() as i32,
            height: self.height,
            round: self.round,
            block_hash: opt_hash_bytes(&self.block_hash),
            validator: Bytes::copy_from_slice(&self.validator.0),
            signature: Bytes::copy_from_slice(&self.signature.0),
        }
    }

    pub fn from_pb(v: pb::Vote) -> Result<Self, DecodeError> {
        Ok(Vote {
            kind: VoteKind::from_pb(v.kind)?,
            height: v.height,
            round: v.round,
            block_hash: opt_hash_from(&v.block_hash)?,
            validator: Address::from_slice(&v.validator)?,
            signature: Signature::from_slice(&v.signature)?,
        })
    }
}

/// A proposer's signed block for (height, round); `pol_round` is the round of the prevote
/// quorum that justifies re-proposing a locked/valid block (Tendermint's `validRound`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Proposal {
    pub height: u64,
    pub round: u32,
    pub pol_round: Option<u32>,
    pub block: Block,
    pub proposer: Address,
    pub signature: Signature,
}

impl Proposal {
    pub fn sign_bytes(chain_id: &str, height: u64, round: u32, pol_round: Option<u32>, block_hash: &Hash) -> Vec<u8> {
        pb::ProposalSignBytes {
            chain_id: chain_id.to_string(),
            height,
            round,
            pol_round: pol_round.map_or(-1, i64::from),
            block_hash: Bytes::copy_from_slice(&block_hash.0),
        }
        .encode_to_vec()
    }

    pub fn new_signed(
        key: &Keypair,
        chain_id: &str,
        height: u64,
        round: u32,
        pol_round: Option<u32>,
        block: Block,
    ) -> Self {
        let payload = Self::sign_bytes(chain_id, height, round, pol_round, &block.hash());
        let signature = key.sign(SignatureDomain::Proposal, &payload);
        Proposal { height, round, pol_round, block, proposer: key.address(), signature }
    }

    pub fn verify(&self, chain_id: &str) -> Result<(), VerifyError> {
        let payload = Self::sign_bytes(chain_id, self.height, self.round, self.pol_round, &self.block.hash());
        self.signature.verify(&self.proposer, SignatureDomain::Proposal, &payload)
    }

    pub fn to_pb(&self) -> pb::Proposal {
        pb::Proposal {
            height: self.height,
            round: self.round,
            pol_round: self.pol_round.map_or(-1, i64::from),
            block: Some(self.block.to_pb()),
            proposer: Bytes::copy_from_slice(&self.proposer.0),
            signature: Bytes::copy_from_slice(&self.signature.0),
        }
    }

    /// Decodes a wire proposal; its block's txs are verified as in `Block::from_pb`.
    pub fn from_pb(p: pb::Proposal, known: impl Fn(&Hash) -> Option<VerifiedTx>) -> Result<Self, BlockError> {
        Self::from_pb_with(p, |b| Block::from_pb(b, known))
    }

    /// Decodes a proposal this node wrote itself (its WAL); see `Block::from_trusted_pb`.
    pub fn from_trusted_pb(p: pb::Proposal) -> Result<Self, BlockError> {
        Self::from_pb_with(p, Block::from_trusted_pb)
    }

    fn from_pb_with(
        p: pb::Proposal,
        block: impl FnOnce(pb::Block) -> Result<Block, BlockError>,
    ) -> Result<Self, BlockError> {
        Ok(Proposal {
            height: p.height,
            round: p.round,
            pol_round: pol_round_from_pb(p.pol_round)?,
            block: block(p.block.ok_or(DecodeError::Missing("block"))?)?,
            proposer: Address::from_slice(&p.proposer)?,
            signature: Signature::from_slice(&p.signature)?,
        })
    }
}

/// A proposal's `pol_round` on the wire: -1 for none, else a round that fits a `u32`.
pub fn pol_round_from_pb(r: i64) -> Result<Option<u32>, DecodeError> {
    match r {
        -1 => Ok(None),
        r => {
            u32::try_from(r).map(Some).map_err(|_| DecodeError::Invalid { field: "pol_round", reason: format!("{r}") })
        }
    }
}

/// A consensus message as gossiped.
// A vote-carrying value is 352 bytes instead of 144; it lives only between decode and the
// consensus input, and boxing would add an allocation to every proposal for no measured gain.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConsensusMessage {
    Proposal(Proposal),
    Vote(Vote),
}

impl ConsensusMessage {
    pub fn to_pb(&self) -> pb::ConsensusMessage {
        let msg = match self {
            ConsensusMessage::Proposal(p) => pb::consensus_message::Msg::Proposal(p.to_pb()),
            ConsensusMessage::Vote(v) => pb::consensus_message::Msg::Vote(v.to_pb()),
        };
        pb::ConsensusMessage { msg: Some(msg) }
    }

    pub fn from_pb(m: pb::ConsensusMessage, known: impl Fn(&Hash) -> Option<VerifiedTx>) -> Result<Self, BlockError> {
        match m.msg.ok_or(DecodeError::Missing("msg"))? {
            pb::consensus_message::Msg::Proposal(p) => Ok(ConsensusMessage::Proposal(Proposal::from_pb(p, known)?)),
            pb::consensus_message::Msg::Vote(v) => Ok(ConsensusMessage::Vote(Vote::from_pb(v)?)),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommitSig {
    pub validator: Address,
    pub signature: Signature,
}

/// Precommits of more than 2/3 of the voting power for `block_hash` at (height, round): the
/// proof, stored with the block, that any node can check on its own.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Certificate {
    pub height: u64,
    pub round: u32,
    pub block_hash: Hash,
    pub signatures: Vec<CommitSig>,
}

impl Certificate {
    /// Checks every signature (one batch) and that the signers hold a 2/3+ quorum of `validators`.
    pub fn verify(&self, chain_id: &str, validators: &ValidatorSet) -> Result<(), VerifyError> {
        let payload = Vote::sign_bytes(chain_id, VoteKind::Precommit, self.height, self.round, &Some(self.block_hash));
        let msg = SignatureDomain::Vote.message(&payload);
        let mut seen = std::collections::HashSet::new();
        let mut power = 0u64;
        for s in &self.signatures {
            let p = validators.power_of(&s.validator);
            if p == 0 {
                return Err(VerifyError::UnknownValidator(s.validator.to_hex()));
            }
            if !seen.insert(s.validator) {
                return Err(VerifyError::DuplicateSigner(s.validator.to_hex()));
            }
            power += p;
        }
        if !validators.is_quorum(power) {
            return Err(VerifyError::NoQuorum { got: power, needed: validators.total_power() * 2 / 3 });
        }
        let items: Vec<BatchItem> =
            self.signatures.iter().map(|s| (&s.validator, msg.as_slice(), &s.signature)).collect();
        verify_batch(&items)
    }

    /// Checks that this certificate is for `block` and verifies it.
    pub fn verify_for(&self, chain_id: &str, validators: &ValidatorSet, block: &Block) -> Result<(), VerifyError> {
        let hash = block.hash();
        if self.block_hash != hash || self.height != block.header.height {
            return Err(VerifyError::Mismatch {
                expected: format!("{}@{}", hash, block.header.height),
                got: format!("{}@{}", self.block_hash, self.height),
            });
        }
        self.verify(chain_id, validators)
    }

    pub fn to_pb(&self) -> pb::Certificate {
        pb::Certificate {
            height: self.height,
            round: self.round,
            block_hash: Bytes::copy_from_slice(&self.block_hash.0),
            signatures: self
                .signatures
                .iter()
                .map(|s| pb::CommitSig {
                    validator: Bytes::copy_from_slice(&s.validator.0),
                    signature: Bytes::copy_from_slice(&s.signature.0),
                })
                .collect(),
        }
    }

    pub fn from_pb(c: pb::Certificate) -> Result<Self, DecodeError> {
        Ok(Certificate {
            height: c.height,
            round: c.round,
            block_hash: Hash::from_slice(&c.block_hash)?,
            signatures: c
                .signatures
                .into_iter()
                .map(|s| {
                    Ok(CommitSig {
                        validator: Address::from_slice(&s.validator)?,
                        signature: Signature::from_slice(&s.signature)?,
                    })
                })
                .collect::<Result<_, DecodeError>>()?,
        })
    }

    pub fn encode(&self) -> Vec<u8> {
        self.to_pb().encode_to_vec()
    }

    pub fn decode(b: &[u8]) -> Result<Self, DecodeError> {
        Self::from_pb(pb::Certificate::decode(b)?)
    }
}

/// Two different votes by one validator for the same height, round and kind.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DuplicateVoteEvidence {
    pub first: Vote,
    pub second: Vote,
}

impl DuplicateVoteEvidence {
    /// Valid when both votes are signed by the same validator for the same (height, round,
    /// kind) but different blocks.
    pub fn verify(&self, chain_id: &str) -> Result<(), VerifyError> {
        let (a, b) = (&self.first, &self.second);
        if a.validator != b.validator
            || a.height != b.height
            || a.round != b.round
            || a.kind != b.kind
            || a.block_hash == b.block_hash
        {
            return Err(VerifyError::Mismatch {
                expected: "two conflicting votes".into(),
                got: "votes that do not conflict".into(),
            });
        }
        a.verify(chain_id)?;
        b.verify(chain_id)
    }

    /// `verify`, and the signer held power in `set`, the set of the votes' height: two votes
    /// by a key that was not a validator there prove nothing (it may have joined or left since).
    pub fn verify_in(&self, chain_id: &str, set: &ValidatorSet) -> Result<(), VerifyError> {
        if set.power_of(&self.first.validator) == 0 {
            return Err(VerifyError::UnknownValidator(self.first.validator.to_string()));
        }
        self.verify(chain_id)
    }

    pub fn to_pb(&self) -> pb::DuplicateVoteEvidence {
        pb::DuplicateVoteEvidence { first: Some(self.first.to_pb()), second: Some(self.second.to_pb()) }
    }

    pub fn from_pb(e: pb::DuplicateVoteEvidence) -> Result<Self, DecodeError> {
        Ok(DuplicateVoteEvidence {
            first: Vote::from_pb(e.first.ok_or(DecodeError::Missing("first"))?)?,
            second: Vote::from_pb(e.second.ok_or(DecodeError::Missing("second"))?)?,
        })
    }
}
