//! The configuration file as written (serde input). Unknown keys are errors; every section but
//! `[[brand]]` has defaults. `validate` turns this into [`super::Config`].

use serde::Deserialize;

use super::component::ComponentConfig;
use super::sink::{DeliveryConfig, EscalationConfig, FloodControlConfig};
use super::types::HumanDuration;

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    /// Configuration format version; only `1` exists.
    pub version: Option<i64>,
    #[serde(default)]
    pub brand: Vec<BrandConfig>,
    #[serde(default)]
    pub pipeline: PipelineConfig,
    #[serde(default)]
    pub detect: DetectConfig,
    #[serde(default)]
    pub routing: Vec<RouteConfig>,
    pub server: Option<ServerConfig>,
    pub alert_log: Option<AlertLogConfig>,
    pub archive: Option<ArchiveConfig>,
    #[serde(default)]
    pub checkpoint: Option<CheckpointConfig>,
    #[serde(default)]
    pub source: Vec<ComponentConfig>,
    #[serde(default)]
    pub sink: Vec<ComponentConfig>,
    #[serde(default)]
    pub delivery: DeliveryConfig,
    #[serde(default)]
    pub flood_control: FloodControlConfig,
    #[serde(default)]
    pub escalation: Vec<EscalationConfig>,
    /// `[topology]`: Kafka topics and groups of a partitioned deployment (feature `kafka`).
    pub topology: Option<super::kafka::TopologyConfig>,
    /// `[grafana]`: the dashboards pages link to.
    pub grafana: Option<GrafanaConfig>,
}

/// One `[[brand]]` table (docs/contracts.md §2).
#[derive(Debug, Deserialize, Clone, Default, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct BrandConfig {
    pub id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub terms: Vec<String>,
    #[serde(default)]
    pub handles: Vec<String>,
    #[serde(default)]
    pub hashtags: Vec<String>,
    #[serde(default)]
    pub exclude: Vec<String>,
    /// Sensitivity profile for this brand (`fewer`, `balanced`, `more`); default
    /// `detect.profile`.
    #[serde(default)]
    pub profile: Option<String>,
}

/// `[pipeline]`: event-time handling and bounded state.
#[derive(Debug, Deserialize, Clone, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct PipelineConfig {
    /// How far out of event-time order a mention may arrive and still be counted.
    pub allowed_lateness: HumanDuration,
    /// How long a brand-attributed post stays in the thread index for reply attribution.
    pub parent_retention: HumanDuration,
    /// Most posts held in the thread index; the oldest are evicted first.
    pub parent_capacity: usize,
    /// Capacity of each bounded channel between stages, in mentions.
    pub channel_capacity: usize,
    /// Sentiment model for every matched mention: "lexicon" (VADER, the default) or "linear"
    /// (trained n-gram logistic regression). `--model` on `replay`/`run` overrides it.
    pub sentiment_model: String,
    /// Sentiment model that re-reads the texts naming a service failure (one medium outage,
    /// billing or service phrase) that `sentiment_model` reads positive (sarcasm); its negative
    /// reading wins (`app::prepare::TextScorer`). "linear" by default; "none" switches it off,
    /// and it is off when it is `sentiment_model` itself.
    pub grievance_sentiment_model: String,
    /// Second sentiment model (e.g. "bert") for mentions of brands with a candidate incident
    /// (open, or a spike persisting towards one); other mentions keep `sentiment_model`'s
    /// score. Off when absent. `--incident-model` on `replay`/`run` overrides it.
    pub incident_sentiment_model: Option<String>,
    /// Mentions per batch sent to `incident_sentiment_model`.
    pub incident_sentiment_batch: usize,
    /// Batches waiting for `incident_sentiment_model` in `run` before new ones keep the fast
    /// score (counted in `flashpoint_sentiment_refine_skipped_total`).
    pub incident_sentiment_queue: usize,
    /// Live sources drop mentions dated more than this ahead of the receiving process's wall
    /// clock (`future_event_time`); replays drop a mention this far ahead of the watermark
    /// unless the next one confirms the jump (`replay::watermark`).
    pub max_future_skew: HumanDuration,
    /// Live sources drop mentions older than this by the receiving process's wall clock
    /// (`stale_event_time`); at the start of a replay, a mention this far (or ten median
    /// deviations) from the median of the first mentions is an outlier.
    pub max_event_age: HumanDuration,
    /// What `run` does when a source task fails or panics: restart it with backoff (the
    /// default) or stop the run with a non-zero exit.
    pub on_source_failure: SourceFailurePolicy,
    /// Threads that `replay` splits detection over, brands partitioned among them (`app::shard`);
    /// the alert log is byte-identical for any number. 0: one per core. `--shards` overrides it.
    pub shards: usize,
    /// Threads that match and score mentions ahead of `run`'s engine task
    /// (`app::prepare::LiveQueue`), in the queue's order; 0 (the default): none, the engine task
    /// scores every mention itself; 1: a relay task does it. Replays keep their own
    /// (`ReplayOptions::prepare_workers`, one per core).
    pub prepare_workers: usize,
}

