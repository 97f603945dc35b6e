//! The per-client-IP token bucket shared by the JSON-RPC (HTTP and WebSocket) and gRPC servers.
//! It wraps `governor`'s keyed GCRA limiter (lock-free per key) rather than hand-rolling one.
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

/// A per-IP limiter; `None` inside when the limit is disabled (`rate_limit_per_sec = 0`).
#[derive(Clone)]
pub struct IpRateLimiter(Option<Arc<DefaultKeyedRateLimiter<IpAddr>>>);

impl IpRateLimiter {
    /// `per_sec` tokens per second refill, `burst` capacity (at least 1).
    pub fn new(per_sec: u32, burst: u32) -> Self {
        let Some(rate) = NonZeroU32::new(per_sec) else { return IpRateLimiter(None) };
        let burst = NonZeroU32::new(burst).unwrap_or(rate);
        IpRateLimiter(Some(Arc::new(RateLimiter::keyed(Quota::per_second(rate).allow_burst(burst)))))
    }

    /// Takes one token for `ip`; false when its bucket is empty.
    pub fn check(&self, ip: IpAddr) -> bool {
        self.0.as_ref().is_none_or(|l| l.check_key(&ip).is_ok())
    }

    /// Takes `n` tokens at once (a batch of `n` calls, a call of `n` txs); false when they are
    /// not all there (never, if `n` exceeds the burst).
    pub fn check_n(&self, ip: IpAddr, n: u32) -> bool {
        let Some(l) = &self.0 else { return true };
        match NonZeroU32::new(n) {
            None => true,
            Some(n) => matches!(l.check_key_n(&ip, n), Ok(Ok(()))),
        }
    }

    /// Forgets idle clients every `every`, so the key map stays as small as the active set.
    pub fn spawn_cleanup(&self, every: Duration) -> Option<tokio::task::JoinHandle<()>> {
        let l = self.0.clone()?;
        Some(tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            loop {
                tick.tick().await;
                l.retain_recent();
                l.shrink_to_fit();
            }
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_then_refused_per_ip() {
        let l = IpRateLimiter::new(1, 3);
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        assert!((0..3).all(|_| l.check(a)));
        assert!(!l.check(a));
        assert!(l.check(b), "another client has its own bucket");
        assert!(!l.check_n(b, 3));
    }

    #[test]
    fn zero_rate_disables() {
        let l = IpRateLimiter::new(0, 0);
        assert!((0..10_000).all(|_| l.check("127.0.0.1".parse().unwrap())));
    }
}
