//! Durable acknowledgements (`ack = "durable"`, issue 17): a 200 from `POST /v1/mentions`
//! means the lines are fsynced in the spool; a `flashpoint run` killed with SIGKILL re-feeds
//! every acknowledged mention at its next start (five kills in a row, with and without a
//! checkpoint); `ack = "queued"` keeps the old promise; a spool that cannot write answers 503
//! and counts it; a real file-size limit on a running `flashpoint run` pauses its archive while
//! detection goes on; five SIGKILLs part-way through a paced stream from a Jetstream stand-in,
//! and through a paced timeline from a Mastodon stand-in (streaming socket and REST backfill),
//! lose no event the cursor passed. Real servers on 127.0.0.1 port 0; the stand-in paces its
//! frames as a live firehose does, and the tests wait on conditions, never on time.

use std::collections::BTreeSet;
use std::io::BufRead;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use flashpoint::config::source::{AckMode, HttpPushConfig};
use flashpoint::ingest::push::{router, PushState};
use flashpoint::ingest::spool::{Recovery, Spool};
use flashpoint::ingest::Ingested;
use flashpoint::telemetry::Metrics;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::ingest_push::{line, line_at};

/// A mention dated now, so a live run's event-time bounds take it.
fn fresh(id: &str, text: &str) -> String {
    line_at(
        id,
        text,
        &chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string(),
    )
}

/// A push route over a spool in `dir`.
async fn serve_spooled(
    dir: &Path,
) -> (
    SocketAddr,
    mpsc::Receiver<Ingested>,
    Arc<Metrics>,
    Spool,
    Recovery,
) {
    let metrics = Arc::new(Metrics::new(&[], 0));
    let (tx, rx) = mpsc::channel(64);
    let (spool, handle, recovery) = Spool::open(dir, tx.clone()).unwrap();
    let cfg = HttpPushConfig {
        token: None,
        max_body_bytes: 1 << 20,
        retry_after: Duration::from_secs(1),
        ack: AckMode::Durable,
        spool_dir: None,
    };
    let app = router(PushState::new("push", cfg, tx, Arc::clone(&metrics)).with_spool(handle));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (addr, rx, metrics, spool, recovery)
}

async fn push(addr: SocketAddr, body: String) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("http://{addr}/v1/mentions"))
        .body(body)
        .send()
        .await
        .unwrap()
}

/// Every byte of the spool's segments.
fn spooled(dir: &Path) -> String {
    let mut out = String::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        let p = e.path();
        // Regular files only: never read through the link to /dev/full.
        if e.file_type().unwrap().is_file() && p.extension().is_some_and(|x| x == "ndjson") {
            out.push_str(&std::fs::read_to_string(p).unwrap());
        }
    }
    out
}

