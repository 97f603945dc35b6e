//! Peers that send garbage, oversized or badly signed messages lose score and are banned,
//! while honest validators carry on.
use crate::common::*;
use bytes::Bytes;
use cairn_network::testkit::{self, connect, envelope as env, raw_swarm, RawSwarm};
use cairn_network::{consensus_topic, peer_id_of, txs_topic, NetworkEvent};
use cairn_proto::{pb, ConsensusMessage, Keypair, Vote, VoteKind};
use futures::StreamExt;
use libp2p::gossipsub::{self, IdentTopic};
use libp2p::swarm::SwarmEvent;
use libp2p::{PeerId, Swarm};
use std::time::Duration;

/// Polls `swarm` until `f` returns true for an event, or panics after `secs`.
async fn drive_until(swarm: &mut RawSwarm, secs: u64, f: impl FnMut(&SwarmEvent<gossipsub::Event>) -> bool) {
    assert!(testkit::drive_until(swarm, secs, f).await, "attacker did not see the expected event");
}

/// An attacker connected to `node` once the node's subscriptions to both topics are known.
async fn connected_attacker(key: &Keypair, node: &Node) -> RawSwarm {
    let mut attacker = raw_swarm(key, CHAIN);
    assert_eq!(connect(&mut attacker, node.addr()).await, peer(node));
    attacker
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_oversized_and_forged_messages_get_the_sender_banned() {
    let keys = keys(3);
    let set = validator_set(&keys);
    let mut nodes = mesh(&keys, &set).await;
    let target = peer(&nodes[0]);

    let evil_key = Keypair::from_seed([66; 32]);
    let evil = peer_id_of(&evil_key);
    let mut attacker = connected_attacker(&evil_key, &nodes[0]).await;
    let validator = nodes[0]
        .expect(5, |e| match e {
            NetworkEvent::PeerConnected { peer, validator } if peer == evil => Some(validator),
            _ => None,
        })
        .await;
    assert_eq!(validator, None, "an outsider key is not a validator");

    let publish = |s: &mut Swarm<gossipsub::Behaviour>, t: IdentTopic, data: Vec<u8>| {
        s.behaviour_mut().publish(t, data).expect("attacker publishes");
    };
    // 1. Undecodable bytes: rejected and scored, but one strike is not a ban.
    publish(&mut attacker, txs_topic(CHAIN), vec![0xff; 64]);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while nodes[0].metric("cairn_p2p_rejected_messages_total", Some(("reason", "decode"))) < 1.0 {
        assert!(tokio::time::Instant::now() < deadline, "garbage was not rejected");
        let _ = tokio::time::timeout(Duration::from_millis(50), attacker.select_next_some()).await;
    }
    // Give the ban check a tick; the attacker must still be connected.
    let _ = tokio::time::timeout(Duration::from_millis(600), async {
        loop {
            attacker.select_next_some().await;
        }
    })
    .await;
    assert!(nodes[0].handle.peers().iter().any(|p| p.peer_id == evil.to_string()), "banned after one strike");
    // 2. A well-formed batch over the 1 MiB tx-batch limit.
    let big = env(pb::envelope::Payload::Txs(pb::TxBatch { txs: vec![Bytes::from(vec![1u8; (1 << 20) + 64])] }));
    publish(&mut attacker, txs_topic(CHAIN), big);
    // 3. A vote claiming validator 1 but signed with the attacker's key.
    let mut forged = Vote::new_signed(&evil_key, CHAIN, VoteKind::Precommit, 1, 0, None);
    forged.validator = keys[1].address();
    publish(
        &mut attacker,
        consensus_topic(CHAIN),
        env(pb::envelope::Payload::Consensus(ConsensusMessage::Vote(forged).to_pb())),
    );

    // The third strike takes the attacker below the ban threshold: node 0 hangs up.
    drive_until(&mut attacker, 15, |e| matches!(e, SwarmEvent::ConnectionClosed { peer_id, .. } if *peer_id == target))
        .await;
    nodes[0].expect(5, |e| matches!(e, NetworkEvent::PeerDisconnected { peer } if peer == evil).then_some(())).await;
    for reason in ["decode", "oversized", "bad_signature"] {
        assert_eq!(nodes[0].metric("cairn_p2p_rejected_messages_total", Some(("reason", reason))), 1.0, "{reason}");
    }
    assert_eq!(nodes[0].metric("cairn_p2p_banned_peers_total", None), 1.0);

    // Banned means blocked: a fresh dial is refused (the connection fails or is dropped at once).
    attacker.dial(nodes[0].addr()).unwrap();
    drive_until(&mut attacker, 10, |e| {
        matches!(e, SwarmEvent::OutgoingConnectionError { .. } | SwarmEvent::ConnectionClosed { .. })
    })
    .await;
    assert!(nodes[0].handle.peers().iter().all(|p| p.peer_id != evil.to_string()));

    // Nothing the attacker sent was forwarded, and the honest validators carry on.
    nodes[2].handle.broadcast_consensus(vote(&keys[2], 9));
    for i in [0, 1] {
        let signer = nodes[i]
            .expect(10, |e| match e {
                NetworkEvent::Consensus { msg, .. } => vote_signer(&msg),
                NetworkEvent::TxBatch { .. } => panic!("an invalid tx batch was delivered"),
                _ => None,
            })
            .await;
        assert_eq!(signer, keys[2].address().0.to_vec());
    }
    for n in &nodes[1..] {
        assert_eq!(n.metric("cairn_p2p_rejected_messages_total", None), 0.0, "invalid messages were forwarded");
    }
    assert_eq!(nodes[0].handle.peers().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reported_misbehaviour_bans_a_peer() {
    let keys = keys(2);
    let set = validator_set(&keys);
    let mut nodes = mesh(&keys, &set).await;
    let bad: PeerId = peer(&nodes[1]);
    for _ in 0..6 {
        nodes[0].handle.report_misbehaviour(bad, "invalid tx signatures");
    }
    nodes[0].expect(10, |e| matches!(e, NetworkEvent::PeerDisconnected { peer } if peer == bad).then_some(())).await;
    assert_eq!(nodes[0].metric("cairn_p2p_rejected_messages_total", Some(("reason", "misbehaviour"))), 6.0);
    assert_eq!(nodes[0].metric("cairn_p2p_banned_peers_total", None), 1.0);
    // Node 1 keeps re-dialling its bootstrap peer, and node 0 keeps refusing it.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(nodes[0].handle.peers().is_empty());
}

/// Messages over a topic's size limit never reach validation: gossipsub's codec refuses them
/// and charges the sender, which ends up banned all the same.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_over_the_topic_limit_are_charged_by_gossipsub() {
    let keys = keys(2);
    let set = validator_set(&keys);
    let mut nodes = mesh(&keys, &set).await;
    let target = peer(&nodes[0]);
    let evil_key = Keypair::from_seed([67; 32]);
    let mut attacker = connected_attacker(&evil_key, &nodes[0]).await;
    // 2 MiB on the txs topic (limit 1 MiB): three of them.
    for i in 0..3u8 {
        attacker.behaviour_mut().publish(txs_topic(CHAIN), vec![i; 2 << 20]).unwrap();
    }
    drive_until(&mut attacker, 15, |e| matches!(e, SwarmEvent::ConnectionClosed { peer_id, .. } if *peer_id == target))
        .await;
    assert_eq!(nodes[0].metric("cairn_p2p_banned_peers_total", None), 1.0);
    assert_eq!(nodes[0].metric("cairn_p2p_rejected_messages_total", None), 0.0, "never reached validation");
    while let Ok(e) = nodes[0].events.try_recv() {
        assert!(!matches!(e, NetworkEvent::TxBatch { .. }), "an oversized batch was delivered");
    }
}

/// A peer flooding tx batches faster than the node takes them fills only the tx share of the
/// node's event queue (`TX_EVENTS_MAX`, 64); the rest is dropped and counted, never buffered,
/// and a vote sent after the flood still gets a place in the queue.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tx_flood_fills_only_its_share_of_the_queue_and_votes_still_arrive() {
    let keys = keys(2);
    let set = validator_set(&keys);
    let mut nodes = mesh(&keys, &set).await;
    let mut attacker = connected_attacker(&Keypair::from_seed([68; 32]), &nodes[0]).await;
    // Nobody reads node 0's events while the flood arrives.
    const FLOOD: usize = 300;
    for i in 0..FLOOD {
        testkit::publish_txs(&mut attacker, CHAIN, vec![Bytes::from(format!("tx {i}"))]);
    }
    let dropped = |n: &Node| n.metric("cairn_p2p_dropped_messages_total", Some(("reason", "inbound_queue_full")));
    let received = |n: &Node| n.metric("cairn_p2p_received_messages_total", Some(("topic", "txs")));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while received(&nodes[0]) < FLOOD as f64 {
        assert!(tokio::time::Instant::now() < deadline, "the flood did not arrive: {}", received(&nodes[0]));
        let _ = tokio::time::timeout(Duration::from_millis(50), attacker.select_next_some()).await;
    }
    nodes[1].handle.broadcast_consensus(vote(&keys[1], 7));
    let mut batches = 0;
    let signer = nodes[0]
        .expect(10, |e| match e {
            NetworkEvent::TxBatch { .. } => {
                batches += 1;
                None
            }
            NetworkEvent::Consensus { msg, .. } => vote_signer(&msg),
            _ => None,
        })
        .await;
    assert_eq!(signer, keys[1].address().0.to_vec(), "the vote got through");
    assert!(batches <= 64, "{batches} tx batches were queued, over the tx share of 64");
    assert_eq!(batches as f64 + dropped(&nodes[0]), FLOOD as f64, "every batch is either queued or counted as dropped");
}

/// A vote signed by a key outside the sets the node knows is not a lie: a validator that joins
/// at a set this node has not reached yet, or that left at one it has passed, signs it honestly,
/// and any peer a height ahead or behind relays it. It is neither delivered nor forwarded, and
/// the peer that relayed it is not charged, however many it relays.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn votes_from_outside_the_known_sets_are_ignored_and_not_charged() {
    let keys = keys(2);
    let set = validator_set(&keys);
    let mut nodes = mesh(&keys, &set).await;
    let relay_key = Keypair::from_seed([69; 32]);
    let relay = peer_id_of(&relay_key);
    let mut relayer = connected_attacker(&relay_key, &nodes[0]).await;
    let joiner = Keypair::from_seed([70; 32]);
    const VOTES: u64 = 6;
    for h in 1..=VOTES {
        let msg = ConsensusMessage::Vote(Vote::new_signed(&joiner, CHAIN, VoteKind::Prevote, h, 0, None)).to_pb();
        relayer.behaviour_mut().publish(consensus_topic(CHAIN), env(pb::envelope::Payload::Consensus(msg))).unwrap();
    }
    let received = |n: &Node| n.metric("cairn_p2p_received_messages_total", Some(("topic", "consensus")));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while received(&nodes[0]) < VOTES as f64 {
        let (got, banned) = (received(&nodes[0]), nodes[0].metric("cairn_p2p_banned_peers_total", None));
        assert!(tokio::time::Instant::now() < deadline, "{got} of {VOTES} votes arrived; peers banned: {banned}");
        let _ = tokio::time::timeout(Duration::from_millis(50), relayer.select_next_some()).await;
    }
    // A heartbeat or two for a score-based ban to act, had there been one.
    let _ = tokio::time::timeout(Duration::from_millis(1200), async {
        loop {
            relayer.select_next_some().await;
        }
    })
    .await;
    assert!(nodes[0].handle.peers().iter().any(|p| p.peer_id == relay.to_string()), "the relaying peer was banned");
    assert_eq!(nodes[0].metric("cairn_p2p_banned_peers_total", None), 0.0);
    assert_eq!(nodes[0].metric("cairn_p2p_rejected_messages_total", None), 0.0, "an honest relay was charged");
    while let Ok(e) = nodes[0].events.try_recv() {
        assert!(!matches!(e, NetworkEvent::Consensus { .. }), "a vote from outside the set was delivered");
    }
    let ignored = |n: &Node| n.metric("cairn_p2p_dropped_messages_total", Some(("reason", "unknown_signer")));
    assert_eq!(ignored(&nodes[0]), VOTES as f64, "every such vote is counted");
    assert_eq!(received(&nodes[1]), 0.0, "node 0 forwarded the votes to node 1");
}
