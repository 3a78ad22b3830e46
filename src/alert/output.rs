//! The alert-line output every wiring path shares: each decided alert is written to the alert
//! log, counted in the alert metrics, and handed to the notifiers, in that order.
//!
//! Inputs: [`AlertRecord`]s in decision order. Outputs: alert log lines, `alerts_total` and the
//! alert latency, notifier calls. Two ways to reach the notifiers:
//!
//! - [`AlertOutput::dispatching`]: through a [`Dispatcher`] (bounded queue, **block** when
//!   full; a failed delivery is logged and counted, never stops the pipeline). Used by replays
//!   and `flashpoint run`.
//! - [`AlertOutput::direct`]: each notifier that wants the alert, awaited in turn; the first
//!   failure is returned, so the caller can keep the alert to be read again. Used by the
//!   partitioned topology's alert role.
//!
//! Invariants: one owner writes the log in decision order, so a replay's alert log is
//! byte-identical at any speed; a line is handed to [`Notifier::persist`] (the outbox) before
//! it is written to the log, so the memory queues only ever carry work already on disk.

use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;

use super::dispatch::{DispatchStats, Dispatcher, Notifier};
use super::log::AlertLog;
use crate::domain::alert::AlertRecord;
use crate::telemetry::Metrics;

/// Alerts between the engine and a dispatcher's notifiers.
const DISPATCH_CAPACITY: usize = 1024;

enum Fanout {
    Queue {
        dispatcher: Dispatcher,
        task: tokio::task::JoinHandle<DispatchStats>,
    },
    Direct(Vec<Arc<dyn Notifier>>),
}

/// Where decided alerts go: the alert log, the metrics, the notifiers.
pub struct AlertOutput {
    log: Option<AlertLog>,
    metrics: Option<Arc<Metrics>>,
    fanout: Fanout,
    /// Every notifier, asked to [`Notifier::persist`] a line before it is logged.
    persisting: Vec<Arc<dyn Notifier>>,
}

impl AlertOutput {
    /// An output whose notifiers are fed by a dispatcher task started now on the current
    /// runtime; each delivery attempt is counted in `notifier_deliveries_total` when `metrics`
    /// is given.
    pub fn dispatching(
        log: Option<AlertLog>,
        metrics: Option<Arc<Metrics>>,
        notifiers: Vec<Arc<dyn Notifier>>,
    ) -> AlertOutput {
        let on_result_metrics = metrics.clone();
        let persisting = notifiers.clone();
        let (dispatcher, task) = Dispatcher::spawn(
            notifiers,
            DISPATCH_CAPACITY,
            Arc::new(move |id, res| {
                if let Some(m) = &on_result_metrics {
                    let result = if res.is_ok() { "delivered" } else { "failed" };
                    m.notifier_deliveries_total
                        .with_label_values(&[id, result])
                        .inc();
                }
            }),
        );
        AlertOutput {
            log,
            metrics,
            fanout: Fanout::Queue { dispatcher, task },
            persisting,
        }
    }

    /// An output that calls the notifiers itself (see the module docs).
    pub fn direct(
        log: Option<AlertLog>,
        metrics: Option<Arc<Metrics>>,
        notifiers: Vec<Arc<dyn Notifier>>,
    ) -> AlertOutput {
        AlertOutput {
            log,
            metrics,
            persisting: notifiers.clone(),
            fanout: Fanout::Direct(notifiers),
        }
    }

    /// Writes, counts and hands on one alert. `since`: when the work that decided it started
    /// (recorded as the alert latency); `None` records no latency.
    pub async fn emit(
        &mut self,
        alert: Arc<AlertRecord>,
        since: Option<Instant>,
    ) -> anyhow::Result<()> {
        // Durable first (the outbox), logged second: a line in the alert log is never lost
        // to a crash or a stop while it waits in a queue, as a restart does not decide a
        // logged line again (`app::reconcile`).
        for n in self.persisting.iter().filter(|n| n.wants(&alert)) {
            if let Err(e) = n.persist(&alert).await {
                anyhow::bail!("cannot persist the alert for delivery: {e}");
            }
        }
        if let Some(log) = self.log.as_mut() {
            log.append(&alert).context("writing the alert log")?;
        }
        if let Some(m) = &self.metrics {
            count(m, &alert);
            if let Some(t) = since {
                m.record_latency(t.elapsed());
            }
        }
        match &self.fanout {
            Fanout::Queue { dispatcher, .. } => dispatcher.send(alert).await?,
            Fanout::Direct(notifiers) => {
                for n in notifiers.iter().filter(|n| n.wants(&alert)) {
                    if let Err(e) = n.notify(&alert).await {
                        anyhow::bail!("{e}");
                    }
                }
            }
        }
        Ok(())
    }

    /// Flushes the alert log.
    pub fn flush(&mut self) -> anyhow::Result<()> {
        if let Some(log) = self.log.as_mut() {
            log.flush().context("flushing the alert log")?;
        }
        Ok(())
    }

    /// Closes the output: a dispatcher delivers what is queued and stops. Does not flush the
    /// log (see [`AlertOutput::flush`]).
    pub async fn close(self) -> anyhow::Result<()> {
        if let Fanout::Queue { dispatcher, task } = self.fanout {
            drop(dispatcher);
            let _stats = task.await.context("the dispatcher task failed")?;
        }
        Ok(())
    }
}

/// Counts one alert line in `alerts_total` per team notified (`none` when no team is).
fn count(metrics: &Metrics, alert: &AlertRecord) {
    let teams: &[String] = &alert.teams;
    for t in teams
        .iter()
        .map(String::as_str)
        .chain(teams.is_empty().then_some("none"))
    {
        metrics
            .alerts_total
            .with_label_values(&[t, alert.action.as_str(), alert.severity.as_str()])
            .inc();
    }
}
