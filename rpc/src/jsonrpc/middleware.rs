//! The JSON-RPC call middleware: per-call metrics, the request timeout, and the rest of the
//! per-client rate limit. Every call costs one token and a call carrying transactions one per
//! transaction (`tx_submitBatch`); a batch costs the sum of its calls. The gate took the first
//! token of an HTTP request already (so a refusal can be a 429 before the body is read); a
//! WebSocket message is charged here in full.
use super::gate::{Client, RateLimited};
use super::json::{error_with_reason, RATE_LIMITED_CODE, TIMEOUT_CODE};
use crate::metrics::RpcMetrics;
use crate::ratelimit::IpRateLimiter;
use jsonrpsee::server::middleware::rpc::{Batch, BatchEntry, Notification, RpcServiceT};
use jsonrpsee::server::MethodResponse;
use jsonrpsee::types::{Id, Request};
use serde::de::IgnoredAny;
use std::future::Future;
use std::time::{Duration, Instant};

/// Builds [`CallGuard`]s around jsonrpsee's own service.
#[derive(Clone)]
pub struct CallGuardLayer {
    pub metrics: RpcMetrics,
    pub limiter: IpRateLimiter,
    pub timeout: Duration,
    /// Most txs `tx_submitBatch` takes: a longer list is refused unread, so it costs no more.
    pub max_batch: usize,
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
    let mut rp = MethodResponse::error(id, error_with_reason(RATE_LIMITED_CODE, "rate limit exceeded", "rate_limited"));
    rp.extensions_mut().insert(RateLimited);
    rp
}

impl CallGuardLayer {
    /// What one call costs: one token, or one per transaction for `tx_submitBatch` (its params
    /// are `[[tx_hex, …]]`; the list is counted without decoding its elements).
    fn cost(&self, req: &Request<'_>) -> u64 {
        if req.method_name() != "tx_submitBatch" {
            return 1;
        }
        let txs = req
            .params
            .as_ref()
            .and_then(|p| serde_json::from_str::<(Vec<IgnoredAny>,)>(p.get()).ok())
            .map_or(1, |(list,)| list.len().min(self.max_batch));
        txs.max(1) as u64
    }

    /// Charges `cost` tokens to the client of a request (less the one the gate took for an
    /// HTTP request); false when the client's bucket does not hold them.
    fn charge(&self, client: Option<Client>, cost: u64) -> bool {
        let Some(c) = client else { return true };
        let due = if c.ws { cost } else { cost - 1 };
        self.limiter.check_n(c.ip, u32::try_from(due).unwrap_or(u32::MAX))
    }
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
            let client = req.extensions().get::<Client>().copied();
            let rp = if !cfg.charge(client, cfg.cost(&req)) {
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
            // A batch costs what its calls cost, charged up front so it is all or nothing.
            let client = batch.extensions().get::<Client>().copied();
            let cost = batch
                .iter()
                .map(|e| match e {
                    Ok(BatchEntry::Call(req)) => cfg.cost(req),
                    _ => 1,
                })
                .sum();
            if !cfg.charge(client, cost) {
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
