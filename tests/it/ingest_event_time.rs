//! Event-time sanity (issue 17): one record dated 9999-12-31 or year 1 must not move the
//! watermark, open an incident, survive in a checkpoint or make the archive delete segments.
//! Replays have no wall clock and are guarded by the watermark's outlier rule; live sources are
//! bounded by the receiving process's wall clock (`[pipeline] max_future_skew`,
//! `max_event_age`).

use std::sync::Arc;
use std::time::Duration;

use flashpoint::app::replay::Input;
use flashpoint::app::{replay, run, RunOptions, Speed};
use flashpoint::config;
use flashpoint::replay::ArchiveWriter;
use flashpoint::telemetry::Metrics;
use tokio_util::sync::CancellationToken;

use crate::ingest_push::line_at;
use crate::support::{demo_config, options};

/// A post that opens a watch incident for `brightline` on its own (single-post risk).
const RISKY: &str =
    "brightline plumbing technician was drunk in our kitchen and left the gas leaking";

fn demo_lines() -> Vec<String> {
    let plain = zstd::decode_all(flashpoint::app::demo::DEMO_SAMPLE).unwrap();
    String::from_utf8(plain)
        .unwrap()
        .lines()
        .map(String::from)
        .collect()
}

async fn replay_lines(lines: &[String], metrics: Option<Arc<Metrics>>) -> Vec<String> {
    let text = lines.join("\n") + "\n";
    let bytes: &'static [u8] = Box::leak(text.into_bytes().into_boxed_slice());
    let s = replay(
        demo_config(),
        Input::Bytes(bytes),
        options(Speed::Max, None),
        metrics,
    )
    .await
    .unwrap();
    s.alerts.iter().map(|a| a.to_json_line()).collect()
}

/// The alert lines of `lines` replayed, with the metrics that counted what was dropped.
async fn replay_counted(lines: &[String]) -> (Vec<String>, Arc<Metrics>) {
    let metrics = Arc::new(Metrics::new(&[], 0));
    let alerts = replay_lines(lines, Some(Arc::clone(&metrics))).await;
    (alerts, metrics)
}

fn dropped(m: &Metrics, source: &str, reason: &str) -> u64 {
    m.ingest_dropped_total
        .with_label_values(&[source, reason])
        .get()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ingest_event_time_outliers_leave_the_demo_alert_log_unchanged() {
    let clean = demo_lines();
    let straight = replay_lines(&clean, None).await;
    assert!(straight.len() >= 10, "the demo alerts: {straight:#?}");

    let far = |id: &str| line_at(id, "acme", "9999-12-31T23:59:59Z");
    let ancient = |id: &str| line_at(id, RISKY, "0001-01-01T00:00:00Z");
    let mut polluted = clean.clone();
    let mid = polluted.len() / 2;
    polluted.insert(mid + 500, ancient("ancient-mid"));
    polluted.insert(mid, far("far-mid"));
    polluted.push(far("far-last"));
    // The very first records: a risky post from year 1, then one from the year 9999.
    polluted.insert(0, far("far-first"));
    polluted.insert(0, ancient("ancient-first"));

    let (guarded, metrics) = replay_counted(&polluted).await;
    assert!(
        guarded
            .iter()
            .all(|l| !l.contains("00010101") && !l.contains("9999")),
        "an outlier opened an incident: {guarded:?}"
    );
    assert_eq!(guarded.len(), straight.len());
    for (a, b) in straight.iter().zip(&guarded) {
        assert_eq!(a, b);
    }
    assert_eq!(dropped(&metrics, "x", "future_event_time"), 3);
    assert_eq!(dropped(&metrics, "x", "stale_event_time"), 1);
    // In the middle, year 1 is simply older than the watermark.
    assert!(dropped(&metrics, "x", "too_late") >= 1);
}

/// A run of poisoned records that agree with each other (an archive written by a source with
/// a broken clock for a while) is refuted once as many later mentions stay on the stream's
/// own timeline; before, two consecutive ones confirmed each other and every later mention
/// was too late (7 alerts instead of 16 on the demo).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ingest_event_time_a_run_of_future_records_is_refuted_by_the_stream() {
    let clean = demo_lines();
    let straight = replay_lines(&clean, None).await;
    let mut polluted = clean.clone();
    let third = polluted.len() / 3;
    // 40 praise posts dated 2099 within one minute, then 300 in 2027 spread over 5 minutes.
    let late: Vec<String> = (0..300)
        .map(|i| {
            let t = format!("2027-06-01T00:{:02}:{:02}Z", i / 60, i % 60);
            line_at(&format!("y{i}"), "brightline is great", &t)
        })
        .collect();
    polluted.splice(2 * third..2 * third, late);
    let far: Vec<String> = (0..40)
        .map(|i| {
            let t = format!("2099-06-01T00:00:{:02}Z", i);
            line_at(&format!("f{i}"), "brightline is great", &t)
        })
        .collect();
    polluted.splice(third..third, far);
    let (guarded, metrics) = replay_counted(&polluted).await;
    assert!(
        guarded == straight,
        "the poisoned runs changed the alert log: {} lines instead of {}",
        guarded.len(),
        straight.len()
    );
    assert_eq!(dropped(&metrics, "x", "future_event_time"), 340);
    assert_eq!(dropped(&metrics, "x", "too_late"), 0);
}

