//! cairn-mempool: admission of pre-verified txs (one core), admission with signature checks
//! against raw ed25519-dalek batch verification on the same cores, and reap of 10k from 100k.
//!
//! `cargo bench -p cairn-benches --bench mempool -- --warm-up-time 1 --measurement-time 3`
//!
//! Each admission bench runs twice: timed by the wall clock (criterion's default), and timed
//! by CPU time (`*_cpu_time`: the benchmarking thread's for the one-thread bench, the whole
//! process's for the rayon benches). The work is the same; CPU time leaves out the time the
//! scheduler gives to other processes, which on a shared 2-core machine is most of the noise.
//! Neither leaves out cache or memory-bandwidth contention.
use bytes::Bytes;
use cairn_mempool::{AccountSource, Mempool, MempoolConfig, Origin};
use cairn_proto::{Account, Address, Keypair, Transfer, TxAction, TxBody, UncheckedTx, VerifiedTx, TX_SIGN_DOMAIN};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use rand::{Rng, SeedableRng};
use rayon::prelude::*;
use std::sync::Arc;
use std::time::Duration;

/// CPU time consumed so far by this thread (`Thread`) or by the whole process (`Process`).
fn cpu_time(clock: rustix::time::ClockId) -> Duration {
    let t = rustix::time::clock_gettime(clock);
    Duration::new(t.tv_sec as u64, t.tv_nsec as u32)
}

/// Runs `setup` then `routine` `iters` times and sums the CPU time of `routine` only; what
/// `routine` returns is dropped outside the measurement.
fn cpu_timed<S, O>(
    iters: u64,
    clock: rustix::time::ClockId,
    mut setup: impl FnMut() -> S,
    mut routine: impl FnMut(S) -> O,
) -> Duration {
    let mut total = Duration::ZERO;
    for _ in 0..iters {
        let input = setup();
        let start = cpu_time(clock);
        let out = criterion::black_box(routine(input));
        total += cpu_time(clock) - start;
        drop(out);
    }
    total
}

/// Every account is rich and at nonce 0.
struct Rich;
impl AccountSource for Rich {
    fn account(&self, _: &Address) -> Account {
        Account { balance: u64::MAX / 2, nonce: 0 }
    }
}

fn pool(max_txs: usize) -> Mempool {
    let config = MempoolConfig { max_txs, max_bytes: usize::MAX / 2, ..MempoolConfig::default() };
    Mempool::new(config, Arc::new(Rich), &prometheus::Registry::new())
}

/// `senders × nonces` signed transfers with random fees, nonce-major (as clients send them).
fn txs(senders: u64, nonces: u64, seed: u64) -> Vec<VerifiedTx> {
    let keys: Vec<Keypair> = (0..senders)
        .map(|i| {
            let mut s = [0u8; 32];
            s[..8].copy_from_slice(&(i + (seed << 32)).to_le_bytes());
            Keypair::from_seed(s)
        })
        .collect();
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let plan: Vec<(usize, u64, u64)> = (0..nonces)
        .flat_map(|n| (0..senders as usize).map(move |k| (k, n)))
        .map(|(k, n)| (k, n, rng.gen_range(1..1000)))
        .collect();
    plan.into_par_iter()
        .map(|(k, nonce, fee)| {
            TxBody {
                chain_id: "cairn-local".into(),
                sender: keys[k].address(),
                nonce,
                fee,
                action: TxAction::Transfer(Transfer { recipient: Address([7; 32]), amount: 1 }),
            }
            .sign(&keys[k])
        })
        .collect()
}

fn admission_preverified(c: &mut Criterion) {
    let txs = txs(1_000, 10, 1);
    // Not timed: every tx must be admitted, or the bench would time refusals.
    assert!(pool(100_000).insert_verified(txs.clone(), Origin::Peer).iter().all(Result::is_ok));
    let mut g = c.benchmark_group("mempool/admit_preverified");
    g.throughput(Throughput::Elements(txs.len() as u64));
    g.sample_size(20);
    g.bench_function("10k_txs_1k_senders_one_thread", |b| {
        b.iter_batched(
            || (pool(100_000), txs.clone()),
            |(p, t)| {
                // Return the pool so that dropping it is not timed.
                let r = p.insert_verified(t, Origin::Peer);
                (p, r)
            },
            BatchSize::PerIteration,
        )
    });
    g.bench_function("10k_txs_1k_senders_one_thread_cpu_time", |b| {
        b.iter_custom(|iters| {
            cpu_timed(
                iters,
                rustix::time::ClockId::ThreadCPUTime,
                || (pool(100_000), txs.clone()),
                |(p, t)| {
                    let r = p.insert_verified(t, Origin::Peer);
                    (p, r)
                },
            )
        })
    });
    g.finish();
}

