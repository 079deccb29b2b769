//! The accept loop: hyper on each connection with a timer and timeouts, under a connection cap.
//!
//! `axum::serve` gives hyper no timer, so hyper's header timeout never fires there and a client
//! that sends half a request head holds its connection forever. Here every connection has:
//! - the header timeout (hyper's, with its timer): the whole request head must arrive within it,
//!   counted from the connection's start or the end of the previous response, so it is also how
//!   long an idle keep-alive connection stays open;
//! - the body timeout (`body::read_body`): the whole body within it;
//! - the write-stall timeout ([`StallGuard`]): a write that makes no progress for that long
//!   closes the connection, and with it whatever response memory it held;
//! - a place under the connection cap, kept below the process's file-descriptor limit so that
//!   `accept` never fails for want of descriptors; a connection over the cap is answered 503
//!   and closed.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, LazyLock};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt as _, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::time::{Instant, Sleep};

use crate::metrics::Rejection;
use crate::state::AppState;

/// The largest request head hyper buffers; Vexil's own limits (`guard`) are below it, so a
/// head between the two gets Vexil's JSON 431. Past it hyper answers a bare 431 itself.
pub const HYPER_MAX_HEADER_BYTES: usize = 64 * 1024;

/// Connections over the cap being answered 503 at once; beyond these they are just closed.
const REFUSING_AT_ONCE: usize = 64;

/// How connections are served.
#[derive(Clone, Debug)]
pub struct Connections {
    pub header_timeout: Duration,
    pub write_timeout: Duration,
    pub max_connections: usize,
    /// How long shutdown waits for open connections to finish their responses.
    pub shutdown_grace: Duration,
}

/// Accepts and serves connections until `shutdown` resolves, then lets open connections finish
/// (within the grace period).
pub async fn serve(
    listener: TcpListener,
    app: Router,
    state: AppState,
    connections: &Connections,
    shutdown: impl Future<Output = ()>,
) {
    let places = Arc::new(Semaphore::new(connections.max_connections));
    let refusing = Arc::new(Semaphore::new(REFUSING_AT_ONCE));
    let graceful = GracefulShutdown::new();
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(connections.header_timeout)
        .max_header_size(HYPER_MAX_HEADER_BYTES)
        .keep_alive(true)
        // Without it, hyper reads ahead while each request is in flight, to see a client that
        // hung up, and the read needs a fresh 8 KB buffer (the old one is still borrowed by the
        // request's head): 8 of the 11 KB a snapshot response allocated. With it, a client
        // that hangs up mid-response is seen at the next write instead (a push stream's next
        // keep-alive comment), and the buffer is reused: 3 KB per response.
        .half_close(true);
    let mut shutdown = std::pin::pin!(shutdown);
    let mut failures: u32 = 0;
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut shutdown => break,
        };
        let stream = match accepted {
            Ok((stream, _)) => {
                failures = 0;
                stream
            }
            Err(error) => {
                // Out of descriptors or buffers: wait for connections to close, never spin.
                failures = failures.saturating_add(1);
                if failures == 1 || failures % 100 == 0 {
                    tracing::warn!(%error, failures, "accept failed");
                }
                state.metrics.record_accept_error();
                let backoff = Duration::from_millis(10 << failures.min(7));
                tokio::time::sleep(backoff).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let Ok(place) = places.clone().try_acquire_owned() else {
            state.metrics.record_rejection(Rejection::Cap);
            refuse(stream, &refusing);
            continue;
        };
        let io = TokioIo::new(StallGuard::new(stream, connections.write_timeout));
        let connection =
            graceful.watch(builder.serve_connection(io, TowerToHyperService::new(app.clone())));
        let state = state.clone();
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                record_connection_error(&state, &error);
            }
            drop(place);
        });
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(connections.shutdown_grace) => {
            tracing::warn!("connections still open after {:?}: closing them", connections.shutdown_grace);
        }
    }
}

