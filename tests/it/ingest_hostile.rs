//! Live sources against hostile upstreams (red-team round 3): a WebSocket server that floods
//! pings and never reads, an AppView or Mastodon REST endpoint with an endless or dribbling body,
//! events and statuses that would poison the cursor, a server that sends one bad frame and hangs
//! up, and a followed file that is truncated, rotated or swapped. Real servers on port 0; the
//! timing tests run on tokio's paused clock, the others wait on observable events, each bounded.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use flashpoint::config::source::{FileConfig, JetstreamConfig, MastodonConfig};
use flashpoint::config::{SourceConfig, SourceKind};
use flashpoint::ingest::{file, jetstream, mastodon, EventTimeBounds, Ingested, SourceCtx};
use flashpoint::telemetry::Metrics;
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;

use crate::ingest_ws::accept_jetstream;

/// Reconnect at once: a hostile server's tests see many connections in little time.
const FAST_BACKOFF: &str = "backoff_initial = \"1ms\"\nbackoff_max = \"5ms\"\n";
const LIVENESS: &str = "connect_timeout = \"2s\"\nping_interval = \"5s\"\nidle_timeout = \"15s\"\n";

fn parse(text: &str) -> SourceKind {
    SourceConfig::parse(&toml::from_str(text).unwrap())
        .unwrap()
        .kind
}

fn jetstream_cfg(addr: SocketAddr, extra: &str) -> JetstreamConfig {
    let SourceKind::Jetstream(j) = parse(&format!(
        "id = \"bsky\"\ntype = \"jetstream\"\nurl = \"ws://{addr}/subscribe\"\ncursor_safety = \"100ms\"\n{extra}"
    )) else {
        unreachable!()
    };
    j
}

fn mastodon_cfg(rest: SocketAddr, ws: SocketAddr, extra: &str) -> MastodonConfig {
    let SourceKind::Mastodon(m) = parse(&format!(
        "id = \"fedi\"\ntype = \"mastodon\"\nurl = \"http://{rest}\"\nstreaming_url = \"ws://{ws}\"\n{FAST_BACKOFF}{extra}"
    )) else {
        unreachable!()
    };
    m
}

struct Started {
    cancel: CancellationToken,
    rx: mpsc::Receiver<Ingested>,
    metrics: Arc<Metrics>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

fn ctx_for(
    id: &str,
    bounds: bool,
) -> (
    SourceCtx,
    CancellationToken,
    mpsc::Receiver<Ingested>,
    Arc<Metrics>,
) {
    let metrics = Arc::new(Metrics::new(&[], 0));
    let cancel = CancellationToken::new();
    let (tx, rx) = mpsc::channel::<Ingested>(64);
    let mut ctx = SourceCtx::new(id, tx, Arc::clone(&metrics), cancel.clone());
    if bounds {
        ctx = ctx.with_event_time_bounds(EventTimeBounds::new(
            Duration::from_secs(300),
            Duration::from_secs(86_400),
        ));
    }
    (ctx, cancel, rx, metrics)
}

/// Jetstream at `addr`, reconnecting at once, with the liveness timeouts.
fn start_fast_jetstream(addr: SocketAddr) -> Started {
    start_jetstream(
        jetstream_cfg(addr, &format!("{FAST_BACKOFF}{LIVENESS}")),
        false,
    )
}

fn start_jetstream(cfg: JetstreamConfig, bounds: bool) -> Started {
    let (ctx, cancel, rx, metrics) = ctx_for("bsky", bounds);
    let task = tokio::spawn(jetstream::run(cfg, ctx));
    Started {
        cancel,
        rx,
        metrics,
        task,
    }
}

fn start_mastodon(cfg: MastodonConfig, bounds: bool) -> Started {
    let (ctx, cancel, rx, metrics) = ctx_for("fedi", bounds);
    let task = tokio::spawn(mastodon::run(cfg, ctx));
    Started {
        cancel,
        rx,
        metrics,
        task,
    }
}

impl Started {
    fn errors(&self, source: &str, reason: &str) -> u64 {
        self.metrics
            .ingest_decode_errors_total
            .with_label_values(&[source, reason])
            .get()
    }

    /// The next `n` mention ids, waiting at most `limit` (virtual time in paused tests).
    async fn take(&mut self, n: usize, limit: Duration) -> Vec<String> {
        let mut got = Vec::new();
        tokio::time::timeout(limit, async {
            while got.len() < n {
                let item = self.rx.recv().await.expect("the source is running");
                item.processed();
                got.push(item.mention.id);
            }
        })
        .await
        .unwrap_or_else(|_| panic!("only {got:?} arrived"));
        got
    }

