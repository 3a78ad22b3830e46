//! The incident board: what Prometheus cannot hold (incident ids, timelines, evidence text),
//! kept in memory for the JSON API of [`super::api`] and the Grafana "Incident" dashboard.
//!
//! Input: every [`AlertRecord`] of the alert log, in decision order, through
//! [`IncidentBoard::apply`] (or the `alert::BoardFeed` notifier). Output: snapshots of the active
//! incidents, of a bounded list of recently resolved ones, and of the configured brands with
//! their current gauges.
//!
//! Invariants: memory is bounded — at most [`MAX_ACTIVE`] active incidents (the least recently
//! updated one is moved to the recent list beyond that), `recent_capacity` resolved ones, and
//! [`MAX_TIMELINE`] timeline entries per incident (the first line is always kept).

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use serde::Serialize;

use super::metrics::{Metrics, OTHER_BRAND};
use crate::domain::alert::{Action, AlertMetrics, AlertRecord, TopPost};
use crate::domain::{Category, Severity};

/// Most active incidents kept.
pub const MAX_ACTIVE: usize = 10_000;
/// Most timeline entries kept per incident.
pub const MAX_TIMELINE: usize = 64;
/// Resolved incidents kept by default.
pub const DEFAULT_RECENT: usize = 100;

/// Where an incident stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Active,
    Resolved,
}

/// One alert line of an incident, as a timeline point.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TimelineEntry {
    pub at: String,
    pub action: Action,
    pub severity: Severity,
    pub teams: Vec<String>,
    pub summary: String,
    /// Which signal crossed what, in one sentence (the alert line's `why`).
    pub why: String,
    pub mentions: u64,
    pub rate_per_min: f64,
    pub baseline_per_min: f64,
    pub negative_share: f64,
}

/// An incident with its latest evidence.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IncidentView {
    pub id: String,
    pub brand: String,
    pub status: Status,
    pub category: Category,
    /// Current severity (the last line's).
    pub severity: Severity,
    /// Highest severity reached.
    pub peak_severity: Severity,
    /// Every team notified so far.
    pub teams: Vec<String>,
    pub opened_at: String,
    pub updated_at: String,
    pub resolved_at: Option<String>,
    pub summary: String,
    /// The last line's why-sentence.
    pub why: String,
    pub metrics: AlertMetrics,
    pub top_posts: Vec<TopPost>,
    pub terms: Vec<String>,
    pub dedup_key: String,
    pub timeline: Vec<TimelineEntry>,
}

/// `GET /api/incidents`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IncidentList {
    /// Open incidents, most severe first, then oldest first.
    pub active: Vec<IncidentView>,
    /// Resolved incidents, most recently resolved first.
    pub recent: Vec<IncidentView>,
}

/// Sentiment shares over one window.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Shares {
    pub negative: f64,
    pub neutral: f64,
    pub positive: f64,
}

/// One configured brand with its current gauges (`null` before the first published minute
/// or when the brand has no label of its own).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BrandView {
    pub id: String,
    pub name: String,
    /// The value of the `brand` label its series carry (`__other__` beyond the labelled set).
    pub label: String,
    pub rate_per_minute: Option<f64>,
    pub baseline_per_minute: Option<f64>,
    pub doubling_time_seconds: Option<f64>,
    pub reach_60m: Option<f64>,
    pub sentiment_5m: Option<Shares>,
    pub sentiment_60m: Option<Shares>,
    pub active_incidents: Vec<String>,
}

#[derive(Default)]
struct State {
    active: HashMap<String, IncidentView>,
    recent: VecDeque<IncidentView>,
}

/// Active and recent incidents, fed with every alert line.
pub struct IncidentBoard {
    brands: Vec<(String, String)>,
    metrics: Option<Arc<Metrics>>,
    recent_capacity: usize,
    state: Mutex<State>,
}

impl std::fmt::Debug for IncidentBoard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IncidentBoard")
            .field("brands", &self.brands.len())
            .field("recent_capacity", &self.recent_capacity)
            .finish_non_exhaustive()
    }
}