#[tokio::test]
async fn ingest_durable_200_means_the_lines_are_in_the_spool_file() {
    let dir = tempfile::tempdir().unwrap();
    let (addr, mut rx, _m, _spool, _rec) = serve_spooled(dir.path()).await;
    let body = format!(
        "{}\n{}\n{{bad\n",
        line("d1", "acme one"),
        line("d2", "acme two")
    );
    let r = push(addr, body).await;
    // Read right after the 200 and before anything else: the spool already holds both lines.
    let on_disk = spooled(dir.path());
    assert_eq!(r.status(), 200);
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(
        (v["accepted"].as_u64(), v["rejected"].as_u64()),
        (Some(2), Some(1))
    );
    assert_eq!(on_disk.lines().count(), 2, "{on_disk}");
    assert!(on_disk.contains(r#""id":"d1""#) && on_disk.contains(r#""id":"d2""#));
    // Then queued by the spool, in order, stamped with their place in it.
    for id in ["d1", "d2"] {
        let got = tokio::time::timeout(Duration::from_secs(10), rx.recv())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(got.mention.id, id);
        assert!(got.spool.is_some());
    }
}

#[cfg(unix)]
#[tokio::test]
async fn ingest_durable_spool_write_failure_answers_503_and_counts_it() {
    if !std::path::Path::new("/dev/full")
        .try_exists()
        .unwrap_or(false)
    {
        eprintln!("skipped: this system has no /dev/full to stand in for a full disk");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // The first segment the spool writes is a device that refuses every write (ENOSPC).
    std::os::unix::fs::symlink("/dev/full", dir.path().join(format!("{:020}.ndjson", 1))).unwrap();
    let (addr, mut rx, metrics, _spool, _rec) = serve_spooled(dir.path()).await;
    let r = push(addr, line("f1", "acme")).await;
    assert_eq!(r.status(), 503);
    assert!(r.headers().contains_key("retry-after"));
    let failed = metrics
        .ingest_push_rejected_total
        .with_label_values(&["push", "spool_write_failed"])
        .get();
    assert_eq!(failed, 1);
    assert!(
        rx.try_recv().is_err(),
        "nothing queued without a durable write"
    );
    // The writer moves to a new segment: the retry is stored and acknowledged.
    let r = push(addr, line("f1", "acme")).await;
    assert_eq!(r.status(), 200);
    assert!(spooled(dir.path()).contains(r#""id":"f1""#));
    let got = tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.mention.id, "f1");
}

fn config(dir: &Path, ack: &str, archive_flush: &str) -> String {
    format!(
        "[[brand]]\nid = \"acme\"\nterms = [\"acme\"]\n\
         [server]\nlisten = \"127.0.0.1:0\"\n\
         [archive]\ndir = {:?}\nflush_interval = {archive_flush:?}\n\
         [[source]]\nid = \"push\"\ntype = \"http\"\nack = {ack:?}\nspool_dir = {:?}\n",
        dir.join("archive").display().to_string(),
        dir.join("spool").display().to_string(),
    )
}

/// Every mention id in the archive's completed segments.
fn archived_ids(dir: &Path) -> BTreeSet<String> {
    archived_counts(dir).into_keys().collect()
}

/// How many times each mention id is in the archive's completed segments.
fn archived_counts(dir: &Path) -> std::collections::BTreeMap<String, usize> {
    let mut ids = std::collections::BTreeMap::new();
    for seg in flashpoint::replay::ArchiveWriter::segments(dir).unwrap() {
        // A segment a kill left empty holds nothing.
        if std::fs::metadata(&seg).unwrap().len() == 0 {
            continue;
        }
        let bytes = zstd::decode_all(std::fs::File::open(&seg).unwrap())
            .unwrap_or_else(|e| panic!("{}: {e}", seg.display()));
        for l in bytes.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
            *ids.entry(flashpoint::domain::codec::decode(l).unwrap().id)
                .or_insert(0) += 1;
        }
    }
    ids
}

/// Runs `flashpoint run` on `cfg` until it serves; returns it and its address.
fn start_child(cfg: &Path) -> (std::process::Child, SocketAddr) {
    let mut cmd = crate::support::flashpoint();
    cmd.args(["run", "--config"]).arg(cfg);
    spawn_ready(cmd)
}

/// Spawns `cmd` (a `flashpoint run`) and waits until it serves; returns it and its address.
fn spawn_ready(mut cmd: std::process::Command) -> (std::process::Child, SocketAddr) {
    let mut child = cmd
        .env("FLASHPOINT_LOG", "info")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    // The log names the bound address, then says ready; the rest of it is drained so the
    // child never blocks on a full pipe.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut addr = None;
        for l in std::io::BufReader::new(stderr).lines() {
            let Ok(l) = l else { break };
            if let Some(a) = l.split("addr=").nth(1) {
                let a: String = a
                    .chars()
                    .take_while(|c| c.is_ascii_digit() || *c == '.' || *c == ':')
                    .collect();
                addr = a.parse::<SocketAddr>().ok();
            }
            if l.contains("flashpoint run: ready") {
                if let Some(a) = addr.take() {
                    tx.send(a).ok();
                }
            }
        }
    });
    let addr = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("flashpoint run did not become ready");
    (child, addr)
}

/// Five rounds of pushes, each ended by SIGKILL with the archive never flushed, then a clean
/// start: every acknowledged mention is archived exactly once, the alert log only grows and
/// the watch the risky posts opened is triggered once, however often it was decided again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ingest_durable_kill_9_loses_no_acknowledged_mention() {
    kill_rounds(false).await;
}

