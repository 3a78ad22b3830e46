//! Running family evaluations: each run's stream through a fresh engine, runs in parallel,
//! and the `flashpoint eval families` command.
//!
//! A run is (family, seed, pool): its parameters are drawn ([`super::params::draw`]), its
//! stream generated, its brands configured with every other setting at its default (default
//! routing), and its mentions fed one by one into [`Engine::process`] with the alert lines
//! drained after each; a final watermark advance lets the last minutes be evaluated. Runs are
//! independent, so they run on several threads and are collected by index: the report is the
//! same for any number of threads.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use super::generate::{generate, Generated};
use super::judge::{judge, Report, RunOutcome};
use super::params::{draw, Limits, MINUTE};
use super::{Family, Pool};
use crate::app::Engine;
use crate::config::Config;
use crate::domain::alert::AlertRecord;
use crate::domain::codec::encode;
use crate::domain::EventTime;
use crate::score::classify::KeywordClassifier;
use crate::score::sentiment::model_by_name;

/// Why an evaluation could not run. Bad arguments are the caller's to fix (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum FamiliesError {
    #[error("seed {seed} is not a {pool} seed (tune: 1..=999999, test: 1000001 and up)")]
    SeedOutsidePool { seed: u64, pool: Pool },
    #[error("unknown family {0:?} (one of: {names})", names = Family::ALL.map(Family::name).join(", "))]
    UnknownFamily(String),
    #[error("unknown pool {0:?} (tune or test)")]
    UnknownPool(String),
    #[error("--seeds must be at least 1")]
    NoSeeds,
    #[error("--rate-cap must be a positive number of mentions per minute")]
    BadRateCap,
    #[error("--complaint-background must be two fractions LO,HI with 0 <= LO <= HI <= 1")]
    BadComplaintBackground,
    #[error("sentiment model: {0}")]
    Model(String),
    #[error("the generated configuration was rejected: {0}")]
    Config(String),
    #[error("cannot build the engine: {0}")]
    Engine(String),
    #[error("cannot write {path}: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
}

/// Arguments of `flashpoint eval families`.
#[derive(Debug, Clone, clap::Args)]
pub struct FamiliesArgs {
    /// Seeds per family.
    #[arg(long, default_value_t = 20)]
    pub seeds: u32,
    /// Which side of the split: `tune` (tuning seeds and phrases) or `test` (held out).
    #[arg(long, default_value = "test", value_parser = ["tune", "test"])]
    pub pool: String,
    /// Only this family (repeatable); default: all twelve.
    #[arg(long = "family")]
    pub family: Vec<String>,
    /// Sentiment model; default: the configuration's `[pipeline] sentiment_model`.
    #[arg(long, value_parser = clap::builder::PossibleValuesParser::new(crate::config::MODEL_NAMES))]
    pub model: Option<String>,
    /// Print the report as JSON (every run included) instead of the table.
    #[arg(long)]
    pub json: bool,
    /// Runs evaluated in parallel; default: the available cores.
    #[arg(long)]
    pub jobs: Option<usize>,
    /// Cap every brand's background rate (mentions per minute) for a quick look; the full
    /// evaluation draws 0.05–50.
    #[arg(long)]
    pub rate_cap: Option<f64>,
    /// Draw every brand's background complaint share from `LO,HI` (fractions, e.g.
    /// `0.3,0.7` for brands whose everyday talk is complaints, as an airline's is); the full
    /// evaluation draws 0.03–0.30. The other draws of a seed are unchanged.
    #[arg(long, value_name = "LO,HI", value_parser = share_range)]
    pub complaint_background: Option<(f64, f64)>,
    /// Also write every run here, one folder each (`<family>-<seed>/`: `config.toml`,
    /// `mentions.ndjson`, `alerts.ndjson`, `truth.json`), to replay a miss with
    /// `flashpoint replay --report`. Large: use it with `--family` and few seeds.
    #[arg(long)]
    pub write_runs: Option<PathBuf>,
    /// Only this seed of the pool (repeatable), instead of the first `--seeds`: to look at a
    /// few runs of a larger table again (with `--write-runs`). A seed outside the pool is
    /// refused (exit 2).
    #[arg(long = "seed")]
    pub seed: Vec<u64>,
}

/// `LO,HI` as two numbers (their range is checked by [`Options::from_args`]).
fn share_range(s: &str) -> Result<(f64, f64), String> {
    let (lo, hi) = s
        .split_once(',')
        .ok_or_else(|| format!("{s:?}: expected LO,HI"))?;
    let num = |v: &str| v.trim().parse::<f64>().map_err(|e| format!("{v:?}: {e}"));
    Ok((num(lo)?, num(hi)?))
}

/// What to evaluate.
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    pub seeds: u32,
    pub pool: Pool,
    pub families: Vec<Family>,
    /// `None`: the configuration's default sentiment model.
    pub model: Option<String>,
    pub jobs: usize,
    pub limits: Limits,
    /// Where to write each run's configuration, stream, alert lines and truth, if anywhere.
    pub write_runs: Option<PathBuf>,
    /// When not empty, these seeds of `pool` instead of the first `seeds`.
    pub only_seeds: Vec<u64>,
}

