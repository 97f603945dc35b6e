//! Bounded work per client: the rate limit charges per call and per transaction (a JSON-RPC
//! batch or a many-tx submission costs what it carries, not one request), a trusted reverse
//! proxy's `X-Forwarded-For` names the client only when configured, subscriptions are capped
//! per connection and in total, and the `/metrics` server caps its connections.
use crate::fake::{transfer, CHAIN_ID};
use crate::{tx_hex, Harness};
use cairn_proto::pb;
use jsonrpsee::core::client::ClientT;
use jsonrpsee::rpc_params;
use serde_json::{json, Value};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// `n` well-formed signed transfers (whether the node admits them does not matter here).
fn txs(h: &Harness, n: usize) -> Vec<String> {
    (0..n).map(|i| tx_hex(&transfer(&h.keys[i % h.keys.len()], (i / h.keys.len()) as u64, 1, 1, CHAIN_ID))).collect()
}

fn status_call(id: usize) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": "chain_status", "params": []})
}

/// Rate 1/s: over one test, at most a token or two come back.
fn tight(burst: u32) -> impl FnOnce(&mut cairn_rpc::RpcConfig) {
    move |c| {
        c.rate_limit_per_sec = 1;
        c.rate_limit_burst = burst;
    }
}

#[tokio::test]
async fn an_http_batch_costs_one_token_per_call() {
    let h = Harness::start_with(tight(10)).await;
    let batch = |n: usize| Value::Array((0..n).map(status_call).collect()).to_string();
    let (status, body) = h.post_raw(batch(8)).await;
    assert_eq!(status, 200, "8 calls within a burst of 10: {body}");
    let (status, body) = h.post_raw(batch(8)).await;
    assert_eq!(status, 429, "8 more calls with ≈ 2 tokens left must be refused: {body}");
    assert_eq!(body["error"]["code"], cairn_rpc::RATE_LIMITED_CODE, "{body}");
    h.stop().await;
}

#[tokio::test]
async fn tx_submit_batch_costs_one_token_per_tx_over_http_and_websocket() {
    let h = Harness::start_with(tight(100)).await;
    let batch = txs(&h, 60);
    let rp = h.call("tx_submitBatch", json!([batch])).await;
    assert!(rp["result"].is_array(), "60 txs within a burst of 100: {rp}");
    let body = json!({"jsonrpc": "2.0", "id": 2, "method": "tx_submitBatch", "params": [batch]}).to_string();
    let (status, body) = h.post_raw(body).await;
    assert_eq!(status, 429, "60 more txs with ≈ 40 tokens left: {body}");
    h.stop().await;

    let h = Harness::start_with(tight(40)).await;
    let ws = h.ws_client().await; // the upgrade takes one token
    let err = ws.request::<Value, _>("tx_submitBatch", rpc_params![txs(&h, 60)]).await.unwrap_err();
    match err {
        jsonrpsee::core::ClientError::Call(e) => assert_eq!(e.code(), cairn_rpc::RATE_LIMITED_CODE),
        other => panic!("expected the rate limit, got {other:?}"),
    }
    let ok: Value = ws.request("tx_submitBatch", rpc_params![txs(&h, 20)]).await.unwrap();
    assert_eq!(ok.as_array().map(Vec::len), Some(20), "20 txs fit in what is left");
    h.stop().await;
}

#[tokio::test]
async fn grpc_submissions_cost_one_token_per_tx() {
    let h = Harness::start_with(tight(40)).await;
    let mut c = h.grpc_client().await;
    let raw = |n: usize| -> Vec<bytes::Bytes> {
        txs(&h, n).iter().map(|x| bytes::Bytes::from(hex::decode(x).unwrap())).collect()
    };
    let err = c.submit_tx(pb::SubmitTxRequest { txs: raw(60) }).await.unwrap_err();
    assert_eq!(err.code(), tonic::Code::ResourceExhausted, "{err:?}");
    c.submit_tx(pb::SubmitTxRequest { txs: raw(30) }).await.expect("30 txs fit in the burst");
    // A stream message is charged by its txs too: ≈ 10 tokens are left.
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    tx.send(pb::SubmitTxRequest { txs: raw(20) }).await.unwrap();
    let mut responses = c.submit_tx_stream(tokio_stream::wrappers::ReceiverStream::new(rx)).await.unwrap().into_inner();
    let first = tokio_stream::StreamExt::next(&mut responses).await.expect("one answer");
    assert_eq!(first.unwrap_err().code(), tonic::Code::ResourceExhausted);
    h.stop().await;
}

