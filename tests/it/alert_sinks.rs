//! Issue 6: alert delivery that never loses or duplicates a page. Real HTTP receivers
//! (wiremock on port 0, the real Alertmanager when installed), tokio's paused clock for the
//! retry timelines, and the outbox directory reopened to simulate a restart.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use flashpoint::alert::outbox::Outbox;
use flashpoint::alert::{
    sink, Action, AlertMetrics, AlertRecord, Delivery, DeliveryOptions, Notifier, TopPost,
};
use flashpoint::config::{
    DeliveryConfig, EscalationConfig, FloodControlConfig, HumanDuration, Secret, SinkKind,
    SinkSettings,
};
use flashpoint::domain::{Category, Severity};
use flashpoint::telemetry::Metrics;
use serde_json::Value;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use crate::support::{drain_in_real_time, pass};

const PD_KEY: &str = "PDKEY-SECRET-0123456789";

fn line(incident: &str, action: Action) -> AlertRecord {
    AlertRecord {
        at: "2026-03-03T10:52:40Z".into(),
        action,
        incident: incident.into(),
        brand: "brightline".into(),
        severity: if action == Action::Escalate {
            Severity::Critical
        } else {
            Severity::Error
        },
        category: Category::Conduct,
        teams: vec!["support".into()],
        summary: format!("{incident} {}", action.as_str()),
        metrics: AlertMetrics {
            mentions: 412,
            ..AlertMetrics::default()
        },
        top_posts: vec![TopPost {
            id: "m1".into(),
            text: "technician drinking".into(),
            author: "@jo".into(),
            followers: 3100,
            url: Some("https://example.org/m1".into()),
        }],
        terms: vec!["drinking".into()],
        dedup_key: AlertRecord::dedup_key_for("brightline", incident),
        why: String::new(),
    }
}

fn pd_settings(url: &str) -> SinkSettings {
    SinkSettings {
        id: "pd".into(),
        teams: vec!["support".into()],
        timeout: Duration::ZERO,
        redact: Vec::new(),
        kind: SinkKind::PagerDuty {
            url: url.into(),
            routing_key: Some(Secret::new(PD_KEY)),
            routing_keys: BTreeMap::new(),
            rate_limit_per_minute: 120,
            source: "flashpoint".into(),
            min_severity: Severity::Warning,
        },
    }
}

fn delivery_cfg() -> DeliveryConfig {
    DeliveryConfig {
        backoff_initial: HumanDuration::from_secs(1),
        backoff_max: HumanDuration::from_secs(60),
        max_age: HumanDuration::from_secs(24 * 3600),
        ..DeliveryConfig::default()
    }
}

fn start(
    dir: &std::path::Path,
    settings: &[SinkSettings],
    metrics: &Arc<Metrics>,
) -> Arc<Delivery> {
    let sinks: Vec<Arc<dyn Notifier>> = settings.iter().map(|s| sink::build(s).unwrap()).collect();
    Delivery::start(
        sinks,
        DeliveryOptions {
            outbox_dir: dir,
            delivery: &delivery_cfg(),
            escalation: &[],
            flood: FloodControlConfig::default(),
            metrics: Arc::clone(metrics),
        },
    )
    .unwrap()
}

/// A receiver whose answer (status, Retry-After seconds) is decided per request from the
/// body and the request number; it records every request with its status.
/// (request body, request number) → (status, Retry-After seconds).
type Decide = dyn Fn(&Value, usize) -> (u16, Option<u64>) + Send + Sync;

#[derive(Clone)]
struct Receiver {
    log: Arc<Mutex<Vec<(Value, u16)>>>,
    decide: Arc<Decide>,
    count: Arc<AtomicUsize>,
}

impl Respond for Receiver {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let body: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
        let n = self.count.fetch_add(1, Ordering::SeqCst);
        let (status, retry_after) = (self.decide)(&body, n);
        self.log.lock().unwrap().push((body.clone(), status));
        let mut resp = ResponseTemplate::new(status);
        if let Some(s) = retry_after {
            resp = resp.insert_header("retry-after", s.to_string().as_str());
        }
        if status >= 400 {
            // Worst case for secret handling: the receiver echoes the request in its error.
            resp = resp.set_body_string(format!(
                "bad request: routing_key={} body={body}",
                body["routing_key"]
            ));
        }
        resp
    }
}

impl Receiver {
    fn new(
        decide: impl Fn(&Value, usize) -> (u16, Option<u64>) + Send + Sync + 'static,
    ) -> Receiver {
        Receiver {
            log: Arc::default(),
            decide: Arc::new(decide),
            count: Arc::default(),
        }
    }

    async fn mount(&self, server: &MockServer, p: &str) {
        Mock::given(method("POST"))
            .and(path(p))
            .respond_with(self.clone())
            .mount(server)
            .await;
    }

    /// (incident, action) of the requests answered with 202, in arrival order.
    fn accepted(&self) -> Vec<(String, String)> {
        self.log
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, s)| *s == 202)
            .map(|(b, _)| incident_action(b))
            .collect()
    }

    fn requests_for(&self, incident: &str) -> usize {
        self.log
            .lock()
            .unwrap()
            .iter()
            .filter(|(b, _)| incident_action(b).0 == incident)
            .count()
    }

    fn total(&self) -> usize {
        self.log.lock().unwrap().len()
    }
}

fn incident_action(b: &Value) -> (String, String) {
    let d = &b["payload"]["custom_details"];
    (
        d["incident"].as_str().unwrap_or("").to_string(),
        d["action"].as_str().unwrap_or("").to_string(),
    )
}

