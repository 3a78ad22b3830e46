//! Dashboards, rules and /metrics checked against each other, offline: every Grafana dashboard
//! has the fields Grafana needs, every PromQL expression parses, every metric name a dashboard
//! or rule uses is served by a real demo replay, every JSON-API panel reads fields the API
//! really returns. With Debian's `prometheus` package on PATH, `promtool` checks /metrics and
//! the rules, and a real Prometheus scrapes an in-process flashpoint and answers a query.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, OnceLock};

use flashpoint::alert::blackhole::Blackhole;
use flashpoint::alert::Metered;
use flashpoint::app::replay::Input;
use flashpoint::app::{replay, ReplaySummary, Speed};
use flashpoint::telemetry::{http, IncidentBoard, Metrics};
use promql_parser::parser::{self, Expr};
use serde_json::Value;
use yaml_rust2::{Yaml, YamlLoader};

use crate::support::{demo_config, http_get, options};

/// Series Prometheus adds itself, which no /metrics output holds.
const SYNTHETIC: &[&str] = &["up"];
/// The provisioned datasources' uids.
const PROMETHEUS_UID: &str = "flashpoint-prometheus";
const API_UID: &str = "flashpoint-api";
/// What panels reference instead (issue 19.4): the dashboards' datasource variables, so they
/// import into any Grafana without JSON edits.
const PROMETHEUS_DS: &str = "${prometheus}";
const API_DS: &str = "${api}";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The demo's metrics and alerts after a full replay, wired as `flashpoint demo` wires them
/// (the console notifier metered as sink "console"), computed once per test binary.
fn demo() -> &'static (Arc<Metrics>, ReplaySummary) {
    static DEMO: OnceLock<(Arc<Metrics>, ReplaySummary)> = OnceLock::new();
    DEMO.get_or_init(|| {
        std::thread::spawn(|| {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                let cfg = demo_config();
                let ids: Vec<&str> = cfg.brands.iter().map(|b| b.id.as_str()).collect();
                let metrics = Arc::new(Metrics::new(&ids, 1000));
                let mut opts = options(Speed::Max, None);
                opts.notifiers = vec![Arc::new(Metered::new(
                    Arc::new(Blackhole::new("console", Vec::new())),
                    Arc::clone(&metrics),
                ))];
                let summary = replay(
                    Arc::clone(&cfg),
                    Input::Bytes(flashpoint::app::demo::DEMO_SAMPLE),
                    opts,
                    Some(Arc::clone(&metrics)),
                )
                .await
                .unwrap();
                (metrics, summary)
            })
        })
        .join()
        .unwrap()
    })
}

/// Metric names in a text exposition (sample lines, so `_sum`/`_count` count too).
fn exposed_names(text: &str) -> BTreeSet<String> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .filter_map(|l| l.split(['{', ' ']).next())
        .map(str::to_string)
        .collect()
}

fn dashboards() -> Vec<(String, Value)> {
    let dir = root().join("dashboards/grafana");
    let mut out: Vec<(String, Value)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .map(|p| {
            let text = std::fs::read_to_string(&p).unwrap();
            let v: Value = serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("{}: not JSON: {e}", p.display()));
            (p.file_name().unwrap().to_string_lossy().into_owned(), v)
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

fn yaml(path: &Path) -> Yaml {
    let text = std::fs::read_to_string(path).unwrap();
    let mut docs = YamlLoader::load_from_str(&text)
        .unwrap_or_else(|e| panic!("{}: not YAML: {e}", path.display()));
    assert_eq!(docs.len(), 1, "{}: one document", path.display());
    docs.remove(0)
}

fn panels(dashboard: &Value) -> Vec<&Value> {
    fn walk<'a>(panels: &'a Value, out: &mut Vec<&'a Value>) {
        for p in panels.as_array().into_iter().flatten() {
            out.push(p);
            walk(&p["panels"], out);
        }
    }
    let mut out = Vec::new();
    walk(&dashboard["panels"], &mut out);
    out
}

/// Replaces Grafana's `$var` / `${var}` references with values PromQL accepts.
fn substitute(expr: &str) -> String {
    let mut out = String::new();
    let mut rest = expr;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let tail = &rest[i + 1..];
        let (name, after) = if let Some(t) = tail.strip_prefix('{') {
            let end = t.find('}').unwrap_or(t.len());
            (&t[..end], &t[(end + 1).min(t.len())..])
        } else {
            let end = tail
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(tail.len());
            (&tail[..end], &tail[end..])
        };
        out.push_str(if name.starts_with("__") { "5m" } else { "x" });
        rest = after;
    }
    out.push_str(rest);
    out
}

