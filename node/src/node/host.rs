//! The node's side of the engine's ports: RocksDB state (`Store`), the mempool (`Pool`),
//! libp2p (`Network`), tokio timers and the wall clock (`Clock`), the WAL and signing-state
//! files (`Journal`), and metrics, the shared tip and evidence (`Observer`). Adapters only: the
//! logic they serve is the engine's.
use super::driver::DriverEvent;
use super::metrics::NodeMetrics;
use super::shared::Shared;
use super::sign_state::SignStateFile;
use super::snapshots::Snapshots;
use super::wal::Wal;
use cairn_consensus::WalEntry;
use cairn_engine::{
    Clock, Committed, EngineError, Event, Journal, Network, Observer, Pool, SignPoint, Store, Timer, Tip,
};
use cairn_mempool::Mempool;
use cairn_network::{NetworkHandle, PeerId};
use cairn_proto::{Account, Address, CertifiedBlock, ConsensusMessage, DuplicateVoteEvidence, Proposal, VerifiedTx};
use cairn_state::State;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

pub struct NodeHost {
    pub state: State,
    pub mempool: Arc<Mempool>,
    pub net: NetworkHandle,
    pub shared: Arc<Shared>,
    pub snapshots: Arc<Snapshots>,
    /// Timers hand their events back to the engine's thread through this channel.
    pub events: mpsc::Sender<DriverEvent>,
    pub rt: tokio::runtime::Handle,
    pub wal: Wal,
    pub sign_state: SignStateFile,
    pub metrics: NodeMetrics,
}

impl NodeHost {
    fn after(&self, d: Duration, timer: Timer) {
        let tx = self.events.clone();
        self.rt.spawn(async move {
            tokio::time::sleep(d).await;
            // The engine has stopped when this fails; nothing to do.
            let _ = tx.send(DriverEvent::Engine(Event::Timer(timer))).await;
        });
    }
}

impl Store for NodeHost {
    fn commit(&mut self, cb: &CertifiedBlock) -> Result<Committed, EngineError> {
        let height = cb.block.header.height;
        let outcome =
            self.state.commit_block(cb).map_err(|e| EngineError::Commit { height, reason: format!("{e:#}") })?;
        let tip = Tip {
            height,
            hash: cb.block.hash(),
            state_root: outcome.state_root,
            timestamp_ms: cb.block.header.timestamp_ms,
        };
        // Gossip takes consensus messages from the sets of the next two heights (a command per
        // block: two small sets, and the network drops it rather than wait if it is busy).
        if let Ok(Some(next)) = self.state.validator_set_at(height + 1) {
            self.net.set_validators(vec![next, outcome.later_set.clone()]);
        }
        Ok(Committed { tip, touched: outcome.touched, later_set: outcome.later_set })
    }
}

impl Pool for NodeHost {
    fn reap(&mut self, max_txs: usize, max_bytes: usize) -> Vec<VerifiedTx> {
        self.mempool.reap(max_txs, max_bytes)
    }
    fn has_txs(&self) -> bool {
        self.mempool.status().size > 0
    }
    fn committed(&mut self, txs: &[VerifiedTx], touched: &[(Address, Account)]) {
        self.mempool.on_commit(txs, touched);
    }
}

impl Network for NodeHost {
    type Peer = PeerId;

    fn broadcast(&mut self, msg: ConsensusMessage) {
        self.net.broadcast_consensus(msg.to_pb());
    }
    fn broadcast_evidence(&mut self, evidence: DuplicateVoteEvidence) {
        self.net.broadcast_evidence(evidence.to_pb());
    }
    /// The sync task does the asking (it owns the request-response round trips).
    fn request_sync(&mut self, _from_height: u64, peer: Option<&PeerId>) {
        self.shared.sync_wanted(peer.copied());
    }
}

impl Clock for NodeHost {
    fn now_ms(&self) -> u64 {
        let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
        since.map_or(0, |d| d.as_millis() as u64)
    }

    fn schedule(&mut self, after: Duration, timer: Timer) {
        self.after(after, timer);
    }

    /// Fires at once when the pool has transactions; otherwise on the first admission
    /// (`Shared::txs_admitted`) or after `at_most`.
    fn schedule_build(&mut self, height: u64, round: u32, at_most: Duration) {
        let timer = Timer::Build { height, round };
        if at_most.is_zero() || self.has_txs() {
            return self.after(Duration::ZERO, timer);
        }
        let (tx, mempool, shared) = (self.events.clone(), self.mempool.clone(), self.shared.clone());
        self.rt.spawn(async move {
            let deadline = tokio::time::sleep(at_most);
            tokio::pin!(deadline);
            loop {
                // Created before the check, so an admission between the two is not missed.
                let admitted = shared.admissions();
                if mempool.status().size > 0 {
                    break;
                }
                tokio::select! {
                    _ = &mut deadline => break,
                    _ = admitted => {}
                }
            }
            let _ = tx.send(DriverEvent::Engine(Event::Timer(timer))).await;
        });
    }
}

impl Journal for NodeHost {
    fn append(&mut self, entry: &WalEntry, sync: bool) -> Result<(), EngineError> {
        self.wal.append(&entry.encode(), sync).map_err(|e| EngineError::Wal(format!("{e:#}")))
    }
    fn reset(&mut self) -> Result<(), EngineError> {
        self.wal.reset().map_err(|e| EngineError::Wal(format!("{e:#}")))
    }
    fn save_signed(&mut self, point: SignPoint) -> Result<(), EngineError> {
        self.sign_state.save(point).map_err(|e| EngineError::SignState(format!("{e:#}")))
    }
}

impl Observer for NodeHost {
    fn on_commit(&mut self, tip: &Tip, block: &CertifiedBlock) {
        let prev = self.shared.tip();
        if tip.height > 1 {
            let dt = tip.timestamp_ms.saturating_sub(prev.timestamp_ms);
            self.metrics.block_interval.observe(dt as f64 / 1000.0);
        }
        self.metrics.committed_txs.inc_by(block.block.txs.len() as u64);
        self.shared.advance(tip.clone(), block.block.txs.len() as u32);
        self.snapshots.committed(&self.rt, &self.state, tip.height);
    }
    fn on_progress(&mut self) {
        self.shared.progressed();
    }
    fn on_in_step(&mut self, in_step: bool) {
        self.shared.in_step(in_step);
    }
    fn on_syncing(&mut self, syncing: bool) {
        self.shared.set_syncing(syncing);
    }
    fn on_evidence(&mut self, evidence: &DuplicateVoteEvidence) {
        self.shared.add_evidence(evidence.clone());
    }
    fn on_conflicting_proposal(&mut self, first: &Proposal, _second: &Proposal) {
        tracing::warn!(proposer = %first.proposer, height = first.height, round = first.round, "two proposals from one proposer");
    }
}
