//! Progress bars for long one-shot work (`replay`, `synth`): percentage, rate and ETA on a
//! terminal, nothing at all when stderr is not one (a pipe, a file, CI).
//!
//! Bars join `telemetry::logging::progress_bars()`, so log lines written meanwhile appear above
//! the bar instead of through it. Where the total is an estimate (compressed archives), the
//! estimate is [`ArchiveProgress`]'s: on-disk bytes, the current file's share estimated from
//! the bytes decompressed so far and the compression ratio seen so far.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

use crate::telemetry::logging::progress_bars;

/// The bar's look: elapsed, bar, percentage, ETA, then what is being counted.
pub fn bar_style() -> ProgressStyle {
    ProgressStyle::with_template(
        "{spinner} {prefix} [{elapsed_precise}] {bar:30} {percent:>3}% ETA {eta} {wide_msg}",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar())
    .progress_chars("=> ")
}

/// The look of work without a known total (stdin): a spinner and what is being counted.
pub fn spinner_style() -> ProgressStyle {
    ProgressStyle::with_template("{spinner} {prefix} [{elapsed_precise}] {wide_msg}")
        .unwrap_or_else(|_| ProgressStyle::default_spinner())
}

/// A bar of `total` units (a spinner without a total) labelled `prefix`, or `None` when
/// stderr is not a terminal or progress is not `wanted`.
pub fn start(wanted: bool, prefix: &str, total: Option<u64>) -> Option<ProgressBar> {
    if !wanted || !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = match total {
        Some(t) => ProgressBar::new(t).with_style(bar_style()),
        None => ProgressBar::new_spinner().with_style(spinner_style()),
    };
    let bar = progress_bars().add(bar.with_prefix(prefix.to_owned()));
    bar.enable_steady_tick(Duration::from_millis(200));
    Some(bar)
}

/// Compression ratio assumed for a compressed archive until one has been read through.
const PRIOR_RATIO: f64 = 8.0;

/// How far through a list of archives a reader is, in on-disk bytes. Exact for plain files;
/// for a compressed one, the bytes decompressed so far over the ratio of the archives already
/// read (or `PRIOR_RATIO`), never past the file's own size until it is done.
#[derive(Debug, Clone)]
pub struct ArchiveProgress {
    sizes: Vec<u64>,
    compressed: Vec<bool>,
    file: usize,
    done_bytes: u64,
    ratio: Option<f64>,
}

impl ArchiveProgress {
    /// Progress over files of these on-disk sizes (compressed or not); `ratio`, when known
    /// (measured on a sample), is the compression ratio assumed until a file is read through.
    pub fn new(files: Vec<(u64, bool)>, ratio: Option<f64>) -> ArchiveProgress {
        let (sizes, compressed) = files.into_iter().unzip();
        ArchiveProgress {
            sizes,
            compressed,
            file: 0,
            done_bytes: 0,
            ratio: ratio.filter(|r| r.is_finite()).map(|r| r.max(1.0)),
        }
    }

    /// Sum of the on-disk sizes: the bar's length.
    pub fn total(&self) -> u64 {
        self.sizes.iter().sum()
    }

    /// Position after `decompressed` bytes of the current file.
    pub fn position(&self, decompressed: u64) -> u64 {
        let Some(&size) = self.sizes.get(self.file) else {
            return self.done_bytes;
        };
        let within = if self.compressed[self.file] {
            decompressed as f64 / self.ratio.unwrap_or(PRIOR_RATIO)
        } else {
            decompressed as f64
        };
        // An estimate stays below the file's end until the file is really done.
        self.done_bytes + (within as u64).min(size.saturating_sub(1))
    }

    /// The current file ended after `decompressed` bytes; the next one starts.
    pub fn file_done(&mut self, decompressed: u64) {
        if let Some(&size) = self.sizes.get(self.file) {
            if self.compressed[self.file] && size > 0 {
                self.ratio = Some((decompressed as f64 / size as f64).max(1.0));
            }
            self.done_bytes += size;
            self.file += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use indicatif::{ProgressDrawTarget, TermLike};

    use super::*;

    #[test]
    fn archive_progress_is_exact_for_plain_files_and_learns_the_ratio() {
        let mut p = ArchiveProgress::new(vec![(1000, false), (100, true), (100, true)], None);
        assert_eq!(p.total(), 1200);
        assert_eq!(p.position(500), 500);
        assert_eq!(
            p.position(5000),
            999,
            "an estimate never reaches the file's end"
        );
        p.file_done(1000);
        assert_eq!(p.position(400), 1050, "prior ratio 8: 400 / 8 = 50");
        p.file_done(1000);
        assert_eq!(p.position(500), 1150, "learned ratio 10: 500 / 10 = 50");
        p.file_done(1000);
        assert_eq!(p.position(0), 1200);
        let sampled = ArchiveProgress::new(vec![(100, true)], Some(20.0));
        assert_eq!(sampled.position(1000), 50, "sampled ratio 20");
    }

    /// A terminal that records what the bar draws.
    #[derive(Debug, Clone, Default)]
    struct Screen(Arc<Mutex<String>>);

    impl TermLike for Screen {
        fn width(&self) -> u16 {
            100
        }
        fn move_cursor_up(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn move_cursor_down(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn move_cursor_right(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn move_cursor_left(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn write_line(&self, s: &str) -> std::io::Result<()> {
            self.write_str(&format!("{s}\n"))
        }
        fn write_str(&self, s: &str) -> std::io::Result<()> {
            self.0.lock().unwrap().push_str(s);
            Ok(())
        }
        fn clear_line(&self) -> std::io::Result<()> {
            Ok(())
        }
        fn flush(&self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn progress_bar_shows_percentage_and_eta() {
        let screen = Screen::default();
        let bar = ProgressBar::with_draw_target(
            Some(200),
            ProgressDrawTarget::term_like(Box::new(screen.clone())),
        )
        .with_style(bar_style())
        .with_prefix("replay");
        bar.set_position(50);
        bar.set_message("12 alerts");
        bar.tick();
        let drawn = screen.0.lock().unwrap().clone();
        assert!(drawn.contains(" 25% ETA "), "{drawn}");
        assert!(
            drawn.contains("replay") && drawn.contains("12 alerts"),
            "{drawn}"
        );
    }
}
