//! Scripted scenarios: one behaviour per test, driven input by input.
use cairn_consensus::{Consensus, ConsensusConfig, Input, Output, Step, Timeout, TimeoutKind, WalEntry};
use cairn_proto::{
    Address, Block, Certificate, ConsensusMessage, Hash, Header, Keypair, Proposal, Validator, ValidatorSet, Vote,
    VoteKind,
};
use proptest::prelude::*;
use std::collections::VecDeque;
use std::time::Duration;

const CHAIN: &str = "test";

fn keys(n: usize) -> (Vec<Keypair>, ValidatorSet) {
    let keys: Vec<Keypair> = (0..n).map(|i| Keypair::from_seed([i as u8 + 1; 32])).collect();
    let set = ValidatorSet::new(keys.iter().map(|k| Validator { address: k.address(), power: 1 }).collect()).unwrap();
    // Order keys like the set (by address) so that `keys[i]` is validator i.
    let mut keys = keys;
    keys.sort_by_key(|k| k.address());
    (keys, set)
}

fn block(height: u64, salt: u64) -> Block {
    let header = Header {
        chain_id: CHAIN.into(),
        height,
        parent_hash: Hash::ZERO,
        timestamp_ms: salt,
        proposer: Address::ZERO,
        tx_root: Hash::ZERO,
        state_root: Hash::ZERO,
        tx_count: 0,
        next_validators_hash: cairn_proto::Hash::ZERO,
    };
    Block::new(header, vec![])
}

fn node(key: Option<&Keypair>, set: &ValidatorSet) -> Consensus {
    let mut c = Consensus::new(ConsensusConfig::default(), CHAIN.into(), set.clone(), key.cloned());
    let _ = c.handle(Input::StartHeight { height: 1, validators: set.clone() });
    c
}

fn votes_in(out: &[Output]) -> Vec<Vote> {
    out.iter()
        .filter_map(|o| match o {
            Output::Broadcast(ConsensusMessage::Vote(v)) => Some(v.clone()),
            _ => None,
        })
        .collect()
}

fn wal_in(out: &[Output]) -> Vec<WalEntry> {
    out.iter()
        .filter_map(|o| match o {
            Output::WalAppend(e) => Some(e.clone()),
            _ => None,
        })
        .collect()
}

/// Delivers every broadcast to every other node at once; no timeouts.
fn run_lockstep(nodes: &mut [Consensus]) -> Vec<Option<(Block, Certificate)>> {
    let mut decided = vec![None; nodes.len()];
    let mut queue: VecDeque<(usize, Input)> = VecDeque::new();
    let mut pending: Vec<(usize, Vec<Output>)> = vec![];
    for (i, n) in nodes.iter_mut().enumerate() {
        pending.push((i, {
            let validators = n.validators().clone();
            n.handle(Input::StartHeight { height: 1, validators })
        }));
    }
    loop {
        for (i, outs) in pending.drain(..) {
            for o in outs {
                match o {
                    Output::Broadcast(m) => {
                        for j in (0..decided.len()).filter(|j| *j != i) {
                            let input = match &m {
                                ConsensusMessage::Proposal(p) => Input::Proposal { proposal: p.clone(), valid: true },
                                ConsensusMessage::Vote(v) => Input::Vote(v.clone()),
                            };
                            queue.push_back((j, input));
                        }
                    }
                    Output::BuildBlock { height, round } => {
                        queue.push_back((i, Input::ProposeBlock { height, round, block: block(height, 1) }))
                    }
                    Output::Decided { block, certificate } => decided[i] = Some((block, certificate)),
                    _ => {}
                }
            }
        }
        let Some((i, input)) = queue.pop_front() else { break };
        pending.push((i, nodes[i].handle(input)));
    }
    decided
}

#[test]
fn four_validators_and_an_observer_decide_one_block_with_a_certificate() {
    let (keys, set) = keys(4);
    let mut nodes: Vec<Consensus> = keys
        .iter()
        .map(|k| Consensus::new(ConsensusConfig::default(), CHAIN.into(), set.clone(), Some(k.clone())))
        .collect();
    nodes.push(Consensus::new(ConsensusConfig::default(), CHAIN.into(), set.clone(), None));
    let decided = run_lockstep(&mut nodes);
    let (b0, c0) = decided[0].clone().expect("validator 0 decided");
    c0.verify_for(CHAIN, &set, &b0).expect("certificate verifies on its own");
    assert_eq!(c0.round, 0);
    for d in &decided {
        assert_eq!(d.as_ref().map(|(b, _)| b.hash()), Some(b0.hash()));
    }
    assert!(nodes.iter().all(|n| n.step() == Step::Commit));
    assert_eq!(nodes[4].stats().decisions, 1);
}

