//! The command line as users run it: exit codes and the sentiment filter.

use std::io::Write;
use std::process::{Command, Stdio};

use crate::support::{flashpoint, sentiment_lines};

#[test]
fn cli_check_config_exits_0_for_valid_and_2_listing_errors() {
    let root = env!("CARGO_MANIFEST_DIR");
    let ok = flashpoint()
        .args([
            "check-config",
            &format!("{root}/config/brands.example.toml"),
        ])
        .output()
        .unwrap();
    assert_eq!(
        ok.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let bad = flashpoint()
        .args([
            "check-config",
            &format!("{root}/tests/fixtures/configs/invalid.toml"),
        ])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(
        err.contains("brand[0].id") && err.contains("routing[0].max_severity"),
        "{err}"
    );
}

#[test]
fn cli_bad_usage_exits_2() {
    let out = flashpoint()
        .args(["replay", "--speed", "fast"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = flashpoint()
        .args(["replay", "--config", "nope.toml", "x.ndjson"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    // A thread per shard, each with a slot per brand: an absurd count is refused up front.
    let sample = concat!(env!("CARGO_MANIFEST_DIR"), "/data/demo/sample.ndjson.zst");
    let config = concat!(env!("CARGO_MANIFEST_DIR"), "/config/demo.toml");
    let out = flashpoint()
        .args(["replay", "--config", config, "--shards", "100000", sample])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--shards 100000 is more than"), "{err}");
}

#[test]
fn cli_sentiment_writes_one_line_per_text_in_order() {
    let mut cmd = flashpoint();
    cmd.args(["sentiment"]);
    let lines = sentiment_lines(
        cmd,
        b"I love this, it is great!\nthe technician was drunk and rude, awful\n\nok\n",
    );
    assert_eq!(lines.len(), 4);
    assert_eq!(lines[0]["label"], "positive");
    assert_eq!(lines[1]["label"], "negative");
    assert_eq!(lines[2]["label"], "neutral");
    for l in &lines {
        let s = l["score"].as_f64().unwrap();
        assert!((-1.0..=1.0).contains(&s));
    }
}

#[test]
fn cli_replay_writes_alert_log_and_report() {
    let dir = tempfile::tempdir().unwrap();
    let root = env!("CARGO_MANIFEST_DIR");
    let alerts = dir.path().join("alerts.ndjson");
    let report = dir.path().join("report.html");
    let out = flashpoint()
        .args([
            "replay",
            "--config",
            &format!("{root}/config/demo.toml"),
            "--alerts",
            &alerts.display().to_string(),
            "--report",
            &report.display().to_string(),
            &format!("{root}/data/demo/sample.ndjson.zst"),
        ])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let log = std::fs::read_to_string(&alerts).unwrap();
    assert!(log.lines().count() > 0);
    for l in log.lines() {
        let v: serde_json::Value = serde_json::from_str(l).unwrap();
        assert!(v["incident"].is_string());
    }
    let html = std::fs::read_to_string(&report).unwrap();
    assert!(html.contains("<h2>Incidents</h2>") && html.contains("brightline"));
}

#[test]
fn cli_replay_reads_stdin_like_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let root = env!("CARGO_MANIFEST_DIR");
    let archive = format!("{root}/data/demo/sample.ndjson.zst");
    let config = format!("{root}/config/demo.toml");
    let from_file = dir.path().join("file.ndjson");
    let from_stdin = dir.path().join("stdin.ndjson");
    let out = flashpoint()
        .args(["replay", "--config", &config, "--alerts"])
        .arg(&from_file)
        .arg(&archive)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Plain NDJSON on stdin (decompressed here), `-` as the archive name.
    let plain = zstd::decode_all(std::fs::File::open(&archive).unwrap()).unwrap();
    let mut child = flashpoint()
        .args(["replay", "--config", &config, "--alerts"])
        .arg(&from_stdin)
        .arg("-")
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || stdin.write_all(&plain));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let a = std::fs::read(&from_file).unwrap();
    let b = std::fs::read(&from_stdin).unwrap();
    assert!(!a.is_empty());
    assert!(a == b, "stdin and file replays differ");
}

/// `flashpoint run` stops on SIGTERM: sources stop, the queue drains, the archive segment is
/// completed (no `.open` file left) and it exits 0.
#[cfg(unix)]
#[test]
fn cli_run_stops_gracefully_on_sigterm() {
    use std::io::BufRead;
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.ndjson");
    let lines: String = (0..20)
        .map(|i| format!("{{\"id\":\"{i}\",\"source\":\"x\",\"created_at\":\"2026-03-02T10:00:{i:02}Z\",\"text\":\"acme {i}\",\"author\":{{\"id\":\"a\",\"handle\":\"@a\"}}}}\n"))
        .collect();
    std::fs::write(&input, lines).unwrap();
    let archive = dir.path().join("archive");
    let config = dir.path().join("live.toml");
    std::fs::write(
        &config,
        format!(
            "[[brand]]\nid = \"acme\"\nterms = [\"acme\"]\n[alert_log]\npath = {:?}\n[archive]\ndir = {:?}\n[[source]]\nid = \"tail\"\ntype = \"file\"\npath = {:?}\nfollow = true\n",
            dir.path().join("alerts.ndjson").display().to_string(),
            archive.display().to_string(),
            input.display().to_string()
        ),
    )
    .unwrap();
    let mut child = flashpoint()
        .args(["run", "--config", &config.display().to_string()])
        .env("FLASHPOINT_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    // Readiness signal: the service logs that it is ready once sources and handlers are up.
    while !line.contains("flashpoint run: ready") {
        line.clear();
        assert!(
            stderr.read_line(&mut line).unwrap() > 0,
            "exited before ready"
        );
    }
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut rest).unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0), "{rest}");
    assert!(rest.contains("stopped:"), "{rest}");
    let names: Vec<String> = std::fs::read_dir(&archive)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().all(|n| !n.ends_with(".open")), "{names:?}");
}

