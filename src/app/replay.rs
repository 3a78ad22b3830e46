//! Replaying archives in event time: reader thread → engine → alert log and notifiers.
//!
//! Pacing uses tokio's clock (`sleep_until`), so tests run paced replays instantly under
//! paused time; the engine itself never sees a clock, so the alert log is identical at any
//! speed.

use std::io::IsTerminal;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::sync::mpsc;

use super::engine::Engine;
use super::prepare::{self, Preparation};
use super::refine::Refiner;
pub use super::summary::ReplaySummary;
use crate::alert::{AlertLog, AlertOutput, Notifier};
use crate::config::Config;
use crate::domain::{EventTime, Mention};
use crate::ingest::archive::{self, DecodeStats, ReadError};
use crate::score::classify::KeywordClassifier;
use crate::score::sentiment::model_by_name;
use crate::telemetry::Metrics;

/// Mentions per batch between the reader and the engine.
const BATCH: usize = 1024;
/// Decode errors logged individually before only counting.
const LOGGED_ERRORS: u64 = 20;

/// Minutes of event time between the report's samples of each brand.
const REPORT_STEP_MINUTES: i64 = 10;

/// How fast to replay.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Speed {
    /// As fast as the machine allows.
    Max,
    /// Event time runs this many times faster than wall time.
    Factor(f64),
}

impl Speed {
    /// Parses `max` or a positive number.
    pub fn parse(s: &str) -> Result<Speed, String> {
        if s == "max" {
            return Ok(Speed::Max);
        }
        match s.parse::<f64>() {
            Ok(f) if f > 0.0 && f.is_finite() => Ok(Speed::Factor(f)),
            _ => Err(format!("speed {s:?} must be \"max\" or a positive number")),
        }
    }
}

/// Where a replay's input comes from.
pub enum Input {
    /// Archive paths (`-` = stdin), read in order.
    Paths(Vec<String>),
    /// An in-memory archive (the embedded demo sample), possibly compressed.
    Bytes(&'static [u8]),
}

/// What a replay does besides computing alerts.
pub struct ReplayOptions {
    pub speed: Speed,
    /// Alert log destination (`-` = stdout).
    pub alerts: Option<String>,
    /// HTML report destination.
    pub report: Option<String>,
    /// Notifiers that receive every alert (console in the demo, sinks with `--deliver`).
    pub notifiers: Vec<Arc<dyn Notifier>>,
    /// Show a progress line on stderr (only when stderr is a terminal).
    pub progress: bool,
    pub sentiment_model: String,
    /// Second sentiment model for mentions of brands with a candidate incident, scored in
    /// batches of `[pipeline] incident_sentiment_batch` on the replay's thread (deterministic,
    /// see [`super::refine`]); `None`: every mention keeps `sentiment_model`'s score.
    pub incident_model: Option<String>,
    /// Machine-readable report destination (the HTML report's content as JSON).
    pub report_json: Option<String>,
    /// Only mentions with event time in `[from, to)` are replayed (an analyst's slice; the
    /// slice starts without history, so start it early enough for baselines to learn).
    pub from: Option<EventTime>,
    pub to: Option<EventTime>,
    /// Start from this checkpoint (the learned state of an earlier replay or run).
    pub checkpoint_in: Option<String>,
    /// Save the learned state here at the end.
    pub checkpoint_out: Option<String>,
    /// Threads that match and score mentions ahead of the engine ([`super::prepare`]); the
    /// alert log is the same for any number. 0: the engine does it on its own thread.
    pub prepare_workers: usize,
}

impl ReplayOptions {
    /// Replay as fast as possible, writing nothing, notifying nobody.
    pub fn new(speed: Speed) -> ReplayOptions {
        ReplayOptions {
            speed,
            alerts: None,
            report: None,
            notifiers: Vec::new(),
            progress: false,
            sentiment_model: String::from(crate::config::DEFAULT_SENTIMENT_MODEL),
            incident_model: None,
            report_json: None,
            from: None,
            to: None,
            checkpoint_in: None,
            checkpoint_out: None,
            prepare_workers: default_prepare_workers(),
        }
    }
}

/// One preparing thread per core (the reader and the engine share them).
pub fn default_prepare_workers() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
}

