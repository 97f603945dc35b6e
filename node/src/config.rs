//! The node's configuration: `config.toml` in the home directory, every key overridable by a
//! `CAIRN_…` environment variable (`CAIRN_RPC__JSONRPC_ADDR=…`: sections joined by `__`).
//! Each section is the owning crate's own config struct, serialized as it is (`[p2p]` is
//! `cairn_network::NetworkConfig`, `[rpc]` `cairn_rpc::RpcConfig`, `[mempool]`
//! `cairn_mempool::MempoolConfig`, `[state]` `cairn_state::StateConfig`), so every default lives
//! in one place: the crate that uses it.
use anyhow::{bail, Context, Result};
use cairn_engine::EngineConfig;
use cairn_mempool::MempoolConfig;
use cairn_network::NetworkConfig;
use cairn_rpc::RpcConfig;
use cairn_state::StateConfig;
use serde::{Deserialize, Serialize};
use std::path::Path;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NodeConfig {
    pub moniker: String,
    pub p2p: NetworkConfig,
    pub rpc: RpcConfig,
    pub consensus: EngineConfig,
    pub mempool: MempoolConfig,
    pub state: StateConfig,
    pub state_sync: StateSyncSection,
    pub log: LogSection,
}

/// State sync, the serving side: which snapshots this node makes for joining peers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StateSyncSection {
    /// A snapshot of the accounts at every height divisible by this (0: none). The newest two
    /// are kept, in memory, as encoded chunks.
    pub snapshot_interval: u64,
    /// On a first start (no state yet), restore the newest snapshot the bootstrap peers offer,
    /// verified from genesis, instead of executing every block from genesis.
    pub join: bool,
}

impl Default for StateSyncSection {
    fn default() -> Self {
        StateSyncSection { snapshot_interval: 1000, join: false }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogSection {
    /// "text" or "json".
    pub format: String,
    /// Default filter when RUST_LOG is unset.
    pub level: String,
}

impl Default for NodeConfig {
    fn default() -> Self {
        NodeConfig {
            moniker: "cairn".into(),
            p2p: NetworkConfig::default(),
            rpc: RpcConfig::default(),
            consensus: EngineConfig::default(),
            mempool: MempoolConfig::default(),
            state: StateConfig::default(),
            state_sync: StateSyncSection::default(),
            log: LogSection::default(),
        }
    }
}

impl Default for LogSection {
    fn default() -> Self {
        LogSection { format: "text".into(), level: "info".into() }
    }
}

impl NodeConfig {
    /// Reads `path`, applies `CAIRN_…` overrides from `env`, and checks the result.
    pub fn load(path: &Path, env: impl IntoIterator<Item = (String, String)>) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {} (run `cairn init --home DIR` first)", path.display()))?;
        Self::parse(&text, env).with_context(|| format!("in {}", path.display()))
    }

    pub fn parse(text: &str, env: impl IntoIterator<Item = (String, String)>) -> Result<Self> {
        let mut doc: toml::Table = toml::from_str(text).context("config is not valid TOML")?;
        for (key, value) in env {
            if let Some(path) = key.strip_prefix("CAIRN_") {
                apply_override(&mut doc, path, &value).with_context(|| format!("environment variable {key}"))?;
            }
        }
        let cfg: NodeConfig = toml::Value::Table(doc).try_into().context("config has an invalid key or value")?;
        cfg.check()?;
        Ok(cfg)
    }

    /// The config as `config.toml`: every key with its comment (`config_doc`).
    pub fn to_toml(&self) -> String {
        crate::config_doc::render(self)
    }

    fn check(&self) -> Result<()> {
        if !matches!(self.log.format.as_str(), "text" | "json") {
            bail!("log.format must be \"text\" or \"json\", not {:?}", self.log.format);
        }
        self.consensus.check().map_err(anyhow::Error::msg)?;
        if self.mempool.max_txs == 0 {
            bail!("mempool.max_txs must be positive");
        }
        self.p2p.validate().context("in section [p2p]")?;
        Ok(())
    }
}

/// Sets `section.key` (from `SECTION__KEY`, case-insensitive) to `value`, parsed as a TOML
/// value when it is one (numbers, booleans, arrays) and as a string otherwise.
fn apply_override(doc: &mut toml::Table, path: &str, value: &str) -> Result<()> {
    let parts: Vec<String> = path.split("__").map(str::to_ascii_lowercase).collect();
    let (last, sections) = parts.split_last().expect("split yields one part");
    let mut table = doc;
    for s in sections {
        table = table
            .entry(s.clone())
            .or_insert_with(|| toml::Value::Table(Default::default()))
            .as_table_mut()
            .with_context(|| format!("{s} is not a section"))?;
    }
    let parsed = toml::from_str::<toml::Table>(&format!("v = {value}"))
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| toml::Value::String(value.to_string()));
    table.insert(last.clone(), parsed);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_roundtrips_and_env_overrides_apply() {
        let text = NodeConfig::default().to_toml();
        let env = vec![
            ("CAIRN_RPC__JSONRPC_ADDR".to_string(), "127.0.0.1:9999".to_string()),
            ("CAIRN_CONSENSUS__TIMEOUT_PROPOSE_MS".to_string(), "1234".to_string()),
            ("CAIRN_MONIKER".to_string(), "alice".to_string()),
            ("OTHER".to_string(), "ignored".to_string()),
        ];
        let cfg = NodeConfig::parse(&text, env).unwrap();
        assert_eq!(cfg.rpc.jsonrpc_addr.port(), 9999);
        assert_eq!(cfg.consensus.timeout_propose_ms, 1234);
        assert_eq!(cfg.moniker, "alice");
    }

