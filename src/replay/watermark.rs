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
//! watermark, with three rules, all deterministic in event time and arrival order:
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
//! * **Reference.** Once started, a mention is judged against the stream's current time `R`,
//!   not against the newest event time seen: among the last `REFERENCE_WINDOW` (32) mentions
//!   processed, each is *outvoted* while more than half of the mentions processed after it
//!   are older than it, and `R` is the newest time of those not outvoted. The last mention
//!   processed is never outvoted (nothing came after it), so `R` is at least its time, and in
//!   a stream in order `R` is the newest time seen: a stream that moves forward moves `R`
//!   at once, with nothing held. A mention ahead of the stream, followed by mentions on the
//!   stream's own timeline, is outvoted by them as soon as they outnumber the ones after it
//!   that are not older. So mentions creeping ahead in steps under `max_future_skew` (each
//!   within the skew of the one before, interleaved with the stream's own) no longer add up:
//!   the second is judged against the stream, not against the first, is a jump and is
//!   refuted. Mentions too late for the watermark have no vote (a run of stale records
//!   cannot hold `R` back), and `R` is never more than `max_future_skew` behind the newest
//!   time seen. O(`REFERENCE_WINDOW`) per mention, bounded memory.
//! * **Jumps.** A mention more than `max_future_skew` ahead of `R` starts a
//!   *jump*: it and every later mention not older than it minus the allowed
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
//! `CONFIRM_SPAN_MS`, or creeping ahead as a minority of the mentions around them, never move
//! the watermark further than `max_future_skew` past the stream's own time, and a clean
//! stream, gaps included, is processed exactly as without the guard (in a clean stream nothing
//! returns, so every jump is taken, in arrival order; out of order, a mention within the skew
//! of the one processed before it is never a jump). The costs: after a gap the mentions are held until the jump is
//! confirmed (in a paced replay they show up that much later; the alert log is the same); the
//! last mention of a replay is dropped when it comes more than `max_future_skew` after
//! everything before it; a run at the very start, longer than half of [`START_SAMPLE`], wins
//! the start rule; a run of `CONFIRM_MENTIONS` (64) poisoned records that spans
//! `CONFIRM_SPAN_MS` before the stream's own mentions refute it, or one that reaches
//! [`CONFIRM_ANYWAY`], is taken, and once taken it is not
//! reconsidered when the stream comes back to the old timeline (the watermark never moves
//! back; the mentions behind it are too late). One mention up to `max_future_skew` ahead of
//! `R` is processed and moves the watermark that far, as before; mentions creeping ahead
//! that are the majority around them (or consecutive, with none of the stream's own between
//! them) are a stream moving forward, and move it. Conversely a minority steadily almost
//! `max_future_skew` ahead of the rest (a real-time source among a larger one lagging by
//! about the skew) looks like creep: its mentions more than the skew ahead of `R` wait as
//! jumps, and are dropped if the rest refute them.
//! Mentions held by the guard, and the reference's votes, are not part of a checkpoint.

