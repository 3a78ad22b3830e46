//! The [`Notifier`] trait every sink implements, and the [`Dispatcher`] that owns the bounded
//! queue between detection and the notifiers.
//!
//! Policy when the queue is full: **block** (the detector waits). Pages are never dropped to
//! make room; the queue depth is exported so a slow sink is visible.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;

use crate::domain::alert::AlertRecord;

/// Why a delivery failed, and what the caller may do about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotifyErrorKind {
    /// The receiver rejected the alert itself (e.g. HTTP 400): do not retry, dead-letter it.
    Rejected,
    /// A temporary failure (timeout, 429, 5xx): retry, after `retry_after` if given.
    Unavailable,
    /// The sink is misconfigured (bad URL, missing key): fix the configuration.
    Config,
}

/// A failed delivery.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{notifier}: {message}")]
pub struct NotifyError {
    pub notifier: String,
    pub kind: NotifyErrorKind,
    /// A short, stable metric label (`rejected`, `rate_limited`, `server_error`, `timeout`,
    /// `connect`, `config`, …).
    pub reason: &'static str,
    pub message: String,
    pub retry_after: Option<Duration>,
}

impl NotifyError {
    pub fn retryable(&self) -> bool {
        self.kind == NotifyErrorKind::Unavailable
    }
}

/// The boxed future a notifier returns.
pub type NotifyFuture<'a> = Pin<Box<dyn Future<Output = Result<(), NotifyError>> + Send + 'a>>;

/// A destination for alerts (PagerDuty, Slack, a terminal, …).
pub trait Notifier: Send + Sync {
    /// The sink id from the configuration (metrics label).
    fn id(&self) -> &str;
    /// Teams whose notifications this sink carries; empty = every team.
    fn teams(&self) -> &[String];
    /// Delivers one alert.
    fn notify<'a>(&'a self, alert: &'a AlertRecord) -> NotifyFuture<'a>;
    /// Makes the alert durable for this notifier *before* the line is written to the alert
    /// log (called by [`super::AlertOutput`] in decision order; [`Notifier::notify`] follows
    /// with the same line). The outbox-backed [`super::Delivery`] persists its notifications
    /// here, so a line in the alert log is never one the outbox does not know. Waits (Block)
    /// while the state cannot be written; an error means the line must not be logged.
    fn persist<'a>(&'a self, _alert: &'a AlertRecord) -> NotifyFuture<'a> {
        Box::pin(async { Ok(()) })
    }
    /// Whether the alert is for this sink: one of its teams is named by the alert.
    fn wants(&self, alert: &AlertRecord) -> bool {
        let mine = self.teams();
        mine.is_empty() || alert.teams.iter().any(|t| mine.contains(t))
    }
    /// How often [`Notifier::tick`] should run (e.g. Alertmanager re-posts active alerts);
    /// `None` = never.
    fn tick_interval(&self) -> Option<Duration> {
        None
    }
    /// Periodic housekeeping; failures are logged by the caller, not retried.
    fn tick(&self) -> NotifyFuture<'_> {
        Box::pin(async { Ok(()) })
    }
    /// The delivery layer gave `alert` up (dead letter: rejected, too old, …) without it
    /// necessarily reaching [`Notifier::notify`]: drop any state kept for it.
    fn abandoned(&self, _alert: &AlertRecord) {}
    /// The least severe line this sink is sent by default (no `[[escalation]]` row for the
    /// team): PagerDuty pages at warning and above, chat and webhooks take everything.
    fn min_severity(&self) -> crate::domain::Severity {
        crate::domain::Severity::Info
    }
}

/// Counts of delivery outcomes, reported when the dispatcher drains.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DispatchStats {
    pub delivered: u64,
    pub failed: u64,
    pub skipped: u64,
}

/// Sends alerts from a bounded queue to every notifier that wants them, in queue order.
/// Called for each delivery attempt with the notifier id and the outcome (for metrics).
pub type OnResult = Arc<dyn Fn(&str, &Result<(), NotifyError>) + Send + Sync>;

pub struct Dispatcher {
    tx: mpsc::Sender<Arc<AlertRecord>>,
}

