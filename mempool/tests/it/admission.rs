//! Admission: every refusal reason of SPEC §4, replacement, metrics, batch verification.
use crate::common::*;
use bytes::Bytes;
use cairn_mempool::{MempoolConfig, Origin};
use cairn_proto::{RejectReason, TxBody};

fn reason_of(pool: &cairn_mempool::Mempool, raw: Bytes) -> RejectReason {
    pool.submit(vec![raw], Origin::Local).remove(0).expect_err("must be refused").reason
}

#[test]
fn admits_a_valid_transfer_and_finds_it() {
    let (pool, _, registry) = funded_pool(1, 1_000);
    let tx = transfer(&key(0), 0, 1, 10);
    let hash = pool.submit(vec![tx.encoded().clone()], Origin::Local).remove(0).expect("admitted");
    assert_eq!(hash, tx.hash());
    assert!(pool.contains(&hash));
    assert_eq!(pool.get(&hash), Some(tx.clone()));
    let status = pool.status();
    assert_eq!((status.size, status.bytes, status.capacity), (1, tx.len(), MempoolConfig::default().max_txs));
    assert_eq!(gauge(&registry, "cairn_mempool_size"), 1);
    assert_eq!(gauge(&registry, "cairn_mempool_bytes"), tx.len() as i64);
    assert_eq!(gauge(&registry, "cairn_mempool_capacity"), MempoolConfig::default().max_txs as i64);
    assert_eq!(counter(&registry, "cairn_mempool_admitted_total", "origin", "local"), 1);
}

#[test]
fn stateless_refusals() {
    let config = MempoolConfig { min_fee: 2, max_tx_bytes: 400, ..MempoolConfig::default() };
    let (pool, _, registry) = funded_pool_with(config, 1, 1_000);
    let k = key(0);
    assert_eq!(reason_of(&pool, Bytes::from_static(b"\xff\xff not protobuf")), RejectReason::MalformedTx);
    let wrong_chain = TxBody { chain_id: "other".into(), ..body(&k, 0, 5, 1) }.sign(&k);
    assert_eq!(reason_of(&pool, wrong_chain.encoded().clone()), RejectReason::WrongChainId);
    assert_eq!(reason_of(&pool, transfer(&k, 0, 1, 1).encoded().clone()), RejectReason::FeeTooLow);
    assert_eq!(reason_of(&pool, Bytes::from(vec![0u8; 401])), RejectReason::TxTooLarge);
    let huge_chain = TxBody { chain_id: "x".repeat(300), ..body(&k, 0, 5, 1) }.sign(&k);
    assert_eq!(reason_of(&pool, huge_chain.encoded().clone()), RejectReason::TxTooLarge);
    assert_eq!(pool.status().size, 0);
    for (reason, n) in [("malformed_tx", 1), ("wrong_chain_id", 1), ("fee_too_low", 1), ("tx_too_large", 2)] {
        assert_eq!(counter(&registry, "cairn_mempool_rejected_total", "reason", reason), n, "{reason}");
    }
    assert_eq!(counter(&registry, "cairn_mempool_rejected_total", "reason", "duplicate"), 0);
}

#[test]
fn a_nonce_outside_the_window_is_refused_before_its_signature_is_checked() {
    let (pool, accounts, registry) = funded_pool(2, 1_000);
    let (k, fresh) = (key(0), key(1));
    accounts.set(k.address(), 1_000, 5);
    assert!(insert(&pool, &transfer(&k, 5, 1, 1)).is_ok(), "a queue for the sender exists");
    let window = MempoolConfig::default().nonce_window;
    // Bad signatures: a refusal for the nonce shows the signature was never looked at.
    let forged = |tx: cairn_proto::VerifiedTx| {
        let mut b = tx.encoded().to_vec();
        *b.last_mut().expect("non-empty") ^= 0x01;
        Bytes::from(b)
    };
    assert_eq!(reason_of(&pool, forged(transfer(&k, 5 + window, 1, 1))), RejectReason::NonceTooHigh);
    assert_eq!(reason_of(&pool, forged(transfer(&k, 4, 1, 1))), RejectReason::NonceTooLow);
    // A sender without a queue is read from the committed accounts.
    assert_eq!(reason_of(&pool, forged(transfer(&fresh, window, 1, 1))), RejectReason::NonceTooHigh);
    // Inside the window, the signature decides.
    assert_eq!(reason_of(&pool, forged(transfer(&k, 6, 1, 1))), RejectReason::InvalidSignature);
    assert_eq!(counter(&registry, "cairn_mempool_rejected_total", "reason", "invalid_signature"), 1);
    assert_eq!(counter(&registry, "cairn_mempool_rejected_total", "reason", "nonce_too_high"), 2);
}

