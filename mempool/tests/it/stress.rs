//! Stress: threads submit (with signature checks) while another thread reaps, executes and
//! commits. Every transaction must be committed exactly once, in nonce order, and the pool
//! must end empty.
use crate::common::*;
use cairn_mempool::{MempoolConfig, Origin};
use cairn_proto::{Account, Address, Hash, VerifiedTx};
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const THREADS: u64 = 4;
const SENDERS_PER_THREAD: u64 = 12;
const NONCES: u64 = 40;

#[test]
fn concurrent_submit_reap_commit_loses_and_duplicates_nothing() {
    let config = MempoolConfig { nonce_window: 16, ..MempoolConfig::default() };
    let (pool, accounts, _registry) = funded_pool_with(config, THREADS * SENDERS_PER_THREAD, 1_000_000);
    let pool = Arc::new(pool);
    // Each thread owns its senders and submits their nonces in order, in small raw batches.
    let work: Vec<Vec<VerifiedTx>> = (0..THREADS)
        .map(|t| {
            let mut txs = Vec::new();
            for n in 0..NONCES {
                for s in 0..SENDERS_PER_THREAD {
                    txs.push(transfer(&key(t * SENDERS_PER_THREAD + s), n, 1 + (n * 7 + s) % 5, 3));
                }
            }
            txs
        })
        .collect();
    let all: HashSet<Hash> = work.iter().flatten().map(VerifiedTx::hash).collect();
    let done = Arc::new(AtomicBool::new(false));

    let committer = {
        let (pool, accounts, done) = (pool.clone(), accounts.clone(), done.clone());
        std::thread::spawn(move || {
            let mut committed: HashSet<Hash> = HashSet::new();
            let deadline = Instant::now() + Duration::from_secs(120);
            while Instant::now() < deadline {
                let block = pool.reap(97, usize::MAX);
                if block.is_empty() && done.load(Ordering::Acquire) && pool.status().size == 0 {
                    break;
                }
                let mut touched: HashMap<Address, Account> = HashMap::new();
                for tx in &block {
                    let mut acc = accounts.get(&tx.sender());
                    assert_eq!(acc.nonce, tx.nonce(), "reap must return each sender's next nonce");
                    acc.balance -= tx.body().total_cost().expect("test amounts do not overflow");
                    acc.nonce += 1;
                    accounts.set(tx.sender(), acc.balance, acc.nonce);
                    touched.insert(tx.sender(), acc);
                    assert!(committed.insert(tx.hash()), "tx committed twice");
                }
                let touched: Vec<_> = touched.into_iter().collect();
                pool.on_commit(&block, &touched);
                if block.is_empty() {
                    std::thread::sleep(Duration::from_millis(1));
                }
            }
            committed
        })
    };

    let submitters: Vec<_> = work
        .into_iter()
        .map(|txs| {
            let pool = pool.clone();
            std::thread::spawn(move || {
                for chunk in txs.chunks(SENDERS_PER_THREAD as usize) {
                    let raw = chunk.iter().map(|t| t.encoded().clone()).collect();
                    // The window is 16: each sender waits below 12 pending before its next nonce.
                    let results = pool.submit(raw, Origin::Local);
                    let refused: Vec<_> = results.iter().filter_map(|r| r.as_ref().err()).collect();
                    assert!(refused.is_empty(), "refused: {refused:?}");
                    while chunk.iter().any(|t| pool.sender_pending(&t.sender()) >= 12) {
                        std::thread::sleep(Duration::from_micros(200));
                    }
                }
            })
        })
        .collect();
    for s in submitters {
        s.join().expect("submitter");
    }
    done.store(true, Ordering::Release);
    let committed = committer.join().expect("committer");
    assert_eq!(committed.len(), all.len(), "every tx committed");
    assert_eq!(committed, all);
    let status = pool.status();
    assert_eq!((status.size, status.bytes), (0, 0));
    for t in 0..THREADS * SENDERS_PER_THREAD {
        assert_eq!(accounts.get(&key(t).address()).nonce, NONCES);
    }
}

#[test]
fn racing_submissions_of_the_same_txs_admit_each_once() {
    let (pool, _, _) = funded_pool(20, 1_000_000);
    let pool = Arc::new(pool);
    let txs: Vec<VerifiedTx> = (0..20).flat_map(|s| (0..5).map(move |n| transfer(&key(s), n, 1 + s % 3, 1))).collect();
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let (pool, mut txs) = (pool.clone(), txs.clone());
            std::thread::spawn(move || {
                txs.rotate_left(t * 25);
                txs.iter()
                    .map(|tx| pool.insert_verified(vec![tx.clone()], Origin::Peer)[0].is_ok() as usize)
                    .sum::<usize>()
            })
        })
        .collect();
    let admitted: usize = threads.into_iter().map(|t| t.join().expect("thread")).sum();
    assert_eq!(admitted, txs.len());
    assert_eq!(pool.status().size, txs.len());
    assert!(txs.iter().all(|t| pool.contains(&t.hash())));
    assert_eq!(pool.reap(1_000, usize::MAX).len(), txs.len());
}
