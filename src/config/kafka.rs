//! Kafka settings: the keys of `[[source]] type = "kafka"`, `[[sink]] type = "kafka"` and the
//! `[topology]` section of a partitioned deployment (`flashpoint run --role ...`).
//!
//! Role: typed, validated Kafka options. Inputs: the option tables of the config file.
//! Outputs: [`KafkaClient`] (brokers + librdkafka overrides, values masked in `Debug`),
//! [`TopologyConfig`]. Parsing needs no Kafka library: a build without the `kafka` feature
//! still reads these tables and reports `type = "kafka"` as "built without feature kafka".
//! With the feature, `client_config` and `producer_config` turn a [`KafkaClient`] into the
//! librdkafka configuration every adapter starts from (the source in `ingest`, the sink in
//! `alert`, the topology in `app`).

use std::collections::BTreeMap;

use serde::Deserialize;

use super::types::{HumanDuration, Secret};

/// The error given for `type = "kafka"` by a build without the feature.
pub const NO_FEATURE: &str =
    "flashpoint was built without feature kafka (rebuild with `cargo build --features kafka`)";

/// Whether this build has the Kafka adapters.
pub const ENABLED: bool = cfg!(feature = "kafka");

/// How to reach a cluster: `brokers` plus librdkafka properties from a `[...kafka]` table
/// (`"security.protocol" = "SASL_SSL"`, ...). Override values may be credentials: they are
/// [`Secret`]s, so `Debug` shows only the property names.
#[derive(Clone, PartialEq)]
pub struct KafkaClient {
    pub brokers: String,
    pub overrides: BTreeMap<String, Secret>,
}

impl std::fmt::Debug for KafkaClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KafkaClient")
            .field("brokers", &self.brokers)
            .field("overrides", &self.overrides.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl KafkaClient {
    /// A client for `brokers` without overrides.
    pub fn new(brokers: impl Into<String>) -> KafkaClient {
        KafkaClient {
            brokers: brokers.into(),
            overrides: BTreeMap::new(),
        }
    }
}

/// A librdkafka configuration for `c` (brokers first, then the overrides).
#[cfg(feature = "kafka")]
pub fn client_config(c: &KafkaClient) -> rdkafka::config::ClientConfig {
    let mut cc = rdkafka::config::ClientConfig::new();
    cc.set("bootstrap.servers", &c.brokers);
    for (k, v) in &c.overrides {
        cc.set(k, v.expose());
    }
    cc
}

/// [`client_config`] for an idempotent producer (ordered, no duplicates from its own retries).
#[cfg(feature = "kafka")]
pub fn producer_config(c: &KafkaClient) -> rdkafka::config::ClientConfig {
    let mut cc = client_config(c);
    cc.set("enable.idempotence", "true").set("linger.ms", "5");
    cc
}

/// `[[source]] type = "kafka"`: canonical mention NDJSON, one record per message, read with a
/// consumer group.
#[derive(Debug, Clone, PartialEq)]
pub struct KafkaSourceConfig {
    pub client: KafkaClient,
    pub topic: String,
    pub group_id: String,
}

/// `[[sink]] type = "kafka"`: every alert log line (docs/contracts.md §3) as one message keyed by
/// brand id.
#[derive(Debug, Clone, PartialEq)]
pub struct KafkaSinkConfig {
    pub client: KafkaClient,
    pub topic: String,
}

/// Reads `brokers` and the `kafka` override table; errors are `(key, reason)`.
pub fn parse_client(table: &toml::Table, errors: &mut Vec<(String, String)>) -> KafkaClient {
    let brokers = match table.get("brokers") {
        Some(toml::Value::String(s)) if !s.trim().is_empty() => s.clone(),
        Some(_) => {
            errors.push((
                "brokers".into(),
                "must be a non-empty \"host:port,...\" string".into(),
            ));
            String::new()
        }
        None => {
            errors.push(("brokers".into(), "missing".into()));
            String::new()
        }
    };
    let mut overrides = BTreeMap::new();
    match table.get("kafka") {
        None => {}
        Some(toml::Value::Table(t)) => {
            for (k, v) in t {
                let value = match v {
                    toml::Value::String(s) => Some(s.clone()),
                    toml::Value::Integer(n) => Some(n.to_string()),
                    toml::Value::Boolean(b) => Some(b.to_string()),
                    _ => None,
                };
                match value {
                    Some(v) if k != "bootstrap.servers" => {
                        overrides.insert(k.clone(), Secret::new(v));
                    }
                    Some(_) => errors.push((
                        format!("kafka.{k}"),
                        "set `brokers` instead of bootstrap.servers".into(),
                    )),
                    None => errors.push((
                        format!("kafka.{k}"),
                        "must be a string, integer or boolean".into(),
                    )),
                }
            }
        }
        Some(_) => errors.push((
            "kafka".into(),
            "must be a table of librdkafka properties".into(),
        )),
    }
    KafkaClient { brokers, overrides }
}

/// A required non-empty string option.
pub fn required(table: &toml::Table, key: &str, errors: &mut Vec<(String, String)>) -> String {
    match table.get(key) {
        Some(toml::Value::String(s)) if !s.is_empty() => s.clone(),
        Some(_) => {
            errors.push((key.into(), "must be a non-empty string".into()));
            String::new()
        }
        None => {
            errors.push((key.into(), "missing".into()));
            String::new()
        }
    }
}

/// `[topology]`: the topics and groups of a partitioned deployment (docs/scaling.md, "Kafka topology").
///
/// ```toml
/// [topology]
/// brokers = "kafka-1:9092,kafka-2:9092"
/// mentions_topic = "flashpoint.mentions"   # ingest → detect, keyed by brand id
/// alerts_topic = "flashpoint.alerts"       # detect → alert, keyed by brand id
/// detect_group = "flashpoint-detect"
/// alert_group = "flashpoint-alert"
/// checkpoint_dir = "/var/lib/flashpoint/checkpoints"   # shared by every detect worker
/// checkpoint_interval = "30s"
/// ```
#[derive(Debug, Deserialize, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TopologyConfig {
    pub brokers: String,
    #[serde(default = "default_mentions_topic")]
    pub mentions_topic: String,
    #[serde(default = "default_alerts_topic")]
    pub alerts_topic: String,
    #[serde(default = "default_detect_group")]
    pub detect_group: String,
    #[serde(default = "default_alert_group")]
    pub alert_group: String,
    /// One checkpoint file per mentions-topic partition; every detect worker must see the same
    /// directory (a shared volume).
    #[serde(default = "default_checkpoint_dir")]
    pub checkpoint_dir: String,
    /// Wall-clock time between checkpoints (and offset commits) of a detect worker.
    #[serde(default = "default_checkpoint_interval")]
    pub checkpoint_interval: HumanDuration,
    /// librdkafka properties for every client of the topology.
    #[serde(default)]
    pub kafka: BTreeMap<String, String>,
}

