//! Archive writing: every normalised mention of a live run into rotating zstd NDJSON segments
//! that `flashpoint replay` reads back.
//!
//! A segment is named by the event time of its first mention,
//! `mentions-20260302T103107Z-000001.ndjson.zst`, so sorting names sorts event time. While open
//! it carries an extra `.open` suffix; closing renames it, so every file without the suffix is
//! complete. Mentions are buffered and written as one independent zstd frame per flush
//! (frames concatenate into one valid stream), so a crash loses at most what arrived since the
//! last flush: at most `flush_interval`. A segment closes when it spans `segment_max_age` of
//! event time or reaches `segment_max_bytes`; after each close, retention deletes the oldest
//! completed segments beyond `retention_max_bytes` or older than `retention_max_age` (event
//! time, relative to the newest mention written).
//!
//! Time is an input: callers pass `now` (tokio's clock), so tests drive flushes with paused time.
//!
//! Event time is trusted only up to the wall clock plus `max_future_skew` (default 5 minutes;
//! `flashpoint run` passes `[pipeline] max_future_skew`): a mention dated beyond it (which live
//! sources already refuse) is still archived, in the open segment, but neither rotates a segment,
//! names one, nor advances the event time retention measures age against. One record dated
//! 9999-12-31 therefore cannot delete every completed segment or stop rotation.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use tokio::time::Instant;

use crate::config::ArchiveConfig;
use crate::domain::codec::encode;
use crate::domain::{EventTime, Mention};

const PREFIX: &str = "mentions-";
const SUFFIX: &str = ".ndjson.zst";
const OPEN_SUFFIX: &str = ".open";
/// Buffered bytes that force a flush before the interval is up.
const MAX_PENDING: usize = 4 << 20;
const ZSTD_LEVEL: i32 = 3;
/// Default for [`ArchiveWriter::with_max_future_skew`].
const DEFAULT_MAX_FUTURE_SKEW_MS: i64 = 5 * 60_000;

fn wall_clock() -> EventTime {
    EventTime(chrono::Utc::now().timestamp_millis())
}

struct Segment {
    path: PathBuf,
    file: File,
    start: EventTime,
    written: u64,
}

/// The single writer of one archive directory.
pub struct ArchiveWriter {
    dir: PathBuf,
    cfg: ArchiveConfig,
    current: Option<Segment>,
    pending: Vec<u8>,
    pending_mentions: u64,
    last_flush: Instant,
    newest: EventTime,
    written: u64,
    max_future_skew_ms: i64,
    clock: fn() -> EventTime,
}

impl ArchiveWriter {
    /// Opens (creating) the directory; segments left open by a crash are closed as they are.
    pub fn open(cfg: &ArchiveConfig, now: Instant) -> io::Result<ArchiveWriter> {
        let dir = PathBuf::from(&cfg.dir);
        fs::create_dir_all(&dir)?;
        for entry in fs::read_dir(&dir)? {
            let path = entry?.path();
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if let Some(done) = name.strip_suffix(OPEN_SUFFIX) {
                if name.starts_with(PREFIX) {
                    fs::rename(&path, dir.join(done))?;
                }
            }
        }
        Ok(ArchiveWriter {
            dir,
            cfg: cfg.clone(),
            current: None,
            pending: Vec::with_capacity(64 << 10),
            pending_mentions: 0,
            last_flush: now,
            newest: EventTime::MIN,
            written: 0,
            max_future_skew_ms: DEFAULT_MAX_FUTURE_SKEW_MS,
            clock: wall_clock,
        })
    }

    /// How far ahead of the wall clock event time still drives rotation and retention.
    pub fn with_max_future_skew(mut self, skew: std::time::Duration) -> ArchiveWriter {
        self.max_future_skew_ms = i64::try_from(skew.as_millis()).unwrap_or(i64::MAX);
        self
    }

    /// Buffers one mention, rotating first when the current segment is full or old.
    pub fn write(&mut self, m: &Mention, now: Instant) -> io::Result<()> {
        let ceiling = (self.clock)().plus_ms(self.max_future_skew_ms);
        // Beyond the ceiling the event time is not believed: archived, but it moves nothing.
        let trusted = m.created_at <= ceiling;
        if let Some(seg) = &self.current {
            let age = m.created_at.millis().saturating_sub(seg.start.millis());
            let size = seg.written + self.pending.len() as u64 / 4;
            let too_old = trusted && age >= self.cfg.segment_max_age.as_millis_i64();
            if too_old || size >= self.cfg.segment_max_bytes {
                self.close_segment()?;
            }
        }
        if self.current.is_none() {
            self.current = Some(self.create_segment(m.created_at.min(ceiling))?);
        }
        encode(m, &mut self.pending);
        self.pending_mentions += 1;
        self.written += 1;
        if trusted {
            self.newest = self.newest.max(m.created_at);
        }
        if self.pending.len() >= MAX_PENDING {
            self.flush(now)?;
        }
        self.tick(now)
    }

    /// Flushes when the flush interval has passed since the last flush.
    pub fn tick(&mut self, now: Instant) -> io::Result<()> {
        if now.duration_since(self.last_flush) >= self.cfg.flush_interval.0 {
            self.flush(now)?;
        }
        Ok(())
    }

    /// Writes buffered mentions to the open segment as one complete zstd frame.
    pub fn flush(&mut self, now: Instant) -> io::Result<()> {
        self.last_flush = now;
        if self.pending.is_empty() {
            return Ok(());
        }
        let Some(seg) = self.current.as_mut() else {
            return Ok(());
        };
        let frame = zstd::bulk::compress(&self.pending, ZSTD_LEVEL)?;
        seg.file.write_all(&frame)?;
        seg.file.flush()?;
        seg.written += frame.len() as u64;
        self.pending.clear();
        self.pending_mentions = 0;
        Ok(())
    }

    /// Flushes and completes the open segment (shutdown).
    pub fn close(mut self) -> io::Result<u64> {
        self.close_segment()?;
        Ok(self.written)
    }

    /// Mentions accepted so far.
    pub fn written(&self) -> u64 {
        self.written
    }

    /// Mentions buffered and not yet on disk.
    pub fn pending(&self) -> u64 {
        self.pending_mentions
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
            match OpenOptions::new().write(true).create_new(true).open(&path) {
                Ok(file) => {
                    return Ok(Segment {
                        path,
                        file,
                        start,
                        written: 0,
                    })
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e),
            }
        }
        Err(io::Error::other("no free segment name for this second"))
    }

    fn close_segment(&mut self) -> io::Result<()> {
        self.flush(self.last_flush)?;
        if let Some(seg) = self.current.take() {
            seg.file.sync_all()?;
            let done = seg.path.with_extension("");
            // `with_extension("")` strips `.open`, leaving `….ndjson.zst`.
            fs::rename(&seg.path, &done)?;
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
