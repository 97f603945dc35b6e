//! What the network checks itself before a gossip message reaches the node or is forwarded:
//! size, decoding, the topic it came on, and for consensus messages that the signer is in the
//! validator set and its signature verifies. Transactions inside a batch are not verified here
//! (the mempool does that, in batches); a proposal's block txs neither (consensus does).
use crate::metrics::RejectKind;
use bytes::Bytes;
use cairn_proto::{
    pb, pol_round_from_pb, Address, DecodeError, DuplicateVoteEvidence, Header, Proposal, Signature, SignatureDomain,
    ValidatorSet, VerifyError, Vote,
};
use prost::Message;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

/// The two gossip topics (evidence travels with consensus messages: it is rare and urgent).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TopicKind {
    Consensus,
    Txs,
}

/// A gossip message that passed every check the network can make.
#[derive(Debug)]
pub(crate) enum Inbound {
    Consensus(pb::ConsensusMessage),
    Txs(Vec<Bytes>),
    Evidence(pb::DuplicateVoteEvidence),
}

/// What the validator checks signatures against.
pub(crate) struct Checker {
    pub chain_id: String,
    /// The sets whose members may sign consensus messages now: those of the height being
    /// decided and the next (a set changes with stakes; the node hands over each change).
    pub validators: Vec<ValidatorSet>,
    /// Largest envelope accepted on the consensus topic.
    pub max_consensus_bytes: usize,
    /// Largest envelope accepted on the txs topic.
    pub max_txs_bytes: usize,
}

/// Why a gossip message goes no further.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// Wrong whoever judges it, whenever: the peer that sent it is charged.
    Reject(RejectKind),
    /// Signed by an address outside the sets this node knows now. That is no lie: a validator
    /// that joins at a set this node has not reached, or left at one it has passed (its late
    /// precommit for its last height), signs it honestly, and a peer a height ahead or behind
    /// relays it. Neither delivered nor forwarded, and nobody is charged.
    UnknownSigner,
}

impl From<RejectKind> for Refusal {
    fn from(kind: RejectKind) -> Self {
        Refusal::Reject(kind)
    }
}

impl From<DecodeError> for Refusal {
    fn from(_: DecodeError) -> Self {
        Refusal::Reject(RejectKind::Decode)
    }
}

impl From<VerifyError> for Refusal {
    fn from(e: VerifyError) -> Self {
        match e {
            VerifyError::BadSignature | VerifyError::BadPublicKey(_) => Refusal::Reject(RejectKind::BadSignature),
            VerifyError::UnknownValidator(_) => Refusal::UnknownSigner,
            _ => Refusal::Reject(RejectKind::Decode),
        }
    }
}

impl Checker {
    pub fn check(&self, topic: TopicKind, data: &[u8]) -> Result<Inbound, Refusal> {
        let max = match topic {
            TopicKind::Consensus => self.max_consensus_bytes,
            TopicKind::Txs => self.max_txs_bytes,
        };
        if data.len() > max {
            return Err(RejectKind::Oversized.into());
        }
        let envelope = pb::Envelope::decode(data).map_err(|_| RejectKind::Decode)?;
        use pb::envelope::Payload;
        match (topic, envelope.payload) {
            (TopicKind::Consensus, Some(Payload::Consensus(m))) => {
                self.check_consensus(&m)?;
                Ok(Inbound::Consensus(m))
            }
            (TopicKind::Consensus, Some(Payload::Evidence(e))) => {
                let ev = DuplicateVoteEvidence::from_pb(e.clone())?;
                self.known(&ev.first.validator)?;
                ev.verify(&self.chain_id)?;
                Ok(Inbound::Evidence(e))
            }
            (TopicKind::Txs, Some(Payload::Txs(batch))) if !batch.txs.is_empty() => Ok(Inbound::Txs(batch.txs)),
            (TopicKind::Txs, Some(Payload::Txs(_))) => Err(RejectKind::Decode.into()),
            _ => Err(RejectKind::WrongTopic.into()),
        }
    }

