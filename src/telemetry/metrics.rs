//! One typed struct holding every metric family, registered in one registry.
//!
//! Names follow `flashpoint_<subsystem>_<name>_<unit>[_total]`; every family has help text.
//! Brand labels are bounded: only configured brand ids (the first `max_brand_labels` of them)
//! get their own series, every other brand is reported as [`OTHER_BRAND`], so 10,000
//! configured brands cannot explode Prometheus. The `source` label of per-mention families
//! comes from the mention itself (a free string, docs/contracts.md §1), so it is bounded too:
//! the first [`MAX_SOURCE_LABELS`] values seen (each at most [`MAX_SOURCE_LABEL_BYTES`]) get
//! their own series, later ones are reported as [`OTHER_SOURCE`].
//!
//! Latency (mention processed → alert decided) is recorded in an HDR histogram and exported
//! as quantile gauges by [`Metrics::publish_latency`].

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::time::Duration;

use hdrhistogram::Histogram;
use prometheus::proto::{LabelPair, Metric, MetricFamily, MetricType, Quantile, Summary};
use prometheus::{
    Encoder, Gauge, GaugeVec, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry, TextEncoder,
};

/// The label value for brands beyond the labelled set.
pub const OTHER_BRAND: &str = "__other__";
/// How many distinct mention `source` values get their own label value.
pub const MAX_SOURCE_LABELS: usize = 32;
/// Longest mention `source` value used as a label value.
pub const MAX_SOURCE_LABEL_BYTES: usize = 64;
/// The label value for mention sources beyond [`MAX_SOURCE_LABELS`] (or too long).
pub const OTHER_SOURCE: &str = "__other__";
/// Quantiles exported for the processing latency.
pub const LATENCY_QUANTILES: [(f64, &str); 4] =
    [(0.5, "0.5"), (0.9, "0.9"), (0.99, "0.99"), (0.999, "0.999")];

/// Every metric family of the process.
pub struct Metrics {
    registry: Registry,
    labelled: HashSet<String>,
    /// Mention `source` values that have their own label value (see [`Metrics::source_label`]).
    sources: Mutex<HashSet<String>>,
    latency: Mutex<Histogram<u64>>,
    /// Per-sink delivery latency, exported by [`Metrics::publish_sink_latency`].
    sink_latency: Mutex<HashMap<String, Histogram<u64>>>,

