//! The durable outbox: an fsynced, append-only NDJSON log in one directory.
//!
//! Every notification is appended (and `fsync`ed) **before** it is sent, and a `delivered` or
//! `dead` record is appended after the outcome; on open, the log is replayed to find what is
//! still pending, then compacted (pending + dead letters rewritten to a new file, fsynced,
//! renamed over the old one).
//!
//! ```text
//! {"op":"enqueue","seq":7,"sink":"pd","enqueued_at_ms":1772535160000,"alert":{…alert log line…}}
//! {"op":"delivered","seq":7}
//! {"op":"dead","seq":8,"reason":"rejected","error":"HTTP 400: …"}
//! ```
//!
//! Damage is never fatal. A line that cannot be read (torn by a crash, cut inside a UTF-8
//! character, or garbage) is skipped, counted ([`Snapshot::rejected`]) and, when the log is
//! compacted, copied byte for byte to [`REJECTED_FILE`] for inspection. A record glued to the
//! end of a torn one (a failed write followed by more appends) is still read; and after a
//! failed write the next append starts a new line, so the damage stays on one line.
//!
//! Compaction also runs while the outbox is in use: when an outcome is recorded and the last
//! compaction is at least the compaction interval ago, or after [`COMPACT_AFTER_RECORDS`]
//! appends, so the log stays small without a timer of its own.
//!
//! Why our own log rather than redb or SQLite: the write pattern is tiny and append-only
//! (a few records per page), the file is readable with `cat`/`jq` during an incident, it
//! adds no dependency, and the recovery rule is ten lines.
//!
//! One process owns a directory: [`Outbox::open`] takes an exclusive lock on [`LOCK_FILE`]
//! (an OS file lock, released by the kernel when the process dies, so a crash leaves no stale
//! lock) and writes its pid there; a second opener gets [`OutboxLockedError`] naming the
//! directory and the holder's pid.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::config::state::{self, DirLock};
use crate::domain::alert::AlertRecord;

/// The log file inside the outbox directory.
pub const LOG_FILE: &str = "outbox.ndjson";
/// The lock file inside the outbox directory; it holds the owner's pid.
pub const LOCK_FILE: &str = "outbox.lock";
/// Where unreadable log lines are copied, one per line, when the log is compacted.
pub const REJECTED_FILE: &str = "outbox.rejected";
/// Dead letters kept across compactions (the newest).
pub const MAX_DEAD_KEPT: usize = 10_000;
/// Identities of delivered entries kept across compactions (the newest).
pub const MAX_SENT_KEPT: usize = 100_000;
/// Appends after which the log is compacted whatever the interval.
pub const COMPACT_AFTER_RECORDS: u64 = 10_000;
/// The compaction interval unless [`Outbox::set_compact_interval`] says otherwise.
pub const DEFAULT_COMPACT_INTERVAL: Duration = Duration::from_secs(600);

/// One notification for one sink.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutboxEntry {
    pub seq: u64,
    pub sink: String,
    /// Wall-clock time it was persisted, ms since the Unix epoch (for the maximum age).
    pub enqueued_at_ms: i64,
    pub alert: AlertRecord,
}

/// A notification that will not be delivered, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeadLetter {
    pub entry: OutboxEntry,
    pub reason: String,
    pub error: String,
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "lowercase")]
#[allow(clippy::large_enum_variant)] // short-lived, one per line read or written
enum Record {
    Enqueue(OutboxEntry),
    Delivered {
        seq: u64,
    },
    Dead {
        seq: u64,
        reason: String,
        error: String,
    },
    /// The identity of a delivered entry, kept by compaction so that a rerun (`replay
    /// --deliver` over the same archive) never sends the same line to the same sink twice.
    Sent {
        key: String,
    },
}

/// Identities a log remembers: delivered (kept) and pending.
fn known_identities(snap: &Snapshot) -> std::collections::HashSet<String> {
    snap.sent
        .iter()
        .cloned()
        .chain(snap.pending.iter().map(|e| identity(&e.sink, &e.alert)))
        .collect()
}

/// The identity of a notification: sink, incident, action, severity and the line's own time.
/// Two entries with the same identity are the same page; the second is never sent.
pub fn identity(sink: &str, alert: &AlertRecord) -> String {
    format!("{sink} {}", alert.line_key())
}

