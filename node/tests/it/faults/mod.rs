//! A fault suite against real `cairn` processes under steady load (issue #17, part 5).
//!
//! Four validators of a local testnet, each its own process; the load generator runs
//! in-process at a steady rate for the length of each scenario, so every admitted tx is known
//! with the node that admitted it. Scenarios, one after another on one chain, each followed by
//! the checks of `check.rs` (one chain with equal block hashes and state roots on every node at
//! every height; every admitted tx committed exactly once or still pending, or lost only with
//! the mempool of a node kill -9'd after admitting it; no duplicate-vote evidence on any node at
//! any time and no equivocation in any log; a new height within `RESUME_BOUND` = 30 s of the
//! healing and every node at it within `CATCH_UP_BOUND` = 60 s):
//! - kill -9 of a random validator every 10 s (3 times here, 12 = two minutes in the long run),
//!   the three others making a new height in every period;
//! - SIGSTOP of a random validator for 10 s, then SIGCONT;
//! - all four kill -9'd and restarted at once;
//! - two of four down (no new height beyond one in flight, no fork between the two left), back;
//! - a proposer kill -9'd right after proposing (`proposer.rs` says how "right after its block
//!   gathered prevotes" is approximated and read back);
//! - a validator's data wiped and resynced under load.
//!
//! The network partitions 2|2 and 1|3 that heal (`partition.rs`) need the nodes in network
//! namespaces of their own (`hosts.rs`, as `netns.rs` starts them), so they run as a suite of
//! their own, `faults::partitions` (in every `cargo test`; SKIPPED without root or `ip netns`),
//! with the load and checks on threads that entered the bridge namespace.
//!
//! `faults::quick` runs in every `cargo test` (debug build, 800 tx/s, without the proposer
//! kills and the wipe: see `quick`); the long run is
//! `FAULTS_LONG=1 cargo test -p cairn-node --test it faults::long -- --ignored --nocapture`
//! (2,000 tx/s, `FAULTS_TPS` to change it; 2 minutes of kills, 20 s of two down, 8 proposer
//! kills; `--release` works too), and with it `faults::long_partitions` (each partition twice,
//! 30 s each). `FAULTS_SEED=N` replays a run's victims; `FAULTS_ONLY=proposer,wipe` (names in
//! `wanted`) runs only some scenarios (the victims then differ from a whole run's).
mod check;
mod harness;
mod partition;
mod proposer;
mod scenarios;

use crate::hosts::enter_netns;
use crate::net::LocalNet;
use check::Outcome;
use harness::{Faulty, NODE_ENV};

/// One scenario's length parameters.
struct Plan {
    tps: u64,
    accounts: usize,
    kill_periods: u64,
    freeze_secs: u64,
    two_down_secs: u64,
    proposer_tries: usize,
    wipe: bool,
}

fn seed() -> u64 {
    std::env::var("FAULTS_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() % 100_000
    })
}

/// `FAULTS_ONLY=kill,freeze,restart,two_down,proposer,wipe` (any of them) runs just those.
fn wanted(name: &str) -> bool {
    std::env::var("FAULTS_ONLY").map_or(true, |only| only.split(',').any(|s| s.trim() == name))
}

async fn suite(slot: u16, plan: Plan) {
    let mut f = Faulty::start(slot, plan.accounts, plan.tps, seed()).await;
    let mut outcomes = vec![];
    if wanted("kill") {
        outcomes.push(scenarios::kill_random(&mut f, plan.kill_periods).await);
    }
    if wanted("freeze") {
        outcomes.push(scenarios::freeze(&mut f, plan.freeze_secs).await);
    }
    if wanted("restart") {
        outcomes.push(scenarios::restart_all(&mut f).await);
    }
    if wanted("two_down") {
        outcomes.push(scenarios::two_down(&mut f, plan.two_down_secs).await);
    }
    if plan.proposer_tries > 0 && wanted("proposer") {
        outcomes.push(proposer::kill_proposer_after_prevotes(&mut f, plan.proposer_tries).await);
    }
    if plan.wipe && wanted("wipe") {
        outcomes.push(scenarios::wipe(&mut f).await);
    }
    summary(plan.tps, &outcomes);
    f.stop();
}

