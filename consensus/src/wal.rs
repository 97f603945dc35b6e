//! Write-ahead log entries: every proposal and vote this validator signs is emitted as a
//! `WalEntry` (to be fsynced by the node) before it is broadcast, and so is every block that
//! it may lock on. Replaying them after a crash restores what was signed, the round reached,
//! the Tendermint lock and the block behind it, so a restarted validator never signs a
//! conflicting message and can still re-propose the block it is locked on (without that
//! block, locked validators could wait for ever for a re-proposal nobody can make).
//!
//! Encoding: one tag byte (0 own proposal, 1 own vote, 2 valid block), then the protobuf
//! `cairn.v1.Proposal` or `cairn.v1.Vote` wire message. Framing and checksums are the node's.
use crate::ConsensusError;
use cairn_proto::{pb, Proposal, Vote};
use prost::Message;

const TAG_PROPOSAL: u8 = 0;
const TAG_VOTE: u8 = 1;
const TAG_VALID_BLOCK: u8 = 2;

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
}

impl WalEntry {
    /// The height the entry belongs to: the node keeps only the entries of the height it is
    /// deciding and replays those.
    pub fn height(&self) -> u64 {
        match self {
            WalEntry::Proposal(p) | WalEntry::ValidBlock(p) => p.height,
            WalEntry::Vote(v) => v.height,
        }
    }

    /// The round the entry belongs to.
    pub fn round(&self) -> u32 {
        match self {
            WalEntry::Proposal(p) | WalEntry::ValidBlock(p) => p.round,
            WalEntry::Vote(v) => v.round,
        }
    }

    pub fn encode(&self) -> Vec<u8> {
        let (tag, body) = match self {
            WalEntry::Proposal(p) => (TAG_PROPOSAL, p.to_pb().encode_to_vec()),
            WalEntry::Vote(v) => (TAG_VOTE, v.to_pb().encode_to_vec()),
            WalEntry::ValidBlock(p) => (TAG_VALID_BLOCK, p.to_pb().encode_to_vec()),
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
            TAG_VOTE => {
                let v = pb::Vote::decode(body).map_err(|e| bad(e.to_string()))?;
                Ok(WalEntry::Vote(Vote::from_pb(v).map_err(|e| bad(e.to_string()))?))
            }
            TAG_PROPOSAL => Ok(WalEntry::Proposal(decode_proposal(body)?)),
            TAG_VALID_BLOCK => Ok(WalEntry::ValidBlock(decode_proposal(body)?)),
            t => Err(bad(format!("unknown tag {t}"))),
        }
    }
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
