//! Seasonal baseline of a brand's per-minute mention volume, learned from the stream itself.
//!
//! Role: tells the detector how many (bot-discounted, weighted) mentions per minute are normal
//! for a brand at a given event time, so that the volume test compares like with like (a
//! lunchtime peak is not a crisis, the same volume at 3 am may be).
//!
//! Inputs: [`SeasonalBaseline::observe_minute`] once per completed minute with that minute's
//! weighted count, and whether the detector currently considers the brand anomalous.
//!
//! Outputs: [`SeasonalBaseline::expected_per_min`] (always finite and ≥ [`FLOOR_PER_MIN`]) and
//! [`SeasonalBaseline::minutes_observed`] (for the detector's cold-start floor).
//!
//! Model: three exponentially weighted means of the per-minute count, all in `f32`:
//! * a global level `L` (memory [`GLOBAL_MEMORY_MIN`] minutes, three days);
//! * 24 hour-of-day levels `D[h]` (memory [`DAY_MEMORY_MIN`] observed minutes of that hour,
//!   i.e. about a week of days);
//! * 168 hour-of-week levels `W[w]` (memory [`WEEK_MEMORY_MIN`] observed minutes of that hour
//!   of the week, i.e. about four weeks), weeks starting Monday 00:00 UTC.
//!
//! Each mean uses step `1 / min(n, memory)` where `n` counts its updates, so it is the plain
//! running mean until the memory fills and an EWMA afterwards (no warm-up bias toward zero).
//!
//! Blend (hierarchical shrinkage, additive): the hour-of-day estimate is shrunk toward the
//! global level and the hour-of-week estimate toward the hour-of-day one, each by the amount
//! of data its bucket holds (`n_eff = min(n, memory)`):
//! ```text
//! day  = (n_d · D[h] + K_DAY  · L)   / (n_d + K_DAY)
//! week = (n_w · W[w] + K_WEEK · day) / (n_w + K_WEEK)
//! expected = max(week, FLOOR_PER_MIN)
//! ```
//! with `K_DAY` = one day of that hour (60 minutes) and `K_WEEK` = two weeks of it (120). A
//! bucket never seen is therefore exactly its parent; once full, the hour of day carries 7/8 of
//! its own level and the hour of week 2/3. Additive blending (rather than multiplying factors)
//! keeps the estimate well defined when a level is zero, and avoids compounding two noisy
//! ratios.
//!
//! Robustness: a minute's count is winsorised at `max(5 · e, e + 10)` (`e` = the current
//! expectation for that minute) before it is learnt, so one burst cannot drag the level; the
//! detector learns minutes of an anomaly at a tenth of the normal step
//! ([`SeasonalBaseline::observe_minute_damped`]) and re-baselines after a lasting level shift
//! ([`SeasonalBaseline::rebase`]). NaN and negative counts are treated as zero.
//!
//! Invariants: fixed size (about 1.2 KiB, no heap); days and weeks are UTC; the same sequence
//! of calls always gives the same state. The fine-grained last hour lives in
//! [`super::window::BrandWindow`]; everything older than that lives only here.

use crate::domain::EventTime;

/// Weight (in minutes) of the level a re-baseline starts from.
pub const REBASE_WEIGHT_MIN: u32 = 360;
/// The smallest expectation ever reported (mentions per minute).
pub const FLOOR_PER_MIN: f64 = 0.01;
/// Memory of the global level, in minutes (three days).
pub const GLOBAL_MEMORY_MIN: u32 = 3 * 1440;
/// Memory of an hour-of-day level, in observed minutes of that hour (a week of days).
pub const DAY_MEMORY_MIN: u16 = 7 * 60;
/// Memory of an hour-of-week level, in observed minutes of that hour (four weeks).
pub const WEEK_MEMORY_MIN: u16 = 4 * 60;
/// A new brand's volume baseline floor while it has less than six hours of history (cold
/// start), and the level its baseline starts from ...
pub const COLD_START_FLOOR_PER_MIN: f64 = 0.5;
/// ... worth this many observed minutes (see [`SeasonalBaseline::with_prior`]).
pub const COLD_START_PRIOR_MINUTES: u32 = 60;
/// Prior strength (in minutes) of the global level for an hour-of-day bucket.
const K_DAY: f64 = 60.0;
/// Prior strength (in minutes) of the hour-of-day estimate for an hour-of-week bucket.
const K_WEEK: f64 = 120.0;
/// Winsorisation: counts above `max(WINSOR_RATIO · e, e + WINSOR_ABS)` are clipped.
const WINSOR_RATIO: f64 = 5.0;
const WINSOR_ABS: f64 = 5.0;

