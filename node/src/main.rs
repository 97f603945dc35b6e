//! The `cairn` binary: parses the command line and runs the command.
use anyhow::Result;
use cairn_node::cli::{
    Cli, Command, GenesisCommand, KeysCommand, QueryArgs, SnapshotCommand, TestnetArgs, TestnetCommand,
};
use cairn_node::commands;
use cairn_node::config::NodeConfig;
use cairn_node::home::Home;
use clap::{CommandFactory, Parser};

/// mimalloc instead of glibc malloc: a node allocates per transaction (admission, execution,
/// batches) on many threads and frees across them, where glibc's arenas are slow. (It was
/// chosen when the state tree also allocated each of its ≈ 150k new nodes per block; the tree
/// now keeps them in an arena of its own.)
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// A mimalloc option, which it reads from the environment once, at process load.
/// `MIMALLOC_PURGE_DELAY`: how long freed memory stays with the process before it goes back to
/// the OS. mimalloc v3's default is 1 s, about a block interval: memory a commit frees went back
/// to the OS before the next block allocated it again, and page-faulted in. With 10 s the paced
/// 1M-account commit bench measured 10–20 % faster (state/README.md, measured when the tree
/// still allocated each node). The same value is in `.cargo/config.toml`, for the benches.
const PURGE_DELAY: (&str, &str) = ("MIMALLOC_PURGE_DELAY", "10000");

/// Runs this binary again, in place (same PID, same arguments), with `PURGE_DELAY` set, unless
/// the environment already sets it (the operator's value is kept). Returns only if it was set
/// or the exec failed (then the node runs on mimalloc's default).
#[cfg(unix)]
fn exec_with_purge_delay() {
    use std::os::unix::process::CommandExt;
    let (name, value) = PURGE_DELAY;
    if std::env::var_os(name).is_some() {
        return;
    }
    let err = match std::env::current_exe() {
        Ok(exe) => {
            let mut args = std::env::args_os();
            let mut command = std::process::Command::new(exe);
            if let Some(arg0) = args.next() {
                command.arg0(arg0);
            }
            command.args(args).env(name, value).exec()
        }
        Err(e) => e,
    };
    eprintln!("warning: running with mimalloc's default purge delay: cannot restart with {name} set ({err})");
}

#[cfg(not(unix))]
fn exec_with_purge_delay() {}

fn main() {
    let cli = Cli::parse();
    // The long-running commands; a testnet's validators inherit the setting from it.
    if matches!(cli.command, Command::Start { .. } | Command::Testnet(_)) {
        exec_with_purge_delay();
    }
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime");
    if let Err(e) = rt.block_on(run(cli)) {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

async fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Init { home, chain_id, moniker } => commands::init::run(&home, &chain_id, &moniker),
        Command::Start { home } => {
            let home = Home::require(&home)?;
            let cfg = NodeConfig::load(&home.config(), std::env::vars())?;
            cairn_node::logging::init(&cfg.log.level, cfg.log.format == "json");
            cairn_node::node::run(&home, cfg).await
        }
        Command::Keys(KeysCommand::Generate { out }) => commands::keys::generate(out.as_deref()),
        Command::Keys(KeysCommand::Show { home }) => commands::keys::show(&home),
        Command::Testnet(TestnetArgs { command: None }) => commands::testnet::init_and_start().await,
        Command::Testnet(TestnetArgs { command: Some(TestnetCommand::Init(args)) }) => commands::testnet::init(&args),
        Command::Testnet(TestnetArgs { command: Some(TestnetCommand::AddNode { dir }) }) => {
            commands::testnet::add_node(&dir).map(drop)
        }
        Command::Testnet(TestnetArgs { command: Some(TestnetCommand::Start { dir }) }) => {
            commands::testnet::start(&dir).await
        }
        Command::Tx(command) => commands::tx::run(command).await,
        Command::Query(QueryArgs { what, rpc }) => commands::query::run(&rpc, what).await,
        Command::Load(args) => commands::load::load(args).await,
        Command::Bench(args) => commands::load::bench(args).await,
        Command::Snapshot(SnapshotCommand::Export { home, out }) => commands::snapshot::export(&home, &out),
        Command::Snapshot(SnapshotCommand::Import { home, from }) => commands::snapshot::import(&home, &from),
        Command::Genesis(GenesisCommand::Gentx { home, power, p2p_addr, out }) => {
            commands::genesis::gentx(&home, power, p2p_addr, out.as_deref()).map(drop)
        }
        Command::Genesis(GenesisCommand::Collect { entries, accounts, validator_balance, genesis_time_ms, out }) => {
            let args = commands::genesis::CollectArgs {
                entries: &entries,
                accounts: &accounts,
                validator_balance,
                genesis_time_ms,
                out: &out,
            };
            commands::genesis::collect(&args).map(drop)
        }
        Command::Genesis(GenesisCommand::Install { home, genesis }) => commands::genesis::install(&home, &genesis),
        Command::Completions { shell } => {
            // Into a buffer first: clap_complete panics on a write error (`… | head`).
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "cairn", &mut script);
            match std::io::Write::write_all(&mut std::io::stdout(), &script) {
                Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
                _ => Ok(()),
            }
        }
    }
}
