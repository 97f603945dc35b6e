//! gRPC `cairn.v1.Node` with a tonic client: every method of SPEC §5, and `GetValidators`.
use crate::fake::{transfer, CHAIN_ID, GENESIS_BALANCE};
use crate::Harness;
use cairn_proto::pb;
use futures::StreamExt;
use prost::Message;
use std::time::Duration;

#[tokio::test]
async fn status_submit_get_tx_and_block() {
    let h = Harness::start().await;
    let mut c = h.grpc_client().await;
    let st = c.status(pb::StatusRequest {}).await.unwrap().into_inner();
    assert_eq!((st.chain_id.as_str(), st.height, st.peers), (CHAIN_ID, 0, 3));

    let tx = transfer(&h.keys[0], 0, 1, 5, CHAIN_ID);
    let rp = c.submit_tx(pb::SubmitTxRequest { txs: vec![tx.encoded().clone()] }).await.unwrap().into_inner();
    let hash = match &rp.results[0].result {
        Some(pb::submit_result::Result::Hash(h)) => h.clone(),
        other => panic!("{other:?}"),
    };
    assert_eq!(&hash[..], &tx.hash().0);

    let got = c.get_tx(pb::GetTxRequest { hash: hash.clone() }).await.unwrap().into_inner();
    assert_eq!(got.status, pb::TxStatus::Pending as i32);
    let head = h.node.commit_block();
    let got = c.get_tx(pb::GetTxRequest { hash: hash.clone() }).await.unwrap().into_inner();
    assert_eq!((got.status, got.height, got.index, got.success), (pb::TxStatus::Committed as i32, 1, 0, true));
    let unknown = c.get_tx(pb::GetTxRequest { hash: vec![0; 32].into() }).await.unwrap().into_inner();
    assert_eq!(unknown.status, pb::TxStatus::Unknown as i32);
    let bad = c.get_tx(pb::GetTxRequest { hash: vec![0; 5].into() }).await.unwrap_err();
    assert_eq!(bad.code(), tonic::Code::InvalidArgument);

    let b = c.get_block(pb::GetBlockRequest { height: 1 }).await.unwrap().into_inner();
    assert!(b.found);
    assert_eq!(&b.hash[..], &head.hash.0);
    assert_eq!(b.header.unwrap().height, 1);
    assert_eq!(b.tx_hashes, vec![hash]);
    assert_eq!(b.commit.unwrap().height, 1);
    assert!(c.get_block(pb::GetBlockRequest { height: 0 }).await.unwrap().into_inner().found, "0 = latest");
    assert!(!c.get_block(pb::GetBlockRequest { height: 99 }).await.unwrap().into_inner().found);

    // Sets are known from height 1 to two past the latest (the fake's: one validator, power 10).
    for (height, found) in [(0, true), (1, true), (3, true), (4, false)] {
        let v = c.get_validators(pb::GetValidatorsRequest { height }).await.unwrap().into_inner();
        assert_eq!(v.found, found, "set of height {height}");
        let powers: Vec<u64> = v.validators.iter().flat_map(|s| s.validators.iter().map(|v| v.power)).collect();
        assert_eq!(powers, if found { vec![10] } else { vec![] }, "set of height {height}");
    }
    h.stop().await;
}

#[tokio::test]
async fn get_account_with_and_without_proof() {
    let h = Harness::start().await;
    h.node.commit_block();
    let mut c = h.grpc_client().await;
    let addr = h.keys[3].address();
    let a = c
        .get_account(pb::GetAccountRequest { address: addr.0.to_vec().into(), height: 0, prove: true })
        .await
        .unwrap()
        .into_inner();
    assert_eq!((a.balance, a.nonce, a.height), (GENESIS_BALANCE, 0, 1));
    let proof = pb::AccountProof::decode(a.proof).unwrap();
    assert_eq!(proof.siblings.len(), 2);
    let plain = c
        .get_account(pb::GetAccountRequest { address: addr.0.to_vec().into(), height: 0, prove: false })
        .await
        .unwrap()
        .into_inner();
    assert!(plain.proof.is_empty());
    let old = c.get_account(pb::GetAccountRequest { address: addr.0.to_vec().into(), height: 7, prove: false }).await;
    assert_eq!(old.unwrap_err().code(), tonic::Code::NotFound);
    let bad = c.get_account(pb::GetAccountRequest { address: vec![1, 2].into(), height: 0, prove: false }).await;
    assert_eq!(bad.unwrap_err().code(), tonic::Code::InvalidArgument);
    h.stop().await;
}

