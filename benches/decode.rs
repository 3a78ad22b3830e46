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

use criterion::measurement::WallTime;
use criterion::{criterion_group, criterion_main, BenchmarkGroup, Criterion, Throughput};
use serde::Deserialize;

/// The wire record's shape as the shipped decoder reads it (docs/contracts.md §1), with the
/// fields that are only parsed (timestamps, kind) of type `P`: `String` (owned) or `&str`
/// (borrowed from the line).
#[derive(Deserialize)]
#[allow(dead_code)] // fields are read only through black_box
struct Author<P> {
    id: Option<String>,
    handle: Option<String>,
    #[serde(default)]
    followers: Option<u64>,
    #[serde(default)]
    created_at: Option<P>,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct Wire<P> {
    id: Option<String>,
    source: Option<String>,
    created_at: Option<P>,
    text: Option<String>,
    author: Option<Author<P>>,
    #[serde(default)]
    kind: Option<P>,
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

type WireOwned = Wire<String>;
type WireBorrowed<'a> = Wire<&'a str>;

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

/// One row: decodes every line and sums a length, so nothing is optimised away.
fn row(
    g: &mut BenchmarkGroup<'_, WallTime>,
    lines: &[Vec<u8>],
    name: &str,
    mut decode: impl FnMut(&[u8]) -> usize,
) {
    g.bench_function(name, |b| {
        b.iter(|| black_box(lines.iter().map(|l| decode(l)).sum::<usize>()))
    });
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
    row(&mut g, &lines, "codec", |l| {
        flashpoint::domain::codec::decode(l).map_or(0, |m| m.text.len())
    });
    row(&mut g, &lines, "serde_json_owned", |l| {
        serde_json::from_slice::<WireOwned>(l).map_or(0, |w| w.text.map_or(0, |t| t.len()))
    });
    row(&mut g, &lines, "serde_json_borrowed", |l| {
        serde_json::from_slice::<WireBorrowed>(l).map_or(0, |w| w.text.map_or(0, |t| t.len()))
    });
    let mut buf = Vec::with_capacity(4096);
    row(&mut g, &lines, "simd_json_borrowed", move |l| {
        buf.clear();
        buf.extend_from_slice(l);
        simd_json::serde::from_slice::<WireBorrowed>(&mut buf)
            .map_or(0, |w| w.text.map_or(0, |t| t.len()))
    });
    row(&mut g, &lines, "serde_json_value", |l| {
        serde_json::from_slice::<serde_json::Value>(l)
            .map_or(0, |v| v.as_object().map_or(0, |o| o.len()))
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = decode
}
criterion_main!(benches);
