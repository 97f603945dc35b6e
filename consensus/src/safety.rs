//! The signing guard (CometBFT's privval, Aptos' safety rules): the only code that signs. It
//! remembers every proposal and vote this validator signed at the current height — filled
//! from the WAL after a restart — and refuses to sign a second, different message for the
//! same (round, step) or for a round below the highest it signed in. Asked again for a
//! (round, step) it already signed, it hands back the stored message, so re-sending after a
//! crash is always safe.
use cairn_proto::{Block, Hash, Keypair, Proposal, Vote, VoteKind};
use std::collections::BTreeMap;

/// What the guard did with a signing request.
#[derive(Debug)]
pub(crate) enum Signed<T> {
    /// Freshly signed: the caller must append it to the WAL, then broadcast it.
    New(T),
    /// Signed before (possibly by the previous incarnation): broadcast it again, no WAL write.
    Again(T),
    /// Signing would regress below a round already signed in; nothing is sent.
    Refused,
}

/// Own signed messages of the current height.
#[derive(Debug, Default)]
pub(crate) struct SignLog {
    proposals: BTreeMap<u32, Proposal>,
    votes: BTreeMap<(u32, VoteKind), Vote>,
}

impl SignLog {
    /// Records a message signed earlier (WAL replay).
    pub(crate) fn record_proposal(&mut self, p: Proposal) {
        self.proposals.entry(p.round).or_insert(p);
    }

    pub(crate) fn record_vote(&mut self, v: Vote) {
        self.votes.entry((v.round, v.kind)).or_insert(v);
    }

    /// The highest round in which anything was signed.
    pub(crate) fn max_round(&self) -> Option<u32> {
        let p = self.proposals.keys().next_back().copied();
        let v = self.votes.keys().next_back().map(|(r, _)| *r);
        p.max(v)
    }

    pub(crate) fn proposal(&self, round: u32) -> Option<&Proposal> {
        self.proposals.get(&round)
    }

    pub(crate) fn vote(&self, round: u32, kind: VoteKind) -> Option<&Vote> {
        self.votes.get(&(round, kind))
    }

    /// All own votes of this height, in round order.
    pub(crate) fn votes(&self) -> impl Iterator<Item = &Vote> + '_ {
        self.votes.values()
    }

    /// The Tendermint lock implied by what was signed: a validator precommits a block only
    /// when it locks on it (L36-L40), so its latest non-nil precommit is its lock.
    pub(crate) fn lock(&self) -> Option<(u32, Hash)> {
        self.votes.values().rev().find_map(|v| match (v.kind, v.block_hash) {
            (VoteKind::Precommit, Some(h)) => Some((v.round, h)),
            _ => None,
        })
    }

    fn regresses(&self, round: u32) -> bool {
        self.max_round().is_some_and(|m| m > round)
    }

    pub(crate) fn sign_vote(
        &mut self,
        key: &Keypair,
        chain_id: &str,
        height: u64,
        round: u32,
        kind: VoteKind,
        value: Option<Hash>,
    ) -> Signed<Vote> {
        if let Some(v) = self.vote(round, kind) {
            return Signed::Again(v.clone());
        }
        // Within a round the steps only move forward: never prevote after precommitting.
        if self.regresses(round) || (kind == VoteKind::Prevote && self.vote(round, VoteKind::Precommit).is_some()) {
            return Signed::Refused;
        }
        let v = Vote::new_signed(key, chain_id, kind, height, round, value);
        self.votes.insert((round, kind), v.clone());
        Signed::New(v)
    }

    pub(crate) fn sign_proposal(
        &mut self,
        key: &Keypair,
        chain_id: &str,
        height: u64,
        round: u32,
        pol_round: Option<u32>,
        block: Block,
    ) -> Signed<Proposal> {
        if let Some(p) = self.proposal(round) {
            return Signed::Again(p.clone());
        }
        if self.regresses(round) || self.votes.contains_key(&(round, VoteKind::Prevote)) {
            return Signed::Refused;
        }
        let p = Proposal::new_signed(key, chain_id, height, round, pol_round, block);
        self.proposals.insert(round, p.clone());
        Signed::New(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_signs_two_votes_for_one_round_and_step() {
        let k = Keypair::from_seed([1; 32]);
        let mut log = SignLog::default();
        let a = Some(Hash([1; 32]));
        let Signed::New(first) = log.sign_vote(&k, "c", 1, 2, VoteKind::Prevote, a) else { panic!("fresh vote") };
        let Signed::Again(again) = log.sign_vote(&k, "c", 1, 2, VoteKind::Prevote, None) else { panic!("reuse") };
        assert_eq!(first, again);
        assert!(matches!(log.sign_vote(&k, "c", 1, 1, VoteKind::Precommit, None), Signed::Refused));
        assert!(matches!(log.sign_vote(&k, "c", 1, 2, VoteKind::Precommit, a), Signed::New(_)));
        assert!(matches!(log.sign_vote(&k, "c", 1, 3, VoteKind::Precommit, None), Signed::New(_)));
        assert!(matches!(log.sign_vote(&k, "c", 1, 3, VoteKind::Prevote, None), Signed::Refused));
        assert_eq!(log.lock(), Some((2, Hash([1; 32]))));
        assert_eq!(log.max_round(), Some(3));
    }

    #[test]
    fn replayed_votes_are_reused_not_resigned() {
        let k = Keypair::from_seed([1; 32]);
        let mut log = SignLog::default();
        let old = Vote::new_signed(&k, "c", VoteKind::Precommit, 1, 0, Some(Hash([5; 32])));
        log.record_vote(old.clone());
        let Signed::Again(v) = log.sign_vote(&k, "c", 1, 0, VoteKind::Precommit, None) else { panic!("reuse") };
        assert_eq!(v, old);
        assert_eq!(log.lock(), Some((0, Hash([5; 32]))));
    }
}
