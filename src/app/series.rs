//! Per-brand gauges at the end of a minute, for the analyst report's series
//! ([`SeriesRecorder`], sampled every few minutes of event time) and for the metrics
//! ([`publish_brand_gauges`]). Used by the engine and by each engine shard (`app::shard`) for
//! the brands it holds.

use crate::config::Config;
use crate::detect::detector::Detector;
use crate::domain::BrandIdx;
use crate::telemetry::Metrics;

/// One sample of a brand's volume and sentiment, for the analyst report.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BrandPoint {
    /// Minute index (minutes since the epoch) at the end of which the sample was taken.
    pub minute: i64,
    /// Mentions per minute over the last 5 minutes.
    pub rate_per_min: f64,
    pub baseline_per_min: f64,
    pub negative_share: f64,
    pub positive_share: f64,
}

/// Most samples kept per brand (at the default 10-minute step: about 70 days).
const MAX_POINTS_PER_BRAND: usize = 10_000;

/// Samples of every active brand's gauges every `step` minutes of event time.
pub struct SeriesRecorder {
    step: i64,
    last: Option<i64>,
    points: std::collections::BTreeMap<u32, Vec<BrandPoint>>,
}

impl SeriesRecorder {
    pub(crate) fn step(&self) -> i64 {
        self.step
    }

    pub(crate) fn new(step_minutes: i64) -> SeriesRecorder {
        SeriesRecorder {
            step: step_minutes.max(1),
            last: None,
            points: std::collections::BTreeMap::new(),
        }
    }

    /// Samples `detector`'s active brands at the end of `minute` when a step has passed.
    pub(crate) fn sample(&mut self, detector: &mut Detector, minute: i64) {
        if self.last.is_some_and(|l| minute < l + self.step) {
            return;
        }
        self.last = Some(minute - minute.rem_euclid(self.step));
        let brands: Vec<BrandIdx> = detector.active_brands().collect();
        for b in brands {
            let Some(g) = detector.brand_gauges(b, minute) else {
                continue;
            };
            let v = self.points.entry(b.0).or_default();
            if v.len() < MAX_POINTS_PER_BRAND {
                v.push(BrandPoint {
                    minute,
                    rate_per_min: g.rate_per_min,
                    baseline_per_min: g.baseline_per_min,
                    negative_share: g.negative_share_60m,
                    positive_share: g.positive_share_60m,
                });
            }
        }
    }

    /// The samples by brand index.
    pub(crate) fn into_points(self) -> std::collections::BTreeMap<u32, Vec<BrandPoint>> {
        self.points
    }

    /// Adds another recorder's samples (of other brands: an engine shard's).
    pub(crate) fn absorb(&mut self, other: SeriesRecorder) {
        self.points.extend(other.points);
    }
}

/// Sets every labelled active brand's gauges of `detector` at the end of `minute`.
pub fn publish_brand_gauges(metrics: &Metrics, cfg: &Config, detector: &mut Detector, minute: i64) {
    let brands: Vec<_> = detector.active_brands().collect();
    for b in brands {
        let label = metrics.brand_label(cfg.brand(b).id.as_str());
        if label == crate::telemetry::OTHER_BRAND {
            // Gauges do not add up across brands: only labelled brands get them.
            continue;
        }
        let Some(g) = detector.brand_gauges(b, minute) else {
            continue;
        };
        metrics
            .brand_rate_per_minute
            .with_label_values(&[label])
            .set(g.rate_per_min);
        metrics
            .brand_baseline_per_minute
            .with_label_values(&[label])
            .set(g.baseline_per_min);
        for (window, neg, pos) in [
            ("5m", g.negative_share_5m, g.positive_share_5m),
            ("60m", g.negative_share_60m, g.positive_share_60m),
        ] {
            let neutral = (1.0 - neg - pos).max(0.0);
            for (l, v) in [("negative", neg), ("neutral", neutral), ("positive", pos)] {
                metrics
                    .brand_sentiment_share
                    .with_label_values(&[label, window, l])
                    .set(v);
            }
        }
        metrics
            .brand_reach
            .with_label_values(&[label, "5m"])
            .set(g.reach_5m as f64);
        metrics
            .brand_reach
            .with_label_values(&[label, "60m"])
            .set(g.reach_60m as f64);
        metrics
            .brand_reactions_per_minute
            .with_label_values(&[label])
            .set(g.reactions_per_min_5m);
        metrics
            .brand_unique_authors
            .with_label_values(&[label, "60m"])
            .set(f64::from(g.unique_authors_60m));
        metrics
            .brand_doubling_time_seconds
            .with_label_values(&[label])
            .set(g.doubling_time_s.unwrap_or(0.0));
    }
}
