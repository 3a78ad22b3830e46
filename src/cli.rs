//! The command line (CONTRACTS §4): argument parsing and one function per subcommand.
//!
//! Exit codes: 0 success, 1 runtime failure, 2 bad usage or configuration. Only `main` exits;
//! every command returns its code.

use std::io::{BufRead, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use tokio_util::sync::CancellationToken;

use crate::alert::BoardFeed;
use crate::alert::Metered;
use crate::alert::{ConsoleNotifier, Notifier};
use crate::app::demo::{DEMO_CONFIG, DEMO_SAMPLE};
use crate::app::replay::Input;
use crate::app::{replay, ReplayOptions, Speed};
use crate::config::{self, Config};
use crate::telemetry::{IncidentBoard, Metrics};

#[derive(Debug, Parser)]
#[command(
    name = "flashpoint",
    version,
    about = "Real-time social listening and crisis detection"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

// Parsed once per process: boxing the large variant would only add noise.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Replay the bundled sample stream through the whole pipeline and print pages.
    Demo {
        /// "max" or how many times faster than real time to replay.
        #[arg(long, default_value = "20000")]
        speed: String,
        /// Address to serve /metrics on while the demo runs.
        #[arg(long, default_value = "127.0.0.1:9464")]
        listen: SocketAddr,
        /// Do not serve /metrics.
        #[arg(long)]
        no_metrics: bool,
        /// Also write the alert log here ("-" = stdout).
        #[arg(long)]
        alerts: Option<String>,
        /// Keep serving /metrics and /api/* after the replay until Ctrl-C (for Prometheus
        /// and Grafana to look at the result).
        #[arg(long)]
        linger: bool,
    },
    /// Replay archives in event time.
    Replay {
        #[arg(long)]
        config: PathBuf,
        /// "max" or how many times faster than real time to replay.
        #[arg(long, default_value = "max")]
        speed: String,
        /// Write the alert log here ("-" = stdout).
        #[arg(long)]
        alerts: Option<String>,
        /// Write an HTML report here.
        #[arg(long)]
        report: Option<String>,
        /// Write the report's content as JSON here (for tools).
        #[arg(long)]
        report_json: Option<String>,
        /// Replay only mentions at or after this event time (RFC 3339).
        #[arg(long)]
        from: Option<String>,
        /// Replay only mentions before this event time (RFC 3339).
        #[arg(long)]
        to: Option<String>,
        /// Replay for this brand only (the others are dropped from the configuration).
        #[arg(long)]
        brand: Option<String>,
        /// Start from this checkpoint (learned state of an earlier replay or run).
        #[arg(long)]
        checkpoint_in: Option<String>,
        /// Save the learned state here at the end.
        #[arg(long)]
        checkpoint_out: Option<String>,
        /// Sentiment model ("lexicon", "linear", "onnx" with feature onnx); default: `[pipeline] sentiment_model`.
        #[arg(long)]
        model: Option<String>,
        /// Second sentiment model for mentions of brands with a candidate incident ("none" =
        /// off); default: `[pipeline] incident_sentiment_model`.
        #[arg(long)]
        incident_model: Option<String>,
        /// Archives (.ndjson, .ndjson.gz, .ndjson.zst; "-" = stdin).
        #[arg(required = true)]
        archives: Vec<String>,
        /// Send the replay's notifications to the configured [[sink]]s (without it, a replay
        /// never pages anyone).
        #[arg(long)]
        deliver: bool,
    },
    /// Inspect the durable delivery outbox.
    Outbox {
        #[command(subcommand)]
        command: OutboxCommand,
    },
    /// The live service: sources, pipeline, archive, alert log, /metrics, until SIGINT/SIGTERM.
    Run {
        #[arg(long)]
        config: PathBuf,
        /// Sentiment model ("lexicon", "linear", "onnx" with feature onnx); default: `[pipeline] sentiment_model`.
        #[arg(long)]
        model: Option<String>,
        /// One role of the partitioned topology (`[topology]`, feature `kafka`): `ingest`,
        /// `detect` or `alert`; default: the whole pipeline in this process.
        #[arg(long)]
        role: Option<String>,
        /// Second sentiment model for mentions of brands with a candidate incident ("none" =
        /// off); default: `[pipeline] incident_sentiment_model`.
        #[arg(long)]
        incident_model: Option<String>,
    },
    /// Validate a configuration file and list every error.
    CheckConfig { file: PathBuf },
    /// Score one text per stdin line; one JSON line per text on stdout.
    Sentiment {
        #[arg(long, default_value = "lexicon")]
        model: String,
    },
    /// Train a model.
    Train {
        #[command(subcommand)]
        what: TrainCommand,
    },
    /// Evaluate the detector or the sentiment models.
    Eval {
        #[command(subcommand)]
        what: EvalCommand,
    },
    /// Run the volume detector over NAB's realTweets series and score it the way NAB does.
    Nab {
        /// Folder with Twitter_volume_*.csv and combined_windows_realTweets.json.
        #[arg(long)]
        data: PathBuf,
        /// Folder for the result CSVs (NAB's results format).
        #[arg(long)]
        out: PathBuf,
    },
    /// Write a deterministic synthetic stream (the demo sample is seed 7, 4 days).
    Synth {
        #[arg(long)]
        out: PathBuf,
        #[arg(long, default_value_t = 7)]
        seed: u64,
        #[arg(long, default_value_t = 4)]
        days: u32,
    },
}

