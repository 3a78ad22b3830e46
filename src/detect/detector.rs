//! The detector: owns every brand's windows, baseline, clusters and incidents, and turns scored
//! mentions plus event-time minute ticks into incident events.
//!
//! Input: [`Detector::on_mention`] for each brand-attributed, scored mention, and
//! [`Detector::advance`] with each mention's event time (before `on_mention`), which evaluates
//! every minute that has completed. Output: [`IncidentEvent`]s, drained with
//! [`Detector::drain_events`] (`alert::render` turns them into alert lines).
//!
//! Decisions per brand and completed minute `k` (see `docs/architecture.md`):
//! 1. volume significance: the bot-discounted 15-minute count against the seasonal baseline
//!    (negative-binomial upper tail); a spike must persist `detect.persistence` minutes;
//! 2. a persistent spike opens an incident on its dominant cluster (≥ 30 % of the spike), or
//!    a brand-wide incident when the spike is diffuse (an outage reported by many people); a
//!    burst significant only on raw counts (the bot discount explains it away) opens one too,
//!    which grading keeps at info (it is usually spam: routed to nobody);
//! 3. a single post alleging staff misconduct or danger (risk ≥ `detect.single_post_risk`)
//!    opens a watch incident at once, at info, for the teams of its category;
//! 4. every open incident is re-graded; escalations need two consecutive higher grades; an
//!    incident resolves after `detect.resolve_after` without activity, and volume alone cannot
//!    open another for the brand during `detect.cooldown` after that (risky posts still can).
//!
//! Invariants: brands are evaluated in index order and incidents in opening order, so the same
//! input order always yields the same alerts; per-brand state is bounded (windows are rings,
//! at most [`MAX_CLUSTERS`] clusters with evidence, incidents resolve).

use std::collections::BTreeSet;
use std::sync::Arc;

use super::baseline::SeasonalBaseline;
use super::virality::{growth, negbin_upper_tail, DuplicateTracker};
use super::window::{BrandWindow, Observation};
use crate::config::{Config, DetectConfig, Profile};
use crate::domain::alert::Action;
use crate::domain::incident::{IncidentEvent, IncidentNumbers};
use crate::domain::{BrandIdx, Category, EventTime, Mention, Severity};

use super::cluster::Clusterer;
use super::evidence::Evidence;
use super::grade::{choose_category, grade, persistence_minutes, Signals};
use super::incident::{IdSequence, Incident, Scope};
use crate::domain::scored::{category_slot, Scored};

/// Clusters per brand that keep evidence; the least recently active is dropped first.
pub const MAX_CLUSTERS: usize = 16;
/// Minutes without mentions after which a brand without incidents is no longer evaluated.
const IDLE_MINUTES: i64 = 60;
/// Minutes of missed evaluations replayed after a gap in the stream.
const MAX_CATCH_UP_MINUTES: i64 = 180;
/// Minutes of baseline catch-up replayed after a brand was idle (one week).
const MAX_BASELINE_CATCH_UP: i64 = 7 * 1440;
/// Overdispersion of per-15-minute counts around the baseline (variance = μ + μ²/k).
const DISPERSION: f64 = 20.0;
/// Baseline floor while a brand has less than six hours of history (cold start).
const COLD_START_FLOOR_PER_MIN: f64 = 0.5;
const COLD_START_MINUTES: u32 = 360;
/// A new brand's baseline starts at the cold-start floor, worth this many observed minutes.
const COLD_START_PRIOR_MINUTES: u32 = 60;
/// A dominant cluster must hold this share of a spike's mentions to own the incident.
const DOMINANT_SHARE: f64 = 0.3;

/// Key terms of an evidence post's text for a brand, the brand's own words ignored: how an
/// incident opened from a cluster's history seeds its terms. The wiring injects
/// `score::terms`' extractor, so detect never runs per-mention text analysis itself.
pub trait KeyTerms: Send + Sync {
    fn key_terms(&self, brand: BrandIdx, text: &str) -> Vec<String>;
}

