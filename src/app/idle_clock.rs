//! Event time that passes while a live stream is idle.
//!
//! The engine's watermark moves with the event times of the mentions it reads, so a minute is
//! decided only once a mention dated past it (and the allowed lateness) arrives. In a replay
//! that is the only clock there is. In `run`, a quiet stream would hold a burst's page until
//! the next mention, however late: 20,000 mentions pushed in one minute and then nothing paged
//! only when an unrelated mention arrived 8 minutes later. [`IdleClock`] lets event time
//! follow the wall clock while a stream that was live (its newest mention within the allowed
//! lateness of the wall clock) stays idle, for at most [`IdleClock::cap_ms`]: long enough to
//! decide the minutes the lateness held back, short of the detector's no-data gap
//! (`detect::detector::GAP_MINUTES`), so a source that has gone silent is still told apart
//! from quiet when its data comes back. A backlog being read (mentions far older than the
//! wall clock) is never moved by it.

use crate::detect::detector::GAP_MINUTES;
use crate::domain::EventTime;

/// Minutes past the allowed lateness that an idle live stream's event time may run on.
const BEYOND_LATENESS_MINUTES: i64 = 5;

/// Where the newest batch left the stream: the wall clock then and the newest event time seen.
#[derive(Debug, Clone, Copy, Default)]
pub struct IdleClock {
    lateness_ms: i64,
    cap_ms: i64,
    /// (wall clock at the last batch, newest event time then), when the stream was live.
    last: Option<(EventTime, EventTime)>,
}

impl IdleClock {
    /// A clock for a pipeline whose allowed lateness is `lateness_ms`.
    pub fn new(lateness_ms: i64) -> IdleClock {
        let lateness_ms = lateness_ms.max(0);
        IdleClock {
            lateness_ms,
            cap_ms: (lateness_ms + BEYOND_LATENESS_MINUTES * EventTime::MINUTE_MS)
                .min((GAP_MINUTES - 1) * EventTime::MINUTE_MS),
            last: None,
        }
    }

    /// How far past the newest mention an idle stream's event time may run.
    pub fn cap_ms(&self) -> i64 {
        self.cap_ms
    }

    /// After a batch: the wall clock `now` and the newest event time the engine has seen. A
    /// stream whose newest mention is older than the allowed lateness is a backlog, not live.
    pub fn on_batch(&mut self, now: EventTime, max_seen: EventTime) {
        let live = max_seen != EventTime::MIN
            && now.millis().saturating_sub(max_seen.millis()) <= self.lateness_ms;
        self.last = live.then_some((now, max_seen));
    }

    /// On a tick at wall clock `now`: the event time to move the engine to (the newest at the
    /// last batch plus the wall time since, at most the cap, never past `now`), when that is
    /// past `max_seen`.
    pub fn target(&self, now: EventTime, max_seen: EventTime) -> Option<EventTime> {
        let (at, newest) = self.last?;
        let idle = now
            .millis()
            .saturating_sub(at.millis())
            .clamp(0, self.cap_ms);
        let t = newest.plus_ms(idle).min(now);
        (t > max_seen).then_some(t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: i64 = EventTime::MINUTE_MS;

    #[test]
    fn an_idle_live_stream_follows_the_wall_clock_up_to_the_cap() {
        let mut c = IdleClock::new(5 * MIN);
        assert_eq!(c.cap_ms(), 10 * MIN);
        let t0 = EventTime(1_000 * MIN);
        // Nothing seen yet: nothing to move.
        assert_eq!(c.target(t0, EventTime::MIN), None);
        // The newest mention is 2 s old: live.
        c.on_batch(t0, t0.plus_ms(-2_000));
        assert_eq!(c.target(t0, t0.plus_ms(-2_000)), None);
        let later = t0.plus_ms(3 * MIN);
        assert_eq!(
            c.target(later, t0.plus_ms(-2_000)),
            Some(t0.plus_ms(3 * MIN - 2_000))
        );
        // Never past the cap, however long the silence (a source may be down).
        let much_later = t0.plus_ms(60 * MIN);
        assert_eq!(
            c.target(much_later, t0.plus_ms(-2_000)),
            Some(t0.plus_ms(10 * MIN - 2_000))
        );
        // Already there: nothing to do.
        assert_eq!(c.target(much_later, t0.plus_ms(10 * MIN)), None);
    }

    #[test]
    fn an_idle_stream_never_runs_ahead_of_the_wall_clock() {
        let mut c = IdleClock::new(5 * MIN);
        let now = EventTime(1_000 * MIN);
        // The newest mention is dated a minute ahead (within the sources' skew, or the clock
        // stepped back): event time waits for the wall clock instead of running on from it.
        c.on_batch(now, now.plus_ms(MIN));
        assert_eq!(c.target(now.plus_ms(30_000), now.plus_ms(MIN)), None);
        assert_eq!(
            c.target(now.plus_ms(3 * MIN), now.plus_ms(MIN)),
            Some(now.plus_ms(3 * MIN))
        );
    }

    #[test]
    fn a_backlog_is_never_moved_by_the_wall_clock() {
        let mut c = IdleClock::new(5 * MIN);
        let now = EventTime(1_000_000 * MIN);
        // Reading last month's file: its mentions are far older than the lateness.
        let old = now.plus_ms(-30 * 1440 * MIN);
        c.on_batch(now, old);
        assert_eq!(c.target(now.plus_ms(MIN), old), None);
        // It catches up and goes live, then falls behind again.
        c.on_batch(now, now.plus_ms(-MIN));
        assert!(c.target(now.plus_ms(MIN), now.plus_ms(-MIN)).is_some());
        c.on_batch(now.plus_ms(20 * MIN), now);
        assert_eq!(c.target(now.plus_ms(21 * MIN), now), None);
    }

    #[test]
    fn the_cap_stays_short_of_a_no_data_gap() {
        let c = IdleClock::new(60 * MIN);
        assert_eq!(c.cap_ms(), (GAP_MINUTES - 1) * MIN);
    }
}
