//! Per-brand, event-time, pane-based sliding windows over the last hour.
//!
//! Role: the detector keeps one [`BrandWindow`] per brand and reads 5-, 15- and 60-minute
//! aggregates of it every completed minute (volume, sentiment shares, reach, reactions, unique
//! authors, per-minute counts for the growth fit).
//!
//! Inputs: one [`Observation`] per brand-attributed mention ([`BrandWindow::add`]), keyed by
//! its event time (never the wall clock).
//!
//! Outputs: [`ViewStats`] over any run of up to [`PANES`] consecutive minutes
//! ([`BrandWindow::view`]), the weighted per-minute series ([`BrandWindow::minute_counts`]) and
//! single panes ([`BrandWindow::pane`]).
//!
//! Design: a ring of [`PANES`] one-minute panes. The pane of minute `m` (minutes since the
//! epoch) lives in slot `m mod PANES`; the ring holds the minutes `newest - PANES + 1 ..=
//! newest`, where `newest` is the newest minute ever added. An observation of a newer minute
//! advances the ring, clearing every slot it reuses; one older than the ring is rejected with
//! [`TooOld`] (the caller keeps it as evidence only). Late observations inside the ring are
//! added to their own minute, so the aggregates do not depend on arrival order.
//!
//! Invariants: the window is a fixed-size value with no heap (`size_of::<BrandWindow>()` is
//! about 4 KiB); each held slot holds exactly the observations of its minute; minutes outside
//! the ring read as zero. Long history (24 h and more, the seasonal profile) lives in
//! [`super::baseline::SeasonalBaseline`], not here: the window only answers "what happened in
//! the last hour".

use std::fmt;

use crate::domain::fmix64;
use crate::domain::{EventTime, MentionKind};

/// Number of one-minute panes in the ring (covers the last hour with a few minutes spare for
/// late data).
pub const PANES: usize = 64;
const PANES_I64: i64 = PANES as i64;

/// One mention as the window sees it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Observation {
    /// Event time of the mention.
    pub at: EventTime,
    pub kind: MentionKind,
    /// Sentiment label is negative.
    pub negative: bool,
    /// Sentiment label is positive.
    pub positive: bool,
    /// Author's followers (0 when unknown).
    pub reach: u64,
    /// A hash of the author id (any well-spread or not 64-bit key; it is re-mixed here).
    pub author_key: u64,
    /// Bot/spam discount in `[0, 1]` (`score::trust::bot_weight`).
    pub weight: f32,
    /// Whether the mention states a complaint of each category group
    /// ([`GROUPS`]: service failures; conduct and safety; outages among the service failures).
    pub groups: [bool; GROUPS],
}

/// Category groups with a signal stream of their own: 0 = outage, billing and service
/// complaints (routed to support), 1 = conduct and safety (routed to field-ops), 2 = the
/// service complaints that report an outage (a part of group 0 with a level of its own: an
/// outage builds against the brand's usual outage reports, not its everyday grumbles).
pub const GROUPS: usize = 3;

/// The group whose story a group's stream tells: the outage stream ([`OUTAGE_GROUP`]) is part
/// of the service complaints' story (group 0).
pub fn story_group(g: usize) -> usize {
    if g == OUTAGE_GROUP {
        SERVICE_GROUP
    } else {
        g
    }
}

/// The service complaints' group (outage, billing, service).
pub const SERVICE_GROUP: usize = 0;
/// The conduct and safety group.
pub const CONDUCT_GROUP: usize = 1;
/// The outage reports among the service complaints.
pub const OUTAGE_GROUP: usize = 2;

/// The observation's minute has already left the ring.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooOld;

impl fmt::Display for TooOld {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("observation is older than the window's ring of panes")
    }
}

impl std::error::Error for TooOld {}

