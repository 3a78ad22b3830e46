//! A sink's delivery worker and its supervisor ([`super`] has the design): the worker keeps
//! one FIFO per incident and attempts only heads, retries with backoff, dead-letters, and
//! loads spilled entries from the outbox; the supervisor restarts a worker that died, from
//! the outbox.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::SeedableRng;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use super::{RetryPolicy, Spill, MAX_PANICS, MAX_RETRY_AFTER, PERSIST_BACKOFF, RESTART_BACKOFF};
use crate::alert::dispatch::Notifier;
use crate::alert::outbox::{Outbox, OutboxEntry};
use crate::telemetry::Metrics;

pub(super) struct Job {
    entry: OutboxEntry,
    attempts: u32,
    next_at: Instant,
    queued_at: Instant,
    /// Scheduled at the `max_age` deadline (a retry would have come after it): whatever
    /// this attempt's outcome, it is the last.
    last_call: bool,
}

impl Job {
    /// How long ago it was persisted: the larger of the time in this process (paused in
    /// tests) and the wall-clock age in the outbox (which survives restarts).
    fn age(&self) -> Duration {
        let wall = u64::try_from(wall_ms().saturating_sub(self.entry.enqueued_at_ms)).unwrap_or(0);
        self.queued_at.elapsed().max(Duration::from_millis(wall))
    }

    pub(super) fn new(entry: OutboxEntry) -> Job {
        let now = Instant::now();
        Job {
            entry,
            attempts: 0,
            next_at: now,
            queued_at: now,
            last_call: false,
        }
    }
}

/// Everything a sink's worker is built from; the supervisor keeps it to build a new worker
/// when one dies. The channel's receiver sits behind a lock the running worker holds, so it
/// outlives a worker that panics.
#[derive(Clone)]
pub(super) struct Seed {
    pub(super) sink: Arc<dyn Notifier>,
    pub(super) rx: Arc<tokio::sync::Mutex<mpsc::Receiver<Job>>>,
    pub(super) outbox: Arc<Outbox>,
    pub(super) policy: RetryPolicy,
    pub(super) capacity: usize,
    pub(super) metrics: Arc<Metrics>,
    pub(super) pending: watch::Sender<usize>,
    pub(super) in_flight: watch::Sender<usize>,
    pub(super) depth: Arc<HashMap<String, std::sync::atomic::AtomicI64>>,
    pub(super) spilled: Spill,
    /// Entries settled in this process (delivered or dead) whose record could not be written
    /// (disk full): still pending in the outbox file, so a load from it must leave them out
    /// or they would be sent again and settled twice. A restart sends them once more (at
    /// least once).
    pub(super) unrecorded: Arc<Mutex<HashSet<u64>>>,
}

impl Seed {
    /// `seq` was settled but its record is not in the outbox ([`Seed::unrecorded`]).
    fn unrecord(&self, seq: u64) {
        if let Ok(mut u) = self.unrecorded.lock() {
            u.insert(seq);
        }
    }

    /// The sink's pending entries in the outbox, less those settled in this process whose
    /// record failed, and the highest sequence number assigned when it was read.
    fn pending_in_outbox(&self) -> std::io::Result<(Vec<OutboxEntry>, u64)> {
        let (mut list, upto) = self.outbox.pending_for(self.sink.id())?;
        if let Ok(u) = self.unrecorded.lock() {
            list.retain(|e| !u.contains(&e.seq));
        }
        Ok((list, upto))
    }

