//! Logging: the `tracing` subscriber of the binary, set up once by `main` from
//! `--log-format` and `FLASHPOINT_LOG`, and the stderr writer that keeps log lines above the
//! progress bars instead of through them.
//!
//! Inputs: the format and the filter text (the environment is read by `main` and passed in).
//! Output: log lines on stderr, plain text or one JSON object per line. Invariant: an invalid
//! filter is an error, never silently replaced by a default.

use std::io::{IsTerminal, Write};
use std::sync::OnceLock;

use indicatif::{MultiProgress, ProgressDrawTarget};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::EnvFilter;

/// The environment variable holding the log filter (an `EnvFilter` directive list).
pub const LOG_ENV: &str = "FLASHPOINT_LOG";

/// The level logged when [`LOG_ENV`] is unset or empty.
pub const DEFAULT_FILTER: &str = "warn";

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines (coloured on a terminal).
    #[default]
    Text,
    /// One JSON object per line (`timestamp`, `level`, `fields`, `target`), for log shippers.
    Json,
}

/// A filter that `tracing_subscriber` cannot parse.
#[derive(Debug, thiserror::Error)]
#[error(
    "invalid {LOG_ENV} filter {filter:?}: {reason} (e.g. \"info\" or \"warn,flashpoint=debug\")"
)]
pub struct LogFilterError {
    /// The filter as given.
    pub filter: String,
    /// What the parser said.
    pub reason: String,
}

/// Parses a filter; `None` or blank means [`DEFAULT_FILTER`].
pub fn parse_filter(filter: Option<&str>) -> Result<EnvFilter, LogFilterError> {
    let text = filter.map(str::trim).filter(|f| !f.is_empty());
    EnvFilter::builder()
        .parse(text.unwrap_or(DEFAULT_FILTER))
        .map_err(|e| LogFilterError {
            filter: text.unwrap_or_default().to_owned(),
            reason: e.to_string(),
        })
}

/// Installs the global subscriber writing to stderr in `format`, filtered by `filter`.
pub fn init(format: LogFormat, filter: Option<&str>) -> Result<(), LogFilterError> {
    let filter = parse_filter(filter)?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(ProgressAwareStderr);
    // A second init (tests, embedding) keeps the first subscriber: not an error.
    let _already = match format {
        LogFormat::Text => builder
            .with_ansi(std::io::stderr().is_terminal())
            .try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
    Ok(())
}

/// The process's progress bars: every bar is added here so that [`ProgressAwareStderr`] can
/// clear them, write a log line, and redraw them below it. Draws to stderr, or nowhere when
/// stderr is not a terminal.
pub fn progress_bars() -> &'static MultiProgress {
    static BARS: OnceLock<MultiProgress> = OnceLock::new();
    BARS.get_or_init(|| {
        if std::io::stderr().is_terminal() {
            MultiProgress::with_draw_target(ProgressDrawTarget::stderr())
        } else {
            MultiProgress::with_draw_target(ProgressDrawTarget::hidden())
        }
    })
}

/// Writes log lines to stderr with the progress bars suspended around each line.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProgressAwareStderr;

impl Write for ProgressAwareStderr {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        progress_bars().suspend(|| std::io::stderr().lock().write_all(buf))?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

impl<'a> MakeWriter<'a> for ProgressAwareStderr {
    type Writer = ProgressAwareStderr;

    fn make_writer(&'a self) -> Self::Writer {
        ProgressAwareStderr
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_filter_invalid_is_an_error_naming_it() {
        let e = parse_filter(Some("flashpoint=loud")).unwrap_err();
        assert!(e.to_string().contains("flashpoint=loud"), "{e}");
        assert!(parse_filter(Some("info,flashpoint=debug")).is_ok());
        assert!(parse_filter(None).is_ok());
        assert!(parse_filter(Some("  ")).is_ok());
    }
}
