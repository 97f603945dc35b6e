//! State shared between the consensus driver (the only writer) and the RPC, sync and network
//! tasks (readers): the chain tip, the new-heads feed, evidence, and liveness clocks.
use cairn_proto::{DuplicateVoteEvidence, Hash};
use cairn_rpc::NewHead;
use parking_lot::{Mutex, RwLock};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;
use tokio::sync::broadcast;

/// How much evidence is kept for `chain_getEvidence`.
const MAX_EVIDENCE: usize = 1000;

/// The latest finalized block as seen by this node.
#[derive(Clone, Debug)]
pub struct Tip {
    pub height: u64,
    pub hash: Hash,
    /// State root after executing `height`.
    pub state_root: Hash,
    pub timestamp_ms: u64,
}

pub struct Shared {
    tip: RwLock<Tip>,
    heads: broadcast::Sender<NewHead>,
    evidence: Mutex<VecDeque<DuplicateVoteEvidence>>,
    syncing: AtomicBool,
    /// Last time consensus moved: a commit, a new round, or a vote/proposal processed.
    last_progress: Mutex<Instant>,
}

impl Shared {
    pub fn new(tip: Tip) -> Self {
        Shared {
            tip: RwLock::new(tip),
            heads: broadcast::channel(1024).0,
            evidence: Mutex::new(VecDeque::new()),
            syncing: AtomicBool::new(false),
            last_progress: Mutex::new(Instant::now()),
        }
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
