//! Red-team findings on alert delivery (round 4): a line in the alert log is never lost to a
//! full memory queue, a long `Retry-After` still gets a last attempt at `max_age`, an HTTP-date
//! `Retry-After` is honoured, a state directory that cannot be opened is named, and PagerDuty
//! keys are delivered independently. Real HTTP receivers on 127.0.0.1:0 (wiremock, and a bare
//! TCP listener that never answers); tokio's paused clock where time matters.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use flashpoint::alert::outbox::Outbox;
use flashpoint::alert::{Action, AlertLog, AlertMetrics, AlertOutput, AlertRecord, Notifier};
use flashpoint::app::service;
use flashpoint::config::{self, Config};
use flashpoint::domain::{Category, Severity};
use flashpoint::telemetry::Metrics;
use serde_json::Value;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use crate::support::{drain_in_real_time, pass};

fn line(incident: &str, teams: &[&str]) -> AlertRecord {
    AlertRecord {
        at: "2026-03-03T10:52:40Z".into(),
        action: Action::Trigger,
        incident: incident.into(),
        brand: "brightline".into(),
        severity: Severity::Critical,
        category: Category::Conduct,
        teams: teams.iter().map(|t| t.to_string()).collect(),
        summary: format!("{incident} trigger"),
        metrics: AlertMetrics::default(),
        top_posts: Vec::new(),
        terms: vec!["drinking".into()],
        dedup_key: AlertRecord::dedup_key_for("brightline", incident),
        why: String::new(),
    }
}

/// A TCP receiver that accepts connections and never answers.
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

/// How a receiver answers a body, given how many requests came before it.
type Decide = dyn Fn(&Value, u32) -> ResponseTemplate + Send + Sync;

/// Records every request body; answers what `decide` says (given the body and how many
/// requests came before it).
#[derive(Clone)]
struct Recorder {
    bodies: Arc<Mutex<Vec<Value>>>,
    calls: Arc<AtomicU32>,
    decide: Arc<Decide>,
}

impl Respond for Recorder {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let body: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
        let n = self.calls.fetch_add(1, Ordering::SeqCst);
        let answer = (self.decide)(&body, n);
        self.bodies.lock().unwrap().push(body);
        answer
    }
}

impl Recorder {
    async fn mount(
        server: &MockServer,
        p: &str,
        decide: impl Fn(&Value, u32) -> ResponseTemplate + Send + Sync + 'static,
    ) -> Recorder {
        let r = Recorder {
            bodies: Arc::default(),
            calls: Arc::default(),
            decide: Arc::new(decide),
        };
        Mock::given(method("POST"))
            .and(path(p))
            .respond_with(r.clone())
            .mount(server)
            .await;
        r
    }

    fn bodies(&self) -> Vec<Value> {
        self.bodies.lock().unwrap().clone()
    }
}

/// One catch-all webhook sink at `url`; `delivery`: extra `[delivery]` keys.
fn hook_config(state: &std::path::Path, url: &str, delivery: &str) -> Config {
    let text = format!(
        "[[brand]]\nid = \"brightline\"\nterms = [\"brightline\"]\n\
         [delivery]\nstate_dir = {:?}\n{delivery}\n\
         [[sink]]\nid = \"hook\"\ntype = \"webhook\"\nteams = []\n\
         url = \"{url}\"\nsecret = \"s-0123456789\"\ntimeout = \"0s\"\n",
        state.display().to_string()
    );
    config::parse_str(&text, "t.toml", &|_| None).unwrap()
}

