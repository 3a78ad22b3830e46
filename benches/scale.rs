//! End-to-end replay throughput and peak memory against the number of configured brands, with
//! a bare parse of the same archive and a per-stage breakdown in the same process.
//!
//! Not a criterion bench: one process per configuration, because peak RSS (`VmHWM`) is per
//! process. Every number is measured in the same run, so ratios are meaningful on a shared
//! machine; absolute rates are not (see `benches/README.md`).
//!
//! Environment:
//! * `FP_ARCHIVE`: an NDJSON archive (plain, `.gz` or `.zst`), e.g. from
//!   `flashpoint synth --days 120 --out FILE`; default: the embedded demo sample.
//! * `FP_BRANDS`: configured brands in total (default 7): the demo's seven brands, which the
//!   synthetic stream mentions, plus generated brands with realistic term lists (a two-word name
//!   and its first word as terms, a handle, a hashtag, an exclude phrase for every fifth), which
//!   it never mentions.
//! * `FP_WORKERS`: preparing threads ahead of the engine (`ReplayOptions::prepare_workers`;
//!   default one per core, 0 = the engine matches and scores on its own thread).
//! * `FP_STAGES=1`: also time each stage alone over the decoded archive (decode, matching,
//!   sentiment, classifier, SimHash, complaint model, key terms), single-threaded.
//!
//! Run: `FP_ARCHIVE=FILE FP_BRANDS=100000 cargo bench --bench scale`
//! (prints one line per measurement).

use std::hint::black_box;
use std::io::{BufRead, Read};
use std::sync::Arc;
use std::time::Instant;

use flashpoint::app::replay::Input;
use flashpoint::app::{replay, ReplayOptions, Speed};
use flashpoint::config::{BrandConfig, Config};

/// The binary's allocator (`src/main.rs`), so these numbers are the shipped binary's.
#[cfg(feature = "mimalloc")]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const SYLLABLES: [&str; 48] = [
    "ka", "vo", "ren", "tal", "mi", "sor", "lu", "den", "qua", "bri", "zel", "tho", "nar", "pe",
    "gra", "vin", "hol", "stra", "cu", "mer", "fa", "ly", "dro", "wen", "shi", "pol", "tre", "ax",
    "bel", "cor", "dun", "esk", "fro", "gil", "hap", "ist", "jor", "kel", "lom", "mox", "nev",
    "orb", "pry", "rud", "sev", "tun", "ul", "yar",
];
const SECTORS: [&str; 16] = [
    "plumbing",
    "motors",
    "broadband",
    "mobile",
    "energy",
    "bank",
    "airways",
    "foods",
    "health",
    "insurance",
    "telecom",
    "logistics",
    "retail",
    "software",
    "hotels",
    "water",
];

/// The `i`-th generated brand: a unique three-syllable name and a sector.
fn generated_brand(i: usize) -> BrandConfig {
    let n = SYLLABLES.len();
    let name = format!(
        "{}{}{}",
        SYLLABLES[i % n],
        SYLLABLES[(i / n) % n],
        SYLLABLES[(i / (n * n)) % n]
    );
    // Beyond n³ names a numeric suffix keeps them unique.
    let name = if i >= n * n * n {
        format!("{name}{}", i / (n * n * n))
    } else {
        name
    };
    let sector = SECTORS[i % SECTORS.len()];
    BrandConfig {
        id: format!("{name}-{sector}-{i}"),
        name: format!("{name} {sector}"),
        terms: vec![format!("{name} {sector}"), name.clone()],
        handles: vec![format!("@{name}{sector}")],
        hashtags: vec![format!("#{name}")],
        exclude: if i % 5 == 0 {
            vec![format!("{name} street")]
        } else {
            Vec::new()
        },
        profile: None,
    }
}

