//! The report's numbers, computed once for the HTML and the JSON: per-brand summaries,
//! volume-weighted hourly sentiment, incidents with their spans and top keys, safe links,
//! and the per-minute CSV.

use std::collections::BTreeMap;

use crate::alert::{Action, AlertRecord};
use crate::app::summary::ReplaySummary;
use crate::app::tally::{BrandTally, MinuteCount};
use crate::config::Config;
use crate::domain::{EventTime, Severity};

/// Escapes text for HTML element content and double-quoted attribute values.
pub(super) fn esc(s: &str) -> String {
    crate::alert::sink::text::plain(s)
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// Authors and hashtags listed per brand and per incident.
pub(super) const TOP_KEYS: usize = 5;

/// Pseudo-mentions by which an hour's sentiment share is pulled toward the brand's share over
/// the whole replay: an hour of 2 mentions moves the line a little, an hour of 200 fully. This
/// is what keeps a quiet hour from swinging the share from 0 to 100 %.
pub(super) const SENTIMENT_PRIOR: f64 = 20.0;

/// Longest comparison period: the last 24 hours against the 24 before them.
const MAX_PERIOD_MINUTES: i64 = 1440;

/// One brand's row of the summary table.
#[derive(Debug, Clone)]
pub(super) struct BrandSummary {
    pub id: String,
    pub name: String,
    pub total: MinuteCount,
    /// (positive − negative) / mentions, −1..1.
    pub net: f64,
    /// The brand's share of all brands' mentions.
    pub share_of_voice: f64,
    /// Mentions in the last period and the one before it.
    pub current: MinuteCount,
    pub previous: MinuteCount,
    pub top_authors: Vec<(String, u32)>,
    pub top_hashtags: Vec<(String, u32)>,
}

impl BrandSummary {
    /// Relative change of volume, last period against the previous (`None`: nothing before).
    pub fn volume_change(&self) -> Option<f64> {
        (self.previous.mentions > 0).then(|| {
            (f64::from(self.current.mentions) - f64::from(self.previous.mentions))
                / f64::from(self.previous.mentions)
        })
    }

    /// Change of net sentiment in points (−2..2), when both periods have mentions.
    pub fn net_change(&self) -> Option<f64> {
        (self.previous.mentions > 0 && self.current.mentions > 0)
            .then(|| net(&self.current) - net(&self.previous))
    }
}

/// (positive − negative) / mentions; 0 without mentions.
pub(super) fn net(c: &MinuteCount) -> f64 {
    if c.mentions == 0 {
        0.0
    } else {
        (f64::from(c.positive) - f64::from(c.negative)) / f64::from(c.mentions)
    }
}

/// The comparison period: its length in minutes and where the last one ends (exclusive), or
/// `None` when the replay is shorter than two hours.
pub(super) fn period(s: &ReplaySummary) -> Option<(i64, i64)> {
    let (first, last) = s.tally.span()?;
    let len = ((last + 1 - first) / 2).min(MAX_PERIOD_MINUTES);
    (len >= 60).then_some((len, last + 1))
}

/// Every brand with mentions, in configuration order (brands unknown to the configuration
/// last, by id).
pub(super) fn brand_summaries(cfg: &Config, s: &ReplaySummary) -> Vec<BrandSummary> {
    let all: u64 = s
        .tally
        .brands
        .values()
        .map(|t| u64::from(t.total(i64::MIN, i64::MAX).mentions))
        .sum();
    let period = period(s);
    let mut ids: Vec<&str> = cfg
        .brands
        .iter()
        .map(|b| b.id.as_str())
        .filter(|id| s.tally.brands.contains_key(*id))
        .collect();
    for id in s.tally.brands.keys() {
        if !ids.contains(&id.as_str()) {
            ids.push(id);
        }
    }
    ids.into_iter()
        .filter_map(|id| {
            let t = s.tally.brands.get(id)?;
            let total = t.total(i64::MIN, i64::MAX);
            let (current, previous) = match period {
                Some((len, end)) => (t.total(end - len, end), t.total(end - 2 * len, end - len)),
                None => (total, MinuteCount::default()),
            };
            Some(BrandSummary {
                id: id.to_owned(),
                name: brand_name(cfg, id),
                net: net(&total),
                share_of_voice: if all == 0 {
                    0.0
                } else {
                    f64::from(total.mentions) / all as f64
                },
                total,
                current,
                previous,
                top_authors: BrandTally::top(&t.authors, i64::MIN, i64::MAX, TOP_KEYS),
                top_hashtags: BrandTally::top(&t.hashtags, i64::MIN, i64::MAX, TOP_KEYS),
            })
        })
        .collect()
}

/// The configured display name of `id`, or the id itself.
pub(super) fn brand_name(cfg: &Config, id: &str) -> String {
    cfg.brands
        .iter()
        .find(|b| b.id.as_str() == id)
        .map_or_else(|| id.to_owned(), |b| b.name.clone())
}

/// One hour of a brand's sentiment.
#[derive(Debug, Clone, Copy)]
pub(super) struct HourSentiment {
    /// Hour index (hours since the epoch).
    pub hour: i64,
    pub mentions: u32,
    /// Volume-weighted shares (see [`SENTIMENT_PRIOR`]).
    pub negative: f64,
    pub positive: f64,
}

/// Hourly negative and positive shares of a brand, each pulled toward the brand's overall
/// share by [`SENTIMENT_PRIOR`] pseudo-mentions; hours without mentions are skipped.
pub(super) fn hourly_sentiment(t: &BrandTally) -> Vec<HourSentiment> {
    let total = t.total(i64::MIN, i64::MAX);
    let n = f64::from(total.mentions.max(1));
    let (p_neg, p_pos) = (f64::from(total.negative) / n, f64::from(total.positive) / n);
    let mut hours: BTreeMap<i64, MinuteCount> = BTreeMap::new();
    for (m, c) in &t.minutes {
        let h = hours.entry(m.div_euclid(60)).or_default();
        h.mentions += c.mentions;
        h.negative += c.negative;
        h.positive += c.positive;
    }
    hours
        .into_iter()
        .map(|(hour, c)| {
            let w = f64::from(c.mentions) + SENTIMENT_PRIOR;
            HourSentiment {
                hour,
                mentions: c.mentions,
                negative: (f64::from(c.negative) + SENTIMENT_PRIOR * p_neg) / w,
                positive: (f64::from(c.positive) + SENTIMENT_PRIOR * p_pos) / w,
            }
        })
        .collect()
}

/// One incident: its alert lines and what the report shows about it.
#[derive(Debug, Clone)]
pub(super) struct IncidentView<'a> {
    pub id: &'a str,
    pub lines: Vec<&'a AlertRecord>,
    pub start_ms: i64,
    /// When it resolved (`None`: still open at the end).
    pub end_ms: Option<i64>,
    pub severity: Severity,
    pub top_authors: Vec<(String, u32)>,
    pub top_hashtags: Vec<(String, u32)>,
}

