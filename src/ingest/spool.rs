//! The push spool: durable acknowledgements for `POST /v1/mentions` (`ack = "durable"`).
//!
//! One writer thread owns a directory of append-only segments (`<seq>.ndjson`, the canonical
//! NDJSON of the accepted mentions). The push handler hands it a batch over a bounded channel
//! ([`SpoolHandle::append`]) and answers 200 only once the writer has written the batch and
//! fsynced the segment (`fdatasync`). Group commit: the writer takes every request waiting
//! when it wakes, writes them all and syncs once, then answers all of them. After the sync it
//! puts the mentions on the pipeline queue itself, in spool order (blocking while the queue is
//! full), each stamped with its [`SpoolPos`].
//!
//! Policies: the request channel holds [`REQUESTS`] batches; when it is full the handler
//! answers 503 (`spool_busy`) at once. A failed write or sync answers every waiting request
//! with an error (the handler answers 503, nothing acknowledged), cuts the segment back to its
//! last good length and moves to a new segment.
//!
//! Coverage and recovery: the consumer (the engine task of `run`) publishes through
//! [`Coverage`] the newest position whose mentions are processed *and* durable elsewhere
//! (checkpointed and/or archived, see [`Watermarks`]). The writer persists it in the `covered`
//! file (atomically, fsynced) and then deletes the segments wholly before it. At start,
//! [`Spool::open`] deletes what the `covered` file says is done, returns the rest as a
//! [`Recovery`] to be processed before new input, and writes new batches to a fresh segment.
//! A crash between processing and the next `covered` update re-feeds those mentions: delivery
//! is at least once. One process owns a spool directory: [`Spool::open`] takes an exclusive
//! lock on [`LOCK_FILE`] and a second process is refused with an error naming the holder.

use std::collections::VecDeque;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, BufReader, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self as std_mpsc, RecvTimeoutError, TrySendError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use super::{Ingested, MentionTx};
use crate::config::state;
use crate::config::state::{sync_dir, DirLock};
use crate::domain::codec::{decode, encode, DecodeError};
use crate::domain::Mention;

/// Batches waiting for the writer at most; one more is answered 503 (`spool_busy`).
pub const REQUESTS: usize = 256;
/// A segment that has grown past this is closed and a new one started.
const SEGMENT_MAX_BYTES: u64 = 64 << 20;
/// How often the writer records the coverage (and how long an idle one waits for a batch).
const IDLE_POLL: Duration = Duration::from_millis(250);
/// The file that records how far the spool is covered.
const COVERED_FILE: &str = "covered";
/// The file a process holds an exclusive lock on while it owns the spool directory (it holds
/// the owner's pid): two processes sharing one spool would interleave and delete each other's
/// segments, so the second one refuses to start.
pub const LOCK_FILE: &str = "spool.lock";
const SEGMENT_SUFFIX: &str = ".ndjson";

/// A place in the spool: the end (exclusive byte offset) of one record in segment `segment`.
/// Ordered by segment, then offset; a position covers every record that ends at or before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct SpoolPos {
    pub segment: u64,
    pub offset: u64,
}

/// Why a batch was not spooled (nothing of it is acknowledged).
#[derive(Debug)]
pub enum AppendError {
    /// [`REQUESTS`] batches already wait for the writer.
    Busy,
    /// The write or the sync failed.
    Failed(io::Error),
    /// The writer is gone (shutting down).
    Closed,
}

struct Request {
    /// One canonical NDJSON line per mention.
    lines: Vec<Vec<u8>>,
    mentions: Vec<Mention>,
    received: Instant,
    done: oneshot::Sender<io::Result<()>>,
}

/// The push handler's side of the spool.
#[derive(Clone)]
pub struct SpoolHandle {
    tx: std_mpsc::SyncSender<Request>,
}

impl SpoolHandle {
    /// Spools `mentions` durably and then queues them for the engine; `Ok` only once they are
    /// fsynced.
    pub async fn append(
        &self,
        mentions: Vec<Mention>,
        received: Instant,
    ) -> Result<(), AppendError> {
        let lines = mentions
            .iter()
            .map(|m| {
                let mut b = Vec::with_capacity(256);
                encode(m, &mut b);
                b
            })
            .collect();
        let (done, wait) = oneshot::channel();
        let req = Request {
            lines,
            mentions,
            received,
            done,
        };
        match self.tx.try_send(req) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => return Err(AppendError::Busy),
            Err(TrySendError::Disconnected(_)) => return Err(AppendError::Closed),
        }
        match wait.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(AppendError::Failed(e)),
            Err(_) => Err(AppendError::Closed),
        }
    }
}

