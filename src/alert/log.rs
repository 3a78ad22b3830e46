//! The alert log writer: one JSON line per decision, in decision order (docs/contracts.md §3).

use std::fs::File;
use std::io::{self, BufWriter, Write};
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
