//! A bootstrap peer that restarts, or goes silent behind a cut and comes back, is re-dialled
//! and gossip resumes.
use crate::common::*;
use cairn_network::{Multiaddr, NetworkConfig, NetworkEvent};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restarted_peer_is_reconnected() {
    let keys = keys(3);
    let set = validator_set(&keys);
    let mut nodes = mesh(&keys, &set).await;
    // Node 0 is in the bootstrap lists of nodes 1 and 2; restart it on the same port.
    let port = nodes[0].port();
    let node0 = nodes.remove(0);
    let id0 = peer(&node0);
    node0.handle.shutdown().await;
    for n in nodes.iter_mut() {
        n.expect(10, |e| matches!(e, NetworkEvent::PeerDisconnected { peer } if peer == id0).then_some(())).await;
        assert_eq!(n.handle.peers().len(), 1);
    }
    // Let a few redials fail first, so the backoff path is taken.
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let mut node0 = Node::start(&keys[0], &set, port, vec![]).await;
    for n in nodes.iter_mut() {
        n.expect(15, |e| matches!(e, NetworkEvent::PeerConnected { peer, .. } if peer == id0).then_some(())).await;
    }
    wait_until(10, || node0.handle.peers().len() == 2).await;
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;

    // Gossip flows both ways again.
    node0.handle.broadcast_consensus(vote(&keys[0], 3));
    for n in nodes.iter_mut() {
        let signer = n.next_vote_signer(10).await;
        assert_eq!(signer, keys[0].address().0.to_vec());
    }
    nodes[1].handle.broadcast_consensus(vote(&keys[2], 4));
    let signer = node0.next_vote_signer(10).await;
    assert_eq!(signer, keys[2].address().0.to_vec());
}

/// Free loopback ports (bound then released; a collision is unlikely within one test).
fn free_ports(n: usize) -> Vec<u16> {
    let listeners: Vec<_> = (0..n).map(|_| std::net::TcpListener::bind("127.0.0.1:0").unwrap()).collect();
    listeners.iter().map(|l| l.local_addr().unwrap().port()).collect()
}

/// The shape of `cairn testnet`: every node lists every node (itself included, without peer
/// ids) and nodes come up one by one, so early dials fail and are retried with backoff.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn testnet_shape_every_node_bootstraps_every_node() {
    let keys = keys(4);
    let set = validator_set(&keys);
    let ports = free_ports(4);
    let boot: Vec<cairn_network::Multiaddr> =
        ports.iter().map(|p| format!("/ip4/127.0.0.1/tcp/{p}").parse().unwrap()).collect();
    let mut nodes = Vec::new();
    for (k, port) in keys.iter().zip(&ports) {
        nodes.push(Node::start(k, &set, *port, boot.clone()).await);
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    }
    wait_until(20, || nodes.iter().all(|n| n.handle.peers().len() == 3)).await;
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    nodes[3].handle.broadcast_consensus(vote(&keys[3], 1));
    for n in nodes.iter_mut().take(3) {
        let signer = n.next_vote_signer(10).await;
        assert_eq!(signer, keys[3].address().0.to_vec());
    }
    for n in &nodes {
        assert_eq!(n.metric("cairn_p2p_peers", None), 3.0);
    }
}

/// A TCP relay between two nodes that a test can cut without closing anything: while cut it
/// swallows every byte both ways and refuses new connections, as a partition does to packets;
/// a connection that lived through a cut stays dead (its byte stream has holes).
struct Relay {
    port: u16,
    cut: Arc<AtomicBool>,
}

impl Relay {
    async fn start(to: u16) -> Relay {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let cut = Arc::new(AtomicBool::new(false));
        let c = cut.clone();
        tokio::spawn(async move {
            while let Ok((inbound, _)) = listener.accept().await {
                if c.load(Ordering::SeqCst) {
                    continue; // dropped: the dial fails
                }
                let Ok(outbound) = TcpStream::connect(("127.0.0.1", to)).await else { continue };
                let (ri, wi) = inbound.into_split();
                let (ro, wo) = outbound.into_split();
                tokio::spawn(pipe(ri, wo, c.clone()));
                tokio::spawn(pipe(ro, wi, c.clone()));
            }
        });
        Relay { port, cut }
    }
}

async fn pipe(mut from: OwnedReadHalf, mut to: OwnedWriteHalf, cut: Arc<AtomicBool>) {
    let mut buf = vec![0u8; 64 * 1024];
    let mut dead = false;
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) if cut.load(Ordering::SeqCst) => {
                std::future::pending::<()>().await; // a close does not cross a cut either
                return;
            }
            Ok(0) | Err(_) => return, // a real close passes through (by dropping `to`)
            Ok(n) => n,
        };
        dead |= cut.load(Ordering::SeqCst);
        if !dead && to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}

/// A peer that goes silent without closing (a partition, a frozen host) is found dead by ping
/// and its connection closed; once the network is whole again the bootstrap peer is re-dialled
/// and gossip flows. Before the ping timeout closed connections, the dead one counted as
/// connected for good and the peer was never re-dialled.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_peer_is_dropped_and_redialled_after_the_network_heals() {
    let keys = keys(2);
    let set = validator_set(&keys);
    // Both sides judge quickly and both have closed the dead connection before the heal. If one
    // side still held it when the other re-dialled, gossipsub on that side would not send its
    // subscriptions on the new connection (open: network README).
    let quick = NetworkConfig {
        listen: ([127, 0, 0, 1], 0).into(),
        reconnect_backoff_max: Duration::from_millis(500),
        ping_interval: Duration::from_millis(200),
        ping_timeout: Duration::from_secs(1),
        ..NetworkConfig::default()
    };
    let mut b = Node::start_with(&keys[1], &set, quick.clone()).await;
    let relay = Relay::start(b.port()).await;
    let via_relay: Multiaddr = format!("/ip4/127.0.0.1/tcp/{}/p2p/{}", relay.port, peer(&b)).parse().unwrap();
    let mut a = Node::start_with(&keys[0], &set, NetworkConfig { bootstrap: vec![via_relay], ..quick }).await;
    let id_b = peer(&b);
    a.expect(10, |e| matches!(e, NetworkEvent::PeerConnected { peer, .. } if peer == id_b).then_some(())).await;

    relay.cut.store(true, Ordering::SeqCst);
    a.expect(10, |e| matches!(e, NetworkEvent::PeerDisconnected { peer } if peer == id_b).then_some(())).await;
    tokio::time::sleep(Duration::from_secs(2)).await; // b's verdict too (1 s timeout)
    assert!(a.metric("cairn_p2p_dead_connections_total", None) >= 1.0);

    relay.cut.store(false, Ordering::SeqCst);
    a.expect(10, |e| matches!(e, NetworkEvent::PeerConnected { peer, .. } if peer == id_b).then_some(())).await;
    tokio::time::sleep(Duration::from_millis(1500)).await; // subscriptions, mesh
    a.handle.broadcast_consensus(vote(&keys[0], 7));
    let signer = b.next_vote_signer(10).await;
    assert_eq!(signer, keys[0].address().0.to_vec());
}
