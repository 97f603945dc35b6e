//! The vote keeper: every vote of the current height, tallied per round and kind by voting
//! power. A validator's power counts at most once per value and once in the round's total,
//! but an equivocator's conflicting votes are all kept (up to `MAX_VALUES_PER_SLOT`) and each
//! counts for its own value, as in the paper, where "2f+1 ⟨PREVOTE, h, r, id(v)⟩" counts every
//! received message of that form. Counting only a validator's first vote would let an
//! equivocator split correct validators for ever: those that saw its other vote first would
//! never see the polka that justifies a locked re-proposal (L28). Safety is unaffected: two
//! quorums still share a correct validator, which votes once. The first conflict of each
//! (validator, round, kind) is reported as evidence.
use cairn_proto::{Address, DuplicateVoteEvidence, Hash, Vote, VoteKind};
use std::collections::{BTreeMap, BTreeSet};

/// Distinct values kept per (validator, round, kind): bounds what an equivocator can make us
/// store, while the one or two values that matter are far below it.
const MAX_VALUES_PER_SLOT: usize = 4;

/// What the keeper already knows about an incoming vote.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Known {
    /// First vote of this validator for this (round, kind).
    New,
    /// The same vote again (gossip duplicate): nothing to do, not even a signature check.
    Same,
    /// A different vote for the same (round, kind): equivocation if the signature checks.
    Conflicts,
}

/// Votes of one kind in one round.
#[derive(Default, Debug)]
struct Tally {
    /// Each validator's votes (distinct values, first one first).
    votes: BTreeMap<Address, Vec<Vote>>,
    /// Power per value voted for (`None` = nil).
    by_value: BTreeMap<Option<Hash>, u64>,
    /// Power of all votes, whatever their value.
    total: u64,
}

#[derive(Default, Debug)]
struct RoundVotes {
    prevotes: Tally,
    precommits: Tally,
    /// Power of the distinct validators that voted in this round at all (for rule L55).
    voters_power: u64,
    voters: BTreeSet<Address>,
}

impl RoundVotes {
    fn tally(&self, kind: VoteKind) -> &Tally {
        match kind {
            VoteKind::Prevote => &self.prevotes,
            VoteKind::Precommit => &self.precommits,
        }
    }
    fn tally_mut(&mut self, kind: VoteKind) -> &mut Tally {
        match kind {
            VoteKind::Prevote => &mut self.prevotes,
            VoteKind::Precommit => &mut self.precommits,
        }
    }
}

/// All votes of one height.
#[derive(Debug)]
pub(crate) struct VoteKeeper {
    total_power: u64,
    rounds: BTreeMap<u32, RoundVotes>,
    /// (validator, round, kind) already reported, so each equivocation is reported once.
    reported: BTreeSet<(Address, u32, VoteKind)>,
}

impl VoteKeeper {
    pub(crate) fn new(total_power: u64) -> Self {
        VoteKeeper { total_power, rounds: BTreeMap::new(), reported: BTreeSet::new() }
    }

    fn slot(&self, v: &Vote) -> Option<&Vec<Vote>> {
        self.rounds.get(&v.round)?.tally(v.kind).votes.get(&v.validator)
    }

    pub(crate) fn known(&self, v: &Vote) -> Known {
        match self.slot(v) {
            None => Known::New,
            Some(votes) if votes.iter().any(|o| o.block_hash == v.block_hash) => Known::Same,
            Some(_) => Known::Conflicts,
        }
    }

    /// Counts `v` (whose signature the caller checked) with `power`. Returns evidence when it
    /// conflicts with an earlier vote of this validator and this equivocation was not yet
    /// reported.
    pub(crate) fn add(&mut self, v: Vote, power: u64) -> Option<DuplicateVoteEvidence> {
        let known = self.known(&v);
        if known == Known::Same {
            return None;
        }
        let evidence = match known {
            Known::Conflicts if self.reported.insert((v.validator, v.round, v.kind)) => {
                self.slot(&v).map(|votes| DuplicateVoteEvidence { first: votes[0].clone(), second: v.clone() })
            }
            _ => None,
        };
        let round = self.rounds.entry(v.round).or_default();
        if round.voters.insert(v.validator) {
            round.voters_power += power;
        }
        let tally = round.tally_mut(v.kind);
        let slot = tally.votes.entry(v.validator).or_default();
        if slot.len() < MAX_VALUES_PER_SLOT {
            if slot.is_empty() {
                tally.total += power;
            }
            *tally.by_value.entry(v.block_hash).or_default() += power;
            slot.push(v);
        }
        evidence
    }

