//! The `Consensus` state machine: per-height state, input dispatch, rounds, timeouts, signing
//! and WAL replay. The Tendermint `upon` rules themselves are in `rules.rs`; the algorithm is
//! stated in the crate documentation (lib.rs), and code carries the paper's line numbers.
use crate::metrics::{ConsensusMetrics, ConsensusStats, DropReason};
use crate::safety::{SignLog, Signed};
use crate::votes::{Known, VoteKeeper};
use crate::{ConsensusConfig, ConsensusError, Input, Output, Step, Timeout, TimeoutKind, WalEntry};
use cairn_proto::{Address, Block, ConsensusMessage, Hash, Keypair, Proposal, ValidatorSet, Vote, VoteKind};
use prometheus::Registry;
use std::collections::{BTreeMap, BTreeSet};

/// A proposal received (or made) for one round of the current height.
#[derive(Debug)]
pub(crate) struct ProposalInfo {
    pub(crate) proposal: Proposal,
    /// `id(v)`: the block hash, computed once.
    pub(crate) hash: Hash,
    /// The node's verdict `valid(v)`, plus our own check that the block is for this height.
    pub(crate) valid: bool,
}

/// "Upon ... for the first time" rules, remembered per round.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Once {
    L34PrevoteTimeout,
    L36Polka,
    L47PrecommitTimeout,
    /// A second, different proposal of this round's proposer was reported.
    ConflictingProposal,
}

/// A Tendermint validator (or observer) for one chain: feed it `Input`s, carry out the
/// `Output`s in order. It reads no clock and does no I/O.
#[derive(Debug)]
pub struct Consensus {
    pub(crate) config: ConsensusConfig,
    pub(crate) chain_id: String,
    /// The set that signs the current height (given by each `StartHeight`).
    pub(crate) validators: ValidatorSet,
    /// Our key, if we have one; it signs only at heights whose set holds it (`is_validator`).
    pub(crate) key: Option<Keypair>,
    /// Whether `key` is in the current height's set.
    pub(crate) is_validator: bool,
    /// No signature below this height: set from the signing-state file kept apart from the
    /// data, when the WAL cannot say what was signed there (a wiped or restored data dir).
    pub(crate) sign_from_height: u64,
    pub(crate) height: u64,
    pub(crate) round: u32,
    pub(crate) step: Step,
    /// `lockedRound_p`, `id(lockedValue_p)`.
    pub(crate) locked: Option<(u32, Hash)>,
    /// `validRound_p`, `id(validValue_p)`; the block itself is found among `proposals`.
    pub(crate) valid: Option<(u32, Hash)>,
    pub(crate) proposals: BTreeMap<u32, ProposalInfo>,
    pub(crate) votes: VoteKeeper,
    pub(crate) own: SignLog,
    pub(crate) once: BTreeSet<(u32, Once)>,
    /// Blocks of this height already in the WAL (own proposals and valid blocks).
    pub(crate) logged_blocks: BTreeSet<Hash>,
    /// Others' votes of this height already in the WAL (`WalEntry::SeenVote`).
    pub(crate) logged_votes: BTreeSet<(Address, u32, VoteKind)>,
    /// WAL entries were replayed; restore round, step and lock before the next input.
    pub(crate) replay_pending: bool,
    pub(crate) out: Vec<Output>,
    pub(crate) stats: ConsensusStats,
    pub(crate) metrics: ConsensusMetrics,
}