/// Finding 1: the alert log was written before the line reached the outbox, and a line
/// waiting in the dispatcher's memory queue (a sink's queue full) was lost to a kill -9 or a
/// stop, since a restart does not decide a logged line again. Now every line is in the outbox
/// before it is in the log: with a hung sink and `queue_capacity = 1`, all six logged lines
/// are pending the moment `emit` returns, and all six go out after a "crash", once each.
#[tokio::test]
async fn delivery_hostile_every_logged_line_is_in_the_outbox_before_the_queue() {
    let dead = black_hole().await;
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let log_path = dir.path().join("alerts.ndjson");
    let cfg = hook_config(&state, &format!("http://{dead}/hook"), "queue_capacity = 1");
    let metrics = Arc::new(Metrics::new(&["brightline"], 10));
    let d = service::start_delivery(&cfg, Arc::clone(&metrics))
        .unwrap()
        .unwrap();
    let log = AlertLog::append_to(log_path.to_str().unwrap(), true).unwrap();
    let mut out = AlertOutput::dispatching(
        Some(log),
        Some(metrics),
        vec![Arc::clone(&d) as Arc<dyn Notifier>],
    );
    let incidents = ["q1", "q2", "q3", "q4", "q5", "q6"];
    for i in incidents {
        out.emit(Arc::new(line(i, &["support"])), None)
            .await
            .unwrap();
    }
    out.flush().unwrap();
    let logged = std::fs::read_to_string(&log_path).unwrap();
    assert_eq!(logged.lines().count(), incidents.len());
    let outbox = state.join("outbox");
    let pending: Vec<String> = Outbox::read(&outbox)
        .unwrap()
        .pending
        .iter()
        .map(|e| e.alert.incident.clone())
        .collect();
    assert_eq!(
        pending, incidents,
        "every logged line is in the outbox, in order, while the sink hangs"
    );
    // The crash: delivery stops with the lines still queued in memory.
    d.stop();
    drop(out);
    drop(d);

    // The restart, against a receiver that answers: each logged line goes out once.
    let server = MockServer::start().await;
    let rx = Recorder::mount(&server, "/hook", |_, _| ResponseTemplate::new(200)).await;
    let cfg = hook_config(&state, &format!("{}/hook", server.uri()), "");
    let d = service::start_delivery(&cfg, Arc::new(Metrics::new(&["brightline"], 10)))
        .unwrap()
        .unwrap();
    tokio::time::timeout(Duration::from_secs(60), d.drain())
        .await
        .expect("the restored lines drain");
    let mut sent: Vec<String> = rx
        .bodies()
        .iter()
        .map(|b| b["incident"].as_str().unwrap_or_default().to_string())
        .collect();
    sent.sort();
    assert_eq!(sent, incidents, "each logged line delivered once");
    d.stop();
}

/// Finding 6: a `Retry-After` beyond what is left of `max_age` (here 600 s of a 60 s
/// max age) no longer dead-letters at once: the last attempt is made at the deadline, and only
/// its failure gives the page up.
#[tokio::test(start_paused = true)]
async fn delivery_hostile_a_long_retry_after_gets_a_last_attempt_at_max_age() {
    let server = MockServer::start().await;
    // Unavailable, come back in 600 s.
    let rx = Recorder::mount(&server, "/hook", |_, _| {
        ResponseTemplate::new(503).insert_header("Retry-After", "600")
    })
    .await;
    let state = tempfile::tempdir().unwrap();
    let cfg = hook_config(
        state.path(),
        &format!("{}/hook", server.uri()),
        "max_age = \"60s\"\nbackoff_initial = \"1s\"\nbackoff_max = \"1s\"",
    );
    let d = service::start_delivery(&cfg, Arc::new(Metrics::new(&["brightline"], 10)))
        .unwrap()
        .unwrap();
    d.notify(&line("never", &["support"])).await.unwrap();
    pass(&d, Duration::from_secs(30)).await;
    let snap = Outbox::read(&state.path().join("outbox")).unwrap();
    assert!(
        snap.dead.is_empty(),
        "dead-lettered before max_age: {:?}",
        snap.dead
    );
    assert_eq!(rx.bodies().len(), 1, "no retry before the deadline");
    pass(&d, Duration::from_secs(40)).await;
    let snap = Outbox::read(&state.path().join("outbox")).unwrap();
    assert_eq!(snap.dead.len(), 1, "given up once max_age has passed");
    assert_eq!(snap.dead[0].reason, "max_age");
    assert_eq!(rx.bodies().len(), 2, "one last attempt at the deadline");
    d.stop();
}

