//! The alert log line of docs/contracts.md §3.

use serde::{Deserialize, Serialize};

use crate::domain::{Category, Severity};

/// Longest `summary` allowed (PagerDuty's `payload.summary` limit).
pub const MAX_SUMMARY_CHARS: usize = 1024;
/// Longest `dedup_key` allowed (PagerDuty's limit).
pub const MAX_DEDUP_KEY_CHARS: usize = 255;
/// Most posts carried as evidence.
pub const MAX_TOP_POSTS: usize = 5;

/// What an alert line does to its incident.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// The incident was opened.
    Trigger,
    /// Severity rose or teams were added.
    Escalate,
    /// The incident went quiet.
    Resolve,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Trigger => "trigger",
            Action::Escalate => "escalate",
            Action::Resolve => "resolve",
        }
    }
}

/// The numbers behind a decision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct AlertMetrics {
    pub mentions: u64,
    pub rate_per_min: f64,
    pub baseline_per_min: f64,
    pub doubling_time_s: Option<f64>,
    pub negative_share: f64,
    pub reach: u64,
    pub unique_authors: u64,
    /// Share of positive mentions (extension).
    #[serde(default)]
    pub positive_share: f64,
    /// Share of the incident's mentions discounted as bot-like (extension).
    #[serde(default)]
    pub bot_share: f64,
    /// Reposts + quotes + replies per minute over the last 15 minutes (extension).
    #[serde(default)]
    pub reaction_rate_per_min: f64,
    /// Highest single-post risk seen in the incident, 0..1 (extension).
    #[serde(default)]
    pub max_risk: f64,
}

/// One piece of evidence: a post in the incident.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TopPost {
    pub id: String,
    pub text: String,
    pub author: String,
    pub followers: u64,
    pub url: Option<String>,
}

/// One alert log line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertRecord {
    pub at: String,
    pub action: Action,
    pub incident: String,
    pub brand: String,
    pub severity: Severity,
    pub category: Category,
    pub teams: Vec<String>,
    pub summary: String,
    pub metrics: AlertMetrics,
    pub top_posts: Vec<TopPost>,
    pub terms: Vec<String>,
    pub dedup_key: String,
    /// One sentence saying which signal crossed what (extension; absent in older logs).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub why: String,
}

impl AlertRecord {
    /// The decision's event time (`at`); `None` if the line was not written by flashpoint.
    pub fn event_time(&self) -> Option<crate::domain::EventTime> {
        crate::domain::EventTime::parse_rfc3339(&self.at)
    }

    /// What tells two alert lines apart: incident, action, severity and the line's own time
    /// (the outbox's identity of a notification is this and its sink).
    pub fn line_key(&self) -> String {
        format!(
            "{} {} {} {}",
            self.incident,
            self.action.as_str(),
            self.severity.as_str(),
            self.at
        )
    }

    /// The dedup key sent to PagerDuty: `flashpoint/<brand>/<incident>`, cut to 255 chars.
    pub fn dedup_key_for(brand: &str, incident: &str) -> String {
        truncate_chars(
            &format!("flashpoint/{brand}/{incident}"),
            MAX_DEDUP_KEY_CHARS,
        )
    }

