//! `cairn genesis gentx|collect|install`: a genesis for validators that share no disk, as
//! CometBFT's gentx / collect-gentxs. Each validator makes its key and home (`cairn init`),
//! signs an entry naming itself, its power and where peers reach it (`gentx`); one person
//! collects the entries and the funded accounts into the genesis (`collect`), which checks
//! every signature; each validator installs that genesis (`install`), which checks it again,
//! as does every node each time it starts.
use super::init::{now_ms, GENESIS_BALANCE};
use crate::config::NodeConfig;
use crate::home::Home;
use anyhow::{bail, ensure, Context, Result};
use cairn_network::Multiaddr;
use cairn_proto::{Address, Genesis, GenesisAccount, GenesisEntry, GenesisValidator};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

/// The file `gentx` writes in the home unless told otherwise.
pub const GENTX_FILE: &str = "gentx.json";

/// `cairn genesis gentx`: signs this home's entry for the chain of its genesis.
pub fn gentx(home: &Path, power: u64, p2p_addr: Option<Multiaddr>, out: Option<&Path>) -> Result<PathBuf> {
    let home = Home::require(home)?;
    let key = home.load_key()?;
    let chain_id = home.load_genesis()?.chain_id;
    let cfg = NodeConfig::load(&home.config(), std::env::vars())?;
    ensure!(power > 0, "--power must be positive");
    let addr = match p2p_addr {
        Some(a) => a,
        None => announced_addr(&cfg).with_context(|| {
            format!(
                "this node announces no address other hosts can dial (p2p.listen_addr {} is a wildcard or \
                 loopback and p2p.external_addrs is empty): pass --p2p-addr /dns4/HOST/tcp/PORT",
                cfg.p2p.listen
            )
        })?,
    };
    let addr = with_peer_id(addr, &cairn_network::peer_id_of(&key))?;
    let entry = GenesisEntry::new_signed(&key, &chain_id, power, &cfg.moniker, &addr.to_string());
    let path = out.map_or_else(|| home.0.join(GENTX_FILE), Path::to_path_buf);
    std::fs::write(&path, serde_json::to_string_pretty(&entry)?)
        .with_context(|| format!("cannot write {}", path.display()))?;
    println!(
        "signed the genesis entry of {} ({}) for chain {chain_id}: {}",
        cfg.moniker,
        key.address(),
        path.display()
    );
    println!("p2p address announced to the other validators: {addr}");
    println!("send it to whoever runs `cairn genesis collect`, then install the genesis they send back with");
    println!("  cairn genesis install --home {} --genesis genesis.json", home.0.display());
    Ok(path)
}

/// Where other hosts reach this node: the first `p2p.external_addrs`, else the listen address
/// if it is a specific, non-loopback IP.
fn announced_addr(cfg: &NodeConfig) -> Option<Multiaddr> {
    if let Some(a) = cfg.p2p.external_addrs.first() {
        return Some(a.clone());
    }
    let ip = cfg.p2p.listen.ip();
    (!ip.is_unspecified() && !ip.is_loopback()).then(|| ip_tcp(ip, cfg.p2p.listen.port()))
}

fn ip_tcp(ip: IpAddr, port: u16) -> Multiaddr {
    use cairn_network::multiaddr::Protocol;
    Multiaddr::from(ip).with(Protocol::Tcp(port))
}

/// `addr` ending in `/p2p/<peer>`: appended when absent, refused when it names another peer.
fn with_peer_id(addr: Multiaddr, peer: &cairn_network::PeerId) -> Result<Multiaddr> {
    use cairn_network::multiaddr::Protocol;
    match addr.iter().last() {
        Some(Protocol::P2p(p)) if p == *peer => Ok(addr),
        Some(Protocol::P2p(p)) => bail!("{addr} names peer {p}, but this node's key is peer {peer}"),
        _ => Ok(addr.with(Protocol::P2p(*peer))),
    }
}

/// A funded account in an accounts file: `accounts.json` of `cairn testnet init` (its
/// `secret_key`s are ignored) or a list of `{"address", "balance"}`.
#[derive(Deserialize)]
struct FundedAccount {
    address: Address,
    balance: Option<u64>,
}

/// What `collect` assembles a genesis from.
#[derive(Debug)]
pub struct CollectArgs<'a> {
    /// Entry files, or directories whose `*.json` files are all entries.
    pub entries: &'a [PathBuf],
    pub accounts: &'a [PathBuf],
    /// Balance of each validator's own account (0: validators get no account).
    pub validator_balance: u64,
    pub genesis_time_ms: Option<u64>,
    pub out: &'a Path,
}

