//! The node's side of the network: `NetworkHandle` (a cloneable mailbox into the swarm task)
//! and the `NetworkEvent`s the swarm task sends back. Every queue is bounded; when one is full
//! a broadcast is dropped and counted rather than blocking the caller or growing memory.
use crate::metrics::{DropKind, Metrics};
use crate::validate::envelope;
use crate::NetworkError;
use bytes::Bytes;
use cairn_proto::{pb, Address, ValidatorSet};
use libp2p::{Multiaddr, PeerId};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

/// The gossip message id of a delivered tx batch, for [`NetworkHandle::tx_batch_checked`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GossipId(pub Vec<u8>);

/// What the network delivers to the node.
#[derive(Debug)]
pub enum NetworkEvent {
    /// A vote or proposal whose signer is a validator and whose signature verified. `from` is
    /// the authenticated author of the gossip message (not necessarily a direct neighbour).
    Consensus {
        from: PeerId,
        msg: pb::ConsensusMessage,
    },
    /// Encoded `SignedTx`s, not yet verified: the mempool does that. `from` is the peer that
    /// delivered the batch. The batch is not forwarded to other peers until the node passes
    /// its verdict with [`NetworkHandle::tx_batch_checked`]: so a node forwards only batches
    /// its mempool found sound, and a forged batch is charged to whoever delivered it (an
    /// honest relay never does).
    TxBatch {
        from: PeerId,
        txs: Vec<Bytes>,
        id: GossipId,
    },
    /// Equivocation evidence whose two votes verified.
    Evidence {
        from: PeerId,
        evidence: pb::DuplicateVoteEvidence,
    },
    /// A peer asks for blocks; `req.max_blocks` is already clamped to `sync_max_blocks`.
    /// Dropping `reply` refuses the request.
    SyncRequest {
        from: PeerId,
        req: pb::SyncRequest,
        reply: oneshot::Sender<pb::SyncResponse>,
    },
    PeerConnected {
        peer: PeerId,
        validator: Option<Address>,
    },
    PeerDisconnected {
        peer: PeerId,
    },
}

/// A connected peer as shown by `net_peers`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerInfo {
    pub peer_id: String,
    pub address: String,
    /// Set when the peer's identity key is a validator key.
    pub validator: Option<Address>,
}

