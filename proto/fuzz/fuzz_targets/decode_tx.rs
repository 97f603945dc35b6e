//! Transaction decoding must never panic, and a decoded body re-encodes canonically to a body
//! that decodes the same.
#![no_main]
use bytes::Bytes;
use cairn_proto::{pb, UncheckedTx};
use prost::Message;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(tx) = UncheckedTx::decode(Bytes::copy_from_slice(data)) {
        let canonical = tx.body.encode();
        let wrapped = pb::SignedTx { body: Bytes::from(canonical), signature: Bytes::copy_from_slice(&tx.signature.0) };
        let again = UncheckedTx::decode(Bytes::from(wrapped.encode_to_vec())).expect("canonical re-encoding decodes");
        assert_eq!(again.body, tx.body);
        let _ = tx.verify();
    }
});
