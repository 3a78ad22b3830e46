//! The bodies of the one-shot commands: `check-config`, `outbox list`, `replay`, `sentiment`,
//! `train sentiment|complaint` and `synth`. The live service is [`super::service`], the demo
//! [`super::demo`]; `eval` and `nab` live in `eval::entry` (they sit above `app`).
//!
//! Each command prints its own output and errors and returns the process exit code (0 success,
//! 1 runtime failure, 2 bad usage or configuration), or an error that [`exit_code`] turns into
//! exit 1.

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::sync::Arc;

use super::replay::Input;
use super::service::{finish_delivery, incident_model_choice, runtime, start_delivery};
use super::{ReplayOptions, ReplaySummary, Speed};
use crate::alert::Notifier;
use crate::config;
use crate::domain::codec::MAX_LINE_BYTES;
use crate::domain::plural;
use crate::ingest::archive::{line_content, read_line_bounded, Line};
use crate::telemetry::Metrics;

/// An error in what the user asked for (a flag's value, an input that does not exist): the
/// command exits 2, not 1. Fix the command line and run it again.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// A command's result as its exit code: 0; 2 with the error on stderr for bad usage or
/// configuration ([`UsageError`], [`config::ConfigErrors`], a model name this build cannot
/// provide); 1 with the error on stderr for anything else.
pub fn exit_code(result: anyhow::Result<()>) -> u8 {
    match result {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("error: {e:#}");
            if is_usage(&e) {
                2
            } else {
                1
            }
        }
    }
}

/// Whether `e` (or an error in its chain) is bad usage or configuration.
fn is_usage(e: &anyhow::Error) -> bool {
    use crate::score::sentiment::UnknownModel;
    e.chain().any(|c| {
        c.is::<UsageError>()
            || c.is::<config::ConfigErrors>()
            || matches!(
                c.downcast_ref::<UnknownModel>(),
                Some(UnknownModel::Unknown { .. } | UnknownModel::NotBuilt { .. })
            )
    })
}

/// Checks that every input path (other than `-`, stdin) is a file before the replay starts:
/// a mistyped path is bad usage, reported before any work.
fn check_inputs<'a>(
    what: &str,
    paths: impl IntoIterator<Item = &'a String>,
) -> Result<(), UsageError> {
    for p in paths.into_iter().filter(|p| p.as_str() != "-") {
        match std::fs::metadata(p) {
            Ok(m) if m.is_file() || is_pipe(&m) => {}
            Ok(_) => return Err(UsageError(format!("{what} {p} is not a file"))),
            Err(e) => return Err(UsageError(format!("{what} {p}: {e}"))),
        }
    }
    Ok(())
}

/// Whether `m` is a named pipe: `replay <(zstdcat old.zst)` reads a stream as stdin is read.
#[cfg(unix)]
fn is_pipe(m: &std::fs::Metadata) -> bool {
    std::os::unix::fs::FileTypeExt::is_fifo(&m.file_type())
}

#[cfg(not(unix))]
fn is_pipe(_: &std::fs::Metadata) -> bool {
    false
}

