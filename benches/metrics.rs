//! Scrape cost: `Metrics::encode_text()` (what every GET /metrics does) with 1,000 labelled
//! brands, each with the full set of brand series the engine publishes.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use flashpoint::telemetry::Metrics;

fn filled(brands: usize) -> (Metrics, usize) {
    let ids: Vec<String> = (0..brands).map(|i| format!("brand{i:05}")).collect();
    let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    let m = Metrics::new(&refs, brands);
    for (i, id) in refs.iter().enumerate() {
        let f = i as f64;
        for source in ["bluesky", "x"] {
            m.brand_mentions_total
                .with_label_values(&[id, source])
                .inc_by(i as u64);
        }
        m.brand_rate_per_minute
            .with_label_values(&[id])
            .set(f * 0.1);
        m.brand_baseline_per_minute
            .with_label_values(&[id])
            .set(f * 0.05);
        for window in ["5m", "60m"] {
            for label in ["negative", "neutral", "positive"] {
                m.brand_sentiment_share
                    .with_label_values(&[id, window, label])
                    .set(1.0 / 3.0);
            }
            m.brand_reach
                .with_label_values(&[id, window])
                .set(f * 100.0);
        }
        m.brand_doubling_time_seconds
            .with_label_values(&[id])
            .set(600.0);
        m.brand_reactions_per_minute.with_label_values(&[id]).set(f);
        m.brand_unique_authors
            .with_label_values(&[id, "60m"])
            .set(f);
    }
    m.init_source("archive");
    m.init_sink("console", &["rejected", "unavailable", "config"]);
    let series = m.series_count();
    (m, series)
}

fn encode(c: &mut Criterion) {
    let (m, series) = filled(1_000);
    let bytes = m.encode_text().len();
    eprintln!("1,000 brands: {series} series, {bytes} bytes of text");
    let mut g = c.benchmark_group("metrics");
    g.throughput(Throughput::Elements(series as u64));
    g.bench_function("encode_text_1000_brands", |b| {
        b.iter(|| m.encode_text().len())
    });
    g.finish();
}

criterion_group!(benches, encode);
criterion_main!(benches);
