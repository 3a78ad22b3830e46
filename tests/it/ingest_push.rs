//! HTTP push (`POST /v1/mentions`) against a real server on port 0: auth, body limit, per-line
//! results, and 503 with Retry-After when the pipeline queue is full.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use flashpoint::config::source::HttpPushConfig;
use flashpoint::config::Secret;
use flashpoint::ingest::http::{router, PushState};
use flashpoint::ingest::Ingested;
use flashpoint::telemetry::Metrics;
use tokio::net::TcpListener;
use tokio::sync::mpsc;

pub fn line(id: &str, text: &str) -> String {
    line_at(id, text, "2026-03-02T10:00:00Z")
}

pub fn line_at(id: &str, text: &str, created_at: &str) -> String {
    format!(
        r#"{{"id":"{id}","source":"x","created_at":"{created_at}","text":"{text}","author":{{"id":"a","handle":"@a"}}}}"#
    )
}

async fn serve(capacity: usize) -> (SocketAddr, mpsc::Receiver<Ingested>, Arc<Metrics>) {
    let metrics = Arc::new(Metrics::new(&[], 0));
    let (tx, rx) = mpsc::channel(capacity);
    let cfg = HttpPushConfig {
        token: Some(Secret::new("s3cret")),
        max_body_bytes: 2048,
        retry_after: Duration::from_secs(3),
    };
    let app = router(PushState::new("push", cfg, tx, Arc::clone(&metrics)));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (addr, rx, metrics)
}

fn post(addr: SocketAddr, token: Option<&str>, body: String) -> reqwest::RequestBuilder {
    let mut r = reqwest::Client::new()
        .post(format!("http://{addr}/v1/mentions"))
        .body(body);
    if let Some(t) = token {
        r = r.bearer_auth(t);
    }
    r
}

#[tokio::test]
async fn ingest_push_rejects_missing_or_wrong_token() {
    let (addr, mut rx, _m) = serve(16).await;
    for token in [None, Some("wrong"), Some("s3cret-not")] {
        let r = post(addr, token, line("1", "hi")).send().await.unwrap();
        assert_eq!(r.status(), 401, "{token:?}");
        assert_eq!(r.headers()["www-authenticate"], "Bearer");
    }
    assert!(rx.try_recv().is_err(), "nothing queued without auth");
}

fn rejected(metrics: &Metrics, reason: &str) -> String {
    // Scraped as Prometheus text: the family the dashboards and alerts read.
    let want =
        format!("flashpoint_ingest_push_rejected_total{{reason=\"{reason}\",source=\"push\"}} ");
    metrics
        .encode_text()
        .lines()
        .find_map(|l| l.strip_prefix(want.as_str()).map(String::from))
        .unwrap_or_default()
}

#[tokio::test]
async fn ingest_push_counts_refusals_by_reason() {
    let (addr, _rx, metrics) = serve(16).await;
    for token in [None, Some("wrong")] {
        let r = post(addr, token, line("1", "hi")).send().await.unwrap();
        assert_eq!(r.status(), 401);
    }
    let big: String = (0..40).map(|i| line(&i.to_string(), "hi") + "\n").collect();
    let r = post(addr, Some("s3cret"), big).send().await.unwrap();
    assert_eq!(r.status(), 413);
    assert_eq!(rejected(&metrics, "unauthorized"), "2");
    assert_eq!(rejected(&metrics, "body_too_large"), "1");
}

#[tokio::test]
async fn ingest_push_bearer_scheme_is_case_insensitive() {
    let (addr, mut rx, _m) = serve(16).await;
    for scheme in ["bearer", "BEARER", "Bearer", "bEaReR"] {
        let r = reqwest::Client::new()
            .post(format!("http://{addr}/v1/mentions"))
            .header("authorization", format!("{scheme} s3cret"))
            .body(line("1", "hi"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{scheme}");
        rx.recv().await.unwrap();
    }
    for wrong in ["Basic s3cret", "bearers3cret", "Bearer  s3cret-not"] {
        let r = reqwest::Client::new()
            .post(format!("http://{addr}/v1/mentions"))
            .header("authorization", wrong)
            .body(line("1", "hi"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401, "{wrong}");
    }
}

#[tokio::test]
async fn ingest_push_batch_larger_than_the_queue_is_413_not_503() {
    let (addr, mut rx, metrics) = serve(3).await;
    // The queue is empty and still could never take four mentions at once.
    let four: String = (0..4).map(|i| line(&i.to_string(), "hi") + "\n").collect();
    let r = post(addr, Some("s3cret"), four).send().await.unwrap();
    assert_eq!(r.status(), 413);
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["max_batch"], 3, "{v}");
    assert!(rx.try_recv().is_err(), "nothing queued");
    assert_eq!(rejected(&metrics, "batch_too_large"), "1");
    // Three fit.
    let three: String = (0..3).map(|i| line(&i.to_string(), "hi") + "\n").collect();
    let r = post(addr, Some("s3cret"), three).send().await.unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn ingest_push_rejects_oversize_body() {
    let (addr, mut rx, _m) = serve(16).await;
    let body: String = (0..40).map(|i| line(&i.to_string(), "hi") + "\n").collect();
    assert!(body.len() > 2048);
    let r = post(addr, Some("s3cret"), body).send().await.unwrap();
    assert_eq!(r.status(), 413);
    assert!(rx.try_recv().is_err());
}

#[tokio::test]
async fn ingest_push_bad_lines_never_reject_good_ones() {
    let (addr, mut rx, metrics) = serve(16).await;
    let body = format!(
        "{}\n{{broken\n{}\n{}\n",
        line("1", "first"),
        r#"{"id":"2","source":"x","created_at":"yesterday","text":"t","author":{"id":"a","handle":"@a"}}"#,
        line("3", "third")
    );
    let r = post(addr, Some("s3cret"), body).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["accepted"], 2);
    assert_eq!(v["rejected"], 2);
    assert_eq!(v["errors"][0]["line"], 2);
    assert_eq!(v["errors"][0]["reason"], "invalid_json");
    assert_eq!(v["errors"][1]["line"], 3);
    assert_eq!(v["errors"][1]["reason"], "invalid_timestamp");
    let ids: Vec<String> = (0..2).map(|_| rx.try_recv().unwrap().mention.id).collect();
    assert_eq!(ids, ["1", "3"]);
    assert_eq!(
        metrics
            .ingest_decode_errors_total
            .with_label_values(&["push", "invalid_timestamp"])
            .get(),
        1
    );
    // A JSON array works too.
    let array = format!("[{}, {}]", line("4", "a"), line("5", "b"));
    let v: serde_json::Value = post(addr, Some("s3cret"), array)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["accepted"], 2);
}

#[tokio::test]
async fn ingest_push_full_queue_answers_503_with_retry_after() {
    let (addr, mut rx, metrics) = serve(3).await;
    let two = format!("{}\n{}\n", line("1", "a"), line("2", "b"));
    let r = post(addr, Some("s3cret"), two.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // One slot left: a batch of two is refused whole.
    let r = post(addr, Some("s3cret"), two.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 503);
    assert_eq!(r.headers()["retry-after"], "3");
    assert_eq!(
        metrics
            .ingest_dropped_total
            .with_label_values(&["push", "queue_full"])
            .get(),
        2
    );
    // The engine catches up; the retried batch goes through.
    rx.recv().await.unwrap();
    rx.recv().await.unwrap();
    let r = post(addr, Some("s3cret"), two).send().await.unwrap();
    assert_eq!(r.status(), 200);
}