/// How far the spool is covered, published by the consumer and persisted by the writer.
#[derive(Debug, Default)]
pub struct Coverage(Mutex<Option<SpoolPos>>);

impl Coverage {
    /// Everything up to `pos` is processed and durable elsewhere (never moves back).
    pub fn cover(&self, pos: SpoolPos) {
        if let Ok(mut c) = self.0.lock() {
            if c.is_none_or(|old| pos > old) {
                *c = Some(pos);
            }
        }
    }

    fn get(&self) -> Option<SpoolPos> {
        self.0.lock().ok().and_then(|c| *c)
    }
}

/// The consumer's bookkeeping: the position processed (in the spool, or any other sequence of
/// processed mentions), and where it stood at the last durable checkpoint and the last complete
/// archive flush. What is covered is the oldest of the ones that apply (just the processed one
/// when the run keeps neither).
#[derive(Debug)]
pub struct Watermarks<P = SpoolPos> {
    processed: Option<P>,
    checkpointed: Option<P>,
    archived: Option<P>,
    needs_checkpoint: bool,
    needs_archive: bool,
}

impl<P: Copy + Ord> Watermarks<P> {
    pub fn new(needs_checkpoint: bool, needs_archive: bool) -> Watermarks<P> {
        Watermarks {
            processed: None,
            checkpointed: None,
            archived: None,
            needs_checkpoint,
            needs_archive,
        }
    }

    /// A mention went through the engine (in order).
    pub fn processed(&mut self, pos: P) {
        self.processed = Some(pos);
    }

    /// A checkpoint holding every processed mention was saved.
    pub fn checkpointed(&mut self) {
        self.checkpointed = self.processed;
    }

    /// The archive has every processed mention on disk.
    pub fn archived(&mut self) {
        self.archived = self.processed;
    }

    /// The newest position that a crash cannot lose any more.
    pub fn covered(&self) -> Option<P> {
        let mut c = self.processed;
        if self.needs_checkpoint {
            c = c.min(self.checkpointed);
        }
        if self.needs_archive {
            c = c.min(self.archived);
        }
        c
    }
}

/// The open spool: the writer thread and the coverage it persists.
pub struct Spool {
    coverage: Arc<Coverage>,
    thread: std::thread::JoinHandle<Writer>,
    /// The locked [`LOCK_FILE`], held for the life of the spool.
    _lock: File,
}

/// Spooled mentions not yet covered when the spool was opened, in spool order: to be
/// processed before any new input.
pub struct Recovery {
    /// Segments to read, with the offset to start at.
    segments: VecDeque<(u64, PathBuf, u64)>,
    reading: Option<(u64, BufReader<File>, u64)>,
    line: Vec<u8>,
}

/// One recovered record.
pub type Recovered = (SpoolPos, Result<Mention, DecodeError>);

impl Iterator for Recovery {
    type Item = io::Result<Recovered>;

    fn next(&mut self) -> Option<io::Result<Recovered>> {
        loop {
            if self.reading.is_none() {
                let (seq, path, start) = self.segments.pop_front()?;
                let opened = File::open(&path).and_then(|mut f| {
                    f.seek(SeekFrom::Start(start))?;
                    Ok(f)
                });
                match opened {
                    Ok(f) => self.reading = Some((seq, BufReader::new(f), start)),
                    Err(e) => return Some(Err(with_path(e, &path))),
                }
            }
            let (seq, reader, offset) = self.reading.as_mut()?;
            self.line.clear();
            match reader.read_until(b'\n', &mut self.line) {
                Ok(0) => self.reading = None,
                Ok(n) => {
                    *offset += n as u64;
                    if self.line.last() != Some(&b'\n') {
                        // A write torn by the crash: never acknowledged.
                        tracing::warn!(
                            segment = *seq,
                            bytes = n,
                            "spool: a torn last record is skipped (it was never acknowledged)"
                        );
                        self.reading = None;
                        continue;
                    }
                    let pos = SpoolPos {
                        segment: *seq,
                        offset: *offset,
                    };
                    return Some(Ok((pos, decode(&self.line[..n - 1]))));
                }
                Err(e) => return Some(Err(e)),
            }
        }
    }
}

