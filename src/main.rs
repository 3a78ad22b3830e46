//! The `flashpoint` binary: parse the command line, set up logging, run it, exit with its code.

use std::process::ExitCode;

use clap::Parser;
use flashpoint::telemetry::logging;

/// With feature `mimalloc`: a replay frees on one thread what another allocated (a mention
/// decoded by the reader, its text features computed by a preparing thread, both dropped by the
/// engine), and with mimalloc it measured about a fifth faster than with glibc's malloc; the
/// live path's latency tail measured longer, so the feature is off by default
/// (benches/README.md, "The allocator").
#[cfg(feature = "mimalloc")]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = match flashpoint::cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _printed = e.print();
            return ExitCode::from(code);
        }
    };
    let filter = std::env::var(logging::LOG_ENV).ok();
    if let Err(e) = logging::init(cli.log_format, filter.as_deref()) {
        eprintln!("error: {e}");
        return ExitCode::from(2);
    }
    ExitCode::from(flashpoint::cli::run(cli))
}