    async fn stop(self) {
        self.cancel.cancel();
        tokio::time::timeout(Duration::from_secs(30), self.task)
            .await
            .expect("the source stops")
            .unwrap()
            .unwrap();
    }
}

/// Counts connections; `serve` runs each accepted TCP stream with its number (from 1).
async fn counting_server<F, Fut>(serve: F) -> (SocketAddr, Arc<AtomicUsize>)
where
    F: Fn(tokio::net::TcpStream, usize) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let n = Arc::new(AtomicUsize::new(0));
    let count = Arc::clone(&n);
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let i = count.fetch_add(1, Ordering::SeqCst) + 1;
            tokio::spawn(serve(tcp, i));
        }
    });
    (addr, n)
}

async fn wait_until(what: &str, limit: Duration, mut cond: impl FnMut() -> bool) {
    tokio::time::timeout(limit, async {
        while !cond() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("{what}: not within {limit:?}"));
}

/// A Jetstream post frame at `time_us`.
fn post(rkey: &str, time_us: i64) -> String {
    format!(
        r#"{{"did":"did:plc:hostile","time_us":{time_us},"kind":"commit","commit":{{"rev":"r","operation":"create","collection":"app.bsky.feed.post","rkey":"{rkey}","record":{{"text":"brightline","langs":["en"]}}}}}}"#
    )
}

fn now_us() -> i64 {
    chrono::Utc::now().timestamp_micros()
}

// F1: a ping flood from a server that never reads.

/// Pings arriving do not keep a connection alive: a server that sends nothing but pings (and
/// never reads, so never answers ours) is left after `idle_timeout` like a silent one.
#[tokio::test(start_paused = true)]
async fn ingest_hostile_ping_flood_without_data_is_left_after_the_idle_timeout() {
    let (addr, n) = counting_server(|tcp, _| async move {
        let Ok(ws) = tokio_tungstenite::accept_async(tcp).await else {
            return;
        };
        let (mut tx, _rx) = ws.split();
        // 100 s of pings, 50 a second (5,000 frames), never reading.
        for _ in 0..100 {
            for _ in 0..50 {
                if tx.feed(Message::Ping(vec![7u8; 100].into())).await.is_err() {
                    return;
                }
            }
            if tx.flush().await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    })
    .await;
    let s = start_fast_jetstream(addr);
    let conns = Arc::clone(&n);
    wait_until("a second connection", Duration::from_secs(60), || {
        conns.load(Ordering::SeqCst) >= 2
    })
    .await;
    s.stop().await;
}

/// Pongs the server never reads pile up no further than the bounded write buffer: once the
/// socket is full our next ping cannot be sent, which ends the connection, counted
/// `write_backlog`. The server's receive buffer is tiny and it sends more pings (some 6 MB)
/// than the client's send buffer holds of pongs.
#[tokio::test(start_paused = true)]
async fn ingest_hostile_unread_pongs_fill_a_bounded_buffer_and_end_the_connection() {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let listener = socket.listen(16).unwrap();
    let addr = listener.local_addr().unwrap();
    let conns = Arc::new(AtomicUsize::new(0));
    let count = Arc::clone(&conns);
    let wmem_max: usize = std::fs::read_to_string("/proc/sys/net/ipv4/tcp_wmem")
        .ok()
        .and_then(|t| t.split_whitespace().nth(2)?.parse().ok())
        .unwrap_or(4 << 20);
    let flood = (wmem_max + (2 << 20)) / 125;
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            if count.fetch_add(1, Ordering::SeqCst) > 0 {
                continue; // later connections: dropped at once
            }
            tokio::spawn(async move {
                let Ok(ws) = tokio_tungstenite::accept_async(tcp).await else {
                    return;
                };
                let (mut tx, _rx) = ws.split();
                for i in 0..flood {
                    if tx.feed(Message::Ping(vec![1u8; 125].into())).await.is_err() {
                        return;
                    }
                    if i % 1000 == 0 && tx.flush().await.is_err() {
                        return;
                    }
                }
                let _flushed = tx.flush().await;
                tokio::time::sleep(Duration::from_secs(3600)).await;
            });
        }
    });
    let s = start_fast_jetstream(addr);
    let c = Arc::clone(&conns);
    wait_until("a reconnect", Duration::from_secs(120), || {
        c.load(Ordering::SeqCst) >= 2
    })
    .await;
    assert_eq!(s.errors("bsky", "write_backlog"), 1);
    s.stop().await;
}

// F2: an AppView whose getProfiles body never ends.

