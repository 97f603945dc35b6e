//! State shared between the consensus driver (the only writer of the tip) and the RPC, sync
//! and network tasks: the chain tip, the new-heads feed, evidence, liveness clocks, the sync
//! trigger and the admission signal that wakes an idle proposer.
pub use cairn_engine::Tip;
use cairn_network::PeerId;
use cairn_proto::DuplicateVoteEvidence;
use cairn_rpc::NewHead;
use parking_lot::{Mutex, RwLock};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;
use tokio::sync::{broadcast, Notify};

/// How much evidence is kept for `chain_getEvidence`.
const MAX_EVIDENCE: usize = 1000;

pub struct Shared {
    tip: RwLock<Tip>,
    heads: broadcast::Sender<NewHead>,
    evidence: Mutex<VecDeque<DuplicateVoteEvidence>>,
    syncing: AtomicBool,
    /// In step with the network: since start (or since a peer's message two or more heights
    /// ahead, or sync, last showed us behind), a peer's message of our current height has
    /// arrived. Until then our state may be far behind the
    /// chain's, so what peers gossip looks stale or premature to us and what we admit may look
    /// so to them: we neither judge peers' tx batches nor gossip our own.
    caught_up: AtomicBool,
    /// Last time consensus moved: a commit, a new round, or a vote/proposal processed.
    last_progress: Mutex<Instant>,
    /// The engine saw messages of later heights: sync now, preferably from this peer.
    sync_wanted: Notify,
    sync_hint: Mutex<Option<PeerId>>,
    /// Transactions were admitted to the mempool.
    admitted: Notify,
}

impl Shared {
    pub fn new(tip: Tip) -> Self {
        Shared {
            tip: RwLock::new(tip),
            heads: broadcast::channel(1024).0,
            evidence: Mutex::new(VecDeque::new()),
            syncing: AtomicBool::new(false),
            caught_up: AtomicBool::new(false),
            last_progress: Mutex::new(Instant::now()),
            sync_wanted: Notify::new(),
            sync_hint: Mutex::new(None),
            admitted: Notify::new(),
        }
    }

    /// Asks the sync task to run now (from `peer`, if given).
    pub fn sync_wanted(&self, peer: Option<PeerId>) {
        *self.sync_hint.lock() = peer;
        self.sync_wanted.notify_one();
    }

    /// Waits for `sync_wanted`; returns the peer hint.
    pub async fn wait_sync_wanted(&self) -> Option<PeerId> {
        self.sync_wanted.notified().await;
        self.sync_hint.lock().take()
    }

    /// Wakes everything waiting in `admissions` (an idle proposer).
    pub fn txs_admitted(&self) {
        self.admitted.notify_waiters();
    }

    /// Completes at the next `txs_admitted` after this call.
    pub fn admissions(&self) -> tokio::sync::futures::Notified<'_> {
        self.admitted.notified()
    }

    pub fn tip(&self) -> Tip {
        self.tip.read().clone()
    }

    /// A block was committed: move the tip and tell subscribers.
    pub fn advance(&self, tip: Tip, tx_count: u32) {
        let head = NewHead {
            height: tip.height,
            hash: tip.hash,
            tx_count,
            timestamp_ms: tip.timestamp_ms,
            state_root: tip.state_root,
        };
        *self.tip.write() = tip;
        self.progressed();
        // No subscriber is fine.
        let _ = self.heads.send(head);
    }

    pub fn subscribe_heads(&self) -> broadcast::Receiver<NewHead> {
        self.heads.subscribe()
    }

    pub fn add_evidence(&self, e: DuplicateVoteEvidence) {
        let mut ev = self.evidence.lock();
        if ev.iter().any(|x| *x == e) {
            return;
        }
        if ev.len() == MAX_EVIDENCE {
            ev.pop_front();
        }
        ev.push_back(e);
    }

    pub fn evidence(&self) -> Vec<DuplicateVoteEvidence> {
        self.evidence.lock().iter().cloned().collect()
    }

    pub fn set_syncing(&self, v: bool) {
        self.syncing.store(v, Ordering::Relaxed);
        if v {
            self.caught_up.store(false, Ordering::Relaxed);
        }
    }

    /// A peer's message showed us in step, or two or more heights behind (see `caught_up`).
    pub fn in_step(&self, in_step: bool) {
        if !in_step || !self.syncing() {
            self.caught_up.store(in_step, Ordering::Relaxed);
        }
    }

    pub fn caught_up(&self) -> bool {
        self.caught_up.load(Ordering::Relaxed)
    }

    pub fn syncing(&self) -> bool {
        self.syncing.load(Ordering::Relaxed)
    }

    pub fn progressed(&self) {
        *self.last_progress.lock() = Instant::now();
    }

    pub fn since_progress(&self) -> std::time::Duration {
        self.last_progress.lock().elapsed()
    }
}
