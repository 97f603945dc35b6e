//! Everything a peer can send (gossip envelopes, sync responses) decodes without panicking.
#![no_main]
use bytes::Bytes;
use cairn_proto::{pb, CertifiedBlock, ConsensusMessage, DuplicateVoteEvidence, UncheckedTx};
use libfuzzer_sys::fuzz_target;
use prost::Message;

fuzz_target!(|data: &[u8]| {
    let b = Bytes::copy_from_slice(data);
    if let Ok(env) = pb::Envelope::decode(b.clone()) {
        match env.payload {
            Some(pb::envelope::Payload::Consensus(m)) => {
                let _ = ConsensusMessage::from_pb(m, |_| None);
            }
            Some(pb::envelope::Payload::Txs(batch)) => {
                for t in batch.txs {
                    let _ = UncheckedTx::decode(t);
                }
            }
            Some(pb::envelope::Payload::Evidence(e)) => {
                let _ = DuplicateVoteEvidence::from_pb(e);
            }
            None => {}
        }
    }
    if let Ok(resp) = pb::SyncResponse::decode(b) {
        for cb in resp.blocks {
            let _ = CertifiedBlock::from_pb(cb, |_| None);
        }
    }
});
