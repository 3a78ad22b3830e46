//! The event-time watermark: the newest event time seen minus the allowed lateness, and the
//! [`OutlierGuard`] that keeps one absurd event time from moving it.
//!
//! Input: each mention's event time, in arrival order. Output: whether it is on time, late but
//! still counted, or too late (older than the watermark) and dropped. Invariant: the watermark
//! never moves backwards.
//!
//! # Outliers (replays)
//!
//! The watermark trusts the newest event time it has seen, so a single record dated
//! 9999-12-31 would make every later mention too late, and a first record dated year 1 would
//! open an incident in year 1. A live run bounds event time against its wall clock before
//! anything reaches the watermark (`ingest::EventTimeBounds`). A replay has no trustworthy wall
//! clock, so `flashpoint replay` (and the demo) put an [`OutlierGuard`] in front of the
//! watermark, with two rules, both deterministic in event time:
//!
//! * **Start.** Before the watermark has started, the first [`START_SAMPLE`] mentions are held.
//!   Their median event time `M` and median absolute deviation `D` are computed; a mention
//!   farther than `max(10 D, max_event_age)` from `M` is an outlier and is dropped
//!   (`stale_event_time` below `M`, `future_event_time` above). The others are then processed
//!   in arrival order, except those more than `max(10 D, max_future_skew)` ahead of `M`:
//!   they come after the rest, each judged by the jump rule below against the newest
//!   mention before it (a record two days ahead among the first ones would otherwise move
//!   the watermark two days on, and the whole replay would be too late). With fewer than 3
//!   mentions in all, nothing can be judged and they are processed as they are.
//! * **Jumps.** Once started, a mention more than `max_future_skew` ahead of the newest event
//!   time seen starts a *jump*: it and every later mention not older than it minus the allowed
//!   lateness are held. Mentions older than that (on the stream's old timeline) are processed
//!   as they come and counted as *returns*. The stream decides:
//!   - **confirmed** once `CONFIRM_MENTIONS` held mentions span `CONFIRM_SPAN_MS` of event
//!     time, or [`CONFIRM_ANYWAY`] are held: a stream that really moved on (a quiet gap in
//!     the data) keeps moving. The held mentions are processed in arrival order, each judged
//!     against the one before it, so a lone outlier inside the run is still dropped;
//!   - **refuted** once the returns are as many as the held mentions: the held run is
//!     dropped (`future_event_time`). A run of poisoned records that agree with each other
//!     (a source with a broken clock for a while) is refuted this way.
//!
//!   At the end of the input a jump of at least two mentions is taken, one alone is dropped.
//!
//! So outliers anywhere, alone or in a run of up to [`CONFIRM_ANYWAY`] records within
//! `CONFIRM_SPAN_MS`, never move the watermark, and a clean stream, gaps included, is
//! processed exactly as without the guard (in a clean stream nothing returns, so every jump is
//! taken, in arrival order). The costs: after a gap the mentions are held until the jump is
//! confirmed (in a paced replay they show up that much later; the alert log is the same); the
//! last mention of a replay is dropped when it comes more than `max_future_skew` after
//! everything before it; a run at the very start, longer than half of [`START_SAMPLE`], wins
//! the start rule; a run of poisoned records that spans
//! `CONFIRM_SPAN_MS` or reaches [`CONFIRM_ANYWAY`] is taken. Mentions held by the guard are
//! not part of a checkpoint.

use crate::domain::{EventTime, Mention};

/// What to do with one mention.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admit {
    /// At or after the newest event time seen so far.
    OnTime,
    /// Out of order but within the allowed lateness: counted.
    Late,
    /// Older than the watermark: dropped and counted as such.
    TooLate,
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Watermark {
    lateness_ms: i64,
    max_seen: Option<EventTime>,
}

impl Watermark {
    pub fn new(lateness_ms: i64) -> Watermark {
        Watermark {
            lateness_ms: lateness_ms.max(0),
            max_seen: None,
        }
    }

    /// Classifies `t` and advances the watermark when `t` is the newest time seen.
    pub fn observe(&mut self, t: EventTime) -> Admit {
        match self.max_seen {
            None => {
                self.max_seen = Some(t);
                Admit::OnTime
            }
            Some(max) if t >= max => {
                self.max_seen = Some(t);
                Admit::OnTime
            }
            Some(max) if t < max.plus_ms(-self.lateness_ms) => Admit::TooLate,
            Some(_) => Admit::Late,
        }
    }

    /// Newest event time seen minus the allowed lateness ([`EventTime::MIN`] before any input).
    pub fn current(&self) -> EventTime {
        self.max_seen
            .map_or(EventTime::MIN, |m| m.plus_ms(-self.lateness_ms))
    }