    pub ingest_lines_total: IntCounterVec,
    pub ingest_decoded_total: IntCounterVec,
    pub ingest_decode_errors_total: IntCounterVec,
    pub ingest_dropped_total: IntCounterVec,
    pub brand_mentions_total: IntCounterVec,
    pub brand_rate_per_minute: GaugeVec,
    pub brand_baseline_per_minute: GaugeVec,
    pub brand_sentiment_share: GaugeVec,
    pub brand_reach: GaugeVec,
    pub brand_doubling_time_seconds: GaugeVec,
    pub brand_reactions_per_minute: GaugeVec,
    pub brand_unique_authors: GaugeVec,
    pub incidents_active: IntGaugeVec,
    pub alerts_total: IntCounterVec,
    pub notifier_deliveries_total: IntCounterVec,
    pub pipeline_watermark_timestamp_seconds: Gauge,
    pub pipeline_queue_depth: GaugeVec,
    pub pipeline_mentions_processed_total: IntCounter,
    pub pipeline_alert_latency_seconds: GaugeVec,
    pub source_connected: GaugeVec,
    pub source_cursor_age_seconds: GaugeVec,
    pub source_reconnects_total: IntCounterVec,
    pub sink_sent_total: IntCounterVec,
    pub sink_retries_total: IntCounterVec,
    /// Notifications left in the outbox, not queued in memory, because the sink's queue was
    /// full (its worker loads them from the outbox as it catches up), by sink.
    pub sink_queue_spilled_total: IntCounterVec,
    pub sink_failed_total: IntCounterVec,
    pub sink_dead_letters_total: IntCounterVec,
    pub sink_outbox_depth: GaugeVec,
    pub sink_delivery_latency_seconds: GaugeVec,
    /// Times a sink's delivery worker died (panicked) and was restarted, by sink.
    pub sink_worker_restarts_total: IntCounterVec,
    /// 1 while a sink's delivery worker runs, 0 while it is dead and waiting to restart.
    pub sink_worker_up: GaugeVec,
    /// Outbox log lines that could not be read (torn or garbage) and were set aside.
    pub sink_outbox_rejected_lines_total: IntCounter,
    pub pipeline_event_time_lag_seconds: Gauge,
    /// Mentions of hot brands re-scored by `[pipeline] incident_sentiment_model`, by model.
    pub sentiment_refined_total: IntCounterVec,
    /// Mentions of hot brands that kept the fast model's score (refine queue full), by model.
    pub sentiment_refine_skipped_total: IntCounterVec,
    /// Seconds one batch took in the refining model, by model.
    pub sentiment_refine_batch_seconds: HistogramVec,
    /// Requests the push route refused, by source and reason (`unauthorized`,
    /// `body_too_large`, `batch_too_large`, `body_timeout`, `queue_full`, `shutting_down`).
    pub ingest_push_rejected_total: IntCounterVec,
    /// Connections open on the `[server]` listener.
    pub http_connections_open: IntGauge,
    /// Connections the `[server]` listener closed or refused, by reason ([`HTTP_CLOSE_REASONS`]).
    pub http_connections_closed_total: IntCounterVec,
    /// Checkpoint files `run` refused at start, by reason (`damaged`: checksum or length
    /// mismatch; `unusable`: undecodable, another version or other brands; `future`: event time
    /// ahead of the wall clock).
    pub checkpoint_rejected_total: IntCounterVec,
    /// Archive writes (flush, segment create or close) that failed; each pauses the archive.
    pub archive_write_failures_total: IntCounter,
    /// Mentions accepted by `run` but never archived (oldest dropped while the archive was
    /// paused beyond its memory bound, or unwritable at shutdown).
    pub archive_dropped_total: IntCounter,
    /// 1 while the archive is paused by a failed write (retrying with backoff), else 0.
    pub archive_paused: IntGauge,
    /// Source tasks that failed (returned an error or panicked), by source and reason
    /// (`error`, `panic`).
    pub source_failures_total: IntCounterVec,
    /// Source tasks restarted after a failure, by source.
    pub source_restarts_total: IntCounterVec,
    /// 1 while a source's task runs, 0 while it is dead and waiting to restart, by source.
    pub source_task_up: IntGaugeVec,
    /// Alerts decided again after a restart but not emitted, by reason (`already_logged`: the
    /// same incident, action and severity is already in the alert log).
    pub alerts_suppressed_total: IntCounterVec,
}

/// Reasons of `flashpoint_http_connections_closed_total`: the request head did not arrive in
/// time, no byte moved for the idle timeout, a request body did not arrive in time, or the
/// connection cap was reached.
pub const HTTP_CLOSE_REASONS: [&str; 4] = [
    "header_timeout",
    "idle_timeout",
    "body_timeout",
    "over_capacity",
];

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics")
            .field("labelled_brands", &self.labelled.len())
            .finish_non_exhaustive()
    }
}

fn opts(name: &str, help: &str) -> Opts {
    Opts::new(name, help).namespace("flashpoint")
}

/// Registers a collector built from valid, static options.
macro_rules! register {
    ($registry:expr, $metric:expr) => {{
        let m = $metric.expect("static metric options are valid");
        $registry
            .register(Box::new(m.clone()))
            .expect("metric names are unique");
        m
    }};
}

