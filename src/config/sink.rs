//! Typed sink settings (`[[sink]]` tables, docs/contracts.md §5) and the delivery sections
//! (`[delivery]`, `[flood_control]`, `[[escalation]]`). Parsing collects every error; no IO.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;

use super::component::ComponentConfig;
use super::types::{HumanDuration, Secret};
use crate::domain::Severity;

/// The PagerDuty Events API base URL.
pub const PAGERDUTY_URL: &str = "https://events.pagerduty.com";

/// One configured sink, its options validated.
#[derive(Debug, Clone, PartialEq)]
pub struct SinkSettings {
    pub id: String,
    /// Teams whose notifications this sink carries.
    pub teams: Vec<String>,
    /// Request timeout; zero = none.
    pub timeout: Duration,
    pub kind: SinkKind,
    /// Values `${VAR}` expanded to anywhere in this sink's options. Any of them may be a
    /// credential inside a larger value (a webhook URL's path, a token in a query), so the
    /// sink scrubs each one from every message it returns, wherever it appears.
    pub redact: Vec<Secret>,
}

/// The type-specific options of a sink. Every secret is a [`Secret`].
#[derive(Debug, Clone, PartialEq)]
pub enum SinkKind {
    PagerDuty {
        /// Base URL; events go to `{url}/v2/enqueue`.
        url: String,
        /// The key for teams without their own entry in `routing_keys`.
        routing_key: Option<Secret>,
        /// Per-team routing keys.
        routing_keys: BTreeMap<String, Secret>,
        /// Events per minute per routing key (PagerDuty allows 120).
        rate_limit_per_minute: u32,
        /// `payload.source`; empty = the brand and the channels its top posts came from.
        source: String,
        /// The least severe line sent here for a team without an `[[escalation]]` row
        /// (default warning: info goes to chat and webhooks, not to the pager).
        min_severity: Severity,
    },
    Slack {
        /// The incoming-webhook URL (itself a credential).
        webhook_url: Secret,
    },
    Alertmanager {
        /// Base URL; alerts go to `{url}/api/v2/alerts`.
        url: String,
        /// How often active incidents are re-posted.
        repost_interval: Duration,
    },
    Webhook {
        url: String,
        /// HMAC-SHA256 key for the signature header.
        secret: Secret,
    },
    /// Every alert log line to a Kafka topic, keyed by brand id (feature `kafka`). Not routed
    /// through the outbox: it mirrors the alert log, like the log file does.
    Kafka(super::kafka::KafkaSinkConfig),
}

impl SinkKind {
    pub fn name(&self) -> &'static str {
        match self {
            SinkKind::PagerDuty { .. } => "pagerduty",
            SinkKind::Slack { .. } => "slack",
            SinkKind::Alertmanager { .. } => "alertmanager",
            SinkKind::Webhook { .. } => "webhook",
            SinkKind::Kafka(_) => "kafka",
        }
    }
}

/// `[delivery]`: the durable outbox and retry policy.
#[derive(Debug, Deserialize, Clone, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct DeliveryConfig {
    /// The delivery state directory: the outbox (`<state_dir>/outbox`) and each
    /// Alertmanager sink's active set live here. Default: [`DeliveryConfig::outbox_path`].
    pub state_dir: Option<String>,
    /// Directory of the outbox log, when it should not be `<state_dir>/outbox` (kept for
    /// configurations written before `state_dir`).
    pub outbox_dir: Option<String>,
    /// First retry delay bound (full jitter: the delay is uniform in [0, bound]).
    pub backoff_initial: HumanDuration,
    /// Largest retry delay bound.
    pub backoff_max: HumanDuration,
    /// Age after which an undelivered notification goes to the dead-letter list.
    pub max_age: HumanDuration,
    /// How long `replay --deliver` waits for pending deliveries before exiting (they stay in
    /// the outbox and resume on the next start). `run` waits at most this, and never beyond
    /// its shutdown budget ([`SHUTDOWN_BUDGET`]).
    pub drain_timeout: HumanDuration,
    /// Notifications a sink's channel holds (its worker holds as many again); beyond it they
    /// wait in the outbox and the worker loads them as it catches up (Spill).
    pub queue_capacity: usize,
    /// How often the outbox log is compacted while running (delivered entries dropped):
    /// checked whenever a delivery or dead letter is recorded.
    pub compact_interval: HumanDuration,
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        DeliveryConfig {
            state_dir: None,
            outbox_dir: None,
            backoff_initial: HumanDuration::from_secs(1),
            backoff_max: HumanDuration::from_secs(300),
            max_age: HumanDuration::from_secs(24 * 3600),
            drain_timeout: HumanDuration::from_secs(30),
            queue_capacity: 1024,
            compact_interval: HumanDuration::from_secs(600),
        }
    }
}