fn metric_names(expr: &Expr, out: &mut BTreeSet<String>) {
    match expr {
        Expr::Aggregate(a) => {
            metric_names(&a.expr, out);
            if let Some(p) = &a.param {
                metric_names(p, out);
            }
        }
        Expr::Unary(u) => metric_names(&u.expr, out),
        Expr::Binary(b) => {
            metric_names(&b.lhs, out);
            metric_names(&b.rhs, out);
        }
        Expr::Paren(p) => metric_names(&p.expr, out),
        Expr::Subquery(s) => metric_names(&s.expr, out),
        Expr::VectorSelector(v) => out.extend(v.name.clone()),
        Expr::MatrixSelector(m) => out.extend(m.vs.name.clone()),
        Expr::Call(c) => c.args.args.iter().for_each(|a| metric_names(a, out)),
        Expr::NumberLiteral(_) | Expr::StringLiteral(_) | Expr::Extension(_) => {}
    }
}

/// Parses `expr` (after substitution) and returns its metric names.
fn promql_names(expr: &str, origin: &str) -> BTreeSet<String> {
    let parsed = parser::parse(&substitute(expr))
        .unwrap_or_else(|e| panic!("{origin}: PromQL does not parse: {expr}\n{e}"));
    let mut names = BTreeSet::new();
    metric_names(&parsed, &mut names);
    assert!(!names.is_empty(), "{origin}: no metric in {expr}");
    names
}

/// Every PromQL expression of the dashboards, with where it came from.
fn dashboard_exprs() -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (file, d) in dashboards() {
        for p in panels(&d) {
            let panel_ds = p["datasource"]["uid"].as_str().unwrap_or_default();
            for t in p["targets"].as_array().into_iter().flatten() {
                let ds = t["datasource"]["uid"].as_str().unwrap_or(panel_ds);
                if ds == PROMETHEUS_DS {
                    let expr = t["expr"].as_str().unwrap_or_else(|| {
                        panic!("{file}: panel {:?} target without expr", p["title"])
                    });
                    out.push((format!("{file}: {}", p["title"]), expr.to_string()));
                }
            }
        }
        for a in d["annotations"]["list"].as_array().into_iter().flatten() {
            if let Some(expr) = a["expr"].as_str() {
                out.push((
                    format!("{file}: annotation {}", a["name"]),
                    expr.to_string(),
                ));
            }
        }
    }
    out
}

fn rules() -> Vec<(String, String)> {
    let doc = yaml(&root().join("config/prometheus/flashpoint.rules.yml"));
    let mut out = Vec::new();
    for g in doc["groups"].as_vec().unwrap() {
        for r in g["rules"].as_vec().unwrap() {
            let name = r["alert"]
                .as_str()
                .expect("every rule is an alert")
                .to_string();
            assert!(
                r["labels"]["severity"].as_str().is_some(),
                "{name}: severity label"
            );
            assert!(
                r["annotations"]["summary"].as_str().is_some(),
                "{name}: summary"
            );
            out.push((name, r["expr"].as_str().unwrap().to_string()));
        }
    }
    out
}

