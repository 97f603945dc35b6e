//! The engine's ports: the small traits a host implements so that one engine runs in the node
//! (tokio, RocksDB, libp2p, the wall clock, files) and in the simulator (an event queue, memory,
//! a virtual clock), in the spirit of commonware's runtime traits and Malachite's host split.
//! Every call is synchronous and must not block for long: a host that needs to wait (a timer,
//! a sync request) starts the wait and later hands the result back as an `Event`.
use crate::{EngineError, SignPoint};
use cairn_consensus::{Timeout, WalEntry};
use cairn_proto::{
    Account, Address, CertifiedBlock, ConsensusMessage, DuplicateVoteEvidence, Hash, Proposal, ValidatorSet, VerifiedTx,
};
use std::time::Duration;

/// The latest committed block, as the engine builds on it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tip {
    /// 0 before the first block.
    pub height: u64,
    /// `Hash::ZERO` before the first block.
    pub hash: Hash,
    /// State root after executing `height` (the next header carries it: execution is deferred).
    pub state_root: Hash,
    /// The tip's header time (the genesis time before the first block).
    pub timestamp_ms: u64,
}

/// The validator sets the engine needs: those that sign the two heights after the tip (the
/// stakes of block h decide the set of h + 2, so both are known once the tip is committed).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Signers {
    /// Signs `tip + 1`, the height being decided.
    pub current: ValidatorSet,
    /// Signs `tip + 2`: the next header's `next_validators_hash` commits to it.
    pub next: ValidatorSet,
}

impl Signers {
    /// Both heights signed by one set (a chain whose set never changes, as at genesis).
    pub fn fixed(set: ValidatorSet) -> Self {
        Signers { current: set.clone(), next: set }
    }

    /// The sets after committing one more block, whose stakes decided `later` (the set of the
    /// height after `next`'s).
    pub fn advance(&mut self, later: ValidatorSet) {
        self.current = std::mem::replace(&mut self.next, later);
    }
}

/// What a commit changed, for the pool and the validator sets.
#[derive(Clone, Debug)]
pub struct Committed {
    pub tip: Tip,
    /// Accounts the block touched, with their values after it.
    pub touched: Vec<(Address, Account)>,
    /// The set that signs `tip.height + 2`, which this block's stakes decided.
    pub later_set: ValidatorSet,
}

/// The block and state store.
pub trait Store {
    /// Executes and persists a decided block (atomically: after a crash the store is at its
    /// parent or at it). The engine only calls it with the block after the tip.
    fn commit(&mut self, block: &CertifiedBlock) -> Result<Committed, EngineError>;
}

/// The transaction pool.
pub trait Pool {
    /// The best transactions for the next block, within the limits.
    fn reap(&mut self, max_txs: usize, max_bytes: usize) -> Vec<VerifiedTx>;
    fn has_txs(&self) -> bool;
    /// A committed block's transactions leave the pool; `touched` gives the new nonces.
    fn committed(&mut self, txs: &[VerifiedTx], touched: &[(Address, Account)]);
}

/// The consensus network.
pub trait Network {
    /// Who sent a message (a libp2p peer id, a simulated node index).
    type Peer: Clone + std::fmt::Debug;
    fn broadcast(&mut self, msg: ConsensusMessage);
    fn broadcast_evidence(&mut self, evidence: DuplicateVoteEvidence);
    /// Ask for certified blocks from `from_height` on, preferably from `peer` (which sent a
    /// message of a later height). The answer comes back as `Event::Synced`, after
    /// `sync::verify_response`.
    fn request_sync(&mut self, from_height: u64, peer: Option<&Self::Peer>);
}

/// What a timer hands back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Timer {
    Consensus(Timeout),
    /// Build and propose the block of (height, round) now.
    Build {
        height: u64,
        round: u32,
    },
}

/// Time: the wall clock for block times, and timers.
pub trait Clock {
    /// Unix milliseconds.
    fn now_ms(&self) -> u64;
    /// Hand `timer` back as `Event::Timer` after `after`.
    fn schedule(&mut self, after: Duration, timer: Timer);
    /// Hand back `Timer::Build { height, round }` as soon as the pool has transactions, or
    /// after `at_most`, whichever comes first (an idle chain makes empty blocks that slowly).
    fn schedule_build(&mut self, height: u64, round: u32, at_most: Duration);
}

/// Durable records: the consensus WAL and the signing state.
pub trait Journal {
    /// Appends one WAL entry; with `sync`, fsyncs it before returning.
    fn append(&mut self, entry: &WalEntry, sync: bool) -> Result<(), EngineError>;
    /// Drops every WAL entry (after a commit made them obsolete), atomically. It need not be
    /// durable by itself: entries of committed heights that survive a crash are skipped by
    /// `Engine::start`.
    fn reset(&mut self) -> Result<(), EngineError>;
    /// Persists (fsync) the highest point this validator signed at, kept apart from the data
    /// directory (CometBFT's `priv_validator_state.json`). Called before the signature leaves.
    fn save_signed(&mut self, point: SignPoint) -> Result<(), EngineError>;
}

/// What the engine reports: for metrics, RPC and tests. Every method has a no-op default.
pub trait Observer {
    /// A block was committed (by consensus or sync) and is the new tip.
    fn on_commit(&mut self, _tip: &Tip, _block: &CertifiedBlock) {}
    /// Consensus moved: a message of the current height, a new round or a commit.
    fn on_progress(&mut self) {}
    /// A peer's message showed whether we are in step with the network: `true` for one of our
    /// current height, `false` for one two or more heights ahead (one ahead is only a peer
    /// that committed a moment before us). `on_syncing(true)` says we are behind, too.
    fn on_in_step(&mut self, _in_step: bool) {}
    fn on_new_round(&mut self, _height: u64, _round: u32) {}
    /// Whether a verified sync answer shows this node behind the network.
    fn on_syncing(&mut self, _syncing: bool) {}
    fn on_evidence(&mut self, _evidence: &DuplicateVoteEvidence) {}
    fn on_conflicting_proposal(&mut self, _first: &Proposal, _second: &Proposal) {}
    /// A proposal was judged invalid (`valid(v)` false), with the reason.
    fn on_invalid_proposal(&mut self, _proposal: &Proposal, _why: &crate::InvalidBlock) {}
}

/// Everything a host provides.
pub trait Host: Store + Pool + Network + Clock + Journal + Observer {}
impl<T: Store + Pool + Network + Clock + Journal + Observer> Host for T {}
