//! Memory of detection state: 10,000 configured brands, each receiving mentions across more
//! than 24 hours of event time, then the process RSS is read from /proc.
//!
//! Run: `cargo bench --bench memory` (prints one line; Linux only).

use std::sync::Arc;

use flashpoint::app::Engine;
use flashpoint::config::{BrandConfig, Config};
use flashpoint::domain::{Author, EventTime, Mention, MentionKind};
use flashpoint::score::classify::KeywordClassifier;
use flashpoint::score::sentiment::model_by_name;

const BRANDS: usize = 10_000;
const HOURS: i64 = 25;

fn rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn main() {
    let brands: Vec<BrandConfig> = (0..BRANDS)
        .map(|i| BrandConfig {
            id: format!("brand{i}"),
            name: format!("Brand {i}"),
            terms: vec![format!("zq{i}x brand")],
            handles: vec![format!("@zq{i}x")],
            hashtags: vec![format!("#zq{i}x")],
            exclude: Vec::new(),
            profile: None,
        })
        .collect();
    let cfg = Arc::new(Config::with_brands(brands).expect("valid brands"));
    let before = rss_kib().unwrap_or(0);
    let mut engine = Engine::new(
        Arc::clone(&cfg),
        model_by_name("lexicon").expect("lexicon model"),
        Box::new(KeywordClassifier::embedded()),
        None,
    )
    .expect("engine");
    let start = EventTime::parse_rfc3339("2026-03-02T00:00:00Z")
        .expect("time")
        .millis();
    // Every brand is mentioned every 10 minutes (staggered) for 25 hours: 1.5M mentions.
    let step_ms = 600_000 / BRANDS as i64;
    let total = HOURS * 6 * BRANDS as i64;
    let texts = [
        "love the new zq{}x brand app, works great",
        "zq{}x brand support kept me on hold for an hour",
        "anyone else using @zq{}x today?",
        "#zq{}x deal of the day looks good",
    ];
    for n in 0..total {
        let b = (n % BRANDS as i64) as usize;
        let text = texts[(n as usize / BRANDS) % texts.len()].replace("{}", &b.to_string());
        let m = Mention {
            id: format!("m{n}"),
            source: String::from("bench"),
            created_at: EventTime(start + n * step_ms),
            text,
            author: Author {
                id: format!("a{}", n % 50_000),
                handle: format!("@a{}", n % 50_000),
                followers: (n % 5000) as u64,
                created_at: None,
            },
            kind: MentionKind::Post,
            ..Default::default()
        };
        engine.process(&m);
        let _alerts = engine.drain_alerts();
    }
    let after = rss_kib().unwrap_or(0);
    println!(
        "memory: {BRANDS} brands, {HOURS} h of event time, {} mentions: RSS {:.1} MiB (engine state ≈ {:.1} MiB over the {:.1} MiB baseline)",
        total,
        after as f64 / 1024.0,
        after.saturating_sub(before) as f64 / 1024.0,
        before as f64 / 1024.0
    );
}
