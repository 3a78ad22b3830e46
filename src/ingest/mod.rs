//! Ingest: every source normalises what it reads into the canonical mention record
//! (docs/contracts.md §1) and hands it to the engine through one bounded channel.
//!
//! | file | source | backpressure policy when the pipeline queue is full |
//! |---|---|---|
//! | [`jetstream`] | Bluesky Jetstream (WebSocket, `time_us` cursor) | stop reading: the server buffers |
//! | [`mastodon`] | Mastodon streaming API (WebSocket) + REST backfill | stop reading: the server buffers |
//! | [`push`] | `POST /v1/mentions` (with `ack = "durable"` through the [`spool`]) | answer 503 with `Retry-After`, nothing queued |
//! | [`file`](mod@file) | an NDJSON archive, replayed or tailed | block |
//! | [`aggregates`] | per-brand window rows from Arroyo (NDJSON file; Kafka at merge) | block |
//! | `kafka` | canonical NDJSON from a Kafka topic (feature `kafka`) | block: stop polling |
//!
//! Shared pieces: [`SourceCtx`] (the queue, metrics, cancellation, bad-input accounting),
//! [`SeenIds`] (the bounded duplicate filter) and [`reconnect`] (backoff with jitter).
//! Invariants: the queue is bounded and counted in mentions; bad input is counted by reason
//! and sampled into the log, never a crash; a source stops reading when cancelled and persists
//! its cursor before it returns.
//!
//! Event time is bounded on the way in ([`EventTimeBounds`], wired by `flashpoint run` from
//! `[pipeline] max_future_skew` and `max_event_age`): a mention dated more than the skew ahead
//! of this process's wall clock, or older than the age, never reaches the queue; it is counted
//! in `flashpoint_ingest_dropped_total{reason="future_event_time"|"stale_event_time"}`. So no
//! single record can move the watermark, the archive's rotation or its retention to the year
//! 9999, or open an incident dated year 1.

pub mod aggregates;
pub mod archive;
pub mod file;
pub(crate) mod http_body;
pub mod jetstream;
#[cfg(feature = "kafka")]
pub mod kafka_source;
pub mod mastodon;
pub mod push;
pub mod reconnect;
pub mod spool;