    /// One JSON line without the newline.
    pub fn to_json_line(&self) -> String {
        // AlertRecord holds only strings, numbers and enums: serialisation cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// Whether `c` never belongs in text we emit: C0/C1 controls other than newline and tab, and
/// the Unicode bidirectional embedding, override and isolate controls.
pub fn is_unsafe_char(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t')
        || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// A rate per minute as alert text: one decimal from 1/min, two below it, so a quiet stream's
/// "0.04/min" is not shown as "0.0/min" beside a why-sentence that says 0.04.
pub fn per_min(x: f64) -> String {
    if x >= 1.0 || x == 0.0 {
        format!("{x:.1}/min")
    } else {
        format!("{x:.2}/min")
    }
}

/// Whether `c` breaks a line in some reader: newline, carriage return, vertical tab, form feed,
/// NEL, and the Unicode line and paragraph separators.
fn breaks_line(c: char) -> bool {
    matches!(
        c,
        '\n' | '\r' | '\u{0B}' | '\u{0C}' | '\u{85}' | '\u{2028}' | '\u{2029}'
    )
}

/// `s` on one line: every line break and tab becomes a space (runs of them one space), and
/// controls and bidi overrides ([`is_unsafe_char`]) are removed, so text quoted from a post
/// cannot fake a line of its own in a summary, a log or a terminal (contract §3: the summary is
/// one line).
pub fn one_line(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut gap = false;
    for c in s.chars() {
        if breaks_line(c) || c == '\t' {
            gap = true;
        } else if !is_unsafe_char(c) {
            if gap && !out.is_empty() && !out.ends_with(' ') && c != ' ' {
                out.push(' ');
            }
            gap = false;
            out.push(c);
        }
    }
    out
}

/// Cuts `s` to at most `max` characters, ending with `…` when it was cut.
pub fn truncate_chars(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

#[cfg(test)]
impl AlertRecord {
    /// A plain outage trigger for `incident` of brand `b`, routed to support (unit tests
    /// override the fields they care about).
    pub(crate) fn sample(incident: &str) -> AlertRecord {
        AlertRecord {
            at: "2026-03-03T10:52:40Z".into(),
            action: Action::Trigger,
            incident: incident.into(),
            brand: "b".into(),
            severity: crate::domain::Severity::Error,
            category: crate::domain::Category::Outage,
            teams: vec!["support".into()],
            summary: "s".into(),
            metrics: AlertMetrics::default(),
            top_posts: vec![],
            terms: vec![],
            dedup_key: format!("flashpoint/b/{incident}"),
            why: String::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_serialises_contract_field_names() {
        let r = AlertRecord {
            at: "2026-03-03T10:52:40Z".into(),
            action: Action::Trigger,
            incident: "brightline-20260303-0001".into(),
            brand: "brightline".into(),
            severity: Severity::Error,
            category: Category::Conduct,
            teams: vec!["field-ops".into(), "support".into()],
            summary: "s".into(),
            metrics: AlertMetrics::default(),
            top_posts: vec![],
            terms: vec!["van".into()],
            dedup_key: AlertRecord::dedup_key_for("brightline", "brightline-20260303-0001"),
            why: String::new(),
        };
        let v: serde_json::Value = serde_json::from_str(&r.to_json_line()).unwrap();
        for k in [
            "at",
            "action",
            "incident",
            "brand",
            "severity",
            "category",
            "teams",
            "summary",
            "metrics",
            "top_posts",
            "terms",
            "dedup_key",
        ] {
            assert!(v.get(k).is_some(), "missing {k}");
        }
        assert_eq!(v["action"], "trigger");
        assert_eq!(v["severity"], "error");
        assert_eq!(
            v["dedup_key"],
            "flashpoint/brightline/brightline-20260303-0001"
        );
        for k in [
            "mentions",
            "rate_per_min",
            "baseline_per_min",
            "doubling_time_s",
            "negative_share",
            "reach",
            "unique_authors",
        ] {
            assert!(v["metrics"].get(k).is_some(), "missing metrics.{k}");
        }
        let back: AlertRecord = serde_json::from_value(v).unwrap();
        assert_eq!(back, r);
    }

    #[test]
    fn truncate_chars_respects_unicode_and_limit() {
        let s = "é".repeat(2000);
        let t = truncate_chars(&s, MAX_SUMMARY_CHARS);
        assert_eq!(t.chars().count(), MAX_SUMMARY_CHARS);
        assert!(t.ends_with('…'));
        assert_eq!(truncate_chars("short", 10), "short");
    }

    #[test]
    fn one_line_joins_lines_and_drops_controls() {
        assert_eq!(one_line("a\nb\r\n\r\nc\td"), "a b c d");
        assert_eq!(
            one_line("a\u{2028}b\u{2029}c\u{85}d\u{0B}e\u{0C}f"),
            "a b c d e f"
        );
        assert_eq!(one_line("\u{1b}[2Jx\u{0}y\u{202e}z\u{2066}"), "[2Jxyz");
        assert_eq!(one_line("\n lead and trail \n"), " lead and trail ");
        assert_eq!(one_line("plain, unchanged — é"), "plain, unchanged — é");
    }
}