/// A record two days ahead among the first sixteen is within `max_event_age` of their median,
/// so the start rule kept it, and released in arrival order it moved the watermark two days
/// on: every mention of the demo's first two days was too late, and 7 of its 15 alert lines
/// were lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ingest_event_time_one_record_days_ahead_at_the_start_is_a_jump_the_stream_refutes() {
    let clean = demo_lines();
    let straight = replay_lines(&clean, None).await;
    let mut polluted = clean.clone();
    polluted.insert(2, line_at("ahead", RISKY, "2026-03-04T00:00:00Z"));
    let (guarded, metrics) = replay_counted(&polluted).await;
    assert!(
        guarded == straight,
        "the record ahead changed the alert log: {} lines instead of {}",
        guarded.len(),
        straight.len()
    );
    assert_eq!(dropped(&metrics, "x", "future_event_time"), 1);
    assert_eq!(dropped(&metrics, "x", "too_late"), 0);
}

#[tokio::test]
async fn ingest_event_time_year_one_first_opens_no_incident() {
    let start = chrono::DateTime::parse_from_rfc3339("2026-03-02T10:00:00Z").unwrap();
    let mut lines = vec![line_at("ancient", RISKY, "0001-01-01T00:00:00Z")];
    for i in 0..20 {
        let t = (start + chrono::Duration::seconds(i * 20)).to_rfc3339();
        lines.push(line_at(&format!("n{i}"), "brightline came on time", &t));
    }
    // A risky post in 2026: the incident it opens is dated 2026.
    let t = (start + chrono::Duration::seconds(500)).to_rfc3339();
    lines.push(line_at("risky", RISKY, &t));
    let alerts = replay_lines(&lines, None).await;
    assert!(!alerts.is_empty(), "the 2026 risky post opens a watch");
    assert!(
        alerts.iter().all(|l| l.contains("brightline-20260302-")),
        "{alerts:?}"
    );
}

