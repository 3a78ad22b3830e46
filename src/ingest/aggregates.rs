//! Per-brand aggregate rows computed upstream (the Arroyo pipeline `config/arroyo/flashpoint.sql`)
//! and fed to the detector instead of individual mentions.
//!
//! Role: when Arroyo does the per-mention work at scale (brand matching, sentiment and
//! category through the `udf/` UDFs, HOP windows per brand), flashpoint only needs one row per
//! brand and window to keep its windows, baselines and incidents. This module is the row's
//! wire format, its decoder (errors counted by reason), the reconciliation of overlapping
//! windows into per-minute counts, and the `[[source]] type = "arroyo-aggregates"` task.
//!
//! Inputs: NDJSON lines, one [`AggregateRow`]:
//!
//! ```json
//! {"brand": "brightline", "window_start": "2026-03-03T10:40:00Z",
//!  "window_end": "2026-03-03T10:50:00Z", "mentions": 412, "negative": 360, "positive": 12,
//!  "negative_share": 0.874, "reach": 1840000, "unique_authors": 390}
//! ```
//!
//! | field | type | required | meaning |
//! |---|---|---|---|
//! | brand | string | yes | brand id from the flashpoint configuration |
//! | window_start, window_end | RFC 3339 string (zone optional, UTC assumed) or integer ms since the epoch | yes | `[start, end)`, whole minutes, 1 to 60 minutes wide |
//! | mentions | integer ≥ 0 | yes | mentions of the brand in the window |
//! | negative | integer ≥ 0 | yes | of which scored negative (`fp_sentiment < -0.05`) |
//! | positive | integer ≥ 0 | no (0) | of which scored positive (`> 0.05`) |
//! | negative_share | number | no | `negative / mentions`, informational (recomputed here) |
//! | reach | integer ≥ 0 | no (0) | sum of the authors' followers |
//! | unique_authors | integer ≥ 0 | no (0) | distinct authors in the window |
//! | conduct, safety, outage, billing, service | integer ≥ 0 | no (0) | mentions whose `fp_category` is that category (sum ≤ mentions) |
//!
//! Unknown fields are ignored. Bad lines are counted by reason ([`AggregateError::reason`]:
//! `empty_line`, `invalid_json`, `invalid_field`, `missing_field`, `invalid_timestamp`,
//! `invalid_window`, `inconsistent_counts`) and skipped; the lines around them are kept.
//!
//! Outputs: [`MinuteDelta`]s from the [`Reconciler`]: HOP windows overlap (1-minute slide,
//! 10-minute width), so each row's newest minute gets the row's total minus what the
//! brand's earlier minutes of that window already received. Duplicate rows (at-least-once
//! delivery) therefore add nothing, and the minutes of any window always sum to the window's
//! totals. The first row of a brand spreads the window evenly over its minutes and feeds only
//! the newest minute's share (no false spike when flashpoint starts or restarts behind
//! Arroyo). `Engine::ingest_aggregate` turns a delta into synthetic scored mentions
//! ([`synthesize`]) so the detector's windows, baselines, grading and incidents work unchanged.
//!
//! What aggregate-driven incidents lack: text, so no clusters by thread or topic (each
//! brand-minute of aggregates is one cluster, so volume incidents are brand-wide, with
//! evidence from the brand's last ≤ 16 minutes at the trigger and everything after), no key
//! terms (the summary has no headline), no real top posts (placeholder posts whose text is
//! `arroyo://<brand>/<minute>`), no single-post risk watch incidents, no bot
//! discount, no repost/reply split. Volume, baseline, growth, negative/positive share, reach,
//! unique authors (approximated from the row's count) and the complaint categories (from the
//! row's per-category counts, so incidents are routed like mention-driven ones) are available.
//!
//! Transports: `path` (an NDJSON file, optionally followed as it grows) is implemented here.
//! The Kafka transport (`transport = "kafka"`) is the seam for the `kafka` feature: its
//! consumer decodes each message payload with [`decode`] and sends rows on the same
//! [`AggregateTx`].

