//! The Mastodon source: the streaming API over WebSocket (`public`, `public:local`, `hashtag`
//! or `list`), with REST backfill so an outage loses nothing.
//!
//! * Each `update` event's `payload` is a string holding a JSON Status. Its HTML `content`
//!   becomes plain text (tags stripped, paragraphs and `<br>` as newlines, entities decoded);
//!   a reblog becomes `kind = "repost"` with `parent_id` the reblogged status id and no text of
//!   its own; a reply becomes `reply` with `parent_id = in_reply_to_id`. Other events (deletes,
//!   edits, notifications, announcements) are skipped; unknown ones are counted as bad input.
//! * The access token comes from the environment through `token = "${VAR}"` and is sent as
//!   `Authorization: Bearer`, never in the URL (URLs get logged).
//! * Mastodon has no stream cursor. The source remembers the newest status id it has seen
//!   (and, with `cursor_file`, persists the newest one the engine has processed, durably, every
//!   second and at shutdown, so a restart backfills what it missed); after every reconnect (and
//!   at a start from a persisted id) it first opens the stream (so new posts queue up on the socket), then pages
//!   the REST timeline forward with `min_id` until it is caught up, then reads the stream. The
//!   overlap between backfill and stream is dropped by the bounded recent-id set: nothing lost,
//!   nothing doubled. A backfill is bounded: each page's body to [`MAX_PAGE_BODY`] bytes, all
//!   its pages together to [`BACKFILL_DEADLINE`], and a stop interrupts it. One that fails
//!   (counted as `backfill_timeout`, `backfill_too_large`, `backfill_invalid_json` or
//!   `backfill_failed`) does not keep the stream unread: the stream is read, the cursor stays
//!   before the gap (stream statuses do not move it), and the gap is tried again after
//!   [`BACKFILL_RETRY`] (30 s doubling to 10 min) while the connection lasts, at the next
//!   connect, or at the next start.
//! * Only a status that decodes (a plausible id, a valid date) and lies inside the event-time
//!   bounds moves the cursor; a status with a malformed id is counted `invalid_id`.
//! * Only an event that decodes resets the reconnect backoff: a server that sends one bad frame
//!   and hangs up is met with growing delays.
//! * Backpressure: while the pipeline queue is full the socket is not read.
//! * Liveness: connecting must finish within `connect_timeout`, a ping goes out every
//!   `ping_interval`, and a stream on which nothing arrives (not even a pong) for
//!   `idle_timeout` is reconnected (and the gap backfilled). A frame over `max_message_bytes`
//!   (up to 16 times that) is skipped in-stream and counted `oversize`.

use std::cmp::Ordering;
use std::time::{Duration, Instant};

use serde::Deserialize;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

use super::http_body::BodyError;
use super::reconnect::Backoff;
use super::{SeenIds, SourceCtx};
use crate::config::source::MastodonConfig;
use crate::domain::{Author, EventTime, Mention, MentionKind};

/// The `source` field of Mastodon mentions.
pub const SOURCE: &str = "mastodon";
/// Statuses per REST page (the API's maximum).
const PAGE: usize = 40;
/// Most bytes of one REST timeline page read: 40 statuses, reblogs and accounts included, are
/// well under it; a longer body is refused (`backfill_too_large`), not held.
pub const MAX_PAGE_BODY: usize = 8 << 20;
/// Timeout of one REST request.
const REST_TIMEOUT: Duration = Duration::from_secs(30);
/// Most time one backfill may take, all its pages together, before the stream is read anyway
/// (`backfill_timeout`): a slow or dribbling REST endpoint must not keep the stream unread.
pub const BACKFILL_DEADLINE: Duration = Duration::from_secs(20);

/// After a failed backfill the stream is read, and the gap is tried again after this delay,
/// doubling up to the second, for as long as the connection lasts (a reconnect tries it at
/// once): a connection that stays up for hours must not leave the gap, and the persisted
/// cursor behind it, for its whole life.
pub const BACKFILL_RETRY: (Duration, Duration) =
    (Duration::from_secs(30), Duration::from_secs(600));