/// What a log holds: pending entries in sequence order, and dead letters.
#[derive(Debug, Default, Clone)]
pub struct Snapshot {
    pub pending: Vec<OutboxEntry>,
    pub dead: Vec<DeadLetter>,
    pub delivered: u64,
    /// Lines that could not be read and were skipped.
    pub rejected: u64,
    /// Identities of delivered entries (oldest first, at most [`MAX_SENT_KEPT`]).
    pub sent: Vec<String>,
}

/// The open outbox; appends are serialised by a mutex and never held across `.await`.
#[derive(Debug)]
pub struct Outbox {
    dir: PathBuf,
    path: PathBuf,
    inner: Mutex<Inner>,
    /// The locked [`LOCK_FILE`] while this process owns the directory.
    lock: Mutex<Option<File>>,
}

/// Another process (or another open outbox in this one) holds the directory.
#[derive(Debug, thiserror::Error)]
#[error("the outbox directory {dir} is in use by another flashpoint process (pid {holder}); stop it, or give this one its own [delivery] state_dir")]
pub struct OutboxLockedError {
    /// The outbox directory.
    pub dir: String,
    /// The holder's pid as written in the lock file (`unknown` when unreadable).
    pub holder: String,
}

/// Takes the directory's lock without waiting and records our pid in it.
fn lock_dir(dir: &Path) -> io::Result<File> {
    match state::lock_dir(dir, LOCK_FILE)? {
        DirLock::Held(f) => Ok(f),
        DirLock::Busy { holder } => Err(io::Error::new(
            io::ErrorKind::WouldBlock,
            OutboxLockedError {
                dir: dir.display().to_string(),
                holder,
            },
        )),
    }
}

