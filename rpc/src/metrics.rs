//! The RPC metrics of SPEC §6 (plus errors by kind) and the `/metrics` endpoint that exposes
//! the node's whole registry in the Prometheus text format.
use crate::conn_limit::incoming;
use crate::error::RpcError;
use bytes::Bytes;
use futures::StreamExt;
use http_body_util::Full;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use prometheus::{Encoder, HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry, TextEncoder};
use std::convert::Infallible;
use std::time::Duration;
use tokio::net::TcpListener;

/// gRPC method label values (JSON-RPC uses its method names, see `jsonrpc::METHODS`).
pub const GRPC_METHODS: &[&str] = &[
    "grpc.Status",
    "grpc.SubmitTx",
    "grpc.SubmitTxStream",
    "grpc.GetTx",
    "grpc.GetBlock",
    "grpc.GetAccount",
    "grpc.GetValidators",
    "grpc.SubscribeBlocks",
];

/// How a request ended, for `cairn_rpc_errors_total{kind}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Ok,
    /// The request was refused for what it is or asks: bad params, unknown method, not found,
    /// a refused transaction, the rate limit. Normal under load; no alert.
    ClientError,
    /// The node failed to answer: an internal error or a timeout. The error-rate alert fires
    /// on these.
    ServerError,
}

impl Outcome {
    const KINDS: [(Outcome, &'static str); 2] = [(Outcome::ClientError, "client"), (Outcome::ServerError, "server")];

    /// A JSON-RPC error code's outcome: internal errors and timeouts are the server's.
    pub fn of_jsonrpc_code(code: Option<i32>) -> Self {
        match code {
            None => Outcome::Ok,
            Some(c) if c == jsonrpsee::types::error::INTERNAL_ERROR_CODE || c == crate::jsonrpc::TIMEOUT_CODE => {
                Outcome::ServerError
            }
            Some(_) => Outcome::ClientError,
        }
    }

    /// A gRPC status code's outcome (tonic reports a request timeout as CANCELLED).
    pub fn of_grpc_code(code: tonic::Code) -> Self {
        use tonic::Code::*;
        match code {
            Ok => Outcome::Ok,
            Internal | Unknown | Unavailable | DataLoss | DeadlineExceeded | Cancelled => Outcome::ServerError,
            _ => Outcome::ClientError,
        }
    }
}

/// `cairn_rpc_requests_total{method}`, `cairn_rpc_errors_total{method, kind}` and
/// `cairn_rpc_request_duration_seconds{method}`. The `method` label only ever takes a value
/// from a fixed list (`other` for anything else), so a client cannot grow the label set.
#[derive(Clone)]
pub struct RpcMetrics {
    requests: IntCounterVec,
    errors: IntCounterVec,
    duration: HistogramVec,
}

impl RpcMetrics {
    pub fn new(registry: &Registry) -> Result<Self, RpcError> {
        let requests =
            IntCounterVec::new(Opts::new("cairn_rpc_requests_total", "RPC requests received, by method"), &["method"])
                .map_err(|source| RpcError::Metrics { name: "cairn_rpc_requests_total", source })?;
        let errors = IntCounterVec::new(
            Opts::new(
                "cairn_rpc_errors_total",
                "RPC requests answered with an error, by method and kind (client: refused for the request; \
                 server: internal error or timeout)",
            ),
            &["method", "kind"],
        )
        .map_err(|source| RpcError::Metrics { name: "cairn_rpc_errors_total", source })?;
        let duration = HistogramVec::new(
            HistogramOpts::new("cairn_rpc_request_duration_seconds", "Time to answer one RPC request, by method")
                .buckets(vec![0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0]),
            &["method"],
        )
        .map_err(|source| RpcError::Metrics { name: "cairn_rpc_request_duration_seconds", source })?;
        for (name, c) in [
            ("cairn_rpc_requests_total", Box::new(requests.clone()) as Box<dyn prometheus::core::Collector>),
            ("cairn_rpc_errors_total", Box::new(errors.clone())),
            ("cairn_rpc_request_duration_seconds", Box::new(duration.clone())),
        ] {
            registry.register(c).map_err(|source| RpcError::Metrics { name, source })?;
        }
        // Known methods show up at 0 from the start, so a scrape before the first request
        // (or a rate() over a quiet method) sees the series.
        for m in crate::jsonrpc::METHODS.iter().chain(GRPC_METHODS) {
            requests.with_label_values(&[m]);
            for (_, kind) in Outcome::KINDS {
                errors.with_label_values(&[m, kind]);
            }
        }
        Ok(RpcMetrics { requests, errors, duration })
    }

    /// Counts one request of `method` (mapped onto the fixed label set) that took `secs`.
    pub fn observe(&self, method: &str, secs: f64, outcome: Outcome) {
        let label = label(method);
        self.requests.with_label_values(&[label]).inc();
        self.duration.with_label_values(&[label]).observe(secs);
        if let Some((_, kind)) = Outcome::KINDS.iter().find(|(o, _)| *o == outcome) {
            self.errors.with_label_values(&[label, kind]).inc();
        }
    }
}

fn label(method: &str) -> &'static str {
    crate::jsonrpc::METHODS.iter().chain(GRPC_METHODS).find(|m| **m == method).copied().unwrap_or("other")
}

/// How long a `/metrics` client may take to send its request head (also between requests on
/// a kept-alive connection): a silent client cannot hold one of the few slots.
const METRICS_HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// Serves `GET /metrics` (anything else is 404) until the task is aborted: at most
/// `max_connections` connections at once (more are closed at accept), accept errors retried
/// with a backoff.
pub(crate) async fn serve_metrics(listener: TcpListener, registry: Registry, max_connections: u32) {
    let mut incoming = std::pin::pin!(incoming("metrics", listener, max_connections));
    while let Some(Ok(conn)) = incoming.next().await {
        let registry = registry.clone();
        tokio::spawn(async move {
            let svc = hyper::service::service_fn(move |req: Request<hyper::body::Incoming>| {
                let registry = registry.clone();
                async move { Ok::<_, Infallible>(answer(&req, &registry)) }
            });
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(METRICS_HEADER_TIMEOUT)
                .serve_connection(TokioIo::new(conn), svc);
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, "metrics connection ended");
            }
        });
    }
}

fn answer(req: &Request<hyper::body::Incoming>, registry: &Registry) -> Response<Full<Bytes>> {
    if req.uri().path() != "/metrics" {
        return plain(StatusCode::NOT_FOUND, "not found\n".into());
    }
    let mut buf = Vec::with_capacity(16 * 1024);
    let encoder = TextEncoder::new();
    match encoder.encode(&registry.gather(), &mut buf) {
        Ok(()) => Response::builder()
            .header(http::header::CONTENT_TYPE, encoder.format_type())
            .body(Full::new(Bytes::from(buf)))
            .unwrap_or_default(),
        Err(e) => plain(StatusCode::INTERNAL_SERVER_ERROR, format!("cannot encode metrics: {e}\n")),
    }
}

/// A text/plain response (also used by the health endpoints).
pub(crate) fn plain<B: From<String>>(status: StatusCode, text: String) -> Response<B> {
    let mut r = Response::new(B::from(text));
    *r.status_mut() = status;
    r.headers_mut().insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("text/plain; charset=utf-8"));
    r
}
