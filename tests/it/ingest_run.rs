//! `flashpoint run` end to end: sources → engine → archive and alert log. The archive a live
//! run writes replays to the same alert log; Jetstream and HTTP push work together against
//! in-process servers.

use std::sync::Arc;
use std::time::Duration;

use flashpoint::app::replay::Input;
use flashpoint::app::{replay, run, RunOptions, Speed};
use flashpoint::config;
use flashpoint::replay::ArchiveWriter;
use flashpoint::telemetry::Metrics;
use tokio_util::sync::CancellationToken;

use crate::support::options;

fn quiet(mut o: RunOptions) -> RunOptions {
    o.console = Some(false);
    o
}

fn demo_sample() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("data/demo/sample.ndjson.zst")
}

/// The demo configuration plus `extra` tables and a `file` source reading `input`.
fn demo_reading(extra: &str, input: &std::path::Path) -> Arc<config::Config> {
    let text = format!(
        "{}\n{extra}[[source]]\nid = \"backlog\"\ntype = \"file\"\npath = {:?}\n",
        flashpoint::app::demo::DEMO_CONFIG,
        input.display().to_string(),
    );
    Arc::new(config::parse_str(&text, "live.toml", &|_| None).unwrap())
}

/// `run` until its file source has ended (no push route: it then ends by itself).
async fn run_to_end(cfg: Arc<config::Config>) -> flashpoint::app::RunSummary {
    let metrics = Arc::new(Metrics::new(&[], 0));
    run(
        cfg,
        quiet(RunOptions::new(metrics, CancellationToken::new())),
    )
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ingest_run_archive_replays_to_the_same_alert_log() {
    let dir = tempfile::tempdir().unwrap();
    let live_log = dir.path().join("live.ndjson");
    let archive = dir.path().join("archive");
    let cfg = demo_reading(
        &format!(
            "[alert_log]\npath = {:?}\n[archive]\ndir = {:?}\nsegment_max_age = \"6h\"\n",
            live_log.display().to_string(),
            archive.display().to_string(),
        ),
        &demo_sample(),
    );
    let summary = run_to_end(Arc::clone(&cfg)).await;
    assert!(summary.alerts > 0, "the demo stream pages");
    assert_eq!(summary.archived, summary.engine.received);

    let segments = ArchiveWriter::segments(&archive).unwrap();
    assert!(
        segments.len() >= 10,
        "4 days in 6-hour segments: {}",
        segments.len()
    );
    let replay_log = dir.path().join("replay.ndjson");
    let paths = segments.iter().map(|p| p.display().to_string()).collect();
    let s = replay(
        cfg,
        Input::Paths(paths),
        options(Speed::Max, Some(replay_log.display().to_string())),
        None,
    )
    .await
    .unwrap();
    assert_eq!(s.decode.decoded, summary.archived);
    let live = std::fs::read_to_string(&live_log).unwrap();
    let replayed = std::fs::read_to_string(&replay_log).unwrap();
    assert!(!live.is_empty());
    assert!(
        live == replayed,
        "the archive replays to the live run's alert log"
    );
}

/// The demo sample through `run` from a file source with `prepare_workers` preparing threads;
/// returns the alert log.
async fn live_alert_log(workers: usize) -> String {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("live.ndjson");
    let cfg = demo_reading(
        &format!(
            "[pipeline]\nprepare_workers = {workers}\n[alert_log]\npath = {:?}\n",
            log.display().to_string()
        ),
        &demo_sample(),
    );
    assert_eq!(cfg.pipeline.prepare_workers, workers);
    let summary = run_to_end(cfg).await;
    assert!(summary.alerts > 0, "the demo stream pages");
    std::fs::read_to_string(&log).unwrap()
}

/// Issue 20: matching and scoring ahead of the engine on preparing threads changes nothing
/// the live engine decides: the alert log is the same to the byte with none, one and three
/// threads (a relay task for one; the engine reads the threads' output in the sources' queue
/// order).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ingest_run_preparing_threads_change_no_decision() {
    let alone = live_alert_log(0).await;
    assert!(alone.lines().count() >= 10, "{alone}");
    for workers in [1, 3] {
        let prepared = live_alert_log(workers).await;
        assert!(
            prepared == alone,
            "{workers} preparing threads: the alert log differs"
        );
    }
}

