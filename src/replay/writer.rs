//! Archive writing: every normalised mention of a live run into rotating zstd NDJSON segments
//! that `flashpoint replay` reads back.
//!
//! A segment is named by the event time of its first mention,
//! `mentions-20260302T103107Z-000001.ndjson.zst`, so sorting names sorts event time. While open
//! it carries an extra `.open` suffix; closing renames it, so every file without the suffix is
//! complete. Mentions are buffered and written as one independent zstd frame per flush
//! (frames concatenate into one valid stream), and every flush fsyncs the segment, so a crash
//! or a power loss loses at most what arrived since the last flush: at most `flush_interval`.
//! Creating and renaming a segment fsync the directory too. A segment closes when it spans
//! `segment_max_age` of event time or reaches `segment_max_bytes`; after each close, retention
//! deletes the oldest completed segments beyond `retention_max_bytes` or older than
//! `retention_max_age` (event time, relative to the newest mention written).
//!
//! Recovery: [`ArchiveWriter::open`] truncates every segment left `.open` by a crash to its
//! last complete zstd frame (a torn last frame is cut off, counted in
//! [`ArchiveHealth::truncated_bytes`]) before closing it.
//!
//! Storage faults (disk full, IO errors): a failed write is reported once per attempt (the
//! call returns the error), counted, and the partial frame is cut off the segment again; the
//! archive is then *paused*: mentions keep being accepted into memory and detection continues,
//! and the write is retried after a backoff (1 s, doubling to 60 s). Memory is bounded: at most
//! 4 MiB of uncompressed mentions plus 16 MiB of compressed frames wait; beyond that the
//! oldest waiting frame is dropped and its mentions counted in [`ArchiveHealth::dropped`]
//! (drop-oldest: the archive keeps the newest data). Nothing is ever recompressed.
//!
//! Time is an input: callers pass `now` (tokio's clock), so tests drive flushes with paused time.
//!
//! Event time is trusted only up to the wall clock plus `max_future_skew` (default 5 minutes;
//! `flashpoint run` passes `[pipeline] max_future_skew`): a mention dated beyond it (which live
//! sources already refuse) is still archived, in the open segment, but neither rotates a segment,
//! names one, nor advances the event time retention measures age against. One record dated
//! 9999-12-31 therefore cannot delete every completed segment or stop rotation.

use std::collections::VecDeque;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Seek, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::time::Instant;

use crate::config::state::sync_dir;
use crate::config::ArchiveConfig;
use crate::domain::codec::encode;
use crate::domain::{EventTime, Mention};

const PREFIX: &str = "mentions-";
const SUFFIX: &str = ".ndjson.zst";
const OPEN_SUFFIX: &str = ".open";
/// Buffered bytes that force a flush before the interval is up.
const MAX_PENDING: usize = 4 << 20;
/// Compressed frames that may wait for a paused archive; beyond it the oldest are dropped.
const MAX_UNWRITTEN: usize = 16 << 20;
/// First retry after a failed write; doubles up to [`MAX_RETRY`].
const FIRST_RETRY: Duration = Duration::from_secs(1);
const MAX_RETRY: Duration = Duration::from_secs(60);
const ZSTD_LEVEL: i32 = 3;
/// Default for [`ArchiveWriter::with_max_future_skew`].
const DEFAULT_MAX_FUTURE_SKEW_MS: i64 = 5 * 60_000;

fn wall_clock() -> EventTime {
    EventTime(chrono::Utc::now().timestamp_millis())
}

/// What a segment file must do: append, cut back, fsync.
pub trait SegmentFile: Write + Send {
    /// Cuts the file to `len` bytes and moves the write position there.
    fn truncate_to(&mut self, len: u64) -> io::Result<()>;
    /// Makes written data durable (fsync of the data).
    fn sync(&mut self) -> io::Result<()>;
}

impl SegmentFile for File {
    fn truncate_to(&mut self, len: u64) -> io::Result<()> {
        self.set_len(len)?;
        self.seek(io::SeekFrom::Start(len))?;
        Ok(())
    }
    fn sync(&mut self) -> io::Result<()> {
        self.sync_data()
    }
}