#[test]
fn every_own_message_goes_to_the_wal_before_it_is_broadcast() {
    let (keys, set) = keys(4);
    let proposer = set.proposer(1, 0).address;
    let k = keys.iter().find(|k| k.address() == proposer).unwrap();
    let mut c = Consensus::new(ConsensusConfig::default(), CHAIN.into(), set.clone(), Some(k.clone()));
    let out = c.handle(Input::StartHeight { height: 1, validators: set.clone() });
    assert!(out.iter().any(|o| matches!(o, Output::BuildBlock { height: 1, round: 0 })));
    let out = c.handle(Input::ProposeBlock { height: 1, round: 0, block: block(1, 5) });
    let wal_at = out.iter().position(|o| matches!(o, Output::WalAppend(WalEntry::Proposal(_)))).unwrap();
    let sent_at = out.iter().position(|o| matches!(o, Output::Broadcast(ConsensusMessage::Proposal(_)))).unwrap();
    assert!(wal_at < sent_at);
    // Its own proposal makes it prevote at once, again WAL first.
    let wal_vote = out.iter().position(|o| matches!(o, Output::WalAppend(WalEntry::Vote(_)))).unwrap();
    let sent_vote = out.iter().position(|o| matches!(o, Output::Broadcast(ConsensusMessage::Vote(_)))).unwrap();
    assert!(wal_at < wal_vote && wal_vote < sent_vote);
    assert_eq!(c.step(), Step::Prevote);
}

/// The validator that is not the proposer of (1, 0) or (1, 1).
fn bystander(keys: &[Keypair], set: &ValidatorSet) -> (usize, Keypair) {
    let skip = [set.proposer(1, 0).address, set.proposer(1, 1).address];
    keys.iter().cloned().enumerate().find(|(_, k)| !skip.contains(&k.address())).unwrap()
}

fn proposal_for(keys: &[Keypair], set: &ValidatorSet, round: u32, pol: Option<u32>, b: Block) -> Proposal {
    let who = set.proposer(1, round).address;
    Proposal::new_signed(keys.iter().find(|k| k.address() == who).unwrap(), CHAIN, 1, round, pol, b)
}

#[test]
fn a_restarted_validator_keeps_its_lock_and_never_signs_twice() {
    let (keys, set) = keys(4);
    let (me, key) = bystander(&keys, &set);
    let mut c = node(Some(&key), &set);
    let x = block(1, 10);
    let mut wal = vec![];
    let out = c.handle(Input::Proposal { proposal: proposal_for(&keys, &set, 0, None, x.clone()), valid: true });
    wal.extend(wal_in(&out));
    assert_eq!(votes_in(&out)[0].block_hash, Some(x.hash()));
    // Two more prevotes for X: a polka, so it locks on X and precommits X.
    for k in keys.iter().enumerate().filter(|(i, _)| *i != me).take(2).map(|(_, k)| k) {
        let out = c.handle(Input::Vote(Vote::new_signed(k, CHAIN, VoteKind::Prevote, 1, 0, Some(x.hash()))));
        wal.extend(wal_in(&out));
    }
    assert_eq!(c.locked(), Some((0, x.hash())));
    // Logged: the prevote, the block it locks on and the others' two prevotes of its polka
    // (before the precommit), the precommit.
    assert!(matches!(
        wal.as_slice(),
        [WalEntry::Vote(pv), WalEntry::ValidBlock(p), WalEntry::SeenVote(a), WalEntry::SeenVote(b), WalEntry::Vote(pc)]
            if pv.kind == VoteKind::Prevote && p.block.hash() == x.hash() && pc.kind == VoteKind::Precommit
                && a.block_hash == Some(x.hash()) && b.block_hash == Some(x.hash()) && a.validator != b.validator
    ));

    // kill -9, restart, replay.
    let mut c = node(Some(&key), &set);
    for e in &wal {
        assert!(c.handle(Input::Replay(WalEntry::decode(&e.encode()).unwrap())).is_empty());
    }
    // The next input restores round, step and lock; a prevote timeout must not produce a new
    // prevote or precommit for round 0 (both were signed before the crash).
    let out = c.handle(Input::TimeoutElapsed(Timeout { height: 1, round: 0, kind: TimeoutKind::Propose }));
    assert!(wal_in(&out).is_empty(), "nothing new signed: {out:?}");
    assert_eq!(c.step(), Step::Precommit);
    assert_eq!(c.locked(), Some((0, x.hash())));
    let resent = votes_in(&out);
    assert!(resent.iter().any(|v| v.kind == VoteKind::Precommit && v.block_hash == Some(x.hash())));

    // Round 1 proposes another block Y without a proof of lock: the locked validator prevotes nil.
    let _ = c.handle(Input::TimeoutElapsed(Timeout { height: 1, round: 0, kind: TimeoutKind::Precommit }));
    assert_eq!(c.round(), 1);
    let y = block(1, 11);
    let out = c.handle(Input::Proposal { proposal: proposal_for(&keys, &set, 1, None, y), valid: true });
    let v = votes_in(&out);
    assert_eq!((v[0].kind, v[0].round, v[0].block_hash), (VoteKind::Prevote, 1, None));
}

