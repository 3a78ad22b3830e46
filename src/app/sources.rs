//! Starting the configured sources: the one place that turns a typed `[[source]]`
//! ([`SourceConfig`]) into its reader, for every wiring path (`app::run` and the partitioned
//! topology's ingest role).
//!
//! Inputs: a parsed source and its [`SourceCtx`] (the mention queue, metrics, cancellation).
//! Outputs: a task to run, or, for `type = "http"`, the push route's state to serve. Which
//! sources a wiring path accepts is decided here too: without an aggregate-row queue an
//! `arroyo-aggregates` source is an error, and a build without the `kafka` feature refuses
//! `type = "kafka"`.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::config::source::HttpPushConfig;
use crate::config::{Config, SourceConfig, SourceKind};
use crate::ingest::aggregates::AggregateTx;
use crate::ingest::{self, SourceCtx};
use crate::telemetry::Metrics;

/// A source's reader: runs until its input ends, it fails, or its context is cancelled.
pub type SourceTask = Pin<Box<dyn Future<Output = anyhow::Result<()>> + Send>>;

/// What a started source needs from its caller.
pub enum Started {
    /// A reader task, for the caller to spawn and supervise.
    Task(SourceTask),
    /// `type = "http"`: the state of `POST /v1/mentions`, for the caller to serve.
    Push(ingest::push::PushState),
}

/// Starts `source` over `ctx`. `aggregates`: the queue for `arroyo-aggregates` rows; `None`
/// where rows have nowhere to go (the `--role ingest` process), which refuses such a source.
/// Nothing runs until the caller spawns the returned task.
pub fn start(
    source: &SourceConfig,
    ctx: SourceCtx,
    aggregates: Option<&AggregateTx>,
) -> anyhow::Result<Started> {
    let task: SourceTask = match &source.kind {
        SourceKind::Jetstream(c) => Box::pin(ingest::jetstream::run(c.clone(), ctx)),
        SourceKind::Mastodon(c) => Box::pin(ingest::mastodon::run(c.clone(), ctx)),
        SourceKind::File(c) => Box::pin(ingest::file::run(c.clone(), ctx)),
        #[cfg(feature = "kafka")]
        SourceKind::Kafka(c) => Box::pin(ingest::kafka_source::run(c.clone(), ctx)),
        #[cfg(not(feature = "kafka"))]
        SourceKind::Kafka(_) => anyhow::bail!(crate::config::kafka::NO_FEATURE),
        SourceKind::ArroyoAggregates(c) => match aggregates {
            Some(tx) => Box::pin(ingest::aggregates::run(c.clone(), ctx, tx.clone())),
            None => anyhow::bail!(
                "source {}: arroyo-aggregates rows go to a single-process `run`, \
                 not to --role ingest",
                source.id
            ),
        },
        SourceKind::Http(c) => {
            return Ok(Started::Push(ingest::push::PushState::new(
                &source.id,
                c.clone(),
                ctx.tx,
                ctx.metrics,
            )))
        }
    };
    Ok(Started::Task(task))
}

/// How a supervised source task ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ended {
    /// Its input ended (or it stopped on cancellation) without an error.
    Finished,
    /// It failed or panicked and is not restarted (policy `exit`, or a source that cannot
    /// resume): the message says why. The caller stops the run.
    Failed(String),
}

/// Builds a fresh task for a source after a failure (it resumes from its own cursor).
pub type Restart = Box<dyn FnMut() -> anyhow::Result<SourceTask> + Send>;

/// First wait before a restart; doubles up to [`MAX_RESTART_BACKOFF`], and starts over once
/// a task ran for [`MAX_RESTART_BACKOFF`] without failing.
pub const FIRST_RESTART_BACKOFF: Duration = Duration::from_secs(1);
/// Longest wait before a restart.
pub const MAX_RESTART_BACKOFF: Duration = Duration::from_secs(60);