/// `cairn genesis collect`: verifies every entry and writes the genesis.
pub fn collect(a: &CollectArgs<'_>) -> Result<Genesis> {
    let mut entries = vec![];
    for path in entry_files(a.entries)? {
        let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
        let e: GenesisEntry = serde_json::from_str(&text)
            .with_context(|| format!("{} is not a genesis entry (made by `cairn genesis gentx`)", path.display()))?;
        e.verify(&e.chain_id).map_err(anyhow::Error::msg).with_context(|| format!("in {}", path.display()))?;
        entries.push((path, e));
    }
    let Some((first_path, first)) = entries.first() else { bail!("no genesis entries found in {:?}", a.entries) };
    let chain_id = first.chain_id.clone();
    for (path, e) in &entries {
        ensure!(
            e.chain_id == chain_id,
            "{} is for chain {:?} but {} is for {chain_id:?}",
            path.display(),
            e.chain_id,
            first_path.display()
        );
    }
    // Balances by address: accounts files first, then each validator's own (unless listed).
    let mut balances: BTreeMap<Address, u64> = BTreeMap::new();
    for path in a.accounts {
        let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
        let list: Vec<FundedAccount> = serde_json::from_str(&text)
            .with_context(|| format!("{} is not a list of {{address, balance?}}", path.display()))?;
        for acc in list {
            let balance = acc.balance.unwrap_or(GENESIS_BALANCE);
            ensure!(balances.insert(acc.address, balance).is_none(), "account {} is listed twice", acc.address);
        }
    }
    if a.validator_balance > 0 {
        for (_, e) in &entries {
            balances.entry(e.address).or_insert(a.validator_balance);
        }
    }
    let gentxs: Vec<GenesisEntry> = entries.into_iter().map(|(_, e)| e).collect();
    let genesis = Genesis {
        chain_id,
        genesis_time_ms: a.genesis_time_ms.unwrap_or_else(now_ms),
        validators: gentxs
            .iter()
            .map(|e| GenesisValidator { address: e.address, power: e.power, name: e.name.clone() })
            .collect(),
        accounts: balances.into_iter().map(|(address, balance)| GenesisAccount { address, balance }).collect(),
        gentxs,
    };
    // The same checks every node makes when it loads the file (one entry per validator, …).
    let genesis = Genesis::from_json(&genesis.to_json()).map_err(anyhow::Error::msg)?;
    std::fs::write(a.out, genesis.to_json()).with_context(|| format!("cannot write {}", a.out.display()))?;
    println!(
        "genesis of chain {} with {} validators and {} funded accounts: {}",
        genesis.chain_id,
        genesis.validators.len(),
        genesis.accounts.len(),
        a.out.display()
    );
    for e in &genesis.gentxs {
        println!("  {:<12} {} power {} at {}", e.name, e.address, e.power, e.p2p_addr);
    }
    println!("every validator installs it with: cairn genesis install --home DIR --genesis {}", a.out.display());
    Ok(genesis)
}

fn entry_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut files = vec![];
    for p in paths {
        if p.is_dir() {
            let mut in_dir: Vec<PathBuf> = std::fs::read_dir(p)
                .with_context(|| format!("cannot read {}", p.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|f| f.extension().is_some_and(|x| x == "json"))
                .collect();
            in_dir.sort();
            files.extend(in_dir);
        } else {
            files.push(p.clone());
        }
    }
    Ok(files)
}

/// `cairn genesis install`: checks `genesis` (signatures, this node's place in it) and puts it
/// in the home; an empty `p2p.bootstrap` becomes the other validators' announced addresses.
pub fn install(home: &Path, genesis: &Path) -> Result<()> {
    let home = Home::require(home)?;
    let text = std::fs::read_to_string(genesis).with_context(|| format!("cannot read {}", genesis.display()))?;
    let g =
        Genesis::from_json(&text).map_err(anyhow::Error::msg).with_context(|| format!("in {}", genesis.display()))?;
    let key = home.load_key()?;
    let own_chain = home.load_genesis().ok().map(|g| g.chain_id);
    if let Some(own) = own_chain.filter(|c| *c != g.chain_id) {
        bail!("{} is for chain {:?}, but this home was made for {own:?}", genesis.display(), g.chain_id);
    }
    ensure!(
        std::fs::read_dir(home.state_dir()).map_or(true, |mut d| d.next().is_none()),
        "{} already holds a chain's state; a new genesis needs a fresh home",
        home.state_dir().display()
    );
    let validator = g.validators.iter().any(|v| v.address == key.address());
    let mut cfg = NodeConfig::load(&home.config(), std::iter::empty())?;
    let peers: Vec<Multiaddr> = g
        .gentxs
        .iter()
        .filter(|e| e.address != key.address() && !e.p2p_addr.is_empty())
        .map(|e| e.p2p_addr.parse().with_context(|| format!("entry of {} has a bad p2p_addr", e.name)))
        .collect::<Result<_>>()?;
    std::fs::write(home.genesis(), g.to_json())?;
    if cfg.p2p.bootstrap.is_empty() && !peers.is_empty() {
        cfg.p2p.bootstrap = peers;
        std::fs::write(home.config(), cfg.to_toml())?;
        println!("p2p.bootstrap set to the {} other validators' addresses", cfg.p2p.bootstrap.len());
    }
    println!(
        "installed the genesis of chain {} ({} validators{}) in {}",
        g.chain_id,
        g.validators.len(),
        if validator { ", this node among them" } else { "; this node is not one of them" },
        home.0.display()
    );
    println!("start it with: cairn start --home {}", home.0.display());
    Ok(())
}
