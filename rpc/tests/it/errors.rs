//! A table of every error code of SPEC §4, each produced over HTTP by the input that causes
//! it, with `data.reason` checked; and the same transaction errors over gRPC.
use crate::fake::{transfer, CAPACITY, CHAIN_ID, GENESIS_BALANCE, MAX_TX_BYTES, NONCE_WINDOW, SENDER_LIMIT};
use crate::{tx_hex, Harness};
use cairn_proto::{Keypair, RejectReason};
use serde_json::{json, Value};

/// Sends `tx_submit` with `hex` and returns the error object.
async fn submit_err(h: &Harness, hex: String) -> Value {
    let rp = h.call("tx_submit", json!([hex])).await;
    assert!(rp.get("result").is_none(), "expected an error, got {rp}");
    rp["error"].clone()
}

fn assert_reason(err: &Value, reason: RejectReason) {
    assert_eq!(err["code"], reason.code(), "{err}");
    assert_eq!(err["data"]["reason"], reason.name(), "{err}");
    assert!(err["message"].as_str().is_some_and(|m| !m.is_empty()), "{err}");
}

/// Builds, for one reason, the hex of a tx that the (fake) mempool refuses for it, after
/// setting up whatever state the refusal needs.
async fn input_for(h: &Harness, reason: RejectReason) -> String {
    let k: &Keypair = &h.keys[0];
    match reason {
        RejectReason::MalformedTx => "00ff00ff".into(),
        RejectReason::InvalidSignature => {
            let mut raw = transfer(k, 0, 1, 1, CHAIN_ID).encoded().to_vec();
            *raw.last_mut().unwrap() ^= 0x01;
            hex::encode(raw)
        }
        RejectReason::WrongChainId => tx_hex(&transfer(k, 0, 1, 1, "other-chain")),
        RejectReason::NonceTooLow => {
            h.result("tx_submit", json!([tx_hex(&transfer(k, 0, 1, 1, CHAIN_ID))])).await;
            h.node.commit_block();
            tx_hex(&transfer(k, 0, 1, 2, CHAIN_ID))
        }
        RejectReason::NonceTooHigh => tx_hex(&transfer(k, NONCE_WINDOW, 1, 1, CHAIN_ID)),
        RejectReason::InsufficientBalance => tx_hex(&transfer(k, 0, 1, GENESIS_BALANCE, CHAIN_ID)),
        RejectReason::Duplicate => {
            let tx = tx_hex(&transfer(k, 0, 1, 1, CHAIN_ID));
            h.result("tx_submit", json!([tx.clone()])).await;
            tx
        }
        RejectReason::MempoolFull => {
            let per = CAPACITY / SENDER_LIMIT;
            for key in &h.keys[1..=per] {
                let txs: Vec<String> =
                    (0..SENDER_LIMIT as u64).map(|n| tx_hex(&transfer(key, n, 1, 1, CHAIN_ID))).collect();
                let res = h.result("tx_submitBatch", json!([txs])).await;
                assert!(res.as_array().unwrap().iter().all(|r| r.get("hash").is_some()), "{res}");
            }
            tx_hex(&transfer(k, 0, 1, 1, CHAIN_ID))
        }
        RejectReason::TxTooLarge => "ab".repeat(MAX_TX_BYTES + 1),
        RejectReason::FeeTooLow => tx_hex(&transfer(k, 0, 0, 1, CHAIN_ID)),
        RejectReason::SenderLimit => {
            let txs: Vec<String> = (0..SENDER_LIMIT as u64).map(|n| tx_hex(&transfer(k, n, 1, 1, CHAIN_ID))).collect();
            h.result("tx_submitBatch", json!([txs])).await;
            tx_hex(&transfer(k, SENDER_LIMIT as u64, 1, 1, CHAIN_ID))
        }
    }
}

#[tokio::test]
async fn every_tx_error_code_over_json_rpc() {
    for reason in RejectReason::ALL {
        let h = Harness::start().await;
        let hex = input_for(&h, reason).await;
        assert_reason(&submit_err(&h, hex.clone()).await, reason);
        // The same refusal inside a batch is an element, not a failed call.
        let res = h.result("tx_submitBatch", json!([[hex]])).await;
        assert_reason(&res[0]["error"], reason);
        h.stop().await;
    }
}

#[tokio::test]
async fn non_hex_tx_is_malformed_tx() {
    let h = Harness::start().await;
    for bad in ["zz", "abc", "0xg0", "not hex at all"] {
        assert_reason(&submit_err(&h, bad.into()).await, RejectReason::MalformedTx);
    }
    h.stop().await;
}

