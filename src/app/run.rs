//! The live service (`flashpoint run`): sources → one bounded queue → engine task → archive,
//! alert log and dispatcher, with telemetry and `POST /v1/mentions` on the `[server]` listener.
//!
//! ```text
//! jetstream ┐                                   ┌▶ archive segments (replayable)
//! mastodon  ├─▶ [bounded, counted in mentions] ─▶ engine task ─▶ alert log
//! file      │      policy per source             └─[bounded, Block]─▶ dispatcher ─▶ notifiers
//! http push ┘      (stop reading / block / 503)
//! ```
//!
//! With `[pipeline] prepare_workers = N` (off by default), matching and text features run on N
//! preparing threads between the queue and the engine task, in the queue's order
//! ([`super::prepare::LiveQueue`]); the engine decides exactly what it decides without them.
//!
//! Shutdown protocol: the `shutdown` token stops the sources (which persist their cursors) and
//! the server; when the last queue sender is gone the engine drains what is queued, then the
//! archive and alert log are flushed and closed and the dispatcher drains. All of that must end
//! within [`RunOptions::drain_deadline`] or `run` fails. Every source task is supervised
//! ([`sources::supervise`]): one that fails or panics is counted, shown down in `/readyz` and
//! restarted with backoff, or, with `[pipeline] on_source_failure = "exit"` (and always for a
//! `file` source), cancels the whole run, which then fails. Without a push route, `run` also
//! ends by itself once every source has ended.
//!
//! Durable pushes (`ack = "durable"`, the default): the http source's spool
//! ([`ingest::spool`]) is opened before anything runs; what it holds from before this start
//! is processed first, before any queued input. The engine task keeps [`Watermarks`]: a
//! spooled mention counts as covered once it is processed and, where configured, in a saved
//! checkpoint and flushed to the archive; it publishes that through the spool's coverage,
//! and the spool persists it and deletes the segments it covers. After the engine has
//! drained, [`Spool::finish`] records the final coverage.
//!
//! Cursor sources (Jetstream, Mastodon) are held to the same rule: the engine task tells a
//! source that a mention is processed (so its cursor may move past it) only once the mention is
//! in a saved checkpoint and flushed to the archive, where configured (`Durability`), so a
//! kill -9 never leaves the cursor ahead of what the archive and the restored state hold.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use hdrhistogram::Histogram;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::engine::{Engine, EngineStats};
use super::prepare::LiveQueue;
use super::reconcile::LoggedAlerts;
use super::refine::Refiner;
use super::sources::{self, Started};
use crate::alert::{AlertLog, AlertOutput, ConsoleNotifier, Notifier};
use crate::config::{Config, SourceFailurePolicy, SourceKind};
use crate::ingest::spool::{Coverage, Recovery, Spool, SpoolPos, Watermarks};
use crate::ingest::{self, Ingested, Progress, SourceCtx};
use crate::replay::writer::ArchiveHealth;
use crate::replay::ArchiveWriter;
use crate::score::classify::KeywordClassifier;
use crate::score::sentiment::model_by_name;
use crate::telemetry::Metrics;

/// What a live run needs besides its configuration.
pub struct RunOptions {
    /// A bound listener for the `[server]` endpoints; `None` binds `server.listen` if set.
    pub listener: Option<TcpListener>,
    pub metrics: Arc<Metrics>,
    /// Extra notifiers (configured sinks); the console is added when stdout is a terminal.
    pub notifiers: Vec<Arc<dyn Notifier>>,
    /// Cancelled on SIGINT/SIGTERM (or by a test).
    pub shutdown: CancellationToken,
    /// How long draining may take after `shutdown` before the run fails.
    pub drain_deadline: Duration,
    pub sentiment_model: String,
    /// Second sentiment model for mentions of brands with a candidate incident, on a worker
    /// thread behind a bounded queue (see [`super::refine`]); `None`: off.
    pub incident_model: Option<String>,
    /// Force the console notifier on or off (default: on when stdout is a terminal).
    pub console: Option<bool>,
    /// Incident board fed with every alert and served as `/api/*` on the listener.
    pub board: Option<Arc<crate::telemetry::IncidentBoard>>,
    /// The wall clock (tests put a paused tokio clock here); `None`: the system's.
    pub clock: Option<fn() -> crate::domain::EventTime>,
}

