//! Arroyo aggregate rows through the engine (`Engine::ingest_aggregate`).
//!
//! * `aggregates/decode`: one JSON row → `AggregateRow`.
//! * `aggregates/ingest_10h`: ten hours of HOP rows (1-minute slide, 10-minute width) for one
//!   brand at 30 mentions a minute with a 30-minute surge at 300 a minute: 609 rows, 26,100
//!   mentions reconciled and fed to the detector as synthetic scored mentions. Throughput is
//!   in rows; mentions/s = rows/s × 26,100 / 609.
//!
//! Run: `cargo bench --bench aggregates`

use std::hint::black_box;
use std::sync::Arc;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use flashpoint::app::Engine;
use flashpoint::config;
use flashpoint::domain::EventTime;
use flashpoint::ingest::aggregates::{decode, AggregateRow};
use flashpoint::score::classify::KeywordClassifier;
use flashpoint::score::sentiment::model_by_name;

fn rows() -> Vec<AggregateRow> {
    let start = EventTime::parse_rfc3339("2026-03-03T02:00:00Z").unwrap_or_default();
    let mut minutes: Vec<(u64, u64)> = (0..600).map(|k| (30, 3 + k % 2)).collect();
    for m in &mut minutes[420..450] {
        *m = (300, 250);
    }
    (1..minutes.len() + 10)
        .map(|end| {
            let lo = end.saturating_sub(10);
            let inside = &minutes[lo..end.min(minutes.len())];
            let mentions: u64 = inside.iter().map(|m| m.0).sum();
            AggregateRow {
                brand: "brightline".into(),
                window_start: start.plus_ms((end as i64 - 10) * EventTime::MINUTE_MS),
                window_end: start.plus_ms(end as i64 * EventTime::MINUTE_MS),
                mentions,
                negative: inside.iter().map(|m| m.1).sum(),
                positive: 0,
                reach: mentions * 800,
                unique_authors: mentions * 9 / 10,
                categories: [0; 5],
            }
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let cfg = Arc::new(
        config::parse_str(flashpoint::app::demo::DEMO_CONFIG, "demo.toml", &|_| None)
            .unwrap_or_else(|e| panic!("demo config: {e}")),
    );
    let rows = rows();
    let line = serde_json::to_vec(&rows[100]).unwrap_or_default();
    let mut g = c.benchmark_group("aggregates");
    g.throughput(Throughput::Elements(1));
    g.bench_function("decode", |b| b.iter(|| black_box(decode(black_box(&line)))));
    g.throughput(Throughput::Elements(rows.len() as u64));
    g.sample_size(20);
    g.bench_function("ingest_10h", |b| {
        b.iter(|| {
            let mut e = Engine::new(
                Arc::clone(&cfg),
                model_by_name("lexicon").unwrap_or_else(|e| panic!("{e}")),
                Box::new(KeywordClassifier::embedded()),
                None,
            )
            .unwrap_or_else(|e| panic!("{e}"));
            let mut alerts = 0;
            let mut synthetic = 0;
            for r in &rows {
                synthetic += e.ingest_aggregate(r).unwrap_or(0);
                alerts += e.drain_alerts().len();
            }
            black_box((alerts, synthetic))
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
