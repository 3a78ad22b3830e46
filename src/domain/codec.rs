//! The canonical mention record on the wire (docs/contracts.md §1): NDJSON encode and decode.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use crate::domain::{Author, EventTime, Mention, MentionKind};

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

/// Longest record line read from a file or archive (1 MiB, newline excluded). A longer line
/// is skipped and counted (`oversize`) without being held in memory, so a line that never
/// ends (a decompression bomb, a binary file) cannot exhaust it. Live sources bound their
/// frames with their own `max_frame_bytes`, the push route with `max_body_bytes`.
pub const MAX_LINE_BYTES: usize = 1 << 20;

/// The UTF-8 byte-order mark, skipped at the start of a line by [`decode`].
pub const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// Why a line could not become a [`Mention`]; `reason` is a stable label for metrics.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}: {message}")]
pub struct DecodeError {
    reason: &'static str,
    message: String,
}

impl DecodeError {
    pub(crate) fn new(reason: &'static str, message: impl Into<String>) -> DecodeError {
        DecodeError {
            reason,
            message: message.into(),
        }
    }

    /// One of `empty_line`, `invalid_json`, `missing_field`, `invalid_field`,
    /// `invalid_timestamp`; for Arroyo aggregate rows also `invalid_window` and
    /// `inconsistent_counts`.
    pub fn reason(&self) -> &'static str {
        self.reason
    }

    pub fn message(&self) -> &str {
        &self.message
    }
}

/// A string field that is only parsed, never kept (timestamps, the kind): borrowed from the
/// line when it holds it unescaped, as it always does in practice, owned otherwise. Three
/// allocations per line fewer than owned strings. (serde's own `#[serde(borrow)]` does not
/// reach through `Option<Cow<str>>`: that always allocates.)
struct Parsed<'a>(Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for Parsed<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> serde::de::Visitor<'de> for Visit<'a> {
            type Value = Parsed<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: serde::de::Error>(
                self,
                v: &'de str,
            ) -> Result<Self::Value, E> {
                Ok(Parsed(Cow::Borrowed(v)))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Parsed(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(Parsed(Cow::Owned(v)))
            }
        }
        d.deserialize_str(Visit(std::marker::PhantomData))
    }
}

impl std::ops::Deref for Parsed<'_> {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

/// Fields kept in the [`Mention`] are decoded straight into their owned `String`; the ones
/// only parsed are [`Parsed`].
#[derive(Deserialize)]
struct AuthorIn<'a> {
    id: Option<String>,
    handle: Option<String>,
    #[serde(default)]
    followers: Option<u64>,
    #[serde(default, borrow)]
    created_at: Option<Parsed<'a>>,
}

/// The wire record with every required field optional, so a missing one is reported by name
/// instead of as a generic serde error. Unknown fields are ignored (docs/contracts.md §1).
#[derive(Deserialize)]
struct MentionIn<'a> {
    id: Option<String>,
    source: Option<String>,
    #[serde(borrow)]
    created_at: Option<Parsed<'a>>,
    text: Option<String>,
    #[serde(borrow)]
    author: Option<AuthorIn<'a>>,
    #[serde(default, borrow)]
    kind: Option<Parsed<'a>>,
    #[serde(default)]
    parent_id: Option<String>,
    #[serde(default)]
    lang: Option<String>,
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    likes: Option<u64>,
    #[serde(default)]
    reposts: Option<u64>,
}

fn required<T>(v: Option<T>, field: &str) -> Result<T, DecodeError> {
    v.ok_or_else(|| DecodeError::new("missing_field", format!("missing field `{field}`")))
}