/// The same with a `[checkpoint]`, whose coverage must be reached too before the spool lets go.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ingest_durable_kill_9_with_a_checkpoint_loses_no_acknowledged_mention() {
    kill_rounds(true).await;
}

async fn kill_rounds(checkpoint: bool) {
    let dir = tempfile::tempdir().unwrap();
    // The archive flushes once an hour: without the spool every kill loses the lot.
    let cfg = dir.path().join("live.toml");
    let mut text = config(dir.path(), "durable", "1h");
    let log = dir.path().join("alerts.ndjson");
    text.push_str(&format!(
        "[alert_log]\npath = {:?}\n",
        log.display().to_string()
    ));
    if checkpoint {
        text.push_str(&format!(
            "[checkpoint]\npath = {:?}\ninterval = \"1s\"\n",
            dir.path().join("state.ckpt").display().to_string()
        ));
    }
    std::fs::write(&cfg, text).unwrap();
    let mut acked = BTreeSet::new();
    // The alert log's complete lines so far: every later state must start with them.
    let mut logged = String::new();
    for round in 0..5 {
        let (mut child, addr) = start_child(&cfg);
        for batch in 0..4 {
            let ids: Vec<String> = (0..25).map(|i| format!("r{round}-b{batch}-{i}")).collect();
            // One post per batch alleges misconduct: watches open, and a restart that decided
            // again must not trigger them twice.
            let body: String = ids
                .iter()
                .enumerate()
                .map(|(i, id)| {
                    let text = if i == 0 {
                        "the acme engineer was drunk in our kitchen and left the gas leaking"
                    } else {
                        "acme is down"
                    };
                    fresh(id, text) + "\n"
                })
                .collect();
            let r = push(addr, body).await;
            assert_eq!(r.status(), 200, "round {round} batch {batch}");
            let v: serde_json::Value = r.json().await.unwrap();
            assert_eq!(v["accepted"].as_u64(), Some(25), "{v}");
            acked.extend(ids);
        }
        child.kill().unwrap();
        child.wait().unwrap();
        let now = std::fs::read_to_string(&log).unwrap_or_default();
        assert!(
            now.starts_with(&logged),
            "round {round}: the alert log lost or rewrote lines"
        );
        logged = now[..now.rfind('\n').map_or(0, |i| i + 1)].to_string();
    }
    // A clean run afterwards: it re-feeds the spool, archives it and stops gracefully.
    let parsed = flashpoint::config::parse_str(
        &std::fs::read_to_string(&cfg).unwrap(),
        "live.toml",
        &|_| None,
    )
    .unwrap();
    let shutdown = CancellationToken::new();
    let mut opts =
        flashpoint::app::RunOptions::new(Arc::new(Metrics::new(&["acme"], 10)), shutdown.clone());
    opts.console = Some(false);
    shutdown.cancel();
    let summary = tokio::time::timeout(
        Duration::from_secs(60),
        flashpoint::app::run(Arc::new(parsed), opts),
    )
    .await
    .expect("the recovering run ends")
    .unwrap();
    let counts = archived_counts(&dir.path().join("archive"));
    let archived: BTreeSet<String> = counts.keys().cloned().collect();
    let lost: Vec<_> = acked.difference(&archived).collect();
    assert!(
        lost.is_empty(),
        "{} of {} acknowledged mentions lost: {lost:?}",
        lost.len(),
        acked.len()
    );
    let twice: Vec<_> = counts.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "archived more than once: {twice:?}");
    // The log only grew, and no incident was triggered twice.
    let last = std::fs::read_to_string(&log).unwrap();
    assert!(
        last.starts_with(&logged),
        "the last run rewrote the alert log"
    );
    let mut triggers = BTreeSet::new();
    for l in last.lines() {
        let a: serde_json::Value = serde_json::from_str(l).unwrap();
        if a["action"] == "trigger" {
            let id = a["incident"].as_str().unwrap().to_string();
            assert!(triggers.insert(id.clone()), "{id} triggered twice:\n{last}");
        }
    }
    assert!(!triggers.is_empty(), "no watch opened: nothing was checked");
    assert!(summary.engine.received >= acked.len() as u64);
    // The graceful stop covered everything: no record is left to re-feed.
    assert_eq!(spooled(&dir.path().join("spool")), "");
}

