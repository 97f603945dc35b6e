//! What a peer's batch says about the peer (`Mempool::submit_peer_batch`), judged on the
//! refusals real admission gives.
use crate::common::*;
use cairn_mempool::peer::{FAR_WINDOWS, WASTE_MIN};
use cairn_proto::{RejectReason, VerifiedTx};

fn raw(txs: &[VerifiedTx]) -> Vec<bytes::Bytes> {
    txs.iter().map(|t| t.encoded().clone()).collect()
}

#[test]
fn an_honest_batch_and_a_few_stale_txs_are_no_complaint() {
    let (pool, _, _) = funded_pool(64, 1_000_000);
    let batch: Vec<VerifiedTx> = (0..64).map(|i| transfer(&key(i), 0, 1, 1)).collect();
    assert_eq!(judge(&pool, raw(&batch)), None);
    // A few of them come again, among new ones.
    let mut mixed: Vec<VerifiedTx> = batch[..WASTE_MIN - 1].to_vec();
    mixed.extend((0..64).map(|i| transfer(&key(i), 1, 1, 1)));
    assert_eq!(judge(&pool, raw(&mixed)), None);
}

/// Admits `batch` as from a peer and judges it.
fn judge(pool: &cairn_mempool::Mempool, batch: Vec<bytes::Bytes>) -> Option<&'static str> {
    pool.submit_peer_batch(batch).complaint
}

/// A client resubmitted its txs to another node after the first failed: that node gossips
/// them again, and they are duplicates here. Honest, so no complaint.
#[test]
fn a_batch_of_txs_we_hold_already_is_no_complaint() {
    let (pool, _, _) = funded_pool(64, 1_000_000);
    let batch: Vec<VerifiedTx> = (0..64).map(|i| transfer(&key(i), 0, 1, 1)).collect();
    assert_eq!(judge(&pool, raw(&batch)), None);
    assert_eq!(judge(&pool, raw(&batch)), None);
}

#[test]
fn one_tx_repeated_within_a_batch_is_wasteful() {
    let (pool, _, _) = funded_pool(64, 1_000_000);
    // The first copy is admitted, the rest are waste.
    let one = vec![transfer(&key(0), 0, 1, 1); WASTE_MIN * 2];
    assert_eq!(judge(&pool, raw(&one)), Some("wasteful_tx_batch"));
}

/// A pool whose 64 funded senders have all used nonces 0 to 9.
fn pool_at_nonce_10() -> cairn_mempool::Mempool {
    let (pool, accounts, _) = funded_pool(64, 1_000_000);
    for i in 0..64 {
        accounts.set(key(i).address(), 1_000_000, 10);
    }
    pool
}

#[test]
fn a_batch_of_nonces_far_out_of_the_window_is_wasteful() {
    let pool = pool_at_nonce_10();
    let too_high: Vec<VerifiedTx> = (0..64).map(|i| transfer(&key(i), 10_000, 1, 1)).collect();
    assert_eq!(judge(&pool, raw(&too_high)), Some("wasteful_tx_batch"));
    let window = cairn_mempool::MempoolConfig::default().nonce_window;
    let just_far: Vec<VerifiedTx> = (0..64).map(|i| transfer(&key(i), 10 + FAR_WINDOWS * window, 1, 1)).collect();
    assert_eq!(judge(&pool, raw(&just_far)), Some("wasteful_tx_batch"));
}

/// An author a height ahead of us (its proposals just committed a full window per sender)
/// admitted nonces up to two windows past our committed nonce: out of our window, honest.
#[test]
fn a_batch_from_an_author_a_height_ahead_is_no_complaint() {
    let pool = pool_at_nonce_10();
    let window = cairn_mempool::MempoolConfig::default().nonce_window;
    let ahead: Vec<VerifiedTx> = (0..64).map(|i| transfer(&key(i), 10 + 2 * window - 1, 1, 1)).collect();
    let batch = pool.submit_peer_batch(raw(&ahead));
    assert!(batch.results.iter().all(|r| r.as_ref().is_err_and(|e| e.reason == RejectReason::NonceTooHigh)));
    assert_eq!(batch.complaint, None);
}

/// Used nonces come in bulk from honest nodes: a resubmitted tx's other copy once one of them is
/// committed, and what a validator admitted while it was behind. Not a complaint.
#[test]
fn a_batch_of_used_nonces_is_no_complaint() {
    let pool = pool_at_nonce_10();
    let used: Vec<VerifiedTx> = (0..64).map(|i| transfer(&key(i), 3, 1, 1)).collect();
    let batch = pool.submit_peer_batch(raw(&used));
    assert!(batch.results.iter().all(|r| r.as_ref().is_err_and(|e| e.reason == RejectReason::NonceTooLow)));
    assert_eq!(batch.complaint, None);
}

#[test]
fn one_forged_tx_is_enough() {
    let (pool, _, _) = funded_pool(64, 1_000_000);
    let mut batch: Vec<bytes::Bytes> = raw(&(0..63).map(|i| transfer(&key(i), 0, 1, 1)).collect::<Vec<_>>());
    let mut forged = transfer(&key(63), 0, 1, 1).encoded().to_vec();
    let last = forged.len() - 1;
    forged[last] ^= 1; // inside the signature
    batch.push(forged.into());
    assert_eq!(judge(&pool, batch), Some("invalid_tx"));
    assert_eq!(judge(&pool, vec![bytes::Bytes::from_static(b"junk")]), Some("invalid_tx"));
}