    /// Newest event time seen ([`EventTime::MIN`] before any input).
    pub fn max_seen(&self) -> EventTime {
        self.max_seen.unwrap_or(EventTime::MIN)
    }

    /// Newest event time seen; `None` before any input.
    pub fn started(&self) -> Option<EventTime> {
        self.max_seen
    }
}

/// Mentions held at the start of a guarded replay to judge outliers by.
pub const START_SAMPLE: usize = 16;
/// How many median absolute deviations from the median make a start outlier.
const OUTLIER_DEVIATIONS: i64 = 10;
/// A jump is taken once this many mentions agree with it and they span [`CONFIRM_SPAN_MS`]
/// of event time: a stream that moved on keeps moving.
const CONFIRM_MENTIONS: usize = 16;
/// See [`CONFIRM_MENTIONS`].
const CONFIRM_SPAN_MS: i64 = 15 * 60_000;
/// A jump is taken once this many mentions agree with it, whatever their span.
pub const CONFIRM_ANYWAY: usize = 1024;

/// Why the [`OutlierGuard`] dropped a mention (the stable `reason` label).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outlier {
    Future,
    Stale,
}

impl Outlier {
    pub fn reason(self) -> &'static str {
        match self {
            Outlier::Future => "future_event_time",
            Outlier::Stale => "stale_event_time",
        }
    }
}

/// What to do after offering one mention to the [`OutlierGuard`].
#[derive(Debug, Default)]
pub struct Offered {
    /// Held mentions to process now, in arrival order, before the offered one.
    pub release: Vec<Mention>,
    /// Mentions judged outliers: drop and count them.
    pub dropped: Vec<(Mention, Outlier)>,
    /// Process the offered mention itself (after `release`); `false`: it is held.
    pub pass: bool,
}

/// Mentions since a jump, held until the stream confirms or refutes it.
#[derive(Debug)]
struct Jump {
    /// In arrival order; the first is the one that jumped.
    held: Vec<Mention>,
    /// Newest event time held.
    newest: EventTime,
    /// Mentions since the jump that stayed on the old timeline.
    returns: usize,
}

impl Jump {
    fn start(&self) -> EventTime {
        self.held[0].created_at
    }
}

/// Keeps event-time outliers away from a [`Watermark`] in replays; see the module docs.
#[derive(Debug)]
pub struct OutlierGuard {
    max_future_skew_ms: i64,
    max_event_age_ms: i64,
    lateness_ms: i64,
    /// Mentions read before the watermark started (at most [`START_SAMPLE`]).
    sample: Vec<Mention>,
    /// Mentions far ahead of the watermark, waiting for the stream to confirm them.
    jump: Option<Jump>,
}

impl OutlierGuard {
    pub fn new(max_future_skew_ms: i64, max_event_age_ms: i64, lateness_ms: i64) -> OutlierGuard {
        OutlierGuard {
            max_future_skew_ms: max_future_skew_ms.max(0),
            max_event_age_ms: max_event_age_ms.max(0),
            lateness_ms: lateness_ms.max(0),
            sample: Vec::new(),
            jump: None,
        }
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.sample.is_empty() && self.jump.is_none()
    }

    /// Judges `m`, arriving now; `max_seen` is the watermark's newest event time (`None`
    /// before it started).
    pub fn offer(&mut self, m: &Mention, max_seen: Option<EventTime>) -> Offered {
        let mut out = Offered::default();
        let Some(max_seen) = max_seen else {
            self.sample.push(m.clone());
            if self.sample.len() >= START_SAMPLE {
                self.decide_start(&mut out);
            }
            return out;
        };
        let t = m.created_at;
        let Some(jump) = self.jump.as_mut() else {
            self.judge(m, max_seen, &mut out);
            return out;
        };
        if t >= jump.start().plus_ms(-self.lateness_ms) {
            jump.held.push(m.clone());
            jump.newest = jump.newest.max(t);
            let span = jump.newest.millis().saturating_sub(jump.start().millis());
            let n = jump.held.len();
            if n >= CONFIRM_ANYWAY || (n >= CONFIRM_MENTIONS && span >= CONFIRM_SPAN_MS) {
                let held = self.jump.take().map(|j| j.held).unwrap_or_default();
                self.confirm(held, max_seen, &mut out);
            }
            return out;
        }
        // `m` stays on the old timeline: as many of those as the jump holds refute it.
        jump.returns += 1;
        if jump.returns >= jump.held.len() {
            let held = self.jump.take().map(|j| j.held).unwrap_or_default();
            out.dropped
                .extend(held.into_iter().map(|h| (h, Outlier::Future)));
        }
        if t > max_seen.plus_ms(self.max_future_skew_ms) && self.jump.is_some() {
            // Ahead of the old timeline and behind the held one: on neither.
            out.dropped.push((m.clone(), Outlier::Future));
        } else {
            self.judge(m, max_seen, &mut out);
        }
        out
    }

