//! Latency under sustained live load (issue 20), over two live sources:
//! * `push`: `POST /v1/mentions` at a fixed rate (the real push route on 127.0.0.1);
//! * `jetstream`: a Jetstream stand-in on 127.0.0.1 sending post frames at a fixed rate to the
//!   real Jetstream source task (`ingest::jetstream::run`: WebSocket client, frame decoding,
//!   duplicate filter).
//!
//! Each feeds the bounded pipeline queue and an engine task as `flashpoint run` has. Measured
//! for every mention: the time from its arrival (the request's at the server, the frame's at the
//! source) to the engine having processed it (matched, scored, windowed, detected); for every
//! alert, from its mention's arrival to the decision. HDR histograms; p50, p99, p99.9 and max
//! printed.
//!
//! The load is the demo sample's texts (four in five name a brand) with the demo's brands,
//! dated at the wall clock, so event time moves and every minute is evaluated as live. One
//! request every `FP_TICK_MS` carries `FP_RATE × FP_TICK_MS / 1000` mentions; the request bodies
//! are built before the clock starts, so the client costs only its HTTP work. The client, the
//! server and the engine share the machine's cores, as a node under a push load would.
//!
//! Not a criterion bench: one sustained run, whose achieved rate is printed beside the target
//! (a server that cannot keep up shows it there and in the tail).
//!
//! Environment: `FP_PREPARE` (preparing threads ahead of the engine task, as `[pipeline]
//! prepare_workers`; default 0, none), `FP_SOURCE` (`push`, `jetstream` or
//! `both`, the default), `FP_RATE`
//! (mentions/s, default 50,000), `FP_SECONDS` (default 10), `FP_TICK_MS` (default 10: one
//! request, or one burst of frames, per tick).
//!
//! Run: `cargo bench --bench latency`

use std::sync::Arc;
use std::time::{Duration, Instant};

use flashpoint::app::prepare::LiveQueue;
use flashpoint::app::Engine;
use flashpoint::config::source::{AckMode, HttpPushConfig, SourceKind};
use flashpoint::config::Config;
use flashpoint::domain::codec::{decode, encode};
use flashpoint::domain::{EventTime, Mention};
use flashpoint::ingest::push::{router, PushState};
use flashpoint::ingest::{Ingested, SourceCtx};
use flashpoint::score::classify::KeywordClassifier;
use flashpoint::score::sentiment::model_by_name;
use flashpoint::telemetry::Metrics;
use futures_util::SinkExt;
use hdrhistogram::Histogram;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;

/// The binary's allocator (`src/main.rs`), so these numbers are the shipped binary's.
#[cfg(feature = "mimalloc")]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 600_000_000, 3).expect("histogram bounds")
}

fn summary(h: &Histogram<u64>) -> String {
    if h.is_empty() {
        return String::from("none");
    }
    let ms = |v: u64| v as f64 / 1000.0;
    format!(
        "n {}, p50 {:.2} ms, p99 {:.2} ms, p99.9 {:.2} ms, max {:.2} ms",
        h.len(),
        ms(h.value_at_quantile(0.5)),
        ms(h.value_at_quantile(0.99)),
        ms(h.value_at_quantile(0.999)),
        ms(h.max())
    )
}

/// The load: how many mentions per tick, how many ticks, how long a tick is.
#[derive(Clone, Copy)]
struct Load {
    rate: u64,
    per_tick: usize,
    ticks: usize,
    tick_ms: u64,
}

/// What one run measured.
struct Measured {
    sent: u64,
    wall: Duration,
    failed: u64,
    processed: Histogram<u64>,
    decided: Histogram<u64>,
}

/// The `i`-th mention of the load: the demo sample's mentions in turn, with a unique id, no
/// parent, dated one `1/rate` s after the previous from `start_ms`.
fn nth(mentions: &[Mention], i: usize, rate: u64, start_ms: i64) -> Mention {
    let mut m = mentions[i % mentions.len()].clone();
    m.id = format!("load-{i}");
    m.parent_id = None;
    m.created_at = EventTime(start_ms + (i as u64 * 1000 / rate) as i64);
    m
}