use std::collections::{HashSet, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::config::source::{WsLiveness, OVERSIZE_READ_FACTOR};
use crate::config::{PipelineConfig, SourceKind};
use crate::domain::{EventTime, Mention};
use crate::telemetry::Metrics;
use futures_util::{FutureExt, SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;

/// A mention on its way to the engine, stamped with when its source received it (for the
/// frame → scored latency).
#[derive(Debug, Clone)]
pub struct Ingested {
    pub mention: Mention,
    pub received: Instant,
    /// The source's count of mentions processed, which the consumer advances with
    /// [`Ingested::processed`] once the mention is through the engine (a source persists its
    /// cursor only up to processed mentions); `None` when nobody tracks it.
    pub progress: Option<Arc<Progress>>,
    /// Where the mention lies in the push spool (`ack = "durable"`), so the consumer can say
    /// how far the spool is covered ([`spool::Coverage`]); `None` for every other source.
    pub spool: Option<spool::SpoolPos>,
}

impl Ingested {
    /// A mention nobody tracks the processing of.
    pub fn new(mention: Mention, received: Instant) -> Ingested {
        Ingested {
            mention,
            received,
            progress: None,
            spool: None,
        }
    }

    /// Tells the source this mention went through the engine (mentions of one source are
    /// processed in the order they were queued).
    pub fn processed(&self) {
        if let Some(p) = &self.progress {
            p.mark_processed(1);
        }
    }
}

/// How far the consumer got with one source's mentions: sequence numbers of mentions queued
/// and processed (shared by every task of the source, so a restarted task keeps counting).
#[derive(Debug, Default)]
pub struct Progress {
    queued: AtomicU64,
    processed: AtomicU64,
    caught_up: tokio::sync::Notify,
}

impl Progress {
    /// Mentions of the source queued so far (the sequence number of the newest).
    pub fn queued(&self) -> u64 {
        self.queued.load(Ordering::Acquire)
    }

    /// Mentions of the source the consumer has processed so far.
    pub fn processed(&self) -> u64 {
        self.processed.load(Ordering::Acquire)
    }

    /// The consumer processed `n` more of the source's mentions, in queue order (a consumer
    /// that archives or checkpoints says so only once they are durable there).
    pub fn mark_processed(&self, n: u64) {
        self.processed.fetch_add(n, Ordering::Release);
        self.caught_up.notify_waiters();
    }

    /// Waits (at most `limit`) until every mention queued so far is processed: at shutdown the
    /// engine drains the queue, and a source that waits for it persists a cursor that covers
    /// everything it read. Returns whether it caught up.
    pub async fn wait_processed(&self, limit: Duration) -> bool {
        let target = self.queued();
        tokio::time::timeout(limit, async {
            loop {
                let notified = self.caught_up.notified();
                if self.processed() >= target {
                    return;
                }
                notified.await;
            }
        })
        .await
        .is_ok()
    }
}

/// A source's read position that may be persisted only once every mention queued before it
/// was processed: positions are recorded with the sequence number of the last mention queued
/// at that point, and [`CommitCursor::committed`] returns the newest position whose mentions
/// are all processed. Holds at most one entry per mention in the queue (bounded by the queue
/// capacity) plus one.
#[derive(Debug, Default)]
pub struct CommitCursor<P = i64> {
    waiting: VecDeque<(u64, P)>,
    committed: Option<P>,
}

impl<P: Ord + Clone> CommitCursor<P> {
    /// Starts at the position already persisted (if any).
    pub fn new(committed: Option<P>) -> CommitCursor<P> {
        CommitCursor {
            waiting: VecDeque::new(),
            committed,
        }
    }

    /// Records that the source has read up to `position`, with `queued` mentions queued by
    /// then (this frame's included).
    pub fn read(&mut self, queued: u64, position: P) {
        match self.waiting.back_mut() {
            Some((q, p)) if *q == queued => {
                if position > *p {
                    *p = position;
                }
            }
            _ => self.waiting.push_back((queued, position)),
        }
    }

    /// The newest position whose mentions are all processed.
    pub fn committed(&mut self, processed: u64) -> Option<P> {
        while self.waiting.front().is_some_and(|(q, _)| *q <= processed) {
            let Some((_, p)) = self.waiting.pop_front() else {
                break;
            };
            self.committed = Some(match self.committed.take() {
                Some(c) if c >= p => c,
                _ => p,
            });
        }
        self.committed.clone()
    }
}

/// Reads a source's persisted cursor file (one line): `None` when the file does not exist
/// (start live); an empty file (a torn write) or one that cannot be read is an error naming
/// the file, so a damaged cursor never silently means "start live".
pub fn load_cursor_file(path: &str, source: &str) -> anyhow::Result<Option<String>> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => anyhow::bail!("cannot read the {source} cursor file {path}: {e}"),
    };
    let t = text.trim();
    anyhow::ensure!(
        !t.is_empty(),
        "the {source} cursor file {path} is empty (a torn write?): fix or delete it to start live"
    );
    Ok(Some(t.to_owned()))
}

/// Writes a cursor file atomically and durably: a temporary file, fsync, rename, fsync of the
/// directory (so neither an empty file nor a lost rename survives a power loss).
pub fn store_cursor_file(path: &str, cursor: &str) -> std::io::Result<()> {
    use std::io::Write;
    let tmp = format!("{path}.tmp");
    {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(format!("{cursor}\n").as_bytes())?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)?;
    crate::config::state::sync_parent(std::path::Path::new(path))
}

/// The sending side of the pipeline queue; capacity is counted in mentions.
pub type MentionTx = mpsc::Sender<Ingested>;

