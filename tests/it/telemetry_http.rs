//! The telemetry endpoint as Prometheus and a load balancer see it: a real server on port 0.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use flashpoint::telemetry::{serve, Metrics};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::support::http_get as get;

#[tokio::test]
async fn telemetry_serves_metrics_health_and_readiness_until_cancelled() {
    let metrics = Arc::new(Metrics::new(&["acme"], 10));
    metrics
        .brand_mentions_total
        .with_label_values(&["acme", "x"])
        .inc_by(7);
    let ready = Arc::new(AtomicBool::new(false));
    let shutdown = CancellationToken::new();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(serve(
        listener,
        Arc::clone(&metrics),
        Arc::clone(&ready),
        shutdown.clone(),
    ));

    let (status, body) = get(addr, "/metrics").await;
    assert_eq!(status, 200);
    assert!(
        body.contains("flashpoint_brand_mentions_total{brand=\"acme\",source=\"x\"} 7"),
        "{body}"
    );
    assert!(body.contains("# HELP flashpoint_brand_mentions_total"));
    assert_eq!(get(addr, "/healthz").await.0, 200);
    assert_eq!(get(addr, "/readyz").await.0, 503);
    ready.store(true, Ordering::Release);
    assert_eq!(get(addr, "/readyz").await.0, 200);
    assert_eq!(get(addr, "/nope").await.0, 404);

    shutdown.cancel();
    server.await.unwrap().unwrap();
}

/// Issue 18: a dead sink delivery worker is visible to the load balancer, not only to
/// Prometheus: /readyz answers 503 naming the sink until the worker runs again.
#[tokio::test]
async fn readiness_fails_while_a_sink_worker_is_down() {
    let metrics = Arc::new(Metrics::new(&["acme"], 10));
    let ready = Arc::new(AtomicBool::new(true));
    let shutdown = CancellationToken::new();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(serve(
        listener,
        Arc::clone(&metrics),
        Arc::clone(&ready),
        shutdown.clone(),
    ));
    metrics.sink_worker_up.with_label_values(&["pd"]).set(1.0);
    assert_eq!(get(addr, "/readyz").await.0, 200);
    metrics.sink_worker_up.with_label_values(&["pd"]).set(0.0);
    let (status, body) = get(addr, "/readyz").await;
    assert_eq!(status, 503);
    assert!(body.contains("pd"), "{body}");
    metrics.sink_worker_up.with_label_values(&["pd"]).set(1.0);
    assert_eq!(get(addr, "/readyz").await.0, 200);
    shutdown.cancel();
    server.await.unwrap().unwrap();
}

/// Issue 17: a source task that died (panicked, waiting for its restart) is visible in /readyz
/// too: 503 naming the source until its task runs again.
#[tokio::test]
async fn readiness_fails_while_a_source_task_is_down() {
    let metrics = Arc::new(Metrics::new(&["acme"], 10));
    let ready = Arc::new(AtomicBool::new(true));
    let shutdown = CancellationToken::new();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(serve(
        listener,
        Arc::clone(&metrics),
        Arc::clone(&ready),
        shutdown.clone(),
    ));
    metrics.source_task_up.with_label_values(&["masto"]).set(1);
    assert_eq!(get(addr, "/readyz").await.0, 200);
    metrics.source_task_up.with_label_values(&["masto"]).set(0);
    let (status, body) = get(addr, "/readyz").await;
    assert_eq!(status, 503);
    assert!(body.contains("source task down for source masto"), "{body}");
    metrics.source_task_up.with_label_values(&["masto"]).set(1);
    assert_eq!(get(addr, "/readyz").await.0, 200);
    shutdown.cancel();
    server.await.unwrap().unwrap();
}
