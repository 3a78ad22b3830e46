//! HTTP sinks: one [`Notifier`] per `[[sink]]` type, built from validated
//! [`SinkSettings`]. Each sink turns an `AlertRecord` into its receiver's format and maps the
//! HTTP outcome onto [`NotifyError`] so the delivery layer knows whether to retry:
//!
//! | outcome | kind | delivery does |
//! |---|---|---|
//! | 2xx | – | marks delivered |
//! | 429, 408, 5xx, timeout, connection error | `Unavailable` (+ `Retry-After`) | retries with backoff |
//! | 3xx (never followed: a POST must not turn into a GET) | `Unavailable`, reason `redirect` | retries with backoff; fix the URL |
//! | 401, 403 | `Config` | dead-letters (fix the credentials) |
//! | other 4xx (400, 404, 413, 422) | `Rejected` | dead-letters, never retried |
//!
//! Secrets (routing keys, webhook URLs, HMAC keys) are held as [`Secret`] and scrubbed from
//! every error message, so neither logs nor `Debug` output can carry them.
//!
//! `type = "kafka"` (feature `kafka`, file `kafka_sink.rs`) is not an HTTP sink: it mirrors every
//! alert line onto a topic; without the feature, building it is a configuration error.

mod alertmanager;
#[cfg(feature = "kafka")]
mod kafka_sink;
mod pagerduty;
mod slack;
pub(crate) mod text;
mod webhook;

use std::sync::Arc;
use std::time::Duration;

pub use alertmanager::AlertmanagerSink;
#[cfg(feature = "kafka")]
pub use kafka_sink::KafkaAlertSink;
pub use pagerduty::PagerDutySink;
pub use slack::SlackSink;
pub use webhook::{sign, WebhookSink, SIGNATURE_HEADER, TIMESTAMP_HEADER};

use super::dispatch::{Notifier, NotifyError, NotifyErrorKind};
use crate::config::{Secret, SinkKind, SinkSettings};

/// Most characters of a receiver's error body kept in a message.
const ERROR_BODY_CHARS: usize = 300;
/// Most bytes of a receiver's error body read (scrubbed whole, then cut to
/// [`ERROR_BODY_CHARS`]).
const ERROR_BODY_READ_BYTES: usize = 64 * 1024;

/// What a sink needs from outside its own `[[sink]]` table.
#[derive(Debug, Clone, Default)]
pub struct SinkContext {
    /// Where a sink keeps state across restarts (the outbox directory: Alertmanager's active
    /// set); `None` = in memory only.
    pub state_dir: Option<std::path::PathBuf>,
    /// `[server] public_url`: PagerDuty events link to the incident API under it.
    pub public_url: Option<String>,
    /// `[grafana] url`: pages link to the brand dashboard there.
    pub grafana_url: Option<String>,
}

impl SinkContext {
    /// The context a configuration gives its sinks, state kept in `state_dir`.
    pub fn for_config(cfg: &crate::config::Config, state_dir: Option<std::path::PathBuf>) -> Self {
        SinkContext {
            state_dir,
            public_url: cfg.public_url.clone(),
            grafana_url: cfg.grafana_url.clone(),
        }
    }

    /// The incident's page in the incident API, when `public_url` is set.
    pub fn incident_url(&self, incident: &str) -> Option<String> {
        let base = self.public_url.as_deref()?;
        Some(format!("{base}/api/incidents/{}", url_segment(incident)))
    }

    /// The brand's Grafana dashboard ("Brand overview"), when `[grafana] url` is set.
    pub fn dashboard_url(&self, brand: &str) -> Option<String> {
        let base = self.grafana_url.as_deref()?;
        Some(format!(
            "{base}/d/{GRAFANA_BRAND_DASHBOARD}?var-brand={}",
            url_segment(brand)
        ))
    }
}

/// The uid of `dashboards/grafana/brand-overview.json`.
pub const GRAFANA_BRAND_DASHBOARD: &str = "flashpoint-brand-overview";

/// Ids (brand, incident: `[a-z0-9_-]`, but never trusted) as one URL segment or query value.
fn url_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for &b in s.as_bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Builds the notifier for one configured sink, with no state directory and no links.
pub fn build(s: &SinkSettings) -> Result<Arc<dyn Notifier>, NotifyError> {
    build_with(s, &SinkContext::default())
}

