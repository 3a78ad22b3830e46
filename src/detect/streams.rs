//! A brand's complaint streams: one per category group ([`GROUPS`]: outage, billing and
//! service complaints; conduct and safety; the outage reports among the service complaints),
//! each with its own seasonal baseline, learnt behind a guard band, and three Poisson CUSUMs
//! for a sustained rise (see `detector`'s module docs for how they page and the false-alarm
//! budget they share).
//!
//! Role: say which streams a scored mention belongs to ([`groups_of`]) and keep each stream's
//! baseline, statistics and evidence ([`GroupStream`]). The per-minute step (the expectation
//! from how much busier the brand's other mentions are, the CUSUM update, opening and grading
//! an incident) stays in `detector`, which owns the brand's state.

use super::baseline::{SeasonalBaseline, COLD_START_FLOOR_PER_MIN, COLD_START_PRIOR_MINUTES};
use super::evidence::Evidence;
use super::grade::GroupSignal;
use super::lifecycle::Incident;
use super::window::{CONDUCT_GROUP, GROUPS};
use crate::domain::scored::{
    category_slot, service_score, Naming, Scored, COMPLAINT_SCORE, TONED_COMPLAINT_SCORE,
};
use crate::domain::{Category, EventTime, Mention, SentimentLabel};

/// The CUSUM of a group stream tests its rate against `CUSUM_RATIO` times its baseline.
pub const CUSUM_RATIO: f64 = 3.0;
/// A second CUSUM of each group stream tests for a smaller rise, `CUSUM_SLOW_RATIO` times the
/// baseline: it accumulates from about 1.2x instead of 1.8x, so a rise that builds over hours
/// (complaints doubling every hour) is seen while it is still small on a busy brand.
pub const CUSUM_SLOW_RATIO: f64 = 1.5;
/// A third CUSUM tests for a steep rise, `CUSUM_STEEP_RATIO` times the baseline: each
/// complaint weighs ln 5 = 1.6 instead of ln 3 = 1.1, so a quiet stream (a complaint an hour)
/// whose complaints climb tenfold crosses the threshold on a handful of them instead of the
/// dozen the 3x CUSUM needs against its own drift.
/// Service complaints only (see where it is stepped).
pub const CUSUM_STEEP_RATIO: f64 = 5.0;
/// CUSUM alarm threshold of the conduct/safety stream, shared by its CUSUMs:
/// `ln(3 · 1440 / 0.005)` (see the module docs).
pub const CUSUM_THRESHOLD: f64 = 13.67;
/// CUSUM alarm threshold of the service and the outage streams, which share the service
/// complaints' budget of 0.005 false alarms per brand-day: `ln(2 · 3 · 1440 / 0.005)`.
pub const SERVICE_CUSUM_THRESHOLD: f64 = 14.36;

/// The alarm threshold of group `g`'s CUSUMs.
pub fn cusum_threshold(g: usize) -> f64 {
    if g == CONDUCT_GROUP {
        CUSUM_THRESHOLD
    } else {
        SERVICE_CUSUM_THRESHOLD
    }
}
/// Smallest baseline of a group stream (one complaint every 50 minutes), and its cold-start
/// prior (worth an hour).
pub(super) const GROUP_FLOOR_PER_MIN: f64 = 0.02;
pub(super) const GROUP_PRIOR_PER_MIN: f64 = 0.05;
/// Risk from which a service complaint that also uses conduct or safety words counts in the
/// conduct/safety stream too: the triage's "harm" level (a gas leak, a fire, an injury) or a
/// staff noun beside misconduct (models/categories `[risk]`).
pub(super) const CONDUCT_BESIDE_SERVICE_RISK: f32 = 0.45;