impl Consensus {
    /// `key: None` = a non-validating observer (follows, never signs). At a height whose set
    /// does not hold the key, it also only observes. `validators` is the set of the first
    /// height; nothing happens before `Input::StartHeight`.
    pub fn new(config: ConsensusConfig, chain_id: String, validators: ValidatorSet, key: Option<Keypair>) -> Self {
        Consensus {
            config,
            chain_id,
            votes: VoteKeeper::new(validators.total_power()),
            is_validator: key.as_ref().is_some_and(|k| validators.power_of(&k.address()) > 0),
            validators,
            key,
            sign_from_height: 0,
            height: 0,
            round: 0,
            step: Step::Commit,
            locked: None,
            valid: None,
            proposals: BTreeMap::new(),
            own: SignLog::default(),
            once: BTreeSet::new(),
            logged_blocks: BTreeSet::new(),
            logged_votes: BTreeSet::new(),
            replay_pending: false,
            out: Vec::new(),
            stats: ConsensusStats::default(),
            metrics: ConsensusMetrics::unregistered(),
        }
    }

    /// Like `new`, with the metrics of `ConsensusMetrics::new` registered in `registry`.
    pub fn with_registry(
        config: ConsensusConfig,
        chain_id: String,
        validators: ValidatorSet,
        key: Option<Keypair>,
        registry: &Registry,
    ) -> Result<Self, ConsensusError> {
        let mut c = Self::new(config, chain_id, validators, key);
        c.metrics = ConsensusMetrics::new(registry)?;
        Ok(c)
    }

    pub fn height(&self) -> u64 {
        self.height
    }
    pub fn chain_id(&self) -> &str {
        &self.chain_id
    }
    pub fn round(&self) -> u32 {
        self.round
    }
    pub fn step(&self) -> Step {
        self.step
    }
    /// Our validator address at the current height, or `None` for an observer.
    pub fn address(&self) -> Option<Address> {
        self.signer().map(Keypair::address)
    }
    /// Our key, if the current height's set holds it.
    pub(crate) fn signer(&self) -> Option<&Keypair> {
        self.key.as_ref().filter(|_| self.is_validator)
    }
    /// The set that signs the current height.
    pub fn validators(&self) -> &ValidatorSet {
        &self.validators
    }
    /// The Tendermint lock (`lockedRound_p`, `id(lockedValue_p)`), if any.
    pub fn locked(&self) -> Option<(u32, Hash)> {
        self.locked
    }
    /// The Tendermint valid value (`validRound_p`, `id(validValue_p)`), if any.
    pub fn valid(&self) -> Option<(u32, Hash)> {
        self.valid
    }
    pub fn stats(&self) -> &ConsensusStats {
        &self.stats
    }

    /// Never sign anything below `height`. The node sets this at start when its signing-state
    /// file records signatures at heights its WAL no longer holds: it then only observes those
    /// heights (and still decides and commits them), so it cannot sign twice for one of them.
    pub fn refuse_signing_below(&mut self, height: u64) {
        self.sign_from_height = self.sign_from_height.max(height);
    }

    /// How much the state machine holds for the current height: (rounds with votes, votes,
    /// proposals). Bounded by the validator count and `max_future_rounds` (see `VoteKeeper`).
    pub fn held(&self) -> (usize, usize, usize) {
        let (rounds, votes) = self.votes.size();
        (rounds, votes, self.proposals.len())
    }

    /// Whether this validator may sign at the current height (see `refuse_signing_below`).
    fn may_sign(&self) -> bool {
        self.height >= self.sign_from_height
    }

    /// Processes one input and returns what the node must do, in order.
    #[must_use]
    pub fn handle(&mut self, input: Input) -> Vec<Output> {
        match input {
            Input::StartHeight { height, validators } => self.start_height(height, validators),
            Input::Replay(entry) => self.replay(entry),
            input if self.step != Step::Commit => {
                if self.replay_pending {
                    self.finish_replay();
                }
                match input {
                    Input::Proposal { proposal, valid } => self.on_proposal(proposal, valid),
                    Input::Vote(vote) => self.on_vote(vote),
                    Input::TimeoutElapsed(t) => self.on_timeout(t),
                    Input::ProposeBlock { height, round, block } => self.on_propose_block(height, round, block),
                    Input::StartHeight { .. } | Input::Replay(_) => {}
                }
                self.apply_rules();
            }
            _ => {}
        }
        self.metrics.set_position(self.height, self.round);
        std::mem::take(&mut self.out)
    }