#[test]
fn a_restarted_validator_re_proposes_the_block_it_is_locked_on() {
    let (keys, set) = keys(4);
    let (me, key) = bystander(&keys, &set);
    let mut c = node(Some(&key), &set);
    let x = block(1, 10);
    let mut wal =
        wal_in(&c.handle(Input::Proposal { proposal: proposal_for(&keys, &set, 0, None, x.clone()), valid: true }));
    for k in keys.iter().enumerate().filter(|(i, _)| *i != me).take(2).map(|(_, k)| k) {
        wal.extend(wal_in(&c.handle(Input::Vote(Vote::new_signed(k, CHAIN, VoteKind::Prevote, 1, 0, Some(x.hash()))))));
    }
    let mut c = node(Some(&key), &set);
    for e in wal {
        let _ = c.handle(Input::Replay(e));
    }
    // Time out rounds until it is the proposer: it proposes X with its proof-of-lock round,
    // without asking the node for a new block.
    for round in 0..4 {
        let out = c.handle(Input::TimeoutElapsed(Timeout { height: 1, round, kind: TimeoutKind::Precommit }));
        if set.proposer(1, round + 1).address == key.address() {
            assert!(!out.iter().any(|o| matches!(o, Output::BuildBlock { .. })));
            let p = out.iter().find_map(|o| match o {
                Output::Broadcast(ConsensusMessage::Proposal(p)) => Some(p),
                _ => None,
            });
            let p = p.expect("re-proposal");
            assert_eq!((p.block.hash(), p.pol_round, p.round), (x.hash(), Some(0), round + 1));
            return;
        }
    }
    panic!("never the proposer in rounds 1..=4");
}

/// A validator that left round 0 before its polka arrived takes the polka as its valid value
/// when it comes late (relayed with round 1's re-proposal), and re-proposes that block when
/// its own turn comes, instead of a fresh block that a validator locked on it would refuse.
#[test]
fn a_polka_seen_after_its_round_is_re_proposed() {
    let (keys, set) = keys(4);
    let (me, key) = bystander(&keys, &set);
    let mut c = node(Some(&key), &set);
    let x = block(1, 10);
    // Round 0 passes without the proposal or any block vote reaching us.
    let _ = c.handle(Input::TimeoutElapsed(Timeout { height: 1, round: 0, kind: TimeoutKind::Propose }));
    let _ = c.handle(Input::TimeoutElapsed(Timeout { height: 1, round: 0, kind: TimeoutKind::Precommit }));
    assert_eq!((c.round(), c.valid()), (1, None));
    // Round 1: X re-proposed with pol_round 0, then the three prevotes of round 0 for X.
    let _ = c.handle(Input::Proposal { proposal: proposal_for(&keys, &set, 1, Some(0), x.clone()), valid: true });
    for k in keys.iter().enumerate().filter(|(i, _)| *i != me).map(|(_, k)| k) {
        let _ = c.handle(Input::Vote(Vote::new_signed(k, CHAIN, VoteKind::Prevote, 1, 0, Some(x.hash()))));
    }
    assert_eq!(c.valid(), Some((0, x.hash())), "the late polka is the valid value");
    assert_eq!(c.locked(), None, "a late polka does not lock");
    for round in 1..5 {
        let out = c.handle(Input::TimeoutElapsed(Timeout { height: 1, round, kind: TimeoutKind::Precommit }));
        if set.proposer(1, round + 1).address == key.address() {
            let p = out.iter().find_map(|o| match o {
                Output::Broadcast(ConsensusMessage::Proposal(p)) => Some(p),
                _ => None,
            });
            let p = p.expect("a re-proposal, not a request for a fresh block");
            assert_eq!((p.block.hash(), p.pol_round), (x.hash(), Some(0)));
            return;
        }
    }
    panic!("never the proposer in rounds 2..=5");
}

