//! cairn-proto integration tests: the shared test vectors, codec properties, and one verdict
//! per signature (ZIP-215, single and batch alike).
mod evidence;
mod roundtrip;
mod vectors;
mod zip215;