fn with_path(e: io::Error, path: &Path) -> io::Error {
    io::Error::new(e.kind(), format!("{}: {e}", path.display()))
}

/// Whether every record of segment `seq` (at `path`) lies at or before `c`.
fn fully_covered(seq: u64, path: &Path, c: SpoolPos) -> io::Result<bool> {
    Ok(seq < c.segment || (seq == c.segment && fs::metadata(path)?.len() <= c.offset))
}

fn segment_path(dir: &Path, seq: u64) -> PathBuf {
    dir.join(format!("{seq:020}{SEGMENT_SUFFIX}"))
}

/// The segments in `dir`, oldest first.
fn segments(dir: &Path) -> io::Result<Vec<(u64, PathBuf)>> {
    let mut out = Vec::new();
    for e in fs::read_dir(dir)? {
        let e = e?;
        // Only regular files are segments (a link or directory is not ours to read or delete).
        if !e.file_type()?.is_file() {
            continue;
        }
        let path = e.path();
        let seq = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_suffix(SEGMENT_SUFFIX))
            .and_then(|n| n.parse::<u64>().ok());
        if let Some(seq) = seq {
            out.push((seq, path));
        }
    }
    out.sort();
    Ok(out)
}

/// The `covered` file: `<segment> <offset>`; a file that does not parse is ignored (with a
/// warning): everything is re-fed, nothing lost.
fn read_covered(dir: &Path) -> io::Result<Option<SpoolPos>> {
    let text = match fs::read_to_string(dir.join(COVERED_FILE)) {
        Ok(t) => t,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let mut parts = text.split_whitespace().map(str::parse::<u64>);
    match (parts.next(), parts.next()) {
        (Some(Ok(segment)), Some(Ok(offset))) => Ok(Some(SpoolPos { segment, offset })),
        _ => {
            tracing::warn!(dir = %dir.display(),
                "spool: the covered file does not parse; every segment is re-fed");
            Ok(None)
        }
    }
}

/// Takes the spool directory's lock without waiting and records our pid in it; another
/// process holding it is an error that names the directory and that process.
fn lock_dir(dir: &Path) -> io::Result<File> {
    match state::lock_dir(dir, LOCK_FILE).map_err(|e| with_path(e, &dir.join(LOCK_FILE)))? {
        DirLock::Held(f) => Ok(f),
        DirLock::Busy { holder } => Err(io::Error::new(
            io::ErrorKind::WouldBlock,
            format!(
                "the spool {} is in use by another flashpoint process (pid {holder}); give \
                 each process its own spool_dir",
                dir.display()
            ),
        )),
    }
}

fn write_covered(dir: &Path, pos: SpoolPos) -> io::Result<()> {
    let tmp = dir.join(format!("{COVERED_FILE}.tmp"));
    {
        let mut f = File::create(&tmp)?;
        writeln!(f, "{} {}", pos.segment, pos.offset)?;
        f.sync_all()?;
    }
    fs::rename(&tmp, dir.join(COVERED_FILE))?;
    sync_dir(dir)
}

impl Spool {
    /// Opens (creating) the spool in `dir`: drops segments already covered, returns the rest
    /// for recovery and starts the writer, which queues new batches on `tx`.
    pub fn open(dir: &Path, tx: MentionTx) -> io::Result<(Spool, SpoolHandle, Recovery)> {
        Spool::open_sized(dir, tx, SEGMENT_MAX_BYTES)
    }

    /// [`Spool::open`] with segments closed past `segment_max_bytes`.
    fn open_sized(
        dir: &Path,
        tx: MentionTx,
        segment_max_bytes: u64,
    ) -> io::Result<(Spool, SpoolHandle, Recovery)> {
        fs::create_dir_all(dir).map_err(|e| with_path(e, dir))?;
        let lock = lock_dir(dir)?;
        let covered = read_covered(dir).map_err(|e| with_path(e, dir))?;
        let mut pending = VecDeque::new();
        let mut last = 0;
        for (seq, path) in segments(dir).map_err(|e| with_path(e, dir))? {
            last = seq;
            match covered {
                Some(c) if fully_covered(seq, &path, c)? => {
                    fs::remove_file(&path).map_err(|e| with_path(e, &path))?;
                }
                Some(c) if seq == c.segment => pending.push_back((seq, path, c.offset)),
                _ => pending.push_back((seq, path, 0)),
            }
        }
        let seq = last.max(covered.map_or(0, |c| c.segment)) + 1;
        let path = segment_path(dir, seq);
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| with_path(e, &path))?;
        sync_dir(dir).map_err(|e| with_path(e, dir))?;
        let (req_tx, req_rx) = std_mpsc::sync_channel(REQUESTS);
        let coverage = Arc::new(Coverage::default());
        let writer = Writer {
            dir: dir.to_path_buf(),
            file: Some(file),
            seq,
            len: 0,
            broken: false,
            segment_max_bytes,
            tx: Some(tx),
            coverage: Arc::clone(&coverage),
            persisted: covered,
        };
        let thread = std::thread::Builder::new()
            .name(String::from("spool-writer"))
            .spawn(move || writer.run(req_rx))?;
        let recovery = Recovery {
            segments: pending,
            reading: None,
            line: Vec::new(),
        };
        Ok((
            Spool {
                coverage,
                thread,
                _lock: lock,
            },
            SpoolHandle { tx: req_tx },
            recovery,
        ))
    }

    /// Where the consumer publishes how far the spool is covered.
    pub fn coverage(&self) -> Arc<Coverage> {
        Arc::clone(&self.coverage)
    }

    /// Waits for the writer to end (every [`SpoolHandle`] dropped), then persists the final
    /// coverage and deletes the segments it covers.
    pub fn finish(self) -> io::Result<()> {
        let mut w = self
            .thread
            .join()
            .map_err(|_| io::Error::other("the spool writer panicked"))?;
        w.file = None;
        w.apply_coverage()
    }
}