impl IncidentBoard {
    /// A board for the configured brands (`(id, name)` pairs); `metrics` supplies the brands'
    /// current gauges for `GET /api/brands`.
    pub fn new(
        brands: Vec<(String, String)>,
        metrics: Option<Arc<Metrics>>,
        recent_capacity: usize,
    ) -> IncidentBoard {
        IncidentBoard {
            brands,
            metrics,
            recent_capacity: recent_capacity.max(1),
            state: Mutex::new(State::default()),
        }
    }

    /// A board for every brand of `cfg`, keeping [`DEFAULT_RECENT`] resolved incidents.
    pub fn for_config(cfg: &crate::config::Config, metrics: Option<Arc<Metrics>>) -> IncidentBoard {
        let brands = cfg
            .brands
            .iter()
            .map(|b| (b.id.as_str().to_string(), b.name.clone()))
            .collect();
        IncidentBoard::new(brands, metrics, DEFAULT_RECENT)
    }

    /// Applies one alert line: opens, updates or resolves its incident.
    pub fn apply(&self, alert: &AlertRecord) {
        let Ok(mut st) = self.state.lock() else {
            return;
        };
        let entry = TimelineEntry {
            at: alert.at.clone(),
            action: alert.action,
            severity: alert.severity,
            teams: alert.teams.clone(),
            summary: alert.summary.clone(),
            why: alert.why.clone(),
            mentions: alert.metrics.mentions,
            rate_per_min: alert.metrics.rate_per_min,
            baseline_per_min: alert.metrics.baseline_per_min,
            negative_share: alert.metrics.negative_share,
        };
        let mut view = match st.active.remove(&alert.incident) {
            Some(v) => v,
            None => IncidentView {
                id: alert.incident.clone(),
                brand: alert.brand.clone(),
                status: Status::Active,
                category: alert.category,
                severity: alert.severity,
                peak_severity: alert.severity,
                teams: Vec::new(),
                opened_at: alert.at.clone(),
                updated_at: alert.at.clone(),
                resolved_at: None,
                summary: String::new(),
                why: String::new(),
                metrics: AlertMetrics::default(),
                top_posts: Vec::new(),
                terms: Vec::new(),
                dedup_key: alert.dedup_key.clone(),
                timeline: Vec::new(),
            },
        };
        view.category = alert.category;
        view.severity = alert.severity;
        view.peak_severity = view.peak_severity.max(alert.severity);
        for t in &alert.teams {
            if !view.teams.contains(t) {
                view.teams.push(t.clone());
            }
        }
        view.updated_at = alert.at.clone();
        view.summary = alert.summary.clone();
        view.why = alert.why.clone();
        view.metrics = alert.metrics.clone();
        if !alert.top_posts.is_empty() {
            view.top_posts = alert.top_posts.clone();
        }
        if !alert.terms.is_empty() {
            view.terms = alert.terms.clone();
        }
        if view.timeline.len() >= MAX_TIMELINE {
            view.timeline.remove(1);
        }
        view.timeline.push(entry);
        if alert.action == Action::Resolve {
            view.status = Status::Resolved;
            view.resolved_at = Some(alert.at.clone());
            self.push_recent(&mut st, view);
        } else {
            st.active.insert(view.id.clone(), view);
            if st.active.len() > MAX_ACTIVE {
                let oldest = st
                    .active
                    .values()
                    .min_by(|a, b| a.updated_at.cmp(&b.updated_at))
                    .map(|v| v.id.clone());
                if let Some(v) = oldest.and_then(|id| st.active.remove(&id)) {
                    self.push_recent(&mut st, v);
                }
            }
        }
    }

    fn push_recent(&self, st: &mut State, view: IncidentView) {
        st.recent.retain(|v| v.id != view.id);
        st.recent.push_front(view);
        st.recent.truncate(self.recent_capacity);
    }

    /// Active incidents (most severe first, then oldest first) and recent resolved ones.
    pub fn incidents(&self) -> IncidentList {
        let Ok(st) = self.state.lock() else {
            return IncidentList {
                active: Vec::new(),
                recent: Vec::new(),
            };
        };
        let mut active: Vec<IncidentView> = st.active.values().cloned().collect();
        active.sort_by(|a, b| {
            b.severity
                .cmp(&a.severity)
                .then_with(|| a.opened_at.cmp(&b.opened_at))
                .then_with(|| a.id.cmp(&b.id))
        });
        IncidentList {
            active,
            recent: st.recent.iter().cloned().collect(),
        }
    }

