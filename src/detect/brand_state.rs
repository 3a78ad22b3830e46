//! A brand's detection state: its minute window and seasonal baseline, clusters and their
//! evidence, open incidents and id sequence, complaint streams, busiest threads, and the slow
//! memories of how it is usually talked about (its usual negative share, how often it is named
//! only as an ordinary word). The detector (`detector`) owns one per brand and steps it each
//! minute; a checkpoint serialises it as is.

use super::baseline::{SeasonalBaseline, COLD_START_FLOOR_PER_MIN, COLD_START_PRIOR_MINUTES};
use super::cluster::Clusterer;
use super::evidence::Evidence;
use super::lifecycle::{IdSequence, Incident, Scope};
use super::streams::{tells_group, GroupStream};
use super::threads::Threads;
use super::virality::DuplicateTracker;
use super::window::{BrandWindow, CONDUCT_GROUP, GROUPS, OUTAGE_GROUP, SERVICE_GROUP};
use crate::config::Config;
use crate::domain::scored::Naming;
use crate::domain::{EventTime, Severity};

/// Clusters per brand that keep evidence; the least recently active is dropped first.
pub const MAX_CLUSTERS: usize = 16;

/// The usual negative share starts at this prior, worth this many mentions, and learns with
/// this step per normal minute (memory about a day).
pub(super) const USUAL_NEGATIVE_PRIOR: f64 = 0.2;
pub(super) const USUAL_PRIOR_MENTIONS: f64 = 20.0;
pub(super) const USUAL_STEP: f64 = 1.0 / 1440.0;
/// The usual share of mentions naming a brand only as an ordinary word starts at this prior
/// (worth [`USUAL_PRIOR_MENTIONS`]) and learns minute by minute as the usual negative share
/// does (memory about a day, [`USUAL_STEP`]). A memory counted in mentions would be an hour on
/// a busy brand: an ordinary word trending over two hours would teach the brand that it is
/// usually the word before the rise is significant enough to stop learning.
pub(super) const USUAL_PLAIN_PRIOR: f64 = 0.3;

/// Minutes over which `NamingWindow` counts how a brand is named now.
pub const NAMING_WINDOW: usize = 15;

/// Per-minute counts of mentions naming a brand in their own text and of those naming it only
/// as an ordinary word, over the last [`NAMING_WINDOW`] minutes.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
pub(super) struct NamingWindow {
    /// Newest minute counted; slot `m % NAMING_WINDOW` holds minute `m`.
    pub(super) head: i64,
    pub(super) named: [u32; NAMING_WINDOW],
    pub(super) plain: [u32; NAMING_WINDOW],
}

impl NamingWindow {
    pub(super) fn add(&mut self, minute: i64, naming: Naming) {
        if naming == Naming::Thread {
            return;
        }
        if minute > self.head {
            let gap = (minute - self.head).min(NAMING_WINDOW as i64);
            for k in 0..gap {
                let slot = (minute - k).rem_euclid(NAMING_WINDOW as i64) as usize;
                self.named[slot] = 0;
                self.plain[slot] = 0;
            }
            self.head = minute;
        } else if minute <= self.head - NAMING_WINDOW as i64 {
            return;
        }
        let slot = minute.rem_euclid(NAMING_WINDOW as i64) as usize;
        self.named[slot] += 1;
        self.plain[slot] += u32::from(naming == Naming::Plain);
    }

    /// (named, plain) in `minute` alone; (0, 0) once it has left the window.
    pub(super) fn at(&self, minute: i64) -> (u32, u32) {
        if minute > self.head || minute <= self.head - NAMING_WINDOW as i64 {
            return (0, 0);
        }
        let slot = minute.rem_euclid(NAMING_WINDOW as i64) as usize;
        (self.named[slot], self.plain[slot])
    }

    /// (named, plain) over the window ending at `minute`.
    pub(super) fn totals(&self, minute: i64) -> (u64, u64) {
        let lo = minute - NAMING_WINDOW as i64 + 1;
        let (mut named, mut plain) = (0u64, 0u64);
        for m in lo.max(self.head - NAMING_WINDOW as i64 + 1)..=minute.min(self.head) {
            let slot = m.rem_euclid(NAMING_WINDOW as i64) as usize;
            named += u64::from(self.named[slot]);
            plain += u64::from(self.plain[slot]);
        }
        (named, plain)
    }
}

#[derive(serde::Serialize, serde::Deserialize)]
pub(super) struct ClusterEvidence {
    pub(super) id: u64,
    pub(super) evidence: Evidence,
}

#[derive(serde::Serialize, serde::Deserialize)]
pub(super) struct BrandState {
    pub(super) window: BrandWindow,
    pub(super) baseline: SeasonalBaseline,
    pub(super) baseline_through: Option<i64>,
    pub(super) duplicates: DuplicateTracker,
    pub(super) clusterer: Clusterer,
    pub(super) clusters: Vec<ClusterEvidence>,
    pub(super) spike_run: u32,
    /// Consecutive minutes significant on raw counts but not after the bot discount.
    pub(super) raw_spike_run: u32,
    pub(super) p_value: f64,
    /// No volume incident opens before this event time (cool-down after a resolve).
    pub(super) quiet_until: EventTime,
    pub(super) incidents: Vec<Incident>,
    pub(super) ids: IdSequence,
    pub(super) last_mention_minute: i64,
    /// Consecutive minutes the brand's volume has been anomalous.
    pub(super) anomalous_run: u32,
    /// Exponentially weighted negative and total mentions per minute (memory about a day):
    /// their ratio is the brand's usual negative share.
    pub(super) usual_negative: f64,
    pub(super) usual_mentions: f64,
    /// Exponentially weighted mentions naming the brand per minute, and those naming it only
    /// as an ordinary word (memory about a day, learnt in minutes that are not anomalous).
    pub(super) usual_plain: f64,
    pub(super) usual_named: f64,
    /// Mentions naming the brand, and those naming it only as an ordinary word, in each of
    /// the last [`NAMING_WINDOW`] minutes: how the brand is named *now*.
    pub(super) naming_now: NamingWindow,
    pub(super) groups: [GroupStream; GROUPS],
    /// The brand's busiest threads (a story told without a post the triage recognised).
    pub(super) threads: Threads,
}

