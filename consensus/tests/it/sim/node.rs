//! The "node" side of the simulation: what cairn-node does around the state machine. It
//! persists WAL entries and decided blocks (both survive a crash), answers `BuildBlock` with
//! an empty block on its chain, judges proposals by height and parent, buffers messages of
//! future heights, syncs decided blocks (with their certificates) from peers that are ahead,
//! and — for the equivocator — tampers with what it sends.
use super::net::{Event, Msg};
use super::Sim;
use cairn_consensus::{Consensus, Input, Output, WalEntry};
use cairn_proto::{Block, Certificate, ConsensusMessage, Hash, Header, Keypair, Proposal, Vote, VoteKind};
use rand::Rng;
use std::collections::BTreeMap;

pub struct SimNode {
    pub key: Keypair,
    pub honest: bool,
    pub equivocator: bool,
    /// `None` while crashed.
    pub consensus: Option<Consensus>,
    pub incarnation: u32,
    /// Persisted: survives crashes.
    pub wal: Vec<WalEntry>,
    /// Persisted decided blocks; `chain[i]` is height `i + 1`.
    pub chain: Vec<(Block, Certificate)>,
    future: Vec<ConsensusMessage>,
    sync_asked_at: Option<u64>,
    /// Block hashes seen at the current height (the equivocator votes for them at random).
    seen: Vec<Hash>,
    /// The equivocator's other vote per (height, round, kind): one conflicting vote per slot,
    /// re-sent on rebroadcast like the real one.
    other_votes: BTreeMap<(u64, u32, VoteKind), Vote>,
}

impl SimNode {
    pub fn new(key: Keypair, honest: bool, equivocator: bool) -> Self {
        SimNode {
            key,
            honest,
            equivocator,
            consensus: None,
            incarnation: 0,
            wal: vec![],
            chain: vec![],
            future: vec![],
            sync_asked_at: None,
            seen: vec![],
            other_votes: BTreeMap::new(),
        }
    }

    pub fn tip(&self) -> Hash {
        self.chain.last().map_or(Hash::ZERO, |(b, _)| b.hash())
    }

    pub fn next_height(&self) -> u64 {
        self.chain.len() as u64 + 1
    }
}

fn msg_height(m: &ConsensusMessage) -> u64 {
    match m {
        ConsensusMessage::Proposal(p) => p.height,
        ConsensusMessage::Vote(v) => v.height,
    }
}

impl Sim {
    fn node_input(&mut self, i: usize, input: Input) {
        let Some(c) = self.nodes[i].consensus.as_mut() else { return };
        let trace = self.trace.is_some_and(|t| self.world.now >= t);
        let before = trace.then(|| format!("{input:?}"));
        let outputs = c.handle(input);
        if let Some(before) = before {
            let state = format!("h{} r{} {:?}", c.height(), c.round(), c.step());
            println!("t={} n{i} [{state}] <- {}", self.world.now, before.chars().take(170).collect::<String>());
            for o in &outputs {
                let o = format!("{o:?}");
                println!("      -> {}", o.chars().take(170).collect::<String>());
            }
        }
        self.carry_out(i, outputs);
    }

    /// Carries out outputs in order, as the node does; may be killed part-way (before GST).
    fn carry_out(&mut self, i: usize, outputs: Vec<Output>) {
        let kill_at = (self.world.now < self.world.links.gst
            && !outputs.is_empty()
            && self.world.rng.gen_bool(self.scenario.kill_mid_batch))
        .then(|| self.world.rng.gen_range(0..outputs.len()));
        for (k, out) in outputs.into_iter().enumerate() {
            if kill_at == Some(k) {
                self.crash(i);
                let restart = (self.world.now + self.world.rng.gen_range(50..2_000)).min(self.world.links.gst);
                self.world.schedule(restart, Event::Restart { node: i });
                return;
            }
            self.output(i, out);
        }
    }