impl IncidentView<'_> {
    /// The line at the highest severity (the evidence shown).
    pub fn peak(&self) -> &AlertRecord {
        self.lines
            .iter()
            .filter(|a| a.action != Action::Resolve)
            .max_by_key(|a| a.severity)
            .copied()
            .unwrap_or(self.lines[0])
    }

    /// The first line at warning or above that is not a resolve.
    pub fn first_page(&self) -> Option<&AlertRecord> {
        self.lines
            .iter()
            .find(|a| a.action != Action::Resolve && a.severity >= Severity::Warning)
            .copied()
    }
}

pub(super) fn millis(a: &AlertRecord) -> i64 {
    a.event_time().map_or(0, EventTime::millis)
}

/// Every incident of the replay, by id, with its span and its brand's top authors and
/// hashtags within the span.
pub(super) fn incidents(s: &ReplaySummary) -> Vec<IncidentView<'_>> {
    let mut by_id: BTreeMap<&str, Vec<&AlertRecord>> = BTreeMap::new();
    for a in &s.alerts {
        by_id.entry(a.incident.as_str()).or_default().push(a);
    }
    by_id
        .into_iter()
        .map(|(id, lines)| {
            let start_ms = millis(lines[0]);
            let end_ms = lines
                .iter()
                .find(|a| a.action == Action::Resolve)
                .map(|a| millis(a));
            let severity = lines
                .iter()
                .map(|a| a.severity)
                .max()
                .unwrap_or(Severity::Info);
            let (from_h, to_h) = (
                start_ms.div_euclid(3_600_000),
                end_ms.map_or(i64::MAX, |e| e.div_euclid(3_600_000)),
            );
            let tally = s.tally.brands.get(lines[0].brand.as_str());
            let top = |f: fn(&BrandTally) -> &BTreeMap<i64, crate::app::tally::KeyCounts>| {
                tally.map_or_else(Vec::new, |t| BrandTally::top(f(t), from_h, to_h, TOP_KEYS))
            };
            IncidentView {
                id,
                start_ms,
                end_ms,
                severity,
                top_authors: top(|t| &t.authors),
                top_hashtags: top(|t| &t.hashtags),
                lines,
            }
        })
        .collect()
}