/// Longest status id accepted: Mastodon's are decimal, at most 19 digits; other servers'
/// (Pleroma, Akkoma) are alphanumeric flake ids of about 18.
const MAX_ID_LEN: usize = 32;
/// Streaming events the pipeline has no use for.
const IGNORED_EVENTS: [&str; 8] = [
    "delete",
    "status.update",
    "notification",
    "filters_changed",
    "conversation",
    "announcement",
    "announcement.reaction",
    "announcement.delete",
];

#[derive(Deserialize)]
struct StreamMessage {
    event: String,
    #[serde(default)]
    payload: Option<String>,
}

/// The parts of a Mastodon Status the pipeline uses.
#[derive(Debug, Deserialize)]
pub struct Status {
    pub id: String,
    pub created_at: String,
    #[serde(default)]
    pub content: String,
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub in_reply_to_id: Option<String>,
    #[serde(default)]
    pub language: Option<String>,
    pub account: Account,
    #[serde(default)]
    pub reblog: Option<Box<Status>>,
    #[serde(default)]
    pub favourites_count: Option<u64>,
    #[serde(default)]
    pub reblogs_count: Option<u64>,
}

#[derive(Debug, Deserialize)]
pub struct Account {
    pub id: String,
    pub acct: String,
    #[serde(default)]
    pub followers_count: Option<u64>,
    #[serde(default)]
    pub created_at: Option<String>,
}

/// Whether `id` looks like a status id: 1 to [`MAX_ID_LEN`] ASCII letters or digits, and when
/// all digits, a bigint as Mastodon stores them (at most `i64::MAX`, no leading zero). Anything
/// else (40 or 32 nines, an empty string, a URL) would poison the cursor that pages the
/// backfill: ids are ordered by length first, so one long id outranks every real one.
fn valid_id(id: &str) -> bool {
    (1..=MAX_ID_LEN).contains(&id.len())
        && id.bytes().all(|b| b.is_ascii_alphanumeric())
        && (!id.bytes().all(|b| b.is_ascii_digit())
            || id.parse::<i64>().is_ok_and(|n| n.to_string() == id))
}

/// Normalises a Status; the error is a stable bad-input reason.
pub fn status_to_mention(s: Status) -> Result<Mention, &'static str> {
    if !valid_id(&s.id) {
        return Err("invalid_id");
    }
    let created_at = EventTime::parse_rfc3339(&s.created_at).ok_or("invalid_timestamp")?;
    let (kind, parent_id, text) = match (&s.reblog, &s.in_reply_to_id) {
        (Some(r), _) => (MentionKind::Repost, Some(r.id.clone()), String::new()),
        (None, Some(p)) => (
            MentionKind::Reply,
            Some(p.clone()),
            html_to_text(&s.content),
        ),
        (None, None) => (MentionKind::Post, None, html_to_text(&s.content)),
    };
    Ok(Mention {
        id: s.id,
        source: String::from(SOURCE),
        created_at,
        text,
        author: Author {
            id: s.account.id,
            handle: format!("@{}", s.account.acct),
            followers: s.account.followers_count.unwrap_or(0),
            created_at: s
                .account
                .created_at
                .as_deref()
                .and_then(EventTime::parse_rfc3339),
        },
        kind,
        parent_id,
        lang: s.language,
        url: s.url,
        likes: s.favourites_count,
        reposts: s.reblogs_count,
    })
}

