//! Issues 18 (points 5 and 6) and 19 (point 1): delivery state that survives restarts, a
//! shutdown that a dead sink cannot hold up, a state directory one process owns, and pages the
//! on-call can act on. Real HTTP receivers on 127.0.0.1:0 (wiremock, and a bare TCP listener
//! that never answers), tokio's paused clock, configurations parsed from TOML text.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use flashpoint::alert::outbox::Outbox;
use flashpoint::alert::sink::{self, SinkContext};
use flashpoint::alert::{
    Action, AlertMetrics, AlertRecord, Delivery, DeliveryOptions, Notifier, TopPost,
};
use flashpoint::app::{service, RunOptions};
use flashpoint::config::{self, Config, DeliveryConfig, FloodControlConfig};
use flashpoint::domain::{Category, Severity};
use flashpoint::telemetry::Metrics;
use serde_json::Value;
use tokio_util::sync::CancellationToken;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use crate::support::{drain_in_real_time, pass};

fn line(incident: &str, action: Action, severity: Severity, teams: &[&str]) -> AlertRecord {
    AlertRecord {
        at: "2026-03-03T10:52:40Z".into(),
        action,
        incident: incident.into(),
        brand: "brightline".into(),
        severity,
        category: Category::Conduct,
        teams: teams.iter().map(|t| t.to_string()).collect(),
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
            url: Some("https://bsky.app/profile/jo/post/m1".into()),
        }],
        terms: vec!["drinking".into()],
        dedup_key: AlertRecord::dedup_key_for("brightline", incident),
        why: String::new(),
    }
}

/// Records every request body; answers what `decide` says for it.
#[derive(Clone)]
struct Recorder {
    bodies: Arc<Mutex<Vec<Value>>>,
    decide: Arc<dyn Fn(&Value) -> u16 + Send + Sync>,
}

impl Respond for Recorder {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let body: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
        let status = (self.decide)(&body);
        self.bodies.lock().unwrap().push(body);
        ResponseTemplate::new(status)
    }
}

impl Recorder {
    async fn mount(
        server: &MockServer,
        p: &str,
        decide: impl Fn(&Value) -> u16 + Send + Sync + 'static,
    ) -> Recorder {
        let r = Recorder {
            bodies: Arc::default(),
            decide: Arc::new(decide),
        };
        Mock::given(method("POST"))
            .and(path(p))
            .respond_with(r.clone())
            .mount(server)
            .await;
        r
    }

    fn take(&self) -> Vec<Value> {
        std::mem::take(&mut *self.bodies.lock().unwrap())
    }
}

