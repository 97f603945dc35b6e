//! Prometheus metrics of the p2p layer. Label values come from the typed enums below, so
//! cardinality is fixed whatever peers send.
use crate::NetworkError;
use prometheus::{IntCounter, IntCounterVec, IntGauge, Opts, Registry};

/// Which stream a message travelled on (label `topic`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Channel {
    Consensus,
    Txs,
    Sync,
}

impl Channel {
    fn as_str(self) -> &'static str {
        match self {
            Channel::Consensus => "consensus",
            Channel::Txs => "txs",
            Channel::Sync => "sync",
        }
    }
}

/// Why an inbound gossip message was rejected (label `reason`). Every one of these lowers the
/// sender's gossipsub score, except `Misbehaviour`, which lowers its application score.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RejectKind {
    /// Not a `pb::Envelope`, or a field inside it is malformed.
    Decode,
    /// Larger than `max_message_bytes`.
    Oversized,
    /// An envelope on the wrong topic, or an empty one.
    WrongTopic,
    /// A signature that does not verify.
    BadSignature,
    /// Reported by the node through `NetworkHandle::report_misbehaviour`.
    Misbehaviour,
}

impl RejectKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RejectKind::Decode => "decode",
            RejectKind::Oversized => "oversized",
            RejectKind::WrongTopic => "wrong_topic",
            RejectKind::BadSignature => "bad_signature",
            RejectKind::Misbehaviour => "misbehaviour",
        }
    }
}

/// Why a message was dropped without charging anyone (label `reason`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DropKind {
    /// The handle's outbound queue was full.
    OutboundQueueFull,
    /// Gossipsub could not publish (no peer on the topic yet, duplicate, too large).
    PublishFailed,
    /// The node's event queue was full.
    InboundQueueFull,
    /// A vote, proposal or evidence signed outside the validator sets this node knows now
    /// (`validate::Refusal::UnknownSigner`): possibly honest, from a set change it has not
    /// reached or has passed.
    UnknownSigner,
}

impl DropKind {
    fn as_str(self) -> &'static str {
        match self {
            DropKind::OutboundQueueFull => "outbound_queue_full",
            DropKind::PublishFailed => "publish_failed",
            DropKind::InboundQueueFull => "inbound_queue_full",
            DropKind::UnknownSigner => "unknown_signer",
        }
    }
}

#[derive(Clone)]
pub(crate) struct Metrics {
    pub peers: IntGauge,
    bytes_in: IntCounterVec,
    bytes_out: IntCounterVec,
    messages_in: IntCounterVec,
    messages_out: IntCounterVec,
    rejected: IntCounterVec,
    dropped: IntCounterVec,
    pub banned: IntCounter,
    pub dead_connections: IntCounter,
}

impl Metrics {
    pub fn register(registry: &Registry) -> Result<Self, NetworkError> {
        let vec = |name: &str, help: &str, label: &str| IntCounterVec::new(Opts::new(name, help), &[label]);
        let m = (|| -> prometheus::Result<Metrics> {
            Ok(Metrics {
                peers: IntGauge::new("cairn_p2p_peers", "Peers with at least one established connection")?,
                bytes_in: vec("cairn_p2p_received_bytes_total", "Payload bytes received per topic", "topic")?,
                bytes_out: vec("cairn_p2p_sent_bytes_total", "Payload bytes sent per topic", "topic")?,
                messages_in: vec("cairn_p2p_received_messages_total", "Messages received per topic", "topic")?,
                messages_out: vec("cairn_p2p_sent_messages_total", "Messages sent per topic", "topic")?,
                rejected: vec("cairn_p2p_rejected_messages_total", "Inbound messages rejected, by reason", "reason")?,
                dropped: vec("cairn_p2p_dropped_messages_total", "Messages dropped unjudged, by reason", "reason")?,
                banned: IntCounter::new("cairn_p2p_banned_peers_total", "Peers disconnected for a low score")?,
                dead_connections: IntCounter::new(
                    "cairn_p2p_dead_connections_total",
                    "Connections closed because no ping was answered within the timeout",
                )?,
            })
        })()
        .map_err(|e| setup_err(&e))?;
        let collectors: [Box<dyn prometheus::core::Collector>; 9] = [
            Box::new(m.peers.clone()),
            Box::new(m.bytes_in.clone()),
            Box::new(m.bytes_out.clone()),
            Box::new(m.messages_in.clone()),
            Box::new(m.messages_out.clone()),
            Box::new(m.rejected.clone()),
            Box::new(m.dropped.clone()),
            Box::new(m.banned.clone()),
            Box::new(m.dead_connections.clone()),
        ];
        for c in collectors {
            registry.register(c).map_err(|e| setup_err(&e))?;
        }
        Ok(m)
    }

    pub fn received(&self, ch: Channel, bytes: usize) {
        self.messages_in.with_label_values(&[ch.as_str()]).inc();
        self.bytes_in.with_label_values(&[ch.as_str()]).inc_by(bytes as u64);
    }

    pub fn sent(&self, ch: Channel, bytes: usize) {
        self.messages_out.with_label_values(&[ch.as_str()]).inc();
        self.bytes_out.with_label_values(&[ch.as_str()]).inc_by(bytes as u64);
    }

    pub fn rejected(&self, why: RejectKind) {
        self.rejected.with_label_values(&[why.as_str()]).inc();
    }

    pub fn dropped(&self, why: DropKind) {
        self.dropped.with_label_values(&[why.as_str()]).inc();
    }
}

fn setup_err(e: &prometheus::Error) -> NetworkError {
    NetworkError::Setup { component: "metrics", reason: e.to_string() }
}
