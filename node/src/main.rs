//! The `cairn` binary: parses the command line and runs the command.
use anyhow::Result;
use cairn_node::cli::{
    Cli, Command, GenesisCommand, KeysCommand, QueryArgs, SnapshotCommand, TestnetArgs, TestnetCommand,
};
use cairn_node::commands;
use cairn_node::config::NodeConfig;
use cairn_node::home::Home;
use clap::{CommandFactory, Parser};

// The allocator is the system's (glibc malloc), on purpose: with mimalloc (v3) each validator
// grew from ≈ 70 MB to 450–650 MB in the first seconds of a 10k tx/s load, faulting in fresh
// pages while the two cores were already full, and every such run started with a backlog
// (p99 2.8–3.0 s); on glibc the same runs stayed at 170–180 MB with p99 180–230 ms (four
// alternating pairs, node/README.md "Allocator").

fn main() {
    let cli = Cli::parse();
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