/// What `flashpoint replay` was asked to do: its flags, parsed by clap (the `replay`
/// subcommand's arguments), not yet checked.
#[derive(Debug, Clone, clap::Args)]
pub struct ReplayArgs {
    /// The configuration file (TOML; brands, detection, sinks).
    #[arg(long)]
    pub config: PathBuf,
    /// "max" or how many times faster than real time to replay.
    #[arg(long, default_value = "max")]
    pub speed: String,
    /// Write the alert log here ("-" = stdout).
    #[arg(long)]
    pub alerts: Option<String>,
    /// Write an HTML report here.
    #[arg(long)]
    pub report: Option<String>,
    /// Write the report's content as JSON here (for tools).
    #[arg(long)]
    pub report_json: Option<String>,
    /// Write the report's per-minute series per brand as CSV here.
    #[arg(long)]
    pub report_csv: Option<String>,
    /// Show the HTML report's times at this offset from UTC ("UTC", "+02:00", "-05:30").
    #[arg(long, default_value = "UTC", value_parser = super::report::parse_timezone)]
    pub timezone: chrono::FixedOffset,
    /// Replay only mentions at or after this event time (RFC 3339).
    #[arg(long)]
    pub from: Option<String>,
    /// Replay only mentions before this event time (RFC 3339).
    #[arg(long)]
    pub to: Option<String>,
    /// Replay for this brand only (the others are dropped from the configuration).
    #[arg(long)]
    pub brand: Option<String>,
    /// Start from this checkpoint (learned state of an earlier replay or run).
    #[arg(long)]
    pub checkpoint_in: Option<String>,
    /// Save the learned state here at the end.
    #[arg(long)]
    pub checkpoint_out: Option<String>,
    /// Sentiment model; default: `[pipeline] sentiment_model`.
    #[arg(long, value_parser = model_names())]
    pub model: Option<String>,
    /// Second sentiment model for mentions of brands with a candidate incident ("none" =
    /// off); default: `[pipeline] incident_sentiment_model`.
    #[arg(long, value_parser = incident_model_names())]
    pub incident_model: Option<String>,
    /// Threads to split detection over, brands partitioned among them (0 = one per core);
    /// the alert log is the same for any number. Default: `[pipeline] shards`.
    #[arg(long)]
    pub shards: Option<usize>,
    /// Archives (.ndjson, .ndjson.gz, .ndjson.zst; "-" = stdin).
    #[arg(required = true)]
    pub archives: Vec<String>,
    /// Send the replay's notifications to the configured `[[sink]]`s (without it, a replay
    /// never pages anyone).
    #[arg(long)]
    pub deliver: bool,
}

/// `--model`'s accepted values: the one list of sentiment model names
/// ([`crate::config::MODEL_NAMES`]), shared by help, parsing and errors.
pub fn model_names() -> ModelName {
    ModelName { extra: &[] }
}

/// `--incident-model`'s accepted values: the model names and `none`.
pub fn incident_model_names() -> ModelName {
    ModelName { extra: &["none"] }
}

/// Parses a model name against [`crate::config::MODEL_NAMES`] (plus `extra`), listing them in
/// `--help`; a rejected name gets the model registry's own error (the list, or the cargo
/// feature to rebuild with), and exit 2.
#[derive(Debug, Clone, Copy)]
pub struct ModelName {
    extra: &'static [&'static str],
}

impl clap::builder::TypedValueParser for ModelName {
    type Value = String;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<String, clap::Error> {
        let s = value.to_string_lossy();
        if crate::config::MODEL_NAMES.contains(&s.as_ref()) || self.extra.contains(&s.as_ref()) {
            return Ok(s.into_owned());
        }
        let why = match crate::score::sentiment::model_by_name(&s) {
            Err(e) => e.to_string(),
            Ok(_) => format!("unknown sentiment model {s:?}"),
        };
        let flag = arg
            .and_then(clap::Arg::get_long)
            .map_or_else(String::new, |l| format!("--{l}: "));
        let mut cmd = cmd.clone();
        let also = if self.extra.is_empty() {
            String::new()
        } else {
            format!("; also accepted: {}", self.extra.join(", "))
        };
        Err(cmd.error(
            clap::error::ErrorKind::InvalidValue,
            format!("{flag}{why}{also}"),
        ))
    }

    fn possible_values(
        &self,
    ) -> Option<Box<dyn Iterator<Item = clap::builder::PossibleValue> + '_>> {
        Some(Box::new(
            crate::config::MODEL_NAMES
                .iter()
                .chain(self.extra)
                .map(|n| clap::builder::PossibleValue::new(*n)),
        ))
    }
}

