//! Malformed, out-of-order and compressed input: counted, skipped, never fatal.

use std::io::Write;
use std::sync::Arc;

use flashpoint::app::replay::Input;
use flashpoint::app::{replay, Speed};
use flashpoint::config::{BrandConfig, Config};

use crate::support::options;

fn config() -> Arc<Config> {
    Arc::new(
        Config::with_brands(vec![BrandConfig {
            id: "acme".into(),
            name: "Acme".into(),
            terms: vec!["acme".into()],
            ..Default::default()
        }])
        .unwrap(),
    )
}

fn line(id: &str, at: &str, text: &str) -> String {
    format!(
        r#"{{"id":"{id}","source":"x","created_at":"{at}","text":"{text}","author":{{"id":"u-{id}","handle":"@u{id}"}}}}"#
    )
}

fn archive() -> String {
    [
        line("1", "2026-03-02T10:00:00Z", "acme is fine"),
        String::from("{not json"),
        line("2", "2026-03-02T10:01:00Z", "acme again"),
        r#"{"id":"3","source":"x","created_at":"2026-03-02T10:02:00Z","author":{"id":"a","handle":"@a"}}"#.to_string(),
        line("4", "yesterday", "acme"),
        line("5", "2026-03-02T10:20:00Z", "acme later"),
        // Four minutes behind the newest event: late but within the allowed lateness.
        line("6", "2026-03-02T10:16:00Z", "acme slightly late"),
        // Ten minutes behind: beyond the allowed lateness, dropped and counted.
        line("7", "2026-03-02T10:10:00Z", "acme far too late"),
        String::new(),
        line("8", "2026-03-02T10:21:00Z", "no brand here"),
        line("9", "2026-03-02T10:22:00Z", "acme last"),
    ]
    .join("\n")
}

async fn run(path: &std::path::Path) -> flashpoint::app::ReplaySummary {
    replay(
        config(),
        Input::Paths(vec![path.display().to_string()]),
        options(Speed::Max, None),
        None,
    )
    .await
    .unwrap()
}

#[tokio::test]
async fn input_malformed_lines_are_counted_and_neighbours_survive() {
    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join("a.ndjson");
    std::fs::write(&plain, archive()).unwrap();
    let s = run(&plain).await;
    assert_eq!(s.decode.lines, 11);
    assert_eq!(s.decode.decoded, 7);
    let errors: u64 = s.decode.errors.values().sum();
    assert_eq!(errors, 4, "{:?}", s.decode.errors);
    assert_eq!(s.decode.errors.get("invalid_json"), Some(&1));
    assert_eq!(s.decode.errors.get("missing_field"), Some(&1));
    assert_eq!(s.decode.errors.get("invalid_timestamp"), Some(&1));
    assert_eq!(s.engine.received, 7);
    assert_eq!(s.engine.late, 1);
    assert_eq!(s.engine.too_late, 1);
    assert_eq!(s.engine.matched, 5);
    assert_eq!(s.engine.unmatched, 1);
}

#[tokio::test]
async fn input_gzip_and_zstd_archives_read_like_plain_ones() {
    let dir = tempfile::tempdir().unwrap();
    let text = archive();
    let gz = dir.path().join("a.ndjson.gz");
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(text.as_bytes()).unwrap();
    std::fs::write(&gz, enc.finish().unwrap()).unwrap();
    let zst = dir.path().join("a.ndjson.zst");
    std::fs::write(&zst, zstd::encode_all(text.as_bytes(), 3).unwrap()).unwrap();
    let plain = dir.path().join("a.ndjson");
    std::fs::write(&plain, &text).unwrap();
    let p = run(&plain).await;
    for path in [&gz, &zst] {
        let s = run(path).await;
        assert_eq!(s.decode.decoded, p.decode.decoded, "{}", path.display());
        assert_eq!(s.decode.errors, p.decode.errors);
        assert_eq!(s.engine, p.engine);
    }
}

#[tokio::test]
async fn input_missing_archive_is_a_clear_error() {
    let err = replay(
        config(),
        Input::Paths(vec![String::from("does/not/exist.ndjson")]),
        options(Speed::Max, None),
        None,
    )
    .await
    .unwrap_err();
    assert!(
        format!("{err:#}").contains("does/not/exist.ndjson"),
        "{err:#}"
    );
}

/// The attacker's archive: a zstd archive with one byte of its magic number flipped used to be
/// read as plain text (every line `invalid_json`, exit 0, no alerts).
#[tokio::test]
async fn input_a_damaged_zstd_archive_fails_the_replay_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut z = zstd::encode_all(archive().as_bytes(), 3).unwrap();
    z[0] = 0x29;
    let path = dir.path().join("damaged.ndjson.zst");
    std::fs::write(&path, z).unwrap();
    let err = replay(
        config(),
        Input::Paths(vec![path.display().to_string()]),
        options(Speed::Max, None),
        None,
    )
    .await
    .unwrap_err();
    let text = format!("{err:#}");
    assert!(text.contains("damaged.ndjson.zst"), "{text}");
    assert!(text.contains("zstd"), "{text}");
}