impl Metrics {
    /// Metrics with labelled series for (at most `max_brand_labels` of) `brand_ids`.
    #[allow(clippy::expect_used)]
    pub fn new(brand_ids: &[&str], max_brand_labels: usize) -> Metrics {
        let r = Registry::new();
        let labelled = brand_ids
            .iter()
            .take(max_brand_labels)
            .map(|s| s.to_string())
            .collect();
        let latency = Histogram::new_with_bounds(1, 60_000_000, 3)
            .expect("static histogram bounds are valid");
        let m = Metrics {
            ingest_lines_total: register!(
                r,
                IntCounterVec::new(
                    opts(
                        "ingest_lines_total",
                        "Lines read from inputs, including bad ones."
                    ),
                    &["source"]
                )
            ),
            ingest_decoded_total: register!(
                r,
                IntCounterVec::new(
                    opts("ingest_decoded_total", "Mentions decoded from inputs."),
                    &["source"]
                )
            ),
            ingest_decode_errors_total: register!(
                r,
                IntCounterVec::new(
                    opts(
                        "ingest_decode_errors_total",
                        "Input lines skipped, by reason."
                    ),
                    &["source", "reason"]
                )
            ),
            ingest_dropped_total: register!(r, IntCounterVec::new(
                opts(
                    "ingest_dropped_total",
                    "Decoded mentions dropped before scoring, by reason (too_late, duplicate, queue_full, future_event_time, stale_event_time)."
                ),
                &["source", "reason"]
            )),
            brand_mentions_total: register!(
                r,
                IntCounterVec::new(
                    opts(
                        "brand_mentions_total",
                        "Mentions attributed to a brand, by source."
                    ),
                    &["brand", "source"]
                )
            ),
            brand_rate_per_minute: register!(
                r,
                GaugeVec::new(
                    opts(
                        "brand_rate_per_minute",
                        "Mentions per minute over the last 5 minutes."
                    ),
                    &["brand"]
                )
            ),
            brand_baseline_per_minute: register!(
                r,
                GaugeVec::new(
                    opts(
                        "brand_baseline_per_minute",
                        "Expected mentions per minute from the learned seasonal baseline."
                    ),
                    &["brand"]
                )
            ),
            brand_sentiment_share: register!(
                r,
                GaugeVec::new(
                    opts(
                        "brand_sentiment_share",
                        "Share of a brand's mentions by sentiment label over a window (5m, 60m)."
                    ),
                    &["brand", "window", "label"]
                )
            ),
            brand_reach: register!(
                r,
                GaugeVec::new(
                    opts(
                        "brand_reach",
                        "Summed author followers of a brand's mentions over a window."
                    ),
                    &["brand", "window"]
                )
            ),
            brand_doubling_time_seconds: register!(r, GaugeVec::new(
                opts(
                    "brand_doubling_time_seconds",
                    "Doubling time of a brand's mention rate over 30 minutes; 0 when not growing."
                ),
                &["brand"]
            )),
            brand_reactions_per_minute: register!(
                r,
                GaugeVec::new(
                    opts(
                        "brand_reactions_per_minute",
                        "Reposts, quotes and replies attributed to a brand per minute over 5 minutes."
                    ),
                    &["brand"]
                )
            ),
            brand_unique_authors: register!(
                r,
                GaugeVec::new(
                    opts(
                        "brand_unique_authors",
                        "Estimated distinct authors of a brand's mentions over a window (saturates at 266)."
                    ),
                    &["brand", "window"]
                )
            ),
            incidents_active: register!(
                r,
                IntGaugeVec::new(
                    opts(
                        "incidents_active",
                        "Open incidents by brand, category and severity."
                    ),
                    &["brand", "category", "severity"]
                )
            ),
            alerts_total: register!(
                r,
                IntCounterVec::new(
                    opts(
                        "alerts_total",
                        "Alert decisions by team, action and severity."
                    ),
                    &["team", "action", "severity"]
                )
            ),
            notifier_deliveries_total: register!(
                r,
                IntCounterVec::new(
                    opts(
                        "notifier_deliveries_total",
                        "Notification deliveries by notifier and result."
                    ),
                    &["notifier", "result"]
                )
            ),
            pipeline_watermark_timestamp_seconds: register!(r, Gauge::with_opts(opts(
                "pipeline_watermark_timestamp_seconds",
                "Event-time watermark (newest event time minus allowed lateness), Unix seconds."
            ))),
            pipeline_queue_depth: register!(
                r,
                GaugeVec::new(
                    opts(
                        "pipeline_queue_depth",
                        "Mentions waiting in a bounded queue."
                    ),
                    &["queue"]
                )
            ),
            pipeline_mentions_processed_total: register!(
                r,
                IntCounter::with_opts(opts(
                    "pipeline_mentions_processed_total",
                    "Mentions that went through the engine."
                ))
            ),
            pipeline_alert_latency_seconds: register!(
                r,
                GaugeVec::new(
                    opts(
                        "pipeline_alert_latency_seconds",
                        "Processing latency from mention received to alert decided, by quantile."
                    ),
                    &["quantile"]
                )
            ),
            source_connected: register!(
                r,
                GaugeVec::new(
                    opts(
                        "source_connected",
                        "Whether a source is connected (reading): 1 or 0."
                    ),
                    &["source"]
                )
            ),
            source_cursor_age_seconds: register!(
                r,
                GaugeVec::new(
                    opts(
                        "source_cursor_age_seconds",
                        "Wall clock minus the event time of the source's last record (its cursor), seconds."
                    ),
                    &["source"]
                )
            ),
            source_reconnects_total: register!(
                r,
                IntCounterVec::new(
                    opts("source_reconnects_total", "Source reconnection attempts."),
                    &["source"]
                )
            ),
            sink_sent_total: register!(
                r,
                IntCounterVec::new(
                    opts(
                        "sink_sent_total",
                        "Notifications a sink's receiver accepted (2xx)."
                    ),
                    &["sink"]
                )
            ),
            sink_retries_total: register!(
                r,
                IntCounterVec::new(
                    opts(
                        "sink_retries_total",
                        "Delivery attempts scheduled again after a retryable failure."
                    ),
                    &["sink"]
                )
            ),
            sink_queue_spilled_total: register!(
                r,
                IntCounterVec::new(
                    opts(
                        "sink_queue_spilled_total",
                        "Notifications left in the outbox because the sink's queue was full; its worker loads them from there."
                    ),
                    &["sink"]
                )
            ),
            sink_failed_total: register!(
                r,
                IntCounterVec::new(
                    opts(
                        "sink_failed_total",
                        "Failed delivery attempts by reason (rate_limited, server_error, timeout, connect, redirect, rejected, unauthorized, config, team_not_carried, outbox_write: the outbox could not be written, retried)."
                    ),
                    &["sink", "reason"]
                )
            ),
            sink_dead_letters_total: register!(
                r,
                IntCounterVec::new(
                    opts(
                        "sink_dead_letters_total",
                        "Notifications moved to the dead-letter list (rejected or too old)."
                    ),
                    &["sink"]
                )
            ),
            sink_outbox_depth: register!(
                r,
                GaugeVec::new(
                    opts(
                        "sink_outbox_depth",
                        "Notifications persisted in the outbox and not yet delivered or dead."
                    ),
                    &["sink"]
                )
            ),
            sink_delivery_latency_seconds: register!(
                r,
                GaugeVec::new(
                    opts(
                        "sink_delivery_latency_seconds",
                        "Time from persisted in the outbox to accepted by the receiver, by quantile."
                    ),
                    &["sink", "quantile"]
                )
            ),
            sink_worker_restarts_total: register!(
                r,
                IntCounterVec::new(
                    opts(
                        "sink_worker_restarts_total",
                        "Times a sink's delivery worker died and was restarted from the outbox."
                    ),
                    &["sink"]
                )
            ),
            sink_worker_up: register!(
                r,
                GaugeVec::new(
                    opts(
                        "sink_worker_up",
                        "1 while the sink's delivery worker runs, 0 while it is dead or restarting."
                    ),
                    &["sink"]
                )
            ),
            sink_outbox_rejected_lines_total: register!(
                r,
                IntCounter::with_opts(opts(
                    "sink_outbox_rejected_lines_total",
                    "Outbox lines that could not be read (torn or garbage), skipped and copied to outbox.rejected."
                ))
            ),
            pipeline_event_time_lag_seconds: register!(
                r,
                Gauge::with_opts(opts(
                    "pipeline_event_time_lag_seconds",
                    "Wall clock minus the newest event time processed, seconds (large in a replay of old data)."
                ))
            ),
            sentiment_refined_total: register!(
                r,
                IntCounterVec::new(
                    opts(
                        "sentiment_refined_total",
                        "Mentions of brands with a candidate incident re-scored by the incident sentiment model."
                    ),
                    &["model"]
                )
            ),
            sentiment_refine_skipped_total: register!(
                r,
                IntCounterVec::new(
                    opts(
                        "sentiment_refine_skipped_total",
                        "Mentions of brands with a candidate incident that kept the fast score because the refine queue was full."
                    ),
                    &["model"]
                )
            ),
            sentiment_refine_batch_seconds: register!(
                r,
                HistogramVec::new(
                    prometheus::HistogramOpts::new(
                        "sentiment_refine_batch_seconds",
                        "Seconds the incident sentiment model took for one batch."
                    )
                    .namespace("flashpoint")
                    .buckets(vec![0.0005, 0.002, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0]),
                    &["model"]
                )
            ),
            ingest_push_rejected_total: register!(
                r,
                IntCounterVec::new(
                    opts(
                        "ingest_push_rejected_total",
                        "Requests to POST /v1/mentions refused whole, by reason (400, 401, 408, 413, 415, 503)."
                    ),
                    &["source", "reason"]
                )
            ),
            http_connections_open: register!(
                r,
                IntGauge::with_opts(opts(
                    "http_connections_open",
                    "Connections open on the [server] listener."
                ))
            ),
            http_connections_closed_total: register!(
                r,
                IntCounterVec::new(
                    opts(
                        "http_connections_closed_total",
                        "Connections the [server] listener closed or refused, by reason (header_timeout, idle_timeout, body_timeout, over_capacity)."
                    ),
                    &["reason"]
                )
            ),
            checkpoint_rejected_total: register!(
                r,
                IntCounterVec::new(
                    opts(
                        "checkpoint_rejected_total",
                        "Checkpoint files refused at start (damaged, unusable, future), by reason."
                    ),
                    &["reason"]
                )
            ),
            archive_write_failures_total: register!(
                r,
                IntCounter::with_opts(opts(
                    "archive_write_failures_total",
                    "Archive writes that failed (disk full, IO error); each pauses the archive and is retried with backoff."
                ))
            ),
            archive_dropped_total: register!(
                r,
                IntCounter::with_opts(opts(
                    "archive_dropped_total",
                    "Mentions never archived: oldest dropped while the archive was paused beyond its memory bound."
                ))
            ),
            archive_paused: register!(
                r,
                IntGauge::with_opts(opts(
                    "archive_paused",
                    "1 while the archive is paused by a failed write (detection continues), else 0."
                ))
            ),
            source_failures_total: register!(
                r,
                IntCounterVec::new(
                    opts(
                        "source_failures_total",
                        "Source tasks that failed, by source and reason (error, panic)."
                    ),
                    &["source", "reason"]
                )
            ),
            source_restarts_total: register!(
                r,
                IntCounterVec::new(
                    opts(
                        "source_restarts_total",
                        "Source tasks restarted after a failure, by source."
                    ),
                    &["source"]
                )
            ),
            source_task_up: register!(
                r,
                IntGaugeVec::new(
                    opts(
                        "source_task_up",
                        "1 while the source's task runs, 0 while it is dead and waiting to restart."
                    ),
                    &["source"]
                )
            ),
            alerts_suppressed_total: register!(
                r,
                IntCounterVec::new(
                    opts(
                        "alerts_suppressed_total",
                        "Alerts decided again after a restart but not emitted (already in the alert log), by reason."
                    ),
                    &["reason"]
                )
            ),
            registry: r,
            labelled,
            sources: Mutex::new(HashSet::new()),
            latency: Mutex::new(latency),
            sink_latency: Mutex::new(HashMap::new()),
        };
        // Zero series, so the family is exported (and `rate()` works) before the first close.
        for reason in HTTP_CLOSE_REASONS {
            m.http_connections_closed_total.with_label_values(&[reason]);
        }
        m
    }

