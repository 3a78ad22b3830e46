//! Which sinks get an alert line: the per-team escalation policy, then flood control per
//! brand and team. Pure and clock-free: flood windows run on the alert's event time (`at`), so
//! a replay routes exactly as the live run did.
//!
//! - **Escalation**: a team with an `[[escalation]]` row sends each severity to the sinks it
//!   lists; a team without one sends everything to every sink that carries it. Escalations also
//!   reach every sink that saw the incident before; a resolve reaches exactly those sinks.
//! - **Flood control** is about pages: an incident's first line at warning or above for a team
//!   (its trigger, or the escalation of a watch) is its page for that team.
//!   - Info lines (watches, positive, spam) never use the page budget and are never held.
//!   - A page within `group_window` of the previous page for the same brand and team, at no
//!     higher severity than that page, is grouped (not paged).
//!   - Beyond `max_pages_per_hour` pages in the last hour, pages are held and **one** digest
//!     notification per flood says so. The digest carries the highest severity held so far:
//!     when a held page is more severe than the digest, the digest escalates to it and reaches
//!     that severity's sinks.
//!   - A held incident stays quiet until it escalates past the severity it was held at; then
//!     it pages (counted, never held again), and its later lines follow as usual.
//!
//!   The alert log keeps every line either way.
//!
//! State is bounded: at most [`MAX_TRACKED`] incidents and brand+team pairs (oldest dropped).

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

use crate::config::{EscalationConfig, FloodControlConfig};
use crate::domain::alert::{Action, AlertRecord};
use crate::domain::Severity;

/// Most incidents (and brand+team pairs) whose routing state is remembered.
pub const MAX_TRACKED: usize = 100_000;
const HOUR_MS: i64 = 3_600_000;

/// A sink as the router sees it.
#[derive(Debug, Clone)]
pub struct SinkRoute {
    pub id: String,
    /// Teams it carries; empty = every team.
    pub teams: Vec<String>,
    /// The least severe line it gets for a team without an `[[escalation]]` row
    /// ([`crate::alert::Notifier::min_severity`]: PagerDuty warning, others info).
    pub min_severity: Severity,
}

impl SinkRoute {
    fn carries(&self, team: &str) -> bool {
        self.teams.is_empty() || self.teams.iter().any(|t| t == team)
    }
}

/// Why a line was not paged (for logs and tests).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Held {
    Grouped,
    Suppressed,
}

/// Flood control's view of one incident for one team.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Paging {
    /// Its page went out.
    Paged,
    /// Held back, at this severity.
    Held(Held, Severity),
}

/// What the router remembers of one incident.
#[derive(Debug, Default)]
struct IncidentRoute {
    /// sink → teams it was sent to.
    sinks: BTreeMap<String, BTreeSet<String>>,
    /// team → paging state (absent: only info lines so far).
    teams: BTreeMap<String, Paging>,
}

#[derive(Debug, Default)]
struct Flood {
    /// Event times of the pages in the last hour.
    pages: VecDeque<i64>,
    /// The last page: its event time and severity.
    last_page: Option<(i64, Severity)>,
    /// The current flood's digest: its incident id and the highest severity it carried.
    digest: Option<(String, Severity)>,
}

/// The routing state.
#[derive(Debug)]
pub struct Router {
    sinks: Vec<SinkRoute>,
    escalation: BTreeMap<String, EscalationConfig>,
    flood_cfg: FloodControlConfig,
    incidents: HashMap<String, IncidentRoute>,
    order: VecDeque<String>,
    flood: HashMap<(String, String), Flood>,
}

/// One routed notification: the sink and the line as that sink should see it (teams narrowed
/// to the ones routed there; a digest is a synthetic line of its own).
pub type Routed = (String, AlertRecord);

impl Router {
    pub fn new(
        sinks: Vec<SinkRoute>,
        escalation: &[EscalationConfig],
        flood: FloodControlConfig,
    ) -> Router {
        Router {
            sinks,
            escalation: escalation
                .iter()
                .map(|e| (e.team.clone(), e.clone()))
                .collect(),
            flood_cfg: flood,
            incidents: HashMap::new(),
            order: VecDeque::new(),
            flood: HashMap::new(),
        }
    }