/// The outage score (one weak phrase: 0.26) from which a service complaint also counts in the
/// outage stream ([`OUTAGE_GROUP`](super::window::OUTAGE_GROUP)) when no bill or service failure is named more strongly.
pub(super) const OUTAGE_KIND_SCORE: f32 = 0.25;
/// Smallest share of the brand's rise over its usual volume (the last 15 minutes) that outage
/// reports must be for the outage stream to open an incident.
pub(super) const OUTAGE_SHARE_OF_RISE: f64 = 0.2;
/// Fewest complaints of a group in the last 15 minutes for its CUSUM alarm to open an incident.
pub(super) const GROUP_OPEN_MIN_RECENT: f64 = 3.0;
/// A category group's evidence restarts after this long without a complaint of the group.
pub(super) const GROUP_EVIDENCE_IDLE_MS: i64 = 60 * EventTime::MINUTE_MS;
/// A complaint stream's baseline learns each minute this long after it happened (a guard band,
/// as in public-health surveillance): a rise that builds over hours is tested against what
/// was normal before it, not against a level that has been following it up.
pub const GROUP_LEARN_LAG_MINUTES: i64 = 120;
/// Until its baseline has this much history (a brand's first day) a complaint stream learns
/// each minute at once: a new brand's own complaint level is learnt before it can page.
pub(super) const GROUP_LAG_AFTER_MINUTES: u32 = 1440;

/// One category group's complaint stream of a brand (see the module docs).
#[derive(serde::Serialize, serde::Deserialize)]
pub(super) struct GroupStream {
    pub(super) baseline: SeasonalBaseline,
    /// The brand's other mentions (everything but this group's complaints), learnt with the
    /// same guard band: what "the brand is busier than usual" is measured against.
    pub(super) others: SeasonalBaseline,
    /// The CUSUM against [`CUSUM_RATIO`] and the one against [`CUSUM_SLOW_RATIO`] (all three
    /// share their group's [`cusum_threshold`]; [`GroupStream::cusum`] is the largest).
    pub(super) cusum_sharp: f64,
    pub(super) cusum_slow: f64,
    /// The CUSUM against [`CUSUM_STEEP_RATIO`].
    pub(super) cusum_steep: f64,
    pub(super) anomalous_run: u32,
    /// The group's complaints of the minutes evaluated so far, since the stream's CUSUMs were
    /// last all at zero (its rise, not its whole history: an outage beside a steady complaint
    /// background counts the outage) or since [`GROUP_EVIDENCE_IDLE_MS`] without one.
    pub(super) evidence: Option<Evidence>,
    /// Complaints of minutes not evaluated yet (newer than the last evaluated minute), one
    /// evidence per minute, oldest first; folded into `evidence` as their minutes are
    /// evaluated. Held apart so that the restart, decided at an evaluated minute, takes
    /// exactly that minute's complaints and older, whatever order they arrived in. Bounded:
    /// only minutes between the last evaluated one and the newest event time, i.e. the allowed
    /// lateness plus at most `max_future_skew` (the event-time guard drops mentions further
    /// ahead).
    pub(super) ahead: Vec<(i64, Evidence)>,
    /// Complaint and other counts of the minutes not learnt yet, by minute mod
    /// [`GROUP_LEARN_LAG_MINUTES`] (NaN: nothing to learn for that minute), the newest being
    /// `pending_through`.
    pub(super) pending: Vec<[f32; 2]>,
    pub(super) pending_through: i64,
}

impl GroupStream {
    pub(super) fn new() -> GroupStream {
        GroupStream {
            baseline: SeasonalBaseline::with_prior(GROUP_PRIOR_PER_MIN, COLD_START_PRIOR_MINUTES),
            others: SeasonalBaseline::with_prior(
                COLD_START_FLOOR_PER_MIN,
                COLD_START_PRIOR_MINUTES,
            ),
            cusum_sharp: 0.0,
            cusum_slow: 0.0,
            cusum_steep: 0.0,
            anomalous_run: 0,
            evidence: None,
            ahead: Vec::new(),
            pending: Vec::new(),
            pending_through: i64::MIN,
        }
    }