#[derive(Debug, Subcommand)]
pub enum OutboxCommand {
    /// List pending notifications and the dead-letter list, one JSON line each.
    List {
        /// The outbox directory (`[delivery] outbox_dir`).
        #[arg(long)]
        dir: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub enum TrainCommand {
    /// Train the `linear` sentiment model on SemEval-2017 task 4A (every twitter-201*.tsv,
    /// deduplicated by id; 2016dev + 2016devtest held out to choose hyper-parameters).
    Sentiment {
        /// Folder with the SemEval-2017 twitter-201*.tsv files.
        #[arg(long, default_value = "../shared/data/sentiment/semeval2017")]
        data: PathBuf,
        /// Where to write the weights file.
        #[arg(long, default_value = "models/linear/weights.bin")]
        out: PathBuf,
        /// Distil from this teacher model (`onnx`, needs the feature): its class probabilities
        /// become soft targets, whether and how much is chosen on dev.
        #[arg(long)]
        teacher: Option<String>,
        /// Unlabelled tweets for distillation: CSV files (`id, text, ...`; .csv or .csv.gz)
        /// under this folder; used with --teacher.
        #[arg(long, default_value = "../shared/data/crisis/crisislex")]
        transfer: PathBuf,
        /// Cache of the teacher's probabilities (written when absent or stale, read otherwise),
        /// so repeated runs skip the teacher.
        #[arg(long)]
        teacher_cache: Option<PathBuf>,
    },
    /// Train the complaint / service-failure model on weak labels over the same SemEval files
    /// (cue-phrase rules, see `score::sentiment::complaint`).
    Complaint {
        /// Folder with the SemEval-2017 twitter-201*.tsv files.
        #[arg(long, default_value = "../shared/data/sentiment/semeval2017")]
        data: PathBuf,
        /// Where to write the weights file.
        #[arg(long, default_value = "models/complaint/weights.bin")]
        out: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub enum EvalCommand {
    /// Score the sentiment models on SemEval-2017 test, TweetEval test and VADER's rated
    /// tweets; prints a Markdown table.
    Sentiment {
        /// The `sentiment` data folder (semeval2017/, tweeteval/, vader/).
        #[arg(long, default_value = "../shared/data/sentiment")]
        data: PathBuf,
        /// Models to evaluate.
        #[arg(long, value_delimiter = ',', default_value = "lexicon,linear")]
        models: Vec<String>,
        /// VADER's non-tweet rated sets (dev sets of `linear`'s score blend): Pearson columns
        /// per model, and the blend weight they choose. Skipped with a note when absent.
        #[arg(long, default_value = "data/vader-snippets")]
        snippets: PathBuf,
    },
    /// Run the scenario suite (generated streams with expected outcomes); exits 1 on a failure.
    Scenarios {
        /// Folder of scenario files.
        #[arg(long, default_value = "tests/scenarios")]
        dir: PathBuf,
        /// Sensitivity profile for every brand: fewer, balanced, more.
        #[arg(long, default_value = "balanced")]
        profile: String,
    },
    /// Run the randomized scenario families (invented brands, held-out wording and seeds);
    /// prints one row per family and exits 0.
    Families(crate::eval::families::FamiliesArgs),
}

/// Runs a parsed command and returns the process exit code.
pub fn run(cli: Cli) -> u8 {
    let result = match cli.command {
        Command::CheckConfig { file } => return check_config(&file),
        Command::Outbox {
            command: OutboxCommand::List { dir },
        } => outbox_list(&dir),
        Command::Run {
            config,
            model,
            role,
            incident_model,
        } => {
            let cfg = match config::load(&config) {
                Ok(c) => c,
                Err(errs) => {
                    eprint!("{errs}");
                    return 2;
                }
            };
            return match runtime() {
                Ok(rt) => {
                    let model = model.unwrap_or_else(|| cfg.pipeline.sentiment_model.clone());
                    let incident = incident_model_choice(incident_model, &cfg);
                    let code = rt.block_on(live(Arc::new(cfg), model, incident, role));
                    // A forced exit must not wait for blocking readers still running.
                    rt.shutdown_background();
                    code
                }
                Err(e) => {
                    eprintln!("error: {e:#}");
                    1
                }
            };
        }
        Command::Sentiment { model } => sentiment(&model),
        Command::Synth { out, seed, days } => synth(&out, seed, days),
        Command::Eval {
            what: EvalCommand::Scenarios { dir, profile },
        } => return eval_scenarios(&dir, &profile),
        Command::Eval {
            what: EvalCommand::Families(args),
        } => return crate::eval::families::run_cli(&args),
        Command::Eval {
            what:
                EvalCommand::Sentiment {
                    data,
                    models,
                    snippets,
                },
        } => eval_sentiment(&data, &models, &snippets),
        Command::Train {
            what:
                TrainCommand::Sentiment {
                    data,
                    out,
                    teacher,
                    transfer,
                    teacher_cache,
                },
        } => train_sentiment(
            &data,
            &out,
            teacher.as_deref(),
            &transfer,
            teacher_cache.as_deref(),
        ),
        Command::Train {
            what: TrainCommand::Complaint { data, out },
        } => train_complaint(&data, &out),
        Command::Nab { data, out } => crate::eval::nab::run(&data, &out)
            .map(|report| print!("{}", report.table()))
            .map_err(anyhow::Error::from),
        Command::Demo {
            speed,
            listen,
            no_metrics,
            alerts,
            linger,
        } => {
            let Ok(speed) = Speed::parse(&speed).map_err(|e| eprintln!("error: {e}")) else {
                return 2;
            };
            runtime().and_then(|rt| {
                rt.block_on(demo(speed, (!no_metrics).then_some(listen), alerts, linger))
            })
        }
        Command::Replay {
            config,
            speed,
            alerts,
            report,
            report_json,
            from,
            to,
            brand,
            checkpoint_in,
            checkpoint_out,
            model,
            incident_model,
            archives,
            deliver,
        } => {
            let cfg = match config::load(&config) {
                Ok(c) => c,
                Err(errs) => {
                    eprint!("{errs}");
                    return 2;
                }
            };
            let Ok(speed) = Speed::parse(&speed).map_err(|e| eprintln!("error: {e}")) else {
                return 2;
            };
            let time = |t: Option<String>, flag: &str| match t {
                None => Ok(None),
                Some(t) => crate::domain::EventTime::parse_rfc3339(&t)
                    .map(Some)
                    .ok_or_else(|| eprintln!("error: --{flag} {t:?} is not an RFC 3339 time")),
            };
            let (Ok(from), Ok(to)) = (time(from, "from"), time(to, "to")) else {
                return 2;
            };
            let cfg = match &brand {
                None => cfg,
                Some(id) => match cfg.restrict_to(id) {
                    Some(c) => c,
                    None => {
                        eprintln!("error: --brand {id:?} is not a configured brand");
                        return 2;
                    }
                },
            };
            let opts = ReplayOptions {
                alerts,
                report,
                report_json,
                progress: true,
                sentiment_model: model.unwrap_or_else(|| cfg.pipeline.sentiment_model.clone()),
                incident_model: incident_model_choice(incident_model, &cfg),
                from,
                to,
                checkpoint_in,
                checkpoint_out,
                ..ReplayOptions::new(speed)
            };
            runtime().and_then(|rt| {
                rt.block_on(async {
                    let cfg = Arc::new(cfg);
                    let mut opts = opts;
                    let delivery = if deliver {
                        let ids: Vec<&str> = cfg.brands.iter().map(|b| b.id.as_str()).collect();
                        let d = start_delivery(&cfg, Arc::new(Metrics::new(&ids, 1000)))?;
                        if let Some(d) = &d {
                            opts.notifiers.push(Arc::clone(d) as Arc<dyn Notifier>);
                        }
                        d
                    } else {
                        None
                    };
                    let s = replay(Arc::clone(&cfg), Input::Paths(archives), opts, None).await?;
                    print_summary(&s);
                    if let Some(d) = delivery {
                        finish_delivery(&d, cfg.delivery.drain_timeout.0).await;
                    }
                    Ok(())
                })
            })
        }
    };
    match result {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("error: {e:#}");
            1
        }
    }
}

/// Builds the sinks and the outbox-backed delivery (`replay --deliver`, `run`); `None` when
/// no sink is configured.
fn start_delivery(
    cfg: &Config,
    metrics: Arc<Metrics>,
) -> anyhow::Result<Option<Arc<crate::alert::Delivery>>> {
    let paging = || {
        cfg.sink_settings
            .iter()
            .filter(|s| !matches!(s.kind, crate::config::SinkKind::Kafka(_)))
    };
    if paging().next().is_none() {
        eprintln!("no paging [[sink]] configured: alerts go to the alert log only");
        return Ok(None);
    }
    let mut sinks = Vec::new();
    for s in paging() {
        sinks.push(crate::alert::sink::build(s)?);
    }
    let d = crate::alert::Delivery::start(
        sinks,
        crate::alert::DeliveryOptions {
            outbox_dir: std::path::Path::new(&cfg.delivery.outbox_dir),
            delivery: &cfg.delivery,
            escalation: &cfg.escalation,
            flood: cfg.flood_control.clone(),
            metrics,
        },
    )?;
    Ok(Some(d))
}

/// Sinks that mirror the alert log (`type = "kafka"`): every alert line, straight from the
/// dispatcher, not through the outbox's routing and flood control.
fn direct_sinks(cfg: &Config) -> anyhow::Result<Vec<Arc<dyn Notifier>>> {
    cfg.sink_settings
        .iter()
        .filter(|s| matches!(s.kind, crate::config::SinkKind::Kafka(_)))
        .map(|s| crate::alert::sink::build(s).map_err(anyhow::Error::from))
        .collect()
}

#[cfg(feature = "kafka")]
async fn run_role(
    role: &str,
    cfg: Arc<Config>,
    metrics: Arc<Metrics>,
    shutdown: CancellationToken,
    notifiers: Vec<Arc<dyn Notifier>>,
    model: String,
) -> u8 {
    if cfg.topology.is_none() || !["ingest", "detect", "alert"].contains(&role) {
        eprintln!(
            "error: --role {role:?} needs a [topology] section and one of ingest, detect, alert"
        );
        return 2;
    }
    match crate::kafka::roles::run_role(role, cfg, metrics, shutdown, notifiers, model).await {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("error: {e:#}");
            1
        }
    }
}

#[cfg(not(feature = "kafka"))]
async fn run_role(
    _: &str,
    _: Arc<Config>,
    _: Arc<Metrics>,
    _: CancellationToken,
    _: Vec<Arc<dyn Notifier>>,
    _: String,
) -> u8 {
    eprintln!("error: --role: {}", crate::config::kafka::NO_FEATURE);
    2
}

/// Waits up to `timeout` for pending deliveries; what is left stays in the outbox.
async fn finish_delivery(d: &crate::alert::Delivery, timeout: std::time::Duration) {
    if tokio::time::timeout(timeout, d.drain()).await.is_err() {
        eprintln!(
            "{} notifications still pending after {:?}; they stay in the outbox and resume on the next start",
            d.pending(),
            timeout
        );
    }
    d.stop();
}

fn outbox_list(dir: &std::path::Path) -> anyhow::Result<()> {
    let snap = crate::alert::outbox::Outbox::read(dir)?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for e in &snap.pending {
        writeln!(
            out,
            "{}",
            serde_json::json!({"state": "pending", "seq": e.seq, "sink": e.sink,
                "incident": e.alert.incident, "action": e.alert.action, "at": e.alert.at,
                "enqueued_at_ms": e.enqueued_at_ms})
        )?;
    }
    for d in &snap.dead {
        writeln!(
            out,
            "{}",
            serde_json::json!({"state": "dead", "seq": d.entry.seq, "sink": d.entry.sink,
                "incident": d.entry.alert.incident, "action": d.entry.alert.action,
                "at": d.entry.alert.at, "reason": d.reason, "error": d.error})
        )?;
    }
    out.flush()?;
    eprintln!(
        "{}: {} pending, {} dead",
        dir.display(),
        snap.pending.len(),
        snap.dead.len()
    );
    Ok(())
}

fn eval_scenarios(dir: &std::path::Path, profile: &str) -> u8 {
    use crate::eval::scenarios;
    let Some(profile) = crate::config::Profile::parse(profile) else {
        eprintln!("error: unknown profile {profile:?} (fewer, balanced, more)");
        return 2;
    };
    let files = match scenarios::load_dir(dir) {
        Ok(f) if !f.is_empty() => f,
        Ok(_) => {
            eprintln!("error: no scenario files in {}", dir.display());
            return 2;
        }
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    let mut outcomes = Vec::new();
    for f in &files {
        match scenarios::run_with(f, profile) {
            Ok(o) => outcomes.push(o),
            Err(e) => {
                eprintln!("error: {e}");
                return 2;
            }
        }
    }
    print!("{}", scenarios::table(&outcomes));
    let failed = outcomes.iter().filter(|o| !o.passed).count();
    if failed > 0 {
        eprintln!("{failed} of {} scenarios failed", outcomes.len());
        1
    } else {
        eprintln!("all {} scenarios passed", outcomes.len());
        0
    }
}

/// `flashpoint run`: the first SIGINT/SIGTERM starts a graceful shutdown, a second one returns
/// at once (exit 1) without waiting for the drain.
async fn live(
    cfg: Arc<Config>,
    model: String,
    incident_model: Option<String>,
    role: Option<String>,
) -> u8 {
    let ids: Vec<&str> = cfg.brands.iter().map(|b| b.id.as_str()).collect();
    let metrics = Arc::new(Metrics::new(&ids, 1000));
    let shutdown = CancellationToken::new();
    let forced = CancellationToken::new();
    match signals(shutdown.clone(), forced.clone()) {
        Ok(wait) => drop(tokio::spawn(wait)),
        Err(e) => {
            eprintln!("error: cannot install signal handlers: {e}");
            return 1;
        }
    }
    let delivery = match start_delivery(&cfg, Arc::clone(&metrics)) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("error: cannot start alert delivery: {e:#}");
            return 1;
        }
    };
    let direct = match direct_sinks(&cfg) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("error: {e:#}");
            return 1;
        }
    };
    if let Some(role) = role {
        if incident_model.is_some() {
            eprintln!("warning: --role {role}: the incident sentiment model is not used by the partitioned topology");
        }
        let mut notifiers = direct;
        if let Some(d) = &delivery {
            notifiers.push(Arc::clone(d) as Arc<dyn Notifier>);
        }
        let code = run_role(&role, Arc::clone(&cfg), metrics, shutdown, notifiers, model).await;
        if let Some(d) = delivery {
            finish_delivery(&d, cfg.delivery.drain_timeout.0).await;
        }
        return code;
    }
    let board = Arc::new(IncidentBoard::for_config(&cfg, Some(Arc::clone(&metrics))));
    let mut opts = crate::app::RunOptions::new(metrics, shutdown);
    opts.sentiment_model = model;
    opts.incident_model = incident_model;
    opts.board = Some(board);
    opts.notifiers.extend(direct);
    if let Some(d) = &delivery {
        opts.notifiers.push(Arc::clone(d) as Arc<dyn Notifier>);
    }
    let drain = cfg.delivery.drain_timeout.0;
    let code = tokio::select! {
        r = crate::app::run(cfg, opts) => match r {
            Ok(s) => {
                eprintln!(
                    "stopped: {} mentions, {} matched, {} alerts, {} archived; frame→scored p99 {} µs",
                    s.engine.received, s.engine.matched, s.alerts, s.archived, s.latency_us.1
                );
                0
            }
            Err(e) => {
                eprintln!("error: {e:#}");
                1
            }
        },
        _ = forced.cancelled() => {
            eprintln!("second signal: exiting without draining");
            return 1;
        }
    };
    if let Some(d) = delivery {
        // Pending notifications stay in the outbox and resume on the next start.
        finish_delivery(&d, drain).await;
    }
    code
}

