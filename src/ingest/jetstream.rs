//! The Bluesky Jetstream source: posts and reposts from `wss://…/subscribe` as JSON frames.
//!
//! * Subscription: `wantedCollections` for `app.bsky.feed.post` and `app.bsky.feed.repost` by
//!   default. Replies and quotes become `kind` `reply`/`quote` with `parent_id` the parent's or
//!   quoted post's `at://` URI; reposts become `repost` with the subject's URI. Mention ids are
//!   the record's own `at://did/collection/rkey` URI, so parents and children share one id space.
//!   Event time is the server's `time_us` (monotonic per connection, immune to client clocks).
//! * Resumption: the newest `time_us` is the cursor, persisted atomically and durably (fsync of
//!   the file and its directory) to `cursor_file` every second and on shutdown, but only up to
//!   the newest event whose mentions the engine has processed ([`super::CommitCursor`]): a
//!   crash never skips mentions that were only queued. A missing file starts live; an empty or
//!   garbled one is an error. A reconnect resumes from the cursor minus `cursor_safety`;
//!   the replayed overlap is dropped by a bounded recent-id set, so nothing is lost or doubled.
//!   Only an event inside the event-time bounds moves the cursor (a future one would skip
//!   history on resume, a stale one rewind it), and the resume cursor saturates.
//! * Reconnects back off exponentially with jitter ([`super::reconnect`]). Connecting (TCP,
//!   TLS, handshake) must finish within `connect_timeout`; a ping goes out every
//!   `ping_interval`, and a connection on which nothing arrives, not even a pong, for
//!   `idle_timeout` is given up for a new one (server pings do not count; see
//!   [`super::ws_next`]). Only a frame that decodes resets the backoff.
//! * Backpressure: while the pipeline queue is full the source stops reading the socket, so
//!   the server (and TCP) buffer.
//! * Bad input (non-JSON or binary frames, unknown event kinds, oversize or invalid UTF-8
//!   frames) is counted by reason and sampled into the log. A frame over `max_message_bytes`
//!   (up to 16 times that) is read and skipped in-stream, the cursor moving past its `time_us`:
//!   failing the connection would meet the same frame again after every resume; identity/account events, deletes,
//!   updates and other collections are skipped silently but still advance the cursor.
//! * Compression: with `compress = true` and `zstd_dictionary` (the dictionary file Jetstream
//!   publishes) the source asks for `compress=true` and decodes binary frames with it.
//! * Enrichment: Jetstream has no follower counts. With `appview_url`, authors are looked up via
//!   [`Profiles`] (batched by 25): cached with a TTL, bounded, rate-limited,
//!   and never awaited by the stream (a miss emits the mention at once with 0 followers and
//!   queues the lookup). An answer is read to at most [`MAX_PROFILES_BODY`] bytes; a longer
//!   or malformed one is counted (`appview_body_too_large`, `appview_invalid_json`) and skipped.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Deserialize;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

use super::reconnect::Backoff;
use super::{SeenIds, SourceCtx};
use crate::config::source::JetstreamConfig;
use crate::domain::{Author, EventTime, Mention, MentionKind};

/// The `source` field of Jetstream mentions.
pub const SOURCE: &str = "bluesky";
/// Most authors in one `getProfiles` call (the AppView's limit).
const PROFILE_BATCH: usize = 25;
/// Queued profile lookups; more are dropped (and retried on the author's next post).
const PROFILE_QUEUE: usize = 4096;
/// Most bytes of one `getProfiles` answer read (25 profiles are some 50 KiB): a longer body is
/// refused as `appview_body_too_large`, not held.
pub const MAX_PROFILES_BODY: usize = 1 << 20;

/// The cursor of a frame that is otherwise skipped.
#[derive(Deserialize)]
struct TimeOnly {
    time_us: i64,
}