/// Issue 17: a mention read twice (a reconnect's overlap, a retried push) within the allowed
/// lateness is archived once, matched or not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ingest_run_a_mention_read_twice_is_archived_once() {
    let dir = tempfile::tempdir().unwrap();
    let sample = zstd::decode_all(flashpoint::app::demo::DEMO_SAMPLE).unwrap();
    let lines: Vec<&[u8]> = sample
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .take(3000)
        .collect();
    // Every line twice in a row: the second copy arrives within the allowed lateness.
    let mut doubled = Vec::new();
    for l in &lines {
        for _ in 0..2 {
            doubled.extend_from_slice(l);
            doubled.push(b'\n');
        }
    }
    let input = dir.path().join("doubled.ndjson");
    std::fs::write(&input, doubled).unwrap();
    let archive = dir.path().join("archive");
    let cfg = demo_reading(
        &format!(
            "[archive]\ndir = {:?}\nretention_max_age = \"3650d\"\n",
            archive.display().to_string()
        ),
        &input,
    );
    let summary = run_to_end(cfg).await;
    let e = &summary.engine;
    assert_eq!(e.received, 2 * lines.len() as u64);
    assert!(e.duplicates > 1000, "the engine drops them too: {e:?}");
    assert_eq!(summary.archived, lines.len() as u64, "{e:?}");
    let mut seen = std::collections::HashMap::<String, u32>::new();
    for seg in ArchiveWriter::segments(&archive).unwrap() {
        let bytes = zstd::decode_all(std::fs::File::open(&seg).unwrap()).unwrap();
        for l in bytes.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
            *seen
                .entry(flashpoint::domain::codec::decode(l).unwrap().id)
                .or_default() += 1;
        }
    }
    assert_eq!(seen.len(), lines.len(), "every mention is archived");
    let twice: Vec<_> = seen.iter().filter(|(_, &n)| n > 1).collect();
    assert!(twice.is_empty(), "archived more than once: {twice:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ingest_run_jetstream_and_push_until_shutdown() {
    let (ws_addr, _cursors) = crate::ingest_ws::jetstream_server(40, Vec::new()).await;
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("archive");
    let cursor = dir.path().join("bsky.cursor");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    // The recorded Jetstream frames are from July 2026: older than the default event-time
    // horizon of live sources (`max_event_age`), like the archive's retention.
    let text = format!(
        "[[brand]]\nid = \"acme\"\nterms = [\"acme\"]\n[pipeline]\nmax_event_age = \"3650d\"\n[server]\nlisten = \"127.0.0.1:0\"\n[archive]\ndir = {:?}\nretention_max_age = \"3650d\"\n\
         [[source]]\nid = \"bsky\"\ntype = \"jetstream\"\nurl = \"ws://{ws_addr}/subscribe\"\ncursor_file = {:?}\ncursor_safety = \"100ms\"\nbackoff_initial = \"1ms\"\nbackoff_max = \"5ms\"\n\
         [[source]]\nid = \"push\"\ntype = \"http\"\ntoken = \"${{PUSH_TOKEN}}\"\nspool_dir = {:?}\n",
        archive.display().to_string(),
        cursor.display().to_string(),
        dir.path().join("spool").display().to_string(),
    );
    let env = |k: &str| (k == "PUSH_TOKEN").then(|| String::from("tok"));
    let cfg = Arc::new(config::parse_str(&text, "run.toml", &env).unwrap());
    let metrics = Arc::new(Metrics::new(&["acme"], 10));
    let shutdown = CancellationToken::new();
    let mut opts = quiet(RunOptions::new(Arc::clone(&metrics), shutdown.clone()));
    opts.listener = Some(listener);
    let running = tokio::spawn(run(cfg, opts));

    // Pushed at the fixture's event time, so neither source's mentions are too late for the
    // other's watermark whatever order they arrive in.
    let body: String = (0..5)
        .map(|i| {
            let text = "acme vans are late again";
            crate::ingest_push::line_at(&format!("p{i}"), text, "2026-07-04T14:38:08Z") + "\n"
        })
        .collect();
    let r = reqwest::Client::new()
        .post(format!("http://{addr}/v1/mentions"))
        .bearer_auth("tok")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let want = crate::ingest_ws::wanted_ids().len() as u64 + 5;
    tokio::time::timeout(Duration::from_secs(30), async {
        while metrics.pipeline_mentions_processed_total.get() < want {
            tokio::task::yield_now().await;
        }
    })
    .await
    .expect("every Jetstream event and pushed mention is processed");
    let health = reqwest::get(format!("http://{addr}/readyz")).await.unwrap();
    assert_eq!(health.status(), 200);
    shutdown.cancel();
    let summary = running.await.unwrap().unwrap();
    assert_eq!(
        summary.engine.received, want,
        "nothing lost or doubled across the drop"
    );
    assert_eq!(summary.archived, want);
    assert_eq!(
        metrics
            .brand_mentions_total
            .with_label_values(&["acme", "x"])
            .get(),
        5
    );
    assert!(std::fs::read_to_string(&cursor)
        .unwrap()
        .trim()
        .parse::<i64>()
        .is_ok());
    let paths: Vec<String> = ArchiveWriter::segments(&archive)
        .unwrap()
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    let mut n = 0;
    flashpoint::ingest::archive::read_batches(&paths, 64, &mut |_| {}, &mut |b| {
        n += b.len();
        true
    })
    .unwrap();
    assert_eq!(n as u64, want);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ingest_run_restart_appends_to_the_alert_log() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.ndjson");
    // Each run reads another day, so its watch is a new incident (a decision already in the
    // log would not be written again: `ingest_run_restart_never_writes_a_logged_alert_twice`).
    let day = |d: u32| {
        let mut lines: String = (0..20)
            .map(|i| {
                let t = format!("2026-03-{d:02}T10:{i:02}:00Z");
                crate::ingest_push::line_at(&format!("n{d}-{i}"), "acme vans came on time", &t)
                    + "\n"
            })
            .collect();
        lines.push_str(
            &(crate::ingest_push::line_at(
                &format!("risky{d}"),
                "acme technician was drunk in our kitchen and left the gas leaking",
                &format!("2026-03-{d:02}T10:21:00Z"),
            ) + "\n"),
        );
        lines
    };
    let log = dir.path().join("alerts.ndjson");
    let text = format!(
        "[[brand]]\nid = \"acme\"\nterms = [\"acme\"]\n[alert_log]\npath = {:?}\n\
         [[source]]\nid = \"backlog\"\ntype = \"file\"\npath = {:?}\n",
        log.display().to_string(),
        input.display().to_string(),
    );
    let cfg = Arc::new(config::parse_str(&text, "live.toml", &|_| None).unwrap());
    let mut runs = Vec::new();
    for d in [2, 3] {
        std::fs::write(&input, day(d)).unwrap();
        let metrics = Arc::new(Metrics::new(&["acme"], 10));
        let opts = quiet(RunOptions::new(metrics, CancellationToken::new()));
        let summary = run(Arc::clone(&cfg), opts).await.unwrap();
        assert!(summary.alerts > 0, "the risky post opens a watch");
        runs.push(std::fs::read_to_string(&log).unwrap());
    }
    let (first, second) = (&runs[0], &runs[1]);
    assert!(
        second.starts_with(first.as_str()),
        "the second run truncated the first run's lines"
    );
    assert_eq!(second.lines().count(), 2 * first.lines().count());
}