/// Waits for SIGINT or SIGTERM twice: the first cancels `shutdown`, the second `forced`. The
/// handlers are registered before this returns, so a signal after startup is never lost to the
/// default action.
#[cfg(unix)]
fn signals(
    shutdown: CancellationToken,
    forced: CancellationToken,
) -> std::io::Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    Ok(async move {
        for token in [shutdown, forced] {
            tokio::select! {
                _ = int.recv() => {}
                _ = term.recv() => {}
            }
            eprintln!("signal received: stopping sources and draining (again to exit at once)");
            token.cancel();
        }
    })
}

#[cfg(not(unix))]
fn signals(
    shutdown: CancellationToken,
    forced: CancellationToken,
) -> std::io::Result<impl std::future::Future<Output = ()>> {
    Ok(async move {
        for token in [shutdown, forced] {
            if tokio::signal::ctrl_c().await.is_err() {
                return;
            }
            eprintln!("signal received: stopping sources and draining (again to exit at once)");
            token.cancel();
        }
    })
}

/// `--incident-model` ("none"/"off" turn it off), else `[pipeline] incident_sentiment_model`.
fn incident_model_choice(flag: Option<String>, cfg: &Config) -> Option<String> {
    match flag.as_deref() {
        Some("none" | "off") => None,
        Some(_) => flag,
        None => cfg.pipeline.incident_sentiment_model.clone(),
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?)
}