    /// The stream's alarm statistic: the largest of its three CUSUMs.
    pub(super) fn cusum(&self) -> f64 {
        self.cusum_sharp.max(self.cusum_slow).max(self.cusum_steep)
    }

    /// Whether the statistic of this stream, group `g`'s, is at or over its threshold.
    pub(super) fn alarmed(&self, g: usize) -> bool {
        self.cusum() >= cusum_threshold(g)
    }

    /// Whether complaints still come: `recent` in the last 15 minutes are at least
    /// [`GROUP_OPEN_MIN_RECENT`] and above the slow CUSUM's ratio of the usual level at `at`.
    /// The statistic remembers a surge for an hour or more after its last complaint on a quiet
    /// stream; an alarm opens an incident, or grades one, only while this holds.
    pub(super) fn still_coming(&self, recent: f64, at: EventTime) -> bool {
        recent >= GROUP_OPEN_MIN_RECENT.max(15.0 * CUSUM_SLOW_RATIO * self.usual_per_min(at))
    }

    /// This stream's (group `g`'s) numbers at `at` for grading, with `recent` complaints in
    /// the last 15 minutes: its rate, usual level, statistic, and whether it is alarmed while
    /// complaints still come.
    pub(super) fn signal(&self, g: usize, recent: f64, at: EventTime) -> GroupSignal {
        GroupSignal {
            rate_per_min: recent / 15.0,
            baseline_per_min: self.usual_per_min(at),
            cusum: self.cusum(),
            threshold: cusum_threshold(g),
            alarm: self.alarmed(g) && self.still_coming(recent, at),
            outage: g == super::window::OUTAGE_GROUP,
        }
    }

    /// The complaints a minute the stream usually has at `at` (its seasonal baseline, never
    /// below [`GROUP_FLOOR_PER_MIN`]).
    pub(super) fn usual_per_min(&self, at: EventTime) -> f64 {
        self.baseline.expected_per_min(at).max(GROUP_FLOOR_PER_MIN)
    }

    /// Adds one complaint of the group; `evaluated_through` is the detector's last evaluated
    /// minute (see `ahead`).
    pub(super) fn add_evidence(&mut self, m: &Mention, s: &Scored, evaluated_through: Option<i64>) {
        let minute = m.created_at.minute_index();
        if evaluated_through.is_some_and(|e| minute > e) {
            let pos = self.ahead.partition_point(|(k, _)| *k < minute);
            match self.ahead.get_mut(pos) {
                Some((k, ev)) if *k == minute => ev.add(m, s),
                _ => {
                    let mut ev = Evidence::new(m.created_at);
                    ev.add(m, s);
                    self.ahead.insert(pos, (minute, ev));
                }
            }
            return;
        }
        // A group's evidence restarts after an hour without complaints of that group, so it
        // holds the complaints of the current surge, not of last week.
        let ev = &mut self.evidence;
        if ev
            .as_ref()
            .is_some_and(|e| e.last_at.plus_ms(GROUP_EVIDENCE_IDLE_MS) < m.created_at)
        {
            *ev = None;
        }
        ev.get_or_insert_with(|| Evidence::new(m.created_at))
            .add(m, s);
    }

    /// Folds the complaints of minutes up to `minute` into the evaluated evidence.
    pub(super) fn settle_through(&mut self, minute: i64) {
        let n = self.ahead.partition_point(|(k, _)| *k <= minute);
        for (_, ev) in self.ahead.drain(..n) {
            match &mut self.evidence {
                Some(e) if e.last_at.plus_ms(GROUP_EVIDENCE_IDLE_MS) >= ev.first_at => e.merge(&ev),
                slot => *slot = Some(ev),
            }
        }
    }

