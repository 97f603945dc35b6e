//! Consensus message handling: what peers send, decoded from protobuf bytes and fed into a
//! `cairn_consensus::Consensus` state machine (validator 0 of four), interleaved with timeouts,
//! its own blocks, crash-restarts from its WAL and well-formed votes and proposals from the
//! other validators (so that the fuzzer reaches prevote/precommit quorums and decisions, which
//! random bytes alone almost never do). Checked on every input:
//!
//! - nothing panics;
//! - validator 0 never signs two different votes for one (height, round, kind), nor two
//!   different proposals for one (height, round), across restarts included;
//! - at most one block is decided per height, with a certificate for that block that verifies
//!   against the validator set when signatures are checked;
//! - every WAL entry decodes back to itself.
//!
//! The first input byte chooses whether the state machine checks signatures (then the other
//! validators' messages are really signed) or not (`verify_signatures = false`, as the node
//! runs it after batch verification; faster, so the fuzzer goes deeper).
#![no_main]
use bytes::Bytes;
use cairn_consensus::{Consensus, ConsensusConfig, Input, Output, Timeout, TimeoutKind, WalEntry};
use cairn_proto::{
    pb, Address, Block, ConsensusMessage, Hash, Header, Keypair, Proposal, Signature, Validator, ValidatorSet, Vote,
    VoteKind,
};
use libfuzzer_sys::fuzz_target;
use prost::Message;
use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

const CHAIN: &str = "cairn-fuzz";
const VALIDATORS: usize = 4;
/// Inputs that take this many steps are cut short: deeper is not more interesting.
const MAX_STEPS: usize = 256;

fn keys() -> &'static [Keypair] {
    static KEYS: OnceLock<Vec<Keypair>> = OnceLock::new();
    KEYS.get_or_init(|| (0..VALIDATORS as u8).map(|i| Keypair::from_seed([i + 1; 32])).collect())
}

fn validator_set() -> ValidatorSet {
    ValidatorSet::new(keys().iter().map(|k| Validator { address: k.address(), power: 1 }).collect())
        .expect("four distinct validators")
}

/// One of two candidate blocks per height (no transactions: their checks are `decode_p2p`'s).
fn block(height: u64, variant: u8) -> Block {
    let header = Header {
        chain_id: CHAIN.into(),
        height,
        parent_hash: Hash::ZERO,
        timestamp_ms: 1_000 + u64::from(variant % 2),
        proposer: Address::ZERO,
        tx_root: Hash::ZERO,
        state_root: Hash::ZERO,
        tx_count: 0,
    };
    Block::new(header, vec![])
}

/// Reads the fuzzer's bytes one at a time; zeros once they run out.
struct Bytes8<'a>(&'a [u8]);

impl Bytes8<'_> {
    fn next(&mut self) -> u8 {
        let Some((b, rest)) = self.0.split_first() else { return 0 };
        self.0 = rest;
        *b
    }
    fn take(&mut self, n: usize) -> &[u8] {
        let (head, rest) = self.0.split_at(n.min(self.0.len()));
        self.0 = rest;
        head
    }
    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// What validator 0 signed, and what was decided: the invariants' memory.
#[derive(Default)]
struct Record {
    votes: HashMap<(u64, u32, VoteKind), Option<Hash>>,
    proposals: HashMap<(u64, u32), Hash>,
    decided: HashMap<u64, Hash>,
    wal: Vec<WalEntry>,
    /// Others' messages it was fed, as (validator or proposer, height, round, kind, value): it
    /// relays them (a re-proposal's polka, the valid block's proposal) but never invents one.
    received: HashSet<(Address, u64, u32, Option<VoteKind>, Option<Hash>)>,
}

struct Harness {
    machine: Consensus,
    config: ConsensusConfig,
    signed: bool,
    record: Record,
    /// The node owes `ProposeBlock` for these (height, round)s.
    build: Vec<(u64, u32)>,
}

impl Harness {
    fn new(signed: bool) -> Self {
        let config = ConsensusConfig { verify_signatures: signed, ..ConsensusConfig::default() };
        let mut h = Harness {
            machine: Consensus::new(config.clone(), CHAIN.into(), validator_set(), Some(keys()[0].clone())),
            config,
            signed,
            record: Record::default(),
            build: Vec::new(),
        };
        h.feed(Input::StartHeight { height: 1, validators: validator_set() });
        h
    }