    fn output(&mut self, i: usize, out: Output) {
        let now = self.world.now;
        let inc = self.nodes[i].incarnation;
        match out {
            Output::WalAppend(entry) => {
                match &entry {
                    WalEntry::Proposal(p) => self.check.signed(i, &ConsensusMessage::Proposal(p.clone())),
                    WalEntry::Vote(v) => self.check.signed(i, &ConsensusMessage::Vote(v.clone())),
                    WalEntry::ValidBlock(_) => {} // someone else's proposal, not a signature of ours
                }
                self.nodes[i].wal.push(entry);
            }
            Output::Broadcast(m) => {
                self.check.signed(i, &m);
                self.broadcast(i, m);
            }
            Output::ScheduleTimeout(timeout, d) => {
                self.world.schedule(now + d.as_millis() as u64, Event::Timer { node: i, incarnation: inc, timeout })
            }
            Output::BuildBlock { height, round } => {
                let block = self.build_block(i, height, now);
                let input = Input::ProposeBlock { height, round, block };
                self.world.schedule(now, Event::Local { node: i, incarnation: inc, input: Box::new(input) });
            }
            Output::Decided { block, certificate } => self.commit(i, block, certificate),
            Output::Evidence(ev) => {
                if let Err(e) = ev.verify(&self.chain_id) {
                    self.check.violations.push(format!("node {i} emitted evidence that does not verify: {e}"));
                }
                self.check.evidence(i, ev.first.validator);
            }
            Output::NewRound { round, .. } => self.max_round = self.max_round.max(round),
        }
    }

    fn build_block(&self, i: usize, height: u64, now: u64) -> Block {
        let node = &self.nodes[i];
        let header = Header {
            chain_id: self.chain_id.clone(),
            height,
            parent_hash: node.tip(),
            timestamp_ms: now * 16 + i as u64, // distinct per instance: twins build different blocks
            proposer: node.key.address(),
            tx_root: Hash::ZERO,
            state_root: Hash::ZERO,
            tx_count: 0,
        };
        Block::new(header, vec![])
    }

    fn broadcast(&mut self, i: usize, m: ConsensusMessage) {
        for j in 0..self.nodes.len() {
            if j == i {
                continue;
            }
            let m =
                if self.nodes[i].equivocator && self.world.rng.gen_bool(0.5) { self.tamper(i, &m) } else { m.clone() };
            self.world.send(i, j, Msg::Consensus(Box::new(m)));
        }
    }

    /// The equivocator's conflicting version of its own message.
    fn tamper(&mut self, i: usize, m: &ConsensusMessage) -> ConsensusMessage {
        match m {
            ConsensusMessage::Vote(v) => {
                let node = &self.nodes[i];
                if let Some(other) = node.other_votes.get(&(v.height, v.round, v.kind)) {
                    return ConsensusMessage::Vote(other.clone());
                }
                let pick = self.world.rng.gen_range(0..=node.seen.len());
                let other = node.seen.get(pick).copied().filter(|h| Some(*h) != v.block_hash);
                let value =
                    if v.block_hash.is_some() && other.is_none() { None } else { other.or(Some(Hash([7; 32]))) };
                let other = Vote::new_signed(&node.key, &self.chain_id, v.kind, v.height, v.round, value);
                self.nodes[i].other_votes.insert((v.height, v.round, v.kind), other.clone());
                ConsensusMessage::Vote(other)
            }
            ConsensusMessage::Proposal(p) => {
                let at = self.world.now + 1 + self.world.rng.gen_range(0..1000);
                let mut block = self.build_block(i, p.height, at);
                if self.world.rng.gen_bool(0.3) {
                    block.header.parent_hash = Hash([9; 32]); // an invalid block
                }
                let node = &self.nodes[i];
                let p = Proposal::new_signed(&node.key, &self.chain_id, p.height, p.round, p.pol_round, block);
                ConsensusMessage::Proposal(p)
            }
        }
    }

    /// The node persists a decided block, then starts the next height.
    fn commit(&mut self, i: usize, block: Block, cert: Certificate) {
        let h = block.header.height;
        let node = &self.nodes[i];
        if h != node.next_height() {
            if node.chain.get(h as usize - 1).is_none_or(|(b, _)| b.hash() != block.hash()) {
                self.check.violations.push(format!("node {i} decided height {h} out of order or differently"));
            }
            return;
        }
        let (honest, parent) = (node.honest, node.tip());
        self.check.decided(i, honest, &block, &cert, parent, h, &self.chain_id, &self.validators);
        let node = &mut self.nodes[i];
        node.chain.push((block, cert));
        node.wal.retain(|e| e.height() > h); // the node truncates the WAL after a commit
        node.seen.clear();
        let input = Input::StartHeight { height: h + 1 };
        self.world
            .schedule(self.world.now, Event::Local { node: i, incarnation: node.incarnation, input: Box::new(input) });
    }

    pub(super) fn local(&mut self, i: usize, incarnation: u32, input: Input) {
        if self.nodes[i].incarnation != incarnation || self.nodes[i].consensus.is_none() {
            return;
        }
        let start = matches!(input, Input::StartHeight { .. });
        self.node_input(i, input);
        if start {
            self.refeed_future(i);
        }
    }

