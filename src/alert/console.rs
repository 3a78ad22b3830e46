//! A notifier that prints pages to the terminal: the demo's "pager".

use std::io::{IsTerminal, Write};

use owo_colors::OwoColorize;

use super::dispatch::{Notifier, NotifyFuture};
use crate::domain::alert::{Action, AlertRecord};
use crate::domain::Severity;

/// Prints each alert as a short block on stdout, coloured when stdout is a terminal.
pub struct ConsoleNotifier {
    color: bool,
    teams: Vec<String>,
}

impl ConsoleNotifier {
    pub fn new() -> ConsoleNotifier {
        ConsoleNotifier {
            color: std::io::stdout().is_terminal(),
            teams: Vec::new(),
        }
    }

    /// Renders one alert the way the demo shows it.
    pub fn render(alert: &AlertRecord, color: bool) -> String {
        let label = match (alert.action, alert.teams.is_empty()) {
            (Action::Resolve, _) => "RESOLVED",
            (_, true) => "NOTED",
            (Action::Trigger, false) if alert.severity == Severity::Info => "NOTIFY",
            (Action::Trigger, false) => "PAGE",
            (Action::Escalate, false) => "ESCALATE",
        };
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
        if alert.action == Action::Trigger {
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
        let text = ConsoleNotifier::render(alert, self.color);
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
        let s = ConsoleNotifier::render(&a, false);
        assert!(!s.contains('\u{1b}'), "{s:?}");
        assert!(!s.contains('\u{7}') && !s.contains('\u{202E}'), "{s:?}");
        assert!(s.contains("gas kael next"), "{s:?}");
        assert_eq!(s.lines().count(), 3, "one line per field: {s:?}");
    }
}