/// Aggregates of one minute.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PaneStats {
    /// Mentions (raw count).
    pub mentions: u32,
    /// Sum of the mentions' bot-discount weights.
    pub weighted: f32,
    pub negative: u32,
    pub positive: u32,
    pub posts: u32,
    pub reposts: u32,
    pub quotes: u32,
    pub replies: u32,
    /// Sum of the authors' followers (saturating).
    pub reach: u64,
    /// Distinct-author sketch: a 64-bit linear-counting bitmap (one bit per author hash).
    pub authors: u64,
    /// Bot-discounted weight of the mentions in each category group ([`GROUPS`]).
    pub groups: [f32; GROUPS],
}

/// Aggregates over a run of consecutive minutes.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ViewStats {
    pub mentions: u32,
    /// Sum of weights (bot-discounted volume).
    pub weighted: f64,
    /// Negative mentions / mentions, 0 when there are none; in `[0, 1]`.
    pub negative_share: f64,
    /// Positive mentions / mentions, 0 when there are none; in `[0, 1]`.
    pub positive_share: f64,
    pub reach: u64,
    pub reposts: u32,
    pub quotes: u32,
    pub replies: u32,
    /// Linear-counting estimate over the union of the panes' author bitmaps. Accurate to a few
    /// percent up to ~30 authors, saturating at [`MAX_AUTHORS_ESTIMATE`] once all 64 bits are set.
    pub unique_authors_estimate: u32,
    /// (reposts + quotes + replies) per minute of the view.
    pub velocity_per_min: f64,
}

/// The estimate reported when every bit of the author sketch is set (64 · ln 64, rounded).
pub const MAX_AUTHORS_ESTIMATE: u32 = 266;

/// Linear counting over a 64-bit bitmap: n ≈ −m · ln(zeros / m).
fn estimate_distinct(bits: u64) -> u32 {
    let zeros = bits.count_zeros();
    if zeros == 0 {
        return MAX_AUTHORS_ESTIMATE;
    }
    let m = 64.0_f64;
    let n = -m * (f64::from(zeros) / m).ln();
    n.round() as u32
}

/// A brand's last hour, one pane per minute.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct BrandWindow {
    #[serde(with = "serde_big_array::BigArray")]
    panes: [PaneStats; PANES],
    /// Newest minute index ever added; `None` before the first observation.
    newest: Option<i64>,
}

impl Default for BrandWindow {
    fn default() -> Self {
        Self::new()
    }
}

impl BrandWindow {
    pub fn new() -> BrandWindow {
        BrandWindow {
            panes: [PaneStats::default(); PANES],
            newest: None,
        }
    }

    fn slot(minute: i64) -> usize {
        minute.rem_euclid(PANES_I64) as usize
    }

    /// Whether the ring currently holds minute `m`.
    fn holds(&self, m: i64) -> bool {
        match self.newest {
            Some(n) => m <= n && m > n.saturating_sub(PANES_I64),
            None => false,
        }
    }

    /// Adds to the pane of `obs.at`'s minute.
    ///
    /// Returns `Err(TooOld)` when that minute already fell out of the ring (older than
    /// `newest - PANES` minutes, i.e. `m <= newest - PANES`). A newer minute advances the ring,
    /// clearing the panes it reuses.
    pub fn add(&mut self, obs: &Observation) -> Result<(), TooOld> {
        let m = obs.at.minute_index();
        match self.newest {
            None => self.newest = Some(m),
            Some(n) if m > n => {
                if m - n >= PANES_I64 {
                    self.panes = [PaneStats::default(); PANES];
                } else {
                    for k in (n + 1)..=m {
                        self.panes[Self::slot(k)] = PaneStats::default();
                    }
                }
                self.newest = Some(m);
            }
            Some(n) if m <= n.saturating_sub(PANES_I64) => return Err(TooOld),
            Some(_) => {}
        }
        let p = &mut self.panes[Self::slot(m)];
        p.mentions = p.mentions.saturating_add(1);
        p.weighted += obs.weight;
        p.negative = p.negative.saturating_add(u32::from(obs.negative));
        p.positive = p.positive.saturating_add(u32::from(obs.positive));
        let kind = match obs.kind {
            MentionKind::Post => &mut p.posts,
            MentionKind::Repost => &mut p.reposts,
            MentionKind::Quote => &mut p.quotes,
            MentionKind::Reply => &mut p.replies,
        };
        *kind = kind.saturating_add(1);
        p.reach = p.reach.saturating_add(obs.reach);
        p.authors |= 1u64 << (fmix64(obs.author_key) & 63);
        for (g, &member) in obs.groups.iter().enumerate() {
            if member {
                p.groups[g] += obs.weight;
            }
        }
        Ok(())
    }