/// Opens a new segment file (`create_new`): the real file system, or a test's faulty one.
pub type SegmentOpener = Box<dyn Fn(&Path) -> io::Result<Box<dyn SegmentFile>> + Send>;

fn open_new(path: &Path) -> io::Result<Box<dyn SegmentFile>> {
    let f = OpenOptions::new().write(true).create_new(true).open(path)?;
    Ok(Box::new(f))
}

struct Segment {
    path: PathBuf,
    file: Box<dyn SegmentFile>,
    start: EventTime,
    written: u64,
}

/// How the archive is doing: counters since open, and whether it is paused.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ArchiveHealth {
    /// Writes (flushes, segment creations, closes) that failed.
    pub write_failures: u64,
    /// Mentions accepted but never archived (oldest dropped while paused).
    pub dropped: u64,
    /// True while a failed write waits for its retry.
    pub paused: bool,
    /// Bytes of torn frames cut off segments left open by a crash (at open).
    pub truncated_bytes: u64,
}

/// A failed write waiting for its retry.
struct Paused {
    retry_at: Instant,
    backoff: Duration,
}

/// The single writer of one archive directory.
pub struct ArchiveWriter {
    dir: PathBuf,
    cfg: ArchiveConfig,
    current: Option<Segment>,
    /// Event time the next segment is named after (when creating it failed).
    next_start: Option<EventTime>,
    pending: Vec<u8>,
    pending_mentions: u64,
    /// Compressed frames not yet written (mentions in each), oldest first.
    unwritten: VecDeque<(Vec<u8>, u64)>,
    unwritten_bytes: usize,
    paused: Option<Paused>,
    health: ArchiveHealth,
    last_flush: Instant,
    newest: EventTime,
    written: u64,
    max_future_skew_ms: i64,
    clock: fn() -> EventTime,
    opener: SegmentOpener,
    /// [`MAX_PENDING`] and [`MAX_UNWRITTEN`] (smaller in tests).
    max_pending: usize,
    max_unwritten: usize,
}

impl ArchiveWriter {
    /// Opens (creating) the directory; segments left open by a crash are truncated to their
    /// last complete frame and closed.
    pub fn open(cfg: &ArchiveConfig, now: Instant) -> io::Result<ArchiveWriter> {
        let dir = PathBuf::from(&cfg.dir);
        fs::create_dir_all(&dir)?;
        let mut health = ArchiveHealth::default();
        for entry in fs::read_dir(&dir)? {
            let path = entry?.path();
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if let Some(done) = name.strip_suffix(OPEN_SUFFIX) {
                if name.starts_with(PREFIX) {
                    health.truncated_bytes += truncate_torn(&path)?;
                    fs::rename(&path, dir.join(done))?;
                }
            }
        }
        sync_dir(&dir)?;
        Ok(ArchiveWriter {
            dir,
            cfg: cfg.clone(),
            current: None,
            next_start: None,
            pending: Vec::with_capacity(64 << 10),
            pending_mentions: 0,
            unwritten: VecDeque::new(),
            unwritten_bytes: 0,
            paused: None,
            health,
            last_flush: now,
            newest: EventTime::MIN,
            written: 0,
            max_future_skew_ms: DEFAULT_MAX_FUTURE_SKEW_MS,
            clock: wall_clock,
            opener: Box::new(open_new),
            max_pending: MAX_PENDING,
            max_unwritten: MAX_UNWRITTEN,
        })
    }

    /// How far ahead of the wall clock event time still drives rotation and retention.
    pub fn with_max_future_skew(mut self, skew: std::time::Duration) -> ArchiveWriter {
        self.max_future_skew_ms = i64::try_from(skew.as_millis()).unwrap_or(i64::MAX);
        self
    }

    /// Opens segment files with `opener` instead of the file system (fault tests).
    pub fn with_opener(mut self, opener: SegmentOpener) -> ArchiveWriter {
        self.opener = opener;
        self
    }

    /// Counters since open, and whether the archive is paused by a failed write.
    pub fn health(&self) -> ArchiveHealth {
        ArchiveHealth {
            paused: self.paused.is_some(),
            ..self.health
        }
    }

