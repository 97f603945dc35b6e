//! The simulator's host: the engine's ports over the simulated world. The disk (WAL, blocks,
//! signing state) survives crashes; the pool is empty (blocks carry no transactions); the clock
//! is virtual time plus a per-instance skew; execution is a stand-in whose validator sets come
//! from the scenario's plan (`sets.rs`). A host can be killed in the middle of carrying out
//! a batch (the sim's kill -9, before GST): every effect after that point is lost, and the
//! fallible ones fail so that the engine stops. Byzantine roles tamper with what they send.
use super::check::Checker;
use super::net::{Event, Msg, World};
use super::sets::Sets;
use cairn_consensus::WalEntry;
use cairn_engine::{
    sync::BlockSource, Clock, Committed, EngineError, Journal, Network, Observer, Pool, SignPoint, Store, Timer, Tip,
};
use cairn_proto::{
    pb, Account, Address, Block, CertifiedBlock, ConsensusMessage, DuplicateVoteEvidence, Hash, Keypair, Proposal,
    VerifiedTx, Vote, VoteKind,
};
use rand::Rng;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;
use std::time::Duration;

/// Wall-clock time at virtual time 0.
pub const BASE_MS: u64 = 1_700_000_000_000;

/// What the whole simulation shares: the world, the property checker, run statistics.
pub struct Shared {
    pub world: World,
    pub check: Checker,
    pub max_round: u32,
}
pub type SharedRef = Rc<RefCell<Shared>>;

/// What survives a crash. A wipe loses everything but the signing state (kept apart).
pub struct Disk {
    pub wal: Vec<WalEntry>,
    /// The entries a WAL reset dropped, until a synced append makes the reset durable: a crash
    /// before that brings them back (`Journal::reset` need not be durable by itself).
    pub undurable_reset: Option<Vec<WalEntry>>,
    pub chain: Vec<CertifiedBlock>,
    pub tip: Tip,
    pub signed: Option<SignPoint>,
}

impl Disk {
    pub fn genesis_tip() -> Tip {
        Tip { height: 0, hash: Hash::ZERO, state_root: Hash::ZERO, timestamp_ms: BASE_MS - 1_000 }
    }
    pub fn new() -> Self {
        Disk { wal: Vec::new(), undurable_reset: None, chain: Vec::new(), tip: Self::genesis_tip(), signed: None }
    }
    /// A crash: a reset not yet made durable is lost, and with it what was appended since.
    /// Returns whether one was.
    pub fn crash(&mut self) -> bool {
        let lost = self.undurable_reset.take();
        let was_lost = lost.is_some();
        if let Some(dropped) = lost {
            self.wal = dropped;
        }
        was_lost
    }
    pub fn wipe(&mut self) {
        self.undurable_reset = None;
        self.wal.clear();
        self.chain.clear();
        self.tip = Self::genesis_tip();
    }
}

impl BlockSource for Disk {
    fn latest_height(&self) -> u64 {
        self.chain.len() as u64
    }
    fn block_pb(&self, height: u64) -> Option<pb::CertifiedBlock> {
        self.chain.get(usize::try_from(height).ok()?.checked_sub(1)?).map(CertifiedBlock::to_pb)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Honest,
    /// Sends conflicting votes and proposals to different peers.
    Equivocator,
    /// Shares its key with another instance (the Twins paper's byzantine node).
    Twin,
    /// Floods: votes for far-future rounds, large proposals for future heights, a second
    /// proposal per round of its own.
    Flooder,
}

pub struct SimHost {
    pub node: usize,
    pub incarnation: u32,
    pub role: Role,
    pub dead: bool,
    /// Block hashes seen at the current height (the equivocator votes for them at random).
    pub seen: Vec<Hash>,
    instances: usize,
    key: Keypair,
    chain_id: String,
    sets: Rc<Sets>,
    sh: SharedRef,
    disk: Rc<RefCell<Disk>>,
    skew_ms: u64,
    kill_chance: f64,
    /// The equivocator's other vote per (height, round, kind), re-sent like the real one.
    other_votes: BTreeMap<(u64, u32, VoteKind), Vote>,
    /// Transactions the flooder stuffs its junk blocks with.
    junk: Rc<Vec<VerifiedTx>>,
}

/// How one instance is set up.
pub struct HostSetup {
    pub node: usize,
    pub incarnation: u32,
    pub role: Role,
    pub instances: usize,
    pub key: Keypair,
    pub chain_id: String,
    pub sets: Rc<Sets>,
    pub skew_ms: u64,
    pub kill_chance: f64,
    pub junk: Rc<Vec<VerifiedTx>>,
}

impl SimHost {
    pub fn new(s: HostSetup, sh: SharedRef, disk: Rc<RefCell<Disk>>) -> Self {
        SimHost {
            node: s.node,
            incarnation: s.incarnation,
            role: s.role,
            dead: false,
            seen: Vec::new(),
            instances: s.instances,
            key: s.key,
            chain_id: s.chain_id,
            sets: s.sets,
            sh,
            disk,
            skew_ms: s.skew_ms,
            kill_chance: s.kill_chance,
            other_votes: BTreeMap::new(),
            junk: s.junk,
        }
    }