#[test]
fn dashboards_have_the_fields_grafana_requires() {
    let all = dashboards();
    let titles: Vec<&str> = all
        .iter()
        .filter_map(|(_, d)| d["title"].as_str())
        .collect();
    for want in ["Brand overview", "Incident", "Pipeline health"] {
        assert!(
            titles.iter().any(|t| t.ends_with(want)),
            "no {want:?} dashboard in {titles:?}"
        );
    }
    let mut uids = BTreeSet::new();
    for (file, d) in &all {
        let uid = d["uid"].as_str().unwrap_or_else(|| panic!("{file}: uid"));
        assert!(uid.len() <= 40, "{file}: Grafana uids are at most 40 chars");
        assert!(uids.insert(uid.to_string()), "{file}: duplicate uid {uid}");
        assert!(
            d["title"].as_str().is_some_and(|t| !t.is_empty()),
            "{file}: title"
        );
        assert!(
            d["schemaVersion"].as_u64().is_some(),
            "{file}: schemaVersion"
        );
        let ps = panels(d);
        assert!(!ps.is_empty(), "{file}: panels");
        let mut ids = BTreeSet::new();
        for p in ps {
            let title = p["title"]
                .as_str()
                .unwrap_or_else(|| panic!("{file}: untitled panel"));
            assert!(
                p["id"].as_u64().is_some_and(|id| ids.insert(id)),
                "{file}: {title}: unique id"
            );
            assert!(p["type"].as_str().is_some(), "{file}: {title}: type");
            assert!(
                p["gridPos"]["w"].as_u64().is_some(),
                "{file}: {title}: gridPos"
            );
            let ds = p["datasource"]["uid"].as_str();
            assert!(
                ds == Some(PROMETHEUS_DS) || ds == Some(API_DS),
                "{file}: {title}: datasource {ds:?}"
            );
            let targets = p["targets"]
                .as_array()
                .unwrap_or_else(|| panic!("{file}: {title}: targets"));
            assert!(!targets.is_empty(), "{file}: {title}: no targets");
            for t in targets {
                assert!(t["refId"].as_str().is_some(), "{file}: {title}: refId");
            }
        }
    }
    let brand = &all
        .iter()
        .find(|(_, d)| {
            d["title"]
                .as_str()
                .is_some_and(|t| t.ends_with("Brand overview"))
        })
        .unwrap()
        .1;
    let vars: Vec<&str> = brand["templating"]["list"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v["name"].as_str())
        .collect();
    assert!(
        vars.contains(&"brand"),
        "Brand overview has a $brand variable"
    );
}

#[test]
fn dashboards_and_rules_use_only_metrics_a_demo_serves() {
    let text = demo().0.encode_text();
    let served = exposed_names(&text);
    let mut used = BTreeSet::new();
    let exprs = dashboard_exprs();
    assert!(
        exprs.len() >= 30,
        "only {} PromQL expressions found",
        exprs.len()
    );
    for (origin, expr) in exprs.iter().chain(&rules()) {
        used.extend(promql_names(expr, origin));
    }
    // Variables: label_values(metric, label).
    for (file, d) in dashboards() {
        for v in d["templating"]["list"].as_array().into_iter().flatten() {
            if let Some(q) = v["query"]["query"].as_str() {
                let inner = q
                    .strip_prefix("label_values(")
                    .and_then(|q| q.split(',').next())
                    .unwrap_or_else(|| panic!("{file}: variable query {q}"));
                used.insert(inner.trim().to_string());
            }
        }
    }
    let missing: Vec<&String> = used
        .iter()
        .filter(|n| !served.contains(*n) && !SYNTHETIC.contains(&n.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "not in the demo's /metrics: {missing:?}"
    );
    // Every family served is used somewhere (a family nobody charts is a family to question).
    let families: BTreeSet<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split(' ').next())
        .collect();
    let unused: Vec<&&str> = families
        .iter()
        .filter(|f| {
            !used
                .iter()
                .any(|u| u == *f || u.starts_with(&format!("{f}_")))
        })
        .collect();
    assert!(
        unused.is_empty(),
        "families no dashboard or rule uses: {unused:?}"
    );
}