impl RunOptions {
    pub fn new(metrics: Arc<Metrics>, shutdown: CancellationToken) -> RunOptions {
        RunOptions {
            listener: None,
            metrics,
            notifiers: Vec::new(),
            shutdown,
            drain_deadline: Duration::from_secs(10),
            sentiment_model: String::from(crate::config::DEFAULT_SENTIMENT_MODEL),
            incident_model: None,
            console: None,
            board: None,
            clock: None,
        }
    }
}

/// What a live run did.
#[derive(Debug, Clone, Default)]
pub struct RunSummary {
    pub engine: EngineStats,
    pub archived: u64,
    pub alerts: u64,
    /// Source frame received → mention scored, microseconds (p50, p99, max).
    pub latency_us: (u64, u64, u64),
}

/// Runs the live service until `opts.shutdown` fires (or every source ends without a push route).
pub async fn run(cfg: Arc<Config>, opts: RunOptions) -> anyhow::Result<RunSummary> {
    let metrics = Arc::clone(&opts.metrics);
    let shutdown = opts.shutdown.clone();

    let build_engine = || {
        Engine::new(
            Arc::clone(&cfg),
            model_by_name(&opts.sentiment_model)?,
            Box::new(KeywordClassifier::embedded()),
            Some(Arc::clone(&metrics)),
        )
        .context("building the brand matcher")
    };
    let mut engine = build_engine()?;
    // Every source refuses event times outside this window of the wall clock, so no record
    // can move the watermark, the archive or a checkpoint to the year 9999.
    let bounds = match opts.clock {
        Some(clock) => ingest::EventTimeBounds::from_config(&cfg.pipeline).with_clock(clock),
        None => ingest::EventTimeBounds::from_config(&cfg.pipeline),
    };
    let checkpoint = cfg.checkpoint.clone();
    // The checkpoint the state came from: set aside if the engine panics on it.
    let mut restored_from: Option<std::path::PathBuf> = None;
    if let Some(c) = &checkpoint {
        let path = std::path::Path::new(&c.path);
        // A damaged or unusable newest file falls back to the one it replaced, else fresh.
        let restored = super::checkpoint::load_or_previous(&mut engine, path, &build_engine)?;
        for why in &restored.rejected {
            tracing::error!(error = %why, "checkpoint refused");
        }
        if restored.newest_refused {
            // Out of the way: the next save would otherwise keep it as the fallback, over the
            // one just restored (or refused too).
            super::checkpoint::set_aside(path);
        }
        super::checkpoint::probe_writable(path)?;
        restored_from = restored.from.clone();
        let unusable = restored.rejected.len() as u64 - restored.damaged;
        for (reason, n) in [("damaged", restored.damaged), ("unusable", unusable)] {
            if n > 0 {
                metrics
                    .checkpoint_rejected_total
                    .with_label_values(&[reason])
                    .inc_by(n);
            }
        }
        match restored.from {
            Some(from) if engine.max_seen() > bounds.ceiling() => {
                // Saved by a build without the bound: its watermark would make every live
                // mention too late. Its learned state is dated in the future too.
                tracing::warn!(path = %from.display(), watermark = %engine.max_seen(),
                    "ignoring the checkpoint: its event time is ahead of the wall clock; starting fresh");
                metrics
                    .checkpoint_rejected_total
                    .with_label_values(&["future"])
                    .inc();
                engine = build_engine()?;
                restored_from = None;
            }
            Some(from) if from != path => tracing::warn!(path = %from.display(),
                "restored the learned state from the previous checkpoint"),
            Some(from) => tracing::info!(path = %from.display(), "restored the learned state"),
            None if restored.rejected.is_empty() => {
                tracing::info!(path = %c.path, "no checkpoint yet: starting fresh")
            }
            None => tracing::warn!(path = %c.path, "no usable checkpoint: starting fresh"),
        }
    }
    let log = match &cfg.alert_log_path {
        Some(path) => Some(
            AlertLog::append_to(path, true)
                .with_context(|| format!("cannot write alert log {path}"))?,
        ),
        None => None,
    };
    let mut archive = match &cfg.archive {
        Some(a) => Some(
            ArchiveWriter::open(a, tokio::time::Instant::now())
                .with_context(|| format!("cannot open archive directory {}", a.dir))?
                .with_max_future_skew(cfg.pipeline.max_future_skew.0),
        ),
        None => None,
    };
    // A backlog file is history, not bounded by age: its outliers are dropped by the
    // engine's guard, as in a replay (`replay::watermark`).
    if cfg
        .sources
        .iter()
        .any(|s| matches!(&s.kind, SourceKind::File(f) if !f.follow))
    {
        engine.guard_event_times();
    }
    let mut notifiers = opts.notifiers.clone();
    if let Some(board) = &opts.board {
        notifiers.push(Arc::new(crate::alert::BoardFeed::new(Arc::clone(board))));
    }
    let console = opts.console.unwrap_or_else(|| {
        std::io::stdout().is_terminal() && cfg.alert_log_path.as_deref() != Some("-")
    }) || cfg.sinks.iter().any(|s| s.kind == "console");
    if console {
        notifiers.push(Arc::new(ConsoleNotifier::new()));
    }
    // What the alert log already holds: after a crash, decisions made again from an older
    // checkpoint are not written or paged twice (see `reconcile`).
    let logged = match &cfg.alert_log_path {
        Some(path) => {
            LoggedAlerts::read(path).with_context(|| format!("cannot read alert log {path}"))?
        }
        None => LoggedAlerts::default(),
    };
    if !logged.is_empty() {
        tracing::info!(
            lines = logged.len(),
            "alert log read: lines already written are not emitted again"
        );
    }
    let mut output = Guarded {
        inner: AlertOutput::dispatching(log, Some(Arc::clone(&metrics)), notifiers),
        logged,
        metrics: Arc::clone(&metrics),
    };

    let (tx, rx) = mpsc::channel::<Ingested>(cfg.pipeline.channel_capacity.max(1));
    // Aggregate rows (`arroyo-aggregates` sources) reach the engine on their own bounded queue.
    let (agg_tx, mut agg_rx) =
        mpsc::channel::<ingest::aggregates::AggregateItem>(cfg.pipeline.channel_capacity.max(1));
    let failed = Arc::new(AtomicBool::new(false));
    let tracker = TaskTracker::new();
    let mut push_state = None;
    // `ack = "durable"`: the spool, what it holds from before this start, and its source.
    let mut spool: Option<(Spool, Recovery, String)> = None;
    let policy = cfg.pipeline.on_source_failure;
    for s in &cfg.sources {
        let ctx = SourceCtx::new(&s.id, tx.clone(), Arc::clone(&metrics), shutdown.clone())
            .with_event_time_bounds(bounds.for_source(&s.kind));
        let id = s.id.clone();
        let task = match sources::start(s, ctx.clone(), Some(&agg_tx))? {
            Started::Task(task) => task,
            Started::Push(state) => {
                let (state, opened) =
                    sources::prepare_push(&cfg, s, state, bounds, &tx, spool.is_none())?;
                if let Some((opened, recovery)) = opened {
                    spool = Some((opened, recovery, s.id.clone()));
                }
                push_state = Some(state);
                continue;
            }
        };
        // A file source would read its file again from the start: never restarted.
        let restart: Option<sources::Restart> = match (&s.kind, policy) {
            (SourceKind::File(_), _) | (_, SourceFailurePolicy::Exit) => None,
            (_, SourceFailurePolicy::Restart) => {
                let source = s.clone();
                let agg = agg_tx.clone();
                Some(Box::new(move || {
                    match sources::start(&source, ctx.clone(), Some(&agg))? {
                        Started::Task(task) => Ok(task),
                        Started::Push(_) => anyhow::bail!("a push route is not a task"),
                    }
                }))
            }
        };
        let failed = Arc::clone(&failed);
        let cancel_all = shutdown.clone();
        let supervisor_metrics = Arc::clone(&metrics);
        tracker.spawn(async move {
            let ended =
                sources::supervise(&id, task, restart, supervisor_metrics, cancel_all.clone())
                    .await;
            match ended {
                sources::Ended::Finished => tracing::info!(source = %id, "source stopped"),
                sources::Ended::Failed(_) => {
                    failed.store(true, Ordering::Release);
                    cancel_all.cancel();
                }
            }
        });
    }
    tracker.close();
    drop(tx);
    drop(agg_tx);

    let ready = Arc::new(AtomicBool::new(false));
    let listener = match (opts.listener, &cfg.server_listen) {
        (Some(l), _) => Some(l),
        (None, Some(addr)) => Some(
            TcpListener::bind(addr)
                .await
                .with_context(|| format!("cannot listen on {addr}"))?,
        ),
        (None, None) => None,
    };
    let server_stop = CancellationToken::new();
    let board = opts.board.clone();
    let server = listener.map(|l| {
        let mut router = crate::telemetry::http::router(Arc::clone(&metrics), Arc::clone(&ready));
        if let Some(state) = push_state.take() {
            router = router.merge(ingest::push::router(state));
        }
        if let Some(board) = &board {
            router = router.merge(crate::telemetry::api_router(Arc::clone(board)));
        }
        if let Ok(addr) = l.local_addr() {
            tracing::info!(%addr, "serving /metrics, /healthz, /readyz and POST /v1/mentions");
        }
        let stop = server_stop.clone();
        let stop_on_shutdown = shutdown.clone();
        let stopped = CancellationToken::new();
        let stop_server = stopped.clone();
        tokio::spawn(async move {
            tokio::select! {
                _ = stop.cancelled() => {}
                _ = stop_on_shutdown.cancelled() => {}
            }
            stop_server.cancel();
        });
        let limits = cfg.server_limits;
        let server_metrics = Arc::clone(&metrics);
        tokio::spawn(crate::telemetry::http::serve_limited(
            l,
            router,
            limits,
            server_metrics,
            stopped,
        ))
    });
    if push_state.take().is_some() {
        tracing::warn!("an http source is configured without [server] listen: nothing can push");
    }
    ready.store(true, Ordering::Release);
    tracing::info!("flashpoint run: ready");

    if let Some(name) = &opts.incident_model {
        let refiner = Refiner::worker(
            model_by_name(name)?,
            cfg.pipeline.incident_sentiment_batch,
            cfg.pipeline.incident_sentiment_queue,
        )
        .context("spawning the incident sentiment worker")?
        .with_metrics(Some(Arc::clone(&metrics)));
        engine.refine_with(refiner);
    }
    let refining = opts.incident_model.is_some();

    // The engine task: the single owner of the engine, the archive and the alert log.
    let engine_metrics = Arc::clone(&metrics);
    let (spool, recovery) = match spool {
        Some((sp, rec, id)) => (Some(sp), Some((rec, id))),
        None => (None, None),
    };
    let coverage = spool.as_ref().map(Spool::coverage);
    let mut marks = Durability::new(checkpoint.is_some(), archive.is_some(), coverage);
    let saved_by_this_run = Arc::clone(&marks.saved);
    let stopping = shutdown.clone();
    // Matching and text features ahead of the engine, in the queue's order (`LiveQueue`).
    let workers = cfg.pipeline.prepare_workers;
    let mut queue = if workers == 0 {
        LiveQueue::direct(rx)
    } else {
        LiveQueue::prepared(rx, &engine.preparer(), workers)
            .context("spawning the preparing threads")?
    };
    let lateness_ms = cfg.pipeline.allowed_lateness.as_millis_i64();
    let engine_task = tokio::spawn(async move {
        let mut latency = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)
            .map_err(|e| anyhow::anyhow!("latency histogram: {e}"))?;
        let mut tick = tokio::time::interval(Duration::from_millis(250));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut alerts = 0u64;
        let mut archive_errors = 0u64;
        let mut final_checkpoint_failed = false;
        // Ids archived within the allowed lateness (not persisted: after a restart, what the
        // sources send again may be archived a second time; a replay drops it as the engine
        // does).
        let mut archived_ids = super::recent_ids::RecentIds::default();
        let mut archive_seen = ArchiveHealth::default();
        let mut last_checkpoint = std::time::Instant::now();
        let mut aggregates_open = true;
        let mut stop_seen = false;
        // While a live stream is idle its event time follows the wall clock for a while, so
        // the minutes the lateness held back are decided without waiting for the next mention.
        let mut idle = super::idle_clock::IdleClock::new(lateness_ms);
        // Spooled pushes not covered before this start go first, in spool order.
        if let Some((recovery, id)) = recovery {
            engine.set_live_now(bounds.now());
            let mut n = 0u64;
            for rec in recovery {
                let (pos, decoded) = rec.context("reading the push spool")?;
                marks.spooled(pos);
                let mention = match decoded {
                    Ok(m) => m,
                    Err(e) => {
                        engine_metrics
                            .ingest_decode_errors_total
                            .with_label_values(&[&id, e.reason()])
                            .inc();
                        tracing::warn!(error = %e, "spool: a record that does not decode is skipped");
                        continue;
                    }
                };
                if let Some(a) = archive.as_mut() {
                    archive_once(a, &mut archived_ids, &mention, &engine, &mut archive_errors);
                }
                engine.process(&mention);
                engine_metrics.pipeline_mentions_processed_total.inc();
                alerts += emit_alerts(&mut engine, None, &mut output).await?;
                n += 1;
            }
            if n > 0 {
                tracing::warn!(source = %id, mentions = n,
                    "push spool: re-fed mentions acknowledged before the last stop");
                idle.on_batch(bounds.now(), engine.data_max());
            }
        }
        loop {
            let item = tokio::select! {
                biased;
                batch = queue.recv() => batch,
                row = agg_rx.recv(), if aggregates_open => {
                    match row {
                        Some(item) => {
                            alerts += apply_aggregate(&mut engine, &item, &mut output, &engine_metrics).await?;
                        }
                        None => aggregates_open = false,
                    }
                    continue;
                }
                _ = stopping.cancelled(), if !stop_seen => {
                    // Stopping: the sources wait for their mentions to be told processed
                    // before their last cursor write; make what was processed durable now.
                    stop_seen = true;
                    make_durable(&mut archive, checkpoint.as_ref(), &engine, &mut marks, &mut archive_errors);
                    continue;
                }
                _ = tick.tick() => {
                    if let Some(a) = archive.as_mut() {
                        if let Err(e) = a.tick(tokio::time::Instant::now()) {
                            archive_error(&mut archive_errors, &e);
                        }
                        publish_archive(a.health(), &mut archive_seen, &engine_metrics);
                        if a.pending() == 0 {
                            marks.archived();
                        }
                    }
                    marks.publish();
                    engine_metrics.publish_latency();
                    let now = bounds.now();
                    if let Some(t) = idle.target(now, engine.max_seen()) {
                        engine.set_live_now(now);
                        engine.advance_idle(t);
                        alerts += emit_alerts(&mut engine, None, &mut output).await?;
                    }
                    super::replay::publish_lag(&engine_metrics, now, engine.data_max());
                    if !refining {
                        continue;
                    }
                    // Mentions whose refined sentiment arrived since the last mention.
                    engine.poll_refined();
                    alerts += emit_alerts(&mut engine, None, &mut output).await?;
                    continue;
                }
            };
            let Some(batch) = item else {
                // Mention sources and the push route are done; aggregate sources may go on.
                if aggregates_open {
                    while let Some(item) = agg_rx.recv().await {
                        alerts += apply_aggregate(&mut engine, &item, &mut output, &engine_metrics)
                            .await?;
                    }
                }
                break;
            };
            engine_metrics
                .pipeline_queue_depth
                .with_label_values(&["ingest"])
                .set(queue.len() as f64);
            // The watermark follows the wall clock at most: a mention dated ahead of it
            // (within the sources' skew) is processed, but cuts no other source's lateness.
            engine.set_live_now(bounds.now());
            let last = batch.len().saturating_sub(1);
            for (i, (ingested, prep)) in batch.into_iter().enumerate() {
                let (mention, received) = (&ingested.mention, ingested.received);
                if let Some(a) = archive.as_mut() {
                    if !archive_once(a, &mut archived_ids, mention, &engine, &mut archive_errors) {
                        publish_archive(a.health(), &mut archive_seen, &engine_metrics);
                    }
                }
                match prep {
                    Some(prep) => engine.process_prepared(mention, prep),
                    None => engine.process(mention),
                }
                // The source may persist its cursor past this mention once it is durable.
                if let Some(p) = &ingested.progress {
                    marks.cursored(p);
                }
                if let Some(pos) = ingested.spool {
                    marks.spooled(pos);
                }
                // The tick may wait under load; a write that flushed counts too.
                if archive.as_ref().is_some_and(|a| a.pending() == 0) {
                    marks.archived();
                }
                marks.publish();
                if stop_seen && i == last && queue.is_empty() {
                    make_durable(
                        &mut archive,
                        checkpoint.as_ref(),
                        &engine,
                        &mut marks,
                        &mut archive_errors,
                    );
                }
                engine_metrics.pipeline_mentions_processed_total.inc();
                let micros = u64::try_from(received.elapsed().as_micros()).unwrap_or(u64::MAX);
                latency.saturating_record(micros.max(1));
                alerts += emit_alerts(&mut engine, Some(received), &mut output).await?;
                if i == last {
                    idle.on_batch(bounds.now(), engine.data_max());
                }
                if let Some(c) = &checkpoint {
                    if last_checkpoint.elapsed() >= c.interval.0 {
                        last_checkpoint = std::time::Instant::now();
                        save_checkpoint(&engine, c, &mut marks);
                        marks.publish();
                    }
                }
            }
        }
        // Mentions still waiting for the incident model keep the fast score (never waits).
        // With a checkpoint the next run goes on from this state and decides the minutes the
        // lateness still holds; without one, this is the end of the stream.
        if checkpoint.is_some() {
            engine.finish_for_checkpoint();
        } else {
            engine.finish();
        }
        alerts += emit_alerts(&mut engine, None, &mut output).await?;
        if let Some(c) = &checkpoint {
            match super::checkpoint::save(&engine, std::path::Path::new(&c.path)) {
                Ok(n) => {
                    marks.checkpointed();
                    tracing::info!(path = %c.path, bytes = n, "saved the learned state")
                }
                Err(e) => {
                    tracing::error!(error = %format!("{e:#}"), "final checkpoint failed");
                    final_checkpoint_failed = true;
                }
            }
        }
        engine_metrics
            .pipeline_queue_depth
            .with_label_values(&["ingest"])
            .set(0.0);
        // An archive that cannot be closed (disk still full) is reported and counted, but the
        // alert log and the notifiers are still flushed and drained.
        let archived = match archive {
            Some(a) => {
                publish_archive(a.health(), &mut archive_seen, &engine_metrics);
                let waiting = a.pending();
                match a.close() {
                    Ok(n) => {
                        marks.archived();
                        n
                    }
                    Err(e) => {
                        tracing::error!(error = %e, mentions = waiting,
                            "closing the archive failed: its last buffered mentions are not archived");
                        engine_metrics.archive_write_failures_total.inc();
                        engine_metrics.archive_dropped_total.inc_by(waiting);
                        0
                    }
                }
            }
            None => 0,
        };
        engine_metrics.archive_paused.set(0);
        marks.publish();
        output.inner.flush()?;
        output.inner.close().await?;
        if final_checkpoint_failed {
            anyhow::bail!(
                "the final checkpoint failed (see the log): this run's learned state is not saved"
            );
        }
        anyhow::Ok(RunSummary {
            engine: engine.stats().clone(),
            archived,
            alerts,
            latency_us: (
                latency.value_at_quantile(0.5),
                latency.value_at_quantile(0.99),
                latency.max(),
            ),
        })
    });

    let deadline = opts.drain_deadline;
    let shutdown_then_deadline = {
        let shutdown = shutdown.clone();
        async move {
            shutdown.cancelled().await;
            tokio::time::sleep(deadline).await;
        }
    };
    let mut engine_task = engine_task;
    let summary = tokio::select! {
        r = &mut engine_task => match r {
            Err(e) if e.is_panic() => {
                // A restored state that panics the engine before this run saved one of its
                // own would panic it again at every start: the next one goes on from the
                // checkpoint before it, or fresh. A panic later is this run's, not the file's.
                if let Some(from) = &restored_from {
                    if !saved_by_this_run.load(Ordering::Acquire) {
                        super::checkpoint::set_aside(from);
                    }
                }
                return Err(anyhow::Error::new(e).context("the engine task panicked"));
            }
            r => r.context("the engine task panicked")??,
        },
        _ = shutdown_then_deadline => {
            engine_task.abort();
            anyhow::bail!("shutdown did not finish within {deadline:?}");
        }
    };
    tracker.wait().await;
    server_stop.cancel();
    if let Some(s) = server {
        s.await.context("the server task panicked")??;
    }
    if let Some(sp) = spool {
        // The writer ended before the engine did (it held a queue sender): this only records
        // the final coverage and deletes what it covers.
        tokio::task::spawn_blocking(move || sp.finish())
            .await
            .context("the spool writer panicked")?
            .context("closing the push spool")?;
    }
    if failed.load(Ordering::Acquire) {
        anyhow::bail!("a source failed (see the log)");
    }
    Ok(summary)
}