#[derive(Deserialize)]
struct Event<'a> {
    #[serde(borrow)]
    did: Cow<'a, str>,
    time_us: i64,
    #[serde(borrow)]
    kind: Cow<'a, str>,
    #[serde(borrow)]
    commit: Option<Commit<'a>>,
}

#[derive(Deserialize)]
struct Commit<'a> {
    #[serde(borrow)]
    operation: Cow<'a, str>,
    #[serde(borrow)]
    collection: Cow<'a, str>,
    #[serde(borrow)]
    rkey: Cow<'a, str>,
    #[serde(borrow)]
    record: Option<Record<'a>>,
}

#[derive(Deserialize)]
struct Record<'a> {
    #[serde(borrow, default)]
    text: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    langs: Option<Vec<Cow<'a, str>>>,
    #[serde(default)]
    reply: Option<Reply>,
    #[serde(default)]
    embed: Option<Embed>,
    #[serde(default)]
    subject: Option<Subject>,
}

#[derive(Deserialize)]
struct StrongRef {
    uri: String,
}

#[derive(Deserialize)]
struct Reply {
    parent: StrongRef,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Subject {
    Ref(StrongRef),
    Other(serde::de::IgnoredAny),
}

#[derive(Deserialize)]
#[serde(untagged)]
enum EmbedRecord {
    Ref(StrongRef),
    Nested { record: StrongRef },
    Other(serde::de::IgnoredAny),
}

#[derive(Deserialize)]
struct Embed {
    #[serde(default)]
    record: Option<EmbedRecord>,
}

/// What one Jetstream frame means to the pipeline.
#[derive(Debug, Clone, PartialEq)]
pub enum Decoded {
    /// A post, reply, quote or repost; `time_us` is the event's cursor.
    Mention { mention: Box<Mention>, time_us: i64 },
    /// An event the pipeline does not use (identity, account, delete, like, …).
    Skip { time_us: i64 },
}

/// Decodes one Jetstream JSON frame; the error is a stable bad-input reason.
pub fn decode_event(frame: &[u8]) -> Result<Decoded, &'static str> {
    let ev: Event = serde_json::from_slice(frame).map_err(|e| match e.classify() {
        serde_json::error::Category::Data => "invalid_event",
        _ => "invalid_json",
    })?;
    let time_us = ev.time_us;
    match ev.kind.as_ref() {
        "commit" => {}
        "identity" | "account" => return Ok(Decoded::Skip { time_us }),
        _ => return Err("unknown_event"),
    }
    let Some(commit) = ev.commit else {
        return Err("invalid_event");
    };
    if commit.operation != "create" {
        return Ok(Decoded::Skip { time_us });
    }
    let Some(record) = commit.record else {
        return Err("invalid_event");
    };
    let (kind, parent_id, text) = match commit.collection.as_ref() {
        "app.bsky.feed.post" => {
            let quoted = record.embed.and_then(|e| match e.record {
                Some(EmbedRecord::Ref(r)) | Some(EmbedRecord::Nested { record: r }) => Some(r.uri),
                _ => None,
            });
            let text = record.text.map(Cow::into_owned).unwrap_or_default();
            match (record.reply, quoted) {
                (Some(r), _) => (MentionKind::Reply, Some(r.parent.uri), text),
                (None, Some(q)) => (MentionKind::Quote, Some(q), text),
                (None, None) => (MentionKind::Post, None, text),
            }
        }
        "app.bsky.feed.repost" => match record.subject {
            Some(Subject::Ref(s)) => (MentionKind::Repost, Some(s.uri), String::new()),
            _ => return Err("invalid_event"),
        },
        _ => return Ok(Decoded::Skip { time_us }),
    };
    let did = ev.did.as_ref();
    let url = (kind != MentionKind::Repost)
        .then(|| format!("https://bsky.app/profile/{did}/post/{}", commit.rkey));
    let mention = Mention {
        id: format!("at://{did}/{}/{}", commit.collection, commit.rkey),
        source: String::from(SOURCE),
        created_at: EventTime(time_us.div_euclid(1000)),
        text,
        author: Author {
            id: did.to_string(),
            handle: did.to_string(),
            followers: 0,
            created_at: None,
        },
        kind,
        parent_id,
        lang: record
            .langs
            .and_then(|l| l.into_iter().next().map(Cow::into_owned)),
        url,
        likes: None,
        reposts: None,
    };
    Ok(Decoded::Mention {
        mention: Box::new(mention),
        time_us,
    })
}

