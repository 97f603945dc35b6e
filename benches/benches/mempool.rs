//! cairn-mempool: admission of pre-verified txs (one core), admission with signature checks
//! against raw ed25519 batch verification (ed25519-zebra's ZIP-215 batch) on the same
//! cores, reap of 10k from 100k, and the clean-up after a committed block.
//!
//! `cargo bench -p cairn-benches --bench mempool -- --warm-up-time 1 --measurement-time 3`
//!
//! Each admission bench runs twice: timed by the wall clock (criterion's default), and timed
//! by CPU time (`*_cpu_time`: the benchmarking thread's for the one-thread benches, the whole
//! process's for the rayon benches). The work is the same; CPU time leaves out the time the
//! scheduler gives to other processes, which on a shared 2-core machine is most of the noise.
//! Neither leaves out cache or memory-bandwidth contention. Criterion times each side of the
//! `submit` ÷ raw batch comparison a minute apart; `mempool_vs_raw_batch.rs` interleaves them.
use bytes::Bytes;
use cairn_benches::mempool_fixtures::{cpu_time, encoded_from_new_senders, pool, txs, RawBatchInputs};
use cairn_mempool::{Mempool, Origin};
use cairn_proto::{Account, Address, VerifiedTx};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use std::time::Duration;

/// Runs `routine(input)`; returns its output and the CPU time `clock` counted meanwhile.
fn cpu_timed_once<S, O>(clock: rustix::time::ClockId, routine: impl FnOnce(S) -> O, input: S) -> (Duration, O) {
    let start = cpu_time(clock);
    let out = criterion::black_box(routine(input));
    (cpu_time(clock) - start, out)
}

/// Runs `setup` then `routine` `iters` times and sums the CPU time of `routine` only; what
/// `routine` returns is dropped outside the measurement.
fn cpu_timed<S, O>(
    iters: u64,
    clock: rustix::time::ClockId,
    mut setup: impl FnMut() -> S,
    mut routine: impl FnMut(S) -> O,
) -> Duration {
    (0..iters).map(|_| cpu_timed_once(clock, &mut routine, setup()).0).sum()
}