/// The longest a graceful shutdown of `flashpoint run` takes, sinks down or not: pending
/// notifications that do not go out in time stay in the outbox for the next start.
pub const SHUTDOWN_BUDGET: Duration = Duration::from_secs(10);

/// The sub-directory of the state directory that holds the outbox.
pub const OUTBOX_SUBDIR: &str = "outbox";

impl DeliveryConfig {
    /// The state directory: `state_dir` when set; else `$STATE_DIRECTORY` (systemd's
    /// `StateDirectory=`), `$XDG_STATE_HOME/flashpoint` or `$HOME/.local/state/flashpoint`,
    /// the first that is set. `env` reads the environment (injected in tests).
    pub fn state_path(
        &self,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<std::path::PathBuf, String> {
        use std::path::PathBuf;
        let set = |k: &str| env(k).filter(|v| !v.is_empty());
        if let Some(d) = &self.state_dir {
            return Ok(PathBuf::from(d));
        }
        if let Some(d) = set("STATE_DIRECTORY") {
            // systemd may list several, separated by ':'; the first is ours.
            let first = d.split(':').next().unwrap_or_default();
            return Ok(PathBuf::from(first));
        }
        if let Some(d) = set("XDG_STATE_HOME") {
            return Ok(PathBuf::from(d).join("flashpoint"));
        }
        if let Some(h) = set("HOME") {
            return Ok(PathBuf::from(h).join(".local/state/flashpoint"));
        }
        Err(String::from(
            "no state directory: set [delivery] state_dir (or $STATE_DIRECTORY, $XDG_STATE_HOME or $HOME)",
        ))
    }

    /// The outbox directory: `outbox_dir` when set, else `<state dir>/outbox`
    /// ([`DeliveryConfig::state_path`]). Alertmanager sinks keep their active set there too.
    pub fn outbox_path(
        &self,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<std::path::PathBuf, String> {
        match &self.outbox_dir {
            Some(d) => Ok(std::path::PathBuf::from(d)),
            None => Ok(self.state_path(env)?.join(OUTBOX_SUBDIR)),
        }
    }
}

/// `[flood_control]`: per brand and team.
#[derive(Debug, Deserialize, Clone, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct FloodControlConfig {
    /// A new incident within this event time of the previous page for the same brand and team
    /// is grouped into it (not paged on its own; counted in the digest). "0s" = off.
    pub group_window: HumanDuration,
    /// Most incident pages per brand and team in any hour of event time; further incidents
    /// are suppressed and one digest notification says how many.
    pub max_pages_per_hour: u32,
}

impl Default for FloodControlConfig {
    fn default() -> Self {
        FloodControlConfig {
            group_window: HumanDuration::from_secs(0),
            max_pages_per_hour: 10,
        }
    }
}

/// One `[[escalation]]` row: which severities of a team's notifications go to which sinks.
/// A team without a row gets every severity on every sink that carries it.
#[derive(Debug, Deserialize, Clone, PartialEq, Default)]
#[serde(deny_unknown_fields)]
pub struct EscalationConfig {
    pub team: String,
    #[serde(default)]
    pub critical: Vec<String>,
    #[serde(default)]
    pub error: Vec<String>,
    #[serde(default)]
    pub warning: Vec<String>,
    #[serde(default)]
    pub info: Vec<String>,
}

impl EscalationConfig {
    /// The sink ids for a severity.
    pub fn sinks_for(&self, severity: Severity) -> &[String] {
        match severity {
            Severity::Critical => &self.critical,
            Severity::Error => &self.error,
            Severity::Warning => &self.warning,
            Severity::Info => &self.info,
        }
    }
}

/// Reads a sink's options, reporting each problem as `(key, reason)`.
pub fn parse_sink(
    i: usize,
    c: &ComponentConfig,
    err: &mut dyn FnMut(String, String),
) -> Option<SinkSettings> {
    let key = |k: &str| format!("sink[{i}].{k}");
    let mut o = Options {
        table: &c.options,
        used: vec!["teams"],
        prefix: format!("sink[{i}]"),
        err,
    };
    let teams = o.str_list("teams").unwrap_or_default();
    let timeout = o.duration("timeout", Duration::from_secs(10));
    let kind = match c.kind.as_str() {
        "pagerduty" => {
            let url = o.url("url", Some(PAGERDUTY_URL));
            let routing_key = if c.options.contains_key("routing_key") {
                o.string("routing_key", None).map(Secret::new)
            } else {
                o.used.push("routing_key");
                None
            };
            let mut routing_keys = BTreeMap::new();
            if let Some(v) = o.take("routing_keys") {
                match v.as_table() {
                    Some(t) => {
                        for (team, k) in t {
                            match k.as_str() {
                                Some(s) if !s.is_empty() => {
                                    routing_keys.insert(team.clone(), Secret::new(s));
                                }
                                _ => (o.err)(
                                    key(&format!("routing_keys.{team}")),
                                    "must be a non-empty string".into(),
                                ),
                            }
                        }
                    }
                    None => (o.err)(
                        key("routing_keys"),
                        "must be a table of team = \"key\"".into(),
                    ),
                }
            }
            if routing_key.is_none() {
                for t in &teams {
                    if !routing_keys.contains_key(t) {
                        (o.err)(
                            key("routing_key"),
                            format!("no routing key for team {t:?} (set routing_key or routing_keys.{t})"),
                        );
                    }
                }
            }
            let rate = o.int("rate_limit_per_minute", 120);
            let source = o.string("source", Some("")).unwrap_or_default();
            let min_severity = match o.string("min_severity", Some("warning")) {
                Some(v) => Severity::parse(&v).unwrap_or_else(|| {
                    (o.err)(
                        key("min_severity"),
                        format!("unknown severity {v:?} (info, warning, error, critical)"),
                    );
                    Severity::Warning
                }),
                None => Severity::Warning,
            };
            SinkKind::PagerDuty {
                url: url.unwrap_or_default(),
                routing_key,
                routing_keys,
                rate_limit_per_minute: u32::try_from(rate.max(1)).unwrap_or(u32::MAX),
                source,
                min_severity,
            }
        }
        "slack" => {
            let webhook_url = o.url("webhook_url", None).unwrap_or_default();
            SinkKind::Slack {
                webhook_url: Secret::new(webhook_url),
            }
        }
        "alertmanager" => {
            let url = o.url("url", None).unwrap_or_default();
            let repost_interval = o.duration("repost_interval", Duration::from_secs(60));
            if repost_interval.is_zero() {
                (o.err)(key("repost_interval"), "must be positive".into());
            }
            SinkKind::Alertmanager {
                url,
                repost_interval,
            }
        }
        "webhook" => {
            let url = o.url("url", None).unwrap_or_default();
            let secret = o.string("secret", None).unwrap_or_default();
            SinkKind::Webhook {
                url,
                secret: Secret::new(secret),
            }
        }
        "kafka" => {
            let mut errs = Vec::new();
            o.used.extend(["brokers", "topic", "kafka"]);
            let client = super::kafka::parse_client(o.table, &mut errs);
            let topic = super::kafka::required(o.table, "topic", &mut errs);
            if !super::kafka::ENABLED {
                errs.push(("type".into(), super::kafka::NO_FEATURE.into()));
            }
            for (k, reason) in errs {
                (o.err)(key(&k), reason);
            }
            SinkKind::Kafka(super::kafka::KafkaSinkConfig { client, topic })
        }
        other => {
            (o.err)(
                key("type"),
                format!(
                    "unknown sink type {other:?} (pagerduty, slack, alertmanager, webhook, kafka)"
                ),
            );
            return None;
        }
    };
    o.reject_unknown();
    Some(SinkSettings {
        id: c.id.clone(),
        teams,
        timeout,
        kind,
        redact: Vec::new(),
    })
}

/// Typed access to a component's option table that remembers which keys were read.
struct Options<'a, 'e> {
    table: &'a toml::Table,
    used: Vec<&'static str>,
    prefix: String,
    err: &'e mut dyn FnMut(String, String),
}

impl<'a> Options<'a, '_> {
    fn key(&self, k: &str) -> String {
        format!("{}.{k}", self.prefix)
    }

