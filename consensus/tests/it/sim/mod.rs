//! Deterministic simulation of n = 4 or 7 Tendermint state machines (commonware-style): one
//! seeded ChaCha RNG drives a discrete-event world with latency, jitter, drops, duplicates,
//! reordering, partitions that heal at GST, crashes (also in the middle of carrying out a
//! batch of outputs) with WAL-replay restarts, one equivocating validator and one "twin"
//! (two instances with one key). Every run checks agreement, validity, no honest double-sign,
//! evidence only against byzantine validators, and that every honest node decides
//! `heights_after_gst` more heights within `bound_ms` of GST.
//!
//! `SIM_SEEDS=100000 SIM_SEED_START=0 cargo test --release -p cairn-consensus --test it
//! sim::many_seeds` runs more seeds; a failing seed prints the command that replays it.
mod check;
mod net;
mod node;
mod scenario;

use cairn_consensus::{ConsensusConfig, Input};
use cairn_proto::{Keypair, Validator, ValidatorSet};
use check::Checker;
use net::{Event, World};
use node::SimNode;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use scenario::Scenario;
use std::time::Duration;

/// Stop a run that goes on for too many events (a livelock would otherwise hang CI).
const MAX_EVENTS: u64 = 2_000_000;

pub struct Sim {
    world: World,
    nodes: Vec<SimNode>,
    check: Checker,
    scenario: Scenario,
    chain_id: String,
    validators: ValidatorSet,
    config: ConsensusConfig,
    crashes: u64,
    max_round: u32,
    /// SIM_TRACE=<ms>: print every input and output from that virtual time on.
    trace: Option<u64>,
}

/// What a run did, for the summary of a many-seed run.
#[derive(Debug, Default, Clone, Copy)]
pub struct RunStats {
    pub heights: u64,
    pub messages: u64,
    pub crashes: u64,
    pub evidence: u64,
    pub max_round: u32,
    /// Virtual ms from GST until every honest node had decided the required heights.
    pub heal_ms: u64,
}

fn sim_config() -> ConsensusConfig {
    ConsensusConfig {
        timeout_propose: Duration::from_millis(300),
        timeout_prevote: Duration::from_millis(150),
        timeout_precommit: Duration::from_millis(150),
        timeout_delta: Duration::from_millis(50),
        timeout_rebroadcast: Duration::from_millis(400),
        verify_signatures: true,
    }
}

impl Sim {
    fn new(seed: u64) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let scenario = Scenario::generate(&mut rng);
        let keys: Vec<Keypair> = (0..scenario.n).map(|i| Keypair::from_seed([i as u8 + 1; 32])).collect();
        let validators = ValidatorSet::new(keys.iter().map(|k| Validator { address: k.address(), power: 1 }).collect())
            .expect("set");
        let mut check = Checker::default();
        let mut nodes: Vec<SimNode> = keys
            .iter()
            .enumerate()
            .map(|(i, k)| {
                let equivocator = scenario.equivocator == Some(i);
                let byzantine = equivocator || scenario.twin == Some(i);
                if byzantine {
                    check.byzantine.insert(k.address());
                }
                SimNode::new(k.clone(), !byzantine, equivocator)
            })
            .collect();
        if let Some(t) = scenario.twin {
            nodes.push(SimNode::new(keys[t].clone(), false, false));
        }
        let mut world = World::new(rng, scenario.links.clone());
        for (at, node, restart) in &scenario.crashes {
            world.schedule(*at, Event::Crash { node: *node });
            world.schedule(*restart, Event::Restart { node: *node });
        }
        let mut sim = Sim {
            world,
            nodes,
            check,
            scenario,
            chain_id: "sim".into(),
            validators,
            config: sim_config(),
            crashes: 0,
            max_round: 0,
            trace: std::env::var("SIM_TRACE").ok().and_then(|v| v.parse().ok()),
        };
        for i in 0..sim.nodes.len() {
            sim.restart(i); // a first start is a restart with an empty WAL and chain
        }
        sim
    }

    fn honest_heights(&self) -> impl Iterator<Item = u64> + '_ {
        self.nodes.iter().filter(|n| n.honest).map(|n| n.chain.len() as u64)
    }

    fn run(mut self) -> (RunStats, Vec<String>) {
        let gst = self.scenario.links.gst;
        let deadline = gst + self.scenario.bound_ms;
        let mut target = None;
        let mut events = 0u64;
        let mut heal_ms = 0;
        while let Some(ev) = self.world.next() {
            events += 1;
            if target.is_none() && self.world.now >= gst {
                target = Some(self.honest_heights().max().unwrap_or(0) + self.scenario.heights_after_gst);
            }
            if let Some(t) = target {
                if self.honest_heights().all(|h| h >= t) {
                    heal_ms = self.world.now.saturating_sub(gst);
                    break;
                }
                if self.world.now > deadline {
                    let heights: Vec<u64> = self.nodes.iter().map(|n| n.chain.len() as u64).collect();
                    let states: Vec<String> = self
                        .nodes
                        .iter()
                        .map(|n| match &n.consensus {
                            Some(c) => format!("h{} r{} {:?} lock {:?}", c.height(), c.round(), c.step(), c.locked()),
                            None => "down".into(),
                        })
                        .collect();
                    self.check.violations.push(format!(
                        "liveness: heights {heights:?} have not all reached {t} within {} ms of GST; states {states:?}",
                        self.scenario.bound_ms
                    ));
                    break;
                }
            }
            if events > MAX_EVENTS {
                self.check.violations.push(format!("more than {MAX_EVENTS} events at t={}", self.world.now));
                break;
            }
            match ev {
                Event::Deliver { to, from, msg } => self.deliver(to, from, msg),
                Event::Timer { node, incarnation, timeout } => {
                    self.local(node, incarnation, Input::TimeoutElapsed(timeout))
                }
                Event::Local { node, incarnation, input } => self.local(node, incarnation, *input),
                Event::Crash { node } => self.crash(node),
                Event::Restart { node } => self.restart(node),
            }
        }
        let stats = RunStats {
            heights: self.honest_heights().max().unwrap_or(0),
            messages: self.world.delivered,
            crashes: self.crashes,
            evidence: self.check.evidence,
            max_round: self.max_round,
            heal_ms,
        };
        (stats, self.check.violations)
    }
}

