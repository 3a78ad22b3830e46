//! The event-time watermark: the newest event time seen minus the allowed lateness.
//!
//! Input: each mention's event time, in arrival order. Output: whether it is on time, late but
//! still counted, or too late (older than the watermark) and dropped. Invariant: the watermark
//! never moves backwards.

use crate::domain::EventTime;

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

    proptest! {
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
