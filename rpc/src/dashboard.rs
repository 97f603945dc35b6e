//! The live page at `/dashboard` on the JSON-RPC port (SPEC §6): one self-contained HTML file
//! (inline CSS, JS and SVG) that reads the node through the same port — `chain_subscribeNewHeads`
//! over WebSocket for blocks, periodic JSON-RPC calls for status, mempool, validators and peers.
//! It shows nothing the JSON-RPC does not already answer, so it needs no switch of its own.
use http::{header, HeaderValue, Method, Response, StatusCode};
use jsonrpsee::server::HttpBody;

/// The path the page is served on.
pub const DASHBOARD_PATH: &str = "/dashboard";

/// The page, compiled into the binary so that a node needs no files beside it.
const PAGE: &str = include_str!("dashboard.html");

/// Nothing may be loaded from anywhere: inline script and style only, calls to this origin only
/// (which includes its WebSocket in CSP Level 3), so a page that passes its tests here cannot
/// quietly depend on an outside asset.
const CSP: &str = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; \
                   connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// The page's response for a GET or HEAD of [`DASHBOARD_PATH`]; `None` for anything else.
pub(crate) fn answer(method: &Method, path: &str) -> Option<Response<HttpBody>> {
    if path != DASHBOARD_PATH || (method != Method::GET && method != Method::HEAD) {
        return None;
    }
    let body = if method == Method::HEAD { HttpBody::from("") } else { HttpBody::from(PAGE) };
    let mut rp = Response::new(body);
    *rp.status_mut() = StatusCode::OK;
    let h = rp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    Some(rp)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snippet(at: usize) -> String {
        PAGE[at..].chars().take(50).collect()
    }

    /// No `src=`/`href=` to anything and no CSS `url(` or `@import`: everything is inline.
    #[test]
    fn page_references_no_external_asset() {
        let lower = PAGE.to_ascii_lowercase();
        for needle in ["src=", "href=", "url(", "@import", "<link", "<iframe", "<object", "<embed"] {
            // `url(#fill)` points at the page's own SVG gradient.
            let outside: Vec<_> =
                lower.match_indices(needle).map(|(i, _)| snippet(i)).filter(|h| !h.starts_with("url(#")).collect();
            assert!(outside.is_empty(), "{needle} in the page: {outside:?}");
        }
        // No absolute URL but the SVG namespace (a name, never fetched) and the bare WebSocket
        // schemes the page puts before its own `location.host`.
        for (i, _) in lower.match_indices("://") {
            let start = lower[..i].rfind(|c: char| !c.is_ascii_alphanumeric()).map_or(0, |j| j + 1);
            let url = snippet(start);
            let allowed = ["http://www.w3.org/2000/svg\"", "wss://\"", "ws://\""];
            assert!(allowed.iter().any(|a| url.starts_with(a)), "URL in the page: {url}");
        }
    }

    /// Every method the page calls is one the server has (a renamed method would leave the
    /// page silently empty).
    #[test]
    fn page_calls_only_served_methods() {
        let called: Vec<&str> = PAGE
            .match_indices("rpc(\"")
            .map(|(i, m)| &PAGE[i + m.len()..])
            .chain(PAGE.match_indices("method: \"").map(|(i, m)| &PAGE[i + m.len()..]))
            .map(|rest| &rest[..rest.find('"').unwrap_or(0)])
            .filter(|m| *m != "POST") // fetch's HTTP method
            .collect();
        for m in ["chain_status", "mempool_status", "net_peers", "chain_getValidators", "chain_getBlock"] {
            assert!(called.contains(&m), "the page no longer calls {m}: {called:?}");
        }
        assert!(called.contains(&"chain_subscribeNewHeads"), "{called:?}");
        for m in &called {
            assert!(crate::jsonrpc::METHODS.contains(m), "the page calls {m}, which is not served");
        }
    }

    #[test]
    fn served_only_for_get_and_head_of_its_path() {
        let rp = answer(&Method::GET, DASHBOARD_PATH).expect("served");
        assert_eq!(rp.status(), StatusCode::OK);
        assert_eq!(rp.headers()[header::CONTENT_TYPE], "text/html; charset=utf-8");
        assert!(rp.headers()[header::CONTENT_SECURITY_POLICY].to_str().unwrap().starts_with("default-src 'none'"));
        assert!(answer(&Method::HEAD, DASHBOARD_PATH).is_some());
        assert!(answer(&Method::POST, DASHBOARD_PATH).is_none(), "POST goes to JSON-RPC");
        assert!(answer(&Method::GET, "/dashboard/x").is_none());
    }
}