fn admission_with_signatures(c: &mut Criterion) {
    let txs = txs(4_096, 1, 2);
    let raw: Vec<Bytes> = txs.iter().map(|t| t.encoded().clone()).collect();
    // The same signatures as plain ed25519-dalek inputs, for the baseline.
    let unchecked: Vec<UncheckedTx> = raw.iter().map(|r| UncheckedTx::decode(r.clone()).expect("decodes")).collect();
    let msgs: Vec<Vec<u8>> = unchecked.iter().map(|u| [TX_SIGN_DOMAIN, &u.body_bytes[..]].concat()).collect();
    // Public keys stay bytes: decompressing them is part of verifying a tx from the wire.
    let keys: Vec<[u8; 32]> = unchecked.iter().map(|u| u.body.sender.0).collect();
    let sigs: Vec<ed25519_dalek::Signature> =
        unchecked.iter().map(|u| ed25519_dalek::Signature::from_bytes(&u.signature.0)).collect();
    let chunk = 128;
    // Not timed: every tx must be admitted, or the bench would time refusals.
    assert!(pool(100_000).submit(raw.clone(), Origin::Peer).iter().all(Result::is_ok));

    let mut g = c.benchmark_group("mempool/admit_with_signatures");
    g.throughput(Throughput::Elements(txs.len() as u64));
    g.sample_size(10);
    let baseline = || {
        (0..txs.len()).collect::<Vec<_>>().par_chunks(chunk).all(|idx| {
            let m: Vec<&[u8]> = idx.iter().map(|&i| msgs[i].as_slice()).collect();
            let s: Vec<_> = idx.iter().map(|&i| sigs[i]).collect();
            let k: Vec<_> =
                idx.iter().map(|&i| ed25519_dalek::VerifyingKey::from_bytes(&keys[i]).expect("valid key")).collect();
            ed25519_dalek::verify_batch(&m, &s, &k).is_ok()
        })
    };
    assert!(baseline(), "every signature verifies");
    let submit = |(p, r): (Mempool, Vec<Bytes>)| {
        let out = p.submit(r, Origin::Peer);
        (p, out)
    };
    // The node caches decompressed sender keys (cairn-proto's key cache), so submitting the
    // same txs again would skip work the baseline does. The comparison gets 4096 new senders
    // every iteration, made untimed in the setup; `..._repeat_senders` shows the warm case.
    let next_seed = std::sync::atomic::AtomicU64::new(1_000);
    let fresh = || {
        let seed = next_seed.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let raw: Vec<Bytes> = crate::txs(4_096, 1, seed).iter().map(|t| t.encoded().clone()).collect();
        (pool(100_000), raw)
    };
    g.bench_function("raw_dalek_batch_verify_rayon_128", |b| b.iter(baseline));
    g.bench_function("submit_4096_raw_txs", |b| b.iter_batched(fresh, submit, BatchSize::PerIteration));
    g.bench_function("submit_4096_raw_txs_repeat_senders", |b| {
        b.iter_batched(|| (pool(100_000), raw.clone()), submit, BatchSize::PerIteration)
    });
    let process = rustix::time::ClockId::ProcessCPUTime;
    g.bench_function("raw_dalek_batch_verify_rayon_128_cpu_time", |b| {
        b.iter_custom(|iters| cpu_timed(iters, process, || (), |()| baseline()))
    });
    g.bench_function("submit_4096_raw_txs_cpu_time", |b| {
        b.iter_custom(|iters| cpu_timed(iters, process, fresh, submit))
    });
    g.finish();
}

fn reap(c: &mut Criterion) {
    let p = pool(100_000);
    let results = p.insert_verified(txs(10_000, 10, 3), Origin::Peer);
    assert!(results.iter().all(Result::is_ok));
    let mut g = c.benchmark_group("mempool/reap");
    g.throughput(Throughput::Elements(10_000));
    g.sample_size(20);
    g.bench_function("10k_of_100k", |b| b.iter(|| p.reap(10_000, usize::MAX)));
    g.finish();
}

criterion_group!(benches, admission_preverified, admission_with_signatures, reap);
criterion_main!(benches);