#[test]
fn every_family_has_help_and_the_issue_7_families_are_served() {
    let text = demo().0.encode_text();
    let families: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split(' ').next())
        .collect();
    for f in &families {
        assert!(f.starts_with("flashpoint_"), "{f}");
        assert!(text.contains(&format!("# HELP {f} ")), "{f} has no help");
    }
    for want in [
        "flashpoint_source_connected{source=\"archive\"} 0",
        "flashpoint_source_reconnects_total{source=\"archive\"} 0",
        "flashpoint_sink_failed_total{reason=\"unavailable\",sink=\"console\"} 0",
        "flashpoint_sink_outbox_depth{sink=\"console\"} 0",
    ] {
        assert!(text.contains(want), "missing {want}");
    }
    let (metrics, summary) = demo();
    let sent = metrics
        .sink_sent_total
        .with_label_values(&["console"])
        .get();
    assert_eq!(sent, summary.alerts.len() as u64, "console sent = alerts");
    assert!(metrics.pipeline_event_time_lag_seconds.get() > 0.0);
    assert!(
        metrics
            .source_cursor_age_seconds
            .with_label_values(&["archive"])
            .get()
            > 0.0
    );
    let p99 = metrics
        .sink_delivery_latency_seconds
        .with_label_values(&["console", "0.99"])
        .get();
    assert!(p99 > 0.0, "{p99}");
}

#[test]
fn api_panels_read_fields_the_api_returns() {
    let (_, summary) = demo();
    let board = IncidentBoard::for_config(&demo_config(), None);
    summary.alerts.iter().for_each(|a| board.apply(a));
    let list = serde_json::to_value(board.incidents()).unwrap();
    let one = list["recent"][0].clone();
    assert!(one.is_object(), "the demo resolves incidents");
    let mut checked = 0;
    for (file, d) in dashboards() {
        for p in panels(&d) {
            for t in p["targets"].as_array().into_iter().flatten() {
                if t["datasource"]["uid"].as_str() != Some(API_DS) {
                    continue;
                }
                let url = t["url"].as_str().unwrap();
                let doc = match url {
                    "/api/incidents" => &list,
                    u if u.starts_with("/api/incidents/") => &one,
                    u => panic!("{file}: unknown API url {u}"),
                };
                let root = t["root_selector"].as_str().unwrap();
                let node = &doc[root];
                assert!(!node.is_null(), "{file}: {url} has no {root:?}");
                // Arrays are checked against one element (an incident or a list entry).
                let row = match node {
                    Value::Array(rows) if root == "active" || root == "recent" => &one,
                    Value::Array(rows) => rows.first().unwrap_or(&Value::Null),
                    other => other,
                };
                for c in t["columns"].as_array().unwrap() {
                    let sel = c["selector"].as_str().unwrap();
                    assert!(
                        row.get(sel).is_some(),
                        "{file}: {url} {root}: no field {sel:?} in {row}"
                    );
                    checked += 1;
                }
            }
        }
    }
    assert!(checked >= 30, "only {checked} API columns checked");
}

#[test]
fn provisioning_points_grafana_at_the_dashboards_and_datasources() {
    let ds = yaml(&root().join("dashboards/provisioning/datasources/flashpoint.yaml"));
    let uids: Vec<(&str, &str)> = ds["datasources"]
        .as_vec()
        .unwrap()
        .iter()
        .map(|d| (d["uid"].as_str().unwrap(), d["type"].as_str().unwrap()))
        .collect();
    assert!(uids.contains(&(PROMETHEUS_UID, "prometheus")), "{uids:?}");
    assert!(
        uids.contains(&(API_UID, "yesoreyeram-infinity-datasource")),
        "{uids:?}"
    );
    let dash = yaml(&root().join("dashboards/provisioning/dashboards/flashpoint.yaml"));
    let provider = &dash["providers"][0];
    assert_eq!(provider["type"].as_str(), Some("file"));
    assert!(provider["options"]["path"].as_str().is_some());
    // Panels name datasource variables; provisioned, each resolves to the datasource of its
    // plugin type that the provisioning adds.
    for (file, d) in dashboards() {
        for v in d["templating"]["list"].as_array().unwrap() {
            if v["type"] == "datasource" {
                let plugin = v["query"].as_str().unwrap();
                assert!(
                    uids.iter().any(|(_, t)| *t == plugin),
                    "{file}: ${}: no provisioned {plugin} datasource",
                    v["name"]
                );
            }
        }
    }
    let prom = yaml(&root().join("config/prometheus/prometheus.yml"));
    assert_eq!(
        prom["scrape_configs"][0]["job_name"].as_str(),
        Some("flashpoint"),
        "the rules' up{{job=\"flashpoint\"}} needs this job name"
    );
}

