//! The analyst's replay report: one self-contained HTML file (no scripts, no external assets,
//! no network), the same content as JSON for tools, and the per-minute series as CSV.
//!
//! Inputs: the [`ReplaySummary`] (alerts, the detector's 10-minute samples, the per-minute
//! tallies of `app::tally`), the configuration (brand names) and [`ReportMeta`] (provenance,
//! timezone). Sections: provenance; input counts; a per-brand summary table (volume, net
//! sentiment, share of voice, change against the previous period of equal length, top
//! authors and hashtags); per brand a volume plot with axes, gridlines and labelled incident
//! spans and a volume-weighted sentiment plot (`plot`, drawn with `plotters`); every
//! incident with its evidence, top authors and hashtags and clickable posts; the alert log.
//! Every text from the stream is escaped; only `http`/`https` URLs become links.

mod html;
mod json;
mod plot;
mod stats;

use chrono::FixedOffset;

use super::summary::ReplaySummary;
use crate::config::Config;

pub use html::render;
pub use json::to_json;
pub use stats::write_csv;

/// Where a report's content came from and how to show its times.
#[derive(Debug, Clone)]
pub struct ReportMeta {
    /// The archives replayed, by file name (`stdin` for `-`).
    pub archives: Vec<String>,
    /// The configuration's file name and the sha256 of its bytes.
    pub config: Option<(String, String)>,
    /// Offset from UTC for every time shown in the HTML report (the JSON and CSV stay UTC).
    pub timezone: FixedOffset,
    /// When the report was generated (RFC 3339, UTC); set by the writer when empty.
    pub generated_at: String,
}

impl Default for ReportMeta {
    fn default() -> ReportMeta {
        ReportMeta {
            archives: Vec::new(),
            config: None,
            timezone: utc(),
            generated_at: String::new(),
        }
    }
}

fn utc() -> FixedOffset {
    FixedOffset::east_opt(0).unwrap_or_else(|| unreachable!("0 is a valid offset"))
}

/// Parses a `--timezone` value: `UTC`, `Z` or a fixed offset `+HH:MM` / `-HH:MM`.
pub fn parse_timezone(s: &str) -> Result<FixedOffset, String> {
    if s.eq_ignore_ascii_case("utc") || s == "Z" {
        return Ok(utc());
    }
    let bad = || format!("timezone {s:?}: use UTC or an offset such as +02:00 or -05:30");
    let (sign, rest) = match s.as_bytes().first() {
        Some(b'+') => (1, &s[1..]),
        Some(b'-') => (-1, &s[1..]),
        _ => return Err(bad()),
    };
    let (h, m) = rest.split_once(':').unwrap_or((rest, "0"));
    let (h, m): (i32, i32) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    if !(0..=14).contains(&h) || !(0..60).contains(&m) {
        return Err(bad());
    }
    FixedOffset::east_opt(sign * (h * 3600 + m * 60)).ok_or_else(bad)
}

/// Writes the HTML report to `path`.
pub fn write(
    path: &str,
    cfg: &Config,
    s: &ReplaySummary,
    meta: &ReportMeta,
) -> std::io::Result<()> {
    std::fs::write(path, render(cfg, s, &stamped(meta)))
}

/// Writes the JSON report to `path`.
pub fn write_json(
    path: &str,
    cfg: &Config,
    s: &ReplaySummary,
    meta: &ReportMeta,
) -> std::io::Result<()> {
    let text = serde_json::to_string_pretty(&to_json(cfg, s, &stamped(meta)))
        .map_err(std::io::Error::other)?;
    std::fs::write(path, text)
}

fn stamped(meta: &ReportMeta) -> ReportMeta {
    let mut m = meta.clone();
    if m.generated_at.is_empty() {
        m.generated_at = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string();
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_timezone_parses_utc_and_offsets_only() {
        assert_eq!(parse_timezone("UTC").unwrap().local_minus_utc(), 0);
        assert_eq!(parse_timezone("+02:00").unwrap().local_minus_utc(), 7200);
        assert_eq!(parse_timezone("-05:30").unwrap().local_minus_utc(), -19_800);
        for bad in ["Europe/Paris", "+25:00", "2", "+02:75", ""] {
            assert!(parse_timezone(bad).is_err(), "{bad}");
        }
    }
}
