//! `flashpoint run --role ingest|detect|alert`: one process per role of the partitioned
//! topology ([`super::topology`]), each until SIGINT/SIGTERM.
//!
//! Inputs: the configuration (`[topology]`, `[[source]]` and `[server]` for ingest, `[[sink]]`
//! and `[alert_log]` for alert). Outputs: topic records, alert log lines, deliveries.
//! Every loop runs on a blocking thread; a full producer queue or a slow notifier blocks it
//! (the broker keeps what is not read yet).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use super::topology::{Alerter, DetectWorker, IngestRouter, Publisher, RouterStats, WorkerOptions};
use crate::alert::{AlertLog, AlertOutput, Notifier};
use crate::app::sources::{self, Started};
use crate::config::kafka::KafkaClient;
use crate::config::Config;
use crate::ingest::spool::{Recovery, Spool, SpoolPos};
use crate::ingest::{Ingested, SourceCtx};
use crate::telemetry::Metrics;

const POLL: Duration = Duration::from_millis(200);

/// Runs `role` until `shutdown` fires.
pub async fn run_role(
    role: &str,
    cfg: Arc<Config>,
    metrics: Arc<Metrics>,
    shutdown: CancellationToken,
    notifiers: Vec<Arc<dyn Notifier>>,
    sentiment_model: String,
) -> anyhow::Result<()> {
    let topo = cfg
        .topology
        .clone()
        .context("--role needs a [topology] section")?;
    let client = topo.client();
    match role {
        "ingest" => {
            let stats = ingest(
                cfg,
                client,
                topo.mentions_topic.clone(),
                metrics,
                shutdown,
                None,
            )
            .await?;
            tracing::info!(?stats, "ingest stopped");
            Ok(())
        }
        "detect" => {
            let opts = WorkerOptions {
                checkpoint_dir: topo.checkpoint_dir.clone().into(),
                checkpoint_interval: topo.checkpoint_interval.0,
                checkpoint_every: None,
                sentiment_model,
                metrics: Some(metrics),
            };
            tokio::task::spawn_blocking(move || {
                let mut w = DetectWorker::new(
                    cfg,
                    &client,
                    &topo.mentions_topic,
                    &topo.alerts_topic,
                    &topo.detect_group,
                    opts,
                )?;
                while !shutdown.is_cancelled() {
                    w.poll(POLL)?;
                }
                let stats = w.close()?;
                tracing::info!(?stats, "detect worker stopped");
                anyhow::Ok(())
            })
            .await
            .context("the detect worker panicked")?
        }
        "alert" => {
            let log = match &cfg.alert_log_path {
                Some(p) => {
                    Some(AlertLog::append_to(p, true).with_context(|| format!("alert log {p}"))?)
                }
                None => None,
            };
            // Direct: delivery (the outbox) has persisted an alert or failed to, and a failure
            // stops here so its offset is not stored. No alert metrics in this role.
            let mut output = AlertOutput::direct(log, None, notifiers);
            let handle = tokio::runtime::Handle::current();
            tokio::task::spawn_blocking(move || {
                let mut alerter =
                    Alerter::new(&client, &topo.alerts_topic, &topo.alert_group, 1_000_000)?;
                while !shutdown.is_cancelled() {
                    alerter.poll(POLL, |a| handle.block_on(output.emit(Arc::new(a), None)))?;
                }
                tracing::info!(stats = ?alerter.stats(), "alerter stopped");
                anyhow::Ok(())
            })
            .await
            .context("the alerter panicked")?
        }
        other => anyhow::bail!("unknown role {other:?} (ingest, detect, alert)"),
    }
}