/// Finding 7: `Retry-After: <HTTP-date>` is honoured (it was ignored, so the backoff retried
/// after about a second); the retry comes at the date, not before.
#[tokio::test(start_paused = true)]
async fn delivery_hostile_retry_after_as_an_http_date_is_honoured() {
    let server = MockServer::start().await;
    let rx = Recorder::mount(&server, "/hook", |_, n| {
        if n == 0 {
            let at = std::time::SystemTime::now() + Duration::from_secs(120);
            ResponseTemplate::new(429).insert_header("Retry-After", httpdate::fmt_http_date(at))
        } else {
            ResponseTemplate::new(200)
        }
    })
    .await;
    let state = tempfile::tempdir().unwrap();
    let cfg = hook_config(
        state.path(),
        &format!("{}/hook", server.uri()),
        "backoff_initial = \"1s\"\nbackoff_max = \"1s\"",
    );
    let d = service::start_delivery(&cfg, Arc::new(Metrics::new(&["brightline"], 10)))
        .unwrap()
        .unwrap();
    d.notify(&line("dated", &["support"])).await.unwrap();
    pass(&d, Duration::from_secs(60)).await;
    assert_eq!(rx.bodies().len(), 1, "retried before the HTTP-date");
    pass(&d, Duration::from_secs(70)).await;
    assert_eq!(rx.bodies().len(), 2, "retried once the date passed");
    assert_eq!(d.pending(), 0);
    d.stop();
}

/// Finding 10: a state directory that cannot be opened is named in the error (it said only
/// "Not a directory (os error 20)" / "Read-only file system (os error 30)").
#[tokio::test]
async fn delivery_hostile_an_unusable_state_dir_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let blocker = dir.path().join("not-a-dir");
    std::fs::write(&blocker, b"x").unwrap();
    let cfg = hook_config(&blocker, "http://127.0.0.1:9/hook", "");
    let err =
        service::start_delivery(&cfg, Arc::new(Metrics::new(&["brightline"], 10))).unwrap_err();
    let msg = format!("{err:#}");
    let outbox = blocker.join("outbox").display().to_string();
    assert!(msg.contains(&outbox), "{msg}");
}