/// One value of the Prometheus text exposition at `addr` (0 when absent).
async fn scrape(addr: SocketAddr, name: &str) -> f64 {
    let body = reqwest::get(format!("http://{addr}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    body.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
        .unwrap_or(0.0)
}

#[cfg(target_os = "linux")]
/// Bytes of every file in the archive directory (0 while it does not exist).
fn archive_bytes(dir: &std::path::Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|it| {
            it.filter_map(|e| e.ok()?.metadata().ok())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

/// Disk full, for real: `flashpoint run` under a 64 KiB file-size limit (`ulimit -f`, with
/// SIGXFSZ ignored, so a write past it fails with EFBIG as a full disk fails with ENOSPC). The
/// archive's writes fail, are counted and pause it; pushes are still acknowledged and detection
/// goes on; what is on disk is only complete frames of mentions that were pushed, each once; a
/// start with the space back recovers the segment left open.
#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ingest_durable_a_full_disk_pauses_the_archive_and_detection_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("live.toml");
    std::fs::write(&cfg, config(dir.path(), "queued", "100ms")).unwrap();
    let mut cmd = std::process::Command::new("bash");
    cmd.args(["-c", "trap '' XFSZ; ulimit -f 64 && exec \"$0\" \"$@\""])
        .arg(env!("CARGO_BIN_EXE_flashpoint"))
        .args(["run", "--config"])
        .arg(&cfg);
    let (mut child, addr) = spawn_ready(cmd);
    // Mentions whose text barely compresses (xorshift hex), 64 KiB of segment in about 1,500.
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let mut hex = move || {
        (0..4)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                format!("{x:016x}")
            })
            .collect::<String>()
    };
    let mut pushed = BTreeSet::new();
    let mut batch = 0;
    let mut on_disk = 0;
    let failures = "flashpoint_archive_write_failures_total";
    let processed = "flashpoint_pipeline_mentions_processed_total";
    // At most 40 batches of 200 (8,000 mentions, about 350 KiB compressed): the limit is
    // crossed well before.
    while scrape(addr, failures).await == 0.0 {
        assert!(batch < 40, "no archive write failed after {batch} batches");
        let body: String = (0..200)
            .map(|i| {
                let id = format!("f{batch}-{i}");
                let text = format!("acme is down again {}", hex());
                pushed.insert(id.clone());
                fresh(&id, &text) + "\n"
            })
            .collect();
        let r = push(addr, body).await;
        assert_eq!(r.status(), 200, "batch {batch}");
        batch += 1;
        // Let the archive's 100 ms flush see this batch before the next one is pushed.
        let seen = tokio::time::timeout(Duration::from_secs(30), async {
            while scrape(addr, processed).await < pushed.len() as f64 {}
        })
        .await;
        assert!(seen.is_ok(), "batch {batch} was not processed");
        // ... and written: processing is not archiving, and a fast build pushes all 40 batches
        // inside one flush interval, so the first write would be one frame over the limit and
        // nothing would be archived before the disk filled.
        let archive = dir.path().join("archive");
        let written = tokio::time::timeout(Duration::from_secs(30), async {
            while archive_bytes(&archive) <= on_disk && scrape(addr, failures).await == 0.0 {}
        })
        .await;
        assert!(
            written.is_ok(),
            "batch {batch} was neither archived nor refused"
        );
        on_disk = archive_bytes(&archive);
    }
    tokio::time::timeout(Duration::from_secs(30), async {
        while scrape(addr, "flashpoint_archive_paused").await != 1.0 {}
    })
    .await
    .expect("a failed write pauses the archive");
    // Paused, the run still acknowledges and processes what arrives.
    let before = scrape(addr, processed).await;
    let body: String = (0..50)
        .map(|i| fresh(&format!("after-{i}"), "acme is down again") + "\n")
        .collect();
    assert_eq!(push(addr, body).await.status(), 200);
    tokio::time::timeout(Duration::from_secs(30), async {
        while scrape(addr, processed).await < before + 50.0 {}
    })
    .await
    .expect("detection goes on while the archive is paused");
    let ready = reqwest::get(format!("http://{addr}/readyz")).await.unwrap();
    assert_eq!(
        ready.status(),
        200,
        "a paused archive is not a failed service"
    );
    for i in 0..50 {
        pushed.insert(format!("after-{i}"));
    }
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0), "a full disk does not fail the stop");
    // Every file under the limit holds whole frames of pushed mentions, none twice.
    let archive = dir.path().join("archive");
    let mut seen = BTreeSet::new();
    for e in std::fs::read_dir(&archive).unwrap() {
        let p = e.unwrap().path();
        let bytes = std::fs::read(&p).unwrap();
        assert!(
            bytes.len() <= 64 << 10,
            "{} is {} bytes",
            p.display(),
            bytes.len()
        );
        if bytes.is_empty() {
            // A segment whose first frame was refused: no frames, which replay reads as none.
            continue;
        }
        let text = zstd::decode_all(bytes.as_slice())
            .unwrap_or_else(|e| panic!("{} holds a torn frame: {e}", p.display()));
        for l in text.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
            let id = flashpoint::domain::codec::decode(l).unwrap().id;
            assert!(pushed.contains(&id), "{id} was never pushed");
            assert!(seen.insert(id.clone()), "{id} archived twice");
        }
    }
    assert!(
        !seen.is_empty(),
        "nothing was archived before the disk filled"
    );
    // The space is back: a new start closes whatever was left open, and it reads back.
    let (mut child, _addr) = start_child(&cfg);
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(archived_ids(&archive).is_superset(&seen));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ingest_durable_queued_mode_keeps_the_in_memory_acknowledgement() {
    let dir = tempfile::tempdir().unwrap();
    let parsed =
        flashpoint::config::parse_str(&config(dir.path(), "queued", "1s"), "live.toml", &|_| None)
            .unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let shutdown = CancellationToken::new();
    let mut opts =
        flashpoint::app::RunOptions::new(Arc::new(Metrics::new(&["acme"], 10)), shutdown.clone());
    opts.console = Some(false);
    opts.listener = Some(listener);
    let running = tokio::spawn(flashpoint::app::run(Arc::new(parsed), opts));
    let r = push(addr, fresh("q1", "acme") + "\n" + &fresh("q2", "acme")).await;
    assert_eq!(r.status(), 200);
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["accepted"].as_u64(), Some(2), "{v}");
    // No spool: nothing was written or even created for it.
    assert!(!dir.path().join("spool").try_exists().unwrap());
    shutdown.cancel();
    let summary = running.await.unwrap().unwrap();
    assert_eq!(summary.engine.received, 2);
    assert_eq!(archived_ids(&dir.path().join("archive")).len(), 2);
}

