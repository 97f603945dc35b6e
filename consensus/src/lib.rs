#![doc = include_str!("../README.md")]
//!
//! # The algorithm
//!
//! Tendermint, as in Buchman, Kwon and Milosevic, *The latest gossip on BFT consensus*
//! (arXiv:1807.04938), Algorithm 1. `n` validators with voting power; `f` is the largest power
//! that may be byzantine with `total > 3f`; "2f+1" below means *more than two thirds of the
//! total power* and "f+1" *more than one third*. Safety holds always; liveness once messages
//! between correct validators arrive within a bound (after GST); a decision is final at once.
//!
//! ```text
//!  h_p, round_p, step_p ∈ {propose, prevote, precommit}; decision_p[]
//!  lockedValue_p = validValue_p = nil; lockedRound_p = validRound_p = −1
//!  upon start: StartRound(0)
//!
//!  StartRound(r):                                                          L11
//!    round_p ← r; step_p ← propose
//!    if proposer(h_p, r) = p:
//!      proposal ← validValue_p if ≠ nil else getValue()
//!      broadcast ⟨PROPOSAL, h_p, r, proposal, validRound_p⟩
//!    else schedule OnTimeoutPropose(h_p, r) after timeoutPropose(r)
//!
//!  upon ⟨PROPOSAL, h_p, round_p, v, −1⟩ from proposer while step = propose:   L22
//!    prevote id(v) if valid(v) ∧ (lockedRound = −1 ∨ lockedValue = v) else nil; step ← prevote
//!  upon ⟨PROPOSAL, h_p, round_p, v, vr⟩ ∧ 2f+1 ⟨PREVOTE, h_p, vr, id(v)⟩
//!       while step = propose ∧ 0 ≤ vr < round_p:                               L28
//!    prevote id(v) if valid(v) ∧ (lockedRound ≤ vr ∨ lockedValue = v) else nil; step ← prevote
//!  upon 2f+1 ⟨PREVOTE, h_p, round_p, ∗⟩ while step = prevote, first time:    L34
//!    schedule OnTimeoutPrevote(h_p, round_p)
//!  upon ⟨PROPOSAL, h_p, round_p, v, ∗⟩ ∧ 2f+1 ⟨PREVOTE, h_p, round_p, id(v)⟩
//!       while valid(v) ∧ step ≥ prevote, first time:                          L36
//!    if step = prevote: lockedValue ← v; lockedRound ← round_p;
//!                       precommit id(v); step ← precommit
//!    validValue ← v; validRound ← round_p
//!  upon ⟨PROPOSAL, h_p, ∗, v, ∗⟩ ∧ 2f+1 ⟨PREVOTE, h_p, vr, id(v)⟩
//!       while valid(v) ∧ validRound_p < vr < round_p:                  (ours, late polka)
//!    validValue ← v; validRound ← vr
//!  upon 2f+1 ⟨PREVOTE, h_p, round_p, nil⟩ while step = prevote:             L44
//!    precommit nil; step ← precommit
//!  upon 2f+1 ⟨PRECOMMIT, h_p, round_p, ∗⟩ first time:                       L47
//!    schedule OnTimeoutPrecommit(h_p, round_p)
//!  upon ⟨PROPOSAL, h_p, r, v, ∗⟩ ∧ 2f+1 ⟨PRECOMMIT, h_p, r, id(v)⟩
//!       while decision_p[h_p] = nil:                                          L49
//!    decide v (with the 2f+1 precommits as its certificate); h_p ← h_p + 1;
//!    reset locked/valid values and rounds; StartRound(0)
//!  upon f+1 messages ⟨∗, h_p, r, ∗⟩ with r > round_p:                          L55
//!    StartRound(r)
//!  OnTimeoutPropose(h, r):   if h = h_p ∧ r = round_p ∧ step = propose:  prevote nil; step ← prevote   L57
//!  OnTimeoutPrevote(h, r):   if h = h_p ∧ r = round_p ∧ step = prevote:  precommit nil; step ← precommit L61
//!  OnTimeoutPrecommit(h, r): if h = h_p ∧ r = round_p: StartRound(r + 1)                          L65
//! ```
//!
//! Why it is safe: two 2f+1 quorums share a correct validator, so no two values get 2f+1
//! precommits in one round; a validator that precommits `v` in round `r` is locked on `v` and
//! prevotes for another value in a later round only on a newer polka (L28-L29), which cannot
//! exist for another value once 2f+1 precommitted `v`. Where this code departs from the paper,
//! and why, is in `rules.rs` (L49 without `valid(v)`), `state.rs` (the proposer's own propose
//! timeout, rebroadcast) and the README.

mod error;
mod metrics;
mod replay;
mod rules;
mod safety;
mod state;
mod types;
mod votes;
mod wal;

pub use error::ConsensusError;
pub use metrics::{ConsensusMetrics, ConsensusStats, DropReason};
pub use state::Consensus;
pub use types::{ConsensusConfig, Input, Output, Step, Timeout, TimeoutKind};
pub use wal::WalEntry;
