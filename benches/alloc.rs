//! Heap allocations per mention through the engine (issue 20: "no per-mention allocation on
//! the hot path where avoidable; measure allocations per mention in a bench").
//!
//! Not criterion: one pass with dhat's counting allocator as the global allocator (it records
//! every allocation, so it is slow; time is not the point here). The demo sample is decoded
//! up front; the first day warms the engine up (baselines, clusters, thread index at their
//! working size), then every allocation of the remaining days is counted: decoding each line
//! into a `Mention` (the reader's work) and `Engine::process` (match, score, windows,
//! detection, alert rendering) separately.
//!
//! Run: `cargo bench --bench alloc` (prints one table).

use std::io::Read;
use std::sync::Arc;

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

const DAY_MS: i64 = 24 * 60 * 60 * 1000;

fn main() {
    let mut raw = Vec::new();
    zstd::Decoder::new(flashpoint::app::demo::DEMO_SAMPLE)
        .and_then(|mut d| d.read_to_end(&mut raw))
        .expect("the embedded demo sample decompresses");
    let lines: Vec<&[u8]> = raw
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .collect();
    let cfg = Arc::new(
        flashpoint::config::parse_str(flashpoint::app::demo::DEMO_CONFIG, "demo.toml", &|_| None)
            .expect("demo config is valid"),
    );
    let mut engine = flashpoint::app::Engine::new(
        Arc::clone(&cfg),
        flashpoint::score::sentiment::model_by_name("lexicon").expect("lexicon model"),
        Box::new(flashpoint::score::classify::KeywordClassifier::embedded()),
        None,
    )
    .expect("engine");
    let mentions: Vec<flashpoint::domain::Mention> = lines
        .iter()
        .filter_map(|l| flashpoint::domain::codec::decode(l).ok())
        .collect();
    let start = mentions.first().map(|m| m.created_at.millis()).unwrap_or(0);
    let warm = mentions
        .iter()
        .position(|m| m.created_at.millis() >= start + DAY_MS)
        .unwrap_or(0);
    for m in &mentions[..warm] {
        engine.process(m);
        engine.drain_alerts();
    }
    let measured = &mentions[warm..];
    let measured_lines = &lines[lines.len() - measured.len()..];

    let _profiler = dhat::Profiler::builder().testing().build();
    let before = dhat::HeapStats::get();
    let mut decoded = 0usize;
    for l in measured_lines {
        decoded += usize::from(flashpoint::domain::codec::decode(l).is_ok());
    }
    let after_decode = dhat::HeapStats::get();
    let matched_before = engine.stats().matched;
    let mut alerts = 0usize;
    for m in measured {
        engine.process(m);
        alerts += engine.drain_alerts().len();
    }
    let after = dhat::HeapStats::get();
    let matched = engine.stats().matched - matched_before;

    let n = measured.len() as f64;
    let blocks =
        |a: &dhat::HeapStats, b: &dhat::HeapStats| (b.total_blocks - a.total_blocks) as f64;
    let bytes = |a: &dhat::HeapStats, b: &dhat::HeapStats| (b.total_bytes - a.total_bytes) as f64;
    println!("allocations per mention, demo sample after a one-day warm-up ({} mentions, {matched} matched, {alerts} alert lines, {decoded} lines decoded)", measured.len());
    println!("| stage | allocations / mention | bytes / mention | allocations / matched mention |");
    println!("|---|---|---|---|");
    println!(
        "| decode (NDJSON line → Mention) | {:.1} | {:.0} | — |",
        blocks(&before, &after_decode) / n,
        bytes(&before, &after_decode) / n
    );
    println!(
        "| engine (`Engine::process` + alerts) | {:.1} | {:.0} | {:.1} |",
        blocks(&after_decode, &after) / n,
        bytes(&after_decode, &after) / n,
        blocks(&after_decode, &after) / (matched.max(1) as f64)
    );
}
