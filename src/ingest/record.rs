//! The canonical mention record on the wire (CONTRACTS §1): NDJSON encode and decode.

use serde::Serialize;

use crate::domain::Mention;

#[derive(Serialize)]
struct AuthorOut<'a> {
    id: &'a str,
    handle: &'a str,
    followers: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    created_at: Option<String>,
}

#[derive(Serialize)]
struct MentionOut<'a> {
    id: &'a str,
    source: &'a str,
    created_at: String,
    text: &'a str,
    author: AuthorOut<'a>,
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    parent_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    lang: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    likes: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reposts: Option<u64>,
}

/// Appends `m` as one canonical JSON line (with the trailing newline) to `out`.
pub fn encode(m: &Mention, out: &mut Vec<u8>) {
    let rec = MentionOut {
        id: &m.id,
        source: &m.source,
        created_at: m.created_at.to_rfc3339(),
        text: &m.text,
        author: AuthorOut {
            id: &m.author.id,
            handle: &m.author.handle,
            followers: m.author.followers,
            created_at: m.author.created_at.map(|t| t.to_rfc3339()),
        },
        kind: m.kind.as_str(),
        parent_id: m.parent_id.as_deref(),
        lang: m.lang.as_deref(),
        url: m.url.as_deref(),
        likes: m.likes,
        reposts: m.reposts,
    };
    // Serialising plain strings and integers into a Vec cannot fail.
    if serde_json::to_writer(&mut *out, &rec).is_ok() {
        out.push(b'\n');
    }
}
