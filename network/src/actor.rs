//! The swarm task: one loop that owns the libp2p swarm, publishes what handles queue, judges
//! what peers gossip (see `validate`), serves and issues block-sync requests, keeps the peer
//! table and the bootstrap connections, and bans peers whose score falls too low.
use crate::behaviour::{Behaviour, BehaviourEvent, BAN_DURATION, BAN_THRESHOLD, MISBEHAVIOUR_PENALTY};
use crate::codec::fit_response;
use crate::dialer::Dialer;
use crate::handle::{Command, GossipId, PeerInfo, PeerTable};
use crate::liveness::Liveness;
use crate::metrics::{Channel, DropKind, Metrics, RejectKind};
use crate::validate::{Checker, Inbound, Refusal, TopicKind};
use crate::{NetworkError, NetworkEvent};
use cairn_proto::{pb, Address};
use futures::future::BoxFuture;
use futures::stream::FuturesUnordered;
use futures::{FutureExt, StreamExt};
use libp2p::gossipsub::{self, MessageAcceptance, TopicHash};
use libp2p::multiaddr::Protocol;
use libp2p::request_response::{self, OutboundRequestId, ResponseChannel};
use libp2p::swarm::SwarmEvent;
use libp2p::{identify, ping, Multiaddr, PeerId, Swarm};
use prost::Message;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot};

/// Capacity of the event queue to the node.
pub(crate) const EVENT_QUEUE: usize = 1024;
/// Tx batches are delivered only while fewer than this many events are queued, so batches
/// (≤ 1 MiB each) cannot fill the queue that votes need, and their memory stays bounded.
pub(crate) const TX_EVENTS_MAX: usize = 64;
/// Most inbound sync requests waiting for the node's answer; more are refused.
const MAX_PENDING_SYNC: usize = 32;
/// How often bans, bootstrap dials and application-score decay are looked at.
pub(crate) const TICK: Duration = Duration::from_millis(250);
/// Reported misbehaviour decays by this factor per tick (half-life about 17 s).
const APP_PENALTY_DECAY: f64 = 0.99;

type SyncReply = Result<pb::SyncResponse, NetworkError>;
type PendingInbound = BoxFuture<'static, (ResponseChannel<pb::SyncResponse>, Option<pb::SyncResponse>)>;

pub(crate) struct Actor {
    pub swarm: Swarm<Behaviour>,
    pub checker: Checker,
    pub consensus_topic: TopicHash,
    pub txs_topic: TopicHash,
    pub events: mpsc::Sender<NetworkEvent>,
    pub control: mpsc::Receiver<Command>,
    pub txs: mpsc::Receiver<Vec<u8>>,
    pub peers: PeerTable,
    pub listen: Arc<Mutex<Vec<Multiaddr>>>,
    pub listen_ready: Option<oneshot::Sender<()>>,
    pub validator_peers: HashMap<PeerId, Address>,
    pub metrics: Metrics,
    pub dialer: Dialer,
    pub sync_max_blocks: u32,
    pub max_sync_response: usize,
    pub outbound: HashMap<OutboundRequestId, oneshot::Sender<SyncReply>>,
    pub inbound: FuturesUnordered<PendingInbound>,
    pub penalties: HashMap<PeerId, f64>,
    /// Gossip messages we rejected, by the peer that delivered them (connected peers only): a
    /// ban's log line tells our own evidence from the rest of gossipsub's score.
    pub rejects: HashMap<PeerId, u32>,
    pub banned: HashMap<PeerId, Instant>,
    pub liveness: Liveness,
}

