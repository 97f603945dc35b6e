//! Routes network events: consensus messages are decoded (proposal txs verified, reusing the
//! mempool's already-verified ones) and passed to the driver; tx batches go through mempool
//! admission; sync requests are answered from the block store; evidence is checked and kept.
use super::driver::DriverEvent;
use super::shared::Shared;
use cairn_mempool::{Mempool, Origin};
use cairn_network::{NetworkEvent, NetworkHandle};
use cairn_proto::{ConsensusMessage, DuplicateVoteEvidence, RejectReason};
use cairn_state::State;
use std::sync::Arc;
use tokio::sync::mpsc;

pub struct Dispatcher {
    pub net: NetworkHandle,
    pub mempool: Arc<Mempool>,
    pub state: State,
    pub shared: Arc<Shared>,
    pub driver: mpsc::Sender<DriverEvent>,
}

impl Dispatcher {
    pub async fn run(self, mut events: mpsc::Receiver<NetworkEvent>) {
        while let Some(ev) = events.recv().await {
            match ev {
                NetworkEvent::Consensus { from, msg } => {
                    let (mempool, driver, net) = (self.mempool.clone(), self.driver.clone(), self.net.clone());
                    // Proposals carry whole blocks: decode them off the async threads.
                    tokio::task::spawn_blocking(move || match ConsensusMessage::from_pb(msg, |h| mempool.get(h)) {
                        Ok(m) => {
                            let _ = driver.blocking_send(DriverEvent::Message(m));
                        }
                        Err(e) => {
                            tracing::debug!(%from, "undecodable consensus message: {e}");
                            net.report_misbehaviour(from, "invalid_block");
                        }
                    });
                }
                NetworkEvent::TxBatch { from, txs } => {
                    let (mempool, net) = (self.mempool.clone(), self.net.clone());
                    tokio::task::spawn_blocking(move || {
                        let results = mempool.submit(txs, Origin::Peer);
                        let forged = results
                            .iter()
                            .any(|r| matches!(r, Err(e) if matches!(e.reason, RejectReason::InvalidSignature | RejectReason::MalformedTx)));
                        if forged {
                            net.report_misbehaviour(from, "invalid_tx");
                        }
                    });
                }
                NetworkEvent::SyncRequest { from: _, req, reply } => {
                    let state = self.state.clone();
                    tokio::task::spawn_blocking(move || {
                        let _ = reply.send(super::sync::serve(&state, &req));
                    });
                }
                // The network's gossip validator has verified both signed votes already.
                NetworkEvent::Evidence { from, evidence } => match DuplicateVoteEvidence::from_pb(evidence) {
                    Ok(e) => self.shared.add_evidence(e),
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