/// Runs one aggregate row through the engine and hands its alerts on (like a mention's);
/// returns the number of alerts.
async fn apply_aggregate(
    engine: &mut Engine,
    item: &ingest::aggregates::AggregateItem,
    output: &mut Guarded,
    metrics: &Metrics,
) -> anyhow::Result<u64> {
    if let Err(e) = engine.ingest_aggregate(&item.row) {
        metrics
            .ingest_dropped_total
            .with_label_values(&[ingest::aggregates::SYNTHETIC_SOURCE, e.reason()])
            .inc();
    }
    emit_alerts(engine, Some(item.received), output).await
}

fn archive_error(count: &mut u64, e: &std::io::Error) {
    *count += 1;
    if *count <= 10 || *count % 1000 == 0 {
        tracing::error!(error = %e, count = *count, "archive write failed: archive paused (retrying with backoff), detection continues");
    }
}

/// Moves the archive's counters into the metrics (by their growth since `seen`).
fn publish_archive(h: ArchiveHealth, seen: &mut ArchiveHealth, metrics: &Metrics) {
    metrics
        .archive_write_failures_total
        .inc_by(h.write_failures.saturating_sub(seen.write_failures));
    metrics
        .archive_dropped_total
        .inc_by(h.dropped.saturating_sub(seen.dropped));
    metrics.archive_paused.set(i64::from(h.paused));
    *seen = h;
}

