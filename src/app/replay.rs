//! Replaying archives in event time: reader thread → engine → alert log and notifiers.
//!
//! Pacing uses tokio's clock (`sleep_until`), so tests run paced replays instantly under
//! paused time; the engine itself never sees a clock, so the alert log is identical at any
//! speed.

use std::io::{BufRead, IsTerminal, Read};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::sync::mpsc;

use super::engine::Engine;
use super::prepare::{self, Preparation};
use super::progress::{self, ArchiveProgress};
use super::refine::Refiner;
pub use super::summary::ReplaySummary;
use crate::alert::{AlertLog, AlertOutput, Notifier};
use crate::config::Config;
use crate::domain::{EventTime, Mention};
use crate::ingest::archive::{self, DecodeStats, RawLines, ReadError};
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
    /// Show a progress bar (percentage, ETA) on stderr; only when stderr is a terminal.
    pub progress: bool,
    pub sentiment_model: String,
    /// Second sentiment model for mentions of brands with a candidate incident, scored in
    /// batches of `[pipeline] incident_sentiment_batch` on the replay's thread (deterministic,
    /// see [`super::refine`]); `None`: every mention keeps `sentiment_model`'s score.
    pub incident_model: Option<String>,
    /// Machine-readable report destination (the HTML report's content as JSON).
    pub report_json: Option<String>,
    /// The report's per-minute series as CSV.
    pub report_csv: Option<String>,
    /// The report's provenance and timezone.
    pub report_meta: super::report::ReportMeta,
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
    /// Detection split by brand over this many threads ([`super::shard`]); the alert log is
    /// the same for any number. 1: detection on the engine's thread. Replays that refine
    /// sentiment or read or write a checkpoint use one.
    pub shards: usize,
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
            report_csv: None,
            report_meta: super::report::ReportMeta::default(),
            from: None,
            to: None,
            checkpoint_in: None,
            checkpoint_out: None,
            prepare_workers: default_prepare_workers(),
            shards: 1,
        }
    }
}