#[test]
fn ingest_durable_check_config_refuses_a_bad_ack_with_its_line() {
    let text = "[[brand]]\nid = \"acme\"\nterms = [\"acme\"]\n\
        [[source]]\nid = \"push\"\ntype = \"http\"\nack = \"sometimes\"\nspool_dir = \"\"\n";
    let err = flashpoint::config::parse_str(text, "live.toml", &|_| None)
        .unwrap_err()
        .to_string();
    assert!(err.contains("ack") && err.contains("sometimes"), "{err}");
    assert!(err.contains("live.toml:7"), "{err}");
    assert!(
        err.contains("spool_dir") && err.contains("live.toml:8"),
        "{err}"
    );
}

/// Frames of a generated Jetstream stream: `n` posts naming acme, 1 ms of event time apart,
/// the first an hour before now (inside a live run's event-time bounds); `(time_us, id, frame)`.
fn generated_jetstream(n: usize) -> Vec<(i64, String, String)> {
    let start = chrono::Utc::now() - chrono::Duration::hours(1);
    (0..n)
        .map(|i| {
            let at = start + chrono::Duration::milliseconds(i as i64);
            let t = at.timestamp_micros();
            let did = format!("did:plc:kill{i:05}");
            let rkey = format!("k{i:05}");
            let frame = serde_json::json!({
                "did": did,
                "time_us": t,
                "kind": "commit",
                "commit": {
                    "rev": format!("r{i}"),
                    "operation": "create",
                    "collection": "app.bsky.feed.post",
                    "rkey": rkey,
                    "record": {
                        "$type": "app.bsky.feed.post",
                        "createdAt": at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                        "text": format!("acme delivery {i}"),
                    },
                },
            });
            let id = format!("at://{did}/app.bsky.feed.post/{rkey}");
            (t, id, frame.to_string())
        })
        .collect()
}

