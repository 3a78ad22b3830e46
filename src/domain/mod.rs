//! The contracts shared by every pipeline stage: the canonical [`Mention`] and its NDJSON codec
//! ([`codec`], docs/contracts.md §1), event time, brand indices, severities and categories, the
//! per-mention [`scored::Scored`] record that `score` produces and `detect` reads, the incident
//! events `detect` emits ([`incident`]) and the alert line `alert` renders them into ([`alert`],
//! docs/contracts.md §3).
//!
//! Stages depend on this module (and on `config` and `telemetry`), never on each other.
//! Everything here is plain data: no IO, no clocks.

pub mod alert;
pub mod codec;
pub mod incident;
pub mod scored;
pub mod terms;

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

/// Event time in milliseconds since the Unix epoch (UTC).
///
/// All windows, baselines and detection decisions are driven by this clock, never by the wall
/// clock, which is what makes replays deterministic.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
pub struct EventTime(pub i64);

impl EventTime {
    pub const MIN: EventTime = EventTime(i64::MIN);
    pub const MINUTE_MS: i64 = 60_000;

    /// Milliseconds since the epoch.
    pub fn millis(self) -> i64 {
        self.0
    }

    /// Parses an RFC 3339 timestamp such as `2026-03-02T10:31:07.120Z`.
    pub fn parse_rfc3339(s: &str) -> Option<EventTime> {
        chrono::DateTime::parse_from_rfc3339(s)
            .ok()
            .map(|t| EventTime(t.timestamp_millis()))
    }

    /// Formats as RFC 3339 UTC with second precision (`2026-03-03T10:52:40Z`), or millisecond
    /// precision when the time has a sub-second part.
    pub fn to_rfc3339(self) -> String {
        match chrono::DateTime::from_timestamp_millis(self.0) {
            Some(t) if self.0 % 1000 == 0 => t.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
            Some(t) => t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
            None => String::from("invalid-time"),
        }
    }

    /// The start of the minute that holds this instant.
    pub fn floor_minute(self) -> EventTime {
        EventTime(self.0.div_euclid(Self::MINUTE_MS) * Self::MINUTE_MS)
    }

    /// Minutes since the epoch (floor).
    pub fn minute_index(self) -> i64 {
        self.0.div_euclid(Self::MINUTE_MS)
    }

    pub fn plus_ms(self, ms: i64) -> EventTime {
        EventTime(self.0.saturating_add(ms))
    }
}

impl fmt::Display for EventTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

/// What a mention is relative to other posts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MentionKind {
    #[default]
    Post,
    Repost,
    Quote,
    Reply,
}

impl MentionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MentionKind::Post => "post",
            MentionKind::Repost => "repost",
            MentionKind::Quote => "quote",
            MentionKind::Reply => "reply",
        }
    }

    pub fn parse(s: &str) -> Option<MentionKind> {
        match s {
            "post" => Some(MentionKind::Post),
            "repost" => Some(MentionKind::Repost),
            "quote" => Some(MentionKind::Quote),
            "reply" => Some(MentionKind::Reply),
            _ => None,
        }
    }
}

/// The author of a mention as the source reports it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Author {
    pub id: String,
    pub handle: String,
    /// Reach; 0 when the source does not say.
    pub followers: u64,
    /// Account creation time, a bot signal when known.
    pub created_at: Option<EventTime>,
}

/// The canonical mention record (docs/contracts.md §1), after decoding and validation.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Mention {
    pub id: String,
    pub source: String,
    pub created_at: EventTime,
    pub text: String,
    pub author: Author,
    pub kind: MentionKind,
    pub parent_id: Option<String>,
    pub lang: Option<String>,
    pub url: Option<String>,
    pub likes: Option<u64>,
    pub reposts: Option<u64>,
}

/// Index of a configured brand in `Config::brands` (dense, `0..brands.len()`).
///
/// Hot paths carry this index instead of the id string; `Config` maps it back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct BrandIdx(pub u32);

impl BrandIdx {
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// A brand id from the configuration (`[a-z0-9_-]+`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct BrandId(pub Arc<str>);

impl BrandId {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for BrandId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Alert severity, ordered from least to most severe (PagerDuty's values).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Error,
    Critical,
}

impl Severity {
    pub const ALL: [Severity; 4] = [
        Severity::Info,
        Severity::Warning,
        Severity::Error,
        Severity::Critical,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
            Severity::Critical => "critical",
        }
    }

