//! Which sinks get an alert line: the per-team escalation policy, then flood control per
//! brand and team. Pure and clock-free: flood windows run on the alert's event time (`at`), so
//! a replay routes exactly as the live run did.
//!
//! - **Escalation**: a team with an `[[escalation]]` row sends each severity to the sinks it
//!   lists; a team without one sends everything to every sink that carries it. Escalations also
//!   reach every sink that saw the incident before; a resolve reaches exactly those sinks.
//! - **Flood control**: a new incident within `group_window` of the previous page for the same
//!   brand and team is grouped (not paged); beyond `max_pages_per_hour` pages in the last hour,
//!   new incidents are suppressed and **one** digest notification per flood says so. The later
//!   lines of a grouped or suppressed incident are suppressed too. The alert log keeps every
//!   line either way.
//!
//! State is bounded: at most [`MAX_TRACKED`] incidents and brand+team pairs (oldest dropped).

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

use crate::config::{EscalationConfig, FloodControlConfig};
use crate::domain::alert::{Action, AlertRecord};

/// Most incidents (and brand+team pairs) whose routing state is remembered.
pub const MAX_TRACKED: usize = 100_000;
const HOUR_MS: i64 = 3_600_000;

/// A sink as the router sees it.
#[derive(Debug, Clone)]
pub struct SinkRoute {
    pub id: String,
    /// Teams it carries; empty = every team.
    pub teams: Vec<String>,
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

#[derive(Debug, Default)]
struct Flood {
    pages: VecDeque<i64>,
    digest_sent: bool,
    last_page: Option<i64>,
}

/// The routing state.
#[derive(Debug)]
pub struct Router {
    sinks: Vec<SinkRoute>,
    escalation: BTreeMap<String, EscalationConfig>,
    flood_cfg: FloodControlConfig,
    /// incident → (sink → teams) it was sent to.
    notified: HashMap<String, BTreeMap<String, BTreeSet<String>>>,
    /// (incident, team) pairs held back by flood control.
    held: HashMap<(String, String), Held>,
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
            notified: HashMap::new(),
            held: HashMap::new(),
            order: VecDeque::new(),
            flood: HashMap::new(),
        }
    }

    /// The sinks for `team` at the line's severity under the escalation policy.
    fn policy_sinks(&self, team: &str, alert: &AlertRecord) -> Vec<&str> {
        match self.escalation.get(team) {
            Some(e) => e
                .sinks_for(alert.severity)
                .iter()
                .filter(|id| self.sinks.iter().any(|s| &s.id == *id))
                .map(String::as_str)
                .collect(),
            None => self
                .sinks
                .iter()
                .filter(|s| s.carries(team))
                .map(|s| s.id.as_str())
                .collect(),
        }
    }

    /// Routes one alert line.
    pub fn route(&mut self, alert: &AlertRecord) -> Vec<Routed> {
        let mut targets: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        let mut digests = Vec::new();
        for team in &alert.teams {
            let key = (alert.incident.clone(), team.clone());
            if self.held.contains_key(&key) {
                if alert.action == Action::Resolve {
                    self.held.remove(&key);
                }
                continue;
            }
            if alert.action == Action::Trigger {
                match self.flood_check(alert, team) {
                    Ok(()) => {}
                    Err((held, digest)) => {
                        tracing::info!(incident = %alert.incident, brand = %alert.brand, team = %team, held = ?held, "flood control held a page");
                        self.held.insert(key, held);
                        digests.extend(digest.map(|d| *d));
                        continue;
                    }
                }
            }
            let mut sinks: BTreeSet<&str> = if alert.action == Action::Resolve {
                BTreeSet::new()
            } else {
                self.policy_sinks(team, alert).into_iter().collect()
            };
            let before = self.notified.get(&alert.incident);
            let seen: Vec<&str> = before
                .map(|m| {
                    m.iter()
                        .filter(|(_, teams)| teams.contains(team))
                        .map(|(s, _)| s.as_str())
                        .collect()
                })
                .unwrap_or_default();
            if alert.action != Action::Trigger {
                sinks.extend(seen.iter().copied());
            }
            if alert.action == Action::Resolve && before.is_none() {
                // Unknown incident (e.g. after a restart): resolve wherever policy would page.
                sinks.extend(self.policy_sinks(team, alert));
            }
            for s in sinks {
                targets
                    .entry(s.to_string())
                    .or_default()
                    .insert(team.clone());
            }
        }
        if alert.action == Action::Resolve {
            self.notified.remove(&alert.incident);
        } else if !targets.is_empty() {
            if !self.notified.contains_key(&alert.incident) {
                self.order.push_back(alert.incident.clone());
                while self.order.len() > MAX_TRACKED {
                    if let Some(old) = self.order.pop_front() {
                        self.notified.remove(&old);
                    }
                }
            }
            let entry = self.notified.entry(alert.incident.clone()).or_default();
            for (s, teams) in &targets {
                entry
                    .entry(s.clone())
                    .or_default()
                    .extend(teams.iter().cloned());
            }
        }
        if self.held.len() > MAX_TRACKED {
            self.held.clear();
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
            for s in self.policy_sinks(&team, &d) {
                out.push((s.to_string(), d.clone()));
            }
        }
        out
    }

    /// Ok = page; Err = held, with the digest line to send when this starts a flood.
    fn flood_check(
        &mut self,
        alert: &AlertRecord,
        team: &str,
    ) -> Result<(), (Held, Option<Box<AlertRecord>>)> {
        let Some(at) = event_ms(&alert.at) else {
            return Ok(());
        };
        if self.flood.len() > MAX_TRACKED {
            self.flood
                .retain(|_, f| f.last_page.is_some_and(|p| at - p < HOUR_MS));
        }
        let cfg = &self.flood_cfg;
        let f = self
            .flood
            .entry((alert.brand.clone(), team.to_string()))
            .or_default();
        while f.pages.front().is_some_and(|&p| at - p >= HOUR_MS) {
            f.pages.pop_front();
        }
        let window = i64::try_from(cfg.group_window.0.as_millis()).unwrap_or(i64::MAX);
        if window > 0 && f.last_page.is_some_and(|p| at - p < window) {
            return Err((Held::Grouped, None));
        }
        let max = usize::try_from(cfg.max_pages_per_hour).unwrap_or(usize::MAX);
        if f.pages.len() >= max {
            let digest = (!f.digest_sent).then(|| Box::new(digest(alert, team, max)));
            f.digest_sent = true;
            return Err((Held::Suppressed, digest));
        }
        f.digest_sent = false;
        f.pages.push_back(at);
        f.last_page = Some(at);
        Ok(())
    }
}

/// The one notification sent when a brand+team floods.
fn digest(alert: &AlertRecord, team: &str, max: usize) -> AlertRecord {
    let incident = format!("{}-flood-{}", alert.incident, team);
    AlertRecord {
        at: alert.at.clone(),
        action: Action::Trigger,
        incident: incident.clone(),
        brand: alert.brand.clone(),
        severity: alert.severity,
        category: alert.category,
        teams: vec![team.to_string()],
        summary: super::truncate_chars(
            &format!(
                "flood control: {} has had {max} incidents paged to {team} in the last hour; \
                 further incidents are not paged until the hour passes (see the alert log). \
                 First held: {} — {}",
                alert.brand, alert.incident, alert.summary
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

fn event_ms(at: &str) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(at)
        .ok()
        .map(|t| t.timestamp_millis())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::HumanDuration;
    use crate::domain::Severity;

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
                },
                SinkRoute {
                    id: "slack".into(),
                    teams: vec!["support".into()],
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
        assert!(r
            .route(&line("b", Action::Escalate, Severity::Critical, 6))
            .is_empty());
        assert_eq!(
            r.route(&line("c", Action::Trigger, Severity::Error, 11))
                .len(),
            2
        );
    }
}
