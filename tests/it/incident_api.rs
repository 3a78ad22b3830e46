//! The incident JSON API as Grafana sees it: a real server on port 0 serving `/api/*` merged
//! with the telemetry router, fed through the incident board.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use flashpoint::alert::BoardFeed;
use flashpoint::alert::{Action, AlertMetrics, AlertRecord, TopPost};
use flashpoint::app::replay::Input;
use flashpoint::app::{replay, Speed};
use flashpoint::domain::{Category, Severity};
use flashpoint::telemetry::{api_router, http, serve_router, IncidentBoard, Metrics};
use serde_json::Value;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::support::{demo_config, http_get, options};

fn alert(action: Action, severity: Severity, at: &str, post: &str) -> AlertRecord {
    AlertRecord {
        at: at.into(),
        action,
        incident: "acme-20260301-0001".into(),
        brand: "acme".into(),
        severity,
        category: Category::Conduct,
        teams: vec!["field-ops".into()],
        summary: format!("acme {}", action.as_str()),
        metrics: AlertMetrics {
            mentions: 40,
            rate_per_min: 3.0,
            baseline_per_min: 0.2,
            ..AlertMetrics::default()
        },
        top_posts: vec![TopPost {
            id: post.into(),
            text: "the technician was drinking".into(),
            author: "@jo".into(),
            followers: 3100,
            url: None,
        }],
        terms: vec!["drinking".into()],
        dedup_key: "flashpoint/acme/acme-20260301-0001".into(),
        why: String::new(),
    }
}

async fn json(addr: std::net::SocketAddr, path: &str) -> (u16, Value) {
    let (status, body) = http_get(addr, path).await;
    (status, serde_json::from_str(&body).unwrap_or(Value::Null))
}

#[tokio::test]
async fn incident_api_lists_active_then_recent_and_404s_unknown() {
    let metrics = Arc::new(Metrics::new(&["acme"], 10));
    let board = Arc::new(IncidentBoard::new(
        vec![("acme".into(), "Acme".into()), ("zed".into(), "Zed".into())],
        Some(Arc::clone(&metrics)),
        10,
    ));
    let app = http::router(Arc::clone(&metrics), Arc::new(AtomicBool::new(true)))
        .merge(api_router(Arc::clone(&board)));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let shutdown = CancellationToken::new();
    let server = tokio::spawn(serve_router(listener, app, shutdown.clone()));

    let (status, v) = json(addr, "/api/incidents").await;
    assert_eq!(status, 200);
    assert_eq!(v["active"].as_array().map(Vec::len), Some(0));
    assert_eq!(v["recent"].as_array().map(Vec::len), Some(0));

    board.apply(&alert(
        Action::Trigger,
        Severity::Info,
        "2026-03-01T10:00:00Z",
        "p1",
    ));
    let (_, v) = json(addr, "/api/incidents").await;
    let active = v["active"].as_array().unwrap();
    assert_eq!(active.len(), 1);
    assert_eq!(active[0]["id"], "acme-20260301-0001");
    assert_eq!(active[0]["status"], "active");
    assert_eq!(active[0]["top_posts"][0]["id"], "p1");

    board.apply(&alert(
        Action::Escalate,
        Severity::Error,
        "2026-03-01T10:20:00Z",
        "p2",
    ));
    let (status, one) = json(addr, "/api/incidents/acme-20260301-0001").await;
    assert_eq!(status, 200);
    assert_eq!(one["severity"], "error");
    assert_eq!(one["top_posts"][0]["id"], "p2", "latest evidence wins");
    assert_eq!(one["timeline"].as_array().map(Vec::len), Some(2));

    let (_, brands) = json(addr, "/api/brands").await;
    assert_eq!(brands[0]["id"], "acme");
    assert_eq!(brands[0]["active_incidents"][0], "acme-20260301-0001");
    assert_eq!(brands[0]["rate_per_minute"], Value::Null);
    metrics
        .brand_rate_per_minute
        .with_label_values(&["acme"])
        .set(2.5);
    let (_, brands) = json(addr, "/api/brands").await;
    assert_eq!(brands[0]["rate_per_minute"], 2.5);
    assert_eq!(
        brands[1]["label"], "__other__",
        "zed has no label of its own"
    );
    assert_eq!(brands[1]["rate_per_minute"], Value::Null);

    board.apply(&alert(
        Action::Resolve,
        Severity::Error,
        "2026-03-01T12:00:00Z",
        "p2",
    ));
    let (_, v) = json(addr, "/api/incidents").await;
    assert_eq!(v["active"].as_array().map(Vec::len), Some(0));
    let recent = v["recent"].as_array().unwrap();
    assert_eq!(recent.len(), 1);
    assert_eq!(recent[0]["status"], "resolved");
    assert_eq!(recent[0]["resolved_at"], "2026-03-01T12:00:00Z");
    assert_eq!(recent[0]["peak_severity"], "error");
    let actions: Vec<&str> = recent[0]["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["trigger", "escalate", "resolve"]);

    let (status, v) = json(addr, "/api/incidents/nope-20260301-0001").await;
    assert_eq!(status, 404);
    assert_eq!(v["id"], "nope-20260301-0001");
    let (status, body) = http_get(addr, "/metrics").await;
    assert_eq!(status, 200, "the merged router still serves /metrics");
    assert!(body.contains("flashpoint_brand_rate_per_minute{brand=\"acme\"} 2.5"));

    shutdown.cancel();
    server.await.unwrap().unwrap();
}

#[tokio::test]
async fn incident_board_fed_by_a_demo_replay_holds_the_misconduct_incident() {
    let cfg = demo_config();
    let board = Arc::new(IncidentBoard::for_config(&cfg, None));
    let mut opts = options(Speed::Max, None);
    opts.notifiers = vec![Arc::new(BoardFeed::new(Arc::clone(&board)))];
    let summary = replay(
        cfg,
        Input::Bytes(flashpoint::app::demo::DEMO_SAMPLE),
        opts,
        None,
    )
    .await
    .unwrap();
    let list = board.incidents();
    assert!(list.active.is_empty(), "every demo incident resolves");
    let ids: Vec<&str> = list.recent.iter().map(|v| v.id.as_str()).collect();
    let incidents: std::collections::BTreeSet<&str> =
        summary.alerts.iter().map(|a| a.incident.as_str()).collect();
    assert_eq!(ids.len(), incidents.len(), "{ids:?}");
    let brightline = list
        .recent
        .iter()
        .find(|v| v.brand == "brightline")
        .expect("the misconduct incident");
    assert_eq!(brightline.peak_severity, Severity::Critical);
    assert!(brightline.teams.contains(&String::from("field-ops")));
    assert!(!brightline.top_posts.is_empty());
    let lines = summary
        .alerts
        .iter()
        .filter(|a| a.incident == brightline.id)
        .count();
    assert_eq!(brightline.timeline.len(), lines);
}
