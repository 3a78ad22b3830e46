//! Who was paged, how often, for what: the [`PageLedger`] tallies alert lines as the on-call
//! sees them and says which verb each one is (`PAGE` for an incident's first line at warning
//! or above, whether it opened the incident or escalated a watch), and writes the summary a
//! `demo`, `run` or `replay` ends with.
//!
//! Input: every alert line, in decision order. Output: a [`Verb`] per line and a text
//! summary. State is bounded: at most [`MAX_INCIDENTS`] incidents remembered (oldest
//! forgotten), at most [`LISTED`] incidents listed per team.

use std::collections::{BTreeMap, HashSet, VecDeque};
use std::sync::Mutex;

use super::dispatch::{Notifier, NotifyFuture};
use crate::domain::alert::{Action, AlertRecord};
use crate::domain::Severity;

/// Most incidents whose "already paged" state is remembered.
pub const MAX_INCIDENTS: usize = 100_000;
/// Most incidents named per team in the summary (the rest are counted).
pub const LISTED: usize = 5;

/// What one alert line is to the people it reaches (the console's first column).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    /// The incident's first line at warning or above: someone is paged now.
    Page,
    /// A paged incident got worse (severity raised or teams added).
    Escalate,
    /// An info line for a team (a watch, praise): told, not paged.
    Notify,
    /// A line that names no team (spam, or a category routed to nobody).
    Noted,
    /// The incident is quiet again.
    Resolved,
}

impl Verb {
    /// The console label.
    pub fn label(self) -> &'static str {
        match self {
            Verb::Page => "PAGE",
            Verb::Escalate => "ESCALATE",
            Verb::Notify => "NOTIFY",
            Verb::Noted => "NOTED",
            Verb::Resolved => "RESOLVED",
        }
    }
}

#[derive(Debug, Default)]
struct Team {
    pages: u64,
    escalations: u64,
    by_severity: BTreeMap<Severity, u64>,
    /// (incident, category, severity at its page), the first [`LISTED`].
    incidents: Vec<(String, String, Severity)>,
}

#[derive(Debug, Default)]
struct Ledger {
    paged: HashSet<String>,
    order: VecDeque<String>,
    teams: BTreeMap<String, Team>,
    info_lines: u64,
}

/// Tallies pages per team; also a [`Notifier`] that records every line it is given.
#[derive(Debug, Default)]
pub struct PageLedger {
    inner: Mutex<Ledger>,
}

impl PageLedger {
    /// An empty ledger.
    pub fn new() -> PageLedger {
        PageLedger::default()
    }

    /// Records one line and says what it is.
    pub fn record(&self, alert: &AlertRecord) -> Verb {
        let Ok(mut l) = self.inner.lock() else {
            return Verb::Noted;
        };
        if alert.action == Action::Resolve {
            l.paged.remove(&alert.incident);
            return Verb::Resolved;
        }
        if alert.teams.is_empty() {
            return Verb::Noted;
        }
        if alert.severity == Severity::Info {
            l.info_lines += 1;
            return Verb::Notify;
        }
        let first = !l.paged.contains(&alert.incident);
        if first {
            l.paged.insert(alert.incident.clone());
            l.order.push_back(alert.incident.clone());
            while l.order.len() > MAX_INCIDENTS {
                if let Some(old) = l.order.pop_front() {
                    l.paged.remove(&old);
                }
            }
        }
        for team in &alert.teams {
            let t = l.teams.entry(team.clone()).or_default();
            if first {
                t.pages += 1;
                *t.by_severity.entry(alert.severity).or_default() += 1;
                if t.incidents.len() < LISTED {
                    t.incidents.push((
                        alert.incident.clone(),
                        alert.category.to_string(),
                        alert.severity,
                    ));
                }
            } else {
                t.escalations += 1;
            }
        }
        if first {
            Verb::Page
        } else {
            Verb::Escalate
        }
    }