/// The subscription URL for `cfg`, resuming at `cursor` when given.
pub fn subscribe_url(cfg: &JetstreamConfig, cursor: Option<i64>) -> String {
    let mut url = cfg.url.clone();
    let mut sep = if url.contains('?') { '&' } else { '?' };
    for c in &cfg.collections {
        url.push(sep);
        url.push_str("wantedCollections=");
        url.push_str(c);
        sep = '&';
    }
    if cfg.zstd_dictionary.is_some() {
        url.push(sep);
        url.push_str("compress=true");
        sep = '&';
    }
    if let Some(c) = cursor {
        url.push(sep);
        url.push_str(&format!("cursor={c}"));
    }
    url
}

/// Reads the persisted cursor: `None` when the file does not exist (start live); an empty
/// or garbled file is an error (see [`super::load_cursor_file`]).
pub fn load_cursor(path: &str) -> anyhow::Result<Option<i64>> {
    let Some(t) = super::load_cursor_file(path, "jetstream")? else {
        return Ok(None);
    };
    let c: i64 = t.parse().map_err(|_| {
        anyhow::anyhow!(
            "the jetstream cursor file {path} holds {:?}, not a cursor: fix or delete it to start live",
            t.chars().take(40).collect::<String>()
        )
    })?;
    Ok(Some(c))
}