fn check_config(file: &std::path::Path) -> u8 {
    match config::load(file) {
        Ok(cfg) => {
            println!("{}: ok ({} brands)", file.display(), cfg.brands.len());
            0
        }
        Err(errs) => {
            eprint!("{errs}");
            2
        }
    }
}

fn eval_sentiment(
    data: &std::path::Path,
    models: &[String],
    snippets: &std::path::Path,
) -> anyhow::Result<()> {
    let data_dir = data;
    let mut data = crate::eval::sentiment::load(data)?;
    match crate::eval::sentiment::load_snippets(snippets) {
        Ok(sets) => data.snippets = sets,
        Err(e) => eprintln!("no snippet dev sets ({e}): Pearson on VADER's tweets only"),
    }
    let mut reports = Vec::new();
    for name in models {
        let model = crate::score::sentiment::model_by_name(name)?;
        // Warm up (lazy lexicon and weights parsing) outside the timed loop.
        model.score("warm up");
        reports.push(crate::eval::sentiment::evaluate(model.as_ref(), &data));
    }
    print!("{}", crate::eval::sentiment::table(&reports));
    if !data.snippets.is_empty() {
        print_score_blends(models, &data.snippets);
    }
    if let Ok(corpus) = crate::score::sentiment::train::load_corpus(&data_dir.join("semeval2017")) {
        let rows = crate::eval::sentiment::complaint_rows(&corpus.dev, &data);
        print!("{}", crate::eval::sentiment::complaint_table(&rows));
    }
    Ok(())
}

