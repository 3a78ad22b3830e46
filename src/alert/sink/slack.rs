//! Slack incoming webhook with a Block Kit message. Incoming webhooks cannot edit a message,
//! so every line of an incident carries the same incident id in its header and context, and
//! the header says what changed: `🔴 NEW`, `⬆️ ESCALATED`, `✅ RESOLVED`; a channel reads as
//! the incident's timeline.

use serde_json::{json, Value};

use super::{post_label, send};
use crate::alert::dispatch::{Notifier, NotifyFuture};
use crate::alert::truncate_chars;
use crate::config::{Secret, SinkKind, SinkSettings};
use crate::domain::alert::{Action, AlertRecord};
use crate::domain::Severity;

/// Slack's limit on a section block's text.
const SECTION_CHARS: usize = 3000;

pub struct SlackSink {
    id: String,
    teams: Vec<String>,
    webhook_url: Secret,
    client: reqwest::Client,
}

impl std::fmt::Debug for SlackSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SlackSink")
            .field("id", &self.id)
            .field("teams", &self.teams)
            .field("webhook_url", &self.webhook_url)
            .finish_non_exhaustive()
    }
}

impl SlackSink {
    pub fn new(s: &SinkSettings, client: reqwest::Client) -> SlackSink {
        let webhook_url = match &s.kind {
            SinkKind::Slack { webhook_url } => webhook_url.clone(),
            _ => Secret::default(),
        };
        SlackSink {
            id: s.id.clone(),
            teams: s.teams.clone(),
            webhook_url,
            client,
        }
    }

    /// The Block Kit message for one alert line.
    pub fn message(alert: &AlertRecord) -> Value {
        let (icon, what) = match alert.action {
            Action::Trigger => (
                match alert.severity {
                    Severity::Critical | Severity::Error => "🔴",
                    Severity::Warning => "🟠",
                    Severity::Info => "🔵",
                },
                "NEW",
            ),
            Action::Escalate => ("⬆️", "ESCALATED"),
            Action::Resolve => ("✅", "RESOLVED"),
        };
        let sev = alert.severity.as_str().to_uppercase();
        let header = truncate_chars(
            &format!("{icon} {what} {sev} · {} · {}", alert.brand, alert.incident),
            150,
        );
        let m = &alert.metrics;
        let mut fields = vec![
            json!({"type": "mrkdwn", "text": format!("*Severity*\n{}", alert.severity)}),
            json!({"type": "mrkdwn", "text": format!("*Category*\n{}", alert.category)}),
            json!({"type": "mrkdwn", "text": format!("*Mentions*\n{} ({:.1}/min, baseline {:.1}/min)", m.mentions, m.rate_per_min, m.baseline_per_min)}),
            json!({"type": "mrkdwn", "text": format!("*Negative*\n{:.0}%", m.negative_share * 100.0)}),
            json!({"type": "mrkdwn", "text": format!("*Reach*\n{}", m.reach)}),
            json!({"type": "mrkdwn", "text": format!("*Teams*\n{}", if alert.teams.is_empty() { String::from("none") } else { alert.teams.join(", ") })}),
        ];
        if let Some(d) = m.doubling_time_s {
            fields.push(
                json!({"type": "mrkdwn", "text": format!("*Doubling every*\n{:.0} min", d / 60.0)}),
            );
        }
        let mut blocks = vec![
            json!({"type": "header", "text": {"type": "plain_text", "text": header}}),
            json!({"type": "section", "text": {"type": "mrkdwn", "text": truncate_chars(&alert.summary, SECTION_CHARS)}}),
            json!({"type": "section", "fields": fields}),
        ];
        if alert.action != Action::Resolve && !alert.top_posts.is_empty() {
            let lines: Vec<String> = alert
                .top_posts
                .iter()
                .map(|p| match &p.url {
                    Some(u) => format!(
                        "• <{u}|{}>",
                        post_label(p, 200).replace(['<', '>', '|'], "")
                    ),
                    None => format!("• {}", post_label(p, 200)),
                })
                .collect();
            blocks.push(json!({"type": "section", "text": {"type": "mrkdwn", "text": truncate_chars(&format!("*Top posts*\n{}", lines.join("\n")), SECTION_CHARS)}}));
        }
        blocks.push(json!({"type": "context", "elements": [{"type": "mrkdwn", "text": format!("incident `{}` · {} · event time {}", alert.incident, alert.action.as_str(), alert.at)}]}));
        json!({
            "text": truncate_chars(&format!("{what} {sev} {}: {}", alert.incident, alert.summary), SECTION_CHARS),
            "blocks": blocks,
        })
    }
}

impl Notifier for SlackSink {
    fn id(&self) -> &str {
        &self.id
    }
    fn teams(&self) -> &[String] {
        &self.teams
    }
    fn notify<'a>(&'a self, alert: &'a AlertRecord) -> NotifyFuture<'a> {
        Box::pin(async move {
            let req = self
                .client
                .post(self.webhook_url.expose())
                .json(&SlackSink::message(alert));
            send(&self.id, req, &[&self.webhook_url]).await
        })
    }
}