/// Per-brand gauges for the metrics exporter.
#[derive(Debug, Clone, PartialEq)]
pub struct BrandGauges {
    pub rate_per_min: f64,
    pub baseline_per_min: f64,
    pub negative_share_5m: f64,
    pub positive_share_5m: f64,
    pub negative_share_60m: f64,
    pub positive_share_60m: f64,
    pub reach_5m: u64,
    pub reach_60m: u64,
    /// Reposts, quotes and replies per minute over 5 minutes.
    pub reactions_per_min_5m: f64,
    /// Distinct authors over 60 minutes (a 64-bit sketch: exact-ish to ~30, capped at 266).
    pub unique_authors_60m: u32,
    pub doubling_time_s: Option<f64>,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct ClusterEvidence {
    id: u64,
    evidence: Evidence,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct BrandState {
    window: BrandWindow,
    baseline: SeasonalBaseline,
    baseline_through: Option<i64>,
    duplicates: DuplicateTracker,
    clusterer: Clusterer,
    clusters: Vec<ClusterEvidence>,
    spike_run: u32,
    /// Consecutive minutes significant on raw counts but not after the bot discount.
    raw_spike_run: u32,
    p_value: f64,
    /// No volume incident opens before this event time (cool-down after a resolve).
    quiet_until: EventTime,
    incidents: Vec<Incident>,
    ids: IdSequence,
    last_mention_minute: i64,
}

impl BrandState {
    fn new(cfg: &Config) -> BrandState {
        BrandState {
            window: BrandWindow::new(),
            baseline: SeasonalBaseline::with_prior(
                COLD_START_FLOOR_PER_MIN,
                COLD_START_PRIOR_MINUTES,
            ),
            baseline_through: None,
            duplicates: DuplicateTracker::new(),
            clusterer: Clusterer::new(MAX_CLUSTERS * 2, cfg.detect.resolve_after.as_millis_i64()),
            clusters: Vec::new(),
            spike_run: 0,
            raw_spike_run: 0,
            p_value: 1.0,
            quiet_until: EventTime::MIN,
            incidents: Vec::new(),
            ids: IdSequence::default(),
            last_mention_minute: i64::MIN,
        }
    }

    fn cluster_mut(&mut self, id: u64, at: EventTime) -> &mut Evidence {
        if let Some(pos) = self.clusters.iter().position(|c| c.id == id) {
            return &mut self.clusters[pos].evidence;
        }
        if self.clusters.len() >= MAX_CLUSTERS {
            // Drop the least recently active cluster that no incident owns.
            let victim = self
                .clusters
                .iter()
                .enumerate()
                .filter(|(_, c)| !self.incidents.iter().any(|i| i.covers(c.id)))
                .min_by_key(|(_, c)| (c.evidence.last_at, c.id))
                .map(|(i, _)| i);
            if let Some(i) = victim {
                self.clusters.swap_remove(i);
            }
        }
        self.clusters.push(ClusterEvidence {
            id,
            evidence: Evidence::new(at),
        });
        let last = self.clusters.len() - 1;
        &mut self.clusters[last].evidence
    }

    fn pane_weighted(&self, minute: i64) -> f64 {
        self.window
            .pane(EventTime(minute * EventTime::MINUTE_MS))
            .map(|p| f64::from(p.weighted))
            .unwrap_or(0.0)
    }
}

/// The detector's learned state, borrowed for a checkpoint.
#[derive(serde::Serialize)]
pub(crate) struct DetectorStateRef<'a> {
    brands: &'a [Option<Box<BrandState>>],
    active: &'a BTreeSet<u32>,
    evaluated_through: Option<i64>,
}

/// The detector's learned state, read back from a checkpoint.
#[derive(serde::Deserialize)]
pub(crate) struct DetectorState {
    brands: Vec<Option<Box<BrandState>>>,
    active: BTreeSet<u32>,
    evaluated_through: Option<i64>,
}

/// All brands' detection state.
pub struct Detector {
    cfg: Arc<Config>,
    /// `detect` as adjusted by each sensitivity profile, indexed by [`profile_slot`].
    detect: Arc<[DetectConfig; 3]>,
    brands: Vec<Option<Box<BrandState>>>,
    active: BTreeSet<u32>,
    /// The last minute index that has been evaluated.
    evaluated_through: Option<i64>,
    events: Vec<IncidentEvent>,
    key_terms: Arc<dyn KeyTerms>,
    scratch: Vec<f64>,
}

impl Detector {
    pub fn new(cfg: Arc<Config>, key_terms: Arc<dyn KeyTerms>) -> Detector {
        let n = cfg.brands.len();
        let mut brands = Vec::with_capacity(n);
        brands.resize_with(n, || None);
        let detect = Arc::new(Profile::ALL.map(|p| p.apply(&cfg.detect)));
        Detector {
            detect,
            cfg,
            brands,
            active: BTreeSet::new(),
            evaluated_through: None,
            events: Vec::new(),
            key_terms,
            scratch: Vec::with_capacity(64),
        }
    }