    /// Feeds `input` and carries out the outputs as the node would: after a decision, the
    /// rest of the batch first, then `StartHeight` of the next height.
    fn feed(&mut self, input: Input) {
        let mut next = Some(input);
        while let Some(input) = next.take() {
            match &input {
                Input::Vote(v) => {
                    self.record.received.insert((v.validator, v.height, v.round, Some(v.kind), v.block_hash));
                }
                Input::Proposal { proposal: p, .. } => {
                    self.record.received.insert((p.proposer, p.height, p.round, None, Some(p.block.hash())));
                }
                _ => {}
            }
            for out in self.machine.handle(input) {
                if let Some(height) = self.check(out) {
                    next = Some(Input::StartHeight { height, validators: validator_set() });
                }
            }
        }
    }

    /// Checks one output; returns the next height to start after a decision.
    fn check(&mut self, out: Output) -> Option<u64> {
        match out {
            Output::WalAppend(entry) => {
                let back = WalEntry::decode(&entry.encode()).expect("a WAL entry decodes");
                assert_eq!(back, entry, "a WAL entry decodes to itself");
                self.record.wal.push(entry);
            }
            Output::Broadcast(ConsensusMessage::Vote(v)) if v.validator != keys()[0].address() => {
                let key = (v.validator, v.height, v.round, Some(v.kind), v.block_hash);
                assert!(self.record.received.contains(&key), "relays only votes it received: {v:?}");
            }
            Output::Broadcast(ConsensusMessage::Proposal(p)) if p.proposer != keys()[0].address() => {
                let key = (p.proposer, p.height, p.round, None, Some(p.block.hash()));
                assert!(self.record.received.contains(&key), "relays only proposals it received");
            }
            Output::Broadcast(ConsensusMessage::Vote(v)) => {
                let previous = self.record.votes.insert((v.height, v.round, v.kind), v.block_hash);
                assert!(previous.is_none_or(|p| p == v.block_hash), "two different votes signed: {v:?}");
            }
            Output::Broadcast(ConsensusMessage::Proposal(p)) => {
                let previous = self.record.proposals.insert((p.height, p.round), p.block.hash());
                assert!(previous.is_none_or(|h| h == p.block.hash()), "two different proposals signed");
            }
            Output::Decided { block, certificate } => {
                let height = block.header.height;
                assert_eq!(height, self.machine.height(), "decides the height it is at");
                assert_eq!(certificate.block_hash, block.hash(), "the certificate is for the block");
                if self.signed {
                    certificate.verify_for(CHAIN, &validator_set(), &block).expect("the certificate verifies");
                }
                let previous = self.record.decided.insert(height, block.hash());
                assert!(previous.is_none(), "height {height} decided twice");
                self.record.wal.clear(); // the node truncates its WAL after each commit
                self.build.clear();
                return Some(height + 1);
            }
            Output::BuildBlock { height, round } => self.build.push((height, round)),
            Output::ConflictingProposal { first, second } => {
                assert_eq!((first.proposer, first.height, first.round), (second.proposer, second.height, second.round));
                assert_ne!(first.block.hash(), second.block.hash(), "evidence of two different proposals");
            }
            Output::ScheduleTimeout(..) | Output::Evidence(_) | Output::NewRound { .. } => {}
        }
        None
    }

    /// A crash and restart: a new state machine that replays the WAL of the current height.
    fn restart(&mut self) {
        let height = self.machine.height();
        self.machine = Consensus::new(self.config.clone(), CHAIN.into(), validator_set(), Some(keys()[0].clone()));
        self.build.clear();
        self.feed(Input::StartHeight { height, validators: validator_set() });
        for entry in self.record.wal.clone() {
            self.feed(Input::Replay(entry));
        }
    }

    fn vote(&self, who: usize, kind: VoteKind, height: u64, round: u32, block_hash: Option<Hash>) -> Vote {
        if self.signed {
            Vote::new_signed(&keys()[who], CHAIN, kind, height, round, block_hash)
        } else {
            let validator = keys()[who].address();
            Vote { kind, height, round, block_hash, validator, signature: Signature([0; 64]) }
        }
    }