/// The score-blend grid of each evaluated classifier whose probabilities the eval can reach
/// (`linear`, and `onnx` in builds with the feature) on the snippet dev sets.
fn print_score_blends(models: &[String], snippets: &[crate::eval::sentiment::RatedSet]) {
    use crate::eval::sentiment::{blend_line, blend_sets, choose_score_blend};
    if models.iter().any(|m| m == "linear") {
        if let Ok(model) = crate::score::sentiment::LinearModel::embedded() {
            let sets = blend_sets(snippets, &|texts| {
                texts.iter().map(|t| Some(model.probabilities(t))).collect()
            });
            let (best, grid) = choose_score_blend(&sets);
            let shipped = crate::score::sentiment::linear::SCORE_BLEND;
            println!("\n{}", blend_line("linear", best, &grid, shipped));
        }
    }
    #[cfg(feature = "onnx")]
    if models.iter().any(|m| m == "onnx") {
        if let Ok(model) = crate::score::sentiment::onnx::OnnxModel::load_default() {
            let sets = blend_sets(snippets, &|texts| model.probabilities_batch(texts));
            let (best, grid) = choose_score_blend(&sets);
            let shipped = crate::score::sentiment::TRANSFORMER_SCORE_BLEND;
            println!("\n{}", blend_line("onnx", best, &grid, shipped));
        }
    }
}

