//! `cairn bench`: the end-to-end benchmark. For each offered rate it starts a fresh local
//! testnet of real `cairn` processes, runs the load generator against it, and records the load
//! generator's SPEC §7 report, the chain's own committed tx/s from its block timestamps, every
//! node's resident memory before and after, and the latency of each second of the run. It writes
//! `OUT/bench.json` and the plot `OUT/bench.svg` after every rate, so that a failure at a later
//! rate keeps the earlier ones.
//!
//! A fresh testnet per rate, not one for the whole run: each rate then starts from the same
//! state (empty mempool, the accounts' first nonces, a new RocksDB without compaction debt, the
//! same memory), so the order of the rates does not matter and a saturated rate's backlog
//! cannot spill into the next one. It costs a few seconds of start-up per rate.
mod chain;
mod net;
mod plot;
mod procfs;

pub use chain::ChainThroughput;
pub use procfs::Memory;

use crate::error::{LoadError, Result};
use crate::report::{Report, SecondLatency};
use crate::run::LoadArgs;
use clap::Args;
use net::{BenchNet, NetSpec};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

/// The arguments of `cairn bench`.
#[derive(Args, Debug, Clone)]
pub struct BenchArgs {
    /// Offered rates in tx/s, comma-separated, run in this order (a rate may repeat).
    #[arg(long, value_delimiter = ',', required = true)]
    pub rates: Vec<u64>,
    /// Seconds of load at each rate.
    #[arg(long, default_value_t = 30)]
    pub duration: u64,
    /// The `cairn` binary the nodes run (use a release build for figures) [default: the
    /// running one].
    #[arg(long)]
    pub binary: Option<PathBuf>,
    /// Where bench.json, bench.svg and each rate's node logs go (NN-RATEtps/nodeI.log).
    #[arg(long, default_value = "bench-out")]
    pub out: PathBuf,
    /// Validators of each testnet, each its own process.
    #[arg(long, default_value_t = 4)]
    pub validators: usize,
    /// Genesis-funded accounts.
    #[arg(long, default_value_t = 1000)]
    pub accounts: usize,
    /// The accounts that send: the first N of them (0: all) — to measure a large state
    /// (`--accounts 1000000`) under the same load as a small one [default: all].
    #[arg(long, default_value_t = 0)]
    pub senders: usize,
    /// The testnets' first port (node i on base + 10*i …, as `cairn testnet init`).
    #[arg(long, default_value_t = 27600)]
    pub base_port: u16,
    /// Send over gRPC streams instead of batched JSON-RPC (all nodes either way).
    #[arg(long)]
    pub grpc: bool,
    /// How long the load generator waits for the last txs after sending stops.
    #[arg(long, default_value_t = 30)]
    pub drain_secs: u64,
    /// Seconds each fresh testnet runs (making empty blocks) between being ready and the load,
    /// to tell a node's warm-up from the load's own first seconds.
    #[arg(long, default_value_t = 0)]
    pub settle_secs: u64,
    /// Environment for every node, KEY=VALUE (e.g. CAIRN_MEMPOOL__MAX_TXS=200000); repeatable
    /// [default: none]. The load generator follows CAIRN_MEMPOOL__NONCE_WINDOW.
    #[arg(long = "node-env", value_parser = parse_env)]
    pub node_env: Vec<(String, String)>,
    /// Keep each rate's testnet directory (homes, RocksDB) instead of only the node logs.
    #[arg(long)]
    pub keep: bool,
}

/// `OUT/bench.json`.
#[derive(Debug, Serialize)]
pub struct BenchReport {
    pub binary: PathBuf,
    pub validators: usize,
    pub accounts: usize,
    /// Accounts that sent (all of them when `--senders` is 0).
    pub senders: usize,
    pub duration_s: u64,
    pub transport: &'static str,
    /// CPUs this process may use (the nodes and the load generator share them).
    pub cpus: usize,
    pub started_unix_ms: u64,
    pub runs: Vec<RateRun>,
}

/// One offered rate.
#[derive(Debug, Serialize)]
pub struct RateRun {
    pub offered_tps: u64,
    /// The load generator's SPEC §7 report.
    pub load: Report,
    /// Committed tx/s by the chain's block timestamps (node 0's chain).
    pub chain: ChainThroughput,
    /// Every node's memory when the load started and when it ended (node order).
    pub memory_start: Vec<Memory>,
    pub memory_end: Vec<Memory>,
    /// Latency of the txs first sent in each second of the run.
    pub latency_per_second: Vec<SecondLatency>,
}

/// Where a finished benchmark put its results.
#[derive(Debug)]
pub struct BenchOutput {
    pub json: PathBuf,
    pub svg: PathBuf,
}

/// Runs the benchmark of `args`; progress and each rate's summary on stderr.
pub async fn run(args: &BenchArgs) -> Result<BenchOutput> {
    let binary = args.binary.clone().ok_or_else(|| LoadError::Input("--binary is required".into()))?;
    check(args, &binary)?;
    let (json, svg) = (args.out.join("bench.json"), args.out.join("bench.svg"));
    std::fs::create_dir_all(&args.out).map_err(|e| LoadError::file("cannot create", &args.out, e))?;
    let spec = NetSpec {
        binary: binary.clone(),
        validators: args.validators,
        accounts: args.accounts,
        base_port: args.base_port,
        node_env: args.node_env.clone(),
    };
    let mut report = BenchReport {
        binary,
        validators: args.validators,
        accounts: args.accounts,
        senders: if args.senders == 0 { args.accounts } else { args.senders.min(args.accounts) },
        duration_s: args.duration,
        transport: if args.grpc { "grpc" } else { "jsonrpc" },
        cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
        started_unix_ms: SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64),
        runs: vec![],
    };
    for (i, &rate) in args.rates.iter().enumerate() {
        eprintln!("— rate {}/{}: {rate} tx/s for {} s", i + 1, args.rates.len(), args.duration);
        let run = one_rate(args, &spec, &rate_dir(&args.out, i, rate), rate).await?;
        eprint!("{}", run.load.human());
        eprintln!(
            "chain: {} txs in {} s by block timestamps = {:.0} tx/s",
            run.chain.txs, run.chain.window_s, run.chain.tps
        );
        report.runs.push(run);
        write(&json, &serde_json::to_string_pretty(&report).expect("the report serializes"))?;
        write(&svg, &plot::svg(&title(&report), &points(&report)))?;
    }
    Ok(BenchOutput { json, svg })
}