    /// `m` with nothing held: on time, or the start of a jump.
    fn judge(&mut self, m: &Mention, newest: EventTime, out: &mut Offered) {
        if m.created_at > newest.plus_ms(self.max_future_skew_ms) {
            self.jump = Some(Jump {
                held: vec![m.clone()],
                newest: m.created_at,
                returns: 0,
            });
        } else {
            out.pass = true;
        }
    }

    /// Releases a confirmed jump's mentions in arrival order, each judged against the one
    /// before it (so one outlier inside the held run is still dropped); a last one far ahead
    /// of the others starts a new jump.
    fn confirm(&mut self, held: Vec<Mention>, mut newest: EventTime, out: &mut Offered) {
        let mut candidate: Option<Mention> = None;
        for h in held {
            let t = h.created_at;
            if let Some(c) = candidate.take() {
                if t >= c.created_at.plus_ms(-self.lateness_ms) {
                    newest = newest.max(c.created_at);
                    out.release.push(c);
                } else {
                    out.dropped.push((c, Outlier::Future));
                }
            }
            if t > newest.plus_ms(self.max_future_skew_ms) {
                candidate = Some(h);
            } else {
                newest = newest.max(t);
                out.release.push(h);
            }
        }
        if let Some(c) = candidate {
            self.jump = Some(Jump {
                newest: c.created_at,
                held: vec![c],
                returns: 0,
            });
        }
    }

    /// End of input: the start sample is judged with what there is; a jump is taken if at
    /// least two mentions agree with it, else dropped.
    pub fn finish(&mut self, max_seen: Option<EventTime>) -> Offered {
        let mut out = Offered::default();
        if !self.sample.is_empty() {
            self.decide_start(&mut out);
        }
        if let Some(jump) = self.jump.take() {
            if jump.held.len() >= 2 {
                let newest = max_seen.unwrap_or(EventTime::MIN);
                self.confirm(jump.held, newest, &mut out);
            } else {
                out.dropped
                    .extend(jump.held.into_iter().map(|h| (h, Outlier::Future)));
            }
            if let Some(j) = self.jump.take() {
                out.dropped
                    .extend(j.held.into_iter().map(|h| (h, Outlier::Future)));
            }
        }
        out
    }