    /// False once this incarnation is dead; may kill it now (before GST only).
    fn alive(&mut self) -> bool {
        if !self.dead && self.kill_chance > 0.0 {
            let mut sh = self.sh.borrow_mut();
            let w = &mut sh.world;
            self.dead = w.now < w.links.gst && w.rng.gen_bool(self.kill_chance);
        }
        !self.dead
    }

    fn killed(&self) -> EngineError {
        EngineError::Wal(format!("node {} was killed", self.node))
    }

    fn send(&self, to: usize, m: ConsensusMessage) {
        self.sh.borrow_mut().world.send(self.node, to, Msg::Consensus(Box::new(m)));
    }

    fn coin(&self, p: f64) -> bool {
        self.sh.borrow_mut().world.rng.gen_bool(p)
    }

    /// The equivocator's conflicting version of its own message.
    fn tamper(&mut self, m: &ConsensusMessage) -> ConsensusMessage {
        match m {
            ConsensusMessage::Vote(v) => {
                if let Some(other) = self.other_votes.get(&(v.height, v.round, v.kind)) {
                    return ConsensusMessage::Vote(other.clone());
                }
                let pick = self.sh.borrow_mut().world.rng.gen_range(0..=self.seen.len());
                let other = self.seen.get(pick).copied().filter(|h| Some(*h) != v.block_hash);
                let value =
                    if v.block_hash.is_some() && other.is_none() { None } else { other.or(Some(Hash([7; 32]))) };
                let other = Vote::new_signed(&self.key, &self.chain_id, v.kind, v.height, v.round, value);
                self.other_votes.insert((v.height, v.round, v.kind), other.clone());
                ConsensusMessage::Vote(other)
            }
            ConsensusMessage::Proposal(p) => {
                let later = 1 + self.sh.borrow_mut().world.rng.gen_range(0..1000);
                let mut block = p.block.clone();
                block.header.timestamp_ms += later;
                if self.coin(0.3) {
                    block.header.parent_hash = Hash([9; 32]); // an invalid block
                }
                let p = Proposal::new_signed(&self.key, &self.chain_id, p.height, p.round, p.pol_round, block);
                ConsensusMessage::Proposal(p)
            }
        }
    }

    /// The flooder's junk beside each of its messages: votes for far-future rounds, a large
    /// block for each of the next heights, a second block for its own proposal's round.
    fn flood(&mut self, m: &ConsensusMessage) -> Vec<ConsensusMessage> {
        let (height, round) = match m {
            ConsensusMessage::Vote(v) => (v.height, v.round),
            ConsensusMessage::Proposal(p) => (p.height, p.round),
        };
        let mut junk = Vec::new();
        for k in 0..4 {
            let r = round + 10 + 7 * k;
            junk.push(ConsensusMessage::Vote(Vote::new_signed(
                &self.key,
                &self.chain_id,
                VoteKind::Prevote,
                height,
                r,
                Some(Hash([k as u8; 32])),
            )));
        }
        for ahead in 1..=2 {
            let mut header = match m {
                ConsensusMessage::Proposal(p) => p.block.header.clone(),
                ConsensusMessage::Vote(_) => continue,
            };
            header.height = height + ahead;
            header.timestamp_ms += self.sh.borrow().world.now;
            let block = Block::new(header, self.junk.as_ref().clone());
            junk.push(ConsensusMessage::Proposal(Proposal::new_signed(
                &self.key,
                &self.chain_id,
                height + ahead,
                round,
                None,
                block,
            )));
        }
        if let ConsensusMessage::Proposal(_) = m {
            junk.push(self.tamper(m));
        }
        junk
    }
}

impl Store for SimHost {
    fn commit(&mut self, cb: &CertifiedBlock) -> Result<Committed, EngineError> {
        if !self.alive() {
            return Err(self.killed());
        }
        let mut disk = self.disk.borrow_mut();
        let height = cb.block.header.height;
        let honest = self.role == Role::Honest;
        self.sh.borrow_mut().check.decided(
            self.node,
            honest,
            &cb.block,
            &cb.certificate,
            disk.tip.hash,
            height,
            &self.chain_id,
            self.sets.at(height),
        );
        // A stand-in for execution: the root folds in each block, so equal chains have equal
        // roots and the validity rule's state-root check is exercised.
        let hash = cb.block.hash();
        let state_root = Hash::of(&[disk.tip.state_root.0, hash.0].concat());
        let tip = Tip { height, hash, state_root, timestamp_ms: cb.block.header.timestamp_ms };
        disk.chain.push(cb.clone());
        disk.tip = tip.clone();
        self.seen.clear();
        // The stand-in for the stakes this block's execution would leave: the plan's set of h + 2.
        let later_set = self.sets.at(height + cairn_proto::staking::EFFECT_DELAY).clone();
        Ok(Committed { tip, touched: Vec::new(), later_set })
    }
}

impl Pool for SimHost {
    fn reap(&mut self, _max_txs: usize, _max_bytes: usize) -> Vec<VerifiedTx> {
        Vec::new()
    }
    fn has_txs(&self) -> bool {
        false
    }
    fn committed(&mut self, _txs: &[VerifiedTx], _touched: &[(Address, Account)]) {}
}

impl Network for SimHost {
    type Peer = usize;