    /// The label value for a brand id: itself when labelled, else [`OTHER_BRAND`].
    pub fn brand_label<'a>(&self, id: &'a str) -> &'a str {
        if self.labelled.contains(id) {
            id
        } else {
            OTHER_BRAND
        }
    }

    /// The label value for a mention's `source` field: itself for the first
    /// [`MAX_SOURCE_LABELS`] values seen, else [`OTHER_SOURCE`], so a stream of made-up
    /// sources cannot grow the series without bound.
    pub fn source_label<'a>(&self, source: &'a str) -> &'a str {
        if source.len() > MAX_SOURCE_LABEL_BYTES {
            return OTHER_SOURCE;
        }
        let Ok(mut seen) = self.sources.lock() else {
            return OTHER_SOURCE;
        };
        if seen.contains(source) {
            return source;
        }
        if seen.len() < MAX_SOURCE_LABELS {
            seen.insert(source.to_string());
            return source;
        }
        OTHER_SOURCE
    }

    /// Records one mention-to-alert latency.
    pub fn record_latency(&self, d: Duration) {
        let micros = u64::try_from(d.as_micros()).unwrap_or(u64::MAX).max(1);
        if let Ok(mut h) = self.latency.lock() {
            h.saturating_record(micros);
        }
    }

    /// Copies the latency quantiles into their gauges.
    pub fn publish_latency(&self) {
        let Ok(h) = self.latency.lock() else {
            return;
        };
        if h.is_empty() {
            return;
        }
        for (q, label) in LATENCY_QUANTILES {
            let secs = h.value_at_quantile(q) as f64 / 1e6;
            self.pipeline_alert_latency_seconds
                .with_label_values(&[label])
                .set(secs);
        }
    }

    /// Records one delivery latency of `sink` (kept in an HDR histogram per sink).
    pub fn record_sink_latency(&self, sink: &str, d: Duration) {
        let micros = u64::try_from(d.as_micros()).unwrap_or(u64::MAX).max(1);
        let Ok(mut map) = self.sink_latency.lock() else {
            return;
        };
        if !map.contains_key(sink) {
            let Ok(h) = Histogram::new_with_bounds(1, 600_000_000, 3) else {
                return;
            };
            map.insert(sink.to_string(), h);
        }
        if let Some(h) = map.get_mut(sink) {
            h.saturating_record(micros);
        }
    }

    /// Copies every sink's delivery latency quantiles into their gauges.
    pub fn publish_sink_latency(&self) {
        let Ok(map) = self.sink_latency.lock() else {
            return;
        };
        for (sink, h) in map.iter().filter(|(_, h)| !h.is_empty()) {
            for (q, label) in LATENCY_QUANTILES {
                let secs = h.value_at_quantile(q) as f64 / 1e6;
                self.sink_delivery_latency_seconds
                    .with_label_values(&[sink.as_str(), label])
                    .set(secs);
            }
        }
    }

    /// Creates the zero-valued series of a sink so that its families are exported (and
    /// `rate()` works) before the first delivery or failure.
    pub fn init_sink(&self, sink: &str, failure_reasons: &[&str]) {
        self.sink_sent_total.with_label_values(&[sink]);
        self.sink_retries_total.with_label_values(&[sink]);
        self.sink_queue_spilled_total.with_label_values(&[sink]);
        self.sink_dead_letters_total.with_label_values(&[sink]);
        self.sink_outbox_depth.with_label_values(&[sink]);
        self.sink_worker_restarts_total.with_label_values(&[sink]);
        for reason in failure_reasons {
            self.sink_failed_total.with_label_values(&[sink, reason]);
        }
    }

    /// Sources whose task is down (`flashpoint_source_task_up` = 0), sorted.
    pub fn source_tasks_down(&self) -> Vec<String> {
        gauges_at_zero(&self.source_task_up, "source")
    }

    /// Sinks whose delivery worker is down (`flashpoint_sink_worker_up` = 0), sorted.
    pub fn sink_workers_down(&self) -> Vec<String> {
        gauges_at_zero(&self.sink_worker_up, "sink")
    }

    /// Sets every open-incident series seen so far to 0 (before the current ones are counted
    /// again): a closed incident's series reads 0 instead of vanishing, so the family stays
    /// exported and graphs drop to zero. Bounded by the brand × category × severity seen.
    pub fn zero_incidents_active(&self) {
        use prometheus::core::Collector;
        for mf in self.incidents_active.collect() {
            for m in mf.get_metric() {
                let values: Vec<&str> = m.get_label().iter().map(|l| l.value()).collect();
                // Labels come back sorted by name: brand, category, severity, the declared order.
                if let Ok(g) = self.incidents_active.get_metric_with_label_values(&values) {
                    g.set(0);
                }
            }
        }
    }

    /// Creates the zero-valued series of a source (connection state 0, no reconnects).
    pub fn init_source(&self, source: &str) {
        self.source_connected.with_label_values(&[source]);
        self.source_cursor_age_seconds.with_label_values(&[source]);
        self.source_reconnects_total.with_label_values(&[source]);
    }

    /// Every family, with the quantile-labelled latency gauges exported as Prometheus
    /// summaries (quantiles plus `_sum` and `_count` from their HDR histograms), which is what
    /// a series with a `quantile` label must be.
    pub fn gather(&self) -> Vec<MetricFamily> {
        let mut families = self.registry.gather();
        for f in &mut families {
            if f.name() == "flashpoint_pipeline_alert_latency_seconds" {
                let stats = self
                    .latency
                    .lock()
                    .map(|h| hdr_stats(&h))
                    .unwrap_or_default();
                summarise(f, |_| stats);
            } else if f.name() == "flashpoint_sink_delivery_latency_seconds" {
                let Ok(map) = self.sink_latency.lock() else {
                    continue;
                };
                summarise(f, |labels| {
                    labels
                        .iter()
                        .find(|l| l.name() == "sink")
                        .and_then(|l| map.get(l.value()))
                        .map(hdr_stats)
                        .unwrap_or_default()
                });
            }
        }
        families
    }

    /// The Prometheus text exposition of every family.
    pub fn encode_text(&self) -> String {
        let mut buf = Vec::new();
        let families = self.gather();
        if TextEncoder::new().encode(&families, &mut buf).is_err() {
            return String::new();
        }
        String::from_utf8(buf).unwrap_or_default()
    }

    /// Number of time series currently exported (for cardinality checks).
    pub fn series_count(&self) -> usize {
        self.gather().iter().map(|f| f.get_metric().len()).sum()
    }
}