use std::collections::BTreeMap;
use std::time::Instant;

use serde::Deserialize;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::sync::mpsc;

use super::SourceCtx;
use crate::domain::scored::category_slot;
use crate::domain::{Author, Category, EventTime, Mention, MentionKind, SentimentLabel};

/// Widest window accepted (the detector's fine window holds 64 minutes).
pub const MAX_WINDOW_MINUTES: i64 = 60;
/// Most mentions one row may claim; larger rows are rejected as `inconsistent_counts` (the
/// engine synthesises one scored mention per counted mention).
pub const MAX_ROW_MENTIONS: u64 = 10_000_000;
/// Minutes of per-brand attribution history kept by the [`Reconciler`].
const HISTORY_MINUTES: i64 = 64;

/// One aggregate row: a brand's counts over one `[window_start, window_end)` window.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct AggregateRow {
    pub brand: String,
    #[serde(serialize_with = "rfc3339")]
    pub window_start: EventTime,
    #[serde(serialize_with = "rfc3339")]
    pub window_end: EventTime,
    pub mentions: u64,
    pub negative: u64,
    pub positive: u64,
    pub reach: u64,
    pub unique_authors: u64,
    /// Mentions per complaint category, in [`CATEGORIES`] order.
    pub categories: [u64; 5],
}

/// The complaint categories a row may count, in the order of [`AggregateRow::categories`].
pub const CATEGORIES: [Category; 5] = [
    Category::Conduct,
    Category::Safety,
    Category::Outage,
    Category::Billing,
    Category::Service,
];

/// The category score a synthetic mention of a counted category gets: one strong phrase
/// (`1 - e^-1`), enough to count as a complaint.
const SYNTHETIC_CATEGORY_SCORE: f32 = 0.632;

fn rfc3339<S: serde::Serializer>(t: &EventTime, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&t.to_rfc3339())
}

impl AggregateRow {
    /// The window's width in whole minutes.
    pub fn width_minutes(&self) -> i64 {
        (self.window_end.millis() - self.window_start.millis()) / EventTime::MINUTE_MS
    }

    /// Minute index of the window's newest minute.
    pub fn newest_minute(&self) -> i64 {
        self.window_end.minute_index() - 1
    }
}

/// Why a line could not become an [`AggregateRow`]: the mention decoder's error type, with
/// `reason` (a stable metric label) also `invalid_window` or `inconsistent_counts` here.
pub type AggregateError = crate::domain::codec::DecodeError;

/// A timestamp as Arroyo's JSON format may write it.
#[derive(Deserialize)]
#[serde(untagged)]
enum TimeIn {
    Millis(i64),
    Text(String),
}

#[derive(Deserialize)]
struct RowIn {
    brand: Option<String>,
    window_start: Option<TimeIn>,
    window_end: Option<TimeIn>,
    mentions: Option<u64>,
    negative: Option<u64>,
    #[serde(default)]
    positive: Option<u64>,
    #[serde(default)]
    reach: Option<u64>,
    #[serde(default)]
    unique_authors: Option<u64>,
    #[serde(default)]
    conduct: Option<u64>,
    #[serde(default)]
    safety: Option<u64>,
    #[serde(default)]
    outage: Option<u64>,
    #[serde(default)]
    billing: Option<u64>,
    #[serde(default)]
    service: Option<u64>,
}

fn required<T>(v: Option<T>, field: &str) -> Result<T, AggregateError> {
    v.ok_or_else(|| AggregateError::new("missing_field", format!("missing field `{field}`")))
}

fn parse_time(t: TimeIn, field: &str) -> Result<EventTime, AggregateError> {
    let parsed = match &t {
        TimeIn::Millis(ms) => Some(EventTime(*ms)),
        TimeIn::Text(s) => EventTime::parse_rfc3339(s).or_else(|| {
            // Arroyo may write timestamps without a zone: they are UTC.
            ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"]
                .iter()
                .find_map(|f| chrono::NaiveDateTime::parse_from_str(s, f).ok())
                .map(|n| EventTime(n.and_utc().timestamp_millis()))
        }),
    };
    parsed.ok_or_else(|| {
        let shown = match t {
            TimeIn::Millis(ms) => ms.to_string(),
            TimeIn::Text(s) => format!("{s:?}"),
        };
        AggregateError::new(
            "invalid_timestamp",
            format!("{field} {shown} is not RFC 3339 or epoch milliseconds"),
        )
    })
}

