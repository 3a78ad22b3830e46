//! One incident's life: trigger → escalate* → resolve, with hysteresis.
//!
//! Input: at each evaluation minute, the severity the evidence supports and whether the
//! incident is still active. Output: the [`Action`] to log, if any.
//! Invariants: severity never decreases while open (a page is not silently downgraded); an
//! escalation needs the higher grade on two consecutive evaluations (one noisy minute does
//! not page), except a jump of two or more levels, which escalates at once; a resolved
//! incident never acts again; ids are stable and deterministic.

use crate::domain::alert::Action;
use crate::domain::{BrandIdx, Category, EventTime, Severity};

use super::evidence::Evidence;
use super::term_counts::TermCounter;

/// Evaluations a higher grade must hold before it escalates.
const ESCALATE_AFTER: u32 = 2;

/// What a running incident is attached to.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Scope {
    /// Mentions of these clusters (thread roots, near-duplicates, shared terms).
    Clusters(Vec<u64>),
    /// Every mention of the brand not claimed by a cluster incident (a diffuse spike such as
    /// an outage reported independently by many people).
    Brand,
    /// The complaints of one category group (`window::GROUPS`) whose own stream rose: a
    /// complaint surge even when total volume barely moves.
    Group(u8),
}

impl Scope {
    /// For a complaint-stream incident, the group whose story it tells
    /// (`window::story_group`: the outage stream's story is the service complaints').
    pub fn story_group(&self) -> Option<usize> {
        match self {
            Scope::Group(g) => Some(super::window::story_group(usize::from(*g))),
            _ => None,
        }
    }
}

/// An open (or just resolved) incident.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Incident {
    pub id: String,
    pub brand: BrandIdx,
    pub scope: Scope,
    pub category: Category,
    pub severity: Severity,
    /// Teams notified so far (a resolve notifies the same teams).
    pub teams: Vec<String>,
    pub opened_at: EventTime,
    pub last_active: EventTime,
    pub resolved: bool,
    pub evidence: Evidence,
    /// Key terms of the incident's mentions since it opened.
    pub terms: TermCounter,
    /// Thread root of the post that opened it (a watch), else 0.
    pub root: u64,
    /// Highest 15-minute mention count seen while open (activity is judged against it).
    pub peak_15: f64,
    /// Event time spent in stream-wide no-data gaps while open (not counted as quiet time
    /// nor as duration).
    pub paused_ms: i64,
    /// Graded as a story on its own thread's growth (`detect::threads`): set when the
    /// thread of `root` grew into a story about conduct or danger.
    pub story: bool,
    pending: Option<(Severity, u32)>,
}

impl Incident {
    pub fn open(
        id: String,
        brand: BrandIdx,
        scope: Scope,
        category: Category,
        severity: Severity,
        at: EventTime,
        evidence: Evidence,
    ) -> Incident {
        Incident {
            id,
            brand,
            scope,
            category,
            severity,
            teams: Vec::new(),
            opened_at: at,
            last_active: at,
            resolved: false,
            evidence,
            terms: TermCounter::new(64),
            root: 0,
            peak_15: 0.0,
            paused_ms: 0,
            story: false,
            pending: None,
        }
    }

    /// Whether a mention of `cluster` belongs to this incident's scope.
    pub fn covers(&self, cluster: u64) -> bool {
        match &self.scope {
            Scope::Clusters(c) => c.contains(&cluster),
            Scope::Brand | Scope::Group(_) => false,
        }
    }

    /// Advances the lifecycle at evaluation time `now`.
    ///
    /// `target` is the (routing-capped) grade the evidence supports now; `active` says the
    /// incident still has activity above its quiet threshold.
    pub fn step(
        &mut self,
        now: EventTime,
        target: Severity,
        active: bool,
        resolve_after_ms: i64,
    ) -> Option<Action> {
        if self.resolved {
            return None;
        }
        if active {
            self.last_active = now;
        }
        if target > self.severity {
            let seen = match self.pending {
                Some((s, n)) if s <= target => n + 1,
                _ => 1,
            };
            let jump = level(target) - level(self.severity) >= 2;
            if seen >= ESCALATE_AFTER || jump {
                self.severity = target;
                self.pending = None;
                return Some(Action::Escalate);
            }
            self.pending = Some((target, seen));
        } else {
            self.pending = None;
        }
        if now.millis() - self.last_active.millis() >= resolve_after_ms {
            self.resolved = true;
            return Some(Action::Resolve);
        }
        None
    }
}

