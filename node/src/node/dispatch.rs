//! Routes network events: consensus messages are decoded (proposal txs verified, reusing the
//! mempool's already-verified ones) and passed to the engine; tx batches go through mempool
//! admission, and the network forwards a batch to other peers only once admission found it
//! sound (`tx_batch_checked`); sync requests are answered from the block store (or, for state
//! sync, from the newest snapshot); evidence is checked and kept.
//!
//! Work from peers is bounded: decoding and admission run on blocking threads, at most
//! `workers` at a time for each kind. Tx batches that find every admission thread busy wait in
//! a queue of at most `max_waiting_batches`; past that a batch is dropped, counted and not
//! forwarded (its txs come again in a proposal, or not at all if the sender was wasteful). The
//! dispatcher never waits for an admission thread: it did, and then every vote and proposal
//! queued behind the tx batches before it (the test below had a vote wait for 3,500 txs to be
//! admitted). When consensus threads are all busy it does wait, and the network's event queue
//! applies its own backpressure — instead of piling up tasks in memory.
use super::driver::DriverEvent;
use super::shared::Shared;
use super::snapshots::Snapshots;
use super::sync::StoreSource;
use bytes::Bytes;
use cairn_engine::{sync, Event};
use cairn_mempool::Mempool;
use cairn_network::PeerId;
use cairn_network::{GossipId, NetworkEvent, NetworkHandle};
use cairn_proto::{ConsensusMessage, DuplicateVoteEvidence};
use cairn_state::State;
use std::collections::VecDeque;
use std::sync::Arc;
use tokio::sync::{mpsc, OwnedSemaphorePermit, Semaphore};

pub struct Dispatcher {
    pub net: NetworkHandle,
    pub mempool: Arc<Mempool>,
    pub state: State,
    pub shared: Arc<Shared>,
    pub snapshots: Arc<Snapshots>,
    pub driver: mpsc::Sender<DriverEvent>,
    /// Blocking tasks in flight per kind of work.
    pub workers: usize,
    /// Peers' tx batches waiting for an admission thread; more are dropped.
    pub max_waiting_batches: usize,
    pub dropped_batches: prometheus::IntCounter,
    /// Sync answers: at most this many blocks and about this many bytes.
    pub sync_max_blocks: u32,
    pub sync_max_bytes: usize,
}

/// A peer's tx batch as the network delivered it, until it is admitted.
struct PeerTxBatch {
    from: PeerId,
    txs: Vec<Bytes>,
    id: GossipId,
}