#[tokio::test]
async fn submit_stream_answers_each_message_in_order() {
    let h = Harness::start().await;
    let mut c = h.grpc_client().await;
    let msgs: Vec<pb::SubmitTxRequest> = (0..3u64)
        .map(|n| pb::SubmitTxRequest {
            txs: vec![
                transfer(&h.keys[0], n, 1, 1, CHAIN_ID).encoded().clone(),
                transfer(&h.keys[0], n, 1, 1, "elsewhere").encoded().clone(),
            ],
        })
        .collect();
    let expected: Vec<Vec<u8>> =
        msgs.iter().map(|m| cairn_proto::UncheckedTx::decode(m.txs[0].clone()).unwrap().hash.0.to_vec()).collect();
    let mut out = c.submit_tx_stream(futures::stream::iter(msgs)).await.unwrap().into_inner();
    for want in expected {
        let rp = tokio::time::timeout(Duration::from_secs(5), out.next()).await.unwrap().unwrap().unwrap();
        assert_eq!(rp.results.len(), 2);
        match (&rp.results[0].result, &rp.results[1].result) {
            (Some(pb::submit_result::Result::Hash(h)), Some(pb::submit_result::Result::Error(e))) => {
                assert_eq!(h.to_vec(), want);
                assert_eq!((e.code, e.reason.as_str()), (1003, "wrong_chain_id"));
            }
            other => panic!("{other:?}"),
        }
    }
    assert!(out.next().await.is_none(), "the stream ends when the client's does");
    h.stop().await;
}

#[tokio::test]
async fn subscribe_blocks_streams_heads() {
    let h = Harness::start().await;
    let mut c = h.grpc_client().await;
    let mut s = c.subscribe_blocks(pb::SubscribeBlocksRequest {}).await.unwrap().into_inner();
    let a = h.node.commit_block();
    h.node.commit_block();
    let e1 = tokio::time::timeout(Duration::from_secs(5), s.next()).await.unwrap().unwrap().unwrap();
    let e2 = tokio::time::timeout(Duration::from_secs(5), s.next()).await.unwrap().unwrap().unwrap();
    assert_eq!((e1.height, &e1.hash[..], e1.timestamp_ms), (1, &a.hash.0[..], a.timestamp_ms));
    assert_eq!(&e1.state_root[..], &a.state_root.0);
    assert_eq!(e2.height, 2);
    h.stop().await;
}

#[tokio::test]
async fn lagging_block_subscriber_gets_resource_exhausted() {
    let h = Harness::start_full(|_| {}, 4).await;
    let mut c = h.grpc_client().await;
    let mut s = c.subscribe_blocks(pb::SubscribeBlocksRequest {}).await.unwrap().into_inner();
    // More heads than the node's broadcast keeps, before the subscriber reads any.
    for _ in 0..32 {
        h.node.commit_block();
    }
    let mut ok = 0;
    let err = loop {
        match tokio::time::timeout(Duration::from_secs(5), s.next()).await.unwrap() {
            Some(Ok(_)) => ok += 1,
            Some(Err(e)) => break e,
            None => panic!("stream ended without an error after {ok} events"),
        }
    };
    assert_eq!(err.code(), tonic::Code::ResourceExhausted, "{err:?}");
    assert!(s.next().await.is_none(), "the stream ends after the error");
    h.stop().await;
}
