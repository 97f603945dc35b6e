//! cairn-proto integration tests: the shared test vectors and codec properties.
mod roundtrip;
mod vectors;