/// Runs the source until `ctx.cancel` fires; persists the cursor before returning.
pub async fn run(cfg: JetstreamConfig, ctx: SourceCtx) -> anyhow::Result<()> {
    let mut cursor = match cfg.cursor_file.as_deref() {
        Some(path) => load_cursor(path)?,
        None => None,
    };
    // `cursor` is how far this task has read (a reconnect resumes there); what is persisted
    // is only how far the engine has processed.
    let mut commit = super::CommitCursor::new(cursor);
    let mut recent = SeenIds::new(cfg.dedup_capacity);
    let mut backoff = Backoff::new(&cfg.backoff);
    let profiles = cfg.appview_url.as_ref().map(|url| {
        let (p, task) = Profiles::for_source(url, &cfg, &ctx);
        tokio::spawn(task);
        p
    });
    let safety_us = i64::try_from(cfg.cursor_safety.as_micros()).unwrap_or(0);
    let ws_cfg = super::ws_config(cfg.max_message_bytes);
    let mut zstd = match &cfg.zstd_dictionary {
        Some(path) => {
            let dict = std::fs::read(path)
                .map_err(|e| anyhow::anyhow!("cannot read zstd dictionary {path}: {e}"))?;
            Some(zstd::bulk::Decompressor::with_dictionary(&dict)?)
        }
        None => None,
    };
    let mut inflated = Vec::with_capacity(cfg.max_message_bytes);
    let mut first = true;
    // A frame that fails the connection itself (not UTF-8, past 16x the size limit, a protocol
    // error) cannot be read to learn its time, so a resume from the cursor meets it again:
    // `stuck` counts such failures at one cursor, `stuck_at`; from the second, the resume
    // skips ahead of the cursor, 1 ms doubling, until the frame is behind it.
    let mut stuck: u32 = 0;
    let mut stuck_at: Option<i64> = None;
    while !ctx.cancel.is_cancelled() {
        if !first {
            ctx.reconnected();
            if !backoff.wait(&ctx.cancel).await {
                break;
            }
        }
        first = false;
        let resume = match (cursor, stuck) {
            (Some(c), n) if n >= 2 => {
                let skip_us = 1_000_i64 << (n - 2).min(26);
                ctx.bad_input(
                    "skipped_past_bad_frame",
                    &format!("resuming {skip_us} µs past the cursor {c}: a frame there fails the connection at every resume"),
                );
                Some(c.saturating_add(skip_us))
            }
            (c, _) => c.map(|c| c.saturating_sub(safety_us)),
        };
        let resumed_from = cursor;
        let url = subscribe_url(&cfg, resume);
        let Some(mut ws) =
            super::ws_connect(url.as_str(), ws_cfg, &cfg.liveness, &ctx, "jetstream").await
        else {
            continue;
        };
        ctx.set_connected(true);
        tracing::info!(source = %ctx.id, cursor = ?cursor, "jetstream connected");
        let mut pace = super::CursorPace::new();
        let mut live = super::Liveness::new(&cfg.liveness);
        loop {
            let msg = tokio::select! {
                m = super::ws_next(&mut ws, &mut live, &ctx, "jetstream") => m,
                // Quiet since the last write: the cursor is written all the same.
                () = tokio::time::sleep_until(pace.due()), if cfg.cursor_file.is_some() => {
                    let c = commit.committed(ctx.progress.processed());
                    pace.write(c, |c| persist(&cfg, &ctx, *c));
                    continue;
                }
            };
            let Some(msg) = msg else {
                break;
            };
            let received = Instant::now();
            let frame: &[u8] = match &msg {
                None => break,
                Some(Ok(Message::Text(t))) => t.as_bytes(),
                Some(Ok(Message::Binary(b))) => match zstd.as_mut() {
                    Some(z) => match z.decompress_to_buffer(b, &mut inflated) {
                        Ok(_) => &inflated,
                        Err(e) => {
                            ctx.line();
                            ctx.bad_input("invalid_zstd", &e.to_string());
                            continue;
                        }
                    },
                    None => {
                        ctx.line();
                        ctx.bad_input("binary_frame", "binary frame without compression");
                        continue;
                    }
                },
                Some(Ok(Message::Close(_))) => break,
                Some(Ok(_)) => continue,
                Some(Err(e)) => {
                    super::ws_read_failed(&ctx, e, "jetstream");
                    use tokio_tungstenite::tungstenite::Error;
                    if matches!(e, Error::Utf8(_) | Error::Capacity(_) | Error::Protocol(_)) {
                        if cursor.is_some() && cursor == stuck_at {
                            stuck += 1;
                        } else {
                            (stuck, stuck_at) = (1, cursor);
                        }
                    }
                    break;
                }
            };
            ctx.line();
            if frame.len() > cfg.max_message_bytes {
                ctx.bad_input(
                    "oversize",
                    &format!(
                        "{} byte frame (max_message_bytes {})",
                        frame.len(),
                        cfg.max_message_bytes
                    ),
                );
                // Past it for good: a resume from the cursor must not meet it again.
                if let Ok(TimeOnly { time_us }) = serde_json::from_slice(frame) {
                    if let Some(time_us) = cursor_time(&ctx, time_us) {
                        cursor = Some(cursor.map_or(time_us, |c| c.max(time_us)));
                        commit.read(ctx.progress.queued(), time_us);
                    }
                }
                continue;
            }
            match decode_event(frame) {
                Ok(Decoded::Skip { time_us }) => {
                    // Only a frame that decodes, and is new, shows the server speaks Jetstream
                    // and the stream moves: a server that sends one bad frame and hangs up, or
                    // the same good one each time, is met with a growing backoff.
                    if resumed_from.is_none_or(|c| time_us > c) {
                        backoff.reset();
                    }
                    // A time beyond the event-time bounds would make the persisted cursor skip
                    // everything up to it after a reconnect: it never becomes the cursor.
                    if let Some(time_us) = cursor_time(&ctx, time_us) {
                        cursor = Some(cursor.map_or(time_us, |c| c.max(time_us)));
                        commit.read(ctx.progress.queued(), time_us);
                    }
                }
                Ok(Decoded::Mention {
                    mut mention,
                    time_us,
                }) => {
                    if resumed_from.is_none_or(|c| time_us > c) {
                        backoff.reset();
                    }
                    let move_cursor = cursor_time(&ctx, time_us);
                    if recent.insert(&mention.id) {
                        if let Some(p) = &profiles {
                            p.enrich(&mut mention.author);
                        }
                        // Out-of-bounds event times are counted and skipped by `emit`.
                        if !ctx.emit(*mention, received).await {
                            break;
                        }
                    }
                    if let Some(time_us) = move_cursor {
                        cursor = Some(cursor.map_or(time_us, |c| c.max(time_us)));
                        commit.read(ctx.progress.queued(), time_us);
                        ctx.set_cursor_age(time_us);
                    }
                }
                Err(reason) => ctx.bad_input(reason, &String::from_utf8_lossy(frame)),
            }
            if pace.is_due() {
                pace.write(commit.committed(ctx.progress.processed()), |c| {
                    persist(&cfg, &ctx, *c)
                });
            }
        }
        ctx.set_connected(false);
        persist(&cfg, &ctx, commit.committed(ctx.progress.processed()));
    }
    ctx.wait_for_engine().await;
    persist(&cfg, &ctx, commit.committed(ctx.progress.processed()));
    Ok(())
}