fn train_sentiment(
    data: &std::path::Path,
    out: &std::path::Path,
    teacher: Option<&str>,
    transfer: &std::path::Path,
    teacher_cache: Option<&std::path::Path>,
) -> anyhow::Result<()> {
    use crate::score::sentiment::train;
    let corpus = train::load_corpus(data)?;
    eprintln!(
        "{} files, {} training + {} dev tweets after dedup ({} duplicates dropped)",
        corpus.files.len(),
        corpus.train.len(),
        corpus.dev.len(),
        corpus.duplicates
    );
    let teacher = match teacher {
        None => None,
        Some(name) => {
            let set = train::read_transfer_dir(transfer, &corpus.held_out_texts)?;
            eprintln!(
                "transfer set: {} texts from {} files under {} ({} rows skipped)",
                set.texts.len(),
                set.files.len(),
                transfer.display(),
                set.skipped
            );
            Some(crate::score::sentiment::distill::teach(
                name,
                &corpus,
                set.texts,
                teacher_cache,
            )?)
        }
    };
    let (weights, hyper, dev) =
        train::select_and_train(&corpus, teacher.as_ref(), |l| eprintln!("{l}"));
    eprintln!(
        "chosen: lr {} l2 {:e} epochs {} gold mix {} transfer {} (dev macro-recall {dev:.4}); \
         retrained on all {} tweets",
        hyper.lr,
        hyper.l2,
        hyper.epochs,
        hyper.gold_mix,
        hyper.transfer,
        corpus.train.len() + corpus.dev.len()
    );
    let bytes = weights.to_bytes();
    crate::score::sentiment::LinearModel::from_bytes(&bytes)?;
    write_weights(out, &bytes)
}