#[derive(Debug)]
struct Inner {
    file: File,
    next_seq: u64,
    /// A write failed part way: the next append starts on a new line.
    torn: bool,
    compacted_at: tokio::time::Instant,
    appended: u64,
    compact_every: Duration,
    /// Lines rejected by compactions since the last [`Outbox::take_rejected`].
    rejected: u64,
    /// Identities pending or delivered: an entry with one of them is not enqueued again.
    known: std::collections::HashSet<String>,
    /// Fault injection: this many next writes fail as on a full disk.
    #[cfg(test)]
    fail_writes: u32,
    /// Fault injection: this many next reads of pending entries fail.
    #[cfg(test)]
    fail_reads: u32,
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// A log read leniently: its snapshot, the lines it could not read, the largest sequence
/// number it names.
struct Parsed {
    snap: Snapshot,
    rejected: Vec<Vec<u8>>,
    max_seq: u64,
}

/// Where a record can start inside a damaged line: our records always open with this (serde
/// writes the tag first), and inside a JSON string the quotes would be escaped.
const RECORD_START: &[u8] = b"{\"op\":";

/// Sequence numbers from here on are damage: no outbox assigns 2^52 of them, and every number
/// it can assign after the largest sound one stays below 2^53, a double's exact integers, so
/// any JSON reader sees the number that was written.
const MAX_SEQ: u64 = 1 << 52;

impl Record {
    /// The entry's sequence number, for the records that carry one.
    fn seq(&self) -> Option<u64> {
        match self {
            Record::Enqueue(e) => Some(e.seq),
            Record::Delivered { seq } | Record::Dead { seq, .. } => Some(*seq),
            Record::Sent { .. } => None,
        }
    }
}

fn parse_record(bytes: &[u8]) -> Option<Record> {
    let text = std::str::from_utf8(bytes).ok()?;
    serde_json::from_str(text).ok()
}

fn parse(bytes: &[u8]) -> Parsed {
    let mut pending: BTreeMap<u64, OutboxEntry> = BTreeMap::new();
    let mut snap = Snapshot::default();
    let mut rejected = Vec::new();
    let mut max_seq = 0;
    for line in bytes.split(|&b| b == b'\n') {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let record = match parse_record(line) {
            Some(r) => Some(r),
            None => {
                // A torn record with a whole one glued after it: keep the whole one.
                let glued = line
                    .windows(RECORD_START.len())
                    .rposition(|w| w == RECORD_START)
                    .filter(|&at| at > 0)
                    .and_then(|at| parse_record(&line[at..]).map(|r| (at, r)));
                match glued {
                    Some((at, r)) => {
                        rejected.push(line[..at].to_vec());
                        Some(r)
                    }
                    None => {
                        rejected.push(line.to_vec());
                        None
                    }
                }
            }
        };
        // No outbox assigns 2^52 sequence numbers: a larger one is damage (an edited or
        // bit-flipped file). Kept, it would wrap the next number to 0 and strand its entry.
        let record = match record {
            Some(r) if r.seq().is_some_and(|seq| seq >= MAX_SEQ) => {
                rejected.push(line.to_vec());
                None
            }
            r => r,
        };
        match record {
            Some(Record::Enqueue(e)) => {
                max_seq = max_seq.max(e.seq);
                pending.insert(e.seq, e);
            }
            Some(Record::Delivered { seq }) => {
                max_seq = max_seq.max(seq);
                if let Some(e) = pending.remove(&seq) {
                    snap.delivered += 1;
                    snap.sent.push(identity(&e.sink, &e.alert));
                }
            }
            Some(Record::Sent { key }) => snap.sent.push(key),
            Some(Record::Dead { seq, reason, error }) => {
                max_seq = max_seq.max(seq);
                if let Some(entry) = pending.remove(&seq) {
                    snap.dead.push(DeadLetter {
                        entry,
                        reason,
                        error,
                    });
                }
            }
            None => {}
        }
    }
    snap.pending = pending.into_values().collect();
    let drop = snap.sent.len().saturating_sub(MAX_SENT_KEPT);
    snap.sent.drain(..drop);
    snap.rejected = rejected.len() as u64;
    Parsed {
        snap,
        rejected,
        max_seq,
    }
}

fn read_bytes(path: &Path) -> io::Result<Vec<u8>> {
    match fs::read(path) {
        Ok(b) => Ok(b),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(e),
    }
}

/// Reads the log in `dir`, sets its unreadable lines aside and rewrites it with only what is
/// pending and the newest dead letters (fsynced, then renamed over the log). Returns the
/// append handle of the new log, opened before the rename: appends never go to a file that
/// is no longer the log.
fn compact_dir(dir: &Path) -> io::Result<(Parsed, File)> {
    let path = dir.join(LOG_FILE);
    let parsed = parse(&read_bytes(&path)?);
    if !parsed.rejected.is_empty() {
        tracing::warn!(path = %path.display(), lines = parsed.rejected.len(), set_aside = %dir.join(REJECTED_FILE).display(), "skipping unreadable outbox lines");
        let mut f = OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join(REJECTED_FILE))?;
        for line in &parsed.rejected {
            f.write_all(line)?;
            f.write_all(b"\n")?;
        }
        f.sync_all()?;
    }
    let tmp = dir.join(format!("{LOG_FILE}.tmp"));
    {
        let mut buf = Vec::new();
        let snap = &parsed.snap;
        let skip = snap.dead.len().saturating_sub(MAX_DEAD_KEPT);
        for d in snap.dead.iter().skip(skip) {
            write_record(&mut buf, &Record::Enqueue(d.entry.clone()))?;
            write_record(
                &mut buf,
                &Record::Dead {
                    seq: d.entry.seq,
                    reason: d.reason.clone(),
                    error: d.error.clone(),
                },
            )?;
        }
        for key in &snap.sent {
            write_record(&mut buf, &Record::Sent { key: key.clone() })?;
        }
        for e in &snap.pending {
            write_record(&mut buf, &Record::Enqueue(e.clone()))?;
        }
        let mut f = File::create(&tmp)?;
        f.write_all(&buf)?;
        f.sync_all()?;
    }
    let append = OpenOptions::new().append(true).open(&tmp)?;
    fs::rename(&tmp, &path)?;
    // Persist the rename; not every platform can fsync a directory.
    let _ignored = state::sync_dir(dir);
    Ok((parsed, append))
}

