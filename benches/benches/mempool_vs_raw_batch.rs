//! Admission with signature checks against raw ed25519 batch verification (ed25519-zebra's
//! ZIP-215 batch: the equation the mempool uses, without its key cache), interleaved.
//!
//! `cargo bench -p cairn-benches --bench mempool_vs_raw_batch` (`ROUNDS=n` to change the 30 rounds)
//!
//! The criterion benches in `mempool.rs` time the two sides one after the other, each for
//! seconds; on a shared 2-vCPU machine the capacity the neighbours leave us drifts by tens of
//! percent in that time, so a ratio of two criterion figures mostly measures the drift. Here
//! each round times both sides back to back on new txs (new senders: no cached keys), in
//! alternating order, after the same idle pause, and the figure is the median of the per-round
//! ratios, by the wall clock and by the process's CPU time (which leaves out the time the host
//! gives to other guests). Run on a pool with a thread per vCPU and on a one-thread pool (the
//! per-tx work alone). Both sides use the same fixtures and chunks (`VERIFY_CHUNK`) as `mempool.rs`.
//! `submit` admits into one pool per configuration, and each round's txs are committed out of
//! it before the next round, so it times a running node's pool rather than a new one; each
//! configuration has its own senders, so the key cache never knows them in advance.
use cairn_benches::mempool_fixtures::{cpu_time, encoded_from_new_senders, pool, txs_on_this_thread, RawBatchInputs};
use cairn_mempool::Origin;
use std::time::{Duration, Instant};

const TXS: u64 = 4_096;
/// Lets rayon's workers fall asleep and the previous side's memory be freed before timing.
const PAUSE: Duration = Duration::from_millis(20);

fn main() {
    // `cargo bench` passes `--bench`; this harness takes no other arguments.
    let rounds: u64 = std::env::var("ROUNDS").ok().and_then(|r| r.parse().ok()).unwrap_or(30);
    let one = rayon::ThreadPoolBuilder::new().num_threads(1).build().expect("one-thread pool");
    let both = rayon::ThreadPoolBuilder::new().build().expect("pool on every core");
    for (config, (name, threads)) in [("all cores", &both), ("one thread", &one)].into_iter().enumerate() {
        // Each configuration gets its own senders: the key cache would otherwise know the
        // second one's senders from the first.
        let ratios = threads.install(|| compare(rounds, 1_000 + 1_000 * config as u64));
        report(name, threads.current_num_threads(), ratios);
    }
}

/// Wall-clock and process CPU time of one side, in milliseconds.
#[derive(Clone, Copy)]
struct Spent {
    wall: f64,
    cpu: f64,
}

fn process_cpu() -> Duration {
    cpu_time(rustix::time::ClockId::ProcessCPUTime)
}

/// Runs `f` after the idle pause and times it.
fn timed(f: impl FnOnce()) -> Spent {
    std::thread::sleep(PAUSE);
    let (wall, cpu) = (Instant::now(), process_cpu());
    f();
    Spent { wall: wall.elapsed().as_secs_f64() * 1e3, cpu: (process_cpu() - cpu).as_secs_f64() * 1e3 }
}

/// (raw batch, submit) per round.
fn compare(rounds: u64, first_seed: u64) -> Vec<(Spent, Spent)> {
    let p = pool(100_000);
    (0..rounds)
        .map(|round| {
            let seed = first_seed + 2 * round;
            let for_raw = RawBatchInputs::of(&encoded_from_new_senders(TXS, seed));
            let signed = txs_on_this_thread(TXS, 1, seed + 1);
            let r: Vec<_> = signed.iter().map(|t| t.encoded().clone()).collect();
            let time_raw = || timed(|| assert!(for_raw.verify(), "every signature verifies"));
            let time_submit = || timed(|| assert!(p.submit(r.clone(), Origin::Peer).iter().all(Result::is_ok)));
            let out = if round % 2 == 0 {
                let d = time_raw();
                (d, time_submit())
            } else {
                let s = time_submit();
                (time_raw(), s)
            };
            commit_all(&p, &signed);
            out
        })
        .collect()
}

/// Commits the round's txs, as a node's pool sees between blocks: the next round admits into a
/// pool that has been running, not a new one.
fn commit_all(p: &cairn_mempool::Mempool, txs: &[cairn_proto::VerifiedTx]) {
    let touched: Vec<_> = txs.iter().map(|t| (t.sender(), cairn_proto::Account::new(u64::MAX / 2, 1))).collect();
    p.on_commit(txs, &touched);
    assert_eq!(p.status().size, 0);
}

fn report(name: &str, threads: usize, rounds: Vec<(Spent, Spent)>) {
    for (clock, of) in [("wall clock", (|s: Spent| s.wall) as fn(Spent) -> f64), ("process CPU time", |s: Spent| s.cpu)]
    {
        let mut ratios: Vec<f64> = rounds.iter().map(|&(d, s)| of(s) / of(d)).collect();
        ratios.sort_by(f64::total_cmp);
        let quantile = |q: f64| ratios[((ratios.len() - 1) as f64 * q).round() as usize];
        println!(
            "{name} ({threads} threads, {n} rounds of {TXS} txs), {clock}: raw batch median {d:.1} ms, submit median \
             {s:.1} ms; submit ÷ raw batch per round: median {m:.3}, quartiles {q1:.3}–{q3:.3}, range {lo:.3}–{hi:.3}",
            n = ratios.len(),
            d = median(rounds.iter().map(|r| of(r.0)).collect()),
            s = median(rounds.iter().map(|r| of(r.1)).collect()),
            m = quantile(0.5),
            q1 = quantile(0.25),
            q3 = quantile(0.75),
            lo = ratios[0],
            hi = ratios[ratios.len() - 1],
        );
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}
