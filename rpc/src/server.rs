//! Starting and stopping the three servers (JSON-RPC, gRPC, metrics) as one unit.
use crate::api::NodeApi;
use crate::client_ip::ClientIp;
use crate::coalesce::Coalescer;
use crate::config::RpcConfig;
use crate::error::RpcError;
use crate::grpc::NodeService;
use crate::metrics::{serve_metrics, RpcMetrics};
use crate::ratelimit::IpRateLimiter;
use crate::subscriptions::Subscriptions;
use cairn_proto::pb::node_server::NodeServer;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tonic_health::ServingStatus;

/// How long `stop` waits for gRPC clients to finish before closing their connections.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// The running RPC servers. Dropping it leaves them running until the runtime ends; call
/// [`RpcHandle::stop`] to shut down cleanly.
pub struct RpcHandle {
    addrs: (SocketAddr, SocketAddr, SocketAddr),
    jsonrpc: crate::jsonrpc::JsonRpcServer,
    grpc_stop: tokio::sync::oneshot::Sender<()>,
    streams_stop: tokio::sync::watch::Sender<bool>,
    grpc_task: JoinHandle<()>,
    background: Vec<JoinHandle<()>>,
}

impl RpcHandle {
    /// The bound (JSON-RPC, gRPC, metrics) addresses (useful with port 0).
    pub fn local_addrs(&self) -> (SocketAddr, SocketAddr, SocketAddr) {
        self.addrs
    }

    /// Stops accepting, lets open JSON-RPC and gRPC connections finish gracefully, and returns
    /// once both servers have stopped.
    pub async fn stop(self) {
        let _ = self.jsonrpc.handle.stop();
        self.jsonrpc.handle.stopped().await;
        let _ = self.jsonrpc.task.await;
        let _ = self.streams_stop.send(true);
        let _ = self.grpc_stop.send(());
        let mut grpc = self.grpc_task;
        if tokio::time::timeout(SHUTDOWN_GRACE, &mut grpc).await.is_err() {
            tracing::warn!("gRPC connections did not close within {SHUTDOWN_GRACE:?}; dropping them");
            grpc.abort();
            let _ = grpc.await;
        }
        for t in self.background {
            t.abort();
            // Wait for the task to be dropped, so that its listener is closed on return.
            let _ = t.await;
        }
    }
}

async fn bind(server: &'static str, addr: SocketAddr) -> Result<(TcpListener, SocketAddr), RpcError> {
    let l = TcpListener::bind(addr).await.map_err(|source| RpcError::Bind { server, addr, source })?;
    let local = l.local_addr().map_err(|source| RpcError::Bind { server, addr, source })?;
    Ok((l, local))
}

/// Starts the JSON-RPC/WebSocket/health/dashboard server, the gRPC server and the `/metrics`
/// server, registering the RPC metrics, the process metrics and the gauges read from `api` in
/// `registry` (and exposing all of `registry` on `/metrics`).
pub async fn serve(
    config: RpcConfig,
    api: Arc<dyn NodeApi>,
    registry: prometheus::Registry,
) -> Result<RpcHandle, RpcError> {
    if config.max_batch == 0 {
        return Err(RpcError::Config { field: "max_batch", reason: "must be at least 1".into() });
    }
    let metrics = RpcMetrics::new(&registry)?;
    crate::node_metrics::register(&registry, api.clone())?;
    let limiter = IpRateLimiter::new(config.rate_limit_per_sec, config.rate_limit_burst);
    let mut background: Vec<JoinHandle<()>> = limiter.spawn_cleanup(Duration::from_secs(60)).into_iter().collect();

    let (metrics_listener, metrics_addr) = bind("metrics", config.metrics_addr).await?;
    let (grpc_listener, grpc_addr) = bind("gRPC", config.grpc_addr).await?;
    // One worker per core: each drives one mempool batch at a time.
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    let (singles, submit_workers) = Coalescer::spawn(api.clone(), config.max_batch, workers);
    background.extend(submit_workers);
    let subscriptions = Subscriptions::new(config.max_subscriptions_per_conn, config.max_subscriptions);
    let client_ip = ClientIp::new(&config.trusted_proxies);
    let jsonrpc = crate::jsonrpc::start(
        &config,
        api.clone(),
        singles.clone(),
        metrics.clone(),
        limiter.clone(),
        subscriptions.clone(),
    )
    .await?;
    background.push(tokio::spawn(serve_metrics(metrics_listener, registry, config.metrics_max_connections)));

    let (health, health_svc) = tonic_health::server::health_reporter();
    health.set_serving::<NodeServer<NodeService>>().await;
    background.push(tokio::spawn(track_readiness(health, api.clone())));
    let reflection_v1 =
        reflection().build_v1().map_err(|e| RpcError::Setup { what: "gRPC reflection", reason: e.to_string() })?;
    let reflection_v1alpha =
        reflection().build_v1alpha().map_err(|e| RpcError::Setup { what: "gRPC reflection", reason: e.to_string() })?;
    let (streams_stop, streams_rx) = tokio::sync::watch::channel(false);
    let node = NodeServer::new(NodeService {
        api,
        singles,
        metrics,
        limiter,
        client_ip,
        subscriptions,
        max_batch: config.max_batch,
        stream_buffer: config.ws_buffer,
        shutdown: streams_rx,
    })
    .max_decoding_message_size(config.max_body_bytes as usize);

    let (grpc_stop, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let incoming = crate::conn_limit::incoming("gRPC", grpc_listener, config.max_connections);
    let router = tonic::transport::Server::builder()
        .timeout(config.request_timeout)
        .add_service(health_svc)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha)
        .add_service(node);
    let grpc_task = tokio::spawn(async move {
        if let Err(e) = router.serve_with_incoming_shutdown(incoming, async { drop(stop_rx.await) }).await {
            tracing::error!(error = %e, "gRPC server failed");
        }
    });

    tracing::info!(jsonrpc = %jsonrpc.addr, grpc = %grpc_addr, metrics = %metrics_addr, "RPC servers listening");
    Ok(RpcHandle {
        addrs: (jsonrpc.addr, grpc_addr, metrics_addr),
        jsonrpc,
        grpc_stop,
        streams_stop,
        grpc_task,
        background,
    })
}

/// Reflection over our `.proto` files and the health service (v1 and v1alpha are built from it).
fn reflection() -> tonic_reflection::server::Builder<'static> {
    tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(cairn_proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
}

/// Keeps the gRPC health of `cairn.v1.Node` in step with readiness (`/readyz`); the overall
/// status `""` stays SERVING while the process serves, like `/health`.
async fn track_readiness(health: tonic_health::server::HealthReporter, api: Arc<dyn NodeApi>) {
    let mut last = None;
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    loop {
        tick.tick().await;
        let ready = api.status().ready;
        if last != Some(ready) {
            let status = if ready { ServingStatus::Serving } else { ServingStatus::NotServing };
            health.set_service_status("cairn.v1.Node", status).await;
            last = Some(ready);
        }
    }
}
