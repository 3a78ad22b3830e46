//! A notifier wrapper that records the `flashpoint_sink_*` families for a notifier that does
//! not record them itself (the demo's console): sent, failed by reason, delivery latency.
//!
//! Sinks that retry, dead-letter or keep an outbox record those families themselves; wrapping
//! one of them as well would count its deliveries twice.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use super::dispatch::{Notifier, NotifyError, NotifyErrorKind};
use crate::domain::alert::AlertRecord;
use crate::telemetry::Metrics;

/// Failure reasons a wrapped notifier can report (the `reason` label of `sink_failed_total`).
pub const FAILURE_REASONS: [&str; 3] = ["rejected", "unavailable", "config"];

/// Records sink metrics around every delivery of the wrapped notifier.
pub struct Metered {
    inner: Arc<dyn Notifier>,
    metrics: Arc<Metrics>,
}

impl Metered {
    /// Wraps `inner`, creating its zero-valued sink series so dashboards see them at once.
    pub fn new(inner: Arc<dyn Notifier>, metrics: Arc<Metrics>) -> Metered {
        metrics.init_sink(inner.id(), &FAILURE_REASONS);
        Metered { inner, metrics }
    }
}

fn reason(kind: &NotifyErrorKind) -> &'static str {
    match kind {
        NotifyErrorKind::Rejected => FAILURE_REASONS[0],
        NotifyErrorKind::Unavailable => FAILURE_REASONS[1],
        NotifyErrorKind::Config => FAILURE_REASONS[2],
    }
}

impl Notifier for Metered {
    fn id(&self) -> &str {
        self.inner.id()
    }
    fn teams(&self) -> &[String] {
        self.inner.teams()
    }
    fn wants(&self, alert: &AlertRecord) -> bool {
        self.inner.wants(alert)
    }
    fn notify<'a>(
        &'a self,
        alert: &'a AlertRecord,
    ) -> Pin<Box<dyn Future<Output = Result<(), NotifyError>> + Send + 'a>> {
        Box::pin(async move {
            let started = std::time::Instant::now();
            let res = self.inner.notify(alert).await;
            let id = self.inner.id();
            match &res {
                Ok(()) => {
                    self.metrics.sink_sent_total.with_label_values(&[id]).inc();
                    self.metrics.record_sink_latency(id, started.elapsed());
                    self.metrics.publish_sink_latency();
                }
                Err(e) => self
                    .metrics
                    .sink_failed_total
                    .with_label_values(&[id, reason(&e.kind)])
                    .inc(),
            }
            res
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::blackhole::Blackhole;

    #[tokio::test]
    async fn metered_counts_sent_and_exports_zero_failures() {
        let m = Arc::new(Metrics::new(&[], 1));
        let sink = Metered::new(Arc::new(Blackhole::new("bh", Vec::new())), Arc::clone(&m));
        let id = sink.id().to_string();
        let text = m.encode_text();
        assert!(
            text.contains(&format!(
                "flashpoint_sink_failed_total{{reason=\"rejected\",sink=\"{id}\"}} 0"
            )),
            "{text}"
        );
        let alert: AlertRecord = serde_json::from_value(serde_json::json!({
            "at": "2026-03-01T00:00:00Z", "action": "trigger", "incident": "a-1", "brand": "a",
            "severity": "info", "category": "other", "teams": [], "summary": "s",
            "metrics": {"mentions": 1, "rate_per_min": 1.0, "baseline_per_min": 1.0,
                        "doubling_time_s": null, "negative_share": 0.0, "reach": 0,
                        "unique_authors": 1},
            "top_posts": [], "terms": [], "dedup_key": "k"
        }))
        .unwrap();
        sink.notify(&alert).await.unwrap();
        sink.notify(&alert).await.unwrap();
        assert_eq!(m.sink_sent_total.with_label_values(&[&id]).get(), 2);
        let p50 = m
            .sink_delivery_latency_seconds
            .with_label_values(&[&id, "0.5"])
            .get();
        assert!(p50 > 0.0, "{p50}");
    }
}