/// Decodes one NDJSON line (without its newline) into a validated [`AggregateRow`].
pub fn decode(line: &[u8]) -> Result<AggregateRow, AggregateError> {
    if line.iter().all(u8::is_ascii_whitespace) {
        return Err(AggregateError::new("empty_line", "empty line"));
    }
    let raw: RowIn = serde_json::from_slice(line).map_err(|e| {
        let reason = match e.classify() {
            serde_json::error::Category::Data => "invalid_field",
            _ => "invalid_json",
        };
        AggregateError::new(reason, e.to_string())
    })?;
    let brand = required(raw.brand, "brand")?;
    let window_start = parse_time(required(raw.window_start, "window_start")?, "window_start")?;
    let window_end = parse_time(required(raw.window_end, "window_end")?, "window_end")?;
    let row = AggregateRow {
        brand,
        window_start,
        window_end,
        mentions: required(raw.mentions, "mentions")?,
        negative: required(raw.negative, "negative")?,
        positive: raw.positive.unwrap_or(0),
        reach: raw.reach.unwrap_or(0),
        unique_authors: raw.unique_authors.unwrap_or(0),
        categories: [
            raw.conduct,
            raw.safety,
            raw.outage,
            raw.billing,
            raw.service,
        ]
        .map(|c| c.unwrap_or(0)),
    };
    let width = row.window_end.millis() - row.window_start.millis();
    if width <= 0
        || width % EventTime::MINUTE_MS != 0
        || row.window_start.millis().rem_euclid(EventTime::MINUTE_MS) != 0
        || row.width_minutes() > MAX_WINDOW_MINUTES
    {
        return Err(AggregateError::new(
            "invalid_window",
            format!(
                "window {}..{} is not 1 to {MAX_WINDOW_MINUTES} whole minutes on minute boundaries",
                row.window_start.to_rfc3339(),
                row.window_end.to_rfc3339()
            ),
        ));
    }
    if row.negative.saturating_add(row.positive) > row.mentions
        || row.unique_authors > row.mentions
        || row
            .categories
            .iter()
            .fold(0u64, |a, &c| a.saturating_add(c))
            > row.mentions
        || row.mentions > MAX_ROW_MENTIONS
    {
        return Err(AggregateError::new(
            "inconsistent_counts",
            format!(
                "mentions {} must be at most {MAX_ROW_MENTIONS} and cover negative {} + positive {}, unique_authors {} and the category counts {:?}",
                row.mentions, row.negative, row.positive, row.unique_authors, row.categories
            ),
        ));
    }
    Ok(row)
}

/// Decodes lines and counts what happened to them, by reason.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Decoder {
    /// Rows decoded.
    pub rows: u64,
    /// Lines skipped, by [`AggregateError::reason`] (empty lines are not counted).
    pub errors: BTreeMap<&'static str, u64>,
}

impl Decoder {
    /// Decodes one line; a bad one is counted and gives `Err` (the caller logs or skips it).
    pub fn line(&mut self, line: &[u8]) -> Result<Option<AggregateRow>, AggregateError> {
        match decode(line) {
            Ok(row) => {
                self.rows += 1;
                Ok(Some(row))
            }
            Err(e) if e.reason() == "empty_line" => Ok(None),
            Err(e) => {
                *self.errors.entry(e.reason()).or_default() += 1;
                Err(e)
            }
        }
    }

    /// Decodes a whole NDJSON text, keeping the good rows around the bad ones.
    pub fn all(&mut self, text: &[u8]) -> Vec<AggregateRow> {
        text.split(|&b| b == b'\n')
            .filter_map(|l| self.line(l).ok().flatten())
            .collect()
    }

