//! The JSON-RPC call middleware: per-call metrics (requests, errors by kind, durations), the
//! request timeout, and the rest of the per-client rate limit. Every call costs one token and a
//! call carrying transactions one per transaction (`tx_submitBatch`); a batch costs the sum of
//! its calls. The gate took the first token of an HTTP request already (so a refusal can be a
//! 429 before the body is read); a WebSocket message is charged here in full.
use super::gate::{Client, RateLimited};
use super::json::{error_with_reason, RATE_LIMITED_CODE, TIMEOUT_CODE};
use crate::metrics::{Outcome, RpcMetrics};
use crate::ratelimit::IpRateLimiter;
use jsonrpsee::server::middleware::rpc::{Batch, BatchEntry, Notification, RpcServiceT};
use jsonrpsee::server::MethodResponse;
use jsonrpsee::types::{Id, Request};
use serde::de::IgnoredAny;
use serde::Deserialize;
use serde_json::value::RawValue;
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
            cfg.metrics.observe(&method, start.elapsed().as_secs_f64(), Outcome::of_jsonrpc_code(rp.as_error_code()));
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
            // (id, method) of each call; notifications get no reply and count as successes.
            let calls: Vec<(Option<String>, String)> = batch
                .iter()
                .filter_map(|e| e.as_ref().ok())
                .map(|e| match e {
                    BatchEntry::Call(req) => (serde_json::to_string(&req.id).ok(), req.method_name().to_owned()),
                    BatchEntry::Notification(n) => (None, n.method_name().to_owned()),
                })
                .collect();
            let rp = inner.batch(batch).await;
            // Calls in a batch run together; each is counted with the batch's mean duration.
            let secs = start.elapsed().as_secs_f64() / calls.len().max(1) as f64;
            let outcomes = batch_outcomes(rp.as_json(), &calls);
            for ((_, m), outcome) in calls.iter().zip(outcomes) {
                cfg.metrics.observe(m, secs, outcome);
            }
            rp
        }
    }

    fn notification<'a>(&self, n: Notification<'a>) -> impl Future<Output = MethodResponse> + Send + 'a {
        self.inner.notification(n)
    }
}

/// One reply of a batch response, as far as the metrics need it.
#[derive(Deserialize)]
struct Reply<'a> {
    #[serde(borrow)]
    id: Option<&'a RawValue>,
    error: Option<ReplyError>,
}

#[derive(Deserialize)]
struct ReplyError {
    code: i32,
}

/// The outcome of each call of a batch, matched to its reply by id (replies may come in any
/// order; a repeated id is matched in turn).
fn batch_outcomes(response: &RawValue, calls: &[(Option<String>, String)]) -> Vec<Outcome> {
    let mut out = vec![Outcome::Ok; calls.len()];
    let replies: Vec<Reply<'_>> = serde_json::from_str(response.get()).unwrap_or_default();
    let mut used = vec![false; calls.len()];
    for r in replies {
        let (Some(id), Some(err)) = (r.id, r.error) else { continue };
        let found = calls.iter().enumerate().position(|(i, (cid, _))| !used[i] && cid.as_deref() == Some(id.get()));
        if let Some(i) = found {
            used[i] = true;
            out[i] = Outcome::of_jsonrpc_code(Some(err.code));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_errors_are_matched_to_their_calls_by_id() {
        let calls = vec![
            (Some("1".to_string()), "chain_status".to_string()),
            (None, "chain_status".to_string()),
            (Some("\"b\"".to_string()), "tx_get".to_string()),
            (Some("3".to_string()), "tx_submit".to_string()),
        ];
        let rp = RawValue::from_string(
            r#"[{"jsonrpc":"2.0","id":3,"error":{"code":-32603,"message":"x"}},
                {"jsonrpc":"2.0","id":1,"result":{}},
                {"jsonrpc":"2.0","id":"b","error":{"code":-32602,"message":"y"}}]"#
                .to_string(),
        )
        .unwrap();
        assert_eq!(
            batch_outcomes(&rp, &calls),
            vec![Outcome::Ok, Outcome::Ok, Outcome::ClientError, Outcome::ServerError]
        );
    }
}