/// Hands the alerts the engine decided to `output`; returns how many. `received`: when the
/// mention that decided them arrived (recorded as alert latency); `None` for alerts decided by
/// mentions whose refined sentiment arrived later.
async fn emit_alerts(
    engine: &mut Engine,
    received: Option<std::time::Instant>,
    output: &mut Guarded,
) -> anyhow::Result<u64> {
    let mut n = 0;
    for alert in engine.drain_alerts() {
        if output.logged.already_logged(&alert) {
            tracing::warn!(incident = %alert.incident, action = alert.action.as_str(),
                "decided again after a restart but already in the alert log: not emitted twice");
            output
                .metrics
                .alerts_suppressed_total
                .with_label_values(&["already_logged"])
                .inc();
            continue;
        }
        output.inner.emit(Arc::new(alert), received).await?;
        n += 1;
    }
    Ok(n)
}

/// The alert output behind the crash-consistency check against the alert log.
struct Guarded {
    inner: AlertOutput,
    logged: LoggedAlerts,
    metrics: Arc<Metrics>,
}

/// Writes `m` to the archive unless `archived` already holds its id: a mention read again within
/// the allowed lateness (a reconnect's overlap, a retried push) is archived once. `false` when
/// the write failed (logged and counted).
fn archive_once(
    archive: &mut ArchiveWriter,
    archived: &mut super::recent_ids::RecentIds,
    m: &crate::domain::Mention,
    engine: &Engine,
    archive_errors: &mut u64,
) -> bool {
    if !archived.first_time(m, engine.watermark()) {
        return true;
    }
    match archive.write(m, tokio::time::Instant::now()) {
        Ok(()) => true,
        Err(e) => {
            archive_error(archive_errors, &e);
            false
        }
    }
}

