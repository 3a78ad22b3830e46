//! The HTTP push source: `POST /v1/mentions` with NDJSON (or one JSON array) of canonical
//! mentions, served on the `[server]` listener beside the telemetry endpoints.
//!
//! Responses: 401 without the configured bearer token (the `Bearer` scheme is matched
//! case-insensitively); 413 over the body limit, or when the batch holds more mentions than the
//! queue can ever take (`{"error", "max_batch"}`: split it); 408 when the body does not arrive
//! within the body read timeout; 503 with `Retry-After` when the pipeline queue cannot take
//! every good line of the batch now (nothing is queued then, so the client retries the whole
//! batch); 415 for a `Content-Encoding` other than `identity`, `gzip` or `zstd` (those are
//! decoded, and a body that decodes beyond the body limit is 413, one that does not decode
//! 400); otherwise 200 with per-line results
//! `{"accepted": n, "rejected": m, "errors": [{"line", "reason", "message"}]}`. One bad line
//! never rejects its neighbours; a line (or array element) longer than [`MAX_LINE_BYTES`] is
//! one such bad line (`oversize`), as it is in a file or an archive, so a mention the live
//! pipeline took can always be replayed from the archive. Every refused request is counted in
//! `flashpoint_ingest_push_rejected_total{source,reason}`. Slow and idle connections and the
//! connection cap are the listener's business (`telemetry::http::serve_limited`).
//!
//! With a spool ([`PushState::with_spool`], `ack = "durable"`), the 200 is sent only once the
//! good lines are fsynced in the spool ([`super::spool`]), which then queues them itself; a
//! spool that cannot take the batch answers 503 (`spool_busy`: its request queue is full;
//! `spool_write_failed`: the write or fsync failed) and nothing is acknowledged. Without
//! one (`ack = "queued"`) the 200 only says the lines are on the in-memory queue.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use serde::Serialize;
use tokio::sync::mpsc::error::TrySendError;

use super::spool::{AppendError, SpoolHandle};
use super::{EventTimeBounds, Ingested, MentionTx};
use crate::config::source::HttpPushConfig;
use crate::domain::codec::{decode, MAX_LINE_BYTES, UTF8_BOM};
use crate::domain::Mention;
use crate::telemetry::Metrics;

/// Per-line errors listed in one response at most; the counts stay exact.
const MAX_LISTED_ERRORS: usize = 100;
/// Default for [`PushState::with_body_read_timeout`].
pub const DEFAULT_BODY_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// What the push handler needs.
#[derive(Clone)]
pub struct PushState {
    id: Arc<str>,
    cfg: Arc<HttpPushConfig>,
    tx: MentionTx,
    metrics: Arc<Metrics>,
    bounds: Option<EventTimeBounds>,
    body_read_timeout: Duration,
    spool: Option<SpoolHandle>,
    /// Bodies decoded and parsed at once on the blocking pool (one per core): a 4 MiB body
    /// parses to about 13 MB, and the listener holds up to `max_connections` requests.
    parse_slots: Arc<tokio::sync::Semaphore>,
}

impl PushState {
    pub fn new(id: &str, cfg: HttpPushConfig, tx: MentionTx, metrics: Arc<Metrics>) -> PushState {
        PushState {
            id: Arc::from(id),
            cfg: Arc::new(cfg),
            tx,
            metrics,
            bounds: None,
            body_read_timeout: DEFAULT_BODY_READ_TIMEOUT,
            spool: None,
            parse_slots: Arc::new(tokio::sync::Semaphore::new(
                std::thread::available_parallelism().map_or(2, usize::from),
            )),
        }
    }

    /// Durable acknowledgements: batches go through `spool` (which queues them) and the 200
    /// waits for its fsync.
    pub fn with_spool(mut self, spool: SpoolHandle) -> PushState {
        self.spool = Some(spool);
        self
    }

    /// How long a request body may take to arrive in full (`[server] body_read_timeout`);
    /// later: 408 and the connection is closed.
    pub fn with_body_read_timeout(mut self, timeout: Duration) -> PushState {
        self.body_read_timeout = timeout;
        self
    }

    /// Counts one refused request.
    fn rejected(&self, reason: &str) {
        self.metrics
            .ingest_push_rejected_total
            .with_label_values(&[&self.id, reason])
            .inc();
    }