    /// Whether `v` may be kept: votes for this round and earlier always; for a later round
    /// only while its validator has votes in fewer than `max_future` distinct later rounds
    /// (or already in this one). Without the cap one byzantine validator could make us keep
    /// a tally for every future round number.
    pub(crate) fn admits(&self, v: &Vote, current: u32, max_future: u32) -> bool {
        if v.round <= current {
            return true;
        }
        let mut ahead = 0;
        for (round, r) in self.rounds.range(current + 1..) {
            if r.voters.contains(&v.validator) {
                if *round == v.round {
                    return true;
                }
                ahead += 1;
            }
        }
        ahead < max_future
    }

    /// (rounds with votes, votes kept).
    pub(crate) fn size(&self) -> (usize, usize) {
        let votes = self
            .rounds
            .values()
            .map(|r| {
                [&r.prevotes, &r.precommits]
                    .iter()
                    .map(|t| t.votes.values().map(Vec::len).sum::<usize>())
                    .sum::<usize>()
            })
            .sum();
        (self.rounds.len(), votes)
    }

    fn is_quorum(&self, power: u64) -> bool {
        power as u128 * 3 > self.total_power as u128 * 2
    }

    /// Votes of `kind` in `round` with 2f+1 power, whatever their values (L34, L47).
    pub(crate) fn has_quorum_any(&self, round: u32, kind: VoteKind) -> bool {
        self.rounds.get(&round).is_some_and(|r| self.is_quorum(r.tally(kind).total))
    }

    /// The value (`Some(None)` = nil) that 2f+1 of `kind` in `round` voted for, if any.
    pub(crate) fn quorum_value(&self, round: u32, kind: VoteKind) -> Option<Option<Hash>> {
        let tally = self.rounds.get(&round)?.tally(kind);
        tally.by_value.iter().find(|(_, p)| self.is_quorum(**p)).map(|(v, _)| *v)
    }

    /// True when 2f+1 of `kind` in `round` voted for `value`.
    pub(crate) fn has_quorum_for(&self, round: u32, kind: VoteKind, value: Option<Hash>) -> bool {
        self.rounds.get(&round).and_then(|r| r.tally(kind).by_value.get(&value)).is_some_and(|p| self.is_quorum(*p))
    }

