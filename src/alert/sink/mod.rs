//! HTTP sinks: one [`Notifier`] per `[[sink]]` type, built from validated
//! [`SinkSettings`]. Each sink turns an [`AlertRecord`] into its receiver's format and maps the
//! HTTP outcome onto [`NotifyError`] so the delivery layer knows whether to retry:
//!
//! | outcome | kind | delivery does |
//! |---|---|---|
//! | 2xx | – | marks delivered |
//! | 429, 408, 5xx, timeout, connection error | `Unavailable` (+ `Retry-After`) | retries with backoff |
//! | 401, 403 | `Config` | dead-letters (fix the credentials) |
//! | other 4xx (400, 404, 413, 422) | `Rejected` | dead-letters, never retried |
//!
//! Secrets (routing keys, webhook URLs, HMAC keys) are held as [`Secret`] and scrubbed from
//! every error message, so neither logs nor `Debug` output can carry them.
//!
//! `type = "kafka"` (feature `kafka`, file `kafka.rs`) is not an HTTP sink: it mirrors every
//! alert line onto a topic; without the feature, building it is a configuration error.

mod alertmanager;
#[cfg(feature = "kafka")]
mod kafka;
mod pagerduty;
mod slack;
pub(crate) mod text;
mod webhook;

use std::sync::Arc;
use std::time::Duration;

pub use alertmanager::AlertmanagerSink;
#[cfg(feature = "kafka")]
pub use kafka::KafkaAlertSink;
pub use pagerduty::PagerDutySink;
pub use slack::SlackSink;
pub use webhook::{sign, WebhookSink, SIGNATURE_HEADER, TIMESTAMP_HEADER};

use super::dispatch::{Notifier, NotifyError, NotifyErrorKind};
use crate::config::{Secret, SinkKind, SinkSettings};

/// Most characters of a receiver's error body kept in a message.
const ERROR_BODY_CHARS: usize = 300;

/// Builds the notifier for one configured sink.
pub fn build(s: &SinkSettings) -> Result<Arc<dyn Notifier>, NotifyError> {
    if let SinkKind::Kafka(k) = &s.kind {
        return kafka(s, k);
    }
    let client = client(s)?;
    Ok(match &s.kind {
        SinkKind::PagerDuty { .. } => Arc::new(PagerDutySink::new(s, client)),
        SinkKind::Slack { .. } => Arc::new(SlackSink::new(s, client)),
        SinkKind::Alertmanager { .. } => Arc::new(AlertmanagerSink::new(s, client)),
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
        .pool_idle_timeout(None::<Duration>);
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
    let body = resp.text().await.unwrap_or_default();
    let body: String = body.chars().take(ERROR_BODY_CHARS).collect();
    let message = format!("HTTP {}: {}", status.as_u16(), body.trim());
    let code = status.as_u16();
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

/// `Retry-After` as delay-seconds (HTTP dates are rare from these receivers and ignored).
pub fn parse_retry_after(v: &str) -> Option<Duration> {
    v.trim().parse::<u64>().ok().map(Duration::from_secs)
}

/// Replaces every secret's value in `s` with `***`.
pub fn scrub(s: &str, secrets: &[&Secret]) -> String {
    let mut out = s.to_string();
    for sec in secrets {
        if !sec.expose().is_empty() {
            out = out.replace(sec.expose(), "***");
        }
    }
    out
}

/// Text for a top post in a link or list: `@author: text…` cut to `max` characters.
fn post_label(p: &crate::alert::TopPost, max: usize) -> String {
    crate::alert::truncate_chars(&format!("{}: {}", p.author, p.text), max)
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
    fn sink_retry_after_seconds() {
        assert_eq!(parse_retry_after(" 30"), Some(Duration::from_secs(30)));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), None);
    }
}