/// A raw HTTP server answering every request with a 200 whose chunked body never ends (at most
/// 256 MiB, so a client that reads it all cannot hang the test); records the bytes it wrote.
async fn endless_body_server(
    written: Arc<AtomicUsize>,
    requests: Arc<tokio::sync::Notify>,
) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut tcp, _)) = listener.accept().await {
            let written = Arc::clone(&written);
            let requests = Arc::clone(&requests);
            tokio::spawn(async move {
                let mut req = [0u8; 8192];
                if tcp.read(&mut req).await.unwrap_or(0) == 0 {
                    return;
                }
                requests.notify_one();
                let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n";
                if tcp.write_all(head.as_bytes()).await.is_err() {
                    return;
                }
                let chunk = format!("{:x}\r\n{}\r\n", 64 * 1024, " ".repeat(64 * 1024));
                let mut n = 0;
                while n < 256 << 20 && tcp.write_all(chunk.as_bytes()).await.is_ok() {
                    n += 64 * 1024;
                    written.fetch_add(64 * 1024, Ordering::SeqCst);
                }
            });
        }
    });
    addr
}

#[tokio::test]
async fn ingest_hostile_appview_endless_profiles_body_is_capped_and_counted() {
    let written = Arc::new(AtomicUsize::new(0));
    let appview = endless_body_server(Arc::clone(&written), Arc::default()).await;
    let frame = post("k1", now_us());
    let (addr, _n) = counting_server(move |tcp, _| {
        let frame = frame.clone();
        async move {
            let Ok((ws, _)) = accept_jetstream(tcp).await else {
                return;
            };
            let (mut tx, mut rx) = ws.split();
            let _sent = tx.send(Message::text(frame)).await;
            while let Some(Ok(_)) = rx.next().await {}
        }
    })
    .await;
    let cfg = jetstream_cfg(
        addr,
        &format!("appview_url = \"http://{appview}\"\nprofile_interval = \"10ms\"\n"),
    );
    let mut s = start_jetstream(cfg, false);
    assert_eq!(
        s.take(1, Duration::from_secs(10)).await.len(),
        1,
        "emitted without waiting for the lookup"
    );
    let m = Arc::clone(&s.metrics);
    wait_until(
        "the oversize answer is counted",
        Duration::from_secs(30),
        || {
            m.ingest_decode_errors_total
                .with_label_values(&["bsky", "appview_body_too_large"])
                .get()
                == 1
        },
    )
    .await;
    let n = written.load(Ordering::SeqCst);
    assert!(n < 64 << 20, "{n} bytes of the body were read");
    s.stop().await;
}

// F3, F5, F7, F8 (Mastodon).

fn status(id: &str, created_at: &str) -> serde_json::Value {
    serde_json::json!({
        "id": id, "created_at": created_at, "content": "<p>brightline</p>",
        "account": {"id": "1", "acct": "jo", "followers_count": 5}
    })
}

fn update(s: &serde_json::Value) -> Message {
    let payload = serde_json::to_string(s).unwrap();
    Message::text(serde_json::json!({"event": "update", "payload": payload}).to_string())
}

fn rfc3339_now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// A streaming server sending `frames` on every connection, then reading until closed.
async fn mastodon_stream(frames: Vec<Message>) -> (SocketAddr, Arc<AtomicUsize>) {
    counting_server(move |tcp, _| {
        let frames = frames.clone();
        async move {
            let Ok(ws) = tokio_tungstenite::accept_async(tcp).await else {
                return;
            };
            let (mut tx, mut rx) = ws.split();
            for f in frames {
                if tx.send(f).await.is_err() {
                    return;
                }
            }
            while let Some(Ok(_)) = rx.next().await {}
        }
    })
    .await
}

const CURSOR: &str = "110000000000000000";

fn cursor_file(dir: &tempfile::TempDir) -> String {
    let path = dir.path().join("fedi.cursor").display().to_string();
    std::fs::write(&path, format!("{CURSOR}\n")).unwrap();
    path
}

/// An endless REST page: the backfill stops at its byte cap, counts it, and the stream is read.
#[tokio::test]
async fn ingest_hostile_mastodon_endless_backfill_body_is_capped_and_the_stream_read() {
    let written = Arc::new(AtomicUsize::new(0));
    let rest = endless_body_server(Arc::clone(&written), Arc::default()).await;
    let now = rfc3339_now();
    let frames = (1..=3)
        .map(|i| update(&status(&format!("11000000000000000{i}"), &now)))
        .collect();
    let (ws, _n) = mastodon_stream(frames).await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = mastodon_cfg(
        rest,
        ws,
        &format!("cursor_file = \"{}\"\n", cursor_file(&dir)),
    );
    let mut s = start_mastodon(cfg, false);
    let got = s.take(3, Duration::from_secs(30)).await;
    assert_eq!(got.len(), 3);
    assert!(s.errors("fedi", "backfill_too_large") >= 1);
    let n = written.load(Ordering::SeqCst);
    assert!(n < 64 << 20, "{n} bytes of the body were read");
    s.stop().await;
}

