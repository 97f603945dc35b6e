//! `accounts.json`: the genesis-funded test accounts, `[{"address": hex, "secret_key": hex}]`.
use anyhow::{Context, Result};
use cairn_proto::{Address, Keypair};
use serde::{Deserialize, Serialize};
use std::path::Path;

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TestAccount {
    pub address: Address,
    /// The 32-byte ed25519 seed, hex.
    pub secret_key: String,
}

impl TestAccount {
    pub fn generate() -> Self {
        let k = Keypair::generate();
        TestAccount { address: k.address(), secret_key: hex::encode(k.seed()) }
    }

    pub fn keypair(&self) -> Result<Keypair> {
        let k = Keypair::from_hex(&self.secret_key).context("bad secret_key in accounts file")?;
        anyhow::ensure!(k.address() == self.address, "secret_key does not match address {}", self.address);
        Ok(k)
    }
}

pub fn write_accounts(path: &Path, accounts: &[TestAccount]) -> Result<()> {
    std::fs::write(path, serde_json::to_string_pretty(accounts)?).with_context(|| format!("writing {}", path.display()))
}

pub fn read_accounts(path: &Path) -> Result<Vec<TestAccount>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read accounts file {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not a list of {{address, secret_key}}", path.display()))
}