/// Issue 17, finding 3: a restart that decides again what it already decided (from an older
/// checkpoint, or none) writes and pages nothing twice: no incident id is triggered twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ingest_run_restart_never_writes_a_logged_alert_twice() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.ndjson");
    let mut lines: String = (0..20)
        .map(|i| {
            let t = format!("2026-03-02T10:{i:02}:00Z");
            crate::ingest_push::line_at(&format!("n{i}"), "acme vans came on time", &t) + "\n"
        })
        .collect();
    lines.push_str(
        &(crate::ingest_push::line_at(
            "risky",
            "acme technician was drunk in our kitchen and left the gas leaking",
            "2026-03-02T10:21:00Z",
        ) + "\n"),
    );
    std::fs::write(&input, lines).unwrap();
    let log = dir.path().join("alerts.ndjson");
    let text = format!(
        "[[brand]]\nid = \"acme\"\nterms = [\"acme\"]\n[alert_log]\npath = {:?}\n\
         [[source]]\nid = \"backlog\"\ntype = \"file\"\npath = {:?}\n",
        log.display().to_string(),
        input.display().to_string(),
    );
    let cfg = Arc::new(config::parse_str(&text, "live.toml", &|_| None).unwrap());
    let mut logs = Vec::new();
    let mut suppressed = Vec::new();
    for _ in 0..2 {
        let metrics = Arc::new(Metrics::new(&["acme"], 10));
        let opts = quiet(RunOptions::new(
            Arc::clone(&metrics),
            CancellationToken::new(),
        ));
        run(Arc::clone(&cfg), opts).await.unwrap();
        logs.push(std::fs::read_to_string(&log).unwrap());
        suppressed.push(
            metrics
                .alerts_suppressed_total
                .with_label_values(&["already_logged"])
                .get(),
        );
    }
    assert!(!logs[0].is_empty(), "the risky post opens a watch");
    assert_eq!(logs[1], logs[0], "the restart wrote a logged alert again");
    assert_eq!(suppressed[0], 0);
    assert_eq!(suppressed[1] as usize, logs[0].lines().count());
    let triggers: Vec<&str> = logs[1]
        .lines()
        .filter(|l| l.contains("\"action\":\"trigger\""))
        .collect();
    assert_eq!(triggers.len(), 1, "{triggers:?}");
}

