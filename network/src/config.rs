//! Network configuration: listen address, bootstrap peers, the addresses announced to peers,
//! gossipsub mesh shape and the limits that keep a hostile peer from growing our memory. The
//! same struct is the `[p2p]` section of the node's `config.toml`.
use crate::NetworkError;
use cairn_proto::config_serde::millis;
use libp2p::Multiaddr;
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::time::Duration;

/// Everything the node chooses about its p2p layer. `Default` suits a 4–100 node network and
/// listens on every interface (other hosts must reach a validator's p2p port; RPC, in
/// contrast, binds loopback by default).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NetworkConfig {
    /// TCP address to listen on.
    #[serde(rename = "listen_addr")]
    pub listen: SocketAddr,
    /// Static peers dialled at start and re-dialled with backoff whenever they go away, e.g.
    /// `/ip4/127.0.0.1/tcp/26610`, `/dns4/node1.example/tcp/26600/p2p/12D3Koo…`. In TOML a
    /// list, or one string of comma-separated multiaddrs (handy in environment variables).
    #[serde(with = "multiaddr_list")]
    pub bootstrap: Vec<Multiaddr>,
    /// Addresses at which other hosts reach this node (`/ip4/203.0.113.7/tcp/26600`,
    /// `/dns4/node0.example/tcp/26600`), when they differ from the listen address (a wildcard,
    /// NAT, a container). Announced to peers through identify; list or comma-separated string.
    #[serde(with = "multiaddr_list")]
    pub external_addrs: Vec<Multiaddr>,
    /// Gossipsub mesh degree: target (D), low watermark (D_lo) and high watermark (D_hi).
    pub mesh_n: usize,
    pub mesh_n_low: usize,
    pub mesh_n_high: usize,
    /// Largest gossip payload (an encoded `pb::Envelope`); 8 MiB carries a block of 10k txs.
    /// Block-sync responses may exceed it by `SYNC_RESPONSE_SLACK`.
    pub max_message_bytes: usize,
    /// Most established connections, inbound and outbound together.
    pub max_peers: u32,
    /// Most blocks served in one sync response (requests asking for more are clamped).
    pub sync_max_blocks: u32,
    /// Ceiling of the exponential backoff between re-dials of a bootstrap peer.
    #[serde(rename = "reconnect_backoff_max_ms", with = "millis")]
    pub reconnect_backoff_max: Duration,
    /// How often each connection is pinged, and how long it may go without answering one before
    /// it is judged dead and closed (a peer may vanish without a FIN: a cut cable, a partition,
    /// a frozen host). TCP alone would keep retransmitting into it for many minutes while the
    /// peer counts as connected and so is never re-dialled.
    #[serde(rename = "ping_interval_ms", with = "millis")]
    pub ping_interval: Duration,
    #[serde(rename = "ping_timeout_ms", with = "millis")]
    pub ping_timeout: Duration,
}

impl Default for NetworkConfig {
    fn default() -> Self {
        NetworkConfig {
            listen: SocketAddr::from(([0, 0, 0, 0], 26600)),
            bootstrap: Vec::new(),
            external_addrs: Vec::new(),
            mesh_n: 6,
            mesh_n_low: 4,
            mesh_n_high: 12,
            max_message_bytes: 8 * 1024 * 1024,
            max_peers: 100,
            sync_max_blocks: 64,
            // A validator's bootstrap peers are few and it needs them all back soon after a
            // partition heals: a 30 s ceiling left links cut for 30 s down for up to 30 s more
            // (found by the fault suite's long partition run). One dial per missing peer every
            // 5 s is cheap; CometBFT re-dials persistent peers every ~5 s at first, too.
            reconnect_backoff_max: Duration::from_secs(5),
            // A dead connection is closed 10 s after its last answer; generous, because a ping
            // waits behind whatever the connection is carrying (a full block, a sync answer).
            ping_interval: Duration::from_secs(2),
            ping_timeout: Duration::from_secs(10),
        }
    }
}

/// First delay before re-dialling a bootstrap peer; doubles up to `reconnect_backoff_max`.
pub(crate) const RECONNECT_BACKOFF_MIN: Duration = Duration::from_millis(250);

/// Largest tx-batch envelope: batches are split to fit, so a full event queue of them stays
/// small (see `actor::TX_EVENTS_MAX`).
pub const TX_BATCH_MAX_BYTES: usize = 1024 * 1024;

/// Room for the certificates and framing of a sync response on top of `max_message_bytes`.
pub const SYNC_RESPONSE_SLACK: usize = 1024 * 1024;