/// `flashpoint replay`: returns the process exit code.
pub fn replay(args: ReplayArgs) -> u8 {
    let ReplayArgs {
        config,
        speed,
        alerts,
        report,
        report_json,
        report_csv,
        timezone,
        from,
        to,
        brand,
        checkpoint_in,
        checkpoint_out,
        model,
        incident_model,
        shards,
        archives,
        deliver,
    } = args;
    let cfg = match config::load(&config) {
        Ok(c) => c,
        Err(errs) => {
            eprint!("{errs}");
            return 2;
        }
    };
    let report_meta = report_meta(&config, &archives, timezone);
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
    let inputs = check_inputs("archive", &archives)
        .and_then(|()| check_inputs("--checkpoint-in", &checkpoint_in));
    if let Err(e) = inputs {
        eprintln!("error: {e}");
        return 2;
    }
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
    if let Some(n) = shards.filter(|&n| n > config::MAX_SHARDS) {
        eprintln!(
            "error: --shards {n} is more than {} (0 = one per core)",
            config::MAX_SHARDS
        );
        return 2;
    }
    let outputs = Outputs {
        alerts: alerts.clone(),
        report: report.clone(),
        report_json: report_json.clone(),
        report_csv: report_csv.clone(),
    };
    let opts = ReplayOptions {
        alerts,
        report,
        report_json,
        report_csv,
        report_meta,
        progress: true,
        sentiment_model: model.unwrap_or_else(|| cfg.pipeline.sentiment_model.clone()),
        incident_model: incident_model_choice(incident_model, &cfg),
        from,
        to,
        checkpoint_in,
        checkpoint_out,
        shards: super::replay::shard_count(shards.unwrap_or(cfg.pipeline.shards)),
        ..ReplayOptions::new(speed)
    };
    exit_code(runtime().and_then(|rt| {
        rt.block_on(async {
            let cfg = Arc::new(cfg);
            let mut opts = opts;
            let ids: Vec<&str> = cfg.brands.iter().map(|b| b.id.as_str()).collect();
            let delivery_metrics = Arc::new(Metrics::new(&ids, 1000));
            let delivery = if deliver {
                let d = start_delivery(&cfg, Arc::clone(&delivery_metrics))?;
                if let Some(d) = &d {
                    opts.notifiers.push(Arc::clone(d) as Arc<dyn Notifier>);
                }
                d
            } else {
                None
            };
            let s = super::replay(Arc::clone(&cfg), Input::Paths(archives), opts, None).await?;
            print_summary(&s);
            let mut delivered = None;
            if let Some(d) = delivery {
                let left = finish_delivery(&d, cfg.delivery.drain_timeout.0).await;
                delivered = Some(Delivered {
                    sent: counter_total(&delivery_metrics.sink_sent_total),
                    dead: counter_total(&delivery_metrics.sink_dead_letters_total),
                    pending: left,
                });
            }
            eprintln!("{}", outputs.result_line(s.alerts.len(), delivered));
            if let Some(d) = delivered.filter(|d| d.pending > 0 || d.dead > 0) {
                // Not a success: pages the analyst asked for have not arrived.
                anyhow::bail!(
                    "replay --deliver: {} still pending, {} dead-lettered (see `flashpoint outbox list`)",
                    plural(d.pending as u64, "notification"),
                    d.dead
                );
            }
            Ok(())
        })
    }))
}

/// The report's provenance: archive file names, the configuration's name and sha256.
fn report_meta(
    config: &std::path::Path,
    archives: &[String],
    timezone: chrono::FixedOffset,
) -> super::report::ReportMeta {
    use sha2::Digest;
    let name = |p: &std::path::Path| {
        p.file_name().map_or_else(
            || p.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        )
    };
    super::report::ReportMeta {
        archives: archives
            .iter()
            .map(|a| {
                if a == "-" {
                    String::from("stdin")
                } else {
                    name(std::path::Path::new(a))
                }
            })
            .collect(),
        config: std::fs::read(config)
            .ok()
            .map(|bytes| (name(config), hex::encode(sha2::Sha256::digest(bytes)))),
        timezone,
        generated_at: String::new(),
    }
}

/// Where a replay wrote its results, for the one-line result at the end.
struct Outputs {
    alerts: Option<String>,
    report: Option<String>,
    report_json: Option<String>,
    report_csv: Option<String>,
}

impl Outputs {
    /// `done: 12 alerts written to alerts.ndjson; report report.html; deliveries: 5 sent, 0
    /// dead-lettered, 0 pending` (the parts that apply).
    fn result_line(&self, alerts: usize, delivered: Option<Delivered>) -> String {
        let alerts = plural(alerts as u64, "alert");
        let mut line = match self.alerts.as_deref() {
            Some("-") => format!("done: {alerts} written to stdout"),
            Some(path) => format!("done: {alerts} written to {path}"),
            None => format!("done: {alerts} (not written: no --alerts)"),
        };
        match (&self.report, &self.report_json) {
            (Some(h), Some(j)) => line.push_str(&format!("; report {h} (JSON {j})")),
            (Some(h), None) => line.push_str(&format!("; report {h}")),
            (None, Some(j)) => line.push_str(&format!("; JSON report {j}")),
            (None, None) => {}
        }
        if let Some(c) = &self.report_csv {
            line.push_str(&format!("; CSV {c}"));
        }
        match delivered {
            Some(Delivered {
                sent,
                dead,
                pending,
            }) => line.push_str(&format!(
                "; deliveries: {sent} sent, {dead} dead-lettered, {pending} pending"
            )),
            None => line.push_str("; nothing delivered (no --deliver)"),
        }
        line
    }
}