/// The cursor an event at `time_us` may move to: none outside the event-time bounds, and
/// never past the wall clock. A future time would make a resume skip everything up to it
/// (even one inside the allowed skew: a resume minutes ahead loses those minutes, while one
/// at the clock only meets events again, which are dropped as duplicates); a stale one
/// (`i64::MIN`, year 1) would send a resume back to the start of the server's history, and is
/// dropped anyway.
fn cursor_time(ctx: &SourceCtx, time_us: i64) -> Option<i64> {
    let t = EventTime(time_us.div_euclid(1000));
    match ctx.bounds {
        None => Some(time_us),
        Some(b) if b.check(t).is_ok() => Some(time_us.min(b.now().millis().saturating_mul(1000))),
        Some(_) => None,
    }
}

fn persist(cfg: &JetstreamConfig, ctx: &SourceCtx, cursor: Option<i64>) -> bool {
    ctx.persist_cursor(
        cfg.cursor_file.as_deref(),
        cursor.map(|c| c.to_string()).as_deref(),
    )
}

/// An author's profile as the AppView reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    pub handle: String,
    pub followers: u64,
    pub created_at: Option<EventTime>,
}

#[derive(Deserialize)]
struct ProfilesResponse {
    profiles: Vec<ProfileView>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ProfileView {
    did: String,
    handle: String,
    #[serde(default)]
    followers_count: Option<u64>,
    #[serde(default)]
    created_at: Option<String>,
}

struct Cache {
    entries: HashMap<String, (Profile, Instant)>,
    capacity: usize,
    ttl: Duration,
}

impl Cache {
    fn get(&self, did: &str) -> Option<&Profile> {
        self.entries
            .get(did)
            .filter(|(_, at)| at.elapsed() < self.ttl)
            .map(|(p, _)| p)
    }

