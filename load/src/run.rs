//! `cairn load`: the load generator of SPEC §7. Pre-signs `tps × duration` transfers, sends them
//! open-loop at the target rate over every endpoint (batched JSON-RPC or gRPC streams), and
//! measures latency from send to the block that finalizes each one.
use crate::client::RpcClient;
use crate::error::{LoadError, Result};
use crate::report::{self, Report, SecondLatency};
use crate::resubmit::Resubmit;
use crate::sender::{self, Replies};
use crate::tracker::{Admission, Tracker};
use crate::{plan, watcher};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// The arguments of `cairn load` (the binary parses them; they are this crate's configuration).
#[derive(Args, Debug, Clone)]
pub struct LoadArgs {
    /// JSON-RPC endpoints, comma-separated; load is spread over all of them.
    #[arg(long, value_delimiter = ',', default_value = "http://127.0.0.1:26601")]
    pub rpc: Vec<String>,
    /// gRPC endpoints (host:port), comma-separated: when given, txs go over SubmitTxStream
    /// [default: none, txs go over JSON-RPC].
    #[arg(long, value_delimiter = ',')]
    pub grpc: Vec<String>,
    /// Funded accounts to send from (accounts.json of `cairn testnet init`).
    #[arg(long, default_value = "testnet/accounts.json")]
    pub accounts: PathBuf,
    /// Send from the first N accounts of --accounts only (0: all of them): a large funded state
    /// with a sender set that fits the run [default: all].
    #[arg(long, default_value_t = 0)]
    pub senders: usize,
    /// Target transactions per second.
    #[arg(long, default_value_t = 1000)]
    pub tps: u64,
    /// Seconds to send for.
    #[arg(long, default_value_t = 10)]
    pub duration: u64,
    /// Print one JSON report (SPEC §7) instead of progress and a summary.
    #[arg(long)]
    pub json: bool,
    /// Fee of every transfer.
    #[arg(long, default_value_t = 1)]
    pub fee: u64,
    /// Txs per submission batch.
    #[arg(long, default_value_t = 200)]
    pub batch: usize,
    /// How long to wait for the last txs to finalize after sending stops.
    #[arg(long, default_value_t = 30)]
    pub drain_secs: u64,
    /// The nodes' mempool nonce window (`mempool.nonce_window`): a tx refused as
    /// `nonce_too_high` is sent again once its sender's finalized nonce is within it.
    #[arg(long, default_value_t = 64)]
    pub nonce_window: u64,
    /// Do not send `nonce_too_high` / `mempool_full` refusals again (each refusal then strands
    /// the sender's later nonces for the rest of the run).
    #[arg(long)]
    pub no_resubmit: bool,
}

impl LoadArgs {
    /// The arguments of a bare `cairn load`: the defaults above, stated once.
    pub fn defaults() -> Self {
        use clap::{Command, FromArgMatches};
        let matches = LoadArgs::augment_args(Command::new("load")).get_matches_from(["load"]);
        LoadArgs::from_arg_matches(&matches).expect("the defaults parse")
    }
}

/// What a run measured: the SPEC §7 report, and the latency of the txs first sent in each
/// second of the run (for the benchmark; `cairn load` prints the report only).
#[derive(Debug)]
pub struct LoadRun {
    pub report: Report,
    pub per_second: Vec<SecondLatency>,
    /// Every tx a node admitted, with the endpoint that admitted it (the fault tests account
    /// for each one afterwards).
    pub admitted: Vec<Admission>,
}

/// JSON-RPC requests in flight per endpoint.
const WORKERS_PER_ENDPOINT: usize = 4;