/// The votes that brought a validator into its round are relayed with its rebroadcast, so a
/// validator left in the round before follows even when their signers cannot send them again
/// (down, or wiped and mute at this height). Without the relay four simulated validators stayed
/// in rounds 0 and 1 for good (sim seed 24502).
#[test]
fn the_votes_that_ended_a_round_are_relayed() {
    let (keys, set) = keys(4);
    let mut ahead = node(Some(&keys[0]), &set);
    let mut behind = node(None, &set);
    let precommits: Vec<Vote> =
        keys[1..].iter().map(|k| Vote::new_signed(k, CHAIN, VoteKind::Precommit, 1, 0, None)).collect();
    for v in &precommits {
        let _ = ahead.handle(Input::Vote(v.clone()));
    }
    let _ = ahead.handle(Input::TimeoutElapsed(Timeout { height: 1, round: 0, kind: TimeoutKind::Precommit }));
    assert_eq!(ahead.round(), 1);
    let out = ahead.handle(Input::TimeoutElapsed(Timeout { height: 1, round: 1, kind: TimeoutKind::Rebroadcast }));
    let relayed: Vec<Vote> = votes_in(&out).into_iter().filter(|v| v.validator != keys[0].address()).collect();
    assert_eq!(relayed, precommits, "the round's entry, one precommit per validator");
    for v in relayed {
        let _ = behind.handle(Input::Vote(v));
    }
    let _ = behind.handle(Input::TimeoutElapsed(Timeout { height: 1, round: 0, kind: TimeoutKind::Precommit }));
    assert_eq!(behind.round(), 1, "the relayed precommits end round 0 for the validator behind");
}

#[test]
fn a_height_is_never_restarted() {
    let (keys, set) = keys(4);
    let (_, key) = bystander(&keys, &set);
    let mut c = node(Some(&key), &set);
    let out = c.handle(Input::Proposal { proposal: proposal_for(&keys, &set, 0, None, block(1, 1)), valid: true });
    assert_eq!(votes_in(&out).len(), 1);
    assert!(c.handle(Input::StartHeight { height: 1, validators: set.clone() }).is_empty());
    assert_eq!(c.step(), Step::Prevote, "state kept");
    // The same proposal again is a duplicate: no second prevote.
    let out = c.handle(Input::Proposal { proposal: proposal_for(&keys, &set, 0, None, block(1, 2)), valid: true });
    assert!(votes_in(&out).is_empty());
}

#[test]
fn conflicting_votes_become_evidence_once() {
    let (keys, set) = keys(4);
    let mut c = node(None, &set);
    let a = Vote::new_signed(&keys[2], CHAIN, VoteKind::Prevote, 1, 0, Some(Hash([1; 32])));
    let b = Vote::new_signed(&keys[2], CHAIN, VoteKind::Prevote, 1, 0, None);
    assert!(c.handle(Input::Vote(a.clone())).is_empty());
    let out = c.handle(Input::Vote(b.clone()));
    let ev: Vec<_> = out.iter().filter_map(|o| if let Output::Evidence(e) = o { Some(e) } else { None }).collect();
    assert_eq!(ev.len(), 1);
    assert_eq!((&ev[0].first, &ev[0].second), (&a, &b));
    ev[0].verify(CHAIN).unwrap();
    assert!(c.handle(Input::Vote(b)).is_empty());
    assert_eq!(c.stats().equivocations, 1);
}

#[test]
fn forged_and_outsider_messages_are_dropped() {
    let (keys, set) = keys(4);
    let mut c = node(None, &set);
    let outsider = Keypair::from_seed([99; 32]);
    let _ = c.handle(Input::Vote(Vote::new_signed(&outsider, CHAIN, VoteKind::Prevote, 1, 0, None)));
    let mut forged = Vote::new_signed(&keys[0], CHAIN, VoteKind::Prevote, 1, 0, None);
    forged.signature.0[5] ^= 1;
    let _ = c.handle(Input::Vote(forged));
    let other_chain = Vote::new_signed(&keys[1], "other", VoteKind::Prevote, 1, 0, None);
    let _ = c.handle(Input::Vote(other_chain));
    assert_eq!(c.stats().votes_dropped, 3);
    // A proposal signed by a validator that is not the proposer of (1, 0).
    let wrong = keys.iter().find(|k| k.address() != set.proposer(1, 0).address).unwrap();
    let p = Proposal::new_signed(wrong, CHAIN, 1, 0, None, block(1, 1));
    let _ = c.handle(Input::Proposal { proposal: p, valid: true });
    assert_eq!(c.stats().proposals_dropped, 1);
}