const HOUR_MS: i64 = 3_600_000;
/// 1970-01-01 was a Thursday: hours since the epoch plus three days are hours since a Monday.
const EPOCH_HOUR_OF_WEEK: i64 = 72;

/// Hour of the UTC day, `0..24`.
fn hour_of_day(t: EventTime) -> usize {
    t.millis().div_euclid(HOUR_MS).rem_euclid(24) as usize
}

/// Hour of the UTC week (Monday 00:00 = 0), `0..168`.
fn hour_of_week(t: EventTime) -> usize {
    (t.millis().div_euclid(HOUR_MS) + EPOCH_HOUR_OF_WEEK).rem_euclid(168) as usize
}

/// A brand's learned seasonal volume profile.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SeasonalBaseline {
    global: f32,
    global_n: u32,
    day: [f32; 24],
    day_n: [u16; 24],
    #[serde(with = "serde_big_array::BigArray")]
    week: [f32; 168],
    #[serde(with = "serde_big_array::BigArray")]
    week_n: [u16; 168],
    observed: u32,
}

impl Default for SeasonalBaseline {
    fn default() -> Self {
        Self::new()
    }
}

impl SeasonalBaseline {
    pub fn new() -> SeasonalBaseline {
        SeasonalBaseline {
            global: 0.0,
            global_n: 0,
            day: [0.0; 24],
            day_n: [0; 24],
            week: [0.0; 168],
            week_n: [0; 168],
            observed: 0,
        }
    }

    /// Feeds the (bot-discounted, weighted) count of one completed minute starting at
    /// `minute_start`.
    ///
    /// When `anomalous` is true the minute only counts as observed time; otherwise the count,
    /// winsorised at `max(5 · e, e + 10)`, updates the global, hour-of-day and hour-of-week
    /// levels.
    pub fn observe_minute(&mut self, minute_start: EventTime, count: f64, anomalous: bool) {
        self.observe_minute_damped(minute_start, count, if anomalous { 0.0 } else { 1.0 });
    }

    /// [`SeasonalBaseline::observe_minute`] learning at `learn` times the normal step
    /// (`0` = only counted as observed time, `1` = a normal minute): how the detector keeps
    /// learning, slowly, during an anomaly, so that a lasting new level is not locked out.
    pub fn observe_minute_damped(&mut self, minute_start: EventTime, count: f64, learn: f64) {
        self.observed = self.observed.saturating_add(1);
        let learn = if learn.is_finite() {
            learn.clamp(0.0, 1.0) as f32
        } else {
            0.0
        };
        if learn == 0.0 {
            return;
        }
        let e = self.expected_per_min(minute_start);
        let cap = (WINSOR_RATIO * e).max(e + WINSOR_ABS);
        let c = if count.is_nan() || count < 0.0 {
            0.0
        } else {
            count.min(cap)
        } as f32;

        self.global_n = self.global_n.saturating_add(1);
        let a = learn / self.global_n.min(GLOBAL_MEMORY_MIN) as f32;
        self.global += a * (c - self.global);

        let h = hour_of_day(minute_start);
        self.day_n[h] = self.day_n[h].saturating_add(1).min(DAY_MEMORY_MIN);
        let a = learn / f32::from(self.day_n[h]);
        self.day[h] += a * (c - self.day[h]);

        let w = hour_of_week(minute_start);
        self.week_n[w] = self.week_n[w].saturating_add(1).min(WEEK_MEMORY_MIN);
        let a = learn / f32::from(self.week_n[w]);
        self.week[w] += a * (c - self.week[w]);
    }