/// Every (incident, action) accepted exactly once, and per incident in line order.
fn assert_once_in_order(accepted: &[(String, String)], sent: &[AlertRecord]) {
    let mut counts: BTreeMap<(String, String), usize> = BTreeMap::new();
    for a in accepted {
        *counts.entry(a.clone()).or_default() += 1;
    }
    for l in sent {
        let k = (l.incident.clone(), l.action.as_str().to_string());
        assert_eq!(
            counts.get(&k),
            Some(&1),
            "{k:?} accepted {:?} times",
            counts.get(&k)
        );
    }
    assert_eq!(accepted.len(), sent.len(), "{accepted:?}");
    let mut per: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (i, a) in accepted {
        per.entry(i).or_default().push(a);
    }
    for l in sent {
        let want: Vec<&str> = sent
            .iter()
            .filter(|x| x.incident == l.incident)
            .map(|x| x.action.as_str())
            .collect();
        assert_eq!(per[l.incident.as_str()], want, "order of {}", l.incident);
    }
}

#[tokio::test(start_paused = true)]
async fn pagerduty_down_ten_minutes_delivers_each_once_in_order() {
    let up = Arc::new(AtomicBool::new(false));
    let up2 = Arc::clone(&up);
    let rx = Receiver::new(move |_, _| {
        if up2.load(Ordering::SeqCst) {
            (202, None)
        } else {
            (503, None)
        }
    });
    let server = MockServer::start().await;
    rx.mount(&server, "/v2/enqueue").await;
    let dir = tempfile::tempdir().unwrap();
    let metrics = Arc::new(Metrics::new(&["brightline"], 10));
    let d = start(dir.path(), &[pd_settings(&server.uri())], &metrics);

    let mut sent = Vec::new();
    for action in [Action::Trigger, Action::Escalate, Action::Resolve] {
        for inc in ["a", "b", "c"] {
            let l = line(inc, action);
            d.notify(&l).await.unwrap();
            sent.push(l);
        }
    }
    pass(&d, Duration::from_secs(600)).await;
    let during_outage = rx.total();
    assert!(rx.accepted().is_empty());
    up.store(true, Ordering::SeqCst);
    d.drain().await;

    assert_once_in_order(&rx.accepted(), &sent);
    // Retried during the outage, but with backoff: only incident heads, ~every 30 s at most.
    assert!(during_outage >= 6, "retried only {during_outage} times");
    assert!(
        during_outage <= 150,
        "hammered: {during_outage} requests in 10 minutes"
    );
    assert_eq!(metrics.sink_sent_total.with_label_values(&["pd"]).get(), 9);
    assert!(metrics.sink_retries_total.with_label_values(&["pd"]).get() >= 6);
    assert!(
        metrics
            .sink_failed_total
            .with_label_values(&["pd", "server_error"])
            .get()
            >= 6
    );
    assert_eq!(
        metrics.sink_outbox_depth.with_label_values(&["pd"]).get(),
        0.0
    );
    assert!(
        metrics
            .sink_delivery_latency_seconds
            .with_label_values(&["pd", "0.99"])
            .get()
            >= 600.0
    );
    let snap = Outbox::read(dir.path()).unwrap();
    assert!(snap.pending.is_empty() && snap.dead.is_empty());
    // The body follows the Events API v2.
    let log = rx.log.lock().unwrap();
    let (body, _) = log
        .iter()
        .find(|(b, s)| *s == 202 && incident_action(b) == ("a".into(), "trigger".into()))
        .unwrap();
    assert_eq!(body["routing_key"], PD_KEY);
    assert_eq!(body["event_action"], "trigger");
    assert_eq!(body["dedup_key"], "flashpoint/brightline/a");
    assert_eq!(body["payload"]["component"], "brightline");
    assert_eq!(body["payload"]["group"], "support");
    assert_eq!(body["payload"]["class"], "conduct");
    assert_eq!(body["payload"]["severity"], "error");
    assert_eq!(body["links"][0]["href"], "https://example.org/m1");
    let resolve = log
        .iter()
        .find(|(b, s)| *s == 202 && incident_action(b).1 == "resolve")
        .unwrap();
    assert_eq!(resolve.0["event_action"], "resolve");
}

#[tokio::test(start_paused = true)]
async fn pagerduty_429_waits_for_retry_after() {
    let rx = Receiver::new(|_, n| {
        if n == 0 {
            (429, Some(120))
        } else {
            (202, None)
        }
    });
    let server = MockServer::start().await;
    rx.mount(&server, "/v2/enqueue").await;
    let dir = tempfile::tempdir().unwrap();
    let metrics = Arc::new(Metrics::new(&["brightline"], 10));
    let d = start(dir.path(), &[pd_settings(&server.uri())], &metrics);
    let t0 = tokio::time::Instant::now();
    d.notify(&line("a", Action::Trigger)).await.unwrap();
    d.drain().await;
    let waited = t0.elapsed();
    assert!(
        waited >= Duration::from_secs(120),
        "retried after {waited:?}"
    );
    assert!(waited < Duration::from_secs(125), "waited {waited:?}");
    assert_eq!(rx.total(), 2, "one 429, one retry: no hammering");
    assert_eq!(
        metrics
            .sink_failed_total
            .with_label_values(&["pd", "rate_limited"])
            .get(),
        1
    );
}