#[test]
fn bad_signature_in_a_batch_refuses_only_that_tx() {
    let (pool, _, registry) = funded_pool(300, 1_000);
    let mut raw: Vec<Bytes> = (0..300).map(|i| transfer(&key(i), 0, 1, 1).encoded().clone()).collect();
    // Corrupt the last signature byte of two txs in different verification chunks.
    for i in [7, 250] {
        let mut b = raw[i].to_vec();
        *b.last_mut().expect("non-empty") ^= 0x01;
        raw[i] = Bytes::from(b);
    }
    let results = pool.submit(raw, Origin::Peer);
    assert_eq!(results.len(), 300);
    for (i, r) in results.iter().enumerate() {
        match i {
            7 | 250 => assert_eq!(r.as_ref().expect_err("bad sig").reason, RejectReason::InvalidSignature),
            _ => assert_eq!(*r.as_ref().expect("good sig"), transfer(&key(i as u64), 0, 1, 1).hash()),
        }
    }
    assert_eq!(pool.status().size, 298);
    assert_eq!(counter(&registry, "cairn_mempool_rejected_total", "reason", "invalid_signature"), 2);
    assert_eq!(counter(&registry, "cairn_mempool_admitted_total", "origin", "peer"), 298);
}

#[test]
fn duplicates_pending_and_recently_committed() {
    let (pool, accounts, _) = funded_pool(1, 1_000);
    let k = key(0);
    let tx = transfer(&k, 0, 1, 10);
    assert!(insert(&pool, &tx).is_ok());
    assert_eq!(insert(&pool, &tx), Err(RejectReason::Duplicate));
    assert_eq!(reason_of(&pool, tx.encoded().clone()), RejectReason::Duplicate);
    accounts.set(k.address(), 989, 1);
    pool.on_commit(std::slice::from_ref(&tx), &[(k.address(), accounts.get(&k.address()))]);
    assert!(!pool.contains(&tx.hash()));
    assert_eq!(insert(&pool, &tx), Err(RejectReason::Duplicate));
}

#[test]
fn nonce_window_and_parking() {
    let config = MempoolConfig { nonce_window: 4, ..MempoolConfig::default() };
    let (pool, accounts, _) = funded_pool_with(config, 1, 1_000);
    let k = key(0);
    accounts.set(k.address(), 1_000, 5);
    assert_eq!(insert(&pool, &transfer(&k, 4, 1, 1)), Err(RejectReason::NonceTooLow));
    assert_eq!(insert(&pool, &transfer(&k, 9, 1, 1)), Err(RejectReason::NonceTooHigh));
    // 8 = 5 + window - 1 is the last nonce accepted; it waits in the parking lot.
    assert!(insert(&pool, &transfer(&k, 8, 1, 1)).is_ok());
    assert!(insert(&pool, &transfer(&k, 5, 1, 1)).is_ok());
    assert_eq!(pool.sender_pending(&k.address()), 2);
}

#[test]
fn balance_counts_pending_spends() {
    let (pool, _, _) = funded_pool(1, 100);
    let k = key(0);
    assert!(insert(&pool, &transfer(&k, 0, 10, 40)).is_ok()); // 50
    assert!(insert(&pool, &transfer(&k, 1, 10, 30)).is_ok()); // 90
    assert_eq!(insert(&pool, &transfer(&k, 2, 1, 10)), Err(RejectReason::InsufficientBalance)); // 101
    assert!(insert(&pool, &transfer(&k, 2, 1, 9)).is_ok()); // exactly 100
    assert_eq!(insert(&pool, &transfer(&k, 3, u64::MAX, u64::MAX)), Err(RejectReason::InsufficientBalance));
}

#[test]
fn sender_limit_caps_one_sender() {
    let config = MempoolConfig { sender_limit: 3, ..MempoolConfig::default() };
    let (pool, _, registry) = funded_pool_with(config, 2, 1_000);
    for n in 0..3 {
        assert!(insert(&pool, &transfer(&key(0), n, 1, 1)).is_ok());
    }
    assert_eq!(insert(&pool, &transfer(&key(0), 3, 1, 1)), Err(RejectReason::SenderLimit));
    assert!(insert(&pool, &transfer(&key(1), 0, 1, 1)).is_ok());
    assert_eq!(counter(&registry, "cairn_mempool_rejected_total", "reason", "sender_limit"), 1);
}