/// A Jetstream cursor moves past a mention only once the archive and the checkpoint hold it
/// (a kill -9 must not leave it ahead of them), and a stopping run makes everything durable at
/// once: with an archive that flushes hourly and an hourly checkpoint, a graceful stop still
/// ends with the cursor past every event and the archive holding each once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ingest_run_a_stop_makes_the_jetstream_cursor_durable_at_once() {
    let (ws_addr, _cursors) = crate::ingest_ws::jetstream_server(usize::MAX, Vec::new()).await;
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("archive");
    let cursor = dir.path().join("bsky.cursor");
    let text = format!(
        "[[brand]]\nid = \"acme\"\nterms = [\"acme\"]\n[pipeline]\nmax_event_age = \"3650d\"\n\
         [archive]\ndir = {:?}\nretention_max_age = \"3650d\"\nflush_interval = \"1h\"\n\
         [checkpoint]\npath = {:?}\ninterval = \"1h\"\n\
         [[source]]\nid = \"bsky\"\ntype = \"jetstream\"\nurl = \"ws://{ws_addr}/subscribe\"\ncursor_file = {:?}\ncursor_safety = \"100ms\"\nbackoff_initial = \"1ms\"\nbackoff_max = \"5ms\"\n",
        archive.display().to_string(),
        dir.path().join("state.ckpt").display().to_string(),
        cursor.display().to_string(),
    );
    let cfg = Arc::new(config::parse_str(&text, "run.toml", &|_| None).unwrap());
    let metrics = Arc::new(Metrics::new(&["acme"], 10));
    let shutdown = CancellationToken::new();
    let opts = quiet(RunOptions::new(Arc::clone(&metrics), shutdown.clone()));
    let running = tokio::spawn(run(cfg, opts));
    let wanted = crate::ingest_ws::wanted_ids();
    let want = wanted.len() as u64;
    tokio::time::timeout(Duration::from_secs(30), async {
        while metrics.pipeline_mentions_processed_total.get() < want {
            tokio::task::yield_now().await;
        }
    })
    .await
    .expect("every Jetstream event is processed");
    // Nothing is durable yet (no flush, no checkpoint): the cursor has not moved past any of it.
    let wanted_times: Vec<i64> = crate::ingest_ws::frames()
        .into_iter()
        .filter(|(_, l)| {
            wanted
                .iter()
                .any(|id| l.contains(id.rsplit('/').next().unwrap()))
        })
        .map(|(t, _)| t)
        .collect();
    let oldest_wanted = *wanted_times.iter().min().unwrap();
    let newest_wanted = *wanted_times.iter().max().unwrap();
    // The cursor may pass frames that carry no mention, never a mention not yet durable.
    if let Ok(c) = std::fs::read_to_string(&cursor) {
        let c: i64 = c.trim().parse().unwrap();
        assert!(
            c < oldest_wanted,
            "cursor {c} passed mentions not yet archived"
        );
    }
    shutdown.cancel();
    let summary = running.await.unwrap().unwrap();
    assert_eq!(summary.archived, want);
    let c: i64 = std::fs::read_to_string(&cursor)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(
        c >= newest_wanted,
        "the stop left the cursor at {c}, before the last event at {newest_wanted}"
    );
}

