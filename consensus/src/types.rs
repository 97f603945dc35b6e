//! The state machine's vocabulary: configuration, the inputs the node feeds in and the outputs
//! it must carry out. Nothing here does I/O; time only appears as durations to wait.
use crate::wal::WalEntry;
use cairn_proto::{Block, Certificate, ConsensusMessage, DuplicateVoteEvidence, Proposal, ValidatorSet, Vote};
use std::time::Duration;

/// Round timeouts. The timeout of step `s` in round `r` is `timeout_s + r * timeout_delta`, so
/// that once the network is stable the rounds eventually last long enough for a correct
/// proposer's block to gather a quorum (Tendermint's liveness argument needs growing timeouts).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsensusConfig {
    pub timeout_propose: Duration,
    pub timeout_prevote: Duration,
    pub timeout_precommit: Duration,
    /// Added to every step timeout per round number.
    pub timeout_delta: Duration,
    /// How often own messages of the current height are re-sent while undecided. Tendermint
    /// assumes every message of a correct process is eventually delivered; gossip that may
    /// drop messages needs this to stay live (CometBFT's gossip routines do the same).
    pub timeout_rebroadcast: Duration,
    /// Check vote and proposal signatures. Only turn off when the caller has already checked
    /// them (a batch verifier in the node) or in benchmarks; never for untrusted input.
    pub verify_signatures: bool,
    /// How many rounds above the current one each validator may have votes kept in, and how
    /// far ahead a proposal may be (CometBFT's peer catch-up rounds). A byzantine validator can
    /// otherwise make us keep votes and blocks for any number of future rounds; correct ones
    /// only ever need one (their current round, which L55 uses to pull us forward).
    pub max_future_rounds: u32,
}

impl Default for ConsensusConfig {
    fn default() -> Self {
        ConsensusConfig {
            timeout_propose: Duration::from_secs(3),
            timeout_prevote: Duration::from_secs(1),
            timeout_precommit: Duration::from_secs(1),
            timeout_delta: Duration::from_millis(500),
            timeout_rebroadcast: Duration::from_secs(2),
            verify_signatures: true,
            max_future_rounds: 2,
        }
    }
}

impl ConsensusConfig {
    /// The duration of `kind`'s timeout in `round`.
    pub fn timeout(&self, kind: TimeoutKind, round: u32) -> Duration {
        let base = match kind {
            TimeoutKind::Propose => self.timeout_propose,
            TimeoutKind::Prevote => self.timeout_prevote,
            TimeoutKind::Precommit => self.timeout_precommit,
            TimeoutKind::Rebroadcast => return self.timeout_rebroadcast,
        };
        base.saturating_add(self.timeout_delta.saturating_mul(round))
    }
}

/// The step of a round (Tendermint's `step_p`), plus `Commit` once the height is decided and
/// the state machine waits for the node's next `StartHeight`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Step {
    Propose,
    Prevote,
    Precommit,
    Commit,
}

/// Which timer fired.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TimeoutKind {
    Propose,
    Prevote,
    Precommit,
    /// Re-send own messages of this height (see `ConsensusConfig::timeout_rebroadcast`).
    Rebroadcast,
}

/// A timer the node schedules (`Output::ScheduleTimeout`) and hands back when it fires
/// (`Input::TimeoutElapsed`). Stale timers are ignored, so the node never needs to cancel one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timeout {
    pub height: u64,
    pub round: u32,
    pub kind: TimeoutKind,
}

/// Everything that can happen to the state machine.
#[derive(Clone, Debug)]
pub enum Input {
    /// Begin deciding `height` (the node calls this at start with latest_height+1 and after
    /// every commit, including commits learnt by block sync). Messages for other heights are
    /// ignored (the node buffers future ones and feeds them after this). `validators` is the
    /// set that signs `height` (it changes with stakes: `cairn_proto::staking`).
    StartHeight {
        height: u64,
        validators: ValidatorSet,
    },
    /// Re-feed the WAL entries read at startup for this height, in order, right after
    /// `StartHeight`. They are only recorded; the restored round, step and lock take effect
    /// at the next non-replay input, so nothing is signed before the whole WAL is known.
    Replay(WalEntry),
    /// A proposal whose block the node has decoded (tx signatures checked); `valid` is the
    /// node's verdict on the block itself (parent hash, state root, timestamp, tx validity).
    /// The state machine checks the proposer and the proposal signature.
    Proposal {
        proposal: Proposal,
        valid: bool,
    },
    /// A vote from the network; its signature is checked here (once per distinct vote).
    Vote(Vote),
    TimeoutElapsed(Timeout),
    /// The node's answer to `Output::BuildBlock`: the block to propose at (height, round).
    ProposeBlock {
        height: u64,
        round: u32,
        block: Block,
    },
}

/// What the node must do, in order.
#[must_use]
#[derive(Clone, Debug)]
pub enum Output {
    /// Persist (append + fsync) before acting on any later output of the same batch.
    WalAppend(WalEntry),
    Broadcast(ConsensusMessage),
    ScheduleTimeout(Timeout, std::time::Duration),
    /// Ask the node for a block to propose (the node reaps the mempool and answers with
    /// `Input::ProposeBlock`).
    BuildBlock {
        height: u64,
        round: u32,
    },
    /// `block` is final at its height; `certificate` (2f+1 precommits) proves it to anyone.
    Decided {
        block: Block,
        certificate: Certificate,
    },
    /// A validator signed two different votes for one (height, round, kind).
    Evidence(DuplicateVoteEvidence),
    /// The proposer of (height, round) signed two different proposals; both signatures
    /// checked. The first is kept, the second dropped.
    ConflictingProposal {
        first: Box<Proposal>,
        second: Box<Proposal>,
    },
    /// Informational, for metrics and logs.
    NewRound {
        height: u64,
        round: u32,
    },
}
