//! Shared test setup: the demo configuration and replays into memory.

use std::sync::Arc;

use flashpoint::alert::AlertRecord;
use flashpoint::app::replay::Input;
use flashpoint::app::{replay, ReplayOptions, ReplaySummary, Speed};
use flashpoint::config::{self, Config};

pub fn demo_config() -> Arc<Config> {
    Arc::new(config::parse_str(flashpoint::app::demo::DEMO_CONFIG, "demo.toml", &|_| None).unwrap())
}

pub fn options(speed: Speed, alerts: Option<String>) -> ReplayOptions {
    ReplayOptions {
        alerts,
        ..ReplayOptions::new(speed)
    }
}

pub async fn replay_demo(speed: Speed, alerts: Option<String>) -> ReplaySummary {
    replay_demo_with(options(speed, alerts)).await
}

/// The bundled demo sample replayed with `opts`.
pub async fn replay_demo_with(opts: ReplayOptions) -> ReplaySummary {
    replay(
        demo_config(),
        Input::Bytes(flashpoint::app::demo::DEMO_SAMPLE),
        opts,
        None,
    )
    .await
    .unwrap()
}

/// Alerts grouped by incident id, in first-seen order.
pub fn by_incident(alerts: &[AlertRecord]) -> Vec<(String, Vec<AlertRecord>)> {
    let mut out: Vec<(String, Vec<AlertRecord>)> = Vec::new();
    for a in alerts {
        match out.iter_mut().find(|(id, _)| *id == a.incident) {
            Some((_, v)) => v.push(a.clone()),
            None => out.push((a.incident.clone(), vec![a.clone()])),
        }
    }
    out
}

/// `GET path` over a fresh HTTP/1.0 connection (so no chunked bodies): (status, body).
pub async fn http_get(addr: std::net::SocketAddr, path: &str) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let req = format!("GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n");
    s.write_all(req.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).await.unwrap();
    let text = String::from_utf8(buf).unwrap();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap();
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

/// Event time of a demo scenario's first post.
pub fn scenario_start(name: &str) -> flashpoint::domain::EventTime {
    flashpoint::synth::generate(&flashpoint::synth::SynthSpec::demo())
        .scenarios
        .iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("scenario {name} missing from the demo"))
        .start
}

/// A bare engine (lexicon sentiment, keyword classifier, no metrics) for `cfg`.
pub fn engine(cfg: Arc<Config>) -> flashpoint::app::Engine {
    engine_with_model(cfg, "lexicon")
}

/// [`engine`] with the sentiment model `model` (`lexicon`, `linear`, …).
pub fn engine_with_model(cfg: Arc<Config>, model: &str) -> flashpoint::app::Engine {
    flashpoint::app::Engine::new(
        cfg,
        flashpoint::score::sentiment::model_by_name(model).unwrap(),
        Box::new(flashpoint::score::classify::KeywordClassifier::embedded()),
        None,
    )
    .unwrap()
}

/// The built `flashpoint` binary, ready for arguments.
pub fn flashpoint() -> std::process::Command {
    std::process::Command::new(env!("CARGO_BIN_EXE_flashpoint"))
}

/// Runs a prepared `flashpoint sentiment …` command with `input` on stdin, asserts it
/// succeeded, and returns its output lines parsed as JSON.
pub fn sentiment_lines(mut cmd: std::process::Command, input: &[u8]) -> Vec<serde_json::Value> {
    use std::io::Write;
    use std::process::Stdio;
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Runs `f` with tokio's clock running in real time, then pauses it again. Under paused time
/// the runtime jumps the clock to the next timer whenever it waits on a socket, so a slow
/// local receiver (a loaded machine) would look like a sink timeout and retries would run
/// past `max_age` or send an entry twice; in real time those outcomes stay about the
/// receiver's answers.
pub async fn in_real_time<F: std::future::Future>(f: F) -> F::Output {
    tokio::time::resume();
    let out = f.await;
    tokio::time::pause();
    out
}

/// Waits for `d` to deliver everything, in real time ([`in_real_time`]).
pub async fn drain_in_real_time(d: &flashpoint::alert::Delivery) {
    in_real_time(d.drain()).await;
}

/// Lets `total` of paused time pass in 1 s steps, each taken only when no request is on the
/// wire: a real HTTP round trip must not look like a jump of the paused clock.
pub async fn pass(d: &flashpoint::alert::Delivery, total: std::time::Duration) {
    let until = tokio::time::Instant::now() + total;
    while tokio::time::Instant::now() < until {
        d.wait_idle().await;
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    }
}

/// Collects formatted log output in memory.
#[derive(Clone, Default)]
pub struct Capture(Arc<std::sync::Mutex<Vec<u8>>>);

impl Capture {
    /// Everything logged so far, by every test of this binary.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl std::io::Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The process-wide log capture. A thread-local subscriber can lose events to the callsite
/// interest cache of tests running beside it; this one sees every test's logs, which only
/// widens the checks made on it.
pub fn log_capture() -> Capture {
    static CAPTURE: std::sync::OnceLock<Capture> = std::sync::OnceLock::new();
    CAPTURE
        .get_or_init(|| {
            let capture = Capture::default();
            let writer = capture.clone();
            let subscriber = tracing_subscriber::fmt()
                .with_max_level(tracing::Level::DEBUG)
                .with_ansi(false)
                .with_writer(move || writer.clone())
                .finish();
            tracing::subscriber::set_global_default(subscriber).unwrap();
            capture
        })
        .clone()
}

/// Pushes `body` to the push route of a run listening on `addr` (no token), asserts 200 and
/// returns the route's JSON answer.
pub async fn push_mentions(addr: std::net::SocketAddr, body: String) -> serde_json::Value {
    let r = reqwest::Client::new()
        .post(format!("http://{addr}/v1/mentions"))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}