#[tokio::test(start_paused = true)]
async fn restart_mid_retries_delivers_each_once() {
    let up = Arc::new(AtomicBool::new(false));
    let up2 = Arc::clone(&up);
    // Incident "a" gets through at once; the others fail until `up`.
    let rx = Receiver::new(move |b, _| {
        if up2.load(Ordering::SeqCst) || incident_action(b).0 == "a" {
            (202, None)
        } else {
            (500, None)
        }
    });
    let server = MockServer::start().await;
    rx.mount(&server, "/v2/enqueue").await;
    let dir = tempfile::tempdir().unwrap();
    let sent = vec![
        line("a", Action::Trigger),
        line("b", Action::Trigger),
        line("b", Action::Escalate),
        line("c", Action::Trigger),
        line("b", Action::Resolve),
    ];
    {
        let metrics = Arc::new(Metrics::new(&["brightline"], 10));
        let d = start(dir.path(), &[pd_settings(&server.uri())], &metrics);
        for l in &sent {
            d.notify(l).await.unwrap();
        }
        // "a" delivered, with the clock running: under paused time a slow local answer (a
        // loaded machine) would read as a sink timeout and "a" would be sent twice.
        crate::support::in_real_time(d.wait_pending(4)).await;
        pass(&d, Duration::from_secs(45)).await;
        assert!(
            rx.requests_for("b") >= 2,
            "b was being retried: {:?}",
            rx.log
                .lock()
                .unwrap()
                .iter()
                .map(|(b, s)| (incident_action(b), *s))
                .collect::<Vec<_>>()
        );
        // Stopped with no request on the wire: a request the receiver answers only after
        // `up` below would be accepted although the stopped worker never saw the answer (a
        // duplicate PagerDuty folds by dedup_key, but this test counts exact deliveries).
        d.wait_idle().await;
        d.stop();
    } // everything dropped: workers, sinks, outbox handle
    assert_eq!(Outbox::read(dir.path()).unwrap().pending.len(), 4);
    up.store(true, Ordering::SeqCst);
    let metrics = Arc::new(Metrics::new(&["brightline"], 10));
    let d = start(dir.path(), &[pd_settings(&server.uri())], &metrics);
    assert_eq!(d.pending(), 4);
    drain_in_real_time(&d).await;
    assert_once_in_order(&rx.accepted(), &sent);
    assert!(Outbox::read(dir.path()).unwrap().pending.is_empty());
}