/// Builds the notifier for one configured sink in `ctx`.
pub fn build_with(s: &SinkSettings, ctx: &SinkContext) -> Result<Arc<dyn Notifier>, NotifyError> {
    if let SinkKind::Kafka(k) = &s.kind {
        return kafka(s, k);
    }
    let client = client(s)?;
    Ok(match &s.kind {
        SinkKind::PagerDuty { .. } => Arc::new(PagerDutySink::new(s, client).with_context(ctx)),
        SinkKind::Slack { .. } => Arc::new(SlackSink::new(s, client).with_context(ctx)),
        SinkKind::Alertmanager { .. } => {
            Arc::new(AlertmanagerSink::new(s, client).with_state_dir(ctx.state_dir.as_deref()))
        }
        SinkKind::Webhook { .. } => Arc::new(WebhookSink::new(s, client)),
        SinkKind::Kafka(k) => return kafka(s, k),
    })
}

#[cfg(feature = "kafka")]
fn kafka(
    s: &SinkSettings,
    k: &crate::config::kafka::KafkaSinkConfig,
) -> Result<Arc<dyn Notifier>, NotifyError> {
    Ok(Arc::new(KafkaAlertSink::new(
        &s.id,
        s.teams.clone(),
        k,
        s.timeout,
    )?))
}

#[cfg(not(feature = "kafka"))]
fn kafka(
    s: &SinkSettings,
    _: &crate::config::kafka::KafkaSinkConfig,
) -> Result<Arc<dyn Notifier>, NotifyError> {
    Err(NotifyError {
        notifier: s.id.clone(),
        kind: NotifyErrorKind::Config,
        reason: "config",
        message: crate::config::kafka::NO_FEATURE.into(),
        retry_after: None,
    })
}

fn client(s: &SinkSettings) -> Result<reqwest::Client, NotifyError> {
    let mut b = reqwest::Client::builder()
        .user_agent(concat!("flashpoint/", env!("CARGO_PKG_VERSION")))
        // No idle-connection reaper timer: sinks send rarely, and a stale connection is
        // just a retryable error.
        .pool_idle_timeout(None::<Duration>)
        // A redirected POST comes back as a bodiless GET whose 2xx would look like a
        // delivery: never follow one; the status is a failure of its own.
        .redirect(reqwest::redirect::Policy::none());
    if !s.timeout.is_zero() {
        b = b.timeout(s.timeout);
    }
    b.build().map_err(|e| NotifyError {
        notifier: s.id.clone(),
        kind: NotifyErrorKind::Config,
        reason: "config",
        message: format!("cannot build the HTTP client: {e}"),
        retry_after: None,
    })
}

