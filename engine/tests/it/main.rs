//! Integration tests of cairn-engine: the deterministic simulation of whole validators (the
//! engine with in-memory ports, a virtual clock and lossy links), many seeds and scripted
//! scenarios, and sync answers from a lying peer.
mod sim;
mod sync;
