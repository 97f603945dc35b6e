//! The `upon` rules of Tendermint (lines 22-56 of the paper's Algorithm 1), evaluated after
//! every input until none fires. Each rule checks its own guard, so the order below only
//! matters for efficiency: a decision (L49) ends the height, a round skip (L55) changes which
//! rules apply, the others move the current round forward.
use crate::state::{Consensus, Once};
use crate::{Output, Step, TimeoutKind};
use cairn_proto::{Certificate, CommitSig, VoteKind};

impl Consensus {
    pub(crate) fn apply_rules(&mut self) {
        while self.step != Step::Commit {
            let fired = self.l49_decide()
                || self.l55_skip_round()
                || self.l22_l28_prevote()
                || self.l34_prevote_timeout()
                || self.l36_polka()
                || self.late_polka()
                || self.l44_nil_polka()
                || self.l47_precommit_timeout();
            if !fired {
                break;
            }
        }
    }

    /// L49-L54: a proposal `v` and 2f+1 precommits for `id(v)` in any round `r` of this
    /// height: decide `v`. The paper also asks `valid(v)`; we decide without it, because 2f+1
    /// precommits mean at least f+1 correct validators found `v` valid, and a node whose own
    /// check (e.g. clock drift) disagrees would otherwise be stuck until block sync hands it
    /// the same block with the same certificate.
    fn l49_decide(&mut self) -> bool {
        let Some((round, hash)) =
            self.votes.block_quorums(VoteKind::Precommit).find(|(_, h)| self.block_by_hash(h).is_some())
        else {
            return false;
        };
        let signatures = self
            .votes
            .precommits_for(round, hash)
            .map(|v| CommitSig { validator: v.validator, signature: v.signature })
            .collect();
        let certificate = Certificate { height: self.height, round, block_hash: hash, signatures };
        let Some(block) = self.block_by_hash(&hash).cloned() else { return false };
        self.step = Step::Commit; // L51-L54: the node persists, then calls StartHeight(h+1)
        self.stats.decisions += 1;
        self.metrics.decided();
        tracing::debug!(height = self.height, round, %hash, "decided");
        self.out.push(Output::Decided { block, certificate });
        true
    }

    /// L55-L56: validators with more than f power are in a higher round: join them.
    fn l55_skip_round(&mut self) -> bool {
        match self.votes.highest_round_with_f_plus_one_above(self.round) {
            Some(round) => {
                self.start_round(round);
                true
            }
            None => false,
        }
    }

    /// L22-L27 (a fresh proposal) and L28-L33 (a re-proposal justified by a polka in
    /// `vr < round_p`): prevote for it unless the lock forbids, else prevote nil.
    fn l22_l28_prevote(&mut self) -> bool {
        if self.step != Step::Propose {
            return false;
        }
        let Some(p) = self.proposals.get(&self.round) else { return false };
        let (hash, valid) = (p.hash, p.valid);
        let accept = match p.proposal.pol_round {
            // L22-L23: valid(v) ∧ (lockedRound = −1 ∨ lockedValue = v)
            None => valid && self.locked.is_none_or(|(_, h)| h == hash),
            // L28-L29: 2f+1 prevotes for id(v) in vr; valid(v) ∧ (lockedRound ≤ vr ∨ lockedValue = v)
            Some(vr) if vr < self.round && self.votes.has_quorum_for(vr, VoteKind::Prevote, Some(hash)) => {
                valid && self.locked.is_none_or(|(lr, h)| lr <= vr || h == hash)
            }
            // Not (yet) justified: wait for the polka or the propose timeout.
            Some(_) => return false,
        };
        self.vote(VoteKind::Prevote, accept.then_some(hash)); // L24/L26, L30/L32
        self.step = Step::Prevote; // L27, L33
        true
    }

    /// L34-L35: 2f+1 prevotes of any values: start the prevote timeout, once per round.
    fn l34_prevote_timeout(&mut self) -> bool {
        if self.step != Step::Prevote
            || !self.votes.has_quorum_any(self.round, VoteKind::Prevote)
            || !self.once.insert((self.round, Once::L34PrevoteTimeout))
        {
            return false;
        }
        self.schedule(TimeoutKind::Prevote);
        true
    }

    /// L36-L43: a valid proposal and 2f+1 prevotes for it in this round: lock on it and
    /// precommit it (if still in the prevote step), and remember it as the valid value.
    fn l36_polka(&mut self) -> bool {
        if self.step < Step::Prevote {
            return false;
        }
        let Some(p) = self.proposals.get(&self.round) else { return false };
        let hash = p.hash;
        if !p.valid
            || !self.votes.has_quorum_for(self.round, VoteKind::Prevote, Some(hash))
            || !self.once.insert((self.round, Once::L36Polka))
        {
            return false;
        }
        self.log_valid_block(self.round, hash);
        if self.step == Step::Prevote {
            // L37-L41. The guard may hand back an earlier precommit after a restart; lock only
            // on what was actually signed (an observer, signing nothing, follows the rule).
            let sent = self.vote(VoteKind::Precommit, Some(hash));
            if sent.is_none_or(|v| v == Some(hash)) {
                self.locked = Some((self.round, hash)); // L38-L39
            }
            self.step = Step::Precommit; // L41
        }
        self.valid = Some((self.round, hash)); // L42-L43
        true
    }

    /// Beyond the paper: a polka of an earlier round above `validRound`, for a block we hold
    /// and found valid, also becomes the valid value when it is seen late — relayed with a
    /// re-proposal (L28) or re-sent — after we left that round. L36 looks at the current round
    /// only, so a validator that missed the polka in time never re-proposes its block, and a
    /// validator locked on it prevotes nil on everything else: with f validators down and one
    /// mute at this height (its signing floor after a wipe), only the proposers that had seen
    /// the polka in time could end the height, and rounds passed until one came up (found by
    /// the simulator, seed 3004). Safety does not rest on `validValue` (a byzantine proposer
    /// may propose anything; L28 checks the polka itself), so adopting a later one is safe.
    fn late_polka(&mut self) -> bool {
        let above = self.valid.map(|(vr, _)| vr);
        let Some((round, hash)) = self
            .votes
            .block_quorums(VoteKind::Prevote)
            .filter(|(r, _)| *r < self.round && above.is_none_or(|vr| *r > vr))
            .filter(|(_, h)| self.proposals.values().any(|p| p.hash == *h && p.valid))
            .last()
        else {
            return false;
        };
        self.log_valid_block(round, hash);
        self.valid = Some((round, hash));
        true
    }

    /// L44-L46: 2f+1 prevotes for nil: precommit nil.
    fn l44_nil_polka(&mut self) -> bool {
        if self.step != Step::Prevote || !self.votes.has_quorum_for(self.round, VoteKind::Prevote, None) {
            return false;
        }
        self.vote(VoteKind::Precommit, None); // L45
        self.step = Step::Precommit; // L46
        true
    }

    /// L47-L48: 2f+1 precommits of any values: start the precommit timeout, once per round.
    fn l47_precommit_timeout(&mut self) -> bool {
        if !self.votes.has_quorum_any(self.round, VoteKind::Precommit)
            || !self.once.insert((self.round, Once::L47PrecommitTimeout))
        {
            return false;
        }
        self.schedule(TimeoutKind::Precommit);
        true
    }
}