    fn insert(&mut self, did: String, p: Profile) {
        if self.entries.len() >= self.capacity {
            let ttl = self.ttl;
            self.entries.retain(|_, (_, at)| at.elapsed() < ttl);
        }
        if self.entries.len() >= self.capacity {
            // Still full of fresh entries: forget an arbitrary half rather than grow.
            let drop: Vec<String> = self
                .entries
                .keys()
                .take(self.capacity / 2 + 1)
                .cloned()
                .collect();
            for k in drop {
                self.entries.remove(&k);
            }
        }
        self.entries.insert(did, (p, Instant::now()));
    }
}

/// Author enrichment through `app.bsky.actor.getProfiles`: a bounded TTL cache read by the
/// stream, filled by a background task that batches and rate-limits lookups.
#[derive(Clone)]
pub struct Profiles {
    cache: Arc<Mutex<Cache>>,
    queue: mpsc::Sender<String>,
}

impl Profiles {
    /// The handle and the task that fills the cache (spawn it).
    pub fn new(
        appview_url: &str,
        cfg: &JetstreamConfig,
        cancel: tokio_util::sync::CancellationToken,
    ) -> (
        Profiles,
        impl std::future::Future<Output = ()> + Send + 'static,
    ) {
        Profiles::build(appview_url, cfg, cancel, None)
    }

    /// [`Profiles::new`] for the source of `ctx`: an AppView answer that cannot be used (a body
    /// over [`MAX_PROFILES_BODY`], not the JSON expected) is counted in the source's
    /// `flashpoint_ingest_decode_errors_total` (`appview_body_too_large`, `appview_invalid_json`)
    /// and logged.
    pub fn for_source(
        appview_url: &str,
        cfg: &JetstreamConfig,
        ctx: &SourceCtx,
    ) -> (
        Profiles,
        impl std::future::Future<Output = ()> + Send + 'static,
    ) {
        let counter = (Arc::clone(&ctx.metrics), Arc::clone(&ctx.id));
        Profiles::build(appview_url, cfg, ctx.cancel.clone(), Some(counter))
    }

    fn build(
        appview_url: &str,
        cfg: &JetstreamConfig,
        cancel: tokio_util::sync::CancellationToken,
        counter: Option<(Arc<crate::telemetry::Metrics>, Arc<str>)>,
    ) -> (
        Profiles,
        impl std::future::Future<Output = ()> + Send + 'static,
    ) {
        let cache = Arc::new(Mutex::new(Cache {
            entries: HashMap::new(),
            capacity: cfg.profile_cache,
            ttl: cfg.profile_ttl,
        }));
        let (queue, rx) = mpsc::channel(PROFILE_QUEUE);
        let fetcher = Fetcher {
            base: appview_url.trim_end_matches('/').to_string(),
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .unwrap_or_default(),
            cache: Arc::clone(&cache),
            counter,
        };
        let interval = cfg.profile_interval;
        let task = fetcher.run(rx, interval, cancel);
        (Profiles { cache, queue }, task)
    }

    /// Fills `author` from the cache; on a miss queues a lookup and leaves it as it is.
    pub fn enrich(&self, author: &mut Author) {
        let hit = self
            .cache
            .lock()
            .ok()
            .and_then(|c| c.get(&author.id).cloned());
        match hit {
            Some(p) => {
                author.handle = p.handle;
                author.followers = p.followers;
                author.created_at = p.created_at;
            }
            None => {
                // A full queue drops the lookup; the author's next post asks again.
                let _queued = self.queue.try_send(author.id.clone()).is_ok();
            }
        }
    }

