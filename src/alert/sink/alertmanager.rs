//! Prometheus Alertmanager: `POST {url}/api/v2/alerts` with labels `alertname`, `brand`,
//! `team`, `severity`, `category`, `incident` and annotations `summary`, `why` (which signal
//! crossed what, in one sentence), `evidence`.
//!
//! Alertmanager resolves an alert it has not heard about for `resolve_timeout`, so active
//! incidents are re-posted every `repost_interval` by [`Notifier::tick`] (and at once when the
//! worker starts, so a restart does not let them lapse); a resolve line posts `endsAt` and
//! drops the incident from the active set. The active set is capped at [`MAX_ACTIVE`]
//! incidents (newer ones are still posted, just not re-posted).
//!
//! With a state directory ([`AlertmanagerSink::with_state_dir`], the outbox directory) the
//! active set is persisted in `alertmanager-<sink id>.json` (written atomically on every
//! change) and restored on start, so incidents still open after a restart keep being
//! re-posted. Nothing stays active forever: a resolve leaves the set when it is attempted,
//! whether it then goes through or is dead-lettered ([`Notifier::abandoned`]); a flood digest
//! has no resolve of its own, so it is posted with `endsAt` one hour after its event time
//! ([`DIGEST_LIFETIME`]) and leaves the set once that has passed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use serde_json::{json, Value};

use super::{post_label, secrets, send, text};
use crate::alert::dispatch::{Notifier, NotifyError, NotifyErrorKind, NotifyFuture};
use crate::config::{Secret, SinkKind, SinkSettings};
use crate::domain::alert::{Action, AlertRecord};

/// Most incidents kept for re-posting.
pub const MAX_ACTIVE: usize = 10_000;
/// How long after its event time a flood digest stays active in Alertmanager (its `endsAt`).
pub const DIGEST_LIFETIME: chrono::TimeDelta = chrono::TimeDelta::hours(1);

/// The Alertmanager sink: posts alerts, keeps the active set for re-posting.
#[derive(Debug)]
pub struct AlertmanagerSink {
    id: String,
    teams: Vec<String>,
    endpoint: String,
    repost: Duration,
    active: Mutex<BTreeMap<String, Vec<Value>>>,
    /// Where the active set is persisted; `None` = memory only.
    state: Option<PathBuf>,
    redact: Vec<Secret>,
    client: reqwest::Client,
}

/// The persisted form of the active set.
#[derive(serde::Serialize, serde::Deserialize)]
struct State {
    version: u32,
    /// incident → the alerts re-posted for it.
    active: BTreeMap<String, Vec<Value>>,
}

/// The file the active set of sink `id` is kept in, inside the state directory.
pub fn state_file(dir: &Path, id: &str) -> PathBuf {
    let safe: String = id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    dir.join(format!("alertmanager-{safe}.json"))
}