/// What `replay --deliver` delivered by the end of its drain.
#[derive(Debug, Clone, Copy)]
struct Delivered {
    sent: u64,
    /// Given up on (a 4xx rejection, `max_age`): these pages never arrive.
    dead: u64,
    pending: usize,
}

/// A sink counter (`sink_sent_total`, `sink_dead_letters_total`) summed over sinks.
fn counter_total(c: &prometheus::IntCounterVec) -> u64 {
    use prometheus::core::Collector;
    c.collect()
        .iter()
        .flat_map(|f| f.get_metric())
        .map(|c| c.get_counter().get_value() as u64)
        .sum()
}

/// `flashpoint check-config`: validates `file` and lists every error (exit 2).
pub fn check_config(file: &std::path::Path) -> u8 {
    match config::load(file) {
        Ok(cfg) => {
            println!(
                "{}: ok ({})",
                file.display(),
                plural(cfg.brands.len() as u64, "brand")
            );
            0
        }
        Err(errs) => {
            eprint!("{errs}");
            2
        }
    }
}

/// `flashpoint outbox list`: pending notifications and the dead-letter list, one JSON line
/// each.
pub fn outbox_list(dir: &std::path::Path) -> anyhow::Result<()> {
    if !std::fs::metadata(dir).is_ok_and(|m| m.is_dir()) {
        return Err(UsageError(format!("outbox folder {} does not exist", dir.display())).into());
    }
    let snap = crate::alert::outbox::Outbox::read(dir)?;
    if snap.rejected > 0 {
        eprintln!(
            "{} skipped (they are set aside in {} when the outbox next opens)",
            plural(snap.rejected, "unreadable outbox line"),
            crate::alert::outbox::REJECTED_FILE
        );
    }
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

/// `flashpoint sentiment`: scores each stdin line with `model`, one JSON line each.
///
/// Every core scores: the input is cut into chunks of [`SENTIMENT_CHUNK`] lines (or
/// [`SENTIMENT_CHUNK_BYTES`] of text), chunk `i` goes to worker `i mod N` (one per core) and the
/// output is written from the workers' queues in the same rotation, so it is in input order,
/// one line per input line, as on one thread. Queues are bounded (two chunks per worker) and
/// block, and no line over [`MAX_LINE_BYTES`] is held, so memory stays flat on any input.
///
/// Bad input never ends the run: a line that is not UTF-8 is scored with U+FFFD in place of
/// its bad bytes (the rest of it is still text worth a score, and its output line keeps the
/// usual form), and a line over [`MAX_LINE_BYTES`] is read past unheld and answered by a
/// per-line error object (`{"line", "message", "reason": "oversize"}`) in its place, so output
/// line `n` still answers input line `n`. Both are counted on stderr.
pub fn sentiment(model: &str) -> anyhow::Result<()> {
    let workers = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    let stdin = std::io::BufReader::with_capacity(256 * 1024, std::io::stdin());
    let out = std::io::BufWriter::new(std::io::stdout());
    sentiment_stream(model, workers, stdin, out)
}

/// Lines per chunk of `flashpoint sentiment` (batched models such as onnx are several times
/// faster on chunks; output is flushed after each).
pub const SENTIMENT_CHUNK: usize = 512;

/// Bytes of text after which a `flashpoint sentiment` chunk goes out short of
/// [`SENTIMENT_CHUNK`] lines: lines of up to [`MAX_LINE_BYTES`] would otherwise make a
/// chunk half a gigabyte, and every worker holds several.
const SENTIMENT_CHUNK_BYTES: usize = 4 << 20;

/// Bad `flashpoint sentiment` input lines described on stderr one by one; the rest are only
/// counted.
const SENTIMENT_BAD_LINES_SHOWN: u64 = 10;

/// One `flashpoint sentiment` output line.
#[derive(serde::Serialize)]
struct SentimentLine<'a> {
    // Field order = sorted keys, as the command has always written them.
    /// The category lexicon's best category for the text alone (`null` when no phrase of any
    /// category matched): what the incident stage would count it as. Added 2026-12-06.
    category: Option<&'static str>,
    complaint: f64,
    label: &'a str,
    /// The risk triage's single-post risk, 0..1 (a watch opens from 0.6). Added 2026-12-06.
    risk: f64,
    score: f64,
}

