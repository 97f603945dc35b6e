//! What a peer's batch says about the peer (`cairn_mempool::peer::complaint`), judged on the
//! refusals real admission gives.
use crate::common::*;
use cairn_mempool::peer::{complaint, WASTE_MIN};
use cairn_mempool::Origin;
use cairn_proto::VerifiedTx;

fn raw(txs: &[VerifiedTx]) -> Vec<bytes::Bytes> {
    txs.iter().map(|t| t.encoded().clone()).collect()
}

#[test]
fn an_honest_batch_and_a_few_stale_txs_are_no_complaint() {
    let (pool, _, _) = funded_pool(64, 1_000_000);
    let batch: Vec<VerifiedTx> = (0..64).map(|i| transfer(&key(i), 0, 1, 1)).collect();
    assert_eq!(complaint(&pool.submit(raw(&batch), Origin::Peer)), None);
    // The same client txs reached us from another node too, but only a minority of a batch.
    let mut mixed: Vec<VerifiedTx> = batch[..WASTE_MIN - 1].to_vec();
    mixed.extend((0..64).map(|i| transfer(&key(i), 1, 1, 1)));
    assert_eq!(complaint(&pool.submit(raw(&mixed), Origin::Peer)), None);
}

#[test]
fn a_batch_of_duplicates_is_wasteful() {
    let (pool, _, _) = funded_pool(64, 1_000_000);
    let batch: Vec<VerifiedTx> = (0..64).map(|i| transfer(&key(i), 0, 1, 1)).collect();
    assert_eq!(complaint(&pool.submit(raw(&batch), Origin::Peer)), None);
    assert_eq!(complaint(&pool.submit(raw(&batch), Origin::Peer)), Some("wasteful_tx_batch"));
    // One tx repeated: the first copy is admitted, the rest are waste.
    let one = vec![transfer(&key(0), 1, 1, 1); WASTE_MIN * 2];
    assert_eq!(complaint(&pool.submit(raw(&one), Origin::Peer)), Some("wasteful_tx_batch"));
}

#[test]
fn a_batch_of_nonces_out_of_the_window_is_wasteful() {
    let (pool, accounts, _) = funded_pool(64, 1_000_000);
    for i in 0..64 {
        accounts.set(key(i).address(), 1_000_000, 10);
    }
    let too_high: Vec<VerifiedTx> = (0..64).map(|i| transfer(&key(i), 10_000, 1, 1)).collect();
    assert_eq!(complaint(&pool.submit(raw(&too_high), Origin::Peer)), Some("wasteful_tx_batch"));
    let used: Vec<VerifiedTx> = (0..64).map(|i| transfer(&key(i), 3, 1, 1)).collect();
    assert_eq!(complaint(&pool.submit(raw(&used), Origin::Peer)), Some("wasteful_tx_batch"));
}

#[test]
fn one_forged_tx_is_enough() {
    let (pool, _, _) = funded_pool(64, 1_000_000);
    let mut batch: Vec<bytes::Bytes> = raw(&(0..63).map(|i| transfer(&key(i), 0, 1, 1)).collect::<Vec<_>>());
    let mut forged = transfer(&key(63), 0, 1, 1).encoded().to_vec();
    let last = forged.len() - 1;
    forged[last] ^= 1; // inside the signature
    batch.push(forged.into());
    assert_eq!(complaint(&pool.submit(batch, Origin::Peer)), Some("invalid_tx"));
    assert_eq!(complaint(&pool.submit(vec![bytes::Bytes::from_static(b"junk")], Origin::Peer)), Some("invalid_tx"));
}