/// Requests from handles to the swarm task (everything but tx batches, which have their own
/// queue so that a flood of transactions can never delay a vote).
pub(crate) enum Command {
    Publish { data: Vec<u8> },
    Verdict { id: GossipId, from: PeerId, forward: bool },
    Request { peer: PeerId, req: pb::SyncRequest, reply: oneshot::Sender<Result<pb::SyncResponse, NetworkError>> },
    Report { peer: PeerId, reason: &'static str },
    Ban { peer: PeerId, reason: &'static str },
    Validators(Vec<ValidatorSet>),
    Shutdown,
}

pub(crate) type PeerTable = Arc<Mutex<HashMap<PeerId, PeerInfo>>>;

/// A handle on the running network; cheap to clone, every method but the two `async` ones
/// returns immediately.
#[derive(Clone)]
pub struct NetworkHandle {
    inner: Arc<Inner>,
}

struct Inner {
    local: PeerId,
    listen: Arc<Mutex<Vec<Multiaddr>>>,
    control: mpsc::Sender<Command>,
    txs: mpsc::Sender<Vec<u8>>,
    peers: PeerTable,
    metrics: Metrics,
    max_tx_batch_bytes: usize,
    task: Mutex<Option<JoinHandle<()>>>,
}

impl NetworkHandle {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        local: PeerId,
        listen: Arc<Mutex<Vec<Multiaddr>>>,
        control: mpsc::Sender<Command>,
        txs: mpsc::Sender<Vec<u8>>,
        peers: PeerTable,
        metrics: Metrics,
        max_tx_batch_bytes: usize,
        task: JoinHandle<()>,
    ) -> Self {
        let task = Mutex::new(Some(task));
        NetworkHandle {
            inner: Arc::new(Inner { local, listen, control, txs, peers, metrics, max_tx_batch_bytes, task }),
        }
    }

    pub fn local_peer_id(&self) -> PeerId {
        self.inner.local
    }

    /// The addresses the swarm listens on (with the actual port when configured with port 0).
    pub fn listen_addrs(&self) -> Vec<Multiaddr> {
        self.inner.listen.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    fn control(&self, cmd: Command) {
        if self.inner.control.try_send(cmd).is_err() {
            self.inner.metrics.dropped(DropKind::OutboundQueueFull);
        }
    }

    /// The validator sets whose members may now sign consensus messages (the current height's
    /// and the next), replacing those given before: gossip from anybody else is refused.
    pub fn set_validators(&self, sets: Vec<ValidatorSet>) {
        self.control(Command::Validators(sets));
    }

    /// Gossips a vote or proposal on the consensus topic.
    pub fn broadcast_consensus(&self, msg: pb::ConsensusMessage) {
        self.control(Command::Publish { data: envelope(pb::envelope::Payload::Consensus(msg)) });
    }

    /// Gossips equivocation evidence on the consensus topic.
    pub fn broadcast_evidence(&self, e: pb::DuplicateVoteEvidence) {
        self.control(Command::Publish { data: envelope(pb::envelope::Payload::Evidence(e)) });
    }

    /// Gossips encoded `SignedTx`s, split into batches that fit the tx-batch size limit (a
    /// single tx larger than the limit is dropped: no peer would accept it).
    pub fn broadcast_txs(&self, txs: Vec<Bytes>) {
        for batch in split_batches(txs, self.inner.max_tx_batch_bytes) {
            let data = envelope(pb::envelope::Payload::Txs(pb::TxBatch { txs: batch }));
            if self.inner.txs.try_send(data).is_err() {
                self.inner.metrics.dropped(DropKind::OutboundQueueFull);
            }
        }
    }

    /// Asks `peer` for certified blocks (block sync).
    pub async fn request_blocks(&self, peer: PeerId, req: pb::SyncRequest) -> Result<pb::SyncResponse, NetworkError> {
        let (reply, rx) = oneshot::channel();
        self.inner.control.send(Command::Request { peer, req, reply }).await.map_err(|_| NetworkError::Stopped)?;
        rx.await.map_err(|_| NetworkError::Stopped)?
    }

    /// Connected peers, each once.
    pub fn peers(&self) -> Vec<PeerInfo> {
        let peers = self.inner.peers.lock().unwrap_or_else(PoisonError::into_inner);
        let mut v: Vec<PeerInfo> = peers.values().cloned().collect();
        v.sort_by(|a, b| a.peer_id.cmp(&b.peer_id));
        v
    }

    /// The node's verdict on a gossiped tx batch ([`NetworkEvent::TxBatch`]): `forward` sends
    /// it on to the other peers; otherwise it goes no further, charged to nobody (a complaint
    /// is [`NetworkHandle::report_misbehaviour`]'s business). A batch the node never judges
    /// is not forwarded either.
    pub fn tx_batch_checked(&self, id: GossipId, from: PeerId, forward: bool) {
        self.control(Command::Verdict { id, from, forward });
    }

    /// The node reports a peer that sent something invalid that only the node could judge
    /// (e.g. txs with bad signatures): lowers its score, and enough reports get it banned.
    pub fn report_misbehaviour(&self, peer: PeerId, reason: &'static str) {
        self.control(Command::Report { peer, reason });
    }

    /// The node proved that `peer` lied (a piece that contradicts certified data, such as a
    /// state-sync chunk whose hash is not the certified one): disconnects and blocks it at once,
    /// for the same time as a ban by score.
    pub fn ban(&self, peer: PeerId, reason: &'static str) {
        self.control(Command::Ban { peer, reason });
    }

    /// Stops the swarm task and waits for it; other clones become inert.
    pub async fn shutdown(self) {
        let task = self.inner.task.lock().unwrap_or_else(PoisonError::into_inner).take();
        if let Some(task) = task {
            // If the queue is full, the task is still told to stop: the send waits its turn.
            let _ = self.inner.control.send(Command::Shutdown).await;
            let _ = task.await;
        }
    }
}

/// Encoded size of a one-field `TxBatch` entry: tag, length varint, bytes.
fn entry_len(tx: &Bytes) -> usize {
    1 + prost::length_delimiter_len(tx.len()) + tx.len()
}

/// Splits `txs` into batches whose envelope stays within `max` bytes.
pub(crate) fn split_batches(txs: Vec<Bytes>, max: usize) -> Vec<Vec<Bytes>> {
    // Envelope and TxBatch headers (two tags and two length varints of at most 5 bytes each)
    // and the envelope's nonce (a tag and a varint of at most 10 bytes).
    let budget = max.saturating_sub(23);
    let mut out = Vec::new();
    let (mut cur, mut size) = (Vec::new(), 0usize);
    for tx in txs {
        let len = entry_len(&tx);
        if len > budget {
            continue;
        }
        if size + len > budget {
            out.push(std::mem::take(&mut cur));
            size = 0;
        }
        size += len;
        cur.push(tx);
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_fit_the_limit_and_keep_order() {
        let txs: Vec<Bytes> = (0..1000u32).map(|i| Bytes::from(vec![i as u8; 150 + (i as usize % 50)])).collect();
        let batches = split_batches(txs.clone(), 10_000);
        assert!(batches.len() > 10);
        for b in &batches {
            let e = envelope(pb::envelope::Payload::Txs(pb::TxBatch { txs: b.clone() }));
            assert!(e.len() <= 10_000, "{}", e.len());
        }
        assert_eq!(batches.concat(), txs);
        // A tx that cannot fit anywhere is dropped, the rest go.
        let batches = split_batches(vec![Bytes::from(vec![0; 20_000]), Bytes::from_static(b"ok")], 10_000);
        assert_eq!(batches, vec![vec![Bytes::from_static(b"ok")]]);
    }
}
