//! Issue 19.3: long one-shot commands show a progress bar (percentage, ETA) on a terminal,
//! nothing of it when stderr is a pipe, and end with a one-line result saying where things
//! went.

use std::process::Command;

use crate::support::flashpoint;

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn progress_replay_ends_with_a_result_line_and_draws_nothing_into_a_pipe() {
    let dir = tempfile::tempdir().unwrap();
    let root = env!("CARGO_MANIFEST_DIR");
    let alerts = dir.path().join("alerts.ndjson");
    let report = dir.path().join("report.html");
    let out = flashpoint()
        .args([
            "replay",
            "--config",
            &format!("{root}/config/demo.toml"),
            "--alerts",
            alerts.to_str().unwrap(),
            "--report",
            report.to_str().unwrap(),
            &format!("{root}/data/demo/sample.ndjson.zst"),
        ])
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    let n = std::fs::read_to_string(&alerts).unwrap().lines().count();
    let last = err.lines().last().unwrap_or_default();
    assert_eq!(
        last,
        format!(
            "done: {n} alerts written to {}; report {}; nothing delivered (no --deliver)",
            alerts.display(),
            report.display()
        )
    );
    assert!(
        !err.contains("ETA") && !err.contains('\r') && !err.contains('\u{1b}'),
        "progress drawn into a pipe: {err:?}"
    );
}

#[test]
fn progress_synth_ends_with_a_result_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.ndjson");
    let out = flashpoint()
        .args(["synth", "--days", "1", "--out", path.to_str().unwrap()])
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    let lines = std::fs::read_to_string(&path).unwrap().lines().count();
    let last = err.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("done: ")
            && last.ends_with(&format!("(1 day, seed 7) written to {}", path.display())),
        "{err}"
    );
    // The count excludes the spec's malformed lines, which are written too.
    let mentions: usize = last["done: ".len()..]
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        mentions > 0 && mentions <= lines,
        "{mentions} of {lines} lines"
    );
    assert!(!err.contains("ETA"), "{err:?}");
}

/// On a terminal (a pseudo-terminal from util-linux `script`), synth draws its bar with a
/// percentage and an ETA. Skipped with a message where `script` is not installed.
#[test]
fn progress_synth_draws_a_bar_with_percentage_and_eta_on_a_terminal() {
    if Command::new("script").arg("--version").output().is_err() {
        eprintln!("skipped: util-linux `script` is not installed (no pseudo-terminal)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.ndjson");
    let cmd = format!(
        "{} synth --days 1 --out {}",
        env!("CARGO_BIN_EXE_flashpoint"),
        path.display()
    );
    let out = Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .output()
        .unwrap();
    let screen = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{screen}");
    assert!(screen.contains("synth: writing"), "{screen:?}");
    assert!(screen.contains("% ETA"), "{screen:?}");
    assert!(screen.contains("done: "), "{screen:?}");
}