    /// Evaluates every minute that completed before the minute of `now`.
    ///
    /// Returns the brands evaluated at the last completed minute (for gauges), in index order.
    pub fn advance(&mut self, now: EventTime) -> Option<i64> {
        let current = now.minute_index();
        let Some(done) = self.evaluated_through else {
            self.evaluated_through = Some(current - 1);
            return None;
        };
        if current - 1 <= done {
            return None;
        }
        let from = (done + 1).max(current - MAX_CATCH_UP_MINUTES);
        for minute in from..current {
            self.evaluate_minute(minute);
        }
        self.evaluated_through = Some(current - 1);
        Some(current - 1)
    }

    /// Adds one scored mention to each of its brands; may open a watch incident at once.
    pub fn on_mention(
        &mut self,
        m: &Mention,
        brands: &[BrandIdx],
        root: u64,
        scored: &Scored,
        terms: &[&str],
    ) {
        for &b in brands {
            self.add_to_brand(b, m, root, scored, terms);
        }
    }

    fn add_to_brand(&mut self, b: BrandIdx, m: &Mention, root: u64, s: &Scored, terms: &[&str]) {
        let cfg = Arc::clone(&self.cfg);
        let detect = Arc::clone(&self.detect);
        let d = &detect[profile_slot(cfg.brand(b).profile)];
        let st = self.brands[b.index()].get_or_insert_with(|| Box::new(BrandState::new(&cfg)));
        let mut scored = s.clone();
        scored.duplicate = st
            .duplicates
            .observe(scored.simhash, scored.simhash_words as usize);
        // A stated service failure is negative evidence even when its words read neutral.
        if d.complaint_threshold < 1.0 && f64::from(scored.complaint) >= d.complaint_threshold {
            scored.complained = true;
            if scored.sentiment == crate::domain::SentimentLabel::Neutral {
                scored.sentiment = crate::domain::SentimentLabel::Negative;
            }
        }
        let obs = Observation {
            at: m.created_at,
            kind: m.kind,
            negative: scored.sentiment == crate::domain::SentimentLabel::Negative,
            positive: scored.sentiment == crate::domain::SentimentLabel::Positive,
            reach: m.author.followers,
            author_key: scored.author_key,
            weight: scored.weight,
        };
        // Older than the fine window (beyond any allowed lateness): evidence only.
        let _too_old = st.window.add(&obs).is_err();
        let cluster = st
            .clusterer
            .assign(
                root,
                scored.simhash,
                scored.simhash_words as usize,
                terms,
                m.created_at,
            )
            .0;
        st.cluster_mut(cluster, m.created_at).add(m, &scored);
        st.last_mention_minute = st.last_mention_minute.max(m.created_at.minute_index());
        self.active.insert(b.0);

        if let Some(inc) = st.incidents.iter_mut().find(|i| i.covers(cluster)) {
            inc.evidence.add(m, &scored);
            terms.iter().for_each(|t| inc.terms.add(t));
            return;
        }
        if let Some(inc) = st.incidents.iter_mut().find(|i| i.scope == Scope::Brand) {
            inc.evidence.add(m, &scored);
            terms.iter().for_each(|t| inc.terms.add(t));
        }
        let risky = f64::from(scored.risk) >= d.single_post_risk
            && m.kind != crate::domain::MentionKind::Repost;
        if risky {
            let conduct = scored.category_scores[category_slot(Category::Conduct)];
            let safety = scored.category_scores[category_slot(Category::Safety)];
            let category = if safety > conduct {
                Category::Safety
            } else {
                Category::Conduct
            };
            let evidence = st
                .clusters
                .iter()
                .find(|c| c.id == cluster)
                .map(|c| c.evidence.clone())
                .unwrap_or_else(|| Evidence::new(m.created_at));
            let brand = cfg.brand(b);
            let id = st.ids.next_id(brand.id.as_str(), m.created_at);
            let mut inc = Incident::open(
                id,
                b,
                Scope::Clusters(vec![cluster]),
                category,
                Severity::Info,
                m.created_at,
                evidence,
            );
            let baseline = st.baseline.expected_per_min(m.created_at);
            let signals = incident_signals(&inc, st, m.created_at.minute_index(), baseline);
            let ev = incident_event(
                &cfg,
                d,
                &*self.key_terms,
                &mut inc,
                Action::Trigger,
                m.created_at,
                &signals,
            );
            self.events.push(ev);
            st.incidents.push(inc);
        }
    }

