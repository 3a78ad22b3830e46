//! Mention decoding: serde_json against simd-json on real-sized mention lines (issue 20).
//!
//! Every row decodes the demo archive's 26,237 good lines (about 330 bytes each: the canonical
//! mention NDJSON of docs/contracts.md §1), or the archive named by `FP_ARCHIVE`:
//!
//! * `decode/codec`: the shipped decoder, [`flashpoint::domain::codec::decode`] (serde_json into
//!   a wire struct whose timestamps and kind borrow from the line, then validation into a
//!   `Mention`);
//! * `decode/serde_json_owned`: serde_json into the same wire struct with every field an owned
//!   `String` (how the decoder read lines before the timestamps and kind borrowed);
//! * `decode/serde_json_borrowed`: serde_json into a wire struct whose timestamps and kind are
//!   `&str` borrowed from the line (the demo lines hold them unescaped; the shipped decoder
//!   falls back to an owned string where a line escapes them);
//! * `decode/simd_json_borrowed`: simd-json's serde deserializer into the same borrowing
//!   struct. simd-json parses in place, so each line is first copied into a reused buffer, as
//!   the archive reader would hand it its own line buffer;
//! * `decode/serde_json_value`: a bare `serde_json::Value` parse (the reference the pipeline
//!   bench compares the replay with).
//!
//! Run: `cargo bench --bench decode` (`FP_ARCHIVE=path.ndjson[.zst]` for another archive).

use std::hint::black_box;
use std::io::BufRead;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use serde::Deserialize;

#[derive(Deserialize)]
#[allow(dead_code)] // fields are read only through black_box
struct AuthorOwned {
    id: Option<String>,
    handle: Option<String>,
    #[serde(default)]
    followers: Option<u64>,
    #[serde(default)]
    created_at: Option<String>,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct WireOwned {
    id: Option<String>,
    source: Option<String>,
    created_at: Option<String>,
    text: Option<String>,
    author: Option<AuthorOwned>,
    #[serde(default)]
    kind: Option<String>,
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

#[derive(Deserialize)]
#[allow(dead_code)]
struct AuthorBorrowed<'a> {
    id: Option<String>,
    handle: Option<String>,
    #[serde(default)]
    followers: Option<u64>,
    #[serde(default, borrow)]
    created_at: Option<&'a str>,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct WireBorrowed<'a> {
    id: Option<String>,
    source: Option<String>,
    #[serde(borrow)]
    created_at: Option<&'a str>,
    text: Option<String>,
    #[serde(borrow)]
    author: Option<AuthorBorrowed<'a>>,
    #[serde(default, borrow)]
    kind: Option<&'a str>,
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

fn lines() -> Vec<Vec<u8>> {
    let path = std::env::var("FP_ARCHIVE").unwrap_or_else(|_| {
        concat!(env!("CARGO_MANIFEST_DIR"), "/data/demo/sample.ndjson.zst").into()
    });
    let reader = flashpoint::ingest::archive::open(&path).expect("the archive opens");
    reader
        .split(b'\n')
        .map(|l| l.expect("the archive reads"))
        .filter(|l| !l.is_empty())
        .collect()
}

fn decode(c: &mut Criterion) {
    // The demo archive carries three deliberately broken lines: left out, so every row
    // decodes the same good lines.
    let mut lines = lines();
    lines.retain(|l| flashpoint::domain::codec::decode(l).is_ok());
    let bytes: usize = lines.iter().map(Vec::len).sum();
    eprintln!(
        "decode: {} lines, {:.0} bytes per line",
        lines.len(),
        bytes as f64 / lines.len() as f64
    );
    // Every decoder must accept the same lines, or the comparison is not like for like.
    let mut buf = Vec::new();
    for l in &lines {
        buf.clear();
        buf.extend_from_slice(l);
        assert!(simd_json::serde::from_slice::<WireBorrowed>(&mut buf).is_ok());
    }
    let mut g = c.benchmark_group("decode");
    g.throughput(Throughput::Elements(lines.len() as u64));
    g.bench_function("codec", |b| {
        b.iter(|| {
            let mut n = 0usize;
            for l in &lines {
                if let Ok(m) = flashpoint::domain::codec::decode(l) {
                    n += m.text.len();
                }
            }
            black_box(n)
        })
    });
    g.bench_function("serde_json_owned", |b| {
        b.iter(|| {
            let mut n = 0usize;
            for l in &lines {
                if let Ok(w) = serde_json::from_slice::<WireOwned>(l) {
                    n += w.text.map_or(0, |t| t.len());
                }
            }
            black_box(n)
        })
    });
    g.bench_function("serde_json_borrowed", |b| {
        b.iter(|| {
            let mut n = 0usize;
            for l in &lines {
                if let Ok(w) = serde_json::from_slice::<WireBorrowed>(l) {
                    n += w.text.map_or(0, |t| t.len());
                }
            }
            black_box(n)
        })
    });
    g.bench_function("simd_json_borrowed", |b| {
        let mut buf = Vec::with_capacity(4096);
        b.iter(|| {
            let mut n = 0usize;
            for l in &lines {
                buf.clear();
                buf.extend_from_slice(l);
                if let Ok(w) = simd_json::serde::from_slice::<WireBorrowed>(&mut buf) {
                    n += w.text.map_or(0, |t| t.len());
                }
            }
            black_box(n)
        })
    });
    g.bench_function("serde_json_value", |b| {
        b.iter(|| {
            let mut n = 0usize;
            for l in &lines {
                if let Ok(v) = serde_json::from_slice::<serde_json::Value>(l) {
                    n += v.as_object().map_or(0, |o| o.len());
                }
            }
            black_box(n)
        })
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = decode
}
criterion_main!(benches);
