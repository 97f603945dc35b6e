//! The simulated world: a time-ordered event queue and lossy links. Time is virtual
//! milliseconds; ties break by insertion order, so a seed always replays the same run.
use cairn_consensus::{Input, Timeout};
use cairn_proto::{Block, Certificate, ConsensusMessage};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// What travels between simulated nodes.
#[derive(Clone, Debug)]
pub enum Msg {
    Consensus(Box<ConsensusMessage>),
    /// Block sync: "send me your decided blocks from `from_height` on".
    SyncRequest {
        from_height: u64,
    },
    SyncResponse(Vec<(Block, Certificate)>),
}

#[derive(Clone, Debug)]
pub enum Event {
    Deliver {
        to: usize,
        from: usize,
        msg: Msg,
    },
    /// A timer of incarnation `incarnation` of `node` (timers of a crashed incarnation die).
    Timer {
        node: usize,
        incarnation: u32,
        timeout: Timeout,
    },
    /// An input from the node's own side (block built, next height started).
    Local {
        node: usize,
        incarnation: u32,
        input: Box<Input>,
    },
    Crash {
        node: usize,
    },
    Restart {
        node: usize,
    },
}

/// One partition: during [start, end), nodes in different groups cannot talk.
#[derive(Clone, Debug)]
pub struct Partition {
    pub start: u64,
    pub end: u64,
    pub group: Vec<u8>,
}

/// Link behaviour. Before `gst` links drop, duplicate and partition; from `gst` on every
/// message arrives within `latency + jitter` (duplicates may still happen: they are harmless).
#[derive(Clone, Debug)]
pub struct LinkConfig {
    pub latency: u64,
    pub jitter: u64,
    pub drop: f64,
    pub dup: f64,
    pub gst: u64,
    pub partitions: Vec<Partition>,
}

pub struct World {
    pub now: u64,
    seq: u64,
    queue: BinaryHeap<Reverse<(u64, u64, usize)>>,
    events: Vec<Option<Event>>,
    pub rng: ChaCha8Rng,
    pub links: LinkConfig,
    pub delivered: u64,
}

impl World {
    pub fn new(rng: ChaCha8Rng, links: LinkConfig) -> Self {
        World { now: 0, seq: 0, queue: BinaryHeap::new(), events: Vec::new(), rng, links, delivered: 0 }
    }

    pub fn schedule(&mut self, at: u64, ev: Event) {
        self.seq += 1;
        self.events.push(Some(ev));
        self.queue.push(Reverse((at, self.seq, self.events.len() - 1)));
    }

    pub fn next(&mut self) -> Option<Event> {
        let Reverse((at, _, idx)) = self.queue.pop()?;
        self.now = at;
        self.events[idx].take()
    }

    fn partitioned(&self, a: usize, b: usize) -> bool {
        self.links.partitions.iter().any(|p| p.start <= self.now && self.now < p.end && p.group[a] != p.group[b])
    }

    /// Sends `msg` over the link from `from` to `to`: maybe dropped, maybe twice, jittered
    /// (so messages reorder).
    pub fn send(&mut self, from: usize, to: usize, msg: Msg) {
        let before_gst = self.now < self.links.gst;
        if before_gst && (self.partitioned(from, to) || self.rng.gen_bool(self.links.drop)) {
            return;
        }
        let copies = if self.rng.gen_bool(self.links.dup) { 2 } else { 1 };
        for _ in 0..copies {
            let delay = self.links.latency + self.rng.gen_range(0..=self.links.jitter);
            self.delivered += 1;
            self.schedule(self.now + delay, Event::Deliver { to, from, msg: msg.clone() });
        }
    }
}