    /// Cached profile of `did`, if fresh.
    pub fn cached(&self, did: &str) -> Option<Profile> {
        self.cache.lock().ok().and_then(|c| c.get(did).cloned())
    }
}

struct Fetcher {
    base: String,
    client: reqwest::Client,
    cache: Arc<Mutex<Cache>>,
    /// Where unusable answers are counted: the metrics and the source id.
    counter: Option<(Arc<crate::telemetry::Metrics>, Arc<str>)>,
}

impl Fetcher {
    async fn run(
        self,
        mut rx: mpsc::Receiver<String>,
        interval: Duration,
        cancel: tokio_util::sync::CancellationToken,
    ) {
        loop {
            let first = tokio::select! {
                d = rx.recv() => d,
                _ = cancel.cancelled() => None,
            };
            let Some(first) = first else { return };
            let mut batch = vec![first];
            while batch.len() < PROFILE_BATCH {
                match rx.try_recv() {
                    Ok(d) => batch.push(d),
                    Err(_) => break,
                }
            }
            batch.sort();
            batch.dedup();
            if let Ok(c) = self.cache.lock() {
                batch.retain(|d| c.get(d).is_none());
            }
            if !batch.is_empty() {
                if let Err(e) = self.fetch(&batch).await {
                    self.failed(&e);
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(interval) => {}
                _ = cancel.cancelled() => return,
            }
        }
    }

    /// A lookup failed: an answer that cannot be used is counted and logged at warn (the URL
    /// left out: it may hold credentials); a transport or HTTP error only at debug (the
    /// authors are looked up again on their next post).
    fn failed(&self, e: &FetchError) {
        match e {
            FetchError::Http(e) => tracing::debug!(error = %e, "getProfiles failed"),
            FetchError::Body(b) => {
                let reason = match b {
                    super::http_body::BodyError::TooLarge { .. } => "appview_body_too_large",
                    super::http_body::BodyError::Json(_) => "appview_invalid_json",
                    super::http_body::BodyError::Read(e) => {
                        tracing::debug!(error = %e, "getProfiles failed");
                        return;
                    }
                };
                let source = self.counter.as_ref().map(|(m, id)| {
                    m.ingest_decode_errors_total
                        .with_label_values(&[id, reason])
                        .inc();
                    Arc::clone(id)
                });
                tracing::warn!(source = source.as_deref().unwrap_or(""), reason, error = %b, "getProfiles answer skipped");
            }
        }
    }

    async fn fetch(&self, dids: &[String]) -> Result<(), FetchError> {
        let url = format!("{}/xrpc/app.bsky.actor.getProfiles", self.base);
        let query: Vec<(&str, &str)> = dids.iter().map(|d| ("actors", d.as_str())).collect();
        let resp = self
            .client
            .get(url)
            .query(&query)
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(|e| FetchError::Http(e.without_url()))?;
        let resp: ProfilesResponse = super::http_body::json_capped(resp, MAX_PROFILES_BODY).await?;
        if let Ok(mut c) = self.cache.lock() {
            for p in resp.profiles {
                let profile = Profile {
                    handle: format!("@{}", p.handle),
                    followers: p.followers_count.unwrap_or(0),
                    created_at: p.created_at.as_deref().and_then(EventTime::parse_rfc3339),
                };
                c.insert(p.did, profile);
            }
        }
        Ok(())
    }
}

/// Why a `getProfiles` lookup brought nothing.
#[derive(Debug, thiserror::Error)]
enum FetchError {
    #[error("{0}")]
    Http(reqwest::Error),
    #[error(transparent)]
    Body(#[from] super::http_body::BodyError),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jetstream_decodes_reply_quote_and_repost() {
        let reply = br#"{"did":"did:plc:q","time_us":1779719009157119,"kind":"commit","commit":{"rev":"r","operation":"create","collection":"app.bsky.feed.post","rkey":"k1","record":{"$type":"app.bsky.feed.post","createdAt":"2026-05-25T14:23:28.757Z","langs":["en"],"reply":{"parent":{"cid":"c","uri":"at://did:plc:j/app.bsky.feed.post/p"},"root":{"cid":"c","uri":"at://did:plc:j/app.bsky.feed.post/p"}},"text":"Try \"RSV\" !!"},"cid":"c"}}"#;
        let Decoded::Mention { mention, time_us } = decode_event(reply).unwrap() else {
            panic!("not a mention")
        };
        assert_eq!(time_us, 1779719009157119);
        assert_eq!(mention.id, "at://did:plc:q/app.bsky.feed.post/k1");
        assert_eq!(mention.kind, MentionKind::Reply);
        assert_eq!(
            mention.parent_id.as_deref(),
            Some("at://did:plc:j/app.bsky.feed.post/p")
        );
        assert_eq!(mention.text, "Try \"RSV\" !!");
        assert_eq!(mention.lang.as_deref(), Some("en"));
        assert_eq!(mention.created_at, EventTime(1779719009157));

        let quote = br#"{"did":"did:plc:q","time_us":5,"kind":"commit","commit":{"operation":"create","collection":"app.bsky.feed.post","rkey":"k2","record":{"text":"look","embed":{"$type":"app.bsky.embed.recordWithMedia","media":{},"record":{"record":{"cid":"c","uri":"at://x/app.bsky.feed.post/q"}}}}}}"#;
        let Decoded::Mention { mention, .. } = decode_event(quote).unwrap() else {
            panic!("not a mention")
        };
        assert_eq!(mention.kind, MentionKind::Quote);
        assert_eq!(
            mention.parent_id.as_deref(),
            Some("at://x/app.bsky.feed.post/q")
        );

        let repost = br#"{"did":"did:plc:e","time_us":7,"kind":"commit","commit":{"operation":"create","collection":"app.bsky.feed.repost","rkey":"k3","record":{"subject":{"cid":"c","uri":"at://h/app.bsky.feed.post/s"}}}}"#;
        let Decoded::Mention { mention, .. } = decode_event(repost).unwrap() else {
            panic!("not a mention")
        };
        assert_eq!(mention.kind, MentionKind::Repost);
        assert_eq!(mention.text, "");
    }