/// `[pipeline] on_source_failure`: what `run` does when a source task fails or panics.
#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum SourceFailurePolicy {
    /// Count it, mark the source down in `/readyz` and restart it after a backoff (1 s,
    /// doubling to 60 s). A `file` source is never restarted (it would read its file again):
    /// its failure stops the run.
    #[default]
    Restart,
    /// Stop the whole run, which exits non-zero.
    Exit,
}

impl Default for PipelineConfig {
    fn default() -> Self {
        PipelineConfig {
            allowed_lateness: HumanDuration::from_secs(300),
            parent_retention: HumanDuration::from_secs(24 * 3600),
            parent_capacity: 1_000_000,
            channel_capacity: 65_536,
            sentiment_model: String::from(crate::config::DEFAULT_SENTIMENT_MODEL),
            grievance_sentiment_model: String::from(crate::config::DEFAULT_GRIEVANCE_MODEL),
            incident_sentiment_model: None,
            incident_sentiment_batch: crate::config::incident_sentiment::DEFAULT_BATCH,
            incident_sentiment_queue: crate::config::incident_sentiment::DEFAULT_QUEUE,
            max_future_skew: HumanDuration::from_secs(300),
            max_event_age: HumanDuration::from_secs(7 * 86_400),
            on_source_failure: SourceFailurePolicy::Restart,
            shards: 1,
            prepare_workers: 0,
        }
    }
}

/// `[detect]`: detector tuning. Defaults are the "balanced" profile.
#[derive(Debug, Deserialize, Clone, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct DetectConfig {
    /// Upper-tail probability under the baseline below which a window counts as a spike.
    pub spike_p_value: f64,
    /// Fewest mentions in the 15-minute view before volume alone can open an incident.
    pub min_mentions: u32,
    /// Minutes a spike must persist before it pages (warning and above).
    pub persistence: HumanDuration,
    /// Quiet time after which an incident resolves.
    pub resolve_after: HumanDuration,
    /// After an incident resolves, how long before volume alone may open a new one for the same
    /// brand (the tail of the same event); single risky posts still open watches at once.
    pub cooldown: HumanDuration,
    /// Mentions with at least this risk (0..1) open a watch incident on their own.
    pub single_post_risk: f64,
    /// Account age below which an author counts as new for the bot discount.
    pub new_account_age: HumanDuration,
    /// A mention whose complaint model probability (`P(complaint)`, see
    /// `score::sentiment::complaint`) reaches this counts as negative and as a stated
    /// complaint in the evidence, even when its polarity reads neutral. `1` turns it off.
    pub complaint_threshold: f64,
    /// Sensitivity profile applied on top of the values above: `balanced` (as configured),
    /// `fewer` (fewer, surer pages) or `more` (earlier pages, more noise).
    pub profile: String,
}

impl Default for DetectConfig {
    fn default() -> Self {
        DetectConfig {
            spike_p_value: 1e-6,
            min_mentions: 12,
            persistence: HumanDuration::from_secs(180),
            resolve_after: HumanDuration::from_secs(90 * 60),
            cooldown: HumanDuration::from_secs(30 * 60),
            single_post_risk: 0.6,
            new_account_age: HumanDuration::from_secs(7 * 86_400),
            complaint_threshold: crate::config::DEFAULT_COMPLAINT_THRESHOLD,
            profile: String::from("balanced"),
        }
    }
}