/// What ended a connection with an error, for the rejection metrics.
fn record_connection_error(state: &AppState, error: &hyper::Error) {
    let stalled = std::error::Error::source(error)
        .and_then(|source| source.downcast_ref::<io::Error>())
        .is_some_and(|io| io.kind() == io::ErrorKind::TimedOut);
    let reason = if error.is_timeout() || stalled {
        Rejection::Timeout
    } else if error.is_parse_too_large() {
        Rejection::Limit
    } else if error.is_parse() {
        Rejection::Malformed
    } else {
        tracing::debug!(%error, "connection ended");
        return;
    };
    state.metrics.record_rejection(reason);
}

/// The answer to a connection over the cap.
static BUSY: LazyLock<Vec<u8>> = LazyLock::new(|| {
    let body = r#"{"code":14,"message":"too many connections: retry in a moment","details":[]}"#;
    format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\nretry-after: 1\r\n\
         connection: close\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
});

/// Answers 503 to a connection over the cap and closes it, if few others are being refused;
/// else just closes it.
fn refuse(mut stream: TcpStream, refusing: &Arc<Semaphore>) {
    let Ok(turn) = refusing.clone().try_acquire_owned() else {
        return;
    };
    tokio::spawn(async move {
        // Read what was sent first: closing with unread data would reset the connection
        // before the client reads the answer.
        let mut request = [0u8; 2048];
        let read = tokio::time::timeout(Duration::from_millis(500), stream.readable()).await;
        if read.is_ok() {
            let _ = stream.try_read(&mut request);
        }
        let _ = tokio::time::timeout(Duration::from_secs(1), stream.write_all(&BUSY)).await;
        let _ = stream.shutdown().await;
        drop(turn);
    });
}

/// A connection whose writes fail once they make no progress for the write timeout: a client
/// that stops reading cannot hold the response (and its memory) forever.
pub struct StallGuard {
    stream: TcpStream,
    timeout: Duration,
    /// Running while a write waits; made at the first stall, reset at the next ones.
    stall: Option<Pin<Box<Sleep>>>,
    stalled: bool,
}

impl StallGuard {
    pub fn new(stream: TcpStream, timeout: Duration) -> StallGuard {
        StallGuard {
            stream,
            timeout,
            stall: None,
            stalled: false,
        }
    }

    /// A write is pending: start the clock if it is not running, and fail once it runs out.
    fn waiting<T>(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<T>> {
        let deadline = Instant::now() + self.timeout;
        let stall = self
            .stall
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
        if !self.stalled {
            stall.as_mut().reset(deadline);
            self.stalled = true;
        }
        match stall.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the client stopped reading",
            ))),
            Poll::Pending => Poll::Pending,
        }
    }

    fn progress<T>(
        &mut self,
        polled: Poll<io::Result<T>>,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<T>> {
        match polled {
            Poll::Pending => self.waiting(cx),
            ready => {
                self.stalled = false;
                ready
            }
        }
    }
}

impl AsyncRead for StallGuard {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for StallGuard {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.stream).poll_write(cx, buf);
        self.progress(polled, cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.stream).poll_write_vectored(cx, bufs);
        self.progress(polled, cx)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let polled = Pin::new(&mut self.stream).poll_flush(cx);
        self.progress(polled, cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let polled = Pin::new(&mut self.stream).poll_shutdown(cx);
        self.progress(polled, cx)
    }
}

/// The connection cap for `wanted`, kept below the file-descriptor limit (raised to its hard
/// maximum first, as Go's runtime does) with room for flag files, the watcher and the
/// listeners.
pub fn connection_cap(wanted: usize) -> usize {
    const RESERVED_DESCRIPTORS: u64 = 256;
    let limit = match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => limit,
        Err(error) => {
            tracing::warn!(%error, "cannot read or raise the file-descriptor limit");
            return wanted;
        }
    };
    let room = usize::try_from(limit.saturating_sub(RESERVED_DESCRIPTORS)).unwrap_or(usize::MAX);
    if room < wanted.min(10_000) {
        tracing::warn!(
            "the file-descriptor limit ({limit}) allows only {room} connections (raise it: `ulimit -n`)"
        );
    } else if room < wanted {
        tracing::info!("the file-descriptor limit ({limit}) caps connections at {room}");
    }
    wanted.min(room).max(1)
}
