//! Arroyo aggregate rows driving detection: HOP-window rows (1-minute slide, 10-minute width)
//! built from a per-minute profile, as `config/arroyo/flashpoint.sql` emits them, through
//! `Engine::ingest_aggregate` and through `flashpoint run` with an `arroyo-aggregates` source.

use std::sync::Arc;

use flashpoint::alert::{Action, AlertRecord};
use flashpoint::app::{run, RunOptions};
use flashpoint::config;
use flashpoint::domain::EventTime;
use flashpoint::ingest::aggregates::{AggregateRow, Decoder};
use flashpoint::telemetry::Metrics;
use tokio_util::sync::CancellationToken;

use crate::support::{demo_config, engine};

const WIDTH: usize = 10;

/// One row per window end, for every window that holds data (as Arroyo emits HOP windows).
fn hop_rows(brand: &str, start: EventTime, minutes: &[(u64, u64, u64)]) -> Vec<AggregateRow> {
    let n = minutes.len();
    (1..n + WIDTH)
        .filter_map(|end| {
            let lo = end.saturating_sub(WIDTH);
            let inside = &minutes[lo..end.min(n)];
            let mentions: u64 = inside.iter().map(|m| m.0).sum();
            (mentions > 0).then(|| AggregateRow {
                brand: brand.into(),
                window_start: start.plus_ms((end as i64 - WIDTH as i64) * EventTime::MINUTE_MS),
                window_end: start.plus_ms(end as i64 * EventTime::MINUTE_MS),
                mentions,
                negative: inside.iter().map(|m| m.1).sum(),
                positive: 0,
                reach: mentions * 800,
                unique_authors: mentions * 9 / 10,
                categories: [0, 0, inside.iter().map(|m| m.2).sum(), 0, 0],
            })
        })
        .collect()
}

/// Ten hours at 3 mentions a minute, one in three minutes with a negative one
/// (per minute: mentions, negative, outage complaints).
fn flat() -> Vec<(u64, u64, u64)> {
    (0..600).map(|k| (3, u64::from(k % 3 == 0), 0)).collect()
}

/// [`flat`], then 30 minutes at 40 a minute, 34 of them negative and 30 outage complaints,
/// from hour 7.
fn surge() -> Vec<(u64, u64, u64)> {
    let mut v = flat();
    for m in &mut v[420..450] {
        *m = (40, 34, 30);
    }
    v
}

fn start() -> EventTime {
    EventTime::parse_rfc3339("2026-03-03T02:00:00Z").unwrap()
}

fn feed(rows: &[AggregateRow]) -> Vec<AlertRecord> {
    let mut e = engine(demo_config());
    let mut alerts = Vec::new();
    for r in rows {
        e.ingest_aggregate(r).unwrap();
        alerts.extend(e.drain_alerts());
    }
    alerts
}

#[test]
fn aggregates_flat_stream_opens_no_incident() {
    let alerts = feed(&hop_rows("brightline", start(), &flat()));
    assert!(alerts.is_empty(), "{alerts:#?}");
}

#[test]
fn aggregates_negative_surge_opens_an_incident() {
    let rows = hop_rows("brightline", start(), &surge());
    let alerts = feed(&rows);
    let trigger = alerts
        .iter()
        .find(|a| a.action == Action::Trigger)
        .unwrap_or_else(|| panic!("no trigger in {alerts:#?}"));
    assert_eq!(trigger.brand, "brightline");
    assert_eq!(trigger.category, flashpoint::domain::Category::Outage);
    assert_eq!(trigger.teams, ["support"]);
    let at = EventTime::parse_rfc3339(&trigger.at).unwrap();
    let surge_start = start().plus_ms(420 * EventTime::MINUTE_MS);
    assert!(
        at > surge_start && at <= surge_start.plus_ms(15 * EventTime::MINUTE_MS),
        "opened at {} for a surge from {}",
        trigger.at,
        surge_start.to_rfc3339()
    );
    assert!(
        trigger.metrics.negative_share > 0.7,
        "{:?}",
        trigger.metrics
    );
    // The complaint stream opens the incident before the volume test would (at 2/min of
    // complaints); the surge's diffuse spike then widens it to the brand-wide story, whose
    // resolve counts the whole surge.
    let total = alerts
        .iter()
        .filter(|a| a.incident == trigger.incident)
        .map(|a| a.metrics.mentions)
        .max()
        .unwrap_or(0);
    assert!(total > 1000, "{total}: {alerts:#?}");
    assert!(trigger.metrics.reach > 0);
    assert!(
        alerts.iter().any(|a| a.action == Action::Resolve),
        "the incident resolves once the surge has passed: {alerts:#?}"
    );
}