/// The engine task: processes every queued mention, recording arrival → processed and, for
/// mentions that decided alerts, arrival → decided. As `[pipeline] prepare_workers` in
/// `flashpoint run`, `FP_PREPARE` preparing threads (default 0: the engine task scores every
/// mention itself; 1: a relay task) match and score the mentions ahead of it, in queue order
/// (`app::prepare::LiveQueue`).
fn spawn_engine(
    cfg: Arc<Config>,
    rx: mpsc::Receiver<Ingested>,
) -> tokio::task::JoinHandle<(Histogram<u64>, Histogram<u64>)> {
    let mut engine = Engine::new(
        cfg,
        model_by_name("lexicon").expect("lexicon"),
        Box::new(KeywordClassifier::embedded()),
        None,
    )
    .expect("engine");
    let workers = prepare_workers();
    let mut queue = if workers == 0 {
        LiveQueue::direct(rx)
    } else {
        LiveQueue::prepared(rx, &engine.preparer(), workers).expect("preparing threads")
    };
    tokio::spawn(async move {
        let (mut done, mut decided) = (histogram(), histogram());
        while let Some(batch) = queue.recv().await {
            for (item, prep) in batch {
                match prep {
                    Some(prep) => engine.process_prepared(&item.mention, prep),
                    None => engine.process(&item.mention),
                }
                let alerts = engine.drain_alerts();
                let us = (item.received.elapsed().as_micros() as u64).max(1);
                for _ in &alerts {
                    decided.saturating_record(us);
                }
                done.saturating_record(us);
            }
        }
        (done, decided)
    })
}

/// `FP_PREPARE`, else what `run` uses by default (none).
fn prepare_workers() -> usize {
    env_or("FP_PREPARE", 0) as usize
}

/// Pushes the load over `POST /v1/mentions`, one request per tick.
async fn over_push(cfg: Arc<Config>, mentions: &[Mention], load: Load) -> Measured {
    // Every request body, built before the clock starts.
    let start_ms = chrono::Utc::now().timestamp_millis() + 1000;
    let mut line = Vec::with_capacity(512);
    let bodies: Vec<Vec<u8>> = (0..load.ticks)
        .map(|t| {
            let mut body = Vec::with_capacity(load.per_tick * 300);
            for j in 0..load.per_tick {
                line.clear();
                encode(
                    &nth(mentions, t * load.per_tick + j, load.rate, start_ms),
                    &mut line,
                );
                body.extend_from_slice(&line);
            }
            body
        })
        .collect();
    let metrics = Arc::new(Metrics::new(&[], 0));
    let (tx, rx) = mpsc::channel::<Ingested>(cfg.pipeline.channel_capacity);
    let engine = spawn_engine(Arc::clone(&cfg), rx);
    let push = HttpPushConfig {
        token: None,
        max_body_bytes: 64 << 20,
        retry_after: Duration::from_secs(1),
        ack: AckMode::Queued,
        spool_dir: None,
    };
    let state = PushState::new("push", push, tx, metrics);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("local addr");
    let server = tokio::spawn(async move { axum::serve(listener, router(state)).await });
    let client = reqwest::Client::new();
    let url = format!("http://{addr}/v1/mentions");
    let started = Instant::now();
    let (mut sent, mut failed) = (0u64, 0u64);
    let mut interval = tokio::time::interval(Duration::from_millis(load.tick_ms));
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    for body in bodies {
        interval.tick().await;
        match client.post(&url).body(body).send().await {
            Ok(r) if r.status().is_success() => sent += load.per_tick as u64,
            _ => failed += 1,
        }
    }
    let wall = started.elapsed();
    server.abort();
    let _stopped = server.await;
    let (processed, decided) = engine.await.expect("engine task");
    Measured {
        sent,
        wall,
        failed,
        processed,
        decided,
    }
}

/// One Jetstream commit frame creating a post with `m`'s text, at `m`'s event time.
fn frame(m: &Mention, i: usize) -> String {
    let at = chrono::DateTime::from_timestamp_millis(m.created_at.millis())
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    serde_json::json!({
        "did": format!("did:plc:load{}", i % 5000),
        "time_us": m.created_at.millis() * 1000 + (i % 1000) as i64,
        "kind": "commit",
        "commit": {
            "rev": format!("r{i}"),
            "operation": "create",
            "collection": "app.bsky.feed.post",
            "rkey": format!("k{i}"),
            "record": {"$type": "app.bsky.feed.post", "text": m.text, "createdAt": at, "langs": ["en"]},
            "cid": format!("c{i}"),
        }
    })
    .to_string()
}