impl Dispatcher {
    /// Admits a peer's tx batch on a blocking thread holding `permit`, then tells the network
    /// whether to forward it.
    fn admit(&self, permit: OwnedSemaphorePermit, batch: PeerTxBatch) {
        let (mempool, net, shared) = (self.mempool.clone(), self.net.clone(), self.shared.clone());
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let PeerTxBatch { from, txs, id } = batch;
            let admitted = mempool.submit_peer_batch(txs);
            if admitted.results.iter().any(Result::is_ok) {
                shared.txs_admitted();
            }
            // Only a sound batch goes on to other peers. A forged or mostly wasted one counts
            // against the peer that delivered it (it forwarded what it should have checked) —
            // judged only while we are in step: a node far behind sees honest peers' nonces as
            // far out of its window.
            net.tx_batch_checked(id, from, admitted.complaint.is_none());
            if let Some(reason) = admitted.complaint.filter(|_| shared.caught_up()) {
                net.report_misbehaviour(from, reason);
            }
        });
    }

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
        let mut waiting: VecDeque<PeerTxBatch> = VecDeque::with_capacity(self.max_waiting_batches);
        loop {
            let ev = tokio::select! {
                // Waiting batches first, as threads free up; events otherwise.
                biased;
                permit = tx_work.clone().acquire_owned(), if !waiting.is_empty() => {
                    let Ok(permit) = permit else { return };
                    let Some(batch) = waiting.pop_front() else { continue };
                    self.admit(permit, batch);
                    continue;
                }
                ev = events.recv() => match ev {
                    Some(ev) => ev,
                    None => return,
                },
            };
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
                NetworkEvent::TxBatch { from, txs, id } => {
                    let batch = PeerTxBatch { from, txs, id };
                    match tx_work.clone().try_acquire_owned() {
                        Ok(permit) if waiting.is_empty() => self.admit(permit, batch),
                        _ if waiting.len() < self.max_waiting_batches => waiting.push_back(batch),
                        _ => {
                            self.dropped_batches.inc();
                            self.net.tx_batch_checked(batch.id, batch.from, false);
                        }
                    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use cairn_engine::Tip;
    use cairn_mempool::{AccountSource, MempoolConfig};
    use cairn_proto::{
        Account, Address, Hash, Keypair, Transfer, TxAction, TxBody, Validator, ValidatorSet, Vote, VoteKind,
    };

    const CHAIN: &str = "dispatch-test";

    /// Every sender is funded.
    struct Rich;
    impl AccountSource for Rich {
        fn account(&self, _: &Address) -> Account {
            Account { balance: u64::MAX / 4, nonce: 0, ..Account::default() }
        }
    }

    /// `n` batches of `size` transfers, each tx from its own sender.
    fn batches(n: usize, size: usize) -> Vec<Vec<Bytes>> {
        let sign = |i: usize| {
            let mut seed = [7u8; 32];
            seed[..8].copy_from_slice(&(i as u64).to_le_bytes());
            let k = Keypair::from_seed(seed);
            let body = TxBody {
                chain_id: CHAIN.into(),
                sender: k.address(),
                nonce: 0,
                fee: 1,
                action: TxAction::Transfer(Transfer { recipient: Address([9; 32]), amount: 1 }),
            };
            body.sign(&k).encoded().clone()
        };
        (0..n).map(|b| (b * size..(b + 1) * size).map(sign).collect()).collect()
    }

    /// One admission thread, room for two waiting batches, eight batches then a vote: the vote
    /// reaches the engine while the first batch is still being admitted (before, the
    /// dispatcher waited for a thread for each batch, so the vote came after seven had been
    /// admitted), and the five batches that found no room are dropped and counted.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn votes_overtake_tx_batches_waiting_for_admission_and_the_backlog_is_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let registry = prometheus::Registry::new();
        let state = State::open(dir.path(), cairn_state::StateConfig::default()).unwrap();
        let key = Keypair::from_seed([1; 32]);
        let set = ValidatorSet::new(vec![Validator { address: key.address(), power: 1 }]).unwrap();
        let p2p = cairn_network::NetworkConfig { listen: "127.0.0.1:0".parse().unwrap(), ..Default::default() };
        let (net, _net_events) = cairn_network::start(p2p, &key, CHAIN, set, &registry).await.unwrap();
        let mempool_cfg = MempoolConfig { chain_id: CHAIN.into(), ..MempoolConfig::default() };
        let mempool = Arc::new(Mempool::new(mempool_cfg, Arc::new(Rich), &registry));
        let tip = Tip { height: 0, hash: Hash::ZERO, state_root: Hash::ZERO, timestamp_ms: 0 };
        let (driver, mut engine) = mpsc::channel(16);
        let dropped = prometheus::IntCounter::new("dropped", "test").unwrap();
        let dispatcher = Dispatcher {
            net,
            mempool: mempool.clone(),
            state,
            shared: Arc::new(Shared::new(tip)),
            snapshots: Snapshots::new(0),
            driver,
            workers: 1,
            max_waiting_batches: 2,
            dropped_batches: dropped.clone(),
            sync_max_blocks: 1,
            sync_max_bytes: 1 << 20,
        };
        const SIZE: usize = 500;
        let (events_tx, events) = mpsc::channel(16);
        let from = PeerId::random();
        for txs in batches(8, SIZE) {
            events_tx.send(NetworkEvent::TxBatch { from, txs, id: GossipId(vec![]) }).await.unwrap();
        }
        let vote = ConsensusMessage::Vote(Vote::new_signed(&key, CHAIN, VoteKind::Prevote, 1, 0, None)).to_pb();
        events_tx.send(NetworkEvent::Consensus { from, msg: vote }).await.unwrap();
        tokio::spawn(dispatcher.run(events));

        let first = tokio::time::timeout(std::time::Duration::from_secs(30), engine.recv()).await.unwrap().unwrap();
        let admitted = mempool.status().size;
        assert!(matches!(first, DriverEvent::Engine(Event::Message { .. })), "the vote reached the engine");
        assert!(admitted < 3 * SIZE, "the vote waited for {admitted} txs to be admitted");
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
        while mempool.status().size < 3 * SIZE {
            assert!(tokio::time::Instant::now() < deadline, "the three batches kept were not admitted");
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        assert_eq!(dropped.get(), 5, "five batches found no room");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        assert_eq!(mempool.status().size, 3 * SIZE, "a dropped batch was admitted");
    }
}
