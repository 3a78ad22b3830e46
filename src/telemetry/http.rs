//! The telemetry HTTP endpoint: `GET /metrics` (Prometheus text format), `GET /healthz`
//! (the process is up) and `GET /readyz` (the pipeline is ready, no sink's delivery worker and
//! no source's task is down: 200, else 503).
//!
//! Runs until the cancellation token fires, then finishes in-flight requests and returns.
//!
//! [`serve_limited`] is the `[server]` listener of `flashpoint run`: its own accept loop over
//! hyper, so that no client can hold a connection for free. A request head must arrive within
//! `header_read_timeout` (hyper's header timer, which on a kept-alive connection also runs
//! while waiting for the next request); a connection on which no byte moves for
//! `idle_timeout` is closed (an `IdleTimeout` around the socket); at most `max_connections`
//! are open, and one more is answered 503 and closed at once. The push route bounds its body
//! read itself (`ingest::push`). Each is counted in
//! `flashpoint_http_connections_closed_total{reason}`; open connections in
//! `flashpoint_http_connections_open`.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio::time::Sleep;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::Metrics;
use crate::config::ServerLimits;

#[derive(Clone)]
struct AppState {
    metrics: Arc<Metrics>,
    ready: Arc<AtomicBool>,
}

/// The router, for embedding in a larger server.
pub fn router(metrics: Arc<Metrics>, ready: Arc<AtomicBool>) -> Router {
    Router::new()
        .route("/metrics", get(metrics_handler))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .with_state(AppState { metrics, ready })
}

/// Serves the telemetry endpoints on `listener` until `shutdown` is cancelled.
pub async fn serve(
    listener: TcpListener,
    metrics: Arc<Metrics>,
    ready: Arc<AtomicBool>,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    serve_router(listener, router(metrics, ready), shutdown).await
}

/// Serves any router (e.g. [`router`] merged with [`super::api_router`]) on `listener` until
/// `shutdown` is cancelled, then finishes in-flight requests.
pub async fn serve_router(
    listener: TcpListener,
    app: Router,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    axum::serve(listener, app)
        .with_graceful_shutdown(async move { shutdown.cancelled().await })
        .await?;
    Ok(())
}

/// What a connection over the cap gets before it is closed.
const OVER_CAPACITY: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\nRetry-After: 1\r\n\r\n";

/// Serves `app` on `listener` within `limits` until `shutdown` is cancelled, then lets
/// in-flight requests finish (idle connections close at once) and returns when every
/// connection has ended.
pub async fn serve_limited(
    listener: TcpListener,
    app: Router,
    limits: ServerLimits,
    metrics: Arc<Metrics>,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let connections = TaskTracker::new();
    loop {
        let accepted = tokio::select! {
            biased;
            _ = shutdown.cancelled() => break,
            r = listener.accept() => r,
        };
        let stream = match accepted {
            Ok((stream, _peer)) => stream,
            Err(e) => {
                // Out of file descriptors and the like: wait rather than spin.
                tracing::warn!(error = %e, "accepting a connection failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Ok(slot) = Arc::clone(&slots).try_acquire_owned() else {
            metrics
                .http_connections_closed_total
                .with_label_values(&["over_capacity"])
                .inc();
            // Best effort and never waiting on the client: the socket buffer takes it or not.
            let _sent = stream.try_write(OVER_CAPACITY).is_ok();
            continue;
        };
        let _nodelay = stream.set_nodelay(true).is_ok();
        metrics.http_connections_open.inc();
        let service = TowerToHyperService::new(app.clone());
        let metrics = Arc::clone(&metrics);
        let stop = shutdown.clone();
        connections.spawn(async move {
            let idle = Arc::new(AtomicBool::new(false));
            let io = TokioIo::new(IdleTimeout::new(
                stream,
                limits.idle_timeout,
                Arc::clone(&idle),
            ));
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(limits.header_read_timeout);
            let conn = builder.serve_connection(io, service);
            tokio::pin!(conn);
            let ended = tokio::select! {
                r = conn.as_mut() => r,
                _ = stop.cancelled() => {
                    conn.as_mut().graceful_shutdown();
                    conn.as_mut().await
                }
            };
            // An idle keep-alive connection ends "gracefully" in hyper's eyes: the flag is
            // what tells an idle timeout apart from the client leaving.
            let reason = if idle.load(Ordering::Acquire) {
                Some("idle_timeout")
            } else if matches!(&ended, Err(e) if e.is_timeout()) {
                Some("header_timeout")
            } else {
                None
            };
            if let Some(reason) = reason {
                metrics
                    .http_connections_closed_total
                    .with_label_values(&[reason])
                    .inc();
            }
            if let Err(e) = ended {
                tracing::debug!(error = %e, reason = ?reason, "connection ended");
            }
            metrics.http_connections_open.dec();
            drop(slot);
        });
    }
    connections.close();
    connections.wait().await;
    Ok(())
}

/// A socket that fails with `TimedOut` once no byte has moved in either direction for
/// `idle` while the server waits on it; `fired` tells the owner why.
struct IdleTimeout<S> {
    inner: S,
    idle: Duration,
    deadline: Pin<Box<Sleep>>,
    fired: Arc<AtomicBool>,
}

impl<S> IdleTimeout<S> {
    fn new(inner: S, idle: Duration, fired: Arc<AtomicBool>) -> IdleTimeout<S> {
        IdleTimeout {
            inner,
            idle,
            deadline: Box::pin(tokio::time::sleep(idle)),
            fired,
        }
    }

    /// Bytes moved: the idle clock starts again.
    fn touch(&mut self) {
        let at = tokio::time::Instant::now() + self.idle;
        self.deadline.as_mut().reset(at);
    }

    /// The inner IO is not ready: fails once the idle deadline has passed.
    fn expired<T>(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<T>> {
        if self.deadline.as_mut().poll(cx).is_ready() {
            self.fired.store(true, Ordering::Release);
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "connection idle for too long",
            )));
        }
        Poll::Pending
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for IdleTimeout<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                if buf.filled().len() > before {
                    this.touch();
                }
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => this.expired(cx),
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for IdleTimeout<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_write(cx, buf) {
            Poll::Ready(Ok(n)) => {
                if n > 0 {
                    this.touch();
                }
                Poll::Ready(Ok(n))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => this.expired(cx),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_write_vectored(cx, bufs) {
            Poll::Ready(Ok(n)) => {
                if n > 0 {
                    this.touch();
                }
                Poll::Ready(Ok(n))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => this.expired(cx),
        }
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_flush(cx) {
            Poll::Pending => this.expired(cx),
            ready => ready,
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

async fn metrics_handler(State(s): State<AppState>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        s.metrics.encode_text(),
    )
}

async fn readyz(State(s): State<AppState>) -> impl IntoResponse {
    if !s.ready.load(Ordering::Acquire) {
        return (StatusCode::SERVICE_UNAVAILABLE, String::from("not ready\n"));
    }
    // A sink whose delivery worker is dead (restarting) cannot page anyone right now.
    let down = s.metrics.sink_workers_down();
    if !down.is_empty() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            format!(
                "not ready: delivery worker down for sink {}\n",
                down.join(", ")
            ),
        );
    }
    // A source whose task died (waiting to restart) reads nothing right now.
    let down = s.metrics.source_tasks_down();
    if !down.is_empty() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            format!(
                "not ready: source task down for source {}\n",
                down.join(", ")
            ),
        );
    }
    (StatusCode::OK, String::from("ready\n"))
}