    /// One notification left the sink's queue (delivered or dead): counts and gauges follow.
    fn settled(&self) {
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

/// Aborts a task when dropped: a supervisor that is stopped takes its worker with it.
struct AbortOnDrop(tokio::task::AbortHandle);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Runs a sink's worker and restarts it whenever it dies, until its channel closes.
pub(super) async fn supervise(seed: Seed) {
    let id = seed.sink.id().to_string();
    let up = seed.metrics.sink_worker_up.with_label_values(&[&id]);
    let mut restarts = 0u32;
    let mut panics: HashMap<u64, u32> = HashMap::new();
    loop {
        let attempting = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let w = Worker::new(&seed, Arc::clone(&attempting));
        up.set(1.0);
        let handle = tokio::spawn(w.run());
        let _abort = AbortOnDrop(handle.abort_handle());
        let result = handle.await;
        up.set(0.0);
        let panic = match result {
            Err(e) if e.is_panic() => panic_message(e.into_panic()),
            // Finished (the channel closed and the queue drained) or stopped.
            _ => return,
        };
        restarts = restarts.saturating_add(1);
        seed.metrics
            .sink_worker_restarts_total
            .with_label_values(&[&id])
            .inc();
        let seq = attempting.load(std::sync::atomic::Ordering::SeqCst);
        tracing::error!(sink = %id, seq, restarts, panic = %panic, "sink delivery worker died; restarting it from the outbox");
        if seq != 0 {
            let n = panics.entry(seq).or_default();
            *n += 1;
            if *n >= MAX_PANICS {
                panics.remove(&seq);
                let error =
                    format!("the delivery worker died {MAX_PANICS} times sending it: {panic}");
                // The line itself, so the sink can drop what it keeps for it (Alertmanager's
                // active set) as for any other dead letter.
                let alert = seed
                    .outbox
                    .pending_for(&id)
                    .ok()
                    .and_then(|(list, _)| list.into_iter().find(|e| e.seq == seq))
                    .map(|e| e.alert);
                match seed.outbox.mark_dead(seq, "worker_panic", &error) {
                    Ok(()) => {
                        tracing::error!(sink = %id, seq, reason = "worker_panic", error, "notification dead-lettered (see `flashpoint outbox list`)");
                        if let Some(alert) = &alert {
                            seed.sink.abandoned(alert);
                        }
                        seed.metrics
                            .sink_dead_letters_total
                            .with_label_values(&[&id])
                            .inc();
                        seed.settled();
                    }
                    Err(e) => {
                        tracing::error!(sink = %id, seq, error = %e, "cannot record a dead letter in the outbox");
                    }
                }
            }
        }
        // The new worker rebuilds its queue from the outbox, as for spilled lines (retrying
        // while it cannot be read): the mark is set under its lock, so from now on new lines
        // wait there too, behind the older ones of their incident.
        tokio::time::sleep(restart_delay(restarts)).await;
        if let Ok(mut spilled) = seed.spilled.lock() {
            *spilled = true;
        }
    }
}

fn restart_delay(restarts: u32) -> Duration {
    let factor = 2u32.saturating_pow(restarts.saturating_sub(1).min(16));
    RESTART_BACKOFF
        .0
        .saturating_mul(factor)
        .min(RESTART_BACKOFF.1)
}

fn panic_message(p: Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        String::from("(no message)")
    }
}

struct Worker {
    seed: Seed,
    /// The sequence number being attempted (0 = none), for the supervisor.
    attempting: Arc<std::sync::atomic::AtomicU64>,
    /// Channel jobs up to this sequence number were persisted before the worker's last read
    /// of the outbox: the pending ones are held or still there, so the channel's copy is
    /// ignored.
    skip_upto: u64,
    /// incident → its notifications in order; only the head is ever attempted.
    queues: BTreeMap<String, VecDeque<Job>>,
    queued: usize,
    rng: rand_chacha::ChaCha8Rng,
    /// After a failed read of the outbox while spilled: when to read it again, and the
    /// delay after that ([`PERSIST_BACKOFF`]). Nothing else may wake an empty worker.
    reload_retry: Option<(Instant, Duration)>,
    /// Built spilled (a start with a backlog, a restart): the channel is not read until a
    /// load from the outbox has set `skip_upto`, or the channel could hand over a line newer
    /// than older ones of its incident still on disk, or a copy of one already delivered.
    load_first: bool,
}

impl Worker {
    fn new(seed: &Seed, attempting: Arc<std::sync::atomic::AtomicU64>) -> Worker {
        Worker {
            seed: seed.clone(),
            attempting,
            skip_upto: 0,
            queues: BTreeMap::new(),
            queued: 0,
            rng: rand_chacha::ChaCha8Rng::from_entropy(),
            reload_retry: None,
            load_first: seed.spilled.lock().map_or(true, |s| *s),
        }
    }

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
        let rx = Arc::clone(&self.seed.rx);
        let mut rx = rx.lock().await;
        let mut open = true;
        let interval = self.seed.sink.tick_interval();
        // The first tick at once: state restored after a restart (Alertmanager's active
        // set) is re-posted before the receiver can time it out.
        let mut next_tick = interval.map(|_| Instant::now());
        loop {
            if self.may_load() && self.reload_retry.is_none_or(|(at, _)| at <= Instant::now()) {
                self.reload_spilled();
            }
            if !open && self.queued == 0 {
                break;
            }
            let due = self.next_due();
            let room = open && !self.load_first && self.queued < self.seed.capacity;
            tokio::select! {
                biased;
                msg = rx.recv(), if room => match msg {
                    // Already queued from the outbox when this worker was (re)built.
                    Some(job) if job.entry.seq <= self.skip_upto => {}
                    Some(job) => self.push_job(job),
                    None => open = false,
                },
                _ = sleep_until_opt(due.as_ref().map(|d| d.0)), if due.is_some() => {
                    if let Some((_, incident)) = due {
                        self.attempt(&incident).await;
                    }
                }
                // Wakes an idle worker to read the outbox again (at the loop's top).
                _ = sleep_until_opt(self.reload_retry.map(|r| r.0)),
                    if self.reload_retry.is_some() && self.may_load() => {}
                _ = sleep_until_opt(next_tick), if next_tick.is_some() && open => {
                    self.seed.in_flight.send_modify(|n| *n += 1);
                    let res = self.seed.sink.tick().await;
                    self.seed.in_flight.send_modify(|n| *n = n.saturating_sub(1));
                    if let Err(e) = res {
                        tracing::warn!(sink = self.seed.sink.id(), error = %e, "periodic re-post failed");
                    }
                    next_tick = interval.and_then(|i| Instant::now().checked_add(i));
                }
            }
        }
    }

