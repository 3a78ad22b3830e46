//! A notifier that prints pages to the terminal: the demo's "pager". Each line starts with
//! its verb ([`Verb`]): `PAGE` (an incident's first line at warning or above), `ESCALATE`,
//! `NOTIFY` (info: told, not paged), `NOTED` (no team), `RESOLVED`; [`ConsoleNotifier::summary`]
//! says at the end who was paged, how often, for what.

use std::io::{IsTerminal, Write};

use owo_colors::OwoColorize;

use super::dispatch::{Notifier, NotifyFuture};
use super::pages::{PageLedger, Verb};
use crate::domain::alert::{Action, AlertRecord};
use crate::domain::Severity;

/// Prints each alert as a short block on stdout, coloured when stdout is a terminal.
pub struct ConsoleNotifier {
    color: bool,
    teams: Vec<String>,
    pages: PageLedger,
}

impl ConsoleNotifier {
    /// A console pager on stdout (coloured on a terminal).
    pub fn new() -> ConsoleNotifier {
        ConsoleNotifier {
            color: std::io::stdout().is_terminal(),
            teams: Vec::new(),
            pages: PageLedger::new(),
        }
    }

    /// Records `alert` and renders it with its verb (`PAGE` for an incident's first line at
    /// warning or above).
    pub fn show(&self, alert: &AlertRecord) -> String {
        let verb = self.pages.record(alert);
        ConsoleNotifier::render_as(verb, alert, self.color)
    }

    /// Who was paged, how often, for what (so far).
    pub fn summary(&self) -> String {
        self.pages.summary()
    }

    /// Renders one alert on its own (a trigger at warning or above is its page).
    pub fn render(alert: &AlertRecord, color: bool) -> String {
        let verb = match (alert.action, alert.teams.is_empty()) {
            (Action::Resolve, _) => Verb::Resolved,
            (_, true) => Verb::Noted,
            (_, false) if alert.severity == Severity::Info => Verb::Notify,
            (Action::Trigger, false) => Verb::Page,
            (Action::Escalate, false) => Verb::Escalate,
        };
        ConsoleNotifier::render_as(verb, alert, color)
    }

    /// Renders one alert the way the demo shows it, with the verb given.
    pub fn render_as(verb: Verb, alert: &AlertRecord, color: bool) -> String {
        let label = verb.label();
        let sev = alert.severity.as_str().to_uppercase();
        let head = format!("{label:<8} {sev:<8}");
        let head = if !color {
            head
        } else {
            match (alert.action, alert.severity) {
                (Action::Resolve, _) => head.green().to_string(),
                (_, Severity::Critical) => head.red().bold().to_string(),
                (_, Severity::Error) => head.red().to_string(),
                (_, Severity::Warning) => head.yellow().to_string(),
                (_, Severity::Info) => head.cyan().to_string(),
            }
        };
        let teams = if alert.teams.is_empty() {
            String::from("(no team)")
        } else {
            alert.teams.join(", ")
        };
        // Post text (quoted in the summary too) must not drive the terminal.
        let clean = super::sink::text::one_line;
        let mut s = format!(
            "{head} {at}  {incident} [{category}] → {teams}\n         {summary}\n",
            at = alert.at,
            incident = alert.incident,
            category = alert.category,
            summary = clean(&alert.summary),
        );
        if !alert.why.is_empty() {
            s.push_str(&format!("         why: {}\n", clean(&alert.why)));
        }
        if alert.action == Action::Trigger || verb == Verb::Page {
            if let Some(p) = alert.top_posts.first() {
                let text: String = clean(&p.text).chars().take(140).collect();
                s.push_str(&format!(
                    "         top post: {} ({} followers): {text}\n",
                    clean(&p.author),
                    p.followers
                ));
            }
        }
        s
    }
}

impl Default for ConsoleNotifier {
    fn default() -> Self {
        ConsoleNotifier::new()
    }
}

impl Notifier for ConsoleNotifier {
    fn id(&self) -> &str {
        "console"
    }
    fn teams(&self) -> &[String] {
        &self.teams
    }
    fn wants(&self, _alert: &AlertRecord) -> bool {
        true
    }
    fn notify<'a>(&'a self, alert: &'a AlertRecord) -> NotifyFuture<'a> {
        let text = self.show(alert);
        Box::pin(async move {
            let mut out = std::io::stdout().lock();
            // A closed stdout (e.g. `| head`) must not fail the pipeline.
            let _ignored = out.write_all(text.as_bytes());
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn console_strips_terminal_control_sequences_from_post_text() {
        let mut a = AlertRecord::sample("b-20260303-0001");
        a.summary = "b: outage — \u{1b}]0;pwned\u{7}\u{1b}[2Jgas \u{202E}kael\nnext".into();
        a.top_posts = vec![crate::domain::alert::TopPost {
            id: "m1".into(),
            text: "\u{1b}[31mred\u{1b}[0m".into(),
            author: "@x\u{1b}[8m".into(),
            followers: 1,
            url: None,
        }];
        a.why = "complaints at 3.0/min\u{1b}[2J, 12x their usual".into();
        let s = ConsoleNotifier::render(&a, false);
        assert!(!s.contains('\u{1b}'), "{s:?}");
        assert!(!s.contains('\u{7}') && !s.contains('\u{202E}'), "{s:?}");
        assert!(s.contains("gas kael next"), "{s:?}");
        assert!(s.contains("\n         why: complaints at 3.0/min"), "{s:?}");
        assert_eq!(s.lines().count(), 4, "one line per field: {s:?}");
    }

    #[test]
    fn console_labels_the_first_page_level_line_page() {
        let c = ConsoleNotifier {
            color: false,
            teams: Vec::new(),
            pages: PageLedger::new(),
        };
        let mut watch = AlertRecord::sample("w-20260303-0001");
        watch.teams = vec!["support".into()];
        watch.severity = Severity::Info;
        assert!(
            c.show(&watch).starts_with("NOTIFY   INFO"),
            "{}",
            c.show(&watch)
        );
        let mut warn = watch.clone();
        warn.action = Action::Escalate;
        warn.severity = Severity::Warning;
        let shown = c.show(&warn);
        assert!(shown.starts_with("PAGE     WARNING"), "{shown}");
        let mut crit = warn.clone();
        crit.severity = Severity::Critical;
        assert!(c.show(&crit).starts_with("ESCALATE CRITICAL"));
        assert!(c
            .summary()
            .contains("support: 1 page (1 warning), 1 escalation"));
    }
}
