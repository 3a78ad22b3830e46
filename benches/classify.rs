//! Throughput of the keyword classifier, SimHash and key-term extraction over ~10k varied
//! mention texts (generated deterministically from templates, 20–200 bytes, mixed case,
//! handles, URLs, hashtags and some non-ASCII).
//!
//! Run: `cargo bench --bench classify`. Target: ≥ 500k classified texts/s per core.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use flashpoint::detect::cluster::Clusterer;
use flashpoint::domain::EventTime;
use flashpoint::score::classify::{Classifier, KeywordClassifier};
use flashpoint::score::simhash::{simhash, simhash_counted};
use flashpoint::score::terms::{key_terms, Ignore};

const SUBJECTS: &[&str] = &[
    "the plumber they sent",
    "@brightlineplumb your engineer",
    "the technician",
    "my internet",
    "Lumen Mobile",
    "the driver",
    "customer service",
    "the app",
    "my bill",
    "the guy they sent",
    "our boiler",
    "the new router",
];
const PREDICATES: &[&str] = &[
    "is drinking in his van outside",
    "has been down since 9am, no signal at all",
    "charged me twice and still no refund",
    "was amazing, thank you so much!",
    "left a gas leak and I can smell gas everywhere",
    "was rude and shouted at my mum",
    "kept me 3 hours on hold, great job",
    "is not working AGAIN #outage",
    "was late but really friendly",
    "WIN a free phone click here https://spam.example/x",
    "went apple picking with the kids today 🍎",
    "n'a pas fonctionné depuis lundi, c'est inadmissible",
    "overcharged on the invoice, direct debit taken twice",
    "didn't turn up, no response from support",
];
const TAILS: &[&str] = &[
    "",
    " #brightline",
    " https://t.co/abc123",
    " @lumenmobile @ofcom",
    " unbelievable.",
    " someone could die!!",
    " 😡😡",
    " not happy at all, will be complaining to the ombudsman about this",
];

fn corpus(n: usize) -> Vec<String> {
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = |m: usize| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % m as u64) as usize
    };
    (0..n)
        .map(|_| {
            let s = SUBJECTS[next(SUBJECTS.len())];
            let p = PREDICATES[next(PREDICATES.len())];
            let t = TAILS[next(TAILS.len())];
            format!("{s} {p}{t}")
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let texts = corpus(10_000);
    let model = KeywordClassifier::embedded();
    let ignore = Ignore::new([
        "brightline",
        "lumen mobile",
        "@brightlineplumb",
        "#brightline",
    ]);

    let mut g = c.benchmark_group("detect");
    g.throughput(Throughput::Elements(texts.len() as u64));
    g.bench_function("classify_10k", |b| {
        b.iter(|| {
            let mut risky = 0usize;
            for t in &texts {
                risky += usize::from(model.classify(black_box(t)).risk >= 0.6);
            }
            risky
        })
    });
    g.bench_function("simhash_10k", |b| {
        b.iter(|| {
            texts
                .iter()
                .fold(0u64, |acc, t| acc ^ simhash(black_box(t)))
        })
    });
    g.bench_function("key_terms_10k", |b| {
        b.iter(|| {
            texts
                .iter()
                .map(|t| key_terms(black_box(t), &ignore).count())
                .sum::<usize>()
        })
    });
    g.bench_function("cluster_assign_10k", |b| {
        b.iter(|| {
            let mut cl = Clusterer::new(32, 30 * EventTime::MINUTE_MS);
            let mut owned: Vec<String> = Vec::new();
            for (i, t) in texts.iter().enumerate() {
                owned.clear();
                owned.extend(key_terms(t, &ignore).map(|w| w.into_owned()));
                let (h, words) = simhash_counted(t);
                cl.assign(
                    i as u64 % 997,
                    h,
                    words,
                    owned.iter().map(String::as_str),
                    EventTime(i as i64 * 1000),
                );
            }
            cl.len()
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
