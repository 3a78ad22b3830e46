//! Mastodon: a real WebSocket streaming server sending real-format `update` events (payload a
//! string-encoded Status) and a REST timeline stub. The stream drops after three statuses;
//! three more are posted during the outage; after reconnecting the source backfills through
//! `min_id` while the new stream repeats some of them: every status arrives exactly once.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::Path;
use axum::http::{header, HeaderMap, Uri};
use axum::routing::get;
use axum::Router;
use flashpoint::config::{SourceConfig, SourceKind};
use flashpoint::domain::MentionKind;
use flashpoint::ingest::{mastodon, Ingested, SourceCtx};
use flashpoint::telemetry::Metrics;
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;

/// A Status as Mastodon 4.x serialises it (trimmed of fields the source ignores).
fn status(id: u64) -> serde_json::Value {
    let mut s = serde_json::json!({
        "id": (110_000_000_000_000_000u64 + id).to_string(),
        "created_at": format!("2026-03-02T10:{:02}:00.000Z", id),
        "in_reply_to_id": null,
        "in_reply_to_account_id": null,
        "sensitive": false,
        "spoiler_text": "",
        "visibility": "public",
        "language": "en",
        "uri": format!("https://example.social/users/jo/statuses/{id}"),
        "url": format!("https://example.social/@jo/{id}"),
        "replies_count": 0, "reblogs_count": id, "favourites_count": 2 * id,
        "content": format!("<p>the <a href=\"https://example.social/tags/brightline\" class=\"mention hashtag\" rel=\"tag\">#<span>brightline</span></a> van &amp; crew #{id}</p>"),
        "reblog": null,
        "account": {
            "id": "4242", "username": "jo", "acct": "jo", "display_name": "Jo",
            "created_at": "2019-05-01T00:00:00.000Z", "followers_count": 3100,
            "following_count": 10, "statuses_count": 99
        },
        "media_attachments": [], "mentions": [], "tags": [{"name": "brightline"}], "emojis": []
    });
    if id == 2 {
        s["in_reply_to_id"] = serde_json::json!("110000000000000001");
    }
    if id == 5 {
        s["content"] = serde_json::json!("");
        s["reblog"] = status(1);
    }
    s
}

fn update(id: u64) -> Message {
    let payload = serde_json::to_string(&status(id)).unwrap();
    Message::text(serde_json::json!({"stream": ["hashtag", "brightline"], "event": "update", "payload": payload}).to_string())
}

