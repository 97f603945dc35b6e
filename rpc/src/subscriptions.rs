//! Caps on open subscriptions: per connection and on the whole node. Each open subscription
//! holds a [`Slot`] for as long as it lives; dropping the subscription gives it back.
//!
//! WebSocket subscriptions count against the node-wide cap here; their per-connection cap is
//! jsonrpsee's (`max_subscriptions_per_connection`). gRPC `SubscribeBlocks` streams count
//! against both here: a connection is known by its remote socket address, unique per open TCP
//! connection.
use futures::Stream;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

type PerConn = Arc<Mutex<HashMap<SocketAddr, u32>>>;

/// The open-subscription counters of one node's RPC servers.
#[derive(Clone)]
pub struct Subscriptions {
    total: Arc<Semaphore>,
    max_total: u32,
    per_conn: u32,
    by_conn: PerConn,
}

/// One open subscription's place; given back on drop.
#[derive(Debug)]
pub struct Slot {
    _total: OwnedSemaphorePermit,
    _conn: Option<ConnCount>,
}

/// One subscription counted against its connection; uncounted on drop.
#[derive(Debug)]
struct ConnCount {
    by_conn: PerConn,
    addr: SocketAddr,
}

impl Drop for ConnCount {
    fn drop(&mut self) {
        let mut map = self.by_conn.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = map.get_mut(&self.addr) {
            *n -= 1;
            if *n == 0 {
                map.remove(&self.addr);
            }
        }
    }
}

impl Subscriptions {
    pub fn new(per_conn: u32, total: u32) -> Self {
        Subscriptions {
            total: Arc::new(Semaphore::new(total as usize)),
            max_total: total,
            per_conn,
            by_conn: Arc::default(),
        }
    }

    /// A slot for one more subscription on the connection from `conn` (`None`: count it only
    /// against the node-wide cap), or why there is none.
    pub fn take(&self, conn: Option<SocketAddr>) -> Result<Slot, String> {
        let conn = conn.map(|addr| self.count(addr)).transpose()?;
        // On refusal `conn` is dropped here, which uncounts it.
        let total = self
            .total
            .clone()
            .try_acquire_owned()
            .map_err(|_| format!("too many subscriptions on this node (max {})", self.max_total))?;
        Ok(Slot { _total: total, _conn: conn })
    }

    fn count(&self, addr: SocketAddr) -> Result<ConnCount, String> {
        let mut map = self.by_conn.lock().unwrap_or_else(|e| e.into_inner());
        let n = map.entry(addr).or_insert(0);
        if *n >= self.per_conn {
            if *n == 0 {
                map.remove(&addr);
            }
            return Err(format!("too many subscriptions on this connection (max {})", self.per_conn));
        }
        *n += 1;
        Ok(ConnCount { by_conn: self.by_conn.clone(), addr })
    }
}

/// A stream that holds its subscription's slot until it is dropped.
pub struct Held<S> {
    pub stream: S,
    pub _slot: Slot,
}

impl<S: Stream + Unpin> Stream for Held<S> {
    type Item = S::Item;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        Pin::new(&mut self.stream).poll_next(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_connection_and_total_caps_and_slots_come_back() {
        let subs = Subscriptions::new(2, 3);
        let (a, b): (SocketAddr, SocketAddr) = ("127.0.0.1:1".parse().unwrap(), "127.0.0.1:2".parse().unwrap());
        let a1 = subs.take(Some(a)).unwrap();
        let _a2 = subs.take(Some(a)).unwrap();
        assert!(subs.take(Some(a)).unwrap_err().contains("connection"));
        let _b1 = subs.take(Some(b)).unwrap();
        let err = subs.take(Some(b)).unwrap_err();
        assert!(err.contains("node"), "{err}");
        assert_eq!(subs.by_conn.lock().unwrap().get(&b), Some(&1), "the refused one is not counted");
        assert!(subs.take(None).is_err());
        drop(a1);
        let _again = subs.take(Some(a)).expect("a's slot came back");
    }
}
