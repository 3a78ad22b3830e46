//! Typed `[[source]]` options: each source type's keys, defaults and checks.
//!
//! `validate` parses every `[[source]]` table once with [`SourceConfig::parse`], so that a bad
//! option is reported with the rest of the file's errors and [`super::Config::sources`] holds
//! the typed result the wiring builds sources from. Unknown keys are errors, like everywhere
//! else in the file.

use std::time::Duration;

use super::component::ComponentConfig;
use super::types::{HumanDuration, Secret};

/// Default Jetstream collections: posts and reposts (likes carry no text and no reach).
pub const JETSTREAM_COLLECTIONS: [&str; 2] = ["app.bsky.feed.post", "app.bsky.feed.repost"];

/// Reconnection timing shared by the streaming sources.
#[derive(Debug, Clone, PartialEq)]
pub struct BackoffConfig {
    /// First delay after a disconnect (`backoff_initial`, default `500ms`).
    pub initial: Duration,
    /// Longest delay (`backoff_max`, default `60s`).
    pub max: Duration,
}

/// How a WebSocket source tells a dead connection from a quiet one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WsLiveness {
    /// TCP, TLS and the WebSocket handshake must complete within this (`connect_timeout`,
    /// default `10s`); then the source reconnects.
    pub connect_timeout: Duration,
    /// A ping is sent this often (`ping_interval`, default `20s`); the pong is traffic too.
    pub ping_interval: Duration,
    /// No frame at all (pongs included) for this long and the connection is given up for a
    /// new one (`idle_timeout`, default `60s`).
    pub idle_timeout: Duration,
}

impl Default for WsLiveness {
    fn default() -> Self {
        WsLiveness {
            connect_timeout: Duration::from_secs(10),
            ping_interval: Duration::from_secs(20),
            idle_timeout: Duration::from_secs(60),
        }
    }
}

/// `type = "jetstream"`: Bluesky's Jetstream over WebSocket.
#[derive(Debug, Clone, PartialEq)]
pub struct JetstreamConfig {
    pub url: String,
    pub collections: Vec<String>,
    /// Where the `time_us` cursor is persisted; `None` = start live each time.
    pub cursor_file: Option<String>,
    /// How far before the persisted cursor a reconnect resumes (duplicates are dropped).
    pub cursor_safety: Duration,
    pub backoff: BackoffConfig,
    pub liveness: WsLiveness,
    /// Frames larger than this are skipped and counted (`oversize`); see [`OVERSIZE_READ_FACTOR`].
    pub max_message_bytes: usize,
    pub dedup_capacity: usize,
    /// Public AppView for follower counts (`app.bsky.actor.getProfiles`); `None` = no enrichment.
    pub appview_url: Option<String>,
    pub profile_ttl: Duration,
    pub profile_cache: usize,
    /// Smallest interval between two getProfiles requests.
    pub profile_interval: Duration,
    /// Ask for zstd-compressed frames (`compress=true`), decoded with `zstd_dictionary`.
    pub zstd_dictionary: Option<String>,
}

/// `type = "mastodon"`: the Mastodon streaming API over WebSocket, with REST backfill.
#[derive(Debug, Clone, PartialEq)]
pub struct MastodonConfig {
    /// Instance base URL, `https://mastodon.social` (REST backfill).
    pub url: String,
    /// Streaming API base when the instance serves it elsewhere (its `urls.streaming_api`);
    /// default: `url` with `ws(s)://`.
    pub streaming_url: Option<String>,
    /// `public`, `public:local`, `hashtag` or `list`.
    pub stream: String,
    pub tag: Option<String>,
    pub list: Option<String>,
    pub token: Option<Secret>,
    pub backoff: BackoffConfig,
    pub liveness: WsLiveness,
    /// Frames larger than this are skipped and counted (`oversize`); see [`OVERSIZE_READ_FACTOR`].
    pub max_message_bytes: usize,
    pub dedup_capacity: usize,
    /// Most REST pages (40 statuses each) fetched to fill one outage.
    pub backfill_pages: usize,
    /// Where the newest processed status id is persisted, so a restart backfills what it
    /// missed; `None` = start live each time.
    pub cursor_file: Option<String>,
}

/// `type = "http"`: `POST /v1/mentions` on the `[server]` listener.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpPushConfig {
    pub token: Option<Secret>,
    pub max_body_bytes: usize,
    /// `Retry-After` sent with 503 when the pipeline queue is full.
    pub retry_after: Duration,
    /// When a 200 is sent (`ack`, default `durable`).
    pub ack: AckMode,
    /// Where `ack = "durable"` keeps its spool (`spool_dir`); `None`: `<[delivery] state
    /// dir>/spool/<source id>`.
    pub spool_dir: Option<String>,
}