    pub fn parse(s: &str) -> Option<Severity> {
        Severity::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Incident category (docs/contracts.md §2/§3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Category {
    Conduct,
    Safety,
    Outage,
    Billing,
    Service,
    Positive,
    Spam,
    Other,
}

impl Category {
    pub const ALL: [Category; 8] = [
        Category::Conduct,
        Category::Safety,
        Category::Outage,
        Category::Billing,
        Category::Service,
        Category::Positive,
        Category::Spam,
        Category::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Category::Conduct => "conduct",
            Category::Safety => "safety",
            Category::Outage => "outage",
            Category::Billing => "billing",
            Category::Service => "service",
            Category::Positive => "positive",
            Category::Spam => "spam",
            Category::Other => "other",
        }
    }

    pub fn parse(s: &str) -> Option<Category> {
        Category::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A sentiment reading: `score` in `[-1, 1]` (VADER's compound) and its three-way label.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Sentiment {
    pub score: f32,
    pub label: SentimentLabel,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SentimentLabel {
    Negative,
    #[default]
    Neutral,
    Positive,
}

impl SentimentLabel {
    /// VADER's conventional thresholds: compound ≥ 0.05 positive, ≤ -0.05 negative.
    pub fn from_compound(score: f32) -> SentimentLabel {
        if score >= 0.05 {
            SentimentLabel::Positive
        } else if score <= -0.05 {
            SentimentLabel::Negative
        } else {
            SentimentLabel::Neutral
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            SentimentLabel::Negative => "negative",
            SentimentLabel::Neutral => "neutral",
            SentimentLabel::Positive => "positive",
        }
    }
}

/// `n` and the noun, plural unless `n` is 1: `plural(1, "error")` is `"1 error"`, `plural(3,
/// "error")` is `"3 errors"`. For the counts in messages people read (the noun must form its
/// plural with `s`).
pub fn plural(n: impl Into<u64>, noun: &str) -> String {
    let n: u64 = n.into();
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// The key of a post (and the root hash of its thread): FxHash of `(source, id)`. Stable across
/// runs and builds, so checkpoints and partitioned workers agree on it.
pub fn post_key(source: &str, id: &str) -> u64 {
    use std::hash::Hasher;
    let mut h = rustc_hash::FxHasher::default();
    h.write(source.as_bytes());
    h.write_u8(0xff);
    h.write(id.as_bytes());
    h.finish()
}

/// Murmur3's 64-bit finaliser: spreads FxHash's output over all 64 bits.
pub fn fmix64(mut h: u64) -> u64 {
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^= h >> 33;
    h
}

/// A word's 64-bit feature hash (FxHash, then [`fmix64`]): deterministic across runs.
pub fn feature_hash(word: &str) -> u64 {
    use std::hash::Hasher;
    let mut hasher = rustc_hash::FxHasher::default();
    hasher.write(word.as_bytes());
    fmix64(hasher.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plural_says_one_error_and_two_errors() {
        assert_eq!(plural(0u32, "error"), "0 errors");
        assert_eq!(plural(1u32, "error"), "1 error");
        assert_eq!(plural(2u64, "alert"), "2 alerts");
    }

    #[test]
    fn event_time_round_trips_rfc3339() {
        let t = EventTime::parse_rfc3339("2026-03-02T10:31:07.120Z").unwrap();
        assert_eq!(t.to_rfc3339(), "2026-03-02T10:31:07.120Z");
        let t = EventTime::parse_rfc3339("2026-03-03T10:52:40+00:00").unwrap();
        assert_eq!(t.to_rfc3339(), "2026-03-03T10:52:40Z");
        assert!(EventTime::parse_rfc3339("yesterday").is_none());
    }

    #[test]
    fn event_time_floors_negative_minutes() {
        assert_eq!(EventTime(-1).floor_minute(), EventTime(-60_000));
        assert_eq!(EventTime(59_999).minute_index(), 0);
    }

    #[test]
    fn severity_orders_by_urgency() {
        assert!(Severity::Critical > Severity::Error);
        assert!(Severity::Warning > Severity::Info);
        assert_eq!(Severity::parse("error"), Some(Severity::Error));
    }
}