/// The test's wall clock: a fixed instant plus the paused tokio clock's elapsed time.
static CLOCK_BASE: std::sync::OnceLock<tokio::time::Instant> = std::sync::OnceLock::new();

/// 2026-03-02T10:00:00Z, then on with tokio's (paused) time.
fn paused_wall_clock() -> flashpoint::domain::EventTime {
    let start = CLOCK_BASE.get_or_init(tokio::time::Instant::now);
    let elapsed = i64::try_from(start.elapsed().as_millis()).unwrap_or(i64::MAX);
    flashpoint::domain::EventTime(1_772_445_600_000 + elapsed)
}

/// A burst pushed into a quiet live stream pages without waiting for another mention: event
/// time follows the wall clock while the live stream is idle (`app::idle_clock`). Before, the
/// minutes the allowed lateness held back were decided only when an unrelated mention came,
/// however late (found by an attack on the live service: 8.5 minutes, and never without one).
#[tokio::test(start_paused = true)]
async fn ingest_run_a_burst_in_a_quiet_live_stream_pages_without_another_mention() {
    CLOCK_BASE.get_or_init(tokio::time::Instant::now);
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("alerts.ndjson");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let text = format!(
        "[[brand]]\nid = \"acme\"\nterms = [\"acme\"]\n[server]\nlisten = \"127.0.0.1:0\"\n[alert_log]\npath = {:?}\n\
         [[source]]\nid = \"push\"\ntype = \"http\"\nack = \"queued\"\n",
        log.display().to_string(),
    );
    let cfg = Arc::new(config::parse_str(&text, "run.toml", &|_| None).unwrap());
    let metrics = Arc::new(Metrics::new(&["acme"], 10));
    let shutdown = CancellationToken::new();
    let mut opts = quiet(RunOptions::new(Arc::clone(&metrics), shutdown.clone()));
    opts.listener = Some(listener);
    opts.clock = Some(paused_wall_clock);
    let running = tokio::spawn(run(cfg, opts));

    // 200 outage reports within a few seconds of "now", then nothing at all.
    let now = chrono::DateTime::from_timestamp_millis(paused_wall_clock().millis()).unwrap();
    let body: String = (0..200)
        .map(|i| {
            let at = (now - chrono::Duration::milliseconds(i * 10))
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
            crate::ingest_push::line_at(
                &format!("p{i}"),
                "acme app is down again, cannot log in",
                &at,
            ) + "\n"
        })
        .collect();
    crate::support::push_mentions(addr, body).await;
    // Twenty quiet minutes of the injected clock: no source sends anything.
    tokio::time::sleep(Duration::from_secs(20 * 60)).await;
    let lines = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(
        lines.contains("\"action\":\"trigger\"") && lines.contains("\"brand\":\"acme\""),
        "the burst opened no incident while the stream stayed quiet: {lines:?}"
    );
    // The event-time lag shows how long the stream has been silent (the newest mention's
    // age), whatever the idle clock decided meanwhile.
    let lag = metrics.pipeline_event_time_lag_seconds.get();
    assert!((19.0 * 60.0..=21.0 * 60.0).contains(&lag), "lag {lag}");
    shutdown.cancel();
    running.await.unwrap().unwrap();
}