impl Outbox {
    /// Opens (creating) the outbox in `dir`, compacts it, and returns what is still pending.
    /// Fails with an [`OutboxLockedError`] (kind `WouldBlock`) while another process holds
    /// the directory.
    pub fn open(dir: &Path) -> io::Result<(Outbox, Snapshot)> {
        // Every failure names the directory (a read-only or full state dir must say which).
        let at = |e: io::Error| match e.kind() {
            // Already names the directory and the holder.
            io::ErrorKind::WouldBlock => e,
            kind => io::Error::new(
                kind,
                format!("cannot open the outbox in {}: {e}", dir.display()),
            ),
        };
        fs::create_dir_all(dir).map_err(at)?;
        let lock = lock_dir(dir).map_err(at)?;
        let path = dir.join(LOG_FILE);
        let (parsed, file) = compact_dir(dir).map_err(at)?;
        Ok((
            Outbox {
                dir: dir.to_path_buf(),
                path,
                inner: Mutex::new(Inner {
                    file,
                    next_seq: parsed.max_seq + 1,
                    torn: false,
                    compacted_at: tokio::time::Instant::now(),
                    appended: 0,
                    compact_every: DEFAULT_COMPACT_INTERVAL,
                    rejected: 0,
                    known: known_identities(&parsed.snap),
                    #[cfg(test)]
                    fail_writes: 0,
                    #[cfg(test)]
                    fail_reads: 0,
                }),
                lock: Mutex::new(Some(lock)),
            },
            parsed.snap,
        ))
    }

    /// Reads the log in `dir` without changing it (`flashpoint outbox list`); unreadable
    /// lines are skipped and counted.
    pub fn read(dir: &Path) -> io::Result<Snapshot> {
        let path = dir.join(LOG_FILE);
        let parsed = parse(&read_bytes(&path)?);
        if parsed.snap.rejected > 0 {
            tracing::warn!(path = %path.display(), lines = parsed.snap.rejected, "skipping unreadable outbox lines");
        }
        Ok(parsed.snap)
    }

    /// How often the log is compacted while in use (checked when an outcome is recorded).
    pub fn set_compact_interval(&self, every: Duration) {
        if let Ok(mut inner) = self.inner.lock() {
            inner.compact_every = every;
        }
    }

    /// Compacts the log now (what [`Outbox::open`] does), holding appends back meanwhile.
    /// Returns the number of unreadable lines set aside.
    pub fn compact(&self) -> io::Result<u64> {
        let mut inner = self.lock()?;
        self.compact_locked(&mut inner)
    }

    fn compact_locked(&self, inner: &mut Inner) -> io::Result<u64> {
        let (parsed, file) = compact_dir(&self.dir)?;
        // What the log now remembers, so the set stays bounded however long the process runs.
        inner.known = known_identities(&parsed.snap);
        inner.file = file;
        inner.torn = false;
        inner.appended = 0;
        inner.compacted_at = tokio::time::Instant::now();
        inner.rejected += parsed.snap.rejected;
        Ok(parsed.snap.rejected)
    }

    /// Unreadable lines set aside by compactions while in use, since the last call.
    pub fn take_rejected(&self) -> u64 {
        self.inner
            .lock()
            .map(|mut i| std::mem::take(&mut i.rejected))
            .unwrap_or(0)
    }

    /// The entries still pending for `sink`, read from the log (what a restarted worker
    /// queues), and the largest sequence number handed out so far: everything for `sink` up
    /// to it that is still pending is in the list.
    pub fn pending_for(&self, sink: &str) -> io::Result<(Vec<OutboxEntry>, u64)> {
        #[allow(unused_mut)]
        let mut inner = self.lock()?;
        #[cfg(test)]
        if inner.fail_reads > 0 {
            inner.fail_reads -= 1;
            return Err(io::Error::other("injected read failure"));
        }
        let parsed = parse(&read_bytes(&self.path)?);
        let upto = inner.next_seq.saturating_sub(1);
        // A record of a failed write can be in the file under a sequence number that is given
        // back and used again (see `enqueue`): it is not an entry until that number is taken.
        let pending = parsed
            .snap
            .pending
            .into_iter()
            .filter(|e| e.sink == sink && e.seq <= upto)
            .collect();
        Ok((pending, upto))
    }