#[test]
fn higher_fee_replaces_same_nonce() {
    let (pool, _, registry) = funded_pool(1, 1_000);
    let k = key(0);
    let first = transfer(&k, 0, 5, 1);
    assert!(insert(&pool, &first).is_ok());
    assert_eq!(insert(&pool, &transfer(&k, 0, 5, 2)), Err(RejectReason::Duplicate));
    assert_eq!(insert(&pool, &transfer(&k, 0, 4, 2)), Err(RejectReason::Duplicate));
    let better = transfer(&k, 0, 6, 2);
    assert!(insert(&pool, &better).is_ok());
    assert!(!pool.contains(&first.hash()));
    assert_eq!(pool.status().size, 1);
    assert_eq!(pool.status().bytes, better.len());
    assert_eq!(pool.reap(10, usize::MAX), vec![better]);
    assert_eq!(counter(&registry, "cairn_mempool_evicted_total", "cause", "replaced"), 1);
}

#[test]
fn unknown_sender_has_no_balance() {
    let (pool, _, _) = funded_pool(0, 0);
    assert_eq!(insert(&pool, &transfer(&key(9), 0, 1, 0)), Err(RejectReason::InsufficientBalance));
    assert_eq!(pool.status().size, 0);
    assert_eq!(pool.sender_pending(&key(9).address()), 0);
}

#[test]
fn no_free_state_a_fee_of_at_least_one_by_default() {
    assert_eq!(MempoolConfig::default().min_fee, cairn_proto::MIN_FEE);
    let (pool, _, _) = funded_pool(1, 1_000);
    // A zero-fee, zero-amount transfer: before, admitted (and executed, creating the recipient).
    let rejection = pool.submit(vec![transfer(&key(0), 0, 0, 0).encoded().clone()], Origin::Local).remove(0);
    let rejection = rejection.expect_err("a zero fee is refused");
    assert_eq!((rejection.reason, rejection.reason.code()), (RejectReason::FeeTooLow, 1010));
    assert!(rejection.message.contains("below this node's minimum fee 1"), "{}", rejection.message);
    assert!(pool.submit(vec![transfer(&key(0), 0, 1, 0).encoded().clone()], Origin::Local)[0].is_ok());
    // A configured floor of 0 is raised to the protocol's 1: execution would fail the tx anyway.
    let (pool, _, _) = funded_pool_with(MempoolConfig { min_fee: 0, ..MempoolConfig::default() }, 1, 1_000);
    assert_eq!(insert(&pool, &transfer(&key(0), 0, 0, 1)), Err(RejectReason::FeeTooLow));
}

#[test]
fn a_sender_without_an_account_is_refused_before_its_signature_is_checked() {
    let (pool, accounts, registry) = funded_pool(1, 1_000);
    let (unfunded, empty) = (key(7), key(8));
    // An account that exists with nothing in it is not refused for being absent.
    accounts.set(empty.address(), 0, 0);
    let mut forged = transfer(&unfunded, 0, 1, 0).encoded().to_vec();
    *forged.last_mut().expect("non-empty") ^= 0x01;
    let rejection = pool.submit(vec![Bytes::from(forged)], Origin::Local).remove(0).expect_err("refused");
    assert_eq!(rejection.reason, RejectReason::InsufficientBalance, "not invalid_signature: never verified");
    assert!(rejection.message.contains("has no account"), "{}", rejection.message);
    let rejection = pool.submit(vec![transfer(&empty, 0, 1, 0).encoded().clone()], Origin::Local).remove(0);
    let rejection = rejection.expect_err("cannot pay the fee");
    assert!(rejection.message.contains("cannot pay"), "{}", rejection.message);
    assert_eq!(counter(&registry, "cairn_mempool_rejected_total", "reason", "insufficient_balance"), 2);
    assert_eq!(counter(&registry, "cairn_mempool_rejected_total", "reason", "invalid_signature"), 0);
}

#[test]
fn the_same_tx_twice_in_one_call_is_admitted_once() {
    let (pool, _, _) = funded_pool(1, 1_000);
    let raw = transfer(&key(0), 0, 1, 1).encoded().clone();
    let results = pool.submit(vec![raw.clone(), raw], Origin::Local);
    assert!(results[0].is_ok());
    assert_eq!(results[1].as_ref().expect_err("copy").reason, RejectReason::Duplicate);
}