    fn decide_start(&mut self, out: &mut Offered) {
        let sample = std::mem::take(&mut self.sample);
        if sample.len() < 3 {
            out.release = sample;
            return;
        }
        let mut times: Vec<i64> = sample.iter().map(|m| m.created_at.millis()).collect();
        times.sort_unstable();
        let median = times[(times.len() - 1) / 2];
        let mut deviations: Vec<i64> = times
            .iter()
            .map(|t| t.abs_diff(median).min(i64::MAX as u64) as i64)
            .collect();
        deviations.sort_unstable();
        let mad = deviations[(deviations.len() - 1) / 2];
        let spread = mad.saturating_mul(OUTLIER_DEVIATIONS);
        let limit = spread.max(self.max_event_age_ms);
        // Ahead of the others by more than a jump, but not absurd: judged after them, as a
        // jump would be. Released now, one mention two days ahead would move the watermark
        // two days on, and every later mention of the replay would be too late.
        let ahead_of = median.saturating_add(spread.max(self.max_future_skew_ms));
        let mut ahead = Vec::new();
        for m in sample {
            let t = m.created_at.millis();
            if t.abs_diff(median) > limit.unsigned_abs() {
                let why = if t > median {
                    Outlier::Future
                } else {
                    Outlier::Stale
                };
                out.dropped.push((m, why));
            } else if t > ahead_of {
                ahead.push(m);
            } else {
                out.release.push(m);
            }
        }
        let mut newest = out.release.iter().map(|m| m.created_at).max();
        for m in ahead {
            let o = self.offer(&m, newest);
            out.dropped.extend(o.dropped);
            for r in o.release.into_iter().chain(o.pass.then_some(m)) {
                newest = newest.max(Some(r.created_at));
                out.release.push(r);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn classifies_against_the_newest_time() {
        let mut w = Watermark::new(5 * 60_000);
        assert_eq!(w.current(), EventTime::MIN);
        assert_eq!(w.observe(EventTime(10 * 60_000)), Admit::OnTime);
        assert_eq!(w.observe(EventTime(10 * 60_000)), Admit::OnTime);
        assert_eq!(w.observe(EventTime(6 * 60_000)), Admit::Late);
        assert_eq!(
            w.observe(EventTime(5 * 60_000)),
            Admit::Late,
            "exactly at the watermark"
        );
        assert_eq!(w.observe(EventTime(5 * 60_000 - 1)), Admit::TooLate);
        assert_eq!(w.current(), EventTime(5 * 60_000));
        assert_eq!(w.max_seen(), EventTime(10 * 60_000));
    }

    fn at(id: &str, minute: i64) -> Mention {
        Mention {
            id: id.into(),
            created_at: EventTime(1_772_000_000_000 + minute * 60_000),
            ..Mention::default()
        }
    }

    const FAR: EventTime = EventTime(253_402_300_799_000);
    const YEAR_ONE: EventTime = EventTime(-62_135_596_800_000);

    /// Runs `stream` through a guard and a watermark: (processed ids, dropped (id, reason)).
    fn guarded(stream: &[Mention]) -> (Vec<String>, Vec<(String, &'static str)>) {
        let mut g = OutlierGuard::new(5 * 60_000, 7 * 86_400_000, 5 * 60_000);
        let mut w = Watermark::new(5 * 60_000);
        let mut done = Vec::new();
        let mut dropped = Vec::new();
        let mut apply = |o: Offered, m: Option<&Mention>, w: &mut Watermark| {
            dropped.extend(o.dropped.into_iter().map(|(m, r)| (m.id, r.reason())));
            let pass = o.pass.then(|| m.cloned()).flatten();
            for m in o.release.into_iter().chain(pass) {
                if w.observe(m.created_at) == Admit::TooLate {
                    dropped.push((m.id, "too_late"));
                } else {
                    done.push(m.id);
                }
            }
        };
        for m in stream {
            let o = g.offer(m, w.started());
            apply(o, Some(m), &mut w);
        }
        let o = g.finish(w.started());
        apply(o, None, &mut w);
        (done, dropped)
    }

    fn with_time(id: &str, t: EventTime) -> Mention {
        Mention {
            created_at: t,
            ..at(id, 0)
        }
    }

    #[test]
    fn guard_passes_a_clean_stream_with_gaps_unchanged() {
        // Minutes 0..40, then a two-day gap, then a sparse tail an hour apart.
        let mut stream: Vec<Mention> = (0..40).map(|i| at(&format!("a{i}"), i)).collect();
        stream.extend((0..5).map(|i| at(&format!("b{i}"), 2 * 1440 + i * 60)));
        let want: Vec<String> = stream.iter().map(|m| m.id.clone()).collect();
        let (done, dropped) = guarded(&stream);
        // Only the last one, an hour after the rest, cannot be confirmed.
        assert_eq!(done, want[..want.len() - 1]);
        assert_eq!(dropped, [(String::from("b4"), "future_event_time")]);
    }

    #[test]
    fn guard_drops_single_outliers_anywhere() {
        let mut stream: Vec<Mention> = (0..40).map(|i| at(&format!("a{i}"), i)).collect();
        stream.insert(30, with_time("far-mid", FAR));
        stream.insert(20, with_time("old-mid", YEAR_ONE));
        stream.insert(0, with_time("far-first", FAR));
        stream.insert(0, with_time("old-first", YEAR_ONE));
        stream.push(with_time("far-last", FAR));
        let (done, dropped) = guarded(&stream);
        let want: Vec<String> = (0..40).map(|i| format!("a{i}")).collect();
        assert_eq!(done, want);
        assert_eq!(
            dropped,
            [
                (String::from("old-first"), "stale_event_time"),
                (String::from("far-first"), "future_event_time"),
                (String::from("old-mid"), "too_late"),
                (String::from("far-mid"), "future_event_time"),
                (String::from("far-last"), "future_event_time"),
            ]
        );
    }

    #[test]
    fn guard_a_confirmed_jump_does_not_carry_an_outlier_with_it() {
        let mut stream: Vec<Mention> = (0..20).map(|i| at(&format!("a{i}"), i)).collect();
        // A quiet hour, then an outlier right behind the first mention after it.
        stream.push(at("b0", 80));
        stream.push(with_time("far", FAR));
        stream.extend((1..5).map(|i| at(&format!("b{i}"), 80 + i)));
        let (done, dropped) = guarded(&stream);
        assert_eq!(dropped, [(String::from("far"), "future_event_time")]);
        assert_eq!(done.len(), 25);
    }

    #[test]
    fn guard_refutes_a_run_of_outliers_and_keeps_a_real_jump() {
        // 30 records a century ahead, all within a minute: the next 30 on the stream's own
        // timeline refute them.
        let mut stream: Vec<Mention> = (0..80).map(|i| at(&format!("a{i}"), i)).collect();
        let far = 100 * 365 * 1440;
        let run: Vec<Mention> = (0..30).map(|i| at(&format!("far{i}"), far)).collect();
        stream.splice(20..20, run);
        let (done, dropped) = guarded(&stream);
        let want: Vec<String> = (0..80).map(|i| format!("a{i}")).collect();
        assert_eq!(done, want);
        assert_eq!(dropped.len(), 30);
        assert!(dropped
            .iter()
            .all(|(id, r)| id.starts_with("far") && *r == "future_event_time"));

        // A real jump (a day without data) with a straggler from before it: the stream goes
        // on at the new time, so the jump is taken, the outlier inside it is not.
        let mut stream: Vec<Mention> = (0..40).map(|i| at(&format!("a{i}"), i)).collect();
        stream.extend((0..30).map(|i| at(&format!("b{i}"), 1440 + i)));
        stream.insert(45, at("straggler", 39));
        stream.insert(50, with_time("far-inside", FAR));
        let (done, dropped) = guarded(&stream);
        assert_eq!(done.len(), 71, "{dropped:?}");
        assert_eq!(dropped, [(String::from("far-inside"), "future_event_time")]);
        let pos = |id: &str| done.iter().position(|d| d == id).unwrap();
        assert!(
            pos("b0") < pos("b1") && pos("b28") < pos("b29"),
            "arrival order kept"
        );
    }

    #[test]
    fn guard_keeps_one_mention_days_ahead_at_the_start_from_taking_the_stream() {
        // A record two days ahead among the first mentions is within `max_event_age` of their
        // median: released with them, it moved the watermark two days on and every later
        // mention of the replay was too late.
        let mut stream: Vec<Mention> = (0..200).map(|i| at(&format!("a{i}"), i)).collect();
        stream.insert(3, at("ahead", 2 * 1440));
        let (done, dropped) = guarded(&stream);
        let want: Vec<String> = (0..200).map(|i| format!("a{i}")).collect();
        assert_eq!(done, want);
        assert_eq!(dropped, [(String::from("ahead"), "future_event_time")]);

        // A stream whose first mentions straddle a real gap (a quiet night) keeps them all,
        // in arrival order: the mentions after the gap agree with each other.
        let mut stream: Vec<Mention> = (0..10).map(|i| at(&format!("a{i}"), i)).collect();
        stream.extend((0..40).map(|i| at(&format!("b{i}"), 1440 + i)));
        let want: Vec<String> = stream.iter().map(|m| m.id.clone()).collect();
        let (done, dropped) = guarded(&stream);
        assert!(dropped.is_empty(), "{dropped:?}");
        assert_eq!(done, want);
    }

    #[test]
    fn guard_takes_tiny_inputs_as_they_are() {
        let (done, dropped) = guarded(&[with_time("old", YEAR_ONE), at("a", 0)]);
        assert_eq!(done, ["old", "a"]);
        assert!(dropped.is_empty());
        let (done, _) = guarded(&[with_time("old", YEAR_ONE), at("a", 0), at("b", 1)]);
        assert_eq!(done, ["a", "b"], "three are enough to judge");
    }

    proptest! {
        #[test]
        fn guard_changes_nothing_in_an_ordered_stream_without_gaps(
            steps in proptest::collection::vec(0i64..240_000, 1..300),
        ) {
            let mut t = 1_772_000_000_000i64;
            let stream: Vec<Mention> = steps
                .iter()
                .enumerate()
                .map(|(i, s)| {
                    t += s;
                    with_time(&i.to_string(), EventTime(t))
                })
                .collect();
            let (done, dropped) = guarded(&stream);
            prop_assert!(dropped.is_empty());
            prop_assert_eq!(done.len(), stream.len());
        }

        #[test]
        fn watermark_is_monotone_and_too_late_means_below_it(
            times in proptest::collection::vec(0i64..10_000_000, 1..200),
            lateness in 0i64..1_000_000,
        ) {
            let mut w = Watermark::new(lateness);
            let mut last = EventTime::MIN;
            for t in times {
                let before = w.current();
                let admit = w.observe(EventTime(t));
                prop_assert_eq!(admit == Admit::TooLate, EventTime(t) < before);
                prop_assert!(w.current() >= last);
                last = w.current();
            }
        }
    }
}
