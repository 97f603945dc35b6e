//! `cairn testnet init|start` and bare `cairn testnet`: a local N-validator network, each node
//! its own OS process.
use super::init::build_genesis;
use crate::cli::TestnetInitArgs;
use crate::config::NodeConfig;
use crate::home::Home;
use anyhow::{bail, Context, Result};
use cairn_network::multiaddr::Protocol;
use cairn_network::Multiaddr;
use cairn_proto::Keypair;
use cairn_testnet::{write_accounts, TestAccount, Testnet, TestnetLayout};
use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::time::Duration;

pub fn init(args: &TestnetInitArgs) -> Result<()> {
    let validators = match (args.validators, args.hosts.len()) {
        (Some(n), h) if h > 0 && n != h => bail!("--validators {n} but {h} --hosts: give one host per validator"),
        (Some(n), _) => n,
        (None, 0) => 4,
        (None, h) => h,
    };
    anyhow::ensure!(validators >= 1, "--validators must be at least 1");
    let supply = (args.accounts + validators) as u128 * u128::from(super::init::GENESIS_BALANCE);
    anyhow::ensure!(
        supply <= u128::from(u64::MAX),
        "{} accounts of {} each exceed the u64 total supply; use fewer accounts",
        args.accounts + validators,
        super::init::GENESIS_BALANCE
    );
    let hosts: Vec<Host> = args.hosts.iter().map(|h| Host::parse(h)).collect::<Result<_>>()?;
    let layout = TestnetLayout { dir: args.dir.clone(), validators, base_port: args.base_port };
    anyhow::ensure!(
        !layout.node_home(0).exists(),
        "{} already holds a testnet; remove it or choose another --dir",
        args.dir.display()
    );
    let keys: Vec<Keypair> = (0..validators).map(|_| Keypair::generate()).collect();
    let accounts = generate_accounts(args.accounts);
    let names: Vec<_> = keys.iter().enumerate().map(|(i, k)| (k.address(), format!("node{i}"))).collect();
    let funded: Vec<_> = accounts.iter().map(|a| a.address).chain(keys.iter().map(Keypair::address)).collect();
    let genesis = build_genesis(&args.chain_id, &names, &funded);
    // Where each node is dialled: its host, or loopback for a single-machine testnet.
    let reach: Vec<Multiaddr> = (0..validators)
        .map(|i| hosts.get(i).unwrap_or(&Host::Ip(Ipv4Addr::LOCALHOST.into())).tcp(layout.ports(i).p2p))
        .collect();
    let homes = crate::progress::counter(validators as u64, "writing node homes");
    for (i, key) in keys.iter().enumerate() {
        homes.inc(1);
        let ports = layout.ports(i);
        let mut cfg = NodeConfig { moniker: format!("node{i}"), ..NodeConfig::default() };
        if hosts.is_empty() {
            cfg.p2p.listen = (Ipv4Addr::LOCALHOST, ports.p2p).into();
        } else {
            cfg.p2p.listen = (Ipv4Addr::UNSPECIFIED, ports.p2p).into();
            cfg.p2p.external_addrs = vec![reach[i].clone()];
        }
        cfg.p2p.bootstrap = (0..validators)
            .filter(|j| *j != i)
            .map(|j| reach[j].clone().with(Protocol::P2p(cairn_network::peer_id_of(&keys[j]))))
            .collect();
        cfg.rpc.jsonrpc_addr = (args.rpc_bind, ports.jsonrpc).into();
        cfg.rpc.grpc_addr = (args.rpc_bind, ports.grpc).into();
        cfg.rpc.metrics_addr = (args.rpc_bind, ports.metrics).into();
        Home::write(&layout.node_home(i), &cfg, &genesis, key)?;
    }
    homes.finish_and_clear();
    let writing = crate::progress::spinner(&format!("writing {}", layout.accounts_file().display()));
    write_accounts(&layout.accounts_file(), &accounts)?;
    writing.finish_and_clear();
    println!(
        "testnet {}: {validators} validators, {} funded accounts in {}, chain {}",
        args.dir.display(),
        args.accounts,
        layout.accounts_file().display(),
        args.chain_id
    );
    for (i, h) in hosts.iter().enumerate() {
        println!("  copy {} to {h} and run: cairn start --home node{i}", layout.node_home(i).display());
    }
    Ok(())
}

