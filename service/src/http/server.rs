//! The HTTP/1.1 server: accepts TCP connections and serves the router on each with hyper, under the connection limits
//! that `axum::serve` cannot set, and shuts down gracefully.
//!
//! The limits, and what a client sees at each:
//! - a request head (request line and headers) larger than `max_header_bytes`: `431` with the JSON error envelope
//!   and code `headers_too_large`, from the router's limits middleware (`http::limits`). Hyper itself reads heads up
//!   to [`hard_header_cap`] (four times the limit, at least 64 KiB) and answers a larger head, or one with more than
//!   100 header fields, with its own `431 Request Header Fields Too Large` with an empty body before any of our code
//!   runs, then closes the connection;
//! - a request head not complete within `header_read_timeout` (a slowloris client): the connection is closed without
//!   an answer. Hyper starts that clock whenever the connection waits for a request head, so it also closes a
//!   keep-alive connection that stays idle that long after its last response.
//!
//! - an answer given before the request's body was read (413 over the body limit, 415, 401, a 431 with a body
//!   behind it): the connection is closed after the answer, but gently (a lingering close, as nginx and Apache do):
//!   the server first ends its side of the connection, then reads and discards what the client is still sending, up
//!   to [`LINGER_BYTES`], for at most [`LINGER_TIME`] and [`LINGER_IDLE`] between two reads, and only then closes
//!   the socket. Closing a socket with unread data makes the kernel reset the connection, and a client that sends
//!   its whole body before it reads (Python's urllib, for one) would then see a broken pipe instead of the answer.
//!   A client that keeps sending past the bound is cut off. Every connection closes this way: for a client that
//!   has closed already, the first read ends it.
//!
//! Shutdown: when the shutdown future completes, the listener is closed, idle connections are closed, and every
//! request in flight is finished and answered (with `connection: close`) until the drain deadline; connections still
//! open at the deadline are dropped.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;
use tower::Layer as _;

use crate::config::ConnectionArgs;

/// The smallest request head limit accepted: a bearer JWT alone takes several hundred bytes.
pub const MIN_HEADER_BYTES: usize = 1024;
/// The most bytes a closing connection reads and discards (see the module docs).
pub const LINGER_BYTES: usize = 16 * 1024 * 1024;
/// The longest a closing connection reads and discards.
pub const LINGER_TIME: Duration = Duration::from_secs(10);
/// The longest a closing connection waits for the client's next bytes or its end.
pub const LINGER_IDLE: Duration = Duration::from_secs(2);

/// What each connection may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// The largest request head, in bytes.
    pub max_header_bytes: usize,
    /// How long a client may take to send a request head (and how long a connection may stay idle).
    pub header_read_timeout: Duration,
    /// How long the requests in flight have to finish after the shutdown signal.
    pub drain_timeout: Duration,
}

impl ConnectionLimits {
    /// The limits from configuration: a head limit below [`MIN_HEADER_BYTES`] is raised to it, a zero timeout to 1 ms.
    pub fn new(args: &ConnectionArgs) -> Self {
        Self {
            max_header_bytes: args.max_header_bytes.max(MIN_HEADER_BYTES),
            header_read_timeout: Duration::from_millis(args.header_read_timeout_ms.max(1)),
            drain_timeout: Duration::from_millis(args.drain_timeout_ms.max(1)),
        }
    }
}

/// Serves `router` on `listener` until `shutdown` completes, then drains the connections (see the module docs).
///
/// Handlers see the peer's address as [`ConnectInfo<SocketAddr>`], as with axum's `into_make_service_with_connect_info`.
pub async fn run(listener: TcpListener, router: Router, limits: ConnectionLimits, shutdown: impl Future<Output = ()>) {
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .max_header_size(hard_header_cap(limits.max_header_bytes));
    let graceful = GracefulShutdown::new();
    let mut connections = JoinSet::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = accept(&listener) => accepted,
        };
        let service = TowerToHyperService::new(axum::Extension(ConnectInfo(peer)).layer(router.clone()));
        let connection = graceful.watch(http.serve_connection(TokioIo::new(Lingering(Some(stream))), service));
        connections.spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%peer, error = %error, "connection closed on an error");
            }
        });
        while connections.try_join_next().is_some() {}
    }
    drop(listener);
    tracing::info!(open = connections.len(), deadline = ?limits.drain_timeout, "no longer accepting connections; draining");
    if tokio::time::timeout(limits.drain_timeout, graceful.shutdown()).await.is_err() {
        tracing::warn!(open = connections.len(), "drain deadline passed: closing the connections still open");
    }
    connections.shutdown().await;
}

/// A client's connection that closes with a lingering close when hyper drops it (see the module docs).
struct Lingering(Option<TcpStream>);

impl Lingering {
    fn stream(&mut self) -> Pin<&mut TcpStream> {
        Pin::new(self.0.as_mut().expect("the stream is taken only on drop"))
    }
}

impl AsyncRead for Lingering {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        self.stream().poll_read(cx, buf)
    }
}

impl AsyncWrite for Lingering {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.stream().poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.stream().poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.0.as_ref().is_some_and(|stream| stream.is_write_vectored())
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.stream().poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.stream().poll_shutdown(cx)
    }
}

impl Drop for Lingering {
    fn drop(&mut self) {
        if let (Some(stream), Ok(runtime)) = (self.0.take(), tokio::runtime::Handle::try_current()) {
            runtime.spawn(linger(stream));
        }
    }
}

/// Ends our side of `stream`, then reads and discards what the client still sends until it closes its side or a
/// bound is reached; the stream is closed when this returns.
async fn linger(mut stream: TcpStream) {
    let _ = stream.shutdown().await;
    let deadline = tokio::time::Instant::now() + LINGER_TIME;
    let mut scratch = [0u8; 8192];
    let mut discarded = 0;
    while discarded < LINGER_BYTES {
        let wait = deadline.min(tokio::time::Instant::now() + LINGER_IDLE);
        match tokio::time::timeout_at(wait, stream.read(&mut scratch)).await {
            Ok(Ok(read)) if read > 0 => discarded += read,
            _ => break,
        }
    }
}

/// The largest request head hyper reads at all, so that heads a little over `max_header_bytes` still reach the
/// middleware that answers them with a JSON 431.
pub fn hard_header_cap(max_header_bytes: usize) -> usize {
    max_header_bytes.saturating_mul(4).max(64 * 1024)
}

/// The next connection. A failure that concerns one connection is skipped; any other (out of file descriptors) is
/// logged and retried after a pause, so the loop does not spin.
async fn accept(listener: &TcpListener) -> (TcpStream, SocketAddr) {
    loop {
        match listener.accept().await {
            Ok(accepted) => return accepted,
            Err(error)
                if matches!(
                    error.kind(),
                    io::ErrorKind::ConnectionAborted
                        | io::ErrorKind::ConnectionReset
                        | io::ErrorKind::ConnectionRefused
                ) => {}
            Err(error) => {
                tracing::error!(error = %error, "accepting a connection failed; retrying in 100 ms");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}
