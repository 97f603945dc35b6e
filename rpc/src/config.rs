//! Listen addresses and limits of the RPC servers, with safe defaults. The same struct is the
//! `[rpc]` section of the node's `config.toml`.
use cairn_proto::config_serde::millis;
use serde::{Deserialize, Serialize};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
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
    pub max_subscriptions_per_conn: u32,
    /// Per-client-IP token bucket: refill rate (requests per second); 0 disables the limit.
    pub rate_limit_per_sec: u32,
    /// Per-client-IP token bucket: capacity (the burst allowed after a quiet spell).
    pub rate_limit_burst: u32,
    /// Deadline for one call (JSON-RPC method or gRPC unary call).
    #[serde(rename = "request_timeout_ms", with = "millis")]
    pub request_timeout: Duration,
    /// Origins allowed by CORS (`"*"` for any); empty = no CORS headers at all.
    pub cors_origins: Vec<String>,
    /// Messages buffered per WebSocket connection; a subscriber that falls this far behind
    /// has its subscription closed.
    pub ws_buffer: usize,
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
            rate_limit_per_sec: 20_000,
            rate_limit_burst: 40_000,
            request_timeout: Duration::from_secs(10),
            cors_origins: Vec::new(),
            ws_buffer: 256,
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
