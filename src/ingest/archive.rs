//! Archive reading: `.ndjson`, `.ndjson.gz`, `.ndjson.zst` files and stdin (`-`) into batches
//! of decoded mentions.
//!
//! Compression is detected from the first bytes (gzip and zstd magic numbers), so a misnamed
//! but intact file still reads. A file whose name promises compression (`.zst`, `.zstd`,
//! `.gz`, `.gzip`) but whose first bytes are no known magic number, or any input whose first
//! bytes are *almost* a magic number (one byte off), is a damaged archive: an error naming the
//! file, never plain text read as a stream of bad lines. An empty file is an empty archive
//! (a segment created and never flushed). Input: paths, read in the given order. Output: batches of at most `batch`
//! mentions handed to a callback that may stop the read by returning `false` (the consumer
//! went away). A bad line is reported to `on_error` with its path, line number and reason and
//! skipped. A compressed stream that breaks off part-way (a torn frame) skips the rest of that
//! file, counted as `damaged_tail`, and [`read_batches`] goes on with the next file; a file
//! that cannot be opened or has a damaged header ends the read.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};

use crate::domain::codec::{decode, MAX_LINE_BYTES};
use crate::domain::Mention;

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];
const READ_BUFFER: usize = 256 * 1024;

/// Counts of what a read saw.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DecodeStats {
    /// Lines read (including bad and empty ones).
    pub lines: u64,
    /// Lines decoded into mentions.
    pub decoded: u64,
    /// Bad lines by reason (`invalid_json`, `missing_field`, …).
    pub errors: BTreeMap<&'static str, u64>,
}

impl DecodeStats {
    /// Adds `other`'s counts (another file's, or the lines another thread decoded).
    pub fn add(&mut self, other: DecodeStats) {
        self.lines += other.lines;
        self.decoded += other.decoded;
        for (reason, n) in other.errors {
            *self.errors.entry(reason).or_default() += n;
        }
    }
}

/// One skipped line.
#[derive(Debug, Clone)]
pub struct ReadError {
    pub path: String,
    /// 1-based line number within its file.
    pub line: u64,
    pub reason: &'static str,
    pub message: String,
}

/// A failure that ends the read.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error("cannot open archive {path}: {source}")]
    Open { path: String, source: io::Error },
    #[error("archive {path} is damaged: {message}")]
    Damaged { path: String, message: String },
    #[error("reading archive {path} near line {line}: {source}")]
    Read {
        path: String,
        line: u64,
        source: io::Error,
    },
}

/// Opens one archive (`-` = stdin), decompressing by content.
pub fn open(path: &str) -> Result<Box<dyn BufRead + Send>, ArchiveError> {
    if path == "-" {
        return sniff(Box::new(io::stdin()), path, None);
    }
    let file = File::open(path).map_err(|source| ArchiveError::Open {
        path: path.to_string(),
        source,
    })?;
    sniff(Box::new(file), path, Codec::named(path))
}

/// Wraps an in-memory archive (plain or compressed).
pub fn open_bytes(bytes: &'static [u8]) -> Result<Box<dyn BufRead + Send>, ArchiveError> {
    sniff(Box::new(bytes), "<embedded>", None)
}

/// How an archive is compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Codec {
    Gzip,
    Zstd,
}

impl Codec {
    /// What the file name promises.
    fn named(path: &str) -> Option<Codec> {
        let lower = path.to_ascii_lowercase();
        if lower.ends_with(".zst") || lower.ends_with(".zstd") {
            Some(Codec::Zstd)
        } else if lower.ends_with(".gz") || lower.ends_with(".gzip") {
            Some(Codec::Gzip)
        } else {
            None
        }
    }

    /// What the first bytes say.
    fn sniffed(head: &[u8]) -> Option<Codec> {
        if head.starts_with(&ZSTD_MAGIC) {
            Some(Codec::Zstd)
        } else if head.starts_with(&GZIP_MAGIC) {
            Some(Codec::Gzip)
        } else {
            None
        }
    }

