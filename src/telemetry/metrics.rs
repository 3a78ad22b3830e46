//! One typed struct holding every metric family, registered in one registry.
//!
//! Names follow `flashpoint_<subsystem>_<name>_<unit>[_total]`; every family has help text.
//! Brand labels are bounded: only configured brand ids (the first `max_brand_labels` of them)
//! get their own series, every other brand is reported as [`OTHER_BRAND`], so 10,000
//! configured brands cannot explode Prometheus.
//!
//! Latency (mention processed → alert decided) is recorded in an HDR histogram and exported
//! as quantile gauges by [`Metrics::publish_latency`].

use std::collections::HashSet;
use std::sync::Mutex;
use std::time::Duration;

use hdrhistogram::Histogram;
use prometheus::{
    Encoder, Gauge, GaugeVec, IntCounter, IntCounterVec, IntGaugeVec, Opts, Registry, TextEncoder,
};

/// The label value for brands beyond the labelled set.
pub const OTHER_BRAND: &str = "__other__";
/// Quantiles exported for the processing latency.
pub const LATENCY_QUANTILES: [(f64, &str); 4] =
    [(0.5, "0.5"), (0.9, "0.9"), (0.99, "0.99"), (0.999, "0.999")];

/// Every metric family of the process.
pub struct Metrics {
    registry: Registry,
    labelled: HashSet<String>,
    latency: Mutex<Histogram<u64>>,

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
}

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
        Metrics {
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
                    "Decoded mentions dropped before scoring, by reason (too_late, queue_full)."
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
                        "Whether a streaming source is connected (1) or not (0)."
                    ),
                    &["source"]
                )
            ),
            source_cursor_age_seconds: register!(
                r,
                GaugeVec::new(
                    opts(
                        "source_cursor_age_seconds",
                        "Age of the newest event a source has read (wall clock minus event cursor)."
                    ),
                    &["source"]
                )
            ),
            source_reconnects_total: register!(
                r,
                IntCounterVec::new(
                    opts(
                        "source_reconnects_total",
                        "Reconnections of a streaming source after a disconnect or failure."
                    ),
                    &["source"]
                )
            ),
            registry: r,
            labelled,
            latency: Mutex::new(latency),
        }
    }

    /// The label value for a brand id: itself when labelled, else [`OTHER_BRAND`].
    pub fn brand_label<'a>(&self, id: &'a str) -> &'a str {
        if self.labelled.contains(id) {
            id
        } else {
            OTHER_BRAND
        }
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

    /// The Prometheus text exposition of every family.
    pub fn encode_text(&self) -> String {
        let mut buf = Vec::new();
        let families = self.registry.gather();
        if TextEncoder::new().encode(&families, &mut buf).is_err() {
            return String::new();
        }
        String::from_utf8(buf).unwrap_or_default()
    }

    /// Number of time series currently exported (for cardinality checks).
    pub fn series_count(&self) -> usize {
        self.registry
            .gather()
            .iter()
            .map(|f| f.get_metric().len())
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
