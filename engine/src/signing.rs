//! The signing state: the highest (height, round, step) this validator signed, kept by the host
//! apart from the data directory and saved before any signature leaves the process (CometBFT's
//! `priv_validator_state.json`). The WAL says exactly what was signed at the current height;
//! this says how far signing went even when the WAL is gone — a wiped data directory, or an
//! older snapshot imported — so that the restarted validator does not sign that height again.
use cairn_consensus::WalEntry;
use cairn_proto::VoteKind;
use serde::{Deserialize, Serialize};

/// A point in (height, round, step) order; step 0 = proposal, 1 = prevote, 2 = precommit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct SignPoint {
    pub height: u64,
    pub round: u32,
    pub step: u8,
}

impl SignPoint {
    /// The point of an own signed entry (`None` for a logged valid block or polka vote: not ours).
    pub fn of(entry: &WalEntry) -> Option<SignPoint> {
        match entry {
            WalEntry::Proposal(p) => Some(SignPoint { height: p.height, round: p.round, step: 0 }),
            WalEntry::Vote(v) => {
                let step = if v.kind == VoteKind::Prevote { 1 } else { 2 };
                Some(SignPoint { height: v.height, round: v.round, step })
            }
            WalEntry::ValidBlock(_) | WalEntry::SeenVote(_) => None,
        }
    }
}

/// The lowest height the validator may sign at, given the saved signing state and the WAL
/// entries of the height it starts at: past the saved height, unless the WAL holds everything
/// signed there (then the state machine's own guard, fed by the WAL, knows it all).
pub fn first_signable_height(saved: Option<SignPoint>, start_height: u64, wal: &[WalEntry]) -> u64 {
    let Some(saved) = saved else { return 0 };
    if saved.height < start_height {
        return 0;
    }
    let logged = wal.iter().filter(|e| e.height() == saved.height).filter_map(SignPoint::of).max();
    if saved.height == start_height && logged >= Some(saved) {
        return 0;
    }
    saved.height + 1
}

#[cfg(test)]
mod tests {
    use super::*;
    use cairn_proto::{Keypair, Vote};

    fn vote(height: u64, round: u32, kind: VoteKind) -> WalEntry {
        WalEntry::Vote(Vote::new_signed(&Keypair::from_seed([1; 32]), "c", kind, height, round, None))
    }

    #[test]
    fn signing_resumes_past_what_the_wal_cannot_show() {
        let at = |height, round, step| Some(SignPoint { height, round, step });
        assert_eq!(first_signable_height(None, 5, &[]), 0, "nothing signed yet");
        assert_eq!(first_signable_height(at(4, 2, 2), 5, &[]), 0, "signed only below the start");
        assert_eq!(first_signable_height(at(5, 1, 2), 5, &[vote(5, 1, VoteKind::Precommit)]), 0, "the WAL has it");
        assert_eq!(first_signable_height(at(5, 1, 2), 5, &[vote(5, 1, VoteKind::Prevote)]), 6, "WAL behind");
        assert_eq!(first_signable_height(at(5, 0, 1), 5, &[]), 6, "WAL wiped");
        assert_eq!(first_signable_height(at(9, 0, 1), 5, &[]), 10, "data restored from an older snapshot");
    }
}
