//! PagerDuty Events API v2: `POST {url}/v2/enqueue`, one event per team the sink carries,
//! with that team's routing key. trigger/escalate → `trigger`, resolve → `resolve`, both with
//! the alert's `dedup_key`, so PagerDuty folds every line of an incident into one incident.
//!
//! Rate limit: a token bucket per routing key (`rate_limit_per_minute`, PagerDuty allows 120);
//! when empty, the send waits for a token rather than draw a 429.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use serde_json::{json, Value};
use tokio::time::Instant;

use super::{post_label, secrets, send, text};
use crate::alert::dispatch::{Notifier, NotifyError, NotifyErrorKind, NotifyFuture};
use crate::alert::{truncate_chars, MAX_SUMMARY_CHARS};
use crate::config::{Secret, SinkKind, SinkSettings};
use crate::domain::alert::{Action, AlertRecord};

pub struct PagerDutySink {
    id: String,
    teams: Vec<String>,
    endpoint: String,
    default_key: Option<Secret>,
    keys: Vec<(String, Secret)>,
    source: String,
    per_minute: u32,
    buckets: Mutex<HashMap<String, Bucket>>,
    redact: Vec<Secret>,
    client: reqwest::Client,
}

impl std::fmt::Debug for PagerDutySink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PagerDutySink")
            .field("id", &self.id)
            .field("teams", &self.teams)
            .field("endpoint", &self.endpoint)
            .field("default_key", &self.default_key)
            .field("keys", &self.keys)
            .finish_non_exhaustive()
    }
}

/// Token bucket state for one routing key.
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl PagerDutySink {
    pub fn new(s: &SinkSettings, client: reqwest::Client) -> PagerDutySink {
        let (url, default_key, keys, per_minute, source) = match &s.kind {
            SinkKind::PagerDuty {
                url,
                routing_key,
                routing_keys,
                rate_limit_per_minute,
                source,
            } => (
                url.clone(),
                routing_key.clone(),
                routing_keys
                    .iter()
                    .map(|(t, k)| (t.clone(), k.clone()))
                    .collect(),
                *rate_limit_per_minute,
                source.clone(),
            ),
            _ => (String::new(), None, Vec::new(), 120, String::new()),
        };
        PagerDutySink {
            id: s.id.clone(),
            teams: s.teams.clone(),
            endpoint: format!("{url}/v2/enqueue"),
            default_key,
            keys,
            source,
            per_minute: per_minute.max(1),
            buckets: Mutex::new(HashMap::new()),
            redact: s.redact.clone(),
            client,
        }
    }

    fn key_for(&self, team: &str) -> Option<&Secret> {
        self.keys
            .iter()
            .find(|(t, _)| t == team)
            .map(|(_, k)| k)
            .or(self.default_key.as_ref())
    }

    /// How long to wait before the next event for `key` may go (0 = now; a token is taken).
    fn reserve(&self, key: &Secret) -> Duration {
        let Ok(mut b) = self.buckets.lock() else {
            return Duration::ZERO;
        };
        let cap = f64::from(self.per_minute);
        let per_sec = cap / 60.0;
        let now = Instant::now();
        let bucket = b.entry(key.expose().to_string()).or_insert(Bucket {
            tokens: cap,
            at: now,
        });
        bucket.tokens =
            (bucket.tokens + now.duration_since(bucket.at).as_secs_f64() * per_sec).min(cap);
        bucket.at = now;
        bucket.tokens -= 1.0;
        if bucket.tokens >= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-bucket.tokens / per_sec)
        }
    }

    /// The Events API v2 body for one team.
    pub fn event(&self, alert: &AlertRecord, team: &str, key: &Secret) -> Value {
        let action = match alert.action {
            Action::Trigger | Action::Escalate => "trigger",
            Action::Resolve => "resolve",
        };
        // Links only to the web (a `javascript:` URL in a post is not a link), and no text
        // that reorders itself: PagerDuty shows these to the on-call as they are.
        let links: Vec<Value> = alert
            .top_posts
            .iter()
            .filter_map(|p| {
                p.url
                    .as_deref()
                    .and_then(text::web_url)
                    .map(|u| json!({"href": u, "text": text::plain(&post_label(p, 200))}))
            })
            .collect();
        let top_posts: Vec<Value> = alert
            .top_posts
            .iter()
            .map(|p| {
                json!({
                    "id": p.id,
                    "text": text::plain(&p.text),
                    "author": text::plain(&p.author),
                    "followers": p.followers,
                    "url": p.url.as_deref().and_then(text::web_url),
                })
            })
            .collect();
        json!({
            "routing_key": key.expose(),
            "event_action": action,
            "dedup_key": alert.dedup_key,
            "client": "flashpoint",
            "payload": {
                "summary": truncate_chars(&text::plain(&alert.summary), MAX_SUMMARY_CHARS),
                "source": self.source,
                "severity": alert.severity.as_str(),
                "timestamp": alert.at,
                "component": alert.brand,
                "group": team,
                "class": alert.category,
                "custom_details": {
                    "incident": alert.incident,
                    "action": alert.action.as_str(),
                    "teams": alert.teams,
                    "metrics": alert.metrics,
                    "top_posts": top_posts,
                    "terms": alert.terms.iter().map(|t| text::plain(t)).collect::<Vec<_>>(),
                },
            },
            "links": links,
        })
    }

    fn carries(&self, team: &str) -> bool {
        self.teams.is_empty() || self.teams.iter().any(|t| t == team)
    }
}

impl Notifier for PagerDutySink {
    fn id(&self) -> &str {
        &self.id
    }
    fn teams(&self) -> &[String] {
        &self.teams
    }
    fn notify<'a>(&'a self, alert: &'a AlertRecord) -> NotifyFuture<'a> {
        Box::pin(async move {
            // Delivered only when every team of the line got its event: a team this sink
            // does not carry, or has no key for, is a failure, never a silent success.
            let mut missed = Vec::new();
            for team in &alert.teams {
                if !self.carries(team) {
                    missed.push(format!("{team} (not carried by this sink)"));
                    continue;
                }
                let Some(key) = self.key_for(team) else {
                    missed.push(format!("{team} (no routing key)"));
                    continue;
                };
                let wait = self.reserve(key);
                if !wait.is_zero() {
                    tokio::time::sleep(wait).await;
                }
                let body = self.event(alert, team, key);
                let req = self.client.post(&self.endpoint).json(&body);
                let keys = self
                    .default_key
                    .iter()
                    .chain(self.keys.iter().map(|(_, k)| k));
                send(&self.id, req, &secrets(keys, &self.redact)).await?;
            }
            if alert.teams.is_empty() {
                missed.push(String::from("the line names no team"));
            }
            if missed.is_empty() {
                return Ok(());
            }
            Err(NotifyError {
                notifier: self.id.clone(),
                kind: NotifyErrorKind::Config,
                reason: "team_not_carried",
                message: format!(
                    "not paged for {}: check the sink's teams, routing_keys and [[escalation]]",
                    missed.join(", ")
                ),
                retry_after: None,
            })
        })
    }
}
