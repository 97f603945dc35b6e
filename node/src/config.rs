//! The node's configuration: `config.toml` in the home directory, every key overridable by a
//! `CAIRN_…` environment variable (`CAIRN_RPC__JSONRPC_ADDR=…`: sections joined by `__`).
use anyhow::{bail, Context, Result};
use cairn_engine::EngineConfig;
use cairn_mempool::MempoolConfig;
use cairn_rpc::RpcConfig;
use cairn_state::StateConfig;
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::Path;

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NodeConfig {
    pub moniker: String,
    pub p2p: P2pConfig,
    pub rpc: RpcConfig,
    pub consensus: EngineConfig,
    pub mempool: MempoolConfig,
    pub state: StateConfig,
    pub log: LogSection,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct P2pConfig {
    pub listen_addr: SocketAddr,
    /// Multiaddrs of the peers to dial at start and to keep reconnecting to.
    pub bootstrap: Vec<String>,
    pub mesh_n: usize,
    pub mesh_n_low: usize,
    pub mesh_n_high: usize,
    pub max_message_bytes: usize,
    pub max_peers: u32,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
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
            p2p: P2pConfig::default(),
            rpc: RpcConfig::default(),
            consensus: EngineConfig::default(),
            mempool: MempoolConfig::default(),
            state: StateConfig::default(),
            log: LogSection::default(),
        }
    }
}

impl Default for P2pConfig {
    fn default() -> Self {
        P2pConfig {
            listen_addr: "127.0.0.1:26600".parse().expect("valid"),
            bootstrap: vec![],
            mesh_n: 6,
            mesh_n_low: 4,
            mesh_n_high: 12,
            max_message_bytes: 8 << 20,
            max_peers: 64,
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

    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).expect("config serializes")
    }

    fn check(&self) -> Result<()> {
        if !matches!(self.log.format.as_str(), "text" | "json") {
            bail!("log.format must be \"text\" or \"json\", not {:?}", self.log.format);
        }
        self.consensus.check().map_err(anyhow::Error::msg)?;
        if self.mempool.max_txs == 0 {
            bail!("mempool.max_txs must be positive");
        }
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

    #[test]
    fn bad_keys_and_values_are_reported() {
        let err = NodeConfig::parse("[rpc]\nno_such_key = 1\n", vec![]).unwrap_err();
        assert!(format!("{err:#}").contains("no_such_key"), "{err:#}");
        let err = NodeConfig::parse("", vec![("CAIRN_RPC__GRPC_ADDR".into(), "not-an-addr".into())]).unwrap_err();
        assert!(format!("{err:#}").contains("invalid"), "{err:#}");
    }
}
