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
//!    opens a watch incident at once, at info, for the teams of its category; a thread that
//!    grows into a story about conduct or danger ([`super::threads`]: fast, from many
//!    people, in conduct or danger words) is graded like such a watch, on its own growth,
//!    whatever its root post said: it takes over the brand's open conduct/safety incident
//!    that no thread owns, or opens one on the thread's cluster (once per thread);
//! 4. each category group's complaint stream ([`GROUPS`]: outage/billing/service complaints;
//!    conduct/safety; the outage reports among the service complaints, whose story is the
//!    service one: an outage builds against the brand's usual outage reports, not its
//!    everyday grumbles) has its own seasonal baseline and Poisson CUSUMs for a sustained
//!    rise (see [`CUSUM_RATIO`], [`CUSUM_SLOW_RATIO`], [`CUSUM_STEEP_RATIO`],
//!    [`cusum_threshold`]); crossing one
//!    opens an incident on that group's complaints, so a complaint surge pages even when total volume barely moves.
//!    The CUSUM's expectation is the group's baseline, times how much busier the brand's other
//!    mentions (not the complaints themselves) are than their own baseline over the last five
//!    minutes when they are. Both baselines learn each minute
//!    [`GROUP_LEARN_LAG_MINUTES`] after it happened (a guard band), so a rise that builds over
//!    hours is held to the level before it; a stream with under `COLD_START_MINUTES` of
//!    history only learns;
//! 5. every open incident is re-graded; escalations need two consecutive higher grades; an
//!    incident resolves after `detect.resolve_after` without activity, and volume alone cannot
//!    open another for the brand during `detect.cooldown` after an incident that reached
//!    warning resolves (info watches and positive or spam incidents start no cool-down).
//!
//! Baselines keep learning during an anomaly, at [`ANOMALY_LEARN`] of the normal rate; once an
//! anomaly has lasted [`PLATEAU_MINUTES`] it is a level shift: the baseline restarts from the
//! last hour's level, so a lasting new level (a busier brand, a new source) becomes the norm
//! instead of an incident that never resolves. Cold start (`cold_start_cap`): during a
//! brand's first six hours (`COLD_START_MINUTES`) volume pages (at warning) only when three
//! in four of an incident's posts state a complaint ([`COLD_START_COMPLAINT_SHARE`]), and for
//! the rest of its first day ([`COLD_START_DAY_MINUTES`] of history) nothing grades above
//! warning; risky single posts still open watches and escalate on their thread. Those first
//! six hours are the brand's level, not an anomaly: its volume baseline learns them at the
//! full rate, so a brand first seen busy is not still "in a spike" when the cap lifts.
//!
//! No data is not silence: when the whole stream stops for at least [`GAP_MINUTES`] while its
//! brands' baselines expected at least [`GAP_EXPECTED_MENTIONS`] mentions in that time (a
//! source outage, an archive gap), those minutes are neither learnt as zeros nor counted as
//! quiet time of open incidents.
//!
//! False-alarm budget per brand and day (Bonferroni over the three signals that can page on
//! volume alone): the 15-minute volume test (`spike_p_value` with `persistence`, unchanged),
//! the conduct/safety stream's CUSUMs (a rise to [`CUSUM_RATIO`] and a slower one to
//! [`CUSUM_SLOW_RATIO`] times the expectation) with threshold [`CUSUM_THRESHOLD`] =
//! `ln(3 · 1440 / 0.005)`: by Wald's bound each one's in-control average run length under the
//! Poisson baseline is at least 864,000 minutes, so the stream spends at most 0.005 false
//! alarms per brand-day; and the service and outage streams (those two and a steep one to
//! [`CUSUM_STEEP_RATIO`] each), which share the service complaints' 0.005 at
//! [`SERVICE_CUSUM_THRESHOLD`] = `ln(2 · 3 · 1440 / 0.005)`.
//!
//! Invariants: brands are evaluated in index order and incidents in opening order, so the same
//! input order always yields the same alerts; per-brand state is bounded (windows are rings,
//! at most [`MAX_CLUSTERS`] clusters with evidence, incidents resolve).

use std::collections::{BTreeSet, VecDeque};
use std::sync::Arc;

use super::baseline::{SeasonalBaseline, COLD_START_FLOOR_PER_MIN};
use super::virality::{growth, negbin_upper_tail};
use super::window::{story_group, Observation, CONDUCT_GROUP, GROUPS, OUTAGE_GROUP, SERVICE_GROUP};
use crate::config::{Config, DetectConfig, Profile};
use crate::domain::alert::Action;
use crate::domain::incident::IncidentEvent;
use crate::domain::terms::TermList;
use crate::domain::{BrandIdx, Category, EventTime, Mention, Severity};

use super::brand_state::{BrandState, ClusterEvidence, USUAL_STEP};
pub use super::brand_state::{MAX_CLUSTERS, NAMING_WINDOW};
pub use super::event::KeyTerms;
use super::event::{incident_active, incident_event, incident_signals};
use super::evidence::Evidence;
use super::grade::{choose_category, grade, persistence_minutes, risky_story, Signals};
use super::lifecycle::{Incident, Scope};
pub use super::streams::{
    cusum_threshold, CUSUM_RATIO, CUSUM_SLOW_RATIO, CUSUM_STEEP_RATIO, CUSUM_THRESHOLD,
    GROUP_LEARN_LAG_MINUTES, SERVICE_CUSUM_THRESHOLD,
};
use super::streams::{
    group_of, groups_of, tells_group, GroupStream, GROUP_FLOOR_PER_MIN, OUTAGE_SHARE_OF_RISE,
};
use crate::domain::scored::{category_slot, grievance_score, is_complaint, Naming, Scored};
use crate::domain::SentimentLabel;

