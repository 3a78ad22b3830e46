//! Slack incoming webhook with a Block Kit message. Incoming webhooks cannot edit a message,
//! so every line of an incident carries the same incident id in its header and context, and
//! the header says what changed: `🔴 NEW`, `⬆️ ESCALATED`, `✅ RESOLVED`; a channel reads as
//! the incident's timeline.

use serde_json::{json, Value};

use super::{secrets, send, text, SinkContext};
use crate::alert::dispatch::{Notifier, NotifyFuture};
use crate::alert::truncate_chars;
use crate::config::{Secret, SinkKind, SinkSettings};
use crate::domain::alert::{Action, AlertRecord};
use crate::domain::Severity;

/// Slack's limit on a section block's text.
const SECTION_CHARS: usize = 3000;
/// Slack's limit on a section field's text.
const FIELD_CHARS: usize = 1900;
/// Most characters of one top post's label.
const POST_CHARS: usize = 200;

/// The Slack sink (incoming webhook).
pub struct SlackSink {
    id: String,
    teams: Vec<String>,
    webhook_url: Secret,
    redact: Vec<Secret>,
    links: SinkContext,
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
            redact: s.redact.clone(),
            links: SinkContext::default(),
            client,
        }
    }

    /// Messages link to Grafana (`[grafana] url`) and the incident API (`[server]
    /// public_url`) when they are configured.
    pub fn with_context(mut self, ctx: &SinkContext) -> SlackSink {
        self.links = SinkContext {
            state_dir: None,
            ..ctx.clone()
        };
        self
    }

    /// [`SlackSink::message_with`] without links.
    pub fn message(alert: &AlertRecord) -> Value {
        SlackSink::message_with(alert, &SinkContext::default())
    }

    /// The Block Kit message for one alert line. Every text that can hold what the public
    /// wrote (the summary quotes a post; top posts, authors and URLs are theirs) is escaped
    /// for mrkdwn (`text::mrkdwn`, `text::slack_link`); mrkdwn objects are `verbatim`, so
    /// Slack auto-links nothing either.
    /// With `[grafana] url` (`links`), a line "Open in Grafana" links to the brand's
    /// dashboard; with `[server] public_url`, another to the incident in the incident API.
    pub fn message_with(alert: &AlertRecord, links: &SinkContext) -> Value {
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
            &text::plain(&format!(
                "{icon} {what} {sev} · {} · {}",
                alert.brand, alert.incident
            )),
            150,
        );
        let md = |t: String| json!({"type": "mrkdwn", "text": t, "verbatim": true});
        let m = &alert.metrics;
        let teams = if alert.teams.is_empty() {
            String::from("none")
        } else {
            alert.teams.join(", ")
        };
        let mut fields = vec![
            md(format!("*Severity*\n{}", alert.severity)),
            md(format!("*Category*\n{}", alert.category)),
            md(format!(
                "*Mentions*\n{} ({}; usually {})",
                m.mentions,
                crate::domain::alert::per_min(m.rate_per_min),
                crate::domain::alert::per_min(m.baseline_per_min)
            )),
            md(format!("*Negative*\n{:.0}%", m.negative_share * 100.0)),
            md(format!("*Reach*\n{}", m.reach)),
            md(format!("*Teams*\n{}", text::entities(&teams, FIELD_CHARS))),
        ];
        if let Some(d) = m.doubling_time_s {
            fields.push(md(format!("*Doubling every*\n{:.0} min", d / 60.0)));
        }
        let mut blocks = vec![
            json!({"type": "header", "text": {"type": "plain_text", "text": header}}),
            json!({"type": "section", "text": md(text::mrkdwn(&alert.summary, SECTION_CHARS))}),
        ];
        if !alert.why.is_empty() {
            // The one sentence saying which signal crossed what: the first thing on-call reads
            // after the summary.
            const LEAD: &str = "*Why:* ";
            let why = format!(
                "{LEAD}{}",
                text::mrkdwn(&alert.why, SECTION_CHARS - LEAD.len())
            );
            blocks.push(json!({"type": "section", "text": md(why)}));
        }
        blocks.push(json!({"type": "section", "fields": fields}));
        if alert.action != Action::Resolve && !alert.top_posts.is_empty() {
            // Whole lines only, so a cut never leaves half a link.
            let mut posts = String::from("*Top posts*");
            for p in &alert.top_posts {
                // One line each: a post's line break would fake a top post of its own.
                let label = text::one_line(&format!("{}: {}", p.author, p.text));
                let line = p
                    .url
                    .as_deref()
                    .and_then(|u| text::slack_link(u, &label, POST_CHARS))
                    .unwrap_or_else(|| text::mrkdwn(&label, POST_CHARS));
                if posts.chars().count() + 3 + line.chars().count() > SECTION_CHARS {
                    break;
                }
                posts.push_str("\n• ");
                posts.push_str(&line);
            }
            blocks.push(json!({"type": "section", "text": md(posts)}));
        }
        let mut open = Vec::new();
        if let Some(l) = links
            .dashboard_url(&alert.brand)
            .and_then(|u| text::slack_link(&u, "Open in Grafana", 100))
        {
            open.push(l);
        }
        if let Some(l) = links
            .incident_url(&alert.incident)
            .and_then(|u| text::slack_link(&u, "Incident details", 100))
        {
            open.push(l);
        }
        if !open.is_empty() {
            blocks.push(json!({"type": "section", "text": md(open.join(" · "))}));
        }
        blocks.push(json!({"type": "context", "elements": [md(format!(
            "incident `{}` · {} · event time {}",
            text::entities(&alert.incident, 300),
            alert.action.as_str(),
            text::entities(&alert.at, 100)
        ))]}));
        let lead = format!("{what} {sev} {}: ", text::entities(&alert.incident, 300));
        let room = SECTION_CHARS.saturating_sub(lead.chars().count());
        // A post's link is shown, never previewed: an unfurl would put the page's own title,
        // text and images (chosen by whoever posted it) into the on-call channel.
        json!({
            "text": format!("{lead}{}", text::mrkdwn(&alert.summary, room)),
            "blocks": blocks,
            "unfurl_links": false,
            "unfurl_media": false,
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
                .json(&SlackSink::message_with(alert, &self.links));
            send(&self.id, req, &secrets([&self.webhook_url], &self.redact)).await
        })
    }
}