    /// One incident, active or recent.
    pub fn incident(&self, id: &str) -> Option<IncidentView> {
        let st = self.state.lock().ok()?;
        st.active
            .get(id)
            .or_else(|| st.recent.iter().find(|v| v.id == id))
            .cloned()
    }

    /// The configured brands with their current gauges and open incidents.
    pub fn brands(&self) -> Vec<BrandView> {
        let mut open: HashMap<String, Vec<String>> = HashMap::new();
        if let Ok(st) = self.state.lock() {
            for v in st.active.values() {
                open.entry(v.brand.clone()).or_default().push(v.id.clone());
            }
        }
        let g = self.metrics.as_deref().map(Gauges::read);
        self.brands
            .iter()
            .map(|(id, name)| {
                let label = self
                    .metrics
                    .as_deref()
                    .map_or(id.as_str(), |m| m.brand_label(id))
                    .to_string();
                let own = |map: &HashMap<String, f64>| {
                    (label != OTHER_BRAND)
                        .then(|| map.get(&label).copied())
                        .flatten()
                };
                let mut incidents = open.remove(id).unwrap_or_default();
                incidents.sort();
                BrandView {
                    id: id.clone(),
                    name: name.clone(),
                    rate_per_minute: g.as_ref().and_then(|g| own(&g.rate)),
                    baseline_per_minute: g.as_ref().and_then(|g| own(&g.baseline)),
                    doubling_time_seconds: g.as_ref().and_then(|g| own(&g.doubling)),
                    reach_60m: g.as_ref().and_then(|g| own(&g.reach_60m)),
                    sentiment_5m: g.as_ref().and_then(|g| g.shares(&label, "5m")),
                    sentiment_60m: g.as_ref().and_then(|g| g.shares(&label, "60m")),
                    active_incidents: incidents,
                    label,
                }
            })
            .collect()
    }
}

/// The brand gauges read back from the registry, keyed by brand label.
struct Gauges {
    rate: HashMap<String, f64>,
    baseline: HashMap<String, f64>,
    doubling: HashMap<String, f64>,
    reach_60m: HashMap<String, f64>,
    /// (brand, window, label) → share.
    sentiment: HashMap<(String, String, String), f64>,
}

impl Gauges {
    fn read(m: &Metrics) -> Gauges {
        let by_brand = |vec: &prometheus::GaugeVec, filter: Option<(&str, &str)>| {
            let mut out = HashMap::new();
            for (labels, v) in gauge_series(vec) {
                if let Some((k, want)) = filter {
                    if label_of(&labels, k) != Some(want) {
                        continue;
                    }
                }
                if let Some(b) = label_of(&labels, "brand") {
                    out.insert(b.to_string(), v);
                }
            }
            out
        };
        let mut sentiment = HashMap::new();
        for (labels, v) in gauge_series(&m.brand_sentiment_share) {
            if let (Some(b), Some(w), Some(l)) = (
                label_of(&labels, "brand"),
                label_of(&labels, "window"),
                label_of(&labels, "label"),
            ) {
                sentiment.insert((b.to_string(), w.to_string(), l.to_string()), v);
            }
        }
        Gauges {
            rate: by_brand(&m.brand_rate_per_minute, None),
            baseline: by_brand(&m.brand_baseline_per_minute, None),
            doubling: by_brand(&m.brand_doubling_time_seconds, None),
            reach_60m: by_brand(&m.brand_reach, Some(("window", "60m"))),
            sentiment,
        }
    }

    fn shares(&self, brand: &str, window: &str) -> Option<Shares> {
        if brand == OTHER_BRAND {
            return None;
        }
        let get = |l: &str| {
            self.sentiment
                .get(&(brand.to_string(), window.to_string(), l.to_string()))
                .copied()
        };
        Some(Shares {
            negative: get("negative")?,
            neutral: get("neutral")?,
            positive: get("positive")?,
        })
    }
}

type Labels = Vec<(String, String)>;