/// Bad-input lines logged individually per source; after that one line in every
/// [`LOG_EVERY`] is logged.
const LOG_FIRST: u64 = 10;
const LOG_EVERY: u64 = 1000;

/// Why a live source refused a mention's event time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutOfBounds {
    /// Dated more than `max_future_skew` ahead of the wall clock.
    Future,
    /// Older than `max_event_age` by the wall clock.
    Stale,
}

impl OutOfBounds {
    /// The stable `reason` label.
    pub fn reason(self) -> &'static str {
        match self {
            OutOfBounds::Future => "future_event_time",
            OutOfBounds::Stale => "stale_event_time",
        }
    }
}

/// The event-time window a live source accepts, relative to the receiving process's wall clock:
/// `[now - max_event_age, now + max_future_skew]`.
#[derive(Clone, Copy)]
pub struct EventTimeBounds {
    max_future_skew_ms: i64,
    max_age_ms: i64,
    clock: fn() -> EventTime,
}

impl std::fmt::Debug for EventTimeBounds {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventTimeBounds")
            .field("max_future_skew_ms", &self.max_future_skew_ms)
            .field("max_age_ms", &self.max_age_ms)
            .finish_non_exhaustive()
    }
}

fn wall_clock() -> EventTime {
    EventTime(chrono::Utc::now().timestamp_millis())
}

impl EventTimeBounds {
    /// Bounds on the wall clock.
    pub fn new(max_future_skew: Duration, max_event_age: Duration) -> EventTimeBounds {
        let ms = |d: Duration| i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
        EventTimeBounds {
            max_future_skew_ms: ms(max_future_skew),
            max_age_ms: ms(max_event_age),
            clock: wall_clock,
        }
    }

    /// `[pipeline] max_future_skew` and `max_event_age`.
    pub fn from_config(p: &PipelineConfig) -> EventTimeBounds {
        EventTimeBounds::new(p.max_future_skew.0, p.max_event_age.0)
    }

    /// The bounds for one kind of source: a `file` source that replays a backlog
    /// (`follow = false`) reads history, so only the future bound applies to it (its outliers
    /// are the engine's guard's business, see `replay::watermark`); every other source is
    /// live and gets both.
    pub fn for_source(self, kind: &SourceKind) -> EventTimeBounds {
        match kind {
            SourceKind::File(f) if !f.follow => EventTimeBounds {
                max_age_ms: i64::MAX,
                ..self
            },
            _ => self,
        }
    }

    /// The same bounds on another clock (tests).
    pub fn with_clock(self, clock: fn() -> EventTime) -> EventTimeBounds {
        EventTimeBounds { clock, ..self }
    }

    /// The clock's current time.
    pub fn now(&self) -> EventTime {
        (self.clock)()
    }

    /// The newest event time accepted now.
    pub fn ceiling(&self) -> EventTime {
        self.now().plus_ms(self.max_future_skew_ms)
    }

    /// Whether `t` lies in the window at `now`.
    pub fn check_at(&self, t: EventTime, now: EventTime) -> Result<(), OutOfBounds> {
        if t > now.plus_ms(self.max_future_skew_ms) {
            Err(OutOfBounds::Future)
        } else if t < now.plus_ms(self.max_age_ms.saturating_neg()) {
            Err(OutOfBounds::Stale)
        } else {
            Ok(())
        }
    }

    /// Whether `t` lies in the window now.
    pub fn check(&self, t: EventTime) -> Result<(), OutOfBounds> {
        self.check_at(t, self.now())
    }

    /// A one-line explanation of a refusal, for logs and push responses.
    pub fn explain(&self, t: EventTime, why: OutOfBounds) -> String {
        match why {
            OutOfBounds::Future => format!(
                "created_at {t} is more than {}s ahead of this server's clock ([pipeline] max_future_skew)",
                self.max_future_skew_ms / 1000
            ),
            OutOfBounds::Stale => format!(
                "created_at {t} is more than {}s old by this server's clock ([pipeline] max_event_age)",
                self.max_age_ms / 1000
            ),
        }
    }
}

