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