fn config(total: usize) -> Config {
    let demo = flashpoint::config::parse_str(flashpoint::app::demo::DEMO_CONFIG, "demo", &|_| None)
        .expect("demo config is valid");
    let mut brands: Vec<BrandConfig> = demo
        .brands
        .iter()
        .map(|b| BrandConfig {
            id: b.id.to_string(),
            name: b.name.clone(),
            terms: b.terms.clone(),
            handles: b.handles.clone(),
            hashtags: b.hashtags.clone(),
            exclude: b.exclude.clone(),
            profile: None,
        })
        .collect();
    let extra = total.saturating_sub(brands.len());
    brands.extend((0..extra).map(generated_brand));
    Config::with_brands(brands).expect("generated brands are valid")
}

fn status_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn input(archive: &Option<String>) -> Input {
    match archive {
        Some(p) => Input::Paths(vec![p.clone()]),
        None => Input::Bytes(flashpoint::app::demo::DEMO_SAMPLE),
    }
}

/// Every line of the archive, decompressed (for the bare parse and the stage breakdown).
fn for_each_line(archive: &Option<String>, mut f: impl FnMut(&[u8])) {
    let mut reader = match archive {
        Some(p) => flashpoint::ingest::archive::open(p).expect("archive opens"),
        None => flashpoint::ingest::archive::open_bytes(flashpoint::app::demo::DEMO_SAMPLE)
            .expect("demo sample opens"),
    };
    let mut line = Vec::with_capacity(1024);
    loop {
        line.clear();
        match reader.read_until(b'\n', &mut line) {
            Ok(0) | Err(_) => break,
            Ok(_) => {
                let l = line.strip_suffix(b"\n").unwrap_or(&line);
                if !l.is_empty() {
                    f(l);
                }
            }
        }
    }
}

fn rate(n: u64, secs: f64) -> String {
    format!("{:.0}/s", n as f64 / secs.max(1e-9))
}

fn stages(archive: &Option<String>, cfg: &Arc<Config>) {
    use flashpoint::brand::{Attribution, Attributor};
    use flashpoint::score::classify::{Classifier, KeywordClassifier};
    let t = Instant::now();
    let mut mentions = Vec::new();
    for_each_line(archive, |l| {
        if let Ok(m) = flashpoint::domain::codec::decode(l) {
            mentions.push(m);
        }
    });
    let decode_s = t.elapsed().as_secs_f64();
    let n = mentions.len() as u64;
    let p = &cfg.pipeline;
    let mut attributor = Attributor::new(
        &cfg.brands,
        p.parent_retention.as_millis_i64(),
        p.parent_capacity,
    )
    .expect("matcher");
    let mut a = Attribution::default();
    let t = Instant::now();
    let mut matched = Vec::new();
    for m in &mentions {
        attributor.attribute(m, &mut a);
        if !a.brands.is_empty() {
            matched.push(m.text.as_str());
        }
    }
    let attribute_s = t.elapsed().as_secs_f64();
    let k = matched.len() as u64;
    println!(
        "stage decode (typed, one thread): {n} mentions in {decode_s:.2}s = {}",
        rate(n, decode_s)
    );
    println!(
        "stage attribute (matcher + thread index): {} ; {k} matched",
        rate(n, attribute_s)
    );
    let model = flashpoint::score::sentiment::model_by_name("lexicon").expect("lexicon");
    let classifier = KeywordClassifier::embedded();
    let ignore = flashpoint::score::terms::Ignore::new(
        cfg.brands
            .iter()
            .flat_map(|b| b.terms.iter().chain(&b.handles).chain(&b.hashtags)),
    );
    let time = |name: &str, f: &mut dyn FnMut(&str) -> u64| {
        let t = Instant::now();
        let mut acc = 0u64;
        for text in &matched {
            acc = acc.wrapping_add(f(text));
        }
        black_box(acc);
        let s = t.elapsed().as_secs_f64();
        println!(
            "stage {name}: {} of matched mentions ({:.2} µs each)",
            rate(k, s),
            s * 1e6 / k.max(1) as f64
        );
    };
    time("sentiment (lexicon)", &mut |t| {
        model.score(t).score.to_bits() as u64
    });
    time("classify + risk", &mut |t| {
        classifier.classify(t).risk.to_bits() as u64
    });
    time("simhash", &mut |t| {
        flashpoint::score::simhash::simhash_counted(t).0
    });
    time("complaint", &mut |t| {
        flashpoint::score::sentiment::complaint::complaint_probability(t).to_bits() as u64
    });
    time("key terms", &mut |t| {
        flashpoint::score::terms::key_terms(t, &ignore).count() as u64
    });
}