    fn known(&self, a: &Address) -> Result<(), Refusal> {
        if self.validators.iter().all(|set| set.power_of(a) == 0) {
            Err(Refusal::UnknownSigner)
        } else {
            Ok(())
        }
    }

    fn check_consensus(&self, m: &pb::ConsensusMessage) -> Result<(), Refusal> {
        match m.msg.as_ref().ok_or(RejectKind::Decode)? {
            pb::consensus_message::Msg::Vote(v) => {
                let vote = Vote::from_pb(v.clone())?;
                self.known(&vote.validator)?;
                Ok(vote.verify(&self.chain_id)?)
            }
            pb::consensus_message::Msg::Proposal(p) => {
                let proposer = Address::from_slice(&p.proposer)?;
                self.known(&proposer)?;
                let pol_round = pol_round_from_pb(p.pol_round).map_err(|_| RejectKind::Decode)?;
                let header = p.block.as_ref().and_then(|b| b.header.clone()).ok_or(RejectKind::Decode)?;
                // Only the header hash is signed over; the txs are consensus' business.
                let block_hash = Header::from_pb(header)?.hash();
                let payload = Proposal::sign_bytes(&self.chain_id, p.height, p.round, pol_round, &block_hash);
                let signature = Signature::from_slice(&p.signature)?;
                Ok(signature.verify(&proposer, SignatureDomain::Proposal, &payload)?)
            }
        }
    }
}

