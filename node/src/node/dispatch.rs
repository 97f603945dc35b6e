//! Routes network events: consensus messages are decoded (proposal txs verified, reusing the
//! mempool's already-verified ones) and passed to the engine; tx batches go through mempool
//! admission; sync requests are answered from the block store (or, for state sync, from the
//! newest snapshot); evidence is checked and kept.
//!
//! Work from peers is bounded: decoding and admission run on blocking threads, at most
//! `workers` at a time for each kind (consensus messages apart from tx batches, so a tx flood
//! cannot delay votes). When all are busy the dispatcher waits, the network's event queue fills
//! and the network applies its own backpressure — instead of piling up tasks in memory.
use super::driver::DriverEvent;
use super::shared::Shared;
use super::snapshots::Snapshots;
use super::sync::StoreSource;
use cairn_engine::{sync, Event};
use cairn_mempool::Mempool;
use cairn_network::{NetworkEvent, NetworkHandle};
use cairn_proto::{ConsensusMessage, DuplicateVoteEvidence};
use cairn_state::State;
use std::sync::Arc;
use tokio::sync::{mpsc, Semaphore};

pub struct Dispatcher {
    pub net: NetworkHandle,
    pub mempool: Arc<Mempool>,
    pub state: State,
    pub shared: Arc<Shared>,
    pub snapshots: Arc<Snapshots>,
    pub driver: mpsc::Sender<DriverEvent>,
    /// Blocking tasks in flight per kind of work.
    pub workers: usize,
    /// Sync answers: at most this many blocks and about this many bytes.
    pub sync_max_blocks: u32,
    pub sync_max_bytes: usize,
}

impl Dispatcher {
    /// Keeps evidence whose signer was a validator at the votes' height. The network's gossip
    /// check held it against the current sets only; the set of its height is in state.
    fn on_evidence(&self, from: cairn_network::PeerId, e: DuplicateVoteEvidence) {
        let height = e.first.height;
        match (self.state.validator_set_at(height), self.state.chain_id()) {
            (Ok(Some(set)), Some(chain_id)) => match e.verify_in(&chain_id, &set) {
                Ok(()) => self.shared.add_evidence(e),
                Err(err) => {
                    tracing::info!(%from, height, %err, "evidence refused");
                    self.net.report_misbehaviour(from, "invalid_evidence");
                }
            },
            // A height past what this node has executed: it cannot judge yet, nor blame.
            (Ok(None), _) | (_, None) => tracing::debug!(%from, height, "evidence for a height not known yet"),
            (Err(err), _) => tracing::warn!(height, %err, "cannot read the validator set for evidence"),
        }
    }

    pub async fn run(self, mut events: mpsc::Receiver<NetworkEvent>) {
        let consensus_work = Arc::new(Semaphore::new(self.workers));
        let tx_work = Arc::new(Semaphore::new(self.workers));
        while let Some(ev) = events.recv().await {
            match ev {
                NetworkEvent::Consensus { from, msg } => {
                    let Ok(permit) = consensus_work.clone().acquire_owned().await else { return };
                    let (mempool, driver, net) = (self.mempool.clone(), self.driver.clone(), self.net.clone());
                    // Proposals carry whole blocks: decode them off the async threads.
                    tokio::task::spawn_blocking(move || {
                        let _permit = permit;
                        match ConsensusMessage::from_pb(msg, |h| mempool.get(h)) {
                            Ok(msg) => {
                                let _ = driver.blocking_send(DriverEvent::Engine(Event::Message { from, msg }));
                            }
                            Err(e) => {
                                tracing::debug!(%from, "undecodable consensus message: {e}");
                                net.report_misbehaviour(from, "invalid_block");
                            }
                        }
                    });
                }
                NetworkEvent::TxBatch { from, txs } => {
                    let Ok(permit) = tx_work.clone().acquire_owned().await else { return };
                    let (mempool, net, shared) = (self.mempool.clone(), self.net.clone(), self.shared.clone());
                    tokio::task::spawn_blocking(move || {
                        let _permit = permit;
                        let batch = mempool.submit_peer_batch(txs);
                        if batch.results.iter().any(Result::is_ok) {
                            shared.txs_admitted();
                        }
                        // Forged or mostly wasted batches count against their author — judged
                        // only while we are in step: a node far behind sees honest peers'
                        // nonces as far out of its window.
                        if let Some(reason) = batch.complaint.filter(|_| shared.caught_up()) {
                            net.report_misbehaviour(from, reason);
                        }
                    });
                }
                NetworkEvent::SyncRequest { from: _, req, reply } => {
                    let Ok(permit) = consensus_work.clone().acquire_owned().await else { return };
                    let (state, max_blocks, max_bytes) =
                        (self.state.clone(), self.sync_max_blocks, self.sync_max_bytes);
                    let snapshots = self.snapshots.clone();
                    tokio::task::spawn_blocking(move || {
                        let _permit = permit;
                        let answer = match &req.snapshot {
                            Some(s) => snapshots.answer(&state, s),
                            None => sync::serve(&StoreSource(&state), &req, max_blocks, max_bytes),
                        };
                        let _ = reply.send(answer);
                    });
                }
                NetworkEvent::Evidence { from, evidence } => match DuplicateVoteEvidence::from_pb(evidence) {
                    Ok(e) => self.on_evidence(from, e),
                    Err(_) => self.net.report_misbehaviour(from, "invalid_evidence"),
                },
                NetworkEvent::PeerConnected { peer, validator } => {
                    tracing::info!(%peer, validator = ?validator, "peer connected");
                }
                NetworkEvent::PeerDisconnected { peer } => tracing::info!(%peer, "peer disconnected"),
            }
        }
    }
}