#[test]
fn aggregates_duplicate_rows_change_nothing() {
    // At-least-once delivery: every row twice gives the same alerts as every row once.
    let rows = hop_rows("brightline", start(), &surge());
    let twice: Vec<AggregateRow> = rows.iter().flat_map(|r| [r.clone(), r.clone()]).collect();
    assert_eq!(feed(&rows), feed(&twice));
}

#[test]
fn aggregates_unknown_brand_is_skipped_with_its_reason() {
    let mut e = engine(demo_config());
    let mut row = hop_rows("brightline", start(), &flat()).remove(0);
    row.brand = String::from("not-a-brand");
    let err = e.ingest_aggregate(&row).unwrap_err();
    assert_eq!(err.reason(), "unknown_brand");
    assert_eq!(e.aggregate_stats().unknown_brand, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aggregates_run_with_a_path_source_pages_on_the_surge() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("aggregates.ndjson");
    let mut text = String::new();
    for (i, r) in hop_rows("brightline", start(), &surge()).iter().enumerate() {
        if i == 100 {
            text.push_str("{\"brand\": \"brightline\", broken\n");
        }
        text.push_str(&serde_json::to_string(r).unwrap());
        text.push('\n');
    }
    // The serialised rows (the documented wire format) decode back; the bad line is counted.
    let mut d = Decoder::default();
    assert_eq!(d.all(text.as_bytes()).len(), text.lines().count() - 1);
    assert_eq!(d.errors.get("invalid_json"), Some(&1));

    let log = dir.path().join("alerts.ndjson");
    let cfg_text = format!(
        "{}\n[alert_log]\npath = {:?}\n[[source]]\nid = \"arroyo\"\ntype = \"arroyo-aggregates\"\npath = {:?}\n",
        flashpoint::app::demo::DEMO_CONFIG,
        log.display().to_string(),
        input.display().to_string(),
    );
    std::fs::write(&input, &text).unwrap();
    let cfg = Arc::new(config::parse_str(&cfg_text, "arroyo.toml", &|_| None).unwrap());
    let metrics = Arc::new(Metrics::new(&[], 0));
    let mut opts = RunOptions::new(Arc::clone(&metrics), CancellationToken::new());
    opts.console = Some(false);
    // No push route: the run ends once the aggregates file has been read.
    let summary = run(cfg, opts).await.unwrap();
    assert!(summary.alerts > 0);
    let lines = std::fs::read_to_string(&log).unwrap();
    let logged: Vec<AlertRecord> = lines
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(logged
        .iter()
        .any(|a| a.action == Action::Trigger && a.brand == "brightline"));
    let bad = metrics
        .ingest_decode_errors_total
        .with_label_values(&["arroyo", "invalid_json"])
        .get();
    assert_eq!(bad, 1);
}

/// The Arroyo pipeline cannot run here; this checks what can be checked offline: the sink
/// table's columns are exactly the row format flashpoint decodes, a row with those columns
/// (timestamps as Arroyo may write them) decodes, and every UDF the SQL calls is a crate of
/// `udf/` exporting a function of that name.
#[test]
fn aggregates_arroyo_sql_matches_the_row_format_and_the_udfs() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let sql = std::fs::read_to_string(root.join("config/arroyo/flashpoint.sql")).unwrap();
    let table = sql
        .split("CREATE TABLE brand_aggregates (")
        .nth(1)
        .and_then(|t| t.split(") WITH").next())
        .expect("the sink table");
    let columns: Vec<&str> = table
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("--"))
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert_eq!(
        columns,
        [
            "brand",
            "window_start",
            "window_end",
            "mentions",
            "negative",
            "positive",
            "negative_share",
            "reach",
            "unique_authors",
            "conduct",
            "safety",
            "outage",
            "billing",
            "service"
        ]
    );
    let fields: Vec<String> = columns
        .iter()
        .map(|c| match *c {
            "brand" => format!("\"{c}\":\"brightline\""),
            "window_start" => format!("\"{c}\":\"2026-03-03T10:40:00\""),
            "window_end" => format!("\"{c}\":\"2026-03-03T10:50:00\""),
            "negative_share" => format!("\"{c}\":0.5"),
            "mentions" => format!("\"{c}\":10"),
            _ => format!("\"{c}\":1"),
        })
        .collect();
    let line = format!("{{{}}}", fields.join(","));
    let row = flashpoint::ingest::aggregates::decode(line.as_bytes()).unwrap();
    assert_eq!(row.categories, [1; 5]);
    assert_eq!(row.width_minutes(), 10);

    for udf in ["fp_brands", "fp_sentiment", "fp_category"] {
        assert!(sql.contains(&format!("{udf}(")), "{udf} used");
        let src = std::fs::read_to_string(root.join(format!("udf/{udf}/src/lib.rs"))).unwrap();
        assert!(
            src.contains("#[udf]") && src.contains(&format!("fn {udf}(")),
            "{udf}"
        );
    }
    assert!(sql.contains("hop(INTERVAL '1 minute', INTERVAL '10 minutes')"));
}
