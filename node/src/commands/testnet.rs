//! `cairn testnet init|start` and bare `cairn testnet`: a local N-validator network, each node
//! its own OS process.
use super::init::build_genesis;
use crate::cli::TestnetInitArgs;
use crate::config::NodeConfig;
use crate::home::Home;
use anyhow::{Context, Result};
use cairn_proto::Keypair;
use cairn_testnet::{write_accounts, TestAccount, Testnet, TestnetLayout};
use std::path::Path;
use std::time::Duration;

pub fn init(args: &TestnetInitArgs) -> Result<()> {
    anyhow::ensure!(args.validators >= 1, "--validators must be at least 1");
    let layout = TestnetLayout { dir: args.dir.clone(), validators: args.validators, base_port: args.base_port };
    anyhow::ensure!(
        !layout.node_home(0).exists(),
        "{} already holds a testnet; remove it or choose another --dir",
        args.dir.display()
    );
    let keys: Vec<Keypair> = (0..args.validators).map(|_| Keypair::generate()).collect();
    let accounts: Vec<TestAccount> = (0..args.accounts).map(|_| TestAccount::generate()).collect();
    let validators: Vec<_> = keys.iter().enumerate().map(|(i, k)| (k.address(), format!("node{i}"))).collect();
    let funded: Vec<_> = accounts.iter().map(|a| a.address).chain(keys.iter().map(Keypair::address)).collect();
    let genesis = build_genesis(&args.chain_id, &validators, &funded);
    let peer_addrs: Vec<cairn_network::Multiaddr> = keys
        .iter()
        .enumerate()
        .map(|(i, k)| {
            format!("/ip4/127.0.0.1/tcp/{}/p2p/{}", layout.ports(i).p2p, cairn_network::peer_id_of(k))
                .parse()
                .expect("a valid multiaddr")
        })
        .collect();
    for (i, key) in keys.iter().enumerate() {
        let ports = layout.ports(i);
        let mut cfg = NodeConfig { moniker: format!("node{i}"), ..NodeConfig::default() };
        cfg.p2p.listen = ([127, 0, 0, 1], ports.p2p).into();
        cfg.p2p.bootstrap = peer_addrs.iter().enumerate().filter(|(j, _)| *j != i).map(|(_, a)| a.clone()).collect();
        cfg.rpc.jsonrpc_addr = ([127, 0, 0, 1], ports.jsonrpc).into();
        cfg.rpc.grpc_addr = ([127, 0, 0, 1], ports.grpc).into();
        cfg.rpc.metrics_addr = ([127, 0, 0, 1], ports.metrics).into();
        Home::write(&layout.node_home(i), &cfg, &genesis, key)?;
    }
    write_accounts(&layout.accounts_file(), &accounts)?;
    println!(
        "testnet {}: {} validators, {} funded accounts in {}, chain {}",
        args.dir.display(),
        args.validators,
        args.accounts,
        layout.accounts_file().display(),
        args.chain_id
    );
    Ok(())
}

/// Runs every node of `dir` until Ctrl-C or SIGTERM, then stops them all.
pub async fn start(dir: &Path) -> Result<()> {
    let homes = TestnetLayout::discover(dir)?;
    let mut nodes = vec![];
    for h in homes {
        let cfg = NodeConfig::load(&Home(h.clone()).config(), std::env::vars())?;
        let ports = cairn_testnet::NodePorts {
            p2p: cfg.p2p.listen.port(),
            jsonrpc: cfg.rpc.jsonrpc_addr.port(),
            grpc: cfg.rpc.grpc_addr.port(),
            metrics: cfg.rpc.metrics_addr.port(),
        };
        nodes.push((h, ports));
    }
    let binary = std::env::current_exe().context("cannot find the cairn binary")?;
    let mut net = Testnet::start(&binary, nodes, vec![])?;
    println!("{}", net.endpoints_table());
    println!("logs: {}/nodeI/node.log · accounts: {}/accounts.json", dir.display(), dir.display());
    println!("try:  cairn query status --rpc http://127.0.0.1:{}", net.nodes[0].ports.jsonrpc);
    println!("stop: Ctrl-C");
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let mut tick = tokio::time::interval(Duration::from_secs(2));
    let mut reported = vec![false; net.nodes.len()];
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => break,
            _ = term.recv() => break,
            _ = tick.tick() => {
                for (i, n) in net.nodes.iter_mut().enumerate() {
                    if !n.is_running() && !reported[i] {
                        reported[i] = true;
                        eprintln!("node{i} exited; see {}", n.log_file().display());
                    }
                }
            }
        }
    }
    println!("stopping {} nodes…", net.nodes.len());
    net.stop(Duration::from_secs(15));
    println!("stopped");
    Ok(())
}

/// Bare `cairn testnet`: init ./testnet (4 validators) if absent, then start it.
pub async fn init_and_start() -> Result<()> {
    let args = TestnetInitArgs {
        dir: "testnet".into(),
        validators: 4,
        accounts: 1000,
        base_port: 26600,
        chain_id: "cairn-local".into(),
    };
    if !args.dir.join("node0").join("config.toml").exists() {
        init(&args)?;
    }
    start(&args.dir).await
}