#[tokio::test]
async fn standard_json_rpc_error_codes() {
    let h = Harness::start().await;
    let cases: Vec<(&str, String, i64)> = vec![
        ("parse error", "{not json".into(), -32700),
        ("invalid request: no method", json!({"jsonrpc": "2.0", "id": 1}).to_string(), -32600),
        ("invalid request: wrong version", json!({"jsonrpc": "1.0", "id": 1, "method": "chain_status"}).to_string(), -32600),
        ("unknown method", json!({"jsonrpc": "2.0", "id": 1, "method": "chain_nope", "params": []}).to_string(), -32601),
        ("tx_get with a bad hash", json!({"jsonrpc": "2.0", "id": 1, "method": "tx_get", "params": ["xyz"]}).to_string(), -32602),
        ("tx_get with no param", json!({"jsonrpc": "2.0", "id": 1, "method": "tx_get", "params": []}).to_string(), -32602),
        ("tx_submit with a number", json!({"jsonrpc": "2.0", "id": 1, "method": "tx_submit", "params": [5]}).to_string(), -32602),
        ("chain_getBlock with a negative height", json!({"jsonrpc": "2.0", "id": 1, "method": "chain_getBlock", "params": [-1]}).to_string(), -32602),
        ("chain_getBlock with a word", json!({"jsonrpc": "2.0", "id": 1, "method": "chain_getBlock", "params": ["earliest"]}).to_string(), -32602),
        ("state_getAccount with a short address", json!({"jsonrpc": "2.0", "id": 1, "method": "state_getAccount", "params": ["abcd"]}).to_string(), -32602),
        ("state_getAccount with an unknown option", json!({"jsonrpc": "2.0", "id": 1, "method": "state_getAccount", "params": ["ab".repeat(32), {"proof": true}]}).to_string(), -32602),
        ("tx_submitBatch with a string", json!({"jsonrpc": "2.0", "id": 1, "method": "tx_submitBatch", "params": ["00"]}).to_string(), -32602),
    ];
    for (what, body, code) in cases {
        let (_, rp) = h.post_raw(body).await;
        assert_eq!(rp["error"]["code"], code, "{what}: {rp}");
    }
    let rp = h.call("state_getAccount", json!(["ab".repeat(32), {"height": 99}])).await;
    assert_eq!(rp["error"]["code"], cairn_rpc::NOT_FOUND_CODE, "state not kept at that height: {rp}");
    assert_eq!(rp["error"]["data"]["reason"], "not_found");
    h.stop().await;
}

#[tokio::test]
async fn every_tx_error_code_over_grpc() {
    use cairn_proto::pb;
    use tonic::Code;
    for reason in RejectReason::ALL {
        let h = Harness::start().await;
        let raw = hex::decode(input_for(&h, reason).await).unwrap_or_else(|_| vec![0xff; 3]);
        let mut client = h.grpc_client().await;
        let err = client.submit_tx(pb::SubmitTxRequest { txs: vec![raw.clone().into()] }).await.unwrap_err();
        let expected = match reason {
            RejectReason::MempoolFull | RejectReason::SenderLimit => Code::ResourceExhausted,
            RejectReason::Duplicate => Code::AlreadyExists,
            RejectReason::NonceTooLow | RejectReason::NonceTooHigh | RejectReason::InsufficientBalance => {
                Code::FailedPrecondition
            }
            _ => Code::InvalidArgument,
        };
        assert_eq!(err.code(), expected, "{reason}: {err:?}");
        assert!(err.message().starts_with(reason.name()), "{reason}: {}", err.message());
        assert_eq!(err.metadata().get(cairn_rpc::REASON_METADATA).unwrap(), reason.name());
        assert_eq!(err.metadata().get(cairn_rpc::CODE_METADATA).unwrap(), reason.code().to_string().as_str());

        // In a batch of two, each tx gets its own result with the SPEC code and reason.
        let rp = client.submit_tx(pb::SubmitTxRequest { txs: vec![raw.clone().into(), raw.into()] }).await.unwrap();
        match &rp.get_ref().results[0].result {
            Some(pb::submit_result::Result::Error(e)) => {
                assert_eq!((e.code, e.reason.as_str()), (reason.code() as u32, reason.name()))
            }
            other => panic!("{reason}: expected an error result, got {other:?}"),
        }
        h.stop().await;
    }
}
