//! A node's home directory: `config.toml`, `genesis.json`, `validator_key.json` (0600),
//! `signing_state.json` (0600, the highest point signed) and `data/` (RocksDB state, consensus WAL).
use crate::config::NodeConfig;
use anyhow::{bail, Context, Result};
use cairn_proto::{Address, Genesis, Keypair};
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};

pub const CONFIG_FILE: &str = "config.toml";
pub const GENESIS_FILE: &str = "genesis.json";
pub const KEY_FILE: &str = "validator_key.json";

/// The on-disk form of a key: `{"address", "secret_key", "peer_id"}`.
#[derive(Debug, Serialize, Deserialize)]
pub struct KeyFile {
    pub address: Address,
    pub secret_key: String,
    pub peer_id: String,
}

impl KeyFile {
    pub fn new(key: &Keypair) -> Self {
        KeyFile {
            address: key.address(),
            secret_key: hex::encode(key.seed()),
            peer_id: cairn_network::peer_id_of(key).to_string(),
        }
    }
}

/// Paths inside one home directory.
#[derive(Clone, Debug)]
pub struct Home(pub PathBuf);

impl Home {
    pub fn config(&self) -> PathBuf {
        self.0.join(CONFIG_FILE)
    }
    pub fn genesis(&self) -> PathBuf {
        self.0.join(GENESIS_FILE)
    }
    pub fn key(&self) -> PathBuf {
        self.0.join(KEY_FILE)
    }
    pub fn state_dir(&self) -> PathBuf {
        self.0.join("data").join("state")
    }
    pub fn wal(&self) -> PathBuf {
        self.0.join("data").join("consensus.wal")
    }
    /// Kept outside `data/` on purpose: it must survive a wiped or restored data directory.
    pub fn sign_state(&self) -> PathBuf {
        self.0.join("signing_state.json")
    }

    /// Fails with a hint when the directory is not an initialised home.
    pub fn require(dir: &Path) -> Result<Home> {
        let home = Home(dir.to_path_buf());
        if !home.config().exists() {
            bail!(
                "{} is not a node home (no {CONFIG_FILE}); create one with `cairn init --home {}`",
                dir.display(),
                dir.display()
            );
        }
        Ok(home)
    }

    /// Writes config, genesis and key. Refuses to overwrite an existing home.
    pub fn write(dir: &Path, config: &NodeConfig, genesis: &Genesis, key: &Keypair) -> Result<Home> {
        let home = Home(dir.to_path_buf());
        if home.config().exists() {
            bail!("{} is already initialised; remove it or pick another --home", dir.display());
        }
        std::fs::create_dir_all(dir.join("data")).with_context(|| format!("cannot create {}", dir.display()))?;
        std::fs::write(home.config(), config.to_toml())?;
        std::fs::write(home.genesis(), genesis.to_json())?;
        write_key_file(&home.key(), key)?;
        Ok(home)
    }

    pub fn load_genesis(&self) -> Result<Genesis> {
        let text = std::fs::read_to_string(self.genesis())
            .with_context(|| format!("cannot read {}", self.genesis().display()))?;
        Genesis::from_json(&text)
            .map_err(anyhow::Error::msg)
            .with_context(|| format!("in {}", self.genesis().display()))
    }

    pub fn load_key(&self) -> Result<Keypair> {
        read_key(&self.key().to_string_lossy())
    }
}

/// Writes a key file readable only by its owner.
pub fn write_key_file(path: &Path, key: &Keypair) -> Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot create key file {} (does it exist already?)", path.display()))?;
    f.write_all(serde_json::to_string_pretty(&KeyFile::new(key))?.as_bytes())?;
    f.sync_all()?;
    Ok(())
}

/// A key given as 64 hex characters, or as the path of a key file (ours, or a bare hex seed).
pub fn read_key(hex_or_file: &str) -> Result<Keypair> {
    let s = hex_or_file.trim();
    if s.len() == 64 && s.chars().all(|c| c.is_ascii_hexdigit()) {
        return Keypair::from_hex(s).map_err(anyhow::Error::msg);
    }
    let text = std::fs::read_to_string(s)
        .with_context(|| format!("--key {s:?} is neither 64 hex characters nor a readable key file"))?;
    if let Ok(kf) = serde_json::from_str::<KeyFile>(&text) {
        let key =
            Keypair::from_hex(&kf.secret_key).map_err(anyhow::Error::msg).context("bad secret_key in key file")?;
        if key.address() != kf.address {
            bail!("key file {s}: secret_key does not match address {}", kf.address);
        }
        return Ok(key);
    }
    Keypair::from_hex(&text).map_err(|e| anyhow::anyhow!("key file {s} holds neither a key JSON nor a hex seed: {e}"))
}