    fn proposal(&self, who: usize, height: u64, round: u32, pol_round: Option<u32>, block: Block) -> Proposal {
        if self.signed {
            Proposal::new_signed(&keys()[who], CHAIN, height, round, pol_round, block)
        } else {
            let proposer = keys()[who].address();
            Proposal { height, round, pol_round, block, proposer, signature: Signature([0; 64]) }
        }
    }

    /// A height near the current one: mostly the current, sometimes the one before or after.
    fn height_near(&self, b: u8) -> u64 {
        let h = self.machine.height();
        match b % 8 {
            0 => h.saturating_sub(1),
            1 => h + 1,
            _ => h,
        }
    }

    fn step(&mut self, data: &mut Bytes8<'_>) {
        match data.next() % 8 {
            // Raw protobuf from a peer: a length byte, then the bytes of a `ConsensusMessage`.
            0..=2 => {
                let len = usize::from(data.next());
                let raw = Bytes::copy_from_slice(data.take(len));
                let valid = data.next() & 1 == 1;
                let Ok(m) = pb::ConsensusMessage::decode(raw) else { return };
                match ConsensusMessage::from_pb(m, |_| None) {
                    Ok(ConsensusMessage::Vote(v)) => self.feed(Input::Vote(v)),
                    Ok(ConsensusMessage::Proposal(proposal)) => self.feed(Input::Proposal { proposal, valid }),
                    Err(_) => {}
                }
            }
            // A well-formed vote from another validator (or a replay of one of ours).
            3 | 4 => {
                let (who, flags, height, round, value) = (data.next(), data.next(), data.next(), data.next(), data.next());
                let kind = if flags & 1 == 0 { VoteKind::Prevote } else { VoteKind::Precommit };
                let height = self.height_near(height);
                let block_hash = match value % 4 {
                    0 => None,
                    3 => Some(Hash([value; 32])),
                    v => Some(block(height, v).hash()),
                };
                let vote = self.vote(usize::from(who) % VALIDATORS, kind, height, u32::from(round % 4), block_hash);
                // Sometimes sent through the wire format, to cover both paths.
                let vote = if flags & 2 == 0 {
                    vote
                } else {
                    Vote::from_pb(pb::Vote::decode(vote.to_pb().encode_to_vec().as_slice()).expect("decodes"))
                        .expect("a vote decodes")
                };
                self.feed(Input::Vote(vote));
            }
            // A well-formed proposal, by the round's proposer or by someone else.
            5 => {
                let (who, height, round, pol, flags) = (data.next(), data.next(), data.next(), data.next(), data.next());
                let (height, round) = (self.height_near(height), u32::from(round % 4));
                let who = if flags & 1 == 0 {
                    let proposer = validator_set().proposer(height, round).address;
                    keys().iter().position(|k| k.address() == proposer).expect("a validator")
                } else {
                    usize::from(who) % VALIDATORS
                };
                let pol_round = (pol % 5 != 4).then_some(u32::from(pol % 5)).filter(|p| *p < round);
                let proposal = self.proposal(who, height, round, pol_round, block(height, flags >> 1));
                self.feed(Input::Proposal { proposal, valid: flags & 4 == 0 });
            }
            // A timer fires (possibly a stale one).
            6 => {
                let (kind, height, round) = (data.next(), data.next(), data.next());
                let kind = [TimeoutKind::Propose, TimeoutKind::Prevote, TimeoutKind::Precommit, TimeoutKind::Rebroadcast]
                    [usize::from(kind % 4)];
                let timeout = Timeout { height: self.height_near(height), round: u32::from(round % 4), kind };
                self.feed(Input::TimeoutElapsed(timeout));
            }
            // The node answers a block request, or crashes and restarts.
            _ => {
                let choice = data.next();
                if choice & 1 == 0 && !self.build.is_empty() {
                    let (height, round) = self.build.remove(usize::from(choice >> 1) % self.build.len());
                    self.feed(Input::ProposeBlock { height, round, block: block(height, choice >> 1) });
                } else if choice & 2 == 0 {
                    self.restart();
                }
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let mut data = Bytes8(data);
    let signed = data.next() & 1 == 1;
    let mut h = Harness::new(signed);
    for _ in 0..MAX_STEPS {
        if data.is_empty() {
            break;
        }
        h.step(&mut data);
    }
});
