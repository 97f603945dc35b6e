//! The engine: owns the Tendermint state machine and carries out its outputs through the host's
//! ports, in order (a WAL append and the signing state are durable before anything after them).
//! Around the state machine it owns what every host would otherwise write again: the
//! future-height buffer, the validity rule `valid(v)`, block building, commit → next height,
//! acceptance of synced blocks, WAL replay order, the signing floor and evidence handling.
use crate::future::{height_and_signer, FutureBuffer};
use crate::signing::{first_signable_height, SignPoint};
use crate::sync::SyncedBlocks;
use crate::{BlockRules, EngineConfig, EngineError, Host, Signers, Timer, Tip};
use cairn_consensus::{Consensus, Input, Output, WalEntry};
use cairn_proto::{CertifiedBlock, ConsensusMessage};
use std::collections::VecDeque;
use std::time::Duration;

/// Everything that can happen to the engine. (Messages dominate and are the large variant:
/// boxing them would add an allocation per message for nothing.)
#[derive(Debug)]
#[allow(clippy::large_enum_variant)]
pub enum Event<P> {
    /// A consensus message from the network (signatures of its txs already checked).
    Message {
        from: P,
        msg: ConsensusMessage,
    },
    Timer(Timer),
    /// Blocks from sync, checked by `sync::verify_response`.
    Synced(SyncedBlocks),
}

/// What the engine holds in memory for heights and rounds not decided yet.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Held {
    pub future_messages: usize,
    pub future_bytes: usize,
    pub vote_rounds: usize,
    pub votes: usize,
    pub proposals: usize,
}

pub struct Engine<H: Host> {
    host: H,
    consensus: Consensus,
    cfg: EngineConfig,
    chain_id: String,
    signers: Signers,
    tip: Tip,
    future: FutureBuffer,
    last_sync_request_ms: Option<u64>,
    saved_sign: Option<SignPoint>,
}

impl<H: Host> Engine<H> {
    /// An engine on top of `tip` (the store's latest block), with the sets that sign the two
    /// heights after it. `consensus` must be fresh (height 0) and for the same chain. Nothing
    /// happens before `start`.
    pub fn new(host: H, consensus: Consensus, cfg: EngineConfig, signers: Signers, tip: Tip) -> Self {
        let most = signers.current.len().max(signers.next.len());
        let future = FutureBuffer::new(cfg.future_buffer_bytes, cfg.future_buffer_messages, most);
        Engine {
            chain_id: consensus.chain_id().to_string(),
            host,
            consensus,
            cfg,
            signers,
            tip,
            future,
            last_sync_request_ms: None,
            saved_sign: None,
        }
    }

    /// Starts the height after the tip: the signing floor from `saved` (the signing state),
    /// then the WAL entries of that height in their order, then whatever they imply.
    pub fn start(&mut self, wal: Vec<WalEntry>, saved: Option<SignPoint>) -> Result<(), EngineError> {
        let height = self.tip.height + 1;
        let floor = first_signable_height(saved, height, &wal);
        if floor > 0 {
            tracing::warn!(
                height,
                signed_up_to = floor - 1,
                "the signing state is ahead of the WAL (data wiped or restored?): not signing below height {floor}"
            );
            self.consensus.refuse_signing_below(floor);
        }
        self.saved_sign = saved;
        let validators = self.signers.current.clone();
        let mut out = self.consensus.handle(Input::StartHeight { height, validators });
        let mut replayed = 0;
        for entry in wal.into_iter().filter(|e| e.height() == height) {
            // A kill between the WAL append and the signing state leaves the state behind a
            // signature that the replay is about to send again: cover it first.
            self.cover(&entry)?;
            out.extend(self.consensus.handle(Input::Replay(entry)));
            replayed += 1;
        }
        tracing::info!(height, replayed, "consensus started");
        self.execute(out)
    }