/// Decodes one NDJSON line (without its newline) into a validated [`Mention`].
pub fn decode(line: &[u8]) -> Result<Mention, DecodeError> {
    // A UTF-8 byte-order mark (written by some editors and Windows tools at the start of a
    // file or body) is not part of the JSON: without this the first line of such a file is
    // "invalid_json: expected value at line 1 column 1".
    let line = line.strip_prefix(UTF8_BOM).unwrap_or(line);
    if line.iter().all(u8::is_ascii_whitespace) {
        return Err(DecodeError::new("empty_line", "empty line"));
    }
    let raw: MentionIn = serde_json::from_slice(line).map_err(|e| {
        let reason = match e.classify() {
            serde_json::error::Category::Data => "invalid_field",
            _ => "invalid_json",
        };
        DecodeError::new(reason, e.to_string())
    })?;
    let created = required(raw.created_at, "created_at")?;
    let created_at = EventTime::parse_rfc3339(&created).ok_or_else(|| {
        DecodeError::new(
            "invalid_timestamp",
            format!("created_at {:?} is not RFC 3339", &*created),
        )
    })?;
    let author = required(raw.author, "author")?;
    let author_created = match author.created_at {
        None => None,
        Some(s) => Some(EventTime::parse_rfc3339(&s).ok_or_else(|| {
            DecodeError::new(
                "invalid_timestamp",
                format!("author.created_at {:?} is not RFC 3339", &*s),
            )
        })?),
    };
    let kind = match raw.kind.as_deref() {
        None => MentionKind::Post,
        Some(k) => MentionKind::parse(k).ok_or_else(|| {
            DecodeError::new(
                "invalid_field",
                format!("kind {k:?} is not post|repost|quote|reply"),
            )
        })?,
    };
    Ok(Mention {
        id: required(raw.id, "id")?,
        source: required(raw.source, "source")?,
        created_at,
        text: required(raw.text, "text")?,
        author: Author {
            id: required(author.id, "author.id")?,
            handle: required(author.handle, "author.handle")?,
            followers: author.followers.unwrap_or(0),
            created_at: author_created,
        },
        kind,
        parent_id: raw.parent_id,
        lang: raw.lang,
        url: raw.url,
        likes: raw.likes,
        reposts: raw.reposts,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn full() -> Mention {
        Mention {
            id: String::from("m1"),
            source: String::from("bluesky"),
            created_at: EventTime::parse_rfc3339("2026-03-02T10:31:07.120Z").unwrap(),
            text: String::from("so the plumber is \"drinking\" in his van 🚐 @brightlineplumb"),
            author: Author {
                id: String::from("did:plc:abc"),
                handle: String::from("@jo.example"),
                followers: 3100,
                created_at: EventTime::parse_rfc3339("2019-05-01T00:00:00Z"),
            },
            kind: MentionKind::Reply,
            parent_id: Some(String::from("m0")),
            lang: Some(String::from("en")),
            url: Some(String::from("https://example.org/m1")),
            likes: Some(12),
            reposts: Some(40),
        }
    }

    #[test]
    fn encode_then_decode_round_trips() {
        let m = full();
        let mut buf = Vec::new();
        encode(&m, &mut buf);
        assert_eq!(buf.last(), Some(&b'\n'));
        assert_eq!(decode(&buf[..buf.len() - 1]).unwrap(), m);
    }

    #[test]
    fn optional_fields_default_and_unknown_fields_are_ignored() {
        let m = decode(
            br#"{"id":"1","source":"x","created_at":"2026-03-02T10:00:00Z","text":"","author":{"id":"a","handle":"@a"},"extra":{"nested":[1,2]}}"#,
        )
        .unwrap();
        assert_eq!(m.kind, MentionKind::Post);
        assert_eq!(m.author.followers, 0);
        assert_eq!(m.parent_id, None);
    }

    #[test]
    fn escaped_timestamps_and_kinds_decode_like_plain_ones() {
        // The parsed-only fields borrow from the line; an escape forces the owned path.
        let plain = decode(
            br#"{"id":"1","source":"x","created_at":"2026-03-02T10:00:00Z","text":"t","kind":"reply","author":{"id":"a","handle":"@a","created_at":"2019-05-01T00:00:00Z"}}"#,
        )
        .unwrap();
        let escaped = decode(
            br#"{"id":"1","source":"x","created_at":"2026-03-02T10:00:00\u005a","text":"t","kind":"r\u0065ply","author":{"id":"a","handle":"@a","created_at":"2019-05-01T00:00:00\u005A"}}"#,
        )
        .unwrap();
        assert_eq!(plain, escaped);
        assert_eq!(escaped.kind, MentionKind::Reply);
        assert!(escaped.author.created_at.is_some());
        let err = decode(br#"{"id":"1","source":"x","created_at":7,"text":"t","author":{"id":"a","handle":"@a"}}"#).unwrap_err();
        assert_eq!(err.reason(), "invalid_field", "{err}");
    }

    #[test]
    fn a_byte_order_mark_before_a_line_is_skipped() {
        let plain = r#"{"id":"1","source":"x","created_at":"2026-03-02T10:00:00Z","text":"hi","author":{"id":"a","handle":"@a"}}"#;
        let mut marked = UTF8_BOM.to_vec();
        marked.extend_from_slice(plain.as_bytes());
        assert_eq!(decode(&marked).unwrap(), decode(plain.as_bytes()).unwrap());
        assert_eq!(decode(UTF8_BOM).unwrap_err().reason(), "empty_line");
    }

    #[test]
    fn each_failure_has_its_reason() {
        let cases: [(&[u8], &str); 7] = [
            (b"", "empty_line"),
            (b"{not json", "invalid_json"),
            (br#"{"id":"1","source":"x","created_at":"2026-03-02T10:00:00Z","author":{"id":"a","handle":"@a"}}"#, "missing_field"),
            (br#"{"id":"1","source":"x","created_at":"2026-03-02T10:00:00Z","text":"t","author":{"id":"a"}}"#, "missing_field"),
            (br#"{"id":"1","source":"x","created_at":"yesterday","text":"t","author":{"id":"a","handle":"@a"}}"#, "invalid_timestamp"),
            (br#"{"id":"1","source":"x","created_at":"2026-03-02T10:00:00Z","text":"t","author":{"id":"a","handle":"@a","followers":-3}}"#, "invalid_field"),
            (br#"{"id":"1","source":"x","created_at":"2026-03-02T10:00:00Z","text":"t","kind":"like","author":{"id":"a","handle":"@a"}}"#, "invalid_field"),
        ];
        for (line, reason) in cases {
            let err = decode(line).unwrap_err();
            assert_eq!(
                err.reason(),
                reason,
                "{}: {err}",
                String::from_utf8_lossy(line)
            );
        }
        let err = decode(br#"{"id":"1","source":"x","created_at":"2026-03-02T10:00:00Z","author":{"id":"a","handle":"@a"}}"#).unwrap_err();
        assert!(err.message().contains("`text`"), "{err}");
    }
}