    /// Pages per team so far (team, pages).
    pub fn pages_by_team(&self) -> Vec<(String, u64)> {
        self.inner
            .lock()
            .map(|l| l.teams.iter().map(|(k, t)| (k.clone(), t.pages)).collect())
            .unwrap_or_default()
    }

    /// The end-of-run summary: who was paged, how often, for what.
    pub fn summary(&self) -> String {
        let Ok(l) = self.inner.lock() else {
            return String::new();
        };
        let mut s = String::from("paged:");
        if l.teams.is_empty() {
            s.push_str(" nobody");
        }
        for (name, t) in &l.teams {
            let sev: Vec<String> = t
                .by_severity
                .iter()
                .rev()
                .map(|(k, n)| format!("{n} {k}"))
                .collect();
            s.push_str(&format!(
                "\n  {name}: {} ({}), {}",
                plural(t.pages, "page"),
                sev.join(", "),
                plural(t.escalations, "escalation"),
            ));
            for (incident, category, severity) in &t.incidents {
                s.push_str(&format!("\n    {incident} [{category}] {severity}"));
            }
            let more = t.pages.saturating_sub(t.incidents.len() as u64);
            if more > 0 {
                s.push_str(&format!("\n    … and {more} more"));
            }
        }
        if l.info_lines > 0 {
            s.push_str(&format!(
                "\n  ({} told to teams without paging)",
                plural(l.info_lines, "info line")
            ));
        }
        s.push('\n');
        s
    }
}

/// `1 page`, `2 pages`.
fn plural(n: u64, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

impl Notifier for PageLedger {
    fn id(&self) -> &str {
        "pages"
    }
    fn teams(&self) -> &[String] {
        &[]
    }
    fn wants(&self, _alert: &AlertRecord) -> bool {
        true
    }
    fn notify<'a>(&'a self, alert: &'a AlertRecord) -> NotifyFuture<'a> {
        self.record(alert);
        Box::pin(async { Ok(()) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Category;

    fn line(incident: &str, action: Action, severity: Severity, teams: &[&str]) -> AlertRecord {
        AlertRecord {
            action,
            severity,
            category: Category::Conduct,
            teams: teams.iter().map(|t| t.to_string()).collect(),
            ..AlertRecord::sample(incident)
        }
    }

    #[test]
    fn pages_a_watch_that_escalates_is_paged_once_then_escalates() {
        let l = PageLedger::new();
        let both = ["field-ops", "support"];
        assert_eq!(
            l.record(&line("w", Action::Trigger, Severity::Info, &both)),
            Verb::Notify
        );
        assert_eq!(
            l.record(&line("w", Action::Escalate, Severity::Warning, &both)),
            Verb::Page,
            "the first warning line of a watch is its page"
        );
        assert_eq!(
            l.record(&line("w", Action::Escalate, Severity::Critical, &both)),
            Verb::Escalate
        );
        assert_eq!(
            l.record(&line("x", Action::Trigger, Severity::Error, &["support"])),
            Verb::Page
        );
        assert_eq!(
            l.record(&line("s", Action::Trigger, Severity::Info, &[])),
            Verb::Noted
        );
        assert_eq!(
            l.record(&line("w", Action::Resolve, Severity::Critical, &both)),
            Verb::Resolved
        );
        assert_eq!(
            l.pages_by_team(),
            [("field-ops".to_string(), 1), ("support".to_string(), 2)]
        );
        let s = l.summary();
        assert!(
            s.contains("support: 2 pages (1 error, 1 warning), 1 escalation"),
            "{s}"
        );
        assert!(
            s.contains("field-ops: 1 page (1 warning), 1 escalation"),
            "{s}"
        );
        assert!(s.contains("\n    w [conduct] warning\n"), "{s}");
        assert!(
            s.contains("(1 info line told to teams without paging)"),
            "{s}"
        );
    }

    #[test]
    fn pages_summary_says_nobody_when_nothing_paged() {
        assert_eq!(PageLedger::new().summary(), "paged: nobody\n");
    }
}