/// Writes a trained weights file and logs its size and sha256 (for the model card).
fn write_weights(out: &std::path::Path, bytes: &[u8]) -> anyhow::Result<()> {
    use sha2::Digest;
    std::fs::write(out, bytes)?;
    eprintln!(
        "wrote {} ({} bytes, sha256 {})",
        out.display(),
        bytes.len(),
        hex::encode(sha2::Sha256::digest(bytes))
    );
    Ok(())
}

fn train_complaint(data: &std::path::Path, out: &std::path::Path) -> anyhow::Result<()> {
    use crate::score::sentiment::{complaint, train};
    let corpus = train::load_corpus(data)?;
    let (weights, hyper, f1) = complaint::select_and_train(&corpus, |l| eprintln!("{l}"));
    eprintln!(
        "chosen: lr {} l2 {:e} epochs {} (dev F1 against the rules {f1:.4}); retrained on all {} \
         tweets",
        hyper.lr,
        hyper.l2,
        hyper.epochs,
        corpus.train.len() + corpus.dev.len()
    );
    let bytes = weights.to_bytes();
    complaint::ComplaintModel::from_bytes(&bytes)?;
    write_weights(out, &bytes)
}

fn sentiment(model: &str) -> anyhow::Result<()> {
    let model = crate::score::sentiment::model_by_name(model)?;
    let complaint = crate::score::sentiment::complaint::ComplaintModel::embedded()?;
    let stdin = std::io::stdin().lock();
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    // Lines are scored in chunks through `score_batch` (batched models such as onnx are several
    // times faster that way); output order and one line per input line are unchanged.
    const CHUNK: usize = 256;
    let mut lines: Vec<String> = Vec::with_capacity(CHUNK);
    let mut scored = Vec::with_capacity(CHUNK);
    let mut emit = |lines: &mut Vec<String>,
                    out: &mut std::io::BufWriter<_>|
     -> anyhow::Result<()> {
        let texts: Vec<&str> = lines.iter().map(String::as_str).collect();
        model.score_batch(&texts, &mut scored);
        for (s, text) in scored.iter().zip(&texts) {
            let score = (f64::from(s.score) * 10_000.0).round() / 10_000.0;
            let complaint = (f64::from(complaint.probability(text)) * 10_000.0).round() / 10_000.0;
            writeln!(
                out,
                "{}",
                serde_json::json!({
                    "label": s.label.as_str(),
                    "score": score,
                    "complaint": complaint
                })
            )?;
        }
        lines.clear();
        out.flush()?;
        Ok(())
    };
    for line in stdin.lines() {
        lines.push(line?);
        if lines.len() == CHUNK {
            emit(&mut lines, &mut out)?;
        }
    }
    emit(&mut lines, &mut out)?;
    Ok(())
}

