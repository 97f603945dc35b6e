//! Four validators on loopback exchange votes and transaction batches.
use crate::common::*;
use bytes::Bytes;
use cairn_network::{peer_id_of, GossipId, NetworkEvent, PeerId};
use cairn_proto::pb;
use std::collections::HashSet;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_nodes_exchange_consensus_and_tx_batches() {
    let keys = keys(4);
    let set = validator_set(&keys);
    let mut nodes = mesh(&keys, &set).await;

    // Identity is bound to the validator key, and peers are recognised as validators.
    for (i, n) in nodes.iter().enumerate() {
        assert_eq!(peer(n), peer_id_of(&keys[i]));
        let peers = n.handle.peers();
        assert_eq!(peers.len(), 3);
        for p in &peers {
            let v = p.validator.expect("every peer is a validator");
            assert!(keys.iter().any(|k| k.address() == v && peer_id_of(k).to_string() == p.peer_id));
        }
        assert_eq!(n.metric("cairn_p2p_peers", None), 3.0);
    }
    // A set without node 3: the others show it as a peer that is no longer a validator.
    nodes[0].handle.set_validators(vec![validator_set(&keys[..3])]);
    let three = peer_id_of(&keys[3]).to_string();
    wait_until(5, || nodes[0].handle.peers().iter().any(|p| p.peer_id == three && p.validator.is_none())).await;
    assert!(nodes[0].handle.peers().iter().filter(|p| p.peer_id != three).all(|p| p.validator.is_some()));
    nodes[0].handle.set_validators(vec![set.clone()]);
    wait_until(5, || nodes[0].handle.peers().iter().all(|p| p.validator.is_some())).await;

    // Once identified, every peer is shown at its listen address, not an ephemeral port.
    let listen: Vec<String> = nodes.iter().map(|n| n.handle.listen_addrs()[0].to_string()).collect();
    wait_until(5, || nodes.iter().all(|n| n.handle.peers().iter().all(|p| listen.contains(&p.address)))).await;

    // Every validator gossips a vote; every node receives the other three, once each.
    for (n, k) in nodes.iter().zip(&keys) {
        n.handle.broadcast_consensus(vote(k, 7));
    }
    for (i, n) in nodes.iter_mut().enumerate() {
        let mut signers = HashSet::new();
        while signers.len() < 3 {
            let (from, signer) = n
                .expect(10, |e| match e {
                    NetworkEvent::Consensus { from, msg } => Some((from, vote_signer(&msg).unwrap())),
                    _ => None,
                })
                .await;
            let author = keys.iter().position(|k| k.address().0.as_slice() == signer.as_slice()).unwrap();
            assert_ne!(author, i, "a node does not receive its own vote");
            // `from` is the peer that delivered it: the author, or a peer that forwarded it.
            assert!(keys.iter().enumerate().any(|(j, k)| j != i && from == peer_id_of(k)));
            assert!(signers.insert(author), "vote from {author} delivered twice");
        }
    }

    // Node 0 gossips 3000 txs of 200 bytes (600 kB: one batch); everyone else gets them all.
    let txs: Vec<Bytes> = (0..3000u32).map(|i| Bytes::from([&i.to_le_bytes()[..], &[9u8; 196]].concat())).collect();
    nodes[0].handle.broadcast_txs(txs.clone());
    for n in nodes.iter_mut().skip(1) {
        let mut got = Vec::new();
        while got.len() < txs.len() {
            let batch = n
                .expect(10, |e| match e {
                    NetworkEvent::TxBatch { txs, .. } => Some(txs),
                    _ => None,
                })
                .await;
            got.extend(batch);
        }
        assert_eq!(got, txs);
        assert_eq!(n.metric("cairn_p2p_received_messages_total", Some(("topic", "txs"))), 1.0);
        assert!(n.metric("cairn_p2p_received_bytes_total", Some(("topic", "txs"))) > 600_000.0);
    }
    assert_eq!(nodes[0].metric("cairn_p2p_sent_messages_total", Some(("topic", "txs"))), 1.0);
    assert_eq!(nodes[0].metric("cairn_p2p_sent_messages_total", Some(("topic", "consensus"))), 1.0);
    for n in &nodes {
        assert_eq!(n.metric("cairn_p2p_rejected_messages_total", None), 0.0);
    }
    for n in nodes {
        n.handle.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_tx_broadcasts_are_split_into_batches() {
    let keys = keys(2);
    let set = validator_set(&keys);
    let mut nodes = mesh(&keys, &set).await;
    // 3 MiB of txs: more than one batch may carry (1 MiB), so they travel as several.
    let txs: Vec<Bytes> = (0..3072u32).map(|i| Bytes::from([&i.to_le_bytes()[..], &[1u8; 1020]].concat())).collect();
    nodes[0].handle.broadcast_txs(txs.clone());
    let mut got = Vec::new();
    while got.len() < txs.len() {
        got.extend(
            nodes[1]
                .expect(10, |e| match e {
                    NetworkEvent::TxBatch { txs, .. } => Some(txs),
                    _ => None,
                })
                .await,
        );
    }
    assert_eq!(got, txs);
    assert!(nodes[1].metric("cairn_p2p_received_messages_total", Some(("topic", "txs"))) >= 3.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proposals_over_a_mebibyte_and_evidence_are_gossiped() {
    use cairn_proto::{Block, DuplicateVoteEvidence, Hash, Header, Proposal, Vote, VoteKind};
    let keys = keys(3);
    let set = validator_set(&keys);
    let mut nodes = mesh(&keys, &set).await;

    // A proposal whose block carries 3 MiB of (unverified, here fake) txs: the consensus topic
    // takes up to max_message_bytes (8 MiB), and the network checks only the header signature.
    let header = Header {
        chain_id: CHAIN.into(),
        height: 1,
        parent_hash: Hash([0; 32]),
        timestamp_ms: 1,
        proposer: keys[1].address(),
        tx_root: Hash([0; 32]),
        state_root: Hash([0; 32]),
        tx_count: 3,
        next_validators_hash: Hash([0; 32]),
    };
    let mut proposal = Proposal::new_signed(&keys[1], CHAIN, 1, 0, None, Block::new(header, vec![])).to_pb();
    proposal.block.as_mut().unwrap().txs = vec![Bytes::from(vec![5u8; 1 << 20]); 3];
    let msg = pb::ConsensusMessage { msg: Some(pb::consensus_message::Msg::Proposal(proposal.clone())) };
    nodes[1].handle.broadcast_consensus(msg.clone());

    let a = Vote::new_signed(&keys[2], CHAIN, VoteKind::Prevote, 1, 0, Some(Hash([1; 32])));
    let b = Vote::new_signed(&keys[2], CHAIN, VoteKind::Prevote, 1, 0, Some(Hash([2; 32])));
    let evidence = DuplicateVoteEvidence { first: a, second: b }.to_pb();
    nodes[1].handle.broadcast_evidence(evidence.clone());

    // Evidence is small and may overtake the proposal: take them in either order.
    for i in [0, 2] {
        let (mut got_msg, mut got_evidence) = (None, None);
        while got_msg.is_none() || got_evidence.is_none() {
            match nodes[i].expect(10, Some).await {
                NetworkEvent::Consensus { msg, from } => got_msg = Some((msg, from)),
                NetworkEvent::Evidence { evidence, .. } => got_evidence = Some(evidence),
                _ => {}
            }
        }
        assert_eq!(got_msg, Some((msg.clone(), peer_id_of(&keys[1]))));
        assert_eq!(got_evidence, Some(evidence.clone()));
    }
}

/// In a line A — B — C, a tx batch from A reaches C only once B's node has judged it sound:
/// no verdict, nothing forwarded; a refusal, nothing forwarded; an acceptance, forwarded, and
/// C sees B (the peer that delivered it) as `from`. Votes, checked by the network itself, go
/// on at once. (Before the verdict existed, B forwarded every batch that decoded.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tx_batches_are_forwarded_only_after_the_node_accepts_them() {
    let keys = keys(3);
    let set = validator_set(&keys);
    let mut b = Node::start(&keys[1], &set, 0, vec![]).await;
    let a = Node::start(&keys[0], &set, 0, vec![b.addr()]).await;
    let mut c = Node::start(&keys[2], &set, 0, vec![b.addr()]).await;
    wait_until(20, || b.handle.peers().len() == 2 && a.handle.peers().len() == 1 && c.handle.peers().len() == 1).await;
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let (pa, pb) = (peer_id_of(&keys[0]), peer_id_of(&keys[1]));

    a.handle.broadcast_consensus(vote(&keys[0], 3));
    let from = c
        .expect(10, |e| match e {
            NetworkEvent::Consensus { from, .. } => Some(from),
            _ => None,
        })
        .await;
    assert_eq!(from, pb, "the vote came through B");

    let batch = |tag: u8| -> Vec<Bytes> { (0..10u8).map(|i| Bytes::from(vec![tag, i, 7, 7])).collect() };
    // Not judged: B holds it back.
    a.handle.broadcast_txs(batch(1));
    let (from, txs, unjudged) = next_batch(&mut b).await;
    assert_eq!((from, txs), (pa, batch(1)));
    // Refused: it goes no further either.
    a.handle.broadcast_txs(batch(2));
    let (from, txs, refused) = next_batch(&mut b).await;
    assert_eq!((from, txs), (pa, batch(2)));
    b.handle.tx_batch_checked(refused, from, false);
    // Accepted: C gets it, from B — and it is the first batch C gets.
    a.handle.broadcast_txs(batch(3));
    let (from, txs, accepted) = next_batch(&mut b).await;
    assert_eq!((from, txs), (pa, batch(3)));
    b.handle.tx_batch_checked(accepted, from, true);
    let (from, txs, _) = next_batch(&mut c).await;
    assert_eq!((from, txs), (pb, batch(3)), "C got a batch B had not accepted");
    // The one never judged is forwarded once accepted, late as that is.
    b.handle.tx_batch_checked(unjudged, pa, true);
    let (from, txs, _) = next_batch(&mut c).await;
    assert_eq!((from, txs), (pb, batch(1)));
    for n in [a, b, c] {
        n.handle.shutdown().await;
    }
}

async fn next_batch(node: &mut Node) -> (PeerId, Vec<Bytes>, GossipId) {
    node.expect(10, |e| match e {
        NetworkEvent::TxBatch { from, txs, id } => Some((from, txs, id)),
        _ => None,
    })
    .await
}
