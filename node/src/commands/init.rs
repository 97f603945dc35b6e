//! `cairn init`: one node's home with a single-validator genesis, and the shared genesis
//! builder that `cairn testnet init` also uses.
use crate::config::NodeConfig;
use crate::home::Home;
use anyhow::Result;
use cairn_proto::{Address, Genesis, GenesisAccount, GenesisValidator, Keypair};
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

/// What each genesis-funded account starts with: plenty for long load runs, and small enough
/// that 18 million of them still fit the u64 total supply (`testnet init --accounts 1000000`).
pub const GENESIS_BALANCE: u64 = 1_000_000_000_000;

pub fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

/// A genesis with `validators` (power 1 each, named by moniker) and `accounts` funded.
pub fn build_genesis(chain_id: &str, validators: &[(Address, String)], accounts: &[Address]) -> Genesis {
    Genesis {
        chain_id: chain_id.to_string(),
        genesis_time_ms: now_ms(),
        validators: validators
            .iter()
            .map(|(address, name)| GenesisValidator { address: *address, power: 1, name: name.clone() })
            .collect(),
        accounts: accounts.iter().map(|a| GenesisAccount { address: *a, balance: GENESIS_BALANCE }).collect(),
        gentxs: vec![],
    }
}

pub fn run(home: &Path, chain_id: &str, moniker: &str) -> Result<()> {
    let key = Keypair::generate();
    let genesis = build_genesis(chain_id, &[(key.address(), moniker.to_string())], &[key.address()]);
    let config = NodeConfig { moniker: moniker.to_string(), ..NodeConfig::default() };
    Home::write(home, &config, &genesis, &key)?;
    println!("initialised {} (chain {chain_id}, validator {})", home.display(), key.address());
    println!("start it with: cairn start --home {}", home.display());
    Ok(())
}