impl Actor {
    pub async fn run(mut self) {
        let mut tick = tokio::time::interval(TICK);
        let mut txs_open = true;
        loop {
            tokio::select! {
                cmd = self.control.recv() => match cmd {
                    None | Some(Command::Shutdown) => break,
                    Some(cmd) => self.on_command(cmd),
                },
                data = self.txs.recv(), if txs_open => match data {
                    Some(data) => self.publish(TopicKind::Txs, data),
                    None => txs_open = false,
                },
                event = self.swarm.select_next_some() => self.on_swarm_event(event),
                Some((channel, res)) = self.inbound.next(), if !self.inbound.is_empty() => {
                    self.respond(channel, res)
                }
                _ = tick.tick() => self.on_tick(),
            }
        }
        tracing::debug!("network task stopped");
    }

    fn on_command(&mut self, cmd: Command) {
        match cmd {
            Command::Publish { data } => self.publish(TopicKind::Consensus, data),
            Command::Verdict { id, from, forward } => {
                let acceptance = if forward { MessageAcceptance::Accept } else { MessageAcceptance::Ignore };
                let id = gossipsub::MessageId::new(&id.0);
                self.swarm.behaviour_mut().gossipsub.report_message_validation_result(&id, &from, acceptance);
            }
            Command::Request { peer, req, reply } => {
                self.metrics.sent(Channel::Sync, req.encoded_len());
                let id = self.swarm.behaviour_mut().sync.send_request(&peer, req);
                self.outbound.insert(id, reply);
            }
            Command::Report { peer, reason } => {
                tracing::info!(%peer, reason, "peer misbehaviour reported by the node");
                self.metrics.rejected(RejectKind::Misbehaviour);
                let p = self.penalties.entry(peer).or_default();
                *p += MISBEHAVIOUR_PENALTY;
                let score = -*p;
                self.swarm.behaviour_mut().gossipsub.set_application_score(&peer, score);
                self.check_ban(peer);
            }
            Command::Ban { peer, reason } => {
                tracing::warn!(%peer, reason, "banning peer: the node proved it sent a lie");
                self.metrics.rejected(RejectKind::Misbehaviour);
                if !self.banned.contains_key(&peer) {
                    self.ban(peer);
                }
            }
            Command::Validators(sets) => {
                self.validator_peers = crate::identity::validator_peers(&sets);
                self.checker.validators = sets;
                // Connected peers that joined or left the set are shown as they are now.
                let mut peers = self.peers.lock().unwrap_or_else(PoisonError::into_inner);
                for (id, info) in peers.iter_mut() {
                    info.validator = self.validator_peers.get(id).copied();
                }
            }
            Command::Shutdown => {}
        }
    }

    fn publish(&mut self, topic: TopicKind, data: Vec<u8>) {
        let (hash, channel) = match topic {
            TopicKind::Consensus => (self.consensus_topic.clone(), Channel::Consensus),
            TopicKind::Txs => (self.txs_topic.clone(), Channel::Txs),
        };
        let len = data.len();
        match self.swarm.behaviour_mut().gossipsub.publish(hash, data) {
            Ok(_) => self.metrics.sent(channel, len),
            Err(e) => {
                tracing::debug!(?topic, error = %e, "gossip publish failed");
                self.metrics.dropped(DropKind::PublishFailed);
            }
        }
    }

