//! Integration tests of cairn-rpc with real clients (jsonrpsee HTTP and WebSocket clients,
//! reqwest, a raw WebSocket, tonic) against the servers over loopback, backed by an
//! in-memory `NodeApi`.
mod abuse;
mod errors;
mod fake;
mod grpc;
mod jsonrpc;
mod limits;
mod ops;
mod ws;

use cairn_proto::Keypair;
use cairn_rpc::{RpcConfig, RpcHandle};
use fake::FakeNode;
use std::sync::Arc;

pub struct Harness {
    pub node: Arc<FakeNode>,
    pub handle: Option<RpcHandle>,
    pub http: String,
    pub ws: String,
    pub grpc: String,
    pub metrics: String,
    pub keys: Vec<Keypair>,
}

impl Harness {
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    /// Starts the servers on ephemeral loopback ports, after `tweak` edits the config.
    pub async fn start_with(tweak: impl FnOnce(&mut RpcConfig)) -> Self {
        Self::start_full(tweak, 1024).await
    }

    pub async fn start_full(tweak: impl FnOnce(&mut RpcConfig), broadcast_capacity: usize) -> Self {
        let keys: Vec<Keypair> = (1..=12u8).map(|i| Keypair::from_seed([i; 32])).collect();
        let node = Arc::new(FakeNode::new(&keys.iter().map(Keypair::address).collect::<Vec<_>>(), broadcast_capacity));
        let mut config = RpcConfig::ephemeral();
        tweak(&mut config);
        let handle = cairn_rpc::serve(config, node.clone(), prometheus::Registry::new()).await.expect("servers start");
        let (j, g, m) = handle.local_addrs();
        Harness {
            node,
            handle: Some(handle),
            http: format!("http://{j}"),
            ws: format!("ws://{j}"),
            grpc: format!("http://{g}"),
            metrics: format!("http://{m}/metrics"),
            keys,
        }
    }

    pub fn http_client(&self) -> jsonrpsee::http_client::HttpClient {
        jsonrpsee::http_client::HttpClientBuilder::default().build(&self.http).expect("http client")
    }

    pub async fn ws_client(&self) -> jsonrpsee::ws_client::WsClient {
        jsonrpsee::ws_client::WsClientBuilder::default().build(&self.ws).await.expect("ws client")
    }

    pub async fn grpc_client(&self) -> cairn_proto::pb::node_client::NodeClient<tonic::transport::Channel> {
        cairn_proto::pb::node_client::NodeClient::connect(self.grpc.clone()).await.expect("grpc client")
    }

    pub async fn grpc_channel(&self) -> tonic::transport::Channel {
        tonic::transport::Endpoint::from_shared(self.grpc.clone()).expect("url").connect().await.expect("grpc channel")
    }

    /// POSTs a raw JSON body and returns (status, parsed body or Null).
    pub async fn post_raw(&self, body: impl Into<reqwest::Body>) -> (u16, serde_json::Value) {
        let rp = reqwest::Client::new()
            .post(&self.http)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .expect("POST");
        let status = rp.status().as_u16();
        let text = rp.text().await.unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(serde_json::Value::Null))
    }

    /// One JSON-RPC call over HTTP, returning the whole response object.
    pub async fn call(&self, method: &str, params: serde_json::Value) -> serde_json::Value {
        let (status, body) = self
            .post_raw(serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).to_string())
            .await;
        assert_eq!(status, 200, "{method}: {body}");
        body
    }

    /// The `result` of a call that must succeed.
    pub async fn result(&self, method: &str, params: serde_json::Value) -> serde_json::Value {
        let rp = self.call(method, params).await;
        assert!(rp.get("error").is_none(), "{method} failed: {rp}");
        rp["result"].clone()
    }

    pub async fn stop(mut self) {
        if let Some(h) = self.handle.take() {
            h.stop().await;
        }
    }
}

/// Hex of the encoded SignedTx.
pub fn tx_hex(tx: &cairn_proto::VerifiedTx) -> String {
    hex::encode(tx.encoded())
}