/// Sends a prepared request and classifies the outcome; `secrets` are scrubbed from errors.
pub(crate) async fn send(
    id: &str,
    req: reqwest::RequestBuilder,
    secrets: &[&Secret],
) -> Result<(), NotifyError> {
    let err = |kind, reason, message: String, retry_after| NotifyError {
        notifier: id.to_string(),
        kind,
        reason,
        message: scrub(&message, secrets),
        retry_after,
    };
    let resp = match req.send().await {
        Ok(r) => r,
        Err(e) => {
            // reqwest errors may name the URL (a Slack webhook URL is a secret): strip it.
            let e = e.without_url();
            let reason = if e.is_timeout() { "timeout" } else { "connect" };
            return Err(err(
                NotifyErrorKind::Unavailable,
                reason,
                format!("request failed: {e}"),
                None,
            ));
        }
    };
    let status = resp.status();
    if status.is_success() {
        return Ok(());
    }
    let retry_after = resp
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(parse_retry_after);
    let location = resp
        .headers()
        .get(reqwest::header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let (body, body_was_cut) = read_capped(resp, ERROR_BODY_READ_BYTES).await;
    let body = scrub_cut(&body, secrets, ERROR_BODY_CHARS, body_was_cut);
    let code = status.as_u16();
    if status.is_redirection() {
        let to = scrub_cut(
            &location.unwrap_or_default(),
            secrets,
            ERROR_BODY_CHARS,
            false,
        );
        return Err(err(
            NotifyErrorKind::Unavailable,
            "redirect",
            format!("HTTP {code}: redirect to {to:?} not followed (a POST is never redirected: fix the sink URL)"),
            retry_after,
        ));
    }
    let message = format!("HTTP {code}: {}", body.trim());
    Err(match code {
        429 => err(
            NotifyErrorKind::Unavailable,
            "rate_limited",
            message,
            retry_after,
        ),
        408 => err(
            NotifyErrorKind::Unavailable,
            "timeout",
            message,
            retry_after,
        ),
        500..=599 => err(
            NotifyErrorKind::Unavailable,
            "server_error",
            message,
            retry_after,
        ),
        401 | 403 => err(NotifyErrorKind::Config, "unauthorized", message, None),
        _ => err(NotifyErrorKind::Rejected, "rejected", message, None),
    })
}

/// At most `cap` bytes of a response body, lossily decoded, and whether there was more: a
/// receiver's error page can be any size, and only its start is ever shown.
async fn read_capped(mut resp: reqwest::Response, cap: usize) -> (String, bool) {
    let mut buf: Vec<u8> = Vec::new();
    let mut more = false;
    while let Ok(Some(c)) = resp.chunk().await {
        let room = cap - buf.len();
        buf.extend_from_slice(&c[..c.len().min(room)]);
        if c.len() >= room {
            // Full: whatever follows is unread (taken as cut, even if nothing does).
            more = true;
            break;
        }
    }
    (String::from_utf8_lossy(&buf).into_owned(), more)
}

/// `Retry-After` as delay-seconds or as an HTTP-date (RFC 7231 §7.1.3: IMF-fixdate, or the
/// obsolete RFC 850 and asctime forms), capped at [`crate::alert::deliver::MAX_RETRY_AFTER`]: a
/// receiver cannot park a page for longer, nor overflow the schedule with 2^64 - 1 seconds. A
/// date in the past means now (zero); anything else is ignored (`None`).
pub fn parse_retry_after(v: &str) -> Option<Duration> {
    retry_after_at(v, std::time::SystemTime::now())
}

/// [`parse_retry_after`] with the clock given (an HTTP-date is relative to `now`).
fn retry_after_at(v: &str, now: std::time::SystemTime) -> Option<Duration> {
    let max = crate::alert::deliver::MAX_RETRY_AFTER;
    let v = v.trim();
    if !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) {
        // All digits: too many for a u64 is simply "very long".
        Some(v.parse::<u64>().map_or(max, Duration::from_secs).min(max))
    } else {
        let at = httpdate::parse_http_date(v).ok()?;
        Some(at.duration_since(now).unwrap_or(Duration::ZERO).min(max))
    }
}

/// Replaces every secret in `s` with `***`, wherever it appears inside a larger string: each
/// value whole; for a value that is a URL, its path, query and last path segment on their own
/// (a receiver or proxy may echo just the path it was sent, and a Slack webhook's path is the
/// credential), its password, and `user:password` as an `Authorization: Basic` header would
/// carry it (base64); and each of those as a URL would percent-encode it.
pub fn scrub(s: &str, secrets: &[&Secret]) -> String {
    replace_needles(s, &needles(secrets))
}

/// [`scrub`], then cut to at most `max` characters (scrubbed first: a cut made before would
/// leave the start of a secret that straddles it, and no needle would match it). When `s` is
/// itself the start of a longer text (a body read up to a cap, `s_was_cut`), a secret's start
/// left at its end is masked as well.
pub fn scrub_cut(s: &str, secrets: &[&Secret], max: usize, s_was_cut: bool) -> String {
    let needles = needles(secrets);
    let mut whole = replace_needles(s, &needles);
    if s_was_cut {
        'needles: for n in &needles {
            for k in (MIN_PARTIAL..n.len()).rev() {
                match n.get(..k) {
                    Some(head) if whole.ends_with(head) => {
                        whole.truncate(whole.len() - head.len());
                        whole.push_str("***");
                        break 'needles;
                    }
                    _ => {}
                }
            }
        }
    }
    whole.chars().take(max).collect()
}

