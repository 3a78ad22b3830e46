//! HTTP push (`POST /v1/mentions`) against a real server on port 0: auth, body limit, per-line
//! results, and 503 with Retry-After when the pipeline queue is full.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use flashpoint::config::source::{AckMode, HttpPushConfig};
use flashpoint::config::Secret;
use flashpoint::ingest::push::{router, PushState};
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
        ack: AckMode::Queued,
        spool_dir: None,
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

/// A compressed body is decoded (bounded by the body limit, so a small bomb is 413), and a
/// coding the route does not speak is 415: before, `Content-Encoding` was ignored and a gzip
/// body came back 200 with every "line" rejected as invalid UTF-8.
#[tokio::test]
async fn ingest_push_decodes_gzip_and_zstd_and_refuses_other_codings() {
    use std::io::Write;
    let (addr, mut rx, metrics) = serve(16).await;
    let send = |coding: &'static str, body: Vec<u8>| {
        reqwest::Client::new()
            .post(format!("http://{addr}/v1/mentions"))
            .bearer_auth("s3cret")
            .header("content-encoding", coding)
            .body(body)
            .send()
    };
    let body = format!("{}\n{}\n", line("g1", "hi"), line("g2", "hi"));
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(body.as_bytes()).unwrap();
    let r = send("gzip", gz.finish().unwrap()).await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains(r#""accepted":2"#));
    let zst = zstd::encode_all(line("z1", "hi").as_bytes(), 3).unwrap();
    let r = send("zstd", zst).await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains(r#""accepted":1"#));
    let ids: Vec<String> = (0..3).map(|_| rx.try_recv().unwrap().mention.id).collect();
    assert_eq!(ids, ["g1", "g2", "z1"]);

    // 64 KiB of newlines: a few dozen bytes compressed, far over the 2048-byte limit decoded.
    let bomb = zstd::encode_all(vec![b'\n'; 64 * 1024].as_slice(), 19).unwrap();
    assert!(bomb.len() < 2048);
    assert_eq!(send("zstd", bomb).await.unwrap().status(), 413);
    assert_eq!(
        send("gzip", b"not gzip".to_vec()).await.unwrap().status(),
        400
    );
    assert_eq!(
        send("br", body.clone().into_bytes())
            .await
            .unwrap()
            .status(),
        415
    );
    assert!(rx.try_recv().is_err(), "nothing queued from a refused body");
    assert_eq!(rejected(&metrics, "body_too_large"), "1");
    assert_eq!(rejected(&metrics, "invalid_encoding"), "1");
    assert_eq!(rejected(&metrics, "unsupported_encoding"), "1");
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

// The `[server]` listener against slow and too many clients: a real server on 127.0.0.1:0,
// raw TCP clients, tokio's paused clock (the timeouts pass in virtual time).

use flashpoint::config::ServerLimits;
use flashpoint::telemetry::http::serve_limited;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;

/// The push route and the telemetry routes behind [`serve_limited`].
async fn serve_with(limits: ServerLimits) -> (SocketAddr, Arc<Metrics>, mpsc::Receiver<Ingested>) {
    let metrics = Arc::new(Metrics::new(&[], 0));
    let (tx, rx) = mpsc::channel(16);
    let cfg = HttpPushConfig {
        token: Some(Secret::new("s3cret")),
        max_body_bytes: 2048,
        retry_after: Duration::from_secs(3),
        ack: AckMode::Queued,
        spool_dir: None,
    };
    let push = PushState::new("push", cfg, tx, Arc::clone(&metrics))
        .with_body_read_timeout(limits.body_read_timeout);
    let ready = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let app = flashpoint::telemetry::http::router(Arc::clone(&metrics), ready).merge(router(push));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let m = Arc::clone(&metrics);
    tokio::spawn(async move {
        serve_limited(listener, app, limits, m, CancellationToken::new())
            .await
            .unwrap()
    });
    (addr, metrics, rx)
}

fn closed(metrics: &Metrics, reason: &str) -> u64 {
    metrics
        .http_connections_closed_total
        .with_label_values(&[reason])
        .get()
}

/// Reads until the server closes the connection; what it sent before.
async fn until_closed(s: &mut TcpStream) -> String {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 1024];
    loop {
        match s.read(&mut chunk).await {
            Ok(0) | Err(_) => break,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    String::from_utf8_lossy(&buf).into_owned()
}

const PARTIAL: &[u8] = b"POST /v1/mentions HTTP/1.1\r\nHost: flashpoint\r\nContent-Le";

#[tokio::test(start_paused = true)]
async fn ingest_push_server_closes_connections_with_unfinished_headers() {
    let (addr, metrics, _rx) = serve_with(ServerLimits::default()).await;
    let t0 = tokio::time::Instant::now();
    let mut conns = Vec::new();
    for _ in 0..200 {
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(PARTIAL).await.unwrap();
        conns.push(s);
    }
    for s in &mut conns {
        tokio::time::timeout(Duration::from_secs(60), until_closed(s))
            .await
            .expect("the server holds a connection with unfinished headers");
    }
    // Nothing moved for the idle timeout (5 s), well before the header timeout (10 s).
    assert!(t0.elapsed() < Duration::from_secs(10), "{:?}", t0.elapsed());
    assert_eq!(closed(&metrics, "idle_timeout"), 200);
    tokio::time::timeout(Duration::from_secs(5), async {
        while metrics.http_connections_open.get() != 0 {
            tokio::task::yield_now().await;
        }
    })
    .await
    .expect("every connection is released");
}

#[tokio::test(start_paused = true)]
async fn ingest_push_server_header_timeout_stops_a_trickle() {
    let (addr, metrics, _rx) = serve_with(ServerLimits::default()).await;
    let mut s = TcpStream::connect(addr).await.unwrap();
    let t0 = tokio::time::Instant::now();
    // One byte a second: never idle, never a complete request head.
    let head =
        b"POST /v1/mentions HTTP/1.1\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    let mut cut = None;
    for b in head {
        tokio::time::sleep(Duration::from_secs(1)).await;
        if s.write_all(&[*b]).await.is_err() {
            cut = Some(t0.elapsed());
            break;
        }
        let mut probe = [0u8; 256];
        if let Ok(Ok(0) | Err(_)) =
            tokio::time::timeout(Duration::from_millis(1), s.read(&mut probe)).await
        {
            cut = Some(t0.elapsed());
            break;
        }
    }
    let cut = cut.expect("the server never cut the trickle");
    assert!(
        cut >= Duration::from_secs(10) && cut < Duration::from_secs(13),
        "{cut:?}"
    );
    assert_eq!(closed(&metrics, "header_timeout"), 1);
}

#[tokio::test(start_paused = true)]
async fn ingest_push_server_closes_idle_keep_alive_connections() {
    let (addr, metrics, _rx) = serve_with(ServerLimits::default()).await;
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: flashpoint\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 512];
    let n = s.read(&mut buf).await.unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    let t0 = tokio::time::Instant::now();
    tokio::time::timeout(Duration::from_secs(60), until_closed(&mut s))
        .await
        .expect("an idle keep-alive connection is held forever");
    assert!(t0.elapsed() <= Duration::from_secs(6), "{:?}", t0.elapsed());
    assert_eq!(closed(&metrics, "idle_timeout"), 1);
}

#[tokio::test(start_paused = true)]
async fn ingest_push_server_answers_a_slow_body_with_408() {
    let (addr, metrics, mut rx) = serve_with(ServerLimits::default()).await;
    let mut s = TcpStream::connect(addr).await.unwrap();
    let body = line("1", "hi");
    let head = format!(
        "POST /v1/mentions HTTP/1.1\r\nHost: flashpoint\r\nAuthorization: Bearer s3cret\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).await.unwrap();
    // Half the body, then a byte every 4 s: never idle, never complete.
    s.write_all(&body.as_bytes()[..body.len() / 2])
        .await
        .unwrap();
    let t0 = tokio::time::Instant::now();
    let reply = tokio::time::timeout(Duration::from_secs(60), async {
        let mut reply = String::new();
        for b in &body.as_bytes()[body.len() / 2..] {
            let mut chunk = [0u8; 1024];
            match tokio::time::timeout(Duration::from_secs(4), s.read(&mut chunk)).await {
                Ok(Ok(n)) if n > 0 => {
                    reply.push_str(&String::from_utf8_lossy(&chunk[..n]));
                    break;
                }
                Ok(_) => break,
                Err(_) => {}
            }
            if s.write_all(&[*b]).await.is_err() {
                break;
            }
        }
        reply + &until_closed(&mut s).await
    })
    .await
    .expect("a slow body is waited for forever");
    assert!(reply.starts_with("HTTP/1.1 408"), "{reply}");
    assert!(t0.elapsed() < Duration::from_secs(14), "{:?}", t0.elapsed());
    assert_eq!(closed(&metrics, "body_timeout"), 1);
    assert_eq!(rejected(&metrics, "body_timeout"), "1");
    assert!(rx.try_recv().is_err());
}

/// Sends a request head declaring `declared` body bytes, then `body`, then (`half_close`)
/// closes the sending side, and returns everything the server answered until it closed.
async fn push_broken_body(
    addr: std::net::SocketAddr,
    declared: usize,
    body: &[u8],
    half_close: bool,
) -> String {
    let mut s = TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST /v1/mentions HTTP/1.1\r\nHost: flashpoint\r\nAuthorization: Bearer s3cret\r\nContent-Length: {declared}\r\n\r\n"
    );
    s.write_all(head.as_bytes()).await.unwrap();
    s.write_all(body).await.unwrap();
    if half_close {
        s.shutdown().await.unwrap();
    }
    tokio::time::timeout(Duration::from_secs(60), until_closed(&mut s))
        .await
        .expect("a broken body is waited for forever")
}

#[tokio::test(start_paused = true)]
async fn ingest_push_server_answers_a_stalled_or_cut_off_body_with_400_not_413() {
    // 413 tells a client its batch is too large to ever be taken (split it, or drop it); a
    // body that broke off is a batch to send again, whole.
    let (addr, metrics, mut rx) = serve_with(ServerLimits::default()).await;
    let body = line("1", "hi");
    // Half the body, then nothing: the connection's idle timeout (5 s) ends the read before
    // the body timeout (10 s) would.
    let t0 = tokio::time::Instant::now();
    let stalled =
        push_broken_body(addr, body.len(), &body.as_bytes()[..body.len() / 2], false).await;
    assert!(stalled.starts_with("HTTP/1.1 400"), "{stalled}");
    assert!(t0.elapsed() < Duration::from_secs(9), "{:?}", t0.elapsed());
    assert!(stalled.contains("send the batch again"), "{stalled}");
    assert!(
        stalled
            .to_ascii_lowercase()
            .contains("content-type: application/json"),
        "an error body is JSON and says so: {stalled}"
    );
    // Two bytes of a thousand, then the client closes its side.
    let cut = push_broken_body(addr, 1000, b"[{", true).await;
    assert!(cut.starts_with("HTTP/1.1 400"), "{cut}");
    assert_eq!(rejected(&metrics, "body_incomplete"), "2");
    assert!(
        matches!(rejected(&metrics, "body_too_large").as_str(), "" | "0"),
        "a broken body is not counted as too large"
    );
    assert!(rx.try_recv().is_err());
}

#[tokio::test(start_paused = true)]
async fn ingest_push_server_caps_concurrent_connections() {
    let limits = ServerLimits {
        max_connections: 4,
        idle_timeout: Duration::from_secs(600),
        header_read_timeout: Duration::from_secs(600),
        ..ServerLimits::default()
    };
    let (addr, metrics, _rx) = serve_with(limits).await;
    let mut held = Vec::new();
    for _ in 0..4 {
        held.push(TcpStream::connect(addr).await.unwrap());
    }
    tokio::time::timeout(Duration::from_secs(5), async {
        while metrics.http_connections_open.get() != 4 {
            tokio::task::yield_now().await;
        }
    })
    .await
    .expect("four connections are open");
    let mut fifth = TcpStream::connect(addr).await.unwrap();
    let reply = tokio::time::timeout(Duration::from_secs(5), until_closed(&mut fifth))
        .await
        .expect("over the cap, a connection is refused at once");
    assert!(reply.starts_with("HTTP/1.1 503"), "{reply:?}");
    assert_eq!(closed(&metrics, "over_capacity"), 1);
    assert_eq!(metrics.http_connections_open.get(), 4);
    // A slot frees up: the next client is served.
    drop(held.pop());
    tokio::time::timeout(Duration::from_secs(5), async {
        while metrics.http_connections_open.get() != 3 {
            tokio::task::yield_now().await;
        }
    })
    .await
    .expect("a closed connection frees its slot");
    let (status, _) = crate::support::http_get(addr, "/healthz").await;
    assert_eq!(status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ingest_push_run_applies_the_server_limits() {
    let text = "[[brand]]\nid = \"acme\"\nterms = [\"acme\"]\n\
        [server]\nlisten = \"127.0.0.1:0\"\nheader_read_timeout = \"400ms\"\nbody_read_timeout = \"400ms\"\nidle_timeout = \"200ms\"\nmax_connections = 64\n\
        [[source]]\nid = \"push\"\ntype = \"http\"\nack = \"queued\"\n";
    let cfg = Arc::new(flashpoint::config::parse_str(text, "run.toml", &|_| None).unwrap());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let metrics = Arc::new(Metrics::new(&["acme"], 10));
    let shutdown = CancellationToken::new();
    let mut opts = flashpoint::app::RunOptions::new(Arc::clone(&metrics), shutdown.clone());
    opts.listener = Some(listener);
    opts.console = Some(false);
    let running = tokio::spawn(flashpoint::app::run(cfg, opts));
    let mut conns = Vec::new();
    for _ in 0..50 {
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(PARTIAL).await.unwrap();
        conns.push(s);
    }
    for s in &mut conns {
        tokio::time::timeout(Duration::from_secs(10), until_closed(s))
            .await
            .expect("run holds connections with unfinished headers");
    }
    // Counted by the server task right after it lets go (another worker thread).
    tokio::time::timeout(Duration::from_secs(5), async {
        while closed(&metrics, "idle_timeout") < 50 {
            tokio::task::yield_now().await;
        }
    })
    .await
    .expect("every cut connection is counted");
    assert_eq!(closed(&metrics, "idle_timeout"), 50);
    shutdown.cancel();
    running.await.unwrap().unwrap();
}