/// Every series of a gauge family as (labels, value), without creating any.
fn gauge_series(vec: &prometheus::GaugeVec) -> Vec<(Labels, f64)> {
    use prometheus::core::Collector;
    vec.collect()
        .iter()
        .flat_map(|mf| mf.get_metric())
        .map(|m| {
            let labels = m
                .get_label()
                .iter()
                .map(|l| (l.name().to_string(), l.value().to_string()))
                .collect();
            (labels, m.get_gauge().get_value())
        })
        .collect()
}

fn label_of<'a>(labels: &'a Labels, name: &str) -> Option<&'a str> {
    labels
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alert(id: &str, action: Action, severity: Severity, at: &str) -> AlertRecord {
        AlertRecord {
            at: at.into(),
            action,
            brand: "acme".into(),
            severity,
            category: Category::Conduct,
            summary: format!("{id} {}", action.as_str()),
            dedup_key: format!("flashpoint/acme/{id}"),
            ..AlertRecord::sample(id)
        }
    }

    #[test]
    fn board_keeps_recent_bounded_and_timeline_first_line() {
        let board = IncidentBoard::new(vec![("acme".into(), "Acme".into())], None, 2);
        for i in 0..3 {
            let id = format!("acme-{i}");
            board.apply(&alert(
                &id,
                Action::Trigger,
                Severity::Info,
                "2026-03-01T00:00:00Z",
            ));
            for _ in 0..(MAX_TIMELINE + 5) {
                board.apply(&alert(
                    &id,
                    Action::Escalate,
                    Severity::Error,
                    "2026-03-01T00:01:00Z",
                ));
            }
            board.apply(&alert(
                &id,
                Action::Resolve,
                Severity::Error,
                "2026-03-01T00:02:00Z",
            ));
        }
        let list = board.incidents();
        assert!(list.active.is_empty());
        let ids: Vec<&str> = list.recent.iter().map(|v| v.id.as_str()).collect();
        assert_eq!(ids, ["acme-2", "acme-1"]);
        let v = &list.recent[0];
        assert_eq!(v.timeline.len(), MAX_TIMELINE);
        assert_eq!(v.timeline[0].action, Action::Trigger);
        assert_eq!(v.timeline.last().map(|e| e.action), Some(Action::Resolve));
        assert_eq!(v.peak_severity, Severity::Error);
        assert!(board.incident("acme-0").is_none());
    }

    #[test]
    fn an_incident_carries_each_lines_why() {
        let board = IncidentBoard::new(vec![("acme".into(), "Acme".into())], None, 2);
        let mut first = alert(
            "acme-9",
            Action::Trigger,
            Severity::Info,
            "2026-03-01T00:00:00Z",
        );
        first.why = "a risky post's story has 3 posts in the last 60 min".into();
        let mut then = alert(
            "acme-9",
            Action::Escalate,
            Severity::Error,
            "2026-03-01T00:09:00Z",
        );
        then.why = "complaints at 3.0/min, 12x their usual 0.25/min".into();
        board.apply(&first);
        board.apply(&then);
        let v = board.incident("acme-9").unwrap();
        assert_eq!(v.why, then.why, "the incident shows its last line's why");
        let whys: Vec<&str> = v.timeline.iter().map(|e| e.why.as_str()).collect();
        assert_eq!(whys, [first.why.as_str(), then.why.as_str()]);
        let json = serde_json::to_value(&v).unwrap();
        assert_eq!(json["why"], then.why.as_str());
    }

    #[test]
    fn brands_read_gauges_without_creating_series() {
        let m = Arc::new(Metrics::new(&["acme"], 10));
        let board = IncidentBoard::new(
            vec![("acme".into(), "Acme".into()), ("zed".into(), "Zed".into())],
            Some(Arc::clone(&m)),
            10,
        );
        let before = m.series_count();
        let b = board.brands();
        assert_eq!(m.series_count(), before);
        assert_eq!(b[0].rate_per_minute, None);
        m.brand_rate_per_minute
            .with_label_values(&["acme"])
            .set(4.5);
        let b = board.brands();
        assert_eq!(b[0].rate_per_minute, Some(4.5));
        assert_eq!(b[1].label, OTHER_BRAND);
        assert_eq!(b[1].rate_per_minute, None);
    }
}