    fn take(&mut self, k: &'static str) -> Option<&'a toml::Value> {
        self.used.push(k);
        let table: &'a toml::Table = self.table;
        table.get(k)
    }

    fn string(&mut self, k: &'static str, default: Option<&str>) -> Option<String> {
        match self.take(k) {
            Some(toml::Value::String(s)) if !s.is_empty() => Some(s.clone()),
            Some(_) => {
                let key = self.key(k);
                (self.err)(key, "must be a non-empty string".into());
                None
            }
            None => {
                if default.is_none() {
                    let key = self.key(k);
                    (self.err)(key, "missing".into());
                }
                default.map(str::to_string)
            }
        }
    }

    fn url(&mut self, k: &'static str, default: Option<&str>) -> Option<String> {
        let s = self.string(k, default)?;
        if !(s.starts_with("http://") || s.starts_with("https://")) {
            let key = self.key(k);
            // The value may be a credential (Slack webhook): never echo it.
            (self.err)(key, "must start with http:// or https://".into());
        } else if s.contains(char::is_whitespace) {
            let key = self.key(k);
            (self.err)(key, "must not contain spaces (percent-encode them)".into());
        } else if let Err(e) = reqwest::Url::parse(&s) {
            // Caught here, not as every delivery's error (`http://[::1/…` has no closing
            // bracket); the parser's message names the fault, not the value.
            let key = self.key(k);
            (self.err)(key, format!("is not a valid URL: {e}"));
        }
        Some(s.trim_end_matches('/').to_string())
    }

    fn int(&mut self, k: &'static str, default: i64) -> i64 {
        match self.take(k) {
            Some(toml::Value::Integer(n)) if *n > 0 => *n,
            Some(_) => {
                let key = self.key(k);
                (self.err)(key, "must be a positive integer".into());
                default
            }
            None => default,
        }
    }

    fn duration(&mut self, k: &'static str, default: Duration) -> Duration {
        match self.take(k) {
            Some(toml::Value::String(s)) => match HumanDuration::parse(s) {
                Ok(d) => d.0,
                Err(e) => {
                    let key = self.key(k);
                    (self.err)(key, e);
                    default
                }
            },
            Some(_) => {
                let key = self.key(k);
                (self.err)(key, "must be a duration such as \"10s\"".into());
                default
            }
            None => default,
        }
    }

    fn str_list(&mut self, k: &'static str) -> Option<Vec<String>> {
        let v = self.take(k)?;
        let list: Option<Vec<String>> = v.as_array().and_then(|a| {
            a.iter()
                .map(|x| x.as_str().filter(|s| !s.is_empty()).map(str::to_string))
                .collect()
        });
        if list.is_none() {
            let key = self.key(k);
            (self.err)(key, "must be a list of non-empty strings".into());
        }
        list
    }

    fn reject_unknown(&mut self) {
        let unknown: Vec<String> = self
            .table
            .keys()
            .filter(|k| !self.used.contains(&k.as_str()))
            .cloned()
            .collect();
        for k in unknown {
            let key = self.key(&k);
            (self.err)(key, "unknown key".into());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn component(kind: &str, text: &str) -> ComponentConfig {
        ComponentConfig {
            id: "s".into(),
            kind: kind.into(),
            options: toml::from_str(text).unwrap(),
        }
    }

    fn parse(kind: &str, text: &str) -> (Option<SinkSettings>, Vec<(String, String)>) {
        let mut errs = Vec::new();
        let s = parse_sink(0, &component(kind, text), &mut |k, r| errs.push((k, r)));
        (s, errs)
    }

    #[test]
    fn sink_pagerduty_defaults_and_per_team_keys() {
        let (s, errs) = parse(
            "pagerduty",
            "teams = [\"support\", \"field-ops\"]\nrouting_keys = { support = \"k1\", field-ops = \"k2\" }\n",
        );
        assert!(errs.is_empty(), "{errs:?}");
        let s = s.unwrap();
        match &s.kind {
            SinkKind::PagerDuty {
                url,
                routing_keys,
                rate_limit_per_minute,
                ..
            } => {
                assert_eq!(url, PAGERDUTY_URL);
                assert_eq!(routing_keys["field-ops"].expose(), "k2");
                assert_eq!(*rate_limit_per_minute, 120);
            }
            other => panic!("{other:?}"),
        }
        assert!(!format!("{s:?}").contains("k2"));
    }

    #[test]
    fn sink_url_that_does_not_parse_is_an_error_that_does_not_echo_it() {
        for bad in [
            "http://[::1/services/T0/B0/SECRETXYZ",
            "https://host:99999/x",
            "http://",
        ] {
            let (_, errs) = parse(
                "slack",
                &format!("teams = [\"support\"]\nwebhook_url = \"{bad}\"\n"),
            );
            let e: Vec<String> = errs.iter().map(|(k, r)| format!("{k}: {r}")).collect();
            assert!(
                e.iter()
                    .any(|l| l.starts_with("sink[0].webhook_url: is not a valid URL")),
                "{bad}: {e:?}"
            );
            assert!(!e.iter().any(|l| l.contains("SECRETXYZ")), "{e:?}");
        }
        let (_, errs) = parse(
            "slack",
            "teams = [\"support\"]\nwebhook_url = \"http://[::1]:8080/services/x\"\n",
        );
        assert!(errs.is_empty(), "{errs:?}");
    }

    #[test]
    fn sink_options_list_every_error() {
        let (_, errs) = parse(
            "pagerduty",
            "teams = [\"support\"]\nurl = \"ftp://x\"\nrate_limit_per_minute = -1\ntimeout = \"soon\"\ncolour = 1\n",
        );
        let keys: Vec<&str> = errs.iter().map(|(k, _)| k.as_str()).collect();
        for want in [
            "sink[0].url",
            "sink[0].routing_key",
            "sink[0].rate_limit_per_minute",
            "sink[0].timeout",
            "sink[0].colour",
        ] {
            assert!(keys.contains(&want), "missing {want} in {keys:?}");
        }
        let (_, errs) = parse("webhook", "teams = []\nsecret = 1\n");
        let keys: Vec<&str> = errs.iter().map(|(k, _)| k.as_str()).collect();
        assert!(keys.contains(&"sink[0].url") && keys.contains(&"sink[0].secret"));
        let (s, errs) = parse("kafka", "teams = []\nbrokers = \"k:9092\"\ntopic = \"a\"\n");
        if crate::config::kafka::ENABLED {
            assert!(s.is_some() && errs.is_empty(), "{errs:?}");
        } else {
            assert_eq!(errs.len(), 1, "{errs:?}");
            assert_eq!(errs[0].0, "sink[0].type");
            assert!(errs[0].1.contains("built without feature kafka"));
        }
        let (_, errs) = parse("kafka", "teams = []");
        let keys: Vec<&str> = errs.iter().map(|(k, _)| k.as_str()).collect();
        assert!(keys.contains(&"sink[0].brokers") && keys.contains(&"sink[0].topic"));
    }

    #[test]
    fn sink_errors_never_echo_secret_values() {
        let (_, errs) = parse(
            "slack",
            "teams = []\nwebhook_url = \"hooks/T0/B0/XSECRETX\"\n",
        );
        assert_eq!(errs.len(), 1);
        assert!(!errs[0].1.contains("XSECRETX"));
    }
}
