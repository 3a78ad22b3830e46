//! Brand matcher throughput: 1,000 brands (2 terms, 1 handle, 1 hashtag, 1 exclude each) over
//! 10,000 deterministic ~120-byte texts, ~10% of which name a brand.
//!
//! `cargo bench --bench matcher`; `FP_BRANDS=N` for another number of brands. Above the DFA
//! limit (4,000 brands here) `brand/match_text_automata_only` times the matcher without its
//! hashed word index in the same run. The `brand_hostile` group times one 1 MiB line made of
//! a brand's name, and one made of its exclude phrase.

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use flashpoint::brand::{Attribution, Attributor, BrandMatcher};
use flashpoint::config::{BrandConfig, Config};
use flashpoint::domain::{BrandIdx, EventTime, Mention, MentionKind};

fn brand_count() -> usize {
    std::env::var("FP_BRANDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000)
}
const TEXTS: usize = 10_000;

const SYLLABLES: &[&str] = &[
    "bri", "lo", "van", "tex", "zor", "mi", "qua", "ren", "sol", "dax", "ko", "ple", "nu", "vit",
    "gra", "fen", "ox", "ly", "tor", "za", "mer", "pix", "hal", "cor",
];

const WORDS: &[&str] = &[
    "the",
    "a",
    "my",
    "and",
    "is",
    "was",
    "so",
    "just",
    "really",
    "never",
    "again",
    "today",
    "plumber",
    "van",
    "late",
    "order",
    "delivery",
    "service",
    "customer",
    "support",
    "waiting",
    "hours",
    "phone",
    "app",
    "down",
    "broken",
    "love",
    "great",
    "awful",
    "why",
    "does",
    "this",
    "keep",
    "happening",
    "refund",
    "please",
    "help",
    "train",
    "station",
    "coffee",
    "morning",
    "lol",
    "thanks",
    "team",
    "gas",
    "repair",
    "drinking",
    "staff",
    "manager",
    "called",
    "😡",
    "🔥",
    "😂",
    "https://t.co/xYz12AbC",
    "#fail",
    "@someone",
];

fn brand_configs(rng: &mut ChaCha8Rng) -> Vec<BrandConfig> {
    let mut seen = std::collections::HashSet::new();
    let brands = brand_count();
    let mut out = Vec::with_capacity(brands);
    while out.len() < brands {
        let n = rng.gen_range(2..=4);
        let name: String = (0..n)
            .map(|_| SYLLABLES[rng.gen_range(0..SYLLABLES.len())])
            .collect();
        if !seen.insert(name.clone()) {
            continue;
        }
        let suffix = WORDS[rng.gen_range(12..40)];
        out.push(BrandConfig {
            id: format!("b{}", out.len()),
            name: name.clone(),
            terms: vec![name.clone(), format!("{name} {suffix}s")],
            handles: vec![format!("@{name}hq")],
            hashtags: vec![format!("#{name}fail")],
            exclude: vec![format!("{name} river")],
            profile: None,
        });
    }
    out
}

fn texts(rng: &mut ChaCha8Rng, brands: &[BrandConfig]) -> Vec<String> {
    (0..TEXTS)
        .map(|_| {
            let mut s = String::with_capacity(160);
            let branded = rng.gen_bool(0.10);
            let at = rng.gen_range(0..15);
            let mut i = 0;
            while s.len() < 120 {
                if !s.is_empty() {
                    s.push(' ');
                }
                if branded && i == at {
                    let b = &brands[rng.gen_range(0..brands.len())];
                    let token = match rng.gen_range(0..4) {
                        0 => &b.terms[0],
                        1 => &b.terms[1],
                        2 => &b.handles[0],
                        _ => &b.hashtags[0],
                    };
                    if rng.gen_bool(0.5) {
                        s.push_str(&token.to_uppercase());
                    } else {
                        s.push_str(token);
                    }
                } else {
                    let w = WORDS[rng.gen_range(0..WORDS.len())];
                    if i == 0 || rng.gen_bool(0.1) {
                        let mut c = w.chars();
                        if let Some(f) = c.next() {
                            s.extend(f.to_uppercase());
                            s.push_str(c.as_str());
                        }
                    } else {
                        s.push_str(w);
                    }
                }
                i += 1;
            }
            s
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let mut rng = ChaCha8Rng::seed_from_u64(0x5eed_b4a2d);
    let configs = brand_configs(&mut rng);
    let texts = texts(&mut rng, &configs);
    let config = Config::with_brands(configs).expect("valid bench config");
    let t = std::time::Instant::now();
    let matcher = BrandMatcher::new(&config.brands).expect("matcher builds");
    eprintln!("matcher built in {:.2} s", t.elapsed().as_secs_f64());

    let mut out: Vec<BrandIdx> = Vec::new();
    let matched = texts
        .iter()
        .filter(|t| {
            matcher.match_text(t, &mut out);
            !out.is_empty()
        })
        .count();
    let mean_len = texts.iter().map(String::len).sum::<usize>() / texts.len();
    eprintln!(
        "matcher bench: {} brands, {} patterns, automaton {} KiB, {} texts, mean {} bytes, \
         {} matched ({:.1}%)",
        config.brands.len(),
        matcher.pattern_count(),
        matcher.memory_usage() / 1024,
        texts.len(),
        mean_len,
        matched,
        100.0 * matched as f64 / texts.len() as f64
    );

    let mentions: Vec<Mention> = texts
        .iter()
        .enumerate()
        .map(|(i, t)| {
            // Every fifth mention replies to one of the previous 50.
            let parent = (i % 5 == 4 && i > 0).then(|| format!("m{}", i - 1 - (i * 7) % 50.min(i)));
            Mention {
                id: format!("m{i}"),
                source: String::from("bluesky"),
                created_at: EventTime(1_700_000_000_000 + i as i64 * 100),
                text: t.clone(),
                kind: if parent.is_some() {
                    MentionKind::Reply
                } else {
                    MentionKind::Post
                },
                parent_id: parent,
                ..Default::default()
            }
        })
        .collect();

    let mut group = c.benchmark_group("brand");
    group.throughput(Throughput::Elements(texts.len() as u64));
    group.bench_function("match_text", |b| {
        b.iter(|| {
            let mut n = 0usize;
            for t in &texts {
                matcher.match_text(black_box(t), &mut out);
                n += out.len();
            }
            n
        })
    });
    if matcher.pattern_count() > 20_000 {
        let t = std::time::Instant::now();
        let automata = BrandMatcher::automata_only(&config.brands).expect("matcher builds");
        eprintln!(
            "automata only: built in {:.2} s, {} KiB (the word index matcher: {} KiB)",
            t.elapsed().as_secs_f64(),
            automata.memory_usage() / 1024,
            matcher.memory_usage() / 1024
        );
        let mut other = Vec::new();
        for t in &texts {
            matcher.match_text(t, &mut out);
            automata.match_text(t, &mut other);
            assert_eq!(out, other, "{t:?}");
        }
        group.bench_function("match_text_automata_only", |b| {
            b.iter(|| {
                let mut n = 0usize;
                for t in &texts {
                    automata.match_text(black_box(t), &mut out);
                    n += out.len();
                }
                n
            })
        });
    }
    let mut attributor =
        Attributor::new(&config.brands, 3_600_000, 100_000).expect("attributor builds");
    let mut attribution = Attribution::default();
    group.bench_function("attribute", |b| {
        b.iter(|| {
            let mut n = 0usize;
            for m in &mentions {
                attributor.attribute(black_box(m), &mut attribution);
                n += attribution.brands.len();
            }
            n
        })
    });
    group.finish();

    // The worst lines a source can send: one 1 MiB token of a brand's name, a dot after each,
    // and 1 MiB of its exclude phrase. Each occurrence once rescanned its token for a URL, and
    // each term was compared with every exclude (minutes per line); now linear.
    let term = &config.brands[0].terms[0];
    let exclude = &config.brands[0].exclude[0];
    let long: Vec<String> = [format!("{term}."), format!("{exclude} ")]
        .iter()
        .map(|unit| unit.repeat((1 << 20) / unit.len()))
        .collect();
    let mut group = c.benchmark_group("brand_hostile");
    group.throughput(Throughput::Bytes(long[0].len() as u64));
    group.sample_size(10);
    group.bench_function("match_text_1mib_token", |b| {
        b.iter(|| {
            matcher.match_text(black_box(&long[0]), &mut out);
            out.len()
        })
    });
    group.bench_function("match_text_1mib_excludes", |b| {
        b.iter(|| {
            matcher.match_text(black_box(&long[1]), &mut out);
            out.len()
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