    /// Refuses lines whose event time lies outside `bounds` (per-line error, counted in
    /// `flashpoint_ingest_dropped_total`); `flashpoint run` sets the configured bounds.
    pub fn with_event_time_bounds(mut self, bounds: EventTimeBounds) -> PushState {
        self.bounds = Some(bounds);
        self
    }
}

/// The `POST /v1/mentions` route, to merge into the server's router.
pub fn router(state: PushState) -> Router {
    Router::new()
        .route("/v1/mentions", post(push))
        .with_state(state)
}

#[derive(Serialize)]
struct LineError {
    line: usize,
    reason: &'static str,
    message: String,
}

#[derive(Serialize)]
struct PushResult {
    accepted: usize,
    rejected: usize,
    errors: Vec<LineError>,
}

fn authorised(cfg: &HttpPushConfig, headers: &HeaderMap) -> bool {
    let Some(token) = &cfg.token else {
        return true;
    };
    let Some(got) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(bearer_token)
    else {
        return false;
    };
    // Compare without an early exit so timing does not reveal a matching prefix.
    let (a, b) = (got.as_bytes(), token.expose().as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The token of an `Authorization: Bearer <token>` value; the scheme is case-insensitive
/// (RFC 9110 §11.1).
fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim_start_matches(' '))
}

fn error(status: StatusCode, message: &str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        format!("{{\"error\":{}}}\n", serde_json::json!(message)),
    )
        .into_response()
}

/// `r` with `Connection: close`: the rest of its request's body is never read, so the
/// connection cannot be reused.
fn closing(mut r: Response) -> Response {
    r.headers_mut().insert(
        header::CONNECTION,
        header::HeaderValue::from_static("close"),
    );
    r
}