fn level(s: Severity) -> i32 {
    match s {
        Severity::Info => 0,
        Severity::Warning => 1,
        Severity::Error => 2,
        Severity::Critical => 3,
    }
}

/// Deterministic incident ids: `<brand>-<YYYYMMDD>-<NNNN>`, numbered per brand and UTC day.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct IdSequence {
    day: i64,
    next: u32,
}

impl IdSequence {
    /// The next id for an incident opened at `at`: `brand-YYYYMMDD-NNNN`, the date of the
    /// newest day an id was issued for. A late post from an earlier day takes the current
    /// day's sequence (a day's sequence never restarts), so ids never repeat.
    pub fn next_id(&mut self, brand: &str, at: EventTime) -> String {
        let day = at.millis().div_euclid(86_400_000);
        if day > self.day {
            self.day = day;
            self.next = 0;
        }
        self.next += 1;
        let date = chrono::DateTime::from_timestamp_millis(self.day.saturating_mul(86_400_000))
            .map(|t| t.format("%Y%m%d").to_string())
            .unwrap_or_else(|| String::from("00000000"));
        format!("{brand}-{date}-{:04}", self.next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: i64 = 60_000;

    fn incident() -> Incident {
        Incident::open(
            "b-20260303-0001".into(),
            BrandIdx(0),
            Scope::Clusters(vec![7]),
            Category::Conduct,
            Severity::Info,
            EventTime(0),
            Evidence::new(EventTime(0)),
        )
    }

    #[test]
    fn incident_escalates_after_two_consecutive_higher_grades() {
        let mut i = incident();
        assert_eq!(
            i.step(EventTime(MIN), Severity::Warning, true, 60 * MIN),
            None
        );
        assert_eq!(
            i.step(EventTime(2 * MIN), Severity::Warning, true, 60 * MIN),
            Some(Action::Escalate)
        );
        assert_eq!(i.severity, Severity::Warning);
    }

    #[test]
    fn incident_ignores_a_single_noisy_minute() {
        let mut i = incident();
        assert_eq!(
            i.step(EventTime(MIN), Severity::Warning, true, 60 * MIN),
            None
        );
        assert_eq!(
            i.step(EventTime(2 * MIN), Severity::Info, true, 60 * MIN),
            None
        );
        assert_eq!(
            i.step(EventTime(3 * MIN), Severity::Warning, true, 60 * MIN),
            None
        );
        assert_eq!(i.severity, Severity::Info);
    }

    #[test]
    fn incident_jumps_two_levels_at_once() {
        let mut i = incident();
        assert_eq!(
            i.step(EventTime(MIN), Severity::Error, true, 60 * MIN),
            Some(Action::Escalate)
        );
        assert_eq!(i.severity, Severity::Error);
    }

    #[test]
    fn incident_never_downgrades_and_resolves_once_after_quiet() {
        let mut i = incident();
        i.step(EventTime(MIN), Severity::Error, true, 60 * MIN);
        assert_eq!(
            i.step(EventTime(2 * MIN), Severity::Info, false, 60 * MIN),
            None
        );
        assert_eq!(i.severity, Severity::Error);
        assert_eq!(
            i.step(EventTime(61 * MIN), Severity::Info, false, 60 * MIN),
            Some(Action::Resolve)
        );
        assert!(i.resolved);
        assert_eq!(
            i.step(EventTime(200 * MIN), Severity::Critical, true, 60 * MIN),
            None
        );
    }

    #[test]
    fn id_sequence_numbers_per_day() {
        let mut s = IdSequence::default();
        let t = EventTime::parse_rfc3339("2026-03-03T10:00:00Z").unwrap();
        assert_eq!(s.next_id("b", t), "b-20260303-0001");
        assert_eq!(s.next_id("b", t), "b-20260303-0002");
        let t2 = EventTime::parse_rfc3339("2026-03-04T00:00:01Z").unwrap();
        assert_eq!(s.next_id("b", t2), "b-20260304-0001");
    }
}
