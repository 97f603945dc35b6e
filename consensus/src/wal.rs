//! Write-ahead log entries: every proposal and vote this validator signs is emitted as a
//! `WalEntry` (to be fsynced by the node) before it is broadcast. Replaying them after a crash
//! restores what was signed, the round reached and the Tendermint lock, so a restarted
//! validator never signs a conflicting message.
//!
//! Encoding: an entry is a protobuf `cairn.v1.ConsensusMessage` (the wire message), so the
//! WAL needs no schema of its own. Framing and checksums are the node's job.
use crate::ConsensusError;
use cairn_proto::{pb, Block, ConsensusMessage, Proposal, Vote};
use prost::Message;

/// One record of the write-ahead log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WalEntry {
    /// A proposal this validator signed.
    Proposal(Proposal),
    /// A prevote or precommit this validator signed.
    Vote(Vote),
}

impl WalEntry {
    /// The height the entry belongs to: the node keeps only the entries of the height it is
    /// deciding and replays those.
    pub fn height(&self) -> u64 {
        match self {
            WalEntry::Proposal(p) => p.height,
            WalEntry::Vote(v) => v.height,
        }
    }

    /// The round the entry belongs to.
    pub fn round(&self) -> u32 {
        match self {
            WalEntry::Proposal(p) => p.round,
            WalEntry::Vote(v) => v.round,
        }
    }

    pub fn encode(&self) -> Vec<u8> {
        let msg = match self {
            WalEntry::Proposal(p) => ConsensusMessage::Proposal(p.clone()),
            WalEntry::Vote(v) => ConsensusMessage::Vote(v.clone()),
        };
        msg.to_pb().encode_to_vec()
    }

    /// Decodes an entry this node wrote itself. The block of a proposal is trusted storage:
    /// its transactions were verified before it was signed, so they are not checked again.
    pub fn decode(bytes: &[u8]) -> Result<Self, ConsensusError> {
        let bad = |reason: String| ConsensusError::WalDecode { reason };
        let msg = pb::ConsensusMessage::decode(bytes).map_err(|e| bad(e.to_string()))?;
        match msg.msg.ok_or_else(|| bad("empty message".into()))? {
            pb::consensus_message::Msg::Vote(v) => {
                Ok(WalEntry::Vote(Vote::from_pb(v).map_err(|e| bad(e.to_string()))?))
            }
            pb::consensus_message::Msg::Proposal(p) => {
                let block = p.block.ok_or_else(|| bad("proposal without block".into()))?;
                let block = Block::from_trusted_pb(block).map_err(|e| bad(e.to_string()))?;
                let pol_round = match p.pol_round {
                    -1 => None,
                    r => Some(u32::try_from(r).map_err(|_| bad(format!("pol_round {r}")))?),
                };
                Ok(WalEntry::Proposal(Proposal {
                    height: p.height,
                    round: p.round,
                    pol_round,
                    block,
                    proposer: cairn_proto::Address::from_slice(&p.proposer).map_err(|e| bad(e.to_string()))?,
                    signature: cairn_proto::Signature::from_slice(&p.signature).map_err(|e| bad(e.to_string()))?,
                }))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cairn_proto::{Address, Hash, Header, Keypair, VoteKind};

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
        assert!(WalEntry::decode(&[]).is_err());
    }
}