    /// Rounds whose votes of `kind` hold a 2f+1 quorum for a block, in ascending order: with
    /// precommits the candidates for a decision (L49), with prevotes the polkas.
    pub(crate) fn block_quorums(&self, kind: VoteKind) -> impl Iterator<Item = (u32, Hash)> + '_ {
        self.rounds.keys().filter_map(move |r| match self.quorum_value(*r, kind) {
            Some(Some(h)) => Some((*r, h)),
            _ => None,
        })
    }

    /// The highest round above `round` in which validators with more than f voting power
    /// voted (L55: at least one correct validator is there, so we should be too).
    pub(crate) fn highest_round_with_f_plus_one_above(&self, round: u32) -> Option<u32> {
        self.rounds
            .range(round.saturating_add(1)..)
            .rev()
            .find(|(_, r)| r.voters_power as u128 * 3 > self.total_power as u128)
            .map(|(r, _)| *r)
    }

    /// The votes of `kind` for `hash` in `round`, one per validator: with precommits, the
    /// signatures of a commit certificate; with prevotes, a proof of lock (POL).
    pub(crate) fn votes_for(&self, round: u32, kind: VoteKind, hash: Hash) -> impl Iterator<Item = &Vote> + '_ {
        self.rounds
            .get(&round)
            .into_iter()
            .flat_map(move |r| r.tally(kind).votes.values())
            .filter_map(move |votes| votes.iter().find(|v| v.block_hash == Some(hash)))
    }

    /// The votes that let a validator enter `round` (> 0), one per validator: the 2f+1
    /// precommits of the round before (L47, L65), or else the votes of `round` itself, more
    /// than f of which make a validator skip to it (L55). Relayed, they bring a validator that
    /// is behind into `round` even when their signers can no longer send them.
    pub(crate) fn round_entry(&self, round: u32) -> Vec<&Vote> {
        let Some(before) = round.checked_sub(1) else { return Vec::new() };
        fn first(t: &Tally) -> impl Iterator<Item = &Vote> {
            t.votes.values().filter_map(|votes| votes.first())
        }
        if self.has_quorum_any(before, VoteKind::Precommit) {
            return self.rounds.get(&before).into_iter().flat_map(|r| first(&r.precommits)).collect();
        }
        self.rounds.get(&round).into_iter().flat_map(|r| first(&r.prevotes).chain(first(&r.precommits))).collect()
    }

    pub(crate) fn precommits_for(&self, round: u32, hash: Hash) -> impl Iterator<Item = &Vote> + '_ {
        self.votes_for(round, VoteKind::Precommit, hash)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cairn_proto::Keypair;

    fn vote(seed: u8, kind: VoteKind, round: u32, value: Option<Hash>) -> Vote {
        Vote::new_signed(&Keypair::from_seed([seed; 32]), "t", kind, 1, round, value)
    }

    #[test]
    fn quorum_needs_more_than_two_thirds() {
        let mut k = VoteKeeper::new(4);
        let b = Some(Hash([1; 32]));
        for s in 0..2 {
            assert!(k.add(vote(s, VoteKind::Prevote, 0, b), 1).is_none());
        }
        assert!(!k.has_quorum_for(0, VoteKind::Prevote, b));
        k.add(vote(2, VoteKind::Prevote, 0, None), 1);
        assert!(k.has_quorum_any(0, VoteKind::Prevote));
        assert_eq!(k.quorum_value(0, VoteKind::Prevote), None);
        k.add(vote(3, VoteKind::Prevote, 0, b), 1);
        assert_eq!(k.quorum_value(0, VoteKind::Prevote), Some(b));
    }

    #[test]
    fn equivocation_is_reported_once_and_counts_once_per_value() {
        let mut k = VoteKeeper::new(4);
        let (a, b) = (Some(Hash([1; 32])), Some(Hash([2; 32])));
        assert!(k.add(vote(0, VoteKind::Precommit, 2, a), 1).is_none());
        assert_eq!(k.known(&vote(0, VoteKind::Precommit, 2, a)), Known::Same);
        let ev = k.add(vote(0, VoteKind::Precommit, 2, b), 1).expect("evidence");
        assert_eq!((ev.first.block_hash, ev.second.block_hash), (a, b));
        assert!(ev.verify("t").is_ok());
        assert!(k.add(vote(0, VoteKind::Precommit, 2, None), 1).is_none());
        assert!(k.add(vote(0, VoteKind::Precommit, 2, b), 1).is_none());
        assert_eq!(k.precommits_for(2, Hash([2; 32])).count(), 1);
        assert_eq!(k.precommits_for(2, Hash([1; 32])).count(), 1);
        // Its power is in the round total once: with one more vote there is no quorum of any.
        k.add(vote(1, VoteKind::Precommit, 2, a), 1);
        assert!(!k.has_quorum_any(2, VoteKind::Precommit));
        k.add(vote(2, VoteKind::Precommit, 2, a), 1);
        assert_eq!(k.quorum_value(2, VoteKind::Precommit), Some(a));
    }

    #[test]
    fn a_validator_fills_at_most_max_future_rounds_ahead() {
        let mut k = VoteKeeper::new(4);
        for round in [3, 7] {
            let v = vote(0, VoteKind::Prevote, round, None);
            assert!(k.admits(&v, 1, 2));
            k.add(v, 1);
        }
        assert!(!k.admits(&vote(0, VoteKind::Prevote, 9, None), 1, 2), "a third future round");
        assert!(k.admits(&vote(0, VoteKind::Precommit, 7, None), 1, 2), "a round it holds already");
        assert!(k.admits(&vote(1, VoteKind::Prevote, 9, None), 1, 2), "another validator");
        assert!(k.admits(&vote(0, VoteKind::Prevote, 9, None), 3, 2), "once we moved on");
        assert!(k.admits(&vote(0, VoteKind::Prevote, 0, None), 1, 2), "past rounds");
        assert_eq!(k.size(), (2, 2));
    }

    #[test]
    fn f_plus_one_in_a_higher_round() {
        let mut k = VoteKeeper::new(4);
        k.add(vote(0, VoteKind::Prevote, 5, None), 1);
        assert_eq!(k.highest_round_with_f_plus_one_above(0), None);
        // The same validator's precommit does not add power: distinct voters count.
        k.add(vote(0, VoteKind::Precommit, 5, None), 1);
        assert_eq!(k.highest_round_with_f_plus_one_above(0), None);
        k.add(vote(1, VoteKind::Precommit, 5, None), 1);
        assert_eq!(k.highest_round_with_f_plus_one_above(0), Some(5));
        assert_eq!(k.highest_round_with_f_plus_one_above(5), None);
    }
}
