//! The composed libp2p behaviour and the tuning of each part: gossipsub (unsigned messages
//! named by a hash of their content, application validation, per-topic size limits, peer
//! scoring), block-sync request-response, identify, ping, connection limits and a block list
//! for banned peers.
use crate::codec::{SyncCodec, SYNC_PROTOCOL};
use crate::{NetworkConfig, NetworkError};
use libp2p::gossipsub::{self, IdentTopic, PeerScoreParams, PeerScoreThresholds, TopicScoreParams, ValidationMode};
use libp2p::swarm::NetworkBehaviour;
use libp2p::{allow_block_list, connection_limits, identify, identity, ping, request_response};
use std::time::Duration;

#[derive(NetworkBehaviour)]
pub(crate) struct Behaviour {
    pub limits: connection_limits::Behaviour,
    pub blocked: allow_block_list::Behaviour<allow_block_list::BlockedPeers>,
    pub gossipsub: gossipsub::Behaviour,
    pub sync: request_response::Behaviour<SyncCodec>,
    pub identify: identify::Behaviour,
    pub ping: ping::Behaviour,
}

/// Gossip topic of consensus messages and evidence for `chain_id`.
pub fn consensus_topic(chain_id: &str) -> IdentTopic {
    IdentTopic::new(format!("/cairn/{chain_id}/consensus/2"))
}

/// Gossip topic of transaction batches for `chain_id`.
pub fn txs_topic(chain_id: &str) -> IdentTopic {
    IdentTopic::new(format!("/cairn/{chain_id}/txs/2"))
}

/// A gossip message's id: a BLAKE3 hash of its topic and data (the first 20 bytes).
///
/// Messages are not signed by their libp2p author (gossipsub's anonymous mode, as Ethereum's
/// consensus layer has it with content ids): what matters in them is signed already — every
/// vote, proposal and evidence by its validator, every tx by its sender — and checked before
/// it is forwarded or used. Signing each message again cost every validator a SHA-512 pass
/// over every tx batch and block it sent or received, plus an ed25519 signature or check per
/// message: ≈ 6 % of a validator's CPU at 16k tx/s. A content id also leaves nothing to
/// forge: with author + sequence-number ids and no signatures, a peer could claim another's
/// next sequence numbers and have its messages dropped as duplicates. (The topics' version
/// went from 1 to 2 with this change: nodes of the two kinds do not share gossip.)
pub(crate) fn message_id(message: &gossipsub::Message) -> gossipsub::MessageId {
    let mut h = blake3::Hasher::new();
    h.update(message.topic.as_str().as_bytes());
    h.update(&[0]);
    h.update(&message.data);
    gossipsub::MessageId::from(&h.finalize().as_bytes()[..20])
}

/// Gossipsub configured as every Cairn node speaks it: unsigned, anonymous messages named by
/// [`message_id`]. Tuning on top is the caller's (`gossipsub_config`, the testkit's).
pub(crate) fn gossipsub_builder() -> gossipsub::ConfigBuilder {
    let mut b = gossipsub::ConfigBuilder::default();
    b.validation_mode(ValidationMode::Anonymous)
        .message_id_fn(message_id)
        // An anonymous message does not name its author, so a relay cannot help sending our
        // own messages back to us; by default gossipsub counts each such copy as an invalid
        // message against the relay (a 4-node testnet banned honest peers within seconds).
        // Allowed, the copy is what it is: a duplicate, dropped.
        .allow_self_origin(true);
    b
}

/// Bytes a gossipsub message adds around its data (topic, framing; room for the fields of
/// signed messages too): the per-topic limit is `max_message_bytes` plus this, so a payload just over our limit
/// still reaches `validate` (and is scored as `oversized`) instead of being silently cut.
const GOSSIP_MESSAGE_OVERHEAD: usize = 1024;
/// Room for control messages in one RPC frame on top of a full message. A frame larger than
/// this is not decoded at all: the stream is dropped before anything is allocated.
const GOSSIP_FRAME_SLACK: usize = 64 * 1024;

/// Score below which a peer is disconnected and banned for a while. Equal to gossipsub's
/// graylist threshold: below it gossipsub already ignores the peer, so keeping the connection
/// open would only cost us.
pub(crate) const BAN_THRESHOLD: f64 = -80.0;
/// How long a banned peer stays on the block list.
pub(crate) const BAN_DURATION: Duration = Duration::from_secs(120);
/// P5 weight: each misbehaviour reported by the node costs this much score.
pub(crate) const MISBEHAVIOUR_PENALTY: f64 = 20.0;