/// Flushes the archive and saves a checkpoint (where configured) so that everything processed
/// so far is durable, and tells the spool and the cursor sources ([`Durability::publish`]).
/// Failures are logged and counted as on the regular path; what they leave uncovered stays so.
fn make_durable(
    archive: &mut Option<ArchiveWriter>,
    checkpoint: Option<&crate::config::CheckpointConfig>,
    engine: &Engine,
    marks: &mut Durability,
    archive_errors: &mut u64,
) {
    if let Some(a) = archive.as_mut() {
        match a.flush(tokio::time::Instant::now()) {
            Ok(()) if a.pending() == 0 => marks.archived(),
            Ok(()) => {}
            Err(e) => archive_error(archive_errors, &e),
        }
    }
    if let Some(c) = checkpoint {
        save_checkpoint(engine, c, marks);
    }
    marks.publish();
}

/// Saves a checkpoint while the run goes on: a failure is logged and detection continues (what
/// it would have covered stays uncovered).
fn save_checkpoint(engine: &Engine, c: &crate::config::CheckpointConfig, marks: &mut Durability) {
    match super::checkpoint::save(engine, std::path::Path::new(&c.path)) {
        Ok(_) => marks.checkpointed(),
        Err(e) => {
            tracing::error!(error = %format!("{e:#}"), "checkpoint failed; detection continues")
        }
    }
}

