//! The configurable limits: body size (413), per-IP rate limit (429 / -32005 /
//! RESOURCE_EXHAUSTED), request timeout, CORS, loopback binding.
use crate::fake::{transfer, CHAIN_ID};
use crate::{tx_hex, Harness};
use cairn_proto::pb;
use cairn_rpc::RpcConfig;
use jsonrpsee::core::client::ClientT;
use jsonrpsee::rpc_params;
use serde_json::{json, Value};
use std::time::Duration;

#[tokio::test]
async fn oversized_body_is_413_at_the_default_limit() {
    let h = Harness::start().await;
    let limit = RpcConfig::default().max_body_bytes as usize;
    assert_eq!(limit, 1024 * 1024);
    let pad = |n: usize| {
        let head = r#"{"jsonrpc":"2.0","id":1,"method":"tx_submit","params":[""#;
        let tail = r#""]}"#;
        format!("{head}{}{tail}", "z".repeat(n - head.len() - tail.len()))
    };
    let (status, body) = h.post_raw(pad(limit + 1)).await;
    assert_eq!(status, 413, "{body}");
    // Exactly at the limit the request is read (and then refused: the tx is not hex).
    let (status, body) = h.post_raw(pad(limit)).await;
    assert_eq!(status, 200);
    assert_eq!(body["error"]["code"], 1001);
    h.stop().await;
}

#[tokio::test]
async fn http_rate_limit_is_429_per_ip() {
    let h = Harness::start_with(|c| {
        c.rate_limit_per_sec = 1;
        c.rate_limit_burst = 3;
    })
    .await;
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "chain_status", "params": []}).to_string();
    for i in 0..3 {
        assert_eq!(h.post_raw(body.clone()).await.0, 200, "request {i} within the burst");
    }
    // The bucket refills at 1/s: of the next 20 quick requests, some must be refused.
    let client = reqwest::Client::new();
    let mut refused = None;
    for _ in 0..20 {
        let rp =
            client.post(&h.http).header("content-type", "application/json").body(body.clone()).send().await.unwrap();
        if rp.status().as_u16() == 429 {
            refused = Some(rp);
            break;
        }
    }
    let rp = refused.expect("no request was rate limited");
    assert_eq!(rp.headers().get("retry-after").unwrap(), "1");
    // Health probes are not rate limited.
    assert_eq!(reqwest::get(format!("{}/health", h.http)).await.unwrap().status().as_u16(), 200);
    h.stop().await;
}

#[tokio::test]
async fn websocket_calls_share_the_ip_bucket() {
    let h = Harness::start_with(|c| {
        c.rate_limit_per_sec = 1;
        c.rate_limit_burst = 4;
    })
    .await;
    let client = h.ws_client().await; // the upgrade request takes one token
    for _ in 0..3 {
        let _: Value = client.request("chain_status", rpc_params![]).await.unwrap();
    }
    let mut refused = None;
    for _ in 0..20 {
        if let Err(e) = client.request::<Value, _>("chain_status", rpc_params![]).await {
            refused = Some(e);
            break;
        }
    }
    match refused.expect("no call was rate limited") {
        jsonrpsee::core::ClientError::Call(e) => {
            assert_eq!(e.code(), cairn_rpc::RATE_LIMITED_CODE);
            assert_eq!(e.data().map(|d| d.get()), Some(r#"{"reason":"rate_limited"}"#));
        }
        other => panic!("expected a call error, got {other:?}"),
    }
    h.stop().await;
}

#[tokio::test]
async fn grpc_rate_limit_is_resource_exhausted() {
    let h = Harness::start_with(|c| {
        c.rate_limit_per_sec = 1;
        c.rate_limit_burst = 2;
    })
    .await;
    let mut c = h.grpc_client().await;
    c.status(pb::StatusRequest {}).await.unwrap();
    c.status(pb::StatusRequest {}).await.unwrap();
    let mut refused = None;
    for _ in 0..20 {
        if let Err(e) = c.status(pb::StatusRequest {}).await {
            refused = Some(e);
            break;
        }
    }
    assert_eq!(refused.expect("no call was rate limited").code(), tonic::Code::ResourceExhausted);
    h.stop().await;
}

#[tokio::test]
async fn slow_calls_time_out() {
    let h = Harness::start_with(|c| c.request_timeout = Duration::from_millis(200)).await;
    h.node.inner.lock().submit_delay = Duration::from_secs(3);
    let tx = transfer(&h.keys[0], 0, 1, 1, CHAIN_ID);
    let rp = h.call("tx_submit", json!([tx_hex(&tx)])).await;
    assert_eq!(rp["error"]["code"], cairn_rpc::TIMEOUT_CODE, "{rp}");
    assert_eq!(rp["error"]["data"]["reason"], "timeout");

    let mut c = h.grpc_client().await;
    let err = c.submit_tx(pb::SubmitTxRequest { txs: vec![tx.encoded().clone()] }).await.unwrap_err();
    assert!(matches!(err.code(), tonic::Code::Cancelled | tonic::Code::DeadlineExceeded), "{err:?}");
    h.stop().await;
}

async fn preflight(h: &Harness, origin: &str) -> reqwest::Response {
    reqwest::Client::new()
        .request(reqwest::Method::OPTIONS, &h.http)
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "content-type")
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn cors_is_off_by_default_and_follows_the_allow_list() {
    let h = Harness::start().await;
    let rp = preflight(&h, "http://evil.example").await;
    assert!(rp.headers().get("access-control-allow-origin").is_none(), "no CORS by default");
    h.stop().await;

    let h = Harness::start_with(|c| c.cors_origins = vec!["http://ui.example".into()]).await;
    let rp = preflight(&h, "http://ui.example").await;
    assert_eq!(rp.headers().get("access-control-allow-origin").unwrap(), "http://ui.example");
    let rp = preflight(&h, "http://evil.example").await;
    assert!(rp.headers().get("access-control-allow-origin").is_none());
    let post = reqwest::Client::new()
        .post(&h.http)
        .header("origin", "http://ui.example")
        .header("content-type", "application/json")
        .body(json!({"jsonrpc": "2.0", "id": 1, "method": "chain_status", "params": []}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(post.headers().get("access-control-allow-origin").unwrap(), "http://ui.example");
    h.stop().await;
}

#[test]
fn defaults_bind_loopback_with_safe_limits() {
    let c = RpcConfig::default();
    for a in [c.jsonrpc_addr, c.grpc_addr, c.metrics_addr] {
        assert!(a.ip().is_loopback(), "{a}");
    }
    assert_eq!((c.jsonrpc_addr.port(), c.grpc_addr.port(), c.metrics_addr.port()), (26601, 26602, 26603));
    assert!(c.cors_origins.is_empty());
    assert!(c.rate_limit_per_sec > 0 && c.max_connections > 0 && c.ws_buffer > 0);
}

#[tokio::test]
async fn grpc_connections_are_limited() {
    let h = Harness::start_with(|c| c.max_connections = 1).await;
    let mut first = h.grpc_client().await;
    first.status(pb::StatusRequest {}).await.unwrap();
    let second = pb::node_client::NodeClient::connect(h.grpc.clone()).await;
    if let Ok(mut c) = second {
        let err = c.status(pb::StatusRequest {}).await.unwrap_err();
        // The socket is closed at once: UNAVAILABLE or CANCELLED depending on timing.
        assert!(matches!(err.code(), tonic::Code::Unavailable | tonic::Code::Cancelled), "{err:?}");
    }
    first.status(pb::StatusRequest {}).await.expect("the first connection is unaffected");
    h.stop().await;
}