impl Dispatcher {
    /// Starts the dispatcher task on the current tokio runtime. `on_result` is called for each
    /// delivery attempt with the notifier id and the outcome (for metrics).
    pub fn spawn(
        notifiers: Vec<Arc<dyn Notifier>>,
        capacity: usize,
        on_result: OnResult,
    ) -> (Dispatcher, tokio::task::JoinHandle<DispatchStats>) {
        let (tx, mut rx) = mpsc::channel::<Arc<AlertRecord>>(capacity.max(1));
        let task = tokio::spawn(async move {
            let mut stats = DispatchStats::default();
            while let Some(alert) = rx.recv().await {
                for n in &notifiers {
                    if !n.wants(&alert) {
                        stats.skipped += 1;
                        continue;
                    }
                    let res = n.notify(&alert).await;
                    match &res {
                        Ok(()) => stats.delivered += 1,
                        Err(err) => {
                            stats.failed += 1;
                            tracing::warn!(notifier = n.id(), error = %err, "alert delivery failed");
                        }
                    }
                    on_result(n.id(), &res);
                }
            }
            stats
        });
        (Dispatcher { tx }, task)
    }

    /// Queues an alert, waiting while the queue is full. Fails only after the task stopped.
    pub async fn send(&self, alert: Arc<AlertRecord>) -> Result<(), NotifyError> {
        self.tx.send(alert).await.map_err(|_| NotifyError {
            notifier: String::from("dispatcher"),
            kind: NotifyErrorKind::Unavailable,
            reason: "stopped",
            message: String::from("dispatcher stopped"),
            retry_after: None,
        })
    }

    /// Queues an alert from a non-async thread (the replay pipeline), waiting while full.
    pub fn blocking_send(&self, alert: Arc<AlertRecord>) -> Result<(), NotifyError> {
        self.tx.blocking_send(alert).map_err(|_| NotifyError {
            notifier: String::from("dispatcher"),
            kind: NotifyErrorKind::Unavailable,
            reason: "stopped",
            message: String::from("dispatcher stopped"),
            retry_after: None,
        })
    }

    /// Alerts waiting in the queue.
    pub fn depth(&self) -> usize {
        self.tx.max_capacity() - self.tx.capacity()
    }
}

/// A notifier that accepts everything and keeps only a count: the sink for benchmarks and for
/// tests of everything upstream of delivery.
pub mod blackhole {
    use std::sync::atomic::{AtomicU64, Ordering};

    use super::{AlertRecord, Notifier, NotifyFuture};

    #[derive(Debug, Default)]
    pub struct Blackhole {
        id: String,
        teams: Vec<String>,
        received: AtomicU64,
    }

    impl Blackhole {
        pub fn new(id: &str, teams: Vec<String>) -> Blackhole {
            Blackhole {
                id: id.to_string(),
                teams,
                received: AtomicU64::new(0),
            }
        }

        pub fn received(&self) -> u64 {
            self.received.load(Ordering::Relaxed)
        }
    }

    impl Notifier for Blackhole {
        fn id(&self) -> &str {
            &self.id
        }
        fn teams(&self) -> &[String] {
            &self.teams
        }
        fn notify<'a>(&'a self, _alert: &'a AlertRecord) -> NotifyFuture<'a> {
            self.received.fetch_add(1, Ordering::Relaxed);
            Box::pin(async { Ok(()) })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::blackhole::Blackhole;
    use super::*;

    fn alert(teams: &[&str]) -> Arc<AlertRecord> {
        Arc::new(AlertRecord {
            teams: teams.iter().map(|t| t.to_string()).collect(),
            dedup_key: "k".into(),
            ..AlertRecord::sample("b-20260303-0001")
        })
    }

    #[tokio::test]
    async fn dispatcher_routes_by_team_and_drains_on_close() {
        let support = Arc::new(Blackhole::new("support", vec!["support".into()]));
        let marketing = Arc::new(Blackhole::new("marketing", vec!["marketing".into()]));
        let everyone = Arc::new(Blackhole::new("all", vec![]));
        let (d, task) = Dispatcher::spawn(
            vec![support.clone(), marketing.clone(), everyone.clone()],
            2,
            Arc::new(|_, _| {}),
        );
        for _ in 0..5 {
            d.send(alert(&["field-ops", "support"])).await.unwrap();
        }
        d.send(alert(&["marketing"])).await.unwrap();
        drop(d);
        let stats = task.await.unwrap();
        assert_eq!(support.received(), 5);
        assert_eq!(marketing.received(), 1);
        assert_eq!(everyone.received(), 6);
        assert_eq!(stats.delivered, 12);
        assert_eq!(stats.skipped, 6);
    }
}
