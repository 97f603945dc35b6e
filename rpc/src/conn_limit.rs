//! Accepting connections: a backoff when `accept` fails, and a cap on concurrent connections.
//!
//! `accept` fails mostly when the process is out of file descriptors; retrying at once would
//! spin a core until one frees, so every accept loop waits, doubling the pause up to a second,
//! and starts over after a success. The cap: accepted sockets carry a semaphore permit for their
//! lifetime; when none is left the new socket is closed at once (the client sees the connection
//! closed, gRPC clients UNAVAILABLE) rather than queued. tonic has per-connection limits but no
//! global one, and the metrics server has none of its own.
use futures::Stream;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tonic::transport::server::{Connected, TcpConnectInfo};

/// The pause after a failed accept: 10 ms, doubling to 1 s; back to 10 ms after a success.
#[derive(Debug)]
pub struct Backoff {
    next: Duration,
}

impl Backoff {
    const FIRST: Duration = Duration::from_millis(10);
    const MAX: Duration = Duration::from_secs(1);

    pub fn new() -> Self {
        Backoff { next: Self::FIRST }
    }

    /// How long to wait after a failure (and lengthens the next wait).
    pub fn failed(&mut self) -> Duration {
        let wait = self.next;
        self.next = (self.next * 2).min(Self::MAX);
        wait
    }

    pub fn succeeded(&mut self) {
        self.next = Self::FIRST;
    }
}

/// Calls `accept` until it succeeds, pausing per `backoff` after each failure.
pub async fn accept_with_backoff<T, F, Fut>(server: &'static str, backoff: &mut Backoff, mut accept: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = io::Result<T>>,
{
    loop {
        match accept().await {
            Ok(conn) => {
                backoff.succeeded();
                return conn;
            }
            Err(e) => {
                let wait = backoff.failed();
                tracing::warn!(error = %e, server, ?wait, "accept failed; backing off");
                tokio::time::sleep(wait).await;
            }
        }
    }
}

/// An accepted connection holding one of the `max` permits.
pub struct LimitedConn {
    stream: TcpStream,
    _permit: OwnedSemaphorePermit,
}

/// Accepted connections, at most `max` open at once (more are closed at accept).
pub fn incoming(
    server: &'static str,
    listener: TcpListener,
    max: u32,
) -> impl Stream<Item = io::Result<LimitedConn>> + Send + 'static {
    let permits = Arc::new(Semaphore::new(max.max(1) as usize));
    futures::stream::unfold((listener, permits, Backoff::new()), move |(listener, permits, mut backoff)| async move {
        loop {
            let (stream, remote) = accept_with_backoff(server, &mut backoff, || listener.accept()).await;
            match permits.clone().try_acquire_owned() {
                Ok(permit) => {
                    let _ = stream.set_nodelay(true);
                    return Some((Ok(LimitedConn { stream, _permit: permit }), (listener, permits, backoff)));
                }
                Err(_) => tracing::debug!(%remote, server, "connection refused: connection limit reached"),
            }
        }
    })
}

impl Connected for LimitedConn {
    type ConnectInfo = TcpConnectInfo;
    fn connect_info(&self) -> TcpConnectInfo {
        self.stream.connect_info()
    }
}

impl AsyncRead for LimitedConn {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for LimitedConn {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }
    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }
    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[tokio::test(start_paused = true)]
    async fn failed_accepts_are_retried_after_a_growing_pause_not_in_a_tight_loop() {
        let calls = AtomicU32::new(0);
        let start = tokio::time::Instant::now();
        let mut backoff = Backoff::new();
        let got = accept_with_backoff("test", &mut backoff, || async {
            match calls.fetch_add(1, Ordering::Relaxed) {
                n if n < 8 => Err(io::Error::other("out of file descriptors")),
                _ => Ok(7),
            }
        })
        .await;
        assert_eq!((got, calls.load(Ordering::Relaxed)), (7, 9));
        // 10 + 20 + 40 + … + 1000 ms: the pauses doubled, capped at one second.
        assert_eq!(start.elapsed(), Duration::from_millis(10 + 20 + 40 + 80 + 160 + 320 + 640 + 1000));
        assert_eq!(backoff.failed(), Backoff::FIRST, "a success starts over");
    }
}