    /// The minute indices `end - minutes + 1 ..= end` of a view, clamped to `PANES` minutes.
    fn range(end_minute_start: EventTime, minutes: u32) -> std::ops::RangeInclusive<i64> {
        let end = end_minute_start.minute_index();
        let n = i64::from(minutes).min(PANES_I64);
        (end - n + 1)..=end
    }

    /// Stats over `minutes` panes ending with (and including) the pane starting at
    /// `end_minute_start`: minutes `end - minutes + 1 ..= end`. Minutes never seen, or no
    /// longer held, count as zero. `minutes` is clamped to [`PANES`]; 0 gives all-zero stats.
    pub fn view(&self, end_minute_start: EventTime, minutes: u32) -> ViewStats {
        let mut mentions = 0u32;
        let mut weighted = 0.0f64;
        let mut negative = 0u32;
        let mut positive = 0u32;
        let mut reach = 0u64;
        let mut reposts = 0u32;
        let mut quotes = 0u32;
        let mut replies = 0u32;
        let mut authors = 0u64;
        let range = Self::range(end_minute_start, minutes);
        let span = (range.end() - range.start() + 1).max(0);
        for m in range {
            if !self.holds(m) {
                continue;
            }
            let p = &self.panes[Self::slot(m)];
            mentions = mentions.saturating_add(p.mentions);
            weighted += f64::from(p.weighted);
            negative = negative.saturating_add(p.negative);
            positive = positive.saturating_add(p.positive);
            reach = reach.saturating_add(p.reach);
            reposts = reposts.saturating_add(p.reposts);
            quotes = quotes.saturating_add(p.quotes);
            replies = replies.saturating_add(p.replies);
            authors |= p.authors;
        }
        let share = |x: u32| {
            if mentions == 0 {
                0.0
            } else {
                f64::from(x) / f64::from(mentions)
            }
        };
        let reactions = f64::from(reposts) + f64::from(quotes) + f64::from(replies);
        ViewStats {
            mentions,
            weighted,
            negative_share: share(negative),
            positive_share: share(positive),
            reach,
            reposts,
            quotes,
            replies,
            unique_authors_estimate: if authors == 0 {
                0
            } else {
                estimate_distinct(authors)
            },
            velocity_per_min: if span == 0 {
                0.0
            } else {
                reactions / span as f64
            },
        }
    }

    /// Fills `out` (cleared first) with the weighted count of each of the `minutes` panes
    /// ending at `end_minute_start`, oldest first (zeros for missing minutes). `minutes` is
    /// clamped to [`PANES`].
    pub fn minute_counts(&self, end_minute_start: EventTime, minutes: u32, out: &mut Vec<f64>) {
        out.clear();
        for m in Self::range(end_minute_start, minutes) {
            let w = if self.holds(m) {
                f64::from(self.panes[Self::slot(m)].weighted)
            } else {
                0.0
            };
            out.push(w);
        }
    }

    /// The pane of the minute that holds `minute_start`, if the ring still holds it (a held
    /// minute without observations gives an all-zero pane).
    pub fn pane(&self, minute_start: EventTime) -> Option<PaneStats> {
        let m = minute_start.minute_index();
        self.holds(m).then(|| self.panes[Self::slot(m)])
    }