/// Answers every request of `batch` with `e` (a handler that gave up waiting needs nothing).
fn refuse(batch: Vec<Request>, e: &io::Error) {
    for r in batch {
        r.done
            .send(Err(io::Error::new(e.kind(), e.to_string())))
            .ok();
    }
}

struct Writer {
    dir: PathBuf,
    file: Option<File>,
    seq: u64,
    len: u64,
    /// The last write failed: the next batch goes to a new segment.
    broken: bool,
    segment_max_bytes: u64,
    tx: Option<MentionTx>,
    coverage: Arc<Coverage>,
    persisted: Option<SpoolPos>,
}

impl Writer {
    fn run(mut self, rx: std_mpsc::Receiver<Request>) -> Writer {
        // Recording the coverage costs two fsyncs: at most once per poll interval.
        let mut recorded = Instant::now();
        loop {
            match rx.recv_timeout(IDLE_POLL) {
                Ok(first) => {
                    let mut batch = vec![first];
                    while batch.len() < REQUESTS {
                        match rx.try_recv() {
                            Ok(r) => batch.push(r),
                            Err(_) => break,
                        }
                    }
                    self.commit(batch);
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            }
            if recorded.elapsed() < IDLE_POLL {
                continue;
            }
            recorded = Instant::now();
            if let Err(e) = self.apply_coverage() {
                tracing::error!(error = %e, "spool: cannot record coverage; segments are kept");
            }
        }
        // The consumer ends once this last queue sender is gone.
        self.tx = None;
        self
    }

    /// Writes every request of `batch`, syncs once, answers them all, then queues the
    /// mentions in spool order.
    fn commit(&mut self, batch: Vec<Request>) {
        // Rotate first: the positions below are offsets in the segment written now.
        if self.broken || self.len >= self.segment_max_bytes {
            if let Err(e) = self.rotate() {
                tracing::error!(error = %e, "spool: cannot start a new segment: the batch is refused (503)");
                refuse(batch, &e);
                return;
            }
        }
        let start = self.len;
        let mut buf = Vec::new();
        let mut ends = Vec::new();
        for r in &batch {
            for l in &r.lines {
                buf.extend_from_slice(l);
                ends.push(start + buf.len() as u64);
            }
        }
        let written = self.write(&buf);
        if let Err(e) = written {
            tracing::error!(error = %e, segment = self.seq, "spool write failed: the batch is refused (503)");
            refuse(batch, &e);
            return;
        }
        let mut ends = ends.into_iter();
        let mut queued = Vec::with_capacity(ends.len());
        for r in batch {
            r.done.send(Ok(())).ok();
            for m in r.mentions {
                let offset = ends.next().unwrap_or(self.len);
                let mut item = Ingested::new(m, r.received);
                item.spool = Some(SpoolPos {
                    segment: self.seq,
                    offset,
                });
                queued.push(item);
            }
        }
        if let Some(tx) = &self.tx {
            for item in queued {
                // Blocks while the queue is full; fails only when the consumer is gone, and
                // then the mention stays in the spool for the next start.
                if tx.blocking_send(item).is_err() {
                    break;
                }
            }
        }
    }

    fn write(&mut self, buf: &[u8]) -> io::Result<()> {
        let file = match &mut self.file {
            Some(f) => f,
            None => return Err(io::Error::other("spool closed")),
        };
        let r = file.write_all(buf).and_then(|()| file.sync_data());
        match r {
            Ok(()) => {
                self.len += buf.len() as u64;
                Ok(())
            }
            Err(e) => {
                // Cut a partial write off, so no later record is glued to it; whatever
                // happens the next batch starts a new segment.
                if let Err(cut) = file.set_len(self.len) {
                    tracing::warn!(error = %cut, "spool: cannot cut a failed write off");
                }
                self.broken = true;
                Err(e)
            }
        }
    }

    fn rotate(&mut self) -> io::Result<()> {
        let seq = self.seq + 1;
        let path = segment_path(&self.dir, seq);
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| with_path(e, &path))?;
        sync_dir(&self.dir)?;
        self.file = Some(file);
        self.seq = seq;
        self.len = 0;
        self.broken = false;
        Ok(())
    }