    /// Lines skipped as bad.
    pub fn bad(&self) -> u64 {
        self.errors.values().sum()
    }
}

/// Additive counts of one minute (or a sum of minutes).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub mentions: u64,
    pub negative: u64,
    pub positive: u64,
    pub reach: u64,
    /// Per [`CATEGORIES`].
    pub categories: [u64; 5],
}

impl Counts {
    fn add(&mut self, o: &Counts) {
        self.mentions = self.mentions.saturating_add(o.mentions);
        self.negative = self.negative.saturating_add(o.negative);
        self.positive = self.positive.saturating_add(o.positive);
        self.reach = self.reach.saturating_add(o.reach);
        for (a, b) in self.categories.iter_mut().zip(o.categories) {
            *a = a.saturating_add(b);
        }
    }

    /// `self - o`, each field floored at 0.
    fn minus(&self, o: &Counts) -> Counts {
        Counts {
            mentions: self.mentions.saturating_sub(o.mentions),
            negative: self.negative.saturating_sub(o.negative),
            positive: self.positive.saturating_sub(o.positive),
            reach: self.reach.saturating_sub(o.reach),
            categories: std::array::from_fn(|i| self.categories[i].saturating_sub(o.categories[i])),
        }
    }

    fn of(row: &AggregateRow) -> Counts {
        Counts {
            mentions: row.mentions,
            negative: row.negative,
            positive: row.positive,
            reach: row.reach,
            categories: row.categories,
        }
    }

    /// `self` split into `parts` near-equal shares; share `i` of `0..parts`.
    fn share(&self, i: u64, parts: u64) -> Counts {
        let one = |total: u64| total / parts + u64::from(i < total % parts);
        Counts {
            mentions: one(self.mentions),
            negative: one(self.negative),
            positive: one(self.positive),
            reach: one(self.reach),
            categories: self.categories.map(one),
        }
    }
}

/// What one row adds to its brand's newest minute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MinuteDelta {
    /// Minute index (minutes since the epoch).
    pub minute: i64,
    pub counts: Counts,
    /// The row's distinct authors (not additive across minutes; used as an author pool size).
    pub unique_authors: u64,
}

/// Turns a brand's stream of overlapping window totals into per-minute counts.
///
/// Per brand it remembers what each of the last `HISTORY_MINUTES` minutes received. Bounded:
/// one small map per brand (brands come from the configuration), pruned on every row.
#[derive(Debug, Default)]
pub struct Reconciler {
    brands: BTreeMap<String, BTreeMap<i64, Counts>>,
}

impl Reconciler {
    /// Folds one row into its brand's history; returns what its newest minute gains.
    pub fn fold(&mut self, row: &AggregateRow) -> MinuteDelta {
        let newest = row.newest_minute();
        let first = row.window_start.minute_index();
        let total = Counts::of(row);
        let history = self.brands.entry(row.brand.clone()).or_insert_with(|| {
            // First row of this brand: assume its window was evenly spread.
            let width = u64::try_from(row.width_minutes()).unwrap_or(1).max(1);
            (first..newest)
                .enumerate()
                .map(|(i, minute)| (minute, total.share(i as u64 + 1, width)))
                .collect()
        });
        let mut seen = Counts::default();
        for c in history.range(first..=newest).map(|(_, c)| c) {
            seen.add(c);
        }
        let delta = total.minus(&seen);
        history.entry(newest).or_default().add(&delta);
        let newest_kept = history.keys().next_back().copied().unwrap_or(newest);
        while history
            .first_key_value()
            .is_some_and(|(&m, _)| m <= newest_kept - HISTORY_MINUTES)
        {
            history.pop_first();
        }
        MinuteDelta {
            minute: newest,
            counts: delta,
            unique_authors: row.unique_authors,
        }
    }
}