/// Encodes a payload as the envelope gossiped on its topic, with the next publication nonce:
/// gossip message ids hash the content, so the nonce is what makes a payload published again
/// (a vote rebroadcast) a new message rather than a duplicate that peers drop.
pub fn envelope(payload: pb::envelope::Payload) -> Vec<u8> {
    static NEXT: OnceLock<AtomicU64> = OnceLock::new();
    // Seeded at random so that a restarted node's nonces do not repeat its earlier ones.
    let nonce = NEXT.get_or_init(|| AtomicU64::new(rand::random())).fetch_add(1, Ordering::Relaxed);
    pb::Envelope { payload: Some(payload), nonce }.encode_to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;
    use cairn_proto::{Block, Hash, Keypair, VoteKind};

    fn setup() -> (Vec<Keypair>, Checker) {
        let keys: Vec<Keypair> = (0..4u8).map(|i| Keypair::from_seed([i + 1; 32])).collect();
        let set = cairn_proto::ValidatorSet::new(
            keys.iter().map(|k| cairn_proto::Validator { address: k.address(), power: 1 }).collect(),
        )
        .unwrap();
        (
            keys,
            Checker {
                chain_id: "test".into(),
                validators: vec![set],
                max_consensus_bytes: 1 << 20,
                max_txs_bytes: 1 << 20,
            },
        )
    }

    fn vote_env(v: &Vote) -> Vec<u8> {
        envelope(pb::envelope::Payload::Consensus(cairn_proto::ConsensusMessage::Vote(v.clone()).to_pb()))
    }

    #[test]
    fn votes_are_checked_against_the_set_and_signature() {
        let (keys, val) = setup();
        let vote = Vote::new_signed(&keys[0], "test", VoteKind::Prevote, 1, 0, Some(Hash([9; 32])));
        assert!(matches!(val.check(TopicKind::Consensus, &vote_env(&vote)), Ok(Inbound::Consensus(_))));
        // Right topic matters.
        assert_eq!(val.check(TopicKind::Txs, &vote_env(&vote)).unwrap_err(), Refusal::Reject(RejectKind::WrongTopic));
        // Another chain's vote does not verify.
        let other = Vote::new_signed(&keys[0], "other", VoteKind::Prevote, 1, 0, None);
        assert_eq!(
            val.check(TopicKind::Consensus, &vote_env(&other)).unwrap_err(),
            Refusal::Reject(RejectKind::BadSignature)
        );
        // A vote claiming validator 1 but signed by validator 0.
        let mut forged = vote.clone();
        forged.validator = keys[1].address();
        assert_eq!(
            val.check(TopicKind::Consensus, &vote_env(&forged)).unwrap_err(),
            Refusal::Reject(RejectKind::BadSignature)
        );
        // A signer outside the set.
        let outsider = Vote::new_signed(&Keypair::from_seed([99; 32]), "test", VoteKind::Prevote, 1, 0, None);
        assert_eq!(val.check(TopicKind::Consensus, &vote_env(&outsider)).unwrap_err(), Refusal::UnknownSigner);
    }

    #[test]
    fn proposals_verify_the_header_hash_only() {
        let (keys, val) = setup();
        let header = Header {
            chain_id: "test".into(),
            height: 1,
            parent_hash: Hash([0; 32]),
            timestamp_ms: 1,
            proposer: keys[2].address(),
            tx_root: Hash([0; 32]),
            state_root: Hash([0; 32]),
            tx_count: 0,
            next_validators_hash: cairn_proto::Hash::ZERO,
        };
        let p = Proposal::new_signed(&keys[2], "test", 1, 0, None, Block::new(header, vec![]));
        let mut pbp = p.to_pb();
        let env = |p: &pb::Proposal| {
            envelope(pb::envelope::Payload::Consensus(pb::ConsensusMessage {
                msg: Some(pb::consensus_message::Msg::Proposal(p.clone())),
            }))
        };
        assert!(val.check(TopicKind::Consensus, &env(&pbp)).is_ok());
        // Txs the header does not account for are not the network's concern.
        pbp.block.as_mut().unwrap().txs.push(Bytes::from_static(b"not a tx"));
        assert!(val.check(TopicKind::Consensus, &env(&pbp)).is_ok());
        pbp.round = 1;
        assert_eq!(val.check(TopicKind::Consensus, &env(&pbp)).unwrap_err(), Refusal::Reject(RejectKind::BadSignature));
        pbp.block = None;
        assert_eq!(val.check(TopicKind::Consensus, &env(&pbp)).unwrap_err(), Refusal::Reject(RejectKind::Decode));
    }

    #[test]
    fn garbage_oversized_and_batches() {
        let (_, val) = setup();
        assert_eq!(val.check(TopicKind::Txs, &[0xff, 0xff, 0xff]).unwrap_err(), Refusal::Reject(RejectKind::Decode));
        assert_eq!(
            val.check(TopicKind::Txs, &vec![0u8; (1 << 20) + 1]).unwrap_err(),
            Refusal::Reject(RejectKind::Oversized)
        );
        let empty = envelope(pb::envelope::Payload::Txs(pb::TxBatch { txs: vec![] }));
        assert_eq!(val.check(TopicKind::Txs, &empty).unwrap_err(), Refusal::Reject(RejectKind::Decode));
        let batch = envelope(pb::envelope::Payload::Txs(pb::TxBatch { txs: vec![Bytes::from_static(b"tx")] }));
        assert!(matches!(val.check(TopicKind::Txs, &batch), Ok(Inbound::Txs(t)) if t.len() == 1));
        assert_eq!(val.check(TopicKind::Consensus, &batch).unwrap_err(), Refusal::Reject(RejectKind::WrongTopic));
    }

    proptest::proptest! {
        /// Arbitrary bytes never panic the checker and never pass as a consensus message (no
        /// forged signature verifies); mutating a valid vote's bytes never passes either.
        #[test]
        fn random_and_mutated_bytes_are_rejected(data in proptest::collection::vec(proptest::num::u8::ANY, 0..512),
                                                 flip in 0usize..200, bit in 0u8..8) {
            let (keys, val) = setup();
            proptest::prop_assert!(val.check(TopicKind::Consensus, &data).is_err());
            let _ = val.check(TopicKind::Txs, &data);
            let mut vote = vote_env(&Vote::new_signed(&keys[0], "test", VoteKind::Precommit, 3, 1, Some(Hash([4; 32]))));
            // Within the payload: the envelope's nonce (encoded last) is not signed, by design.
            let payload_len = pb::Envelope { nonce: 0, ..pb::Envelope::decode(vote.as_slice()).unwrap() }.encoded_len();
            let i = flip % payload_len;
            vote[i] ^= 1 << bit;
            proptest::prop_assert!(val.check(TopicKind::Consensus, &vote).is_err());
        }
    }
}