    /// Handles one event. An error means the host could not persist: stop the node.
    pub fn handle(&mut self, event: Event<H::Peer>) -> Result<(), EngineError> {
        let out = match event {
            Event::Message { from, msg } => self.on_message(from, msg),
            Event::Timer(Timer::Consensus(t)) => self.consensus.handle(Input::TimeoutElapsed(t)),
            Event::Timer(Timer::Build { height, round }) => self.build(height, round),
            Event::Synced(blocks) => return self.on_synced(blocks),
        };
        self.execute(out)
    }

    pub fn host(&self) -> &H {
        &self.host
    }
    pub fn host_mut(&mut self) -> &mut H {
        &mut self.host
    }
    pub fn consensus(&self) -> &Consensus {
        &self.consensus
    }
    pub fn tip(&self) -> &Tip {
        &self.tip
    }
    /// The sets that sign the two heights after the tip.
    pub fn signers(&self) -> &Signers {
        &self.signers
    }

    pub fn held(&self) -> Held {
        let (future_messages, future_bytes) = self.future.held();
        let (vote_rounds, votes, proposals) = self.consensus.held();
        Held { future_messages, future_bytes, vote_rounds, votes, proposals }
    }

    fn rules(&self) -> BlockRules<'_> {
        BlockRules { chain_id: &self.chain_id, tip: &self.tip, signers: &self.signers, cfg: &self.cfg }
    }

    /// Current height: to the state machine. Later heights: kept (the near ones, within the
    /// buffer's bounds) and a sign that we are behind. Earlier heights: dropped.
    fn on_message(&mut self, from: H::Peer, msg: ConsensusMessage) -> Vec<Output> {
        let (height, signer) = height_and_signer(&msg);
        let current = self.consensus.height();
        if height > current {
            if height > current + 1 {
                self.host.on_in_step(false);
            }
            self.request_sync(Some(&from));
            if height <= current + self.cfg.future_heights {
                if let Err(why) = self.future.push(msg) {
                    tracing::debug!(height, %signer, ?why, "future-height message dropped");
                }
            }
            return Vec::new();
        }
        if height < current {
            return Vec::new();
        }
        self.host.on_progress();
        self.host.on_in_step(true);
        self.feed(msg)
    }

    /// Judges a proposal's block (`valid(v)`) and hands the message to the state machine.
    fn feed(&mut self, msg: ConsensusMessage) -> Vec<Output> {
        match msg {
            ConsensusMessage::Proposal(proposal) => {
                let valid = match self.rules().check(&proposal, self.host.now_ms()) {
                    Ok(()) => true,
                    Err(why) => {
                        tracing::warn!(height = proposal.height, round = proposal.round, %why, "invalid proposal");
                        self.host.on_invalid_proposal(&proposal, &why);
                        false
                    }
                };
                self.consensus.handle(Input::Proposal { proposal, valid })
            }
            ConsensusMessage::Vote(v) => self.consensus.handle(Input::Vote(v)),
        }
    }

    fn request_sync(&mut self, peer: Option<&H::Peer>) {
        let now = self.host.now_ms();
        if self.last_sync_request_ms.is_some_and(|t| now < t.saturating_add(self.cfg.sync_retry_ms)) {
            return;
        }
        self.last_sync_request_ms = Some(now);
        self.host.request_sync(self.tip.height + 1, peer);
    }

    /// The proposer's block for (height, round): the pool's best txs on the tip, our clock.
    fn build(&mut self, height: u64, round: u32) -> Vec<Output> {
        let Some(me) = self.consensus.address() else { return Vec::new() };
        if height != self.consensus.height() {
            return Vec::new();
        }
        let txs = self.host.reap(self.cfg.max_block_txs, self.cfg.max_block_bytes);
        let block = self.rules().build(txs, me, self.host.now_ms());
        tracing::debug!(height, round, txs = block.txs.len(), "proposing");
        self.consensus.handle(Input::ProposeBlock { height, round, block })
    }

    /// Carries out outputs in order; outputs produced on the way (a commit starts the next
    /// height) are carried out after them.
    fn execute(&mut self, outputs: Vec<Output>) -> Result<(), EngineError> {
        let mut queue: VecDeque<Output> = outputs.into();
        while let Some(o) = queue.pop_front() {
            match o {
                Output::WalAppend(entry) => self.log(&entry)?,
                Output::Broadcast(m) => self.host.broadcast(m),
                Output::ScheduleTimeout(t, d) => self.host.schedule(d, Timer::Consensus(t)),
                Output::BuildBlock { height, round } => {
                    // A proposer with nothing to propose waits a little for transactions, but
                    // only in round 0: a later round means the chain is already late.
                    let wait = if round == 0 { self.cfg.empty_block_interval_ms } else { 0 };
                    self.host.schedule_build(height, round, Duration::from_millis(wait));
                }
                Output::Decided { block, certificate } => {
                    queue.extend(self.commit(CertifiedBlock { block, certificate })?);
                }
                Output::Evidence(e) => {
                    tracing::warn!(validator = %e.first.validator, height = e.first.height, "equivocation detected");
                    self.host.on_evidence(&e);
                    self.host.broadcast_evidence(e);
                }
                Output::ConflictingProposal { first, second } => self.host.on_conflicting_proposal(&first, &second),
                Output::NewRound { height, round } => {
                    self.host.on_progress();
                    self.host.on_new_round(height, round);
                    if round > 0 {
                        tracing::info!(height, round, "new round");
                    }
                }
            }
        }
        Ok(())
    }

    /// WAL first, then (for own signatures) the signing state: both before the signature leaves.
    fn log(&mut self, entry: &WalEntry) -> Result<(), EngineError> {
        self.host.append(entry, entry.needs_sync())?;
        self.cover(entry)
    }

    /// Saves the signing state up to `entry` when it is an own signature the state is behind.
    fn cover(&mut self, entry: &WalEntry) -> Result<(), EngineError> {
        if let Some(point) = SignPoint::of(entry) {
            if self.saved_sign < Some(point) {
                self.host.save_signed(point)?;
                self.saved_sign = Some(point);
            }
        }
        Ok(())
    }

    /// Executes and persists a decided block, then starts the next height and feeds it the
    /// messages that arrived early.
    fn commit(&mut self, cb: CertifiedBlock) -> Result<Vec<Output>, EngineError> {
        let height = cb.block.header.height;
        if height != self.tip.height + 1 {
            return Ok(Vec::new()); // committed already (sync and consensus raced)
        }
        // Our own execution decided the next set; the certified header must say the same.
        let (header, ours) = (cb.block.header.next_validators_hash, self.signers.next.hash());
        if header != ours {
            return Err(EngineError::ValidatorSetDiverged {
                height,
                header: header.to_string(),
                ours: ours.to_string(),
            });
        }
        let committed = self.host.commit(&cb)?;
        self.host.committed(&cb.block.txs, &committed.touched);
        self.tip = committed.tip;
        if committed.later_set != self.signers.next {
            tracing::info!(
                from_height = height + 2,
                validators = committed.later_set.len(),
                total_power = committed.later_set.total_power(),
                "validator set changes"
            );
        }
        self.signers.advance(committed.later_set);
        self.future.set_signers(self.signers.current.len().max(self.signers.next.len()));
        tracing::info!(height, txs = cb.block.txs.len(), hash = %self.tip.hash, "committed");
        self.host.on_commit(&self.tip, &cb);
        self.host.on_progress();
        self.host.reset()?;
        let validators = self.signers.current.clone();
        let mut out = self.consensus.handle(Input::StartHeight { height: height + 1, validators });
        for m in self.future.take(height + 1) {
            out.extend(self.feed(m));
        }
        Ok(out)
    }

    /// Commits the next blocks of a verified sync answer; believes the responder's claimed
    /// height only when it sent at least one block we could verify.
    fn on_synced(&mut self, synced: SyncedBlocks) -> Result<(), EngineError> {
        let believed = synced.believed_height();
        for cb in synced.blocks {
            let out = self.commit(cb)?;
            self.execute(out)?;
        }
        self.host.on_syncing(believed.is_some_and(|h| h > self.tip.height));
        Ok(())
    }
}
