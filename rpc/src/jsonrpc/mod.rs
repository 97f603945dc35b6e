//! The JSON-RPC 2.0 server of SPEC §4: HTTP and WebSocket on one port (jsonrpsee), behind
//! our own accept loop so that every connection knows its client's IP (jsonrpsee's own loop
//! does not expose it) for the per-IP rate limit.
mod gate;
mod json;
mod methods;
mod middleware;

pub use json::{NOT_FOUND_CODE, RATE_LIMITED_CODE, TIMEOUT_CODE, TOO_MANY_SUBSCRIPTIONS_CODE};
pub use methods::{METHODS, NEW_HEAD_NOTIFICATION};

use crate::api::NodeApi;
use crate::client_ip::ClientIp;
use crate::coalesce::Coalescer;
use crate::config::RpcConfig;
use crate::conn_limit::{accept_with_backoff, Backoff};
use crate::error::RpcError;
use crate::metrics::RpcMetrics;
use crate::ratelimit::IpRateLimiter;
use crate::subscriptions::Subscriptions;
use gate::{Gate, GateShared};
use http::{HeaderValue, Method};
use jsonrpsee::server::middleware::rpc::RpcServiceBuilder;
use jsonrpsee::server::{
    serve_with_graceful_shutdown, stop_channel, BatchRequestConfig, Methods, Server, ServerConfig, ServerHandle,
};
use middleware::CallGuardLayer;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tower_http::cors::{AllowOrigin, CorsLayer};

/// A running JSON-RPC server.
pub(crate) struct JsonRpcServer {
    pub addr: SocketAddr,
    pub handle: ServerHandle,
    pub task: JoinHandle<()>,
}

/// CORS for the configured origins; with none, no `Access-Control-Allow-Origin` is ever sent,
/// so browsers refuse cross-origin calls.
fn cors(origins: &[String]) -> Result<CorsLayer, RpcError> {
    let layer = CorsLayer::new()
        .allow_methods([Method::POST, Method::GET, Method::OPTIONS])
        .allow_headers([http::header::CONTENT_TYPE]);
    if origins.is_empty() {
        return Ok(CorsLayer::new());
    }
    if origins.iter().any(|o| o == "*") {
        return Ok(layer.allow_origin(AllowOrigin::any()));
    }
    let list = origins
        .iter()
        .map(|o| {
            o.parse::<HeaderValue>()
                .map_err(|e| RpcError::Config { field: "cors_origins", reason: format!("{o:?}: {e}") })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(layer.allow_origin(list))
}

pub(crate) async fn start(
    config: &RpcConfig,
    api: Arc<dyn NodeApi>,
    singles: Coalescer,
    metrics: RpcMetrics,
    limiter: IpRateLimiter,
    subscriptions: Subscriptions,
) -> Result<JsonRpcServer, RpcError> {
    let cors = cors(&config.cors_origins)?;
    let listener = TcpListener::bind(config.jsonrpc_addr).await.map_err(|source| RpcError::Bind {
        server: "JSON-RPC",
        addr: config.jsonrpc_addr,
        source,
    })?;
    let addr = listener.local_addr().map_err(|source| RpcError::Bind {
        server: "JSON-RPC",
        addr: config.jsonrpc_addr,
        source,
    })?;
    let server_cfg = ServerConfig::builder()
        .max_request_body_size(config.max_body_bytes)
        .max_connections(config.max_connections)
        .max_subscriptions_per_connection(config.max_subscriptions_per_conn)
        .set_batch_request_config(BatchRequestConfig::Limit(u32::try_from(config.max_batch).unwrap_or(u32::MAX)))
        .set_message_buffer_capacity(u32::try_from(config.ws_buffer.max(1)).unwrap_or(u32::MAX))
        .build();
    let rpc_middleware = RpcServiceBuilder::new().layer(CallGuardLayer {
        metrics,
        limiter: limiter.clone(),
        timeout: config.request_timeout,
        max_batch: config.max_batch,
    });
    let builder = Server::builder().set_config(server_cfg).set_rpc_middleware(rpc_middleware).to_service_builder();
    let methods: Methods =
        methods::module(methods::Ctx { api: api.clone(), singles, max_batch: config.max_batch, subscriptions }).into();
    let shared = Arc::new(GateShared { api, limiter, client_ip: ClientIp::new(&config.trusted_proxies) });
    let (stop_handle, handle) = stop_channel();

    let task = tokio::spawn(async move {
        let mut backoff = Backoff::new();
        loop {
            let (sock, remote) = tokio::select! {
                conn = accept_with_backoff("JSON-RPC", &mut backoff, || listener.accept()) => conn,
                _ = stop_handle.clone().shutdown() => break,
            };
            // Small JSON-RPC frames must not wait for Nagle + delayed ACK (≈ 40 ms per WebSocket
            // reply otherwise); jsonrpsee's own accept loop does the same.
            if let Err(e) = sock.set_nodelay(true) {
                tracing::debug!(error = %e, "cannot set TCP_NODELAY");
            }
            let gate = Gate {
                inner: builder.clone().build(methods.clone(), stop_handle.clone()),
                shared: shared.clone(),
                peer: remote.ip(),
            };
            let svc = tower::ServiceBuilder::new().layer(cors.clone()).service(gate);
            let stopped = stop_handle.clone().shutdown();
            tokio::spawn(async move {
                if let Err(e) = serve_with_graceful_shutdown(sock, svc, stopped).await {
                    tracing::debug!(error = %e, %remote, "JSON-RPC connection ended");
                }
            });
        }
    });
    Ok(JsonRpcServer { addr, handle, task })
}