/// A secret's start this short left at a cut is not masked (it names nothing).
const MIN_PARTIAL: usize = 2;

/// Every form of every secret that [`scrub`] masks, longest first (so a value is never
/// half-replaced through a shorter part of it).
fn needles(secrets: &[&Secret]) -> Vec<String> {
    let mut needles: Vec<String> = Vec::new();
    for sec in secrets {
        let v = sec.expose();
        if v.is_empty() {
            continue;
        }
        needles.push(v.to_string());
        if let Ok(u) = reqwest::Url::parse(v) {
            if u.has_host() {
                let path = u.path();
                if path.len() > 1 {
                    needles.push(path.to_string());
                    if let Some(last) = path.rsplit('/').find(|p| p.len() >= MIN_SEGMENT) {
                        needles.push(last.to_string());
                    }
                }
                if let Some(q) = u.query().filter(|q| !q.is_empty()) {
                    needles.push(q.to_string());
                }
                if let Some(pass) = u.password().filter(|p| !p.is_empty()) {
                    let user = percent_decode(u.username());
                    let pass = percent_decode(pass);
                    needles.push(base64_encode(format!("{user}:{pass}").as_bytes()));
                    needles.push(pass);
                }
            }
        }
    }
    let encoded: Vec<String> = needles
        .iter()
        .flat_map(|n| [percent_encode(n, PATH_SET), percent_encode(n, QUERY_SET)])
        .collect();
    needles.extend(encoded);
    needles.retain(|n| !n.is_empty());
    needles.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
    needles.dedup();
    needles
}

fn replace_needles(s: &str, needles: &[String]) -> String {
    let mut out = s.to_string();
    for n in needles {
        if out.contains(n.as_str()) {
            out = out.replace(n.as_str(), "***");
        }
    }
    out
}