/// The incidents named in an Alertmanager POST body.
fn incidents(body: &Value) -> Vec<String> {
    body.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x["labels"]["incident"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

fn am_delivery(dir: &std::path::Path, url: &str) -> Arc<Delivery> {
    let settings = config::SinkSettings {
        id: "am".into(),
        teams: vec!["support".into()],
        timeout: Duration::ZERO,
        redact: Vec::new(),
        kind: config::SinkKind::Alertmanager {
            url: url.into(),
            repost_interval: Duration::from_secs(60),
        },
    };
    let ctx = SinkContext {
        state_dir: Some(dir.to_path_buf()),
        ..SinkContext::default()
    };
    let sinks: Vec<Arc<dyn Notifier>> = vec![sink::build_with(&settings, &ctx).unwrap()];
    Delivery::start(
        sinks,
        DeliveryOptions {
            outbox_dir: dir,
            delivery: &DeliveryConfig::default(),
            escalation: &[],
            flood: FloodControlConfig::default(),
            metrics: Arc::new(Metrics::new(&["brightline"], 10)),
        },
    )
    .unwrap()
}

/// Issue 18.5: the Alertmanager active set is persisted next to the outbox; after a restart
/// the open incident is re-posted (so Alertmanager does not auto-resolve it), while a resolved
/// incident, a flood digest past its `endsAt` and an incident whose resolve was dead-lettered
/// are never re-posted.
#[tokio::test(start_paused = true)]
async fn issue_18_alertmanager_active_set_survives_a_restart_and_lets_go_of_the_dead() {
    let server = MockServer::start().await;
    // The resolve of incident "a" is rejected (400): it will be dead-lettered.
    let rx = Recorder::mount(&server, "/api/v2/alerts", |b| {
        let resolve_a = b.as_array().is_some_and(|a| {
            a.iter()
                .any(|x| x["labels"]["incident"] == "a" && x["endsAt"] == "2026-03-03T11:00:00Z")
        });
        if resolve_a {
            400
        } else {
            200
        }
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let support = ["support"];
    {
        let d = am_delivery(dir.path(), &server.uri());
        for l in [
            line("a", Action::Trigger, Severity::Error, &support),
            line("b", Action::Trigger, Severity::Error, &support),
            line("b", Action::Resolve, Severity::Error, &support),
            // A flood digest (the router's `<first held>-flood-<team>`): no resolve ever.
            line(
                "c-flood-support",
                Action::Trigger,
                Severity::Error,
                &support,
            ),
        ] {
            d.notify(&l).await.unwrap();
        }
        drain_in_real_time(&d).await;
        let posted = rx.take();
        let digest = posted
            .iter()
            .find(|b| incidents(b) == ["c-flood-support"])
            .expect("the digest was posted");
        assert_eq!(
            digest[0]["endsAt"], "2026-03-03T11:52:40Z",
            "a digest ends an hour after its event time"
        );
        d.stop();
    }
    // Restart: the open incident is re-posted at once and every repost_interval after.
    let d = am_delivery(dir.path(), &server.uri());
    pass(&d, Duration::from_secs(130)).await;
    let reposts = rx.take();
    assert!(
        reposts.len() >= 2,
        "re-posted after the restart: {reposts:?}"
    );
    for b in &reposts {
        assert_eq!(incidents(b), ["a"], "only the open incident: {b}");
    }
    // Its resolve is rejected and dead-lettered: it must still leave the active set.
    let mut r = line("a", Action::Resolve, Severity::Error, &support);
    r.at = "2026-03-03T11:00:00Z".into();
    d.notify(&r).await.unwrap();
    drain_in_real_time(&d).await;
    assert_eq!(Outbox::read(dir.path()).unwrap().dead.len(), 1);
    rx.take();
    pass(&d, Duration::from_secs(130)).await;
    assert!(rx.take().is_empty(), "nothing left to re-post");
    d.stop();
    drop(d);
    // And a later restart has nothing to re-post either.
    let d = am_delivery(dir.path(), &server.uri());
    pass(&d, Duration::from_secs(70)).await;
    assert!(rx.take().is_empty());
}

/// A TCP receiver that accepts connections and never answers (a sink that is down in the
/// worst way: it hangs).
async fn black_hole() -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = listener.accept().await {
            held.push(s);
        }
    });
    addr
}

/// `timeout`: the sink's request timeout. Under the paused clock an idle runtime jumps to the
/// next timer, so a test that waits on a real receiver uses "0s" (none).
fn pd_config(state_dir: &std::path::Path, url: &str, timeout: &str) -> Config {
    let text = format!(
        "[[brand]]\nid = \"brightline\"\nterms = [\"brightline\"]\n\
         [delivery]\nstate_dir = {:?}\n\
         [[sink]]\nid = \"pd\"\ntype = \"pagerduty\"\nteams = [\"support\", \"field-ops\"]\n\
         url = \"{url}\"\nrouting_key = \"k-0123456789\"\ntimeout = \"{timeout}\"\n",
        state_dir.display().to_string()
    );
    config::parse_str(&text, "t.toml", &|_| None).unwrap()
}

/// Issue 18.6: a graceful shutdown takes at most 10 s even when the sink hangs; the page stays
/// in the outbox (under the state directory) and goes out after the restart.
#[tokio::test(start_paused = true)]
async fn issue_18_shutdown_within_ten_seconds_with_a_hanging_sink_and_pages_resume() {
    let dead = black_hole().await;
    let state = tempfile::tempdir().unwrap();
    let cfg = Arc::new(pd_config(state.path(), &format!("http://{dead}"), "10s"));
    let metrics = Arc::new(Metrics::new(&["brightline"], 10));
    let d = service::start_delivery(&cfg, Arc::clone(&metrics))
        .unwrap()
        .unwrap();
    let page = line("p", Action::Trigger, Severity::Critical, &["support"]);
    d.notify(&page).await.unwrap();
    let shutdown = CancellationToken::new();
    let mut opts = RunOptions::new(metrics, shutdown.clone());
    opts.console = Some(false);
    let t0 = tokio::time::Instant::now();
    shutdown.cancel();
    let code = service::serve(Arc::clone(&cfg), opts, Some(d)).await;
    let took = t0.elapsed();
    assert_eq!(code, 0);
    assert!(took <= config::SHUTDOWN_BUDGET, "shutdown took {took:?}");
    let outbox = state.path().join("outbox");
    let snap = Outbox::read(&outbox).unwrap();
    assert_eq!(snap.pending.len(), 1, "the page waits in the outbox");

    // Restarted against a receiver that answers: the page goes out, once.
    let server = MockServer::start().await;
    let rx = Recorder::mount(&server, "/v2/enqueue", |_| 202).await;
    let cfg = pd_config(state.path(), &server.uri(), "0s");
    let metrics = Arc::new(Metrics::new(&["brightline"], 10));
    let d = service::start_delivery(&cfg, metrics).unwrap().unwrap();
    drain_in_real_time(&d).await;
    let sent = rx.take();
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0]["dedup_key"], "flashpoint/brightline/p");
    assert!(Outbox::read(&outbox).unwrap().pending.is_empty());
}

