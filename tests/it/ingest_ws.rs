//! Jetstream over a real WebSocket server on port 0 replaying the real fixture frames: the
//! server drops the connection mid-stream, the source reconnects from its cursor minus the
//! safety margin, and the pipeline sees every post and repost exactly once.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use flashpoint::config::{SourceConfig, SourceKind};
use flashpoint::ingest::{jetstream, Ingested, SourceCtx};
use flashpoint::telemetry::Metrics;
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;

pub const FIXTURE: &str = include_str!("../fixtures/streams/jetstream/expected_v1.jsonl");

/// The fixture frames in `time_us` order, as a Jetstream server replays them from a cursor.
pub fn frames() -> Vec<(i64, String)> {
    let mut v: Vec<(i64, String)> = FIXTURE
        .lines()
        .map(|l| {
            let ev: serde_json::Value = serde_json::from_str(l).unwrap();
            (ev["time_us"].as_i64().unwrap(), l.to_string())
        })
        .collect();
    v.sort_by_key(|(t, _)| *t);
    v
}

/// Ids the pipeline must see: created posts and reposts, read straight from the JSON.
pub fn wanted_ids() -> BTreeSet<String> {
    frames()
        .iter()
        .filter_map(|(_, l)| {
            let ev: serde_json::Value = serde_json::from_str(l).unwrap();
            let c = &ev["commit"];
            let coll = c["collection"].as_str()?;
            (ev["kind"] == "commit"
                && c["operation"] == "create"
                && (coll == "app.bsky.feed.post" || coll == "app.bsky.feed.repost"))
                .then(|| {
                    format!(
                        "at://{}/{coll}/{}",
                        ev["did"].as_str().unwrap(),
                        c["rkey"].as_str().unwrap()
                    )
                })
        })
        .collect()
}

/// Accepts a Jetstream client's WebSocket on `tcp`, with the `cursor` its URL asked for.
#[allow(clippy::result_large_err)] // the handshake callback's error type is tungstenite's
pub async fn accept_jetstream(
    tcp: tokio::net::TcpStream,
) -> Result<
    (
        tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>,
        Option<i64>,
    ),
    tokio_tungstenite::tungstenite::Error,
> {
    let mut cursor = None;
    let ws = tokio_tungstenite::accept_hdr_async(tcp, |req: &Request, resp: Response| {
        cursor = req.uri().query().and_then(|q| {
            q.split('&')
                .find_map(|kv| kv.strip_prefix("cursor="))
                .and_then(|c| c.parse::<i64>().ok())
        });
        Ok(resp)
    })
    .await?;
    Ok((ws, cursor))
}

/// A Jetstream stand-in: serves frames with `time_us >= cursor`; the first connection is cut
/// after `drop_after` frames (no close frame), later ones stay open. Records each cursor asked
/// for; `extra` frames (bad input) go first on the first connection.
pub async fn jetstream_server(
    drop_after: usize,
    extra: Vec<Message>,
) -> (SocketAddr, Arc<Mutex<Vec<Option<i64>>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let cursors = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&cursors);
    tokio::spawn(async move {
        let mut n = 0;
        while let Ok((tcp, _)) = listener.accept().await {
            n += 1;
            let (ws, cursor) = accept_jetstream(tcp).await.unwrap();
            seen.lock().unwrap().push(cursor);
            let (mut tx, mut rx) = ws.split();
            if n == 1 {
                for m in extra.clone() {
                    tx.send(m).await.unwrap();
                }
            }
            let from = cursor.unwrap_or(i64::MIN);
            let mut sent = 0;
            for (t, line) in frames() {
                if t < from {
                    continue;
                }
                if n == 1 && sent == drop_after {
                    break;
                }
                if tx.send(Message::text(line)).await.is_err() {
                    break;
                }
                sent += 1;
            }
            if n == 1 {
                // Cut the connection mid-stream: drop both halves without a close frame.
                drop((tx, rx));
                continue;
            }
            tokio::spawn(async move {
                let _tx = tx;
                while let Some(Ok(_)) = rx.next().await {}
            });
        }
    });
    (addr, cursors)
}