    /// Buffers one mention, rotating first when the current segment is full or old. An error
    /// is a failed write (already counted): the mention is kept, the archive pauses and
    /// retries.
    pub fn write(&mut self, m: &Mention, now: Instant) -> io::Result<()> {
        let ceiling = (self.clock)().plus_ms(self.max_future_skew_ms);
        // Beyond the ceiling the event time is not believed: archived, but it moves nothing.
        let trusted = m.created_at <= ceiling;
        let mut result = Ok(());
        if self.paused.is_none() {
            if let Some(seg) = &self.current {
                let age = m.created_at.millis().saturating_sub(seg.start.millis());
                let size = seg.written + self.pending.len() as u64 / 4;
                let too_old = trusted && age >= self.cfg.segment_max_age.as_millis_i64();
                if too_old || size >= self.cfg.segment_max_bytes {
                    result = self.close_segment(now);
                }
            }
        }
        if self.current.is_none() && self.next_start.is_none() {
            self.next_start = Some(m.created_at.min(ceiling));
        }
        encode(m, &mut self.pending);
        self.pending_mentions += 1;
        self.written += 1;
        if trusted {
            self.newest = self.newest.max(m.created_at);
        }
        if self.current.is_none() && self.paused.is_none() {
            // Named after its first mention; a failure pauses (the mention waits in memory).
            self.ensure_segment(now)?;
        }
        if self.pending.len() >= self.max_pending {
            self.seal_pending();
            return result.and(self.flush(now));
        }
        result.and(self.tick(now))
    }

    /// Flushes when the flush interval has passed since the last flush (or, while paused,
    /// when the retry is due).
    pub fn tick(&mut self, now: Instant) -> io::Result<()> {
        let due = match &self.paused {
            Some(p) => now >= p.retry_at,
            None => now.duration_since(self.last_flush) >= self.cfg.flush_interval.0,
        };
        if due {
            self.flush(now)?;
        }
        Ok(())
    }

    /// Writes buffered mentions to the open segment as one complete zstd frame and fsyncs it.
    /// While paused and before the retry is due this only seals the buffer into a frame.
    pub fn flush(&mut self, now: Instant) -> io::Result<()> {
        self.last_flush = now;
        self.seal_pending();
        if self.unwritten.is_empty() {
            return Ok(());
        }
        if self.paused.as_ref().is_some_and(|p| now < p.retry_at) {
            return Ok(());
        }
        self.write_unwritten(now)
    }

    /// Flushes and completes the open segment (shutdown); one last write attempt is made even
    /// while paused. Returns the mentions accepted; what could not be written is counted in
    /// [`ArchiveHealth::dropped`] and the error returned.
    pub fn close(mut self) -> io::Result<u64> {
        let now = self.last_flush;
        self.paused = None;
        if let Err(e) = self.close_segment(now) {
            let lost: u64 = self.unwritten.iter().map(|(_, n)| n).sum();
            self.health.dropped += lost + self.pending_mentions;
            return Err(e);
        }
        Ok(self.written)
    }

    /// Mentions accepted so far.
    pub fn written(&self) -> u64 {
        self.written
    }

    /// Mentions buffered and not yet on disk.
    pub fn pending(&self) -> u64 {
        self.pending_mentions + self.unwritten.iter().map(|(_, n)| n).sum::<u64>()
    }

