//! Integration tests of cairn-consensus: scripted scenarios of the state machine alone. The
//! deterministic multi-validator simulation drives it through the engine (engine/tests/it/sim).
mod basic;