fn rfc3339(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// `flashpoint run` with a push route, an archive and a checkpoint in `dir`.
fn live_config(dir: &std::path::Path, checkpoint: bool) -> Arc<config::Config> {
    let mut text = format!(
        "[[brand]]\nid = \"acme\"\nterms = [\"acme\"]\n[server]\nlisten = \"127.0.0.1:0\"\n\
         [alert_log]\npath = {:?}\n[archive]\ndir = {:?}\nsegment_max_age = \"1h\"\n\
         [[source]]\nid = \"push\"\ntype = \"http\"\nspool_dir = {:?}\n",
        dir.join("alerts.ndjson").display().to_string(),
        dir.join("archive").display().to_string(),
        dir.join("spool").display().to_string(),
    );
    if checkpoint {
        text.push_str(&format!(
            "[checkpoint]\npath = {:?}\n",
            dir.join("state.ckpt").display().to_string()
        ));
    }
    Arc::new(config::parse_str(&text, "live.toml", &|_| None).unwrap())
}

/// Runs the live service, pushes `body`, waits until `processed` mentions went through the
/// engine, stops it; returns the push response and the run's summary.
async fn push_and_stop(
    cfg: Arc<config::Config>,
    metrics: Arc<Metrics>,
    body: String,
    processed: u64,
) -> (serde_json::Value, flashpoint::app::RunSummary) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let shutdown = CancellationToken::new();
    let mut opts = RunOptions::new(Arc::clone(&metrics), shutdown.clone());
    opts.listener = Some(listener);
    opts.console = Some(false);
    let running = tokio::spawn(run(cfg, opts));
    let v = crate::support::push_mentions(addr, body).await;
    tokio::time::timeout(Duration::from_secs(30), async {
        while metrics.pipeline_mentions_processed_total.get() < processed {
            tokio::task::yield_now().await;
        }
    })
    .await
    .expect("the pushed mentions are processed");
    shutdown.cancel();
    (v, running.await.unwrap().unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ingest_event_time_live_push_is_bounded_by_the_wall_clock() {
    let dir = tempfile::tempdir().unwrap();
    let now = chrono::Utc::now();
    // Earlier completed segments of this archive, two and one hour ago.
    let mut earlier = Vec::new();
    {
        let cfg = flashpoint::config::ArchiveConfig::in_dir(
            dir.path().join("archive").display().to_string(),
        );
        let t0 = tokio::time::Instant::now();
        let mut w = ArchiveWriter::open(&cfg, t0).unwrap();
        for (i, hours) in [2i64, 1].into_iter().enumerate() {
            let line = line_at(
                &format!("old{i}"),
                "acme",
                &rfc3339(now - chrono::Duration::hours(hours)),
            );
            let m = flashpoint::domain::codec::decode(line.as_bytes()).unwrap();
            w.write(&m, t0).unwrap();
        }
        w.close().unwrap();
        earlier.extend(ArchiveWriter::segments(&dir.path().join("archive")).unwrap());
    }
    assert_eq!(earlier.len(), 2);

    let body = [
        line_at(
            "a",
            "acme vans are late",
            &rfc3339(now - chrono::Duration::minutes(2)),
        ),
        line_at("far", "acme", "9999-12-31T23:59:59Z"),
        line_at("ancient", RISKY, "0001-01-01T00:00:00Z"),
        line_at("b", "acme vans are late", &rfc3339(now)),
    ]
    .join("\n");
    let metrics = Arc::new(Metrics::new(&["acme"], 10));
    let (v, summary) = push_and_stop(
        live_config(dir.path(), false),
        Arc::clone(&metrics),
        body,
        2,
    )
    .await;
    assert_eq!(v["accepted"], 2, "{v}");
    assert_eq!(v["rejected"], 2, "{v}");
    let reasons: Vec<(u64, &str)> = v["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["line"].as_u64().unwrap(), e["reason"].as_str().unwrap()))
        .collect();
    assert_eq!(
        reasons,
        [(2, "future_event_time"), (3, "stale_event_time")],
        "{v}"
    );
    assert_eq!(dropped(&metrics, "push", "future_event_time"), 1);
    assert_eq!(dropped(&metrics, "push", "stale_event_time"), 1);
    assert_eq!(summary.engine.received, 2);
    assert_eq!(summary.engine.too_late, 0);
    assert_eq!(summary.archived, 2);
    let alerts = std::fs::read_to_string(dir.path().join("alerts.ndjson")).unwrap();
    assert!(!alerts.contains("00010101"), "{alerts}");
    let segments = ArchiveWriter::segments(&dir.path().join("archive")).unwrap();
    for s in &earlier {
        assert!(segments.contains(s), "{} was deleted", s.display());
    }
}

/// One record dated just inside the sources' future skew (a federated post from a server
/// whose clock runs fast, a pushed record) is processed, but moves the watermark no further
/// than the wall clock: honest mentions a minute or two old, from this or any other source,
/// stay within the allowed lateness. The watermark used to jump to the record's time, and at
/// five minutes of skew and of lateness every mention older than a few seconds was dropped
/// as too late (found by a red-team run, 2026-12-06: 90 of 90 honest events dropped).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ingest_event_time_a_near_future_record_does_not_cut_the_lateness_of_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let now = chrono::Utc::now();
    let at = |s: i64| rfc3339(now + chrono::Duration::seconds(s));
    let body = [
        line_at("ahead", "acme vans are late", &at(290)),
        line_at("a", "acme vans are late again", &at(-60)),
        line_at("b", "acme vans are late as usual", &at(-120)),
    ]
    .join("\n");
    let metrics = Arc::new(Metrics::new(&["acme"], 10));
    let (v, summary) = push_and_stop(
        live_config(dir.path(), false),
        Arc::clone(&metrics),
        body,
        3,
    )
    .await;
    assert_eq!(v["accepted"], 3, "{v}");
    assert_eq!(summary.engine.received, 3);
    assert_eq!(summary.engine.too_late, 0, "{:?}", summary.engine);
    assert_eq!(dropped(&metrics, "push", "too_late"), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ingest_event_time_a_poisoned_checkpoint_is_not_restored() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = live_config(dir.path(), true);
    // A checkpoint written by a build without the bound: its watermark is in the year 9999.
    {
        let mut e = crate::support::engine(Arc::clone(&cfg));
        let line = line_at("far", "acme", "9999-12-31T23:59:59Z");
        e.process(&flashpoint::domain::codec::decode(line.as_bytes()).unwrap());
        flashpoint::app::checkpoint::save(&e, &dir.path().join("state.ckpt")).unwrap();
    }
    let now = chrono::Utc::now();
    let body: String = (0..3)
        .map(|i| {
            let t = rfc3339(now - chrono::Duration::seconds(30 - i * 10));
            line_at(&format!("n{i}"), "acme vans are late", &t) + "\n"
        })
        .collect();
    let metrics = Arc::new(Metrics::new(&["acme"], 10));
    let (v, summary) = push_and_stop(cfg, Arc::clone(&metrics), body, 3).await;
    assert_eq!(v["accepted"], 3, "{v}");
    assert_eq!(
        summary.engine.too_late, 0,
        "the restored watermark made live mentions too late"
    );
    assert_eq!(dropped(&metrics, "x", "too_late"), 0);
}