    fn evaluate_minute(&mut self, minute: i64) {
        let brands: Vec<u32> = self.active.iter().copied().collect();
        for b in brands {
            let idle = self.evaluate_brand(BrandIdx(b), minute);
            if idle {
                self.active.remove(&b);
            }
        }
    }

    /// Evaluates one brand at the end of `minute`; returns true when the brand went idle.
    fn evaluate_brand(&mut self, b: BrandIdx, minute: i64) -> bool {
        let cfg = Arc::clone(&self.cfg);
        let detect = Arc::clone(&self.detect);
        let d = &detect[profile_slot(cfg.brand(b).profile)];
        let Some(st) = self.brands[b.index()].as_deref_mut() else {
            return true;
        };
        let start = EventTime(minute * EventTime::MINUTE_MS);
        let end = EventTime((minute + 1) * EventTime::MINUTE_MS);

        // Baseline catch-up for minutes this brand was not evaluated (idle ⇒ zero counts).
        let anomalous_now =
            st.spike_run > 0 || st.incidents.iter().any(|i| i.severity >= Severity::Warning);
        let from = st
            .baseline_through
            .map_or(minute, |t| t + 1)
            .max(minute - MAX_BASELINE_CATCH_UP);
        for k in from..minute {
            let c = st.pane_weighted(k);
            st.baseline
                .observe_minute(EventTime(k * EventTime::MINUTE_MS), c, anomalous_now);
        }

        // Volume significance of the last 15 minutes.
        let view = st.window.view(start, 15);
        let mut expected = st.baseline.expected_per_min(start);
        if st.baseline.minutes_observed() < COLD_START_MINUTES {
            expected = expected.max(COLD_START_FLOOR_PER_MIN);
        }
        let p = negbin_upper_tail(view.weighted, 15.0 * expected, DISPERSION);
        let spike = p < d.spike_p_value && view.weighted >= f64::from(d.min_mentions);
        st.spike_run = if spike { st.spike_run + 1 } else { 0 };
        // The same test on raw counts: a burst that only the bot discount explains away is
        // still opened (as an info incident, usually spam) so analysts see what was ignored.
        let p_raw = negbin_upper_tail(f64::from(view.mentions), 15.0 * expected, DISPERSION);
        let raw_only = !spike && p_raw < d.spike_p_value && view.mentions >= d.min_mentions;
        st.raw_spike_run = if raw_only { st.raw_spike_run + 1 } else { 0 };
        st.p_value = p;
        let anomalous = spike || st.incidents.iter().any(|i| i.severity >= Severity::Warning);
        let c = st.pane_weighted(minute);
        st.baseline.observe_minute(start, c, anomalous);
        st.baseline_through = Some(minute);

        // Re-grade open incidents.
        let resolve_after = cfg.detect.resolve_after.as_millis_i64();
        let mut i = 0;
        while i < st.incidents.len() {
            let signals = incident_signals(&st.incidents[i], st, minute, expected);
            let inc = &st.incidents[i];
            let fallback = inc.category;
            // An info incident may still change category once it has enough evidence; a
            // watch opened on one risky post keeps its category until then.
            let settled = inc.evidence.mentions >= u64::from(d.min_mentions);
            let category = if inc.severity == Severity::Info && settled {
                choose_category(&signals, fallback)
            } else {
                inc.category
            };
            let route = cfg.routing.route(category);
            let target = grade(category, &signals, d).min(route.max_severity);
            let active = incident_active(inc, &signals, st.p_value);
            let inc = &mut st.incidents[i];
            inc.category = category;
            if let Some(action) = inc.step(end, target, active, resolve_after) {
                let ev = incident_event(&cfg, d, &*self.key_terms, inc, action, end, &signals);
                self.events.push(ev);
                if action == Action::Resolve {
                    st.incidents.remove(i);
                    st.quiet_until = end.plus_ms(cfg.detect.cooldown.as_millis_i64());
                    continue;
                }
            }
            i += 1;
        }

        // A persistent spike that no open incident explains opens a new one.
        let persistent = persistence_minutes(d);
        if (st.spike_run >= persistent || st.raw_spike_run >= persistent) && end >= st.quiet_until {
            self.open_volume_incident(b, minute, expected, view.mentions);
        }

        let st = match self.brands[b.index()].as_deref_mut() {
            Some(st) => st,
            None => return true,
        };
        st.clusterer.expire(start.plus_ms(-resolve_after));
        let cutoff = start.plus_ms(-resolve_after);
        let incidents = &st.incidents;
        st.clusters
            .retain(|c| c.evidence.last_at >= cutoff || incidents.iter().any(|i| i.covers(c.id)));
        st.incidents.is_empty() && minute - st.last_mention_minute > IDLE_MINUTES
    }