/// What every source task is given.
#[derive(Clone)]
pub struct SourceCtx {
    /// The source id from the configuration (the `source` metric label).
    pub id: Arc<str>,
    pub tx: MentionTx,
    pub metrics: Arc<Metrics>,
    /// Fires when the source must stop reading (shutdown).
    pub cancel: CancellationToken,
    /// Event-time window of the mentions queued (`None`: every event time passes).
    pub bounds: Option<EventTimeBounds>,
    /// Mentions of this source queued and processed ([`Ingested::processed`]).
    pub progress: Arc<Progress>,
    bad: Arc<AtomicU64>,
}

/// How often a source with a cursor file persists it.
pub const CURSOR_PERSIST_EVERY: Duration = Duration::from_secs(1);
/// When a connected source writes its cursor file: every [`CURSOR_PERSIST_EVERY`] while
/// frames come, and that long after the last one when they stop (the source waits for
/// [`CursorPace::due`] beside its socket), so a burst followed by a quiet stream does not leave
/// its resume point unwritten until the next frame, which a crash would lose. A cursor equal to
/// the one written last is not written again.
#[derive(Debug)]
pub struct CursorPace<T> {
    next: tokio::time::Instant,
    written: T,
}

impl<T: Default + PartialEq> CursorPace<T> {
    /// A pace whose first write is due a period from now.
    pub fn new() -> Self {
        CursorPace {
            next: tokio::time::Instant::now() + CURSOR_PERSIST_EVERY,
            written: T::default(),
        }
    }

    /// When the next write is due.
    pub fn due(&self) -> tokio::time::Instant {
        self.next
    }

    /// Whether the next write is due now.
    pub fn is_due(&self) -> bool {
        tokio::time::Instant::now() >= self.next
    }

    /// Writes `cursor` with `write` (`false`: it failed, and the next write tries again)
    /// unless it was the last written; the next write is due a period from now.
    pub fn write(&mut self, cursor: T, write: impl FnOnce(&T) -> bool) {
        if cursor != self.written && write(&cursor) {
            self.written = cursor;
        }
        self.next = tokio::time::Instant::now() + CURSOR_PERSIST_EVERY;
    }
}

impl<T: Default + PartialEq> Default for CursorPace<T> {
    fn default() -> Self {
        Self::new()
    }
}

/// How long a stopping source waits for the engine to process what it queued before its last
/// cursor write.
pub const SHUTDOWN_CURSOR_WAIT: Duration = Duration::from_secs(3);

impl SourceCtx {
    /// Writes `cursor` to the cursor file at `path` ([`store_cursor_file`]) when both are
    /// given; a failed write is logged and the source goes on (the next write retries).
    /// `false` when a write failed.
    pub fn persist_cursor(&self, path: Option<&str>, cursor: Option<&str>) -> bool {
        let (Some(path), Some(cursor)) = (path, cursor) else {
            return true;
        };
        match store_cursor_file(path, cursor) {
            Ok(()) => true,
            Err(e) => {
                tracing::warn!(source = %self.id, path = %path, error = %e, "cannot persist cursor");
                false
            }
        }
    }

    /// Stopping: waits (at most [`SHUTDOWN_CURSOR_WAIT`]) for the engine to process what this
    /// source queued, so the last cursor write covers it and a graceful restart reads nothing
    /// twice.
    pub async fn wait_for_engine(&self) {
        if !self.progress.wait_processed(SHUTDOWN_CURSOR_WAIT).await {
            tracing::warn!(source = %self.id, "queued mentions not processed in time: the cursor stays before them");
        }
    }

