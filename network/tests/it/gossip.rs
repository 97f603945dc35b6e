//! Four validators on loopback exchange votes and transaction batches.
use crate::common::*;
use bytes::Bytes;
use cairn_network::{peer_id_of, NetworkEvent};
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
            assert_eq!(from, peer_id_of(&keys[author]));
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