    /// Each section is its crate's own struct: the node adds no defaults of its own, and a
    /// config.toml that leaves a key out gets the crate's default for it.
    #[test]
    fn sections_hold_the_crates_defaults() {
        for cfg in [
            NodeConfig::parse(&NodeConfig::default().to_toml(), vec![]).unwrap(),
            NodeConfig::parse("", vec![]).unwrap(),
        ] {
            assert_eq!(cfg.p2p, NetworkConfig::default());
            assert_eq!(cfg.rpc, RpcConfig::default());
            assert_eq!(cfg.mempool, MempoolConfig::default());
            assert_eq!(cfg.state, StateConfig::default());
            assert_eq!(cfg, NodeConfig::default());
        }
    }

    /// A config.toml written by `cairn testnet init` before the sections became the crates'
    /// structs (a real one, node 1 of a testnet) still loads, with every value it sets.
    #[test]
    fn config_written_by_earlier_versions_still_loads() {
        let cfg = NodeConfig::parse(include_str!("../tests/fixtures/config-2026-12.toml"), vec![]).unwrap();
        assert_eq!(cfg.moniker, "node1");
        assert_eq!(cfg.p2p.listen, "127.0.0.1:26610".parse().unwrap());
        assert_eq!(cfg.p2p.max_peers, 64);
        assert_eq!(cfg.p2p.bootstrap.len(), 3);
        assert_eq!(cfg.rpc.jsonrpc_addr.port(), 26611);
    }

    #[test]
    fn p2p_address_lists_come_from_env_as_comma_separated_strings() {
        let env = vec![
            ("CAIRN_P2P__BOOTSTRAP".to_string(), "/dns4/node1/tcp/26600,/ip4/10.0.0.3/tcp/26600".to_string()),
            ("CAIRN_P2P__EXTERNAL_ADDRS".to_string(), "/dns4/node0/tcp/26600".to_string()),
        ];
        let cfg = NodeConfig::parse("", env).unwrap();
        assert_eq!(cfg.p2p.bootstrap.len(), 2);
        assert_eq!(cfg.p2p.external_addrs[0].to_string(), "/dns4/node0/tcp/26600");
        let err = NodeConfig::parse("[p2p]\nmesh_n = 2\n", vec![]).unwrap_err();
        assert!(format!("{err:#}").contains("mesh_n_low"), "{err:#}");
    }

    #[test]
    fn bad_keys_and_values_are_reported() {
        let err = NodeConfig::parse("[rpc]\nno_such_key = 1\n", vec![]).unwrap_err();
        assert!(format!("{err:#}").contains("no_such_key"), "{err:#}");
        let err = NodeConfig::parse("", vec![("CAIRN_RPC__GRPC_ADDR".into(), "not-an-addr".into())]).unwrap_err();
        assert!(format!("{err:#}").contains("invalid"), "{err:#}");
    }
}