    /// Every complaint taken so far: the evaluated evidence and the minutes ahead of it.
    pub(super) fn evidence_so_far(&self) -> Option<Evidence> {
        let mut all = self.evidence.clone();
        for (_, ev) in &self.ahead {
            match &mut all {
                Some(e) => e.merge(ev),
                None => all = Some(ev.clone()),
            }
        }
        all
    }

    /// Forgets the evidence of all three CUSUMs.
    pub(super) fn reset_cusum(&mut self) {
        self.cusum_sharp = 0.0;
        self.cusum_slow = 0.0;
        self.cusum_steep = 0.0;
    }

    /// Learns minute `minute`'s complaint count `count` and other mentions `others`
    /// ([`GROUP_LEARN_LAG_MINUTES`] later once the stream is past its first day): the minute
    /// that falls out of the guard band is learnt at `learn` of the normal step.
    pub(super) fn learn(&mut self, minute: i64, count: f64, others: f64, learn: f64) {
        const LAG: i64 = GROUP_LEARN_LAG_MINUTES;
        if self.baseline.minutes_observed() < GROUP_LAG_AFTER_MINUTES {
            let at = EventTime(minute * EventTime::MINUTE_MS);
            self.baseline.observe_minute_damped(at, count, learn);
            self.others.observe_minute_damped(at, others, learn);
            return;
        }
        if self.pending.len() != LAG as usize {
            self.pending = vec![[f32::NAN; 2]; LAG as usize];
        }
        // Minutes skipped since the last one written (no-data gaps) hold nothing to learn.
        let skipped = (minute - 1).saturating_sub(self.pending_through).min(LAG);
        for k in minute - skipped..minute {
            self.pending[k.rem_euclid(LAG) as usize] = [f32::NAN; 2];
        }
        let slot = &mut self.pending[minute.rem_euclid(LAG) as usize];
        let [c, o] = std::mem::replace(slot, [count as f32, others as f32]);
        let at = EventTime((minute - LAG) * EventTime::MINUTE_MS);
        if c.is_nan() {
            // Nothing to learn for the minute leaving the band (a no-data gap, or a first-day
            // minute learnt at once): it still counts as observed time.
            self.baseline.observe_minute_damped(at, 0.0, 0.0);
            self.others.observe_minute_damped(at, 0.0, 0.0);
        } else {
            self.baseline.observe_minute_damped(at, f64::from(c), learn);
            self.others.observe_minute_damped(at, f64::from(o), learn);
        }
        self.pending_through = minute;
    }
}

/// Whether incident `i` tells the story of category group `g` (0 or 1): a complaint-stream
/// incident of that story, or any incident of one of the group's categories.
pub(super) fn tells_group(i: &Incident, g: usize) -> bool {
    i.scope.story_group() == Some(g) || group_of(i.category) == Some(g)
}

/// The category group of a category, if it has one.
pub(super) fn group_of(c: Category) -> Option<usize> {
    match c {
        Category::Outage | Category::Billing | Category::Service => Some(0),
        Category::Conduct | Category::Safety => Some(1),
        _ => None,
    }
}