    fn on_swarm_event(&mut self, event: SwarmEvent<BehaviourEvent>) {
        match event {
            SwarmEvent::Behaviour(BehaviourEvent::Gossipsub(gossipsub::Event::Message {
                propagation_source,
                message_id,
                message,
            })) => self.on_gossip(propagation_source, message_id, message),
            SwarmEvent::Behaviour(BehaviourEvent::Sync(e)) => self.on_sync(e),
            SwarmEvent::Behaviour(BehaviourEvent::Identify(identify::Event::Received { peer_id, info, .. })) => {
                self.on_identified(peer_id, &info.listen_addrs)
            }
            SwarmEvent::Behaviour(BehaviourEvent::Ping(ping::Event { peer, connection, result })) => match result {
                Ok(_) => self.liveness.answered(connection, Instant::now()),
                Err(ping::Failure::Unsupported) => {
                    let judged = self.liveness.unsupported(connection);
                    tracing::info!(?connection, %peer, judged, "ping unsupported on a connection");
                }
                Err(_) => {} // judged by `liveness` from the answers alone
            },
            SwarmEvent::ConnectionEstablished { peer_id, connection_id, endpoint, num_established, .. } => {
                self.dialer.on_established(connection_id, peer_id);
                self.liveness.established(connection_id, Instant::now());
                if num_established.get() == 1 {
                    self.on_connected(peer_id, endpoint.get_remote_address().to_string());
                }
            }
            SwarmEvent::ConnectionClosed { peer_id, connection_id, num_established, .. } => {
                self.liveness.forget(connection_id);
                if num_established == 0 {
                    self.dialer.on_disconnected(peer_id);
                    self.peers.lock().unwrap_or_else(PoisonError::into_inner).remove(&peer_id);
                    self.update_peer_gauge();
                    self.deliver(NetworkEvent::PeerDisconnected { peer: peer_id });
                }
            }
            SwarmEvent::OutgoingConnectionError { connection_id, peer_id, error } => {
                tracing::debug!(?peer_id, %error, "dial failed");
                let ourselves = matches!(error, libp2p::swarm::DialError::LocalPeerId { .. });
                self.dialer.on_dial_failed(connection_id, ourselves);
            }
            SwarmEvent::NewListenAddr { address, .. } => {
                tracing::info!(%address, "p2p listening");
                self.listen.lock().unwrap_or_else(PoisonError::into_inner).push(address);
                if let Some(tx) = self.listen_ready.take() {
                    let _ = tx.send(());
                }
            }
            _ => {}
        }
    }

    fn on_connected(&mut self, peer: PeerId, address: String) {
        let validator = self.validator_peers.get(&peer).copied();
        tracing::debug!(%peer, %address, ?validator, "peer connected");
        let info = PeerInfo { peer_id: peer.to_string(), address, validator };
        self.peers.lock().unwrap_or_else(PoisonError::into_inner).insert(peer, info);
        self.update_peer_gauge();
        if let Some(p) = self.penalties.get(&peer) {
            self.swarm.behaviour_mut().gossipsub.set_application_score(&peer, -*p);
        }
        self.deliver(NetworkEvent::PeerConnected { peer, validator });
    }