    fn start_height(&mut self, height: u64, validators: ValidatorSet) {
        // Never restart a height: its signing log would be lost, and with it the guarantee
        // of never signing twice. (A new process starts at height 0, below any real height.)
        if height <= self.height {
            return;
        }
        self.height = height;
        self.is_validator = self.key.as_ref().is_some_and(|k| validators.power_of(&k.address()) > 0);
        self.validators = validators;
        self.locked = None;
        self.valid = None;
        self.proposals.clear();
        self.votes = VoteKeeper::new(self.validators.total_power());
        self.own = SignLog::default();
        self.once.clear();
        self.logged_blocks.clear();
        self.logged_votes.clear();
        self.replay_pending = false;
        self.start_round(0);
    }

    /// StartRound (L11-L21). The proposer also schedules the propose timeout: its block comes
    /// back asynchronously from the node and must not stall the round if it never does.
    pub(crate) fn start_round(&mut self, round: u32) {
        if round > 0 {
            self.stats.round_changes += 1;
            self.metrics.round_changed();
        }
        self.round = round; // L12
        self.step = Step::Propose; // L13
        self.out.push(Output::NewRound { height: self.height, round });
        self.schedule(TimeoutKind::Propose); // L21
        self.schedule(TimeoutKind::Rebroadcast);
        if self.is_proposer(round) {
            // L14
            let valid_block = self.valid.and_then(|(vr, h)| self.block_by_hash(&h).map(|b| (vr, b.clone())));
            match valid_block {
                Some((vr, block)) => self.propose(block, Some(vr)), // L15-L16, L19
                None => self.out.push(Output::BuildBlock { height: self.height, round }), // L18
            }
        }
    }

    fn is_proposer(&self, round: u32) -> bool {
        self.signer().is_some_and(|k| self.validators.proposer(self.height, round).address == k.address())
    }

    pub(crate) fn block_by_hash(&self, hash: &Hash) -> Option<&Block> {
        self.proposals.values().find(|p| p.hash == *hash).map(|p| &p.proposal.block)
    }

    pub(crate) fn schedule(&mut self, kind: TimeoutKind) {
        let t = Timeout { height: self.height, round: self.round, kind };
        self.out.push(Output::ScheduleTimeout(t, self.config.timeout(kind, self.round)));
    }

    /// Signs (through the guard), logs and broadcasts a proposal of `block` for this round (L19).
    fn propose(&mut self, block: Block, pol_round: Option<u32>) {
        if !self.may_sign() {
            return;
        }
        let Some(key) = self.key.as_ref().filter(|_| self.is_validator) else { return };
        let signed = self.own.sign_proposal(key, &self.chain_id, self.height, self.round, pol_round, block);
        let proposal = match signed {
            Signed::New(p) => {
                self.out.push(Output::WalAppend(WalEntry::Proposal(p.clone())));
                self.logged_blocks.insert(p.block.hash());
                p
            }
            Signed::Again(p) => p,
            Signed::Refused => return,
        };
        let pol = proposal.pol_round.map(|vr| (vr, proposal.block.hash()));
        self.out.push(Output::Broadcast(ConsensusMessage::Proposal(proposal.clone())));
        self.store_proposal(proposal, true);
        if let Some((vr, hash)) = pol {
            self.relay_pol(vr, hash);
        }
    }

    /// Relays the 2f+1 prevotes (ours and others') that justify a re-proposal (L28). Only
    /// validators that received them can prove the polka: a byzantine voter may have sent its
    /// part of it to a few validators only, so the others must hear it from a correct one.
    fn relay_pol(&mut self, round: u32, hash: Hash) {
        let pol: Vec<Output> = self
            .votes
            .votes_for(round, VoteKind::Prevote, hash)
            .map(|v| Output::Broadcast(ConsensusMessage::Vote(v.clone())))
            .collect();
        self.out.extend(pol);
    }