/// Mastodon status HTML → plain text: tags dropped, `<br>` and paragraph ends as newlines,
/// character references decoded.
pub fn html_to_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(i) = rest.find(['<', '&']) {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        if rest.starts_with('<') {
            // A `<` that opens no tag ("I <3 it" from an instance that does not escape it: a
            // tag starts with a letter, `/` or `!`) is text, as a browser reads it; so is one
            // never closed. Read as a tag, it took the rest of the status with it.
            let opens_tag = rest[1..]
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '/' || c == '!');
            let Some(end) = rest.find('>').filter(|_| opens_tag) else {
                out.push('<');
                rest = &rest[1..];
                continue;
            };
            let tag = rest[1..end].trim().to_ascii_lowercase();
            let name = tag
                .trim_start_matches('/')
                .split([' ', '/'])
                .next()
                .unwrap_or("");
            if name == "br" || (tag.starts_with('/') && name == "p") {
                out.push('\n');
            }
            rest = &rest[end + 1..];
        } else {
            // Entity names are short ASCII: look for `;` among the next bytes. `;` is ASCII,
            // so its byte position is a char boundary even when multi-byte text follows.
            let end = rest
                .as_bytes()
                .iter()
                .take(MAX_ENTITY_BYTES)
                .position(|&b| b == b';');
            let decoded = end.and_then(|e| decode_entity(&rest[1..e]).map(|c| (c, e)));
            match decoded {
                Some((c, e)) => {
                    out.push(c);
                    rest = &rest[e + 1..];
                }
                None => {
                    out.push('&');
                    rest = &rest[1..];
                }
            }
        }
    }
    out.push_str(rest);
    out.trim().to_string()
}

/// Longest character reference looked for, `&` and `;` included (`&#x10FFFF;` is 10 bytes).
const MAX_ENTITY_BYTES: usize = 12;

fn decode_entity(name: &str) -> Option<char> {
    match name {
        "amp" => Some('&'),
        "lt" => Some('<'),
        "gt" => Some('>'),
        "quot" => Some('"'),
        "apos" => Some('\''),
        "nbsp" => Some(' '),
        _ => {
            let num = name.strip_prefix('#')?;
            let code = match num.strip_prefix(['x', 'X']) {
                Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                None => num.parse().ok()?,
            };
            char::from_u32(code)
        }
    }
}