impl Options {
    /// Every family, `seeds` seeds of `pool`, the default model, one thread.
    pub fn new(pool: Pool, seeds: u32) -> Options {
        Options {
            seeds,
            pool,
            families: Family::ALL.to_vec(),
            model: None,
            jobs: 1,
            limits: Limits::default(),
            write_runs: None,
            only_seeds: Vec::new(),
        }
    }

    /// Options from the command line's arguments.
    pub fn from_args(a: &FamiliesArgs) -> Result<Options, FamiliesError> {
        let pool =
            Pool::parse(&a.pool).ok_or_else(|| FamiliesError::UnknownPool(a.pool.clone()))?;
        if a.seeds == 0 {
            return Err(FamiliesError::NoSeeds);
        }
        let mut families = Vec::new();
        for name in &a.family {
            let f =
                Family::parse(name).ok_or_else(|| FamiliesError::UnknownFamily(name.clone()))?;
            if !families.contains(&f) {
                families.push(f);
            }
        }
        if families.is_empty() {
            families = Family::ALL.to_vec();
        }
        families.sort();
        if a.rate_cap.is_some_and(|c| !(c.is_finite() && c > 0.0)) {
            return Err(FamiliesError::BadRateCap);
        }
        let complaint_share = match a.complaint_background {
            None => None,
            Some((lo, hi)) if (0.0..=1.0).contains(&lo) && (lo..=1.0).contains(&hi) => {
                Some((lo, hi))
            }
            Some(_) => return Err(FamiliesError::BadComplaintBackground),
        };
        let jobs = a.jobs.unwrap_or_else(|| {
            std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
        });
        let mut only_seeds = a.seed.clone();
        only_seeds.sort_unstable();
        only_seeds.dedup();
        if let Some(&seed) = only_seeds.iter().find(|&&s| !pool.owns(s)) {
            return Err(FamiliesError::SeedOutsidePool { seed, pool });
        }
        Ok(Options {
            seeds: if only_seeds.is_empty() {
                a.seeds
            } else {
                u32::try_from(only_seeds.len()).unwrap_or(u32::MAX)
            },
            pool,
            families,
            model: a.model.clone(),
            jobs: jobs.max(1),
            limits: Limits {
                rate_cap: a.rate_cap,
                complaint_share,
            },
            write_runs: a.write_runs.clone(),
            only_seeds,
        })
    }
}

/// One run: its stream, the alert lines and the judgement.
#[derive(Debug, Clone)]
pub struct Run {
    pub generated: Generated,
    pub alerts: Vec<AlertRecord>,
    pub outcome: RunOutcome,
}

fn classifier() -> &'static KeywordClassifier {
    static C: OnceLock<KeywordClassifier> = OnceLock::new();
    C.get_or_init(KeywordClassifier::embedded)
}

/// The sentiment model the runs use: `model`, else the default configuration's.
pub fn model_name(model: Option<&str>) -> String {
    model.map_or_else(
        || crate::config::PipelineConfig::default().sentiment_model,
        str::to_string,
    )
}

/// Generates, replays and judges one run. `seed` must belong to `pool`.
pub fn run_one(
    family: Family,
    seed: u64,
    pool: Pool,
    model: Option<&str>,
    limits: &Limits,
) -> Result<Run, FamiliesError> {
    if !pool.owns(seed) {
        return Err(FamiliesError::SeedOutsidePool { seed, pool });
    }
    let params = draw(family, seed, pool, limits);
    let generated = generate(&params);
    let cfg = Config::with_brands(generated.brands.clone())
        .map_err(|e| FamiliesError::Config(e.to_string().trim().to_string()))?;
    let name = model.map_or_else(|| cfg.pipeline.sentiment_model.clone(), str::to_string);
    let sentiment = model_by_name(&name).map_err(|e| FamiliesError::Model(e.to_string()))?;
    let lateness = cfg.pipeline.allowed_lateness.as_millis_i64();
    let mut engine = Engine::new(
        Arc::new(cfg),
        sentiment,
        Box::new(classifier().clone()),
        None,
    )
    .map_err(|e| FamiliesError::Engine(e.to_string()))?;
    let mut alerts = Vec::new();
    for m in &generated.mentions {
        engine.process(m);
        alerts.extend(engine.drain_alerts());
    }
    engine.advance_to(EventTime(params.end_ms + lateness + MINUTE));
    engine.finish();
    alerts.extend(engine.drain_alerts());
    let outcome = judge(&params, &generated.truth, &alerts, generated.mentions.len());
    Ok(Run {
        generated,
        alerts,
        outcome,
    })
}

