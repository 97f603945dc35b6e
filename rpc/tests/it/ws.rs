//! WebSocket: calls, `chain_subscribeNewHeads`, the per-connection subscription limit, and a
//! slow subscriber that is closed instead of buffered without bound.
use crate::fake::{transfer, CHAIN_ID};
use crate::{tx_hex, Harness};
use cairn_proto::Hash;
use cairn_rpc::NewHead;
use jsonrpsee::core::client::{ClientT, SubscriptionClientT};
use jsonrpsee::rpc_params;
use serde_json::{json, Value};
use std::time::Duration;
use tokio_util::compat::TokioAsyncReadCompatExt;

#[tokio::test]
async fn calls_and_new_heads_over_websocket() {
    let h = Harness::start().await;
    let client = h.ws_client().await;
    let st: Value = client.request("chain_status", rpc_params![]).await.unwrap();
    assert_eq!(st["chain_id"], CHAIN_ID);
    let tx = transfer(&h.keys[0], 0, 1, 9, CHAIN_ID);
    let rp: Value = client.request("tx_submit", rpc_params![tx_hex(&tx)]).await.unwrap();
    assert_eq!(rp["hash"], tx.hash().to_hex());

    let mut sub = client
        .subscribe::<Value, _>("chain_subscribeNewHeads", rpc_params![], "chain_unsubscribeNewHeads")
        .await
        .unwrap();
    let first = h.node.commit_block();
    h.node.commit_block();
    let a = tokio::time::timeout(Duration::from_secs(5), sub.next()).await.unwrap().unwrap().unwrap();
    let b = tokio::time::timeout(Duration::from_secs(5), sub.next()).await.unwrap().unwrap().unwrap();
    assert_eq!(
        a,
        json!({
            "height": 1, "hash": first.hash.to_hex(), "tx_count": 1,
            "timestamp_ms": first.timestamp_ms, "state_root": first.state_root.to_hex()
        })
    );
    assert_eq!(b["height"], 2);
    sub.unsubscribe().await.unwrap();
    h.stop().await;
}

#[tokio::test]
async fn subscriptions_per_connection_are_limited() {
    let h = Harness::start_with(|c| c.max_subscriptions_per_conn = 2).await;
    let client = h.ws_client().await;
    let sub = || client.subscribe::<Value, _>("chain_subscribeNewHeads", rpc_params![], "chain_unsubscribeNewHeads");
    let _a = sub().await.unwrap();
    let _b = sub().await.unwrap();
    assert!(sub().await.is_err(), "a third subscription on one connection is refused");
    // Another connection has its own allowance.
    let other = h.ws_client().await;
    let _c = other
        .subscribe::<Value, _>("chain_subscribeNewHeads", rpc_params![], "chain_unsubscribeNewHeads")
        .await
        .unwrap();
    h.stop().await;
}

/// A raw WebSocket client (soketto) that subscribes and then stops reading, as a stalled
/// browser tab or a wedged script would.
#[tokio::test]
async fn slow_subscriber_is_closed_not_buffered() {
    let h = Harness::start_full(|c| c.ws_buffer = 4, 64).await;
    let addr = h.ws.trim_start_matches("ws://").to_owned();
    let sock = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let mut hs = soketto::handshake::Client::new(sock.compat(), &addr, "/");
    match hs.handshake().await.unwrap() {
        soketto::handshake::ServerResponse::Accepted { .. } => {}
        other => panic!("handshake refused: {other:?}"),
    }
    let (mut tx, mut rx) = hs.into_builder().finish();
    tx.send_text(json!({"jsonrpc": "2.0", "id": 1, "method": "chain_subscribeNewHeads", "params": []}).to_string())
        .await
        .unwrap();
    tx.flush().await.unwrap();
    let mut buf = Vec::new();
    rx.receive_data(&mut buf).await.unwrap();
    let sub_id = serde_json::from_slice::<Value>(&buf).unwrap()["result"].clone();
    assert!(!sub_id.is_null(), "subscribed: {}", String::from_utf8_lossy(&buf));

    // Far more than fits in the socket buffers, while the client reads nothing.
    const SENT: u64 = 200_000;
    for height in 1..=SENT {
        let _ = h.node.heads.send(NewHead {
            height,
            hash: Hash([7; 32]),
            tx_count: 0,
            timestamp_ms: height,
            state_root: Hash([8; 32]),
        });
        if height % 64 == 0 {
            tokio::task::yield_now().await;
        }
    }

    // Now read what the server kept: some heads, then one error notification, then nothing.
    let mut heads = 0u64;
    let closing = loop {
        buf.clear();
        let got = tokio::time::timeout(Duration::from_secs(10), rx.receive_data(&mut buf)).await;
        let msg: Value = serde_json::from_slice(&buf).unwrap_or(Value::Null);
        assert!(got.is_ok(), "no close notification after {heads} heads");
        if msg["params"].get("error").is_some() {
            break msg;
        }
        assert_eq!(msg["params"]["subscription"], sub_id);
        heads += 1;
    };
    assert!(heads < SENT, "the server must drop a subscriber that does not read ({heads} heads delivered)");
    assert_eq!(closing["params"]["error"]["data"]["reason"], "slow_subscriber", "{closing}");
    buf.clear();
    let more = tokio::time::timeout(Duration::from_millis(500), rx.receive_data(&mut buf)).await;
    assert!(more.is_err(), "nothing after the close: {}", String::from_utf8_lossy(&buf));
    h.stop().await;
}

#[tokio::test]
async fn connections_are_limited() {
    let h = Harness::start_with(|c| c.max_connections = 2).await;
    let _a = h.ws_client().await;
    let _b = h.ws_client().await;
    let third = jsonrpsee::ws_client::WsClientBuilder::default().build(&h.ws).await;
    assert!(third.is_err(), "a third connection is refused");
    drop(_a);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let again = jsonrpsee::ws_client::WsClientBuilder::default().build(&h.ws).await;
    assert!(again.is_ok(), "a freed slot can be used again");
    h.stop().await;
}
