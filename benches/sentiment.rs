//! Sentiment scorer throughput: the embedded VADER model, the trained `linear` model and the
//! complaint model over 1,000 tweets (one thread). Target for `linear`: ≥ 200,000 texts/s per
//! core.
//!
//! Uses VADER's tweet ground truth (`../shared/data/sentiment/vader/tweets_GroundTruth.txt`)
//! when present, else a small inline list repeated.

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use flashpoint::score::sentiment::complaint::ComplaintModel;
use flashpoint::score::sentiment::{LinearModel, SentimentModel, Vader};

const INLINE: &[&str] = &[
    "VADER is smart, handsome, and funny.",
    "The plot was good, but the characters are uncompelling and the dialog is not great.",
    "Today only kinda sux! But I'll get by, lol",
    "@acme my order never arrived and support won't answer #fail",
    "Make sure you :) or :D today!",
    "Loving the new update 😍 battery life is SO much better",
    "is anyone else's app crashing after the update?? can't log in",
    "Not bad at all",
    "just bought the new headphones, they arrive tomorrow",
    "worst customer service EVER!!! never ordering again 😡",
];

fn texts() -> Vec<String> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/data/sentiment/vader/tweets_GroundTruth.txt");
    let from_file: Vec<String> = match std::fs::read(&path) {
        Ok(bytes) => String::from_utf8_lossy(&bytes)
            .lines()
            .filter_map(|l| l.splitn(3, '\t').nth(2).map(str::to_owned))
            .take(1000)
            .collect(),
        Err(_) => Vec::new(),
    };
    if from_file.len() >= 1000 {
        return from_file;
    }
    INLINE
        .iter()
        .cycle()
        .take(1000)
        .map(|s| (*s).to_owned())
        .collect()
}

fn bench_sentiment(c: &mut Criterion) {
    let texts = texts();
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let vader = Vader::embedded();
    let mut group = c.benchmark_group("sentiment");
    group.throughput(Throughput::Elements(refs.len() as u64));
    group.bench_function("vader_polarity_1000_tweets", |b| {
        b.iter(|| {
            let mut acc = 0.0;
            for t in &refs {
                acc += vader.polarity_scores(black_box(t)).compound;
            }
            acc
        })
    });
    group.bench_function("vader_score_batch_1000_tweets", |b| {
        let mut out = Vec::with_capacity(refs.len());
        b.iter(|| {
            vader.score_batch(black_box(&refs), &mut out);
            out.len()
        })
    });
    let linear = LinearModel::embedded().expect("embedded linear weights verify");
    group.bench_function("linear_score_batch_1000_tweets", |b| {
        let mut out = Vec::with_capacity(refs.len());
        b.iter(|| {
            linear.score_batch(black_box(&refs), &mut out);
            out.len()
        })
    });
    let complaint = ComplaintModel::embedded().expect("embedded complaint weights verify");
    group.bench_function("complaint_probability_1000_tweets", |b| {
        b.iter(|| {
            let mut acc = 0.0;
            for t in &refs {
                acc += complaint.probability(black_box(t));
            }
            acc
        })
    });
    group.finish();
}

criterion_group!(benches, bench_sentiment);
criterion_main!(benches);