/// The run's brands as a configuration file (`[[brand]]` tables only).
pub fn config_toml(g: &Generated) -> String {
    let strings = |xs: &[String]| {
        toml::Value::Array(xs.iter().map(|x| toml::Value::String(x.clone())).collect())
    };
    let brands: Vec<toml::Value> = g
        .brands
        .iter()
        .map(|b| {
            let mut t = toml::Table::new();
            t.insert("id".into(), toml::Value::String(b.id.clone()));
            t.insert("name".into(), toml::Value::String(b.name.clone()));
            t.insert("terms".into(), strings(&b.terms));
            t.insert("handles".into(), strings(&b.handles));
            t.insert("hashtags".into(), strings(&b.hashtags));
            if !b.exclude.is_empty() {
                t.insert("exclude".into(), strings(&b.exclude));
            }
            toml::Value::Table(t)
        })
        .collect();
    let mut root = toml::Table::new();
    root.insert("brand".into(), toml::Value::Array(brands));
    format!(
        "# flashpoint eval families: {} seed {} ({} pool)\n{}",
        g.params.family,
        g.params.seed,
        g.params.pool,
        toml::to_string(&root).unwrap_or_default()
    )
}

/// Writes one run's configuration, stream, alert lines and truth under `dir`.
fn write_run(dir: &Path, r: &Run) -> Result<(), FamiliesError> {
    let p = &r.generated.params;
    let folder = dir.join(format!("{}-{}", p.family, p.seed));
    let io = |path: &Path| {
        let path = path.display().to_string();
        move |source| FamiliesError::Write { path, source }
    };
    std::fs::create_dir_all(&folder).map_err(io(&folder))?;
    let mut mentions = Vec::with_capacity(r.generated.mentions.len() * 300);
    for m in &r.generated.mentions {
        encode(m, &mut mentions);
    }
    let alerts: String = r.alerts.iter().map(|a| a.to_json_line() + "\n").collect();
    #[derive(serde::Serialize)]
    struct RunFile<'a> {
        truth: &'a super::generate::Truth,
        params: &'a super::params::RunParams,
        outcome: &'a RunOutcome,
    }
    let truth = RunFile {
        truth: &r.generated.truth,
        params: p,
        outcome: &r.outcome,
    };
    for (name, bytes) in [
        ("config.toml", config_toml(&r.generated).into_bytes()),
        ("mentions.ndjson", mentions),
        ("alerts.ndjson", alerts.into_bytes()),
        (
            "truth.json",
            serde_json::to_string_pretty(&truth)
                .unwrap_or_default()
                .into_bytes(),
        ),
    ] {
        let path = folder.join(name);
        std::fs::write(&path, bytes).map_err(io(&path))?;
    }
    Ok(())
}

/// Evaluates every (family, seed) of `opts` and summarises them.
pub fn evaluate(opts: &Options) -> Result<Report, FamiliesError> {
    let model = model_name(opts.model.as_deref());
    // An unknown or unbuildable model fails once, up front.
    model_by_name(&model).map_err(|e| FamiliesError::Model(e.to_string()))?;
    let seeds: Vec<u64> = if opts.only_seeds.is_empty() {
        (0..opts.seeds).map(|i| opts.pool.seed(i)).collect()
    } else {
        opts.only_seeds.clone()
    };
    let work: Vec<(Family, u64)> = opts
        .families
        .iter()
        .flat_map(|&f| seeds.iter().map(move |&s| (f, s)))
        .collect();
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<Result<RunOutcome, FamiliesError>>>> =
        Mutex::new((0..work.len()).map(|_| None).collect());
    let worker = || loop {
        let i = next.fetch_add(1, Ordering::Relaxed);
        let Some(&(family, seed)) = work.get(i) else {
            break;
        };
        let r = run_one(family, seed, opts.pool, Some(&model), &opts.limits).and_then(|r| {
            if let Some(dir) = &opts.write_runs {
                write_run(dir, &r)?;
            }
            Ok(r.outcome)
        });
        if let Ok(mut slots) = results.lock() {
            slots[i] = Some(r);
        }
    };
    std::thread::scope(|s| {
        for _ in 0..opts.jobs.clamp(1, work.len().max(1)) {
            s.spawn(worker);
        }
    });
    let slots = results
        .into_inner()
        .map_err(|_| FamiliesError::Engine(String::from("a worker thread panicked")))?;
    let mut runs = Vec::with_capacity(slots.len());
    for r in slots {
        match r {
            Some(r) => runs.push(r?),
            None => return Err(FamiliesError::Engine(String::from("a run did not finish"))),
        }
    }
    Ok(Report::new(opts.pool, opts.seeds, model, opts.limits, runs))
}

/// `flashpoint eval families`: prints the table (or JSON) and returns the exit code: 0, or 2
/// for bad arguments or an unavailable model, 1 when a run fails.
pub fn run_cli(args: &FamiliesArgs) -> u8 {
    let opts = match Options::from_args(args) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    match evaluate(&opts) {
        Ok(report) => {
            if args.json {
                println!("{}", report.to_json());
            } else {
                print!("{}", report.table());
            }
            eprintln!(
                "evaluated {} runs ({} mentions) on {} thread(s)",
                report.global.runs, report.global.mentions, opts.jobs
            );
            0
        }
        Err(e @ (FamiliesError::Model(_) | FamiliesError::SeedOutsidePool { .. })) => {
            eprintln!("error: {e}");
            2
        }
        Err(e) => {
            eprintln!("error: {e}");
            1
        }
    }
}
