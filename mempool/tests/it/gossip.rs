//! Gossip hooks: locally admitted txs leave in batches; peer txs are not gossiped again.
use crate::common::*;
use cairn_mempool::{MempoolConfig, Origin};
use std::time::Duration;

#[test]
fn local_txs_leave_in_batches_and_peer_txs_do_not() {
    let config =
        MempoolConfig { gossip_batch: 4, gossip_interval: Duration::from_millis(20), ..MempoolConfig::default() };
    let (pool, _, _) = funded_pool_with(config, 20, 1_000);
    let gossip = pool.gossip_receiver();
    let peer: Vec<_> = (10..20).map(|i| transfer(&key(i), 0, 1, 1).encoded().clone()).collect();
    assert!(pool.submit(peer, Origin::Peer).iter().all(Result::is_ok));
    let local: Vec<_> = (0..10).map(|i| transfer(&key(i), 0, 1, 1)).collect();
    let raw = local.iter().map(|t| t.encoded().clone()).collect();
    assert!(pool.submit(raw, Origin::Local).iter().all(Result::is_ok));
    let mut got = Vec::new();
    let mut sizes = Vec::new();
    while got.len() < local.len() {
        let batch = gossip.recv_timeout(Duration::from_secs(5)).expect("gossip batch");
        sizes.push(batch.len());
        got.extend(batch);
    }
    assert_eq!(got, local, "exactly the local txs, in order");
    assert_eq!(sizes, vec![4, 4, 2], "full batches at once, the rest after the interval");
    assert!(gossip.recv_timeout(Duration::from_millis(100)).is_err(), "nothing else");
}

#[test]
fn single_local_submissions_are_batched_together() {
    let config =
        MempoolConfig { gossip_batch: 64, gossip_interval: Duration::from_secs(1), ..MempoolConfig::default() };
    let (pool, _, _) = funded_pool_with(config, 5, 1_000);
    let gossip = pool.gossip_receiver();
    for i in 0..5 {
        assert!(pool.submit(vec![transfer(&key(i), 0, 1, 1).encoded().clone()], Origin::Local)[0].is_ok());
    }
    let batch = gossip.recv_timeout(Duration::from_secs(5)).expect("one batch");
    assert_eq!(batch.len(), 5);
}

#[test]
fn second_receiver_is_closed() {
    let (pool, _, _) = funded_pool(1, 1_000);
    let _first = pool.gossip_receiver();
    let second = pool.gossip_receiver();
    assert!(second.recv_timeout(Duration::from_millis(10)).is_err());
    assert!(second.is_empty());
}