    fn broadcast(&mut self, m: ConsensusMessage) {
        if !self.alive() {
            return;
        }
        let saved = self.disk.borrow().signed;
        self.sh.borrow_mut().check.sent(self.node, self.key.address(), &m, saved);
        let junk = if self.role == Role::Flooder { self.flood(&m) } else { Vec::new() };
        let (me, instances) = (self.node, self.instances);
        for to in (0..instances).filter(|j| *j != me) {
            let m = if self.role == Role::Equivocator && self.coin(0.5) { self.tamper(&m) } else { m.clone() };
            self.send(to, m);
            for j in &junk {
                self.send(to, j.clone());
            }
        }
    }

    /// Peers detect equivocation from the votes themselves; nothing to send in the sim.
    fn broadcast_evidence(&mut self, _evidence: DuplicateVoteEvidence) {}

    fn request_sync(&mut self, from_height: u64, peer: Option<&usize>) {
        if !self.alive() {
            return;
        }
        let mut sh = self.sh.borrow_mut();
        let to = match peer {
            Some(p) => *p,
            None => (self.node + sh.world.rng.gen_range(1..self.instances)) % self.instances,
        };
        sh.world.send(self.node, to, Msg::SyncRequest { from_height });
    }
}

impl Clock for SimHost {
    fn now_ms(&self) -> u64 {
        BASE_MS + self.sh.borrow().world.now + self.skew_ms
    }

    fn schedule(&mut self, after: Duration, timer: Timer) {
        if !self.alive() {
            return;
        }
        let mut sh = self.sh.borrow_mut();
        let at = sh.world.now + after.as_millis() as u64;
        sh.world.schedule(at, Event::Timer { node: self.node, incarnation: self.incarnation, timer });
    }

    /// The pool is always empty: the block is built when `at_most` has passed.
    fn schedule_build(&mut self, height: u64, round: u32, at_most: Duration) {
        self.schedule(at_most, Timer::Build { height, round });
    }
}

impl Journal for SimHost {
    fn append(&mut self, entry: &WalEntry, sync: bool) -> Result<(), EngineError> {
        if !self.alive() {
            return Err(self.killed());
        }
        let mut disk = self.disk.borrow_mut();
        disk.wal.push(entry.clone());
        if sync {
            disk.undurable_reset = None;
        }
        Ok(())
    }

    fn reset(&mut self) -> Result<(), EngineError> {
        if !self.alive() {
            return Err(self.killed());
        }
        let mut disk = self.disk.borrow_mut();
        let dropped = std::mem::take(&mut disk.wal);
        disk.undurable_reset.get_or_insert(dropped);
        Ok(())
    }

    fn save_signed(&mut self, point: SignPoint) -> Result<(), EngineError> {
        if !self.alive() {
            return Err(self.killed());
        }
        self.disk.borrow_mut().signed = Some(point);
        Ok(())
    }
}

impl Observer for SimHost {
    fn on_new_round(&mut self, _height: u64, round: u32) {
        let mut sh = self.sh.borrow_mut();
        sh.max_round = sh.max_round.max(round);
    }

    fn on_evidence(&mut self, ev: &DuplicateVoteEvidence) {
        let mut sh = self.sh.borrow_mut();
        if let Err(e) = ev.verify(&self.chain_id) {
            sh.check.violations.push(format!("node {} emitted evidence that does not verify: {e}", self.node));
        }
        sh.check.evidence(self.node, ev.first.validator);
    }

    fn on_conflicting_proposal(&mut self, first: &Proposal, _second: &Proposal) {
        self.sh.borrow_mut().check.evidence(self.node, first.proposer);
    }
}
