//! The report's content for tools (`--report-json`): input counts, every incident with its
//! lines, the per-brand samples, and (issue 19.2, compatible additions) provenance, the
//! per-brand summary and hourly volume-weighted sentiment, and each incident's top authors and
//! hashtags. Times are RFC 3339 UTC whatever the report's timezone.

use std::collections::BTreeMap;

use super::stats;
use super::ReportMeta;
use crate::alert::Action;
use crate::app::summary::ReplaySummary;
use crate::config::Config;
use crate::domain::EventTime;

fn keys(list: &[(String, u32)]) -> serde_json::Value {
    list.iter()
        .map(|(k, n)| serde_json::json!({"key": k, "count": n}))
        .collect()
}

/// The report as JSON.
pub fn to_json(cfg: &Config, s: &ReplaySummary, meta: &ReportMeta) -> serde_json::Value {
    let incidents: Vec<serde_json::Value> = stats::incidents(s)
        .iter()
        .map(|i| {
            let first = i.lines[0];
            let first_page = i.first_page();
            serde_json::json!({
                "incident": i.id,
                "brand": first.brand,
                "category": first.category,
                "max_severity": i.severity,
                "opened": first.at,
                "first_page": first_page.map(|a| a.at.clone()),
                "first_page_delay_s": first_page.map(|a| (stats::millis(a) - i.start_ms) / 1000),
                "resolved": i.lines.iter().find(|a| a.action == Action::Resolve).map(|a| a.at.clone()),
                "lines": i.lines,
                "top_authors": keys(&i.top_authors),
                "top_hashtags": keys(&i.top_hashtags),
            })
        })
        .collect();
    let series: BTreeMap<&str, Vec<serde_json::Value>> = s
        .series
        .iter()
        .map(|(brand, points)| {
            let pts = points
                .iter()
                .map(|p| {
                    serde_json::json!({
                        "at": EventTime(p.minute * 60_000).to_rfc3339(),
                        "rate_per_min": p.rate_per_min,
                        "baseline_per_min": p.baseline_per_min,
                        "negative_share": p.negative_share,
                        "positive_share": p.positive_share,
                    })
                })
                .collect();
            (brand.as_str(), pts)
        })
        .collect();
    let period = stats::period(s).map(|(len, _)| len);
    let brands: Vec<serde_json::Value> = stats::brand_summaries(cfg, s)
        .iter()
        .map(|b| {
            let hourly: Vec<serde_json::Value> = s
                .tally
                .brands
                .get(&b.id)
                .map(stats::hourly_sentiment)
                .unwrap_or_default()
                .iter()
                .map(|h| {
                    serde_json::json!({
                        "at": EventTime(h.hour * 3_600_000).to_rfc3339(),
                        "mentions": h.mentions,
                        "negative_share": h.negative,
                        "positive_share": h.positive,
                    })
                })
                .collect();
            serde_json::json!({
                "brand": b.id,
                "name": b.name,
                "mentions": b.total.mentions,
                "negative": b.total.negative,
                "positive": b.total.positive,
                "net_sentiment": b.net,
                "share_of_voice": b.share_of_voice,
                "period_minutes": period,
                "mentions_last_period": b.current.mentions,
                "mentions_previous_period": b.previous.mentions,
                "volume_change": b.volume_change(),
                "net_sentiment_change": b.net_change(),
                "top_authors": keys(&b.top_authors),
                "top_hashtags": keys(&b.top_hashtags),
                "hourly_sentiment": hourly,
            })
        })
        .collect();
    serde_json::json!({
        "input": {
            "lines": s.decode.lines,
            "decoded": s.decode.decoded,
            "skipped": s.decode.errors,
            "matched": s.engine.matched,
            "unmatched": s.engine.unmatched,
            "late": s.engine.late,
            "too_late": s.engine.too_late,
            "duplicates": s.engine.duplicates,
            "outliers": s.engine.outliers,
        },
        "incidents": incidents,
        "series": series,
        "provenance": {
            "generated_at": meta.generated_at,
            "version": env!("CARGO_PKG_VERSION"),
            "archives": meta.archives,
            "config": meta.config.as_ref().map(|(name, sha)| serde_json::json!({"file": name, "sha256": sha})),
            "sentiment_prior": stats::SENTIMENT_PRIOR,
        },
        "brands": brands,
    })
}