    /// Persists a new coverage, then deletes the segments wholly before it.
    fn apply_coverage(&mut self) -> io::Result<()> {
        let Some(c) = self.coverage.get() else {
            return Ok(());
        };
        if self.persisted.is_some_and(|p| p >= c) {
            return Ok(());
        }
        write_covered(&self.dir, c)?;
        self.persisted = Some(c);
        let mut removed = false;
        for (seq, path) in segments(&self.dir)? {
            if seq != self.seq && fully_covered(seq, &path, c)? {
                fs::remove_file(&path)?;
                removed = true;
            }
        }
        if removed {
            sync_dir(&self.dir)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn covered_is_the_oldest_of_what_applies() {
        let p = |segment, offset| SpoolPos { segment, offset };
        let mut w = Watermarks::new(true, true);
        w.processed(p(1, 10));
        assert_eq!(w.covered(), None);
        w.checkpointed();
        w.processed(p(2, 5));
        w.archived();
        assert_eq!(w.covered(), Some(p(1, 10)));
        w.checkpointed();
        assert_eq!(w.covered(), Some(p(2, 5)));
        let mut bare = Watermarks::new(false, false);
        bare.processed(p(3, 1));
        assert_eq!(bare.covered(), Some(p(3, 1)));
    }

    fn mention(id: &str) -> Mention {
        let line = format!(
            r#"{{"id":"{id}","source":"x","created_at":"2026-03-02T10:00:00Z","text":"hi","author":{{"id":"a","handle":"@a"}}}}"#
        );
        decode(line.as_bytes()).unwrap()
    }

    fn ids(recovery: Recovery) -> Vec<String> {
        recovery.map(|r| r.unwrap().1.unwrap().id).collect()
    }

    /// A spool directory has one owner; the lock goes with it.
    #[tokio::test]
    async fn a_second_process_cannot_open_a_spool_in_use() {
        let dir = tempfile::tempdir().unwrap();
        let (tx, _rx) = tokio::sync::mpsc::channel(16);
        let (spool, handle, _recovery) = Spool::open(dir.path(), tx).unwrap();
        let (tx2, _rx2) = tokio::sync::mpsc::channel(16);
        let err = Spool::open(dir.path(), tx2)
            .err()
            .expect("a spool in use was opened twice");
        assert!(err.to_string().contains("in use"), "{err}");
        assert!(
            err.to_string().contains(&std::process::id().to_string()),
            "{err}"
        );
        drop(handle);
        spool.finish().unwrap();
        // Released when the owner finishes.
        let (tx3, _rx3) = tokio::sync::mpsc::channel(16);
        let (spool, handle, _) = Spool::open(dir.path(), tx3).unwrap();
        drop(handle);
        spool.finish().unwrap();
    }

    /// Records up to the covered position are neither re-fed nor kept; the rest are, in order.
    #[tokio::test]
    async fn a_reopened_spool_re_feeds_only_what_is_not_covered() {
        let dir = tempfile::tempdir().unwrap();
        let (tx, mut rx) = tokio::sync::mpsc::channel(16);
        let (spool, handle, recovery) = Spool::open(dir.path(), tx).unwrap();
        assert!(ids(recovery).is_empty());
        handle
            .append(vec![mention("a"), mention("b")], Instant::now())
            .await
            .unwrap();
        handle
            .append(vec![mention("c")], Instant::now())
            .await
            .unwrap();
        let mut got = Vec::new();
        for _ in 0..3 {
            got.push(rx.recv().await.unwrap());
        }
        assert_eq!(
            got.iter()
                .map(|i| i.mention.id.as_str())
                .collect::<Vec<_>>(),
            ["a", "b", "c"]
        );
        // The consumer covered "a" only (processed and durable elsewhere).
        spool.coverage().cover(got[0].spool.unwrap());
        drop(handle);
        spool.finish().unwrap();
        let (tx, _rx) = tokio::sync::mpsc::channel(16);
        let (spool, handle, recovery) = Spool::open(dir.path(), tx).unwrap();
        assert_eq!(ids(recovery), ["b", "c"]);
        // Covering the last record of the first segment deletes it at the next open.
        spool.coverage().cover(got[2].spool.unwrap());
        drop(handle);
        spool.finish().unwrap();
        let (tx, _rx) = tokio::sync::mpsc::channel(16);
        let (_spool, _handle, recovery) = Spool::open(dir.path(), tx).unwrap();
        assert!(ids(recovery).is_empty());
        assert!(!segment_path(dir.path(), 1).try_exists().unwrap());
    }

    /// A batch after a rotation is placed in the new segment, from its start.
    #[tokio::test]
    async fn positions_after_a_rotation_are_offsets_in_the_new_segment() {
        let dir = tempfile::tempdir().unwrap();
        let (tx, mut rx) = tokio::sync::mpsc::channel(16);
        let (spool, handle, _) = Spool::open_sized(dir.path(), tx, 1).unwrap();
        let mut got = Vec::new();
        for id in ["a", "b", "c"] {
            handle
                .append(vec![mention(id)], Instant::now())
                .await
                .unwrap();
            got.push(rx.recv().await.unwrap());
        }
        let mut line = Vec::new();
        encode(&mention("b"), &mut line);
        let len = line.len() as u64;
        let pos: Vec<_> = got.iter().map(|i| i.spool.unwrap()).collect();
        let p = |segment, offset| SpoolPos { segment, offset };
        assert_eq!(pos, [p(1, len), p(2, len), p(3, len)]);
        spool.coverage().cover(pos[1]);
        drop(handle);
        spool.finish().unwrap();
        let (tx, _rx) = tokio::sync::mpsc::channel(16);
        let (_spool, _handle, recovery) = Spool::open(dir.path(), tx).unwrap();
        assert_eq!(ids(recovery), ["c"]);
    }

    #[test]
    fn a_torn_last_record_is_skipped_and_the_rest_recovered() {
        let dir = tempfile::tempdir().unwrap();
        let mut bytes = Vec::new();
        encode(&mention("x"), &mut bytes);
        bytes.extend_from_slice(b"{\"id\":\"torn");
        fs::write(segment_path(dir.path(), 1), &bytes).unwrap();
        let (tx, _rx) = tokio::sync::mpsc::channel(16);
        let (_spool, _handle, recovery) = Spool::open(dir.path(), tx).unwrap();
        assert_eq!(ids(recovery), ["x"]);
    }
}
