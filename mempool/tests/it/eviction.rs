//! A full pool: a higher fee evicts the lowest-fee tail, never opening a nonce gap; otherwise
//! `mempool_full`. Byte capacity counts too.
use crate::common::*;
use cairn_mempool::MempoolConfig;
use cairn_proto::RejectReason;

#[test]
fn higher_fee_evicts_lowest_fee_tail() {
    let config = MempoolConfig { max_txs: 3, ..MempoolConfig::default() };
    let (pool, _, registry) = funded_pool_with(config, 3, 1_000);
    let (a, b, c) = (key(0), key(1), key(2));
    let a0 = transfer(&a, 0, 1, 1); // lowest fee, but a1 depends on it: not a tail
    let a1 = transfer(&a, 1, 5, 1);
    let b0 = transfer(&b, 0, 3, 1);
    for tx in [&a0, &a1, &b0] {
        assert!(insert(&pool, tx).is_ok());
    }
    // Fee 2 cannot evict b0 (fee 3), and a0 is not a tail: full.
    assert_eq!(insert(&pool, &transfer(&c, 0, 2, 1)), Err(RejectReason::MempoolFull));
    assert_eq!(counter(&registry, "cairn_mempool_rejected_total", "reason", "mempool_full"), 1);
    // Fee 4 evicts b0, the lowest-fee tail.
    let c0 = transfer(&c, 0, 4, 1);
    assert!(insert(&pool, &c0).is_ok());
    assert!(!pool.contains(&b0.hash()));
    assert!(pool.contains(&a0.hash()) && pool.contains(&a1.hash()));
    // Fee 6 evicts c0 (fee 4), the lowest-fee tail; a0 (fee 1) is not a tail.
    let b0_again = transfer(&b, 0, 6, 1);
    assert!(insert(&pool, &b0_again).is_ok());
    assert!(!pool.contains(&c0.hash()));
    // Fee 7: the tails are a1 (5) and b0 (6); a1 goes and a0 stays, so no gap opens.
    assert!(insert(&pool, &transfer(&c, 0, 7, 1)).is_ok());
    assert!(pool.contains(&a0.hash()) && !pool.contains(&a1.hash()));
    assert_eq!(pool.status().size, 3);
    assert_eq!(counter(&registry, "cairn_mempool_evicted_total", "cause", "capacity"), 3);
}

#[test]
fn a_sender_never_evicts_its_own_tail() {
    let config = MempoolConfig { max_txs: 2, ..MempoolConfig::default() };
    let (pool, _, _) = funded_pool_with(config, 1, 1_000);
    let k = key(0);
    assert!(insert(&pool, &transfer(&k, 0, 1, 1)).is_ok());
    assert!(insert(&pool, &transfer(&k, 1, 1, 1)).is_ok());
    assert_eq!(insert(&pool, &transfer(&k, 2, 100, 1)), Err(RejectReason::MempoolFull));
    assert_eq!(pool.status().size, 2);
}

#[test]
fn invalid_tx_evicts_nothing() {
    let config = MempoolConfig { max_txs: 1, ..MempoolConfig::default() };
    let (pool, _, _) = funded_pool_with(config, 2, 10);
    let a0 = transfer(&key(0), 0, 1, 1);
    assert!(insert(&pool, &a0).is_ok());
    assert_eq!(insert(&pool, &transfer(&key(1), 0, 5, 100)), Err(RejectReason::InsufficientBalance));
    assert!(pool.contains(&a0.hash()));
}

#[test]
fn byte_capacity_is_enforced() {
    let one = transfer(&key(0), 0, 1, 1).len();
    let config = MempoolConfig { max_bytes: 2 * one, ..MempoolConfig::default() };
    let (pool, _, _) = funded_pool_with(config, 3, 1_000);
    assert!(insert(&pool, &transfer(&key(0), 0, 1, 1)).is_ok());
    assert!(insert(&pool, &transfer(&key(1), 0, 1, 1)).is_ok());
    assert_eq!(insert(&pool, &transfer(&key(2), 0, 1, 1)), Err(RejectReason::MempoolFull));
    assert!(insert(&pool, &transfer(&key(2), 0, 2, 1)).is_ok());
    assert!(pool.status().bytes <= 2 * one);
}

#[test]
fn a_full_pool_still_takes_fee_bumps() {
    let config = MempoolConfig { max_txs: 2, ..MempoolConfig::default() };
    let (pool, _, registry) = funded_pool_with(config, 2, 1_000);
    let a0 = transfer(&key(0), 0, 9, 1);
    assert!(insert(&pool, &a0).is_ok());
    assert!(insert(&pool, &transfer(&key(1), 0, 9, 1)).is_ok());
    // key(1)'s tx has a lower fee, but a replacement frees its own slot: nothing is evicted.
    let bump = transfer(&key(0), 0, 10, 1);
    assert!(insert(&pool, &bump).is_ok());
    assert!(!pool.contains(&a0.hash()) && pool.contains(&bump.hash()));
    assert_eq!(pool.status().size, 2);
    assert_eq!(counter(&registry, "cairn_mempool_evicted_total", "cause", "capacity"), 0);
}

#[test]
fn a_pending_duplicate_in_a_full_pool_is_a_duplicate_and_evicts_nothing() {
    // Admission finds pending duplicates in the sender's queue, not by a `by_hash` lookup first:
    // in a full pool that must still say `duplicate`, before any eviction is tried.
    let config = MempoolConfig { max_txs: 2, ..MempoolConfig::default() };
    let (pool, _, registry) = funded_pool_with(config, 2, 1_000);
    let (a, b) = (key(0), key(1));
    let a0 = transfer(&a, 0, 1, 1);
    let b0 = transfer(&b, 0, 9, 1);
    assert!(insert(&pool, &a0).is_ok());
    assert!(insert(&pool, &b0).is_ok());
    assert_eq!(insert(&pool, &b0), Err(RejectReason::Duplicate));
    assert_eq!(insert(&pool, &a0), Err(RejectReason::Duplicate));
    assert!(pool.contains(&a0.hash()) && pool.contains(&b0.hash()));
    assert_eq!(pool.status().size, 2);
    assert_eq!(counter(&registry, "cairn_mempool_evicted_total", "cause", "capacity"), 0);
    assert_eq!(counter(&registry, "cairn_mempool_rejected_total", "reason", "duplicate"), 2);
}
