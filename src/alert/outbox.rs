//! The durable outbox: an fsynced, append-only NDJSON log in one directory.
//!
//! Every notification is appended (and `fsync`ed) **before** it is sent, and a `delivered` or
//! `dead` record is appended after the outcome; on open, the log is replayed to find what is
//! still pending, then compacted (pending + dead letters rewritten to a new file, fsynced,
//! renamed over the old one). A torn last line from a crash is ignored.
//!
//! ```text
//! {"op":"enqueue","seq":7,"sink":"pd","enqueued_at_ms":1772535160000,"alert":{…alert log line…}}
//! {"op":"delivered","seq":7}
//! {"op":"dead","seq":8,"reason":"rejected","error":"HTTP 400: …"}
//! ```
//!
//! Why our own log rather than redb or SQLite: the write pattern is tiny and append-only
//! (a few records per page), the file is readable with `cat`/`jq` during an incident, it
//! adds no dependency, and the recovery rule is ten lines. One process owns a directory.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use crate::domain::alert::AlertRecord;

/// The log file inside the outbox directory.
pub const LOG_FILE: &str = "outbox.ndjson";
/// Dead letters kept across compactions (the newest).
pub const MAX_DEAD_KEPT: usize = 10_000;

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
}

/// What a log holds: pending entries in sequence order, and dead letters.
#[derive(Debug, Default, Clone)]
pub struct Snapshot {
    pub pending: Vec<OutboxEntry>,
    pub dead: Vec<DeadLetter>,
    pub delivered: u64,
}

/// The open outbox; appends are serialised by a mutex and never held across `.await`.
#[derive(Debug)]
pub struct Outbox {
    path: PathBuf,
    inner: Mutex<Inner>,
}

#[derive(Debug)]
struct Inner {
    file: File,
    next_seq: u64,
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

impl Outbox {
    /// Opens (creating) the outbox in `dir`, compacts it, and returns what is still pending.
    pub fn open(dir: &Path) -> io::Result<(Outbox, Snapshot)> {
        fs::create_dir_all(dir)?;
        let path = dir.join(LOG_FILE);
        let snap = Outbox::read(dir)?;
        let next_seq = snap
            .pending
            .iter()
            .map(|e| e.seq)
            .chain(snap.dead.iter().map(|d| d.entry.seq))
            .max()
            .unwrap_or(0)
            + 1;
        // Compact: pending entries and the newest dead letters, nothing delivered.
        let tmp = dir.join(format!("{LOG_FILE}.tmp"));
        {
            let mut f = File::create(&tmp)?;
            let skip = snap.dead.len().saturating_sub(MAX_DEAD_KEPT);
            for d in snap.dead.iter().skip(skip) {
                write_record(&mut f, &Record::Enqueue(d.entry.clone()))?;
                write_record(
                    &mut f,
                    &Record::Dead {
                        seq: d.entry.seq,
                        reason: d.reason.clone(),
                        error: d.error.clone(),
                    },
                )?;
            }
            for e in &snap.pending {
                write_record(&mut f, &Record::Enqueue(e.clone()))?;
            }
            f.sync_all()?;
        }
        fs::rename(&tmp, &path)?;
        if let Ok(d) = File::open(dir) {
            // Persist the rename; not every platform can fsync a directory.
            let _ignored = d.sync_all();
        }
        let file = OpenOptions::new().append(true).open(&path)?;
        Ok((
            Outbox {
                path,
                inner: Mutex::new(Inner { file, next_seq }),
            },
            snap,
        ))
    }

    /// Reads the log in `dir` without changing it (`flashpoint outbox list`).
    pub fn read(dir: &Path) -> io::Result<Snapshot> {
        let path = dir.join(LOG_FILE);
        let file = match File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Snapshot::default()),
            Err(e) => return Err(e),
        };
        let mut pending: BTreeMap<u64, OutboxEntry> = BTreeMap::new();
        let mut dead = Vec::new();
        let mut delivered = 0;
        let lines: Vec<String> = BufReader::new(file).lines().collect::<io::Result<_>>()?;
        let last = lines.len().saturating_sub(1);
        for (i, line) in lines.iter().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            match serde_json::from_str::<Record>(line) {
                Ok(Record::Enqueue(e)) => {
                    pending.insert(e.seq, e);
                }
                Ok(Record::Delivered { seq }) => {
                    if pending.remove(&seq).is_some() {
                        delivered += 1;
                    }
                }
                Ok(Record::Dead { seq, reason, error }) => {
                    if let Some(entry) = pending.remove(&seq) {
                        dead.push(DeadLetter {
                            entry,
                            reason,
                            error,
                        });
                    }
                }
                Err(e) if i == last => {
                    tracing::warn!(path = %path.display(), error = %e, "ignoring a torn last outbox line");
                }
                Err(e) => {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!("{}: line {}: {e}", path.display(), i + 1),
                    ))
                }
            }
        }
        Ok(Snapshot {
            pending: pending.into_values().collect(),
            dead,
            delivered,
        })
    }

    /// Persists one alert for each sink (one fsync) and returns the entries, in `sinks` order.
    pub fn enqueue(&self, sinks: &[(&str, AlertRecord)]) -> io::Result<Vec<OutboxEntry>> {
        let mut inner = self
            .inner
            .lock()
            .map_err(|_| io::Error::other("outbox lock poisoned"))?;
        let at = now_ms();
        let mut out = Vec::with_capacity(sinks.len());
        let mut buf = Vec::new();
        for (sink, alert) in sinks {
            let e = OutboxEntry {
                seq: inner.next_seq,
                sink: sink.to_string(),
                enqueued_at_ms: at,
                alert: alert.clone(),
            };
            inner.next_seq += 1;
            write_record(&mut buf, &Record::Enqueue(e.clone()))?;
            out.push(e);
        }
        inner.file.write_all(&buf)?;
        inner.file.sync_data()?;
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

    fn append(&self, r: &Record) -> io::Result<()> {
        let mut buf = Vec::new();
        write_record(&mut buf, r)?;
        let mut inner = self
            .inner
            .lock()
            .map_err(|_| io::Error::other("outbox lock poisoned"))?;
        inner.file.write_all(&buf)?;
        inner.file.sync_data()
    }

    pub fn path(&self) -> &Path {
        &self.path
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
}