#[test]
fn invalid_proposal_gets_a_nil_prevote() {
    let (keys, set) = keys(4);
    let (_, key) = bystander(&keys, &set);
    let mut c = node(Some(&key), &set);
    let out = c.handle(Input::Proposal { proposal: proposal_for(&keys, &set, 0, None, block(1, 3)), valid: false });
    assert_eq!(votes_in(&out)[0].block_hash, None);
}

#[test]
fn f_plus_one_votes_of_a_higher_round_make_it_skip_there() {
    let (keys, set) = keys(4);
    let mut c = node(None, &set);
    let _ = c.handle(Input::Vote(Vote::new_signed(&keys[0], CHAIN, VoteKind::Prevote, 1, 5, None)));
    assert_eq!(c.round(), 0, "one validator is not f+1");
    let out = c.handle(Input::Vote(Vote::new_signed(&keys[1], CHAIN, VoteKind::Precommit, 1, 5, None)));
    assert_eq!(c.round(), 5);
    assert!(out.iter().any(|o| matches!(o, Output::NewRound { height: 1, round: 5 })));
}

#[test]
fn timeouts_grow_with_the_round_and_stale_ones_are_ignored() {
    let cfg = ConsensusConfig::default();
    assert!(cfg.timeout(TimeoutKind::Propose, 3) > cfg.timeout(TimeoutKind::Propose, 0));
    assert_eq!(cfg.timeout(TimeoutKind::Prevote, 2), Duration::from_secs(2));
    let (_, set) = keys(4);
    let mut c = node(None, &set);
    let out = c.handle(Input::TimeoutElapsed(Timeout { height: 1, round: 0, kind: TimeoutKind::Precommit }));
    assert_eq!(c.round(), 1);
    let scheduled = out.iter().find_map(|o| match o {
        Output::ScheduleTimeout(t, d) if t.kind == TimeoutKind::Propose => Some((*t, *d)),
        _ => None,
    });
    assert_eq!(
        scheduled,
        Some((Timeout { height: 1, round: 1, kind: TimeoutKind::Propose }, cfg.timeout(TimeoutKind::Propose, 1)))
    );
    assert!(c.handle(Input::TimeoutElapsed(Timeout { height: 1, round: 0, kind: TimeoutKind::Precommit })).is_empty());
    assert_eq!(c.round(), 1);
}

#[test]
fn precommits_of_an_earlier_round_still_decide() {
    let (keys, set) = keys(4);
    let mut c = node(None, &set);
    let x = block(1, 7);
    let _ = c.handle(Input::Proposal { proposal: proposal_for(&keys, &set, 0, None, x.clone()), valid: true });
    let _ = c.handle(Input::TimeoutElapsed(Timeout { height: 1, round: 0, kind: TimeoutKind::Precommit }));
    assert_eq!(c.round(), 1);
    let mut decided = None;
    for k in &keys[..3] {
        let out = c.handle(Input::Vote(Vote::new_signed(k, CHAIN, VoteKind::Precommit, 1, 0, Some(x.hash()))));
        decided = decided.or(out.into_iter().find_map(|o| match o {
            Output::Decided { block, certificate } => Some((block, certificate)),
            _ => None,
        }));
    }
    let (b, cert) = decided.expect("decided in round 1 on round-0 precommits");
    assert_eq!((b.hash(), cert.round), (x.hash(), 0));
    cert.verify_for(CHAIN, &set, &b).unwrap();
}

proptest! {
    #[test]
    fn wal_vote_entries_roundtrip(kind in any::<bool>(), height in any::<u64>(), round in any::<u32>(), hash in proptest::option::of(any::<[u8; 32]>())) {
        let k = Keypair::from_seed([3; 32]);
        let kind = if kind { VoteKind::Prevote } else { VoteKind::Precommit };
        let e = WalEntry::Vote(Vote::new_signed(&k, CHAIN, kind, height, round, hash.map(Hash)));
        prop_assert_eq!(WalEntry::decode(&e.encode()).unwrap(), e);
    }

    #[test]
    fn wal_decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let _ = WalEntry::decode(&bytes);
    }
}
