//! Property tests: every protocol message survives encode → decode unchanged, and decoding
//! arbitrary bytes returns an error instead of panicking.
use bytes::Bytes;
use cairn_proto::{
    pb, Account, Address, Block, Certificate, CertifiedBlock, CommitSig, ConsensusMessage, DuplicateVoteEvidence, Hash,
    Header, Keypair, Proposal, Stake, Transfer, TxAction, TxBody, Unbond, UncheckedTx, VerifiedTx, Vote, VoteKind,
};
use proptest::prelude::*;
use prost::Message;

fn hash() -> impl Strategy<Value = Hash> {
    any::<[u8; 32]>().prop_map(Hash)
}

fn key() -> impl Strategy<Value = Keypair> {
    any::<[u8; 32]>().prop_map(Keypair::from_seed)
}

fn action() -> impl Strategy<Value = TxAction> {
    prop_oneof![
        (any::<[u8; 32]>(), any::<u64>())
            .prop_map(|(to, amount)| TxAction::Transfer(Transfer { recipient: Address(to), amount })),
        any::<u64>().prop_map(|amount| TxAction::Stake(Stake { amount })),
        any::<u64>().prop_map(|amount| TxAction::Unbond(Unbond { amount })),
    ]
}

fn tx() -> impl Strategy<Value = VerifiedTx> {
    (key(), "[a-z0-9-]{0,16}", any::<u64>(), any::<u64>(), action()).prop_map(|(k, chain_id, nonce, fee, action)| {
        TxBody { chain_id, sender: k.address(), nonce, fee, action }.sign(&k)
    })
}

fn header() -> impl Strategy<Value = Header> {
    ("[a-z-]{1,12}", any::<u64>(), hash(), any::<u64>(), any::<[u8; 32]>(), hash(), hash()).prop_map(
        |(chain_id, height, parent_hash, timestamp_ms, proposer, state_root, next_validators_hash)| Header {
            chain_id,
            height,
            parent_hash,
            timestamp_ms,
            proposer: Address(proposer),
            tx_root: Hash::ZERO,
            state_root,
            tx_count: 0,
            next_validators_hash,
        },
    )
}

fn block() -> impl Strategy<Value = Block> {
    (header(), prop::collection::vec(tx(), 0..4)).prop_map(|(h, txs)| Block::new(h, txs))
}

fn vote() -> impl Strategy<Value = Vote> {
    (key(), any::<bool>(), any::<u64>(), any::<u32>(), prop::option::of(hash())).prop_map(|(k, pre, h, r, b)| {
        Vote::new_signed(&k, "c", if pre { VoteKind::Prevote } else { VoteKind::Precommit }, h, r, b)
    })
}

fn certificate() -> impl Strategy<Value = Certificate> {
    (any::<u64>(), any::<u32>(), hash(), prop::collection::vec((any::<[u8; 32]>(), any::<[u8; 64]>()), 0..5)).prop_map(
        |(height, round, block_hash, sigs)| Certificate {
            height,
            round,
            block_hash,
            signatures: sigs
                .into_iter()
                .map(|(v, s)| CommitSig { validator: Address(v), signature: cairn_proto::Signature(s) })
                .collect(),
        },
    )
}

