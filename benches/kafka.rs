//! Per-core rates through librdkafka's in-process mock cluster (feature `kafka`):
//! produce (ingest router + publish), consume + decode (the mention source's loop), and
//! consume → detect (one detect worker owning every partition, alerts produced).
//!
//! `cargo bench --features kafka --bench kafka` (FP_KAFKA_DAYS, default 4 demo days).
//! The mock broker runs in the same process, so its CPU is included: these are lower bounds of
//! what a real broker allows, and an upper bound of the client-side cost per mention.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use flashpoint::app::kafka::topology::{DetectWorker, IngestRouter, Publisher, WorkerOptions};
use flashpoint::config::kafka::{KafkaClient, KafkaSourceConfig};
use flashpoint::synth::{generate, SynthSpec};
use rdkafka::mocking::MockCluster;

fn main() {
    let days: u32 = std::env::var("FP_KAFKA_DAYS")
        .ok()
        .and_then(|d| d.parse().ok())
        .unwrap_or(4);
    let cfg = Arc::new(
        flashpoint::config::parse_str(flashpoint::app::demo::DEMO_CONFIG, "demo.toml", &|_| None)
            .unwrap(),
    );
    let stream = generate(&SynthSpec {
        days,
        ..SynthSpec::demo()
    })
    .mentions;
    let cluster = MockCluster::new(1).unwrap();
    cluster.create_topic("mentions", 4, 1).unwrap();
    cluster.create_topic("alerts", 1, 1).unwrap();
    cluster.create_topic("raw", 4, 1).unwrap();
    let client = KafkaClient::new(cluster.bootstrap_servers());

    // 1. produce: route (watermark, matcher, thread index) + publish + flush.
    let publisher = Publisher::new(&client, "mentions").unwrap();
    let mut router = IngestRouter::new(Arc::clone(&cfg), 4).unwrap();
    let mut ends = [0i64; 4];
    let mut out = Vec::new();
    let t = Instant::now();
    for m in &stream {
        router.route(m, &mut out);
        for o in out.drain(..) {
            ends[o.partition as usize] += 1;
            publisher.send(&o).unwrap();
        }
    }
    publisher.flush().unwrap();
    let secs = t.elapsed().as_secs_f64();
    let records: i64 = ends.iter().sum();
    println!(
        "produce (route + publish): {} mentions, {records} records in {secs:.2}s = {:.0} mentions/s, {:.0} records/s",
        stream.len(),
        stream.len() as f64 / secs,
        records as f64 / secs
    );

    // 2. consume + decode: plain canonical NDJSON through the source loop.
    let raw = Publisher::new(&client, "raw").unwrap();
    let mut line = Vec::new();
    for (i, m) in stream.iter().enumerate() {
        line.clear();
        flashpoint::domain::codec::encode(m, &mut line);
        raw.send(&flashpoint::app::kafka::topology::Outgoing {
            partition: (i % 4) as i32,
            key: String::new(),
            payload: Some(line.clone()),
            watermark: None,
            brands: String::new(),
            root: 0,
        })
        .unwrap();
    }
    raw.flush().unwrap();
    let cancel = tokio_util::sync::CancellationToken::new();
    let src = KafkaSourceConfig {
        client: client.clone(),
        topic: "raw".into(),
        group_id: "bench-source".into(),
    };
    let (mut n, mut first) = (0usize, None);
    flashpoint::ingest::kafka_source::consume(&src, &cancel, |p| {
        first.get_or_insert_with(Instant::now);
        if let Some(p) = p {
            if flashpoint::domain::codec::decode(p.strip_suffix(b"\n").unwrap_or(p)).is_ok() {
                n += 1;
            }
        }
        if n == stream.len() {
            cancel.cancel();
        }
        true
    })
    .unwrap();
    let secs = first.unwrap().elapsed().as_secs_f64();
    println!(
        "consume + decode (1 consumer): {n} mentions in {secs:.2}s = {:.0} mentions/s",
        n as f64 / secs
    );

    // 3. consume → detect: one worker owning all 4 partitions (rate per worker).
    let dir = tempfile::tempdir().unwrap();
    let mut w = DetectWorker::new(
        Arc::clone(&cfg),
        &client,
        "mentions",
        "alerts",
        "bench-detect",
        WorkerOptions {
            checkpoint_dir: dir.path().to_path_buf(),
            checkpoint_interval: Duration::from_secs(30),
            checkpoint_every: None,
            sentiment_model: "lexicon".into(),
            metrics: None,
        },
    )
    .unwrap();
    let mut start = None;
    loop {
        if w.poll(Duration::from_millis(100)).unwrap() {
            start.get_or_insert_with(Instant::now);
        }
        let pos = w.positions();
        if pos.len() == 4 && (0..4).all(|p| pos[&p] == ends[p as usize]) {
            break;
        }
    }
    let secs = start.unwrap().elapsed().as_secs_f64();
    let s = w.close().unwrap();
    println!(
        "consume -> detect (1 worker, 4 partitions): {} mentions + {} ticks in {secs:.2}s = {:.0} mentions/s ({} alerts, {} checkpoints)",
        s.mentions,
        s.ticks,
        s.mentions as f64 / secs,
        s.alerts,
        s.checkpoints
    );
}