/// A stop while the backfill waits on a REST answer that dribbles: the source stops at once,
/// not after the request's 30 s timeout.
#[tokio::test]
async fn ingest_hostile_mastodon_stop_interrupts_a_backfill() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let rest = listener.local_addr().unwrap();
    let asked = Arc::new(tokio::sync::Notify::new());
    let notify = Arc::clone(&asked);
    tokio::spawn(async move {
        while let Ok((mut tcp, _)) = listener.accept().await {
            let notify = Arc::clone(&notify);
            tokio::spawn(async move {
                let mut req = [0u8; 8192];
                let _n = tcp.read(&mut req).await;
                let _w = tcp
                    .write_all(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n1\r\n[\r\n")
                    .await;
                notify.notify_one();
                // One byte a second, for ever (a minute at most).
                for _ in 0..60 {
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    if tcp.write_all(b"1\r\n \r\n").await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    let (ws, _n) = mastodon_stream(Vec::new()).await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = mastodon_cfg(
        rest,
        ws,
        &format!("cursor_file = \"{}\"\n", cursor_file(&dir)),
    );
    let s = start_mastodon(cfg, false);
    tokio::time::timeout(Duration::from_secs(10), asked.notified())
        .await
        .expect("the backfill asks");
    s.cancel.cancel();
    tokio::time::timeout(Duration::from_secs(5), s.task)
        .await
        .expect("the stop interrupts the backfill")
        .unwrap()
        .unwrap();
}

/// A Mastodon source with the cursor file at [`CURSOR`], its REST API served by `app` and its
/// stream sending three statuses (`{prefix}1` to `{prefix}3`, dated `now`) on each connection.
/// Returns the source, the stream's connection count, the cursor file's folder and path.
async fn mastodon_with_rest(
    app: axum::Router,
    prefix: &str,
    now: &str,
) -> (Started, Arc<AtomicUsize>, tempfile::TempDir, String) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let rest = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let frames = (1..=3)
        .map(|i| update(&status(&format!("{prefix}{i}"), now)))
        .collect();
    let (ws, conns) = mastodon_stream(frames).await;
    let dir = tempfile::tempdir().unwrap();
    let path = cursor_file(&dir);
    let cfg = mastodon_cfg(rest, ws, &format!("cursor_file = \"{path}\"\n{LIVENESS}"));
    (start_mastodon(cfg, false), conns, dir, path)
}

/// A backfill that fails once (500) while the stream stays up: the gap was tried again only at
/// the next connect, so a connection that lasted hours left its gap unread, and the persisted
/// cursor behind it, for hours. Now it is tried again on the same connection (after 30 s,
/// doubling): the gap's status arrives, with no reconnect, and the cursor passes the gap.
#[tokio::test(start_paused = true)]
async fn ingest_hostile_mastodon_failed_backfill_is_retried_while_the_stream_stays_up() {
    const GAP: &str = "110000000000000005";
    let asked = Arc::new(AtomicUsize::new(0));
    let count = Arc::clone(&asked);
    let now = rfc3339_now();
    let page = serde_json::json!([status(GAP, &now)]).to_string();
    let app = axum::Router::new().fallback(move || {
        let count = Arc::clone(&count);
        let page = page.clone();
        async move {
            if count.fetch_add(1, Ordering::SeqCst) == 0 {
                (axum::http::StatusCode::INTERNAL_SERVER_ERROR, String::new())
            } else {
                (axum::http::StatusCode::OK, page)
            }
        }
    });
    let (mut s, conns, _dir, path) = mastodon_with_rest(app, "11000000000000001", &now).await;
    assert_eq!(s.take(3, Duration::from_secs(20)).await.len(), 3);
    assert_eq!(s.errors("fedi", "backfill_failed"), 1);
    let gap = s.take(1, Duration::from_secs(120)).await;
    assert_eq!(gap, [GAP], "the gap is backfilled on the same connection");
    assert_eq!(asked.load(Ordering::SeqCst), 2);
    assert_eq!(
        conns.load(Ordering::SeqCst),
        1,
        "no reconnect to retry the gap"
    );
    s.stop().await;
    assert_eq!(
        std::fs::read_to_string(&path).unwrap().trim(),
        GAP,
        "the cursor passes the gap once it is read"
    );
}

/// A backfill page holding one status of the wrong shape (`"account": null`) beside a good
/// one: before, the whole page failed to parse, at every try, for as long as the instance
/// listed that status after the cursor, and the cursor stayed before the gap (found by an
/// attack, 2026-12-07). Now the bad status is counted and skipped and the good one read.
#[tokio::test(start_paused = true)]
async fn ingest_hostile_mastodon_a_bad_status_in_a_backfill_page_skips_only_itself() {
    const BAD: &str = "110000000000000004";
    const GAP: &str = "110000000000000005";
    let now = rfc3339_now();
    let mut bad = status(BAD, &now);
    bad["account"] = serde_json::Value::Null;
    let page = serde_json::json!([bad, status(GAP, &now)]).to_string();
    let app = axum::Router::new().fallback(move || {
        let page = page.clone();
        async move { (axum::http::StatusCode::OK, page) }
    });
    let (mut s, _conns, _dir, path) = mastodon_with_rest(app, "11000000000000001", &now).await;
    let got = s.take(4, Duration::from_secs(60)).await;
    assert!(
        got.iter().any(|id| id == GAP),
        "the gap's good status is read: {got:?}"
    );
    assert!(!got.iter().any(|id| id == BAD), "{got:?}");
    assert_eq!(s.errors("fedi", "invalid_payload"), 1);
    assert_eq!(s.errors("fedi", "backfill_invalid_json"), 0);
    s.stop().await;
    assert_eq!(
        std::fs::read_to_string(&path).unwrap().trim(),
        "110000000000000013",
        "the cursor passes the gap and follows the stream"
    );
}

/// A REST endpoint that never answers: the backfill gives up at its deadline (counted), the
/// stream is read, and the persisted cursor stays at the gap so the next start backfills it.
#[tokio::test(start_paused = true)]
async fn ingest_hostile_mastodon_slow_backfill_does_not_starve_the_stream() {
    let asked = Arc::new(AtomicUsize::new(0));
    let count = Arc::clone(&asked);
    let app = axum::Router::new().fallback(move || {
        let count = Arc::clone(&count);
        async move {
            count.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_secs(3600)).await;
            "[]"
        }
    });
    let (mut s, conns, _dir, path) =
        mastodon_with_rest(app, "11000000000000000", &rfc3339_now()).await;
    let got = s.take(3, Duration::from_secs(300)).await;
    assert_eq!(
        got.len(),
        3,
        "the stream is read although REST never answers"
    );
    assert_eq!(s.errors("fedi", "backfill_timeout"), 1);
    assert_eq!(
        conns.load(Ordering::SeqCst),
        1,
        "no reconnect for a REST failure"
    );
    assert_eq!(
        s.metrics
            .source_connected
            .with_label_values(&["fedi"])
            .get(),
        1.0
    );
    s.stop().await;
    assert_eq!(
        std::fs::read_to_string(&path).unwrap().trim(),
        CURSOR,
        "the gap before the stream is tried again at the next start"
    );
}

/// Statuses with ids that are no status ids (40 nines with a bad date; 32 nines or a leading
/// zero with a current date), and one with a plausible id but a date 56 years old: each is
/// counted, and none becomes the cursor.
#[tokio::test]
async fn ingest_hostile_mastodon_bad_statuses_do_not_move_the_cursor() {
    let now = rfc3339_now();
    let good = "110000000000000007";
    let frames = vec![
        update(&status(&"9".repeat(40), "not a date")),
        update(&status("999999999999999999", "1970-01-01T00:00:00Z")),
        // Current, and alphanumeric within 32 characters, but past any bigint id: as the
        // cursor it outranked every real id, so every backfill asked for what comes after it
        // and got nothing (found by an attack, 2026-12-07).
        update(&status(&"9".repeat(32), &now)),
        update(&status(&format!("0{good}"), &now)),
        update(&status(good, &now)),
    ];
    let (ws, _n) = mastodon_stream(frames).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fedi.cursor").display().to_string();
    let cfg = mastodon_cfg(
        "127.0.0.1:1".parse().unwrap(),
        ws,
        &format!("cursor_file = \"{path}\"\n"),
    );
    let mut s = start_mastodon(cfg, true);
    assert_eq!(s.take(1, Duration::from_secs(30)).await, [good]);
    assert_eq!(s.errors("fedi", "invalid_id"), 3);
    assert_eq!(
        s.metrics
            .ingest_dropped_total
            .with_label_values(&["fedi", "stale_event_time"])
            .get(),
        1
    );
    s.stop().await;
    assert_eq!(std::fs::read_to_string(&path).unwrap().trim(), good);
}

/// Connections in 60 s (virtual) to a server that sends one bad frame and hangs up.
async fn reconnects_to_garbage(mastodon: bool) -> usize {
    let (addr, n) = counting_server(|tcp, _| async move {
        let Ok(mut ws) = tokio_tungstenite::accept_async(tcp).await else {
            return;
        };
        let _sent = ws.send(Message::text("{garbage")).await;
        let _closed = ws.close(None).await;
    })
    .await;
    let backoff = "backoff_initial = \"100ms\"\nbackoff_max = \"10s\"\n";
    let s = if mastodon {
        let SourceKind::Mastodon(m) = parse(&format!(
            "id = \"fedi\"\ntype = \"mastodon\"\nurl = \"http://{addr}\"\nstreaming_url = \"ws://{addr}\"\n{backoff}"
        )) else {
            unreachable!()
        };
        start_mastodon(m, false)
    } else {
        start_jetstream(jetstream_cfg(addr, backoff), false)
    };
    tokio::time::sleep(Duration::from_secs(60)).await;
    let source = if mastodon { "fedi" } else { "bsky" };
    assert!(s.errors(source, "invalid_json") >= 2);
    s.stop().await;
    n.load(Ordering::SeqCst)
}

/// One bad frame per connection does not reset the backoff: the delays grow to `backoff_max`
/// (about 15 connections a minute here, not 600+).
#[tokio::test(start_paused = true)]
async fn ingest_hostile_jetstream_garbage_frames_do_not_reset_the_backoff() {
    let n = reconnects_to_garbage(false).await;
    assert!((3..=30).contains(&n), "{n} connections in a minute");
}

#[tokio::test(start_paused = true)]
async fn ingest_hostile_mastodon_garbage_frames_do_not_reset_the_backoff() {
    let n = reconnects_to_garbage(true).await;
    assert!((3..=30).contains(&n), "{n} connections in a minute");
}

// F6: Jetstream events dated outside the bounds.

/// Stale events (`time_us = i64::MIN`, then two days old) are dropped and move no cursor: the
/// reconnects ask for none (no wrapped `i64::MIN - safety`), and nothing is persisted.
#[tokio::test]
async fn ingest_hostile_jetstream_stale_events_do_not_become_the_cursor() {
    let cursors = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&cursors);
    let fresh = now_us();
    let (addr, n) = counting_server(move |tcp, i| {
        let seen = Arc::clone(&seen);
        async move {
            let Ok((ws, cursor)) = accept_jetstream(tcp).await else {
                return;
            };
            seen.lock().unwrap().push(cursor);
            let (mut tx, mut rx) = ws.split();
            let frame = match i {
                1 => post("min", i64::MIN),
                2 => post("old", fresh - 2 * 86_400_000_000),
                _ => post("fresh", fresh),
            };
            let _sent = tx.send(Message::text(frame)).await;
            if i < 3 {
                return; // hang up: the source reconnects from its cursor
            }
            while let Some(Ok(_)) = rx.next().await {}
        }
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bsky.cursor").display().to_string();
    let cfg = jetstream_cfg(addr, &format!("cursor_file = \"{path}\"\n{FAST_BACKOFF}"));
    let mut s = start_jetstream(cfg, true);
    let got = s.take(1, Duration::from_secs(30)).await;
    assert_eq!(got, ["at://did:plc:hostile/app.bsky.feed.post/fresh"]);
    assert_eq!(n.load(Ordering::SeqCst), 3);
    assert_eq!(*cursors.lock().unwrap(), [None, None, None]);
    assert_eq!(
        s.metrics
            .ingest_dropped_total
            .with_label_values(&["bsky", "stale_event_time"])
            .get(),
        2
    );
    s.stop().await;
    let persisted: i64 = std::fs::read_to_string(&path)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert_eq!(persisted, fresh, "only the fresh event is the cursor");
}

/// A resumable server whose sixth event is a text frame that is not UTF-8: the frame fails the
/// connection itself, so it cannot be read for its time, and each resume from the cursor met
/// it again, at 3 reconnects a second, for good (the events after it never came; found by an
/// attack, 2026-12-07). From the second failure at one cursor the resume now skips ahead of
/// it, 1 ms doubling, until the frame is behind: the events after it are read.
#[tokio::test]
async fn ingest_hostile_jetstream_a_frame_that_fails_every_resume_is_skipped() {
    use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};
    use tokio_tungstenite::tungstenite::protocol::frame::Frame;
    let t0 = now_us() - 60_000_000;
    let at = move |i: i64| t0 + i * 1_000_000;
    let (addr, n) = counting_server(move |tcp, _| async move {
        let Ok((ws, cursor)) = accept_jetstream(tcp).await else {
            return;
        };
        let (mut tx, mut rx) = ws.split();
        for i in 0..10 {
            if cursor.is_some_and(|c| at(i) <= c) {
                continue;
            }
            let msg = if i == 5 {
                let mut bytes = post("bad", at(i)).into_bytes();
                bytes.extend_from_slice(b"\xff\xfe");
                Message::Frame(Frame::message(bytes, OpCode::Data(Data::Text), true))
            } else {
                Message::text(post(&format!("e{i}"), at(i)))
            };
            if tx.send(msg).await.is_err() {
                return;
            }
        }
        while let Some(Ok(_)) = rx.next().await {}
    })
    .await;
    let mut s = start_jetstream(jetstream_cfg(addr, FAST_BACKOFF), false);
    let got = s.take(9, Duration::from_secs(30)).await;
    let want: Vec<String> = (0..10)
        .filter(|&i| i != 5)
        .map(|i| format!("at://did:plc:hostile/app.bsky.feed.post/e{i}"))
        .collect();
    assert_eq!(got, want);
    assert!(s.errors("bsky", "invalid_utf8") >= 2);
    assert!(s.errors("bsky", "skipped_past_bad_frame") >= 1);
    assert!(
        n.load(Ordering::SeqCst) < 30,
        "{} connections",
        n.load(Ordering::SeqCst)
    );
    s.stop().await;
}

/// A burst, then silence on an open connection: the cursor was written only when a frame
/// came after the persist interval, so a crash during the silence lost the resume point (a
/// first start then resumed live, skipping what came meanwhile; found by an attack,
/// 2026-12-07). It is now written a second after the last frame. Paused time.
#[tokio::test(start_paused = true)]
async fn ingest_hostile_jetstream_cursor_is_written_after_a_burst_goes_quiet() {
    let at = now_us() - 1_000_000;
    let (addr, _n) = counting_server(move |tcp, _| async move {
        let Ok((ws, _)) = accept_jetstream(tcp).await else {
            return;
        };
        let (mut tx, mut rx) = ws.split();
        for i in 0..5 {
            let _sent = tx.send(Message::text(post(&format!("b{i}"), at + i))).await;
        }
        // Silent from here, and answering nothing: the connection stays open.
        while let Some(Ok(_)) = rx.next().await {}
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bsky.cursor");
    let cfg = jetstream_cfg(
        addr,
        &format!("cursor_file = \"{}\"\n{LIVENESS}", path.display()),
    );
    let mut s = start_jetstream(cfg, false);
    assert_eq!(s.take(5, Duration::from_secs(10)).await.len(), 5);
    // Two seconds of silence, well inside the connection's idle timeout.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let written = std::fs::read_to_string(&path).unwrap_or_default();
    assert_eq!(
        written.trim(),
        (at + 4).to_string(),
        "the burst's cursor is on disk"
    );
    s.stop().await;
}

/// An event dated ahead of the wall clock but inside the allowed skew is taken, but the cursor
/// moves no further than the clock: a resume minutes ahead would skip those minutes (red team:
/// a reconnect asked for a cursor 296 s in the future).
#[tokio::test]
async fn ingest_hostile_jetstream_cursor_never_passes_the_wall_clock() {
    let cursors = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&cursors);
    let ahead = now_us() + 240_000_000;
    let (addr, n) = counting_server(move |tcp, i| {
        let seen = Arc::clone(&seen);
        async move {
            let Ok((ws, cursor)) = accept_jetstream(tcp).await else {
                return;
            };
            seen.lock().unwrap().push(cursor);
            let (mut tx, mut rx) = ws.split();
            let frame = match i {
                1 => post("ahead", ahead),
                _ => post("fresh", now_us()),
            };
            let _sent = tx.send(Message::text(frame)).await;
            if i < 2 {
                return; // hang up: the source reconnects from its cursor
            }
            while let Some(Ok(_)) = rx.next().await {}
        }
    })
    .await;
    let cfg = jetstream_cfg(addr, FAST_BACKOFF);
    let mut s = start_jetstream(cfg, true);
    let got = s.take(2, Duration::from_secs(30)).await;
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!(n.load(Ordering::SeqCst), 2);
    let resumed = cursors.lock().unwrap()[1].expect("the reconnect resumes from a cursor");
    assert!(
        resumed <= now_us(),
        "resumed {} s ahead of the clock",
        (resumed - now_us()) / 1_000_000
    );
    s.stop().await;
}

// F9, F10: the followed file.

fn line(id: &str) -> String {
    format!(
        "{{\"id\":\"{id}\",\"source\":\"file\",\"created_at\":\"{}\",\"text\":\"brightline\",\"author\":{{\"id\":\"a\",\"handle\":\"@a\"}}}}\n",
        rfc3339_now()
    )
}

fn append(path: &std::path::Path, lines: &[&str]) {
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)
        .unwrap();
    for id in lines {
        std::io::Write::write_all(&mut f, line(id).as_bytes()).unwrap();
    }
}

fn start_follow(path: &std::path::Path) -> Started {
    start_follow_every(path, Duration::from_millis(5))
}

fn start_follow_every(path: &std::path::Path, poll_interval: Duration) -> Started {
    let (ctx, cancel, rx, metrics) = ctx_for("tail", false);
    let cfg = FileConfig {
        path: path.display().to_string(),
        follow: true,
        poll_interval,
    };
    let task = tokio::spawn(file::run(cfg, ctx));
    Started {
        cancel,
        rx,
        metrics,
        task,
    }
}

const WAIT: Duration = Duration::from_secs(20);

/// `copytruncate`, then rotation by rename (with a last line written to the old file just
/// before): every line is read once, in order, and each switch is counted.
#[tokio::test]
async fn ingest_hostile_followed_file_truncated_then_renamed_is_read_on() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("in.ndjson");
    append(&path, &["a1", "a2", "a3"]);
    let mut s = start_follow(&path);
    assert_eq!(s.take(3, WAIT).await, ["a1", "a2", "a3"]);

    std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(0)
        .unwrap();
    append(&path, &["b1"]);
    assert_eq!(s.take(1, WAIT).await, ["b1"]);
    assert_eq!(s.errors("tail", "file_truncated"), 1);

    append(&path, &["b2"]);
    let new = dir.path().join("in.ndjson.new");
    append(&new, &["c1", "c2"]);
    std::fs::rename(&path, dir.path().join("in.ndjson.1")).unwrap();
    std::fs::rename(&new, &path).unwrap();
    assert_eq!(s.take(3, WAIT).await, ["b2", "c1", "c2"]);
    assert_eq!(s.errors("tail", "file_replaced"), 1);
    append(&path, &["c3"]);
    assert_eq!(s.take(1, WAIT).await, ["c3"]);
    s.stop().await;
}

/// A followed file truncated and written again past the read offset between two polls (as a
/// `copytruncate` followed at once by a burst of writes can leave it): the size check saw a
/// longer file and read on from the old offset, in the middle of a new line, so the new
/// lines before it were lost and a broken one counted. The last bytes read are now compared
/// with what the file holds there, and a difference is a truncation: read from the start.
/// Paused time: the reader polls every hour, so the rewrite lands while it waits.
#[tokio::test(start_paused = true)]
async fn ingest_hostile_followed_file_rewritten_longer_between_polls_is_read_from_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("in.ndjson");
    append(&path, &["a1", "a2", "a3"]);
    let mut s = start_follow_every(&path, Duration::from_secs(3600));
    assert_eq!(s.take(3, WAIT).await, ["a1", "a2", "a3"]);
    // Virtual time moves only once the reader waits for its next poll.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rewritten: String = ["b01", "b02", "b03", "b04", "b05"]
        .iter()
        .map(|id| line(id))
        .collect();
    std::fs::write(&path, rewritten).unwrap();
    assert_eq!(
        s.take(5, Duration::from_secs(7200)).await,
        ["b01", "b02", "b03", "b04", "b05"]
    );
    assert_eq!(s.errors("tail", "file_truncated"), 1);
    assert_eq!(s.errors("tail", "invalid_json"), 0);
    s.stop().await;
}

/// The followed path is a symlink, swapped to another file: the new file is read from its start.
#[tokio::test]
async fn ingest_hostile_followed_symlink_swapped_is_read_on() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a.ndjson"), dir.path().join("b.ndjson"));
    let path = dir.path().join("in.ndjson");
    append(&a, &["a1", "a2"]);
    std::os::unix::fs::symlink(&a, &path).unwrap();
    let mut s = start_follow(&path);
    assert_eq!(s.take(2, WAIT).await, ["a1", "a2"]);
    append(&b, &["b1"]);
    let tmp = dir.path().join("in.tmp");
    std::os::unix::fs::symlink(&b, &tmp).unwrap();
    std::fs::rename(&tmp, &path).unwrap();
    assert_eq!(s.take(1, WAIT).await, ["b1"]);
    assert_eq!(s.errors("tail", "file_replaced"), 1);
    s.stop().await;
}

/// The followed path replaced by a directory (a mistake, or a swap half done): reading it
/// failed the source, and with it the whole run (found by an attack, 2026-12-07). It is now
/// waited out like a missing path, and the file that comes back is read.
#[tokio::test(start_paused = true)]
async fn ingest_hostile_followed_file_replaced_by_a_directory_is_waited_out() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("in.ndjson");
    append(&path, &["a1"]);
    let mut s = start_follow_every(&path, Duration::from_secs(60));
    assert_eq!(s.take(1, WAIT).await, ["a1"]);
    std::fs::remove_file(&path).unwrap();
    std::fs::create_dir(&path).unwrap();
    // Five polls while a directory is there.
    tokio::time::sleep(Duration::from_secs(300)).await;
    assert!(!s.task.is_finished(), "the source stopped on a directory");
    std::fs::remove_dir(&path).unwrap();
    append(&path, &["b1"]);
    assert_eq!(s.take(1, Duration::from_secs(600)).await, ["b1"]);
    s.stop().await;
}

#[tokio::test]
async fn ingest_hostile_followed_file_missing_at_start_names_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("not-there.ndjson");
    let s = start_follow(&path);
    let err = tokio::time::timeout(WAIT, s.task)
        .await
        .unwrap()
        .unwrap()
        .unwrap_err()
        .to_string();
    assert!(err.contains(&path.display().to_string()), "{err}");
}
