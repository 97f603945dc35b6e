//! The consensus driver: the one thread that owns the sans-IO state machine, the WAL and the
//! state store's write side. It turns network messages, timers and synced blocks into inputs,
//! and carries out the outputs in order (WAL append + fsync before anything after it).
use super::blocks::BlockRules;
use super::metrics::NodeMetrics;
use super::shared::{Shared, Tip};
use super::wal::Wal;
use crate::config::ConsensusSection;
use anyhow::{Context, Result};
use cairn_consensus::{Consensus, Input, Output, Timeout, WalEntry};
use cairn_mempool::Mempool;
use cairn_network::NetworkHandle;
use cairn_proto::{Address, Block, CertifiedBlock, ConsensusMessage};
use cairn_state::State;
use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// Messages further ahead than this many heights are dropped (sync catches us up instead).
const FUTURE_HEIGHTS: u64 = 2;
/// At most this many buffered future messages.
const FUTURE_MAX: usize = 20_000;

pub enum DriverEvent {
    /// A decoded consensus message (block txs already verified).
    Message(ConsensusMessage),
    Timeout(Timeout),
    /// The proposer's wait for transactions is over: build the block for (height, round) now.
    BuildNow {
        height: u64,
        round: u32,
    },
    /// A block with a verified certificate, from block sync.
    Synced(CertifiedBlock),
    Shutdown,
}

pub struct Driver {
    pub consensus: Consensus,
    pub wal: Wal,
    pub state: State,
    pub mempool: Arc<Mempool>,
    pub net: NetworkHandle,
    pub shared: Arc<Shared>,
    pub cfg: ConsensusSection,
    pub chain_id: String,
    pub me: Option<Address>,
    pub events: mpsc::Sender<DriverEvent>,
    pub rt: tokio::runtime::Handle,
    pub metrics: NodeMetrics,
    future: BTreeMap<u64, Vec<ConsensusMessage>>,
    future_len: usize,
    /// Set when messages show the network is ahead of us: the sync task should hurry.
    pub behind: Arc<tokio::sync::Notify>,
}