/// The ingest role: every source, `POST /v1/mentions` included, into the mentions topic
/// through the [`IngestRouter`] (watermark, brand matching, thread attribution), until
/// `shutdown` fires and the sources have ended.
///
/// `[server] listen` (or `listener`, which takes precedence: tests bind port 0) serves
/// `/metrics`, `/healthz`, `/readyz` and, for an http source, the push route. Acknowledgements
/// keep their meaning: `ack = "durable"` answers 200 once the lines are fsynced in the spool,
/// and the spool counts a mention as covered only once Kafka has acknowledged its record
/// (after a producer flush, which happens whenever the queue runs empty); at the next start
/// what was not covered is routed again before new input (at least once: the detect
/// workers' id dedupe drops a repeat).
pub async fn ingest(
    cfg: Arc<Config>,
    client: KafkaClient,
    topic: String,
    metrics: Arc<Metrics>,
    shutdown: CancellationToken,
    listener: Option<TcpListener>,
) -> anyhow::Result<RouterStats> {
    let publisher = Publisher::new(&client, &topic)?;
    let partitions = publisher.partitions(Duration::from_secs(30))?;
    let mut router = IngestRouter::new(Arc::clone(&cfg), partitions)?;
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Ingested>(cfg.pipeline.channel_capacity.max(1));
    let bounds = crate::ingest::EventTimeBounds::from_config(&cfg.pipeline);
    let mut tasks = tokio::task::JoinSet::new();
    let mut push_state = None;
    let mut spool: Option<(Spool, Recovery)> = None;
    for s in &cfg.sources {
        let ctx = SourceCtx::new(&s.id, tx.clone(), Arc::clone(&metrics), shutdown.clone())
            .with_event_time_bounds(bounds.for_source(&s.kind));
        match sources::start(s, ctx, None)? {
            Started::Task(task) => {
                tasks.spawn(task);
            }
            Started::Push(state) => {
                anyhow::ensure!(
                    push_state.is_none(),
                    "source {}: one http source per process (the push route is one path)",
                    s.id
                );
                let (state, opened) = sources::prepare_push(&cfg, s, state, bounds, &tx, true)?;
                spool = opened;
                push_state = Some(state);
            }
        }
    }
    drop(tx);

    let listener = match (listener, &cfg.server_listen) {
        (Some(l), _) => Some(l),
        (None, Some(addr)) => Some(
            TcpListener::bind(addr)
                .await
                .with_context(|| format!("cannot listen on {addr}"))?,
        ),
        (None, None) => None,
    };
    anyhow::ensure!(
        listener.is_some() || push_state.is_none(),
        "an http source needs [server] listen: nothing could push"
    );
    let ready = Arc::new(AtomicBool::new(false));
    let pushing = push_state.is_some();
    let server_stop = shutdown.child_token();
    let server = listener.map(|l| {
        let mut app = crate::telemetry::http::router(Arc::clone(&metrics), Arc::clone(&ready));
        if let Some(state) = push_state.take() {
            app = app.merge(crate::ingest::push::router(state));
        }
        tokio::spawn(crate::telemetry::http::serve_limited(
            l,
            app,
            cfg.server_limits,
            Arc::clone(&metrics),
            server_stop.clone(),
        ))
    });
    ready.store(true, Ordering::Release);

    let (spool, recovery) = match spool {
        Some((s, r)) => (Some(s), Some(r)),
        None => (None, None),
    };
    let coverage = spool.as_ref().map(Spool::coverage);
    let routed = tokio::task::spawn_blocking(move || {
        let mut out = Vec::new();
        let mut send = |router: &mut IngestRouter, m: &crate::domain::Mention| {
            router.route(m, &mut out);
            for o in out.drain(..) {
                publisher.send(&o)?;
            }
            anyhow::Ok(())
        };
        // What the spool held from before this start goes first, in spool order.
        let mut pending: Option<SpoolPos> = None;
        for rec in recovery.into_iter().flatten() {
            let (pos, decoded) = rec.context("reading the push spool")?;
            match decoded {
                Ok(m) => send(&mut router, &m)?,
                Err(e) => {
                    tracing::warn!(error = %e, "spool: a record that does not decode is skipped")
                }
            }
            pending = Some(pos);
        }
        // A spool position is covered once Kafka has acknowledged every record up to it:
        // after a flush, done whenever the queue runs empty with spooled mentions pending.
        let settle = |pending: &mut Option<SpoolPos>| -> anyhow::Result<()> {
            if let Some(pos) = pending.take() {
                publisher.flush()?;
                if let Some(c) = &coverage {
                    c.cover(pos);
                }
            }
            Ok(())
        };
        loop {
            let item = match rx.try_recv() {
                Ok(item) => item,
                Err(tokio::sync::mpsc::error::TryRecvError::Empty) => {
                    settle(&mut pending)?;
                    match rx.blocking_recv() {
                        Some(item) => item,
                        None => break,
                    }
                }
                Err(tokio::sync::mpsc::error::TryRecvError::Disconnected) => break,
            };
            send(&mut router, &item.mention)?;
            if let Some(pos) = item.spool {
                pending = Some(pos);
            }
            // Handed to the producer: the source may persist its cursor past it.
            item.processed();
        }
        settle(&mut pending)?;
        publisher.flush()?;
        anyhow::Ok(router.stats().clone())
    });
    while let Some(r) = tasks.join_next().await {
        r.context("a source panicked")??;
    }
    // The sources have ended (a file read to its end, or the shutdown). The push route is a
    // live source: it takes lines until `shutdown` fires; its end ends the spool's writer and
    // with it the queue.
    if pushing {
        shutdown.cancelled().await;
    }
    server_stop.cancel();
    if let Some(server) = server {
        server.await.context("the http server panicked")??;
    }
    let stats = routed.await.context("the router panicked")??;
    if let Some(spool) = spool {
        tokio::task::spawn_blocking(move || spool.finish())
            .await
            .context("the spool writer panicked")?
            .context("closing the push spool")?;
    }
    Ok(stats)
}