    /// Completed segments in event-time order.
    pub fn segments(dir: &Path) -> io::Result<Vec<PathBuf>> {
        let mut out: Vec<PathBuf> = fs::read_dir(dir)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with(PREFIX) && n.ends_with(SUFFIX))
            })
            .collect();
        out.sort();
        Ok(out)
    }

    /// Compresses the buffered mentions into one frame queued for writing (never twice), and
    /// drops the oldest queued frames beyond [`MAX_UNWRITTEN`].
    fn seal_pending(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        let frame = match zstd::bulk::compress(&self.pending, ZSTD_LEVEL) {
            Ok(f) => f,
            Err(e) => {
                // Compressing memory does not fail in practice; never keep the buffer growing.
                tracing::error!(error = %e, mentions = self.pending_mentions, "archive frame compression failed; mentions dropped");
                self.health.dropped += self.pending_mentions;
                self.pending.clear();
                self.pending_mentions = 0;
                return;
            }
        };
        self.unwritten_bytes += frame.len();
        self.unwritten.push_back((frame, self.pending_mentions));
        self.pending.clear();
        self.pending_mentions = 0;
        while self.unwritten_bytes > self.max_unwritten && self.unwritten.len() > 1 {
            if let Some((f, n)) = self.unwritten.pop_front() {
                self.unwritten_bytes -= f.len();
                self.health.dropped += n;
                tracing::warn!(
                    mentions = n,
                    "archive paused too long: oldest buffered mentions dropped"
                );
            }
        }
    }

    /// Writes every queued frame, fsyncing after; on failure cuts the partial frame off the
    /// segment and pauses with a backoff.
    fn write_unwritten(&mut self, now: Instant) -> io::Result<()> {
        self.ensure_segment(now)?;
        let Some(seg) = self.current.as_mut() else {
            return Ok(());
        };
        let mut result = Ok(());
        while let Some((frame, _)) = self.unwritten.front() {
            match seg.file.write_all(frame).and_then(|()| seg.file.flush()) {
                Ok(()) => {
                    seg.written += frame.len() as u64;
                    self.unwritten_bytes -= frame.len();
                    self.unwritten.pop_front();
                }
                Err(e) => {
                    // A partial frame would hide every later frame from a reader: cut it off.
                    if let Err(cut) = seg.file.truncate_to(seg.written) {
                        tracing::error!(error = %cut, segment = %seg.path.display(),
                            "cannot cut a partial frame off the segment; starting a new one");
                        self.abandon_segment();
                    }
                    result = Err(e);
                    break;
                }
            }
        }
        if result.is_ok() {
            if let Some(seg) = self.current.as_mut() {
                result = seg.file.sync();
            }
        }
        match result {
            Ok(()) => {
                if self.paused.take().is_some() {
                    tracing::warn!("archive writes succeed again: archive resumed");
                }
                Ok(())
            }
            Err(e) => Err(self.failed(now, e)),
        }
    }

    /// Counts a failed write and pauses the archive until the next retry.
    fn failed(&mut self, now: Instant, e: io::Error) -> io::Error {
        self.health.write_failures += 1;
        let backoff = match &self.paused {
            Some(p) => (p.backoff * 2).min(MAX_RETRY),
            None => FIRST_RETRY,
        };
        self.paused = Some(Paused {
            retry_at: now + backoff,
            backoff,
        });
        e
    }

    /// Makes sure a segment is open (creating it, named after [`Self::next_start`]).
    fn ensure_segment(&mut self, now: Instant) -> io::Result<()> {
        if self.current.is_some() {
            return Ok(());
        }
        let start = self.next_start.unwrap_or_else(|| (self.clock)());
        match self.create_segment(start) {
            Ok(seg) => {
                self.current = Some(seg);
                self.next_start = None;
                Ok(())
            }
            Err(e) => Err(self.failed(now, e)),
        }
    }

    /// Gives up on the open segment (its end could not be repaired): it is renamed complete as
    /// it is (a reader skips its bad tail) and the next write opens a new one.
    fn abandon_segment(&mut self) {
        if let Some(seg) = self.current.take() {
            let done = seg.path.with_extension("");
            if let Err(e) = fs::rename(&seg.path, &done) {
                tracing::error!(error = %e, segment = %seg.path.display(), "cannot close an abandoned segment");
            }
        }
    }

    fn create_segment(&self, start: EventTime) -> io::Result<Segment> {
        let stamp = chrono::DateTime::from_timestamp_millis(start.millis())
            .map(|t| t.format("%Y%m%dT%H%M%SZ").to_string())
            .unwrap_or_else(|| String::from("00000000T000000Z"));
        for seq in 1..100_000u32 {
            let name = format!("{PREFIX}{stamp}-{seq:06}{SUFFIX}");
            let done = self.dir.join(&name);
            let path = self.dir.join(format!("{name}{OPEN_SUFFIX}"));
            if fs::metadata(&done).is_ok() {
                continue;
            }
            match (self.opener)(&path) {
                Ok(file) => {
                    sync_dir(&self.dir)?;
                    return Ok(Segment {
                        path,
                        file,
                        start,
                        written: 0,
                    });
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e),
            }
        }
        Err(io::Error::other("no free segment name for this second"))
    }

    fn close_segment(&mut self, now: Instant) -> io::Result<()> {
        self.flush(now)?;
        if self.paused.is_some() {
            return Ok(());
        }
        if let Some(mut seg) = self.current.take() {
            if let Err(e) = seg.file.sync() {
                self.current = Some(seg);
                return Err(self.failed(now, e));
            }
            let done = seg.path.with_extension("");
            // `with_extension("")` strips `.open`, leaving `….ndjson.zst`.
            if let Err(e) = fs::rename(&seg.path, &done) {
                self.current = Some(seg);
                return Err(self.failed(now, e));
            }
            sync_dir(&self.dir)?;
            self.retain()?;
        }
        Ok(())
    }

    /// Deletes the oldest completed segments beyond the size or age limits.
    fn retain(&self) -> io::Result<()> {
        let segments = ArchiveWriter::segments(&self.dir)?;
        let mut sized: Vec<(PathBuf, u64)> = segments
            .into_iter()
            .map(|p| {
                let len = fs::metadata(&p).map(|m| m.len()).unwrap_or(0);
                (p, len)
            })
            .collect();
        let mut total: u64 = sized.iter().map(|(_, n)| n).sum();
        let max_age = self.cfg.retention_max_age.as_millis_i64();
        // Keep at least the newest segment whatever the limits say.
        while sized.len() > 1 {
            let (path, len) = &sized[0];
            let start = segment_start(path);
            let too_old = start.is_some_and(|s| self.newest.millis() - s.millis() > max_age);
            if total <= self.cfg.retention_max_bytes && !too_old {
                break;
            }
            fs::remove_file(path)?;
            tracing::info!(segment = %path.display(), "archive retention removed segment");
            total -= len;
            sized.remove(0);
        }
        Ok(())
    }
}