/// The `flashpoint sentiment` output line in place of an input line it could not score.
#[derive(serde::Serialize)]
struct SentimentLineError {
    // Sorted, like the scores' keys; the fields of `POST /v1/mentions`' per-line errors.
    line: u64,
    message: String,
    reason: &'static str,
}

/// One `flashpoint sentiment` input line, as the workers get it.
enum SentimentInput {
    /// Text to score.
    Text(String),
    /// A line not scored; its output line is this error.
    Bad(SentimentLineError),
}

/// [`sentiment`] over any input and output with `workers` scoring threads (at least one).
pub fn sentiment_stream(
    model: &str,
    workers: usize,
    input: impl BufRead,
    mut out: impl Write + Send,
) -> anyhow::Result<()> {
    let model: Arc<dyn crate::score::sentiment::SentimentModel> =
        Arc::from(crate::score::sentiment::model_by_name(model)?);
    let complaint = crate::score::sentiment::complaint::ComplaintModel::embedded()?;
    let classifier = &crate::score::classify::KeywordClassifier::try_embedded()?;
    let workers = workers.max(1);
    std::thread::scope(|scope| -> anyhow::Result<()> {
        let mut inputs = Vec::with_capacity(workers);
        let mut outputs = Vec::with_capacity(workers);
        for _ in 0..workers {
            let (in_tx, in_rx) = std::sync::mpsc::sync_channel::<Vec<SentimentInput>>(2);
            let (out_tx, out_rx) = std::sync::mpsc::sync_channel::<anyhow::Result<Vec<u8>>>(2);
            let model = Arc::clone(&model);
            scope.spawn(move || {
                let mut scored = Vec::with_capacity(SENTIMENT_CHUNK);
                while let Ok(lines) = in_rx.recv() {
                    let texts: Vec<&str> = lines
                        .iter()
                        .filter_map(|l| match l {
                            SentimentInput::Text(t) => Some(t.as_str()),
                            SentimentInput::Bad(_) => None,
                        })
                        .collect();
                    model.score_batch(&texts, &mut scored);
                    let mut buf = Vec::with_capacity(64 * lines.len());
                    let mut result = Ok(());
                    let mut scores = scored.iter().zip(&texts);
                    for l in &lines {
                        result = match l {
                            SentimentInput::Bad(e) => serde_json::to_writer(&mut buf, e),
                            SentimentInput::Text(_) => {
                                // One score per text, in order (`score_batch`'s contract).
                                let Some((s, text)) = scores.next() else {
                                    break;
                                };
                                let class =
                                    crate::score::classify::Classifier::classify(classifier, text);
                                let round = |x: f32| (f64::from(x) * 10_000.0).round() / 10_000.0;
                                let line = SentimentLine {
                                    category: class.top().map(|(c, _)| c.as_str()),
                                    complaint: round(complaint.probability(text)),
                                    label: s.label.as_str(),
                                    risk: round(class.risk),
                                    score: round(s.score),
                                };
                                serde_json::to_writer(&mut buf, &line)
                            }
                        };
                        if result.is_err() {
                            break;
                        }
                        buf.push(b'\n');
                    }
                    if out_tx
                        .send(result.map(|()| buf).map_err(Into::into))
                        .is_err()
                    {
                        return;
                    }
                }
            });
            inputs.push(in_tx);
            outputs.push(out_rx);
        }
        // The writer: chunks in input order, from the workers in rotation.
        let writer = scope.spawn(move || -> anyhow::Result<()> {
            for i in 0.. {
                let Some(rx) = outputs.get(i % workers) else {
                    break;
                };
                let Ok(chunk) = rx.recv() else {
                    break;
                };
                out.write_all(&chunk?)?;
                out.flush()?;
            }
            Ok(())
        });
        let mut input = input;
        let mut lines: Vec<SentimentInput> = Vec::with_capacity(SENTIMENT_CHUNK);
        let mut chunk_bytes = 0usize;
        let mut next = 0usize;
        let mut read = Ok(());
        let mut bytes = Vec::with_capacity(1024);
        let mut number = 0u64;
        let (mut not_utf8, mut oversize) = (0u64, 0u64);
        loop {
            bytes.clear();
            let line = match read_line_bounded(&mut input, &mut bytes, MAX_LINE_BYTES) {
                Ok(Line::Whole(0)) => break,
                Ok(Line::Whole(_)) => {
                    number += 1;
                    let text = line_content(&bytes);
                    chunk_bytes += text.len();
                    SentimentInput::Text(match std::str::from_utf8(text) {
                        Ok(t) => t.to_owned(),
                        Err(e) => {
                            not_utf8 += 1;
                            if not_utf8 + oversize <= SENTIMENT_BAD_LINES_SHOWN {
                                eprintln!(
                                    "sentiment: line {number}: not UTF-8 ({e}); scored with \
                                     U+FFFD in place of the bad bytes"
                                );
                            }
                            String::from_utf8_lossy(text).into_owned()
                        }
                    })
                }
                Ok(Line::Oversize(n)) => {
                    number += 1;
                    oversize += 1;
                    let message =
                        format!("a line of {n} bytes, longer than {MAX_LINE_BYTES}: not scored");
                    if not_utf8 + oversize <= SENTIMENT_BAD_LINES_SHOWN {
                        eprintln!("sentiment: line {number}: {message}");
                    }
                    // Do not keep a buffer the size of the longest line seen.
                    bytes = Vec::with_capacity(1024);
                    SentimentInput::Bad(SentimentLineError {
                        line: number,
                        message,
                        reason: "oversize",
                    })
                }
                Err(e) => {
                    read = Err(e);
                    break;
                }
            };
            lines.push(line);
            if lines.len() == SENTIMENT_CHUNK || chunk_bytes >= SENTIMENT_CHUNK_BYTES {
                chunk_bytes = 0;
                let chunk = std::mem::replace(&mut lines, Vec::with_capacity(SENTIMENT_CHUNK));
                if inputs
                    .get(next % workers)
                    .is_none_or(|tx| tx.send(chunk).is_err())
                {
                    break;
                }
                next += 1;
            }
        }
        if !lines.is_empty() {
            if let Some(tx) = inputs.get(next % workers) {
                // A closed queue means the writer failed; its error is reported below.
                let _sent = tx.send(lines).is_ok();
            }
        }
        drop(inputs);
        let mut bad = Vec::new();
        if not_utf8 > 0 {
            let lines = plural(not_utf8, "line");
            bad.push(format!("{lines} not UTF-8 (scored with U+FFFD)"));
        }
        if oversize > 0 {
            let lines = plural(oversize, "line");
            bad.push(format!(
                "{lines} over {MAX_LINE_BYTES} bytes (not scored: an error object in their place)"
            ));
        }
        if !bad.is_empty() {
            eprintln!("sentiment: {}", bad.join(", "));
        }
        writer
            .join()
            .map_err(|_| anyhow::anyhow!("the sentiment writer panicked"))??;
        read?;
        Ok(())
    })
}

