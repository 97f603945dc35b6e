#![doc = include_str!("../README.md")]

mod actor;
mod behaviour;
mod codec;
mod config;
mod dialer;
mod error;
mod handle;
mod identity;
mod liveness;
mod metrics;
pub mod testkit;
mod validate;

pub use behaviour::{consensus_topic, txs_topic};
pub use codec::{SyncCodec, SYNC_PROTOCOL};
pub use config::{NetworkConfig, SYNC_RESPONSE_SLACK, TX_BATCH_MAX_BYTES};
pub use error::NetworkError;
pub use handle::{GossipId, NetworkEvent, NetworkHandle, PeerInfo};
pub use identity::{peer_id_of, peer_id_of_address};
pub use libp2p::{multiaddr, Multiaddr, PeerId};
pub use metrics::RejectKind;

use cairn_proto::{Keypair, ValidatorSet};
use libp2p::multiaddr::Protocol;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// Commands (votes, proposals, requests, reports) queued from handles to the swarm task.
const CONTROL_QUEUE: usize = 1024;
/// Tx batches queued from handles to the swarm task.
const TX_QUEUE: usize = 128;

/// The system's DNS configuration (`/etc/resolv.conf`, `/etc/hosts`); without a usable
/// resolv.conf, names resolve from the hosts file only (no name server), with a warning.
fn resolver_config() -> (libp2p::dns::ResolverConfig, libp2p::dns::ResolverOpts) {
    hickory_resolver::system_conf::read_system_conf().unwrap_or_else(|e| {
        tracing::warn!(error = %e, "no usable /etc/resolv.conf: /dns4 addresses resolve from /etc/hosts only");
        (libp2p::dns::ResolverConfig::new(), libp2p::dns::ResolverOpts::default())
    })
}

/// Starts the swarm on the current tokio runtime: listens on `config.listen`, dials the
/// bootstrap peers, and returns once listening.
pub async fn start(
    config: NetworkConfig,
    key: &Keypair,
    chain_id: &str,
    validators: ValidatorSet,
    registry: &prometheus::Registry,
) -> Result<(NetworkHandle, mpsc::Receiver<NetworkEvent>), NetworkError> {
    config.validate()?;
    let metrics = metrics::Metrics::register(registry)?;
    let id_key = identity::libp2p_keypair(key);
    let local = id_key.public().to_peer_id();
    let behaviour = behaviour::Behaviour::new(&config, &id_key, chain_id)?;
    let resolver = resolver_config();
    let mut swarm = libp2p::SwarmBuilder::with_existing_identity(id_key)
        .with_tokio()
        .with_tcp(
            libp2p::tcp::Config::default().nodelay(true),
            libp2p::noise::Config::new,
            libp2p::yamux::Config::default,
        )
        .map_err(|e| NetworkError::Setup { component: "transport", reason: e.to_string() })?
        // `/dns4/…`, `/dns6/…` and `/dns/…` addresses resolve before the TCP dial.
        .with_dns_config(resolver.0, resolver.1)
        .with_behaviour(|_| behaviour)
        .map_err(|e| NetworkError::Setup { component: "behaviour", reason: e.to_string() })?
        // Gossipsub keeps only mesh connections alive; a long idle timeout spares the other
        // peers (bounded by `max_peers`) a disconnect/redial cycle.
        .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(300)))
        .build();
    let listen_addr = Multiaddr::from(config.listen.ip()).with(Protocol::Tcp(config.listen.port()));
    swarm
        .listen_on(listen_addr.clone())
        .map_err(|e| NetworkError::Listen { addr: listen_addr.to_string(), reason: e.to_string() })?;
    // Confirmed external addresses are what identify tells peers we listen on, besides the
    // listen addresses themselves.
    for addr in &config.external_addrs {
        swarm.add_external_address(addr.clone());
    }

    let (events_tx, events_rx) = mpsc::channel(actor::EVENT_QUEUE);
    let (control_tx, control_rx) = mpsc::channel(CONTROL_QUEUE);
    let (txs_tx, txs_rx) = mpsc::channel(TX_QUEUE);
    let (ready_tx, ready_rx) = oneshot::channel();
    let peers = Arc::new(Mutex::new(Default::default()));
    let listen = Arc::new(Mutex::new(Vec::new()));
    let actor = actor::Actor {
        swarm,
        checker: validate::Checker {
            chain_id: chain_id.to_string(),
            validators: vec![validators.clone()],
            max_consensus_bytes: config.max_message_bytes,
            max_txs_bytes: config.max_tx_batch_bytes(),
        },
        consensus_topic: consensus_topic(chain_id).hash(),
        txs_topic: txs_topic(chain_id).hash(),
        events: events_tx,
        control: control_rx,
        txs: txs_rx,
        peers: peers.clone(),
        listen: listen.clone(),
        listen_ready: Some(ready_tx),
        validator_peers: identity::validator_peers(std::slice::from_ref(&validators)),
        metrics: metrics.clone(),
        dialer: dialer::Dialer::new(&config.bootstrap, local, config.reconnect_backoff_max),
        sync_max_blocks: config.sync_max_blocks,
        max_sync_response: config.max_sync_response_bytes(),
        outbound: Default::default(),
        inbound: Default::default(),
        penalties: Default::default(),
        rejects: Default::default(),
        banned: Default::default(),
        liveness: liveness::Liveness::new(config.ping_timeout),
    };
    let task = tokio::spawn(actor.run());
    // The TCP listener binds synchronously in `listen_on`; the address event follows at once.
    let bound = tokio::time::timeout(Duration::from_secs(10), ready_rx).await;
    if !matches!(bound, Ok(Ok(()))) {
        task.abort();
        return Err(NetworkError::Listen {
            addr: listen_addr.to_string(),
            reason: "no listen address reported".into(),
        });
    }
    let handle =
        NetworkHandle::new(local, listen, control_tx, txs_tx, peers, metrics, config.max_tx_batch_bytes(), task);
    Ok((handle, events_rx))
}