/// Engine shards for `[pipeline] shards` / `--shards`: 0 means one per core.
pub fn shard_count(configured: usize) -> usize {
    if configured == 0 {
        default_prepare_workers()
    } else {
        configured
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
    // No wall clock to check event times against: outliers are dropped by the
    // watermark's guard instead (`replay::watermark`).
    engine.guard_event_times();
    if opts.report.is_some() || opts.report_json.is_some() || opts.report_csv.is_some() {
        engine.record_series(REPORT_STEP_MINUTES);
    }
    if opts.checkpoint_in.is_none() && opts.checkpoint_out.is_none() {
        engine
            .shard(opts.shards)
            .context("starting the engine shards")?;
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
    // Each batch travels with the reader's progress position after it, so the bar shows how
    // far the engine is, not how far the reader ran ahead (through the preparing workers, the
    // reader's last position: a few batches ahead).
    let reader_metrics = metrics.clone();
    // Measured only when a bar will be drawn (the plan samples a compressed archive).
    let plan = (opts.progress && std::io::stderr().is_terminal())
        .then(|| progress_plan(&input))
        .flatten();
    let progress = progress::start(
        opts.progress,
        "replay",
        plan.as_ref().map(ArchiveProgress::total),
    );
    // Bad lines logged so far, by the reader and by this loop (for lines the preparing threads
    // decoded): the first `LOGGED_ERRORS` of the replay are logged.
    let logged = Arc::new(AtomicU64::new(0));
    let reader_logged = Arc::clone(&logged);
    // Processed mentions go back to the thread that decoded them, to be freed there (glibc's
    // malloc frees a thread's own allocations from its cache; the engine's thread freeing
    // another's cost it a lock per chunk). Freed by the engine when that queue is full.
    let (sink, mut rx, preparing, mut back) = if opts.prepare_workers == 0 {
        let (back_tx, back_rx) = std::sync::mpsc::sync_channel::<Vec<Mention>>(capacity.max(1));
        let (tx, rx) = mpsc::channel::<(Vec<Mention>, u64)>(capacity);
        let sink = Sink::Decoded(Box::new(move |b, pos| {
            free_returned(&back_rx);
            tx.blocking_send((b, pos)).is_ok()
        }));
        (
            sink,
            Batches::Plain(rx),
            Vec::new(),
            Returns::Reader(back_tx),
        )
    } else {
        // The preparing threads decode too: the reader only splits lines (issue 20).
        let per_queue = (capacity / (2 * opts.prepare_workers)).max(1);
        // Batch `i` came from (and goes back to) thread `i mod N`.
        let preparer = engine.preparer();
        let mut returns = Vec::with_capacity(opts.prepare_workers);
        let (mut dispatch, decoded, handles) =
            prepare::spawn_with(opts.prepare_workers, per_queue, |_| {
                let (back_tx, back_rx) = std::sync::mpsc::sync_channel::<Vec<Mention>>(per_queue);
                returns.push(back_tx);
                let p = preparer.clone();
                move |raw: RawLines| {
                    free_returned(&back_rx);
                    decode_and_prepare(&p, raw)
                }
            })
            .context("spawning the preparing threads")?;
        let read_to = Arc::new(AtomicU64::new(0));
        let reader_pos = Arc::clone(&read_to);
        let sink = Sink::Raw(Box::new(move |raw, pos| {
            reader_pos.store(pos, Ordering::Relaxed);
            dispatch.send(raw)
        }));
        (
            sink,
            Batches::Decoded(decoded, read_to),
            handles,
            Returns::Workers(returns, 0),
        )
    };
    let reader = std::thread::Builder::new()
        .name(String::from("flashpoint-reader"))
        .spawn(move || read_input(input, sink, reader_metrics, plan, reader_logged))
        .context("spawning the reader thread")?;

    let mut first_event: Option<EventTime> = None;
    let mut alerts = Vec::new();
    // What the preparing threads decoded (with a raw sink the reader counts only lines).
    let mut decoded_here = DecodeStats::default();
    while let Some((batch, position, bad)) = rx.recv().await {
        if let Some(bad) = bad {
            decoded_here.decoded += batch.len() as u64;
            for e in &bad {
                *decoded_here.errors.entry(e.reason).or_default() += 1;
                report_bad_line(e, metrics.as_deref(), &logged);
            }
            count_decoded(
                batch.len(),
                batch.last().map(|(m, _)| m.created_at),
                metrics.as_deref(),
            );
        }
        if let Some(m) = &metrics {
            m.pipeline_queue_depth
                .with_label_values(&["reader"])
                .set((rx.len() * BATCH) as f64);
        }
        let n = batch.len();
        let (done, preps): (Vec<Mention>, Vec<_>) = batch.into_iter().unzip();
        for (mention, prep) in done.iter().zip(preps) {
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
        back.send(done);
        if let Some(m) = &metrics {
            m.pipeline_mentions_processed_total.inc_by(n as u64);
            m.publish_latency();
            m.publish_sink_latency();
            publish_lag(
                m,
                EventTime(chrono::Utc::now().timestamp_millis()),
                engine.max_seen(),
            );
        }
        if let Some(p) = &progress {
            let s = engine.stats();
            p.set_position(position);
            p.set_message(format!(
                "{} mentions, {} alerts, event time {}",
                s.received,
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
    let mut decode = reader
        .join()
        .map_err(|_| anyhow::anyhow!("the reader thread panicked"))??;
    decode.add(decoded_here);
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
        tally: engine.take_tally(),
        refine: engine.refine_stats(),
    };
    if let Some(path) = &opts.report {
        super::report::write(path, &cfg, &summary, &opts.report_meta)
            .with_context(|| format!("cannot write report {path}"))?;
    }
    if let Some(path) = &opts.report_csv {
        super::report::write_csv(path, &summary)
            .with_context(|| format!("cannot write report CSV {path}"))?;
    }
    if let Some(path) = &opts.report_json {
        super::report::write_json(path, &cfg, &summary, &opts.report_meta)
            .with_context(|| format!("cannot write report {path}"))?;
    }
    Ok(summary)
}

/// Event-time lag: the wall clock `now` minus the newest event time processed, `max_seen` (in
/// a replay of old data, days; live, how far behind real time the pipeline reads). Not minus
/// the watermark, which trails `max_seen` by the allowed lateness by design.
pub(super) fn publish_lag(m: &Metrics, now: EventTime, max_seen: EventTime) {
    if max_seen == EventTime::MIN {
        return;
    }
    m.pipeline_event_time_lag_seconds
        .set(now.millis().saturating_sub(max_seen.millis()) as f64 / 1000.0);
}

/// The archive reader as a source: connected while reading, with its cursor's age.
const SOURCE: &str = "archive";

/// Decompressed bytes read to measure a compressed archive's ratio for the progress estimate.
const RATIO_SAMPLE: u64 = 4 << 20;

/// zstd's and gzip's magic numbers: the archive is compressed.
fn compressed(head: &[u8]) -> bool {
    head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) || head.starts_with(&[0x1f, 0x8b])
}

/// The progress plan of `input`: each archive's on-disk size and whether it is compressed,
/// and the compression ratio of the first compressed one measured on a sample; `None` for
/// stdin (no size to measure against: a spinner).
fn progress_plan(input: &Input) -> Option<ArchiveProgress> {
    match input {
        Input::Bytes(b) => {
            let packed = compressed(b);
            let ratio = packed.then(|| sample_ratio(Box::new(*b))).flatten();
            Some(ArchiveProgress::new(vec![(b.len() as u64, packed)], ratio))
        }
        Input::Paths(paths) => {
            let mut files = Vec::with_capacity(paths.len());
            let mut ratio = None;
            for p in paths {
                if p == "-" {
                    return None;
                }
                let size = std::fs::metadata(p).ok()?.len();
                let mut head = [0u8; 4];
                let n = std::fs::File::open(p)
                    .and_then(|mut f| f.read(&mut head))
                    .ok()?;
                let packed = compressed(&head[..n]);
                if packed && ratio.is_none() {
                    ratio = std::fs::File::open(p)
                        .ok()
                        .and_then(|f| sample_ratio(Box::new(f)));
                }
                files.push((size, packed));
            }
            Some(ArchiveProgress::new(files, ratio))
        }
    }
}

/// A compressed archive's ratio (decompressed / compressed bytes) over its first
/// [`RATIO_SAMPLE`] decompressed bytes; `None` when unreadable. Only an estimate for the
/// progress bar: the archive itself is read (and checked) by `ingest::archive`.
fn sample_ratio(raw: Box<dyn Read + Send>) -> Option<f64> {
    let consumed = Arc::new(AtomicU64::new(0));
    let mut counted = Counted {
        inner: Box::new(std::io::BufReader::new(raw)),
        consumed: Arc::clone(&consumed),
    };
    let zstd = counted
        .fill_buf()
        .ok()?
        .starts_with(&[0x28, 0xb5, 0x2f, 0xfd]);
    let decoded: Box<dyn Read> = if zstd {
        Box::new(zstd::Decoder::with_buffer(counted).ok()?)
    } else {
        Box::new(flate2::bufread::MultiGzDecoder::new(counted))
    };
    let out = std::io::copy(&mut decoded.take(RATIO_SAMPLE), &mut std::io::sink()).ok()?;
    let raw = consumed.load(Ordering::Relaxed);
    (out > 0 && raw > 0).then(|| out as f64 / raw as f64)
}

/// A decompressed archive stream that counts the bytes consumed from it.
struct Counted {
    inner: Box<dyn BufRead + Send>,
    consumed: Arc<AtomicU64>,
}

impl Read for Counted {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.consumed.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

impl BufRead for Counted {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        self.inner.fill_buf()
    }

    fn consume(&mut self, amt: usize) {
        self.consumed.fetch_add(amt as u64, Ordering::Relaxed);
        self.inner.consume(amt);
    }
}

/// The engine's input: the reader's batches, straight or decoded and prepared by the
/// preparing workers.
enum Batches {
    /// Batches with the reader's progress position after each.
    Plain(mpsc::Receiver<(Vec<Mention>, u64)>),
    /// Decoded and prepared batches, and the reader's latest progress position.
    Decoded(prepare::Ordered<DecodedBatch>, Arc<AtomicU64>),
}

/// One batch for the engine, the progress position to show after it, and, when the preparing
/// threads decoded it, its bad lines.
type Batch = (
    Vec<(Mention, Option<Preparation>)>,
    u64,
    Option<Vec<ReadError>>,
);

impl Batches {
    async fn recv(&mut self) -> Option<Batch> {
        match self {
            Batches::Plain(rx) => {
                let (batch, position) = rx.recv().await?;
                Some((
                    batch.into_iter().map(|m| (m, None)).collect(),
                    position,
                    None,
                ))
            }
            Batches::Decoded(p, read_to) => {
                let d = p.recv().await?;
                Some((d.prepared, read_to.load(Ordering::Relaxed), Some(d.errors)))
            }
        }
    }

    /// Batches waiting.
    fn len(&self) -> usize {
        match self {
            Batches::Plain(rx) => rx.len(),
            Batches::Decoded(p, _) => p.len(),
        }
    }
}

/// Where the reader thread hands what it read, with the progress position after it; `false`
/// stops the read. Both block while the next queue is full.
enum Sink {
    /// Decoded mentions (the reader decodes).
    Decoded(Box<dyn FnMut(Vec<Mention>, u64) -> bool + Send>),
    /// Undecoded lines, for the preparing threads to decode ([`decode_and_prepare`]).
    Raw(Box<dyn FnMut(RawLines, u64) -> bool + Send>),
}

/// Counts a bad line and logs the first [`LOGGED_ERRORS`] of a replay (`logged` is shared by
/// the reader and the engine's loop, which reports the lines the preparing threads decoded).
fn report_bad_line(e: &ReadError, metrics: Option<&Metrics>, logged: &AtomicU64) {
    if let Some(m) = metrics {
        m.ingest_decode_errors_total
            .with_label_values(&["archive", e.reason])
            .inc();
    }
    if logged.fetch_add(1, Ordering::Relaxed) < LOGGED_ERRORS {
        tracing::warn!(path = %e.path, line = e.line, reason = e.reason, error = %e.message, "skipping bad line");
    }
}

/// Counts `n` decoded mentions and the event-time age of the last
/// (`source_cursor_age_seconds`).
fn count_decoded(n: usize, last: Option<EventTime>, metrics: Option<&Metrics>) {
    let Some(m) = metrics else { return };
    m.ingest_decoded_total
        .with_label_values(&["archive"])
        .inc_by(n as u64);
    if let Some(last) = last {
        let age_ms = chrono::Utc::now()
            .timestamp_millis()
            .saturating_sub(last.millis());
        m.source_cursor_age_seconds
            .with_label_values(&[SOURCE])
            .set(age_ms as f64 / 1000.0);
    }
}

/// Where processed mentions go to be freed: back to the thread that allocated them.
enum Returns {
    /// The reader decoded them.
    Reader(std::sync::mpsc::SyncSender<Vec<Mention>>),
    /// Preparing thread `i mod N` decoded batch `i`; the next batch's index.
    Workers(Vec<std::sync::mpsc::SyncSender<Vec<Mention>>>, usize),
}

impl Returns {
    /// Hands `done` back; freed here when that queue is full or its thread has ended.
    fn send(&mut self, done: Vec<Mention>) {
        let _kept = match self {
            Returns::Reader(tx) => tx.try_send(done),
            Returns::Workers(txs, next) => {
                let n = txs.len().max(1);
                let i = *next % n;
                *next = (*next + 1) % n;
                match txs.get(i) {
                    Some(tx) => tx.try_send(done),
                    None => Ok(()),
                }
            }
        };
    }
}

/// Frees the processed mentions the engine handed back to this thread ([`Returns`]).
fn free_returned(back: &std::sync::mpsc::Receiver<Vec<Mention>>) {
    while back.try_recv().is_ok() {}
}

/// A batch of lines decoded and prepared on a preparing thread, with its bad lines.
struct DecodedBatch {
    prepared: prepare::PreparedBatch,
    errors: Vec<ReadError>,
}

/// A preparing thread's job when the reader hands on undecoded lines.
fn decode_and_prepare(preparer: &prepare::Preparer, raw: RawLines) -> DecodedBatch {
    let mut mentions = Vec::with_capacity(raw.len());
    let mut errors = Vec::new();
    raw.decode(&mut mentions, &mut errors);
    DecodedBatch {
        prepared: preparer.prepare_batch(mentions),
        errors,
    }
}

/// The reader thread: reads archives into batches (decoded, or raw lines for the preparing
/// threads), blocking while the engine is behind. The statistics are the reader's: with a
/// raw sink, lines and oversize lines only.
fn read_input(
    input: Input,
    mut sink: Sink,
    metrics: Option<Arc<Metrics>>,
    plan: Option<ArchiveProgress>,
    logged: Arc<AtomicU64>,
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
    let mut on_error = |e: &ReadError| report_bad_line(e, metrics.as_deref(), &logged);
    // Bytes decompressed from the current archive, for the progress estimate.
    let consumed = Arc::new(AtomicU64::new(0));
    let plan_cell = std::cell::RefCell::new(plan);
    let position = || {
        plan_cell
            .borrow()
            .as_ref()
            .map_or(0, |p| p.position(consumed.load(Ordering::Relaxed)))
    };
    let mut read_file = |reader: Box<dyn BufRead + Send>, name: &str| match &mut sink {
        Sink::Decoded(send) => {
            archive::read_batches_from(reader, name, BATCH, &mut on_error, &mut |batch: Vec<
                Mention,
            >| {
                count_decoded(
                    batch.len(),
                    batch.last().map(|m| m.created_at),
                    metrics.as_deref(),
                );
                send(batch, position())
            })
        }
        Sink::Raw(send) => archive::read_raw_batches_from(
            reader,
            name,
            BATCH,
            &mut on_error,
            &mut |raw: RawLines| send(raw, position()),
        ),
    };
    let counted = |inner: Box<dyn BufRead + Send>| -> Box<dyn BufRead + Send> {
        consumed.store(0, Ordering::Relaxed);
        Box::new(Counted {
            inner,
            consumed: Arc::clone(&consumed),
        })
    };
    let file_done = || {
        if let Some(p) = plan_cell.borrow_mut().as_mut() {
            p.file_done(consumed.load(Ordering::Relaxed));
        }
    };
    // One archive at a time (as `archive::read_batches` does), so progress knows where each
    // file ends.
    let read = match input {
        Input::Paths(paths) => {
            let mut total = DecodeStats::default();
            let mut result = Ok(());
            for path in &paths {
                let s = archive::open(path).and_then(|reader| read_file(counted(reader), path));
                match s {
                    Ok(s) => {
                        total.add(s);
                        file_done();
                    }
                    Err(e) => {
                        result = Err(e);
                        break;
                    }
                }
            }
            result.map(|()| total)
        }
        Input::Bytes(bytes) => archive::open_bytes(bytes).and_then(|reader| {
            let s = read_file(counted(reader), "demo");
            file_done();
            s
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
