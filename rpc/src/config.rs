//! Listen addresses and limits of the RPC servers, with safe defaults. The same struct is the
//! `[rpc]` section of the node's `config.toml`.
use cairn_proto::config_serde::millis;
use serde::{Deserialize, Serialize};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, SocketAddrV4};
use std::time::Duration;

/// Where the RPC servers listen and the limits they enforce. `Default` binds loopback on the
/// SPEC ports of node 0 (26601 JSON-RPC, 26602 gRPC, 26603 metrics).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RpcConfig {
    /// JSON-RPC over HTTP and WebSocket, plus `/health`, `/livez`, `/readyz`.
    pub jsonrpc_addr: SocketAddr,
    pub grpc_addr: SocketAddr,
    /// Prometheus `/metrics`.
    pub metrics_addr: SocketAddr,
    /// Largest HTTP body or WebSocket message accepted (HTTP 413 above it); also caps gRPC messages.
    pub max_body_bytes: u32,
    /// Most calls in one JSON-RPC batch, and most txs in one `tx_submitBatch` / gRPC `SubmitTx`.
    pub max_batch: usize,
    /// Most concurrent JSON-RPC connections (HTTP and WebSocket together).
    pub max_connections: u32,
    /// Most subscriptions on one connection: `chain_subscribeNewHeads` on a WebSocket, gRPC
    /// `SubscribeBlocks` streams on one HTTP/2 connection.
    pub max_subscriptions_per_conn: u32,
    /// Most subscriptions open at once on the node, WebSocket and gRPC together.
    pub max_subscriptions: u32,
    /// Per-client-IP token bucket: refill rate (tokens per second); 0 disables the limit. A
    /// JSON-RPC call or gRPC call costs one token, and a call carrying transactions one per
    /// transaction (`tx_submitBatch`, `SubmitTx`, each `SubmitTxStream` message); a JSON-RPC
    /// batch costs the sum of its calls.
    pub rate_limit_per_sec: u32,
    /// Per-client-IP token bucket: capacity (the burst allowed after a quiet spell). A request
    /// that costs more than the whole bucket is always refused: keep it above `max_batch`.
    pub rate_limit_burst: u32,
    /// Reverse proxies whose `X-Forwarded-For` header is believed for the client's address (the
    /// rate limit's key). Empty (the default): the header is ignored and the TCP peer is the
    /// client — behind a proxy that is not listed, all its clients share one bucket.
    pub trusted_proxies: Vec<IpAddr>,
    /// Deadline for one call (JSON-RPC method or gRPC unary call).
    #[serde(rename = "request_timeout_ms", with = "millis")]
    pub request_timeout: Duration,
    /// Origins allowed by CORS (`"*"` for any); empty = no CORS headers at all.
    pub cors_origins: Vec<String>,
    /// Messages buffered per WebSocket connection; a subscriber that falls this far behind
    /// has its subscription closed.
    pub ws_buffer: usize,
    /// Most concurrent connections to the `/metrics` server; more are closed at once.
    pub metrics_max_connections: u32,
}

const LOOPBACK: Ipv4Addr = Ipv4Addr::LOCALHOST;

impl Default for RpcConfig {
    fn default() -> Self {
        RpcConfig {
            jsonrpc_addr: SocketAddr::V4(SocketAddrV4::new(LOOPBACK, 26601)),
            grpc_addr: SocketAddr::V4(SocketAddrV4::new(LOOPBACK, 26602)),
            metrics_addr: SocketAddr::V4(SocketAddrV4::new(LOOPBACK, 26603)),
            max_body_bytes: 1024 * 1024,
            max_batch: 1000,
            max_connections: 1000,
            max_subscriptions_per_conn: 16,
            max_subscriptions: 1024,
            rate_limit_per_sec: 20_000,
            rate_limit_burst: 40_000,
            trusted_proxies: Vec::new(),
            request_timeout: Duration::from_secs(10),
            cors_origins: Vec::new(),
            ws_buffer: 256,
            metrics_max_connections: 16,
        }
    }
}

impl RpcConfig {
    /// All three servers on loopback with OS-assigned ports (for tests and benches).
    pub fn ephemeral() -> Self {
        let any = SocketAddr::V4(SocketAddrV4::new(LOOPBACK, 0));
        RpcConfig { jsonrpc_addr: any, grpc_addr: any, metrics_addr: any, ..RpcConfig::default() }
    }
}