    fn lock(&self) -> io::Result<std::sync::MutexGuard<'_, Inner>> {
        self.inner
            .lock()
            .map_err(|_| io::Error::other("outbox lock poisoned"))
    }

    /// Persists one alert for each sink (one fsync) and returns the entries, in `sinks` order.
    /// A sink's alert that is already pending or was delivered (same [`identity`]) is left
    /// out: a rerun of the same replay sends nothing twice.
    ///
    /// A failed write leaves nothing behind: the identities and sequence numbers it took are
    /// given back, so the same call can be retried (a record the failed write did get into
    /// the file is written again under the same sequence number, which reads as one entry).
    pub fn enqueue(&self, sinks: &[(&str, AlertRecord)]) -> io::Result<Vec<OutboxEntry>> {
        let mut inner = self.lock()?;
        let at = now_ms();
        let first_seq = inner.next_seq;
        let mut out = Vec::with_capacity(sinks.len());
        let mut buf = Vec::new();
        let mut taken = Vec::new();
        for (sink, alert) in sinks {
            let key = identity(sink, alert);
            if !inner.known.insert(key.clone()) {
                continue;
            }
            taken.push(key);
            let e = OutboxEntry {
                seq: inner.next_seq,
                sink: sink.to_string(),
                enqueued_at_ms: at,
                alert: alert.clone(),
            };
            inner.next_seq += 1;
            out.push(e);
        }
        let written = out
            .iter()
            .try_for_each(|e| write_record(&mut buf, &Record::Enqueue(e.clone())))
            .and_then(|()| Self::write_locked(&mut inner, &buf));
        if let Err(e) = written {
            for key in &taken {
                inner.known.remove(key);
            }
            inner.next_seq = first_seq;
            return Err(e);
        }
        Ok(out)
    }

    /// Records a 2xx for `seq`.
    pub fn mark_delivered(&self, seq: u64) -> io::Result<()> {
        self.append(&Record::Delivered { seq })
    }

    /// Moves `seq` to the dead-letter list.
    pub fn mark_dead(&self, seq: u64, reason: &str, error: &str) -> io::Result<()> {
        self.append(&Record::Dead {
            seq,
            reason: reason.to_string(),
            error: error.to_string(),
        })
    }

    /// Appends an outcome, then compacts when it is time to.
    fn append(&self, r: &Record) -> io::Result<()> {
        let mut buf = Vec::new();
        write_record(&mut buf, r)?;
        let mut inner = self.lock()?;
        Self::write_locked(&mut inner, &buf)?;
        let due = inner.compacted_at.elapsed() >= inner.compact_every
            || inner.appended >= COMPACT_AFTER_RECORDS;
        if due {
            if let Err(e) = self.compact_locked(&mut inner) {
                // The outcome is recorded; compaction is retried with the next one.
                tracing::warn!(path = %self.path.display(), error = %e, "cannot compact the outbox");
                inner.compacted_at = tokio::time::Instant::now();
            }
        }
        Ok(())
    }

    /// Appends `buf` and syncs it. After a failed write the next one starts a new line, so a
    /// torn record never swallows the record written after it.
    fn write_locked(inner: &mut Inner, buf: &[u8]) -> io::Result<()> {
        #[cfg(test)]
        if inner.fail_writes > 0 {
            inner.fail_writes -= 1;
            inner.torn = true;
            return Err(io::Error::new(
                io::ErrorKind::StorageFull,
                "no space left on device (injected)",
            ));
        }
        if inner.torn {
            inner.file.write_all(b"\n")?;
            inner.torn = false;
        }
        if let Err(e) = inner.file.write_all(buf) {
            inner.torn = true;
            return Err(e);
        }
        inner.appended = inner.appended.saturating_add(1);
        inner.file.sync_data()
    }

    /// Fault injection for tests: the next `n` reads of pending entries fail.
    #[cfg(test)]
    pub(crate) fn fail_reads_for_test(&self, n: u32) {
        if let Ok(mut inner) = self.inner.lock() {
            inner.fail_reads = n;
        }
    }

    /// Fault injection for tests: the next `n` writes fail as on a full disk.
    #[cfg(test)]
    pub(crate) fn fail_writes_for_test(&self, n: u32) {
        if let Ok(mut inner) = self.inner.lock() {
            inner.fail_writes = n;
        }
    }

    /// The log file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The outbox directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Gives the directory up (the owner stopped): another process or a restarted delivery
    /// may open it, even while tasks of this one are still being torn down.
    pub fn release(&self) {
        if let Ok(mut l) = self.lock.lock() {
            // Closing the file drops the OS lock.
            l.take();
        }
    }
}