/// Orders Mastodon ids (decimal snowflakes as strings) numerically.
fn id_cmp(a: &str, b: &str) -> Ordering {
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

/// A status id ordered as [`id_cmp`] orders them: the position of the persisted cursor.
#[derive(Debug, Clone, PartialEq, Eq)]
struct StatusId(String);

impl Ord for StatusId {
    fn cmp(&self, other: &Self) -> Ordering {
        id_cmp(&self.0, &other.0)
    }
}

impl PartialOrd for StatusId {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

fn streaming_url(cfg: &MastodonConfig) -> String {
    let base = match &cfg.streaming_url {
        Some(u) => u.trim_end_matches('/').to_string(),
        None => {
            let u = cfg.url.trim_end_matches('/');
            match u.strip_prefix("https://") {
                Some(rest) => format!("wss://{rest}"),
                None => format!("ws://{}", u.trim_start_matches("http://")),
            }
        }
    };
    let mut url = format!("{base}/api/v1/streaming?stream={}", cfg.stream);
    if let Some(t) = &cfg.tag {
        url.push_str(&format!("&tag={t}"));
    }
    if let Some(l) = &cfg.list {
        url.push_str(&format!("&list={l}"));
    }
    url
}

fn timeline_url(cfg: &MastodonConfig) -> String {
    let base = cfg.url.trim_end_matches('/');
    match cfg.stream.as_str() {
        "hashtag" => format!(
            "{base}/api/v1/timelines/tag/{}",
            cfg.tag.as_deref().unwrap_or("")
        ),
        "list" => format!(
            "{base}/api/v1/timelines/list/{}",
            cfg.list.as_deref().unwrap_or("")
        ),
        "public:local" => format!("{base}/api/v1/timelines/public?local=true"),
        _ => format!("{base}/api/v1/timelines/public"),
    }
}

struct State {
    /// The newest status id read in order: the next backfill's `min_id`.
    newest: Option<String>,
    recent: SeenIds,
    /// How far the engine has processed (what `cursor_file` may say).
    commit: super::CommitCursor<StatusId>,
    /// A stretch before the stream is not backfilled yet (after a start from a cursor or a
    /// reconnect, until a backfill finishes): statuses from the stream, newer than the gap,
    /// then move neither `newest` nor the persisted cursor, so the gap is tried again.
    gap_open: bool,
}

impl State {
    /// Emits a status unless seen; `false` when the source must stop. Only a status that
    /// decodes and lies inside the event-time bounds moves the cursor (a bad id or date
    /// must not become the `min_id` of every later backfill), and one from the stream only
    /// while no gap is open.
    async fn take(
        &mut self,
        ctx: &SourceCtx,
        s: Status,
        received: Instant,
        from_backfill: bool,
    ) -> bool {
        if !self.recent.insert(&s.id) {
            return true;
        }
        let id = s.id.clone();
        let m = match status_to_mention(s) {
            Ok(m) => m,
            Err(reason) => {
                ctx.bad_input(reason, &id);
                return true;
            }
        };
        let in_bounds = ctx.bounds.is_none_or(|b| b.check(m.created_at).is_ok());
        if in_bounds {
            ctx.set_cursor_age(m.created_at.millis().saturating_mul(1000));
        }
        // Out-of-bounds event times are counted and skipped by `emit`.
        if !ctx.emit(m, received).await {
            // Not queued: the cursor must not pass it.
            return false;
        }
        if in_bounds && (from_backfill || !self.gap_open) {
            if self
                .newest
                .as_deref()
                .is_none_or(|n| id_cmp(&id, n) == Ordering::Greater)
            {
                self.newest = Some(id.clone());
            }
            self.commit.read(ctx.progress.queued(), StatusId(id));
        }
        true
    }

    /// Persists the newest status id whose mentions the engine has processed, if configured.
    fn persist(&mut self, cfg: &MastodonConfig, ctx: &SourceCtx) {
        let id = self.commit.committed(ctx.progress.processed());
        persist(cfg, ctx, id.as_ref());
    }
}

/// Writes `id` to the cursor file, if the source has one; `false` when the write failed.
fn persist(cfg: &MastodonConfig, ctx: &SourceCtx, id: Option<&StatusId>) -> bool {
    ctx.persist_cursor(cfg.cursor_file.as_deref(), id.map(|i| i.0.as_str()))
}

/// Runs the source until `ctx.cancel` fires.
pub async fn run(cfg: MastodonConfig, ctx: SourceCtx) -> anyhow::Result<()> {
    let client = reqwest::Client::builder().timeout(REST_TIMEOUT).build()?;
    // The newest status processed before the last stop: the first connect backfills from it.
    let newest = match cfg.cursor_file.as_deref() {
        Some(path) => super::load_cursor_file(path, "mastodon")?,
        None => None,
    };
    let mut state = State {
        commit: super::CommitCursor::new(newest.clone().map(StatusId)),
        newest,
        recent: SeenIds::new(cfg.dedup_capacity),
        gap_open: false,
    };
    let mut pace = super::CursorPace::new();
    let mut backoff = Backoff::new(&cfg.backoff);
    let ws_cfg = super::ws_config(cfg.max_message_bytes);
    let mut first = true;
    while !ctx.cancel.is_cancelled() {
        if !first {
            ctx.reconnected();
            if !backoff.wait(&ctx.cancel).await {
                break;
            }
        }
        first = false;
        let mut req = streaming_url(&cfg).into_client_request()?;
        if let Some(t) = &cfg.token {
            req.headers_mut()
                .insert("authorization", format!("Bearer {}", t.expose()).parse()?);
        }
        let Some(mut ws) = super::ws_connect(req, ws_cfg, &cfg.liveness, &ctx, "mastodon").await
        else {
            continue;
        };
        ctx.set_connected(true);
        // When the gap is tried again while the stream is read, and the delay after that.
        let mut retry: Option<(tokio::time::Instant, Duration)> = None;
        if state.newest.is_some() {
            state.gap_open = true;
            if !try_backfill(&cfg, &ctx, &client, &mut state, &mut retry).await {
                break;
            }
        }
        let mut live = super::Liveness::new(&cfg.liveness);
        loop {
            let retry_at = retry.map_or_else(tokio::time::Instant::now, |(at, _)| at);
            let next = tokio::select! {
                m = super::ws_next(&mut ws, &mut live, &ctx, "mastodon") => Some(m),
                () = tokio::time::sleep_until(retry_at), if retry.is_some() => None,
                // Quiet since the last write: the cursor is written all the same.
                () = tokio::time::sleep_until(pace.due()), if cfg.cursor_file.is_some() => {
                    pace.write(state.commit.committed(ctx.progress.processed()), |c| {
                        persist(&cfg, &ctx, c.as_ref())
                    });
                    continue;
                }
            };
            let Some(next) = next else {
                // The gap again, while the connection stays up; the socket queues meanwhile.
                if !try_backfill(&cfg, &ctx, &client, &mut state, &mut retry).await {
                    break;
                }
                continue;
            };
            let Some(msg) = next else {
                break;
            };
            let received = Instant::now();
            let text = match msg {
                None | Some(Ok(Message::Close(_))) => break,
                Some(Ok(Message::Text(t))) => t,
                Some(Ok(Message::Binary(_))) => {
                    ctx.line();
                    ctx.bad_input("binary_frame", "binary frame");
                    continue;
                }
                Some(Ok(_)) => continue,
                Some(Err(e)) => {
                    super::ws_read_failed(&ctx, &e, "mastodon");
                    break;
                }
            };
            ctx.line();
            if text.len() > cfg.max_message_bytes {
                ctx.bad_input(
                    "oversize",
                    &format!(
                        "{} byte frame (max_message_bytes {})",
                        text.len(),
                        cfg.max_message_bytes
                    ),
                );
                continue;
            }
            let msg: StreamMessage = match serde_json::from_str(text.as_str()) {
                Ok(m) => m,
                Err(_) => {
                    ctx.bad_input("invalid_json", text.as_str());
                    continue;
                }
            };
            if msg.event != "update" {
                if IGNORED_EVENTS.contains(&msg.event.as_str()) {
                    backoff.reset();
                } else {
                    ctx.bad_input("unknown_event", &msg.event);
                }
                continue;
            }
            let status: Status = match msg.payload.as_deref().map(serde_json::from_str) {
                Some(Ok(s)) => s,
                _ => {
                    ctx.bad_input("invalid_payload", text.as_str());
                    continue;
                }
            };
            // Only an event that decodes shows the server speaks the streaming API: one that
            // sends a bad frame and hangs up is met with a growing backoff.
            backoff.reset();
            if !state.take(&ctx, status, received, false).await {
                break;
            }
            if pace.is_due() {
                pace.write(state.commit.committed(ctx.progress.processed()), |c| {
                    persist(&cfg, &ctx, c.as_ref())
                });
            }
        }
        ctx.set_connected(false);
        state.persist(&cfg, &ctx);
    }
    ctx.wait_for_engine().await;
    state.persist(&cfg, &ctx);
    Ok(())
}

/// Backfills the open gap. On success the gap closes and no retry is scheduled; on failure
/// (counted by reason) the stream is read all the same, since REST trouble must not starve it,
/// the cursor stays at the gap, and `retry` schedules the next try ([`BACKFILL_RETRY`]).
/// `false` when the source must stop.
async fn try_backfill(
    cfg: &MastodonConfig,
    ctx: &SourceCtx,
    client: &reqwest::Client,
    state: &mut State,
    retry: &mut Option<(tokio::time::Instant, Duration)>,
) -> bool {
    match backfill(cfg, ctx, client, state).await {
        Ok(true) => {
            state.gap_open = false;
            if retry.take().is_some() {
                tracing::info!(source = %ctx.id, "mastodon backfill caught up with the gap");
            }
            true
        }
        Ok(false) => false,
        Err(e) => {
            ctx.bad_input(e.reason(), &e.to_string());
            let delay = retry.map_or(BACKFILL_RETRY.0, |(_, d)| {
                d.saturating_mul(2).min(BACKFILL_RETRY.1)
            });
            *retry = Some((tokio::time::Instant::now() + delay, delay));
            tracing::warn!(source = %ctx.id, error = %e, retry_in_s = delay.as_secs(), "mastodon backfill failed; reading the stream and trying the gap again");
            true
        }
    }
}

/// Why a backfill stopped short.
#[derive(Debug, thiserror::Error)]
enum BackfillError {
    #[error("backfill not done within {0:?}")]
    Deadline(Duration),
    #[error("timeline request failed: {0}")]
    Http(reqwest::Error),
    #[error("timeline page: {0}")]
    Body(#[from] BodyError),
}

impl BackfillError {
    /// The stable bad-input `reason` label.
    fn reason(&self) -> &'static str {
        match self {
            BackfillError::Deadline(_) => "backfill_timeout",
            BackfillError::Http(_) => "backfill_failed",
            BackfillError::Body(BodyError::TooLarge { .. }) => "backfill_too_large",
            BackfillError::Body(BodyError::Json(_)) => "backfill_invalid_json",
            BackfillError::Body(BodyError::Read(_)) => "backfill_failed",
        }
    }
}

/// Pages the REST timeline forward from the newest id seen, within [`BACKFILL_DEADLINE`];
/// `Ok(false)` when cancelled (at once, even mid-request).
async fn backfill(
    cfg: &MastodonConfig,
    ctx: &SourceCtx,
    client: &reqwest::Client,
    state: &mut State,
) -> Result<bool, BackfillError> {
    tokio::select! {
        r = tokio::time::timeout(BACKFILL_DEADLINE, backfill_pages(cfg, ctx, client, state)) => {
            r.unwrap_or(Err(BackfillError::Deadline(BACKFILL_DEADLINE)))
        }
        _ = ctx.cancel.cancelled() => Ok(false),
    }
}

async fn backfill_pages(
    cfg: &MastodonConfig,
    ctx: &SourceCtx,
    client: &reqwest::Client,
    state: &mut State,
) -> Result<bool, BackfillError> {
    let url = timeline_url(cfg);
    // Where the next page starts: the newest listed id, whether or not its status could be
    // used (the persisted cursor moves only for those that could, see `State::take`).
    let mut min_id = state.newest.clone();
    for _ in 0..cfg.backfill_pages {
        let Some(from) = min_id.take() else {
            return Ok(true);
        };
        let mut req = client
            .get(&url)
            .query(&[("min_id", from.as_str()), ("limit", "40")]);
        if let Some(t) = &cfg.token {
            req = req.bearer_auth(t.expose());
        }
        let resp = req
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(|e| BackfillError::Http(e.without_url()))?;
        // Each status on its own: one of the wrong shape (an account of null) is counted and
        // skipped, as on the stream; failing the page would fail it at every try, for as long
        // as the instance lists that status after the cursor.
        let items: Vec<serde_json::Value> =
            super::http_body::json_capped(resp, MAX_PAGE_BODY).await?;
        let n = items.len();
        min_id = items
            .iter()
            .filter_map(|v| v.get("id").and_then(serde_json::Value::as_str))
            .filter(|id| valid_id(id) && id_cmp(id, &from) == Ordering::Greater)
            .max_by(|a, b| id_cmp(a, b))
            .map(str::to_owned);
        let mut page: Vec<Status> = Vec::with_capacity(n);
        for v in items {
            ctx.line();
            match serde_json::from_value::<Status>(v) {
                Ok(s) => page.push(s),
                Err(e) => ctx.bad_input("invalid_payload", &e.to_string()),
            }
        }
        page.sort_by(|a, b| id_cmp(&a.id, &b.id));
        let received = Instant::now();
        for s in page {
            if !state.take(ctx, s, received, true).await {
                return Ok(false);
            }
        }
        if n < PAGE {
            return Ok(true);
        }
    }
    tracing::warn!(source = %ctx.id, pages = cfg.backfill_pages, "mastodon backfill stopped at its page limit");
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mastodon_html_becomes_plain_text() {
        assert_eq!(
            html_to_text("<p>Hi <a href=\"x\"><span>@bob</span></a> &amp; co&#39;s &lt;3</p><p>line<br />two &#x1F600; &bogus; 5 &lt 6</p>"),
            "Hi @bob & co's <3\nline\ntwo 😀 &bogus; 5 &lt 6"
        );
    }

    #[test]
    fn mastodon_a_lone_angle_bracket_is_text() {
        assert_eq!(
            html_to_text("<p>I <3 brightline, and it is down</p>"),
            "I <3 brightline, and it is down"
        );
        assert_eq!(html_to_text("a < b"), "a < b");
        assert_eq!(
            html_to_text("x <b>bold</b> <br/>y <span"),
            "x bold \ny <span"
        );
    }

    #[test]
    fn mastodon_entity_before_multibyte_text_decodes() {
        // The attacker's status: `&amp;` with a multi-byte character within 12 bytes.
        assert_eq!(html_to_text("<p>Tom &amp; Jerry’s</p>"), "Tom & Jerry’s");
        assert_eq!(html_to_text("a &ééééééé; b"), "a &ééééééé; b");
        assert_eq!(html_to_text("&😀😀😀"), "&😀😀😀");
        assert_eq!(html_to_text("x &#233;t&eacute"), "x ét&eacute");
    }

    proptest::proptest! {
        #[test]
        fn mastodon_html_to_text_never_panics(s in "\\PC*") {
            let _ = html_to_text(&s);
        }

        #[test]
        fn mastodon_html_to_text_never_panics_on_markup(
            parts in proptest::collection::vec(
                proptest::prop_oneof![
                    proptest::strategy::Just(String::from("&")),
                    proptest::strategy::Just(String::from("&amp;")),
                    proptest::strategy::Just(String::from("&#x1F600;")),
                    proptest::strategy::Just(String::from(";")),
                    proptest::strategy::Just(String::from("<")),
                    proptest::strategy::Just(String::from(">")),
                    proptest::strategy::Just(String::from("<br/>")),
                    proptest::strategy::Just(String::from("’")),
                    proptest::strategy::Just(String::from("😀")),
                    "\\PC{0,3}",
                ],
                0..24,
            )
        ) {
            let html: String = parts.concat();
            let text = html_to_text(&html);
            proptest::prop_assert!(text.len() <= html.len() + html.matches('<').count());
        }
    }

    #[test]
    fn mastodon_ids_order_numerically() {
        assert_eq!(id_cmp("99", "100"), Ordering::Less);
        assert_eq!(id_cmp("110", "109"), Ordering::Greater);
    }

    #[test]
    fn mastodon_reblog_and_reply_map_to_kind_and_parent() {
        let reblog: Status = serde_json::from_str(r#"{"id":"2","created_at":"2026-03-02T10:00:00.000Z","content":"","account":{"id":"7","acct":"amy@example.org","followers_count":12},"reblog":{"id":"1","created_at":"2026-03-02T09:00:00.000Z","content":"<p>orig</p>","account":{"id":"8","acct":"bo"}}}"#).unwrap();
        let m = status_to_mention(reblog).unwrap();
        assert_eq!(
            (m.kind, m.parent_id.as_deref(), m.text.as_str()),
            (MentionKind::Repost, Some("1"), "")
        );
        assert_eq!(m.author.handle, "@amy@example.org");
        assert_eq!(m.author.followers, 12);
        let reply: Status = serde_json::from_str(r#"{"id":"3","created_at":"2026-03-02T10:00:00Z","content":"<p>yes</p>","in_reply_to_id":"1","account":{"id":"7","acct":"amy"}}"#).unwrap();
        let m = status_to_mention(reply).unwrap();
        assert_eq!(
            (m.kind, m.parent_id.as_deref(), m.text.as_str()),
            (MentionKind::Reply, Some("1"), "yes")
        );
    }
}
