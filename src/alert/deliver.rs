//! Reliable delivery: [`Delivery`] is a [`Notifier`] the dispatcher hands every alert line.
//! It routes the line ([`Router`]: escalation policy, flood control), **persists** one outbox
//! entry per target sink (fsynced), then queues it to that sink's worker task.
//!
//! Each worker keeps one FIFO per incident and only ever attempts an incident's head, so
//! trigger → escalate → resolve reach the receiver in order, while a stuck incident does not
//! hold up the others. Outcomes:
//! - 2xx: `delivered` is appended to the outbox;
//! - retryable (429, 5xx, timeout): retried after `max(Retry-After, full-jitter backoff)` with
//!   the bound doubling from `backoff_initial` to `backoff_max`; past `max_age` → dead letter;
//! - rejected (400, 401, 403, …): dead letter at once, never retried.
//!
//! Dead letters are logged at `error`, counted in `flashpoint_sink_dead_letters_total`, and
//! listed by `flashpoint outbox list`. On start, pending entries in the outbox are queued
//! again in sequence order, before anything new.
//!
//! Queues: the channel to each worker holds `queue_capacity` entries and its in-memory
//! incident queues at most as many again; when both are full the producer waits (**Block**),
//! which holds back the dispatcher and so the detector. Nothing is dropped: it is already on
//! disk. Delivery is at least once; a crash between a 2xx and its `delivered` record repeats
//! one send, which PagerDuty and Alertmanager fold by dedup key / labels.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::{Rng, SeedableRng};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::dispatch::{Notifier, NotifyError, NotifyErrorKind, NotifyFuture};
use super::outbox::{Outbox, OutboxEntry};
use super::policy::{Router, SinkRoute};
use crate::config::{DeliveryConfig, EscalationConfig, FloodControlConfig};
use crate::domain::alert::AlertRecord;
use crate::telemetry::Metrics;

/// Retry timing.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    pub initial: Duration,
    pub max: Duration,
    pub max_age: Duration,
}

impl RetryPolicy {
    /// The upper bound of the `attempt`-th delay (1-based): `initial · 2^(attempt-1)`, capped.
    pub fn bound(&self, attempt: u32) -> Duration {
        let factor = 2u32.saturating_pow(attempt.saturating_sub(1).min(30));
        self.initial.saturating_mul(factor).min(self.max)
    }

    /// Full jitter: uniform in `[0, bound]`, but never sooner than `retry_after`.
    pub fn delay(
        &self,
        attempt: u32,
        retry_after: Option<Duration>,
        rng: &mut impl Rng,
    ) -> Duration {
        let bound = self.bound(attempt);
        let jittered = Duration::from_secs_f64(rng.gen_range(0.0..=bound.as_secs_f64()));
        retry_after.map_or(jittered, |r| jittered.max(r))
    }
}

/// What `Delivery` needs to start.
pub struct DeliveryOptions<'a> {
    pub outbox_dir: &'a Path,
    pub delivery: &'a DeliveryConfig,
    pub escalation: &'a [EscalationConfig],
    pub flood: FloodControlConfig,
    pub metrics: Arc<Metrics>,
}

/// Routes, persists and delivers alert lines to sinks. Dropping it stops the workers
/// (pending entries stay in the outbox for the next start).
pub struct Delivery {
    router: Mutex<Router>,
    outbox: Arc<Outbox>,
    workers: HashMap<String, mpsc::Sender<Job>>,
    pending: watch::Sender<usize>,
    in_flight: watch::Sender<usize>,
    depth: Arc<HashMap<String, std::sync::atomic::AtomicI64>>,
    metrics: Arc<Metrics>,
    tasks: Mutex<JoinSet<()>>,
}