async fn post_from(h: &Harness, forwarded_for: &str) -> u16 {
    reqwest::Client::new()
        .post(&h.http)
        .header("content-type", "application/json")
        .header("x-forwarded-for", forwarded_for)
        .body(status_call(1).to_string())
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn forwarded_for_names_the_client_only_behind_a_trusted_proxy() {
    // Not trusted (the default): the header is ignored, every request is 127.0.0.1's.
    let h = Harness::start_with(tight(2)).await;
    assert_eq!(post_from(&h, "1.1.1.1").await, 200);
    assert_eq!(post_from(&h, "1.1.1.1").await, 200);
    assert_eq!(post_from(&h, "2.2.2.2").await, 429, "a forged header must not open a new bucket");
    h.stop().await;

    // 127.0.0.1 is a trusted proxy: each forwarded client has its own bucket.
    let h = Harness::start_with(|c| {
        tight(2)(c);
        c.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
    })
    .await;
    assert_eq!(post_from(&h, "1.1.1.1").await, 200);
    assert_eq!(post_from(&h, "1.1.1.1").await, 200);
    assert_eq!(post_from(&h, "1.1.1.1").await, 429, "1.1.1.1's bucket is empty");
    assert_eq!(post_from(&h, "6.6.6.6, 2.2.2.2").await, 200, "the right-most entry is the proxy's word");
    // gRPC reads the same header from the request metadata.
    let mut c = h.grpc_client().await;
    let from = |ip: &str| {
        let mut r = tonic::Request::new(pb::StatusRequest {});
        r.metadata_mut().insert("x-forwarded-for", ip.parse().unwrap());
        r
    };
    c.status(from("3.3.3.3")).await.unwrap();
    c.status(from("3.3.3.3")).await.unwrap();
    assert_eq!(c.status(from("3.3.3.3")).await.unwrap_err().code(), tonic::Code::ResourceExhausted);
    c.status(from("4.4.4.4")).await.expect("another forwarded client");
    h.stop().await;
}

async fn open_subscription(
    c: &mut pb::node_client::NodeClient<tonic::transport::Channel>,
) -> Result<tonic::Streaming<pb::BlockEvent>, tonic::Status> {
    c.subscribe_blocks(pb::SubscribeBlocksRequest {}).await.map(tonic::Response::into_inner)
}

#[tokio::test]
async fn grpc_block_subscriptions_are_capped_per_connection_and_in_total() {
    let h = Harness::start_with(|c| {
        c.max_subscriptions_per_conn = 2;
        c.max_subscriptions = 3;
    })
    .await;
    let mut one = h.grpc_client().await;
    let a = open_subscription(&mut one).await.unwrap();
    let _b = open_subscription(&mut one).await.unwrap();
    let err = open_subscription(&mut one).await.unwrap_err();
    assert_eq!(err.code(), tonic::Code::ResourceExhausted, "third on one connection: {err:?}");
    assert!(err.message().contains("connection"), "{}", err.message());
    let mut two = h.grpc_client().await;
    let _c = open_subscription(&mut two).await.unwrap();
    let err = open_subscription(&mut two).await.unwrap_err();
    assert_eq!(err.code(), tonic::Code::ResourceExhausted, "fourth on the node: {err:?}");
    assert!(err.message().contains("node"), "{}", err.message());
    // A closed subscription gives its slot back (the server notices the reset stream).
    drop(a);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        match open_subscription(&mut two).await {
            Ok(_) => break,
            Err(e) if tokio::time::Instant::now() < deadline => {
                assert_eq!(e.code(), tonic::Code::ResourceExhausted);
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(e) => panic!("the slot was never given back: {e:?}"),
        }
    }
    h.stop().await;
}

async fn subscribe_heads(
    c: &jsonrpsee::ws_client::WsClient,
) -> Result<jsonrpsee::core::client::Subscription<Value>, jsonrpsee::core::ClientError> {
    jsonrpsee::core::client::SubscriptionClientT::subscribe(
        c,
        "chain_subscribeNewHeads",
        rpc_params![],
        "chain_unsubscribeNewHeads",
    )
    .await
}

#[tokio::test]
async fn websocket_subscriptions_are_capped_in_total() {
    let h = Harness::start_with(|c| c.max_subscriptions = 2).await;
    let (x, y) = (h.ws_client().await, h.ws_client().await);
    let _s1 = subscribe_heads(&x).await.unwrap();
    let _s2 = subscribe_heads(&y).await.unwrap();
    let err = subscribe_heads(&y).await.unwrap_err();
    assert!(err.to_string().contains("too_many_subscriptions") || err.to_string().contains("subscriptions"), "{err}");
    h.stop().await;
}

/// Sends `GET /metrics` on `conn`; the status line, or what came instead.
async fn scrape(mut conn: tokio::net::TcpStream) -> String {
    conn.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").await.unwrap_or_default();
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), conn.read_to_end(&mut buf)).await;
    String::from_utf8_lossy(&buf).lines().next().unwrap_or("").to_string()
}

#[tokio::test]
async fn the_metrics_server_caps_its_connections() {
    let h = Harness::start_with(|c| c.metrics_max_connections = 2).await;
    let addr = h.metrics.trim_start_matches("http://").trim_end_matches("/metrics").to_string();
    let connect = || tokio::net::TcpStream::connect(addr.clone());
    // Two idle connections hold both slots.
    let idle = (connect().await.unwrap(), connect().await.unwrap());
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(scrape(connect().await.unwrap()).await, "", "a third connection is closed unanswered");
    drop(idle);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while !scrape(connect().await.unwrap()).await.contains("200") {
        assert!(tokio::time::Instant::now() < deadline, "the slots were never given back");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    h.stop().await;
}