    /// An inbound connection shows the peer's ephemeral port; once identify tells us where the
    /// peer listens, show that address instead: the one on the same IP, else a DNS name it
    /// announces (`p2p.external_addrs`).
    fn on_identified(&mut self, peer: PeerId, listen_addrs: &[Multiaddr]) {
        fn ip(a: &Multiaddr) -> Option<Protocol<'_>> {
            a.iter().find(|p| matches!(p, Protocol::Ip4(_) | Protocol::Ip6(_)))
        }
        fn dns(a: &Multiaddr) -> bool {
            a.iter().any(|p| matches!(p, Protocol::Dns(_) | Protocol::Dns4(_) | Protocol::Dns6(_)))
        }
        let mut peers = self.peers.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(info) = peers.get_mut(&peer) else { return };
        let Ok(current) = info.address.parse::<Multiaddr>() else { return };
        let same_ip = listen_addrs.iter().find(|a| ip(a).is_some() && ip(a) == ip(&current));
        if let Some(listen) = same_ip.or_else(|| listen_addrs.iter().find(|a| dns(a))) {
            info.address = listen.to_string();
        }
    }

    fn update_peer_gauge(&self) {
        let n = self.peers.lock().unwrap_or_else(PoisonError::into_inner).len();
        self.metrics.peers.set(n as i64);
    }

    fn on_gossip(&mut self, source: PeerId, id: gossipsub::MessageId, message: gossipsub::Message) {
        let (topic, channel) = if message.topic == self.consensus_topic {
            (TopicKind::Consensus, Channel::Consensus)
        } else if message.topic == self.txs_topic {
            (TopicKind::Txs, Channel::Txs)
        } else {
            // We only subscribe to our two topics; gossipsub drops others before this point.
            return;
        };
        self.metrics.received(channel, message.data.len());
        // Messages are anonymous (see `behaviour::message_id`): `from` is the peer that
        // delivered this one, which forwarded it only after its own checks accepted it.
        let from = source;
        let acceptance = match self.checker.check(topic, &message.data) {
            // Judged by the node once its mempool has checked the txs (`Command::Verdict`).
            Ok(Inbound::Txs(txs)) => {
                if self.deliver(NetworkEvent::TxBatch { from, txs, id: GossipId(id.0.clone()) }) {
                    return;
                }
                MessageAcceptance::Ignore
            }
            Ok(Inbound::Consensus(msg)) => {
                self.deliver(NetworkEvent::Consensus { from, msg });
                MessageAcceptance::Accept
            }
            Ok(Inbound::Evidence(evidence)) => {
                self.deliver(NetworkEvent::Evidence { from, evidence });
                MessageAcceptance::Accept
            }
            Err(Refusal::UnknownSigner) => {
                tracing::debug!(peer = %from, "gossip message signed outside the known sets: ignored");
                self.metrics.dropped(DropKind::UnknownSigner);
                MessageAcceptance::Ignore
            }
            Err(Refusal::Reject(why)) => {
                tracing::debug!(peer = %from, reason = why.as_str(), "gossip message rejected");
                self.metrics.rejected(why);
                MessageAcceptance::Reject
            }
        };
        let rejected = matches!(acceptance, MessageAcceptance::Reject);
        self.swarm.behaviour_mut().gossipsub.report_message_validation_result(&id, &source, acceptance);
        if rejected {
            *self.rejects.entry(source).or_default() += 1;
            self.check_ban(source);
        }
    }

    /// Hands an event to the node without ever waiting: tx batches only while the queue is
    /// short, everything else while it has room; what does not fit is dropped and counted.
    /// False if it was dropped.
    fn deliver(&self, event: NetworkEvent) -> bool {
        let queued = EVENT_QUEUE - self.events.capacity();
        if !admits(&event, queued) {
            self.metrics.dropped(DropKind::InboundQueueFull);
            return false;
        }
        match self.events.try_send(event) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Full(_)) => {
                self.metrics.dropped(DropKind::InboundQueueFull);
                false
            }
            // The node has stopped: nothing is waiting for the event.
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        }
    }

    fn on_sync(&mut self, event: request_response::Event<pb::SyncRequest, pb::SyncResponse>) {
        use request_response::{Event, Message as M};
        match event {
            Event::Message { peer, message: M::Request { request, channel, .. }, .. } => {
                self.metrics.received(Channel::Sync, request.encoded_len());
                if self.inbound.len() >= MAX_PENDING_SYNC {
                    tracing::debug!(%peer, "too many pending sync requests; refusing");
                    return; // dropping `channel` tells the peer
                }
                let mut req = request;
                if req.max_blocks == 0 || req.max_blocks > self.sync_max_blocks {
                    req.max_blocks = self.sync_max_blocks;
                }
                let (reply, rx) = oneshot::channel();
                if self.events.try_send(NetworkEvent::SyncRequest { from: peer, req, reply }).is_err() {
                    self.metrics.dropped(DropKind::InboundQueueFull);
                    return;
                }
                self.inbound.push(async move { (channel, rx.await.ok()) }.boxed());
            }
            Event::Message { message: M::Response { request_id, response }, .. } => {
                self.metrics.received(Channel::Sync, response.encoded_len());
                if let Some(reply) = self.outbound.remove(&request_id) {
                    let _ = reply.send(Ok(response));
                }
            }
            Event::OutboundFailure { peer, request_id, error, .. } => {
                if let Some(reply) = self.outbound.remove(&request_id) {
                    let _ = reply.send(Err(NetworkError::Request { peer, reason: error.to_string() }));
                }
            }
            Event::InboundFailure { peer, error, .. } => {
                tracing::debug!(%peer, %error, "inbound sync request failed");
            }
            Event::ResponseSent { .. } => {}
        }
    }

    fn respond(&mut self, channel: ResponseChannel<pb::SyncResponse>, res: Option<pb::SyncResponse>) {
        // The node dropped the reply sender: dropping the channel refuses the request.
        let Some(res) = res else { return };
        let res = fit_response(res, self.max_sync_response);
        self.metrics.sent(Channel::Sync, res.encoded_len());
        if self.swarm.behaviour_mut().sync.send_response(channel, res).is_err() {
            tracing::debug!("sync requester went away before the response");
        }
    }

    /// Disconnects and blocks `peer` for `BAN_DURATION` if its score is below the threshold.
    fn check_ban(&mut self, peer: PeerId) {
        if self.banned.contains_key(&peer) {
            return;
        }
        let Some(score) = self.swarm.behaviour().gossipsub.peer_score(&peer) else { return };
        if score < BAN_THRESHOLD {
            let (rejects, complaints) = (self.rejects.get(&peer), self.penalties.get(&peer));
            tracing::warn!(%peer, score, ?rejects, ?complaints, "banning peer for a low score");
            self.ban(peer);
        }
    }

    /// Disconnects and blocks `peer` for `BAN_DURATION`.
    fn ban(&mut self, peer: PeerId) {
        self.metrics.banned.inc();
        self.banned.insert(peer, Instant::now() + BAN_DURATION);
        self.swarm.behaviour_mut().blocked.block_peer(peer);
    }

    fn on_tick(&mut self) {
        let now = Instant::now();
        let expired: Vec<PeerId> = self.banned.iter().filter(|(_, until)| **until <= now).map(|(p, _)| *p).collect();
        for peer in expired {
            tracing::info!(%peer, "ban expired");
            self.banned.remove(&peer);
            self.swarm.behaviour_mut().blocked.unblock_peer(peer);
        }
        for connection in self.liveness.dead(now) {
            // The dialer re-dials a bootstrap peer once it counts as gone, on a fresh connection.
            tracing::info!(?connection, "no ping answered within the timeout: closing the connection as dead");
            self.metrics.dead_connections.inc();
            self.swarm.close_connection(connection);
        }
        let connected: Vec<PeerId> = self.swarm.connected_peers().copied().collect();
        for &peer in &connected {
            self.check_ban(peer);
        }
        self.rejects.retain(|p, _| connected.contains(p));
        for (peer, p) in self.penalties.iter_mut() {
            *p *= APP_PENALTY_DECAY;
            if *p < 0.5 {
                *p = 0.0; // forgiven; removed below once gossipsub knows
            }
            self.swarm.behaviour_mut().gossipsub.set_application_score(peer, -*p);
        }
        self.penalties.retain(|_, p| *p > 0.0);
        let banned = &self.banned;
        self.dialer.poll(&mut self.swarm, |p| banned.contains_key(p));
    }
}

/// Whether `event` may join a queue already holding `queued` events: tx batches only while
/// fewer than `TX_EVENTS_MAX` are waiting, everything else while there is room.
fn admits(event: &NetworkEvent, queued: usize) -> bool {
    match event {
        NetworkEvent::TxBatch { .. } => queued < TX_EVENTS_MAX,
        _ => queued < EVENT_QUEUE,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tx_batches_leave_room_for_votes() {
        let from = PeerId::random();
        let batch = NetworkEvent::TxBatch { from, txs: vec![], id: GossipId(vec![]) };
        let vote = NetworkEvent::Consensus { from, msg: pb::ConsensusMessage::default() };
        assert!(admits(&batch, 0) && admits(&batch, TX_EVENTS_MAX - 1));
        assert!(!admits(&batch, TX_EVENTS_MAX));
        assert!(admits(&vote, TX_EVENTS_MAX) && admits(&vote, EVENT_QUEUE - 1));
        assert!(!admits(&vote, EVENT_QUEUE));
    }
}