    fn refeed_future(&mut self, i: usize) {
        let Some(h) = self.nodes[i].consensus.as_ref().map(Consensus::height) else { return };
        let future = std::mem::take(&mut self.nodes[i].future);
        let (now, later): (Vec<_>, Vec<_>) = future.into_iter().partition(|m| msg_height(m) == h);
        self.nodes[i].future = later.into_iter().filter(|m| msg_height(m) > h).collect();
        for m in now {
            self.consensus_msg(i, m);
        }
    }

    pub(super) fn deliver(&mut self, to: usize, from: usize, msg: Msg) {
        if self.nodes[to].consensus.is_none() {
            return;
        }
        match msg {
            Msg::Consensus(m) => {
                let m = *m;
                let (h, cur) = (msg_height(&m), self.nodes[to].consensus.as_ref().map_or(0, Consensus::height));
                if h > cur {
                    if self.nodes[to].future.len() < 1_000 && h <= cur + 2 {
                        self.nodes[to].future.push(m);
                    }
                    self.maybe_sync(to, from);
                } else if h == cur {
                    self.consensus_msg(to, m);
                }
            }
            Msg::SyncRequest { from_height } => {
                let chain = &self.nodes[to].chain;
                let blocks: Vec<_> = chain.iter().skip(from_height as usize - 1).take(8).cloned().collect();
                if !blocks.is_empty() {
                    self.world.send(to, from, Msg::SyncResponse(blocks));
                }
            }
            Msg::SyncResponse(blocks) => self.synced(to, blocks),
        }
    }

    fn consensus_msg(&mut self, i: usize, m: ConsensusMessage) {
        let input = match m {
            ConsensusMessage::Proposal(p) => {
                let node = &mut self.nodes[i];
                let h = &p.block.header;
                let valid =
                    h.height == node.next_height() && h.parent_hash == node.tip() && h.chain_id == self.chain_id;
                node.seen.push(p.block.hash());
                Input::Proposal { proposal: p, valid }
            }
            ConsensusMessage::Vote(v) => Input::Vote(v),
        };
        self.node_input(i, input);
    }

    fn maybe_sync(&mut self, i: usize, peer: usize) {
        let now = self.world.now;
        if self.nodes[i].sync_asked_at.is_some_and(|t| now < t + 300) {
            return;
        }
        self.nodes[i].sync_asked_at = Some(now);
        let from_height = self.nodes[i].next_height();
        self.world.send(i, peer, Msg::SyncRequest { from_height });
    }

    /// Block sync: accept each next block whose certificate verifies, then start the height after.
    fn synced(&mut self, i: usize, blocks: Vec<(Block, Certificate)>) {
        let before = self.nodes[i].chain.len();
        for (block, cert) in blocks {
            let node = &self.nodes[i];
            let h = block.header.height;
            if h != node.next_height() || cert.verify_for(&self.chain_id, &self.validators, &block).is_err() {
                continue;
            }
            let (honest, parent) = (node.honest, node.tip());
            self.check.decided(i, honest, &block, &cert, parent, h, &self.chain_id, &self.validators);
            self.nodes[i].chain.push((block, cert));
        }
        let node = &mut self.nodes[i];
        if node.chain.len() > before {
            node.sync_asked_at = None;
            node.seen.clear();
            let h = node.next_height();
            node.wal.retain(|e| e.height() >= h);
            let input = Input::StartHeight { height: h };
            self.world.schedule(
                self.world.now,
                Event::Local { node: i, incarnation: node.incarnation, input: Box::new(input) },
            );
        }
    }

    pub(super) fn crash(&mut self, i: usize) {
        let node = &mut self.nodes[i];
        if node.consensus.take().is_some() {
            node.incarnation += 1;
            node.future.clear();
            node.sync_asked_at = None;
            self.crashes += 1;
        }
    }

    /// A fresh process: new state machine, StartHeight at the persisted tip, WAL replay.
    pub(super) fn restart(&mut self, i: usize) {
        if self.nodes[i].consensus.is_some() {
            return;
        }
        let key = self.nodes[i].key.clone();
        let c = Consensus::new(self.config.clone(), self.chain_id.clone(), self.validators.clone(), Some(key));
        self.nodes[i].consensus = Some(c);
        let h = self.nodes[i].next_height();
        self.node_input(i, Input::StartHeight { height: h });
        let entries: Vec<WalEntry> = self.nodes[i].wal.iter().filter(|e| e.height() == h).cloned().collect();
        for e in entries {
            self.node_input(i, Input::Replay(e));
        }
    }
}