/// A detection sensitivity profile (per brand overridable).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum Profile {
    /// Fewer, surer pages: spikes must be 100x less likely, twice as large and last twice
    /// as long; a single post must be riskier to open a watch.
    Fewer,
    #[default]
    Balanced,
    /// Earlier pages and more noise: spikes 100x more likely, half the size, one minute; a
    /// single post opens a watch at lower risk.
    More,
}

impl Profile {
    pub const ALL: [Profile; 3] = [Profile::Fewer, Profile::Balanced, Profile::More];

    pub fn parse(s: &str) -> Option<Profile> {
        match s {
            "fewer" => Some(Profile::Fewer),
            "balanced" => Some(Profile::Balanced),
            "more" => Some(Profile::More),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Profile::Fewer => "fewer",
            Profile::Balanced => "balanced",
            Profile::More => "more",
        }
    }

    /// `base` (the configured, balanced values) adjusted for this profile.
    pub fn apply(self, base: &DetectConfig) -> DetectConfig {
        let mut d = base.clone();
        match self {
            Profile::Balanced => {}
            Profile::Fewer => {
                d.spike_p_value = base.spike_p_value / 100.0;
                d.min_mentions = base.min_mentions.saturating_mul(2);
                d.persistence = HumanDuration(base.persistence.0 * 2);
                d.single_post_risk = (base.single_post_risk + 0.15).min(0.95);
            }
            Profile::More => {
                d.spike_p_value = (base.spike_p_value * 100.0).min(0.01);
                d.min_mentions = (base.min_mentions / 2).max(3);
                d.persistence = HumanDuration::from_secs(60);
                d.single_post_risk = (base.single_post_risk - 0.15).max(0.3);
            }
        }
        d.profile = self.as_str().to_string();
        d
    }
}

/// One `[[routing]]` row, overriding the default team table for a category.
#[derive(Debug, Deserialize, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RouteConfig {
    pub category: String,
    pub teams: Vec<String>,
    pub max_severity: String,
}

/// `[server]` listener (docs/contracts.md §5) and its limits against slow or too many clients.
#[derive(Debug, Deserialize, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    pub listen: String,
    /// A request head must arrive in full within this, counted from when the server starts
    /// waiting for it (on a kept-alive connection: from the end of the previous response).
    #[serde(default = "default_header_read_timeout")]
    pub header_read_timeout: HumanDuration,
    /// A request body (`POST /v1/mentions`) must arrive in full within this; later: 408.
    #[serde(default = "default_body_read_timeout")]
    pub body_read_timeout: HumanDuration,
    /// A connection on which no byte moves for this long is closed (idle keep-alive, or a
    /// client that stalls mid-request).
    #[serde(default = "default_idle_timeout")]
    pub idle_timeout: HumanDuration,
    /// Most connections open at once; more are answered 503 and closed.
    #[serde(default = "default_max_connections")]
    pub max_connections: usize,
    /// The address people reach this listener at (`https://flashpoint.example.org`): pages
    /// link to the incident API under it.
    #[serde(default)]
    pub public_url: Option<String>,
}

/// `[grafana]`: where the dashboards are, so pages can link to them.
#[derive(Debug, Deserialize, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct GrafanaConfig {
    /// Grafana's base URL (`https://grafana.example.org`).
    pub url: String,
}

fn default_header_read_timeout() -> HumanDuration {
    HumanDuration(ServerLimits::default().header_read_timeout)
}
fn default_body_read_timeout() -> HumanDuration {
    HumanDuration(ServerLimits::default().body_read_timeout)
}
fn default_idle_timeout() -> HumanDuration {
    HumanDuration(ServerLimits::default().idle_timeout)
}
fn default_max_connections() -> usize {
    ServerLimits::default().max_connections
}

/// The `[server]` listener's limits, typed (see [`ServerConfig`] for their meaning).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerLimits {
    pub header_read_timeout: std::time::Duration,
    pub body_read_timeout: std::time::Duration,
    pub idle_timeout: std::time::Duration,
    pub max_connections: usize,
}

