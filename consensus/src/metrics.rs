//! Counters of what the state machine saw, as plain numbers (`ConsensusStats`, for tests and
//! logs) and as Prometheus metrics registered in the node's registry (`ConsensusMetrics`).
//! `cairn_consensus_block_interval_seconds` and `cairn_consensus_committed_txs_total` are the
//! node's: it also commits blocks learnt by sync, which never pass through this crate.
use crate::ConsensusError;
use prometheus::{IntCounter, IntCounterVec, IntGauge, Opts, Registry};

/// Why a message from the network was dropped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DropReason {
    /// The signer is not in the validator set.
    NotValidator,
    BadSignature,
    /// A proposal not signed by the proposer of its (height, round).
    WrongProposer,
    /// A vote or proposal for a round further ahead than `max_future_rounds` allows.
    FutureRound,
}

impl DropReason {
    pub fn as_str(self) -> &'static str {
        match self {
            DropReason::NotValidator => "not_validator",
            DropReason::BadSignature => "bad_signature",
            DropReason::WrongProposer => "wrong_proposer",
            DropReason::FutureRound => "future_round",
        }
    }
}

/// Running totals since construction.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConsensusStats {
    pub votes_accepted: u64,
    pub votes_dropped: u64,
    pub proposals_accepted: u64,
    pub proposals_dropped: u64,
    /// Distinct (validator, height, round, kind) vote equivocations and conflicting
    /// proposals detected.
    pub equivocations: u64,
    pub decisions: u64,
    /// Rounds started after round 0 (timeouts or round skips).
    pub round_changes: u64,
}

/// The Prometheus side of `ConsensusStats`, plus the current height and round.
#[derive(Clone, Debug)]
pub struct ConsensusMetrics {
    height: IntGauge,
    round: IntGauge,
    decisions: IntCounter,
    round_changes: IntCounter,
    equivocations: IntCounter,
    dropped: IntCounterVec,
}

impl ConsensusMetrics {
    /// Registers `cairn_consensus_{height, round, decisions_total, round_changes_total,
    /// equivocations_total, dropped_messages_total{reason}}` in `registry`.
    pub fn new(registry: &Registry) -> Result<Self, ConsensusError> {
        let m = Self::unregistered();
        let all: [(&'static str, Box<dyn prometheus::core::Collector>); 6] = [
            ("cairn_consensus_height", Box::new(m.height.clone())),
            ("cairn_consensus_round", Box::new(m.round.clone())),
            ("cairn_consensus_decisions_total", Box::new(m.decisions.clone())),
            ("cairn_consensus_round_changes_total", Box::new(m.round_changes.clone())),
            ("cairn_consensus_equivocations_total", Box::new(m.equivocations.clone())),
            ("cairn_consensus_dropped_messages_total", Box::new(m.dropped.clone())),
        ];
        for (name, c) in all {
            registry.register(c).map_err(|source| ConsensusError::Metrics { name, source })?;
        }
        Ok(m)
    }

    /// Metrics that count but are exported nowhere (for `Consensus::new`).
    pub(crate) fn unregistered() -> Self {
        // The names and help texts are constants, so construction cannot fail.
        let gauge = |n: &str, h: &str| IntGauge::new(n, h).expect("valid metric");
        let counter = |n: &str, h: &str| IntCounter::new(n, h).expect("valid metric");
        ConsensusMetrics {
            height: gauge("cairn_consensus_height", "Height being decided"),
            round: gauge("cairn_consensus_round", "Round of the height being decided"),
            decisions: counter("cairn_consensus_decisions_total", "Heights decided by this state machine"),
            round_changes: counter("cairn_consensus_round_changes_total", "Rounds started after round 0"),
            equivocations: counter("cairn_consensus_equivocations_total", "Conflicting votes detected"),
            dropped: IntCounterVec::new(
                Opts::new("cairn_consensus_dropped_messages_total", "Consensus messages dropped, by reason"),
                &["reason"],
            )
            .expect("valid metric"),
        }
    }

    pub(crate) fn set_position(&self, height: u64, round: u32) {
        self.height.set(i64::try_from(height).unwrap_or(i64::MAX));
        self.round.set(i64::from(round));
    }
    pub(crate) fn decided(&self) {
        self.decisions.inc();
    }
    pub(crate) fn round_changed(&self) {
        self.round_changes.inc();
    }
    pub(crate) fn equivocation(&self) {
        self.equivocations.inc();
    }
    pub(crate) fn dropped(&self, reason: DropReason) {
        self.dropped.with_label_values(&[reason.as_str()]).inc();
    }
}
