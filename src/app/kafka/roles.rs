//! `flashpoint run --role ingest|detect|alert`: one process per role of the partitioned
//! topology ([`super::topology`]), each until SIGINT/SIGTERM.
//!
//! Inputs: the configuration (`[topology]`, `[[source]]` for ingest, `[[sink]]` and
//! `[alert_log]` for alert). Outputs: topic records, alert log lines, deliveries.
//! Every loop runs on a blocking thread; a full producer queue or a slow notifier blocks it
//! (the broker keeps what is not read yet).

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio_util::sync::CancellationToken;

use super::topology::{Alerter, DetectWorker, IngestRouter, Publisher, WorkerOptions};
use crate::alert::{AlertLog, AlertOutput, Notifier};
use crate::app::sources::{self, Started};
use crate::config::Config;
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
            let publisher = Publisher::new(&client, &topo.mentions_topic)?;
            let partitions = publisher.partitions(Duration::from_secs(30))?;
            let mut router = IngestRouter::new(Arc::clone(&cfg), partitions)?;
            let (tx, mut rx) =
                tokio::sync::mpsc::channel::<Ingested>(cfg.pipeline.channel_capacity.max(1));
            let mut tasks = tokio::task::JoinSet::new();
            for s in &cfg.sources {
                let ctx = SourceCtx::new(&s.id, tx.clone(), Arc::clone(&metrics), shutdown.clone())
                    .with_event_time_bounds(
                        crate::ingest::EventTimeBounds::from_config(&cfg.pipeline)
                            .for_source(&s.kind),
                    );
                match sources::start(s, ctx, None)? {
                    Started::Task(task) => tasks.spawn(task),
                    Started::Push(_) => {
                        anyhow::bail!(
                            "source {}: http push is not available with --role ingest",
                            s.id
                        )
                    }
                };
            }
            drop(tx);
            let routed = tokio::task::spawn_blocking(move || {
                let mut out = Vec::new();
                while let Some(item) = rx.blocking_recv() {
                    router.route(&item.mention, &mut out);
                    for o in out.drain(..) {
                        publisher.send(&o)?;
                    }
                    // Handed to the producer: the source may persist its cursor past it.
                    item.processed();
                }
                publisher.flush()?;
                anyhow::Ok(router.stats().clone())
            });
            while let Some(r) = tasks.join_next().await {
                r.context("a source panicked")??;
            }
            let stats = routed.await.context("the router panicked")??;
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