    pub fn new(id: &str, tx: MentionTx, metrics: Arc<Metrics>, cancel: CancellationToken) -> Self {
        SourceCtx {
            id: Arc::from(id),
            tx,
            metrics,
            cancel,
            bounds: None,
            progress: Arc::new(Progress::default()),
            bad: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Refuses mentions whose event time lies outside `bounds` (`flashpoint run` sets the
    /// configured bounds on every source).
    pub fn with_event_time_bounds(mut self, bounds: EventTimeBounds) -> Self {
        self.bounds = Some(bounds);
        self
    }

    /// Whether `t` is dated beyond the newest event time accepted now (never without bounds).
    pub fn is_future(&self, t: EventTime) -> bool {
        self.bounds
            .is_some_and(|b| b.check(t) == Err(OutOfBounds::Future))
    }

    /// Checks the mention's event time against the bounds; counts and logs a refusal.
    fn in_bounds(&self, mention: &Mention) -> bool {
        let Some(b) = &self.bounds else {
            return true;
        };
        match b.check(mention.created_at) {
            Ok(()) => true,
            Err(why) => {
                self.dropped(why.reason(), &b.explain(mention.created_at, why));
                false
            }
        }
    }

    /// Queues one mention, waiting while the queue is full (the caller stops reading, which
    /// is the backpressure). A mention outside the event-time bounds is counted and skipped.
    /// Returns `false` when cancelled or the pipeline has gone.
    pub async fn emit(&self, mention: Mention, received: Instant) -> bool {
        if !self.in_bounds(&mention) {
            return true;
        }
        self.decoded();
        let item = self.ingested(mention, received);
        let sent = tokio::select! {
            biased;
            r = self.tx.send(item) => r.is_ok(),
            _ = self.cancel.cancelled() => false,
        };
        if sent {
            self.progress.queued.fetch_add(1, Ordering::Release);
        }
        sent
    }

    fn ingested(&self, mention: Mention, received: Instant) -> Ingested {
        Ingested {
            mention,
            received,
            progress: Some(Arc::clone(&self.progress)),
            spool: None,
        }
    }

    /// [`Self::emit`] for sources reading on a blocking thread.
    pub fn emit_blocking(&self, mention: Mention, received: Instant) -> bool {
        if !self.in_bounds(&mention) {
            return !self.cancel.is_cancelled();
        }
        self.decoded();
        let sent = !self.cancel.is_cancelled()
            && self
                .tx
                .blocking_send(self.ingested(mention, received))
                .is_ok();
        if sent {
            self.progress.queued.fetch_add(1, Ordering::Release);
        }
        sent
    }

    /// Counts one record decoded (and about to be queued).
    pub fn decoded(&self) {
        self.metrics
            .ingest_decoded_total
            .with_label_values(&[&self.id])
            .inc();
    }

    /// Counts one frame or line read from the source.
    pub fn line(&self) {
        self.metrics
            .ingest_lines_total
            .with_label_values(&[&self.id])
            .inc();
    }

    /// Counts one piece of bad input by `reason` and logs a rate-limited sample.
    pub fn bad_input(&self, reason: &'static str, detail: &str) {
        self.metrics
            .ingest_decode_errors_total
            .with_label_values(&[&self.id, reason])
            .inc();
        self.log_sample(reason, detail);
    }

    /// Counts one decoded mention dropped by `reason` and logs a rate-limited sample.
    pub fn dropped(&self, reason: &'static str, detail: &str) {
        self.metrics
            .ingest_dropped_total
            .with_label_values(&[&self.id, reason])
            .inc();
        self.log_sample(reason, detail);
    }

    fn log_sample(&self, reason: &'static str, detail: &str) {
        let n = self.bad.fetch_add(1, Ordering::Relaxed) + 1;
        if n <= LOG_FIRST || n % LOG_EVERY == 0 {
            let sample: String = detail.chars().take(200).collect();
            tracing::warn!(source = %self.id, reason, count = n, sample = ?sample, "skipping bad input");
        }
    }

    pub fn set_connected(&self, up: bool) {
        self.metrics
            .source_connected
            .with_label_values(&[&self.id])
            .set(if up { 1.0 } else { 0.0 });
    }

    /// Publishes how far behind the wall clock the newest event read is.
    pub fn set_cursor_age(&self, event_unix_micros: i64) {
        let now = chrono::Utc::now().timestamp_micros();
        let age = (now - event_unix_micros).max(0) as f64 / 1e6;
        self.metrics
            .source_cursor_age_seconds
            .with_label_values(&[&self.id])
            .set(age);
    }

    pub fn reconnected(&self) {
        self.metrics
            .source_reconnects_total
            .with_label_values(&[&self.id])
            .inc();
    }
}

/// A bounded set of recently seen ids: the duplicate filter behind at-least-once resumption.
/// When full, the oldest id is forgotten first.
#[derive(Debug)]
pub struct SeenIds {
    set: HashSet<Arc<str>>,
    order: VecDeque<Arc<str>>,
    capacity: usize,
}

impl SeenIds {
    pub fn new(capacity: usize) -> SeenIds {
        SeenIds {
            set: HashSet::new(),
            order: VecDeque::new(),
            capacity: capacity.max(1),
        }
    }

    /// Records `id`; `false` when it was already seen (a duplicate).
    pub fn insert(&mut self, id: &str) -> bool {
        if self.set.contains(id) {
            return false;
        }
        if self.order.len() == self.capacity {
            if let Some(old) = self.order.pop_front() {
                self.set.remove(&old);
            }
        }
        let id: Arc<str> = Arc::from(id);
        self.set.insert(Arc::clone(&id));
        self.order.push_back(id);
        true
    }

    pub fn len(&self) -> usize {
        self.order.len()
    }

    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }
}

/// A WebSocket connection of a streaming source.
pub(crate) type WsStream =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Most bytes a WebSocket connection may hold unsent: a source only ever sends pings, pongs and
/// a close (each at most 131 bytes), so this is thousands of them. A server that floods pings
/// and never reads its socket fills it; pongs past it are not queued and the next ping of ours
/// fails, which ends the connection (see [`ws_next`]). Unbounded (tungstenite's default), the
/// unsent pongs grew by megabytes a second.
pub(crate) const WS_MAX_WRITE_BUFFER: usize = 64 * 1024;

/// The WebSocket limits of a source allowed `max_message_bytes` per frame: frames up to
/// [`OVERSIZE_READ_FACTOR`] times that are read (and then skipped as `oversize` by the source),
/// larger ones fail the connection; at most [`WS_MAX_WRITE_BUFFER`] bytes wait unsent.
pub(crate) fn ws_config(
    max_message_bytes: usize,
) -> tokio_tungstenite::tungstenite::protocol::WebSocketConfig {
    let hard = max_message_bytes.saturating_mul(OVERSIZE_READ_FACTOR);
    // Control frames are written as soon as they are queued (`write_buffer_size` 0); tungstenite
    // requires the maximum to lie above it.
    tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default()
        .max_message_size(Some(hard))
        .max_frame_size(Some(hard))
        .write_buffer_size(0)
        .max_write_buffer_size(WS_MAX_WRITE_BUFFER)
}

/// Connects (TCP, TLS, WebSocket handshake) within `liveness.connect_timeout`; `None` when it
/// failed or timed out (logged: the caller backs off and retries) or the source was cancelled.
pub(crate) async fn ws_connect<R>(
    request: R,
    config: tokio_tungstenite::tungstenite::protocol::WebSocketConfig,
    liveness: &WsLiveness,
    ctx: &SourceCtx,
    what: &str,
) -> Option<WsStream>
where
    R: tokio_tungstenite::tungstenite::client::IntoClientRequest + Unpin,
{
    let connect = tokio_tungstenite::connect_async_with_config(request, Some(config), true);
    tokio::select! {
        r = tokio::time::timeout(liveness.connect_timeout, connect) => match r {
            Ok(Ok((ws, _))) => Some(ws),
            Ok(Err(e)) => {
                tracing::warn!(source = %ctx.id, error = %e, "{what} connect failed");
                None
            }
            Err(_) => {
                tracing::warn!(source = %ctx.id, timeout = ?liveness.connect_timeout, "{what} connect or handshake timed out");
                None
            }
        },
        _ = ctx.cancel.cancelled() => None,
    }
}

/// Pings and the idle deadline of one open WebSocket connection.
pub(crate) struct Liveness {
    ping: tokio::time::Interval,
    idle: Duration,
    deadline: tokio::time::Instant,
    /// A ping of ours is out and no pong has answered it yet.
    awaiting_pong: bool,
}

impl Liveness {
    pub(crate) fn new(cfg: &WsLiveness) -> Liveness {
        let now = tokio::time::Instant::now();
        let mut ping = tokio::time::interval_at(now + cfg.ping_interval, cfg.ping_interval);
        ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        Liveness {
            ping,
            idle: cfg.idle_timeout,
            deadline: now + cfg.idle_timeout,
            awaiting_pong: false,
        }
    }

    fn alive(&mut self) {
        self.deadline = tokio::time::Instant::now() + self.idle;
    }
}

/// The next data or close frame of `ws` (text, binary, close; an error or the end of the
/// stream), sending a ping every `ping_interval`. Pings from the server are answered by
/// tungstenite and are not returned.
///
/// `None` when the source is cancelled, when a ping of ours cannot be sent (the server does not
/// read its socket: counted as `write_backlog`), or when for `idle_timeout` neither a data frame
/// nor a pong answering one of our pings arrived (a dead, silent or ping-flooding server); each
/// case is logged here, and the caller backs off and reconnects. Server pings never count as
/// liveness: a server that floods them could otherwise hold the connection, and its unsent
/// pongs, forever.
pub(crate) async fn ws_next(
    ws: &mut WsStream,
    live: &mut Liveness,
    ctx: &SourceCtx,
    what: &str,
) -> Option<Option<Result<Message, tokio_tungstenite::tungstenite::Error>>> {
    loop {
        tokio::select! {
            biased;
            _ = ctx.cancel.cancelled() => return None,
            m = ws.next() => {
                match m {
                    Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_)))
                        if tokio::time::Instant::now() >= live.deadline =>
                    {
                        // Checked here too: a flood of control frames keeps this branch ready,
                        // so the timer branch below would never be polled.
                        tracing::warn!(source = %ctx.id, idle = ?live.idle, "{what}: no data and no pong to our ping (only server pings); reconnecting");
                        return None;
                    }
                    Some(Ok(Message::Pong(_) | Message::Ping(_) | Message::Frame(_))) => {
                        if matches!(m, Some(Ok(Message::Pong(_))))
                            && std::mem::take(&mut live.awaiting_pong)
                        {
                            live.alive();
                        }
                        // A flood of control frames keeps the timer branch from being polled:
                        // our ping goes out on time all the same, and fails once the server has
                        // left the pongs it is sent unread up to the write buffer's bound.
                        let ping_due = live.ping.tick().now_or_never().is_some();
                        if ping_due && !ws_ping(ws, live, ctx, what).await {
                            return None;
                        }
                    }
                    Some(Ok(_)) => {
                        live.alive();
                        return Some(m);
                    }
                    _ => return Some(m),
                }
            }
            _ = live.ping.tick() => {
                if !ws_ping(ws, live, ctx, what).await {
                    return None;
                }
            }
            _ = tokio::time::sleep_until(live.deadline) => {
                tracing::warn!(source = %ctx.id, idle = ?live.idle, "{what}: no data and no pong received; reconnecting");
                return None;
            }
        }
    }
}