fn main() {
    let archive = std::env::var("FP_ARCHIVE").ok();
    let brands: usize = std::env::var("FP_BRANDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(7);
    let base_kib = status_kib("VmRSS:");
    let t = Instant::now();
    let cfg = Arc::new(config(brands));
    let config_s = t.elapsed().as_secs_f64();
    let cfg_kib = status_kib("VmRSS:");
    if std::env::var("FP_MATCHER").is_ok_and(|v| v == "1") {
        // The matcher alone: what it holds, and the peak its construction reaches.
        let t = Instant::now();
        let m = flashpoint::brand::BrandMatcher::new(&cfg.brands).expect("matcher");
        let build_s = t.elapsed().as_secs_f64();
        println!(
            "config built in {config_s:.2}s, matcher in {build_s:.2}s: {} patterns, {:.1} MiB held; RSS {:.1} MiB after the config, {:.1} MiB with the matcher, peak {:.1} MiB",
            m.pattern_count(),
            m.memory_usage() as f64 / 1048576.0,
            cfg_kib as f64 / 1024.0,
            status_kib("VmRSS:") as f64 / 1024.0,
            status_kib("VmHWM:") as f64 / 1024.0
        );
        return;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let dir = tempfile::tempdir().expect("temp dir");
    let alerts = dir.path().join("alerts.ndjson").display().to_string();
    let mut opts = ReplayOptions {
        alerts: Some(alerts.clone()),
        ..ReplayOptions::new(Speed::Max)
    };
    if let Some(w) = std::env::var("FP_WORKERS")
        .ok()
        .and_then(|s| s.parse().ok())
    {
        opts.prepare_workers = w;
    }
    let workers = opts.prepare_workers;
    let t = Instant::now();
    let s = rt
        .block_on(replay(Arc::clone(&cfg), input(&archive), opts, None))
        .expect("replay succeeds");
    let replay_s = t.elapsed().as_secs_f64();
    let peak_kib = status_kib("VmHWM:");
    let mentions = s.decode.decoded;
    let mut alert_bytes = Vec::new();
    std::fs::File::open(&alerts)
        .and_then(|mut f| f.read_to_end(&mut alert_bytes))
        .expect("alert log");
    let digest = alert_bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    });

    let t = Instant::now();
    let mut ok = 0u64;
    for_each_line(&archive, |l| {
        if serde_json::from_slice::<serde_json::Value>(l).is_ok() {
            ok += 1;
        }
    });
    let parse_s = t.elapsed().as_secs_f64();
    println!(
        "brands {brands}, {workers} preparing threads: config built in {config_s:.2}s (+{:.1} MiB)",
        cfg_kib.saturating_sub(base_kib) as f64 / 1024.0
    );
    println!(
        "replay: {mentions} mentions in {replay_s:.2}s = {} ; {} matched ; {} alerts (log fnv {digest:016x}) ; peak RSS {:.1} MiB",
        rate(mentions, replay_s),
        s.engine.matched,
        s.engine.alerts,
        peak_kib as f64 / 1024.0
    );
    println!(
        "bare serde_json::Value parse, same archive: {ok} lines in {parse_s:.2}s = {} ; replay / parse = {:.2}",
        rate(ok, parse_s),
        parse_s / replay_s
    );
    if std::env::var("FP_STAGES").is_ok_and(|v| v == "1") {
        stages(&archive, &cfg);
    }
}