    /// Expected weighted count per minute at `t`: the hour-of-week level shrunk toward the
    /// hour-of-day level, shrunk toward the global level (see the module docs). Always finite
    /// and at least [`FLOOR_PER_MIN`]; before any data it is the floor.
    pub fn expected_per_min(&self, t: EventTime) -> f64 {
        let global = f64::from(self.global);
        let h = hour_of_day(t);
        let nd = f64::from(self.day_n[h]);
        let day = (nd * f64::from(self.day[h]) + K_DAY * global) / (nd + K_DAY);
        let w = hour_of_week(t);
        let nw = f64::from(self.week_n[w]);
        let week = (nw * f64::from(self.week[w]) + K_WEEK * day) / (nw + K_WEEK);
        if week.is_finite() {
            week.max(FLOOR_PER_MIN)
        } else {
            FLOOR_PER_MIN
        }
    }

    /// Minutes fed so far, anomalous ones included (saturating).
    /// A baseline that starts from a prior belief of `level_per_min`, worth `weight_minutes`
    /// minutes of observations (cold start). Real minutes wash the prior out at the pace of
    /// the running mean; until then a new brand's first burst cannot teach the baseline that
    /// bursts are normal before the detector has seen it as a spike.
    pub fn with_prior(level_per_min: f64, weight_minutes: u32) -> SeasonalBaseline {
        let mut b = SeasonalBaseline::new();
        if level_per_min.is_finite() && level_per_min > 0.0 {
            b.global = level_per_min as f32;
            b.global_n = weight_minutes.min(GLOBAL_MEMORY_MIN);
        }
        b
    }

    /// Re-baselines at `level_per_min` after a level shift (an anomaly that lasted): the level
    /// becomes the global mean, worth [`REBASE_WEIGHT_MIN`] minutes, and the hour-of-day and
    /// hour-of-week buckets restart from it (their shape is learnt again).
    pub fn rebase(&mut self, level_per_min: f64) {
        if !level_per_min.is_finite() || level_per_min < 0.0 {
            return;
        }
        let level = level_per_min as f32;
        self.global = level;
        self.global_n = REBASE_WEIGHT_MIN;
        self.day = [level; 24];
        self.day_n = [0; 24];
        self.week = [level; 168];
        self.week_n = [0; 168];
    }