impl NetworkConfig {
    /// Refuses configurations gossipsub would reject or that cannot work.
    pub fn validate(&self) -> Result<(), NetworkError> {
        let bad = |reason: String| Err(NetworkError::Config { reason });
        if !(1 <= self.mesh_n_low && self.mesh_n_low <= self.mesh_n && self.mesh_n <= self.mesh_n_high) {
            return bad(format!(
                "mesh parameters must satisfy 1 <= mesh_n_low ({}) <= mesh_n ({}) <= mesh_n_high ({})",
                self.mesh_n_low, self.mesh_n, self.mesh_n_high
            ));
        }
        if self.max_message_bytes < 1024 {
            return bad(format!("max_message_bytes {} is below 1024", self.max_message_bytes));
        }
        if self.max_peers == 0 {
            return bad("max_peers must be positive".into());
        }
        if self.sync_max_blocks == 0 {
            return bad("sync_max_blocks must be positive".into());
        }
        if self.ping_interval.is_zero() || self.ping_timeout <= self.ping_interval {
            return bad("ping_interval_ms must be positive and below ping_timeout_ms".into());
        }
        if self.reconnect_backoff_max < RECONNECT_BACKOFF_MIN {
            return bad(format!("reconnect_backoff_max must be at least {RECONNECT_BACKOFF_MIN:?}"));
        }
        Ok(())
    }

    /// Largest tx-batch envelope sent or accepted.
    pub(crate) fn max_tx_batch_bytes(&self) -> usize {
        self.max_message_bytes.min(TX_BATCH_MAX_BYTES)
    }

    /// Largest block-sync response accepted or sent.
    pub(crate) fn max_sync_response_bytes(&self) -> usize {
        self.max_message_bytes + SYNC_RESPONSE_SLACK
    }
}

/// Serde for a list of multiaddrs: written as a list of strings; read from a list or from one
/// comma-separated string (so `CAIRN_P2P__BOOTSTRAP=/ip4/…,/dns4/…` works).
mod multiaddr_list {
    use libp2p::Multiaddr;
    use serde::de::Error;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(addrs: &[Multiaddr], s: S) -> Result<S::Ok, S::Error> {
        addrs.iter().map(ToString::to_string).collect::<Vec<_>>().serialize(s)
    }

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum ListOrString {
        List(Vec<String>),
        String(String),
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Multiaddr>, D::Error> {
        let items = match ListOrString::deserialize(d)? {
            ListOrString::List(v) => v,
            ListOrString::String(s) => s.split(',').map(str::to_string).collect(),
        };
        items
            .iter()
            .map(|a| a.trim())
            .filter(|a| !a.is_empty())
            .map(|a| a.parse().map_err(|e| D::Error::custom(format!("{a:?} is not a multiaddr: {e}"))))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_valid_and_bad_mesh_is_refused() {
        assert!(NetworkConfig::default().validate().is_ok());
        let c = NetworkConfig { mesh_n: 3, mesh_n_low: 4, ..NetworkConfig::default() };
        assert!(matches!(c.validate(), Err(NetworkError::Config { .. })));
        let c = NetworkConfig { max_peers: 0, ..NetworkConfig::default() };
        assert!(c.validate().is_err());
    }

    #[derive(Debug, Deserialize)]
    struct Addrs {
        #[serde(with = "multiaddr_list")]
        a: Vec<Multiaddr>,
    }

    #[test]
    fn multiaddr_lists_read_from_a_list_or_a_comma_separated_string() {
        let list: Addrs = toml::from_str(r#"a = ["/ip4/10.0.0.1/tcp/1", "/dns4/node1/tcp/2"]"#).unwrap();
        let string: Addrs = toml::from_str(r#"a = "/ip4/10.0.0.1/tcp/1, /dns4/node1/tcp/2""#).unwrap();
        assert_eq!(list.a, string.a);
        assert_eq!(list.a[1].to_string(), "/dns4/node1/tcp/2");
        let empty: Addrs = toml::from_str(r#"a = """#).unwrap();
        assert!(empty.a.is_empty());
        let err = toml::from_str::<Addrs>(r#"a = ["/ip4/10.0.0.1/tcp/1", "node1:26600"]"#).unwrap_err();
        assert!(err.to_string().contains("\"node1:26600\" is not a multiaddr"), "{err}");
    }

    #[test]
    fn serialized_config_reads_back_equal() {
        let c = NetworkConfig {
            bootstrap: vec!["/dns4/node1/tcp/26600".parse().unwrap()],
            external_addrs: vec!["/ip4/10.0.0.1/tcp/26600".parse().unwrap()],
            ..NetworkConfig::default()
        };
        let text = toml::to_string(&c).unwrap();
        assert!(text.contains("listen_addr = \"0.0.0.0:26600\""), "{text}");
        assert!(text.contains("reconnect_backoff_max_ms = 5000"), "{text}");
        assert_eq!(toml::from_str::<NetworkConfig>(&text).unwrap(), c);
    }
}
