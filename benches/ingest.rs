//! Live ingest speed, on the real Jetstream fixture frames (tests/fixtures/streams/jetstream).
//!
//! * `ingest/jetstream_decode`: Jetstream JSON frame → canonical `Mention` (all 152 frames:
//!   posts, reposts, likes, follows, deletes, identity/account events), one core.
//! * Frame → scored latency: a source task stamps each frame on receipt, decodes it and sends it
//!   through the bounded pipeline queue to an engine task that scores it (brand match,
//!   sentiment, classification, windows, detection), as `flashpoint run` does. Paced at about
//!   5,000 frames/s (several times Jetstream's post+repost rate); p50/p99/max printed from an
//!   HDR histogram.
//!
//! Run: `cargo bench --bench ingest`

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use flashpoint::app::Engine;
use flashpoint::config;
use flashpoint::domain::EventTime;
use flashpoint::ingest::jetstream::{decode_event, Decoded};
use flashpoint::ingest::Ingested;
use flashpoint::score::classify::KeywordClassifier;
use flashpoint::score::sentiment::model_by_name;

const FIXTURE: &str = include_str!("../tests/fixtures/streams/jetstream/expected_v1.jsonl");

fn frames() -> Vec<&'static [u8]> {
    FIXTURE.lines().map(str::as_bytes).collect()
}

fn decode(c: &mut Criterion) {
    let frames = frames();
    let mut g = c.benchmark_group("ingest");
    g.throughput(Throughput::Elements(frames.len() as u64));
    g.bench_function("jetstream_decode", |b| {
        b.iter(|| {
            let mut n = 0u64;
            for f in &frames {
                if let Ok(Decoded::Mention { mention, .. }) = decode_event(f) {
                    n += mention.text.len() as u64;
                }
            }
            black_box(n)
        })
    });
    g.finish();
}

fn latency(_c: &mut Criterion) {
    let cfg = Arc::new(
        config::parse_str(
            "[[brand]]\nid = \"common\"\nterms = [\"the\", \"and\", \"you\", \"this\"]\n",
            "bench.toml",
            &|_| None,
        )
        .expect("bench config is valid"),
    );
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let frames = frames();
    let rounds = 150;
    let (p50, p99, max, n) = rt.block_on(async move {
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Ingested>(65_536);
        let engine_task = tokio::spawn(async move {
            let mut engine = Engine::new(
                cfg,
                model_by_name("lexicon").expect("lexicon model"),
                Box::new(KeywordClassifier::embedded()),
                None,
            )
            .expect("engine");
            let mut h = hdrhistogram::Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)
                .expect("histogram");
            while let Some(Ingested {
                mention, received, ..
            }) = rx.recv().await
            {
                engine.process(&mention);
                black_box(engine.drain_alerts());
                h.saturating_record((received.elapsed().as_micros() as u64).max(1));
            }
            h
        });
        let span_ms = 400;
        for round in 0..rounds {
            for (i, f) in frames.iter().enumerate() {
                let received = Instant::now();
                if let Ok(Decoded::Mention { mut mention, .. }) = decode_event(f) {
                    // Each round is a later copy of the window, with its own ids.
                    mention.created_at = EventTime(mention.created_at.0 + round * span_ms);
                    mention.id.push_str(&format!("#{round}"));
                    let _sent = tx.send(Ingested::new(*mention, received)).await;
                }
                if i % 5 == 4 {
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
            }
        }
        drop(tx);
        let h = engine_task.await.expect("engine task");
        (
            h.value_at_quantile(0.5),
            h.value_at_quantile(0.99),
            h.max(),
            h.len(),
        )
    });
    eprintln!(
        "ingest/frame_to_scored: {n} mentions, p50 {p50} µs, p99 {p99} µs, max {max} µs (paced ~5k frames/s)"
    );
}

criterion_group!(benches, decode, latency);
criterion_main!(benches);