async fn push(State(s): State<PushState>, headers: HeaderMap, body: Body) -> Response {
    let received = Instant::now();
    if !authorised(&s.cfg, &headers) {
        s.rejected("unauthorized");
        let mut r = error(StatusCode::UNAUTHORIZED, "missing or wrong bearer token");
        r.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            header::HeaderValue::from_static("Bearer"),
        );
        return r;
    }
    let limit = s.cfg.max_body_bytes;
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        s.rejected("body_too_large");
        return error(StatusCode::PAYLOAD_TOO_LARGE, "body over the limit");
    }
    let bytes = match tokio::time::timeout(s.body_read_timeout, read_body(body, limit)).await {
        Ok(Ok(b)) => b,
        Ok(Err(BodyError::TooLarge)) => {
            s.rejected("body_too_large");
            return error(StatusCode::PAYLOAD_TOO_LARGE, "body over the limit");
        }
        Ok(Err(BodyError::Broken(why))) => {
            // Cut off, malformed chunking, or stalled until the connection's idle timeout:
            // the client should send the whole batch again, not split it (413) or drop it.
            s.rejected("body_incomplete");
            return closing(error(
                StatusCode::BAD_REQUEST,
                &format!(
                    "the request body ended before it was complete ({why}): send the batch again"
                ),
            ));
        }
        Err(_) => {
            s.rejected("body_timeout");
            s.metrics
                .http_connections_closed_total
                .with_label_values(&["body_timeout"])
                .inc();
            return closing(error(StatusCode::REQUEST_TIMEOUT, "request body too slow"));
        }
    };
    // Decoding and parsing a body of megabytes takes milliseconds to seconds of CPU: off the
    // async workers, so the engine, the other sources and every other client keep running.
    let inline = declared.is_some_and(|n| n <= INLINE_PARSE_BYTES)
        && !headers.contains_key(header::CONTENT_ENCODING);
    let work = move || decoded_body(&headers, bytes, limit).map(|b| parse_batch(&b));
    let parsed = if inline {
        work()
    } else {
        // Waits for a slot holding only the raw body (at most `max_body_bytes`), so as many
        // bodies are expanded at once as there are cores.
        let Ok(_slot) = Arc::clone(&s.parse_slots).acquire_owned().await else {
            return error(StatusCode::SERVICE_UNAVAILABLE, "shutting down");
        };
        match tokio::task::spawn_blocking(work).await {
            Ok(parsed) => parsed,
            Err(e) => {
                tracing::error!(source = %s.id, error = %e, "parsing a push body failed");
                s.rejected("internal");
                return error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "the body could not be parsed",
                );
            }
        }
    };
    let (good, mut errors, lines) = match parsed {
        Ok(p) => p,
        Err((status, reason, message)) => {
            s.rejected(reason);
            return error(status, &message);
        }
    };
    let m = &s.metrics;
    m.ingest_lines_total
        .with_label_values(&[&s.id])
        .inc_by(lines as u64);
    for (reason, n) in &errors.by_reason {
        m.ingest_decode_errors_total
            .with_label_values(&[s.id.as_ref(), *reason])
            .inc_by(*n);
    }
    let good: Vec<Mention> = match &s.bounds {
        None => good.into_iter().map(|(_, m)| m).collect(),
        Some(b) => {
            let now = b.now();
            let mut kept = Vec::with_capacity(good.len());
            for (line, mention) in good {
                match b.check_at(mention.created_at, now) {
                    Ok(()) => kept.push(mention),
                    Err(why) => {
                        m.ingest_dropped_total
                            .with_label_values(&[&s.id, why.reason()])
                            .inc();
                        errors.push(LineError {
                            line,
                            reason: why.reason(),
                            message: b.explain(mention.created_at, why),
                        });
                    }
                }
            }
            kept
        }
    };
    let max_batch = s.tx.max_capacity();
    if good.len() > max_batch {
        // Even an empty queue could never take it: 503 would be retried forever.
        s.rejected("batch_too_large");
        m.ingest_dropped_total
            .with_label_values(&[&s.id, "batch_too_large"])
            .inc_by(good.len() as u64);
        let body = serde_json::json!({
            "error": format!(
                "a batch of {} mentions is more than the pipeline queue can ever take; send at most {max_batch} per request",
                good.len()
            ),
            "max_batch": max_batch,
        });
        return (
            StatusCode::PAYLOAD_TOO_LARGE,
            [(header::CONTENT_TYPE, "application/json")],
            format!("{body}\n"),
        )
            .into_response();
    }
    let n = good.len();
    if n > 0 {
        let refused = match &s.spool {
            Some(spool) => spooled(&s, spool, good, received).await,
            None => queued(&s, good.into_iter(), received),
        };
        if let Some((reason, message)) = refused {
            m.ingest_dropped_total
                .with_label_values(&[&s.id, reason])
                .inc_by(n as u64);
            s.rejected(reason);
            let mut r = error(StatusCode::SERVICE_UNAVAILABLE, message);
            let secs = s.cfg.retry_after.as_secs().max(1).to_string();
            if let Ok(v) = header::HeaderValue::from_str(&secs) {
                r.headers_mut().insert(header::RETRY_AFTER, v);
            }
            return r;
        }
        m.ingest_decoded_total
            .with_label_values(&[&s.id])
            .inc_by(n as u64);
    }
    let result = PushResult {
        accepted: n,
        rejected: errors.total,
        errors: errors.listed,
    };
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        serde_json::to_string(&result).unwrap_or_default(),
    )
        .into_response()
}

/// A 503's reason label and message.
type Refusal = (&'static str, &'static str);

const QUEUE_FULL: Refusal = (
    "queue_full",
    "pipeline queue is full; retry the whole batch later",
);
const SHUTTING_DOWN: Refusal = (
    "shutting_down",
    "shutting down; retry the whole batch later",
);

/// `ack = "queued"`: puts every mention on the queue, or none when it cannot take them all.
fn queued(
    s: &PushState,
    good: impl ExactSizeIterator<Item = Mention>,
    received: Instant,
) -> Option<Refusal> {
    let permits = match s.tx.try_reserve_many(good.len()) {
        Ok(p) => p,
        Err(TrySendError::Full(())) => return Some(QUEUE_FULL),
        Err(TrySendError::Closed(())) => return Some(SHUTTING_DOWN),
    };
    for (permit, mention) in permits.zip(good) {
        permit.send(Ingested::new(mention, received));
    }
    None
}

