//! The HTTP front of the JSON-RPC port, in front of jsonrpsee: answers `/health`, `/livez`
//! and `/readyz`, serves `/dashboard`, works out who the client is (the TCP peer, or what a
//! trusted proxy says), takes the first rate-limit token of every request (HTTP 429 before the
//! body is read), and tags each request with its client so that the call middleware can charge
//! the rest — one token per call and per transaction — and turns the middleware's refusal of an
//! HTTP request into a 429 as well.
use crate::api::NodeApi;
use crate::client_ip::{ClientIp, FORWARDED_FOR};
use crate::metrics::plain;
use crate::ratelimit::IpRateLimiter;
use futures::future::BoxFuture;
use http::{Method, Request, Response, StatusCode};
use jsonrpsee::server::HttpBody;
use std::net::IpAddr;
use std::sync::Arc;
use std::task::{Context, Poll};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Who sent a request (and so every call in it), and whether over a WebSocket. The gate has
/// already charged one token for the HTTP request (the WebSocket upgrade, for a WebSocket).
#[derive(Clone, Copy, Debug)]
pub struct Client {
    pub ip: IpAddr,
    pub ws: bool,
}

/// Put on a response by the call middleware when it refused the call for the rate limit: the
/// gate answers such an HTTP request with 429.
#[derive(Clone, Copy, Debug)]
pub struct RateLimited;

/// What every connection's gate shares.
pub struct GateShared {
    pub api: Arc<dyn NodeApi>,
    pub limiter: IpRateLimiter,
    pub client_ip: ClientIp,
}

/// One connection's gate around jsonrpsee's service `S`.
#[derive(Clone)]
pub struct Gate<S> {
    pub inner: S,
    pub shared: Arc<GateShared>,
    /// The TCP peer of this connection.
    pub peer: IpAddr,
}

const RETRY_AFTER: http::HeaderValue = http::HeaderValue::from_static("1");

fn too_many_requests() -> Response<HttpBody> {
    let mut rp = plain(StatusCode::TOO_MANY_REQUESTS, "rate limit exceeded\n".into());
    rp.headers_mut().insert(http::header::RETRY_AFTER, RETRY_AFTER);
    rp
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
        let forwarded = req.headers().get_all(FORWARDED_FOR).iter().filter_map(|v| v.to_str().ok());
        let ip = self.shared.client_ip.resolve(self.peer, forwarded);
        if !self.shared.limiter.check(ip) {
            return Box::pin(async move { Ok(too_many_requests()) });
        }
        if let Some(rp) = crate::dashboard::answer(req.method(), req.uri().path()) {
            return Box::pin(async move { Ok(rp) });
        }
        let ws = jsonrpsee::server::ws::is_upgrade_request(&req);
        req.extensions_mut().insert(Client { ip, ws });
        // Take the service that was driven to readiness, leave a fresh clone (tower's rule).
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        Box::pin(async move {
            let mut rp = inner.call(req).await?;
            // The JSON-RPC error (-32005) stays the body; the status says it too.
            if rp.extensions().get::<RateLimited>().is_some() {
                *rp.status_mut() = StatusCode::TOO_MANY_REQUESTS;
                rp.headers_mut().insert(http::header::RETRY_AFTER, RETRY_AFTER);
            }
            Ok(rp)
        })
    }
}