/// `flashpoint synth`: writes the deterministic synthetic stream.
pub fn synth(out: &std::path::Path, seed: u64, days: u32) -> anyhow::Result<()> {
    use crate::synth::MAX_DAYS;
    if !(1..=MAX_DAYS).contains(&days) {
        return Err(UsageError(format!("--days {days}: must be 1 to {MAX_DAYS}")).into());
    }
    // `replay -` reads stdin; a file named "-" written here would be read back as stdin.
    if out.as_os_str() == "-" {
        return Err(UsageError(String::from(
            "--out -: synth writes a file whose name sets its format; give a file name (.ndjson, .ndjson.gz or .ndjson.zst)",
        ))
        .into());
    }
    if out.is_dir() {
        return Err(UsageError(format!(
            "--out {}: is a directory; give a file name (.ndjson, .ndjson.gz or .ndjson.zst)",
            out.display()
        ))
        .into());
    }
    let spec = crate::synth::SynthSpec {
        seed,
        days,
        ..crate::synth::SynthSpec::demo()
    };
    use crate::synth::SynthProgress;
    let generating = super::progress::start(true, "synth: generating", None);
    let mut writing = None;
    let mentions = crate::synth::write_archive_with(&spec, out, &mut |p| match p {
        SynthProgress::Generated { mentions } => {
            if let Some(g) = &generating {
                g.finish_and_clear();
            }
            writing = super::progress::start(true, "synth: writing", Some(mentions));
        }
        SynthProgress::Written { mentions } => {
            if let Some(w) = &writing {
                w.set_position(mentions);
            }
        }
    })?;
    if let Some(w) = writing {
        w.finish_and_clear();
    }
    eprintln!(
        "done: {} ({}, seed {seed}) written to {}",
        plural(mentions, "mention"),
        plural(u64::from(days), "day"),
        out.display()
    );
    Ok(())
}