#[tokio::test(start_paused = true)]
async fn pagerduty_400_dead_letters_without_retry() {
    let rx = Receiver::new(|b, _| {
        if incident_action(b).0 == "bad" {
            (400, None)
        } else {
            (202, None)
        }
    });
    let server = MockServer::start().await;
    rx.mount(&server, "/v2/enqueue").await;
    let dir = tempfile::tempdir().unwrap();
    let metrics = Arc::new(Metrics::new(&["brightline"], 10));
    let d = start(dir.path(), &[pd_settings(&server.uri())], &metrics);
    let good = vec![line("good", Action::Trigger), line("good", Action::Resolve)];
    d.notify(&line("bad", Action::Trigger)).await.unwrap();
    for l in &good {
        d.notify(l).await.unwrap();
    }
    d.drain().await;
    // Give a wrongly scheduled retry every chance to happen.
    tokio::time::sleep(Duration::from_secs(3600)).await;
    assert_eq!(rx.requests_for("bad"), 1, "a 400 is never retried");
    assert_once_in_order(&rx.accepted(), &good);
    assert_eq!(
        metrics
            .sink_dead_letters_total
            .with_label_values(&["pd"])
            .get(),
        1
    );
    assert_eq!(
        metrics
            .sink_failed_total
            .with_label_values(&["pd", "rejected"])
            .get(),
        1
    );
    drop(d);
    let snap = Outbox::read(dir.path()).unwrap();
    assert_eq!(snap.dead.len(), 1);
    assert_eq!(snap.dead[0].entry.alert.incident, "bad");
    assert_eq!(snap.dead[0].reason, "rejected");
    assert!(
        snap.dead[0].error.contains("HTTP 400"),
        "{}",
        snap.dead[0].error
    );
    // Visible from the command line too.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_flashpoint"))
        .args(["outbox", "list", "--dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let dead: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(dead.len(), 1, "{text}");
    assert_eq!(dead[0]["state"], "dead");
    assert_eq!(dead[0]["incident"], "bad");
    assert_eq!(dead[0]["reason"], "rejected");
}

#[tokio::test(start_paused = true)]
async fn secrets_never_appear_in_logs_or_debug() {
    let slack_secret = "SLACKSECRET-T000-B000-XXXX";
    let hmac_secret = "WEBHOOK-HMAC-SECRET-0001";
    let capture = crate::support::log_capture();

    // Every receiver fails first with 503, then 400, echoing the request (with its secrets).
    let rx = Receiver::new(|_, n| if n < 3 { (503, None) } else { (400, None) });
    let server = MockServer::start().await;
    for p in ["/v2/enqueue", "/hook", &format!("/services/{slack_secret}")] {
        rx.mount(&server, p).await;
    }
    let toml = format!(
        r#"
[[brand]]
id = "brightline"
terms = ["brightline"]
[[sink]]
id = "pd"
type = "pagerduty"
teams = ["support"]
url = "{uri}"
routing_key = "${{PD_KEY}}"
timeout = "0s"
[[sink]]
id = "slack"
type = "slack"
teams = ["support"]
webhook_url = "{uri}/services/${{SLACK_SECRET}}"
timeout = "0s"
[[sink]]
id = "hook"
type = "webhook"
teams = ["support"]
url = "{uri}/hook"
secret = "${{HOOK_SECRET}}"
timeout = "0s"
"#,
        uri = server.uri()
    );
    let env = |k: &str| match k {
        "PD_KEY" => Some(PD_KEY.to_string()),
        "SLACK_SECRET" => Some(slack_secret.to_string()),
        "HOOK_SECRET" => Some(hmac_secret.to_string()),
        _ => None,
    };
    let cfg = flashpoint::config::parse_str(&toml, "t.toml", &env).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let metrics = Arc::new(Metrics::new(&["brightline"], 10));
    let d = start(dir.path(), &cfg.sink_settings, &metrics);
    d.notify(&line("a", Action::Trigger)).await.unwrap();
    while d.pending() > 0 {
        pass(&d, Duration::from_secs(5)).await;
    }
    assert_eq!(
        metrics
            .sink_dead_letters_total
            .with_label_values(&["pd"])
            .get(),
        1
    );
    let out = capture.text();
    assert!(out.contains("dead-lettered"), "logs were captured: {out}");
    assert!(
        out.contains("will retry"),
        "{:?}",
        rx.log
            .lock()
            .unwrap()
            .iter()
            .map(|(_, s)| *s)
            .collect::<Vec<_>>()
    );
    let snap = Outbox::read(dir.path()).unwrap();
    let outbox_text = std::fs::read_to_string(dir.path().join("outbox.ndjson")).unwrap();
    let debug = format!("{cfg:?} {:?} {d:?}", cfg.sink_settings);
    let dead_errors: String = snap.dead.iter().map(|x| x.error.clone()).collect();
    assert!(
        dead_errors.contains("***"),
        "the echoed secret was scrubbed: {dead_errors}"
    );
    for secret in [PD_KEY, slack_secret, hmac_secret] {
        assert!(!out.contains(secret), "{secret} in logs:\n{out}");
        assert!(!debug.contains(secret), "{secret} in Debug output");
        assert!(!outbox_text.contains(secret), "{secret} in the outbox");
    }
}

/// Finds the Alertmanager binary: `alertmanager`, or Debian's `prometheus-alertmanager`.
fn alertmanager_binary() -> Option<std::path::PathBuf> {
    let path = std::env::var_os("PATH")?;
    for dir in std::env::split_paths(&path) {
        for name in ["alertmanager", "prometheus-alertmanager"] {
            let p = dir.join(name);
            if std::fs::metadata(&p).is_ok_and(|m| m.is_file()) {
                return Some(p);
            }
        }
    }
    None
}

#[tokio::test]
async fn alertmanager_real_binary_shows_posted_incident() {
    let Some(bin) = alertmanager_binary() else {
        eprintln!(
            "skipping: no alertmanager binary on PATH (apt-get install prometheus-alertmanager)"
        );
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("am.yml");
    std::fs::write(
        &cfg,
        "route:\n  receiver: blackhole\nreceivers:\n  - name: blackhole\n",
    )
    .unwrap();
    // The binary needs a port number: take a free one from the OS.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = tokio::process::Command::new(&bin)
        .arg(format!("--config.file={}", cfg.display()))
        .arg(format!(
            "--storage.path={}",
            dir.path().join("data").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg("--cluster.listen-address=")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    // An external process: wait (real time, bounded) for its readiness endpoint.
    let mut ready = false;
    for _ in 0..150 {
        if let Ok(r) = client.get(format!("{base}/-/ready")).send().await {
            if r.status().is_success() {
                ready = true;
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(ready, "alertmanager did not become ready");

    let settings = SinkSettings {
        id: "am".into(),
        teams: vec!["support".into()],
        timeout: Duration::from_secs(5),
        redact: Vec::new(),
        kind: SinkKind::Alertmanager {
            url: base.clone(),
            repost_interval: Duration::from_secs(60),
        },
    };
    let am = sink::build(&settings).unwrap();
    let mut l = line("brightline-20260303-0001", Action::Trigger);
    l.at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    am.notify(&l).await.unwrap();
    let listed = || async {
        client
            .get(format!("{base}/api/v2/alerts"))
            .send()
            .await
            .unwrap()
            .json::<Vec<Value>>()
            .await
            .unwrap()
    };
    let alerts = listed().await;
    let a = alerts
        .iter()
        .find(|a| a["labels"]["incident"] == "brightline-20260303-0001")
        .unwrap_or_else(|| panic!("incident not in {alerts:?}"));
    assert_eq!(a["labels"]["alertname"], "FlashpointIncident");
    assert_eq!(a["labels"]["brand"], "brightline");
    assert_eq!(a["labels"]["team"], "support");
    assert_eq!(a["labels"]["severity"], "error");
    assert_eq!(a["labels"]["category"], "conduct");
    assert_eq!(a["status"]["state"], "active");
    assert!(a["annotations"]["evidence"]
        .as_str()
        .unwrap()
        .contains("412 mentions"));

    // Resolve: endsAt set, and Alertmanager no longer lists it as active.
    let mut r = line("brightline-20260303-0001", Action::Resolve);
    r.at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    am.notify(&r).await.unwrap();
    let after = listed().await;
    let deadline = chrono::Utc::now() + chrono::Duration::seconds(2);
    for a in after
        .iter()
        .filter(|a| a["labels"]["incident"] == "brightline-20260303-0001")
    {
        let ends = chrono::DateTime::parse_from_rfc3339(a["endsAt"].as_str().unwrap()).unwrap();
        assert!(ends <= deadline, "not resolved: {a}");
    }
    child.kill().await.unwrap();
}

// ---------------------------------------------------------------------------------------
// Issue 18: every page arrives, once, safely.
// ---------------------------------------------------------------------------------------

/// Like [`start`], with an escalation policy and flood control.
fn start_with(
    dir: &std::path::Path,
    settings: &[SinkSettings],
    metrics: &Arc<Metrics>,
    escalation: &[EscalationConfig],
    delivery: &DeliveryConfig,
) -> Arc<Delivery> {
    let sinks: Vec<Arc<dyn Notifier>> = settings.iter().map(|s| sink::build(s).unwrap()).collect();
    Delivery::start(
        sinks,
        DeliveryOptions {
            outbox_dir: dir,
            delivery,
            escalation,
            flood: FloodControlConfig::default(),
            metrics: Arc::clone(metrics),
        },
    )
    .unwrap()
}

/// Post text an attacker controls: Slack control sequences, formatting, markup, and a bidi
/// override that would reverse what the on-call reads.
const HOSTILE: &str = "<!channel> <!here> <@U024BE7LH> <https://evil.example|see proof> \
*bold* _it_ ~gone~ `code` & \"q\" </script><script>alert(1)</script> \u{202E}txet\u{202C}";

/// A post whose line breaks would fake a top post of its own, and a resolve, in any list of
/// posts that keeps them.
const FORGED: &str = "the plumber is drinking in his van\n• @brightline (2000000 followers): \
FALSE ALARM, resolved\u{2028}*Severity*: resolved\r\n- @ops: ignore";

fn hostile_line() -> AlertRecord {
    let mut l = line("brightline-20260303-0001", Action::Trigger);
    l.summary = format!("Brightline Plumbing: 3 mentions in 60 min — {HOSTILE}");
    // Written by the detector, never from post text; escaped all the same.
    l.why = format!("complaints at 3.0/min, 12x their usual 0.25/min {HOSTILE}");
    l.top_posts = vec![
        TopPost {
            id: "m1".into(),
            text: HOSTILE.into(),
            author: "<!everyone>".into(),
            followers: 1,
            url: Some("https://evil.example/x>|<!channel>".into()),
        },
        TopPost {
            id: "m2".into(),
            text: "click".into(),
            author: "@b".into(),
            followers: 2,
            url: Some("javascript:alert(1)".into()),
        },
        TopPost {
            id: "m3".into(),
            text: FORGED.into(),
            author: "@jo".into(),
            followers: 3,
            url: Some("https://bsky.app/profile/jo/post/3".into()),
        },
        TopPost {
            id: "m4".into(),
            text: FORGED.into(),
            author: "@kim".into(),
            followers: 4,
            url: None,
        },
    ];
    l.terms = vec!["<!channel>".into()];
    l
}

/// Every string under a `"text"` key: what Slack parses as mrkdwn or shows as plain text.
fn slack_texts(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                match (k.as_str(), x) {
                    ("text", Value::String(s)) => out.push(s.clone()),
                    _ => slack_texts(x, out),
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|x| slack_texts(x, out)),
        _ => {}
    }
}

/// Every `<` in a Slack text opens one of our links, `<http(s)://target|label>`, whose target
/// has no space, `|`, `<` or `>`, and whose label has no `<`.
fn assert_only_our_links(s: &str) {
    let mut rest = s;
    while let Some(i) = rest.find('<') {
        let link = &rest[i + 1..];
        assert!(
            link.starts_with("https://") || link.starts_with("http://"),
            "a `<` that is not one of our links: {s:?}"
        );
        let end = link
            .find('>')
            .unwrap_or_else(|| panic!("unterminated link in {s:?}"));
        let (target, label) = link[..end]
            .split_once('|')
            .unwrap_or_else(|| panic!("link without label in {s:?}"));
        assert!(
            !target.contains([' ', '<']) && !label.contains('<'),
            "{s:?}"
        );
        rest = &link[end + 1..];
    }
}

#[tokio::test]
async fn hostile_post_text_is_escaped_for_every_sink() {
    let server = MockServer::start().await;
    for (p, status) in [
        ("/slack", 200),
        ("/v2/enqueue", 202),
        ("/api/v2/alerts", 200),
        ("/hook", 200),
    ] {
        Mock::given(method("POST"))
            .and(path(p))
            .respond_with(ResponseTemplate::new(status))
            .mount(&server)
            .await;
    }
    let uri = server.uri();
    let settings = [
        SinkSettings {
            id: "slack".into(),
            teams: vec!["support".into()],
            timeout: Duration::from_secs(5),
            redact: Vec::new(),
            kind: SinkKind::Slack {
                webhook_url: Secret::new(format!("{uri}/slack")),
            },
        },
        pd_settings(&uri),
        SinkSettings {
            id: "am".into(),
            teams: vec!["support".into()],
            timeout: Duration::from_secs(5),
            redact: Vec::new(),
            kind: SinkKind::Alertmanager {
                url: uri.clone(),
                repost_interval: Duration::from_secs(60),
            },
        },
        SinkSettings {
            id: "hook".into(),
            teams: vec!["support".into()],
            timeout: Duration::from_secs(5),
            redact: Vec::new(),
            kind: SinkKind::Webhook {
                url: format!("{uri}/hook"),
                secret: Secret::new("k"),
            },
        },
    ];
    let l = hostile_line();
    for s in &settings {
        sink::build(s).unwrap().notify(&l).await.unwrap();
    }
    let received = server.received_requests().await.unwrap();
    let body = |p: &str| -> (Vec<u8>, Value) {
        let r = received
            .iter()
            .find(|r| r.url.path() == p)
            .unwrap_or_else(|| panic!("nothing received at {p}"));
        (r.body.clone(), serde_json::from_slice(&r.body).unwrap())
    };

    // Slack: no control sequence survives; the only links are ours, with a safe target.
    let (_, slack) = body("/slack");
    // A hostile post's link is not previewed in the channel.
    assert_eq!(slack["unfurl_links"], Value::Bool(false), "{slack}");
    assert_eq!(slack["unfurl_media"], Value::Bool(false), "{slack}");
    let mut texts = Vec::new();
    slack_texts(&slack, &mut texts);
    assert!(texts.len() >= 4, "{slack}");
    for t in &texts {
        for bad in [
            "<!",
            "<@",
            "<https://evil.example|",
            "javascript:",
            "</script",
        ] {
            assert!(!t.contains(bad), "{bad:?} reached Slack: {t:?}");
        }
        for fmt in ["*bold*", "_it_", "~gone~", "`code`"] {
            assert!(!t.contains(fmt), "formatting {fmt:?} reached Slack: {t:?}");
        }
        assert!(!t.contains(" & "), "a bare & reached Slack: {t:?}");
        assert!(!t.contains('\u{202E}'), "a bidi override reached Slack");
        assert_only_our_links(t);
    }
    let all = texts.join("\n");
    assert!(
        all.contains("&lt;!channel&gt;"),
        "the text is shown, escaped: {all}"
    );
    assert!(
        all.contains("*Why:* complaints at 3.0/min, 12x their usual 0.25/min &lt;!channel&gt;"),
        "the why-sentence follows the summary: {all}"
    );
    assert!(
        all.contains("<https://evil.example/x%3E%7C%3C!channel%3E|"),
        "the hostile URL is a link with its specials percent-encoded: {all}"
    );

    // Each top post is one line of the list: the forged post's breaks are spaces.
    let posts = texts
        .iter()
        .find(|t| t.starts_with("*Top posts*"))
        .unwrap_or_else(|| panic!("no top posts section: {all}"));
    let lines: Vec<&str> = posts.lines().collect();
    assert_eq!(lines.len(), 1 + 4, "one line per post: {posts:?}");
    assert!(lines[1..].iter().all(|l| l.starts_with("• ")), "{posts:?}");
    assert!(
        lines.iter().any(|l| l.contains("van • @brightline")),
        "the forged post is one line: {posts:?}"
    );
    for t in &texts {
        assert!(!t.contains('\u{2028}') && !t.contains('\r'), "{t:?}");
    }

    // PagerDuty: JSON by serde (the text arrives as written), links only to http(s).
    let (_, pd) = body("/v2/enqueue");
    let summary = pd["payload"]["summary"].as_str().unwrap();
    assert!(summary.contains("<!channel> <!here>"), "{summary}");
    let why = pd["payload"]["custom_details"]["why"].as_str().unwrap();
    assert!(why.starts_with("complaints at 3.0/min, 12x"), "{why}");
    assert!(
        !why.contains('\u{202E}'),
        "bidi override in the PagerDuty why"
    );
    assert!(
        !summary.contains('\u{202E}'),
        "bidi override in the PagerDuty summary"
    );
    let links = pd["links"].as_array().unwrap();
    assert!(!links.is_empty());
    for link in links {
        let text = link["text"].as_str().unwrap();
        assert!(
            !text.contains(['\n', '\r', '\u{2028}']),
            "a link's text is one line: {text:?}"
        );
        let href = link["href"].as_str().unwrap();
        assert!(
            href.starts_with("https://") || href.starts_with("http://"),
            "{href}"
        );
    }

    // Alertmanager: plain text annotations, no script URL in the evidence.
    let (_, am) = body("/api/v2/alerts");
    let evidence = am[0]["annotations"]["evidence"].as_str().unwrap();
    assert!(!evidence.contains("javascript:"), "{evidence}");
    // One line of numbers, then one "- " line per post: no post adds a line of its own.
    assert_eq!(evidence.lines().count(), 1 + 4, "{evidence:?}");
    assert!(
        evidence.lines().skip(1).all(|l| l.starts_with("- ")),
        "{evidence:?}"
    );
    assert!(!evidence.contains(['\r', '\u{2028}']), "{evidence:?}");
    assert!(!am[0]["annotations"]["summary"]
        .as_str()
        .unwrap()
        .contains('\u{202E}'));
    let why = am[0]["annotations"]["why"].as_str().unwrap();
    assert!(
        why.starts_with("complaints at 3.0/min") && !why.contains('\u{202E}'),
        "{why}"
    );

    // Webhook: the alert log line byte for byte, which parses back to the same record.
    let (raw, _) = body("/hook");
    assert_eq!(raw, l.to_json_line().into_bytes());
    let back: AlertRecord = serde_json::from_slice(&raw).unwrap();
    assert_eq!(back, l);
}

/// Answers 500 with the request's path and query in the body, as some proxies do.
struct EchoPath;

impl Respond for EchoPath {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let query = req.url.query().map(|q| format!("?{q}")).unwrap_or_default();
        ResponseTemplate::new(500)
            .set_body_string(format!("no route for POST {}{query}", req.url.path()))
    }
}

#[tokio::test(start_paused = true)]
async fn secret_parts_of_urls_are_scrubbed_when_the_receiver_echoes_the_path() {
    let capture = crate::support::log_capture();
    let slack_part = "XSLACKPARTX0123456789abcdef";
    let token = "XHOOKTOKENX9876543210";
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(EchoPath)
        .mount(&server)
        .await;
    let toml = format!(
        r#"
[[brand]]
id = "brightline"
terms = ["brightline"]
[[sink]]
id = "slack-echo"
type = "slack"
teams = ["support"]
webhook_url = "{uri}/services/T0000/B0000/${{SLACK_PART}}"
timeout = "0s"
[[sink]]
id = "hook-echo"
type = "webhook"
teams = ["support"]
url = "{uri}/hook?token=${{HOOK_TOKEN}}"
secret = "hmac-key-for-the-echo-test"
timeout = "0s"
"#,
        uri = server.uri()
    );
    let env = |k: &str| match k {
        "SLACK_PART" => Some(slack_part.to_string()),
        "HOOK_TOKEN" => Some(token.to_string()),
        _ => None,
    };
    let cfg = flashpoint::config::parse_str(&toml, "t.toml", &env).unwrap();
    for s in &cfg.sink_settings {
        let e = sink::build(s)
            .unwrap()
            .notify(&line("a", Action::Trigger))
            .await
            .unwrap_err();
        let text = e.to_string();
        assert!(text.contains("HTTP 500"), "{text}");
        assert!(text.contains("***"), "the echoed part was masked: {text}");
        for secret in [slack_part, token] {
            assert!(!text.contains(secret), "{secret} in the error: {text}");
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let metrics = Arc::new(Metrics::new(&["brightline"], 10));
    let d = start(dir.path(), &cfg.sink_settings, &metrics);
    d.notify(&line("echo", Action::Trigger)).await.unwrap();
    pass(&d, Duration::from_secs(30)).await;
    d.stop();
    let out = capture.text();
    assert!(
        out.contains("slack-echo") && out.contains("hook-echo") && out.contains("will retry"),
        "the retries were logged: {out}"
    );
    for secret in [slack_part, token] {
        assert!(!out.contains(secret), "{secret} in the logs");
    }
    let outbox_text = std::fs::read_to_string(dir.path().join("outbox.ndjson")).unwrap();
    for secret in [slack_part, token] {
        assert!(!outbox_text.contains(secret), "{secret} in the outbox");
    }
}

#[tokio::test(start_paused = true)]
async fn a_huge_retry_after_neither_kills_the_worker_nor_loses_the_page() {
    // 2^64 - 1 seconds: overflows any Instant or Duration sum it is added to.
    let rx = Receiver::new(|_, n| {
        if n == 0 {
            (429, Some(u64::MAX))
        } else {
            (202, None)
        }
    });
    let server = MockServer::start().await;
    rx.mount(&server, "/v2/enqueue").await;
    let dir = tempfile::tempdir().unwrap();
    let metrics = Arc::new(Metrics::new(&["brightline"], 10));
    let d = start(dir.path(), &[pd_settings(&server.uri())], &metrics);
    d.notify(&line("a", Action::Trigger)).await.unwrap();
    pass(&d, Duration::from_secs(2 * 3600)).await;
    assert_eq!(
        rx.accepted(),
        vec![("a".to_string(), "trigger".to_string())],
        "retried after a capped delay and delivered"
    );
    assert_eq!(d.pending(), 0);
    assert!(Outbox::read(dir.path()).unwrap().pending.is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_redirect_on_post_is_a_failure_not_a_delivery() {
    let server = MockServer::start().await;
    let landing = format!("{}/landing", server.uri());
    for (p, status) in [("/hook", 302), ("/slack", 301)] {
        Mock::given(method("POST"))
            .and(path(p))
            .respond_with(ResponseTemplate::new(status).insert_header("location", landing.as_str()))
            .mount(&server)
            .await;
    }
    Mock::given(method("GET"))
        .and(path("/landing"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    let uri = server.uri();
    let settings = [
        SinkSettings {
            id: "hook".into(),
            teams: vec!["support".into()],
            timeout: Duration::ZERO,
            redact: Vec::new(),
            kind: SinkKind::Webhook {
                url: format!("{uri}/hook"),
                secret: Secret::new("k"),
            },
        },
        SinkSettings {
            id: "slack".into(),
            teams: vec!["support".into()],
            timeout: Duration::ZERO,
            redact: Vec::new(),
            kind: SinkKind::Slack {
                webhook_url: Secret::new(format!("{uri}/slack")),
            },
        },
    ];
    let dir = tempfile::tempdir().unwrap();
    let metrics = Arc::new(Metrics::new(&["brightline"], 10));
    let d = start(dir.path(), &settings, &metrics);
    d.notify(&line("a", Action::Trigger)).await.unwrap();
    pass(&d, Duration::from_secs(60)).await;
    d.stop();
    for id in ["hook", "slack"] {
        assert_eq!(metrics.sink_sent_total.with_label_values(&[id]).get(), 0);
        assert!(
            metrics
                .sink_failed_total
                .with_label_values(&[id, "redirect"])
                .get()
                >= 1,
            "{id}: a 3xx counts as a failure with reason redirect"
        );
    }
    let received = server.received_requests().await.unwrap();
    assert!(
        received.iter().all(|r| r.method.as_str() == "POST"),
        "a redirect was followed"
    );
    assert_eq!(Outbox::read(dir.path()).unwrap().pending.len(), 2);
}

#[tokio::test(start_paused = true)]
async fn a_team_routed_to_a_sink_that_does_not_carry_it_is_not_marked_delivered() {
    let rx = Receiver::new(|_, _| (202, None));
    let server = MockServer::start().await;
    rx.mount(&server, "/v2/enqueue").await;
    let dir = tempfile::tempdir().unwrap();
    let metrics = Arc::new(Metrics::new(&["brightline"], 10));
    // The escalation row sends field-ops' criticals to "pd", which carries only support.
    let esc = [EscalationConfig {
        team: "field-ops".into(),
        critical: vec!["pd".into()],
        ..EscalationConfig::default()
    }];
    let d = start_with(
        dir.path(),
        &[pd_settings(&server.uri())],
        &metrics,
        &esc,
        &delivery_cfg(),
    );
    let mut l = line("fo", Action::Trigger);
    l.severity = Severity::Critical;
    l.teams = vec!["field-ops".into()];
    d.notify(&l).await.unwrap();
    d.drain().await;
    assert_eq!(rx.total(), 0, "nothing could be sent");
    assert_eq!(
        metrics.sink_sent_total.with_label_values(&["pd"]).get(),
        0,
        "so nothing counts as delivered"
    );
    let snap = Outbox::read(dir.path()).unwrap();
    assert_eq!(snap.delivered, 0);
    assert_eq!(
        snap.dead.len(),
        1,
        "the undeliverable line is a dead letter"
    );
    assert!(
        snap.dead[0].error.contains("field-ops"),
        "{:?}",
        snap.dead[0]
    );
}

#[tokio::test(start_paused = true)]
async fn an_outbox_entry_older_than_max_age_is_never_sent_after_a_restart() {
    let rx = Receiver::new(|_, _| (202, None));
    let server = MockServer::start().await;
    rx.mount(&server, "/v2/enqueue").await;
    let dir = tempfile::tempdir().unwrap();
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let nine_months_ms = 270 * 24 * 3600 * 1000_i64;
    let mut text = String::new();
    for (seq, incident, at) in [(1, "old", now_ms - nine_months_ms), (2, "fresh", now_ms)] {
        text.push_str(
            &serde_json::json!({"op": "enqueue", "seq": seq, "sink": "pd", "enqueued_at_ms": at,
                                "alert": line(incident, Action::Trigger)})
            .to_string(),
        );
        text.push('\n');
    }
    std::fs::write(dir.path().join("outbox.ndjson"), text).unwrap();
    let metrics = Arc::new(Metrics::new(&["brightline"], 10));
    let d = start(dir.path(), &[pd_settings(&server.uri())], &metrics);
    d.drain().await;
    assert_eq!(rx.requests_for("old"), 0, "a nine-month-old trigger paged");
    assert_eq!(
        rx.accepted(),
        vec![("fresh".to_string(), "trigger".to_string())]
    );
    let snap = Outbox::read(dir.path()).unwrap();
    assert_eq!(snap.dead.len(), 1);
    assert_eq!(snap.dead[0].entry.alert.incident, "old");
    assert_eq!(snap.dead[0].reason, "max_age");
}

#[tokio::test(start_paused = true)]
async fn the_outbox_is_compacted_while_running() {
    let rx = Receiver::new(|_, _| (202, None));
    let server = MockServer::start().await;
    rx.mount(&server, "/v2/enqueue").await;
    let dir = tempfile::tempdir().unwrap();
    let metrics = Arc::new(Metrics::new(&["brightline"], 10));
    let d = start(dir.path(), &[pd_settings(&server.uri())], &metrics);
    for i in 0..20 {
        // One brand each, so flood control holds none of them.
        let mut l = line(&format!("c{i}"), Action::Trigger);
        l.brand = format!("brand{i}");
        d.notify(&l).await.unwrap();
    }
    d.drain().await;
    let lines = || {
        std::fs::read_to_string(dir.path().join("outbox.ndjson"))
            .unwrap()
            .lines()
            .count()
    };
    assert_eq!(lines(), 40, "20 enqueued and 20 delivered records");
    // Later in the run (past the compaction interval, 10 min by default), the next recorded
    // outcome compacts the log: of what was delivered only each page's one-line identity is
    // kept (so a rerun never sends it again), no entry and no outcome record.
    pass(&d, Duration::from_secs(11 * 60)).await;
    let mut l = line("later", Action::Trigger);
    l.brand = "brand-later".into();
    d.notify(&l).await.unwrap();
    d.drain().await;
    let log = std::fs::read_to_string(dir.path().join("outbox.ndjson")).unwrap();
    assert_eq!(lines(), 21, "{log}");
    assert!(
        log.lines().all(|l| l.starts_with("{\"op\":\"sent\"")),
        "delivered records are compacted to identities while running: {log}"
    );
    assert_eq!(rx.total(), 21);
}

/// The report behind issue 18's flood-control finding: 14 risky posts opened 14 watches, and
/// with `max_pages_per_hour = 5` the critical incident one of them became never reached
/// PagerDuty. Watches no longer use the page budget, so it does.
#[tokio::test(start_paused = true)]
async fn fourteen_watches_do_not_keep_the_critical_incident_from_pagerduty() {
    let rx = Receiver::new(|_, _| (202, None));
    let server = MockServer::start().await;
    rx.mount(&server, "/v2/enqueue").await;
    let dir = tempfile::tempdir().unwrap();
    let metrics = Arc::new(Metrics::new(&["brightline"], 10));
    let sinks: Vec<Arc<dyn Notifier>> = vec![sink::build(&pd_settings(&server.uri())).unwrap()];
    let d = Delivery::start(
        sinks,
        DeliveryOptions {
            outbox_dir: dir.path(),
            delivery: &delivery_cfg(),
            escalation: &[],
            flood: FloodControlConfig {
                group_window: HumanDuration::from_secs(0),
                max_pages_per_hour: 5,
            },
            metrics: Arc::clone(&metrics),
        },
    )
    .unwrap();
    for i in 0..14 {
        let mut w = line(&format!("w{i:02}"), Action::Trigger);
        w.severity = Severity::Info;
        w.at = format!("2026-03-03T10:{:02}:00Z", 10 + i);
        d.notify(&w).await.unwrap();
    }
    let mut c = line("w09", Action::Escalate);
    c.severity = Severity::Critical;
    c.at = "2026-03-03T10:40:00Z".into();
    d.notify(&c).await.unwrap();
    d.drain().await;
    let log = rx.log.lock().unwrap();
    let critical: Vec<&Value> = log
        .iter()
        .map(|(b, _)| b)
        .filter(|b| b["payload"]["severity"] == "critical")
        .collect();
    assert_eq!(critical.len(), 1, "the critical incident paged");
    assert_eq!(critical[0]["dedup_key"], "flashpoint/brightline/w09");
}