/// A Jetstream stand-in on 127.0.0.1 that serves `frames` from each connection's cursor, one
/// every 2 ms (a live firehose, not a dump), and keeps the connection open after the last.
async fn paced_jetstream(frames: Arc<Vec<(i64, String, String)>>) -> SocketAddr {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let frames = Arc::clone(&frames);
            tokio::spawn(async move {
                let Ok((ws, cursor)) = crate::ingest_ws::accept_jetstream(tcp).await else {
                    return;
                };
                let (mut tx, mut rx) = ws.split();
                let from = cursor.unwrap_or(i64::MIN);
                for (t, _, frame) in frames.iter() {
                    if *t < from {
                        continue;
                    }
                    if tx.send(Message::text(frame.clone())).await.is_err() {
                        return;
                    }
                    tokio::time::sleep(Duration::from_millis(2)).await;
                }
                while let Some(Ok(_)) = rx.next().await {}
            });
        }
    });
    addr
}

/// The fault loop of issue 17 over a Jetstream stand-in: five SIGKILLs of `flashpoint run`
/// part-way through a paced stream, each restart resuming from the persisted cursor, then a
/// run to the end and a graceful stop. With an archive that never flushes on its own, a cursor
/// that ran ahead of the archive lost everything it passed; now every event is archived.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ingest_durable_kill_9_over_jetstream_loses_no_event_the_cursor_passed() {
    let frames = Arc::new(generated_jetstream(2_000));
    let ws = paced_jetstream(Arc::clone(&frames)).await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("live.toml");
    std::fs::write(
        &cfg,
        format!(
            "[[brand]]\nid = \"acme\"\nterms = [\"acme\"]\n\
             [server]\nlisten = \"127.0.0.1:0\"\n\
             [archive]\ndir = {:?}\nflush_interval = \"1h\"\n\
             [[source]]\nid = \"bsky\"\ntype = \"jetstream\"\nurl = \"ws://{ws}/subscribe\"\n\
             cursor_file = {:?}\ncursor_safety = \"1ms\"\nbackoff_initial = \"1ms\"\nbackoff_max = \"5ms\"\n",
            dir.path().join("archive").display().to_string(),
            dir.path().join("bsky.cursor").display().to_string(),
        ),
    )
    .unwrap();
    let processed = |addr: SocketAddr, want: f64| async move {
        tokio::time::timeout(Duration::from_secs(60), async {
            while scrape(addr, "flashpoint_pipeline_mentions_processed_total").await < want {}
        })
        .await
        .is_ok()
    };
    // Frames a start will read: those at or after the persisted cursor.
    let cursor_file = dir.path().join("bsky.cursor");
    let remaining = || {
        let from = std::fs::read_to_string(&cursor_file)
            .ok()
            .and_then(|c| c.trim().parse::<i64>().ok())
            .unwrap_or(i64::MIN);
        frames.iter().filter(|(t, _, _)| *t >= from).count()
    };
    for round in 0..5 {
        let left = remaining();
        let (mut child, addr) = start_child(&cfg);
        // Killed at a different depth each round, past at least one cursor write (every 1 s)
        // where the stream left allows.
        let depth = (600 + 150 * round).min(left.saturating_sub(50)).max(1);
        assert!(processed(addr, depth as f64).await, "round {round} stalled");
        child.kill().unwrap();
        child.wait().unwrap();
    }
    // To the end of the stream, then a graceful stop.
    let left = remaining();
    let (mut child, addr) = start_child(&cfg);
    assert!(processed(addr, left as f64).await, "the last run stalled");
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    assert_eq!(child.wait().unwrap().code(), Some(0));
    let archived = archived_ids(&dir.path().join("archive"));
    let lost: Vec<&String> = frames
        .iter()
        .map(|(_, id, _)| id)
        .filter(|id| !archived.contains(*id))
        .collect();
    assert!(
        lost.is_empty(),
        "{} of {} events never archived (first: {:?})",
        lost.len(),
        frames.len(),
        lost.first()
    );
}