    /// Signs (through the guard), logs, broadcasts and counts our vote; returns the value
    /// actually voted for (the guard may hand back an earlier vote), `None` if nothing was sent.
    pub(crate) fn vote(&mut self, kind: VoteKind, value: Option<Hash>) -> Option<Option<Hash>> {
        if !self.may_sign() {
            return None;
        }
        let key = self.key.as_ref().filter(|_| self.is_validator)?;
        let vote = match self.own.sign_vote(key, &self.chain_id, self.height, self.round, kind, value) {
            Signed::New(v) => {
                self.out.push(Output::WalAppend(WalEntry::Vote(v.clone())));
                v
            }
            Signed::Again(v) => v,
            Signed::Refused => return None,
        };
        self.out.push(Output::Broadcast(ConsensusMessage::Vote(vote.clone())));
        let sent = vote.block_hash;
        let power = self.validators.power_of(&vote.validator);
        if let Some(ev) = self.votes.add(vote, power) {
            // Only possible for a twin: another process signed with our key first.
            self.report(ev);
        }
        Some(sent)
    }

    pub(crate) fn store_proposal(&mut self, proposal: Proposal, valid: bool) {
        let hash = proposal.block.hash();
        let valid = valid && proposal.block.header.height == self.height;
        self.proposals.entry(proposal.round).or_insert(ProposalInfo { proposal, hash, valid });
    }

    fn drop_msg(&mut self, reason: DropReason, proposal: bool) {
        if proposal {
            self.stats.proposals_dropped += 1;
        } else {
            self.stats.votes_dropped += 1;
        }
        self.metrics.dropped(reason);
        tracing::debug!(height = self.height, reason = reason.as_str(), "dropped consensus message");
    }

    fn on_proposal(&mut self, p: Proposal, valid: bool) {
        if p.height != self.height {
            return;
        }
        let first = self.proposals.get(&p.round).map(|info| info.hash);
        if first == Some(p.block.hash()) {
            return; // a gossip duplicate
        }
        if p.round > self.round.saturating_add(self.config.max_future_rounds) {
            return self.drop_msg(DropReason::FutureRound, true);
        }
        if p.proposer != self.validators.proposer(self.height, p.round).address {
            return self.drop_msg(DropReason::WrongProposer, true);
        }
        if self.config.verify_signatures && p.verify(&self.chain_id).is_err() {
            return self.drop_msg(DropReason::BadSignature, true);
        }
        if first.is_some() {
            return self.conflicting_proposal(p);
        }
        self.stats.proposals_accepted += 1;
        self.store_proposal(p, valid);
    }

    /// One proposal per proposer and round: the first is kept; a second, different one
    /// (signed by the same proposer) is reported once per round and dropped.
    fn conflicting_proposal(&mut self, second: Proposal) {
        self.drop_msg(DropReason::WrongProposer, true);
        if !self.once.insert((second.round, Once::ConflictingProposal)) {
            return;
        }
        let Some(first) = self.proposals.get(&second.round).map(|i| i.proposal.clone()) else { return };
        tracing::warn!(proposer = %second.proposer, height = second.height, round = second.round, "conflicting proposals");
        self.stats.equivocations += 1;
        self.metrics.equivocation();
        self.out.push(Output::ConflictingProposal { first: Box::new(first), second: Box::new(second) });
    }

    fn on_vote(&mut self, v: Vote) {
        if v.height != self.height || self.votes.known(&v) == Known::Same {
            return;
        }
        let power = self.validators.power_of(&v.validator);
        if power == 0 {
            return self.drop_msg(DropReason::NotValidator, false);
        }
        if !self.votes.admits(&v, self.round, self.config.max_future_rounds) {
            return self.drop_msg(DropReason::FutureRound, false);
        }
        if self.config.verify_signatures && v.verify(&self.chain_id).is_err() {
            return self.drop_msg(DropReason::BadSignature, false);
        }
        self.stats.votes_accepted += 1;
        // A precommit for a block is kept across restarts: the 2f+1 that decide a height may
        // be together only here (see wal.rs).
        if v.kind == VoteKind::Precommit && v.block_hash.is_some() {
            self.log_seen(&v);
        }
        if let Some(ev) = self.votes.add(v, power) {
            self.report(ev);
        }
    }