/// `ack` of an http source: what a 200 from `POST /v1/mentions` promises.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AckMode {
    /// `"durable"`: the accepted lines are in the fsynced spool before the 200; a crash after
    /// it re-feeds them at the next start.
    #[default]
    Durable,
    /// `"queued"`: the 200 only says the lines are on the in-memory queue (a kill loses them).
    Queued,
}

/// `type = "file"`: replays (or tails) an NDJSON archive.
#[derive(Debug, Clone, PartialEq)]
pub struct FileConfig {
    pub path: String,
    /// Keep reading as the file grows (plain NDJSON only).
    pub follow: bool,
    pub poll_interval: Duration,
}

/// Where an `arroyo-aggregates` source reads its rows from.
#[derive(Debug, Clone, PartialEq)]
pub enum AggregatesTransport {
    /// `transport = "path"` (the default): an NDJSON file of rows, read once or followed.
    Path {
        path: String,
        follow: bool,
        poll_interval: Duration,
    },
    /// `transport = "kafka"` (feature `kafka`): rows from a topic (`brokers`, `topic`,
    /// `group_id`, `[kafka]` overrides), one or more NDJSON rows per message.
    Kafka(super::kafka::KafkaSourceConfig),
}

/// `type = "arroyo-aggregates"`: per-brand window rows computed upstream
/// (`config/arroyo/flashpoint.sql`), fed to the detector instead of mentions.
#[derive(Debug, Clone, PartialEq)]
pub struct AggregatesConfig {
    pub transport: AggregatesTransport,
}

/// A parsed `[[source]]`.
#[derive(Debug, Clone, PartialEq)]
pub enum SourceKind {
    Jetstream(JetstreamConfig),
    Mastodon(MastodonConfig),
    Http(HttpPushConfig),
    File(FileConfig),
    /// `type = "kafka"` (feature `kafka`): canonical NDJSON mentions from a topic.
    Kafka(super::kafka::KafkaSourceConfig),
    ArroyoAggregates(AggregatesConfig),
}

/// A parsed `[[source]]` with its id.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceConfig {
    pub id: String,
    pub kind: SourceKind,
}

/// Reads typed options out of a table, collecting errors as `(key, reason)`.
struct Options<'a> {
    table: &'a toml::Table,
    errors: Vec<(String, String)>,
}

