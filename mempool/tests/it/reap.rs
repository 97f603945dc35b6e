//! Reap: fee priority across senders, nonce order within a sender, parked txs left behind,
//! count and byte budgets, and nothing removed.
use crate::common::*;
use cairn_proto::VerifiedTx;

fn hashes(txs: &[VerifiedTx]) -> Vec<cairn_proto::Hash> {
    txs.iter().map(VerifiedTx::hash).collect()
}

#[test]
fn highest_fee_first_with_nonces_in_order() {
    let (pool, _, _) = funded_pool(3, 1_000);
    let (a, b, c) = (key(0), key(1), key(2));
    let a0 = transfer(&a, 0, 1, 1);
    let a1 = transfer(&a, 1, 50, 1); // rich fee behind a poor one: waits for a0
    let b0 = transfer(&b, 0, 10, 1);
    let b1 = transfer(&b, 1, 9, 1);
    let c0 = transfer(&c, 0, 20, 1);
    for tx in [&a1, &b1, &a0, &c0, &b0] {
        assert!(insert(&pool, tx).is_ok());
    }
    let reaped = pool.reap(100, usize::MAX);
    assert_eq!(hashes(&reaped), hashes(&[c0, b0, b1, a0, a1]));
    assert_eq!(pool.status().size, 5, "reap does not remove");
}

#[test]
fn equal_fees_go_in_arrival_order() {
    let (pool, _, _) = funded_pool(3, 1_000);
    let txs: Vec<_> = [2, 0, 1].iter().map(|&i| transfer(&key(i), 0, 7, 1)).collect();
    for tx in &txs {
        assert!(insert(&pool, tx).is_ok());
    }
    assert_eq!(hashes(&pool.reap(10, usize::MAX)), hashes(&txs));
}

#[test]
fn parked_txs_behind_a_gap_are_not_reaped() {
    let (pool, _, _) = funded_pool(1, 1_000);
    let k = key(0);
    let t0 = transfer(&k, 0, 1, 1);
    let t2 = transfer(&k, 2, 100, 1);
    assert!(insert(&pool, &t0).is_ok());
    assert!(insert(&pool, &t2).is_ok());
    assert_eq!(pool.reap(10, usize::MAX), vec![t0.clone()]);
    let t1 = transfer(&k, 1, 1, 1);
    assert!(insert(&pool, &t1).is_ok());
    assert_eq!(pool.reap(10, usize::MAX), vec![t0, t1, t2]);
}

#[test]
fn count_and_byte_budgets() {
    let (pool, _, _) = funded_pool(4, 1_000);
    let txs: Vec<_> = (0..4).map(|i| transfer(&key(i), 0, 10 - i, 1)).collect();
    for tx in &txs {
        assert!(insert(&pool, tx).is_ok());
    }
    assert_eq!(pool.reap(2, usize::MAX), txs[..2].to_vec());
    let len = txs[0].len();
    assert!(txs.iter().all(|t| t.len() == len));
    assert_eq!(pool.reap(100, 3 * len), txs[..3].to_vec());
    assert_eq!(pool.reap(100, 3 * len - 1), txs[..2].to_vec());
    assert!(pool.reap(0, usize::MAX).is_empty());
    assert!(pool.reap(100, 10).is_empty());
}

#[test]
fn count_budget_cuts_a_sender_chain() {
    let (pool, _, _) = funded_pool(2, 1_000);
    let (a, b) = (key(0), key(1));
    let a0 = transfer(&a, 0, 9, 1);
    let a1 = transfer(&a, 1, 9, 1);
    let b0 = transfer(&b, 0, 1, 1);
    for tx in [&a0, &a1, &b0] {
        assert!(insert(&pool, tx).is_ok());
    }
    // Room for two: a0, a1; b0 has the lowest fee.
    assert_eq!(pool.reap(2, usize::MAX), vec![a0.clone(), a1]);
    assert_eq!(pool.reap(1, usize::MAX), vec![a0]);
}