    /// The sinks for `team` at the line's severity under the escalation policy.
    fn policy_sinks(&self, team: &str, alert: &AlertRecord) -> Vec<String> {
        match self.escalation.get(team) {
            Some(e) => e
                .sinks_for(alert.severity)
                .iter()
                .filter(|id| self.sinks.iter().any(|s| &s.id == *id))
                .cloned()
                .collect(),
            None => self
                .sinks
                .iter()
                .filter(|s| s.carries(team) && alert.severity >= s.min_severity)
                .map(|s| s.id.clone())
                .collect(),
        }
    }

    /// The sinks that saw `incident` for `team`.
    fn seen(&self, incident: &str, team: &str) -> Vec<String> {
        self.incidents
            .get(incident)
            .map(|i| {
                i.sinks
                    .iter()
                    .filter(|(_, teams)| teams.contains(team))
                    .map(|(s, _)| s.clone())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The state of `incident`, created (and the oldest dropped beyond [`MAX_TRACKED`]).
    fn incident_mut(&mut self, incident: &str) -> &mut IncidentRoute {
        if !self.incidents.contains_key(incident) {
            self.order.push_back(incident.to_string());
            while self.order.len() > MAX_TRACKED {
                if let Some(old) = self.order.pop_front() {
                    self.incidents.remove(&old);
                }
            }
        }
        self.incidents.entry(incident.to_string()).or_default()
    }

    fn set_paging(&mut self, incident: &str, team: &str, p: Paging) {
        self.incident_mut(incident)
            .teams
            .insert(team.to_string(), p);
    }

    /// Routes one alert line.
    pub fn route(&mut self, alert: &AlertRecord) -> Vec<Routed> {
        let mut targets: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        let mut digests = Vec::new();
        let known = self.incidents.contains_key(&alert.incident);
        for team in &alert.teams {
            let paging = self
                .incidents
                .get(&alert.incident)
                .and_then(|i| i.teams.get(team))
                .copied();
            let mut sinks: BTreeSet<String> =
                self.seen(&alert.incident, team).into_iter().collect();
            if alert.action == Action::Resolve {
                if !known {
                    // Unknown incident (e.g. after a restart): resolve wherever policy would page.
                    sinks.extend(self.policy_sinks(team, alert));
                }
            } else {
                match paging {
                    Some(Paging::Paged) => {}
                    Some(Paging::Held(held, at)) if alert.severity > at => {
                        // Escalated past what was held: page now, whatever the budget.
                        tracing::info!(incident = %alert.incident, brand = %alert.brand, team = %team, held = ?held, severity = %alert.severity, "flood control released a held incident that escalated");
                        self.count_page(alert, team);
                        self.set_paging(&alert.incident, team, Paging::Paged);
                    }
                    Some(Paging::Held(..)) => continue,
                    None if alert.severity > Severity::Info => {
                        match self.flood_check(alert, team) {
                            Ok(()) => self.set_paging(&alert.incident, team, Paging::Paged),
                            Err((held, digest)) => {
                                tracing::info!(incident = %alert.incident, brand = %alert.brand, team = %team, held = ?held, "flood control held a page");
                                self.set_paging(
                                    &alert.incident,
                                    team,
                                    Paging::Held(held, alert.severity),
                                );
                                digests.extend(digest.map(|d| *d));
                                continue;
                            }
                        }
                    }
                    // Info lines page nobody's budget away.
                    None => {}
                }
                sinks.extend(self.policy_sinks(team, alert));
            }
            for s in sinks {
                targets.entry(s).or_default().insert(team.clone());
            }
        }
        if alert.action == Action::Resolve {
            self.incidents.remove(&alert.incident);
        } else if !targets.is_empty() {
            let entry = self.incident_mut(&alert.incident);
            for (s, teams) in &targets {
                entry
                    .sinks
                    .entry(s.clone())
                    .or_default()
                    .extend(teams.iter().cloned());
            }
        }
        let mut out: Vec<Routed> = targets
            .into_iter()
            .map(|(sink, teams)| {
                let mut a = alert.clone();
                a.teams.retain(|t| teams.contains(t));
                (sink, a)
            })
            .collect();
        for d in digests {
            let team = d.teams.first().cloned().unwrap_or_default();
            let mut sinks: BTreeSet<String> = self.seen(&d.incident, &team).into_iter().collect();
            sinks.extend(self.policy_sinks(&team, &d));
            if sinks.is_empty() {
                continue;
            }
            let entry = self.incident_mut(&d.incident);
            for s in &sinks {
                entry
                    .sinks
                    .entry(s.clone())
                    .or_default()
                    .insert(team.clone());
            }
            out.extend(sinks.into_iter().map(|s| (s, d.clone())));
        }
        out
    }

    /// The brand+team flood state at the line's event time (pages older than an hour gone).
    fn flood_at(&mut self, alert: &AlertRecord, team: &str, at: i64) -> &mut Flood {
        if self.flood.len() > MAX_TRACKED {
            self.flood
                .retain(|_, f| f.last_page.is_some_and(|(p, _)| at - p < HOUR_MS));
        }
        let f = self
            .flood
            .entry((alert.brand.clone(), team.to_string()))
            .or_default();
        while f.pages.front().is_some_and(|&p| at - p >= HOUR_MS) {
            f.pages.pop_front();
        }
        f
    }

    /// Counts a page that goes out whatever the budget (a held incident that escalated).
    fn count_page(&mut self, alert: &AlertRecord, team: &str) {
        if let Some(at) = event_ms(&alert.at) {
            let f = self.flood_at(alert, team, at);
            f.pages.push_back(at);
            f.last_page = Some((at, alert.severity));
        }
    }

    /// Ok = page; Err = held, with the digest line to send (a new flood, or a held page more
    /// severe than the digest so far).
    fn flood_check(
        &mut self,
        alert: &AlertRecord,
        team: &str,
    ) -> Result<(), (Held, Option<Box<AlertRecord>>)> {
        let Some(at) = event_ms(&alert.at) else {
            return Ok(());
        };
        let window = i64::try_from(self.flood_cfg.group_window.0.as_millis()).unwrap_or(i64::MAX);
        let max = usize::try_from(self.flood_cfg.max_pages_per_hour).unwrap_or(usize::MAX);
        let f = self.flood_at(alert, team, at);
        if window > 0
            && f.last_page
                .is_some_and(|(p, sev)| at - p < window && alert.severity <= sev)
        {
            return Err((Held::Grouped, None));
        }
        if f.pages.len() >= max {
            let digest = match &f.digest {
                None => {
                    let d = digest(alert, team, max, None);
                    f.digest = Some((d.incident.clone(), alert.severity));
                    Some(Box::new(d))
                }
                Some((id, sev)) if alert.severity > *sev => {
                    let d = digest(alert, team, max, Some(id));
                    f.digest = Some((id.clone(), alert.severity));
                    Some(Box::new(d))
                }
                Some(_) => None,
            };
            return Err((Held::Suppressed, digest));
        }
        f.digest = None;
        f.pages.push_back(at);
        f.last_page = Some((at, alert.severity));
        Ok(())
    }
}

/// The notification sent when a brand+team floods (`of` = None), or its escalation when a
/// more severe page is held (`of` = the digest's incident id).
fn digest(alert: &AlertRecord, team: &str, max: usize, of: Option<&str>) -> AlertRecord {
    let (incident, action, held) = match of {
        None => (
            format!("{}-flood-{}", alert.incident, team),
            Action::Trigger,
            "First held",
        ),
        Some(id) => (
            id.to_string(),
            Action::Escalate,
            "Now held at this severity",
        ),
    };
    AlertRecord {
        at: alert.at.clone(),
        action,
        incident: incident.clone(),
        brand: alert.brand.clone(),
        severity: alert.severity,
        category: alert.category,
        teams: vec![team.to_string()],
        summary: super::truncate_chars(
            &format!(
                "flood control: {} has had {max} incidents paged to {team} in the last hour; \
                 further incidents are not paged until the hour passes or they escalate (see the \
                 alert log). {held}: {} ({}) — {}",
                alert.brand, alert.incident, alert.severity, alert.summary
            ),
            super::MAX_SUMMARY_CHARS,
        ),
        metrics: alert.metrics.clone(),
        top_posts: alert.top_posts.clone(),
        terms: alert.terms.clone(),
        dedup_key: AlertRecord::dedup_key_for(&alert.brand, &incident),
        why: String::new(),
    }
}

/// Whether `alert` is a flood digest (incident `<first held>-flood-<team>`, built by the
/// router): it has no resolve of its own.
pub fn is_digest(alert: &AlertRecord) -> bool {
    alert
        .teams
        .iter()
        .any(|t| alert.incident.ends_with(&format!("-flood-{t}")))
}

fn event_ms(at: &str) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(at)
        .ok()
        .map(|t| t.timestamp_millis())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::HumanDuration;

    fn line(incident: &str, action: Action, sev: Severity, minute: u32) -> AlertRecord {
        AlertRecord {
            at: format!("2026-03-03T{:02}:{:02}:00Z", 10 + minute / 60, minute % 60),
            action,
            severity: sev,
            ..AlertRecord::sample(incident)
        }
    }

    fn router(flood: FloodControlConfig) -> Router {
        Router::new(
            vec![
                SinkRoute {
                    id: "pd".into(),
                    teams: vec!["support".into()],
                    min_severity: Severity::Warning,
                },
                SinkRoute {
                    id: "slack".into(),
                    teams: vec!["support".into()],
                    min_severity: Severity::Info,
                },
            ],
            &[EscalationConfig {
                team: "support".into(),
                critical: vec!["pd".into(), "slack".into()],
                error: vec!["pd".into(), "slack".into()],
                warning: vec!["slack".into()],
                info: vec![],
            }],
            flood,
        )
    }

    fn sinks(r: &[Routed]) -> Vec<&str> {
        r.iter().map(|(s, _)| s.as_str()).collect()
    }

    #[test]
    fn policy_severity_picks_sinks_and_resolve_follows() {
        let mut r = router(FloodControlConfig::default());
        let w = r.route(&line("i1", Action::Trigger, Severity::Warning, 0));
        assert_eq!(sinks(&w), ["slack"]);
        let e = r.route(&line("i1", Action::Escalate, Severity::Error, 5));
        assert_eq!(sinks(&e), ["pd", "slack"]);
        let z = r.route(&line("i1", Action::Resolve, Severity::Error, 50));
        assert_eq!(sinks(&z), ["pd", "slack"]);
        let w2 = r.route(&line("i2", Action::Trigger, Severity::Warning, 60));
        let z2 = r.route(&line("i2", Action::Resolve, Severity::Error, 70));
        assert_eq!((sinks(&w2), sinks(&z2)), (vec!["slack"], vec!["slack"]));
        assert!(r
            .route(&line("i3", Action::Trigger, Severity::Info, 80))
            .is_empty());
    }

    #[test]
    fn policy_flood_control_sends_one_digest_then_recovers() {
        let mut r = router(FloodControlConfig {
            group_window: HumanDuration::from_secs(0),
            max_pages_per_hour: 2,
        });
        let mut paged = Vec::new();
        for i in 0..6u32 {
            let out = r.route(&line(
                &format!("i{i}"),
                Action::Trigger,
                Severity::Error,
                i * 5,
            ));
            paged.push(
                out.iter()
                    .filter(|(s, _)| s == "pd")
                    .map(|(_, a)| a.incident.clone())
                    .collect::<Vec<_>>(),
            );
        }
        assert_eq!(paged[0], ["i0"]);
        assert_eq!(paged[1], ["i1"]);
        assert_eq!(paged[2], ["i2-flood-support"], "one digest");
        assert!(paged[3..].iter().all(Vec::is_empty));
        // A held incident's later lines stay quiet; an hour after the first page, pages resume.
        assert!(r
            .route(&line("i3", Action::Resolve, Severity::Error, 40))
            .is_empty());
        let later = r.route(&line("i9", Action::Trigger, Severity::Error, 61));
        assert_eq!(sinks(&later), ["pd", "slack"]);
    }

    #[test]
    fn policy_group_window_groups_close_incidents() {
        let mut r = router(FloodControlConfig {
            group_window: HumanDuration::from_secs(600),
            max_pages_per_hour: 10,
        });
        assert_eq!(
            r.route(&line("a", Action::Trigger, Severity::Error, 0))
                .len(),
            2
        );
        assert!(r
            .route(&line("b", Action::Trigger, Severity::Error, 5))
            .is_empty());
        // A grouped incident that escalates past the severity it was grouped at pages.
        assert_eq!(
            r.route(&line("b", Action::Escalate, Severity::Critical, 6))
                .len(),
            2
        );
        // That was a page too: the next incident within the window is grouped into it.
        assert!(r
            .route(&line("c", Action::Trigger, Severity::Error, 11))
            .is_empty());
        assert_eq!(
            r.route(&line("d", Action::Trigger, Severity::Error, 17))
                .len(),
            2
        );
        // A more severe incident is never grouped into a lesser page.
        assert!(r
            .route(&line("e", Action::Trigger, Severity::Warning, 20))
            .is_empty());
        assert_eq!(
            r.route(&line("f", Action::Trigger, Severity::Critical, 21))
                .len(),
            2
        );
    }
    /// `(sink, incident, action, severity)` of every routed notification.
    fn routed(r: &[Routed]) -> Vec<(String, String, &'static str, Severity)> {
        r.iter()
            .map(|(s, a)| (s.clone(), a.incident.clone(), a.action.as_str(), a.severity))
            .collect()
    }

    #[test]
    fn flood_info_lines_and_watches_do_not_use_the_page_budget() {
        let mut r = router(FloodControlConfig {
            group_window: HumanDuration::from_secs(0),
            max_pages_per_hour: 2,
        });
        // Five watches (info triggers) for the same brand and team within minutes.
        for i in 0..5u32 {
            r.route(&line(&format!("w{i}"), Action::Trigger, Severity::Info, i));
        }
        let page = r.route(&line("e", Action::Trigger, Severity::Error, 6));
        assert_eq!(
            sinks(&page),
            ["pd", "slack"],
            "the first real incident pages"
        );
        // A watch that escalates past info is a page of its own, counted like a trigger.
        let up = r.route(&line("w0", Action::Escalate, Severity::Error, 7));
        assert_eq!(sinks(&up), ["pd", "slack"]);
        let third = r.route(&line("f", Action::Trigger, Severity::Error, 8));
        assert!(
            third
                .iter()
                .all(|(_, a)| a.incident.ends_with("-flood-support")),
            "the budget of 2 is spent by the two pages: {:?}",
            routed(&third)
        );
    }

    #[test]
    fn flood_digest_carries_the_highest_held_severity() {
        let mut r = router(FloodControlConfig {
            group_window: HumanDuration::from_secs(0),
            max_pages_per_hour: 1,
        });
        assert_eq!(
            sinks(&r.route(&line("p", Action::Trigger, Severity::Error, 0))),
            ["pd", "slack"]
        );
        // A held warning: the digest is a warning and reaches the warning sinks.
        let w = r.route(&line("h1", Action::Trigger, Severity::Warning, 1));
        assert_eq!(
            routed(&w),
            [(
                "slack".to_string(),
                "h1-flood-support".to_string(),
                "trigger",
                Severity::Warning
            )]
        );
        // A held critical raises the digest, which now reaches the critical sinks.
        let c = r.route(&line("h2", Action::Trigger, Severity::Critical, 2));
        assert_eq!(
            routed(&c),
            [
                (
                    "pd".to_string(),
                    "h1-flood-support".to_string(),
                    "escalate",
                    Severity::Critical
                ),
                (
                    "slack".to_string(),
                    "h1-flood-support".to_string(),
                    "escalate",
                    Severity::Critical
                ),
            ]
        );
        assert!(c[0].1.summary.contains("h2"), "{}", c[0].1.summary);
        // Another held error changes nothing: the digest is already critical.
        assert!(r
            .route(&line("h3", Action::Trigger, Severity::Error, 3))
            .is_empty());
    }

    #[test]
    fn flood_a_held_incident_that_escalates_past_its_held_severity_pages() {
        let mut r = router(FloodControlConfig {
            group_window: HumanDuration::from_secs(0),
            max_pages_per_hour: 1,
        });
        r.route(&line("p", Action::Trigger, Severity::Error, 0));
        let held = r.route(&line("h", Action::Trigger, Severity::Warning, 1));
        assert!(held.iter().all(|(_, a)| a.incident != "h"));
        // Same severity (teams added): still held.
        assert!(r
            .route(&line("h", Action::Escalate, Severity::Warning, 2))
            .is_empty());
        let up = r.route(&line("h", Action::Escalate, Severity::Critical, 3));
        assert_eq!(
            routed(&up),
            [
                (
                    "pd".to_string(),
                    "h".to_string(),
                    "escalate",
                    Severity::Critical
                ),
                (
                    "slack".to_string(),
                    "h".to_string(),
                    "escalate",
                    Severity::Critical
                ),
            ]
        );
        // It is paged now: its resolve reaches the sinks that saw it.
        let z = r.route(&line("h", Action::Resolve, Severity::Critical, 30));
        assert_eq!(sinks(&z), ["pd", "slack"]);
    }

    /// The worked example of docs/operations.md ("Flood control"): 14 risky posts open 14
    /// watches, then one of them becomes a critical incident.
    #[test]
    fn flood_worked_example_fourteen_watches_then_a_critical_incident() {
        let mut r = router(FloodControlConfig {
            group_window: HumanDuration::from_secs(0),
            max_pages_per_hour: 5,
        });
        for i in 0..14u32 {
            let out = r.route(&line(
                &format!("w{i:02}"),
                Action::Trigger,
                Severity::Info,
                i,
            ));
            assert!(
                out.is_empty(),
                "support has no info sink: {:?}",
                routed(&out)
            );
        }
        // The tenth post's watch grows into an incident: warning, then critical.
        let warn = r.route(&line("w09", Action::Escalate, Severity::Warning, 20));
        assert_eq!(sinks(&warn), ["slack"]);
        let crit = r.route(&line("w09", Action::Escalate, Severity::Critical, 25));
        assert_eq!(sinks(&crit), ["pd", "slack"], "the critical incident pages");
        // Four more incidents fit the budget of 5; the sixth is held and digested.
        for (i, m) in [(0u32, 30u32), (1, 31), (2, 32), (3, 33)] {
            let out = r.route(&line(&format!("e{i}"), Action::Trigger, Severity::Error, m));
            assert_eq!(sinks(&out), ["pd", "slack"]);
        }
        let held = r.route(&line("e4", Action::Trigger, Severity::Error, 34));
        assert_eq!(
            routed(&held),
            [
                (
                    "pd".to_string(),
                    "e4-flood-support".to_string(),
                    "trigger",
                    Severity::Error
                ),
                (
                    "slack".to_string(),
                    "e4-flood-support".to_string(),
                    "trigger",
                    Severity::Error
                ),
            ]
        );
        // A held warning: the digest is already an error.
        assert!(r
            .route(&line("e5", Action::Trigger, Severity::Warning, 36))
            .is_empty());
        // A held critical: the digest escalates to critical.
        let c = r.route(&line("e6", Action::Trigger, Severity::Critical, 38));
        assert_eq!(
            routed(&c),
            [
                (
                    "pd".to_string(),
                    "e4-flood-support".to_string(),
                    "escalate",
                    Severity::Critical
                ),
                (
                    "slack".to_string(),
                    "e4-flood-support".to_string(),
                    "escalate",
                    Severity::Critical
                ),
            ]
        );
        // e5 escalates past the warning it was held at: it pages.
        let e5 = r.route(&line("e5", Action::Escalate, Severity::Critical, 40));
        assert_eq!(
            routed(&e5),
            [
                (
                    "pd".to_string(),
                    "e5".to_string(),
                    "escalate",
                    Severity::Critical
                ),
                (
                    "slack".to_string(),
                    "e5".to_string(),
                    "escalate",
                    Severity::Critical
                ),
            ]
        );
        // 11:30: pages older than an hour have dropped out (4 of 5 left): a new one pages.
        let later = r.route(&line("n", Action::Trigger, Severity::Error, 90));
        assert_eq!(sinks(&later), ["pd", "slack"]);
    }
}
