//! The simulated world: a time-ordered event queue and lossy links. Time is virtual
//! milliseconds; ties break by insertion order, so a seed always replays the same run.
use cairn_engine::Timer;
use cairn_proto::{pb, ConsensusMessage};
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
    SyncResponse {
        from_height: u64,
        resp: Box<pb::SyncResponse>,
    },
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
        timer: Timer,
    },
    Crash {
        node: usize,
    },
    Restart {
        node: usize,
    },
    /// The node's data directory (blocks, WAL) is lost; its signing state is kept.
    Wipe {
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

/// A slow link: messages sent from `from` to `to` before `until` take `extra` ms longer
/// (only proposals, when `proposals_only`: big blocks travel slower than votes).
#[derive(Clone, Debug)]
pub struct SlowLink {
    pub until: u64,
    pub from: usize,
    pub to: usize,
    pub extra: u64,
    pub proposals_only: bool,
}

/// Link behaviour. Before `gst` links drop, duplicate, partition and are slow; from `gst` on
/// every message arrives within `latency + jitter` (duplicates may still happen: harmless).
#[derive(Clone, Debug, Default)]
pub struct LinkConfig {
    pub latency: u64,
    pub jitter: u64,
    pub drop: f64,
    pub dup: f64,
    pub gst: u64,
    pub partitions: Vec<Partition>,
    pub slow: Vec<SlowLink>,
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

    /// Whether a partition is still to heal (or healing now).
    pub fn partitioned(&self, a: usize, b: usize) -> bool {
        self.links.partitions.iter().any(|p| p.start <= self.now && self.now < p.end && p.group[a] != p.group[b])
    }

    fn extra_delay(&self, from: usize, to: usize, msg: &Msg) -> u64 {
        let proposal = matches!(msg, Msg::Consensus(m) if matches!(**m, ConsensusMessage::Proposal(_)));
        self.links
            .slow
            .iter()
            .filter(|s| s.from == from && s.to == to && self.now < s.until && (proposal || !s.proposals_only))
            .map(|s| s.extra)
            .max()
            .unwrap_or(0)
    }

    /// Sends `msg` over the link from `from` to `to`: maybe dropped, maybe twice, jittered
    /// (so messages reorder), maybe slow.
    pub fn send(&mut self, from: usize, to: usize, msg: Msg) {
        let before_gst = self.now < self.links.gst;
        if before_gst && (self.partitioned(from, to) || self.rng.gen_bool(self.links.drop)) {
            return;
        }
        let copies = if self.rng.gen_bool(self.links.dup) { 2 } else { 1 };
        let extra = self.extra_delay(from, to, &msg);
        for _ in 0..copies {
            let delay = self.links.latency + self.rng.gen_range(0..=self.links.jitter) + extra;
            self.delivered += 1;
            self.schedule(self.now + delay, Event::Deliver { to, from, msg: msg.clone() });
        }
    }
}