/// (count, sum in seconds) of a histogram of microseconds.
fn hdr_stats(h: &Histogram<u64>) -> (u64, f64) {
    (h.len(), h.mean() * h.len() as f64 / 1e6)
}

/// Turns a gauge family whose series carry a `quantile` label into a summary family.
fn summarise(f: &mut MetricFamily, stats: impl Fn(&[LabelPair]) -> (u64, f64)) {
    let mut groups: Vec<(Vec<LabelPair>, Vec<Quantile>)> = Vec::new();
    for m in f.take_metric() {
        let mut labels = m.get_label().to_vec();
        let Some(pos) = labels.iter().position(|l| l.name() == "quantile") else {
            continue;
        };
        let Ok(q) = labels.remove(pos).value().parse::<f64>() else {
            continue;
        };
        let mut quantile = Quantile::default();
        quantile.set_quantile(q);
        quantile.set_value(m.get_gauge().get_value());
        match groups.iter_mut().find(|(l, _)| *l == labels) {
            Some((_, qs)) => qs.push(quantile),
            None => groups.push((labels, vec![quantile])),
        }
    }
    let metrics = groups
        .into_iter()
        .map(|(labels, mut qs)| {
            qs.sort_by(|a, b| a.quantile().total_cmp(&b.quantile()));
            let (count, sum) = stats(&labels);
            let mut summary = Summary::default();
            summary.set_quantile(qs);
            summary.set_sample_count(count);
            summary.set_sample_sum(sum);
            let mut m = Metric::from_label(labels);
            m.set_summary(summary);
            m
        })
        .collect();
    f.set_metric(metrics);
    f.set_field_type(MetricType::SUMMARY);
}