impl<'a> Options<'a> {
    fn new(table: &'a toml::Table, known: &[&str]) -> Options<'a> {
        let mut errors = Vec::new();
        for k in table.keys() {
            if !known.contains(&k.as_str()) {
                errors.push((
                    k.clone(),
                    format!("unknown key (known: {})", known.join(", ")),
                ));
            }
        }
        Options { table, errors }
    }

    fn string(&mut self, key: &str) -> Option<String> {
        match self.table.get(key) {
            None => None,
            Some(toml::Value::String(s)) => Some(s.clone()),
            Some(_) => {
                self.errors.push((key.into(), "must be a string".into()));
                None
            }
        }
    }

    fn required(&mut self, key: &str) -> String {
        match self.string(key) {
            Some(s) if !s.is_empty() => s,
            Some(_) => {
                self.errors.push((key.into(), "must not be empty".into()));
                String::new()
            }
            None if self.table.contains_key(key) => String::new(),
            None => {
                self.errors.push((key.into(), "missing".into()));
                String::new()
            }
        }
    }

    fn duration(&mut self, key: &str, default: Duration) -> Duration {
        match self.string(key) {
            None => default,
            Some(s) => match HumanDuration::parse(&s) {
                Ok(d) => d.0,
                Err(e) => {
                    self.errors.push((key.into(), e));
                    default
                }
            },
        }
    }

    fn positive(&mut self, key: &str, default: usize) -> usize {
        match self.table.get(key) {
            None => default,
            Some(toml::Value::Integer(n)) if *n > 0 => usize::try_from(*n).unwrap_or(usize::MAX),
            Some(_) => {
                self.errors
                    .push((key.into(), "must be a positive integer".into()));
                default
            }
        }
    }

    fn boolean(&mut self, key: &str, default: bool) -> bool {
        match self.table.get(key) {
            None => default,
            Some(toml::Value::Boolean(b)) => *b,
            Some(_) => {
                self.errors
                    .push((key.into(), "must be true or false".into()));
                default
            }
        }
    }

    fn strings(&mut self, key: &str) -> Option<Vec<String>> {
        let v = self.table.get(key)?;
        let items: Option<Vec<String>> = v
            .as_array()
            .and_then(|a| a.iter().map(|s| s.as_str().map(String::from)).collect());
        if items.is_none() {
            self.errors
                .push((key.into(), "must be an array of strings".into()));
        }
        items
    }

    fn url(&mut self, key: &str, schemes: &[&str]) -> String {
        let u = self.required(key);
        if !u.is_empty() && !schemes.iter().any(|s| u.starts_with(&format!("{s}://"))) {
            self.errors.push((
                key.into(),
                format!("{u:?} must start with {}", schemes.join("://, ") + "://"),
            ));
        } else if u.contains(char::is_whitespace) {
            self.errors
                .push((key.into(), "must not contain spaces".into()));
        }
        u
    }

    fn liveness(&mut self) -> WsLiveness {
        let d = WsLiveness::default();
        let l = WsLiveness {
            connect_timeout: self.duration("connect_timeout", d.connect_timeout),
            ping_interval: self.duration("ping_interval", d.ping_interval),
            idle_timeout: self.duration("idle_timeout", d.idle_timeout),
        };
        for (key, v) in [
            ("connect_timeout", l.connect_timeout),
            ("ping_interval", l.ping_interval),
            ("idle_timeout", l.idle_timeout),
        ] {
            if v.is_zero() {
                self.errors.push((key.into(), "must be positive".into()));
            }
        }
        if l.ping_interval >= l.idle_timeout {
            self.errors.push((
                "ping_interval".into(),
                "must be shorter than idle_timeout (a pong is what keeps a quiet connection)"
                    .into(),
            ));
        }
        l
    }

    fn backoff(&mut self) -> BackoffConfig {
        let initial = self.duration("backoff_initial", Duration::from_millis(500));
        let max = self.duration("backoff_max", Duration::from_secs(60));
        if initial.is_zero() || max < initial {
            self.errors.push((
                "backoff_max".into(),
                "backoff_initial must be positive and at most backoff_max".into(),
            ));
        }
        BackoffConfig { initial, max }
    }
}

const STREAM_KEYS: [&str; 7] = [
    "backoff_initial",
    "backoff_max",
    "max_message_bytes",
    "dedup_capacity",
    "connect_timeout",
    "ping_interval",
    "idle_timeout",
];

/// A WebSocket source reads frames up to this many times `max_message_bytes`, so that an
/// oversize frame is skipped in-stream (counted `oversize`) instead of failing the connection,
/// which would meet the same frame again after every reconnect. Beyond it the connection fails.
pub const OVERSIZE_READ_FACTOR: usize = 16;

impl SourceConfig {
    /// Parses one `[[source]]`; errors are `(key within the table, reason)`.
    pub fn parse(c: &ComponentConfig) -> Result<SourceConfig, Vec<(String, String)>> {
        let with = |extra: &[&'static str]| -> Vec<&'static str> {
            let mut v = STREAM_KEYS.to_vec();
            v.extend_from_slice(extra);
            v
        };
        let (kind, errors) = match c.kind.as_str() {
            "jetstream" => {
                let known = with(&[
                    "url",
                    "collections",
                    "cursor_file",
                    "cursor_safety",
                    "appview_url",
                    "profile_ttl",
                    "profile_cache",
                    "profile_interval",
                    "compress",
                    "zstd_dictionary",
                ]);
                let mut o = Options::new(&c.options, &known);
                let compress = o.boolean("compress", false);
                let cfg = JetstreamConfig {
                    url: o.url("url", &["ws", "wss"]),
                    collections: o.strings("collections").unwrap_or_else(|| {
                        JETSTREAM_COLLECTIONS
                            .iter()
                            .map(|s| s.to_string())
                            .collect()
                    }),
                    cursor_file: o.string("cursor_file"),
                    cursor_safety: o.duration("cursor_safety", Duration::from_secs(2)),
                    backoff: o.backoff(),
                    liveness: o.liveness(),
                    max_message_bytes: o.positive("max_message_bytes", 1 << 20),
                    dedup_capacity: o.positive("dedup_capacity", 100_000),
                    appview_url: if o.table.contains_key("appview_url") {
                        Some(o.url("appview_url", &["http", "https"]))
                    } else {
                        None
                    },
                    profile_ttl: o.duration("profile_ttl", Duration::from_secs(3600)),
                    profile_cache: o.positive("profile_cache", 100_000),
                    profile_interval: o.duration("profile_interval", Duration::from_millis(200)),
                    // The dictionary is read only when compression is asked for: with
                    // `compress = false` the frames are asked for plain.
                    zstd_dictionary: o.string("zstd_dictionary").filter(|_| compress),
                };
                if compress && cfg.zstd_dictionary.is_none() {
                    o.errors.push((
                        "zstd_dictionary".into(),
                        "compress = true needs the path of Jetstream's zstd dictionary".into(),
                    ));
                }
                (SourceKind::Jetstream(cfg), o.errors)
            }
            "mastodon" => {
                let known = with(&[
                    "url",
                    "streaming_url",
                    "stream",
                    "tag",
                    "list",
                    "token",
                    "backfill_pages",
                    "cursor_file",
                ]);
                let mut o = Options::new(&c.options, &known);
                let stream = o.string("stream").unwrap_or_else(|| String::from("public"));
                let tag = o.string("tag");
                let list = o.string("list");
                match stream.as_str() {
                    "public" | "public:local" => {}
                    "hashtag" if tag.is_none() => {
                        o.errors
                            .push(("tag".into(), "stream \"hashtag\" needs a tag".into()));
                    }
                    "list" if list.is_none() => {
                        o.errors
                            .push(("list".into(), "stream \"list\" needs a list id".into()));
                    }
                    "hashtag" | "list" => {}
                    other => o.errors.push((
                        "stream".into(),
                        format!("{other:?} is not public, public:local, hashtag or list"),
                    )),
                }
                let cfg = MastodonConfig {
                    url: o.url("url", &["http", "https"]),
                    streaming_url: if o.table.contains_key("streaming_url") {
                        Some(o.url("streaming_url", &["ws", "wss"]))
                    } else {
                        None
                    },
                    stream,
                    tag,
                    list,
                    token: o.string("token").map(Secret::new),
                    backoff: o.backoff(),
                    liveness: o.liveness(),
                    max_message_bytes: o.positive("max_message_bytes", 1 << 20),
                    dedup_capacity: o.positive("dedup_capacity", 100_000),
                    backfill_pages: o.positive("backfill_pages", 25),
                    cursor_file: o.string("cursor_file"),
                };
                (SourceKind::Mastodon(cfg), o.errors)
            }
            "http" => {
                let mut o = Options::new(
                    &c.options,
                    &["token", "max_body_bytes", "retry_after", "ack", "spool_dir"],
                );
                let ack = match o.string("ack").as_deref() {
                    None | Some("durable") => AckMode::Durable,
                    Some("queued") => AckMode::Queued,
                    Some(other) => {
                        o.errors.push((
                            "ack".into(),
                            format!("{other:?} is not \"durable\" or \"queued\""),
                        ));
                        AckMode::Durable
                    }
                };
                let spool_dir = o.string("spool_dir");
                if spool_dir.as_deref().is_some_and(|d| d.trim().is_empty()) {
                    o.errors
                        .push(("spool_dir".into(), "must not be empty".into()));
                }
                let cfg = HttpPushConfig {
                    token: o.string("token").map(Secret::new),
                    max_body_bytes: o.positive("max_body_bytes", 4 << 20),
                    retry_after: o.duration("retry_after", Duration::from_secs(1)),
                    ack,
                    spool_dir,
                };
                (SourceKind::Http(cfg), o.errors)
            }
            "file" => {
                let mut o = Options::new(&c.options, &["path", "follow", "poll_interval"]);
                let cfg = FileConfig {
                    path: o.required("path"),
                    follow: o.boolean("follow", false),
                    poll_interval: o.duration("poll_interval", Duration::from_millis(250)),
                };
                (SourceKind::File(cfg), o.errors)
            }
            "kafka" => {
                let mut o = Options::new(&c.options, &["brokers", "topic", "group_id", "kafka"]);
                let client = super::kafka::parse_client(o.table, &mut o.errors);
                let topic = super::kafka::required(o.table, "topic", &mut o.errors);
                let group_id = o
                    .string("group_id")
                    .unwrap_or_else(|| String::from("flashpoint"));
                if !super::kafka::ENABLED {
                    o.errors
                        .push(("type".into(), super::kafka::NO_FEATURE.into()));
                }
                let cfg = super::kafka::KafkaSourceConfig {
                    client,
                    topic,
                    group_id,
                };
                (SourceKind::Kafka(cfg), o.errors)
            }
            "arroyo-aggregates" => {
                let mut o = Options::new(
                    &c.options,
                    &[
                        "transport",
                        "path",
                        "follow",
                        "poll_interval",
                        "brokers",
                        "topic",
                        "group_id",
                        "kafka",
                    ],
                );
                let transport = o.string("transport").unwrap_or_else(|| String::from("path"));
                let transport = match transport.as_str() {
                    "path" => AggregatesTransport::Path {
                        path: o.required("path"),
                        follow: o.boolean("follow", false),
                        poll_interval: o.duration("poll_interval", Duration::from_millis(250)),
                    },
                    "kafka" => {
                        let client = super::kafka::parse_client(o.table, &mut o.errors);
                        let topic = super::kafka::required(o.table, "topic", &mut o.errors);
                        let group_id = o
                            .string("group_id")
                            .unwrap_or_else(|| String::from("flashpoint-aggregates"));
                        if !super::kafka::ENABLED {
                            o.errors
                                .push(("transport".into(), super::kafka::NO_FEATURE.into()));
                        }
                        AggregatesTransport::Kafka(super::kafka::KafkaSourceConfig {
                            client,
                            topic,
                            group_id,
                        })
                    }
                    other => {
                        o.errors.push((
                            "transport".into(),
                            format!("unknown transport {other:?} (path, kafka)"),
                        ));
                        AggregatesTransport::Path {
                            path: String::new(),
                            follow: false,
                            poll_interval: Duration::ZERO,
                        }
                    }
                };
                let cfg = AggregatesConfig { transport };
                (SourceKind::ArroyoAggregates(cfg), o.errors)
            }
            other => {
                return Err(vec![(
                    "type".into(),
                    format!(
                        "unknown source type {other:?} (jetstream, mastodon, http, file, kafka, arroyo-aggregates)"
                    ),
                )])
            }
        };
        if errors.is_empty() {
            Ok(SourceConfig {
                id: c.id.clone(),
                kind,
            })
        } else {
            Err(errors)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn component(text: &str) -> ComponentConfig {
        toml::from_str(text).unwrap()
    }

    #[test]
    fn source_jetstream_defaults() {
        let c = component("id = \"b\"\ntype = \"jetstream\"\nurl = \"wss://x/subscribe\"\n");
        let SourceKind::Jetstream(j) = SourceConfig::parse(&c).unwrap().kind else {
            panic!("not jetstream")
        };
        assert_eq!(j.collections, JETSTREAM_COLLECTIONS);
        assert_eq!(j.cursor_safety, Duration::from_secs(2));
        assert_eq!(j.appview_url, None);
    }

    #[test]
    fn source_arroyo_aggregates_path() {
        let c = component(
            "id = \"agg\"\ntype = \"arroyo-aggregates\"\npath = \"aggregates.ndjson\"\nfollow = true\n",
        );
        let SourceKind::ArroyoAggregates(a) = SourceConfig::parse(&c).unwrap().kind else {
            panic!("not arroyo-aggregates")
        };
        assert_eq!(
            a.transport,
            AggregatesTransport::Path {
                path: "aggregates.ndjson".into(),
                follow: true,
                poll_interval: Duration::from_millis(250)
            }
        );
        let bad = component(
            "id = \"agg\"\ntype = \"arroyo-aggregates\"\ntransport = \"carrier-pigeon\"\n",
        );
        let errs = SourceConfig::parse(&bad).unwrap_err();
        let keys: Vec<&str> = errs.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["transport"], "{errs:?}");
        assert!(errs[0].1.contains("path, kafka"), "{errs:?}");
        // The Kafka transport needs its topic (and, without the feature, says so).
        let kafka = component(
            "id = \"agg\"\ntype = \"arroyo-aggregates\"\ntransport = \"kafka\"\n\
             brokers = \"127.0.0.1:9092\"\n",
        );
        let errs = SourceConfig::parse(&kafka).unwrap_err();
        assert!(errs.iter().any(|(k, _)| k == "topic"), "{errs:?}");
        assert_eq!(
            errs.iter().any(|(_, m)| m.contains("feature kafka")),
            !crate::config::kafka::ENABLED,
            "{errs:?}"
        );
    }

    #[test]
    fn source_lists_every_bad_option() {
        let c = component(
            "id = \"m\"\ntype = \"mastodon\"\nurl = \"ftp://x\"\nstream = \"hashtag\"\nbackoff_initial = \"soon\"\ncolour = 1\n",
        );
        let errs = SourceConfig::parse(&c).unwrap_err();
        let keys: Vec<&str> = errs.iter().map(|(k, _)| k.as_str()).collect();
        for want in ["url", "tag", "backoff_initial", "colour"] {
            assert!(keys.contains(&want), "missing {want} in {errs:?}");
        }
    }
}