    fn report(&mut self, ev: cairn_proto::DuplicateVoteEvidence) {
        tracing::warn!(validator = %ev.first.validator, height = ev.first.height, round = ev.first.round, "equivocation");
        self.stats.equivocations += 1;
        self.metrics.equivocation();
        self.out.push(Output::Evidence(ev));
    }

    fn on_timeout(&mut self, t: Timeout) {
        if t.height != self.height || t.round != self.round {
            return; // stale: timers are never cancelled, just ignored
        }
        match t.kind {
            // L57-L60
            TimeoutKind::Propose if self.step == Step::Propose => {
                self.vote(VoteKind::Prevote, None);
                self.step = Step::Prevote;
            }
            // L61-L64
            TimeoutKind::Prevote if self.step == Step::Prevote => {
                self.vote(VoteKind::Precommit, None);
                self.step = Step::Precommit;
            }
            // L65-L67
            TimeoutKind::Precommit => self.start_round(self.round + 1),
            TimeoutKind::Rebroadcast => {
                self.rebroadcast();
                self.schedule(TimeoutKind::Rebroadcast);
            }
            _ => {}
        }
    }

    /// Re-sends our proposal of this round, all our votes of this height, the polka behind our
    /// valid value and the votes that brought us into this round: gossip may have lost them.
    /// Old block votes stay useful — a re-proposal needs the prevotes of its `pol_round` (L28)
    /// and a decision the precommits of its round (L49), whatever the current round — and so
    /// do old nil votes: a validator still in an
    /// earlier round needs 2f+1 precommits of that round, whatever their values, to time out
    /// of it (L47). With f validators down, the other 2f+1 are all needed; a lost nil
    /// precommit, never sent again, left them waiting in different rounds for ever (found by
    /// the simulator once it kept validators down after GST).
    pub(crate) fn rebroadcast(&mut self) {
        if let Some((vr, hash)) = self.valid {
            self.relay_pol(vr, hash);
            // The block behind our valid value too: a validator that holds a decision quorum
            // for it (L49) may never have received it.
            if let Some(p) =
                self.proposals.get(&vr).filter(|p| p.hash == hash && Some(p.proposal.proposer) != self.address())
            {
                self.out.push(Output::Broadcast(ConsensusMessage::Proposal(p.proposal.clone())));
            }
        }
        if let Some(p) = self.own.proposal(self.round) {
            self.out.push(Output::Broadcast(ConsensusMessage::Proposal(p.clone())));
        }
        let votes: Vec<Output> =
            self.own.votes().map(|v| Output::Broadcast(ConsensusMessage::Vote(v.clone()))).collect();
        self.out.extend(votes);
        // Gossip's promise (what one correct validator received, all do) for the votes that
        // brought us into this round: their signers may be down, or wiped and unable to send
        // them again, and without them a validator left in an earlier round waits for ever
        // (found by the simulator: seeds 24502 and seven more).
        let me = self.address();
        let entry: Vec<Output> = self
            .votes
            .round_entry(self.round)
            .into_iter()
            .filter(|v| Some(v.validator) != me)
            .map(|v| Output::Broadcast(ConsensusMessage::Vote(v.clone())))
            .collect();
        self.out.extend(entry);
    }

    fn on_propose_block(&mut self, height: u64, round: u32, block: Block) {
        let current = height == self.height && round == self.round && self.step == Step::Propose;
        if current && self.is_proposer(round) && block.header.height == height {
            self.propose(block, None); // L18-L19
        }
    }
}