#[test]
fn promql_names_are_extracted_and_bad_queries_fail() {
    let names = promql_names(
        "sum by (brand) (rate(flashpoint_a_total{brand=~\"$brand\"}[$__rate_interval])) / clamp_min(flashpoint_b, 1)",
        "test",
    );
    assert_eq!(
        names.into_iter().collect::<Vec<_>>(),
        ["flashpoint_a_total", "flashpoint_b"]
    );
    assert!(parser::parse("sum by (brand (rate(x[5m]))").is_err());
}

// ---- with Debian's prometheus package -------------------------------------------------------

fn tool(name: &str) -> Option<PathBuf> {
    let ok = std::process::Command::new(name)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        eprintln!("skipping: `{name}` is not on PATH (apt-get install prometheus)");
    }
    ok.then(|| PathBuf::from(name))
}

#[test]
fn promtool_checks_metrics_and_rules() {
    let Some(promtool) = tool("promtool") else {
        return;
    };
    use std::io::Write;
    let mut child = std::process::Command::new(&promtool)
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(demo().0.encode_text().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let problems = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success() && problems.trim().is_empty(),
        "promtool check metrics:\n{problems}"
    );

    let out = std::process::Command::new(&promtool)
        .args(["check", "rules"])
        .arg(root().join("config/prometheus/flashpoint.rules.yml"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "promtool check rules:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Kills the child process when dropped (a failed assertion must not leak a Prometheus).
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _killed = self.0.kill();
        let _reaped = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_prometheus_scrapes_flashpoint_and_answers_a_query() {
    let Some(prometheus) = tool("prometheus") else {
        return;
    };
    use std::io::BufRead;
    use tokio::sync::{mpsc, watch};

    let metrics = Arc::clone(&demo().0);
    let processed = metrics.pipeline_mentions_processed_total.get();
    assert!(processed > 0);
    // flashpoint on port 0, counting scrapes: once scrape n+1 has begun, scrape n is stored.
    let (scrapes_tx, mut scrapes) = watch::channel(0u64);
    let app = http::router(Arc::clone(&metrics), Arc::new(AtomicBool::new(true))).layer(
        axum::middleware::from_fn(
            move |req: axum::extract::Request, next: axum::middleware::Next| {
                if req.uri().path() == "/metrics" {
                    scrapes_tx.send_modify(|n| *n += 1);
                }
                next.run(req)
            },
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let target = listener.local_addr().unwrap();
    let shutdown = tokio_util::sync::CancellationToken::new();
    let server = tokio::spawn(flashpoint::telemetry::serve_router(
        listener,
        app,
        shutdown.clone(),
    ));

    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: flashpoint\n    static_configs:\n      - targets: [\"{target}\"]\n"
        ),
    )
    .unwrap();
    let mut child = std::process::Command::new(prometheus)
        .arg(format!("--config.file={}", config.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.path().join("data").display()
        ))
        .arg("--web.listen-address=127.0.0.1:0")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let child = KillOnDrop(child);
    // Prometheus logs the port it bound: `msg="Listening on" address=127.0.0.1:PORT`.
    let (addr_tx, mut addr_rx) = mpsc::channel::<std::net::SocketAddr>(1);
    let log = std::thread::spawn(move || {
        let mut lines = Vec::new();
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            if line.contains("msg=\"Listening on\"") {
                if let Some(a) = line
                    .split("address=")
                    .nth(1)
                    .and_then(|a| a.trim().parse().ok())
                {
                    let _sent = addr_tx.blocking_send(a);
                }
            }
            lines.push(line);
        }
        lines
    });
    let within = std::time::Duration::from_secs(60);
    let api = tokio::time::timeout(within, addr_rx.recv())
        .await
        .expect("prometheus did not start listening")
        .expect("prometheus exited before listening");

    let query = "/api/v1/query?query=flashpoint_pipeline_mentions_processed_total%7Bjob%3D%22flashpoint%22%7D";
    let mut answer = Value::Null;
    for attempt in 0..30u64 {
        // Wait for the next scrape to begin, so the previous one is in the TSDB.
        tokio::time::timeout(within, scrapes.wait_for(|n| *n >= attempt + 2))
            .await
            .expect("prometheus stopped scraping")
            .unwrap();
        let (status, body) = http_get(api, query).await;
        if status != 200 {
            continue; // not ready yet (503)
        }
        answer = serde_json::from_str(&body).unwrap();
        if answer["data"]["result"]
            .as_array()
            .is_some_and(|r| !r.is_empty())
        {
            break;
        }
    }
    assert_eq!(answer["status"], "success", "{answer}");
    let result = &answer["data"]["result"][0];
    assert_eq!(result["metric"]["instance"], target.to_string());
    assert_eq!(result["value"][1], processed.to_string(), "{answer}");

    drop(child);
    let _log = log.join();
    shutdown.cancel();
    server.await.unwrap().unwrap();
}

/// Every datasource reference in `v`, at any depth, with where it is.
fn datasource_refs<'a>(v: &'a Value, at: String, out: &mut Vec<(String, &'a Value)>) {
    match v {
        Value::Object(m) => {
            for (k, child) in m {
                if k == "datasource" {
                    out.push((at.clone(), child));
                } else {
                    datasource_refs(child, format!("{at}.{k}"), out);
                }
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                datasource_refs(child, format!("{at}[{i}]"), out);
            }
        }
        _ => {}
    }
}

/// Issue 19.4: each dashboard imports into an existing Grafana without JSON edits. It
/// declares `__inputs` for its datasources and a datasource variable for each, and no panel,
/// target, variable or annotation names a datasource uid directly.
#[test]
fn issue_19_dashboards_import_anywhere_through_datasource_variables() {
    for (file, d) in dashboards() {
        let inputs: Vec<(&str, &str)> = d["__inputs"]
            .as_array()
            .unwrap_or_else(|| panic!("{file}: no __inputs"))
            .iter()
            .map(|i| {
                assert_eq!(i["type"], "datasource", "{file}: {i}");
                (i["name"].as_str().unwrap(), i["pluginId"].as_str().unwrap())
            })
            .collect();
        let vars = d["templating"]["list"].as_array().unwrap();
        let ds_var = |name: &str, plugin: &str| {
            vars.iter()
                .find(|v| v["type"] == "datasource" && v["name"] == name && v["query"] == plugin)
        };
        let mut refs = Vec::new();
        datasource_refs(&d, file.clone(), &mut refs);
        assert!(!refs.is_empty(), "{file}: no datasource references");
        for (at, r) in refs {
            let uid = r["uid"]
                .as_str()
                .unwrap_or_else(|| panic!("{at}: datasource without uid"));
            let plugin = match uid {
                PROMETHEUS_DS => "prometheus",
                API_DS => "yesoreyeram-infinity-datasource",
                "-- Grafana --" => continue,
                other => panic!("{at}: datasource uid {other:?} is hard-coded; use a variable"),
            };
            let name = &uid[2..uid.len() - 1];
            let var = ds_var(name, plugin)
                .unwrap_or_else(|| panic!("{file}: no datasource variable ${name} ({plugin})"));
            let input = inputs
                .iter()
                .find(|(_, p)| *p == plugin)
                .unwrap_or_else(|| panic!("{file}: no __inputs entry for {plugin}"));
            assert_eq!(
                var["current"]["value"].as_str(),
                Some(format!("${{{}}}", input.0).as_str()),
                "{file}: ${name} defaults to the imported datasource"
            );
        }
    }
}

/// The side of a panel's axis (`custom.axisPlacement`; Grafana's `auto` is the left).
fn placement(custom: Option<&str>) -> &str {
    match custom {
        None | Some("auto") | Some("left") => "left",
        Some(other) => other,
    }
}

/// Time units Grafana knows, for telling durations from other quantities.
const TIME_UNITS: &[&str] = &[
    "ns",
    "µs",
    "ms",
    "s",
    "m",
    "h",
    "d",
    "dtdurations",
    "dtdhms",
];

/// Issue 19.4: every panel has a unit, and no axis mixes units: a panel whose series have
/// different units (a 0–1 share and a duration, counts and rates) puts each unit on its own
/// axis through an override with `custom.axisPlacement`.
#[test]
fn issue_19_every_panel_has_a_unit_and_each_axis_one_unit() {
    for (file, d) in dashboards() {
        for p in panels(&d) {
            let title = p["title"].as_str().unwrap_or_default();
            let defaults = &p["fieldConfig"]["defaults"];
            let unit = defaults["unit"]
                .as_str()
                .filter(|u| !u.is_empty())
                .unwrap_or_else(|| panic!("{file}: {title}: no unit"));
            let mut axes: Vec<(&str, &str)> = vec![(
                placement(defaults["custom"]["axisPlacement"].as_str()),
                unit,
            )];
            for o in p["fieldConfig"]["overrides"]
                .as_array()
                .into_iter()
                .flatten()
            {
                let prop = |id: &str| {
                    o["properties"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .find(|pr| pr["id"] == id)
                        .and_then(|pr| pr["value"].as_str())
                };
                if let Some(u) = prop("unit") {
                    axes.push((placement(prop("custom.axisPlacement")), u));
                }
            }
            for (i, (side, u)) in axes.iter().enumerate() {
                for (side2, u2) in &axes[i + 1..] {
                    assert!(
                        side != side2 || u == u2,
                        "{file}: {title}: units {u} and {u2} share the {side} axis"
                    );
                }
            }
            // A share is never scaled into a duration's axis (the old `doubling / 3600` on a
            // 0–1 share axis).
            let shares = axes.iter().any(|(_, u)| *u == "percentunit");
            let times = axes.iter().any(|(_, u)| TIME_UNITS.contains(u));
            if shares && times {
                assert!(
                    axes.len() > 1,
                    "{file}: {title}: share and time on one axis"
                );
            }
            for t in p["targets"].as_array().into_iter().flatten() {
                let expr = t["expr"].as_str().unwrap_or_default();
                assert!(
                    !expr.contains("/ 3600"),
                    "{file}: {title}: scale durations with a unit, not in PromQL: {expr}"
                );
            }
        }
    }
}

/// Issue 19.4: pipeline health has an `$instance` variable (several flashpoint processes
/// behind one Prometheus) and every selector in every query is filtered by it.
#[test]
fn issue_19_pipeline_health_filters_every_query_by_instance() {
    fn selectors(expr: &Expr, out: &mut Vec<promql_parser::parser::VectorSelector>) {
        match expr {
            Expr::Aggregate(a) => selectors(&a.expr, out),
            Expr::Unary(u) => selectors(&u.expr, out),
            Expr::Binary(b) => {
                selectors(&b.lhs, out);
                selectors(&b.rhs, out);
            }
            Expr::Paren(p) => selectors(&p.expr, out),
            Expr::Subquery(s) => selectors(&s.expr, out),
            Expr::VectorSelector(v) => out.push(v.clone()),
            Expr::MatrixSelector(m) => out.push(m.vs.clone()),
            Expr::Call(c) => c.args.args.iter().for_each(|a| selectors(a, out)),
            Expr::NumberLiteral(_) | Expr::StringLiteral(_) | Expr::Extension(_) => {}
        }
    }
    let (file, d) = dashboards()
        .into_iter()
        .find(|(f, _)| f == "pipeline-health.json")
        .unwrap();
    let var = d["templating"]["list"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == "instance")
        .unwrap_or_else(|| panic!("{file}: no $instance variable"));
    assert_eq!(var["datasource"]["uid"], PROMETHEUS_DS);
    assert_eq!(var["includeAll"], true);
    let mut checked = 0;
    for p in panels(&d) {
        for t in p["targets"].as_array().into_iter().flatten() {
            let expr = t["expr"].as_str().unwrap();
            let parsed = parser::parse(
                &expr
                    .replace("$instance", "x")
                    .replace("$__rate_interval", "5m"),
            )
            .unwrap_or_else(|e| panic!("{file}: {expr}: {e}"));
            let mut vs = Vec::new();
            selectors(&parsed, &mut vs);
            for v in vs {
                let ok = v
                    .matchers
                    .matchers
                    .iter()
                    .any(|m| m.name == "instance" && m.value == "x");
                assert!(
                    ok,
                    "{file}: {:?}: {expr} does not filter by $instance",
                    p["title"]
                );
                checked += 1;
            }
        }
    }
    assert!(checked > 20, "only {checked} selectors checked");
}