/// `url` when it is an absolute `http` or `https` URL without whitespace or control
/// characters; anything else (`javascript:`, `data:`, relative) is never made a link.
pub(super) fn safe_url(url: &str) -> Option<&str> {
    let lower = url.get(..8).unwrap_or(url).to_ascii_lowercase();
    let scheme_ok = lower.starts_with("https://") || lower.starts_with("http://");
    let clean = !url.chars().any(|c| c.is_whitespace() || c.is_control());
    (scheme_ok && clean && url.len() > "http://".len()).then_some(url)
}

/// Writes the per-minute series as CSV: `brand,minute,mentions,negative,positive,net`, one
/// row per brand and minute from its first to its last mention (minutes without mentions as
/// zeros), minutes as RFC 3339 UTC.
pub fn write_csv(path: &str, s: &ReplaySummary) -> std::io::Result<()> {
    let mut w = csv::Writer::from_path(path)?;
    w.write_record(["brand", "minute", "mentions", "negative", "positive", "net"])?;
    for (brand, t) in &s.tally.brands {
        let (Some(first), Some(last)) = (t.minutes.keys().next(), t.minutes.keys().next_back())
        else {
            continue;
        };
        for minute in *first..=*last {
            let c = t.minutes.get(&minute).copied().unwrap_or_default();
            w.write_record([
                brand.clone(),
                EventTime(minute * 60_000).to_rfc3339(),
                c.mentions.to_string(),
                c.negative.to_string(),
                c.positive.to_string(),
                format!("{:.4}", net(&c)),
            ])?;
        }
    }
    w.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_links_only_http_and_https() {
        assert_eq!(
            safe_url("https://bsky.app/p/1"),
            Some("https://bsky.app/p/1")
        );
        assert_eq!(
            safe_url("HTTP://x.example/a?b=1&c=2"),
            Some("HTTP://x.example/a?b=1&c=2")
        );
        for bad in [
            "javascript:alert(1)",
            "data:text/html,x",
            "/relative",
            "https://a b",
            "http://",
            "ftp://x",
        ] {
            assert_eq!(safe_url(bad), None, "{bad}");
        }
    }

    #[test]
    fn report_hourly_sentiment_does_not_swing_on_low_volume() {
        let mut t = BrandTally::default();
        // A busy hour of 100 mentions, 10 % negative, then a quiet hour of one negative.
        t.minutes.insert(
            0,
            MinuteCount {
                mentions: 100,
                negative: 10,
                positive: 0,
            },
        );
        t.minutes.insert(
            60,
            MinuteCount {
                mentions: 1,
                negative: 1,
                positive: 0,
            },
        );
        let h = hourly_sentiment(&t);
        assert_eq!(h.len(), 2);
        assert!(h[0].negative < 0.12, "{h:?}");
        // Raw, the quiet hour would read 100 % negative.
        assert!(h[1].negative < 0.2, "{h:?}");
    }
}
