//! The `cairn` binary: parses the command line and runs the command.
use anyhow::Result;
use cairn_node::cli::{Cli, Command, KeysCommand, QueryArgs, SnapshotCommand, TestnetArgs, TestnetCommand, TxCommand};
use cairn_node::commands::{self, tx::TransferArgs};
use cairn_node::config::NodeConfig;
use cairn_node::home::Home;
use clap::Parser;

/// mimalloc instead of glibc malloc: the state tree allocates and frees ≈ 150k small nodes per
/// 10k-transfer block, often on different threads, where glibc's arenas are slow.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
        Command::Testnet(TestnetArgs { command: Some(TestnetCommand::Start { dir }) }) => {
            commands::testnet::start(&dir).await
        }
        Command::Tx(TxCommand::Transfer { rpc, key, to, amount, fee, nonce, chain_id, wait }) => {
            commands::tx::transfer(TransferArgs { rpc: &rpc, key: &key, to: &to, amount, fee, nonce, chain_id, wait })
                .await
        }
        Command::Query(QueryArgs { what, rpc }) => commands::query::run(&rpc, what).await,
        Command::Load(args) => {
            let json = args.json;
            let report = cairn_node::load::run(args).await?;
            if json {
                println!("{}", serde_json::to_string(&report)?);
            } else {
                print!("{}", report.human());
            }
            Ok(())
        }
        Command::Snapshot(SnapshotCommand::Export { home, out }) => commands::snapshot::export(&home, &out),
        Command::Snapshot(SnapshotCommand::Import { home, from }) => commands::snapshot::import(&home, &from),
    }
}