impl Default for ServerLimits {
    fn default() -> Self {
        ServerLimits {
            header_read_timeout: std::time::Duration::from_secs(10),
            body_read_timeout: std::time::Duration::from_secs(10),
            idle_timeout: std::time::Duration::from_secs(5),
            max_connections: 512,
        }
    }
}

impl ServerConfig {
    pub fn limits(&self) -> ServerLimits {
        ServerLimits {
            header_read_timeout: self.header_read_timeout.0,
            body_read_timeout: self.body_read_timeout.0,
            idle_timeout: self.idle_timeout.0,
            max_connections: self.max_connections,
        }
    }
}

/// `[checkpoint]`: the learned state of `flashpoint run`, saved periodically and at shutdown,
/// restored at start.
#[derive(Debug, Deserialize, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CheckpointConfig {
    /// The checkpoint file (written atomically: a temporary file, then a rename).
    pub path: String,
    /// Wall-clock time between saves while running.
    #[serde(default = "default_checkpoint_interval")]
    pub interval: HumanDuration,
}

fn default_checkpoint_interval() -> HumanDuration {
    HumanDuration::from_secs(300)
}

/// `[alert_log]` (docs/contracts.md §5).
#[derive(Debug, Deserialize, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AlertLogConfig {
    pub path: String,
}

/// `[archive]` (docs/contracts.md §5): rotating zstd NDJSON segments of every normalised mention.
#[derive(Debug, Deserialize, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ArchiveConfig {
    pub dir: String,
    /// A segment is closed once its compressed size reaches this many bytes.
    #[serde(default = "default_segment_bytes")]
    pub segment_max_bytes: u64,
    /// A segment is closed once it spans this much event time.
    #[serde(default = "default_segment_age")]
    pub segment_max_age: HumanDuration,
    /// Buffered mentions reach the disk at least this often: the most a crash can lose.
    #[serde(default = "default_flush_interval")]
    pub flush_interval: HumanDuration,
    /// Completed segments older than this (in event time) are deleted.
    #[serde(default = "default_retention_age")]
    pub retention_max_age: HumanDuration,
    /// Oldest completed segments are deleted while the archive holds more than this.
    #[serde(default = "default_retention_bytes")]
    pub retention_max_bytes: u64,
}

fn default_segment_bytes() -> u64 {
    64 << 20
}
fn default_segment_age() -> HumanDuration {
    HumanDuration::from_secs(3600)
}
fn default_flush_interval() -> HumanDuration {
    HumanDuration::from_secs(1)
}
fn default_retention_age() -> HumanDuration {
    HumanDuration::from_secs(30 * 86_400)
}
fn default_retention_bytes() -> u64 {
    50 << 30
}

impl ArchiveConfig {
    /// An archive in `dir` with every other setting at its default.
    pub fn in_dir(dir: impl Into<String>) -> ArchiveConfig {
        ArchiveConfig {
            dir: dir.into(),
            segment_max_bytes: default_segment_bytes(),
            segment_max_age: default_segment_age(),
            flush_interval: default_flush_interval(),
            retention_max_age: default_retention_age(),
            retention_max_bytes: default_retention_bytes(),
        }
    }
}

#[cfg(test)]
mod profile_tests {
    use super::*;

    #[test]
    fn profiles_move_every_threshold_the_right_way() {
        let base = DetectConfig::default();
        let fewer = Profile::Fewer.apply(&base);
        let more = Profile::More.apply(&base);
        assert_eq!(
            Profile::Balanced.apply(&base).spike_p_value,
            base.spike_p_value
        );
        assert!(
            fewer.spike_p_value < base.spike_p_value && base.spike_p_value < more.spike_p_value
        );
        assert!(fewer.min_mentions > base.min_mentions && base.min_mentions > more.min_mentions);
        assert!(
            fewer.persistence.0 > base.persistence.0 && base.persistence.0 > more.persistence.0
        );
        assert!(fewer.single_post_risk > base.single_post_risk);
        assert!(more.single_post_risk < base.single_post_risk);
        assert_eq!(Profile::parse("more"), Some(Profile::More));
        assert_eq!(Profile::parse("loud"), None);
    }
}