/// Refuses bad arguments and existing output before any testnet starts.
fn check(args: &BenchArgs, binary: &Path) -> Result<()> {
    let bad = |m: String| Err(LoadError::Input(m));
    if args.rates.is_empty() || args.rates.contains(&0) {
        return bad("--rates needs one or more positive rates (tx/s)".into());
    }
    if args.duration == 0 || args.validators == 0 || args.accounts == 0 {
        return bad("--duration, --validators and --accounts must be positive".into());
    }
    if u32::from(args.base_port) + 10 * args.validators as u32 > u32::from(u16::MAX) {
        return bad(format!("--base-port {} leaves no room for {} validators", args.base_port, args.validators));
    }
    if !binary.is_file() {
        return bad(format!("--binary {} is not a file", binary.display()));
    }
    let json = args.out.join("bench.json");
    if json.exists() {
        return bad(format!("{} exists: remove it or choose another --out", json.display()));
    }
    for (i, &rate) in args.rates.iter().enumerate() {
        let dir = rate_dir(&args.out, i, rate);
        if dir.exists() {
            return bad(format!("{} exists: remove it or choose another --out", dir.display()));
        }
    }
    Ok(())
}

/// Run `i`'s directory: `OUT/01-2000tps`.
fn rate_dir(out: &Path, i: usize, rate: u64) -> PathBuf {
    out.join(format!("{:02}-{rate}tps", i + 1))
}

/// A fresh testnet in `dir/testnet`, the load at `rate`, the measurements, the testnet stopped
/// and (unless `--keep`) removed with the node logs kept in `dir`.
async fn one_rate(args: &BenchArgs, spec: &NetSpec, dir: &Path, rate: u64) -> Result<RateRun> {
    let testnet_dir = dir.join("testnet");
    std::fs::create_dir_all(dir).map_err(|e| LoadError::file("cannot create", dir, e))?;
    let mut net = BenchNet::start(spec, &testnet_dir).await?;
    tokio::time::sleep(std::time::Duration::from_secs(args.settle_secs)).await;
    let node0 = crate::RpcClient::new(&net.rpc_url(0))?;
    let memory_start = net.memory()?;
    let from_height = node0.status().await?.height;
    let load = crate::run(LoadArgs {
        rpc: (0..net.node_count()).map(|i| net.rpc_url(i)).collect(),
        grpc: if args.grpc { (0..net.node_count()).map(|i| net.grpc_addr(i)).collect() } else { vec![] },
        accounts: net.accounts_file(),
        senders: args.senders,
        tps: rate,
        duration: args.duration,
        drain_secs: args.drain_secs,
        nonce_window: nonce_window(&args.node_env)?,
        ..LoadArgs::defaults()
    })
    .await?;
    let memory_end = net.memory()?;
    let to_height = node0.status().await?.height;
    let chain = chain::throughput(&chain::read_blocks(&node0, from_height, to_height).await?);
    net.stop(dir).await?;
    if !args.keep {
        std::fs::remove_dir_all(&testnet_dir).map_err(|e| LoadError::file("cannot remove", &testnet_dir, e))?;
    }
    Ok(RateRun {
        offered_tps: rate,
        load: load.report,
        chain,
        memory_start,
        memory_end,
        latency_per_second: load.per_second,
    })
}

fn title(r: &BenchReport) -> String {
    let name = r.binary.file_name().map_or_else(|| r.binary.display().to_string(), |n| n.to_string_lossy().into());
    format!(
        "cairn bench: {} validators, {} accounts ({} sending), {} s per rate over {}, {} CPUs ({name})",
        r.validators, r.accounts, r.senders, r.duration_s, r.transport, r.cpus
    )
}

fn points(r: &BenchReport) -> Vec<plot::Point> {
    r.runs
        .iter()
        .map(|run| plot::Point {
            offered: run.offered_tps as f64,
            chain_tps: run.chain.tps,
            load_tps: run.load.tps_committed,
            p50_ms: run.load.latency_ms.p50,
            p99_ms: run.load.latency_ms.p99,
        })
        .collect()
}

fn write(path: &Path, text: &str) -> Result<()> {
    std::fs::write(path, text).map_err(|e| LoadError::file("cannot write", path, e))
}

/// The nodes' mempool nonce window: the load generator resends `nonce_too_high` refusals by it.
fn nonce_window(node_env: &[(String, String)]) -> Result<u64> {
    match node_env.iter().rev().find(|(k, _)| k == "CAIRN_MEMPOOL__NONCE_WINDOW") {
        Some((k, v)) => v.parse().map_err(|_| LoadError::Input(format!("--node-env {k}={v}: not a number"))),
        None => Ok(LoadArgs::defaults().nonce_window),
    }
}

/// `KEY=VALUE` of `--node-env`.
fn parse_env(s: &str) -> std::result::Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
        _ => Err(format!("{s:?} is not KEY=VALUE")),
    }
}