/// `ack = "durable"`: spools the batch (the spool queues it after its fsync); refused when the
/// queue has no room for all of it now, so a full pipeline still answers 503 at once.
async fn spooled(
    s: &PushState,
    spool: &SpoolHandle,
    good: Vec<Mention>,
    received: Instant,
) -> Option<Refusal> {
    if s.tx.is_closed() {
        return Some(SHUTTING_DOWN);
    }
    if s.tx.capacity() < good.len() {
        return Some(QUEUE_FULL);
    }
    match spool.append(good, received).await {
        Ok(()) => None,
        Err(AppendError::Busy) => Some((
            "spool_busy",
            "the spool has too many batches waiting; retry the whole batch later",
        )),
        Err(AppendError::Failed(e)) => {
            tracing::error!(source = %s.id, error = %e, "spool write failed: batch refused with 503");
            Some((
                "spool_write_failed",
                "cannot store the batch durably; nothing was accepted, retry it later",
            ))
        }
        Err(AppendError::Closed) => Some(SHUTTING_DOWN),
    }
}

/// Uncompressed bodies declared at most this long are parsed on the async worker; longer ones,
/// compressed ones and chunked ones of unknown length on the blocking pool.
const INLINE_PARSE_BYTES: usize = 64 * 1024;

/// Why a request body could not be read whole.
#[derive(Debug)]
enum BodyError {
    /// More than the limit arrived.
    TooLarge,
    /// The body ended early, was malformed (chunking), or the connection failed or timed out
    /// while it was read: what the transport said.
    Broken(String),
}

/// Reads `body` whole, refusing it as soon as more than `limit` bytes arrive. Unlike
/// `axum::body::to_bytes`, whose one error stands for all of these, a body over the limit
/// (413: split it) is told apart from one that broke off (400: send it again).
async fn read_body(body: Body, limit: usize) -> Result<axum::body::Bytes, BodyError> {
    use futures_util::StreamExt;
    let mut stream = body.into_data_stream();
    let mut out = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| BodyError::Broken(transport_error(&e)))?;
        if out.len() + chunk.len() > limit {
            return Err(BodyError::TooLarge);
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out.into())
}