/// Runs the load of `args` against its endpoints; progress on stderr unless `args.json`.
pub async fn run(args: LoadArgs) -> Result<LoadRun> {
    let input = |m: String| Err(LoadError::Input(m));
    if args.tps == 0 || args.duration == 0 {
        return input("--tps and --duration must be positive".into());
    }
    if args.rpc.is_empty() {
        return input("--rpc needs at least one endpoint".into());
    }
    let mut accounts = cairn_testnet::read_accounts(&args.accounts).map_err(|e| LoadError::Input(format!("{e:#}")))?;
    if args.senders > 0 {
        accounts.truncate(args.senders);
    }
    if accounts.is_empty() {
        return input(format!("{} lists no accounts", args.accounts.display()));
    }
    let keys = accounts
        .iter()
        .map(|a| a.keypair().map_err(|e| LoadError::Input(format!("{}: {e:#}", args.accounts.display()))))
        .collect::<Result<Vec<_>>>()?;
    let clients = args.rpc.iter().map(|u| RpcClient::new(u)).collect::<Result<Vec<_>>>()?;
    let status = clients[0].status().await.map_err(|e| LoadError::Unreachable {
        what: "cannot reach the first --rpc endpoint".into(),
        reason: e.to_string(),
    })?;
    let nonces = plan::current_nonces(&clients[0], &accounts).await?;
    let total = (args.tps * args.duration) as usize;
    let say = |m: String| {
        if !args.json {
            eprintln!("{m}")
        }
    };
    say(format!("signing {total} transfers from {} accounts…", keys.len()));
    let signing = if args.json { ProgressBar::hidden() } else { bar(total, "signed") };
    let txs = plan::sign_all(&status.chain_id, &keys, &nonces, total, args.fee, &signing);
    signing.finish_and_clear();

    let tracker = Arc::new(Tracker::default());
    let resubmit = (!args.no_resubmit).then(|| {
        let start = accounts.iter().map(|a| a.address).zip(nonces.iter().copied());
        Arc::new(Resubmit::new(args.nonce_window, &txs, start))
    });
    let replies = Replies { tracker: tracker.clone(), resubmit: resubmit.clone(), endpoint: 0 };
    let stop = Arc::new(AtomicBool::new(false));
    let watcher = tokio::spawn(watcher::watch(clients.clone(), status.height, replies.clone(), stop.clone()));
    // Senders: one channel per worker; the pacer and the resender deal batches in turn.
    let mut queues = vec![];
    let mut workers = vec![];
    if args.grpc.is_empty() {
        for (endpoint, c) in clients.iter().enumerate() {
            for _ in 0..WORKERS_PER_ENDPOINT {
                let (tx, rx) = mpsc::channel(8);
                queues.push(tx);
                let r = Replies { endpoint, ..replies.clone() };
                workers.push(tokio::spawn(sender::jsonrpc_worker(c.clone(), rx, r)));
            }
        }
    } else {
        for (endpoint, g) in args.grpc.iter().enumerate() {
            let (tx, rx) = mpsc::channel(8);
            queues.push(tx);
            let (g, r) = (g.clone(), Replies { endpoint, ..replies.clone() });
            workers.push(tokio::spawn(async move {
                if let Err(e) = sender::grpc_worker(g.clone(), rx, r).await {
                    eprintln!("gRPC sender to {g} stopped: {e:#}");
                }
            }));
        }
    }

    let progress = (!args.json).then(|| bar(total, "sent ·"));
    let batch = args.batch.clamp(1, (args.tps as usize / 20).max(1));
    let start = Instant::now();
    let stop_resending = Arc::new(AtomicBool::new(false));
    let mut dealer = Dealer { queues, next: 0 };
    let resender = resubmit.clone().map(|r| tokio::spawn(resend(r, dealer.clone(), batch, stop_resending.clone())));
    let mut txs = txs.into_iter();
    let mut sent = 0usize;
    while sent < total {
        let due = start + Duration::from_secs_f64(sent as f64 / args.tps as f64);
        tokio::time::sleep_until(due.into()).await;
        let chunk: Vec<_> = txs.by_ref().take(batch).collect();
        let len = chunk.len();
        if !dealer.deal(chunk).await {
            break;
        }
        sent += len;
        if let Some(p) = &progress {
            p.set_position(sent as u64);
            p.set_message(progress_message(&tracker, resubmit.as_deref()));
        }
    }
    let send_time = start.elapsed();
    // Drain: wait until the workers have sent every batch handed to them (a batch still in a
    // channel is not yet pending), every sent tx has finalized, and every held one has been
    // sent again and finalized.
    let deadline = Instant::now() + Duration::from_secs(args.drain_secs);
    let handed_out = || (sent as u64) + resubmit.as_ref().map_or(0, |r| r.resent());
    while (tracker.pending() > 0 || tracker.submitted.load(Relaxed) < handed_out())
        && Instant::now() < deadline
        && !watcher.is_finished()
    {
        if let Some(p) = &progress {
            p.set_message(progress_message(&tracker, resubmit.as_deref()));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    stop_resending.store(true, Relaxed);
    if let Some(r) = resender {
        r.await.ok();
    }
    drop(dealer);
    for w in workers {
        w.await.ok();
    }
    let elapsed = start.elapsed();
    stop.store(true, Relaxed);
    if let Ok(Err(e)) = watcher.await {
        eprintln!("finality watcher stopped early: {e:#}");
    }
    if let Some(p) = progress {
        p.finish_and_clear();
    }
    let committed = tracker.committed.load(Relaxed);
    let report = Report {
        target_tps: args.tps,
        duration_s: (send_time.as_secs_f64() * 100.0).round() / 100.0,
        submitted: tracker.submitted.load(Relaxed),
        resent: resubmit.as_ref().map_or(0, |r| r.resent()),
        accepted: tracker.accepted.load(Relaxed),
        rejected: tracker.rejected.load(Relaxed),
        committed,
        // Over the time until the last commit seen: a drain that waits out txs which will never
        // commit (a sender's later nonces after a refusal) must not dilute the rate.
        tps_committed: {
            let until_last = tracker.last_commit().map_or(elapsed, |t| t.saturating_duration_since(start));
            (committed as f64 / until_last.as_secs_f64().max(1e-3) * 10.0).round() / 10.0
        },
        latency_ms: report::Latency::from_histogram(&tracker.latency()),
        rejected_by_reason: tracker.rejected_by_reason(),
    };
    Ok(LoadRun { report, per_second: tracker.per_second(), admitted: tracker.admitted() })
}

/// Hands batches to the sender workers in turn (one channel per worker).
#[derive(Clone)]
struct Dealer {
    queues: Vec<mpsc::Sender<sender::Batch>>,
    next: usize,
}

impl Dealer {
    /// False once the workers are gone.
    async fn deal(&mut self, batch: sender::Batch) -> bool {
        let queue = &self.queues[self.next % self.queues.len()];
        self.next += 1;
        queue.send(batch).await.is_ok()
    }
}

/// Every 100 ms, deals the held txs that a node should now accept to the senders.
async fn resend(resubmit: Arc<Resubmit>, mut dealer: Dealer, batch: usize, stop: Arc<AtomicBool>) {
    while !stop.load(Relaxed) {
        tokio::time::sleep(Duration::from_millis(100)).await;
        for chunk in resubmit.due(Instant::now()).chunks(batch) {
            if !dealer.deal(chunk.to_vec()).await {
                return;
            }
        }
    }
}

/// A progress bar on stderr (drawn only when it is a terminal): `{pos}/{len} {what} {msg}`.
fn bar(total: usize, what: &str) -> ProgressBar {
    let p = ProgressBar::new(total as u64);
    p.set_style(
        ProgressStyle::with_template(&format!("{{elapsed_precise}} [{{bar:30}}] {{pos}}/{{len}} {what} {{msg}}"))
            .expect("valid template")
            .progress_chars("=> "),
    );
    p
}

fn progress_message(t: &Tracker, resubmit: Option<&Resubmit>) -> String {
    format!(
        "accepted {} · rejected {} (held to send again {}) · committed {}",
        t.accepted.load(Relaxed),
        t.rejected.load(Relaxed),
        resubmit.map_or(0, Resubmit::held),
        t.committed.load(Relaxed)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_are_those_of_a_bare_cairn_load() {
        let a = LoadArgs::defaults();
        assert_eq!(a.rpc, vec!["http://127.0.0.1:26601".to_string()]);
        assert_eq!((a.tps, a.duration, a.fee, a.batch, a.drain_secs, a.nonce_window), (1000, 10, 1, 200, 30, 64));
        assert!(a.grpc.is_empty() && !a.json && !a.no_resubmit);
        assert_eq!(a.accounts, PathBuf::from("testnet/accounts.json"));
    }
}