/// Replays `input` through the whole pipeline.
pub async fn replay(
    cfg: Arc<Config>,
    input: Input,
    opts: ReplayOptions,
    metrics: Option<Arc<Metrics>>,
) -> anyhow::Result<ReplaySummary> {
    let started = tokio::time::Instant::now();
    let wall_started = std::time::Instant::now();
    let sentiment = model_by_name(&opts.sentiment_model)?;
    let mut engine = Engine::new(
        Arc::clone(&cfg),
        sentiment,
        Box::new(KeywordClassifier::embedded()),
        metrics.clone(),
    )
    .context("building the brand matcher")?;
    if let Some(name) = &opts.incident_model {
        let model = model_by_name(name)?;
        engine.refine_with(
            Refiner::inline(model, cfg.pipeline.incident_sentiment_batch)
                .with_metrics(metrics.clone()),
        );
    }
    if let Some(path) = &opts.checkpoint_in {
        let found = super::checkpoint::load(&mut engine, std::path::Path::new(path))?;
        if !found {
            anyhow::bail!("checkpoint {path} does not exist");
        }
    }
    // No wall clock to check event times against: single outliers are dropped by the
    // watermark's guard instead (`replay::watermark`).
    engine.guard_event_times();
    if opts.report.is_some() || opts.report_json.is_some() {
        engine.record_series(REPORT_STEP_MINUTES);
    }
    let log = match &opts.alerts {
        Some(path) => Some(
            AlertLog::create(path, opts.speed != Speed::Max)
                .with_context(|| format!("cannot write alert log {path}"))?,
        ),
        None => None,
    };
    let mut output = AlertOutput::dispatching(log, metrics.clone(), opts.notifiers.clone());

    // `channel_capacity` mentions in all, split over the queues between reader, preparing
    // workers and engine; every queue blocks when full.
    let capacity = (cfg.pipeline.channel_capacity / BATCH).max(1);
    let reader_metrics = metrics.clone();
    let (mut rx, workers) = if opts.prepare_workers == 0 {
        let (tx, rx) = mpsc::channel::<Vec<Mention>>(capacity);
        let reader = std::thread::Builder::new()
            .name(String::from("flashpoint-reader"))
            .spawn(move || read_input(input, move |b| tx.blocking_send(b).is_ok(), reader_metrics))
            .context("spawning the reader thread")?;
        (Batches::Plain(rx), (reader, Vec::new()))
    } else {
        let per_queue = (capacity / (2 * opts.prepare_workers)).max(1);
        let (mut dispatch, prepared, handles) =
            prepare::spawn(&engine.preparer(), opts.prepare_workers, per_queue)
                .context("spawning the preparing threads")?;
        let reader = std::thread::Builder::new()
            .name(String::from("flashpoint-reader"))
            .spawn(move || read_input(input, move |b| dispatch.send(b), reader_metrics))
            .context("spawning the reader thread")?;
        (Batches::Prepared(prepared), (reader, handles))
    };
    let (reader, preparing) = workers;

    let progress = progress_bar(opts.progress);
    let mut first_event: Option<EventTime> = None;
    let mut alerts = Vec::new();
    while let Some(batch) = rx.recv().await {
        if let Some(m) = &metrics {
            m.pipeline_queue_depth
                .with_label_values(&["reader"])
                .set((rx.len() * BATCH) as f64);
        }
        let n = batch.len();
        for (mention, prep) in batch {
            let mention = &mention;
            let outside = opts.from.is_some_and(|f| mention.created_at < f)
                || opts.to.is_some_and(|t| mention.created_at >= t);
            if outside {
                continue;
            }
            if let Speed::Factor(f) = opts.speed {
                let first = *first_event.get_or_insert(mention.created_at);
                let ahead_ms = (mention.created_at.millis() - first.millis()).max(0) as f64 / f;
                let due = started + Duration::from_micros((ahead_ms * 1000.0) as u64);
                if due > tokio::time::Instant::now() {
                    tokio::time::sleep_until(due).await;
                }
            }
            let t0 = std::time::Instant::now();
            match prep {
                Some(prep) => engine.process_prepared(mention, prep),
                None => engine.process(mention),
            }
            for alert in engine.drain_alerts() {
                output.emit(Arc::new(alert.clone()), Some(t0)).await?;
                alerts.push(alert);
            }
        }
        if let Some(m) = &metrics {
            m.pipeline_mentions_processed_total.inc_by(n as u64);
            m.publish_latency();
            m.publish_sink_latency();
            publish_lag(m, engine.watermark());
        }
        if let Some(p) = &progress {
            let s = engine.stats();
            p.set_message(format!(
                "{} mentions, {} matched, {} alerts, event time {}",
                s.received,
                s.matched,
                s.alerts,
                engine.watermark()
            ));
        }
    }
    if let Some(p) = progress {
        p.finish_and_clear();
    }
    // Mentions still waiting for the incident model (none without one).
    let t0 = std::time::Instant::now();
    engine.finish();
    for alert in engine.drain_alerts() {
        output.emit(Arc::new(alert.clone()), Some(t0)).await?;
        alerts.push(alert);
    }
    let decode = reader
        .join()
        .map_err(|_| anyhow::anyhow!("the reader thread panicked"))??;
    for h in preparing {
        h.join()
            .map_err(|_| anyhow::anyhow!("a preparing thread panicked"))?;
    }
    output.flush()?;
    if let Some(path) = &opts.checkpoint_out {
        super::checkpoint::save(&engine, std::path::Path::new(path))?;
    }
    output.close().await?;
    let summary = ReplaySummary {
        decode,
        engine: engine.stats().clone(),
        alerts,
        wall: wall_started.elapsed(),
        series: engine.take_series(),
        refine: engine.refine_stats(),
    };
    if let Some(path) = &opts.report {
        super::report::write(path, &cfg, &summary)
            .with_context(|| format!("cannot write report {path}"))?;
    }
    if let Some(path) = &opts.report_json {
        super::report::write_json(path, &summary)
            .with_context(|| format!("cannot write report {path}"))?;
    }
    Ok(summary)
}

