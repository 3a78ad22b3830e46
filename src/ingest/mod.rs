//! Ingest: every source normalises what it reads into the canonical mention record
//! (docs/contracts.md §1) and hands it to the engine through one bounded channel.
//!
//! | file | source | backpressure policy when the pipeline queue is full |
//! |---|---|---|
//! | [`jetstream`] | Bluesky Jetstream (WebSocket, `time_us` cursor) | stop reading: the server buffers |
//! | [`mastodon`] | Mastodon streaming API (WebSocket) + REST backfill | stop reading: the server buffers |
//! | [`http`] | `POST /v1/mentions` | answer 503 with `Retry-After`, nothing queued |
//! | [`file`] | an NDJSON archive, replayed or tailed | block |
//! | [`aggregates`] | per-brand window rows from Arroyo (NDJSON file; Kafka at merge) | block |
//! | `kafka` | canonical NDJSON from a Kafka topic (feature `kafka`) | block: stop polling |
//!
//! Shared pieces: [`SourceCtx`] (the queue, metrics, cancellation, bad-input accounting),
//! [`RecentIds`] (the bounded duplicate filter) and [`reconnect`] (backoff with jitter).
//! Invariants: the queue is bounded and counted in mentions; bad input is counted by reason
//! and sampled into the log, never a crash; a source stops reading when cancelled and persists
//! its cursor before it returns.

pub mod aggregates;
pub mod archive;
pub mod file;
pub mod http;
pub mod jetstream;
#[cfg(feature = "kafka")]
pub mod kafka;
pub mod mastodon;
pub mod reconnect;

use std::collections::{HashSet, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::domain::Mention;
use crate::telemetry::Metrics;

/// A mention on its way to the engine, stamped with when its source received it (for the
/// frame → scored latency).
#[derive(Debug, Clone)]
pub struct Ingested {
    pub mention: Mention,
    pub received: Instant,
}

/// The sending side of the pipeline queue; capacity is counted in mentions.
pub type MentionTx = mpsc::Sender<Ingested>;

/// Bad-input lines logged individually per source; after that one line in every
/// [`LOG_EVERY`] is logged.
const LOG_FIRST: u64 = 10;
const LOG_EVERY: u64 = 1000;

/// What every source task is given.
#[derive(Clone)]
pub struct SourceCtx {
    /// The source id from the configuration (the `source` metric label).
    pub id: Arc<str>,
    pub tx: MentionTx,
    pub metrics: Arc<Metrics>,
    /// Fires when the source must stop reading (shutdown).
    pub cancel: CancellationToken,
    bad: Arc<AtomicU64>,
}

impl SourceCtx {
    pub fn new(id: &str, tx: MentionTx, metrics: Arc<Metrics>, cancel: CancellationToken) -> Self {
        SourceCtx {
            id: Arc::from(id),
            tx,
            metrics,
            cancel,
            bad: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Queues one mention, waiting while the queue is full (the caller stops reading, which
    /// is the backpressure). Returns `false` when cancelled or the pipeline has gone.
    pub async fn emit(&self, mention: Mention, received: Instant) -> bool {
        self.decoded();
        let item = Ingested { mention, received };
        tokio::select! {
            biased;
            r = self.tx.send(item) => r.is_ok(),
            _ = self.cancel.cancelled() => false,
        }
    }

    /// [`Self::emit`] for sources reading on a blocking thread.
    pub fn emit_blocking(&self, mention: Mention, received: Instant) -> bool {
        self.decoded();
        !self.cancel.is_cancelled()
            && self
                .tx
                .blocking_send(Ingested { mention, received })
                .is_ok()
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
        let n = self.bad.fetch_add(1, Ordering::Relaxed) + 1;
        if n <= LOG_FIRST || n % LOG_EVERY == 0 {
            let sample: String = detail.chars().take(200).collect();
            tracing::warn!(source = %self.id, reason, count = n, sample = %sample, "skipping bad input");
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
pub struct RecentIds {
    set: HashSet<Arc<str>>,
    order: VecDeque<Arc<str>>,
    capacity: usize,
}

impl RecentIds {
    pub fn new(capacity: usize) -> RecentIds {
        RecentIds {
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

    #[test]
    fn recent_ids_drop_duplicates_and_stay_bounded() {
        let mut r = RecentIds::new(3);
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
