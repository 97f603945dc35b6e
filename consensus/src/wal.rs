//! Write-ahead log entries: every proposal and vote this validator signs is emitted as a
//! `WalEntry` (to be fsynced by the node) before it is broadcast, and so is every block that
//! it may lock on, together with the prevotes of its polka; precommits of others for a block are
//! logged too (without waiting for an fsync: they only matter after a process restart, not a
//! power loss). Replaying them after a crash restores what was signed, the round reached, the
//! Tendermint lock, the block behind it and the votes that justify or decide it, so a restarted
//! validator never signs a conflicting message, can still re-propose the block it is locked on,
//! and does not forget a decision quorum it alone saw. Without the block, locked validators
//! could wait for ever for a re-proposal nobody can make; without the polka, nobody would
//! accept the re-proposal (L28 needs its 2f+1 prevotes) once a voter of it is gone; without
//! the precommits, a validator that saw 2f+1 of them, then restarted, may be the only one that
//! could ever decide the height once a precommitter is gone (all found by the simulator with a
//! validator down for good and others restarted).
//!
//! Encoding: one tag byte (0 own proposal, 1 own vote, 2 valid block, 3 another validator's
//! vote seen: a prevote of a polka or a precommit for a block), then the protobuf
//! `cairn.v1.Proposal` or `cairn.v1.Vote` wire message. Framing and checksums are the node's.
use crate::ConsensusError;
use cairn_proto::{pb, Proposal, Vote};
use prost::Message;

const TAG_PROPOSAL: u8 = 0;
const TAG_VOTE: u8 = 1;
const TAG_VALID_BLOCK: u8 = 2;
const TAG_SEEN_VOTE: u8 = 3;

/// One record of the write-ahead log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WalEntry {
    /// A proposal this validator signed.
    Proposal(Proposal),
    /// A prevote or precommit this validator signed.
    Vote(Vote),
    /// Another validator's proposal whose block got 2f+1 prevotes (L36): the block this
    /// validator locks on or remembers as its valid value, logged before its precommit.
    ValidBlock(Proposal),
    /// Another validator's vote to keep across restarts: a prevote of the polka of a
    /// `ValidBlock` (logged with it), or a precommit for a block. Needs no fsync of its own.
    SeenVote(Vote),
}

impl WalEntry {
    /// The height the entry belongs to: the node keeps only the entries of the height it is
    /// deciding and replays those.
    /// Whether the entry must be on disk before anything after it happens: own signatures
    /// and valid blocks must; votes seen from others need only survive a process restart.
    pub fn needs_sync(&self) -> bool {
        !matches!(self, WalEntry::SeenVote(_))
    }

    pub fn height(&self) -> u64 {
        match self {
            WalEntry::Proposal(p) | WalEntry::ValidBlock(p) => p.height,
            WalEntry::Vote(v) | WalEntry::SeenVote(v) => v.height,
        }
    }

    /// The round the entry belongs to.
    pub fn round(&self) -> u32 {
        match self {
            WalEntry::Proposal(p) | WalEntry::ValidBlock(p) => p.round,
            WalEntry::Vote(v) | WalEntry::SeenVote(v) => v.round,
        }
    }

    pub fn encode(&self) -> Vec<u8> {
        let (tag, body) = match self {
            WalEntry::Proposal(p) => (TAG_PROPOSAL, p.to_pb().encode_to_vec()),
            WalEntry::Vote(v) => (TAG_VOTE, v.to_pb().encode_to_vec()),
            WalEntry::ValidBlock(p) => (TAG_VALID_BLOCK, p.to_pb().encode_to_vec()),
            WalEntry::SeenVote(v) => (TAG_SEEN_VOTE, v.to_pb().encode_to_vec()),
        };
        let mut out = Vec::with_capacity(body.len() + 1);
        out.push(tag);
        out.extend_from_slice(&body);
        out
    }

    /// Decodes an entry this node wrote itself. The block of a proposal is trusted storage:
    /// its transactions were verified before it was logged, so they are not checked again.
    pub fn decode(bytes: &[u8]) -> Result<Self, ConsensusError> {
        let bad = |reason: String| ConsensusError::WalDecode { reason };
        let (tag, body) = bytes.split_first().ok_or_else(|| bad("empty entry".into()))?;
        match *tag {
            TAG_VOTE => Ok(WalEntry::Vote(decode_vote(body)?)),
            TAG_SEEN_VOTE => Ok(WalEntry::SeenVote(decode_vote(body)?)),
            TAG_PROPOSAL => Ok(WalEntry::Proposal(decode_proposal(body)?)),
            TAG_VALID_BLOCK => Ok(WalEntry::ValidBlock(decode_proposal(body)?)),
            t => Err(bad(format!("unknown tag {t}"))),
        }
    }
}

fn decode_vote(body: &[u8]) -> Result<Vote, ConsensusError> {
    let bad = |reason: String| ConsensusError::WalDecode { reason };
    let v = pb::Vote::decode(body).map_err(|e| bad(e.to_string()))?;
    Vote::from_pb(v).map_err(|e| bad(e.to_string()))
}

fn decode_proposal(body: &[u8]) -> Result<Proposal, ConsensusError> {
    let bad = |reason: String| ConsensusError::WalDecode { reason };
    let p = pb::Proposal::decode(body).map_err(|e| bad(e.to_string()))?;
    Proposal::from_trusted_pb(p).map_err(|e| bad(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use cairn_proto::{Address, Block, Hash, Header, Keypair, VoteKind};

    fn block() -> Block {
        let header = Header {
            chain_id: "c".into(),
            height: 3,
            parent_hash: Hash([1; 32]),
            timestamp_ms: 42,
            proposer: Address([2; 32]),
            tx_root: Hash::ZERO,
            state_root: Hash([3; 32]),
            tx_count: 0,
            next_validators_hash: cairn_proto::Hash::ZERO,
        };
        Block::new(header, vec![])
    }

    #[test]
    fn entries_roundtrip() {
        let k = Keypair::from_seed([9; 32]);
        let entries = [
            WalEntry::Vote(Vote::new_signed(&k, "c", VoteKind::Prevote, 3, 1, None)),
            WalEntry::Vote(Vote::new_signed(&k, "c", VoteKind::Precommit, 3, 2, Some(Hash([7; 32])))),
            WalEntry::Proposal(Proposal::new_signed(&k, "c", 3, 4, Some(2), block())),
            WalEntry::Proposal(Proposal::new_signed(&k, "c", 3, 0, None, block())),
            WalEntry::ValidBlock(Proposal::new_signed(&k, "c", 3, 1, Some(0), block())),
            WalEntry::SeenVote(Vote::new_signed(&k, "c", VoteKind::Prevote, 3, 1, Some(Hash([7; 32])))),
        ];
        for e in entries {
            let back = WalEntry::decode(&e.encode()).unwrap();
            assert_eq!(back, e);
            assert_eq!(back.height(), 3);
        }
    }

    #[test]
    fn garbage_is_an_error() {
        assert!(WalEntry::decode(&[0xff, 0xff, 0xff]).is_err());
        assert!(WalEntry::decode(&[1, 0xff, 0xff]).is_err());
        assert!(WalEntry::decode(&[]).is_err());
    }
}
