//! The JSON-RPC call middleware: per-call metrics, the request timeout, and the per-IP rate
//! limit for calls that arrive over WebSocket (HTTP requests are limited earlier, in `gate`,
//! where a 429 status can still be sent).
use super::gate::WsClient;
use super::json::{error_with_reason, RATE_LIMITED_CODE, TIMEOUT_CODE};
use crate::metrics::RpcMetrics;
use crate::ratelimit::IpRateLimiter;
use jsonrpsee::server::middleware::rpc::{Batch, Notification, RpcServiceT};
use jsonrpsee::server::MethodResponse;
use jsonrpsee::types::{Id, Request};
use std::future::Future;
use std::time::{Duration, Instant};

/// Builds [`CallGuard`]s around jsonrpsee's own service.
#[derive(Clone)]
pub struct CallGuardLayer {
    pub metrics: RpcMetrics,
    pub limiter: IpRateLimiter,
    pub timeout: Duration,
}

impl<S> tower::Layer<S> for CallGuardLayer {
    type Service = CallGuard<S>;
    fn layer(&self, inner: S) -> CallGuard<S> {
        CallGuard { inner, cfg: self.clone() }
    }
}

#[derive(Clone)]
pub struct CallGuard<S> {
    inner: S,
    cfg: CallGuardLayer,
}

fn rate_limited(id: Id<'_>) -> MethodResponse {
    MethodResponse::error(id, error_with_reason(RATE_LIMITED_CODE, "rate limit exceeded", "rate_limited"))
}

impl<S> RpcServiceT for CallGuard<S>
where
    S: RpcServiceT<
            MethodResponse = MethodResponse,
            BatchResponse = MethodResponse,
            NotificationResponse = MethodResponse,
        > + Clone
        + Send
        + Sync
        + 'static,
{
    type MethodResponse = MethodResponse;
    type NotificationResponse = MethodResponse;
    type BatchResponse = MethodResponse;

    fn call<'a>(&self, req: Request<'a>) -> impl Future<Output = MethodResponse> + Send + 'a {
        let inner = self.inner.clone();
        let cfg = self.cfg.clone();
        async move {
            let start = Instant::now();
            let method = req.method_name().to_owned();
            let id = req.id.clone().into_owned();
            let ws = req.extensions().get::<WsClient>().copied();
            let rp = if ws.is_some_and(|c| !cfg.limiter.check(c.0)) {
                rate_limited(id)
            } else {
                match tokio::time::timeout(cfg.timeout, inner.call(req)).await {
                    Ok(rp) => rp,
                    Err(_) => MethodResponse::error(
                        id,
                        error_with_reason(
                            TIMEOUT_CODE,
                            format!("request timed out after {} ms", cfg.timeout.as_millis()),
                            "timeout",
                        ),
                    ),
                }
            };
            cfg.metrics.observe(&method, start.elapsed().as_secs_f64());
            rp
        }
    }

    fn batch<'a>(&self, mut batch: Batch<'a>) -> impl Future<Output = MethodResponse> + Send + 'a {
        let inner = self.inner.clone();
        let cfg = self.cfg.clone();
        async move {
            // A batch costs one token per call, checked up front so it is all or nothing.
            let ws = batch.extensions().get::<WsClient>().copied();
            if ws.is_some_and(|c| !cfg.limiter.check_n(c.0, batch.len() as u32)) {
                return rate_limited(Id::Null);
            }
            let start = Instant::now();
            let methods: Vec<String> =
                batch.iter().filter_map(|e| e.as_ref().ok()).map(|e| e.method_name().to_owned()).collect();
            let rp = inner.batch(batch).await;
            // Calls in a batch run together; each is counted with the batch's mean duration.
            let secs = start.elapsed().as_secs_f64() / methods.len().max(1) as f64;
            for m in &methods {
                cfg.metrics.observe(m, secs);
            }
            rp
        }
    }

    fn notification<'a>(&self, n: Notification<'a>) -> impl Future<Output = MethodResponse> + Send + 'a {
        self.inner.notification(n)
    }
}