/// Minutes without mentions after which a brand without incidents is no longer evaluated.
const IDLE_MINUTES: i64 = 60;
/// Minutes of missed evaluations replayed after a gap in the stream.
const MAX_CATCH_UP_MINUTES: i64 = 180;
/// Minutes of baseline catch-up replayed after a brand was idle (one week).
const MAX_BASELINE_CATCH_UP: i64 = 7 * 1440;
/// Overdispersion of per-15-minute counts around the baseline (variance = μ + μ²/k).
const DISPERSION: f64 = 20.0;
const COLD_START_MINUTES: u32 = 360;
/// Share of an incident's posts stating a complaint from which volume may page (at warning)
/// in a brand's first [`COLD_START_MINUTES`]: an outage that drowns a new brand's chatter is
/// nearly all complaints, while a brand whose everyday talk is complaints (an airline's, a
/// utility's) states one in half or more of its posts, and against a baseline that is still
/// mostly its prior its ordinary traffic reads as a spike. At one half, 24 false pages on 40
/// tuning seeds of six benign families with 30-70 % complaint backgrounds (23 in the first
/// day); at three quarters, 3 (docs/evaluation.md, twentieth round).
const COLD_START_COMPLAINT_SHARE: f64 = 0.75;
/// A dominant cluster must hold this share of a spike's mentions to own the incident.
const DOMINANT_SHARE: f64 = 0.3;
/// Learning rate (share of the normal step) of baselines during an anomaly.
pub const ANOMALY_LEARN: f64 = 0.1;
/// An anomaly lasting this many minutes is a new level: baselines learn it at full rate.
pub const PLATEAU_MINUTES: u32 = 6 * 60;
/// Minutes of history before volume alone may grade above warning.
pub const COLD_START_DAY_MINUTES: u32 = 1440;
/// A stream-wide silence this long may be a gap in the data rather than quiet.
pub const GAP_MINUTES: i64 = 30;
/// ... and is one when the brands' baselines expected at least this many mentions in it
/// (`P(0 | Poisson(20)) = 2e-9`).
pub const GAP_EXPECTED_MENTIONS: f64 = 20.0;
/// No-data gaps remembered (to skip them when an idle brand's baseline catches up).
const MAX_GAPS: usize = 32;
/// The most a brand's volume and complaint signals may grade while its baseline has
/// `minutes` of history (cold start): in its first [`COLD_START_MINUTES`] the baseline is
/// still mostly its prior, so a busy brand's ordinary traffic reads as a spike, and only an
/// incident of which at least [`COLD_START_COMPLAINT_SHARE`] of the posts state a complaint
/// (a new brand's sudden outage) may page, at warning; for the rest of its first day
/// ([`COLD_START_DAY_MINUTES`]) nothing grades above warning. Risky posts are not capped.
fn cold_start_cap(minutes: u32, complaint_share: f64) -> Option<Severity> {
    if minutes < COLD_START_MINUTES && complaint_share < COLD_START_COMPLAINT_SHARE {
        Some(Severity::Info)
    } else if minutes < COLD_START_DAY_MINUTES {
        Some(Severity::Warning)
    } else {
        None
    }
}

/// The learning rate of a baseline whose stream has been anomalous for `run` minutes.
fn learn_rate(anomalous: bool, run: u32) -> f64 {
    if !anomalous || run >= PLATEAU_MINUTES {
        1.0
    } else {
        ANOMALY_LEARN
    }
}

/// Whether a mention belongs in an incident's evidence: the thread's own reactions always do;
/// otherwise a negative story does not collect praise and a positive one does not collect
/// complaints (they mention the brand in the same window but are another story). `conduct`
/// is the mention's conduct/safety group membership ([`groups_of`]), already computed.
fn belongs(inc: &Incident, root: u64, s: &Scored, conduct: bool) -> bool {
    if inc.root != 0 {
        // A story opened on one risky post: its thread, and other posts of its cluster that
        // speak of conduct or danger ("boycotting X after this"), never the brand's other
        // chatter that the clusterer put beside it for sharing the post's words.
        return root == inc.root || (conduct && s.sentiment != SentimentLabel::Positive);
    }
    let complaint = s.complained || is_complaint(&s.category_scores);
    match inc.category {
        Category::Positive => s.sentiment != SentimentLabel::Negative && !complaint,
        Category::Spam | Category::Other => true,
        _ => s.sentiment != SentimentLabel::Positive || complaint,
    }
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

/// The detector's learned state, borrowed for a checkpoint.
#[derive(serde::Serialize)]
pub(crate) struct DetectorStateRef<'a> {
    brands: &'a [Option<Box<BrandState>>],
    active: &'a BTreeSet<u32>,
    evaluated_through: Option<i64>,
    newest_minute: Option<i64>,
    gaps: &'a VecDeque<(i64, i64)>,
}

