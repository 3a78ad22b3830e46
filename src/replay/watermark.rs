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
//!   in arrival order. With fewer than 3 mentions in all, nothing can be judged and they are
//!   processed as they are.
//! * **Jumps.** Once started, a mention more than `max_future_skew` ahead of the newest event
//!   time seen is held as a *candidate*. The next mention decides: if it is not older than the
//!   candidate minus the allowed lateness, the stream really moved on (a quiet gap in the data):
//!   the candidate is processed, and the next mention is judged against it by the same rule.
//!   Otherwise the candidate is dropped (`future_event_time`) and the next mention is judged on
//!   its own. A candidate still held at the end of the input is dropped.
//!
//! So a single outlier anywhere never moves the watermark, and a clean stream, gaps included,
//! is processed exactly as without the guard. The cost: the last mention of a replay is
//! dropped when it comes more than `max_future_skew` after everything before it, and two
//! consecutive records far in the future confirm each other. Mentions held by the guard are
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

/// Keeps single event-time outliers away from a [`Watermark`] in replays; see the module docs.
#[derive(Debug)]
pub struct OutlierGuard {
    max_future_skew_ms: i64,
    max_event_age_ms: i64,
    lateness_ms: i64,
    /// Mentions read before the watermark started (at most [`START_SAMPLE`]).
    sample: Vec<Mention>,
    /// A mention far ahead of the watermark, waiting for the next one to confirm it.
    candidate: Option<Mention>,
}

impl OutlierGuard {
    pub fn new(max_future_skew_ms: i64, max_event_age_ms: i64, lateness_ms: i64) -> OutlierGuard {
        OutlierGuard {
            max_future_skew_ms: max_future_skew_ms.max(0),
            max_event_age_ms: max_event_age_ms.max(0),
            lateness_ms: lateness_ms.max(0),
            sample: Vec::new(),
            candidate: None,
        }
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.sample.is_empty() && self.candidate.is_none()
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
        let mut newest = max_seen;
        if let Some(c) = self.candidate.take() {
            if t >= c.created_at.plus_ms(-self.lateness_ms) {
                // Confirmed: the candidate goes first; `m` is judged against it in turn.
                newest = newest.max(c.created_at);
                out.release.push(c);
            } else {
                out.dropped.push((c, Outlier::Future));
            }
        }
        if t > newest.plus_ms(self.max_future_skew_ms) {
            self.candidate = Some(m.clone());
        } else {
            out.pass = true;
        }
        out
    }

    /// End of input: the start sample is judged with what there is; a candidate nobody
    /// confirmed is dropped.
    pub fn finish(&mut self) -> Offered {
        let mut out = Offered::default();
        if !self.sample.is_empty() {
            self.decide_start(&mut out);
        }
        if let Some(c) = self.candidate.take() {
            out.dropped.push((c, Outlier::Future));
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
        let limit = mad
            .saturating_mul(OUTLIER_DEVIATIONS)
            .max(self.max_event_age_ms);
        for m in sample {
            let t = m.created_at.millis();
            if t.abs_diff(median) > limit.unsigned_abs() {
                let why = if t > median {
                    Outlier::Future
                } else {
                    Outlier::Stale
                };
                out.dropped.push((m, why));
            } else {
                out.release.push(m);
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
        let o = g.finish();
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
