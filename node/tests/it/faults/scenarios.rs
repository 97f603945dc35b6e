//! The faults, each under its own load run and each followed by every check of `check.rs`.
//! Victims are drawn from the suite's seeded generator.
use super::check::{self, Outcome, RESUME_BOUND};
use super::harness::{Faulty, Load};
use std::time::{Duration, Instant};
use tokio::time::sleep;

pub const ALL: [usize; 4] = [0, 1, 2, 3];

/// The load has signed its txs and is sending before the fault comes.
pub const WARM_UP: Duration = Duration::from_secs(3);

/// Ends a scenario: resumption from `healed` (the chain was at `at_heal`), the load's end, checks.
pub async fn finish(f: &mut Faulty, what: &str, load: Load, healed: Instant, at_heal: u64) -> Outcome {
    let resumed = check::resumption(f, healed, at_heal, what).await;
    let (report, admitted) = f.finish(load).await;
    eprintln!(
        "fault suite: {what}: load sent {} (resent {}), admitted {}, rejected {:?}",
        report.submitted, report.resent, report.accepted, report.rejected_by_reason
    );
    check::after(f, what, &admitted, resumed).await
}

/// Waits for a height above `from` among `nodes`; returns how long it took (bounded).
pub async fn progress(f: &Faulty, nodes: &[usize], from: u64, what: &str) -> Duration {
    let t = Instant::now();
    while f.top(nodes).await <= from {
        if t.elapsed() >= RESUME_BOUND {
            let tails: Vec<String> = nodes.iter().map(|&i| format!("node{i}:\n{}", f.ln.log_tail(i))).collect();
            panic!(
                "{what}: nodes {nodes:?} stuck at {from}; logs:\n{}\npeer verdicts:\n{}",
                tails.join("\n"),
                f.ln.peer_verdicts()
            );
        }
        sleep(Duration::from_millis(100)).await;
    }
    t.elapsed()
}

/// kill -9 of a random validator every 10 s, `periods` times; each victim is restarted when the
/// next period begins (so at most one of four is down). The three others must make a new height
/// in every period.
pub async fn kill_random(f: &mut Faulty, periods: u64) -> Outcome {
    let load = f.load(periods * 10 + 5, &ALL);
    sleep(WARM_UP).await;
    let mut victim: Option<usize> = None;
    let mut worst = Duration::ZERO;
    for _ in 0..periods {
        let start = Instant::now();
        if let Some(v) = victim {
            f.restart(v);
        }
        let v = f.rng.below(4);
        f.crash(v);
        victim = Some(v);
        let live: Vec<usize> = ALL.into_iter().filter(|&i| i != v).collect();
        let at = f.top(&live).await;
        worst = worst.max(progress(f, &live, at, &format!("kill -9 node{v}")).await);
        sleep(Duration::from_secs(10).saturating_sub(start.elapsed())).await;
    }
    eprintln!("fault suite: kill -9: slowest new height after a kill: {worst:?}");
    f.restart(victim.unwrap());
    let at = f.top(&ALL).await;
    finish(f, "kill -9 of a random validator every 10 s", load, Instant::now(), at).await
}

/// SIGSTOP of a random validator for `secs`, then SIGCONT. Load goes to the other three (a
/// client of a frozen node just waits for it); the chain must go on without it.
pub async fn freeze(f: &mut Faulty, secs: u64) -> Outcome {
    let v = f.rng.below(4);
    let others: Vec<usize> = ALL.into_iter().filter(|&i| i != v).collect();
    let load = f.load(secs + 6, &others);
    sleep(WARM_UP).await;
    f.freeze(v, true);
    let at = f.top(&others).await;
    progress(f, &others, at, &format!("node{v} frozen")).await;
    sleep(Duration::from_secs(secs)).await;
    f.freeze(v, false);
    let at = f.top(&others).await;
    finish(f, &format!("SIGSTOP node{v} for {secs} s, SIGCONT"), load, Instant::now(), at).await
}

/// kill -9 of all four at once, all restarted at once.
pub async fn restart_all(f: &mut Faulty) -> Outcome {
    let load = f.load(10, &ALL);
    sleep(WARM_UP).await;
    let at = f.top(&ALL).await;
    for i in ALL {
        f.crash(i);
    }
    for i in ALL {
        f.restart(i);
    }
    finish(f, "all four kill -9'd and restarted at once", load, Instant::now(), at).await
}

/// Two random validators of four kill -9'd for `secs`: no quorum, so no new height beyond one
/// already in flight, and the two left do not fork; then both return.
pub async fn two_down(f: &mut Faulty, secs: u64) -> Outcome {
    let load = f.load(secs + 10, &ALL);
    sleep(WARM_UP).await;
    let a = f.rng.below(4);
    let b = (a + 1 + f.rng.below(3)) % 4;
    f.crash(a);
    f.crash(b);
    let live: Vec<usize> = ALL.into_iter().filter(|&i| i != a && i != b).collect();
    sleep(Duration::from_secs(2)).await;
    let halted = f.top(&live).await;
    sleep(Duration::from_secs(secs)).await;
    let still = f.top(&live).await;
    assert!(still <= halted + 1, "two of four down: the chain went from {halted} to {still} without a quorum");
    let low = f.height(live[0]).await.unwrap().min(f.height(live[1]).await.unwrap());
    let live_clients = [f.clients[live[0]].clone(), f.clients[live[1]].clone()];
    crate::net::assert_same_chain(&live_clients, low.saturating_sub(5).max(1), low).await;
    f.restart(a);
    f.restart(b);
    finish(f, &format!("node{a} and node{b} down for {secs} s, then back"), load, Instant::now(), still).await
}

/// A validator's data directory wiped (after kill -9) and the node restarted under load: it
/// resyncs from its peers and, by its signing state kept beside its key, does not sign again
/// where it signed before.
pub async fn wipe(f: &mut Faulty) -> Outcome {
    let load = f.load(15, &ALL);
    sleep(WARM_UP).await;
    let v = f.rng.below(4);
    f.crash(v);
    std::fs::remove_dir_all(f.ln.net.nodes[v].home.join("data")).unwrap();
    f.restart(v);
    let at = f.top(&ALL).await;
    let out = finish(f, &format!("node{v}'s data wiped, resynced under load"), load, Instant::now(), at).await;
    let log = std::fs::read_to_string(f.ln.net.nodes[v].log_file()).unwrap();
    assert!(log.contains("not signing below height"), "node{v} did not take its signing floor:\n{}", f.ln.log_tail(v));
    out
}
