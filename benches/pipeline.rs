//! End-to-end replay throughput: the bundled demo archive through decode → match → sentiment
//! → windows → detection → alert log written to a file, at `--speed max` with the lexicon
//! model. Measured beside a bare `serde_json::Value` parse of the same lines, in the same run,
//! so the ratio is meaningful on any machine.
//!
//! `replay_max_lexicon_refine_linear_alert_log` adds `linear` as the incident sentiment model.
//!
//! Run: `cargo bench --bench pipeline`

use std::hint::black_box;
use std::io::Read;
use std::sync::Arc;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use flashpoint::app::replay::Input;
use flashpoint::app::{replay, ReplayOptions, Speed};
use flashpoint::config;

/// The binary's allocator (`src/main.rs`), so these numbers are the shipped binary's.
#[cfg(feature = "mimalloc")]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn lines() -> Vec<u8> {
    let mut out = Vec::new();
    zstd::Decoder::new(flashpoint::app::demo::DEMO_SAMPLE)
        .and_then(|mut d| d.read_to_end(&mut out))
        .expect("the embedded demo sample decompresses");
    out
}

fn bench(c: &mut Criterion) {
    let raw = lines();
    let n = raw.split(|b| *b == b'\n').filter(|l| !l.is_empty()).count() as u64;
    let cfg = Arc::new(
        config::parse_str(flashpoint::app::demo::DEMO_CONFIG, "demo.toml", &|_| None)
            .expect("demo config is valid"),
    );
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let dir = tempfile::tempdir().expect("temp dir");
    let alerts = dir.path().join("alerts.ndjson").display().to_string();
    // Decompressed once so the replay and the reference parse read the same bytes.
    let raw: &'static [u8] = Box::leak(raw.into_boxed_slice());

    let mut g = c.benchmark_group("pipeline");
    g.sample_size(10);
    g.throughput(Throughput::Elements(n));
    g.bench_function("serde_json_value_parse", |b| {
        b.iter(|| {
            let mut ok = 0u64;
            for l in raw.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
                if serde_json::from_slice::<serde_json::Value>(l).is_ok() {
                    ok += 1;
                }
            }
            black_box(ok)
        })
    });
    // The same replay with the complaint model switched off (`complaint_threshold = 1`), so
    // its cost shows as the difference of the two lines of one run.
    let mut off = (*cfg).clone();
    off.detect.complaint_threshold = 1.0;
    let off = Arc::new(off);
    for (name, cfg) in [
        ("replay_max_lexicon_alert_log", &cfg),
        ("replay_max_lexicon_alert_log_complaint_off", &off),
    ] {
        g.bench_function(name, |b| {
            b.iter(|| {
                let opts = ReplayOptions {
                    alerts: Some(alerts.clone()),
                    ..ReplayOptions::new(Speed::Max)
                };
                let s = rt
                    .block_on(replay(Arc::clone(cfg), Input::Bytes(raw), opts, None))
                    .expect("replay succeeds");
                black_box(s.engine.alerts)
            })
        });
    }
    // Issue 4 item 7: the same replay with `linear` re-scoring only mentions of brands with a
    // candidate incident (inline batches of 32), to show what refinement costs.
    g.bench_function("replay_max_lexicon_refine_linear_alert_log", |b| {
        b.iter(|| {
            let opts = ReplayOptions {
                alerts: Some(alerts.clone()),
                incident_model: Some(String::from("linear")),
                ..ReplayOptions::new(Speed::Max)
            };
            let s = rt
                .block_on(replay(Arc::clone(&cfg), Input::Bytes(raw), opts, None))
                .expect("replay succeeds");
            black_box(s.engine.alerts)
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
