//! The fault suite's harness: a local testnet of real `cairn` processes, steady load from the
//! load generator (run in-process, so every admitted tx is known with the node that admitted
//! it), a record of every crash inflicted (a tx admitted by a node that was then kill -9'd may
//! die with that node's mempool; any other admitted tx must be committed or still pending), and
//! a monitor that asks every node for duplicate-vote evidence all along (a node keeps evidence
//! in memory only, so a restart would forget what it saw).
use crate::net::LocalNet;
use cairn_load::{LoadArgs, LoadRun, RpcClient};
use parking_lot::Mutex;
use serde_json::Value;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::task::JoinHandle;

/// What an RPC call to a node may take before the node counts as not answering (a SIGSTOPped
/// node accepts connections and never replies).
pub const RPC_PATIENCE: Duration = Duration::from_secs(2);

/// A tx a node admitted: its hash, the node, and when.
#[derive(Debug, Clone)]
pub struct Admitted {
    pub hash: String,
    pub node: usize,
    pub at: Instant,
}

/// A small deterministic generator for the random choices (victims), seeded per run and printed,
/// so a failing run can be replayed with `FAULTS_SEED`.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub fn below(&mut self, n: usize) -> usize {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 33) as usize % n
    }
}

/// The nodes' environment in the suite: the engine logs at debug level, for the proposer
/// scenario watches for its "proposing" line.
pub const NODE_ENV: [(&str, &str); 1] = [("RUST_LOG", "info,cairn_engine=debug")];

pub struct Faulty {
    pub ln: LocalNet,
    pub clients: Vec<RpcClient>,
    pub tps: u64,
    pub rng: Rng,
    /// Every kill -9 (or wipe) inflicted: node and time.
    pub crashes: Vec<(usize, Instant)>,
    /// Evidence any node reported at any time: (node, evidence).
    pub evidence: Arc<Mutex<Vec<(usize, Value)>>>,
    monitor: JoinHandle<()>,
    pub chain: super::check::Checked,
}

/// A load run in the background, over the nodes `order` (its first is watched for finality).
pub struct Load {
    handle: JoinHandle<cairn_load::Result<LoadRun>>,
    order: Vec<usize>,
}

impl Faulty {
    /// Four validators on `slot`'s ports, `accounts` funded accounts, `tps` of load per scenario.
    pub async fn start(slot: u16, accounts: usize, tps: u64, seed: u64) -> Faulty {
        Self::over(LocalNet::start_with(4, crate::net::base_port(slot), accounts, &NODE_ENV), tps, seed).await
    }

    /// The suite over four validators already started (with [`NODE_ENV`]): waits for them to
    /// make blocks and starts the evidence monitor.
    pub async fn over(ln: LocalNet, tps: u64, seed: u64) -> Faulty {
        let clients: Vec<RpcClient> = (0..4).map(|i| ln.client(i)).collect();
        for (i, c) in clients.iter().enumerate() {
            crate::net::wait_height(c, 2, Duration::from_secs(90), &format!("startup, log:\n{}", ln.log_tail(i))).await;
        }
        let evidence = Arc::new(Mutex::new(vec![]));
        let monitor = tokio::spawn(watch_evidence(clients.clone(), evidence.clone()));
        eprintln!("fault suite: seed {seed} (FAULTS_SEED={seed} replays the victims), {tps} tx/s");
        Faulty { ln, clients, tps, rng: Rng::new(seed), crashes: vec![], evidence, monitor, chain: Default::default() }
    }

    /// Starts `secs` seconds of load over `nodes` (txs go to all of them in turn).
    pub fn load(&self, secs: u64, nodes: &[usize]) -> Load {
        let args = LoadArgs {
            rpc: nodes.iter().map(|&i| self.ln.rpc_url(i)).collect(),
            accounts: self.ln.accounts_file(),
            tps: self.tps,
            duration: secs,
            json: true,
            drain_secs: 20,
            ..LoadArgs::defaults()
        };
        // `run`'s future is not `Send` to the compiler (a higher-ranked lifetime in its nonce
        // lookups), so it runs on a blocking thread of this runtime rather than as a task.
        let rt = tokio::runtime::Handle::current();
        Load { handle: tokio::task::spawn_blocking(move || rt.block_on(cairn_load::run(args))), order: nodes.to_vec() }
    }

    /// Waits for a load run to end (its drain included) and returns what it admitted.
    pub async fn finish(&self, load: Load) -> (cairn_load::Report, Vec<Admitted>) {
        let run = load.handle.await.expect("load task").expect("load run");
        let admitted = run
            .admitted
            .iter()
            .map(|a| Admitted { hash: a.hash.to_hex(), node: load.order[a.endpoint], at: a.at })
            .collect();
        (run.report, admitted)
    }

    /// kill -9 of node `i`, as a crash: its mempool is gone.
    pub fn crash(&mut self, i: usize) {
        self.ln.net.kill(i).unwrap();
        self.crashes.push((i, Instant::now()));
    }

    pub fn restart(&mut self, i: usize) {
        self.ln.net.restart(i).unwrap();
    }

    /// SIGSTOP (`true`) or SIGCONT (`false`) to node `i`'s process.
    pub fn freeze(&self, i: usize, stop: bool) {
        let pid = self.ln.net.nodes[i].pid().expect("node runs").to_string();
        let sig = if stop { "-STOP" } else { "-CONT" };
        assert!(std::process::Command::new("kill").args([sig, &pid]).status().unwrap().success());
    }

    /// Node `i`'s height, or None if it does not answer within [`RPC_PATIENCE`].
    pub async fn height(&self, i: usize) -> Option<u64> {
        tokio::time::timeout(RPC_PATIENCE, crate::net::height(&self.clients[i])).await.ok().flatten()
    }

    /// Each node's count of connected peers (`chain_status`), None where it does not answer:
    /// printed around the partitions, since a cut's effect depends on who is connected to whom.
    pub async fn peers(&self) -> Vec<Option<u64>> {
        let mut all = vec![];
        for c in &self.clients {
            let st = tokio::time::timeout(RPC_PATIENCE, c.call::<Value>("chain_status", vec![])).await;
            all.push(st.ok().and_then(Result::ok).and_then(|s| s["peers"].as_u64()));
        }
        all
    }

    /// The highest height any of `nodes` reports.
    pub async fn top(&self, nodes: &[usize]) -> u64 {
        let mut top = 0;
        for &i in nodes {
            top = top.max(self.height(i).await.unwrap_or(0));
        }
        top
    }

    /// Stops the nodes (SIGTERM) and the monitor.
    pub fn stop(mut self) {
        self.monitor.abort();
        self.ln.net.stop(Duration::from_secs(10));
    }
}

/// Asks every node for its evidence (`chain_getEvidence`) every 500 ms, for as long as the
/// suite runs; a node that does not answer (down, frozen) is skipped that turn.
async fn watch_evidence(clients: Vec<RpcClient>, seen: Arc<Mutex<Vec<(usize, Value)>>>) {
    loop {
        for (i, c) in clients.iter().enumerate() {
            let reply = tokio::time::timeout(RPC_PATIENCE, c.call::<Vec<Value>>("chain_getEvidence", vec![])).await;
            if let Ok(Ok(list)) = reply {
                let mut seen = seen.lock();
                for e in list {
                    if !seen.iter().any(|(n, x)| *n == i && *x == e) {
                        seen.push((i, e));
                    }
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}
