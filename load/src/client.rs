//! A small JSON-RPC client for the CLI (`cairn query`, `cairn tx`), the load generator and the
//! benchmark (jsonrpsee over HTTP/WebSocket).
use crate::error::{LoadError, Result};
use jsonrpsee::core::client::{ClientT, SubscriptionClientT};
use jsonrpsee::core::params::ArrayParams;
use jsonrpsee::http_client::{HttpClient, HttpClientBuilder};
use jsonrpsee::ws_client::{WsClient, WsClientBuilder};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::Value;
use std::time::Duration;

/// `chain_status` as the node reports it (the fields this client uses).
#[derive(Debug, Deserialize)]
pub struct Status {
    pub chain_id: String,
    pub height: u64,
}

/// `state_getAccount` (without the proof).
#[derive(Debug, Deserialize)]
pub struct AccountReply {
    pub balance: u64,
    pub nonce: u64,
    pub height: u64,
}

/// A `tx_submitBatch` element.
#[derive(Debug, Deserialize)]
pub struct SubmitReply {
    pub hash: Option<String>,
    pub error: Option<RpcErrorBody>,
}

#[derive(Debug, Deserialize)]
pub struct RpcErrorBody {
    pub code: i64,
    pub message: String,
    #[serde(default)]
    pub data: Option<Value>,
}

impl RpcErrorBody {
    /// The SPEC §4 reason name, or the code when the server gave none.
    pub fn reason(&self) -> String {
        self.data
            .as_ref()
            .and_then(|d| d.get("reason"))
            .and_then(Value::as_str)
            .map_or_else(|| format!("code_{}", self.code), str::to_string)
    }
}

#[derive(Clone)]
pub struct RpcClient {
    url: String,
    http: HttpClient,
}

impl RpcClient {
    pub fn new(url: &str) -> Result<Self> {
        let http = HttpClientBuilder::default()
            .request_timeout(Duration::from_secs(30))
            .max_request_size(64 << 20)
            .max_response_size(64 << 20)
            .build(url)
            .map_err(|e| LoadError::Input(format!("bad RPC URL {url}: {e}")))?;
        Ok(RpcClient { url: url.to_string(), http })
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    pub async fn call<T: DeserializeOwned>(&self, method: &str, params: Vec<Value>) -> Result<T> {
        let mut p = ArrayParams::new();
        for v in params {
            p.insert(v).map_err(|e| LoadError::Input(format!("{method} parameters: {e}")))?;
        }
        self.http.request(method, p).await.map_err(|e| match e {
            jsonrpsee::core::ClientError::Call(obj) => LoadError::Refused {
                method: method.to_string(),
                message: obj.message().to_string(),
                code: obj.code(),
                data: obj.data().map(|d| d.get().to_string()).unwrap_or_default(),
            },
            other => LoadError::Unreachable {
                what: format!("{method} to {}", self.url),
                reason: format!("{other} (is a node running there?)"),
            },
        })
    }

    pub async fn status(&self) -> Result<Status> {
        self.call("chain_status", vec![]).await
    }

    pub async fn account(&self, address: &str) -> Result<AccountReply> {
        self.call("state_getAccount", vec![Value::from(address)]).await
    }

    pub async fn submit_batch(&self, txs_hex: Vec<String>) -> Result<Vec<SubmitReply>> {
        self.call("tx_submitBatch", vec![Value::from(txs_hex)]).await
    }

    pub async fn block(&self, height: u64) -> Result<Option<Value>> {
        self.call("chain_getBlock", vec![Value::from(height)]).await
    }

    /// A WebSocket subscription to finalized block heads.
    pub async fn subscribe_heads(&self) -> Result<(WsClient, jsonrpsee::core::client::Subscription<Value>)> {
        let ws_url = self.url.replacen("http", "ws", 1);
        let ws = WsClientBuilder::default()
            .max_request_size(64 << 20)
            .max_response_size(64 << 20)
            .build(&ws_url)
            .await
            .map_err(|e| LoadError::Unreachable {
                what: format!("cannot open WebSocket {ws_url}"),
                reason: e.to_string(),
            })?;
        let sub = ws
            .subscribe("chain_subscribeNewHeads", ArrayParams::new(), "chain_unsubscribeNewHeads")
            .await
            .map_err(|e| LoadError::Protocol(format!("chain_subscribeNewHeads failed: {e}")))?;
        Ok((ws, sub))
    }
}