/// The source name synthetic mentions carry (and the `source` metric label they count under).
pub const SYNTHETIC_SOURCE: &str = "arroyo";
/// The text of a synthetic mention: `arroyo://<brand>/<minute, RFC 3339>`. Not empty, so its
/// sentiment counts in the evidence's shares; a single URL token, so it has no words: no
/// near-duplicate or shared-term clustering, no key terms, and top posts name their minute.
pub fn synthetic_text(brand: &str, minute: i64) -> String {
    format!(
        "{SYNTHETIC_SOURCE}://{brand}/{}",
        EventTime(minute * EventTime::MINUTE_MS).to_rfc3339()
    )
}

/// A synthetic mention and what it must count as.
#[derive(Debug, Clone, PartialEq)]
pub struct Synthetic {
    pub mention: Mention,
    pub sentiment: SentimentLabel,
    /// Per [`Category::ALL`]: one complaint category scored, or none.
    pub category_scores: [f32; 8],
    /// Drawn from a pool of the row's `unique_authors` authors per brand.
    pub author_key: u64,
}

/// One synthetic mention per counted mention of `delta`, spread over its minute in event-time
/// order, with the sentiment and category each must count as.
pub fn synthesize<'a>(brand: &'a str, delta: &MinuteDelta) -> impl Iterator<Item = Synthetic> + 'a {
    let n = delta.counts.mentions;
    let c = delta.counts;
    let pool = delta.unique_authors.clamp(1, n.max(1));
    let start = delta.minute * EventTime::MINUTE_MS;
    let minute = delta.minute;
    let text = synthetic_text(brand, minute);
    (0..n).map(move |i| {
        let label = if i < c.negative {
            SentimentLabel::Negative
        } else if i < c.negative + c.positive {
            SentimentLabel::Positive
        } else {
            SentimentLabel::Neutral
        };
        let followers = c.reach / n + u64::from(i < c.reach % n);
        let offset = i64::try_from(i.saturating_mul(60_000) / n).unwrap_or(0);
        let author = i % pool;
        let mut category_scores = [0.0f32; 8];
        let mut upto = 0u64;
        for (k, &count) in c.categories.iter().enumerate() {
            upto += count;
            if i < upto {
                category_scores[category_slot(CATEGORIES[k])] = SYNTHETIC_CATEGORY_SCORE;
                break;
            }
        }
        let m = Mention {
            id: format!("{brand}/{minute}/{i}"),
            source: String::from(SYNTHETIC_SOURCE),
            created_at: EventTime(start + offset),
            text: text.clone(),
            author: Author {
                id: format!("{brand}/author/{author}"),
                handle: String::new(),
                followers,
                created_at: None,
            },
            kind: MentionKind::Post,
            ..Mention::default()
        };
        let author_key = crate::domain::post_key(brand, &m.author.id);
        Synthetic {
            mention: m,
            sentiment: label,
            category_scores,
            author_key,
        }
    })
}

/// An aggregate row on its way to the engine, stamped with when its source read it.
#[derive(Debug, Clone)]
pub struct AggregateItem {
    pub row: AggregateRow,
    pub received: Instant,
}

/// The sending side of the aggregate queue (bounded; sources wait when it is full).
pub type AggregateTx = mpsc::Sender<AggregateItem>;

/// Runs an `arroyo-aggregates` source until its input ends (or forever with `follow`) or
/// `ctx.cancel` fires. Policy when the queue is full: **block** (stop reading).
pub async fn run(
    cfg: crate::config::source::AggregatesConfig,
    ctx: SourceCtx,
    tx: AggregateTx,
) -> anyhow::Result<()> {
    use crate::config::source::AggregatesTransport;
    match cfg.transport {
        AggregatesTransport::Path {
            path,
            follow,
            poll_interval,
        } => read_path(&path, follow, poll_interval, &ctx, &tx).await,
        #[cfg(feature = "kafka")]
        AggregatesTransport::Kafka(k) => {
            ctx.set_connected(true);
            let c = ctx.clone();
            let result = tokio::task::spawn_blocking(move || {
                super::kafka_source::consume(&k, &c.cancel.clone(), |payload| {
                    deliver_rows(&c, &tx, payload)
                })
            })
            .await
            .map_err(|e| anyhow::anyhow!("the Kafka aggregates thread panicked: {e}"))?;
            ctx.set_connected(false);
            result
        }
        #[cfg(not(feature = "kafka"))]
        AggregatesTransport::Kafka(_) => anyhow::bail!(crate::config::kafka::NO_FEATURE),
    }
}