fn synth(out: &std::path::Path, seed: u64, days: u32) -> anyhow::Result<()> {
    let spec = crate::synth::SynthSpec {
        seed,
        days,
        ..crate::synth::SynthSpec::demo()
    };
    crate::synth::write_archive(&spec, out)?;
    eprintln!("wrote {}", out.display());
    Ok(())
}

async fn demo(
    speed: Speed,
    listen: Option<SocketAddr>,
    alerts: Option<String>,
    linger: bool,
) -> anyhow::Result<()> {
    let cfg = Arc::new(config::parse_str(DEMO_CONFIG, "demo.toml", &|_| None)?);
    let ids: Vec<&str> = cfg.brands.iter().map(|b| b.id.as_str()).collect();
    let metrics = Arc::new(Metrics::new(&ids, 1000));
    let board = Arc::new(IncidentBoard::for_config(&cfg, Some(Arc::clone(&metrics))));
    let shutdown = CancellationToken::new();
    let mut server = None;
    if let Some(addr) = listen {
        match tokio::net::TcpListener::bind(addr).await {
            Ok(listener) => {
                let local = listener.local_addr()?;
                eprintln!("serving metrics on http://{local}/metrics, incidents on http://{local}/api/incidents");
                let ready = Arc::new(AtomicBool::new(true));
                let app = crate::telemetry::http::router(Arc::clone(&metrics), ready)
                    .merge(crate::telemetry::api_router(Arc::clone(&board)));
                server = Some(tokio::spawn(crate::telemetry::serve_router(
                    listener,
                    app,
                    shutdown.clone(),
                )));
            }
            Err(e) => {
                eprintln!("warning: cannot serve metrics on {addr}: {e} (continuing without)")
            }
        }
    }
    print_demo_intro(&cfg, speed);
    let console: Arc<dyn Notifier> = Arc::new(ConsoleNotifier::new());
    let notifiers: Vec<Arc<dyn Notifier>> = vec![
        Arc::new(Metered::new(console, Arc::clone(&metrics))),
        Arc::new(BoardFeed::new(Arc::clone(&board))),
    ];
    let opts = ReplayOptions {
        alerts,
        notifiers,
        // The console notifier prints as incidents happen; a spinner would garble its lines.
        progress: false,
        ..ReplayOptions::new(speed)
    };
    let summary = replay(
        Arc::clone(&cfg),
        Input::Bytes(DEMO_SAMPLE),
        opts,
        Some(metrics),
    )
    .await?;
    print_summary(&summary);
    if linger && server.is_some() {
        eprintln!("replay done; still serving until Ctrl-C");
        tokio::signal::ctrl_c().await?;
    }
    shutdown.cancel();
    if let Some(s) = server {
        s.await??;
    }
    Ok(())
}

fn print_demo_intro(cfg: &Config, speed: Speed) {
    let names: Vec<&str> = cfg.brands.iter().map(|b| b.name.as_str()).collect();
    let pace = match speed {
        Speed::Max => String::from("as fast as possible"),
        Speed::Factor(f) => format!("{f}x real time"),
    };
    println!(
        "flashpoint demo: replaying 4 days of mentions for {} ({pace})\n",
        names.join(", ")
    );
}

fn print_summary(s: &crate::app::ReplaySummary) {
    let e = &s.engine;
    let errors: u64 = s.decode.errors.values().sum();
    eprintln!(
        "\nreplayed {} lines in {:.2}s: {} decoded, {} skipped as malformed, {} matched, {} late, {} too late, {} alerts",
        s.decode.lines,
        s.wall.as_secs_f64(),
        s.decode.decoded,
        errors,
        e.matched,
        e.late,
        e.too_late,
        s.alerts.len()
    );
    if let Some(r) = &s.refine {
        eprintln!(
            "incident sentiment model: {} mentions re-scored in {} batches, {} kept the fast score",
            r.refined, r.batches, r.skipped
        );
    }
}
