//! PagerDuty Events API v2: `POST {url}/v2/enqueue`, one event per **routing key** the line's
//! teams map to (teams that share a key share one event: one page, not one per team).
//! trigger/escalate → `trigger`, resolve → `resolve`, both with the alert's `dedup_key`, so
//! PagerDuty folds every line of an incident into one incident.
//!
//! By default the sink is sent lines at warning and above (`min_severity`; the router applies
//! it, an `[[escalation]]` row overrides it per team). `payload.source` names the brand and the
//! channels its top posts came from unless `source` is configured; with `[server] public_url`
//! the event carries `client_url` (the incident in the incident API) and `links` to it and, with
//! `[grafana] url`, to the brand dashboard.
//!
//! Several keys: each key's event is attempted whatever another key answered, and the sink
//! remembers (in memory, per line, until the line is delivered or given up) which keys took
//! theirs, so a retry goes only to the keys that have not: one team's 400 does not cost
//! another team its page, nor does one key's 503 page another team again on every retry. A
//! restart forgets it (at least once: the events carry the same `dedup_key`).
//!
//! Rate limit: a token bucket per routing key (`rate_limit_per_minute`, PagerDuty allows 120);
//! when empty, the send waits for a token rather than draw a 429.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::time::Duration;

use serde_json::{json, Value};
use tokio::time::Instant;

use super::{post_label, secrets, send, text, SinkContext};
use crate::alert::dispatch::{Notifier, NotifyError, NotifyErrorKind, NotifyFuture};
use crate::alert::{truncate_chars, MAX_SUMMARY_CHARS};
use crate::config::{Secret, SinkKind, SinkSettings};
use crate::domain::alert::{Action, AlertRecord};
use crate::domain::Severity;

/// The PagerDuty sink.
pub struct PagerDutySink {
    id: String,
    teams: Vec<String>,
    endpoint: String,
    default_key: Option<Secret>,
    keys: Vec<(String, Secret)>,
    source: String,
    per_minute: u32,
    min_severity: Severity,
    links: SinkContext,
    buckets: Mutex<HashMap<String, Bucket>>,
    /// Per line in delivery (see [`AlertRecord::line_key`]): the team groups whose event is settled (2xx,
    /// or rejected for good), so a retry skips them.
    settled: Mutex<HashMap<String, HashSet<String>>>,
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
    /// The sink for `s` (a `pagerduty` sink's settings).
    pub fn new(s: &SinkSettings, client: reqwest::Client) -> PagerDutySink {
        let (url, default_key, keys, per_minute, source, min_severity) = match &s.kind {
            SinkKind::PagerDuty {
                url,
                routing_key,
                routing_keys,
                rate_limit_per_minute,
                source,
                min_severity,
            } => (
                url.clone(),
                routing_key.clone(),
                routing_keys
                    .iter()
                    .map(|(t, k)| (t.clone(), k.clone()))
                    .collect(),
                *rate_limit_per_minute,
                source.clone(),
                *min_severity,
            ),
            _ => (
                String::new(),
                None,
                Vec::new(),
                120,
                String::new(),
                Severity::Warning,
            ),
        };
        PagerDutySink {
            id: s.id.clone(),
            teams: s.teams.clone(),
            endpoint: format!("{url}/v2/enqueue"),
            default_key,
            keys,
            source,
            per_minute: per_minute.max(1),
            min_severity,
            links: SinkContext::default(),
            buckets: Mutex::new(HashMap::new()),
            settled: Mutex::new(HashMap::new()),
            redact: s.redact.clone(),
            client,
        }
    }

    /// Events link to the incident API (`[server] public_url`) and the brand dashboard
    /// (`[grafana] url`) when they are configured.
    pub fn with_context(mut self, ctx: &SinkContext) -> PagerDutySink {
        self.links = SinkContext {
            state_dir: None,
            ..ctx.clone()
        };
        self
    }

