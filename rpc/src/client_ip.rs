//! Who the client is, for the per-client rate limit: the TCP peer, or — when the peer is one of
//! the configured trusted reverse proxies — the address that proxy reports in
//! `X-Forwarded-For`. Without trusted proxies (the default) the header is ignored: anyone can
//! write it, and believing it would let a client pick its own rate-limit bucket.
use std::collections::HashSet;
use std::net::IpAddr;
use std::sync::Arc;

/// The header a reverse proxy appends the address it received the request from to.
pub const FORWARDED_FOR: &str = "x-forwarded-for";

/// Resolves client addresses given the trusted proxies (`rpc.trusted_proxies`).
#[derive(Clone, Debug, Default)]
pub struct ClientIp {
    trusted: Arc<HashSet<IpAddr>>,
}

impl ClientIp {
    pub fn new(trusted_proxies: &[IpAddr]) -> Self {
        ClientIp { trusted: Arc::new(trusted_proxies.iter().copied().map(canonical).collect()) }
    }

    /// The client behind a request from `peer` that carries the `X-Forwarded-For` header values
    /// `forwarded` (in the order they appear). The chain is read from the right — each trusted
    /// proxy appends the address it saw — skipping trusted proxies; the first address that is
    /// not one is the client. A malformed entry ends the walk at the last trusted hop (the proxy
    /// that passed it on is then the client: a garbled header cannot pick a bucket).
    pub fn resolve<'a>(&self, peer: IpAddr, forwarded: impl IntoIterator<Item = &'a str>) -> IpAddr {
        let mut client = canonical(peer);
        if !self.trusted.contains(&client) {
            return client;
        }
        let entries: Vec<&str> = forwarded.into_iter().flat_map(|v| v.split(',')).collect();
        for entry in entries.iter().rev() {
            let Some(ip) = parse(entry) else { return client };
            client = ip;
            if !self.trusted.contains(&ip) {
                break;
            }
        }
        client
    }
}

/// One `X-Forwarded-For` entry: an IP address, optionally with a port (`1.2.3.4:5678`,
/// `[::1]:5678`) as some proxies write it.
fn parse(entry: &str) -> Option<IpAddr> {
    let entry = entry.trim();
    entry.parse::<IpAddr>().ok().or_else(|| entry.parse::<std::net::SocketAddr>().ok().map(|s| s.ip())).map(canonical)
}

/// An IPv4 client seen through an IPv6 socket (`::ffff:a.b.c.d`) is the same client.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn the_header_is_ignored_unless_the_peer_is_a_trusted_proxy() {
        let none = ClientIp::default();
        assert_eq!(none.resolve(ip("10.0.0.1"), ["1.2.3.4"]), ip("10.0.0.1"));
        let proxied = ClientIp::new(&[ip("10.0.0.1")]);
        assert_eq!(proxied.resolve(ip("10.0.0.9"), ["1.2.3.4"]), ip("10.0.0.9"), "not a trusted proxy");
        assert_eq!(proxied.resolve(ip("10.0.0.1"), ["1.2.3.4"]), ip("1.2.3.4"));
        assert_eq!(proxied.resolve(ip("10.0.0.1"), []), ip("10.0.0.1"), "no header: the proxy itself");
    }

    #[test]
    fn the_chain_is_read_from_the_right_past_trusted_proxies_only() {
        let c = ClientIp::new(&[ip("10.0.0.1"), ip("10.0.0.2")]);
        // The client wrote a fake first entry; the proxies appended what they saw.
        assert_eq!(c.resolve(ip("10.0.0.1"), ["6.6.6.6, 1.2.3.4, 10.0.0.2"]), ip("1.2.3.4"));
        assert_eq!(c.resolve(ip("10.0.0.1"), ["6.6.6.6", "1.2.3.4:5555"]), ip("1.2.3.4"), "two headers, a port");
        assert_eq!(c.resolve(ip("10.0.0.1"), ["garbage, 10.0.0.2"]), ip("10.0.0.2"), "malformed: last trusted hop");
        assert_eq!(c.resolve(ip("10.0.0.1"), ["10.0.0.2"]), ip("10.0.0.2"), "only proxies: the left-most");
        assert_eq!(c.resolve(ip("::ffff:10.0.0.1"), ["[::1]:80"]), ip("::1"), "mapped IPv4 peer");
    }
}
