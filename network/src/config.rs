//! Network configuration: listen address, bootstrap peers, gossipsub mesh shape and the limits
//! that keep a hostile peer from growing our memory.
use crate::NetworkError;
use libp2p::Multiaddr;
use std::net::SocketAddr;
use std::time::Duration;

/// Everything the node chooses about its p2p layer. `Default` suits a 4–100 node network.
#[derive(Clone, Debug)]
pub struct NetworkConfig {
    /// TCP address to listen on.
    pub listen: SocketAddr,
    /// Static peers dialled at start and re-dialled with backoff whenever they go away, e.g.
    /// `/ip4/127.0.0.1/tcp/26610` or `/ip4/127.0.0.1/tcp/26610/p2p/12D3Koo…`.
    pub bootstrap: Vec<Multiaddr>,
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
    pub reconnect_backoff_max: Duration,
}

impl Default for NetworkConfig {
    fn default() -> Self {
        NetworkConfig {
            listen: SocketAddr::from(([0, 0, 0, 0], 26600)),
            bootstrap: Vec::new(),
            mesh_n: 6,
            mesh_n_low: 4,
            mesh_n_high: 12,
            max_message_bytes: 8 * 1024 * 1024,
            max_peers: 100,
            sync_max_blocks: 64,
            reconnect_backoff_max: Duration::from_secs(30),
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
}