#[allow(clippy::result_large_err)] // the handshake callback's error type is tungstenite's
async fn streaming_server(auth: Arc<Mutex<Vec<String>>>) -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut n = 0;
        while let Ok((tcp, _)) = listener.accept().await {
            n += 1;
            let seen = Arc::clone(&auth);
            let ws = tokio_tungstenite::accept_hdr_async(tcp, |req: &Request, resp: Response| {
                let h = req
                    .headers()
                    .get("authorization")
                    .and_then(|v| v.to_str().ok());
                seen.lock().unwrap().push(h.unwrap_or("").to_string());
                assert!(req
                    .uri()
                    .query()
                    .unwrap()
                    .contains("stream=hashtag&tag=brightline"));
                Ok(resp)
            })
            .await
            .unwrap();
            let (mut tx, mut rx) = ws.split();
            if n == 1 {
                for id in 1..=3 {
                    tx.send(update(id)).await.unwrap();
                }
                tx.send(Message::text(r#"{"event":"delete","payload":"1"}"#))
                    .await
                    .unwrap();
                tx.send(Message::text(r#"{"event":"mystery"}"#))
                    .await
                    .unwrap();
                tx.send(Message::text(
                    r#"{"event":"update","payload":"{not a status"}"#,
                ))
                .await
                .unwrap();
                drop((tx, rx)); // the outage: 4, 5 and 6 are posted while disconnected
                continue;
            }
            // After reconnecting, the stream carries 5 and 6 again (posted around the
            // reconnect) and then 7 and 8.
            for id in 5..=8 {
                tx.send(update(id)).await.unwrap();
            }
            tokio::spawn(async move {
                let _tx = tx;
                while let Some(Ok(_)) = rx.next().await {}
            });
        }
    });
    addr
}

async fn rest_server(
    auth: Arc<Mutex<Vec<String>>>,
    min_ids: Arc<Mutex<Vec<String>>>,
) -> std::net::SocketAddr {
    let app = Router::new().route(
        "/api/v1/timelines/tag/{tag}",
        get(
            move |Path(tag): Path<String>, uri: Uri, headers: HeaderMap| {
                let auth = Arc::clone(&auth);
                let min_ids = Arc::clone(&min_ids);
                async move {
                    assert_eq!(tag, "brightline");
                    let q: BTreeMap<String, String> = uri
                        .query()
                        .unwrap_or("")
                        .split('&')
                        .filter_map(|kv| kv.split_once('='))
                        .map(|(k, v)| (k.to_string(), v.to_string()))
                        .collect();
                    let h = headers.get("authorization").and_then(|v| v.to_str().ok());
                    auth.lock().unwrap().push(h.unwrap_or("").to_string());
                    let min: u64 = q["min_id"].parse().unwrap();
                    min_ids.lock().unwrap().push(q["min_id"].clone());
                    let limit: usize = q["limit"].parse().unwrap();
                    // Mastodon answers min_id with the statuses just after it, newest first.
                    let mut page: Vec<serde_json::Value> = (1..=6u64)
                        .filter(|id| 110_000_000_000_000_000 + id > min)
                        .take(limit)
                        .map(status)
                        .collect();
                    page.reverse();
                    (
                        [(header::CONTENT_TYPE, "application/json")],
                        serde_json::to_string(&page).unwrap(),
                    )
                }
            },
        ),
    );
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

/// A `[[source]]` table of type mastodon, parsed.
fn mastodon_config(value: toml::Value) -> flashpoint::config::source::MastodonConfig {
    let SourceKind::Mastodon(cfg) = SourceConfig::parse(&value.try_into().unwrap())
        .unwrap()
        .kind
    else {
        unreachable!()
    };
    cfg
}

#[tokio::test]
async fn ingest_mastodon_backfills_the_outage_exactly_once() {
    let ws_auth = Arc::new(Mutex::new(Vec::new()));
    let rest_auth = Arc::new(Mutex::new(Vec::new()));
    let min_ids = Arc::new(Mutex::new(Vec::new()));
    let ws = streaming_server(Arc::clone(&ws_auth)).await;
    let rest = rest_server(Arc::clone(&rest_auth), Arc::clone(&min_ids)).await;
    let text = format!(
        "id = \"fedi\"\ntype = \"mastodon\"\nurl = \"http://{rest}\"\nstreaming_url = \"ws://{ws}\"\nstream = \"hashtag\"\ntag = \"brightline\"\ntoken = \"${{TOKEN}}\"\nbackoff_initial = \"1ms\"\nbackoff_max = \"5ms\"\n"
    );
    let mut value: toml::Value = toml::from_str(&text).unwrap();
    value["token"] = toml::Value::String(String::from("tok-123"));
    let cfg = mastodon_config(value);
    let metrics = Arc::new(Metrics::new(&[], 0));
    let cancel = CancellationToken::new();
    let (tx, mut rx) = mpsc::channel::<Ingested>(2);
    let ctx = SourceCtx::new("fedi", tx, Arc::clone(&metrics), cancel.clone());
    let task = tokio::spawn(mastodon::run(cfg, ctx));

    let mut got = Vec::new();
    tokio::time::timeout(Duration::from_secs(30), async {
        while got.len() < 8 {
            got.push(rx.recv().await.unwrap().mention);
        }
    })
    .await
    .expect("all eight statuses arrive");
    cancel.cancel();
    task.await.unwrap().unwrap();
    while let Some(more) = rx.recv().await {
        got.push(more.mention);
    }
    let ids: Vec<u64> = got
        .iter()
        .map(|m| m.id.parse::<u64>().unwrap() - 110_000_000_000_000_000)
        .collect();
    assert_eq!(
        ids,
        vec![1, 2, 3, 4, 5, 6, 7, 8],
        "in order, none lost, none doubled"
    );
    assert_eq!(min_ids.lock().unwrap().as_slice(), ["110000000000000003"]);
    assert!(ws_auth
        .lock()
        .unwrap()
        .iter()
        .all(|h| h == "Bearer tok-123"));
    assert_eq!(rest_auth.lock().unwrap().as_slice(), ["Bearer tok-123"]);

    let first = &got[0];
    assert_eq!(first.text, "the #brightline van & crew #1");
    assert_eq!(first.author.handle, "@jo");
    assert_eq!(first.author.followers, 3100);
    assert_eq!(first.likes, Some(2));
    assert_eq!(
        (got[1].kind, got[1].parent_id.as_deref()),
        (MentionKind::Reply, Some("110000000000000001"))
    );
    assert_eq!(
        (
            got[4].kind,
            got[4].parent_id.as_deref(),
            got[4].text.as_str()
        ),
        (MentionKind::Repost, Some("110000000000000001"), "")
    );
    for reason in ["unknown_event", "invalid_payload"] {
        assert_eq!(
            metrics
                .ingest_decode_errors_total
                .with_label_values(&["fedi", reason])
                .get(),
            1,
            "{reason}"
        );
    }
    assert!(
        metrics
            .source_reconnects_total
            .with_label_values(&["fedi"])
            .get()
            >= 1
    );
}

/// A stream that sends `ids` on every connection and stays open.
async fn steady_stream(ids: std::ops::RangeInclusive<u64>) -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let ids = ids.clone();
            tokio::spawn(async move {
                let ws = tokio_tungstenite::accept_async(tcp).await.unwrap();
                let (mut tx, mut rx) = ws.split();
                for id in ids {
                    tx.send(update(id)).await.unwrap();
                }
                while let Some(Ok(_)) = rx.next().await {}
            });
        }
    });
    addr
}

