//! After commit: removal by (sender, nonce), revalidation of touched senders only, TTL sweep.
use crate::common::*;
use cairn_mempool::MempoolConfig;
use cairn_proto::Account;
use std::time::Duration;

#[test]
fn commit_removes_committed_and_lower_nonces() {
    let (pool, accounts, registry) = funded_pool(2, 1_000);
    let (a, b) = (key(0), key(1));
    let a_txs: Vec<_> = (0..4).map(|n| transfer(&a, n, 1, 10)).collect();
    let b0 = transfer(&b, 0, 1, 10);
    for tx in a_txs.iter().chain([&b0]) {
        assert!(insert(&pool, tx).is_ok());
    }
    // A block with a0, a1 commits; a2 was committed elsewhere too (nonce now 3).
    accounts.set(a.address(), 1_000 - 33, 3);
    pool.on_commit(&a_txs[..2], &[(a.address(), accounts.get(&a.address()))]);
    assert_eq!(pool.status().size, 2);
    assert!(pool.contains(&a_txs[3].hash()));
    assert!(pool.contains(&b0.hash()));
    assert_eq!(pool.reap(10, usize::MAX).len(), 2);
    assert_eq!(total(&registry, "cairn_mempool_committed_removed_total"), 3);
    assert_eq!(gauge(&registry, "cairn_mempool_size"), 2);
}

#[test]
fn touched_sender_loses_what_it_can_no_longer_pay() {
    let (pool, accounts, registry) = funded_pool(1, 100);
    let k = key(0);
    let txs: Vec<_> = (0..4).map(|n| transfer(&k, n, 1, 24)).collect();
    for tx in &txs {
        assert!(insert(&pool, tx).is_ok());
    }
    // Someone else's transfer drained 60: only 40 left, so only tx 0 remains payable.
    let drained = Account::new(40, 0);
    accounts.set(k.address(), drained.balance, drained.nonce);
    pool.on_commit(&[], &[(k.address(), drained)]);
    assert_eq!(pool.reap(10, usize::MAX), vec![txs[0].clone()]);
    assert_eq!(pool.status().size, 1);
    assert_eq!(counter(&registry, "cairn_mempool_evicted_total", "cause", "balance"), 3);
}

#[test]
fn untouched_senders_are_not_rechecked() {
    let (pool, accounts, _) = funded_pool(2, 100);
    let (a, b) = (key(0), key(1));
    let b0 = transfer(&b, 0, 1, 99);
    assert!(insert(&pool, &b0).is_ok());
    // b's balance dropped in state, but the block did not touch b: b's tx stays until b is touched.
    accounts.set(b.address(), 0, 0);
    pool.on_commit(&[], &[(a.address(), Account::new(5, 0))]);
    assert!(pool.contains(&b0.hash()));
    pool.on_commit(&[], &[(b.address(), accounts.get(&b.address()))]);
    assert!(!pool.contains(&b0.hash()));
}

#[test]
fn committed_sender_missing_from_touched_is_read_from_state() {
    let (pool, accounts, _) = funded_pool(1, 100);
    let k = key(0);
    let t0 = transfer(&k, 0, 1, 9);
    let t1 = transfer(&k, 1, 1, 9);
    assert!(insert(&pool, &t0).is_ok());
    assert!(insert(&pool, &t1).is_ok());
    accounts.set(k.address(), 90, 1);
    pool.on_commit(std::slice::from_ref(&t0), &[]);
    assert_eq!(pool.reap(10, usize::MAX), vec![t1]);
}

#[test]
fn recipient_credit_lets_a_sender_spend_more() {
    let (pool, accounts, _) = funded_pool(1, 10);
    let k = key(0);
    assert!(insert(&pool, &transfer(&k, 0, 1, 9)).is_ok());
    assert!(insert(&pool, &transfer(&k, 1, 1, 9)).is_err());
    accounts.set(k.address(), 20, 0);
    pool.on_commit(&[], &[(k.address(), accounts.get(&k.address()))]);
    assert!(insert(&pool, &transfer(&k, 1, 1, 9)).is_ok());
}

#[test]
fn ttl_sweep_drops_old_txs() {
    let config = MempoolConfig { ttl: Duration::from_millis(500), ..MempoolConfig::default() };
    let (pool, _, registry) = funded_pool_with(config, 2, 1_000);
    assert!(insert(&pool, &transfer(&key(0), 0, 1, 1)).is_ok());
    pool.evict_expired();
    assert_eq!(pool.status().size, 1, "not expired yet");
    std::thread::sleep(Duration::from_millis(600));
    let fresh = transfer(&key(1), 0, 1, 1);
    assert!(insert(&pool, &fresh).is_ok());
    pool.evict_expired();
    assert_eq!(pool.reap(10, usize::MAX), vec![fresh]);
    assert_eq!(counter(&registry, "cairn_mempool_evicted_total", "cause", "expired"), 1);
    assert_eq!(pool.sender_pending(&key(0).address()), 0);
}