use std::collections::VecDeque;

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

    /// [`Watermark::observe`] for a live service whose wall clock reads `now`: a mention
    /// dated after `now` (the sources let through up to `max_future_skew`, for senders whose
    /// clocks run fast) is on time, but moves the newest time seen no further than `now`.
    /// Otherwise one near-future record (a federated post, a pushed record, a fast clock)
    /// would cut the allowed lateness of every other source to what is left of it: at five
    /// minutes of skew and of lateness, honest mentions a second old were too late.
    pub fn observe_until(&mut self, t: EventTime, now: EventTime) -> Admit {
        if t <= now {
            return self.observe(t);
        }
        if self.max_seen.is_none_or(|m| m < now) {
            self.max_seen = Some(now);
        }
        Admit::OnTime
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
/// of event time: a stream that moved on keeps moving. 16 (as before) let a run of 16 crafted
/// records a minute apart take the watermark, and the rest of the replay was too late; with
/// 64 the stream's own mentions after such a run refute it first, and a real gap costs only
/// a longer hold (the alert log is the same).
const CONFIRM_MENTIONS: usize = 64;
/// See [`CONFIRM_MENTIONS`].
const CONFIRM_SPAN_MS: i64 = 15 * 60_000;
/// A jump is taken once this many mentions agree with it, whatever their span.
pub const CONFIRM_ANYWAY: usize = 1024;
/// How many of the latest mentions processed vote on the [`Reference`].
const REFERENCE_WINDOW: usize = 32;

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

/// One of the latest mentions processed, with the votes of the mentions processed after it.
#[derive(Debug, Clone, Copy)]
struct Vote {
    at: EventTime,
    /// Mentions processed after this one (while it is in the window).
    after: u32,
    /// Of those, the ones older than it.
    behind: u32,
}

/// The stream's current time, as the guard judges it: the newest event time among the last
/// [`REFERENCE_WINDOW`] mentions processed that is not *outvoted*, i.e. that most of the
/// mentions processed after it are not older than. The last one processed is never outvoted
/// (nothing came after it), so the reference is at least its time; in a stream in order it is
/// the newest time seen. A mention ahead of the stream, followed by mentions on the stream's
/// own timeline, is outvoted by them and stops counting.
///
/// Mentions older than the newest time processed minus the allowed lateness (too late for
/// the watermark) have no vote: a run of stale records cannot hold the reference back.
#[derive(Debug)]
struct Reference {
    lateness_ms: i64,
    /// Newest event time processed.
    newest: Option<EventTime>,
    /// In processing order, at most [`REFERENCE_WINDOW`].
    recent: VecDeque<Vote>,
}

impl Reference {
    fn new(lateness_ms: i64) -> Reference {
        Reference {
            lateness_ms,
            newest: None,
            recent: VecDeque::with_capacity(REFERENCE_WINDOW),
        }
    }

    /// `t` was processed (passed to the watermark): it votes on every mention before it.
    /// O([`REFERENCE_WINDOW`]).
    fn observe(&mut self, t: EventTime) {
        if let Some(newest) = self.newest {
            if t < newest.plus_ms(-self.lateness_ms) {
                return;
            }
        }
        self.newest = self.newest.max(Some(t));
        for v in &mut self.recent {
            v.after += 1;
            v.behind += u32::from(t < v.at);
        }
        if self.recent.len() >= REFERENCE_WINDOW {
            self.recent.pop_front();
        }
        self.recent.push_back(Vote {
            at: t,
            after: 0,
            behind: 0,
        });
    }

    /// `None` before anything was processed. O([`REFERENCE_WINDOW`]).
    fn current(&self) -> Option<EventTime> {
        self.recent
            .iter()
            .filter(|v| 2 * v.behind <= v.after)
            .map(|v| v.at)
            .max()
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
    /// What mentions are judged against (not the watermark's newest time, which a minority
    /// of mentions creeping ahead could drag on).
    reference: Reference,
}

impl OutlierGuard {
    pub fn new(max_future_skew_ms: i64, max_event_age_ms: i64, lateness_ms: i64) -> OutlierGuard {
        OutlierGuard {
            max_future_skew_ms: max_future_skew_ms.max(0),
            max_event_age_ms: max_event_age_ms.max(0),
            lateness_ms: lateness_ms.max(0),
            sample: Vec::new(),
            jump: None,
            reference: Reference::new(lateness_ms.max(0)),
        }
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.sample.is_empty() && self.jump.is_none()
    }

    /// Judges `m`, arriving now; `max_seen` is the watermark's newest event time (`None`
    /// before it started). Every mention released or passed must then go to the watermark,
    /// in that order: the guard counts them as processed.
    pub fn offer(&mut self, m: &Mention, max_seen: Option<EventTime>) -> Offered {
        let reference = self.reference_at(max_seen);
        let out = self.offer_at(m, reference);
        self.processed(&out, Some(m));
        out
    }

    /// The stream's current time, given the watermark's newest time `max_seen`: the
    /// [`Reference`], but never more than `max_future_skew` behind `max_seen` (so a backlog
    /// of late mentions holds it back by the skew at most; this costs nothing against
    /// mentions creeping ahead, which pass only up to the skew past it, so from there not past
    /// `max_seen`); `max_seen` itself while the guard has processed nothing (a guard put in
    /// front of a started watermark).
    fn reference_at(&self, max_seen: Option<EventTime>) -> Option<EventTime> {
        max_seen.map(|max| {
            let floor = max.plus_ms(-self.max_future_skew_ms);
            self.reference.current().unwrap_or(max).max(floor)
        })
    }

    /// Lets the mentions that `out` sends to the watermark vote on the reference.
    fn processed(&mut self, out: &Offered, offered: Option<&Mention>) {
        let passed = offered.filter(|_| out.pass);
        for m in out.release.iter().chain(passed) {
            self.reference.observe(m.created_at);
        }
    }

    /// [`OutlierGuard::offer`] against `max_seen`, the stream's current time (`None` before
    /// the watermark started).
    fn offer_at(&mut self, m: &Mention, max_seen: Option<EventTime>) -> Offered {
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
        let max_seen = self.reference_at(max_seen);
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
        self.processed(&out, None);
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
            let o = self.offer_at(&m, newest);
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
        let (done, dropped, _) = guarded_to(stream);
        (done, dropped)
    }

    /// Like [`guarded`], with the watermark's newest event time at the end.
    fn guarded_to(stream: &[Mention]) -> (Vec<String>, Vec<(String, &'static str)>, EventTime) {
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
        (done, dropped, w.max_seen())
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
    fn guard_refutes_sixteen_poisoned_records_spanning_a_quarter_hour() {
        // 16 records a year ahead, a minute apart, in a row: as many as a jump once needed to
        // be taken, so the whole replay after them was too late (26k demo mentions dropped).
        // The stream's own mentions after them now refute them before they are enough.
        let mut stream: Vec<Mention> = (0..300).map(|i| at(&format!("a{i}"), i)).collect();
        let year = 365 * 1440;
        let run: Vec<Mention> = (0..16).map(|i| at(&format!("far{i}"), year + i)).collect();
        stream.splice(100..100, run);
        let (done, dropped) = guarded(&stream);
        let want: Vec<String> = (0..300).map(|i| format!("a{i}")).collect();
        assert_eq!(done, want);
        assert_eq!(dropped.len(), 16, "{dropped:?}");

        // A real gap with as many mentions after it as that run and more: taken, in order.
        let mut stream: Vec<Mention> = (0..100).map(|i| at(&format!("a{i}"), i)).collect();
        stream.extend((0..200).map(|i| at(&format!("b{i}"), 1440 + i)));
        let (done, dropped) = guarded(&stream);
        assert!(dropped.is_empty(), "{dropped:?}");
        let ids: Vec<String> = stream.iter().map(|m| m.id.clone()).collect();
        assert_eq!(done, ids);
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

    /// `n` good mentions 20 s apart from minute 0, with a crafted one after every `every`
    /// good ones from the 100th on: the first `max_future_skew - 10 s` ahead of the good one
    /// before it, each next one that much after the crafted one before it (each within
    /// `max_future_skew` of the newest time seen, so that judged against it they add up).
    fn creeping(n: usize, every: usize, crafted: usize) -> Vec<Mention> {
        let step = 5 * 60_000 - 10_000;
        let mut stream = Vec::new();
        let mut next: Option<EventTime> = None;
        let mut made = 0;
        for i in 0..n {
            let t = at("", 0).created_at.plus_ms(i as i64 * 20_000);
            stream.push(with_time(&format!("g{i}"), t));
            if i >= 100 && (i + 1) % every == 0 && made < crafted {
                let c = next.unwrap_or(t.plus_ms(step));
                stream.push(with_time(&format!("creep{made}"), c));
                next = Some(c.plus_ms(step));
                made += 1;
            }
        }
        stream
    }

    #[test]
    fn guard_keeps_records_creeping_ahead_from_dragging_the_watermark() {
        // The red-team's shapes (one crafted line in three, 60 of them; one in four, 12 of
        // them), and one crafted line after every good one.
        for (every, crafted) in [(2, 60), (3, 12), (1, 60)] {
            let stream = creeping(600, every, crafted);
            let (done, dropped, max_seen) = guarded_to(&stream);
            let good_dropped: Vec<&(String, &str)> = dropped
                .iter()
                .filter(|(id, _)| id.starts_with('g'))
                .collect();
            assert!(
                good_dropped.is_empty(),
                "every={every}: {} good ones dropped, first {:?}",
                good_dropped.len(),
                &good_dropped[..good_dropped.len().min(5)]
            );
            let good: Vec<String> = (0..600).map(|i| format!("g{i}")).collect();
            let done_good: Vec<String> = done
                .iter()
                .filter(|d| d.starts_with('g'))
                .cloned()
                .collect();
            assert_eq!(done_good, good, "every={every}");
            // At most the first crafted one, less than the skew ahead, was taken.
            assert!(
                dropped.len() >= crafted - 1
                    && dropped.iter().all(|(_, r)| *r == "future_event_time"),
                "every={every}: {dropped:?}"
            );
            let last_good = stream.iter().rfind(|m| m.id.starts_with('g')).unwrap();
            assert!(
                max_seen <= last_good.created_at.plus_ms(5 * 60_000),
                "every={every}: watermark dragged to {max_seen:?}"
            );
        }
    }

    #[test]
    fn guard_keeps_a_run_of_stale_records_from_holding_the_stream_back() {
        // 200 good mentions a minute apart; from the 100th on, 40 mentions from a day before
        // in a row, then one after every good one: they are too late, and must not make the
        // stream's own mentions look like a jump ahead of them.
        let mut stream: Vec<Mention> = Vec::new();
        for i in 0..200 {
            stream.push(at(&format!("g{i}"), i));
            let stale = match i {
                100 => 40,
                101.. => 1,
                _ => 0,
            };
            for k in 0..stale {
                stream.push(at(&format!("stale{i}-{k}"), i - 1440));
            }
        }
        let (done, dropped) = guarded(&stream);
        let want: Vec<String> = (0..200).map(|i| format!("g{i}")).collect();
        assert_eq!(done, want, "{:?}", &dropped[..dropped.len().min(5)]);
        assert!(dropped
            .iter()
            .all(|(id, r)| id.starts_with("stale") && *r == "too_late"));
    }

    #[test]
    fn guard_lets_a_stream_whose_every_record_advances_move_at_once() {
        // Each record 4m50s after the one before it: no gap, nothing held, nothing dropped,
        // the last one included.
        let stream: Vec<Mention> = (0..40)
            .map(|i| with_time(&format!("s{i}"), EventTime(1_772_000_000_000 + i * 290_000)))
            .collect();
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
        fn guard_changes_nothing_in_a_stream_out_of_order_within_the_lateness(
            steps in proptest::collection::vec((0i64..60_000, 0i64..120_000), 1..300),
        ) {
            // Each record up to 2 min behind the stream's clock, which advances up to a
            // minute a record: out of order, never too late, never a jump.
            let mut t = 1_772_000_000_000i64;
            let stream: Vec<Mention> = steps
                .iter()
                .enumerate()
                .map(|(i, (s, behind))| {
                    t += s;
                    with_time(&i.to_string(), EventTime(t - behind))
                })
                .collect();
            let want: Vec<String> = stream.iter().map(|m| m.id.clone()).collect();
            let (done, dropped) = guarded(&stream);
            prop_assert!(dropped.is_empty(), "{:?}", dropped);
            prop_assert_eq!(done, want);
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
