//! Test helpers: validator keys, starting nodes on loopback, waiting for events, reading metrics.
use cairn_network::{start, Multiaddr, NetworkConfig, NetworkEvent, NetworkHandle, PeerId};
use cairn_proto::{pb, ConsensusMessage, Hash, Keypair, Validator, ValidatorSet, Vote, VoteKind};
use std::time::Duration;
use tokio::sync::mpsc::Receiver;

pub const CHAIN: &str = "it-chain";

pub fn keys(n: u8) -> Vec<Keypair> {
    (0..n).map(|i| Keypair::from_seed([i + 1; 32])).collect()
}

pub fn validator_set(keys: &[Keypair]) -> ValidatorSet {
    ValidatorSet::new(keys.iter().map(|k| Validator { address: k.address(), power: 1 }).collect()).unwrap()
}

pub struct Node {
    pub handle: NetworkHandle,
    pub events: Receiver<NetworkEvent>,
    pub registry: prometheus::Registry,
}

impl Node {
    pub async fn start(key: &Keypair, set: &ValidatorSet, port: u16, bootstrap: Vec<Multiaddr>) -> Node {
        let config = NetworkConfig {
            listen: ([127, 0, 0, 1], port).into(),
            bootstrap,
            reconnect_backoff_max: Duration::from_secs(1),
            ..NetworkConfig::default()
        };
        Node::start_with(key, set, config).await
    }

    pub async fn start_with(key: &Keypair, set: &ValidatorSet, config: NetworkConfig) -> Node {
        // `RUST_LOG=cairn_network=debug cargo test …` shows what the swarms do.
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_test_writer()
            .try_init();
        let registry = prometheus::Registry::new();
        let (handle, events) = start(config, key, CHAIN, set.clone(), &registry).await.unwrap();
        Node { handle, events, registry }
    }

    /// The loopback address of this node with its peer id, as a bootstrap entry.
    pub fn addr(&self) -> Multiaddr {
        let a = self.handle.listen_addrs()[0].clone();
        format!("{a}/p2p/{}", self.handle.local_peer_id()).parse().unwrap()
    }

    pub fn port(&self) -> u16 {
        self.handle.listen_addrs()[0]
            .iter()
            .find_map(|p| match p {
                libp2p::multiaddr::Protocol::Tcp(port) => Some(port),
                _ => None,
            })
            .unwrap()
    }

    /// Waits up to `secs` for an event `f` maps to `Some`, skipping others.
    pub async fn expect<T>(&mut self, secs: u64, mut f: impl FnMut(NetworkEvent) -> Option<T>) -> T {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
        loop {
            let ev = tokio::time::timeout_at(deadline, self.events.recv())
                .await
                .expect("timed out waiting for an event")
                .expect("network stopped");
            if let Some(t) = f(ev) {
                return t;
            }
        }
    }

    /// Waits up to `secs` for a gossiped vote and returns its signer, skipping other events.
    pub async fn next_vote_signer(&mut self, secs: u64) -> Vec<u8> {
        self.expect(secs, |e| match e {
            NetworkEvent::Consensus { msg, .. } => vote_signer(&msg),
            _ => None,
        })
        .await
    }

    pub fn metric(&self, name: &str, label: Option<(&str, &str)>) -> f64 {
        metric(&self.registry, name, label)
    }
}

/// The sum of the samples of metric `name` (those with the given label, if one is given).
pub fn metric(registry: &prometheus::Registry, name: &str, label: Option<(&str, &str)>) -> f64 {
    let mut sum = 0.0;
    for fam in registry.gather().iter().filter(|f| f.name() == name) {
        let counter = fam.get_field_type() == prometheus::proto::MetricType::COUNTER;
        for m in fam.get_metric() {
            if label.is_none_or(|(k, v)| m.get_label().iter().any(|l| l.name() == k && l.value() == v)) {
                sum += if counter { m.get_counter().get_value() } else { m.get_gauge().get_value() };
            }
        }
    }
    sum
}

/// Starts `keys.len()` nodes in a full mesh (each bootstraps from the ones before it) and
/// waits until every node sees all the others and gossipsub has exchanged subscriptions.
pub async fn mesh(keys: &[Keypair], set: &ValidatorSet) -> Vec<Node> {
    let mut nodes: Vec<Node> = Vec::new();
    for k in keys {
        let boot = nodes.iter().map(Node::addr).collect();
        nodes.push(Node::start(k, set, 0, boot).await);
    }
    let n = nodes.len();
    wait_until(20, || nodes.iter().all(|x| x.handle.peers().len() == n - 1)).await;
    // Subscriptions travel right after the connection; a couple of heartbeats build the mesh.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    nodes
}

pub async fn wait_until(secs: u64, mut cond: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    while !cond() {
        assert!(tokio::time::Instant::now() < deadline, "condition not reached in {secs}s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub fn vote(key: &Keypair, height: u64) -> pb::ConsensusMessage {
    ConsensusMessage::Vote(Vote::new_signed(key, CHAIN, VoteKind::Prevote, height, 0, Some(Hash([height as u8; 32]))))
        .to_pb()
}

/// The signer of a gossiped vote.
pub fn vote_signer(msg: &pb::ConsensusMessage) -> Option<Vec<u8>> {
    match &msg.msg {
        Some(pb::consensus_message::Msg::Vote(v)) => Some(v.validator.to_vec()),
        _ => None,
    }
}

pub fn peer(node: &Node) -> PeerId {
    node.handle.local_peer_id()
}