/// The engine task's durability bookkeeping: where the push spool's processed mentions and the
/// cursor sources' processed mentions stood at the last saved checkpoint and the last complete
/// archive flush ([`Watermarks`]), and the cursor sources' processed mentions not yet covered,
/// told to their sources by [`Durability::publish`] once they are.
struct Durability {
    spool: Watermarks<SpoolPos>,
    coverage: Option<Arc<Coverage>>,
    cursors: Watermarks<u64>,
    /// Sequence number of the newest cursor-source mention processed.
    seq: u64,
    /// Processed cursor-source mentions not yet told, as runs `(first, last, source)` of
    /// consecutive sequence numbers from one source (one run while a single source feeds).
    held: std::collections::VecDeque<(u64, u64, Arc<Progress>)>,
    /// Set once this run has saved a checkpoint of its own (read when the engine panics).
    saved: Arc<std::sync::atomic::AtomicBool>,
}

impl Durability {
    fn new(needs_checkpoint: bool, needs_archive: bool, coverage: Option<Arc<Coverage>>) -> Self {
        Durability {
            spool: Watermarks::new(needs_checkpoint, needs_archive),
            coverage,
            cursors: Watermarks::new(needs_checkpoint, needs_archive),
            seq: 0,
            held: std::collections::VecDeque::new(),
            saved: Arc::default(),
        }
    }

