//! Prometheus Alertmanager: `POST {url}/api/v2/alerts` with labels `alertname`, `brand`,
//! `team`, `severity`, `category`, `incident` and annotations `summary`, `evidence`.
//!
//! Alertmanager resolves an alert it has not heard about for `resolve_timeout`, so active
//! incidents are re-posted every `repost_interval` by [`Notifier::tick`]; a resolve line posts
//! `endsAt` and drops the incident from the active set. The active set is in memory and capped
//! at [`MAX_ACTIVE`] incidents (newer ones are still posted, just not re-posted).

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use serde_json::{json, Value};

use super::{post_label, secrets, send, text};
use crate::alert::dispatch::{Notifier, NotifyError, NotifyErrorKind, NotifyFuture};
use crate::config::{Secret, SinkKind, SinkSettings};
use crate::domain::alert::{Action, AlertRecord};

/// Most incidents kept for re-posting.
pub const MAX_ACTIVE: usize = 10_000;

#[derive(Debug)]
pub struct AlertmanagerSink {
    id: String,
    teams: Vec<String>,
    endpoint: String,
    repost: Duration,
    active: Mutex<BTreeMap<String, Vec<Value>>>,
    redact: Vec<Secret>,
    client: reqwest::Client,
}

impl AlertmanagerSink {
    pub fn new(s: &SinkSettings, client: reqwest::Client) -> AlertmanagerSink {
        let (url, repost) = match &s.kind {
            SinkKind::Alertmanager {
                url,
                repost_interval,
            } => (url.clone(), *repost_interval),
            _ => (String::new(), Duration::from_secs(60)),
        };
        AlertmanagerSink {
            id: s.id.clone(),
            teams: s.teams.clone(),
            endpoint: format!("{url}/api/v2/alerts"),
            repost,
            active: Mutex::new(BTreeMap::new()),
            redact: s.redact.clone(),
            client,
        }
    }

    /// The teams of `alert` this sink does not carry.
    fn foreign<'a>(&self, alert: &'a AlertRecord) -> Vec<&'a str> {
        alert
            .teams
            .iter()
            .filter(|t| !(self.teams.is_empty() || self.teams.contains(t)))
            .map(String::as_str)
            .collect()
    }

    /// The postable alerts for one line: one per team this sink carries (one with
    /// `team="none"` when the line names no team).
    pub fn alerts(&self, alert: &AlertRecord) -> Vec<Value> {
        let mut teams: Vec<&str> = alert
            .teams
            .iter()
            .filter(|t| self.teams.is_empty() || self.teams.contains(t))
            .map(String::as_str)
            .collect();
        if alert.teams.is_empty() {
            teams.push("none");
        }
        let m = &alert.metrics;
        let mut evidence = format!(
            "{} mentions, {:.1}/min (baseline {:.1}/min), {:.0}% negative, reach {}",
            m.mentions,
            m.rate_per_min,
            m.baseline_per_min,
            m.negative_share * 100.0,
            m.reach
        );
        // Annotations are plain text: no control or bidi characters, no non-web URLs.
        // (A receiver template that puts them into Slack or HTML must escape them there.)
        for p in &alert.top_posts {
            evidence.push_str("\n- ");
            evidence.push_str(&text::plain(&post_label(p, 200)));
            if let Some(u) = p.url.as_deref().and_then(text::web_url) {
                evidence.push_str(&format!(" ({})", text::plain(u)));
            }
        }
        teams
            .into_iter()
            .map(|team| {
                let mut a = json!({
                    "labels": {
                        "alertname": "FlashpointIncident",
                        "brand": alert.brand,
                        "team": team,
                        "severity": alert.severity.as_str(),
                        "category": alert.category,
                        "incident": alert.incident,
                    },
                    "annotations": {
                        "summary": text::plain(&alert.summary),
                        "evidence": evidence,
                        "dedup_key": alert.dedup_key,
                    },
                    "startsAt": alert.at,
                });
                if alert.action == Action::Resolve {
                    a["endsAt"] = json!(alert.at);
                }
                a
            })
            .collect()
    }
}

impl Notifier for AlertmanagerSink {
    fn id(&self) -> &str {
        &self.id
    }
    fn teams(&self) -> &[String] {
        &self.teams
    }
    fn tick_interval(&self) -> Option<Duration> {
        Some(self.repost)
    }
    fn tick(&self) -> NotifyFuture<'_> {
        let body: Vec<Value> = match self.active.lock() {
            Ok(a) => a.values().flatten().cloned().collect(),
            Err(_) => Vec::new(),
        };
        Box::pin(async move {
            if body.is_empty() {
                return Ok(());
            }
            let redact = secrets([], &self.redact);
            send(
                &self.id,
                self.client.post(&self.endpoint).json(&body),
                &redact,
            )
            .await
        })
    }
    fn notify<'a>(&'a self, alert: &'a AlertRecord) -> NotifyFuture<'a> {
        Box::pin(async move {
            let body = self.alerts(alert);
            if !body.is_empty() {
                let redact = secrets([], &self.redact);
                send(
                    &self.id,
                    self.client.post(&self.endpoint).json(&body),
                    &redact,
                )
                .await?;
            }
            if let Ok(mut active) = self.active.lock() {
                if alert.action == Action::Resolve {
                    active.remove(&alert.incident);
                } else if !body.is_empty()
                    && (active.len() < MAX_ACTIVE || active.contains_key(&alert.incident))
                {
                    // startsAt stays the trigger's: keep the first line's value.
                    let starts = active
                        .get(&alert.incident)
                        .and_then(|v| v.first())
                        .and_then(|v| v.get("startsAt").cloned());
                    let mut body = body;
                    if let Some(s) = starts {
                        for a in &mut body {
                            a["startsAt"] = s.clone();
                        }
                    }
                    active.insert(alert.incident.clone(), body);
                }
            }
            // Delivered only when every team of the line was posted.
            let foreign = self.foreign(alert);
            if !foreign.is_empty() {
                return Err(NotifyError {
                    notifier: self.id.clone(),
                    kind: NotifyErrorKind::Config,
                    reason: "team_not_carried",
                    message: format!(
                        "not posted for {}: this sink does not carry them (check its teams and [[escalation]])",
                        foreign.join(", ")
                    ),
                    retry_after: None,
                });
            }
            Ok(())
        })
    }
}