/// Runs source `id`'s task, spawned on its own so that a panic is caught (as a failure, not
/// a silently vanished task). A failure (error or panic) is logged, counted in
/// `flashpoint_source_failures_total{source,reason}`, marks `flashpoint_source_connected` 0
/// and `flashpoint_source_task_up` 0 (so `/readyz` answers 503) and, with `restart`, starts a
/// new task after a backoff (counted in `flashpoint_source_restarts_total`); without
/// `restart` it returns [`Ended::Failed`]. Cancellation of `cancel` ends the wait and the
/// supervision.
pub async fn supervise(
    id: &str,
    first: SourceTask,
    mut restart: Option<Restart>,
    metrics: Arc<Metrics>,
    cancel: CancellationToken,
) -> Ended {
    let up = metrics.source_task_up.with_label_values(&[id]);
    up.set(1);
    let mut task = first;
    let mut backoff = FIRST_RESTART_BACKOFF;
    loop {
        let started = tokio::time::Instant::now();
        let (reason, why) = match tokio::spawn(task).await {
            Ok(Ok(())) => return Ended::Finished,
            Ok(Err(e)) => ("error", format!("{e:#}")),
            Err(j) if j.is_panic() => ("panic", panic_message(j.into_panic())),
            Err(_) => return Ended::Finished,
        };
        metrics
            .source_failures_total
            .with_label_values(&[id, reason])
            .inc();
        metrics.source_connected.with_label_values(&[id]).set(0.0);
        let Some(make) = restart.as_mut() else {
            tracing::error!(source = %id, reason, error = %why, "source failed; stopping the run");
            return Ended::Failed(format!("source {id} failed ({reason}): {why}"));
        };
        if cancel.is_cancelled() {
            tracing::warn!(source = %id, reason, error = %why, "source failed while stopping");
            return Ended::Finished;
        }
        up.set(0);
        if started.elapsed() >= MAX_RESTART_BACKOFF {
            backoff = FIRST_RESTART_BACKOFF;
        }
        tracing::error!(source = %id, reason, error = %why, retry_in = ?backoff,
            "source failed; restarting it after a backoff");
        loop {
            tokio::select! {
                _ = tokio::time::sleep(backoff) => {}
                _ = cancel.cancelled() => return Ended::Finished,
            }
            backoff = (backoff * 2).min(MAX_RESTART_BACKOFF);
            match make() {
                Ok(t) => {
                    task = t;
                    break;
                }
                Err(e) => tracing::error!(source = %id, error = %format!("{e:#}"),
                    retry_in = ?backoff, "cannot restart the source; trying again"),
            }
        }
        metrics.source_restarts_total.with_label_values(&[id]).inc();
        up.set(1);
        tracing::warn!(source = %id, "source restarted");
    }
}

/// The text of a panic payload.
fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        return format!("panicked: {s}");
    }
    if let Some(s) = payload.downcast_ref::<String>() {
        return format!("panicked: {s}");
    }
    String::from("panicked")
}

/// Readies http source `source`'s push route: `cfg`'s event-time `bounds` and body read
/// timeout, and, for `ack = "durable"` when `open_spool`, its spool opened (queueing on `tx`)
/// with what it held from before this start. Used by `run` and by `run --role ingest`.
pub fn prepare_push(
    cfg: &Config,
    source: &SourceConfig,
    state: ingest::push::PushState,
    bounds: ingest::EventTimeBounds,
    tx: &ingest::MentionTx,
    open_spool: bool,
) -> anyhow::Result<(
    ingest::push::PushState,
    Option<(ingest::spool::Spool, ingest::spool::Recovery)>,
)> {
    use anyhow::Context;
    let mut state = state
        .with_event_time_bounds(bounds)
        .with_body_read_timeout(cfg.server_limits.body_read_timeout);
    let mut spool = None;
    if let SourceKind::Http(h) = &source.kind {
        if h.ack == crate::config::source::AckMode::Durable && open_spool {
            let dir = spool_dir(cfg, &source.id, h)?;
            let (opened, handle, recovery) = ingest::spool::Spool::open(&dir, tx.clone())
                .with_context(|| format!("cannot open the push spool {}", dir.display()))?;
            tracing::info!(dir = %dir.display(), "push spool (durable acknowledgements)");
            state = state.with_spool(handle);
            spool = Some((opened, recovery));
        }
    }
    Ok((state, spool))
}

