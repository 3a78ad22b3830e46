//! Crash consistency between the learned state and the alert log: what `run` already wrote.
//!
//! After a crash, `run` restarts from its last checkpoint (or the previous one, or fresh), so
//! the detector may decide again what it decided after that checkpoint: the same incident
//! (same id, as ids are derived from the brand, the day and the incident's number that day)
//! triggered or escalated a second time. [`LoggedAlerts`] reads the alert log at start and
//! remembers every `(incident, action, severity)` already written; a decided line whose triple
//! is in the log is not emitted again (logged, counted in
//! `flashpoint_alerts_suppressed_total`). Escalations to a new severity and resolutions not yet
//! logged go out as usual, so an incident is continued, never triggered twice.
//!
//! Not reconciled: an incident open in the log but unknown to the restored state is neither
//! resolved nor carried on by `run` (the detector's state has no incident ids to compare);
//! receivers that auto-resolve (PagerDuty, Alertmanager) close it after their own timeout.

use std::collections::HashSet;
use std::io::{self, BufRead};
use std::path::Path;

use crate::domain::alert::{Action, AlertRecord};
use crate::domain::Severity;

/// The `(incident, action, severity)` of every line already in an alert log.
#[derive(Debug, Default)]
pub struct LoggedAlerts {
    seen: HashSet<(String, Action, Severity)>,
    /// Lines of the log that could not be read as alerts (torn by a crash, foreign).
    pub unreadable: u64,
}

impl LoggedAlerts {
    /// Reads the alert log at `path`; a missing file (or `-`, stdout) is an empty log.
    pub fn read(path: &str) -> io::Result<LoggedAlerts> {
        let mut out = LoggedAlerts::default();
        if path == "-" {
            return Ok(out);
        }
        let file = match std::fs::File::open(Path::new(path)) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(out),
            Err(e) => return Err(e),
        };
        for line in io::BufReader::new(file).split(b'\n') {
            let line = line?;
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            match serde_json::from_slice::<AlertRecord>(&line) {
                Ok(r) => {
                    out.seen.insert((r.incident, r.action, r.severity));
                }
                Err(_) => out.unreadable += 1,
            }
        }
        Ok(out)
    }

    /// Lines remembered.
    pub fn len(&self) -> usize {
        self.seen.len()
    }

    /// True when the log held no alert.
    pub fn is_empty(&self) -> bool {
        self.seen.is_empty()
    }

    /// Whether `rec` was already written before this start (and must not go out again).
    pub fn already_logged(&self, rec: &AlertRecord) -> bool {
        !self.seen.is_empty()
            && self
                .seen
                .contains(&(rec.incident.clone(), rec.action, rec.severity))
    }
}