    fn open_volume_incident(&mut self, b: BrandIdx, minute: i64, expected: f64, spike: u32) {
        let cfg = Arc::clone(&self.cfg);
        let detect = Arc::clone(&self.detect);
        let d = &detect[profile_slot(cfg.brand(b).profile)];
        let Some(st) = self.brands[b.index()].as_deref_mut() else {
            return;
        };
        let spike = f64::from(spike.max(1));
        let covered: f64 = st
            .incidents
            .iter()
            .map(|i| i.evidence.recent(minute, 15) as f64)
            .sum();
        if covered >= 0.5 * spike || st.incidents.iter().any(|i| i.scope == Scope::Brand) {
            return;
        }
        let free = |c: &&ClusterEvidence| !st.incidents.iter().any(|i| i.covers(c.id));
        let dominant = st
            .clusters
            .iter()
            .filter(free)
            .max_by_key(|c| (c.evidence.recent(minute, 15), std::cmp::Reverse(c.id)));
        let (scope, evidence) = match dominant {
            Some(c) if c.evidence.recent(minute, 15) as f64 >= DOMINANT_SHARE * spike => {
                (Scope::Clusters(vec![c.id]), c.evidence.clone())
            }
            _ => {
                let mut merged: Option<Evidence> = None;
                for c in st.clusters.iter().filter(free) {
                    match &mut merged {
                        Some(e) => e.merge(&c.evidence),
                        None => merged = Some(c.evidence.clone()),
                    }
                }
                let Some(e) = merged else {
                    return;
                };
                (Scope::Brand, e)
            }
        };
        let at = EventTime((minute + 1) * EventTime::MINUTE_MS);
        let brand = cfg.brand(b);
        let mut inc = Incident::open(
            String::new(),
            b,
            scope,
            Category::Other,
            Severity::Info,
            at,
            evidence,
        );
        let signals = incident_signals(&inc, st, minute, expected);
        let fallback = inc
            .evidence
            .leading_category(&[
                Category::Conduct,
                Category::Safety,
                Category::Outage,
                Category::Billing,
                Category::Service,
            ])
            .unwrap_or(Category::Other);
        let category = choose_category(&signals, fallback);
        let route = cfg.routing.route(category);
        inc.category = category;
        inc.severity = grade(category, &signals, d).min(route.max_severity);
        inc.id = st.ids.next_id(brand.id.as_str(), at);
        let ev = incident_event(
            &cfg,
            d,
            &*self.key_terms,
            &mut inc,
            Action::Trigger,
            at,
            &signals,
        );
        self.events.push(ev);
        st.incidents.push(inc);
    }

