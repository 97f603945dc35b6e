//! Several hosts: peers dialled by DNS name, and the address a node announces.
use crate::common::*;
use cairn_network::{Multiaddr, NetworkConfig};
use std::time::Duration;

/// A bootstrap entry `/dns4/localhost/tcp/…/p2p/…` is resolved and dialled (the name comes
/// from /etc/hosts, as a compose or Kubernetes service name would come from its DNS).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dns_bootstrap_address_is_dialled() {
    let keys = keys(2);
    let set = validator_set(&keys);
    let mut a = Node::start(&keys[0], &set, 0, vec![]).await;
    let by_name: Multiaddr = format!("/dns4/localhost/tcp/{}/p2p/{}", a.port(), peer(&a)).parse().unwrap();
    let b = Node::start(&keys[1], &set, 0, vec![by_name]).await;
    wait_until(15, || a.handle.peers().len() == 1 && b.handle.peers().len() == 1).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    b.handle.broadcast_consensus(vote(&keys[1], 1));
    let signer = a.next_vote_signer(10).await;
    assert_eq!(signer, keys[1].address().0.to_vec());
}

/// A node with `external_addrs` announces those (and only those) through identify: the peer
/// it dials lists it under its announced name, not under the connection's ephemeral port.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn peers_see_the_announced_address() {
    let keys = keys(2);
    let set = validator_set(&keys);
    let b = Node::start(&keys[1], &set, 0, vec![]).await;
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let announced: Multiaddr = format!("/dns4/localhost/tcp/{port}").parse().unwrap();
    let config = NetworkConfig {
        listen: ([127, 0, 0, 1], port).into(),
        bootstrap: vec![b.addr()],
        external_addrs: vec![announced.clone()],
        ..NetworkConfig::default()
    };
    let a = Node::start_with(&keys[0], &set, config).await;
    let id_a = peer(&a).to_string();
    wait_until(15, || b.handle.peers().iter().any(|p| p.peer_id == id_a && p.address == announced.to_string())).await;
}