/// Where the push spool of http source `id` lives: its `spool_dir`, else
/// `<[delivery] state dir>/spool/<id>`.
pub fn spool_dir(cfg: &Config, id: &str, h: &HttpPushConfig) -> anyhow::Result<std::path::PathBuf> {
    match &h.spool_dir {
        Some(d) => Ok(std::path::PathBuf::from(d)),
        None => Ok(cfg
            .delivery
            .state_path(&|k| std::env::var(k).ok())
            .map_err(|e| {
                anyhow::anyhow!(
                    "source {id}: ack = \"durable\" needs a spool: {e} (or set spool_dir)"
                )
            })?
            .join("spool")
            .join(id)),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;

    /// Lets the other tasks run; on the paused clock an idle runtime jumps to the next timer
    /// (a supervisor's backoff), so this takes no real time.
    async fn idle() {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }

    fn metrics() -> Arc<Metrics> {
        Arc::new(Metrics::new(&[], 0))
    }

    /// A source that panics on its first two runs, then reads until cancelled.
    #[tokio::test(start_paused = true)]
    async fn a_panicking_source_is_counted_shown_down_and_restarted_with_backoff() {
        let m = metrics();
        let cancel = CancellationToken::new();
        let runs = Arc::new(AtomicU32::new(0));
        let make = {
            let runs = Arc::clone(&runs);
            let cancel = cancel.clone();
            move || -> anyhow::Result<SourceTask> {
                let n = runs.fetch_add(1, Ordering::SeqCst);
                let cancel = cancel.clone();
                Ok(Box::pin(async move {
                    if n < 2 {
                        panic!("byte index 3 is not a char boundary");
                    }
                    cancel.cancelled().await;
                    Ok(())
                }))
            }
        };
        let mut restart: Restart = Box::new(make);
        let first = restart().unwrap();
        let sup = tokio::spawn(supervise(
            "masto",
            first,
            Some(restart),
            Arc::clone(&m),
            cancel.clone(),
        ));
        // Paused time: the supervisor's backoff sleeps advance the clock by themselves.
        let t0 = tokio::time::Instant::now();
        while runs.load(Ordering::SeqCst) < 3 {
            idle().await;
        }
        let failures = m
            .source_failures_total
            .with_label_values(&["masto", "panic"])
            .get();
        assert_eq!(failures, 2);
        // Backoffs of 1 s then 2 s before the second restart.
        assert!(t0.elapsed() >= Duration::from_secs(3), "{:?}", t0.elapsed());
        assert_eq!(
            m.source_restarts_total.with_label_values(&["masto"]).get(),
            2
        );
        cancel.cancel();
        assert_eq!(sup.await.unwrap(), Ended::Finished);
        assert!(m.source_tasks_down().is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn a_dead_source_waiting_for_its_restart_is_down_until_it_runs_again() {
        let m = metrics();
        let cancel = CancellationToken::new();
        let first: SourceTask = Box::pin(async { anyhow::bail!("stream closed by the server") });
        let started = Arc::new(AtomicU32::new(0));
        let restart: Restart = {
            let started = Arc::clone(&started);
            let cancel = cancel.clone();
            Box::new(move || {
                started.fetch_add(1, Ordering::SeqCst);
                let cancel = cancel.clone();
                Ok(Box::pin(async move {
                    cancel.cancelled().await;
                    Ok(())
                }) as SourceTask)
            })
        };
        let t0 = tokio::time::Instant::now();
        let sup = tokio::spawn(supervise(
            "js",
            first,
            Some(restart),
            Arc::clone(&m),
            cancel.clone(),
        ));
        // Let the first task fail; the supervisor now waits for its backoff.
        while m
            .source_failures_total
            .with_label_values(&["js", "error"])
            .get()
            == 0
        {
            idle().await;
        }
        assert_eq!(m.source_tasks_down(), vec![String::from("js")]);
        assert_eq!(started.load(Ordering::SeqCst), 0);
        while started.load(Ordering::SeqCst) == 0 {
            idle().await;
        }
        assert!(
            t0.elapsed() >= FIRST_RESTART_BACKOFF,
            "restarted before the backoff"
        );
        while !m.source_tasks_down().is_empty() {
            idle().await;
        }
        cancel.cancel();
        assert_eq!(sup.await.unwrap(), Ended::Finished);
    }

    #[tokio::test]
    async fn without_restart_a_failure_ends_the_supervision_as_failed() {
        let m = metrics();
        let first: SourceTask = Box::pin(async { panic!("boom") });
        let ended = supervise("f", first, None, Arc::clone(&m), CancellationToken::new()).await;
        assert!(
            matches!(&ended, Ended::Failed(why) if why.contains("panic") && why.contains("boom")),
            "{ended:?}"
        );
        assert_eq!(
            m.source_failures_total
                .with_label_values(&["f", "panic"])
                .get(),
            1
        );
    }

    #[tokio::test]
    async fn a_source_that_ends_is_finished_not_restarted() {
        let m = metrics();
        let first: SourceTask = Box::pin(async { Ok(()) });
        let restart: Restart = Box::new(|| anyhow::bail!("must not restart"));
        let ended = supervise(
            "f",
            first,
            Some(restart),
            Arc::clone(&m),
            CancellationToken::new(),
        )
        .await;
        assert_eq!(ended, Ended::Finished);
        assert_eq!(m.source_restarts_total.with_label_values(&["f"]).get(), 0);
    }
}
