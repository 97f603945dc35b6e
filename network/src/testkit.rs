//! A bare gossipsub peer that speaks Cairn's wire protocol but none of its rules: tests use it
//! to play a misbehaving peer against a real node (this crate's network tests, and the node's
//! end-to-end tests against a `cairn` process). Not used by the node itself.
use crate::{consensus_topic, txs_topic};
use cairn_proto::{pb, Keypair};
use futures::StreamExt;
use libp2p::gossipsub::{self, MessageAuthenticity};
use libp2p::swarm::SwarmEvent;
use libp2p::{noise, tcp, yamux, Multiaddr, PeerId, Swarm};
use std::time::Duration;

pub type RawSwarm = Swarm<gossipsub::Behaviour>;

/// A swarm with `key`'s identity, subscribed to both topics of `chain_id`, validating nothing.
pub fn raw_swarm(key: &Keypair, chain_id: &str) -> RawSwarm {
    let mut seed = key.seed();
    let id = libp2p::identity::Keypair::ed25519_from_bytes(&mut seed).expect("an ed25519 seed");
    let config = crate::behaviour::gossipsub_builder().max_transmit_size(4 << 20).build().expect("gossipsub config");
    let mut gs = gossipsub::Behaviour::new(MessageAuthenticity::Anonymous, config).expect("gossipsub");
    gs.subscribe(&consensus_topic(chain_id)).expect("subscribe");
    gs.subscribe(&txs_topic(chain_id)).expect("subscribe");
    libp2p::SwarmBuilder::with_existing_identity(id)
        .with_tokio()
        .with_tcp(tcp::Config::default(), noise::Config::new, yamux::Config::default)
        .expect("tcp transport")
        .with_behaviour(|_| gs)
        .expect("behaviour")
        .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(60)))
        .build()
}

/// Polls `swarm` until `f` returns true for an event; false after `secs`.
pub async fn drive_until(
    swarm: &mut RawSwarm,
    secs: u64,
    mut f: impl FnMut(&SwarmEvent<gossipsub::Event>) -> bool,
) -> bool {
    tokio::time::timeout(Duration::from_secs(secs), async {
        loop {
            if f(&swarm.select_next_some().await) {
                return;
            }
        }
    })
    .await
    .is_ok()
}

/// A raw peer connected to the node at `addr` once the node's subscriptions to both topics are
/// known (before that, what it publishes would not reach the node). Returns the node's peer id.
pub async fn connect(swarm: &mut RawSwarm, addr: Multiaddr) -> PeerId {
    swarm.dial(addr).expect("dial");
    let mut node = None;
    let mut subscribed = 0;
    let ok = drive_until(swarm, 20, |e| {
        match e {
            SwarmEvent::ConnectionEstablished { peer_id, .. } => node = Some(*peer_id),
            SwarmEvent::Behaviour(gossipsub::Event::Subscribed { peer_id, .. }) if Some(*peer_id) == node => {
                subscribed += 1
            }
            _ => {}
        }
        subscribed == 2
    })
    .await;
    assert!(ok, "the node did not connect and subscribe within 20 s");
    node.expect("connected")
}

/// A gossip `Envelope` around `payload`, as nodes publish them.
pub use crate::validate::envelope;

/// Publishes a batch of encoded txs on `chain_id`'s txs topic, as a node gossips them.
pub fn publish_txs(swarm: &mut RawSwarm, chain_id: &str, txs: Vec<bytes::Bytes>) {
    let data = envelope(pb::envelope::Payload::Txs(pb::TxBatch { txs }));
    swarm.behaviour_mut().publish(txs_topic(chain_id), data).expect("publish");
}

/// Drives `swarm` for up to `d`; true as soon as the connection to `node` is closed.
pub async fn closed_within(swarm: &mut RawSwarm, node: PeerId, d: Duration) -> bool {
    let secs = d.as_secs().max(1);
    drive_until(swarm, secs, |e| matches!(e, SwarmEvent::ConnectionClosed { peer_id, .. } if *peer_id == node)).await
}
