//! A bootstrap peer that restarts is re-dialled and gossip resumes.
use crate::common::*;
use cairn_network::NetworkEvent;

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
        let signer = n
            .expect(10, |e| match e {
                NetworkEvent::Consensus { msg, .. } => vote_signer(&msg),
                _ => None,
            })
            .await;
        assert_eq!(signer, keys[0].address().0.to_vec());
    }
    nodes[1].handle.broadcast_consensus(vote(&keys[2], 4));
    let signer = node0
        .expect(10, |e| match e {
            NetworkEvent::Consensus { msg, .. } => vote_signer(&msg),
            _ => None,
        })
        .await;
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
        let signer = n
            .expect(10, |e| match e {
                NetworkEvent::Consensus { msg, .. } => vote_signer(&msg),
                _ => None,
            })
            .await;
        assert_eq!(signer, keys[3].address().0.to_vec());
    }
    for n in &nodes {
        assert_eq!(n.metric("cairn_p2p_peers", None), 3.0);
    }
}
