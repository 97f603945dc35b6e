//! Integration tests of cairn-consensus: scripted scenarios (`basic`) and the deterministic
//! multi-validator simulation (`sim`).
mod basic;
mod sim;