/// Like `cpu_timed` with the thread clock, but each `routine` runs (and is timed) on the only
/// thread of `pool`, so that everything it hands to rayon runs there too, one chunk after another.
fn one_thread_cpu_timed<S: Send, O: Send>(
    pool: &rayon::ThreadPool,
    iters: u64,
    mut setup: impl FnMut() -> S,
    routine: impl Fn(S) -> O + Sync,
) -> Duration {
    (0..iters)
        .map(|_| {
            let input = setup();
            pool.install(|| cpu_timed_once(rustix::time::ClockId::ThreadCPUTime, &routine, input)).0
        })
        .sum()
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
    const TXS: u64 = 4_096;
    let raw: Vec<Bytes> = txs(TXS, 1, 2).iter().map(|t| t.encoded().clone()).collect();
    // Not timed: every tx must be admitted and every signature verify, or the benches would
    // time refusals.
    assert!(pool(100_000).submit(raw.clone(), Origin::Peer).iter().all(Result::is_ok));
    assert!(RawBatchInputs::of(&raw).verify(), "every signature verifies");

    // Both sides get 4096 new senders' txs every iteration, made untimed in the setup on this
    // thread alone. New senders, because the node caches decompressed sender keys
    // (cairn-proto's key cache): the same txs again would skip work the baseline does
    // (`..._repeat_senders` shows that warm case). The same setup on both sides, because it
    // leaves the caches and rayon's (sleeping) workers in the same state for both.
    let next_seed = std::sync::atomic::AtomicU64::new(1_000);
    let new_txs = || encoded_from_new_senders(TXS, next_seed.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
    let for_raw = || RawBatchInputs::of(&new_txs());
    let for_pool = || (pool(100_000), new_txs());
    // Both return their input, so that freeing it is not timed.
    let raw_batch = |inputs: RawBatchInputs| (inputs.verify(), inputs);
    let submit = |(p, r): (Mempool, Vec<Bytes>)| {
        let out = p.submit(r, Origin::Peer);
        (p, out)
    };

    let mut g = c.benchmark_group("mempool/admit_with_signatures");
    g.throughput(Throughput::Elements(TXS));
    g.sample_size(10);
    g.bench_function("raw_batch_verify_rayon_chunks", |b| b.iter_batched(for_raw, raw_batch, BatchSize::PerIteration));
    g.bench_function("submit_4096_raw_txs", |b| b.iter_batched(for_pool, submit, BatchSize::PerIteration));
    g.bench_function("submit_4096_raw_txs_repeat_senders", |b| {
        b.iter_batched(|| (pool(100_000), raw.clone()), submit, BatchSize::PerIteration)
    });
    let process = rustix::time::ClockId::ProcessCPUTime;
    g.bench_function("raw_batch_verify_rayon_chunks_cpu_time", |b| {
        b.iter_custom(|iters| cpu_timed(iters, process, for_raw, raw_batch))
    });
    g.bench_function("submit_4096_raw_txs_cpu_time", |b| {
        b.iter_custom(|iters| cpu_timed(iters, process, for_pool, submit))
    });
    // The same two on a one-thread rayon pool, timed by that thread's CPU time: the per-tx
    // work alone, without the waits and spins of two threads sharing two busy vCPUs.
    let one = rayon::ThreadPoolBuilder::new().num_threads(1).build().expect("one-thread pool");
    g.bench_function("raw_batch_verify_one_thread_cpu_time", |b| {
        b.iter_custom(|iters| one_thread_cpu_timed(&one, iters, for_raw, raw_batch))
    });
    g.bench_function("submit_4096_raw_txs_one_thread_cpu_time", |b| {
        b.iter_custom(|iters| one_thread_cpu_timed(&one, iters, for_pool, submit))
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

/// A committed block: its txs and the accounts it touched.
type Committed<'a> = (&'a [VerifiedTx], Vec<(Address, Account)>);

/// `on_commit` as a validator at 20k tx/s over 2,000 accounts runs it, in steady state: 25
/// blocks of 4,000 txs (two nonces of each of 2,000 senders) out of a pool that starts with
/// 100,000, the recently-committed set full of earlier hashes before the first. 100,000
/// hashes, so the timed run ages out as many as the set holds (it ages them in bulk).
fn commit_cleanup(c: &mut Criterion) {
    const SENDERS: usize = 2_000;
    const NONCES_PER_BLOCK: usize = 2;
    const BLOCKS: usize = 25;
    let pending = txs(SENDERS as u64, (NONCES_PER_BLOCK * BLOCKS) as u64, 4);
    let blocks: Vec<Committed> = pending
        .chunks(SENDERS * NONCES_PER_BLOCK)
        .enumerate()
        .map(|(i, block)| {
            let nonce = ((i + 1) * NONCES_PER_BLOCK) as u64;
            let touched = block[..SENDERS]
                .iter()
                .map(|t| (t.sender(), Account::new(u64::MAX / 2, nonce)))
                .chain(std::iter::once((Address([7; 32]), Account::new(1, 0))))
                .collect();
            (block, touched)
        })
        .collect();
    // Earlier blocks, committed before the timed ones: they fill the recently-committed set.
    let earlier = txs(10_000, 10, 5);
    let setup = || {
        let p = pool(200_000);
        assert!(p.insert_verified(pending.clone(), Origin::Peer).iter().all(Result::is_ok));
        p.on_commit(&earlier, &[]);
        p
    };
    let mut g = c.benchmark_group("mempool/on_commit");
    g.throughput(Throughput::Elements(pending.len() as u64));
    g.sample_size(10);
    g.bench_function("25_blocks_of_4k_recent_full", |b| {
        b.iter_batched(
            setup,
            |p| {
                for (block, touched) in &blocks {
                    p.on_commit(block, touched);
                }
                assert_eq!(p.status().size, 0, "every pending tx committed");
                p
            },
            BatchSize::PerIteration,
        )
    });
    g.finish();
}

criterion_group!(benches, admission_preverified, admission_with_signatures, reap, commit_cleanup);
criterion_main!(benches);