impl TopologyConfig {
    pub fn client(&self) -> KafkaClient {
        KafkaClient {
            brokers: self.brokers.clone(),
            overrides: self
                .kafka
                .iter()
                .map(|(k, v)| (k.clone(), Secret::new(v.clone())))
                .collect(),
        }
    }

    /// Problems as `(key, reason)`.
    pub fn check(&self) -> Vec<(String, String)> {
        let mut e = Vec::new();
        for (k, v) in [
            ("brokers", &self.brokers),
            ("mentions_topic", &self.mentions_topic),
            ("alerts_topic", &self.alerts_topic),
            ("detect_group", &self.detect_group),
            ("alert_group", &self.alert_group),
            ("checkpoint_dir", &self.checkpoint_dir),
        ] {
            if v.trim().is_empty() {
                e.push((format!("topology.{k}"), "must not be empty".into()));
            }
        }
        if self.mentions_topic == self.alerts_topic {
            e.push((
                "topology.alerts_topic".into(),
                "must differ from mentions_topic".into(),
            ));
        }
        if self.checkpoint_interval.0.is_zero() {
            e.push((
                "topology.checkpoint_interval".into(),
                "must be positive".into(),
            ));
        }
        if !ENABLED {
            e.push(("topology".into(), NO_FEATURE.into()));
        }
        e
    }
}

fn default_mentions_topic() -> String {
    String::from("flashpoint.mentions")
}
fn default_alerts_topic() -> String {
    String::from("flashpoint.alerts")
}
fn default_detect_group() -> String {
    String::from("flashpoint-detect")
}
fn default_alert_group() -> String {
    String::from("flashpoint-alert")
}
fn default_checkpoint_dir() -> String {
    String::from("checkpoints")
}
fn default_checkpoint_interval() -> HumanDuration {
    HumanDuration::from_secs(30)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_reads_overrides_and_masks_them() {
        let t: toml::Table = toml::from_str(
            "brokers = \"k:9092\"\n[kafka]\n\"sasl.password\" = \"hunter2\"\n\"linger.ms\" = 5\n",
        )
        .unwrap();
        let mut errs = Vec::new();
        let c = parse_client(&t, &mut errs);
        assert!(errs.is_empty(), "{errs:?}");
        assert_eq!(c.overrides["linger.ms"].expose(), "5");
        assert!(!format!("{c:?}").contains("hunter2"));
        let t: toml::Table = toml::from_str("[kafka]\n\"bootstrap.servers\" = \"x\"\n").unwrap();
        let mut errs = Vec::new();
        parse_client(&t, &mut errs);
        let keys: Vec<&str> = errs.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["brokers", "kafka.bootstrap.servers"]);
    }
}