/// Issue 17: with `cursor_file` the newest status the engine processed survives a restart, and
/// the next start backfills from it: the statuses posted while the process was down arrive, in
/// order, once; at the stop the file holds the newest processed id.
#[tokio::test]
async fn ingest_mastodon_backfills_across_a_restart_from_its_cursor_file() {
    let dir = tempfile::tempdir().unwrap();
    let cursor = dir.path().join("fedi.cursor");
    // The previous run processed up to status 3; 4, 5 and 6 were posted while it was down.
    std::fs::write(&cursor, "110000000000000003\n").unwrap();
    let min_ids = Arc::new(Mutex::new(Vec::new()));
    let rest = rest_server(Arc::default(), Arc::clone(&min_ids)).await;
    let ws = steady_stream(7..=8).await;
    let text = format!(
        "id = \"fedi\"\ntype = \"mastodon\"\nurl = \"http://{rest}\"\nstreaming_url = \"ws://{ws}\"\n\
         stream = \"hashtag\"\ntag = \"brightline\"\ncursor_file = {:?}\n",
        cursor.display().to_string()
    );
    let cfg = mastodon_config(toml::from_str(&text).unwrap());
    let metrics = Arc::new(Metrics::new(&[], 0));
    let cancel = CancellationToken::new();
    let (tx, mut rx) = mpsc::channel::<Ingested>(16);
    let ctx = SourceCtx::new("fedi", tx, metrics, cancel.clone());
    let task = tokio::spawn(mastodon::run(cfg, ctx));
    let mut ids = Vec::new();
    tokio::time::timeout(Duration::from_secs(30), async {
        while ids.len() < 5 {
            let got = rx.recv().await.unwrap();
            ids.push(got.mention.id.parse::<u64>().unwrap() - 110_000_000_000_000_000);
            // The engine has taken it in.
            got.processed();
        }
    })
    .await
    .expect("the missed statuses and the live ones arrive");
    cancel.cancel();
    task.await.unwrap().unwrap();
    assert_eq!(
        ids,
        [4, 5, 6, 7, 8],
        "missed ones backfilled, in order, once"
    );
    assert_eq!(
        min_ids.lock().unwrap().first().map(String::as_str),
        Some("110000000000000003")
    );
    assert_eq!(
        std::fs::read_to_string(&cursor).unwrap().trim(),
        "110000000000000008",
        "the cursor holds the newest processed status"
    );
}