/// Streams the load from a Jetstream stand-in to the real Jetstream source task, one burst of
/// frames per tick.
async fn over_jetstream(cfg: Arc<Config>, mentions: &[Mention], load: Load) -> Measured {
    let start_ms = chrono::Utc::now().timestamp_millis() + 1000;
    let frames: Vec<Vec<String>> = (0..load.ticks)
        .map(|t| {
            (0..load.per_tick)
                .map(|j| {
                    let i = t * load.per_tick + j;
                    frame(&nth(mentions, i, load.rate, start_ms), i)
                })
                .collect()
        })
        .collect();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("local addr");
    let (done_tx, done_rx) = tokio::sync::oneshot::channel();
    let tick_ms = load.tick_ms;
    let server = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.expect("accept");
        let mut ws = tokio_tungstenite::accept_async(tcp)
            .await
            .expect("websocket handshake");
        let started = Instant::now();
        let mut sent = 0u64;
        let mut interval = tokio::time::interval(Duration::from_millis(tick_ms));
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
        for burst in frames {
            interval.tick().await;
            for f in burst {
                if ws.feed(Message::text(f)).await.is_err() {
                    break;
                }
                sent += 1;
            }
            if ws.flush().await.is_err() {
                break;
            }
        }
        let _sent = done_tx.send((sent, started.elapsed()));
        // Keep the connection open until the source is cancelled.
        std::future::pending::<()>().await;
    });
    let text = format!(
        "[[brand]]\nid = \"x\"\nterms = [\"x\"]\n[[source]]\nid = \"bsky\"\ntype = \"jetstream\"\nurl = \"ws://{addr}/subscribe\"\n"
    );
    let source_cfg = flashpoint::config::parse_str(&text, "bench.toml", &|_| None)
        .expect("jetstream source config");
    let Some(SourceKind::Jetstream(js)) = source_cfg.sources.first().map(|s| s.kind.clone()) else {
        panic!("not a jetstream source");
    };
    let metrics = Arc::new(Metrics::new(&[], 0));
    let (tx, rx) = mpsc::channel::<Ingested>(cfg.pipeline.channel_capacity);
    let engine = spawn_engine(Arc::clone(&cfg), rx);
    let cancel = CancellationToken::new();
    let ctx = SourceCtx::new("bsky", tx, metrics, cancel.clone());
    let source = tokio::spawn(flashpoint::ingest::jetstream::run(js, ctx));
    let (sent, wall) = done_rx.await.expect("stand-in finished");
    // Let the source read what is still in flight, then stop it; the engine drains the queue.
    tokio::time::sleep(Duration::from_millis(200)).await;
    cancel.cancel();
    let _ended = source.await;
    server.abort();
    let (processed, decided) = engine.await.expect("engine task");
    Measured {
        sent,
        wall,
        failed: sent.saturating_sub(processed.len()),
        processed,
        decided,
    }
}

fn report(name: &str, load: Load, m: &Measured, lost_what: &str) {
    println!(
        "latency/{name}: {} preparing threads; target {} mentions/s for {:.0} s ({} per {} ms); sent {} in {:.2} s = {:.0}/s; {} {lost_what}",
        prepare_workers(),
        load.rate,
        (load.ticks as u64 * load.tick_ms) as f64 / 1000.0,
        load.per_tick,
        load.tick_ms,
        m.sent,
        m.wall.as_secs_f64(),
        m.sent as f64 / m.wall.as_secs_f64(),
        m.failed,
    );
    println!(
        "latency/{name} arrival → processed: {}",
        summary(&m.processed)
    );
    println!(
        "latency/{name} arrival → alert decided: {}",
        summary(&m.decided)
    );
}

fn main() {
    let rate = env_or("FP_RATE", 50_000).max(1);
    let seconds = env_or("FP_SECONDS", 10).max(1);
    let tick_ms = env_or("FP_TICK_MS", 10).clamp(1, 1000);
    let load = Load {
        rate,
        per_tick: (rate * tick_ms / 1000).max(1) as usize,
        ticks: (seconds * 1000 / tick_ms) as usize,
        tick_ms,
    };
    let which = std::env::var("FP_SOURCE").unwrap_or_else(|_| String::from("both"));

    let cfg = Arc::new(
        flashpoint::config::parse_str(flashpoint::app::demo::DEMO_CONFIG, "demo.toml", &|_| None)
            .expect("demo config"),
    );
    let sample = zstd::decode_all(flashpoint::app::demo::DEMO_SAMPLE).expect("demo sample");
    let mentions: Vec<Mention> = sample
        .split(|&b| b == b'\n')
        .filter_map(|l| decode(l).ok())
        .collect();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    if which == "push" || which == "both" {
        let m = rt.block_on(over_push(Arc::clone(&cfg), &mentions, load));
        report("push", load, &m, "requests failed");
    }
    if which == "jetstream" || which == "both" {
        let m = rt.block_on(over_jetstream(Arc::clone(&cfg), &mentions, load));
        report("jetstream", load, &m, "frames not processed");
    }
}