    /// A spooled push went through the engine.
    fn spooled(&mut self, pos: SpoolPos) {
        self.spool.processed(pos);
    }

    /// A mention of the cursor source that `progress` tracks went through the engine.
    fn cursored(&mut self, progress: &Arc<Progress>) {
        self.seq += 1;
        match self.held.back_mut() {
            Some((_, last, p)) if Arc::ptr_eq(p, progress) => *last = self.seq,
            _ => self
                .held
                .push_back((self.seq, self.seq, Arc::clone(progress))),
        }
        self.cursors.processed(self.seq);
    }

    fn archived(&mut self) {
        self.spool.archived();
        self.cursors.archived();
    }

    fn checkpointed(&mut self) {
        self.spool.checkpointed();
        self.cursors.checkpointed();
        self.saved.store(true, Ordering::Release);
    }

    /// Tells the spool and the cursor sources how far a crash can no longer lose anything.
    fn publish(&mut self) {
        if let (Some(c), Some(covered)) = (&self.coverage, self.spool.covered()) {
            c.cover(covered);
        }
        let Some(covered) = self.cursors.covered() else {
            return;
        };
        while let Some((first, last, p)) = self.held.front_mut() {
            if *first > covered {
                break;
            }
            let upto = (*last).min(covered);
            p.mark_processed(upto - *first + 1);
            if upto == *last {
                self.held.pop_front();
            } else {
                *first = upto + 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_sources_hear_of_a_mention_only_once_archive_and_checkpoint_hold_it() {
        let (a, b) = (Arc::new(Progress::default()), Arc::new(Progress::default()));
        let mut d = Durability::new(true, true, None);
        for p in [&a, &a, &b, &a] {
            d.cursored(p);
        }
        d.publish();
        assert_eq!(
            (a.processed(), b.processed()),
            (0, 0),
            "nothing durable yet"
        );
        d.archived();
        d.publish();
        assert_eq!((a.processed(), b.processed()), (0, 0), "no checkpoint yet");
        d.checkpointed();
        d.publish();
        assert_eq!((a.processed(), b.processed()), (3, 1));
        // Processed after the checkpoint: held until the next one, whatever the archive does.
        d.cursored(&b);
        d.cursored(&b);
        d.archived();
        d.publish();
        assert_eq!(b.processed(), 1);
        d.checkpointed();
        d.publish();
        assert_eq!(b.processed(), 3);
        assert!(d.held.is_empty());
    }

    #[test]
    fn without_archive_or_checkpoint_a_processed_mention_is_told_at_once() {
        let p = Arc::new(Progress::default());
        let mut d = Durability::new(false, false, None);
        d.cursored(&p);
        d.cursored(&p);
        d.publish();
        assert_eq!(p.processed(), 2);
        // One run per stretch of a single source: held state stays small.
        assert!(d.held.is_empty());
    }
}