    /// `payload.source`: the configured `source`, else the brand and the channels (hosts) its
    /// top posts came from, e.g. `brightline via bsky.app, mastodon.social`.
    pub fn source_for(&self, alert: &AlertRecord) -> String {
        if !self.source.is_empty() {
            return self.source.clone();
        }
        let mut hosts: Vec<String> = Vec::new();
        for p in &alert.top_posts {
            let host = p
                .url
                .as_deref()
                .and_then(text::web_url)
                .and_then(|u| reqwest::Url::parse(u).ok())
                .and_then(|u| u.host_str().map(str::to_string));
            if let Some(h) = host {
                let h = h.strip_prefix("www.").unwrap_or(&h).to_string();
                if !hosts.contains(&h) {
                    hosts.push(h);
                }
            }
        }
        let brand = text::plain(&alert.brand);
        if hosts.is_empty() {
            brand
        } else {
            truncate_chars(&format!("{brand} via {}", hosts.join(", ")), 255)
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

    /// The Events API v2 body for the teams `group` (the teams that share `key`).
    pub fn event(&self, alert: &AlertRecord, group: &str, key: &Secret) -> Value {
        let action = match alert.action {
            Action::Trigger | Action::Escalate => "trigger",
            Action::Resolve => "resolve",
        };
        // Links only to the web (a `javascript:` URL in a post is not a link), and no text
        // that reorders itself: PagerDuty shows these to the on-call as they are.
        let incident_url = self.links.incident_url(&alert.incident);
        let mut links: Vec<Value> = Vec::new();
        if let Some(u) = &incident_url {
            links.push(
                json!({"href": u, "text": format!("Incident {}", text::plain(&alert.incident))}),
            );
        }
        if let Some(u) = self.links.dashboard_url(&alert.brand) {
            links.push(json!({"href": u, "text": format!("Grafana: {} brand dashboard", text::plain(&alert.brand))}));
        }
        links.extend(alert.top_posts.iter().filter_map(|p| {
            p.url
                .as_deref()
                .and_then(text::web_url)
                .map(|u| json!({"href": u, "text": text::plain(&post_label(p, 200))}))
        }));
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
        let mut event = json!({
            "routing_key": key.expose(),
            "event_action": action,
            "dedup_key": alert.dedup_key,
            "client": "flashpoint",
            "payload": {
                "summary": truncate_chars(&text::plain(&alert.summary), MAX_SUMMARY_CHARS),
                "source": self.source_for(alert),
                "severity": alert.severity.as_str(),
                "timestamp": alert.at,
                "component": alert.brand,
                "group": group,
                "class": alert.category,
                "custom_details": {
                    "why": text::plain(&alert.why),
                    "incident": alert.incident,
                    "action": alert.action.as_str(),
                    "teams": alert.teams,
                    "metrics": alert.metrics,
                    "top_posts": top_posts,
                    "terms": alert.terms.iter().map(|t| text::plain(t)).collect::<Vec<_>>(),
                },
            },
            "links": links,
        });
        if let Some(u) = incident_url {
            event["client_url"] = json!(u);
        }
        event
    }

    fn carries(&self, team: &str) -> bool {
        self.teams.is_empty() || self.teams.iter().any(|t| t == team)
    }

    fn is_settled(&self, line: &str, group: &str) -> bool {
        self.settled
            .lock()
            .map(|m| m.get(line).is_some_and(|g| g.contains(group)))
            .unwrap_or(false)
    }

    fn settle(&self, line: &str, group: &str) {
        if let Ok(mut m) = self.settled.lock() {
            m.entry(line.to_string())
                .or_default()
                .insert(group.to_string());
        }
    }

    fn forget(&self, line: &str) {
        if let Ok(mut m) = self.settled.lock() {
            m.remove(line);
        }
    }
}

impl Notifier for PagerDutySink {
    fn id(&self) -> &str {
        &self.id
    }
    fn teams(&self) -> &[String] {
        &self.teams
    }
    fn min_severity(&self) -> Severity {
        self.min_severity
    }
    fn abandoned(&self, alert: &AlertRecord) {
        self.forget(&alert.line_key());
    }
    fn notify<'a>(&'a self, alert: &'a AlertRecord) -> NotifyFuture<'a> {
        Box::pin(async move {
            // Delivered only when every team of the line got its event: a team this sink
            // does not carry, or has no key for, is a failure, never a silent success.
            let mut missed = Vec::new();
            // One event per routing key: teams sharing a key share the page.
            let mut events: Vec<(&Secret, Vec<&str>)> = Vec::new();
            for team in &alert.teams {
                if !self.carries(team) {
                    missed.push(format!("{team} (not carried by this sink)"));
                    continue;
                }
                let Some(key) = self.key_for(team) else {
                    missed.push(format!("{team} (no routing key)"));
                    continue;
                };
                match events.iter_mut().find(|(k, _)| k.expose() == key.expose()) {
                    Some((_, teams)) => teams.push(team),
                    None => events.push((key, vec![team])),
                }
            }
            let line = alert.line_key();
            // Every key's event is attempted; the first retryable failure (else the first
            // for good) is the line's outcome.
            let mut retry: Option<NotifyError> = None;
            let mut rejected: Option<NotifyError> = None;
            for (key, teams) in events {
                let group = teams.join(", ");
                if self.is_settled(&line, &group) {
                    continue;
                }
                let wait = self.reserve(key);
                if !wait.is_zero() {
                    tokio::time::sleep(wait).await;
                }
                let body = self.event(alert, &group, key);
                let req = self.client.post(&self.endpoint).json(&body);
                let keys = self
                    .default_key
                    .iter()
                    .chain(self.keys.iter().map(|(_, k)| k));
                match send(&self.id, req, &secrets(keys, &self.redact)).await {
                    Ok(()) => self.settle(&line, &group),
                    Err(mut e) => {
                        e.message = format!("teams {group}: {}", e.message);
                        if e.retryable() {
                            retry.get_or_insert(e);
                        } else {
                            // Not retried: a later attempt of the line skips this key.
                            self.settle(&line, &group);
                            rejected.get_or_insert(e);
                        }
                    }
                }
            }
            if let Some(e) = retry {
                return Err(e);
            }
            self.forget(&line);
            if let Some(e) = rejected {
                return Err(e);
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