/// Event-time lag: wall clock minus the watermark (in a replay of old data, days).
fn publish_lag(m: &Metrics, watermark: EventTime) {
    if watermark == EventTime::MIN {
        return;
    }
    let now_ms = chrono::Utc::now().timestamp_millis();
    m.pipeline_event_time_lag_seconds
        .set(now_ms.saturating_sub(watermark.millis()) as f64 / 1000.0);
}

/// The archive reader as a source: connected while reading, with its cursor's age.
const SOURCE: &str = "archive";

fn progress_bar(wanted: bool) -> Option<indicatif::ProgressBar> {
    if !wanted || !std::io::stderr().is_terminal() {
        return None;
    }
    let p = indicatif::ProgressBar::new_spinner();
    p.enable_steady_tick(Duration::from_millis(120));
    Some(p)
}

/// The engine's input: the reader's batches, straight or through the preparing workers.
enum Batches {
    Plain(mpsc::Receiver<Vec<Mention>>),
    Prepared(prepare::Prepared),
}

impl Batches {
    async fn recv(&mut self) -> Option<Vec<(Mention, Option<Preparation>)>> {
        match self {
            Batches::Plain(rx) => Some(rx.recv().await?.into_iter().map(|m| (m, None)).collect()),
            Batches::Prepared(p) => Some(
                p.recv()
                    .await?
                    .into_iter()
                    .map(|(m, prep)| (m, Some(prep)))
                    .collect(),
            ),
        }
    }

    /// Batches waiting.
    fn len(&self) -> usize {
        match self {
            Batches::Plain(rx) => rx.len(),
            Batches::Prepared(p) => p.len(),
        }
    }
}

/// The reader thread: decodes archives into batches, blocking while the engine is behind.
/// `send` hands one batch on (blocking while full); `false` stops the read.
fn read_input(
    input: Input,
    mut send: impl FnMut(Vec<Mention>) -> bool,
    metrics: Option<Arc<Metrics>>,
) -> anyhow::Result<DecodeStats> {
    if let Some(m) = &metrics {
        m.init_source(SOURCE);
        m.source_connected.with_label_values(&[SOURCE]).set(1.0);
        // Zero series so the error and drop families are exported (and `rate()` works)
        // before the first bad line or late mention.
        m.ingest_decode_errors_total
            .with_label_values(&[SOURCE, "invalid_json"]);
        m.ingest_dropped_total
            .with_label_values(&[SOURCE, "too_late"]);
    }
    let mut logged = 0u64;
    let mut on_error = |e: &ReadError| {
        if let Some(m) = &metrics {
            m.ingest_decode_errors_total
                .with_label_values(&["archive", e.reason])
                .inc();
        }
        logged += 1;
        if logged <= LOGGED_ERRORS {
            tracing::warn!(path = %e.path, line = e.line, reason = e.reason, error = %e.message, "skipping bad line");
        }
    };
    let mut on_batch = |batch: Vec<Mention>| {
        if let Some(m) = &metrics {
            m.ingest_decoded_total
                .with_label_values(&["archive"])
                .inc_by(batch.len() as u64);
            if let Some(last) = batch.last() {
                let age_ms = chrono::Utc::now()
                    .timestamp_millis()
                    .saturating_sub(last.created_at.millis());
                m.source_cursor_age_seconds
                    .with_label_values(&[SOURCE])
                    .set(age_ms as f64 / 1000.0);
            }
        }
        send(batch)
    };
    let read = match input {
        Input::Paths(paths) => archive::read_batches(&paths, BATCH, &mut on_error, &mut on_batch),
        Input::Bytes(bytes) => archive::open_bytes(bytes).and_then(|reader| {
            archive::read_batches_from(reader, "demo", BATCH, &mut on_error, &mut on_batch)
        }),
    };
    if let Some(m) = &metrics {
        m.source_connected.with_label_values(&[SOURCE]).set(0.0);
    }
    let stats = read?;
    if let Some(m) = &metrics {
        m.ingest_lines_total
            .with_label_values(&["archive"])
            .inc_by(stats.lines);
    }
    Ok(stats)
}