    /// Whether the queue is empty enough (at most half full) to load waiting entries from the
    /// outbox.
    fn may_load(&self) -> bool {
        self.queued <= self.seed.capacity / 2
    }

    /// Loads the oldest entries the outbox holds for this sink and the worker does not, up to
    /// its free room, while the sink is spilled; clears the mark once none is left there.
    /// Channel jobs persisted before this read (sequence up to `upto`) are skipped from now
    /// on: the ones still pending are held or on disk for the next load.
    fn reload_spilled(&mut self) {
        let spill = Arc::clone(&self.seed.spilled);
        let Ok(mut spilled) = spill.lock() else {
            return;
        };
        if !*spilled {
            // Nothing waits in the outbox that the channel does not carry.
            self.load_first = false;
            return;
        }
        let id = self.seed.sink.id().to_string();
        let (list, upto) = match self.seed.pending_in_outbox() {
            Ok(read) => {
                self.reload_retry = None;
                self.load_first = false;
                read
            }
            Err(e) => {
                let wait = self.reload_retry.map_or(PERSIST_BACKOFF.0, |(_, w)| {
                    w.saturating_mul(2).min(PERSIST_BACKOFF.1)
                });
                self.reload_retry = Some((Instant::now() + wait, wait));
                tracing::error!(sink = %id, error = %e, retry_in_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                    "cannot read the outbox for the notifications waiting there; will retry");
                return;
            }
        };
        let held: HashSet<u64> = self
            .queues
            .values()
            .flatten()
            .map(|j| j.entry.seq)
            .collect();
        let mut waiting: Vec<OutboxEntry> = list
            .into_iter()
            .filter(|e| !held.contains(&e.seq))
            .collect();
        waiting.sort_by_key(|e| e.seq);
        let room = self.seed.capacity.saturating_sub(self.queued).max(1);
        let left = waiting.len().saturating_sub(room);
        for e in waiting.into_iter().take(room) {
            self.push(e);
        }
        self.skip_upto = self.skip_upto.max(upto);
        if left == 0 {
            *spilled = false;
            tracing::info!(sink = %id, "the sink caught up: its notifications are queued in memory again");
        }
    }