fn write_record(w: &mut impl Write, r: &Record) -> io::Result<()> {
    serde_json::to_writer(&mut *w, r).map_err(io::Error::other)?;
    w.write_all(b"\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alert(incident: &str) -> AlertRecord {
        AlertRecord::sample(incident)
    }

    #[test]
    fn outbox_reopen_keeps_pending_and_dead_only() {
        let dir = tempfile::tempdir().unwrap();
        {
            let (ob, snap) = Outbox::open(dir.path()).unwrap();
            assert!(snap.pending.is_empty());
            let es = ob
                .enqueue(&[
                    ("pd", alert("a")),
                    ("pd", alert("b")),
                    ("slack", alert("c")),
                ])
                .unwrap();
            assert_eq!(es.iter().map(|e| e.seq).collect::<Vec<_>>(), [1, 2, 3]);
            ob.mark_delivered(1).unwrap();
            ob.mark_dead(2, "rejected", "HTTP 400").unwrap();
        }
        // A torn last line (crash mid-write) is ignored.
        let mut f = OpenOptions::new()
            .append(true)
            .open(dir.path().join(LOG_FILE))
            .unwrap();
        f.write_all(b"{\"op\":\"deliv").unwrap();
        drop(f);
        let (ob, snap) = Outbox::open(dir.path()).unwrap();
        assert_eq!(snap.pending.len(), 1);
        assert_eq!(snap.pending[0].alert.incident, "c");
        assert_eq!(snap.dead.len(), 1);
        assert_eq!(snap.dead[0].reason, "rejected");
        // Sequence numbers keep growing after a restart.
        let e = ob.enqueue(&[("pd", alert("d"))]).unwrap();
        assert_eq!(e[0].seq, 4);
        let again = Outbox::read(dir.path()).unwrap();
        assert_eq!(again.pending.len(), 2);
        assert_eq!(again.dead.len(), 1);
    }
    #[test]
    fn outbox_never_enqueues_a_pending_or_delivered_identity_twice() {
        let dir = tempfile::tempdir().unwrap();
        {
            let (ob, _) = Outbox::open(dir.path()).unwrap();
            let es = ob
                .enqueue(&[
                    ("pd", alert("a")),
                    ("slack", alert("a")),
                    ("pd", alert("b")),
                ])
                .unwrap();
            assert_eq!(es.len(), 3);
            ob.mark_delivered(es[0].seq).unwrap();
            // The same lines again in the same process: nothing new.
            assert!(ob
                .enqueue(&[("pd", alert("a")), ("pd", alert("b"))])
                .unwrap()
                .is_empty());
            ob.compact().unwrap();
        }
        // A rerun after a restart (and a compaction): delivered and pending both remembered;
        // a new incident, or the same one for another sink, still goes.
        let (ob, snap) = Outbox::open(dir.path()).unwrap();
        assert_eq!(snap.sent.len(), 1);
        assert_eq!(snap.pending.len(), 2);
        let es = ob
            .enqueue(&[
                ("pd", alert("a")),
                ("slack", alert("a")),
                ("pd", alert("b")),
                ("webhook", alert("a")),
                ("pd", alert("c")),
            ])
            .unwrap();
        let got: Vec<(&str, &str)> = es
            .iter()
            .map(|e| (e.sink.as_str(), e.alert.incident.as_str()))
            .collect();
        assert_eq!(got, [("webhook", "a"), ("pd", "c")]);
    }

    /// The log bytes of `records`, one JSON line each.
    fn log_of(records: &[Record]) -> Vec<u8> {
        let mut buf = Vec::new();
        for r in records {
            write_record(&mut buf, r).unwrap();
        }
        buf
    }

    fn enqueue_record(seq: u64, incident: &str, text: &str) -> Record {
        let mut a = alert(incident);
        a.summary = text.to_string();
        Record::Enqueue(OutboxEntry {
            seq,
            sink: "pd".into(),
            enqueued_at_ms: now_ms(),
            alert: a,
        })
    }

    #[test]
    fn outbox_a_second_owner_is_refused_naming_dir_and_pid() {
        let dir = tempfile::tempdir().unwrap();
        let (first, _) = Outbox::open(dir.path()).unwrap();
        let err = Outbox::open(dir.path()).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::WouldBlock);
        let msg = err.to_string();
        assert!(msg.contains(&dir.path().display().to_string()), "{msg}");
        assert!(
            msg.contains(&format!("pid {}", std::process::id())),
            "{msg}"
        );
        // Reading (`outbox list`) needs no lock; releasing lets the next owner in.
        assert!(Outbox::read(dir.path()).is_ok());
        first.release();
        assert!(Outbox::open(dir.path()).is_ok());
    }

    /// A record whose sequence number no outbox reaches (an edited or damaged file) is set
    /// aside as damaged: kept, `u64::MAX + 1` wrapped the next number to 0, the record was
    /// never sent and the next entry waited behind it for a whole run.
    #[test]
    fn outbox_a_record_with_an_absurd_sequence_number_is_damage() {
        let dir = tempfile::tempdir().unwrap();
        let bytes = log_of(&[
            enqueue_record(1, "a", "x"),
            enqueue_record(u64::MAX, "b", "y"),
            Record::Delivered { seq: u64::MAX - 1 },
        ]);
        std::fs::write(dir.path().join(LOG_FILE), &bytes).unwrap();
        let (ob, snap) = Outbox::open(dir.path()).unwrap();
        assert_eq!(snap.rejected, 2);
        assert_eq!(snap.pending.len(), 1);
        assert_eq!(snap.pending[0].alert.incident, "a");
        let e = ob.enqueue(&[("pd", alert("c"))]).unwrap();
        assert_eq!(e[0].seq, 2, "numbering goes on after the last real record");
        assert_eq!(ob.pending_for("pd").unwrap().0.len(), 2);
    }

    #[test]
    fn outbox_torn_last_line_inside_a_utf8_character_is_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let mut bytes = log_of(&[
            enqueue_record(1, "a", "café"),
            Record::Delivered { seq: 1 },
            enqueue_record(2, "b", "naïve"),
        ]);
        // A crash mid-write of the next record, between the two bytes of "é".
        let next = log_of(&[enqueue_record(3, "c", "résumé")]);
        let cut = next.iter().position(|&b| b == 0xC3).unwrap() + 1;
        bytes.extend_from_slice(&next[..cut]);
        std::fs::write(dir.path().join(LOG_FILE), &bytes).unwrap();
        let (_ob, snap) = Outbox::open(dir.path()).unwrap();
        assert_eq!(snap.pending.len(), 1);
        assert_eq!(snap.pending[0].alert.incident, "b");
        assert_eq!(snap.pending[0].alert.summary, "naïve");
        // Copied aside for inspection, byte for byte.
        let rejected = std::fs::read(dir.path().join("outbox.rejected")).unwrap();
        assert!(rejected.windows(cut).any(|w| w == &next[..cut]));
    }

    #[test]
    fn outbox_partial_write_followed_by_appends_keeps_the_records_after_it() {
        let dir = tempfile::tempdir().unwrap();
        let mut bytes = log_of(&[enqueue_record(1, "a", "x")]);
        // A write that failed half way, then more appends glued to it.
        bytes.extend_from_slice(b"{\"op\":\"deliv");
        bytes.extend_from_slice(&log_of(&[
            enqueue_record(2, "b", "y"),
            enqueue_record(3, "c", "z"),
        ]));
        bytes.extend_from_slice(b"garbage that is not json\n");
        bytes.extend_from_slice(&log_of(&[Record::Delivered { seq: 3 }]));
        std::fs::write(dir.path().join(LOG_FILE), &bytes).unwrap();
        let (ob, snap) = Outbox::open(dir.path()).unwrap();
        let incidents: Vec<&str> = snap
            .pending
            .iter()
            .map(|e| e.alert.incident.as_str())
            .collect();
        assert_eq!(
            incidents,
            ["a", "b"],
            "the record glued to the torn one is kept"
        );
        assert_eq!(snap.delivered, 1);
        let rejected = std::fs::read_to_string(dir.path().join("outbox.rejected")).unwrap();
        assert!(rejected.contains("{\"op\":\"deliv"), "{rejected}");
        assert!(rejected.contains("garbage that is not json"), "{rejected}");
        // Compacted: the log reads clean now, and new appends continue the sequence.
        assert_eq!(ob.enqueue(&[("pd", alert("d"))]).unwrap()[0].seq, 4);
        let again = Outbox::read(dir.path()).unwrap();
        assert_eq!(again.pending.len(), 3);
    }
}