/// Issue 18.6: one process owns the state directory; a second is refused with an error that
/// names the directory and the holder's pid.
#[tokio::test]
async fn issue_18_a_second_process_on_the_state_dir_is_refused() {
    let state = tempfile::tempdir().unwrap();
    let cfg = pd_config(state.path(), "http://127.0.0.1:9", "10s");
    let metrics = Arc::new(Metrics::new(&["brightline"], 10));
    let first = service::start_delivery(&cfg, Arc::clone(&metrics))
        .unwrap()
        .unwrap();
    let err = service::start_delivery(&cfg, metrics).unwrap_err();
    let msg = format!("{err:#}");
    let dir = state.path().join("outbox").display().to_string();
    assert!(msg.contains(&dir), "{msg}");
    assert!(
        msg.contains(&format!("pid {}", std::process::id())),
        "{msg}"
    );
    first.stop();
}

/// The state directory's default follows systemd and XDG, never the working directory.
#[test]
fn issue_18_state_dir_default_is_not_the_working_directory() {
    let d = DeliveryConfig::default();
    let env = |vars: &'static [(&'static str, &'static str)]| {
        move |k: &str| {
            vars.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    };
    let p = |vars| d.outbox_path(&env(vars)).unwrap();
    assert_eq!(
        p(&[("HOME", "/home/fp")]),
        std::path::Path::new("/home/fp/.local/state/flashpoint/outbox")
    );
    assert_eq!(
        p(&[("HOME", "/home/fp"), ("XDG_STATE_HOME", "/xdg")]),
        std::path::Path::new("/xdg/flashpoint/outbox")
    );
    assert_eq!(
        p(&[
            ("XDG_STATE_HOME", "/xdg"),
            ("STATE_DIRECTORY", "/var/lib/fp")
        ]),
        std::path::Path::new("/var/lib/fp/outbox")
    );
    assert!(d.outbox_path(&env(&[])).is_err());
    let explicit = DeliveryConfig {
        state_dir: Some("state".into()),
        ..DeliveryConfig::default()
    };
    assert_eq!(
        explicit.outbox_path(&env(&[("HOME", "/h")])).unwrap(),
        std::path::Path::new("state/outbox")
    );
}