    async fn attempt(&mut self, incident: &str) {
        let Some(job) = self.queues.get_mut(incident).and_then(VecDeque::front_mut) else {
            return;
        };
        let id = self.seed.sink.id().to_string();
        let seq = job.entry.seq;
        // Too old to page (e.g. persisted long before a restart): never sent.
        let age = job.age();
        if age > self.seed.policy.max_age && !job.last_call {
            let msg = format!(
                "not sent: persisted {} s ago, beyond max_age ({} s)",
                age.as_secs(),
                self.seed.policy.max_age.as_secs()
            );
            self.dead(incident, "max_age", &msg);
            return;
        }
        let Some(job) = self.queues.get_mut(incident).and_then(VecDeque::front_mut) else {
            return;
        };
        self.seed.in_flight.send_modify(|n| *n += 1);
        self.attempting
            .store(seq, std::sync::atomic::Ordering::SeqCst);
        let result = self.seed.sink.notify(&job.entry.alert).await;
        self.attempting
            .store(0, std::sync::atomic::Ordering::SeqCst);
        self.seed
            .in_flight
            .send_modify(|n| *n = n.saturating_sub(1));
        match result {
            Ok(()) => {
                if let Err(e) = self.seed.outbox.mark_delivered(seq) {
                    self.seed.unrecord(seq);
                    tracing::error!(sink = %id, seq, error = %e, "cannot record a delivery in the outbox; it may repeat after a restart");
                }
                self.seed
                    .metrics
                    .sink_sent_total
                    .with_label_values(&[&id])
                    .inc();
                self.seed
                    .metrics
                    .record_sink_latency(&id, job.queued_at.elapsed());
                self.seed.metrics.publish_sink_latency();
                tracing::debug!(sink = %id, incident, action = job.entry.alert.action.as_str(), "delivered");
                self.finish(incident);
            }
            Err(e) => {
                self.seed
                    .metrics
                    .sink_failed_total
                    .with_label_values(&[&id, e.reason])
                    .inc();
                if !e.retryable() {
                    self.dead(incident, e.reason, &e.to_string());
                    return;
                }
                job.attempts = job.attempts.saturating_add(1);
                let mut delay = self
                    .seed
                    .policy
                    .delay(job.attempts, e.retry_after, &mut self.rng);
                // A retry due after the max_age deadline (a long Retry-After, a late backoff)
                // is brought forward to the deadline, for one last attempt; only a failure at
                // the deadline gives the notification up.
                let left = self.seed.policy.max_age.saturating_sub(job.age());
                if job.last_call || left.is_zero() {
                    let msg = format!("gave up after {} attempts: {e}", job.attempts);
                    self.dead(incident, "max_age", &msg);
                    return;
                }
                if delay >= left {
                    delay = left;
                    job.last_call = true;
                }
                let now = Instant::now();
                job.next_at = now
                    .checked_add(delay)
                    .unwrap_or_else(|| now + MAX_RETRY_AFTER);
                self.seed
                    .metrics
                    .sink_retries_total
                    .with_label_values(&[&id])
                    .inc();
                tracing::warn!(sink = %id, incident, attempt = job.attempts, retry_in_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX), error = %e, "delivery failed, will retry");
            }
        }
    }

    fn dead(&mut self, incident: &str, reason: &str, error: &str) {
        let id = self.seed.sink.id().to_string();
        if let Some(job) = self.queues.get(incident).and_then(VecDeque::front) {
            if let Err(e) = self.seed.outbox.mark_dead(job.entry.seq, reason, error) {
                self.seed.unrecord(job.entry.seq);
                tracing::error!(sink = %id, seq = job.entry.seq, error = %e, "cannot record a dead letter in the outbox");
            }
            tracing::error!(sink = %id, incident, action = job.entry.alert.action.as_str(), seq = job.entry.seq, reason, error, "notification dead-lettered (see `flashpoint outbox list`)");
            self.seed.sink.abandoned(&job.entry.alert);
        }
        self.seed
            .metrics
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
        self.seed.settled();
        let rejected = self.seed.outbox.take_rejected();
        if rejected > 0 {
            self.seed
                .metrics
                .sink_outbox_rejected_lines_total
                .inc_by(rejected);
        }
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