/// One Kafka message of rows: decoded line by line (bad rows counted, good ones around them
/// kept) and queued, blocking while the queue is full. `false` stops the consumer.
#[cfg(feature = "kafka")]
fn deliver_rows(ctx: &SourceCtx, tx: &AggregateTx, payload: Option<&[u8]>) -> bool {
    let Some(payload) = payload.filter(|p| !p.is_empty()) else {
        ctx.line();
        ctx.bad_input("empty_message", "");
        return true;
    };
    for line in payload.split(|b| *b == b'\n') {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        ctx.line();
        match decode(line) {
            Ok(row) => {
                ctx.decoded();
                let item = AggregateItem {
                    row,
                    received: Instant::now(),
                };
                if ctx.cancel.is_cancelled() || tx.blocking_send(item).is_err() {
                    return false;
                }
            }
            Err(e) => ctx.bad_input(e.reason(), e.message()),
        }
    }
    true
}

async fn read_path(
    path: &str,
    follow: bool,
    poll_interval: std::time::Duration,
    ctx: &SourceCtx,
    tx: &AggregateTx,
) -> anyhow::Result<()> {
    let file = tokio::fs::File::open(path)
        .await
        .map_err(|e| anyhow::anyhow!("cannot open {path}: {e}"))?;
    let mut reader = BufReader::new(file);
    let mut line = Vec::new();
    loop {
        let n = tokio::select! {
            r = reader.read_until(b'\n', &mut line) => r?,
            _ = ctx.cancel.cancelled() => return Ok(()),
        };
        if n == 0 || (follow && line.last() != Some(&b'\n')) {
            if !follow {
                return Ok(());
            }
            // At the end for now: keep the partial line and look again after the interval.
            tokio::select! {
                _ = tokio::time::sleep(poll_interval) => continue,
                _ = ctx.cancel.cancelled() => return Ok(()),
            }
        }
        ctx.line();
        let text = line.strip_suffix(b"\n").unwrap_or(&line);
        match decode(text) {
            Ok(row) => {
                ctx.decoded();
                let item = AggregateItem {
                    row,
                    received: Instant::now(),
                };
                let sent = tokio::select! {
                    biased;
                    r = tx.send(item) => r.is_ok(),
                    _ = ctx.cancel.cancelled() => false,
                };
                if !sent {
                    return Ok(());
                }
            }
            Err(e) if e.reason() == "empty_line" => {}
            Err(e) => ctx.bad_input(e.reason(), e.message()),
        }
        line.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(brand: &str, start: &str, end: &str, mentions: u64, negative: u64) -> AggregateRow {
        AggregateRow {
            brand: brand.into(),
            window_start: EventTime::parse_rfc3339(start).unwrap(),
            window_end: EventTime::parse_rfc3339(end).unwrap(),
            mentions,
            negative,
            positive: 0,
            reach: 0,
            unique_authors: 0,
            categories: [0; 5],
        }
    }

    #[test]
    fn aggregates_decode_a_full_row_and_defaults() {
        let r = decode(br#"{"brand":"brightline","window_start":"2026-03-03T10:40:00Z","window_end":"2026-03-03T10:50:00Z","mentions":412,"negative":360,"positive":12,"negative_share":0.874,"reach":1840000,"unique_authors":390,"conduct":300,"service":9,"extra":1}"#).unwrap();
        assert_eq!(r.categories, [300, 0, 0, 0, 9]);
        assert_eq!(r.brand, "brightline");
        assert_eq!(r.width_minutes(), 10);
        assert_eq!((r.mentions, r.negative, r.positive), (412, 360, 12));
        assert_eq!((r.reach, r.unique_authors), (1_840_000, 390));
        // Epoch milliseconds and zone-less timestamps (UTC) are accepted too.
        let r2 = decode(br#"{"brand":"b","window_start":1772534400000,"window_end":"2026-03-03T10:41:00","mentions":3,"negative":0}"#).unwrap();
        assert_eq!(r2.window_start, EventTime(1_772_534_400_000));
        assert_eq!(r2.width_minutes(), 1);
        assert_eq!((r2.positive, r2.reach, r2.unique_authors), (0, 0, 0));
    }

    #[test]
    fn aggregates_each_failure_has_its_reason() {
        let ok = r#""window_start":"2026-03-03T10:40:00Z","window_end":"2026-03-03T10:50:00Z""#;
        let cases: Vec<(String, &str)> = vec![
            (String::new(), "empty_line"),
            ("{nope".into(), "invalid_json"),
            (format!(r#"{{{ok},"mentions":1,"negative":0}}"#), "missing_field"),
            (format!(r#"{{"brand":"b",{ok},"negative":0}}"#), "missing_field"),
            (format!(r#"{{"brand":"b",{ok},"mentions":-1,"negative":0}}"#), "invalid_field"),
            (r#"{"brand":"b","window_start":"soon","window_end":"2026-03-03T10:50:00Z","mentions":1,"negative":0}"#.into(), "invalid_timestamp"),
            (r#"{"brand":"b","window_start":"2026-03-03T10:50:00Z","window_end":"2026-03-03T10:40:00Z","mentions":1,"negative":0}"#.into(), "invalid_window"),
            (r#"{"brand":"b","window_start":"2026-03-03T10:40:30Z","window_end":"2026-03-03T10:50:30Z","mentions":1,"negative":0}"#.into(), "invalid_window"),
            (r#"{"brand":"b","window_start":"2026-03-03T08:00:00Z","window_end":"2026-03-03T10:00:00Z","mentions":1,"negative":0}"#.into(), "invalid_window"),
            (format!(r#"{{"brand":"b",{ok},"mentions":3,"negative":2,"positive":2}}"#), "inconsistent_counts"),
            (format!(r#"{{"brand":"b",{ok},"mentions":3,"negative":0,"unique_authors":4}}"#), "inconsistent_counts"),
            (format!(r#"{{"brand":"b",{ok},"mentions":3,"negative":0,"outage":2,"billing":2}}"#), "inconsistent_counts"),
        ];
        for (line, reason) in cases {
            let err = decode(line.as_bytes()).unwrap_err();
            assert_eq!(err.reason(), reason, "{line}: {err}");
        }
    }

    #[test]
    fn aggregates_bad_lines_are_counted_and_good_ones_around_them_kept() {
        let text = concat!(
            r#"{"brand":"a","window_start":"2026-03-03T10:40:00Z","window_end":"2026-03-03T10:41:00Z","mentions":1,"negative":0}"#,
            "\n{broken\n\n",
            r#"{"brand":"a","window_start":"2026-03-03T10:41:00Z","window_end":"2026-03-03T10:42:00Z","mentions":2,"negative":3}"#,
            "\n",
            r#"{"brand":"b","window_start":"2026-03-03T10:41:00Z","window_end":"2026-03-03T10:42:00Z","mentions":5,"negative":1}"#,
            "\n",
        );
        let mut d = Decoder::default();
        let rows = d.all(text.as_bytes());
        assert_eq!(
            rows.iter()
                .map(|r| (r.brand.as_str(), r.mentions))
                .collect::<Vec<_>>(),
            [("a", 1), ("b", 5)]
        );
        assert_eq!(d.rows, 2);
        assert_eq!(d.bad(), 2);
        assert_eq!(d.errors.get("invalid_json"), Some(&1));
        assert_eq!(d.errors.get("inconsistent_counts"), Some(&1));
    }

    #[test]
    fn reconciler_turns_hop_windows_into_minutes() {
        let mut r = Reconciler::default();
        // Arroyo's first HOP window of a fresh stream holds only its newest minute.
        let d = r.fold(&row(
            "a",
            "2026-03-03T09:51:00Z",
            "2026-03-03T10:01:00Z",
            4,
            1,
        ));
        assert_eq!(
            d.minute,
            EventTime::parse_rfc3339("2026-03-03T10:00:00Z")
                .unwrap()
                .minute_index()
        );
        // Spread evenly: 4 over 10 minutes, one each to the newest and the 3 oldest minutes.
        assert_eq!((d.counts.mentions, d.counts.negative), (1, 1));
        let d = r.fold(&row(
            "a",
            "2026-03-03T09:52:00Z",
            "2026-03-03T10:02:00Z",
            10,
            6,
        ));
        assert_eq!(
            d.counts.mentions, 7,
            "10 in the window, 3 attributed to its minutes earlier"
        );
        assert_eq!(d.counts.negative, 5);
        // A duplicate row adds nothing.
        let d = r.fold(&row(
            "a",
            "2026-03-03T09:52:00Z",
            "2026-03-03T10:02:00Z",
            10,
            6,
        ));
        assert_eq!(d.counts, Counts::default());
        // The minutes of any later window sum to its total.
        let d = r.fold(&row(
            "a",
            "2026-03-03T09:53:00Z",
            "2026-03-03T10:03:00Z",
            30,
            20,
        ));
        assert_eq!(d.counts.mentions, 30 - (1 + 1 + 7));
        // Brands are independent.
        let d = r.fold(&row(
            "b",
            "2026-03-03T10:02:00Z",
            "2026-03-03T10:03:00Z",
            7,
            0,
        ));
        assert_eq!(d.counts.mentions, 7);
    }

    #[test]
    fn reconciler_history_is_bounded() {
        let mut r = Reconciler::default();
        let base = EventTime::parse_rfc3339("2026-03-03T00:00:00Z")
            .unwrap()
            .millis();
        for k in 0..500 {
            let start = EventTime(base + k * EventTime::MINUTE_MS);
            r.fold(&AggregateRow {
                brand: "a".into(),
                window_start: start,
                window_end: start.plus_ms(10 * EventTime::MINUTE_MS),
                mentions: 10,
                negative: 0,
                positive: 0,
                reach: 0,
                unique_authors: 0,
                categories: [0; 5],
            });
        }
        assert!(r.brands["a"].len() <= HISTORY_MINUTES as usize);
    }

    #[test]
    fn synthesize_spreads_counts_over_the_minute() {
        let delta = MinuteDelta {
            minute: 29_542_240,
            counts: Counts {
                mentions: 5,
                negative: 2,
                positive: 1,
                reach: 11,
                categories: [0, 0, 2, 0, 0],
            },
            unique_authors: 2,
        };
        let out: Vec<_> = synthesize("a", &delta).collect();
        assert_eq!(out.len(), 5);
        let labels: Vec<_> = out.iter().map(|s| s.sentiment).collect();
        assert_eq!(
            labels,
            [
                SentimentLabel::Negative,
                SentimentLabel::Negative,
                SentimentLabel::Positive,
                SentimentLabel::Neutral,
                SentimentLabel::Neutral
            ]
        );
        assert_eq!(
            out.iter().map(|s| s.mention.author.followers).sum::<u64>(),
            11
        );
        let authors: std::collections::BTreeSet<u64> = out.iter().map(|s| s.author_key).collect();
        assert_eq!(authors.len(), 2);
        let outage = category_slot(Category::Outage);
        let scored: Vec<bool> = out
            .iter()
            .map(|s| s.category_scores[outage] > 0.6)
            .collect();
        assert_eq!(scored, [true, true, false, false, false]);
        let start = delta.minute * EventTime::MINUTE_MS;
        assert!(out
            .windows(2)
            .all(|w| w[0].mention.created_at <= w[1].mention.created_at));
        assert!(out.iter().all(|s| {
            let t = s.mention.created_at.millis();
            t >= start && t < start + 60_000
        }));
    }
}
