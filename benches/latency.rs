//! Latency under sustained live load (issue 20): `POST /v1/mentions` at a fixed rate into the
//! live path (the real push route on 127.0.0.1, its bounded queue, an engine task as
//! `flashpoint run` has), measuring for every mention the time from its request's arrival at
//! the server to the engine having processed it (matched, scored, windowed, detected), and for
//! every alert the time from its mention's arrival to the decision. HDR histograms; p50, p99,
//! p99.9 and max printed.
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
//! Environment: `FP_RATE` (mentions/s, default 50,000), `FP_SECONDS` (default 10), `FP_TICK_MS`
//! (default 10).
//!
//! Run: `cargo bench --bench latency`

use std::sync::Arc;
use std::time::{Duration, Instant};

use flashpoint::app::Engine;
use flashpoint::config::source::{AckMode, HttpPushConfig};
use flashpoint::domain::codec::{decode, encode};
use flashpoint::domain::EventTime;
use flashpoint::ingest::http::{router, PushState};
use flashpoint::ingest::Ingested;
use flashpoint::score::classify::KeywordClassifier;
use flashpoint::score::sentiment::model_by_name;
use flashpoint::telemetry::Metrics;
use hdrhistogram::Histogram;

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

fn main() {
    let rate = env_or("FP_RATE", 50_000).max(1);
    let seconds = env_or("FP_SECONDS", 10).max(1);
    let tick_ms = env_or("FP_TICK_MS", 10).clamp(1, 1000);
    let per_tick = (rate * tick_ms / 1000).max(1) as usize;
    let ticks = (seconds * 1000 / tick_ms) as usize;

    let cfg = Arc::new(
        flashpoint::config::parse_str(flashpoint::app::demo::DEMO_CONFIG, "demo.toml", &|_| None)
            .expect("demo config"),
    );
    let sample = zstd::decode_all(flashpoint::app::demo::DEMO_SAMPLE).expect("demo sample");
    let mentions: Vec<_> = sample
        .split(|&b| b == b'\n')
        .filter_map(|l| decode(l).ok())
        .collect();

    // Every request body, dated from a start one second ahead, one mention per 1/rate s.
    let start_ms = chrono::Utc::now().timestamp_millis() + 1000;
    let mut bodies = Vec::with_capacity(ticks);
    let mut line = Vec::with_capacity(512);
    for t in 0..ticks {
        let mut body = Vec::with_capacity(per_tick * 300);
        for j in 0..per_tick {
            let i = t * per_tick + j;
            let mut m = mentions[i % mentions.len()].clone();
            m.id = format!("load-{i}");
            m.parent_id = None;
            m.created_at = EventTime(start_ms + (i as u64 * 1000 / rate) as i64);
            line.clear();
            encode(&m, &mut line);
            body.extend_from_slice(&line);
        }
        bodies.push(body);
    }

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let (processed, alerts, sent, wall, failed) = rt.block_on(async move {
        let metrics = Arc::new(Metrics::new(&[], 0));
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Ingested>(cfg.pipeline.channel_capacity);
        let engine_cfg = Arc::clone(&cfg);
        let engine_task = tokio::spawn(async move {
            let mut engine = Engine::new(
                engine_cfg,
                model_by_name("lexicon").expect("lexicon"),
                Box::new(KeywordClassifier::embedded()),
                None,
            )
            .expect("engine");
            let (mut done, mut decided) = (histogram(), histogram());
            while let Some(item) = rx.recv().await {
                engine.process(&item.mention);
                let alerts = engine.drain_alerts();
                let us = (item.received.elapsed().as_micros() as u64).max(1);
                for _ in &alerts {
                    decided.saturating_record(us);
                }
                done.saturating_record(us);
            }
            (done, decided)
        });
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
        let mut failed = 0u64;
        let mut interval = tokio::time::interval(Duration::from_millis(tick_ms));
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
        let mut sent = 0u64;
        for body in bodies {
            interval.tick().await;
            match client.post(&url).body(body).send().await {
                Ok(r) if r.status().is_success() => sent += per_tick as u64,
                _ => failed += 1,
            }
        }
        let wall = started.elapsed();
        server.abort();
        let _stopped = server.await;
        let (done, decided) = engine_task.await.expect("engine task");
        (done, decided, sent, wall, failed)
    });
    println!(
        "latency/push: target {rate} mentions/s for {seconds} s ({per_tick} per request every {tick_ms} ms); \
         sent {sent} in {:.2} s = {:.0}/s; {failed} requests failed",
        wall.as_secs_f64(),
        sent as f64 / wall.as_secs_f64()
    );
    println!("latency/push received → processed: {}", summary(&processed));
    println!(
        "latency/push received → alert decided: {}",
        summary(&alerts)
    );
}