    #[test]
    fn jetstream_skips_and_rejects_by_reason() {
        let like = br#"{"did":"d","time_us":9,"kind":"commit","commit":{"operation":"create","collection":"app.bsky.feed.like","rkey":"k","record":{"subject":{"uri":"u","cid":"c"}}}}"#;
        assert_eq!(decode_event(like), Ok(Decoded::Skip { time_us: 9 }));
        let delete = br#"{"did":"d","time_us":10,"kind":"commit","commit":{"operation":"delete","collection":"app.bsky.feed.post","rkey":"k"}}"#;
        assert_eq!(decode_event(delete), Ok(Decoded::Skip { time_us: 10 }));
        assert_eq!(
            decode_event(br#"{"did":"d","time_us":1,"kind":"weird"}"#),
            Err("unknown_event")
        );
        assert_eq!(decode_event(b"{nope"), Err("invalid_json"));
        assert_eq!(
            decode_event(br#"{"did":"d","kind":"commit"}"#),
            Err("invalid_event")
        );
    }

    #[test]
    fn jetstream_url_has_collections_and_cursor() {
        let c = crate::config::SourceConfig::parse(
            &toml::from_str("id = \"b\"\ntype = \"jetstream\"\nurl = \"ws://h/subscribe\"\n")
                .unwrap(),
        )
        .unwrap();
        let crate::config::SourceKind::Jetstream(j) = c.kind else {
            panic!()
        };
        assert_eq!(
            subscribe_url(&j, Some(42)),
            "ws://h/subscribe?wantedCollections=app.bsky.feed.post&wantedCollections=app.bsky.feed.repost&cursor=42"
        );
    }

    #[test]
    fn a_missing_cursor_file_starts_live_but_an_empty_or_garbled_one_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cursor").display().to_string();
        assert_eq!(load_cursor(&path).unwrap(), None);
        super::super::store_cursor_file(&path, &1_772_000_000_000_000i64.to_string()).unwrap();
        assert_eq!(load_cursor(&path).unwrap(), Some(1_772_000_000_000_000));
        assert!(!std::path::Path::new(&format!("{path}.tmp"))
            .try_exists()
            .unwrap());
        std::fs::write(&path, "").unwrap();
        let err = load_cursor(&path).unwrap_err().to_string();
        assert!(err.contains("empty"), "{err}");
        std::fs::write(&path, "17720000\u{0}garbage").unwrap();
        let err = load_cursor(&path).unwrap_err().to_string();
        assert!(err.contains("not a cursor"), "{err}");
    }
}