/// Issue 19.1: PagerDuty gets warning and above by default (the info watch goes to Slack
/// only), one event per routing key however many teams share it, with `client_url`, links to
/// the incident API and the Grafana brand dashboard, and a `source` naming brand and channel;
/// Slack messages link to Grafana. An `[[escalation]]` row still sends a team's info lines to
/// PagerDuty when asked.
#[tokio::test(start_paused = true)]
async fn issue_19_pagerduty_pages_from_warning_once_per_key_with_links() {
    let server = MockServer::start().await;
    let pd = Recorder::mount(&server, "/v2/enqueue", |_| 202).await;
    let slack = Recorder::mount(&server, "/slack", |_| 200).await;
    let state = tempfile::tempdir().unwrap();
    let text = format!(
        "[[brand]]\nid = \"brightline\"\nterms = [\"brightline\"]\n\
         [server]\nlisten = \"127.0.0.1:9464\"\npublic_url = \"https://fp.example.org/\"\n\
         [grafana]\nurl = \"https://grafana.example.org\"\n\
         [delivery]\nstate_dir = {:?}\n\
         [[sink]]\nid = \"pd\"\ntype = \"pagerduty\"\nteams = [\"support\", \"field-ops\", \"marketing\"]\n\
         url = \"{uri}\"\nrouting_key = \"k-shared-0123456789\"\ntimeout = \"0s\"\n\
         [[sink]]\nid = \"slack\"\ntype = \"slack\"\nteams = [\"support\", \"field-ops\"]\n\
         webhook_url = \"{uri}/slack\"\ntimeout = \"0s\"\n\
         [[escalation]]\nteam = \"marketing\"\ninfo = [\"pd\"]\n",
        state.path().display().to_string(),
        uri = server.uri(),
    );
    let cfg = config::parse_str(&text, "t.toml", &|_| None).unwrap();
    let d = service::start_delivery(&cfg, Arc::new(Metrics::new(&["brightline"], 10)))
        .unwrap()
        .unwrap();
    let both = ["field-ops", "support"];
    let id = "brightline-20260303-0001";
    d.notify(&line(id, Action::Trigger, Severity::Info, &both))
        .await
        .unwrap();
    d.notify(&line(id, Action::Escalate, Severity::Warning, &both))
        .await
        .unwrap();
    d.notify(&line(id, Action::Resolve, Severity::Warning, &both))
        .await
        .unwrap();
    let mut praise = line(
        "brightline-20260303-0002",
        Action::Trigger,
        Severity::Info,
        &["marketing"],
    );
    praise.category = Category::Positive;
    d.notify(&praise).await.unwrap();
    drain_in_real_time(&d).await;

    let events = pd.take();
    let mut summary: Vec<(String, String, String)> = events
        .iter()
        .map(|e| {
            (
                e["payload"]["custom_details"]["incident"]
                    .as_str()
                    .unwrap()
                    .to_string(),
                e["event_action"].as_str().unwrap().to_string(),
                e["payload"]["severity"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    summary.sort();
    assert_eq!(
        summary,
        [
            (id.to_string(), "resolve".to_string(), "warning".to_string()),
            (id.to_string(), "trigger".to_string(), "warning".to_string()),
            (
                "brightline-20260303-0002".to_string(),
                "trigger".to_string(),
                "info".to_string()
            ),
        ],
        "the watch's info line never paged; one event per line for two teams on one key"
    );
    let page = events
        .iter()
        .find(|e| {
            e["event_action"] == "trigger" && e["payload"]["custom_details"]["incident"] == id
        })
        .unwrap();
    assert_eq!(page["payload"]["group"], "field-ops, support");
    assert_eq!(page["payload"]["source"], "brightline via bsky.app");
    let incident_url = format!("https://fp.example.org/api/incidents/{id}");
    assert_eq!(page["client_url"], incident_url.as_str());
    let hrefs: Vec<&str> = page["links"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|l| l["href"].as_str())
        .collect();
    assert_eq!(
        hrefs,
        [
            incident_url.as_str(),
            "https://grafana.example.org/d/flashpoint-brand-overview?var-brand=brightline",
            "https://bsky.app/profile/jo/post/m1",
        ]
    );
    let chat = slack.take();
    assert_eq!(chat.len(), 3, "Slack gets the info watch too");
    let text = serde_json::to_string(&chat[0]).unwrap();
    assert!(
        text.contains(
            "<https://grafana.example.org/d/flashpoint-brand-overview?var-brand=brightline|Open in Grafana>"
        ),
        "{text}"
    );
    d.stop();
}

/// Issue 19.1: the demo calls the first page-level line of the misconduct incident (a watch
/// that escalated, straight to error) PAGE, not ESCALATE; it ends with who was paged, how often, for
/// what; `--help` explains the verbs.
#[test]
fn issue_19_demo_labels_the_first_page_and_ends_with_who_was_paged() {
    let out = crate::support::flashpoint()
        .args(["demo", "--speed", "max", "--no-metrics"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("PAGE     ERROR    2026-03-03T10:")
                && l.ends_with("brightline-20260303-0001 [conduct] → field-ops, support")),
        "{stdout}"
    );
    assert!(
        !stdout.contains("ESCALATE WARNING"),
        "a first page is not an escalation: {stdout}"
    );
    assert!(
        stderr.contains("field-ops: 1 page (1 error), 1 escalation")
            && stderr.contains("support: 2 pages (1 error, 1 warning), 2 escalations")
            && stderr.contains("    northwind-20260304-0001 [outage] warning"),
        "{stderr}"
    );
    let help = crate::support::flashpoint()
        .args(["demo", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    for verb in ["PAGE ", "ESCALATE ", "NOTIFY ", "NOTED ", "RESOLVED "] {
        assert!(help.contains(verb), "--help lacks {verb}: {help}");
    }
}

/// Issue 18.5: a resolve that is dead-lettered without ever being attempted (older than
/// `max_age` when the delivery restarts) still takes its incident out of the Alertmanager
/// active set, so it is not re-posted forever.
#[tokio::test(start_paused = true)]
async fn issue_18_a_resolve_dead_lettered_unsent_leaves_the_alertmanager_active_set() {
    let server = MockServer::start().await;
    let rx = Recorder::mount(&server, "/api/v2/alerts", |_| 200).await;
    let dir = tempfile::tempdir().unwrap();
    {
        let d = am_delivery(dir.path(), &server.uri());
        d.notify(&line("a", Action::Trigger, Severity::Error, &["support"]))
            .await
            .unwrap();
        drain_in_real_time(&d).await;
        d.stop();
    }
    // A resolve persisted long ago (as if the process had been down past max_age).
    let resolve = line("a", Action::Resolve, Severity::Error, &["support"]);
    let record = serde_json::json!({"op": "enqueue", "seq": 1000, "sink": "am",
        "enqueued_at_ms": 0, "alert": serde_json::to_value(&resolve).unwrap()});
    let log = dir.path().join(flashpoint::alert::outbox::LOG_FILE);
    let mut text = std::fs::read_to_string(&log).unwrap();
    text.push_str(&format!("{record}\n"));
    std::fs::write(&log, text).unwrap();
    rx.take();
    let d = am_delivery(dir.path(), &server.uri());
    pass(&d, Duration::from_secs(130)).await;
    let snap = Outbox::read(dir.path()).unwrap();
    assert_eq!(snap.dead.len(), 1);
    assert_eq!(snap.dead[0].reason, "max_age");
    let posted = rx.take();
    assert!(
        posted
            .iter()
            .all(|b| !incidents(b).contains(&"a".to_string())),
        "the incident whose resolve was dead-lettered is re-posted: {posted:?}"
    );
}

/// Issue 18.6: `replay --deliver` run twice over the same archive and outbox sends every
/// page once: the second run finds each identity delivered and sends nothing.
#[tokio::test]
async fn issue_18_a_rerun_of_replay_deliver_sends_nothing_twice() {
    let server = MockServer::start().await;
    let hook = Recorder::mount(&server, "/hook", |_| 200).await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("deliver.toml");
    std::fs::write(
        &cfg,
        format!(
            "{}\n[delivery]\nstate_dir = {:?}\ndrain_timeout = \"20s\"\n\
             [[sink]]\nid = \"hook\"\ntype = \"webhook\"\nteams = [\"field-ops\", \"support\"]\n\
             url = \"{}/hook\"\nsecret = \"k\"\n",
            flashpoint::app::demo::DEMO_CONFIG,
            dir.path().join("state").display().to_string(),
            server.uri(),
        ),
    )
    .unwrap();
    let sample = format!("{}/data/demo/sample.ndjson.zst", env!("CARGO_MANIFEST_DIR"));
    let mut sent = Vec::new();
    for _ in 0..2 {
        let (cfg, sample) = (cfg.clone(), sample.clone());
        let out = tokio::task::spawn_blocking(move || {
            crate::support::flashpoint()
                .args(["replay", "--deliver", "--config"])
                .arg(&cfg)
                .arg(&sample)
                .output()
                .unwrap()
        })
        .await
        .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{err}");
        sent.push(hook.bodies.lock().unwrap().len());
    }
    assert!(
        sent[0] >= 3,
        "the demo pages field-ops and support: {sent:?}"
    );
    assert_eq!(sent[1], sent[0], "the rerun sent again: {sent:?}");
}