pub fn jetstream_config(
    addr: SocketAddr,
    cursor_file: &str,
) -> flashpoint::config::source::JetstreamConfig {
    let text = format!(
        "id = \"bsky\"\ntype = \"jetstream\"\nurl = \"ws://{addr}/subscribe\"\ncursor_file = \"{cursor_file}\"\ncursor_safety = \"100ms\"\nbackoff_initial = \"1ms\"\nbackoff_max = \"5ms\"\nmax_message_bytes = 65536\n"
    );
    let c = SourceConfig::parse(&toml::from_str(&text).unwrap()).unwrap();
    let SourceKind::Jetstream(j) = c.kind else {
        unreachable!()
    };
    j
}

#[tokio::test]
async fn ingest_ws_jetstream_reconnects_from_cursor_exactly_once() {
    let extra = vec![
        Message::text("{not json"),
        Message::text(r#"{"did":"d","time_us":1,"kind":"mystery"}"#),
        Message::binary(vec![0xff, 0x00]),
    ];
    let (addr, cursors) = jetstream_server(60, extra).await;
    let dir = tempfile::tempdir().unwrap();
    let cursor_file = dir.path().join("bsky.cursor").display().to_string();
    let metrics = Arc::new(Metrics::new(&[], 0));
    let cancel = CancellationToken::new();
    // A small queue: the source must stop reading while the test is slow to take mentions.
    let (tx, mut rx) = mpsc::channel::<Ingested>(4);
    let ctx = SourceCtx::new("bsky", tx, Arc::clone(&metrics), cancel.clone());
    let task = tokio::spawn(jetstream::run(jetstream_config(addr, &cursor_file), ctx));

    let want = wanted_ids();
    assert_eq!(want.len(), 32, "17 posts and 15 reposts in the fixture");
    let mut got = Vec::new();
    tokio::time::timeout(Duration::from_secs(30), async {
        while got.len() < want.len() {
            let item = rx.recv().await.unwrap();
            // As the engine task does: the cursor may move past a processed mention only.
            item.processed();
            got.push(item.mention);
        }
    })
    .await
    .expect("every wanted event arrives");
    cancel.cancel();
    task.await.unwrap().unwrap();
    while let Some(extra) = rx.recv().await {
        got.push(extra.mention);
    }
    let ids: Vec<String> = got.iter().map(|m| m.id.clone()).collect();
    let unique: BTreeSet<String> = ids.iter().cloned().collect();
    assert_eq!(unique.len(), ids.len(), "no event twice: {ids:?}");
    assert_eq!(unique, want);

    // The second connection resumed from the last cursor minus the 100 ms safety margin.
    let cursors = cursors.lock().unwrap().clone();
    assert!(cursors.len() >= 2, "{cursors:?}");
    assert_eq!(cursors[0], None);
    let all = frames();
    let last_before_drop = all[59].0;
    assert_eq!(cursors[1], Some(last_before_drop - 100_000));
    assert!(
        cursors[1].unwrap() > all[0].0,
        "resumed mid-stream, not from the start"
    );
    let persisted: i64 = std::fs::read_to_string(&cursor_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let last_wanted = all
        .iter()
        .filter(|(_, l)| {
            want.iter()
                .any(|id| l.contains(id.rsplit('/').next().unwrap()))
        })
        .map(|(t, _)| *t)
        .max()
        .unwrap();
    assert!(
        persisted >= last_wanted,
        "cursor {persisted} persisted on shutdown"
    );

    // Parent links: replies and reposts point at at:// URIs.
    let reposts = got
        .iter()
        .filter(|m| m.kind == flashpoint::domain::MentionKind::Repost)
        .count();
    assert_eq!(reposts, 15);
    assert!(got
        .iter()
        .filter(|m| m.kind != flashpoint::domain::MentionKind::Post)
        .all(|m| m
            .parent_id
            .as_deref()
            .is_some_and(|p| p.starts_with("at://"))));

    let text = metrics.encode_text();
    for reason in ["invalid_json", "unknown_event", "binary_frame"] {
        let line = format!(
            "flashpoint_ingest_decode_errors_total{{reason=\"{reason}\",source=\"bsky\"}} 1"
        );
        assert!(text.contains(&line), "missing {line}");
    }
    assert!(
        metrics
            .source_reconnects_total
            .with_label_values(&["bsky"])
            .get()
            >= 1
    );
    assert_eq!(
        metrics.source_connected.with_label_values(&["bsky"]).get(),
        0.0
    );
}

/// Issue 17, finding 4: the persisted cursor covers only mentions the engine processed, not
/// every mention that entered the queue (a crash used to skip up to 65,536 queued mentions).
#[tokio::test]
async fn ingest_ws_jetstream_cursor_persists_only_processed_mentions() {
    let (addr, _) = jetstream_server(usize::MAX, Vec::new()).await;
    let dir = tempfile::tempdir().unwrap();
    let cursor_file = dir.path().join("bsky.cursor").display().to_string();
    let metrics = Arc::new(Metrics::new(&[], 0));
    let cancel = CancellationToken::new();
    let (tx, mut rx) = mpsc::channel::<Ingested>(1_000);
    let ctx = SourceCtx::new("bsky", tx, Arc::clone(&metrics), cancel.clone());
    let task = tokio::spawn(jetstream::run(jetstream_config(addr, &cursor_file), ctx));
    let want = wanted_ids().len();
    let mut got = Vec::new();
    tokio::time::timeout(Duration::from_secs(30), async {
        while got.len() < want {
            got.push(rx.recv().await.unwrap());
        }
    })
    .await
    .expect("every wanted event is queued");
    // The engine got through the first 10 only, then the process stops.
    for item in &got[..10] {
        item.processed();
    }
    cancel.cancel();
    task.await.unwrap().unwrap();
    let persisted: i64 = std::fs::read_to_string(&cursor_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let ms = |i: usize| got[i].mention.created_at.millis();
    assert!(
        persisted >= ms(9) * 1000,
        "cursor {persisted} covers the processed mentions"
    );
    assert!(
        persisted < ms(10) * 1000,
        "cursor {persisted} is past the unprocessed mention at {} ms",
        ms(10)
    );
}

#[tokio::test]
async fn ingest_ws_jetstream_oversize_frame_is_counted_and_survived() {
    let big = format!("{{\"pad\":\"{}\"}}", "x".repeat(100_000));
    let (addr, _cursors) = jetstream_server(usize::MAX, vec![Message::text(big)]).await;
    let dir = tempfile::tempdir().unwrap();
    let cursor_file = dir.path().join("c").display().to_string();
    let metrics = Arc::new(Metrics::new(&[], 0));
    let cancel = CancellationToken::new();
    let (tx, mut rx) = mpsc::channel::<Ingested>(64);
    let ctx = SourceCtx::new("bsky", tx, Arc::clone(&metrics), cancel.clone());
    let task = tokio::spawn(jetstream::run(jetstream_config(addr, &cursor_file), ctx));
    let want = wanted_ids();
    let mut got = BTreeSet::new();
    tokio::time::timeout(Duration::from_secs(30), async {
        while got.len() < want.len() {
            got.insert(rx.recv().await.unwrap().mention.id);
        }
    })
    .await
    .expect("the stream recovers after the oversize frame");
    cancel.cancel();
    task.await.unwrap().unwrap();
    assert_eq!(got, want);
    assert_eq!(
        metrics
            .ingest_decode_errors_total
            .with_label_values(&["bsky", "oversize"])
            .get(),
        1
    );
}

/// AppView enrichment against a stub `getProfiles`: lookups never block, misses are batched.
#[tokio::test]
async fn ingest_ws_profiles_are_batched_cached_and_never_block() {
    use axum::http::{header, Uri};
    let calls = Arc::new(Mutex::new(Vec::<Vec<String>>::new()));
    let seen = Arc::clone(&calls);
    let app = axum::Router::new().route(
        "/xrpc/app.bsky.actor.getProfiles",
        axum::routing::get(move |uri: Uri| {
            let seen = Arc::clone(&seen);
            async move {
                let actors: Vec<String> = uri
                    .query()
                    .unwrap_or("")
                    .split('&')
                    .filter_map(|kv| kv.strip_prefix("actors="))
                    .map(|d| d.replace("%3A", ":"))
                    .collect();
                let profiles: Vec<serde_json::Value> = actors
                    .iter()
                    .enumerate()
                    .map(|(i, d)| serde_json::json!({"did": d, "handle": format!("user{i}.bsky.social"), "followersCount": 1000 + i, "createdAt": "2024-01-01T00:00:00.000Z"}))
                    .collect();
                seen.lock().unwrap().push(actors);
                (
                    [(header::CONTENT_TYPE, "application/json")],
                    serde_json::json!({ "profiles": profiles }).to_string(),
                )
            }
        }),
    );
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let cfg = jetstream_config("127.0.0.1:1".parse().unwrap(), "unused");
    let cancel = CancellationToken::new();
    let (profiles, task) =
        jetstream::Profiles::new(&format!("http://{addr}"), &cfg, cancel.clone());
    tokio::spawn(task);
    let dids = ["did:plc:aaa", "did:plc:bbb", "did:plc:ccc"];
    for d in dids {
        let mut author = flashpoint::domain::Author {
            id: d.into(),
            handle: d.into(),
            ..Default::default()
        };
        profiles.enrich(&mut author);
        assert_eq!(author.followers, 0, "a miss is emitted at once, unenriched");
    }
    tokio::time::timeout(Duration::from_secs(10), async {
        while profiles.cached("did:plc:ccc").is_none() {
            tokio::task::yield_now().await;
        }
    })
    .await
    .expect("the lookup completes");
    let mut author = flashpoint::domain::Author {
        id: dids[1].into(),
        ..Default::default()
    };
    profiles.enrich(&mut author);
    assert_eq!(author.handle, "@user1.bsky.social");
    assert_eq!(author.followers, 1001);
    assert!(author.created_at.is_some());
    assert_eq!(
        calls.lock().unwrap().len(),
        1,
        "three misses, one batched request"
    );
    assert_eq!(calls.lock().unwrap()[0].len(), 3);
    cancel.cancel();
}

/// `compress = true`: binary frames are zstd with Jetstream's dictionary; a corrupt one is
/// counted, its neighbours still arrive.
#[tokio::test]
async fn ingest_ws_jetstream_zstd_frames_decode_with_the_dictionary() {
    let dict: Vec<u8> = FIXTURE.lines().take(20).collect::<String>().into_bytes();
    let mut compressor = zstd::bulk::Compressor::with_dictionary(3, &dict).unwrap();
    let mut extra: Vec<Message> = frames()
        .iter()
        .map(|(_, l)| Message::binary(compressor.compress(l.as_bytes()).unwrap()))
        .collect();
    extra.insert(3, Message::binary(vec![0x28, 0xb5, 0x2f, 0xfd, 1, 2, 3]));
    // Connection 1 carries only the compressed frames, then drops; connection 2 replays from
    // the cursor as text, which the duplicate filter must absorb.
    let (addr, _cursors) = jetstream_server(0, extra).await;
    let dir = tempfile::tempdir().unwrap();
    let dict_path = dir.path().join("jetstream.zdict");
    std::fs::write(&dict_path, &dict).unwrap();
    let mut cfg = jetstream_config(addr, &dir.path().join("c").display().to_string());
    cfg.zstd_dictionary = Some(dict_path.display().to_string());
    assert!(jetstream::subscribe_url(&cfg, None).contains("compress=true"));
    let metrics = Arc::new(Metrics::new(&[], 0));
    let cancel = CancellationToken::new();
    let (tx, mut rx) = mpsc::channel::<Ingested>(64);
    let ctx = SourceCtx::new("bsky", tx, Arc::clone(&metrics), cancel.clone());
    let task = tokio::spawn(jetstream::run(cfg, ctx));
    let want = wanted_ids();
    let mut got = Vec::new();
    tokio::time::timeout(Duration::from_secs(30), async {
        while got.len() < want.len() {
            got.push(rx.recv().await.unwrap().mention.id);
        }
    })
    .await
    .expect("compressed frames decode");
    cancel.cancel();
    task.await.unwrap().unwrap();
    while let Some(more) = rx.recv().await {
        got.push(more.mention.id);
    }
    let unique: BTreeSet<String> = got.iter().cloned().collect();
    assert_eq!(unique.len(), got.len(), "no duplicates");
    assert_eq!(unique, want);
    assert_eq!(
        metrics
            .ingest_decode_errors_total
            .with_label_values(&["bsky", "invalid_zstd"])
            .get(),
        1
    );
}

// Liveness (issue 17): connect/handshake and idle timeouts with pings, and frames that cannot
// be read skipped in-stream rather than retried on every reconnect. Real servers on port 0;
// the timeout tests run on tokio's paused clock.

/// Counts connections; `serve` runs each accepted TCP stream.
async fn counting_server<F, Fut>(serve: F) -> (SocketAddr, Arc<std::sync::atomic::AtomicUsize>)
where
    F: Fn(tokio::net::TcpStream) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let n = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let count = Arc::clone(&n);
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            tokio::spawn(serve(tcp));
        }
    });
    (addr, n)
}

