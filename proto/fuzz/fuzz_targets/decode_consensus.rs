//! A `ConsensusMessage` from a peer's protobuf bytes decodes or errors, never panics; and what
//! decodes re-encodes to bytes that decode to the same message (nothing is lost or invented).
#![no_main]
use bytes::Bytes;
use cairn_proto::{pb, ConsensusMessage};
use libfuzzer_sys::fuzz_target;
use prost::Message;

fuzz_target!(|data: &[u8]| {
    let Ok(m) = pb::ConsensusMessage::decode(Bytes::copy_from_slice(data)) else { return };
    let Ok(msg) = ConsensusMessage::from_pb(m, |_| None) else { return };
    let encoded = Bytes::from(msg.to_pb().encode_to_vec());
    let again = pb::ConsensusMessage::decode(encoded).expect("a re-encoded message is protobuf");
    let again = ConsensusMessage::from_pb(again, |_| None).expect("a re-encoded message decodes");
    assert_eq!(again, msg, "decode ∘ encode is the identity on decoded messages");
});
