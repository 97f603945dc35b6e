//! WAL replay after a restart: entries are recorded as they come, and the round, step, lock
//! and valid value they imply are restored at the next non-replay input, so that nothing is
//! signed before the whole log is known. Also the logging of valid blocks (L36).
use crate::state::Consensus;
use crate::{Output, Step, WalEntry};
use cairn_proto::{Hash, Vote, VoteKind};

impl Consensus {
    /// Records a WAL entry of this height (signed by the previous incarnation).
    pub(crate) fn replay(&mut self, entry: WalEntry) {
        if entry.height() != self.height || self.step == Step::Commit {
            return;
        }
        self.replay_pending = true;
        match entry {
            WalEntry::Proposal(p) => {
                self.logged_blocks.insert(p.block.hash());
                self.own.record_proposal(p.clone());
                self.store_proposal(p, true);
            }
            WalEntry::ValidBlock(p) => {
                let hash = p.block.hash();
                self.logged_blocks.insert(hash);
                self.valid = self.valid.max(Some((p.round, hash)));
                self.store_proposal(p, true);
            }
            WalEntry::Vote(v) => {
                self.own.record_vote(v.clone());
                self.count_replayed(v);
            }
            WalEntry::SeenVote(v) => {
                self.logged_votes.insert((v.validator, v.round, v.kind));
                self.count_replayed(v);
            }
        }
    }

    fn count_replayed(&mut self, v: Vote) {
        let power = self.validators.power_of(&v.validator);
        if power > 0 {
            let _ = self.votes.add(v, power);
        }
    }

    /// Logs the proposal of `round` as a valid block before we precommit or remember it
    /// (L36), with the others' prevotes of its polka: after a crash we must still hold the block we are locked on, to re-propose it, and the
    /// polka that makes the others accept the re-proposal (L28).
    pub(crate) fn log_valid_block(&mut self, round: u32, hash: Hash) {
        if self.signer().is_none() {
            return;
        }
        // A late polka (see `late_polka`) may be for a block this node got in a later round's
        // re-proposal only.
        let Some(info) = self.proposals.values().find(|p| p.hash == hash) else { return };
        // The block may be in the WAL already (our own proposal, or an earlier round's polka);
        // the polka of this round is not. (Called once per round, from L36 or `late_polka`.)
        if self.logged_blocks.insert(info.hash) {
            self.out.push(Output::WalAppend(WalEntry::ValidBlock(info.proposal.clone())));
        }
        let me = self.address();
        let polka: Vec<Vote> = self
            .votes
            .votes_for(round, VoteKind::Prevote, info.hash)
            .filter(|v| Some(v.validator) != me)
            .cloned()
            .collect();
        for v in &polka {
            self.log_seen(v);
        }
    }

    /// Logs another validator's vote once (validators only: an observer never re-proposes).
    pub(crate) fn log_seen(&mut self, v: &Vote) {
        if self.signer().is_some() && self.logged_votes.insert((v.validator, v.round, v.kind)) {
            self.out.push(Output::WalAppend(WalEntry::SeenVote(v.clone())));
        }
    }

    /// Restores the round, step and lock that the replayed entries imply, then re-sends them.
    pub(crate) fn finish_replay(&mut self) {
        self.replay_pending = false;
        let Some(max) = self.own.max_round() else { return };
        // The lock first, so that a proposer restarting into its own round re-proposes it.
        if let Some(lock) = self.own.lock() {
            self.locked = Some(lock);
            self.valid = self.valid.max(Some(lock));
        }
        if max > self.round {
            self.start_round(max);
        }
        if self.own.vote(self.round, VoteKind::Prevote).is_some() {
            self.step = self.step.max(Step::Prevote);
        }
        if self.own.vote(self.round, VoteKind::Precommit).is_some() {
            self.step = Step::Precommit;
        }
        self.rebroadcast();
    }
}