/// Whether a mention states a complaint of each category group. `in_story`: the mention is a
/// reply that names no brand, in the thread of a post an open incident was opened on (a risky
/// post's watch, or a thread grown into a story); such a reply still counts as negative and
/// as stated in that incident's own evidence, only not in the service complaint stream.
pub(super) fn groups_of(s: &Scored, in_story: bool) -> [bool; GROUPS] {
    let scores = &s.category_scores;
    let any = |cs: &[Category]| {
        cs.iter()
            .any(|&c| scores[category_slot(c)] >= COMPLAINT_SCORE)
    };
    let service_score = service_score(scores);
    // A complaint needs one strong phrase, the complaint model, or a medium phrase ("froze",
    // "pending", "cut off") said in a negative tone by a post that names the brand itself: the
    // tone is the second piece of evidence that wording the lexicon only half knows is a
    // grievance. A reply that names no brand ("awful. did they send someone else?") takes its
    // meaning from the thread it answers, not from the brand's service.
    let toned = service_score >= TONED_COMPLAINT_SCORE
        && s.sentiment == SentimentLabel::Negative
        && s.naming != Naming::Thread;
    // The complaint model reads one text; a reply in a misconduct story's thread ("no way. is
    // he still there?", "wtf, I'd want my money back") is a reaction to the story, not a
    // service failure of its own, however grievous it sounds: it counts as one only in the
    // lexicon's plain service words.
    let service = (s.complained && !in_story) || service_score >= COMPLAINT_SCORE || toned;
    // A service complaint in alarmed words ("no power all night, this is dangerous") is a
    // service complaint; it speaks of conduct or danger only with the risk triage's weight of
    // harm or of staff behaving badly behind it.
    let conduct = any(&[Category::Conduct, Category::Safety])
        && (!service || s.risk >= CONDUCT_BESIDE_SERVICE_RISK);
    // An outage report: a service complaint whose words name an outage ("is it down?",
    // "nothing loads") at least as strongly as a bill or a service failure. A post that names
    // the brand only as an ordinary word needs a plain outage phrase: a weak one ("freezing",
    // "came down") in "long walk on the pebble beach, freezing" is the word's other meaning as
    // often as the brand's, and the outage stream, whose usual level is low, is the sensitive one.
    let outage_score = scores[category_slot(Category::Outage)];
    let kind_score = if s.naming == Naming::Plain {
        COMPLAINT_SCORE
    } else {
        OUTAGE_KIND_SCORE
    };
    let outage = service
        && outage_score >= kind_score
        && outage_score >= scores[category_slot(Category::Billing)]
        && outage_score >= scores[category_slot(Category::Service)];
    [service, conduct, outage]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::window::{OUTAGE_GROUP, SERVICE_GROUP};

    const MIN: i64 = EventTime::MINUTE_MS;

    /// A mention with one service-group score (`outage`), the given tone and naming.
    fn toned(outage: f32, sentiment: SentimentLabel, naming: Naming) -> Scored {
        let mut category_scores = [0.0; 8];
        category_scores[category_slot(Category::Outage)] = outage;
        Scored {
            sentiment,
            category_scores,
            risk: 0.0,
            weight: 1.0,
            duplicate: false,
            author_key: 1,
            simhash: 0,
            simhash_words: 0,
            complaint: 0.0,
            complained: false,
            naming,
        }
    }

    #[test]
    fn a_half_known_grievance_counts_when_the_post_names_the_brand_in_a_negative_tone() {
        use SentimentLabel::{Negative, Neutral};
        // One strong phrase is a complaint whatever the tone.
        assert!(groups_of(&toned(0.63, Neutral, Naming::Distinct), false)[0]);
        // One medium phrase ("froze") needs the negative tone ...
        assert!(groups_of(&toned(0.45, Negative, Naming::Distinct), false)[0]);
        assert!(groups_of(&toned(0.45, Negative, Naming::Plain), false)[0]);
        assert!(!groups_of(&toned(0.45, Neutral, Naming::Distinct), false)[0]);
        // ... and a post of its own: a reply that names no brand belongs to its thread's story.
        assert!(!groups_of(&toned(0.45, Negative, Naming::Thread), false)[0]);
        // One weak word in a negative tone is not a complaint.
        assert!(!groups_of(&toned(0.26, Negative, Naming::Distinct), false)[0]);
    }

    #[test]
    fn an_outage_report_is_a_service_complaint_that_names_an_outage_first() {
        use SentimentLabel::Negative;
        let outage = |s: &Scored| groups_of(s, false)[OUTAGE_GROUP];
        // "is it down?" in a negative post that names the brand: service, and an outage.
        let report = toned(0.45, Negative, Naming::Distinct);
        assert!(groups_of(&report, false)[SERVICE_GROUP] && outage(&report));
        // Model-only complaints whose words name no outage stay in the service stream only.
        let mut modelled = toned(0.0, Negative, Naming::Distinct);
        modelled.complained = true;
        assert!(groups_of(&modelled, false)[SERVICE_GROUP] && !outage(&modelled));
        // A bill named more strongly than the outage is a billing complaint.
        let mut bill = toned(0.45, Negative, Naming::Distinct);
        bill.category_scores[category_slot(Category::Billing)] = 0.63;
        assert!(!outage(&bill));
        // A post naming the brand only as an ordinary word needs a plain outage phrase ...
        assert!(!outage(&toned(0.45, Negative, Naming::Plain)));
        assert!(outage(&toned(0.63, Negative, Naming::Plain)));
        // ... and no complaint is an outage report.
        assert!(!outage(&toned(0.26, Negative, Naming::Distinct)));
    }

    #[test]
    fn a_reply_in_a_misconduct_story_is_not_a_service_complaint_on_the_model_alone() {
        use SentimentLabel::Negative;
        let mut reply = toned(0.0, Negative, Naming::Thread);
        reply.complaint = 0.9;
        reply.complained = true;
        // Elsewhere the complaint model's word is enough ...
        assert!(groups_of(&reply, false)[0]);
        // ... in a risky post's thread it is a reaction to the story,
        assert!(!groups_of(&reply, true)[0]);
        // unless the lexicon reads a plain service failure in it.
        reply.category_scores[category_slot(Category::Outage)] = 0.63;
        assert!(groups_of(&reply, true)[0]);
    }

    fn expected(g: &GroupStream, minute: i64) -> f64 {
        g.baseline.expected_per_min(EventTime(minute * MIN))
    }

    #[test]
    fn a_complaint_stream_learns_behind_its_guard_band_once_past_its_first_day() {
        let mut g = GroupStream::new();
        let day = i64::from(GROUP_LAG_AFTER_MINUTES);
        for m in 0..day {
            g.learn(m, 0.2, 1.0, 1.0);
        }
        let before = expected(&g, day);
        assert!((before - 0.2).abs() < 0.05, "learnt {before}");
        // A rise that has lasted less than the guard band is not learnt at all...
        for m in day..day + GROUP_LEARN_LAG_MINUTES - 1 {
            g.learn(m, 3.0, 1.0, 1.0);
        }
        let during = expected(&g, day);
        assert!(
            (during - before).abs() < 1e-6,
            "the rise leaked into the baseline: {before} -> {during}"
        );
        // ... and is learnt once it is older than the band.
        for m in day + GROUP_LEARN_LAG_MINUTES - 1..day + 3 * GROUP_LEARN_LAG_MINUTES {
            g.learn(m, 3.0, 1.0, 1.0);
        }
        let after = expected(&g, day);
        assert!(after > 1.0, "a lasting level is learnt: {after}");
    }

    #[test]
    fn a_complaint_stream_learns_its_first_day_at_once_and_nothing_across_a_gap() {
        let mut g = GroupStream::new();
        for m in 0..60 {
            g.learn(m, 2.0, 1.0, 1.0);
        }
        assert!(
            expected(&g, 60) > 0.5,
            "a new brand's level is learnt at once"
        );
        let day = i64::from(GROUP_LAG_AFTER_MINUTES);
        for m in 60..day {
            g.learn(m, 2.0, 1.0, 1.0);
        }
        let level = expected(&g, day);
        // Minutes written before a gap longer than the band are never learnt after it.
        for m in day..day + 30 {
            g.learn(m, 50.0, 1.0, 1.0);
        }
        for m in day + 30 + 2 * GROUP_LEARN_LAG_MINUTES..day + 30 + 3 * GROUP_LEARN_LAG_MINUTES {
            g.learn(m, 2.0, 1.0, 1.0);
        }
        let later = expected(&g, day);
        assert!(
            (later - level).abs() < 0.05,
            "stale minutes were learnt after the gap: {level} -> {later}"
        );
    }
}