    /// The newest minute start ever added, if any.
    pub fn newest_minute(&self) -> Option<EventTime> {
        self.newest
            .map(|m| EventTime(m.saturating_mul(EventTime::MINUTE_MS)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const MIN: i64 = EventTime::MINUTE_MS;

    fn obs(minute: i64, kind: MentionKind) -> Observation {
        Observation {
            at: EventTime(minute * MIN + 1234),
            kind,
            negative: false,
            positive: false,
            reach: 10,
            author_key: minute as u64,
            weight: 1.0,
            groups: [false; GROUPS],
        }
    }

    fn at(minute: i64) -> EventTime {
        EventTime(minute * MIN)
    }

    #[test]
    fn window_is_compact() {
        // 64 panes of 64 bytes (three group weights since the outage stream) and the newest
        // minute: no heap, about 4 KiB per mentioned brand.
        assert!(std::mem::size_of::<PaneStats>() <= 64);
        assert!(std::mem::size_of::<BrandWindow>() <= 4096 + 32);
    }

    #[test]
    fn add_then_view_counts_everything_once() {
        let mut w = BrandWindow::new();
        let base = 1_000_000;
        let mut o = obs(base, MentionKind::Post);
        o.negative = true;
        o.weight = 0.5;
        w.add(&o).unwrap();
        w.add(&obs(base, MentionKind::Repost)).unwrap();
        w.add(&obs(base + 1, MentionKind::Quote)).unwrap();
        w.add(&obs(base + 2, MentionKind::Reply)).unwrap();
        let v = w.view(at(base + 2), 15);
        assert_eq!(v.mentions, 4);
        assert!((v.weighted - 3.5).abs() < 1e-9);
        assert_eq!((v.reposts, v.quotes, v.replies), (1, 1, 1));
        assert_eq!(v.reach, 40);
        assert!((v.negative_share - 0.25).abs() < 1e-12);
        assert_eq!(v.positive_share, 0.0);
        assert!((v.velocity_per_min - 3.0 / 15.0).abs() < 1e-12);
        // The view includes its end minute and nothing after it.
        let v = w.view(at(base + 1), 1);
        assert_eq!(v.mentions, 1);
        assert_eq!(v.quotes, 1);
        let v = w.view(at(base), 1);
        assert_eq!(v.mentions, 2);
        let p = w.pane(at(base)).unwrap();
        assert_eq!((p.mentions, p.posts, p.reposts, p.negative), (2, 1, 1, 1));
        assert!((p.weighted - 1.5).abs() < 1e-6);
    }

    #[test]
    fn ring_advance_clears_reused_panes() {
        let mut w = BrandWindow::new();
        w.add(&obs(100, MentionKind::Post)).unwrap();
        w.add(&obs(100, MentionKind::Post)).unwrap();
        // Minute 100 + PANES reuses minute 100's slot.
        w.add(&obs(100 + PANES_I64, MentionKind::Post)).unwrap();
        assert_eq!(w.pane(at(100)), None);
        assert_eq!(w.pane(at(100 + PANES_I64)).unwrap().mentions, 1);
        let v = w.view(at(100 + PANES_I64), PANES as u32);
        assert_eq!(v.mentions, 1);
        // A large jump clears everything.
        w.add(&obs(100 + 10 * PANES_I64, MentionKind::Post))
            .unwrap();
        let v = w.view(at(100 + 10 * PANES_I64), PANES as u32);
        assert_eq!(v.mentions, 1);
    }

    #[test]
    fn too_old_minutes_are_rejected() {
        let mut w = BrandWindow::new();
        w.add(&obs(500, MentionKind::Post)).unwrap();
        assert_eq!(w.add(&obs(500 - PANES_I64, MentionKind::Post)), Err(TooOld));
        assert_eq!(w.add(&obs(400, MentionKind::Post)), Err(TooOld));
        // The oldest held minute still accepts late data.
        w.add(&obs(500 - PANES_I64 + 1, MentionKind::Post)).unwrap();
        assert_eq!(w.view(at(500), PANES as u32).mentions, 2);
        assert!(!TooOld.to_string().is_empty());
    }

    #[test]
    fn late_data_within_the_ring_lands_in_its_minute() {
        let mut w = BrandWindow::new();
        w.add(&obs(1000, MentionKind::Post)).unwrap();
        w.add(&obs(990, MentionKind::Post)).unwrap();
        assert_eq!(w.pane(at(990)).unwrap().mentions, 1);
        assert_eq!(w.view(at(995), 6).mentions, 1);
        assert_eq!(w.view(at(1000), 5).mentions, 1);
    }

    #[test]
    fn view_over_missing_minutes_is_zero() {
        let w = BrandWindow::new();
        assert_eq!(w.view(at(42), 15), ViewStats::default());
        assert_eq!(w.pane(at(42)), None);
        let mut w = BrandWindow::new();
        w.add(&obs(1000, MentionKind::Post)).unwrap();
        assert_eq!(w.view(at(999), 15).mentions, 0);
        assert_eq!(w.view(at(2000), 15), ViewStats::default());
        assert_eq!(w.view(at(1000), 0), ViewStats::default());
        let mut out = vec![7.0];
        w.minute_counts(at(1002), 5, &mut out);
        assert_eq!(out, vec![0.0, 0.0, 1.0, 0.0, 0.0]);
    }

    #[test]
    fn shares_stay_in_unit_interval() {
        let mut w = BrandWindow::new();
        for i in 0..50 {
            let mut o = obs(10, MentionKind::Post);
            o.negative = i % 3 == 0;
            o.positive = i % 5 == 0;
            w.add(&o).unwrap();
        }
        let v = w.view(at(10), 15);
        assert!((0.0..=1.0).contains(&v.negative_share));
        assert!((0.0..=1.0).contains(&v.positive_share));
        assert!((v.negative_share - 17.0 / 50.0).abs() < 1e-12);
    }

    #[test]
    fn unique_authors_estimate_is_close_for_small_counts() {
        let mut w = BrandWindow::new();
        for a in 0..20u64 {
            for _ in 0..3 {
                let mut o = obs(7, MentionKind::Post);
                o.author_key = a.wrapping_mul(0x9e37_79b9_7f4a_7c15);
                w.add(&o).unwrap();
            }
        }
        let est = w.view(at(7), 5).unique_authors_estimate;
        assert!((14..=28).contains(&est), "estimate {est}");
        let mut one = BrandWindow::new();
        one.add(&obs(7, MentionKind::Post)).unwrap();
        one.add(&obs(7, MentionKind::Post)).unwrap();
        assert_eq!(one.view(at(7), 5).unique_authors_estimate, 1);
    }

    proptest! {
        #[test]
        fn view_and_minute_counts_agree_with_what_was_added(
            newest in -10_000i64..10_000,
            items in proptest::collection::vec((0i64..80, 0u8..4, 0.0f32..1.0), 0..200),
        ) {
            let mut w = BrandWindow::new();
            let mut added: Vec<(i64, f32)> = Vec::new();
            // Establish the newest minute first so `items` land in or before the ring.
            w.add(&obs(newest, MentionKind::Post)).unwrap();
            added.push((newest, 1.0));
            for (back, kind, weight) in items {
                let m = newest - back;
                let kind = match kind {
                    0 => MentionKind::Post,
                    1 => MentionKind::Repost,
                    2 => MentionKind::Quote,
                    _ => MentionKind::Reply,
                };
                let mut o = obs(m, kind);
                o.weight = weight;
                let r = w.add(&o);
                if back >= PANES_I64 {
                    prop_assert_eq!(r, Err(TooOld));
                } else {
                    prop_assert!(r.is_ok());
                    added.push((m, weight));
                }
            }
            let v = w.view(at(newest), PANES as u32);
            prop_assert_eq!(v.mentions as usize, added.len());
            let mut out = Vec::new();
            w.minute_counts(at(newest), PANES as u32, &mut out);
            prop_assert_eq!(out.len(), PANES);
            let sum: f64 = out.iter().sum();
            prop_assert!((sum - v.weighted).abs() < 1e-6 * (1.0 + v.weighted));
            let expected: f64 = added.iter().map(|&(_, w)| f64::from(w)).sum();
            prop_assert!((v.weighted - expected).abs() < 1e-3 * (1.0 + expected));
            // A 15-minute view counts exactly the observations of its minutes.
            let in15 = added.iter().filter(|&&(m, _)| m > newest - 15).count();
            prop_assert_eq!(w.view(at(newest), 15).mentions as usize, in15);
            prop_assert!((0.0..=1.0).contains(&v.negative_share));
        }
    }
}