/// Whether an alert's `endsAt` has passed (a digest's lifetime is over).
fn ended(alerts: &[Value], now: chrono::DateTime<chrono::Utc>) -> bool {
    alerts.iter().any(|a| {
        a.get("endsAt")
            .and_then(Value::as_str)
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
            .is_some_and(|t| t <= now)
    })
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
            state: None,
            redact: s.redact.clone(),
            client,
        }
    }

    /// Keeps the active set in `dir` (the outbox directory) and restores what an earlier run
    /// left there. An unreadable file is logged and set aside (`.bad`); the set starts empty.
    pub fn with_state_dir(mut self, dir: Option<&Path>) -> AlertmanagerSink {
        let Some(dir) = dir else { return self };
        let path = state_file(dir, &self.id);
        match std::fs::read(&path) {
            Ok(bytes) => match serde_json::from_slice::<State>(&bytes) {
                Ok(state) => {
                    let n = state.active.len();
                    if let Ok(mut a) = self.active.lock() {
                        *a = state.active;
                    }
                    if n > 0 {
                        tracing::info!(sink = %self.id, incidents = n, "restored the Alertmanager active set; re-posting it");
                    }
                }
                Err(e) => {
                    tracing::warn!(sink = %self.id, path = %path.display(), error = %e, "unreadable Alertmanager state set aside; starting with no active incidents");
                    let _ignored = std::fs::rename(&path, path.with_extension("json.bad"));
                }
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                tracing::warn!(sink = %self.id, path = %path.display(), error = %e, "cannot read the Alertmanager state; starting with no active incidents")
            }
        }
        self.state = Some(path);
        self
    }

    /// Incidents in the active set (re-posted every `repost_interval`).
    pub fn active_incidents(&self) -> Vec<String> {
        self.active
            .lock()
            .map(|a| a.keys().cloned().collect())
            .unwrap_or_default()
    }

    /// Writes the active set (temporary file, fsync, rename); failures are logged: the set
    /// in memory stays right, only a restart would miss the change.
    fn save(&self, active: &BTreeMap<String, Vec<Value>>) {
        let Some(path) = &self.state else { return };
        let write = || -> std::io::Result<()> {
            let state = State {
                version: 1,
                active: active.clone(),
            };
            let bytes = serde_json::to_vec(&state).map_err(std::io::Error::other)?;
            let tmp = path.with_extension("json.tmp");
            let mut f = std::fs::File::create(&tmp)?;
            std::io::Write::write_all(&mut f, &bytes)?;
            f.sync_all()?;
            std::fs::rename(&tmp, path)
        };
        if let Err(e) = write() {
            tracing::warn!(sink = %self.id, path = %path.display(), error = %e, "cannot persist the Alertmanager active set");
        }
    }

    /// Changes the active set and persists it.
    fn update(&self, f: impl FnOnce(&mut BTreeMap<String, Vec<Value>>) -> bool) {
        if let Ok(mut active) = self.active.lock() {
            if f(&mut active) {
                self.save(&active);
            }
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
            "{}, {} (usually {}), {:.0}% negative, reach {}",
            crate::alert::render::mentions(m.mentions as f64),
            crate::domain::alert::per_min(m.rate_per_min),
            crate::domain::alert::per_min(m.baseline_per_min),
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
                        "why": text::plain(&alert.why),
                        "evidence": evidence,
                        "dedup_key": alert.dedup_key,
                    },
                    "startsAt": alert.at,
                });
                if alert.action == Action::Resolve {
                    a["endsAt"] = json!(alert.at);
                } else if let Some(ends) = digest_ends(alert) {
                    a["endsAt"] = json!(ends);
                }
                a
            })
            .collect()
    }
}

/// A flood digest's `endsAt`: [`DIGEST_LIFETIME`] after its event time.
fn digest_ends(alert: &AlertRecord) -> Option<String> {
    if !crate::alert::policy::is_digest(alert) {
        return None;
    }
    let at = chrono::DateTime::parse_from_rfc3339(&alert.at).ok()?;
    Some(
        (at.with_timezone(&chrono::Utc) + DIGEST_LIFETIME)
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    )
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
        // Digests whose lifetime is over leave the set (Alertmanager resolved them at endsAt).
        let now = chrono::Utc::now();
        self.update(|a| {
            let before = a.len();
            a.retain(|_, alerts| !ended(alerts, now));
            a.len() != before
        });
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
    fn abandoned(&self, alert: &AlertRecord) {
        // A dead-lettered resolve must not leave its incident re-posted forever.
        if alert.action == Action::Resolve {
            self.update(|a| a.remove(&alert.incident).is_some());
        }
    }
    fn notify<'a>(&'a self, alert: &'a AlertRecord) -> NotifyFuture<'a> {
        Box::pin(async move {
            let body = self.alerts(alert);
            if alert.action == Action::Resolve {
                // Out of the re-posts as soon as it is attempted: a resolve that keeps
                // failing must not keep the incident firing.
                self.update(|a| a.remove(&alert.incident).is_some());
            }
            if !body.is_empty() {
                let redact = secrets([], &self.redact);
                send(
                    &self.id,
                    self.client.post(&self.endpoint).json(&body),
                    &redact,
                )
                .await?;
            }
            if alert.action != Action::Resolve && !body.is_empty() {
                self.update(|active| {
                    if active.len() >= MAX_ACTIVE && !active.contains_key(&alert.incident) {
                        return false;
                    }
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
                    true
                });
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