    /// A magic number one byte off: zstd's four bytes, or gzip's two plus its method byte
    /// (deflate, 8). NDJSON text never starts with these control and high bytes.
    fn almost(head: &[u8]) -> Option<Codec> {
        let off_by = |magic: &[u8]| {
            (head.len() >= magic.len())
                .then(|| magic.iter().zip(head).filter(|(a, b)| a != b).count())
        };
        if off_by(&ZSTD_MAGIC) == Some(1) {
            Some(Codec::Zstd)
        } else if off_by(&[GZIP_MAGIC[0], GZIP_MAGIC[1], 8]) == Some(1) {
            Some(Codec::Gzip)
        } else {
            None
        }
    }

    fn name(self) -> &'static str {
        match self {
            Codec::Gzip => "gzip",
            Codec::Zstd => "zstd",
        }
    }
}

fn sniff(
    inner: Box<dyn Read + Send>,
    path: &str,
    named: Option<Codec>,
) -> Result<Box<dyn BufRead + Send>, ArchiveError> {
    let mut buffered = BufReader::with_capacity(READ_BUFFER, inner);
    let open_err = |source| ArchiveError::Open {
        path: path.to_string(),
        source,
    };
    let head = buffered.fill_buf().map_err(open_err)?;
    let damaged = |message: String| ArchiveError::Damaged {
        path: path.to_string(),
        message,
    };
    let hex = |head: &[u8]| {
        head.iter()
            .take(4)
            .map(|b| format!("{b:02x}"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let codec = match (Codec::sniffed(head), named, Codec::almost(head)) {
        // Intact compressed content wins over the name (a misnamed archive still reads).
        (Some(c), _, _) => Some(c),
        // Nothing to read is an empty archive, whatever the name.
        (None, _, _) if head.is_empty() => None,
        (None, Some(c), _) => {
            return Err(damaged(format!(
                "the name says {} but the file starts with {} instead of its magic number",
                c.name(),
                hex(head)
            )))
        }
        (None, None, Some(c)) => {
            return Err(damaged(format!(
                "starts with {}, one byte off the {} magic number: a damaged compressed archive",
                hex(head),
                c.name()
            )))
        }
        (None, None, None) => None,
    };
    Ok(match codec {
        Some(Codec::Zstd) => {
            let decoder = zstd::Decoder::with_buffer(buffered).map_err(open_err)?;
            Box::new(BufReader::with_capacity(READ_BUFFER, decoder))
        }
        Some(Codec::Gzip) => Box::new(BufReader::with_capacity(
            READ_BUFFER,
            flate2::bufread::MultiGzDecoder::new(buffered),
        )),
        None => Box::new(buffered),
    })
}

/// The `reason` of a [`ReadError`] for a file whose compressed stream breaks off (a torn or
/// damaged frame): what came before is read, the rest of that file is skipped.
pub const DAMAGED_TAIL: &str = "damaged_tail";

/// Reads every archive in order; see [`read_batches_from`]. A file whose compressed stream
/// breaks off part-way (a torn last frame after a crash, a damaged block) is not the end of
/// the read: every line before the damage is delivered, the damage is reported to `on_error`
/// as [`DAMAGED_TAIL`] (counted in [`DecodeStats::errors`]) and the next file is read. A file
/// that cannot be opened or whose header is damaged still ends the read with an error.
pub fn read_batches(
    paths: &[String],
    batch: usize,
    on_error: &mut dyn FnMut(&ReadError),
    on_batch: &mut dyn FnMut(Vec<Mention>) -> bool,
) -> Result<DecodeStats, ArchiveError> {
    let mut total = DecodeStats::default();
    for path in paths {
        let reader = open(path)?;
        let s = read_batches_from(reader, path, batch, on_error, on_batch)?;
        total.lines += s.lines;
        total.decoded += s.decoded;
        for (reason, n) in s.errors {
            *total.errors.entry(reason).or_default() += n;
        }
    }
    Ok(total)
}

/// Decodes `reader` line by line into batches of at most `batch` mentions. A compressed stream
/// that breaks off part-way (an IO error after the header) is a damaged tail: the lines before
/// it are handed on, the damage is reported to `on_error` as [`DAMAGED_TAIL`] and counted, and
/// the read of this file ends without an error, so the caller goes on with the next file.
pub fn read_batches_from(
    reader: Box<dyn BufRead + Send>,
    name: &str,
    batch: usize,
    on_error: &mut dyn FnMut(&ReadError),
    on_batch: &mut dyn FnMut(Vec<Mention>) -> bool,
) -> Result<DecodeStats, ArchiveError> {
    let (stats, failure) = read_lines(reader, name, batch, on_error, on_batch);
    damaged_tail(stats, failure, on_error)
}

/// What a read that ended with `failure` returns: a read error part-way through the file
/// (a torn frame) is reported and counted as [`DAMAGED_TAIL`]; any other failure is returned.
fn damaged_tail(
    mut stats: DecodeStats,
    failure: Option<ArchiveError>,
    on_error: &mut dyn FnMut(&ReadError),
) -> Result<DecodeStats, ArchiveError> {
    match failure {
        None => Ok(stats),
        Some(ArchiveError::Read { path, line, source }) => {
            *stats.errors.entry(DAMAGED_TAIL).or_default() += 1;
            on_error(&ReadError {
                path,
                line,
                reason: DAMAGED_TAIL,
                message: format!("the rest of the file is unreadable and skipped: {source}"),
            });
            Ok(stats)
        }
        Some(e) => Err(e),
    }
}

/// One line read by [`read_line_bounded`].
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Line {
    /// The line, newline included, is in the buffer (`0`: end of input).
    Whole(usize),
    /// The line was longer than the limit: this many bytes were read past and dropped, and
    /// the buffer holds none of them.
    Oversize(usize),
}

/// A line read by [`read_line_bounded`] without its terminator: the newline, and a carriage
/// return before it or before the end of the input.
pub(crate) fn line_content(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// Reads one line into `buf` like [`BufRead::read_until`], but holds at most `max` bytes of
/// it (terminator excluded: the newline and a carriage return just before it or before the
/// end of the input, which the callers strip with [`line_content`], so a CRLF line of `max`
/// bytes is whole as its LF form is): the rest of a longer line is read past in the reader's
/// own buffer and dropped.
pub(crate) fn read_line_bounded(
    r: &mut dyn BufRead,
    buf: &mut Vec<u8>,
    max: usize,
) -> io::Result<Line> {
    let mut read = 0usize;
    let mut oversize = false;
    loop {
        let available = match r.fill_buf() {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if available.is_empty() {
            break;
        }
        let (chunk, ends) = match memchr::memchr(b'\n', available) {
            Some(i) => (&available[..=i], true),
            None => (available, false),
        };
        let used = chunk.len();
        if !oversize {
            let content = buf.len() + used - usize::from(ends);
            // The last byte of the content so far: a `\r` there may be the first half of the
            // terminator (its `\n` in this chunk, in the next fill, or the end of the input),
            // so it may take the content one byte past `max`; any byte after it is then over.
            let last = match chunk.len().checked_sub(1 + usize::from(ends)) {
                Some(i) => chunk.get(i),
                None => buf.last(),
            };
            if content > max.saturating_add(usize::from(last == Some(&b'\r'))) {
                oversize = true;
                buf.clear();
            } else {
                buf.extend_from_slice(chunk);
            }
        }
        r.consume(used);
        read += used;
        if ends {
            break;
        }
    }
    Ok(if oversize {
        Line::Oversize(read)
    } else {
        Line::Whole(read)
    })
}

/// What [`scan_lines`] read: lines (oversize ones included), oversize lines, and the error
/// that ended it.
struct Scan {
    lines: u64,
    oversize: u64,
    failure: Option<ArchiveError>,
}

/// Reads `reader` line by line and hands each line (its 1-based number, its bytes without the
/// newline and carriage return) to `on_line`, until the end, a read error, or `on_line`
/// returning `false`. A line over [`MAX_LINE_BYTES`] is reported to `on_error` and skipped
/// unread.
fn scan_lines(
    mut reader: Box<dyn BufRead + Send>,
    name: &str,
    on_error: &mut dyn FnMut(&ReadError),
    on_line: &mut dyn FnMut(u64, &[u8]) -> bool,
) -> Scan {
    let mut scan = Scan {
        lines: 0,
        oversize: 0,
        failure: None,
    };
    let mut line = Vec::with_capacity(1024);
    loop {
        line.clear();
        let n = match read_line_bounded(reader.as_mut(), &mut line, MAX_LINE_BYTES) {
            Ok(Line::Whole(n)) => n,
            Ok(Line::Oversize(n)) => {
                scan.lines += 1;
                scan.oversize += 1;
                on_error(&ReadError {
                    path: name.to_string(),
                    line: scan.lines,
                    reason: "oversize",
                    message: format!(
                        "a line of {n} bytes, longer than {MAX_LINE_BYTES}: skipped unread"
                    ),
                });
                // Do not keep a buffer the size of the longest line seen.
                line = Vec::with_capacity(1024);
                continue;
            }
            Err(source) => {
                // A partial line before the damage is not a line: dropped with the tail.
                scan.failure = Some(ArchiveError::Read {
                    path: name.to_string(),
                    line: scan.lines + 1,
                    source,
                });
                return scan;
            }
        };
        if n == 0 {
            return scan;
        }
        scan.lines += 1;
        if !on_line(scan.lines, line_content(&line)) {
            return scan;
        }
    }
}

/// Line `number` of `name` as a mention, or why it is skipped.
fn decode_line(name: &str, number: u64, bytes: &[u8]) -> Result<Mention, ReadError> {
    decode(bytes).map_err(|e| ReadError {
        path: name.to_string(),
        line: number,
        reason: e.reason(),
        message: e.message().to_string(),
    })
}

impl Scan {
    fn into_stats(self, decoded: u64, mut errors: BTreeMap<&'static str, u64>) -> DecodeStats {
        if self.oversize > 0 {
            *errors.entry("oversize").or_default() += self.oversize;
        }
        DecodeStats {
            lines: self.lines,
            decoded,
            errors,
        }
    }
}

/// [`read_batches_from`], returning what was read together with the error that ended it.
fn read_lines(
    reader: Box<dyn BufRead + Send>,
    name: &str,
    batch: usize,
    on_error: &mut dyn FnMut(&ReadError),
    on_batch: &mut dyn FnMut(Vec<Mention>) -> bool,
) -> (DecodeStats, Option<ArchiveError>) {
    let batch = batch.max(1);
    let mut decoded = 0u64;
    let mut errors = BTreeMap::new();
    let mut out = Vec::with_capacity(batch);
    let mut stopped = false;
    // Oversize lines go to `on_error` from the scan, bad ones from the decoding below: both
    // need it, one at a time.
    let on_error = std::cell::RefCell::new(on_error);
    let mut scan_error = |e: &ReadError| (on_error.borrow_mut())(e);
    let mut scan = scan_lines(reader, name, &mut scan_error, &mut |number, bytes| {
        match decode_line(name, number, bytes) {
            Ok(m) => {
                decoded += 1;
                out.push(m);
                if out.len() == batch {
                    let full = std::mem::replace(&mut out, Vec::with_capacity(batch));
                    if !on_batch(full) {
                        stopped = true;
                        return false;
                    }
                }
            }
            Err(e) => {
                *errors.entry(e.reason).or_default() += 1;
                (on_error.borrow_mut())(&e);
            }
        }
        true
    });
    if stopped {
        return (scan.into_stats(decoded, errors), None);
    }
    if !out.is_empty() {
        on_batch(out);
    }
    let failure = scan.failure.take();
    (scan.into_stats(decoded, errors), failure)
}

/// Lines read and not decoded yet, for decoding on other threads ([`RawLines::decode`]).
#[derive(Debug)]
pub struct RawLines {
    /// The archive's name, for errors.
    name: std::sync::Arc<str>,
    /// The lines' bytes, without newline or carriage return, one after another.
    buf: Vec<u8>,
    /// Each line's end in `buf` and its 1-based number in its file.
    ends: Vec<(usize, u64)>,
}

impl RawLines {
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Decodes every line as [`read_batches_from`] would: the good ones into `out` in order,
    /// a [`ReadError`] for each bad one into `errors`.
    pub fn decode(&self, out: &mut Vec<Mention>, errors: &mut Vec<ReadError>) {
        let mut start = 0;
        for &(end, number) in &self.ends {
            let bytes = self.buf.get(start..end).unwrap_or_default();
            start = end;
            match decode_line(&self.name, number, bytes) {
                Ok(m) => out.push(m),
                Err(e) => errors.push(e),
            }
        }
    }
}

/// Like [`read_batches_from`], but hands on the lines undecoded, `batch` at a time; the
/// statistics count lines and oversize lines only (the decoding happens elsewhere).
pub fn read_raw_batches_from(
    reader: Box<dyn BufRead + Send>,
    name: &str,
    batch: usize,
    on_error: &mut dyn FnMut(&ReadError),
    on_raw: &mut dyn FnMut(RawLines) -> bool,
) -> Result<DecodeStats, ArchiveError> {
    let batch = batch.max(1);
    let shared: std::sync::Arc<str> = std::sync::Arc::from(name);
    let fresh = || RawLines {
        name: std::sync::Arc::clone(&shared),
        buf: Vec::with_capacity(batch * 512),
        ends: Vec::with_capacity(batch),
    };
    let mut raw = fresh();
    let mut stopped = false;
    let mut scan = scan_lines(reader, name, on_error, &mut |number, bytes| {
        raw.buf.extend_from_slice(bytes);
        raw.ends.push((raw.buf.len(), number));
        if raw.ends.len() == batch && !on_raw(std::mem::replace(&mut raw, fresh())) {
            stopped = true;
            return false;
        }
        true
    });
    if !stopped && !raw.is_empty() {
        on_raw(raw);
    }
    let failure = scan.failure.take().filter(|_| !stopped);
    let stats = scan.into_stats(0, BTreeMap::new());
    damaged_tail(stats, failure, on_error)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(bytes: &'static [u8], batch: usize) -> (DecodeStats, Vec<Vec<Mention>>, Vec<u64>) {
        let mut batches = Vec::new();
        let mut bad = Vec::new();
        let stats = read_batches_from(
            open_bytes(bytes).unwrap(),
            "mem",
            batch,
            &mut |e| bad.push(e.line),
            &mut |b| {
                batches.push(b);
                true
            },
        )
        .unwrap();
        (stats, batches, bad)
    }

    const GOOD: &str = r#"{"id":"1","source":"x","created_at":"2026-03-02T10:00:00Z","text":"hi","author":{"id":"a","handle":"@a"}}"#;

    #[test]
    fn batches_hold_at_most_the_batch_size_and_bad_lines_are_numbered() {
        let text = format!("{GOOD}\r\n{GOOD}\n{{oops\n{GOOD}\n{GOOD}\n{GOOD}");
        let bytes: &'static [u8] = Box::leak(text.into_bytes().into_boxed_slice());
        let (stats, batches, bad) = read_all(bytes, 2);
        assert_eq!(stats.lines, 6);
        assert_eq!(stats.decoded, 5);
        assert_eq!(stats.errors.get("invalid_json"), Some(&1));
        assert_eq!(bad, vec![3]);
        let sizes: Vec<usize> = batches.iter().map(Vec::len).collect();
        assert_eq!(sizes, vec![2, 2, 1]);
    }

    #[test]
    fn a_line_longer_than_the_limit_is_skipped_unread_between_good_ones() {
        // A zstd bomb's worth in miniature: 3 MiB of one line that never ends in the middle,
        // and one at the end of the input with no newline at all.
        let huge = "x".repeat(3 * MAX_LINE_BYTES);
        let text = format!("{GOOD}\n{huge}\n{GOOD}\n{huge}");
        let z = zstd::encode_all(text.as_bytes(), 1).unwrap();
        let bytes: &'static [u8] = Box::leak(z.into_boxed_slice());
        let (stats, batches, bad) = read_all(bytes, 10);
        assert_eq!(stats.lines, 4);
        assert_eq!(stats.decoded, 2);
        assert_eq!(stats.errors.get("oversize"), Some(&2));
        assert_eq!(bad, vec![2, 4]);
        assert_eq!(batches.concat().len(), 2);
    }

    #[test]
    fn bounded_lines_hold_at_most_the_limit() {
        let mut r = std::io::BufReader::with_capacity(4, &b"abcd\nabcde\nab"[..]);
        let mut buf = Vec::new();
        assert_eq!(
            read_line_bounded(&mut r, &mut buf, 4).unwrap(),
            Line::Whole(5)
        );
        assert_eq!(buf, b"abcd\n", "exactly the limit, newline not counted");
        buf.clear();
        assert_eq!(
            read_line_bounded(&mut r, &mut buf, 4).unwrap(),
            Line::Oversize(6)
        );
        assert!(buf.is_empty());
        assert_eq!(
            read_line_bounded(&mut r, &mut buf, 4).unwrap(),
            Line::Whole(2)
        );
        assert_eq!(buf, b"ab");
        buf.clear();
        assert_eq!(
            read_line_bounded(&mut r, &mut buf, 4).unwrap(),
            Line::Whole(0)
        );
    }

    #[test]
    fn the_carriage_return_of_a_crlf_does_not_count_against_the_limit() {
        // Every buffer size, so the `\r` also ends one fill with its `\n` in the next.
        for capacity in 1..=16 {
            let text = &b"abcd\r\nabcd\rx\nabcd\r\r\nab\r\nabcd\r"[..];
            let mut r = std::io::BufReader::with_capacity(capacity, text);
            let mut buf = Vec::new();
            let mut next = |buf: &mut Vec<u8>| {
                buf.clear();
                read_line_bounded(&mut r, buf, 4).unwrap()
            };
            assert_eq!(next(&mut buf), Line::Whole(6), "capacity {capacity}");
            assert_eq!(buf, b"abcd\r\n", "exactly the limit before a CRLF");
            // A `\r` inside the line counts like any other byte.
            assert_eq!(next(&mut buf), Line::Oversize(7), "capacity {capacity}");
            assert!(buf.is_empty());
            assert_eq!(next(&mut buf), Line::Oversize(7), "capacity {capacity}");
            assert_eq!(next(&mut buf), Line::Whole(4), "capacity {capacity}");
            assert_eq!(buf, b"ab\r\n");
            // A `\r` that ends the input is stripped by the callers like a CRLF's.
            assert_eq!(next(&mut buf), Line::Whole(5), "capacity {capacity}");
            assert_eq!(buf, b"abcd\r");
            assert_eq!(next(&mut buf), Line::Whole(0), "capacity {capacity}");
        }
    }

    #[test]
    fn zstd_is_detected_by_content() {
        let text = format!("{GOOD}\n{GOOD}\n");
        let z = zstd::encode_all(text.as_bytes(), 1).unwrap();
        let bytes: &'static [u8] = Box::leak(z.into_boxed_slice());
        let (stats, _, _) = read_all(bytes, 10);
        assert_eq!(stats.decoded, 2);
    }

    #[test]
    fn a_consumer_that_goes_away_stops_the_read() {
        let text = format!("{GOOD}\n{GOOD}\n{GOOD}\n");
        let bytes: &'static [u8] = Box::leak(text.into_bytes().into_boxed_slice());
        let mut calls = 0;
        let stats = read_batches_from(
            open_bytes(bytes).unwrap(),
            "mem",
            1,
            &mut |_| {},
            &mut |_| {
                calls += 1;
                false
            },
        )
        .unwrap();
        assert_eq!(calls, 1);
        assert_eq!(stats.decoded, 1);
    }

    fn write_file(dir: &std::path::Path, name: &str, bytes: &[u8]) -> String {
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        path.display().to_string()
    }

    fn read_path(path: &str) -> Result<DecodeStats, ArchiveError> {
        read_batches(&[path.to_string()], 10, &mut |_| {}, &mut |_| true)
    }

    fn compressed() -> (Vec<u8>, Vec<u8>) {
        use std::io::Write;
        let text = format!("{GOOD}\n{GOOD}\n");
        let z = zstd::encode_all(text.as_bytes(), 1).unwrap();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(text.as_bytes()).unwrap();
        (z, gz.finish().unwrap())
    }

    #[test]
    fn a_compressed_name_with_a_damaged_magic_number_is_an_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let (mut z, mut gz) = compressed();
        z[0] ^= 0x01;
        gz[1] ^= 0x40;
        for (name, bytes) in [("cut.ndjson.zst", &z), ("cut.ndjson.gz", &gz)] {
            let path = write_file(dir.path(), name, bytes);
            let err = read_path(&path).expect_err(name);
            assert!(err.to_string().contains(&path), "{err}");
        }
        // Plain text under a compressed name is no archive either.
        let path = write_file(dir.path(), "plain.ndjson.zst", GOOD.as_bytes());
        assert!(read_path(&path).is_err());
    }

    #[test]
    fn almost_the_zstd_magic_is_an_error_whatever_the_name() {
        let dir = tempfile::tempdir().unwrap();
        let (mut z, _) = compressed();
        z[2] = 0x2e;
        let path = write_file(dir.path(), "renamed.ndjson", &z);
        let err = read_path(&path).unwrap_err();
        assert!(err.to_string().contains("renamed.ndjson"), "{err}");
        let bytes: &'static [u8] = Box::leak(z.into_boxed_slice());
        assert!(
            open_bytes(bytes).is_err(),
            "the embedded reader checks it too"
        );
    }

    #[test]
    fn compressed_archives_read_by_content_and_empty_ones_are_empty() {
        let dir = tempfile::tempdir().unwrap();
        let (z, gz) = compressed();
        // Misnamed but intact: the content decides.
        for (name, bytes) in [("a.ndjson", &z), ("b.ndjson.gz", &z), ("c.ndjson.zst", &gz)] {
            let path = write_file(dir.path(), name, bytes);
            assert_eq!(read_path(&path).unwrap().decoded, 2, "{name}");
        }
        // A segment created and never flushed (a crash) is empty, not damaged.
        let path = write_file(dir.path(), "mentions-x.ndjson.zst", b"");
        assert_eq!(read_path(&path).unwrap().lines, 0);
    }

    #[test]
    fn a_truncated_zstd_stream_is_a_damaged_tail_naming_the_archive() {
        // Several zstd blocks (128 KiB each), so half the bytes hold whole blocks of lines.
        let text: String = (0..5000)
            .map(|i| {
                format!(
                    "{}\n",
                    GOOD.replacen("\"id\":\"", &format!("\"id\":\"{i}-"), 1)
                )
            })
            .collect();
        let z = zstd::encode_all(text.as_bytes(), 1).unwrap();
        let bytes: &'static [u8] = Box::leak(z[..z.len() / 2].to_vec().into_boxed_slice());
        for raw in [false, true] {
            let mut damage = Vec::new();
            let mut on_error =
                |e: &ReadError| damage.push((e.reason, format!("{}: {}", e.path, e.message)));
            let stats = if raw {
                read_raw_batches_from(
                    open_bytes(bytes).unwrap(),
                    "cut.zst",
                    10,
                    &mut on_error,
                    &mut |_| true,
                )
            } else {
                read_batches_from(
                    open_bytes(bytes).unwrap(),
                    "cut.zst",
                    10,
                    &mut on_error,
                    &mut |_| true,
                )
            }
            .unwrap();
            assert!(stats.lines > 0 && stats.lines < 5000, "{stats:?}");
            assert_eq!(stats.errors.get(DAMAGED_TAIL), Some(&1), "{stats:?}");
            assert_eq!(damage.len(), 1, "{damage:?}");
            assert_eq!(damage[0].0, DAMAGED_TAIL);
            assert!(damage[0].1.contains("cut.zst"), "{damage:?}");
        }
    }

    #[test]
    fn a_torn_file_keeps_its_good_lines_and_the_next_files_are_still_read() {
        let dir = tempfile::tempdir().unwrap();
        // Two frames, the second torn (as a crash leaves a segment), then an intact file.
        let line = format!("{GOOD}\n");
        let mut torn = zstd::encode_all(line.repeat(3).as_bytes(), 1).unwrap();
        let second = zstd::encode_all(line.repeat(50).as_bytes(), 1).unwrap();
        torn.extend_from_slice(&second[..second.len() / 2]);
        let first = write_file(dir.path(), "a.ndjson.zst", &torn);
        let intact = zstd::encode_all(line.repeat(4).as_bytes(), 1).unwrap();
        let next = write_file(dir.path(), "b.ndjson.zst", &intact);
        let mut reasons = Vec::new();
        let mut decoded = 0;
        let stats = read_batches(
            &[first, next],
            10,
            &mut |e| reasons.push((e.path.clone(), e.reason)),
            &mut |b| {
                decoded += b.len();
                true
            },
        )
        .unwrap();
        assert_eq!(stats.errors.get(DAMAGED_TAIL), Some(&1), "{stats:?}");
        assert_eq!(reasons.len(), 1, "{reasons:?}");
        assert_eq!(stats.errors.len(), 1, "no other bad lines: {stats:?}");
        assert!(reasons[0].0.ends_with("a.ndjson.zst"));
        // The first frame's 3 lines and the second file's 4 at least; nothing after the damage.
        assert!((7..57).contains(&decoded), "{decoded}");
        assert_eq!(decoded as u64, stats.decoded);
    }
}