/// The innermost cause of a body error, in words ("timed out", "unexpected end of file").
fn transport_error(e: &(dyn std::error::Error + 'static)) -> String {
    let mut inner = e;
    while let Some(next) = inner.source() {
        inner = next;
    }
    if inner
        .downcast_ref::<std::io::Error>()
        .is_some_and(|io| io.kind() == std::io::ErrorKind::TimedOut)
    {
        return String::from("no byte arrived within the idle timeout");
    }
    crate::domain::alert::one_line(&inner.to_string())
}

/// A refused body: the status, the `rejected_total` reason and the message.
type BodyRefusal = (StatusCode, &'static str, String);

/// The request body with its `Content-Encoding` undone: `identity` (or none) as it is,
/// `gzip` and `zstd` decompressed to at most `limit` bytes (a bomb is 413, like a body over
/// the limit); anything else is 415, never read as if it were NDJSON.
fn decoded_body(
    headers: &HeaderMap,
    body: axum::body::Bytes,
    limit: usize,
) -> Result<axum::body::Bytes, BodyRefusal> {
    use std::io::Read;
    let Some(value) = headers.get(header::CONTENT_ENCODING) else {
        return Ok(body);
    };
    let coding = value
        .to_str()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let reader: Box<dyn Read + '_> = match coding.as_str() {
        "" | "identity" => return Ok(body),
        "gzip" | "x-gzip" => Box::new(flate2::read::MultiGzDecoder::new(&body[..])),
        "zstd" => match zstd::stream::read::Decoder::new(&body[..]) {
            Ok(d) => Box::new(d),
            Err(e) => {
                return Err((
                    StatusCode::BAD_REQUEST,
                    "invalid_encoding",
                    format!("body is not valid zstd: {e}"),
                ))
            }
        },
        _ => {
            return Err((
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_encoding",
                String::from("unsupported Content-Encoding: send identity, gzip or zstd"),
            ))
        }
    };
    let mut out = Vec::new();
    match reader.take(limit as u64 + 1).read_to_end(&mut out) {
        Ok(n) if n > limit => Err((
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            String::from("decompressed body over the limit"),
        )),
        Ok(_) => Ok(out.into()),
        Err(e) => Err((
            StatusCode::BAD_REQUEST,
            "invalid_encoding",
            format!("body is not valid {coding}: {e}"),
        )),
    }
}

/// A line longer than [`MAX_LINE_BYTES`], as files and archives count it.
fn oversize(line: usize, bytes: usize) -> LineError {
    LineError {
        line,
        reason: "oversize",
        message: format!("a line of {bytes} bytes, longer than {MAX_LINE_BYTES}"),
    }
}

/// A batch's rejected lines: every one counted by reason, the first [`MAX_LISTED_ERRORS`] (by
/// line) kept with their messages. A 4 MiB body of two million bad elements costs a counter,
/// not two million messages.
#[derive(Default)]
struct Rejections {
    listed: Vec<LineError>,
    total: usize,
    by_reason: Vec<(&'static str, u64)>,
}

impl Rejections {
    fn push(&mut self, e: LineError) {
        self.total += 1;
        match self.by_reason.iter_mut().find(|(r, _)| *r == e.reason) {
            Some((_, n)) => *n += 1,
            None => self.by_reason.push((e.reason, 1)),
        }
        // Kept sorted by line: inserted in place, the last one dropped when over the cap.
        let at = self.listed.partition_point(|x| x.line <= e.line);
        if at < MAX_LISTED_ERRORS {
            self.listed.insert(at, e);
            self.listed.truncate(MAX_LISTED_ERRORS);
        }
    }

    fn decode_error(&mut self, line: usize, e: &crate::domain::codec::DecodeError) {
        self.push(LineError {
            line,
            reason: e.reason(),
            message: e.message().to_string(),
        });
    }
}

/// Splits a body into decoded mentions with their 1-based line (array element) numbers and
/// per-line errors; returns the line count too. An array is read element by element from the
/// body it borrows (no `Value` tree, no copy of each element).
fn parse_batch(body: &[u8]) -> (Vec<(usize, Mention)>, Rejections, usize) {
    let body = body.strip_prefix(UTF8_BOM).unwrap_or(body);
    let mut good = Vec::new();
    let mut errors = Rejections::default();
    let first = body.iter().find(|b| !b.is_ascii_whitespace());
    if first == Some(&b'[') {
        let mut de = serde_json::Deserializer::from_slice(body);
        let read = serde::Deserializer::deserialize_seq(
            &mut de,
            Elements {
                good: &mut good,
                errors: &mut errors,
            },
        )
        .and_then(|n| de.end().map(|()| n));
        return match read {
            Ok(n) => (good, errors, n),
            Err(e) => {
                // Not an array of JSON values: nothing of it is taken (a client resends it whole).
                let mut errors = Rejections::default();
                errors.push(LineError {
                    line: 1,
                    reason: "invalid_json",
                    message: format!("body is not a JSON array of mentions: {e}"),
                });
                (Vec::new(), errors, 1)
            }
        };
    }
    let mut lines = 0;
    for (i, raw) in body.split(|b| *b == b'\n').enumerate() {
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        if raw.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        lines += 1;
        if raw.len() > MAX_LINE_BYTES {
            errors.push(oversize(i + 1, raw.len()));
            continue;
        }
        if let Err(e) = std::str::from_utf8(raw) {
            errors.push(LineError {
                line: i + 1,
                reason: "invalid_utf8",
                message: e.to_string(),
            });
            continue;
        }
        match decode(raw) {
            Ok(m) => good.push((i + 1, m)),
            Err(e) => errors.decode_error(i + 1, &e),
        }
    }
    (good, errors, lines)
}

/// Decodes each element of a pushed array as it is read, as its own line.
struct Elements<'a> {
    good: &'a mut Vec<(usize, Mention)>,
    errors: &'a mut Rejections,
}

impl<'de> serde::de::Visitor<'de> for Elements<'_> {
    type Value = usize;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON array of mentions")
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<usize, A::Error> {
        let mut n = 0;
        while let Some(raw) = seq.next_element::<&'de serde_json::value::RawValue>()? {
            n += 1;
            let line = raw.get().as_bytes();
            if line.len() > MAX_LINE_BYTES {
                self.errors.push(oversize(n, line.len()));
                continue;
            }
            match decode(line) {
                Ok(m) => self.good.push((n, m)),
                Err(e) => self.errors.decode_error(n, &e),
            }
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"{"id":"1","source":"x","created_at":"2026-03-02T10:00:00Z","text":"hi","author":{"id":"a","handle":"@a"}}"#;

    #[test]
    fn push_batch_keeps_good_lines_around_bad_ones() {
        let body = format!("{GOOD}\n{{oops\n\n{GOOD}\r\n");
        let mut bytes = body.into_bytes();
        bytes.extend_from_slice(b"\xff\xfe\n");
        let (good, errors, lines) = parse_batch(&bytes);
        assert_eq!(good.len(), 2);
        assert_eq!(lines, 4);
        let reasons: Vec<_> = errors.listed.iter().map(|e| (e.line, e.reason)).collect();
        assert_eq!(reasons, vec![(2, "invalid_json"), (5, "invalid_utf8")]);
    }

    #[test]
    fn push_batch_refuses_a_line_the_archive_could_not_replay() {
        let huge = GOOD.replace("\"hi\"", &format!("\"{}\"", "x".repeat(MAX_LINE_BYTES)));
        let body = format!("{GOOD}\n{huge}\n{GOOD}\n");
        let (good, errors, lines) = parse_batch(body.as_bytes());
        assert_eq!((good.len(), lines), (2, 3));
        assert_eq!(
            (errors.listed[0].line, errors.listed[0].reason),
            (2, "oversize")
        );
        let array = format!("[{GOOD},{huge}]");
        let (good, errors, _) = parse_batch(array.as_bytes());
        assert_eq!(good.len(), 1);
        assert_eq!(
            (errors.listed[0].line, errors.listed[0].reason),
            (2, "oversize")
        );
    }

    #[test]
    fn push_batch_skips_a_byte_order_mark() {
        let body = format!("\u{FEFF}{GOOD}\n{GOOD}\n");
        let (good, errors, _) = parse_batch(body.as_bytes());
        assert_eq!((good.len(), errors.total), (2, 0));
        let array = format!("\u{FEFF}[{GOOD}]");
        let (good, errors, _) = parse_batch(array.as_bytes());
        assert_eq!((good.len(), errors.total), (1, 0));
    }

    #[test]
    fn push_accepts_a_json_array() {
        let body = format!("[{GOOD}, {{\"id\": \"3\"}}]");
        let (good, errors, lines) = parse_batch(body.as_bytes());
        assert_eq!((good.len(), errors.total, lines), (1, 1, 2));
        assert_eq!(errors.listed[0].reason, "missing_field");
    }

    #[test]
    fn push_batch_counts_every_bad_element_and_lists_the_first() {
        // Two million bad elements in 4 MiB: each counted, a hundred listed, in line order.
        let n = 300_000;
        let mut body = String::from("[");
        for i in 0..n {
            if i > 0 {
                body.push(',');
            }
            body.push_str(if i == 7 { GOOD } else { "0" });
        }
        body.push(']');
        let (good, errors, lines) = parse_batch(body.as_bytes());
        assert_eq!((good.len(), lines), (1, n));
        assert_eq!(good[0].0, 8);
        assert_eq!(errors.total, n - 1);
        assert_eq!(
            errors.by_reason.iter().map(|(_, k)| *k).sum::<u64>(),
            (n - 1) as u64
        );
        assert_eq!(errors.listed.len(), MAX_LISTED_ERRORS);
        let lines: Vec<usize> = errors.listed.iter().map(|e| e.line).collect();
        let want: Vec<usize> = (1..=MAX_LISTED_ERRORS + 1).filter(|l| *l != 8).collect();
        assert_eq!(lines, want);
        // Later errors with smaller line numbers (event-time bounds) still list first.
        let mut errors = errors;
        errors.push(LineError {
            line: 3,
            reason: "future_event_time",
            message: String::new(),
        });
        assert_eq!(errors.listed.len(), MAX_LISTED_ERRORS);
        assert_eq!(errors.total, n);
        assert_eq!(errors.listed[2].line, 3);
    }

    #[test]
    fn push_batch_refuses_a_broken_array_whole() {
        let (good, errors, lines) = parse_batch(format!("[{GOOD}, {{").as_bytes());
        assert_eq!((good.len(), errors.total, lines), (0, 1, 1));
        assert_eq!(errors.listed[0].reason, "invalid_json");
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        let (good, errors, _) = parse_batch(deep.as_bytes());
        assert_eq!((good.len(), errors.total), (0, 1));
    }
}
