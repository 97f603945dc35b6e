//! Every JSON-RPC method of SPEC §4 over HTTP, checking the exact JSON shapes.
use crate::fake::{transfer, CHAIN_ID, GENESIS_BALANCE};
use crate::{tx_hex, Harness};
use jsonrpsee::core::client::ClientT;
use jsonrpsee::rpc_params;
use serde_json::{json, Value};

fn is_hex64(v: &Value) -> bool {
    v.as_str().is_some_and(|s| s.len() == 64 && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
}

#[tokio::test]
async fn chain_status_has_the_spec_fields() {
    let h = Harness::start().await;
    h.node.commit_block();
    let st = h.result("chain_status", json!([])).await;
    let keys: Vec<&str> = st.as_object().unwrap().keys().map(String::as_str).collect();
    for k in
        ["chain_id", "node_id", "validator", "height", "block_hash", "state_root", "block_time_ms", "syncing", "peers"]
    {
        assert!(keys.contains(&k), "missing {k} in {st}");
    }
    assert_eq!(st["chain_id"], CHAIN_ID);
    assert_eq!(st["height"], 1);
    assert!(is_hex64(&st["block_hash"]) && is_hex64(&st["state_root"]));
    assert_eq!(st["peers"], 3);
    h.stop().await;
}

#[tokio::test]
async fn submit_get_and_follow_a_tx_to_committed() {
    let h = Harness::start().await;
    let tx = transfer(&h.keys[0], 0, 1, 12_345, CHAIN_ID);
    let client = h.http_client();
    let rp: Value = client.request("tx_submit", rpc_params![tx_hex(&tx)]).await.unwrap();
    assert_eq!(rp, json!({ "hash": tx.hash().to_hex() }), "hash is blake3(body) in lowercase hex");

    let pending = h.result("tx_get", json!([tx.hash().to_hex()])).await;
    assert_eq!(pending, json!({ "hash": tx.hash().to_hex(), "status": "pending" }));
    assert_eq!(h.result("mempool_status", json!([])).await["size"], 1);

    h.node.commit_block();
    let done = h.result("tx_get", json!([tx.hash().to_hex()])).await;
    assert_eq!(
        done,
        json!({ "hash": tx.hash().to_hex(), "status": "committed", "height": 1, "index": 0, "success": true })
    );
    let unknown = h.result("tx_get", json!(["00".repeat(32)])).await;
    assert_eq!(unknown["status"], "unknown");

    let acct = h.result("state_getAccount", json!([h.keys[0].address().to_hex()])).await;
    assert_eq!(acct["balance"], json!(GENESIS_BALANCE - 12_346), "amounts are JSON numbers");
    assert_eq!(acct["nonce"], 1);
    h.stop().await;
}

#[tokio::test]
async fn blocks_by_height_latest_and_unknown() {
    let h = Harness::start().await;
    assert_eq!(h.result("chain_getBlock", json!(["latest"])).await, Value::Null, "no block yet");
    let tx = transfer(&h.keys[1], 0, 2, 5, CHAIN_ID);
    h.result("tx_submit", json!([tx_hex(&tx)])).await;
    let head = h.node.commit_block();
    h.node.commit_block();

    let b1 = h.result("chain_getBlock", json!([1])).await;
    assert_eq!(b1["hash"], head.hash.to_hex());
    for k in ["height", "parent_hash", "timestamp_ms", "proposer", "tx_root", "state_root"] {
        assert!(b1["header"].get(k).is_some(), "header lacks {k}: {b1}");
    }
    assert_eq!(b1["header"]["height"], 1);
    assert_eq!(b1["txs"], json!([tx.hash().to_hex()]));
    assert_eq!(b1["commit"]["height"], 1);
    assert_eq!(b1["commit"]["block_hash"], head.hash.to_hex());

    let latest = h.result("chain_getBlock", json!(["latest"])).await;
    assert_eq!(latest["header"]["height"], 2);
    assert_eq!(h.result("chain_getBlock", json!([])).await["header"]["height"], 2, "no param = latest");
    assert_eq!(h.result("chain_getBlock", json!([1_000_000_000_000u64])).await, Value::Null);
    h.stop().await;
}

#[tokio::test]
async fn accounts_absent_present_and_proved() {
    let h = Harness::start().await;
    h.node.commit_block();
    let absent = h.result("state_getAccount", json!(["ab".repeat(32)])).await;
    assert_eq!(absent["balance"], 0);
    assert_eq!(absent["nonce"], 0);
    assert_eq!(absent["height"], 1);
    assert!(is_hex64(&absent["state_root"]));
    assert!(absent.get("proof").is_none(), "no proof unless asked");

    let addr = h.keys[2].address().to_hex();
    let proved = h.result("state_getAccount", json!([addr, {"prove": true}])).await;
    assert_eq!(proved["address"], addr);
    assert_eq!(proved["balance"], GENESIS_BALANCE);
    assert_eq!(proved["proof"]["siblings"], json!(["ab".repeat(32), "cd".repeat(32)]));
    let at = h.result("state_getAccount", json!([addr, {"height": 1, "prove": false}])).await;
    assert_eq!(at["height"], 1);
    h.stop().await;
}

#[tokio::test]
async fn batch_submit_answers_each_tx_in_order() {
    let h = Harness::start().await;
    let good = transfer(&h.keys[0], 0, 1, 1, CHAIN_ID);
    let wrong_chain = transfer(&h.keys[0], 1, 1, 1, "wrong-chain");
    let good2 = transfer(&h.keys[1], 0, 1, 1, CHAIN_ID);
    let res = h.result("tx_submitBatch", json!([[tx_hex(&good), tx_hex(&wrong_chain), "zz", tx_hex(&good2)]])).await;
    let res = res.as_array().unwrap();
    assert_eq!(res.len(), 4);
    assert_eq!(res[0], json!({ "hash": good.hash().to_hex() }));
    assert_eq!(res[1]["error"]["code"], 1003);
    assert_eq!(res[1]["error"]["data"]["reason"], "wrong_chain_id");
    assert_eq!(res[2]["error"]["code"], 1001, "non-hex element is malformed_tx");
    assert_eq!(res[3], json!({ "hash": good2.hash().to_hex() }));
    h.stop().await;
}

#[tokio::test]
async fn validators_mempool_peers_evidence() {
    let h = Harness::start().await;
    let vs = h.result("chain_getValidators", json!([])).await;
    assert_eq!(vs.as_array().unwrap().len(), 1);
    assert!(is_hex64(&vs[0]["address"]) && vs[0]["power"] == 10);
    assert_eq!(h.result("chain_getValidators", json!([1])).await, vs, "the set of a given height");

    assert_eq!(h.result("mempool_status", json!([])).await, json!({"size": 0, "bytes": 0, "capacity": 64}));

    let peers = h.result("net_peers", json!([])).await;
    assert_eq!(peers[0]["peer_id"], "peer-a");
    assert_eq!(peers[0]["validator"], "07".repeat(32));
    assert!(peers[1].get("validator").is_none(), "validator? is omitted for non-validators");

    let ev = h.result("chain_getEvidence", json!([])).await;
    assert_eq!(ev[0]["first"]["height"], 1);
    h.stop().await;
}

#[tokio::test]
async fn json_rpc_batches_are_served_and_limited() {
    let h = Harness::start_with(|c| c.max_batch = 3).await;
    let call = |id: u32| json!({"jsonrpc": "2.0", "id": id, "method": "chain_status", "params": []});
    let (status, body) = h.post_raw(json!([call(1), call(2), call(3)]).to_string()).await;
    assert_eq!(status, 200);
    assert_eq!(body.as_array().map(Vec::len), Some(3));
    let (_, body) = h.post_raw(json!([call(1), call(2), call(3), call(4)]).to_string()).await;
    assert_eq!(body["error"]["code"], -32010, "batch over max_batch is refused (jsonrpsee's code): {body}");

    let too_many: Vec<String> = (0..4).map(|_| "00".into()).collect();
    let rp = h.call("tx_submitBatch", json!([too_many])).await;
    assert_eq!(rp["error"]["code"], -32602, "tx_submitBatch over max_batch: {rp}");
    h.stop().await;
}

#[tokio::test]
async fn concurrent_single_submits_reach_the_node_in_batches() {
    let h = Harness::start().await;
    // While the node is busy with one call, the others queue up behind it.
    h.node.inner.lock().submit_delay = std::time::Duration::from_millis(300);
    let txs: Vec<_> = h.keys[..5].iter().flat_map(|k| (0..8).map(move |n| transfer(k, n, 1, 1, CHAIN_ID))).collect();
    let client = h.ws_client().await;
    let calls = txs.iter().map(|tx| client.request::<Value, _>("tx_submit", rpc_params![tx_hex(tx)]));
    let results = futures::future::join_all(calls).await;
    for (tx, r) in txs.iter().zip(results) {
        assert_eq!(r.unwrap(), json!({ "hash": tx.hash().to_hex() }), "each caller gets its own answer");
    }
    let calls = h.node.inner.lock().submit_calls;
    assert!(calls < txs.len() / 4, "{} single submits took {calls} node calls", txs.len());
    h.stop().await;
}