/// Finding 4: PagerDuty with a routing key per team. Each key's event is attempted whatever
/// another key answered, and a retry goes only to the keys that have not taken theirs: one
/// team's 400 does not dead-letter another team's page, and one key's 503s do not page the
/// other team again on every retry.
#[tokio::test(start_paused = true)]
async fn delivery_hostile_pagerduty_keys_are_delivered_independently() {
    let server = MockServer::start().await;
    let rx = Recorder::mount(&server, "/v2/enqueue", |b, _| {
        let key = b["routing_key"].as_str().unwrap_or_default();
        let incident = b["payload"]["custom_details"]["incident"]
            .as_str()
            .unwrap_or_default();
        match (incident, key) {
            // Incident "flaky": the support key is unavailable for its first two events.
            ("flaky", "k-support-0123") => {
                static FAILS: AtomicU32 = AtomicU32::new(0);
                if FAILS.fetch_add(1, Ordering::SeqCst) < 2 {
                    ResponseTemplate::new(503)
                } else {
                    ResponseTemplate::new(202)
                }
            }
            // Incident "refused": the field-ops key rejects it.
            ("refused", "k-field-0123") => ResponseTemplate::new(400),
            _ => ResponseTemplate::new(202),
        }
    })
    .await;
    let state = tempfile::tempdir().unwrap();
    let text = format!(
        "[[brand]]\nid = \"brightline\"\nterms = [\"brightline\"]\n\
         [delivery]\nstate_dir = {:?}\nbackoff_initial = \"1s\"\nbackoff_max = \"1s\"\n\
         [[sink]]\nid = \"pd\"\ntype = \"pagerduty\"\nteams = [\"field-ops\", \"support\"]\n\
         url = \"{}\"\ntimeout = \"0s\"\n\
         routing_keys = {{ field-ops = \"k-field-0123\", support = \"k-support-0123\" }}\n",
        state.path().display().to_string(),
        server.uri()
    );
    let cfg = config::parse_str(&text, "t.toml", &|_| None).unwrap();
    let d = service::start_delivery(&cfg, Arc::new(Metrics::new(&["brightline"], 10)))
        .unwrap()
        .unwrap();
    // field-ops first: its key is the one the old loop reached first.
    d.notify(&line("flaky", &["field-ops", "support"]))
        .await
        .unwrap();
    d.notify(&line("refused", &["field-ops", "support"]))
        .await
        .unwrap();
    pass(&d, Duration::from_secs(30)).await;
    drain_in_real_time(&d).await;
    let sent = rx.bodies();
    let count = |incident: &str, key: &str| {
        sent.iter()
            .filter(|b| {
                b["payload"]["custom_details"]["incident"] == incident && b["routing_key"] == key
            })
            .count()
    };
    assert_eq!(count("flaky", "k-field-0123"), 1, "paged again on retries");
    assert_eq!(count("flaky", "k-support-0123"), 3);
    assert_eq!(count("refused", "k-field-0123"), 1);
    assert_eq!(
        count("refused", "k-support-0123"),
        1,
        "support's page was lost to field-ops' 400"
    );
    let snap = Outbox::read(&state.path().join("outbox")).unwrap();
    let dead: Vec<&str> = snap
        .dead
        .iter()
        .map(|d| d.entry.alert.incident.as_str())
        .collect();
    assert_eq!(dead, ["refused"], "the rejected line is a dead letter");
    assert!(snap.dead[0].error.contains("field-ops"), "{:?}", snap.dead);
    d.stop();
}

