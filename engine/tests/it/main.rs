//! Integration tests of cairn-engine: the deterministic simulation of whole validators (the
//! engine with in-memory ports, a virtual clock and lossy links), many seeds and scripted
//! scenarios, sync answers from a lying peer, light verification across validator-set changes.
mod fixtures;
mod light;
mod sim;
mod sync;