/// Peer scoring tuned so that the third invalid message within about half a minute takes a
/// peer below `BAN_THRESHOLD`, whatever positive score its good behaviour has earned (at most
/// `topic_score_cap`): P4 costs `20 × n²` for n invalid messages.
fn score_params(topics: &[IdentTopic]) -> PeerScoreParams {
    let topic = TopicScoreParams {
        topic_weight: 1.0,
        // P1: a little credit for staying in the mesh, capped at +3.
        time_in_mesh_weight: 0.01,
        time_in_mesh_quantum: Duration::from_secs(1),
        time_in_mesh_cap: 300.0,
        // P2: credit for delivering messages first, capped at +10.
        first_message_deliveries_weight: 1.0,
        first_message_deliveries_decay: 0.5,
        first_message_deliveries_cap: 10.0,
        // P3/P3b off: consensus traffic is bursty (quiet between blocks), so a minimum delivery
        // rate would punish honest peers.
        mesh_message_deliveries_weight: 0.0,
        mesh_failure_penalty_weight: 0.0,
        // P4: invalid messages (our Reject, bad gossipsub signature, oversized).
        invalid_message_deliveries_weight: -20.0,
        invalid_message_deliveries_decay: 0.97,
        ..TopicScoreParams::default()
    };
    PeerScoreParams {
        topics: topics.iter().map(|t| (t.hash(), topic.clone())).collect(),
        topic_score_cap: 20.0,
        app_specific_weight: 1.0,
        // Off: a local testnet runs every validator on one IP.
        ip_colocation_factor_weight: 0.0,
        decay_interval: Duration::from_secs(1),
        decay_to_zero: 0.01,
        retain_score: Duration::from_secs(600),
        // Off: a peer whose send queue is full (frozen for a few seconds, or busy catching up)
        // costs gossipsub's default 0.2 per message it could not take, and at a few hundred
        // messages a second a validator paused for 10 s went below the ban threshold at all
        // three peers and was shut out for two minutes (the fault suite's SIGSTOP, seed
        // 12595). The queue is bounded and drops already; slowness is not misbehaviour.
        slow_peer_weight: 0.0,
        // P7 off. Its inputs are IWANT requests a peer did not answer within 3 s (counted per
        // message) and GRAFTs within a prune backoff, and an honest peer makes both in bulk when
        // a link is cut: every message asked for in the last IWANT before the cut is a broken
        // promise, so 26 of them cost −10 × 26² = −6760, far below the ban threshold, with no
        // message rejected. And a disconnected peer's score is frozen for `retain_score`, so a
        // ban would be renewed at each expiry for ten minutes. The attack P7 answers, IHAVE spam that
        // wastes our IWANTs, is bounded already (`max_ihave_length`, `max_ihave_messages` per
        // heartbeat); what a peer actually sends is judged by P4 and the node's complaints.
        behaviour_penalty_weight: 0.0,
        ..PeerScoreParams::default()
    }
}

fn score_thresholds() -> PeerScoreThresholds {
    PeerScoreThresholds {
        gossip_threshold: -10.0,
        publish_threshold: -50.0,
        graylist_threshold: BAN_THRESHOLD,
        accept_px_threshold: 10.0,
        opportunistic_graft_threshold: 5.0,
    }
}

fn gossipsub_config(config: &NetworkConfig, topics: &[IdentTopic; 2]) -> Result<gossipsub::Config, NetworkError> {
    let [consensus, txs] = topics;
    let per_topic = config.max_message_bytes + GOSSIP_MESSAGE_OVERHEAD;
    let mut b = gossipsub_builder();
    b.mesh_n(config.mesh_n)
        .mesh_n_low(config.mesh_n_low)
        .mesh_n_high(config.mesh_n_high)
        .mesh_outbound_min((config.mesh_n / 2).min(config.mesh_n_low).min(2))
        .max_transmit_size(per_topic + GOSSIP_FRAME_SLACK)
        .validate_messages()
        // Faster than the 1 s default so a restarted peer is back in the mesh quickly.
        .heartbeat_interval(Duration::from_millis(500))
        .max_messages_per_rpc(Some(512))
        .max_ihave_length(2000);
    b.set_topic_max_transmit_size(consensus.hash(), per_topic);
    b.set_topic_max_transmit_size(txs.hash(), config.max_tx_batch_bytes() + GOSSIP_MESSAGE_OVERHEAD);
    b.build().map_err(|e| NetworkError::Setup { component: "gossipsub config", reason: e.to_string() })
}

impl Behaviour {
    pub fn new(config: &NetworkConfig, key: &identity::Keypair, chain_id: &str) -> Result<Self, NetworkError> {
        let topics = [consensus_topic(chain_id), txs_topic(chain_id)];
        let setup = |component: &'static str| move |reason: String| NetworkError::Setup { component, reason };
        let mut gossipsub =
            gossipsub::Behaviour::new(gossipsub::MessageAuthenticity::Anonymous, gossipsub_config(config, &topics)?)
                .map_err(|e| setup("gossipsub")(e.to_string()))?;
        gossipsub.with_peer_score(score_params(&topics), score_thresholds()).map_err(setup("peer scoring"))?;
        for t in &topics {
            gossipsub.subscribe(t).map_err(|e| setup("gossipsub subscription")(e.to_string()))?;
        }
        let limits = connection_limits::ConnectionLimits::default()
            .with_max_established(Some(config.max_peers))
            .with_max_established_per_peer(Some(2))
            .with_max_pending_incoming(Some(config.max_peers.min(64)))
            .with_max_pending_outgoing(Some(config.max_peers.min(64)));
        let sync = request_response::Behaviour::with_codec(
            SyncCodec::new(config.max_sync_response_bytes()),
            [(SYNC_PROTOCOL, request_response::ProtocolSupport::Full)],
            request_response::Config::default()
                .with_request_timeout(Duration::from_secs(30))
                .with_max_concurrent_streams(32),
        );
        let identify = identify::Behaviour::new(
            identify::Config::new("/cairn/1".into(), key.public())
                .with_agent_version(format!("cairn/{}", env!("CARGO_PKG_VERSION")))
                // With announced addresses, peers learn those alone: a wildcard or
                // container-internal listen address means nothing on another host.
                .with_hide_listen_addrs(!config.external_addrs.is_empty()),
        );
        Ok(Behaviour {
            limits: connection_limits::Behaviour::new(limits),
            blocked: allow_block_list::Behaviour::default(),
            gossipsub,
            sync,
            identify,
            ping: ping::Behaviour::new(
                ping::Config::new().with_interval(config.ping_interval).with_timeout(config.ping_timeout),
            ),
        })
    }
}
