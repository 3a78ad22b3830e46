//! Benchmarks of the per-brand scoring state: `BrandWindow::add` throughput, a 15-minute
//! `view`, one `SeasonalBaseline` minute (observe + expected) and `negbin_upper_tail`.
//!
//! Inputs are generated deterministically in the bench (no files); outputs are criterion's
//! reports with element throughput.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use flashpoint::detect::baseline::SeasonalBaseline;
use flashpoint::detect::virality::{negbin_upper_tail, DuplicateTracker};
use flashpoint::detect::window::{BrandWindow, Observation};
use flashpoint::domain::{EventTime, MentionKind};
use flashpoint::score::simhash::simhash_counted;

const MIN: i64 = EventTime::MINUTE_MS;
const START: i64 = 1_772_409_600_000;

fn observations(n: usize) -> Vec<Observation> {
    // ~200 mentions per minute, a little out of order, mixed kinds.
    (0..n)
        .map(|i| {
            let jitter = ((i as i64 * 7919) % 5_000) - 2_500;
            let kind = match i % 7 {
                0..=2 => MentionKind::Post,
                3 | 4 => MentionKind::Repost,
                5 => MentionKind::Quote,
                _ => MentionKind::Reply,
            };
            Observation {
                at: EventTime(START + (i as i64) * 300 + jitter),
                kind,
                negative: i % 3 == 0,
                positive: i % 5 == 0,
                reach: (i as u64 * 31) % 10_000,
                author_key: (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15),
                weight: if i % 11 == 0 { 0.2 } else { 1.0 },
                groups: [i % 7 == 0, false, i % 21 == 0],
            }
        })
        .collect()
}

fn bench_window(c: &mut Criterion) {
    let obs = observations(100_000);
    let mut g = c.benchmark_group("window");
    g.throughput(Throughput::Elements(obs.len() as u64));
    g.bench_function("add_100k", |b| {
        b.iter_batched_ref(
            BrandWindow::new,
            |w| {
                let mut rejected = 0u32;
                for o in &obs {
                    rejected += u32::from(w.add(o).is_err());
                }
                black_box(rejected)
            },
            BatchSize::SmallInput,
        )
    });

    let mut w = BrandWindow::new();
    let rejected = obs[..20_000].iter().filter(|o| w.add(o).is_err()).count();
    assert_eq!(rejected, 0, "bench input stays within the ring");
    let end = w.newest_minute().unwrap_or(EventTime(START));
    g.throughput(Throughput::Elements(1));
    g.bench_function("view_15", |b| {
        b.iter(|| black_box(w.view(black_box(end), 15)))
    });
    g.bench_function("view_60", |b| {
        b.iter(|| black_box(w.view(black_box(end), 60)))
    });
    let mut out = Vec::with_capacity(64);
    g.bench_function("minute_counts_30", |b| {
        b.iter(|| {
            w.minute_counts(black_box(end), 30, &mut out);
            black_box(out.len())
        })
    });
    g.finish();
}

fn bench_baseline(c: &mut Criterion) {
    let mut g = c.benchmark_group("baseline");
    let minutes = 1440;
    g.throughput(Throughput::Elements(minutes));
    let mut base = SeasonalBaseline::new();
    let mut t = START;
    g.bench_function("observe_expected_day", |b| {
        b.iter(|| {
            let mut acc = 0.0;
            for k in 0..minutes as i64 {
                let at = EventTime(t + k * MIN);
                acc += base.expected_per_min(at);
                base.observe_minute(at, (k % 17) as f64, k % 97 == 0);
            }
            t += minutes as i64 * MIN;
            black_box(acc)
        })
    });
    g.finish();
}

fn bench_tails(c: &mut Criterion) {
    let mut g = c.benchmark_group("virality");
    // Typical detector calls: 15-minute counts against 15 × baseline, k = 20.
    let cases: Vec<(f64, f64)> = (0..64)
        .map(|i| {
            let mean = 0.5 * 1.3f64.powi(i % 32);
            let observed = mean * (0.5 + (i as f64) / 16.0);
            (observed, mean)
        })
        .collect();
    g.throughput(Throughput::Elements(cases.len() as u64));
    g.bench_function("negbin_upper_tail_64", |b| {
        b.iter(|| {
            let mut acc = 0.0;
            for &(o, m) in &cases {
                acc += negbin_upper_tail(black_box(o), black_box(m), 20.0);
            }
            black_box(acc)
        })
    });
    let texts: Vec<String> = (0..256)
        .map(|i| {
            format!(
                "the app is down again number {i} and support is not answering {}",
                i % 7
            )
        })
        .collect();
    g.throughput(Throughput::Elements(texts.len() as u64));
    g.bench_function("duplicate_observe_256", |b| {
        b.iter_batched_ref(
            DuplicateTracker::new,
            |d| {
                for t in &texts {
                    let (h, words) = simhash_counted(t);
                    black_box(d.observe(h, words));
                }
            },
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

criterion_group!(benches, bench_window, bench_baseline, bench_tails);
criterion_main!(benches);