/// A Mastodon status as the stand-in serves it: id `base + i`, naming acme by hashtag, dated
/// `i` ms after `start`.
fn mastodon_status(i: u64, start: chrono::DateTime<chrono::Utc>) -> serde_json::Value {
    let at = start + chrono::Duration::milliseconds(i as i64);
    serde_json::json!({
        "id": (MASTODON_BASE + i).to_string(),
        "created_at": at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "in_reply_to_id": null,
        "visibility": "public",
        "url": format!("https://example.social/@jo/{i}"),
        "replies_count": 0, "reblogs_count": 0, "favourites_count": 0,
        "content": format!("<p>#<span>acme</span> delivery {i}</p>"),
        "reblog": null,
        "account": {
            "id": format!("{}", 1000 + i % 50), "username": "jo", "acct": "jo",
            "created_at": "2019-05-01T00:00:00.000Z", "followers_count": 30
        },
        "tags": [{"name": "acme"}]
    })
}

const MASTODON_BASE: u64 = 110_000_000_000_000_000;

/// A Mastodon stand-in on 127.0.0.1 publishing status `i` (of `n`) 4 ms after status `i - 1`,
/// from its first streaming connection on: its streaming socket sends each status as it is published (none
/// from before the connection, as Mastodon's streaming API does) and its REST timeline answers
/// `min_id` with the published statuses just after it, newest first. Returns the REST and the
/// streaming addresses.
async fn paced_mastodon(n: u64) -> (SocketAddr, SocketAddr) {
    use axum::extract::RawQuery;
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    // The timeline starts with the first streaming connection: a start without a cursor
    // begins live, so nothing may be published before it.
    let t0: Arc<std::sync::OnceLock<tokio::time::Instant>> = Arc::default();
    let start = chrono::Utc::now() - chrono::Duration::hours(1);
    let clock = Arc::clone(&t0);
    let published = move || {
        clock
            .get()
            .map_or(0, |t| (t.elapsed().as_millis() as u64 / 4).min(n))
    };
    let on_rest = published.clone();
    let rest = axum::Router::new().route(
        "/api/v1/timelines/tag/{tag}",
        axum::routing::get(move |RawQuery(q): RawQuery| async move {
            let published = on_rest.clone();
            let q = q.unwrap_or_default();
            let param = |k: &str| {
                q.split('&')
                    .find_map(|kv| kv.strip_prefix(&format!("{k}=")).map(String::from))
            };
            let min: u64 = param("min_id").and_then(|v| v.parse().ok()).unwrap_or(0);
            let limit: u64 = param("limit").and_then(|v| v.parse().ok()).unwrap_or(20);
            let first = min.saturating_sub(MASTODON_BASE) + 1;
            let mut page: Vec<serde_json::Value> = (first..=published())
                .take(limit as usize)
                .map(|i| mastodon_status(i, start))
                .collect();
            page.reverse();
            (
                [(axum::http::header::CONTENT_TYPE, "application/json")],
                serde_json::to_string(&page).unwrap(),
            )
        }),
    );
    let rest_listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let rest_addr = rest_listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(rest_listener, rest).await.unwrap() });
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let ws_addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let (t0, published) = (Arc::clone(&t0), published.clone());
            tokio::spawn(async move {
                let Ok(ws) = tokio_tungstenite::accept_async(tcp).await else {
                    return;
                };
                let began = *t0.get_or_init(tokio::time::Instant::now);
                let (mut tx, mut rx) = ws.split();
                let mut next = published() + 1;
                while next <= n {
                    // Status `next` is published 4 ms after the one before it (`published`).
                    tokio::time::sleep_until(began + Duration::from_millis(4 * next)).await;
                    let payload = mastodon_status(next, start).to_string();
                    let event = serde_json::json!({"event": "update", "payload": payload});
                    if tx.send(Message::text(event.to_string())).await.is_err() {
                        return;
                    }
                    next += 1;
                }
                while let Some(Ok(_)) = rx.next().await {}
            });
        }
    });
    (rest_addr, ws_addr)
}