fn no_known(_: &Hash) -> Option<VerifiedTx> {
    None
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn tx_roundtrip(t in tx()) {
        let back = UncheckedTx::decode(t.encoded().clone()).unwrap().verify().unwrap();
        prop_assert_eq!(back, t);
    }

    #[test]
    fn block_roundtrip(b in block()) {
        let bytes = Bytes::from(b.to_pb().encode_to_vec());
        prop_assert_eq!(Block::decode(bytes, no_known).unwrap(), b);
    }

    #[test]
    fn vote_roundtrip(v in vote()) {
        v.verify("c").unwrap();
        let back = Vote::from_pb(pb::Vote::decode(v.to_pb().encode_to_vec().as_slice()).unwrap()).unwrap();
        prop_assert_eq!(back, v);
    }

    #[test]
    fn proposal_and_consensus_message_roundtrip(k in key(), b in block(), h in any::<u64>(), r in any::<u32>(), pol in prop::option::of(0u32..1000)) {
        let p = Proposal::new_signed(&k, "c", h, r, pol, b);
        p.verify("c").unwrap();
        let msg = ConsensusMessage::Proposal(p);
        let bytes = msg.to_pb().encode_to_vec();
        let back = ConsensusMessage::from_pb(pb::ConsensusMessage::decode(bytes.as_slice()).unwrap(), no_known).unwrap();
        prop_assert_eq!(back, msg);
    }

    #[test]
    fn certificate_and_certified_block_roundtrip(c in certificate(), b in block()) {
        prop_assert_eq!(Certificate::decode(&c.encode()).unwrap(), c.clone());
        let cb = CertifiedBlock { block: b, certificate: c };
        let back = CertifiedBlock::from_pb(pb::CertifiedBlock::decode(cb.to_pb().encode_to_vec().as_slice()).unwrap(), no_known).unwrap();
        prop_assert_eq!(back, cb);
    }

    #[test]
    fn evidence_roundtrip(a in vote(), b in vote()) {
        let e = DuplicateVoteEvidence { first: a, second: b };
        let back = DuplicateVoteEvidence::from_pb(pb::DuplicateVoteEvidence::decode(e.to_pb().encode_to_vec().as_slice()).unwrap()).unwrap();
        prop_assert_eq!(back, e);
    }

    #[test]
    fn account_roundtrip(balance in any::<u64>(), nonce in any::<u64>()) {
        let a = Account::new(balance, nonce);
        prop_assert_eq!(Account::decode(&a.encode()).unwrap(), a);
    }

    #[test]
    fn arbitrary_bytes_never_panic(raw in prop::collection::vec(any::<u8>(), 0..512)) {
        let b = Bytes::from(raw);
        let _ = UncheckedTx::decode(b.clone());
        let _ = Block::decode(b.clone(), no_known);
        let _ = Certificate::decode(&b);
        if let Ok(env) = pb::Envelope::decode(b.clone()) {
            if let Some(pb::envelope::Payload::Consensus(m)) = env.payload {
                let _ = ConsensusMessage::from_pb(m, no_known);
            }
        }
        let _ = pb::SyncResponse::decode(b);
    }
}

#[test]
fn malformed_txs_give_specific_errors() {
    let k = Keypair::from_seed([1; 32]);
    let good = TxBody {
        chain_id: "c".into(),
        sender: k.address(),
        nonce: 0,
        fee: 0,
        action: TxAction::Transfer(Transfer { recipient: Address([2; 32]), amount: 1 }),
    }
    .sign(&k);
    // signature of the wrong length
    let short = pb::SignedTx {
        body: pb::SignedTx::decode(good.encoded().clone()).unwrap().body,
        signature: Bytes::from_static(&[0; 10]),
    };
    let err = UncheckedTx::decode(Bytes::from(short.encode_to_vec())).unwrap_err();
    assert!(err.to_string().contains("signature"), "{err}");
    // no action
    let body = pb::TxBody {
        chain_id: "c".into(),
        sender: Bytes::copy_from_slice(&k.address().0),
        nonce: 0,
        fee: 0,
        action: None,
    };
    let raw = pb::SignedTx { body: Bytes::from(body.encode_to_vec()), signature: Bytes::from_static(&[0; 64]) };
    assert_eq!(
        UncheckedTx::decode(Bytes::from(raw.encode_to_vec())).unwrap_err(),
        cairn_proto::DecodeError::Missing("action")
    );
    // truncated
    let mut cut = good.encoded().to_vec();
    cut.truncate(cut.len() - 3);
    assert!(UncheckedTx::decode(Bytes::from(cut)).is_err());
}