/// Writes `dir/nodeN` (N = the number of nodes already there): node 0's genesis and config
/// with a new key, the next ports of the layout, and every existing node as a bootstrap peer.
/// Returns its home. Only for single-machine testnets (the new node is dialled on loopback).
pub fn add_node(dir: &Path) -> Result<Home> {
    let homes: Vec<Home> = TestnetLayout::discover(dir)?.into_iter().map(Home).collect();
    let configs: Vec<NodeConfig> =
        homes.iter().map(|h| NodeConfig::load(&h.config(), std::iter::empty())).collect::<Result<_>>()?;
    let first = &configs[0];
    anyhow::ensure!(
        first.p2p.external_addrs.is_empty(),
        "{} is a multi-host testnet (--hosts); add-node writes single-machine nodes only",
        dir.display()
    );
    let i = homes.len();
    let layout = TestnetLayout { dir: dir.to_path_buf(), validators: i, base_port: first.p2p.listen.port() };
    let ports = layout.ports(i);
    let mut bootstrap = vec![];
    for (home, cfg) in homes.iter().zip(&configs) {
        let peer = cairn_network::peer_id_of(&home.load_key()?);
        bootstrap.push(Host::Ip(cfg.p2p.listen.ip()).tcp(cfg.p2p.listen.port()).with(Protocol::P2p(peer)));
    }
    let mut cfg = first.clone();
    cfg.moniker = format!("node{i}");
    cfg.p2p.listen.set_port(ports.p2p);
    cfg.p2p.bootstrap = bootstrap;
    cfg.rpc.jsonrpc_addr.set_port(ports.jsonrpc);
    cfg.rpc.grpc_addr.set_port(ports.grpc);
    cfg.rpc.metrics_addr.set_port(ports.metrics);
    let key = Keypair::generate();
    let home = Home::write(&layout.node_home(i), &cfg, &homes[0].load_genesis()?, &key)?;
    println!("added {} (full node, address {}, JSON-RPC port {})", home.0.display(), key.address(), ports.jsonrpc);
    println!("start it:   cairn start --home {}", home.0.display());
    println!(
        "make it a validator: fund {} (cairn tx transfer), then cairn tx stake --key {} --amount 1000000000",
        key.address(),
        home.key().display()
    );
    Ok(home)
}

/// `n` new funded test accounts, made on every core, with a progress bar on a terminal.
fn generate_accounts(n: usize) -> Vec<TestAccount> {
    use rayon::prelude::*;
    let bar = crate::progress::counter(n as u64, "generating accounts");
    let accounts = (0..n)
        .into_par_iter()
        .map(|_| {
            bar.inc(1);
            TestAccount::generate()
        })
        .collect();
    bar.finish_and_clear();
    accounts
}

/// A `--hosts` entry: an IP, or a name dialled as `/dns4/NAME`.
#[derive(Clone, Debug)]
enum Host {
    Ip(IpAddr),
    Name(String),
}

impl Host {
    fn parse(s: &str) -> Result<Host> {
        let s = s.trim();
        if let Ok(ip) = s.parse::<IpAddr>() {
            return Ok(Host::Ip(ip));
        }
        let valid = !s.is_empty()
            && s.len() <= 253
            && s.split('.').all(|l| !l.is_empty() && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
        anyhow::ensure!(valid, "--hosts entry {s:?} is neither an IP address nor a DNS name");
        Ok(Host::Name(s.to_string()))
    }

    fn tcp(&self, port: u16) -> Multiaddr {
        let host = match self {
            Host::Ip(ip) => Multiaddr::from(*ip),
            Host::Name(n) => Multiaddr::empty().with(Protocol::Dns4(n.as_str().into())),
        };
        host.with(Protocol::Tcp(port))
    }
}

impl std::fmt::Display for Host {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Host::Ip(ip) => ip.fmt(f),
            Host::Name(n) => n.fmt(f),
        }
    }
}

/// Runs every node of `dir` until Ctrl-C or SIGTERM, then stops them all.
pub async fn start(dir: &Path) -> Result<()> {
    // The handlers go in before any node starts: a SIGTERM sent as soon as the endpoints are
    // printed (as the CLI test does) must stop the nodes, not kill this process by the default
    // action and leave them running.
    use tokio::signal::unix::{signal, SignalKind};
    let (mut term, mut int) = (signal(SignalKind::terminate())?, signal(SignalKind::interrupt())?);
    let homes = TestnetLayout::discover(dir)?;
    let mut nodes = vec![];
    let mut rpc_host: IpAddr = Ipv4Addr::LOCALHOST.into();
    for h in homes {
        let cfg = NodeConfig::load(&Home(h.clone()).config(), std::env::vars())?;
        // Where this machine reaches the RPC servers: their address, or loopback for a wildcard.
        let ip = cfg.rpc.jsonrpc_addr.ip();
        rpc_host = if ip.is_unspecified() { Ipv4Addr::LOCALHOST.into() } else { ip };
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
    println!("{}", net.endpoints_table(&rpc_host.to_string()));
    println!("accounts:  {} (funded test keys, for `cairn load --accounts`)", dir.join("accounts.json").display());
    println!(
        "dashboard: http://{rpc_host}:{}/dashboard (each node serves one on its JSON-RPC port)",
        net.nodes[0].ports.jsonrpc
    );
    println!("metrics:   Prometheus text on each node's metrics address above (scrape /metrics)");
    println!("logs:      each node's log file above; RUST_LOG or log.level sets the detail");
    println!("try:       cairn query status --rpc http://{rpc_host}:{}", net.nodes[0].ports.jsonrpc);
    println!("stop:      Ctrl-C");
    let mut tick = tokio::time::interval(Duration::from_secs(2));
    let mut reported = vec![false; net.nodes.len()];
    loop {
        tokio::select! {
            _ = int.recv() => break,
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
        validators: None,
        hosts: vec![],
        rpc_bind: Ipv4Addr::LOCALHOST.into(),
        accounts: 1000,
        base_port: 26600,
        chain_id: "cairn-local".into(),
    };
    if !args.dir.join("node0").join("config.toml").exists() {
        init(&args)?;
    }
    start(&args.dir).await
}