    /// Everything learned so far (baselines, windows, clusters, open incidents), for a
    /// checkpoint. Pending alerts are not part of it: drain them first.
    pub(crate) fn state(&self) -> DetectorStateRef<'_> {
        DetectorStateRef {
            brands: &self.brands,
            active: &self.active,
            evaluated_through: self.evaluated_through,
        }
    }

    /// Replaces the learned state with a checkpoint's (same brands, same order: the caller
    /// checks). Returns false when the brand count differs.
    pub(crate) fn restore(&mut self, state: DetectorState) -> bool {
        if state.brands.len() != self.brands.len() {
            return false;
        }
        self.brands = state.brands;
        self.active = state.active;
        self.evaluated_through = state.evaluated_through;
        self.events.clear();
        true
    }

    /// Incident events decided since the last drain, in decision order.
    pub fn drain_events(&mut self) -> std::vec::Drain<'_, IncidentEvent> {
        self.events.drain(..)
    }

    /// Brands currently evaluated each minute, in index order.
    pub fn active_brands(&self) -> impl Iterator<Item = BrandIdx> + '_ {
        self.active.iter().map(|&b| BrandIdx(b))
    }

    /// Whether `b` has a candidate incident: an open one (watch or above) or a volume spike
    /// that is persisting towards one. Read-only and O(1); the engine uses it to send only
    /// these brands' mentions to a slower sentiment model.
    pub fn is_hot(&self, b: BrandIdx) -> bool {
        self.brands
            .get(b.index())
            .and_then(|s| s.as_deref())
            .is_some_and(|st| !st.incidents.is_empty() || st.spike_run > 0)
    }

    /// Open incidents of every brand: (brand, category, severity).
    pub fn open_incidents(&self) -> Vec<(BrandIdx, Category, Severity)> {
        self.brands
            .iter()
            .flatten()
            .flat_map(|st| {
                st.incidents
                    .iter()
                    .map(|i| (i.brand, i.category, i.severity))
            })
            .collect()
    }

    /// Gauges for one brand at the end of `minute`.
    pub fn brand_gauges(&mut self, b: BrandIdx, minute: i64) -> Option<BrandGauges> {
        let st = self.brands.get(b.index())?.as_deref()?;
        let start = EventTime(minute * EventTime::MINUTE_MS);
        let v5 = st.window.view(start, 5);
        let v60 = st.window.view(start, 60);
        st.window.minute_counts(start, 30, &mut self.scratch);
        Some(BrandGauges {
            rate_per_min: f64::from(v5.mentions) / 5.0,
            baseline_per_min: st.baseline.expected_per_min(start),
            negative_share_5m: v5.negative_share,
            positive_share_5m: v5.positive_share,
            negative_share_60m: v60.negative_share,
            positive_share_60m: v60.positive_share,
            reach_5m: v5.reach,
            reach_60m: v60.reach,
            reactions_per_min_5m: v5.velocity_per_min,
            unique_authors_60m: v60.unique_authors_estimate,
            doubling_time_s: growth(&self.scratch).doubling_time_s,
        })
    }

    /// Approximate heap bytes of all brand state (for the memory benchmark).
    pub fn brand_count_with_state(&self) -> usize {
        self.brands.iter().flatten().count()
    }
}

fn profile_slot(p: Profile) -> usize {
    match p {
        Profile::Fewer => 0,
        Profile::Balanced => 1,
        Profile::More => 2,
    }
}