/// The detector's learned state, read back from a checkpoint.
#[derive(serde::Deserialize)]
pub(crate) struct DetectorState {
    brands: Vec<Option<Box<BrandState>>>,
    active: BTreeSet<u32>,
    evaluated_through: Option<i64>,
    newest_minute: Option<i64>,
    gaps: VecDeque<(i64, i64)>,
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
    /// Minute of the newest event time seen (for no-data gap detection).
    newest_minute: Option<i64>,
    /// Recent stream-wide no-data gaps, as inclusive minute ranges, oldest first.
    gaps: VecDeque<(i64, i64)>,
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
            newest_minute: None,
            gaps: VecDeque::new(),
            events: Vec::new(),
            key_terms,
            scratch: Vec::with_capacity(64),
        }
    }

    /// Evaluates every minute that completed before the minute of `watermark` (the newest
    /// event time seen minus the allowed lateness, so that reordering within the lateness
    /// cannot change a decision); `newest` is the newest event time seen (it detects
    /// stream-wide no-data gaps).
    ///
    /// Returns the last minute evaluated (for gauges), if any minute was.
    pub fn advance(&mut self, watermark: EventTime, newest: EventTime) -> Option<i64> {
        if let Some((g0, g1)) = gap_candidate(&mut self.newest_minute, newest.minute_index()) {
            let at = EventTime(g0 * EventTime::MINUTE_MS);
            if is_no_data_gap(self.expected_per_min_by_brand(at), g0, g1) {
                self.open_gap(g0, g1);
            }
        }
        let (minutes, completed) = self.minutes_until(watermark)?;
        for minute in minutes {
            self.evaluate_minute(minute);
        }
        Some(completed)
    }

    /// Moves the minute clock to `watermark` ([`step_minute_clock`]) and returns the minutes
    /// to evaluate with [`Detector::evaluate_minute`], oldest first, with the last completed
    /// minute; `None` when none completed. [`Detector::advance`] is this plus the loop, after
    /// its gap check; an engine shard (`app::shard`), whose gaps are decided over every brand
    /// ([`Detector::open_gap`]), runs the loop itself.
    pub fn minutes_until(&mut self, watermark: EventTime) -> Option<(std::ops::Range<i64>, i64)> {
        let done = self.evaluated_through;
        let completed = step_minute_clock(&mut self.evaluated_through, watermark)?;
        let current = completed + 1;
        let mut from = done
            .map_or(current, |d| d + 1)
            .max(current - MAX_CATCH_UP_MINUTES);
        // Minutes inside a no-data gap are not evaluated (nothing to learn, nothing resolves).
        if let Some(&(g0, g1)) = self.gaps.back() {
            if from >= g0 && from <= g1 {
                from = g1 + 1;
            }
        }
        Some((from..current, completed))
    }

    /// What each brand with state expects per minute at `at`, in brand order (summed in that
    /// order, it decides a no-data gap).
    pub fn expected_per_min_by_brand(
        &self,
        at: EventTime,
    ) -> impl Iterator<Item = (BrandIdx, f64)> + '_ {
        self.brands.iter().enumerate().filter_map(move |(i, st)| {
            let st = st.as_deref()?;
            Some((BrandIdx(i as u32), st.baseline.expected_per_min(at)))
        })
    }

    /// Records the inclusive minute range `[g0, g1]` as a no-data gap: open incidents are
    /// paused across it and no baseline learns its minutes.
    pub fn open_gap(&mut self, g0: i64, g1: i64) {
        let pause = (g1 - g0 + 1) * EventTime::MINUTE_MS;
        for st in self.brands.iter_mut().flatten() {
            for inc in &mut st.incidents {
                inc.last_active = inc.last_active.plus_ms(pause);
                inc.paused_ms = inc.paused_ms.saturating_add(pause);
            }
            st.spike_run = 0;
            st.raw_spike_run = 0;
        }
        if self.gaps.len() >= MAX_GAPS {
            self.gaps.pop_front();
        }
        self.gaps.push_back((g0, g1));
    }

    /// The no-data gaps recorded (inclusive minute ranges, oldest first; the last
    /// `MAX_GAPS`).
    pub fn no_data_gaps(&self) -> impl Iterator<Item = (i64, i64)> + '_ {
        self.gaps.iter().copied()
    }

    /// Whether `minute` lies in a recorded no-data gap.
    fn in_gap(gaps: &VecDeque<(i64, i64)>, minute: i64) -> bool {
        gaps.iter().any(|&(a, b)| minute >= a && minute <= b)
    }

    /// Adds one scored mention to each of its brands; may open a watch incident at once.
    pub fn on_mention(
        &mut self,
        m: &Mention,
        brands: &[BrandIdx],
        root: u64,
        scored: &Scored,
        terms: &TermList,
    ) {
        for &b in brands {
            self.add_to_brand(b, m, root, scored, terms);
        }
    }

    fn add_to_brand(&mut self, b: BrandIdx, m: &Mention, root: u64, s: &Scored, terms: &TermList) {
        let evaluated_through = self.evaluated_through;
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
        // A reaction to a post that praises, with no word of a grievance of its own, is moved,
        // not hurt: "not me sobbing at a brand tweet 😭", "the way i screamed when i saw this"
        // are the story's warmth, and read as negative they would make a heart-warming story a
        // "mostly negative" surge. Its tone is read as neutral (it adds to neither share). A
        // reply with any service, outage, billing, conduct or safety word keeps its tone: a
        // sarcastic post reads as praise too ("thanks X for the lovely surprise of no delivery"),
        // and its replies ("mine's been awful all day") are the complaint.
        if matches!(
            m.kind,
            crate::domain::MentionKind::Reply | crate::domain::MentionKind::Quote
        ) && scored.sentiment == crate::domain::SentimentLabel::Negative
            && !scored.complained
            && scored.risk <= 0.0
            && grievance_score(&scored.category_scores) <= 0.0
            && st.threads.get(root).is_some_and(|t| t.praised())
        {
            scored.sentiment = crate::domain::SentimentLabel::Neutral;
        }
        let in_story = scored.naming == Naming::Thread
            && root != 0
            && st.incidents.iter().any(|i| i.root == root && !i.resolved);
        let groups = groups_of(&scored, in_story);
        st.naming_now
            .add(m.created_at.minute_index(), scored.naming);
        let obs = Observation {
            at: m.created_at,
            kind: m.kind,
            negative: scored.sentiment == crate::domain::SentimentLabel::Negative,
            positive: scored.sentiment == crate::domain::SentimentLabel::Positive,
            reach: m.author.followers,
            author_key: scored.author_key,
            weight: scored.weight,
            groups,
        };
        for (g, _) in groups.iter().enumerate().filter(|(_, &member)| member) {
            st.groups[g].add_evidence(m, &scored, evaluated_through);
        }
        // Older than the fine window (beyond any allowed lateness): evidence only.
        let _too_old = st.window.add(&obs).is_err();
        st.pin_clusters();
        let cluster = st
            .clusterer
            .assign(
                root,
                scored.simhash,
                scored.simhash_words as usize,
                terms.iter(),
                m.created_at,
            )
            .0;
        st.cluster_mut(cluster, m.created_at).add(m, &scored);
        st.threads.observe(root, cluster, m, &scored);
        st.last_mention_minute = st.last_mention_minute.max(m.created_at.minute_index());
        self.active.insert(b.0);

        let risky = f64::from(scored.risk) >= d.single_post_risk
            && m.kind != crate::domain::MentionKind::Repost;
        // A story opened on one post follows its thread, not the cluster the post first
        // joined: on a busy brand the chatter sharing the post's words pushes the post out of
        // that cluster's memory of roots, and the later reactions start a cluster of their
        // own, which the story would never see (its evidence frozen, it resolved while the
        // thread was still doubling).
        let story = (root != 0)
            .then(|| {
                st.incidents
                    .iter()
                    .position(|i| i.root == root && !i.resolved)
            })
            .flatten();
        // A post alleging misconduct or danger on a thread of its own, in other words than
        // another story's, is a story of its own even when the clusterer put it beside that
        // story's posts for a word or two they share: a watch on "the driver waited while i
        // grabbed my bag" must not swallow "the driver grabbed my friend's wrist" (nor the
        // other way round). The same allegation in the same words still joins its story, and
        // a volume or complaint incident still takes such a post in.
        let in_its_words = |i: &Incident| {
            let n = terms.iter().count();
            let shared = terms.iter().filter(|t| i.terms.get(t) > 0).count();
            2 * shared >= n
        };
        let takes = |i: &Incident| i.covers(cluster) && (!risky || i.root == 0 || in_its_words(i));
        if let Some(k) = story.or_else(|| st.incidents.iter().position(takes)) {
            let inc = &mut st.incidents[k];
            if belongs(inc, root, &scored, groups[CONDUCT_GROUP]) {
                inc.evidence.add(m, &scored);
                terms.iter().for_each(|t| inc.terms.add(t));
            }
            return;
        }
        for inc in st.incidents.iter_mut() {
            let take = match inc.scope {
                Scope::Brand => belongs(inc, root, &scored, groups[CONDUCT_GROUP]),
                Scope::Group(g) => groups.get(usize::from(g)).copied().unwrap_or(false),
                Scope::Clusters(_) => false,
            };
            if take {
                inc.evidence.add(m, &scored);
                terms.iter().for_each(|t| inc.terms.add(t));
            }
        }
        if risky {
            let conduct = scored.category_scores[category_slot(Category::Conduct)];
            let safety = scored.category_scores[category_slot(Category::Safety)];
            let category = if safety > conduct {
                Category::Safety
            } else {
                Category::Conduct
            };
            // The story starts with this post alone: the cluster it joined may hold the
            // brand's other chatter on the same words.
            let mut evidence = Evidence::new(m.created_at);
            evidence.add(m, &scored);
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
            inc.root = root;
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

    /// Evaluates every active brand at the end of `minute`, in brand order.
    pub fn evaluate_minute(&mut self, minute: i64) {
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
        let gaps = &self.gaps;
        let Some(st) = self.brands[b.index()].as_deref_mut() else {
            return true;
        };
        let start = EventTime(minute * EventTime::MINUTE_MS);
        let end = EventTime((minute + 1) * EventTime::MINUTE_MS);

        // Baseline catch-up for minutes this brand was not evaluated (idle ⇒ zero counts;
        // no-data gaps are skipped, not learnt as zeros).
        // In its first hours a brand's level is what it is learning, not an anomaly: a brand
        // first seen at 20 mentions a minute is busy, not in crisis, so its baseline learns at
        // the full rate until it has [`COLD_START_MINUTES`] of history (pages are capped
        // meanwhile by `cold_start_cap`).
        let cold = |b: &SeasonalBaseline| b.minutes_observed() < COLD_START_MINUTES;
        let anomalous_now =
            st.spike_run > 0 || st.incidents.iter().any(|i| i.severity >= Severity::Warning);
        let learn_now = learn_rate(anomalous_now && !cold(&st.baseline), st.anomalous_run);
        let from = st
            .baseline_through
            .map_or(minute, |t| t + 1)
            .max(minute - MAX_BASELINE_CATCH_UP);
        for k in (from..minute).filter(|&k| !Self::in_gap(gaps, k)) {
            let at = EventTime(k * EventTime::MINUTE_MS);
            let c = st.pane_weighted(k);
            st.baseline.observe_minute_damped(at, c, learn_now);
            let total = st.pane_weighted(k);
            for g in 0..GROUPS {
                let c = st.pane_group(k, g);
                st.groups[g].learn(k, c, (total - c).max(0.0), 1.0);
            }
        }

        // Volume significance of the last 15 minutes.
        let view = st.window.view(start, 15);
        // Cold after the catch-up: the floor and this minute's learning judge the same history.
        let cold_now = cold(&st.baseline);
        let mut expected = st.baseline.expected_per_min(start);
        if cold_now {
            expected = expected.max(COLD_START_FLOOR_PER_MIN);
        }
        let p = negbin_upper_tail(view.weighted, 15.0 * expected, DISPERSION);
        let spike = p < d.spike_p_value && view.weighted >= f64::from(d.min_mentions);
        st.spike_run = if spike { st.spike_run + 1 } else { 0 };
        // The same test on raw counts: a burst that only the bot discount explains away is
        // still opened (as an info incident, usually spam) so analysts see what was ignored.
        // Only computed when it can decide (the tail is the costliest step of a quiet minute).
        let raw_only = !spike
            && view.mentions >= d.min_mentions
            && negbin_upper_tail(f64::from(view.mentions), 15.0 * expected, DISPERSION)
                < d.spike_p_value;
        st.raw_spike_run = if raw_only { st.raw_spike_run + 1 } else { 0 };
        st.p_value = p;
        let anomalous = spike
            || st
                .incidents
                .iter()
                .any(|i| i.severity >= Severity::Warning && !matches!(i.scope, Scope::Group(_)));
        st.anomalous_run = if anomalous { st.anomalous_run + 1 } else { 0 };
        if st.anomalous_run == PLATEAU_MINUTES {
            // A level shift, not an incident: the last hour's level becomes the baseline.
            st.baseline
                .rebase(st.window.view(start, 60).weighted / 60.0);
        }
        let c = st.pane_weighted(minute);
        st.baseline.observe_minute_damped(
            start,
            c,
            learn_rate(anomalous && !cold_now, st.anomalous_run),
        );
        if !anomalous {
            // Summed, not averaged, shares: busy minutes weigh more.
            let keep = 1.0 - USUAL_STEP;
            if let Some(p) = st.window.pane(start) {
                st.usual_negative = keep * st.usual_negative + f64::from(p.negative);
                st.usual_mentions = keep * st.usual_mentions + f64::from(p.mentions);
            }
            // How the brand is usually named, learnt outside anomalies too (an ordinary-word
            // surge must not teach the brand that it is usually the word).
            let (named, plain) = st.naming_now.at(minute);
            st.usual_named = keep * st.usual_named + f64::from(named);
            st.usual_plain = keep * st.usual_plain + f64::from(plain);
        }
        st.baseline_through = Some(minute);

        // Each category group's complaint stream: a Poisson CUSUM against its own baseline.
        let total_5: f64 = (minute - 4..=minute).map(|k| st.pane_weighted(k)).sum();
        // The reactions of an open story about one post (a risky post's thread) are that
        // story, not the brand being busier: a misconduct thread running at twice a busy
        // brand's rate must not double what its complaint streams expect, or an outage that
        // starts beside it hides behind it.
        let stories_5 = st.story_reactions(minute, 5);
        let total_now = st.pane_weighted(minute);
        for g in 0..GROUPS {
            let c = st.pane_group(minute, g);
            let group_5: f64 = (minute - 4..=minute).map(|k| st.pane_group(k, g)).sum();
            let open = st.incidents.iter().any(|i| {
                i.scope.story_group() == Some(story_group(g)) && i.severity >= Severity::Warning
            });
            let gs = &mut st.groups[g];
            // Expected complaints: the group's baseline, times how much busier the brand's
            // other mentions (everything but this group's complaints, over the last 5
            // minutes) are than their own baseline when they are (a weekend, a launch): the
            // test is on complaints rising beyond what the brand's own volume explains. The
            // complaints themselves never raise their own expectation, or a surge that is most
            // of the new volume hides (a slow burn whose complaints rise 15x while the total
            // doubles). Both levels come from the same guard band, so a brand that is busier
            // at an hour it has not seen yet (its first Saturday) holds its complaints to that.
            // The ratio is not shrunk towards 1 on quiet brands: measured on the tuning pool,
            // shrinking it by 5 pseudo-mentions paged on everyday background complaints (8
            // false pages in 1,913 brand-days, none without), its tolerance for chance being
            // what the estimated baselines' own error needs.
            let mu_group = gs.usual_per_min(start);
            let others_expected = gs.others.expected_per_min(start).max(GROUP_FLOOR_PER_MIN);
            let others_now = (total_5 - group_5 - stories_5).max(0.0);
            let busier = (others_now / (5.0 * others_expected)).max(1.0);
            let mu = mu_group * busier;
            let llr = |ratio: f64| c * ratio.ln() - mu * (ratio - 1.0);
            // A stream with less than [`COLD_START_MINUTES`] of history is still learning its
            // own level (a brand whose chatter is a third complaints is not a surge): it
            // accumulates no evidence yet, as the volume test floors its expectation then.
            let learning = gs.baseline.minutes_observed() < COLD_START_MINUTES;
            let step = |stat: f64, ratio: f64| {
                if learning {
                    0.0
                } else {
                    // Capped at twice the threshold, so that an alarm ends soon after the surge does.
                    (stat + llr(ratio)).clamp(0.0, 2.0 * cusum_threshold(g))
                }
            };
            gs.cusum_sharp = step(gs.cusum_sharp, CUSUM_RATIO);
            gs.cusum_slow = step(gs.cusum_slow, CUSUM_SLOW_RATIO);
            // The steep CUSUM watches service complaints only: anger at a bill or an outage
            // borrows conduct words ("scam", "thieves"), and a steep rise of those is the
            // service story's echo, not a conduct story of its own (conduct stories have the
            // risky post's and the thread's paths).
            if g != CONDUCT_GROUP {
                gs.cusum_steep = step(gs.cusum_steep, CUSUM_STEEP_RATIO);
            }
            let anomalous = gs.alarmed(g) || open;
            gs.anomalous_run = if anomalous { gs.anomalous_run + 1 } else { 0 };
            if gs.anomalous_run == PLATEAU_MINUTES {
                // The last hour's complaints (summed only here: a quiet minute needs none).
                let hour: f64 = (minute - 59..=minute).map(|k| st.pane_group(k, g)).sum();
                let gs = &mut st.groups[g];
                gs.baseline.rebase(hour / 60.0);
                gs.reset_cusum();
            }
            let gs = &mut st.groups[g];
            let learn = learn_rate(anomalous, gs.anomalous_run);
            gs.learn(minute, c, (total_now - c).max(0.0), learn);
            // The stream's evidence is its rise: once every CUSUM is back at zero (nothing
            // accumulated against the usual level, as on an everyday complaint background),
            // the complaints so far are not evidence of the next surge. Decided here, at the
            // evaluated minute, on complaints of that minute and older only.
            gs.settle_through(minute);
            if gs.cusum() <= 0.0 && !open {
                gs.evidence = None;
            }
        }

        // Re-grade open incidents.
        let resolve_after = cfg.detect.resolve_after.as_millis_i64();
        let history = st.baseline.minutes_observed();
        let mut i = 0;
        while i < st.incidents.len() {
            // A watch opened on a post newer than this minute is not judged yet: its first
            // grade comes once the watermark reaches it, so no step is stamped before its
            // trigger.
            if st.incidents[i].opened_at > end {
                i += 1;
                continue;
            }
            let signals = incident_signals(&st.incidents[i], st, minute, expected);
            let inc = &st.incidents[i];
            let fallback = inc.category;
            // An info incident may still change category once it has enough evidence; a
            // watch opened on one risky post keeps its category until then, and a story whose
            // post alleges misconduct or danger keeps it whatever its reactions sound like.
            let settled = inc.evidence.mentions >= u64::from(d.min_mentions);
            let risky = risky_story(inc.category, f64::from(inc.evidence.max_risk), d) || inc.story;
            let category = if inc.severity == Severity::Info && settled && !risky {
                choose_category(&signals, fallback)
            } else {
                inc.category
            };
            let route = cfg.routing.route(category);
            let mut target = grade(category, &signals, d).min(route.max_severity);
            let cold = cold_start_cap(history, signals.complaint_share);
            if let (Some(cap), false) = (cold, risky) {
                target = target.min(cap);
            }
            let active = incident_active(inc, &signals, st.p_value);
            let inc = &mut st.incidents[i];
            inc.category = category;
            inc.peak_15 = inc.peak_15.max(signals.mentions_15);
            if let Some(action) = inc.step(end, target, active, resolve_after) {
                let ev = incident_event(&cfg, d, &*self.key_terms, inc, action, end, &signals);
                self.events.push(ev);
                if action == Action::Resolve {
                    let reached_page = inc.severity >= Severity::Warning;
                    // The story is over: the evidence the complaint streams piled up while
                    // it was open is spent with it, or a CUSUM (decaying by its small
                    // expectation a minute) would open a new incident on no complaints once
                    // the cool-down ends.
                    // Every stream's: a conduct stream held back as part of a service story
                    // belongs to that story too. (Resetting only the conduct stream's at the
                    // end of a story about one post slowed the scenario suite's slow burn and
                    // sarcasm wave, evaluation.md, eighth round.)
                    st.groups.iter_mut().for_each(GroupStream::reset_cusum);
                    st.incidents.remove(i);
                    if reached_page {
                        st.quiet_until = end.plus_ms(cfg.detect.cooldown.as_millis_i64());
                    }
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
        for g in 0..GROUPS {
            self.open_group_incident(b, g, minute, expected);
        }
        self.open_thread_stories(b, minute, expected);

        let st = match self.brands[b.index()].as_deref_mut() {
            Some(st) => st,
            None => return true,
        };
        st.pin_clusters();
        st.clusterer.expire(start.plus_ms(-resolve_after));
        let cutoff = start.plus_ms(-resolve_after);
        let incidents = &st.incidents;
        st.clusters
            .retain(|c| c.evidence.last_at >= cutoff || incidents.iter().any(|i| i.covers(c.id)));
        st.incidents.is_empty() && minute - st.last_mention_minute > IDLE_MINUTES
    }

    /// Opens an incident on category group `g`'s complaints when its CUSUM is over threshold
    /// and no open incident already tells that story (a brand-wide one for service
    /// complaints, a conduct or safety one for conduct complaints).
    fn open_group_incident(&mut self, b: BrandIdx, g: usize, minute: i64, expected: f64) {
        let cfg = Arc::clone(&self.cfg);
        let detect = Arc::clone(&self.detect);
        let d = &detect[profile_slot(cfg.brand(b).profile)];
        let Some(st) = self.brands[b.index()].as_deref_mut() else {
            return;
        };
        let at = EventTime((minute + 1) * EventTime::MINUTE_MS);
        if !st.groups[g].alarmed(g) || at < st.quiet_until {
            return;
        }
        let told = st.incidents.iter().any(|i| tells_group(i, story_group(g)));
        if told {
            return;
        }
        if g == CONDUCT_GROUP && st.conduct_is_part_of_a_service_story(minute) {
            return;
        }
        // The statistic remembers; the incident needs complaints now (an alarm left over
        // from a story that has ended opens nothing).
        let recent = st.group_recent_15(minute, g);
        let start = EventTime(minute * EventTime::MINUTE_MS);
        if !st.groups[g].still_coming(recent, start) {
            return;
        }
        // Outage reports that are a small part of a much larger rise of the brand's volume (a
        // launch's crowd, a viral post's) are that rise's echo, not an outage: an outage's rise
        // is mostly its reports (and "is it down?" questions, the rest of it).
        // The reactions of an open story about one post are that story, not the brand's rise
        // (an outage beside a misconduct story is still an outage).
        if g == OUTAGE_GROUP {
            let rise = st.window.view(start, 15).weighted
                - 15.0 * expected
                - st.story_reactions(minute, 15);
            if recent < OUTAGE_SHARE_OF_RISE * rise {
                return;
            }
        }
        let Some(evidence) = st.groups[g].evidence_so_far() else {
            return;
        };
        let members: &[Category] = match g {
            SERVICE_GROUP => &[Category::Outage, Category::Billing, Category::Service],
            OUTAGE_GROUP => &[Category::Outage],
            _ => &[Category::Conduct, Category::Safety],
        };
        let category = evidence.leading_category(members).unwrap_or(members[0]);
        let inc = Incident::open(
            String::new(),
            b,
            Scope::Group(g as u8),
            category,
            Severity::Info,
            at,
            evidence,
        );
        trigger_graded(
            &cfg,
            d,
            &*self.key_terms,
            &mut self.events,
            st,
            inc,
            minute,
            expected,
        );
    }

    /// A thread that grew into a story about conduct or danger (`detect::threads`) and that no
    /// incident follows yet becomes one, graded on its own growth as a risky post's story is:
    /// the brand's open conduct/safety incident that no thread owns takes it over (the same
    /// story, found by volume or by its complaint stream, then judged on diluted evidence),
    /// else a new incident opens on the thread's cluster. Like a risky post's watch, it is not
    /// held back by a cool-down.
    fn open_thread_stories(&mut self, b: BrandIdx, minute: i64, expected: f64) {
        let cfg = Arc::clone(&self.cfg);
        let detect = Arc::clone(&self.detect);
        let d = &detect[profile_slot(cfg.brand(b).profile)];
        let Some(st) = self.brands[b.index()].as_deref_mut() else {
            return;
        };
        // Told once: an incident follows each now (or did, and resolved).
        let stories = st.threads.take_stories(minute);
        let at = EventTime((minute + 1) * EventTime::MINUTE_MS);
        for (root, cluster, evidence) in stories {
            let Some(evidence) = evidence.filter(|_| !st.incidents.iter().any(|i| i.root == root))
            else {
                continue;
            };
            if let Some(inc) = st
                .incidents
                .iter_mut()
                .find(|i| i.root == 0 && group_of(i.category) == Some(1))
            {
                // From now on its evidence is the thread's (its top posts the story's own,
                // not the brand's chatter it was first found among), judged on its own peak.
                inc.root = root;
                inc.story = true;
                inc.scope = Scope::Clusters(vec![cluster]);
                inc.evidence = evidence;
                inc.peak_15 = 0.0;
                continue;
            }
            let category = evidence
                .leading_category(&[Category::Conduct, Category::Safety])
                .unwrap_or(Category::Conduct);
            let mut inc = Incident::open(
                String::new(),
                b,
                Scope::Clusters(vec![cluster]),
                category,
                Severity::Info,
                at,
                evidence,
            );
            inc.root = root;
            inc.story = true;
            trigger_graded(
                &cfg,
                d,
                &*self.key_terms,
                &mut self.events,
                st,
                inc,
                minute,
                expected,
            );
        }
    }

    fn open_volume_incident(&mut self, b: BrandIdx, minute: i64, expected: f64, spike: u32) {
        let cfg = Arc::clone(&self.cfg);
        let detect = Arc::clone(&self.detect);
        let d = &detect[profile_slot(cfg.brand(b).profile)];
        let Some(st) = self.brands[b.index()].as_deref_mut() else {
            return;
        };
        let spike = f64::from(spike.max(1));
        // Complaint-stream incidents do not count as covering a volume spike: a spike of
        // their group widens them below.
        let covered: f64 = st
            .incidents
            .iter()
            .filter(|i| !matches!(i.scope, Scope::Group(_)))
            .map(|i| i.evidence.recent(minute, 15) as f64)
            .sum();
        let brand_wide = st.incidents.iter().any(|i| i.scope == Scope::Brand);
        if covered >= 0.5 * spike || brand_wide {
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
        if let Some(g) = group_of(category) {
            // A complaint-stream incident of the same group already tells this story: a
            // diffuse spike widens it to the brand-wide story (its evidence then every mention
            // of the spike, complaints included).
            if let Some(same) = st
                .incidents
                .iter_mut()
                .find(|i| i.scope.story_group() == Some(g))
            {
                if inc.scope == Scope::Brand {
                    same.scope = Scope::Brand;
                    same.evidence = inc.evidence;
                }
                return;
            }
            // So does a volume incident of the same group (not a risky post's story): it
            // widens to the new clusters instead of a second incident for one story.
            if let Some(same) = st
                .incidents
                .iter_mut()
                .find(|i| i.root == 0 && group_of(i.category) == Some(g))
            {
                same.evidence.merge(&inc.evidence);
                same.scope = match (&same.scope, inc.scope) {
                    (Scope::Clusters(a), Scope::Clusters(b)) => {
                        Scope::Clusters(a.iter().chain(&b).copied().collect())
                    }
                    _ => Scope::Brand,
                };
                return;
            }
        }
        let route = cfg.routing.route(category);
        inc.category = category;
        inc.severity = grade(category, &signals, d).min(route.max_severity);
        let risky = risky_story(category, f64::from(inc.evidence.max_risk), d);
        let cold = cold_start_cap(st.baseline.minutes_observed(), signals.complaint_share);
        if let (Some(cap), false) = (cold, risky) {
            inc.severity = inc.severity.min(cap);
        }
        trigger(
            &cfg,
            d,
            &*self.key_terms,
            &mut self.events,
            st,
            inc,
            at,
            &signals,
        );
    }

    /// Everything learned so far (baselines, windows, clusters, open incidents), for a
    /// checkpoint. Pending alerts are not part of it: drain them first.
    pub(crate) fn state(&self) -> DetectorStateRef<'_> {
        DetectorStateRef {
            brands: &self.brands,
            active: &self.active,
            evaluated_through: self.evaluated_through,
            newest_minute: self.newest_minute,
            gaps: &self.gaps,
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
        self.newest_minute = state.newest_minute;
        self.gaps = state.gaps;
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

/// The minute clock of [`Detector::advance`]: given the last minute evaluated and the
/// watermark, moves it to the minute before the watermark's. Returns that minute when minutes
/// completed (to be evaluated); `None` when nothing completed, or on the first call, which
/// only starts the clock. A front that drives detectors on other threads runs the same clock
/// to know when they evaluate.
pub fn step_minute_clock(evaluated_through: &mut Option<i64>, watermark: EventTime) -> Option<i64> {
    let completed = watermark.minute_index() - 1;
    let Some(done) = *evaluated_through else {
        *evaluated_through = Some(completed);
        return None;
    };
    if completed <= done {
        return None;
    }
    *evaluated_through = Some(completed);
    Some(completed)
}

/// Records `minute` as the newest seen; a jump of at least [`GAP_MINUTES`] returns the
/// minutes it skipped (inclusive), a candidate no-data gap for [`is_no_data_gap`].
pub fn gap_candidate(newest_minute: &mut Option<i64>, minute: i64) -> Option<(i64, i64)> {
    let Some(prev) = *newest_minute else {
        *newest_minute = Some(minute);
        return None;
    };
    if minute <= prev {
        return None;
    }
    *newest_minute = Some(minute);
    let (g0, g1) = (prev + 1, minute - 1);
    (g1 - g0 + 1 >= GAP_MINUTES).then_some((g0, g1))
}

/// Whether a candidate gap `[g0, g1]` is a no-data gap: the brands expected more than
/// [`GAP_EXPECTED_MENTIONS`] mentions in it. `by_brand` is every brand's expectation per minute
/// ([`Detector::expected_per_min_by_brand`]), in brand order: summed in that order, one
/// detector and the shards of one (`app::shard`) decide alike to the bit.
pub fn is_no_data_gap(
    by_brand: impl IntoIterator<Item = (BrandIdx, f64)>,
    g0: i64,
    g1: i64,
) -> bool {
    let expected_per_min: f64 = by_brand.into_iter().map(|(_, e)| e).sum();
    expected_per_min * (g1 - g0 + 1) as f64 > GAP_EXPECTED_MENTIONS
}

fn profile_slot(p: Profile) -> usize {
    match p {
        Profile::Fewer => 0,
        Profile::Balanced => 1,
        Profile::More => 2,
    }
}

/// Opens `inc` (a volume or complaint-stream incident, graded already): caps it at warning
/// during the brand's first day, gives it its id and emits its trigger.
#[allow(clippy::too_many_arguments)]
fn trigger(
    cfg: &Config,
    d: &DetectConfig,
    key_terms: &dyn KeyTerms,
    events: &mut Vec<IncidentEvent>,
    st: &mut BrandState,
    mut inc: Incident,
    at: EventTime,
    signals: &Signals,
) {
    if st.baseline.minutes_observed() < COLD_START_DAY_MINUTES {
        inc.severity = inc.severity.min(Severity::Warning);
    }
    inc.id = st.ids.next_id(cfg.brand(inc.brand).id.as_str(), at);
    events.push(incident_event(
        cfg,
        d,
        key_terms,
        &mut inc,
        Action::Trigger,
        at,
        signals,
    ));
    st.incidents.push(inc);
}

/// Grades `inc` (opened at the end of `minute`) on its signals, capped by its category's
/// route, and opens it ([`trigger`]).
#[allow(clippy::too_many_arguments)]
fn trigger_graded(
    cfg: &Config,
    d: &DetectConfig,
    key_terms: &dyn KeyTerms,
    events: &mut Vec<IncidentEvent>,
    st: &mut BrandState,
    mut inc: Incident,
    minute: i64,
    expected: f64,
) {
    let at = EventTime((minute + 1) * EventTime::MINUTE_MS);
    let signals = incident_signals(&inc, st, minute, expected);
    let route = cfg.routing.route(inc.category);
    inc.severity = grade(inc.category, &signals, d).min(route.max_severity);
    trigger(cfg, d, key_terms, events, st, inc, at, &signals);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cold_start_caps_volume_pages_by_the_brands_history() {
        let six_hours = COLD_START_MINUTES;
        let day = COLD_START_DAY_MINUTES;
        // First six hours: ordinary traffic against a prior is not a page...
        assert_eq!(cold_start_cap(0, 0.2), Some(Severity::Info));
        assert_eq!(cold_start_cap(six_hours - 1, 0.49), Some(Severity::Info));
        // ... nor is a brand whose everyday talk is mostly complaints ...
        assert_eq!(cold_start_cap(10, 0.7), Some(Severity::Info));
        // ... but a new brand's outage (nearly all its posts state one) pages at warning.
        assert_eq!(cold_start_cap(10, 0.75), Some(Severity::Warning));
        // The rest of the first day: warning at most; then no cap.
        assert_eq!(cold_start_cap(six_hours, 0.0), Some(Severity::Warning));
        assert_eq!(cold_start_cap(day - 1, 1.0), Some(Severity::Warning));
        assert_eq!(cold_start_cap(day, 0.0), None);
    }
}