/// Runs one seed; `Err` lists the violated properties (or the panic message).
pub fn run_seed(seed: u64) -> Result<RunStats, String> {
    let result = std::panic::catch_unwind(|| {
        let sim = Sim::new(seed);
        let scenario = format!("{:?}", sim.scenario);
        let (stats, violations) = sim.run();
        (stats, violations, scenario)
    });
    match result {
        Ok((stats, v, _)) if v.is_empty() => Ok(stats),
        Ok((_, v, scenario)) => Err(format!("{}\n    scenario: {scenario}", v.join("\n    "))),
        Err(panic) => Err(format!("panicked: {:?}", panic.downcast_ref::<String>().map(String::as_str))),
    }
}

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// CI: 1,000 seeds by default (SIM_SEEDS / SIM_SEED_START to change), on all cores.
#[test]
fn many_seeds() {
    let (start, count) = (env_u64("SIM_SEED_START", 0), env_u64("SIM_SEEDS", 1_000));
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get()) as u64;
    let results: Vec<(u64, Result<RunStats, String>)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                s.spawn(move || {
                    (start + t..start + count)
                        .step_by(threads as usize)
                        .map(|seed| (seed, run_seed(seed)))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().expect("sim thread")).collect()
    });
    let mut failures = Vec::new();
    let mut total = RunStats::default();
    for (seed, r) in results {
        match r {
            Ok(s) => {
                total.heights += s.heights;
                total.messages += s.messages;
                total.crashes += s.crashes;
                total.evidence += s.evidence;
                total.max_round = total.max_round.max(s.max_round);
                total.heal_ms = total.heal_ms.max(s.heal_ms);
            }
            Err(e) => failures.push(format!(
                "seed {seed}: {e}\n  replay: SIM_SEED={seed} cargo test -p cairn-consensus --test it sim::replay -- --nocapture"
            )),
        }
    }
    println!("{count} seeds from {start}: {total:?}");
    assert!(failures.is_empty(), "{} of {count} seeds failed:\n{}", failures.len(), failures.join("\n"));
}

/// Replays one seed (SIM_SEED, default 0) and prints what happened.
#[test]
fn replay() {
    let seed = env_u64("SIM_SEED", 0);
    let sim = Sim::new(seed);
    println!("seed {seed}: {:?}", sim.scenario);
    let (stats, violations) = sim.run();
    println!("{stats:?}");
    assert!(violations.is_empty(), "seed {seed}:\n{}", violations.join("\n"));
}