/// `flashpoint train sentiment`: trains and writes the `linear` model's weights.
pub fn train_sentiment(
    data: &std::path::Path,
    out: &std::path::Path,
    teacher: Option<&str>,
    transfer: &std::path::Path,
    teacher_cache: Option<&std::path::Path>,
    gold_dir: &std::path::Path,
) -> anyhow::Result<()> {
    use crate::score::sentiment::train;
    let corpus = train::load_corpus(data)?;
    let gold = train::read_gold(gold_dir, true)
        .map_err(|e| anyhow::anyhow!("reading hand labels in {}: {e}", gold_dir.display()))?;
    eprintln!(
        "hand labels: {}",
        if gold.is_empty() {
            "none".to_owned()
        } else {
            gold.iter()
                .map(|d| format!("{} {}", d.name, d.items.len()))
                .collect::<Vec<_>>()
                .join(", ")
        }
    );
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
        train::select_and_train(&corpus, teacher.as_ref(), &gold, |l| eprintln!("{l}"));
    eprintln!(
        "chosen: lr {} l2 {:e} epochs {} gold mix {} transfer {} hand-label weight {} (dev \
         macro-recall {dev:.4}); retrained on all {} tweets",
        hyper.lr,
        hyper.l2,
        hyper.epochs,
        hyper.gold_mix,
        hyper.transfer,
        hyper.gold_weight,
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

/// `flashpoint train complaint`: trains and writes the complaint model's weights.
pub fn train_complaint(
    data: &std::path::Path,
    gold_dir: &std::path::Path,
    out: &std::path::Path,
) -> anyhow::Result<()> {
    use crate::score::sentiment::{complaint, train};
    let corpus = train::load_corpus(data)?;
    let gold = complaint::read_gold(gold_dir, true)
        .map_err(|e| anyhow::anyhow!("reading hand labels in {}: {e}", gold_dir.display()))?;
    anyhow::ensure!(
        !gold.is_empty(),
        "no hand-labelled domains (<domain>_complaints.txt + <domain>_other.txt) in {}",
        gold_dir.display()
    );
    let (weights, hyper, sel) = complaint::select_and_train(&corpus, &gold, |l| eprintln!("{l}"));
    eprintln!(
        "chosen: lr {} l2 {:e} gold weight {} epochs {} threshold {} (held-out hand-label F1 {:.4}, dev F1 \
         against the rules {:.4}, dev complaint rate {:.4}); retrained on all {} tweets and {} hand-labelled posts",
        hyper.lr,
        hyper.l2,
        hyper.gold_weight,
        hyper.epochs,
        hyper.threshold,
        sel.held_out_gold_f1,
        sel.dev_weak_f1,
        sel.dev_rate,
        corpus.train.len() + corpus.dev.len(),
        gold.iter().map(|d| d.items.len()).sum::<usize>()
    );
    let bytes = weights.to_bytes();
    complaint::ComplaintModel::from_bytes(&bytes)?;
    write_weights(out, &bytes)
}

/// The summary line(s) of a replay, on stderr.
pub fn print_summary(s: &ReplaySummary) {
    let e = &s.engine;
    let errors: u64 = s.decode.errors.values().sum();
    eprintln!(
        "\nreplayed {} in {:.2}s: {} decoded, {} skipped as malformed, {} matched, {} late, {} too late, {}",
        plural(s.decode.lines, "line"),
        s.wall.as_secs_f64(),
        s.decode.decoded,
        errors,
        e.matched,
        e.late,
        e.too_late,
        plural(s.alerts.len() as u64, "alert")
    );
    if e.outliers > 0 {
        eprintln!(
            "{} dropped as event-time outliers (flashpoint_ingest_dropped_total, reasons \
             future_event_time and stale_event_time)",
            plural(e.outliers, "mention")
        );
    }
    if e.duplicates > 0 {
        eprintln!(
            "{} dropped as duplicates (a source and id taken in already)",
            plural(e.duplicates, "matched mention")
        );
    }
    if let Some(r) = &s.refine {
        eprintln!(
            "incident sentiment model: {} mentions re-scored in {} batches, {} kept the fast score",
            r.refined, r.batches, r.skipped
        );
    }
    // Who the alert log pages, how often, for what (the console's PAGE lines, per team).
    let pages = crate::alert::PageLedger::new();
    for a in &s.alerts {
        pages.record(a);
    }
    eprint!("{}", pages.summary());
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `flashpoint sentiment`'s output lines for `input`, parsed.
    fn sentiment_lines(input: &[u8], workers: usize) -> Vec<serde_json::Value> {
        let mut out = Vec::new();
        sentiment_stream("lexicon", workers, input, &mut out).unwrap();
        String::from_utf8(out)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    #[test]
    fn sentiment_scores_every_line_around_bad_bytes_and_oversize_lines() {
        let huge = "x".repeat(crate::domain::codec::MAX_LINE_BYTES + 1);
        let exact = "y".repeat(crate::domain::codec::MAX_LINE_BYTES);
        let input = [
            &b"good day\n\xff\xfe bad bytes\r\nthis is terrible\n"[..],
            huge.as_bytes(),
            b"\n",
            exact.as_bytes(),
            b"\r\nawful awful service",
        ]
        .concat();
        for workers in [1, 3] {
            let lines = sentiment_lines(&input, workers);
            assert_eq!(lines.len(), 6, "one output line per input line: {lines:?}");
            assert_eq!(lines[0]["label"], "positive");
            // The bad bytes are read as U+FFFD: the rest of the line is still scored.
            assert!(lines[1]["score"].is_number(), "{}", lines[1]);
            assert_eq!(lines[2]["label"], "negative");
            assert_eq!(lines[3]["reason"], "oversize", "{}", lines[3]);
            assert_eq!(lines[3]["line"], 4);
            assert!(lines[3].get("label").is_none());
            assert_eq!(lines[4]["label"], "neutral", "exactly the limit is scored");
            assert_eq!(lines[5]["label"], "negative");
        }
    }

    /// Each line says what the incident stage would count the text as: its category and its
    /// single-post risk, keys sorted as before.
    #[test]
    fn sentiment_lines_carry_the_category_and_the_risk() {
        let lines = sentiment_lines(
            b"the engineer was drunk and smelled of alcohol\nthe app is down again\na photo of the harbour at dawn\n",
            2,
        );
        assert_eq!(lines[0]["category"], "conduct", "{}", lines[0]);
        assert!(
            lines[0]["risk"].as_f64().is_some_and(|r| r >= 0.6),
            "{}",
            lines[0]
        );
        assert_eq!(lines[1]["category"], "outage", "{}", lines[1]);
        assert_eq!(lines[1]["risk"], 0.0);
        assert!(lines[2]["category"].is_null(), "{}", lines[2]);
        let mut out = Vec::new();
        sentiment_stream("lexicon", 1, &b"the app is down\n"[..], &mut out).unwrap();
        let line = String::from_utf8(out).unwrap();
        let at: Vec<usize> = [
            "\"category\"",
            "\"complaint\"",
            "\"label\"",
            "\"risk\"",
            "\"score\"",
        ]
        .iter()
        .map(|k| line.find(k).unwrap_or(usize::MAX))
        .collect();
        assert!(at.windows(2).all(|w| w[0] < w[1]), "keys sorted: {line}");
    }
}