async fn wait_for_connections(n: &std::sync::atomic::AtomicUsize, want: usize) {
    tokio::time::timeout(Duration::from_secs(120), async {
        while n.load(std::sync::atomic::Ordering::SeqCst) < want {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("the source never came back: {n:?} connections"));
}

const LIVENESS: &str = "connect_timeout = \"2s\"\nping_interval = \"5s\"\nidle_timeout = \"15s\"\n";

fn jetstream_with(addr: SocketAddr, extra: &str) -> flashpoint::config::source::JetstreamConfig {
    let text = format!(
        "id = \"bsky\"\ntype = \"jetstream\"\nurl = \"ws://{addr}/subscribe\"\nbackoff_initial = \"1ms\"\nbackoff_max = \"5ms\"\n{extra}"
    );
    let c = SourceConfig::parse(&toml::from_str(&text).unwrap()).unwrap();
    let SourceKind::Jetstream(j) = c.kind else {
        unreachable!()
    };
    j
}

fn start_jetstream(
    cfg: flashpoint::config::source::JetstreamConfig,
) -> (
    CancellationToken,
    mpsc::Receiver<Ingested>,
    Arc<Metrics>,
    tokio::task::JoinHandle<anyhow::Result<()>>,
) {
    let metrics = Arc::new(Metrics::new(&[], 0));
    let cancel = CancellationToken::new();
    let (tx, rx) = mpsc::channel::<Ingested>(64);
    let ctx = SourceCtx::new("bsky", tx, Arc::clone(&metrics), cancel.clone());
    let task = tokio::spawn(jetstream::run(cfg, ctx));
    (cancel, rx, metrics, task)
}

#[tokio::test(start_paused = true)]
async fn ingest_ws_jetstream_handshake_that_never_completes_times_out() {
    // Accepts TCP and never answers the WebSocket handshake.
    let (addr, n) = counting_server(|tcp| async move {
        tokio::time::sleep(Duration::from_secs(3600)).await;
        drop(tcp);
    })
    .await;
    let (cancel, _rx, _m, task) = start_jetstream(jetstream_with(addr, LIVENESS));
    wait_for_connections(&n, 3).await;
    cancel.cancel();
    task.await.unwrap().unwrap();
}

#[tokio::test(start_paused = true)]
async fn ingest_ws_jetstream_silent_server_is_left_for_a_new_connection() {
    // Completes the handshake, then neither sends nor reads (so never answers a ping).
    let (addr, n) = counting_server(|tcp| async move {
        let ws = tokio_tungstenite::accept_async(tcp).await.unwrap();
        tokio::time::sleep(Duration::from_secs(3600)).await;
        drop(ws);
    })
    .await;
    let (cancel, _rx, metrics, task) = start_jetstream(jetstream_with(addr, LIVENESS));
    wait_for_connections(&n, 3).await;
    cancel.cancel();
    task.await.unwrap().unwrap();
    assert!(
        metrics
            .source_reconnects_total
            .with_label_values(&["bsky"])
            .get()
            >= 2
    );
}

#[tokio::test(start_paused = true)]
async fn ingest_ws_jetstream_answers_pings_keep_a_quiet_connection() {
    // Sends nothing but reads (tungstenite answers pings while reading): never idle.
    let (addr, n) = counting_server(|tcp| async move {
        let mut ws = tokio_tungstenite::accept_async(tcp).await.unwrap();
        while let Some(Ok(_)) = ws.next().await {}
    })
    .await;
    let (cancel, _rx, _m, task) = start_jetstream(jetstream_with(addr, LIVENESS));
    wait_for_connections(&n, 1).await;
    // Four idle timeouts' worth of quiet (virtual time).
    tokio::time::sleep(Duration::from_secs(60)).await;
    assert_eq!(
        n.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "a live connection was dropped"
    );
    cancel.cancel();
    task.await.unwrap().unwrap();
}

#[allow(clippy::result_large_err)] // the handshake callback's error type is tungstenite's
#[tokio::test]
async fn ingest_ws_jetstream_oversize_frame_in_the_stream_is_skipped_not_retried() {
    // An oversize frame sits in the middle of the stream, so every resume from the cursor
    // meets it again: skipping it must not need a reconnect.
    let mut all = frames();
    let mid = all[all.len() / 2].0;
    let big = format!(
        "{{\"did\":\"did:plc:big\",\"time_us\":{},\"kind\":\"commit\",\"pad\":\"{}\"}}",
        mid + 1,
        "x".repeat(100_000)
    );
    all.push((mid + 1, big));
    all.sort_by_key(|(t, _)| *t);
    let all = Arc::new(all);
    let (addr, n) = counting_server(move |tcp| {
        let all = Arc::clone(&all);
        async move {
            let Ok((ws, cursor)) = accept_jetstream(tcp).await else {
                return;
            };
            let (mut tx, mut rx) = ws.split();
            for (t, line) in all.iter() {
                if *t < cursor.unwrap_or(i64::MIN) {
                    continue;
                }
                if tx.send(Message::text(line.clone())).await.is_err() {
                    return;
                }
            }
            while let Some(Ok(_)) = rx.next().await {}
        }
    })
    .await;
    let cfg = jetstream_with(addr, "max_message_bytes = 65536\n");
    let (cancel, mut rx, metrics, task) = start_jetstream(cfg);
    let want = wanted_ids();
    let mut got = BTreeSet::new();
    tokio::time::timeout(Duration::from_secs(10), async {
        while got.len() < want.len() {
            got.insert(rx.recv().await.unwrap().mention.id);
        }
    })
    .await
    .expect("the mentions after the oversize frame arrive");
    cancel.cancel();
    task.await.unwrap().unwrap();
    assert_eq!(got, want);
    assert_eq!(
        n.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "skipped in-stream"
    );
    assert_eq!(
        metrics
            .ingest_decode_errors_total
            .with_label_values(&["bsky", "oversize"])
            .get(),
        1
    );
}

#[tokio::test(start_paused = true)]
async fn ingest_ws_mastodon_silent_stream_is_left_for_a_new_connection() {
    let (addr, n) = counting_server(|tcp| async move {
        let ws = tokio_tungstenite::accept_async(tcp).await.unwrap();
        tokio::time::sleep(Duration::from_secs(3600)).await;
        drop(ws);
    })
    .await;
    let text = format!(
        "id = \"fedi\"\ntype = \"mastodon\"\nurl = \"http://{addr}\"\nstreaming_url = \"ws://{addr}\"\nbackoff_initial = \"1ms\"\nbackoff_max = \"5ms\"\n{LIVENESS}"
    );
    let c = SourceConfig::parse(&toml::from_str(&text).unwrap()).unwrap();
    let SourceKind::Mastodon(cfg) = c.kind else {
        unreachable!()
    };
    let metrics = Arc::new(Metrics::new(&[], 0));
    let cancel = CancellationToken::new();
    let (tx, _rx) = mpsc::channel::<Ingested>(8);
    let ctx = SourceCtx::new("fedi", tx, Arc::clone(&metrics), cancel.clone());
    let task = tokio::spawn(flashpoint::ingest::mastodon::run(cfg, ctx));
    wait_for_connections(&n, 3).await;
    cancel.cancel();
    task.await.unwrap().unwrap();
}

/// A frame that cannot be decoded is sampled into the log as an escaped value: a newline in
/// it (a WebSocket frame may hold raw newlines) cannot fake a log line of its own, and no
/// terminal escape reaches whoever tails the log. Every source counts bad input through
/// `SourceCtx`, so this is the one place to hold it.
#[tokio::test]
async fn bad_input_samples_cannot_forge_log_lines() {
    let capture = crate::support::log_capture();
    let (tx, _rx) = mpsc::channel(1);
    let ctx = SourceCtx::new(
        "forge",
        tx,
        Arc::new(Metrics::new(&[], 0)),
        CancellationToken::new(),
    );
    let forged = "FORGED-7c1e level=ERROR rotate the token now";
    ctx.bad_input(
        "invalid_json",
        &format!("{{\"kind\":\"commit\"\r\n{forged}\n{forged}\u{1b}[2J\u{1b}]0;pwned\u{7}"),
    );
    let log = capture.text();
    let lines: Vec<&str> = log.lines().filter(|l| l.contains("FORGED-7c1e")).collect();
    assert_eq!(
        lines.len(),
        1,
        "the sample spans several log lines: {lines:?}"
    );
    assert!(lines[0].contains("skipping bad input") && lines[0].contains("source=forge"));
    assert!(
        !log.contains('\u{1b}') && !log.contains('\u{7}'),
        "a terminal escape reached the log"
    );
}