/// The `label` values of `gauge`'s series that read 0 (a task or worker that is down), sorted.
fn gauges_at_zero(gauge: &impl prometheus::core::Collector, label: &str) -> Vec<String> {
    let mut down: Vec<String> = gauge
        .collect()
        .iter()
        .flat_map(|mf| mf.get_metric())
        .filter(|m| m.get_gauge().get_value() == 0.0)
        .filter_map(|m| {
            m.get_label()
                .iter()
                .find(|l| l.name() == label)
                .map(|l| l.value().to_string())
        })
        .collect();
    down.sort();
    down
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn made_up_mention_sources_fold_into_other() {
        let m = Metrics::new(&["a"], 10);
        for i in 0..10_000 {
            let s = format!("src-{i}");
            m.brand_mentions_total
                .with_label_values(&["a", m.source_label(&s)])
                .inc();
        }
        let long = "x".repeat(MAX_SOURCE_LABEL_BYTES + 1);
        assert_eq!(m.source_label(&long), OTHER_SOURCE);
        assert_eq!(
            m.source_label("src-0"),
            "src-0",
            "the first ones keep their own"
        );
        let series = m
            .brand_mentions_total
            .with_label_values(&["a", OTHER_SOURCE])
            .get();
        assert_eq!(series, 10_000 - MAX_SOURCE_LABELS as u64);
        let text = m.encode_text();
        let lines = text
            .lines()
            .filter(|l| l.starts_with("flashpoint_brand_mentions_total{"))
            .count();
        assert_eq!(lines, MAX_SOURCE_LABELS + 1, "bounded series");
    }

    #[test]
    fn unlabelled_brands_fold_into_other() {
        let ids: Vec<String> = (0..10_000).map(|i| format!("b{i}")).collect();
        let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
        let m = Metrics::new(&refs, 100);
        let unlabelled = m.series_count();
        for id in &refs {
            m.brand_mentions_total
                .with_label_values(&[m.brand_label(id), "x"])
                .inc();
        }
        assert_eq!(m.brand_label("b5"), "b5");
        assert_eq!(m.brand_label("b5000"), OTHER_BRAND);
        assert_eq!(
            m.series_count() - unlabelled,
            101,
            "100 labelled brands + __other__"
        );
        let other = m
            .brand_mentions_total
            .with_label_values(&[OTHER_BRAND, "x"])
            .get();
        assert_eq!(other, 9_900);
    }

    #[test]
    fn text_exposition_has_help_and_latency_quantiles() {
        let m = Metrics::new(&["acme"], 10);
        m.pipeline_mentions_processed_total.inc_by(3);
        for ms in 1..=100 {
            m.record_latency(Duration::from_millis(ms));
        }
        m.publish_latency();
        let text = m.encode_text();
        assert!(text.contains("# HELP flashpoint_pipeline_mentions_processed_total"));
        assert!(text.contains("flashpoint_pipeline_mentions_processed_total 3"));
        let p99 = m
            .pipeline_alert_latency_seconds
            .with_label_values(&["0.99"])
            .get();
        assert!((0.098..=0.101).contains(&p99), "{p99}");
    }
}
