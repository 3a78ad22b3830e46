//! The alert log writer: one JSON line per decision, in decision order (docs/contracts.md §3).
//!
//! The live alert log (`[alert_log] path` of `flashpoint run`) is a record that outlives the
//! process: [`AlertLog::append_to`] opens it for appending, never truncating, so a restart
//! continues the file. A replay's `--alerts OUT` is the output of one deterministic replay and
//! is written afresh ([`AlertLog::create`]).

use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::Path;

use crate::domain::alert::AlertRecord;

/// Writes alert log lines to a file or stdout.
///
/// `flush_each` makes every line visible at once (live runs); replays leave it off and flush
/// at the end, which is what keeps `--speed max` fast.
pub struct AlertLog {
    out: BufWriter<Box<dyn Write + Send>>,
    flush_each: bool,
    lines: u64,
}

impl AlertLog {
    /// Opens `path` for writing (truncating it); `-` is stdout.
    pub fn create(path: &str, flush_each: bool) -> io::Result<AlertLog> {
        let w: Box<dyn Write + Send> = if path == "-" {
            Box::new(io::stdout())
        } else {
            Box::new(File::create(Path::new(path))?)
        };
        Ok(AlertLog::from_writer(w, flush_each))
    }

    /// Opens `path` for appending (creating it); `-` is stdout. Earlier lines are kept. When
    /// the file ends in a line cut short (a crash mid-write), a newline is written first so
    /// the next line starts cleanly and the torn one stays a single bad line.
    pub fn append_to(path: &str, flush_each: bool) -> io::Result<AlertLog> {
        if path == "-" {
            return Ok(AlertLog::from_writer(Box::new(io::stdout()), flush_each));
        }
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(Path::new(path))?;
        if file.metadata()?.len() > 0 {
            let mut last = [0u8; 1];
            file.seek(SeekFrom::End(-1))?;
            file.read_exact(&mut last)?;
            if last[0] != b'\n' {
                file.write_all(b"\n")?;
            }
        }
        Ok(AlertLog::from_writer(Box::new(file), flush_each))
    }

    pub fn from_writer(w: Box<dyn Write + Send>, flush_each: bool) -> AlertLog {
        AlertLog {
            out: BufWriter::new(w),
            flush_each,
            lines: 0,
        }
    }

    pub fn append(&mut self, rec: &AlertRecord) -> io::Result<()> {
        self.out.write_all(rec.to_json_line().as_bytes())?;
        self.out.write_all(b"\n")?;
        self.lines += 1;
        if self.flush_each {
            self.out.flush()?;
        }
        Ok(())
    }

    pub fn lines(&self) -> u64 {
        self.lines
    }

    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alert_log_append_keeps_earlier_lines_and_mends_a_torn_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("alerts.ndjson");
        let p = path.display().to_string();
        std::fs::write(&path, "{\"first\":1}\n{\"torn\":").unwrap();
        let mut log = AlertLog::append_to(&p, true).unwrap();
        log.out.write_all(b"{\"second\":2}\n").unwrap();
        log.flush().unwrap();
        drop(log);
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text, "{\"first\":1}\n{\"torn\":\n{\"second\":2}\n");
        // A clean file gets nothing extra.
        drop(AlertLog::append_to(&p, true).unwrap());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
    }
}