/// A slow client: one receiver refuses every notification (503) while another answers.
/// The slow sink's queue (`queue_capacity = 1`) filled and the dispatcher waited on it, so
/// the answering sink, PagerDuty in production, got nothing more until the slow one
/// recovered (the "one stuck sink holds the others back" limit). Now a full queue leaves the
/// line in the outbox (**Spill**): every `notify` returns, the answering sink gets all lines
/// while the slow one has none, and once the slow receiver recovers it gets each line once
/// from the outbox.
#[tokio::test]
async fn delivery_hostile_a_refusing_sink_holds_back_no_other_sink() {
    let server = MockServer::start().await;
    let open = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let accepted = Arc::new(Mutex::new(Vec::<String>::new()));
    let slow = {
        let (open, accepted) = (Arc::clone(&open), Arc::clone(&accepted));
        Recorder::mount(&server, "/slow", move |b, _| {
            if open.load(Ordering::SeqCst) {
                let incident = b["incident"].as_str().unwrap_or_default().to_string();
                accepted.lock().unwrap().push(incident);
                ResponseTemplate::new(200)
            } else {
                ResponseTemplate::new(503)
            }
        })
        .await
    };
    let fast = Recorder::mount(&server, "/fast", |_, _| ResponseTemplate::new(200)).await;
    let state = tempfile::tempdir().unwrap();
    let sink = |id: &str| {
        format!(
            "[[sink]]\nid = \"{id}\"\ntype = \"webhook\"\nteams = []\nurl = \"{}/{id}\"\n\
             secret = \"s-0123456789\"\ntimeout = \"5s\"\n",
            server.uri()
        )
    };
    let text = format!(
        "[[brand]]\nid = \"brightline\"\nterms = [\"brightline\"]\n\
         [delivery]\nstate_dir = {:?}\nqueue_capacity = 1\n\
         backoff_initial = \"5ms\"\nbackoff_max = \"20ms\"\n{}{}",
        state.path().display().to_string(),
        sink("slow"),
        sink("fast")
    );
    let cfg = config::parse_str(&text, "t.toml", &|_| None).unwrap();
    let metrics = Arc::new(Metrics::new(&["brightline"], 10));
    let d = service::start_delivery(&cfg, Arc::clone(&metrics))
        .unwrap()
        .unwrap();
    // Eight lines: below flood control's grouping, so each is its own notification.
    let incidents: Vec<String> = (1..=8).map(|i| format!("s{i:02}")).collect();
    for i in &incidents {
        tokio::time::timeout(Duration::from_secs(10), d.notify(&line(i, &["support"])))
            .await
            .unwrap_or_else(|_| panic!("notify of {i} waited on the refusing sink's full queue"))
            .unwrap();
    }
    // Everything but the slow sink's eight is delivered, while the slow receiver refuses.
    tokio::time::timeout(Duration::from_secs(30), d.wait_pending(incidents.len()))
        .await
        .expect("the answering sink drains while the other refuses");
    let to_fast: Vec<String> = fast
        .bodies()
        .iter()
        .map(|b| b["incident"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(
        to_fast, incidents,
        "the answering sink got every line, in order"
    );
    assert!(accepted.lock().unwrap().is_empty());
    assert!(!slow.bodies().is_empty(), "the slow receiver was tried");
    let spilled = metrics
        .sink_queue_spilled_total
        .with_label_values(&["slow"])
        .get();
    // At most one line in the worker's queue and one in the channel; the rest wait on disk.
    assert!(
        spilled >= 6,
        "lines left in the outbox are counted: {spilled}"
    );

    // The slow receiver recovers: each line once, from the outbox.
    open.store(true, Ordering::SeqCst);
    tokio::time::timeout(Duration::from_secs(30), d.drain())
        .await
        .expect("the spilled lines drain once the receiver answers");
    let mut got = accepted.lock().unwrap().clone();
    got.sort();
    assert_eq!(got, incidents, "each line delivered once");
    d.stop();
}

/// Found in review: while a sink was spilled, a failed read of the outbox (here its log is
/// briefly not a readable file) by an idle worker was never tried again: nothing else wakes
/// it, so the spilled lines waited for a restart. The read is now retried with backoff.
#[tokio::test]
async fn delivery_hostile_a_failed_read_of_the_spilled_lines_is_retried() {
    let server = MockServer::start().await;
    let open = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let slow = {
        let open = Arc::clone(&open);
        Recorder::mount(&server, "/slow", move |_, _| {
            if open.load(Ordering::SeqCst) {
                ResponseTemplate::new(200)
            } else {
                ResponseTemplate::new(503)
            }
        })
        .await
    };
    let state = tempfile::tempdir().unwrap();
    let cfg = hook_config(
        state.path(),
        &format!("{}/slow", server.uri()),
        "queue_capacity = 1\nbackoff_initial = \"5ms\"\nbackoff_max = \"20ms\"",
    );
    let d = service::start_delivery(&cfg, Arc::new(Metrics::new(&["brightline"], 10)))
        .unwrap()
        .unwrap();
    for i in 1..=6 {
        d.notify(&line(&format!("s{i:02}"), &["support"]))
            .await
            .unwrap();
    }
    // The sink is spilled and retries the one line it holds; wait until it was tried.
    while slow.bodies().is_empty() {
        tokio::task::yield_now().await;
    }
    let log = state.path().join("outbox").join("outbox.ndjson");
    let aside = state.path().join("outbox").join("aside.ndjson");
    assert!(log.try_exists().unwrap(), "{}", log.display());
    std::fs::rename(&log, &aside).unwrap();
    std::fs::create_dir(&log).unwrap();
    open.store(true, Ordering::SeqCst);
    // The held line is delivered; the idle worker cannot read the outbox.
    tokio::time::timeout(Duration::from_secs(10), d.wait_pending(5))
        .await
        .unwrap();
    std::fs::remove_dir(&log).unwrap();
    std::fs::rename(&aside, &log).unwrap();
    tokio::time::timeout(Duration::from_secs(30), d.drain())
        .await
        .expect("the spilled lines are read again and delivered");
    d.stop();
}