impl BrandState {
    pub(super) fn new(cfg: &Config) -> BrandState {
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
            anomalous_run: 0,
            usual_negative: USUAL_NEGATIVE_PRIOR * USUAL_PRIOR_MENTIONS,
            usual_mentions: USUAL_PRIOR_MENTIONS,
            usual_plain: USUAL_PLAIN_PRIOR * USUAL_PRIOR_MENTIONS,
            usual_named: USUAL_PRIOR_MENTIONS,
            naming_now: NamingWindow::default(),
            groups: std::array::from_fn(|_| GroupStream::new()),
            threads: Threads::default(),
        }
    }

    /// Pins the clusters that open incidents own, so the clusterer keeps them.
    pub(super) fn pin_clusters(&mut self) {
        let owned = self.incidents.iter().flat_map(|i| match &i.scope {
            Scope::Clusters(c) => c.clone(),
            _ => Vec::new(),
        });
        self.clusterer.pin(owned.collect::<Vec<_>>());
    }

    pub(super) fn usual_negative_share(&self) -> f64 {
        (self.usual_negative / self.usual_mentions.max(1e-9)).clamp(0.0, 1.0)
    }

    /// Whether the brand's conduct/safety complaints of the last hour are a side of a service
    /// story (an outage or billing wave with at least twice as many complaints, alarming or
    /// already an incident): people without power or money write "dangerous" and "disgusting"
    /// too, and that story is support's; a post that alleges misconduct or danger by itself
    /// still opens its own watch.
    pub(super) fn conduct_is_part_of_a_service_story(&self, minute: i64) -> bool {
        let hour =
            |g: usize| -> f64 { (minute - 59..=minute).map(|k| self.pane_group(k, g)).sum() };
        let service_story = self.groups[SERVICE_GROUP].alarmed(SERVICE_GROUP)
            || self.groups[OUTAGE_GROUP].alarmed(OUTAGE_GROUP)
            || self.incidents.iter().any(|i| {
                i.root == 0 && tells_group(i, SERVICE_GROUP) && i.severity >= Severity::Warning
            });
        service_story && hour(SERVICE_GROUP) >= 2.0 * hour(CONDUCT_GROUP)
    }

    /// Reactions in the `n` minutes through `minute` to the posts that open incidents were
    /// opened on (a risky post's watch, a thread grown into a story): that story's, not the
    /// brand's own volume.
    pub(super) fn story_reactions(&self, minute: i64, n: i64) -> f64 {
        self.incidents
            .iter()
            .filter(|i| i.root != 0)
            .filter_map(|i| self.threads.get(i.root))
            .map(|t| f64::from(t.recent(minute, n)))
            .sum()
    }

    pub(super) fn usual_plain_share(&self) -> f64 {
        (self.usual_plain / self.usual_named.max(1e-9)).clamp(0.0, 1.0)
    }

    /// Group `g`'s complaints in the 15 minutes through `minute`.
    pub(super) fn group_recent_15(&self, minute: i64, g: usize) -> f64 {
        (minute - 14..=minute).map(|k| self.pane_group(k, g)).sum()
    }

    pub(super) fn pane_group(&self, minute: i64, g: usize) -> f64 {
        self.window
            .pane(EventTime(minute * EventTime::MINUTE_MS))
            .map(|p| f64::from(p.groups[g]))
            .unwrap_or(0.0)
    }

    pub(super) fn cluster_mut(&mut self, id: u64, at: EventTime) -> &mut Evidence {
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

    pub(super) fn pane_weighted(&self, minute: i64) -> f64 {
        self.window
            .pane(EventTime(minute * EventTime::MINUTE_MS))
            .map(|p| f64::from(p.weighted))
            .unwrap_or(0.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_naming_window_counts_the_last_fifteen_minutes_only() {
        let mut w = NamingWindow::default();
        w.add(100, Naming::Distinct);
        w.add(100, Naming::Plain);
        w.add(101, Naming::Plain);
        w.add(101, Naming::Thread);
        assert_eq!(w.totals(101), (3, 2));
        // A late mention inside the window counts; one older than the window does not.
        w.add(90, Naming::Plain);
        w.add(80, Naming::Plain);
        assert_eq!(w.totals(101), (4, 3));
        // Minute 90 falls out of the window as it moves on; skipped minutes are empty.
        assert_eq!(w.totals(106), (3, 2));
        w.add(113, Naming::Distinct);
        assert_eq!(w.totals(113), (4, 2));
        assert_eq!(w.totals(116), (1, 0));
        w.add(200, Naming::Distinct);
        assert_eq!(w.totals(200), (1, 0));
        // One minute alone: counted while in the window, empty once it has left or not come.
        w.add(200, Naming::Plain);
        assert_eq!(w.at(200), (2, 1));
        assert_eq!(w.at(199), (0, 0));
        assert_eq!(w.at(201), (0, 0));
        assert_eq!(w.at(185), (0, 0));
    }
}