/// Sends a ping (waiting at most until the idle deadline); `false`, logged, when it cannot be
/// sent: the connection is to be left. A full write buffer or a send still blocked at the
/// deadline means the server does not read its socket, counted as `write_backlog`.
async fn ws_ping(ws: &mut WsStream, live: &mut Liveness, ctx: &SourceCtx, what: &str) -> bool {
    let ping = ws.send(Message::Ping(Default::default()));
    match tokio::time::timeout_at(live.deadline, ping).await {
        Ok(Ok(())) => {
            live.awaiting_pong = true;
            true
        }
        Ok(Err(tokio_tungstenite::tungstenite::Error::WriteBufferFull(_))) | Err(_) => {
            ctx.bad_input(
                "write_backlog",
                "the server does not read what is sent to it (pongs, pings)",
            );
            tracing::warn!(source = %ctx.id, "{what}: cannot send a ping, the server does not read; reconnecting");
            false
        }
        Ok(Err(e)) => {
            tracing::warn!(source = %ctx.id, error = %e, "{what}: cannot send a ping; reconnecting");
            false
        }
    }
}

/// A WebSocket read failed: counts it by reason when it is about the input (oversize frame,
/// invalid UTF-8, protocol violation) and logs it; the caller reconnects.
pub(crate) fn ws_read_failed(
    ctx: &SourceCtx,
    e: &tokio_tungstenite::tungstenite::Error,
    what: &str,
) {
    use tokio_tungstenite::tungstenite::Error;
    let reason = match e {
        Error::Capacity(_) => Some("oversize"),
        Error::Utf8(_) => Some("invalid_utf8"),
        Error::Protocol(_) => Some("protocol_error"),
        _ => None,
    };
    if let Some(r) = reason {
        ctx.bad_input(r, &e.to_string());
    }
    tracing::warn!(source = %ctx.id, error = %e, "{what} read failed");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixed_clock() -> EventTime {
        EventTime(1_780_000_000_000)
    }

    fn at(id: &str, t: EventTime) -> Mention {
        Mention {
            id: id.into(),
            created_at: t,
            ..Mention::default()
        }
    }

    #[tokio::test]
    async fn sources_drop_mentions_outside_the_event_time_bounds() {
        let metrics = Arc::new(Metrics::new(&[], 0));
        let (tx, mut rx) = mpsc::channel(8);
        let bounds = EventTimeBounds::new(Duration::from_secs(300), Duration::from_secs(86_400))
            .with_clock(fixed_clock);
        let ctx = SourceCtx::new("s", tx, Arc::clone(&metrics), CancellationToken::new())
            .with_event_time_bounds(bounds);
        let now = fixed_clock();
        for (id, t) in [
            ("now", now),
            ("skewed", now.plus_ms(299_000)),
            ("future", now.plus_ms(301_000)),
            ("far", EventTime(253_402_300_799_000)),
            ("old", now.plus_ms(-86_399_000)),
            ("stale", now.plus_ms(-86_401_000)),
            ("ancient", EventTime(-62_135_596_800_000)),
        ] {
            assert!(ctx.emit(at(id, t), Instant::now()).await);
        }
        // Refused before any blocking send: fine to call from a runtime thread.
        assert!(ctx.emit_blocking(at("far2", EventTime(i64::MAX)), Instant::now()));
        drop(ctx);
        let mut ids = Vec::new();
        while let Some(i) = rx.recv().await {
            ids.push(i.mention.id);
        }
        assert_eq!(ids, ["now", "skewed", "old"]);
        let dropped = |r| {
            metrics
                .ingest_dropped_total
                .with_label_values(&["s", r])
                .get()
        };
        assert_eq!(dropped("future_event_time"), 3);
        assert_eq!(dropped("stale_event_time"), 2);
        assert_eq!(
            metrics.ingest_decoded_total.with_label_values(&["s"]).get(),
            3
        );
    }

    #[test]
    fn recent_ids_drop_duplicates_and_stay_bounded() {
        let mut r = SeenIds::new(3);
        assert!(r.insert("a"));
        assert!(!r.insert("a"));
        for id in ["b", "c", "d"] {
            assert!(r.insert(id));
        }
        assert_eq!(r.len(), 3);
        assert!(r.insert("a"), "the oldest id was forgotten");
        assert!(!r.insert("d"));
    }
}
