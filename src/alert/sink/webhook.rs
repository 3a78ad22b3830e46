//! Generic webhook: the body is the alert log line (docs/contracts.md §3) byte for byte, signed with
//! HMAC-SHA256 over `"{timestamp}.{body}"`:
//!
//! ```text
//! X-Flashpoint-Timestamp: 1772535160
//! X-Flashpoint-Signature: sha256=<hex>
//! ```
//!
//! A receiver recomputes the HMAC with the shared secret and rejects timestamps older than a
//! few minutes, which stops replays of captured requests.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::{secrets, send};
use crate::alert::dispatch::{Notifier, NotifyFuture};
use crate::config::{Secret, SinkKind, SinkSettings};
use crate::domain::alert::AlertRecord;

pub const SIGNATURE_HEADER: &str = "x-flashpoint-signature";
pub const TIMESTAMP_HEADER: &str = "x-flashpoint-timestamp";

pub struct WebhookSink {
    id: String,
    teams: Vec<String>,
    url: String,
    secret: Secret,
    redact: Vec<Secret>,
    client: reqwest::Client,
}

impl std::fmt::Debug for WebhookSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookSink")
            .field("id", &self.id)
            .field("teams", &self.teams)
            .field("url", &self.url)
            .field("secret", &self.secret)
            .finish_non_exhaustive()
    }
}

/// `sha256=<hex of HMAC-SHA256(secret, "{timestamp}.{body}")>`.
pub fn sign(secret: &Secret, timestamp: u64, body: &[u8]) -> String {
    // HMAC accepts keys of any length: new_from_slice cannot fail for it.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.expose().as_bytes()) else {
        return String::new();
    };
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

impl WebhookSink {
    pub fn new(s: &SinkSettings, client: reqwest::Client) -> WebhookSink {
        let (url, secret) = match &s.kind {
            SinkKind::Webhook { url, secret } => (url.clone(), secret.clone()),
            _ => (String::new(), Secret::default()),
        };
        WebhookSink {
            id: s.id.clone(),
            teams: s.teams.clone(),
            url,
            secret,
            redact: s.redact.clone(),
            client,
        }
    }
}

impl Notifier for WebhookSink {
    fn id(&self) -> &str {
        &self.id
    }
    fn teams(&self) -> &[String] {
        &self.teams
    }
    fn notify<'a>(&'a self, alert: &'a AlertRecord) -> NotifyFuture<'a> {
        Box::pin(async move {
            let body = alert.to_json_line();
            // Wall clock on purpose: the receiver compares it with its own clock.
            let ts = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0);
            let req = self
                .client
                .post(&self.url)
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .header(TIMESTAMP_HEADER, ts.to_string())
                .header(SIGNATURE_HEADER, sign(&self.secret, ts, body.as_bytes()))
                .body(body);
            send(&self.id, req, &secrets([&self.secret], &self.redact)).await
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webhook_signature_matches_known_vector() {
        // HMAC-SHA256("key", "The quick brown fox jumps over the lazy dog") is a published
        // test vector; here the message is "{ts}.{body}".
        let s = sign(
            &Secret::new("key"),
            1,
            b"The quick brown fox jumps over the lazy dog",
        );
        assert!(s.starts_with("sha256="));
        assert_eq!(s.len(), 7 + 64);
        assert_ne!(
            s,
            sign(
                &Secret::new("key"),
                2,
                b"The quick brown fox jumps over the lazy dog"
            )
        );
        assert_ne!(
            s,
            sign(
                &Secret::new("kez"),
                1,
                b"The quick brown fox jumps over the lazy dog"
            )
        );
        let mut mac = Hmac::<Sha256>::new_from_slice(b"key").unwrap();
        mac.update(b"1.The quick brown fox jumps over the lazy dog");
        assert!(mac.verify_slice(&hex::decode(&s[7..]).unwrap()).is_ok());
    }
}