/// `%XX` sequences of a URL's userinfo decoded (lossily for bytes that are not UTF-8).
fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = b
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (b[i], hex) {
            (b'%', Some(v)) => {
                out.push(v);
                i += 3;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Standard base64 with padding, as in an `Authorization: Basic` header.
fn base64_encode(b: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(b)
}

/// A URL path segment at least this long is scrubbed on its own.
const MIN_SEGMENT: usize = 8;
/// Characters a URL encodes in a path (besides controls, space and non-ASCII).
const PATH_SET: &[u8] = b"\"#<>?`{}";
/// Characters a URL encodes in a query (besides controls, space and non-ASCII).
const QUERY_SET: &[u8] = b"\"#<>'";

/// `s` with the bytes a URL parser encodes (`set`, controls, space, non-ASCII) as `%XX`.
fn percent_encode(s: &str, set: &[u8]) -> String {
    let mut out = String::with_capacity(s.len());
    for &b in s.as_bytes() {
        if b <= b' ' || b >= 0x7F || set.contains(&b) {
            out.push_str(&format!("%{b:02X}"));
        } else {
            out.push(char::from(b));
        }
    }
    out
}

/// The secrets a sink scrubs from its errors: its own, and every value `${VAR}` expanded to
/// in its options ([`SinkSettings::redact`]).
fn secrets<'a>(own: impl IntoIterator<Item = &'a Secret>, redact: &'a [Secret]) -> Vec<&'a Secret> {
    own.into_iter().chain(redact).collect()
}

/// Text for a top post in a link or list: `@author: text…` cut to `max` characters.
/// "author: text" of a top post, on one line ([`text::one_line`]: a line break in a post
/// would let it fake a line of its own, "FALSE ALARM, resolved", in a list of posts), cut to
/// `max` characters.
fn post_label(p: &crate::alert::TopPost, max: usize) -> String {
    crate::alert::truncate_chars(&text::one_line(&format!("{}: {}", p.author, p.text)), max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sink_scrub_masks_every_secret() {
        let a = Secret::new("AAA-key");
        let b = Secret::new("https://hooks.example/T/B/XYZ");
        let s = scrub(
            "bad key AAA-key for https://hooks.example/T/B/XYZ",
            &[&a, &b],
        );
        assert_eq!(s, "bad key *** for ***");
    }

    #[test]
    fn sink_scrub_masks_secret_parts_wherever_they_appear() {
        let hook = Secret::new("https://hooks.example/services/T0/B0/XSECRETXYZ?token=tok-123456");
        let part = Secret::new("pa rt/ü");
        let s = scrub(
            "no route for /services/T0/B0/XSECRETXYZ (token=tok-123456); \
             seen XSECRETXYZ; encoded pa%20rt/%C3%BC; raw pa rt/ü",
            &[&hook, &part],
        );
        assert!(
            !s.contains("XSECRETXYZ") && !s.contains("tok-123456"),
            "{s}"
        );
        assert!(!s.contains("pa%20rt") && !s.contains("pa rt"), "{s}");
        assert_eq!(s.matches("***").count(), 5, "{s}");
    }

    #[test]
    fn sink_error_body_cut_inside_a_secret_masks_its_start() {
        let hook = Secret::new("https://hooks.example/services/T000/B000/SLACKsecretTOKEN");
        // A 404 page that quotes the path: scrubbed before the cut, wherever the cut falls.
        let page = format!("{}/services/T000/B000/SLACKsecretTOKEN", "P".repeat(280));
        for max in [285, 290, 300, 310] {
            let s = scrub_cut(&page, &[&hook], max, false);
            assert!(s.chars().count() <= max, "{s}");
            for part in ["/services", "T000", "B000", "SLACK", "secret"] {
                assert!(!s.contains(part), "{max}: {part} in {s}");
            }
        }
        // A body read up to a cap that ends inside the path: its start is masked.
        let read = format!("{}/services/T000/B000/SLA", "P".repeat(20));
        let s = scrub_cut(&read, &[&hook], 300, true);
        assert_eq!(s, format!("{}***", "P".repeat(20)));
        // Not cut: the same text is left (it holds no whole secret).
        assert_eq!(scrub_cut("abcdef", &[&hook], 3, false), "abc");
    }

    #[test]
    fn sink_scrub_masks_a_url_password_in_its_basic_auth_form() {
        let hook = Secret::new("http://flash:Basic%20Pass@127.0.0.1:1/hook");
        // base64("flash:Basic Pass")
        let s = scrub(
            "auth=Basic Zmxhc2g6QmFzaWMgUGFzcw== and Basic Pass",
            &[&hook],
        );
        assert_eq!(s, "auth=Basic *** and ***", "{s}");
    }

    #[test]
    fn sink_retry_after_seconds() {
        assert_eq!(parse_retry_after(" 30"), Some(Duration::from_secs(30)));
        let max = Some(crate::alert::deliver::MAX_RETRY_AFTER);
        assert_eq!(parse_retry_after("18446744073709551615"), max);
        assert_eq!(parse_retry_after("99999999999999999999999"), max);
        assert_eq!(parse_retry_after("-5"), None);
        // An HTTP-date in the past: retry now.
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"),
            Some(Duration::ZERO)
        );
    }

    #[test]
    fn sink_retry_after_http_date_is_honoured_and_capped() {
        let now = httpdate::parse_http_date("Tue, 03 Mar 2026 10:52:40 GMT").unwrap();
        let at = |v| retry_after_at(v, now);
        assert_eq!(
            at("Tue, 03 Mar 2026 10:54:10 GMT"),
            Some(Duration::from_secs(90))
        );
        // The obsolete forms a receiver may still send.
        assert_eq!(
            at("Tuesday, 03-Mar-26 10:54:10 GMT"),
            Some(Duration::from_secs(90))
        );
        assert_eq!(
            at("Tue Mar  3 10:54:10 2026"),
            Some(Duration::from_secs(90))
        );
        assert_eq!(at("Tue, 03 Mar 2026 10:52:40 GMT"), Some(Duration::ZERO));
        assert_eq!(at("Mon, 02 Mar 2026 10:52:40 GMT"), Some(Duration::ZERO));
        // Capped like the seconds form.
        assert_eq!(
            at("Wed, 04 Mar 2026 10:52:40 GMT"),
            Some(crate::alert::deliver::MAX_RETRY_AFTER)
        );
        assert_eq!(at("Tue, 03 Mar 2026 25:00:00 GMT"), None);
        assert_eq!(at("soon"), None);
    }
}