/// `flashpoint run` end to end with a real sink: a file source (the demo stream) through the
/// engine to a webhook receiver, which must see the misconduct page, signed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_run_delivers_pages_to_a_configured_sink() {
    use wiremock::matchers::{header_exists, method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/hook"))
        .and(header_exists("x-flashpoint-signature"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let root = env!("CARGO_MANIFEST_DIR");
    let cfg = dir.path().join("live.toml");
    std::fs::write(
        &cfg,
        format!(
            "{}\n[alert_log]\npath = {:?}\n[delivery]\noutbox_dir = {:?}\n\
             [[source]]\nid = \"backlog\"\ntype = \"file\"\npath = {:?}\n\
             [[sink]]\nid = \"hook\"\ntype = \"webhook\"\nteams = [\"field-ops\"]\nurl = \"{}/hook\"\nsecret = \"${{HOOK_SECRET}}\"\n",
            flashpoint::app::demo::DEMO_CONFIG,
            dir.path().join("alerts.ndjson").display().to_string(),
            dir.path().join("outbox").display().to_string(),
            format!("{root}/data/demo/sample.ndjson.zst"),
            server.uri(),
        ),
    )
    .unwrap();
    let out = tokio::task::spawn_blocking(move || {
        flashpoint()
            .args(["run", "--config"])
            .arg(&cfg)
            .env("HOOK_SECRET", "s3cret-for-the-test-only")
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        !stderr.contains("s3cret-for-the-test-only"),
        "secret logged: {stderr}"
    );
    let received = server.received_requests().await.unwrap();
    let bodies: Vec<serde_json::Value> = received
        .iter()
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect();
    assert!(
        bodies.iter().any(|b| b["brand"] == "brightline"
            && (b["severity"] == "error" || b["severity"] == "critical")),
        "no misconduct page among {} deliveries",
        bodies.len()
    );
    // field-ops only: the outage (support) never reaches this sink.
    assert!(bodies.iter().all(|b| b["brand"] != "northwind"));
}

#[test]
fn cli_replay_slices_by_time_and_brand_and_writes_a_json_report() {
    let dir = tempfile::tempdir().unwrap();
    let root = env!("CARGO_MANIFEST_DIR");
    let json = dir.path().join("report.json");
    let out = flashpoint()
        .args([
            "replay",
            "--config",
            &format!("{root}/config/demo.toml"),
            "--brand",
            "brightline",
            "--from",
            "2026-03-03T00:00:00Z",
            "--to",
            "2026-03-04T00:00:00Z",
            "--report-json",
            &json.display().to_string(),
            &format!("{root}/data/demo/sample.ndjson.zst"),
        ])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let incidents = v["incidents"].as_array().unwrap();
    assert!(!incidents.is_empty(), "the misconduct day has an incident");
    for i in incidents {
        assert_eq!(i["brand"], "brightline");
        assert!(i["opened"].as_str().unwrap().starts_with("2026-03-03"));
        assert!(!i["lines"].as_array().unwrap().is_empty());
    }
    let misconduct = incidents
        .iter()
        .find(|i| i["category"] == "conduct")
        .expect("the misconduct incident");
    assert!(misconduct["first_page_delay_s"].as_i64().unwrap() <= 3600);
    let series = v["series"].as_object().unwrap();
    assert_eq!(series.keys().collect::<Vec<_>>(), vec!["brightline"]);
    let bad = flashpoint()
        .args([
            "replay",
            "--config",
            &format!("{root}/config/demo.toml"),
            "--brand",
            "nope",
        ])
        .arg(format!("{root}/data/demo/sample.ndjson.zst"))
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn cli_sentiment_linear_keeps_order_and_handles_empty_lines() {
    let mut cmd = flashpoint();
    cmd.args(["sentiment", "--model", "linear"]);
    let lines = sentiment_lines(
        cmd,
        b"I love this so much!\n\ncharged twice and no refund\nmy flight is at 9am tomorrow\n",
    );
    assert_eq!(lines.len(), 4);
    let labels: Vec<&str> = lines.iter().map(|l| l["label"].as_str().unwrap()).collect();
    assert_eq!(labels, ["positive", "neutral", "negative", "neutral"]);
    for l in &lines {
        let s = l["score"].as_f64().unwrap();
        assert!((-1.0..=1.0).contains(&s));
    }
    // The complaint probability rides along for every model.
    let complaint: Vec<f64> = lines
        .iter()
        .map(|l| l["complaint"].as_f64().unwrap())
        .collect();
    assert!(
        complaint.iter().all(|p| (0.0..=1.0).contains(p)),
        "{complaint:?}"
    );
    assert_eq!(complaint[1], 0.0, "an empty line states no complaint");
    assert!(complaint[2] >= 0.5, "{complaint:?}");
    assert!(complaint[3] < 0.5, "{complaint:?}");
}

#[test]
fn cli_sentiment_unknown_model_fails_with_the_list() {
    let out = flashpoint()
        .args(["sentiment", "--model", "nope"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    // Bad usage (issue 19.5): exit 2, not 1.
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("linear"), "{err}");
}

/// Issue 18: a configuration that can route a team to a PagerDuty sink with no routing key for
/// it, or to a sink that does not carry the team, is rejected with every such error listed.
#[test]
fn cli_check_config_rejects_teams_a_pagerduty_sink_cannot_page() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("keys.toml");
    std::fs::write(
        &cfg,
        r#"
[[brand]]
id = "brightline"
terms = ["brightline"]

# Carries every team (teams = []), but only support has a key and there is no default:
# conduct incidents page field-ops and support, so field-ops cannot be paged.
[[sink]]
id = "pd-all"
type = "pagerduty"
teams = []
routing_keys = { support = "k-support" }

[[sink]]
id = "pd-support"
type = "pagerduty"
teams = ["support"]
routing_key = "k-default"

# field-ops' criticals go to a sink that does not carry field-ops.
[[escalation]]
team = "field-ops"
critical = ["pd-support"]
"#,
    )
    .unwrap();
    let out = flashpoint().arg("check-config").arg(&cfg).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("sink[0].routing_keys") && err.contains("field-ops"),
        "{err}"
    );
    assert!(
        err.contains("escalation[0].critical[0]") && err.contains("does not carry"),
        "{err}"
    );
    assert!(!err.contains("k-support"), "a key was echoed: {err}");
}

/// `replay --deliver` of the demo sample to one webhook sink on 127.0.0.1:`port`, with
/// `drain` as the drain timeout: the exit status and stderr.
fn replay_deliver_demo_to(port: u16, drain: &str) -> (std::process::Output, String) {
    let dir = tempfile::tempdir().unwrap();
    let root = env!("CARGO_MANIFEST_DIR");
    let cfg = dir.path().join("deliver.toml");
    std::fs::write(
        &cfg,
        format!(
            "{}\n[delivery]\noutbox_dir = {:?}\ndrain_timeout = \"{drain}\"\n\
             [[sink]]\nid = \"hook\"\ntype = \"webhook\"\nteams = [\"field-ops\"]\n\
             url = \"http://127.0.0.1:{port}/hook\"\nsecret = \"k\"\n",
            flashpoint::app::demo::DEMO_CONFIG,
            dir.path().join("outbox").display().to_string(),
        ),
    )
    .unwrap();
    let out = flashpoint()
        .args(["replay", "--deliver", "--config"])
        .arg(&cfg)
        .arg(format!("{root}/data/demo/sample.ndjson.zst"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    (out, err)
}

/// Issue 18: `replay --deliver` that leaves notifications pending exits 1, not 0.
#[test]
fn cli_replay_deliver_exits_1_when_notifications_stay_pending() {
    // A port nobody listens on: every delivery fails with a connection error.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let (out, err) = replay_deliver_demo_to(port, "1s");
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("pending"), "{err}");
}

/// `replay --deliver` whose pages a receiver refuses (400: dead-lettered at once) exits 1 and
/// says how many were dead-lettered: they never arrive, as pending ones have not yet.
#[test]
fn cli_replay_deliver_exits_1_and_counts_dead_letters() {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for conn in listener.incoming().take(200) {
            let Ok(mut c) = conn else { continue };
            let mut buf = [0u8; 65536];
            let _read = c.read(&mut buf);
            let _sent = c.write_all(
                b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
            );
        }
    });
    let (out, err) = replay_deliver_demo_to(port, "5s");
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("0 sent") && !err.contains(" 0 dead-lettered"),
        "{err}"
    );
}

/// Issue 20: `flashpoint sentiment` scores on every core; the output is the same bytes, in
/// input order, whatever the number of threads (chunks cross worker boundaries here).
#[test]
fn sentiment_output_is_identical_for_any_number_of_threads() {
    let texts = [
        "the service was terrible and nobody called back",
        "",
        "love it, works great",
        "meh",
        "they charged me twice, still waiting for a refund",
    ];
    let n = 3 * flashpoint::app::commands::SENTIMENT_CHUNK + 7;
    let input: String = (0..n)
        .map(|i| format!("{} #{i}\n", texts[i % texts.len()]))
        .collect();
    for model in ["lexicon", "linear"] {
        let mut outs = Vec::new();
        for workers in [1, 2, 4] {
            let mut out = Vec::new();
            flashpoint::app::commands::sentiment_stream(model, workers, input.as_bytes(), &mut out)
                .unwrap();
            outs.push(out);
        }
        let first = String::from_utf8(outs[0].clone()).unwrap();
        assert_eq!(first.lines().count(), n);
        assert!(first.starts_with("{\"category\":"), "{first:.80}");
        assert!(
            outs.iter().all(|o| *o == outs[0]),
            "{model}: outputs differ"
        );
        // Order: the negative texts stay where they were.
        let labels: Vec<&str> = first
            .lines()
            .map(|l| if l.contains("\"negative\"") { "n" } else { "-" })
            .collect();
        assert_eq!(labels[0], "n");
        assert_eq!(labels[n - 1 - (n - 1) % texts.len()], "n");
    }
}

/// A named pipe is an input, as stdin is (`replay <(zstdcat old.zst)`); a directory is not.
#[cfg(unix)]
#[test]
fn cli_replay_reads_a_named_pipe() {
    let dir = tempfile::tempdir().unwrap();
    let root = env!("CARGO_MANIFEST_DIR");
    let fifo = dir.path().join("in.ndjson");
    let made = Command::new("mkfifo").arg(&fifo).status();
    if !made.is_ok_and(|s| s.success()) {
        eprintln!("skipped: mkfifo is not available");
        return;
    }
    let writer = {
        let fifo = fifo.clone();
        std::thread::spawn(move || {
            let mut f = std::fs::OpenOptions::new().write(true).open(fifo).unwrap();
            writeln!(
                f,
                r#"{{"id":"1","source":"x","created_at":"2026-03-02T10:00:00Z","text":"brightline fixed it","author":{{"id":"a","handle":"@a"}}}}"#
            )
            .unwrap();
        })
    };
    let out = flashpoint()
        .args([
            "replay",
            "--config",
            &format!("{root}/config/demo.toml"),
            "--speed",
            "max",
            &fifo.display().to_string(),
        ])
        .output()
        .unwrap();
    if !writer.is_finished() {
        // The replay never opened the pipe: open its reading end without blocking (O_NONBLOCK),
        // so the writer is released and the assertion below, not a hang, reports it.
        use std::os::unix::fs::OpenOptionsExt;
        let released = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(0o4000)
            .open(&fifo);
        drop(released);
    }
    writer.join().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("1 decoded") && stderr.contains("1 matched"),
        "{stderr}"
    );
    let out = flashpoint()
        .args(["replay", "--config", &format!("{root}/config/demo.toml")])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not a file"));
}