    pub fn minutes_observed(&self) -> u32 {
        self.observed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const MIN: i64 = EventTime::MINUTE_MS;
    /// 2026-03-02T00:00:00Z, a Monday.
    const MONDAY: i64 = 1_772_409_600_000;

    fn at_hour(day: i64, hour: i64) -> EventTime {
        EventTime(MONDAY + day * 1440 * MIN + hour * 60 * MIN)
    }

    fn feed(b: &mut SeasonalBaseline, start: i64, minutes: i64, f: impl Fn(EventTime) -> f64) {
        for k in 0..minutes {
            let t = EventTime(start + k * MIN);
            b.observe_minute(t, f(t), false);
        }
    }

    #[test]
    fn a_prior_holds_while_a_new_brand_bursts() {
        let mut b = SeasonalBaseline::with_prior(0.5, 60);
        assert!((b.expected_per_min(at_hour(0, 9)) - 0.5).abs() < 1e-6);
        assert_eq!(b.minutes_observed(), 0);
        // The first three minutes of a 20-per-minute burst on a brand never seen before, the
        // time the detector needs to call it a spike (after which it stops learning).
        feed(&mut b, at_hour(0, 9).millis(), 3, |_| 20.0);
        let e = b.expected_per_min(at_hour(0, 9));
        assert!(e < 1.5, "the burst taught the baseline {e}/min");
        let mut without_prior = SeasonalBaseline::new();
        feed(&mut without_prior, at_hour(0, 9).millis(), 3, |_| 20.0);
        assert!(without_prior.expected_per_min(at_hour(0, 9)) > 2.0 * e);
        // A steady rate still takes over once it has been seen for long enough.
        feed(&mut b, at_hour(0, 10).millis(), 3 * 1440, |_| 4.0);
        let e = b.expected_per_min(at_hour(3, 10));
        assert!((e - 4.0).abs() < 0.2, "{e}");
    }

    #[test]
    fn calendar_buckets_are_utc_and_weeks_start_monday() {
        assert_eq!(hour_of_day(EventTime(MONDAY)), 0);
        assert_eq!(hour_of_week(EventTime(MONDAY)), 0);
        assert_eq!(hour_of_week(at_hour(2, 5)), 53);
        assert_eq!(hour_of_week(at_hour(6, 23)), 167);
        assert_eq!(hour_of_week(at_hour(7, 0)), 0);
        assert_eq!(hour_of_day(EventTime(-1)), 23);
    }

    #[test]
    fn baseline_is_compact_and_starts_at_the_floor() {
        assert!(std::mem::size_of::<SeasonalBaseline>() <= 2048);
        let b = SeasonalBaseline::new();
        assert_eq!(b.expected_per_min(EventTime(MONDAY)), FLOOR_PER_MIN);
        assert_eq!(b.minutes_observed(), 0);
    }

    #[test]
    fn converges_to_a_constant_rate() {
        let mut b = SeasonalBaseline::new();
        feed(&mut b, MONDAY, 3 * 1440, |_| 5.0);
        for h in [0, 7, 13, 22] {
            let e = b.expected_per_min(at_hour(3, h));
            assert!((e - 5.0).abs() < 0.05, "hour {h}: {e}");
        }
        assert_eq!(b.minutes_observed(), 3 * 1440);
    }

    #[test]
    fn learns_a_diurnal_profile() {
        let mut b = SeasonalBaseline::new();
        let profile = |t: EventTime| {
            if (9..17).contains(&hour_of_day(t)) {
                10.0
            } else {
                1.0
            }
        };
        feed(&mut b, MONDAY, 14 * 1440, profile);
        let noon = b.expected_per_min(at_hour(14, 12));
        let night = b.expected_per_min(at_hour(14, 3));
        assert!(noon > 8.0 && noon < 11.0, "noon {noon}");
        assert!(night > 0.8 && night < 2.0, "night {night}");
        assert!(noon > 5.0 * night, "noon {noon} night {night}");
    }

    #[test]
    fn anomalous_minutes_do_not_raise_it() {
        let mut b = SeasonalBaseline::new();
        feed(&mut b, MONDAY, 2 * 1440, |_| 2.0);
        let t = at_hour(2, 10);
        let before = b.expected_per_min(t);
        for k in 0..180 {
            b.observe_minute(t.plus_ms(k * MIN), 500.0, true);
        }
        assert_eq!(b.expected_per_min(t), before);
        assert_eq!(b.minutes_observed(), 2 * 1440 + 180);
    }

    #[test]
    fn a_single_burst_minute_moves_it_little() {
        let mut b = SeasonalBaseline::new();
        feed(&mut b, MONDAY, 7 * 1440, |_| 2.0);
        let t = at_hour(7, 10);
        let before = b.expected_per_min(t);
        b.observe_minute(t, 1.0e6, false);
        let after = b.expected_per_min(t.plus_ms(MIN));
        assert!(after >= before);
        assert!(after < before * 1.1, "before {before} after {after}");
    }

    #[test]
    fn zero_history_minutes_pull_it_down() {
        let mut b = SeasonalBaseline::new();
        feed(&mut b, MONDAY, 1440, |_| 4.0);
        let e1 = b.expected_per_min(at_hour(1, 12));
        feed(&mut b, at_hour(1, 0).millis(), 3 * 1440, |_| 0.0);
        let e2 = b.expected_per_min(at_hour(4, 12));
        assert!(e2 < 0.5 * e1, "{e1} -> {e2}");
        assert!(e2 >= FLOOR_PER_MIN);
    }

    proptest! {
        #[test]
        fn expected_is_always_finite_and_positive(
            steps in proptest::collection::vec(
                (1i64..600, prop_oneof![0.0f64..10.0, 0.0f64..1e12, Just(f64::INFINITY)], any::<bool>()),
                0..400,
            ),
            probe in 0i64..(7 * 1440),
        ) {
            let mut b = SeasonalBaseline::new();
            let mut t = MONDAY;
            for (gap, count, anomalous) in steps {
                t += gap * MIN;
                b.observe_minute(EventTime(t), count, anomalous);
                let e = b.expected_per_min(EventTime(t));
                prop_assert!(e.is_finite() && e > 0.0, "{}", e);
            }
            let e = b.expected_per_min(EventTime(t + probe * MIN));
            prop_assert!(e.is_finite() && e >= FLOOR_PER_MIN, "{}", e);
        }
    }
}