/// Cuts the segment at `path` after its last complete, decodable zstd frame and fsyncs it;
/// returns the bytes cut off (0 when it ends cleanly).
fn truncate_torn(path: &Path) -> io::Result<u64> {
    let bytes = fs::read(path)?;
    let good = complete_frames_len(&bytes);
    let cut = (bytes.len() - good) as u64;
    if cut > 0 {
        let f = OpenOptions::new().write(true).open(path)?;
        f.set_len(good as u64)?;
        f.sync_all()?;
        tracing::warn!(segment = %path.display(), bytes = cut,
            "segment left open by a crash ends in a torn frame: truncated to its last complete frame");
    }
    Ok(cut)
}

/// Length of the longest prefix of `bytes` made of complete zstd frames that decode.
fn complete_frames_len(bytes: &[u8]) -> usize {
    let mut pos = 0;
    while pos < bytes.len() {
        let rest = &bytes[pos..];
        let Ok(n) = zstd::zstd_safe::find_frame_compressed_size(rest) else {
            break;
        };
        if n == 0 || n > rest.len() || zstd::stream::decode_all(&rest[..n]).is_err() {
            break;
        }
        pos += n;
    }
    pos
}

/// The event time a segment's name starts at.
fn segment_start(path: &Path) -> Option<EventTime> {
    let name = path.file_name()?.to_str()?;
    let stamp = name.strip_prefix(PREFIX)?.get(..16)?;
    let t = chrono::NaiveDateTime::parse_from_str(stamp, "%Y%m%dT%H%M%SZ").ok()?;
    Some(EventTime(t.and_utc().timestamp_millis()))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::config::HumanDuration;
    use crate::domain::Author;

    fn mention(i: i64) -> Mention {
        Mention {
            id: format!("m{i}"),
            source: String::from("t"),
            created_at: EventTime(1_772_000_000_000 + i * 60_000),
            text: format!("mention {i}"),
            author: Author {
                id: String::from("a"),
                handle: String::from("@a"),
                ..Author::default()
            },
            ..Mention::default()
        }
    }

    fn read_all(paths: &[PathBuf]) -> Vec<String> {
        // Decoded here with zstd and the codec (not `ingest::archive`: stages stay apart).
        use std::io::BufRead;
        let mut ids = Vec::new();
        for p in paths {
            let file = fs::File::open(p).unwrap();
            let reader = std::io::BufReader::new(zstd::stream::read::Decoder::new(file).unwrap());
            // A crashed segment ends in a torn frame: read up to it.
            for line in reader.split(b'\n').map_while(Result::ok) {
                if let Ok(m) = crate::domain::codec::decode(&line) {
                    ids.push(m.id);
                }
            }
        }
        ids
    }

    #[test]
    fn archive_rotates_by_event_time_and_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let mut cfg = ArchiveConfig::in_dir(dir.path().display().to_string());
        cfg.segment_max_age = HumanDuration::from_secs(600);
        let now = Instant::now();
        let mut w = ArchiveWriter::open(&cfg, now).unwrap();
        for i in 0..30 {
            w.write(&mention(i), now).unwrap();
        }
        assert_eq!(w.close().unwrap(), 30);
        let segs = ArchiveWriter::segments(dir.path()).unwrap();
        assert_eq!(segs.len(), 3, "{segs:?}");
        assert!(segs[0]
            .display()
            .to_string()
            .ends_with("mentions-20260225T061320Z-000001.ndjson.zst"));
        let want: Vec<String> = (0..30).map(|i| format!("m{i}")).collect();
        assert_eq!(read_all(&segs), want);
    }

    #[test]
    fn archive_retention_drops_oldest_segments() {
        let dir = tempfile::tempdir().unwrap();
        let mut cfg = ArchiveConfig::in_dir(dir.path().display().to_string());
        cfg.segment_max_age = HumanDuration::from_secs(600);
        cfg.retention_max_age = HumanDuration::from_secs(1200);
        let now = Instant::now();
        let mut w = ArchiveWriter::open(&cfg, now).unwrap();
        for i in 0..60 {
            w.write(&mention(i), now).unwrap();
        }
        w.close().unwrap();
        let segs = ArchiveWriter::segments(dir.path()).unwrap();
        let ids = read_all(&segs);
        assert!(segs.len() <= 3, "{segs:?}");
        assert_eq!(ids.last().map(String::as_str), Some("m59"));
        assert!(!ids.contains(&String::from("m0")));
    }

    fn mention_at(id: &str, millis: i64) -> Mention {
        Mention {
            id: id.to_string(),
            created_at: EventTime(millis),
            ..mention(0)
        }
    }

    #[test]
    fn archive_far_future_mention_deletes_nothing_and_rotation_goes_on() {
        let dir = tempfile::tempdir().unwrap();
        let mut cfg = ArchiveConfig::in_dir(dir.path().display().to_string());
        cfg.segment_max_age = HumanDuration::from_secs(600);
        let now = Instant::now();
        let wall = chrono::Utc::now().timestamp_millis();
        let hour = 3_600_000;
        let mut w = ArchiveWriter::open(&cfg, now).unwrap();
        for (i, back) in [3, 2, 1].into_iter().enumerate() {
            w.write(&mention_at(&format!("old{i}"), wall - back * hour), now)
                .unwrap();
        }
        let earlier = ArchiveWriter::segments(dir.path()).unwrap();
        assert_eq!(earlier.len(), 2, "{earlier:?}");
        // One mention dated 9999-12-31, then the stream goes on.
        w.write(&mention_at("far", 253_402_300_799_000), now)
            .unwrap();
        for (i, back) in [40, 20, 0].into_iter().enumerate() {
            w.write(&mention_at(&format!("new{i}"), wall - back * 60_000), now)
                .unwrap();
        }
        w.close().unwrap();
        let segs = ArchiveWriter::segments(dir.path()).unwrap();
        for s in &earlier {
            assert!(segs.contains(s), "{} was deleted: {segs:?}", s.display());
        }
        assert!(
            segs.iter()
                .all(|s| !s.display().to_string().contains("9999")),
            "no segment is named after the outlier: {segs:?}"
        );
        // 40, 20 and 0 minutes ago are 20 minutes apart: each opens its own segment.
        assert_eq!(segs.len(), 6, "{segs:?}");
        assert_eq!(read_all(&segs).len(), 7);
    }

    /// A segment file whose disk can be made full: a write then stores half its bytes (a torn
    /// write) and fails with "no space left".
    struct FlakyFile {
        inner: File,
        full: std::sync::Arc<std::sync::atomic::AtomicBool>,
    }

    impl Write for FlakyFile {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            if self.full.load(std::sync::atomic::Ordering::SeqCst) {
                if buf.len() > 1 {
                    self.inner.write_all(&buf[..buf.len() / 2])?;
                }
                return Err(io::Error::new(
                    io::ErrorKind::StorageFull,
                    "no space left on device",
                ));
            }
            self.inner.write(buf)
        }
        fn flush(&mut self) -> io::Result<()> {
            self.inner.flush()
        }
    }

    impl SegmentFile for FlakyFile {
        fn truncate_to(&mut self, len: u64) -> io::Result<()> {
            self.inner.truncate_to(len)
        }
        fn sync(&mut self) -> io::Result<()> {
            if self.full.load(std::sync::atomic::Ordering::SeqCst) {
                return Err(io::Error::new(
                    io::ErrorKind::StorageFull,
                    "no space left on device",
                ));
            }
            self.inner.sync()
        }
    }

    fn flaky(w: ArchiveWriter) -> (ArchiveWriter, std::sync::Arc<std::sync::atomic::AtomicBool>) {
        let full = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = std::sync::Arc::clone(&full);
        let w = w.with_opener(Box::new(move |p: &Path| {
            let inner = OpenOptions::new().write(true).create_new(true).open(p)?;
            Ok(Box::new(FlakyFile {
                inner,
                full: std::sync::Arc::clone(&flag),
            }) as Box<dyn SegmentFile>)
        }));
        (w, full)
    }

    fn all_files(dir: &Path) -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn archive_disk_full_pauses_bounded_then_resumes_without_losing_or_tearing() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = ArchiveConfig::in_dir(dir.path().display().to_string());
        let t0 = Instant::now();
        let (w, full) = flaky(ArchiveWriter::open(&cfg, t0).unwrap());
        let mut w = w;
        for i in 0..10 {
            w.write(&mention(i), t0).unwrap();
        }
        w.flush(t0).unwrap();
        full.store(true, std::sync::atomic::Ordering::SeqCst);
        // The disk is full: the next flush fails once, is counted, and pauses the archive.
        for i in 10..20 {
            w.write(&mention(i), t0).unwrap();
        }
        let t1 = t0 + Duration::from_secs(1);
        assert!(w.flush(t1).is_err());
        let h = w.health();
        assert!(h.paused, "{h:?}");
        assert_eq!(h.write_failures, 1);
        // The half-written frame was cut off: what is on disk still decodes to the end.
        let open = all_files(dir.path());
        let on_disk = fs::read(&open[0]).unwrap();
        assert_eq!(complete_frames_len(&on_disk), on_disk.len());
        // Before the retry is due nothing is attempted (no error, no recompression).
        for i in 20..30 {
            w.write(&mention(i), t1).unwrap();
        }
        w.tick(t1 + Duration::from_millis(500)).unwrap();
        assert_eq!(w.health().write_failures, 1);
        // The retry at +1 s fails again and backs off to 2 s.
        assert!(w.tick(t1 + Duration::from_secs(1)).is_err());
        assert_eq!(w.health().write_failures, 2);
        w.tick(t1 + Duration::from_secs(2)).unwrap();
        assert_eq!(w.health().write_failures, 2, "backoff doubled");
        // Space is back: the due retry writes everything waiting, in order, exactly once.
        full.store(false, std::sync::atomic::Ordering::SeqCst);
        w.tick(t1 + Duration::from_secs(3)).unwrap();
        assert!(!w.health().paused);
        assert_eq!(w.pending(), 0);
        assert_eq!(w.close().unwrap(), 30);
        let want: Vec<String> = (0..30).map(|i| format!("m{i}")).collect();
        assert_eq!(
            read_all(&ArchiveWriter::segments(dir.path()).unwrap()),
            want
        );
    }

    #[test]
    fn archive_paused_memory_is_bounded_dropping_the_oldest_frames() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = ArchiveConfig::in_dir(dir.path().display().to_string());
        let t0 = Instant::now();
        let (w, full) = flaky(ArchiveWriter::open(&cfg, t0).unwrap());
        let mut w = w;
        w.max_pending = 2_000;
        w.max_unwritten = 3_000;
        w.write(&mention(0), t0).unwrap();
        full.store(true, std::sync::atomic::Ordering::SeqCst);
        assert!(w.flush(t0).is_err());
        for i in 1..2_000 {
            w.write(&mention(i), t0).unwrap();
        }
        // Not due for a retry: this only seals the buffer (which may drop more old frames).
        w.flush(t0).unwrap();
        let h = w.health();
        assert!(h.dropped > 0, "{h:?}");
        assert!(w.unwritten_bytes <= 3_000 + 2_000, "{}", w.unwritten_bytes);
        assert!(w.pending.len() <= 2_000 + 1_000);
        assert_eq!(
            w.pending() + h.dropped,
            2_000,
            "every mention is waiting or counted"
        );
        full.store(false, std::sync::atomic::Ordering::SeqCst);
        w.close().unwrap();
        let ids = read_all(&ArchiveWriter::segments(dir.path()).unwrap());
        assert_eq!(ids.len() as u64, 2_000 - h.dropped);
        // Drop-oldest: the newest mention is archived.
        assert_eq!(ids.last().map(String::as_str), Some("m1999"));
    }

    #[test]
    fn archive_reopen_truncates_a_torn_open_segment_to_its_last_complete_frame() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = ArchiveConfig::in_dir(dir.path().display().to_string());
        let t0 = Instant::now();
        let mut w = ArchiveWriter::open(&cfg, t0).unwrap();
        for i in 0..20 {
            w.write(&mention(i), t0).unwrap();
            w.flush(t0 + Duration::from_secs(i as u64 + 1)).unwrap();
        }
        drop(w); // a crash
        let open = all_files(dir.path());
        assert_eq!(open.len(), 1);
        // The crash tore the frame being written: half of one more frame at the end.
        let mut torn = Vec::new();
        encode(&mention(99), &mut torn);
        let frame = zstd::bulk::compress(&torn, ZSTD_LEVEL).unwrap();
        let good_len = fs::metadata(&open[0]).unwrap().len();
        let mut f = OpenOptions::new().append(true).open(&open[0]).unwrap();
        f.write_all(&frame[..frame.len() / 2]).unwrap();
        drop(f);
        let w = ArchiveWriter::open(&cfg, t0).unwrap();
        assert_eq!(w.health().truncated_bytes, (frame.len() / 2) as u64);
        let segs = ArchiveWriter::segments(dir.path()).unwrap();
        assert_eq!(fs::metadata(&segs[0]).unwrap().len(), good_len);
        // The whole file decodes again (a reader no longer stops at the torn frame).
        let text = zstd::stream::decode_all(fs::File::open(&segs[0]).unwrap()).unwrap();
        assert_eq!(text.iter().filter(|b| **b == b'\n').count(), 20);
    }

    #[test]
    fn archive_kill_loses_at_most_the_flush_interval() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = ArchiveConfig::in_dir(dir.path().display().to_string());
        let t0 = Instant::now();
        let mut w = ArchiveWriter::open(&cfg, t0).unwrap();
        // 10 mentions per 100 ms for 5 s with a 1 s flush interval.
        for i in 0..500 {
            let now = t0 + Duration::from_millis(i as u64 * 10);
            w.write(&mention(i), now).unwrap();
        }
        let lost = w.pending();
        assert!(lost > 0 && lost <= 100, "{lost} mentions buffered");
        drop(w); // a kill: nothing more is flushed
        let open: Vec<PathBuf> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        let ids = read_all(&open);
        assert_eq!(ids.len() as u64, 500 - lost);
        // The next start closes the crashed segment as it is.
        ArchiveWriter::open(&cfg, t0).unwrap();
        let segs = ArchiveWriter::segments(dir.path()).unwrap();
        assert_eq!(segs.len(), open.len());
        assert_eq!(read_all(&segs).len() as u64, 500 - lost);
    }
}