/// The fault loop of issue 17 over a Mastodon stand-in: five SIGKILLs of `flashpoint run`
/// part-way through a paced timeline, each after the run has persisted its cursor (the newest
/// status archived; the archive flushes every 300 ms), each restart backfilling from it while
/// the stream goes on, then a run to the end and a graceful stop: every status is archived.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ingest_durable_kill_9_over_mastodon_loses_no_status_the_cursor_passed() {
    const N: u64 = 3_000;
    let (rest, ws) = paced_mastodon(N).await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("live.toml");
    let cursor_file = dir.path().join("fedi.cursor");
    std::fs::write(
        &cfg,
        format!(
            "[[brand]]\nid = \"acme\"\nterms = [\"acme\"]\n\
             [server]\nlisten = \"127.0.0.1:0\"\n\
             [archive]\ndir = {:?}\nflush_interval = \"300ms\"\n\
             [[source]]\nid = \"fedi\"\ntype = \"mastodon\"\nurl = \"http://{rest}\"\n\
             streaming_url = \"ws://{ws}\"\nstream = \"hashtag\"\ntag = \"acme\"\n\
             backfill_pages = 1000\ncursor_file = {:?}\n\
             backoff_initial = \"1ms\"\nbackoff_max = \"5ms\"\n",
            dir.path().join("archive").display().to_string(),
            cursor_file.display().to_string(),
        ),
    )
    .unwrap();
    let processed = |addr: SocketAddr, want: f64| async move {
        tokio::time::timeout(Duration::from_secs(60), async {
            while scrape(addr, "flashpoint_pipeline_mentions_processed_total").await < want {}
        })
        .await
        .is_ok()
    };
    // Statuses a start will read: those after the persisted newest one.
    let remaining = || {
        let newest = std::fs::read_to_string(&cursor_file)
            .ok()
            .and_then(|c| c.trim().parse::<u64>().ok())
            .map_or(0, |c| c - MASTODON_BASE);
        N - newest
    };
    for round in 0..5u64 {
        let left = remaining();
        let (mut child, addr) = start_child(&cfg);
        // Killed after a different number of statuses each round...
        let depth = (200 + 100 * round).min(left.saturating_sub(50)).max(1);
        assert!(processed(addr, depth as f64).await, "round {round} stalled");
        // ... and after this run has written the cursor once (every second).
        let wrote = tokio::time::timeout(Duration::from_secs(60), async {
            while remaining() == left {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await;
        assert!(wrote.is_ok(), "round {round} never wrote its cursor");
        child.kill().unwrap();
        child.wait().unwrap();
    }
    // Until the whole timeline is published and read, then a graceful stop.
    let left = remaining();
    let (mut child, addr) = start_child(&cfg);
    assert!(processed(addr, left as f64).await, "the last run stalled");
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    assert_eq!(child.wait().unwrap().code(), Some(0));
    let archived = archived_ids(&dir.path().join("archive"));
    let lost: Vec<u64> = (1..=N)
        .filter(|i| !archived.contains(&(MASTODON_BASE + i).to_string()))
        .collect();
    assert!(
        lost.is_empty(),
        "{} of {N} statuses never archived (first: {:?})",
        lost.len(),
        lost.first()
    );
}