impl std::fmt::Debug for Delivery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Delivery")
            .field("outbox", &self.outbox.path())
            .field("sinks", &self.workers.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

struct Job {
    entry: OutboxEntry,
    attempts: u32,
    next_at: Instant,
    queued_at: Instant,
}

impl Delivery {
    /// Opens the outbox, starts one worker per sink on the current runtime, and re-queues
    /// whatever the outbox still holds.
    pub fn start(
        sinks: Vec<Arc<dyn Notifier>>,
        opts: DeliveryOptions<'_>,
    ) -> std::io::Result<Arc<Delivery>> {
        let (outbox, snap) = Outbox::open(opts.outbox_dir)?;
        let outbox = Arc::new(outbox);
        let policy = RetryPolicy {
            initial: opts.delivery.backoff_initial.0,
            max: opts.delivery.backoff_max.0,
            max_age: opts.delivery.max_age.0,
        };
        let capacity = opts.delivery.queue_capacity.max(1);
        let (pending, _) = watch::channel(0usize);
        let (in_flight, _) = watch::channel(0usize);
        let depth: Arc<HashMap<_, _>> = Arc::new(
            sinks
                .iter()
                .map(|s| (s.id().to_string(), std::sync::atomic::AtomicI64::new(0)))
                .collect(),
        );
        let mut tasks = JoinSet::new();
        let mut workers = HashMap::new();
        let mut restored: HashMap<String, Vec<OutboxEntry>> = HashMap::new();
        for e in snap.pending {
            restored.entry(e.sink.clone()).or_default().push(e);
        }
        for sink in &sinks {
            let (tx, rx) = mpsc::channel(capacity);
            let id = sink.id().to_string();
            let mut w = Worker {
                sink: Arc::clone(sink),
                rx,
                outbox: Arc::clone(&outbox),
                policy,
                capacity,
                metrics: Arc::clone(&opts.metrics),
                pending: pending.clone(),
                in_flight: in_flight.clone(),
                depth: Arc::clone(&depth),
                queues: BTreeMap::new(),
                queued: 0,
                rng: rand_chacha::ChaCha8Rng::from_entropy(),
            };
            for e in restored.remove(&id).unwrap_or_default() {
                w.push(e);
            }
            if w.queued > 0 {
                pending.send_modify(|n| *n += w.queued);
                if let Some(dd) = depth.get(&id) {
                    dd.store(w.queued as i64, std::sync::atomic::Ordering::Relaxed);
                }
                opts.metrics
                    .sink_outbox_depth
                    .with_label_values(&[&id])
                    .set(w.queued as f64);
                tracing::info!(sink = %id, pending = w.queued, "resuming deliveries from the outbox");
            }
            tasks.spawn(w.run());
            workers.insert(id, tx);
        }
        for (sink, entries) in restored {
            tracing::warn!(sink = %sink, pending = entries.len(), "outbox holds notifications for a sink that is no longer configured; they stay pending");
        }
        let router = Router::new(
            sinks
                .iter()
                .map(|s| SinkRoute {
                    id: s.id().to_string(),
                    teams: s.teams().to_vec(),
                })
                .collect(),
            opts.escalation,
            opts.flood,
        );
        Ok(Arc::new(Delivery {
            router: Mutex::new(router),
            outbox,
            workers,
            pending,
            in_flight,
            depth,
            metrics: opts.metrics,
            tasks: Mutex::new(tasks),
        }))
    }

    /// Notifications persisted and not yet delivered or dead-lettered.
    pub fn pending(&self) -> usize {
        *self.pending.borrow()
    }

    /// Waits until nothing is pending (no timer: wrap it in a timeout to bound it).
    pub async fn drain(&self) {
        self.wait_pending(0).await;
    }

    /// Waits until at most `n` notifications are pending.
    pub async fn wait_pending(&self, n: usize) {
        let mut rx = self.pending.subscribe();
        let _ignored = rx.wait_for(|p| *p <= n).await;
    }

    /// Waits until no request is on the wire. Tests under paused time call it before moving
    /// the clock, so a real HTTP round trip never looks like a jump in time.
    pub async fn wait_idle(&self) {
        let mut rx = self.in_flight.subscribe();
        let _ignored = rx.wait_for(|n| *n == 0).await;
    }

    /// Stops the workers now; pending entries stay in the outbox.
    pub fn stop(&self) {
        if let Ok(mut t) = self.tasks.lock() {
            t.abort_all();
        }
    }

    async fn accept(&self, alert: &AlertRecord) -> Result<(), NotifyError> {
        let routed = match self.router.lock() {
            Ok(mut r) => r.route(alert),
            Err(_) => return Err(error("routing state poisoned")),
        };
        let routed: Vec<(&str, AlertRecord)> = routed
            .iter()
            .filter(|(s, _)| self.workers.contains_key(s))
            .map(|(s, a)| (s.as_str(), a.clone()))
            .collect();
        if routed.is_empty() {
            return Ok(());
        }
        // Persist before anything is sent. A failure here fails the line loudly: the
        // dispatcher logs it, and nothing was sent that the outbox does not know about.
        let entries = self
            .outbox
            .enqueue(&routed)
            .map_err(|e| error(&format!("cannot persist to the outbox: {e}")))?;
        self.pending.send_modify(|n| *n += entries.len());
        for e in entries {
            if let Some(d) = self.depth.get(&e.sink) {
                let v = d.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
                self.metrics
                    .sink_outbox_depth
                    .with_label_values(&[&e.sink])
                    .set(v as f64);
            }
            let Some(tx) = self.workers.get(&e.sink) else {
                continue;
            };
            let job = Job::new(e);
            if tx.send(job).await.is_err() {
                return Err(error("delivery stopped"));
            }
        }
        Ok(())
    }
}

fn error(message: &str) -> NotifyError {
    NotifyError {
        notifier: String::from("delivery"),
        kind: NotifyErrorKind::Unavailable,
        reason: "outbox",
        message: message.to_string(),
        retry_after: None,
    }
}

impl Drop for Delivery {
    fn drop(&mut self) {
        self.stop();
    }
}

impl Notifier for Delivery {
    fn id(&self) -> &str {
        "delivery"
    }
    fn teams(&self) -> &[String] {
        &[]
    }
    fn wants(&self, _alert: &AlertRecord) -> bool {
        true
    }
    fn notify<'a>(&'a self, alert: &'a AlertRecord) -> NotifyFuture<'a> {
        Box::pin(self.accept(alert))
    }
}

impl Job {
    fn new(entry: OutboxEntry) -> Job {
        let now = Instant::now();
        Job {
            entry,
            attempts: 0,
            next_at: now,
            queued_at: now,
        }
    }
}

struct Worker {
    sink: Arc<dyn Notifier>,
    rx: mpsc::Receiver<Job>,
    outbox: Arc<Outbox>,
    policy: RetryPolicy,
    capacity: usize,
    metrics: Arc<Metrics>,
    pending: watch::Sender<usize>,
    in_flight: watch::Sender<usize>,
    depth: Arc<HashMap<String, std::sync::atomic::AtomicI64>>,
    /// incident → its notifications in order; only the head is ever attempted.
    queues: BTreeMap<String, VecDeque<Job>>,
    queued: usize,
    rng: rand_chacha::ChaCha8Rng,
}

impl Worker {
    fn push(&mut self, e: OutboxEntry) {
        self.push_job(Job::new(e));
    }

    fn push_job(&mut self, job: Job) {
        self.queued += 1;
        self.queues
            .entry(job.entry.alert.incident.clone())
            .or_default()
            .push_back(job);
    }

    /// The incident whose head is due first, and when.
    fn next_due(&self) -> Option<(Instant, String)> {
        self.queues
            .iter()
            .filter_map(|(k, q)| q.front().map(|j| (j.next_at, k.clone())))
            .min()
    }

    async fn run(mut self) {
        let mut open = true;
        let interval = self.sink.tick_interval();
        let mut next_tick = interval.map(|i| Instant::now() + i);
        loop {
            if !open && self.queued == 0 {
                break;
            }
            let due = self.next_due();
            let room = open && self.queued < self.capacity;
            tokio::select! {
                biased;
                msg = self.rx.recv(), if room => match msg {
                    Some(job) => self.push_job(job),
                    None => open = false,
                },
                _ = sleep_until_opt(due.as_ref().map(|d| d.0)), if due.is_some() => {
                    if let Some((_, incident)) = due {
                        self.attempt(&incident).await;
                    }
                }
                _ = sleep_until_opt(next_tick), if next_tick.is_some() && open => {
                    self.in_flight.send_modify(|n| *n += 1);
                    let res = self.sink.tick().await;
                    self.in_flight.send_modify(|n| *n = n.saturating_sub(1));
                    if let Err(e) = res {
                        tracing::warn!(sink = self.sink.id(), error = %e, "periodic re-post failed");
                    }
                    next_tick = interval.map(|i| Instant::now() + i);
                }
            }
        }
    }

    async fn attempt(&mut self, incident: &str) {
        let Some(job) = self.queues.get_mut(incident).and_then(VecDeque::front_mut) else {
            return;
        };
        let id = self.sink.id().to_string();
        self.in_flight.send_modify(|n| *n += 1);
        let result = self.sink.notify(&job.entry.alert).await;
        self.in_flight.send_modify(|n| *n = n.saturating_sub(1));
        let seq = job.entry.seq;
        match result {
            Ok(()) => {
                if let Err(e) = self.outbox.mark_delivered(seq) {
                    tracing::error!(sink = %id, seq, error = %e, "cannot record a delivery in the outbox; it may repeat after a restart");
                }
                self.metrics.sink_sent_total.with_label_values(&[&id]).inc();
                self.metrics
                    .record_sink_latency(&id, job.queued_at.elapsed());
                self.metrics.publish_sink_latency();
                tracing::debug!(sink = %id, incident, action = job.entry.alert.action.as_str(), "delivered");
                self.finish(incident);
            }
            Err(e) => {
                self.metrics
                    .sink_failed_total
                    .with_label_values(&[&id, e.reason])
                    .inc();
                if !e.retryable() {
                    self.dead(incident, e.reason, &e.to_string());
                    return;
                }
                job.attempts += 1;
                let delay = self
                    .policy
                    .delay(job.attempts, e.retry_after, &mut self.rng);
                let age_here = job.queued_at.elapsed();
                let age_wall = Duration::from_millis(
                    u64::try_from(wall_ms() - job.entry.enqueued_at_ms).unwrap_or(0),
                );
                if age_here.max(age_wall) + delay > self.policy.max_age {
                    let msg = format!("gave up after {} attempts: {e}", job.attempts);
                    self.dead(incident, "max_age", &msg);
                    return;
                }
                job.next_at = Instant::now() + delay;
                self.metrics
                    .sink_retries_total
                    .with_label_values(&[&id])
                    .inc();
                tracing::warn!(sink = %id, incident, attempt = job.attempts, retry_in_ms = delay.as_millis() as u64, error = %e, "delivery failed, will retry");
            }
        }
    }

    fn dead(&mut self, incident: &str, reason: &str, error: &str) {
        let id = self.sink.id().to_string();
        if let Some(job) = self.queues.get(incident).and_then(VecDeque::front) {
            if let Err(e) = self.outbox.mark_dead(job.entry.seq, reason, error) {
                tracing::error!(sink = %id, seq = job.entry.seq, error = %e, "cannot record a dead letter in the outbox");
            }
            tracing::error!(sink = %id, incident, action = job.entry.alert.action.as_str(), seq = job.entry.seq, reason, error, "notification dead-lettered (see `flashpoint outbox list`)");
        }
        self.metrics
            .sink_dead_letters_total
            .with_label_values(&[&id])
            .inc();
        self.finish(incident);
    }

    fn finish(&mut self, incident: &str) {
        if let Some(q) = self.queues.get_mut(incident) {
            q.pop_front();
            if q.is_empty() {
                self.queues.remove(incident);
            }
        }
        self.queued = self.queued.saturating_sub(1);
        let id = self.sink.id();
        if let Some(d) = self.depth.get(id) {
            let v = d.fetch_sub(1, std::sync::atomic::Ordering::Relaxed) - 1;
            self.metrics
                .sink_outbox_depth
                .with_label_values(&[id])
                .set(v.max(0) as f64);
        }
        self.pending.send_modify(|n| *n = n.saturating_sub(1));
    }
}

async fn sleep_until_opt(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

fn wall_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_bound_doubles_to_cap_and_honours_retry_after() {
        let p = RetryPolicy {
            initial: Duration::from_secs(1),
            max: Duration::from_secs(60),
            max_age: Duration::from_secs(3600),
        };
        assert_eq!(p.bound(1), Duration::from_secs(1));
        assert_eq!(p.bound(4), Duration::from_secs(8));
        assert_eq!(p.bound(40), Duration::from_secs(60));
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let mut seen_small = false;
        for a in 1..50 {
            let d = p.delay(a, None, &mut rng);
            assert!(d <= p.bound(a));
            seen_small |= d < p.bound(a) / 2;
            assert!(p.delay(a, Some(Duration::from_secs(90)), &mut rng) >= Duration::from_secs(90));
        }
        assert!(seen_small, "full jitter spreads delays over [0, bound]");
    }
}