fn incident_signals(inc: &Incident, st: &BrandState, minute: i64, baseline: f64) -> Signals {
    let ev = &inc.evidence;
    let mut counts = Vec::with_capacity(30);
    ev.minute_counts(minute, 30, &mut counts);
    let m15 = ev.recent(minute, 15) as f64;
    Signals {
        mentions_15: m15,
        mentions_60: ev.recent(minute, 60) as f64,
        rate_per_min: m15 / 15.0,
        baseline_per_min: baseline,
        p_value: st.p_value,
        spike_run: st.spike_run,
        doubling_time_s: growth(&counts).doubling_time_s,
        negative_share: ev.sentiment_share(ev.negative),
        positive_share: ev.sentiment_share(ev.positive),
        complaint_share: ev.sentiment_share(ev.complaints),
        bot_share: ev.share(ev.bots),
        duplicate_share: ev.share(ev.duplicates),
        unique_authors: ev.unique_authors(),
        reach: ev.reach,
        max_risk: f64::from(ev.max_risk),
    }
}

/// Still active: a cluster incident while its 15-minute volume stays above a small floor; a
/// brand-wide incident while the brand's volume stays clearly above baseline.
fn incident_active(inc: &Incident, s: &Signals, brand_p: f64) -> bool {
    match inc.scope {
        Scope::Clusters(_) => s.mentions_15 >= 3.0 && s.rate_per_min >= 0.5 * s.baseline_per_min,
        Scope::Brand => brand_p < 1e-3,
    }
}

/// The event for `action` on `inc`; records the teams notified (routing table) and seeds the
/// incident's terms from its evidence posts when it has none yet. `d` is the incident's
/// brand's detection settings (its sensitivity profile applied).
fn incident_event(
    cfg: &Config,
    d: &DetectConfig,
    key_terms: &dyn KeyTerms,
    inc: &mut Incident,
    action: Action,
    at: EventTime,
    s: &Signals,
) -> IncidentEvent {
    if action != Action::Resolve {
        for t in &cfg.routing.route(inc.category).teams {
            if !inc.teams.contains(t) {
                inc.teams.push(t.clone());
            }
        }
    }
    let ev = &inc.evidence;
    let top_posts = ev.top_posts();
    if inc.terms.is_empty() {
        // Seed from the evidence posts (an incident opened from a cluster's history).
        for p in &top_posts {
            for t in key_terms.key_terms(inc.brand, &p.text) {
                inc.terms.add(&t);
            }
        }
    }
    let terms: Vec<String> = inc.terms.top(5).into_iter().map(|(t, _)| t).collect();
    let headline = ev
        .risk_post()
        .filter(|_| ev.max_risk > 0.0)
        .map(|p| p.text.clone())
        .or_else(|| (!terms.is_empty()).then(|| terms.join(", ")))
        .unwrap_or_default();
    let watch = action == Action::Trigger
        && inc.severity == Severity::Info
        && matches!(inc.category, Category::Conduct | Category::Safety)
        && s.max_risk >= d.single_post_risk
        && s.mentions_60 < f64::from(d.min_mentions);
    IncidentEvent {
        at,
        action,
        incident: inc.id.clone(),
        brand: inc.brand,
        severity: inc.severity,
        category: inc.category,
        notified_teams: inc.teams.clone(),
        opened_at: inc.opened_at,
        watch,
        headline,
        top_posts,
        terms,
        numbers: IncidentNumbers {
            mentions: ev.mentions,
            mentions_60: s.mentions_60,
            rate_per_min: s.rate_per_min,
            baseline_per_min: s.baseline_per_min,
            doubling_time_s: s.doubling_time_s,
            negative_share: s.negative_share,
            positive_share: s.positive_share,
            bot_share: s.bot_share,
            reach: ev.reach,
            unique_authors: ev.unique_authors(),
            reaction_rate_per_min: ev.share(ev.reactions) * s.rate_per_min,
            max_risk: s.max_risk,
        },
    }
}