impl Driver {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        consensus: Consensus,
        wal: Wal,
        state: State,
        mempool: Arc<Mempool>,
        net: NetworkHandle,
        shared: Arc<Shared>,
        cfg: ConsensusSection,
        chain_id: String,
        me: Option<Address>,
        events: mpsc::Sender<DriverEvent>,
        metrics: NodeMetrics,
        behind: Arc<tokio::sync::Notify>,
    ) -> Self {
        Driver {
            consensus,
            wal,
            state,
            mempool,
            net,
            shared,
            cfg,
            chain_id,
            me,
            events,
            rt: tokio::runtime::Handle::current(),
            metrics,
            future: BTreeMap::new(),
            future_len: 0,
            behind,
        }
    }

    /// Starts the next height, replays this height's WAL records, then serves events until
    /// `Shutdown` or the channel closes.
    pub fn run(mut self, wal_records: Vec<Vec<u8>>, mut rx: mpsc::Receiver<DriverEvent>) -> Result<()> {
        let height = self.state.latest_height() + 1;
        let mut out = self.consensus.handle(Input::StartHeight { height });
        let mut replayed = 0;
        for r in wal_records {
            let entry = WalEntry::decode(&r).context("consensus WAL holds an undecodable record")?;
            if entry.height() == height {
                out.extend(self.consensus.handle(Input::Replay(entry)));
                replayed += 1;
            }
        }
        tracing::info!(height, replayed, "consensus started");
        self.execute(out)?;
        while let Some(ev) = rx.blocking_recv() {
            let out = match ev {
                DriverEvent::Message(m) => self.feed(m),
                DriverEvent::Timeout(t) => self.consensus.handle(Input::TimeoutElapsed(t)),
                DriverEvent::BuildNow { height, round } => self.propose(height, round),
                DriverEvent::Synced(cb) => self.commit(cb)?,
                DriverEvent::Shutdown => break,
            };
            self.execute(out)?;
        }
        tracing::info!("consensus driver stopped");
        Ok(())
    }

    fn rules<'a>(&'a self, tip: &'a Tip) -> BlockRules<'a> {
        BlockRules { chain_id: &self.chain_id, tip, state_root: self.state.state_root(), cfg: &self.cfg }
    }

    /// Feeds a message of the current height; buffers near-future ones; drops the rest.
    fn feed(&mut self, m: ConsensusMessage) -> Vec<Output> {
        let height = match &m {
            ConsensusMessage::Proposal(p) => p.height,
            ConsensusMessage::Vote(v) => v.height,
        };
        let current = self.consensus.height();
        if height > current {
            if height > current + FUTURE_HEIGHTS {
                self.behind.notify_one();
            } else if self.future_len < FUTURE_MAX {
                self.future.entry(height).or_default().push(m);
                self.future_len += 1;
            }
            return vec![];
        }
        if height < current {
            return vec![];
        }
        self.shared.progressed();
        match m {
            ConsensusMessage::Proposal(proposal) => {
                let tip = self.shared.tip();
                let valid = match self.rules(&tip).check(&proposal) {
                    Ok(()) => true,
                    Err(why) => {
                        tracing::warn!(height, round = proposal.round, %why, "invalid proposal");
                        false
                    }
                };
                self.consensus.handle(Input::Proposal { proposal, valid })
            }
            ConsensusMessage::Vote(v) => self.consensus.handle(Input::Vote(v)),
        }
    }

    fn propose(&mut self, height: u64, round: u32) -> Vec<Output> {
        let (Some(me), true) = (self.me, height == self.consensus.height()) else { return vec![] };
        let tip = self.shared.tip();
        let block: Block = self.rules(&tip).build(&self.mempool, me);
        tracing::debug!(height, round, txs = block.txs.len(), "proposing");
        self.consensus.handle(Input::ProposeBlock { height, round, block })
    }

    /// Carries out outputs in order; outputs produced on the way (a commit starts the next
    /// height) are carried out after them.
    fn execute(&mut self, outputs: Vec<Output>) -> Result<()> {
        let mut queue: VecDeque<Output> = outputs.into();
        while let Some(o) = queue.pop_front() {
            match o {
                Output::WalAppend(e) => self.wal.append(&e.encode())?,
                Output::Broadcast(m) => self.net.broadcast_consensus(m.to_pb()),
                Output::ScheduleTimeout(t, d) => self.after(d, DriverEvent::Timeout(t)),
                Output::BuildBlock { height, round } => self.schedule_build(height, round),
                Output::Decided { block, certificate } => {
                    queue.extend(self.commit(CertifiedBlock { block, certificate })?);
                }
                Output::Evidence(e) => {
                    tracing::warn!(validator = %e.first.validator, height = e.first.height, "equivocation detected");
                    self.net.broadcast_evidence(e.to_pb());
                    self.shared.add_evidence(e);
                }
                Output::NewRound { height, round } => {
                    self.shared.progressed();
                    if round > 0 {
                        tracing::info!(height, round, "new round");
                    }
                }
            }
        }
        Ok(())
    }

    fn after(&self, d: Duration, ev: DriverEvent) {
        let tx = self.events.clone();
        self.rt.spawn(async move {
            tokio::time::sleep(d).await;
            // The driver has stopped when this fails; nothing to do.
            let _ = tx.send(ev).await;
        });
    }

    /// With transactions waiting, propose at once; when idle, wait for the first transaction
    /// or the empty-block interval since the last block, whichever comes first.
    fn schedule_build(&self, height: u64, round: u32) {
        if self.mempool.status().size > 0 || round > 0 {
            let out = DriverEvent::BuildNow { height, round };
            self.after(Duration::ZERO, out);
            return;
        }
        let (tx, mempool) = (self.events.clone(), self.mempool.clone());
        let deadline = tokio::time::Instant::now() + Duration::from_millis(self.cfg.empty_block_interval_ms);
        self.rt.spawn(async move {
            while tokio::time::Instant::now() < deadline && mempool.status().size == 0 {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            let _ = tx.send(DriverEvent::BuildNow { height, round }).await;
        });
    }

    /// Executes and persists a decided block, then starts the next height.
    fn commit(&mut self, cb: CertifiedBlock) -> Result<Vec<Output>> {
        let height = cb.block.header.height;
        if height != self.state.latest_height() + 1 {
            return Ok(vec![]); // already committed (sync and consensus raced), or not next
        }
        let outcome = self.state.commit_block(&cb).with_context(|| format!("committing block {height}"))?;
        self.mempool.on_commit(&cb.block.txs, &outcome.touched);
        let prev = self.shared.tip();
        if height > 1 {
            let dt = cb.block.header.timestamp_ms.saturating_sub(prev.timestamp_ms);
            self.metrics.block_interval.observe(dt as f64 / 1000.0);
        }
        self.metrics.committed_txs.inc_by(cb.block.txs.len() as u64);
        let tip = Tip {
            height,
            hash: cb.block.hash(),
            state_root: outcome.state_root,
            timestamp_ms: cb.block.header.timestamp_ms,
        };
        tracing::info!(height, txs = cb.block.txs.len(), hash = %tip.hash, "committed");
        self.shared.advance(tip, cb.block.txs.len() as u32);
        self.wal.reset()?;
        let mut out = self.consensus.handle(Input::StartHeight { height: height + 1 });
        self.future = self.future.split_off(&(height + 1));
        if let Some(msgs) = self.future.remove(&(height + 1)) {
            self.future_len = self.future.values().map(Vec::len).sum();
            for m in msgs {
                out.extend(self.feed(m));
            }
        }
        Ok(out)
    }
}