fn summary(tps: u64, outcomes: &[Outcome]) {
    eprintln!("fault suite summary ({tps} tx/s):");
    eprintln!("| scenario | new height after healing | every node at it | height | admitted | committed | pending | lost with a kill -9'd node |");
    for o in outcomes {
        eprintln!("{o}");
    }
}

/// The partitions: `rounds` times 2|2 then 1|3, each split lasting `secs`, on four validators
/// in namespaces tagged `tag` (distinct per test: tests of this binary run in parallel).
fn run_partitions(tag: &str, tps: u64, accounts: usize, rounds: usize, secs: u64) {
    let ln = match LocalNet::in_namespaces(tag, accounts, &NODE_ENV) {
        Ok(ln) => ln,
        Err(e) => {
            eprintln!("SKIPPED the partition fault suite: network namespaces are unavailable here ({e}); it needs root and iproute2 (`ip netns`)");
            return;
        }
    };
    let bridge = ln.hosts.as_ref().unwrap().bridge_file();
    // Every thread that opens sockets to the nodes (the runtime's workers and blocking threads,
    // where the load runs) enters the bridge namespace; a thread of its own, so the test
    // harness's thread keeps its namespace.
    let run = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .on_thread_start(move || enter_netns(&bridge).expect("enter the bridge namespace"))
            .build()
            .unwrap();
        rt.block_on(async move {
            // `ln` lives in the task: on a panic it drops there, stopping the nodes, then the
            // namespaces (its `Hosts`) go.
            tokio::spawn(async move {
                let mut f = Faulty::over(ln, tps, seed()).await;
                let mut outcomes = vec![];
                for _ in 0..rounds {
                    outcomes.push(partition::split_even(&mut f, secs).await);
                    outcomes.push(partition::isolate_one(&mut f, secs).await);
                }
                summary(tps, &outcomes);
                f.stop();
            })
            .await
        })
    });
    if let Err(panic) = run.join().unwrap() {
        std::panic::resume_unwind(panic.into_panic());
    }
}

#[test]
fn partitions() {
    let tag = format!("pq{}", std::process::id() % 100_000);
    run_partitions(&tag, 500, 100, 1, 8);
}

/// The long partitions, run with `faults::long` (same command and variable).
#[test]
#[ignore]
fn long_partitions() {
    if std::env::var("FAULTS_LONG").is_err() {
        eprintln!("faults::long_partitions: set FAULTS_LONG=1 to run it");
        return;
    }
    let tag = format!("pl{}", std::process::id() % 100_000);
    run_partitions(&tag, long_tps(), 1000, 2, 30);
}

fn long_tps() -> u64 {
    std::env::var("FAULTS_TPS").ok().and_then(|s| s.parse().ok()).unwrap_or(2000)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quick() {
    // Open findings keep two scenarios out of CI (they run in `faults::long`): after proposer
    // kills the chain once made no new height within 30 s (`FAULTS_SEED=11557`), and a wiped
    // validator once did not catch up within 60 s, its peers connecting and dropping it every
    // 0.5 s (`FAULTS_SEED=12595`), both in CI runs of 3 Dec.
    let plan = Plan {
        tps: 800,
        accounts: 200,
        kill_periods: 3,
        freeze_secs: 10,
        two_down_secs: 6,
        proposer_tries: 4,
        wipe: true,
    };
    suite(5, plan).await;
}

/// The long run: `FAULTS_LONG=1 cargo test -p cairn-node --test it faults::long -- --ignored
/// --nocapture` (ignored by default: it takes several minutes; the variable guards a
/// plain `--ignored` run of the whole suite from starting it by accident).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn long() {
    if std::env::var("FAULTS_LONG").is_err() {
        eprintln!("faults::long: set FAULTS_LONG=1 to run it");
        return;
    }
    let plan = Plan {
        tps: long_tps(),
        accounts: 1000,
        kill_periods: 12,
        freeze_secs: 10,
        two_down_secs: 20,
        proposer_tries: 8,
        wipe: true,
    };
    suite(6, plan).await;
}
