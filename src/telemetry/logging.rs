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
            .fmt_fields(text_fields())
            .try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
    Ok(())
}

/// How a text log line writes its fields: as `tracing_subscriber`'s default does (the message
/// bare, then `name=value`, strings quoted), except that every control character, line
/// separator and bidi control in a value is escaped (`\n`, `\u{1b}`). Values carry text from
/// outside (a receiver's error body, a post, a server's close reason): unescaped, one could
/// end the line and forge a log line of its own, or colour and move the terminal. The JSON
/// format escapes them already.
pub fn text_fields() -> impl for<'w> tracing_subscriber::fmt::FormatFields<'w> + 'static {
    EscapedFields
}

/// [`text_fields`]' formatter.
struct EscapedFields;

impl<'w> tracing_subscriber::fmt::FormatFields<'w> for EscapedFields {
    fn format_fields<R: tracing_subscriber::field::RecordFields>(
        &self,
        mut writer: tracing_subscriber::fmt::format::Writer<'w>,
        fields: R,
    ) -> std::fmt::Result {
        let mut v = EscapingVisitor {
            writer: &mut writer,
            first: true,
            result: Ok(()),
        };
        fields.record(&mut v);
        v.result
    }
}

/// Writes each field as the default format does, escaped, a space between two written fields.
struct EscapingVisitor<'a, 'w> {
    writer: &'a mut tracing_subscriber::fmt::format::Writer<'w>,
    first: bool,
    result: std::fmt::Result,
}

impl EscapingVisitor<'_, '_> {
    fn write(&mut self, field: &tracing::field::Field, raw: &str) {
        let name = field.name();
        // Fields a `log` record carries in through `tracing-log`: the default format drops them.
        if self.result.is_err() || name.starts_with("log.") {
            return;
        }
        let sep = if self.first { "" } else { " " };
        self.first = false;
        let text = escape_controls(raw);
        self.result = if name == "message" {
            write!(self.writer, "{sep}{text}")
        } else {
            write!(self.writer, "{sep}{name}={text}")
        };
    }
}

impl tracing::field::Visit for EscapingVisitor<'_, '_> {
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        if field.name() == "message" {
            self.write(field, value);
        } else {
            self.write(field, &format!("{value:?}"));
        }
    }

    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        self.write(field, &format!("{value:?}"));
    }
}

/// `s` with control characters, line and paragraph separators and bidi controls written as
/// Rust escapes (`\n`, `\u{1b}`, `\u{2028}`); everything else as it is.
fn escape_controls(s: &str) -> std::borrow::Cow<'_, str> {
    let unsafe_char = |c: char| {
        c.is_control()
            || matches!(c, '\u{2028}' | '\u{2029}')
            || crate::domain::alert::is_unsafe_char(c)
    };
    if !s.chars().any(unsafe_char) {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if unsafe_char(c) {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
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

    /// A writer into a shared buffer, for reading back what a subscriber wrote.
    #[derive(Clone, Default)]
    struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Captured {
        type Writer = Captured;
        fn make_writer(&'a self) -> Self::Writer {
            self.clone()
        }
    }

    /// What the text format with [`text_fields`] writes for the events `log` emits.
    fn text_log(log: impl FnOnce()) -> String {
        let out = Captured::default();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(out.clone())
            .with_ansi(false)
            .fmt_fields(text_fields())
            .finish();
        tracing::subscriber::with_default(subscriber, log);
        let bytes = out.0.lock().unwrap().clone();
        String::from_utf8(bytes).unwrap()
    }

    #[test]
    fn a_text_log_line_escapes_what_its_values_carry() {
        // A receiver's error body, as a sink's retry warning logs it (Display), and a post's
        // text (a string field).
        let body = "oops\n2026-12-07T00:00:00Z ERROR flashpoint::forged: FORGED \u{1b}[31mred\u{1b}[0m\r\u{2028}\u{202e}x";
        let text = text_log(|| {
            tracing::warn!(sink = "pd", error = %body, post = body, "delivery failed, will retry");
        });
        assert_eq!(text.lines().count(), 1, "one event, one line: {text:?}");
        assert!(
            !text.contains(['\u{1b}', '\r', '\u{2028}', '\u{202e}']),
            "{text:?}"
        );
        assert!(
            text.contains(
                r"error=oops\n2026-12-07T00:00:00Z ERROR flashpoint::forged: FORGED \u{1b}[31mred"
            ),
            "the value is kept, escaped: {text:?}"
        );
        assert!(
            text.contains("delivery failed, will retry sink=\"pd\""),
            "{text:?}"
        );
        // Fields of a `log` record are dropped without leaving their separators behind.
        let text = text_log(|| {
            tracing::info!(
                log.target = "reqwest::connect",
                log.line = 12u32,
                "starting new connection"
            );
        });
        assert!(text.ends_with("starting new connection\n"), "{text:?}");
        // An ordinary line is written as the default format writes it.
        assert_eq!(escape_controls("plain text, «ok» ✓"), "plain text, «ok» ✓");
    }

    #[test]
    fn log_filter_invalid_is_an_error_naming_it() {
        let e = parse_filter(Some("flashpoint=loud")).unwrap_err();
        assert!(e.to_string().contains("flashpoint=loud"), "{e}");
        assert!(parse_filter(Some("info,flashpoint=debug")).is_ok());
        assert!(parse_filter(None).is_ok());
        assert!(parse_filter(Some("  ")).is_ok());
    }
}
