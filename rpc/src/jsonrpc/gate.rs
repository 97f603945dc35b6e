//! The HTTP front of the JSON-RPC port, in front of jsonrpsee: answers `/health`, `/livez`
//! and `/readyz`, applies the per-IP rate limit (HTTP 429), serves `/dashboard`, and tags each
//! request with the client's address so that the call middleware can rate-limit WebSocket
//! calls too.
use crate::api::NodeApi;
use crate::metrics::plain;
use crate::ratelimit::IpRateLimiter;
use futures::future::BoxFuture;
use http::{Method, Request, Response, StatusCode};
use jsonrpsee::server::HttpBody;
use std::net::IpAddr;
use std::sync::Arc;
use std::task::{Context, Poll};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Marks requests (and so calls) that arrived on a WebSocket connection from this address.
#[derive(Clone, Copy, Debug)]
pub struct WsClient(pub IpAddr);

/// What every connection's gate shares.
pub struct GateShared {
    pub api: Arc<dyn NodeApi>,
    pub limiter: IpRateLimiter,
}

/// One connection's gate around jsonrpsee's service `S`.
#[derive(Clone)]
pub struct Gate<S> {
    pub inner: S,
    pub shared: Arc<GateShared>,
    pub ip: IpAddr,
}

/// The answer to a health path, if `path` is one. `/health`: the process serves;
/// `/livez`: consensus progresses or waits legitimately; `/readyz`: caught up with peers.
fn health(shared: &GateShared, method: &Method, path: &str) -> Option<Response<HttpBody>> {
    if method != Method::GET && method != Method::HEAD {
        return None;
    }
    let ok = match path {
        "/health" => true,
        "/livez" => shared.api.status().live,
        "/readyz" => shared.api.status().ready,
        _ => return None,
    };
    Some(if ok {
        plain(StatusCode::OK, "ok\n".into())
    } else {
        plain(StatusCode::SERVICE_UNAVAILABLE, format!("{} not ok\n", &path[1..]))
    })
}

impl<S, B> tower::Service<Request<B>> for Gate<S>
where
    S: tower::Service<Request<B>, Response = Response<HttpBody>, Error = BoxError> + Clone + Send + 'static,
    S::Future: Send,
    B: Send + 'static,
{
    type Response = Response<HttpBody>;
    type Error = BoxError;
    type Future = BoxFuture<'static, Result<Response<HttpBody>, BoxError>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<B>) -> Self::Future {
        if let Some(rp) = health(&self.shared, req.method(), req.uri().path()) {
            return Box::pin(async move { Ok(rp) });
        }
        if !self.shared.limiter.check(self.ip) {
            let mut rp = plain(StatusCode::TOO_MANY_REQUESTS, "rate limit exceeded\n".into());
            rp.headers_mut().insert(http::header::RETRY_AFTER, http::HeaderValue::from_static("1"));
            return Box::pin(async move { Ok(rp) });
        }
        if let Some(rp) = crate::dashboard::answer(req.method(), req.uri().path()) {
            return Box::pin(async move { Ok(rp) });
        }
        if jsonrpsee::server::ws::is_upgrade_request(&req) {
            req.extensions_mut().insert(WsClient(self.ip));
        }
        // Take the service that was driven to readiness, leave a fresh clone (tower's rule).
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        Box::pin(inner.call(req))
    }
}
