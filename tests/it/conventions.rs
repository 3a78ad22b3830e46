//! Issue 19.5, the command line's conventions as users meet them through the binary: help on
//! every argument, one list of model names, exit 2 for every usage or configuration error,
//! compound and fractional durations, `${VAR:-default}`, log filters and formats, plurals and
//! the metrics port.

use std::process::Stdio;

use clap::CommandFactory;
use flashpoint::config::MODEL_NAMES;

use crate::support::flashpoint;

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Every argument of every subcommand, at any depth, says what it is for.
#[test]
fn conventions_every_argument_has_help() {
    fn walk(cmd: &clap::Command, path: &str, missing: &mut Vec<String>) {
        for arg in cmd.get_arguments() {
            let blank = arg
                .get_help()
                .is_none_or(|h| h.to_string().trim().is_empty());
            if blank {
                missing.push(format!("{path} {}", arg.get_id()));
            }
        }
        for sub in cmd.get_subcommands() {
            if sub
                .get_about()
                .is_none_or(|a| a.to_string().trim().is_empty())
            {
                missing.push(format!("{path} {} (subcommand)", sub.get_name()));
            }
            walk(sub, &format!("{path} {}", sub.get_name()), missing);
        }
    }
    let mut cmd = flashpoint::cli::Cli::command();
    cmd.build();
    let mut missing = Vec::new();
    walk(&cmd, "flashpoint", &mut missing);
    assert!(missing.is_empty(), "arguments without help: {missing:?}");
}

/// `--model`'s help, its parsing and its error name the same models: `config::MODEL_NAMES`.
#[test]
fn conventions_model_names_are_one_list() {
    let help = flashpoint().args(["replay", "--help"]).output().unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    let bad = flashpoint()
        .args(["sentiment", "--model", "nope"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    let err = stderr(&bad);
    for name in MODEL_NAMES {
        assert!(help.contains(name), "replay --help lacks {name}: {help}");
        assert!(err.contains(name), "the error lacks {name}: {err}");
    }
    let incident = flashpoint()
        .args([
            "replay",
            "--config",
            "x.toml",
            "--incident-model",
            "nope",
            "a",
        ])
        .output()
        .unwrap();
    assert_eq!(incident.status.code(), Some(2));
    assert!(stderr(&incident).contains("none"), "{}", stderr(&incident));
}

/// Usage and configuration errors exit 2, each with a message naming what was wrong.
#[test]
fn conventions_usage_and_configuration_errors_exit_2() {
    let root = env!("CARGO_MANIFEST_DIR");
    let demo = format!("{root}/config/demo.toml");
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nonexistent");
    let missing = missing.to_str().unwrap();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["outbox", "list", "--dir", missing], "nonexistent"),
        (vec!["replay", "--config", &demo, missing], "nonexistent"),
        (
            vec!["replay", "--config", &demo, "--checkpoint-in", missing, "-"],
            "nonexistent",
        ),
        (
            vec!["replay", "--config", &demo, "--speed", "fast", "-"],
            "fast",
        ),
        (vec!["eval", "scenarios", "--profile", "loud"], "loud"),
        (vec!["eval", "scenarios", "--dir", missing], "nonexistent"),
        (vec!["synth", "--out", "x.ndjson", "--days", "0"], "0"),
        (vec!["synth", "--out", "-", "--days", "1"], "--out -"),
        (
            vec!["replay", "--config", &demo, "--brand", "nobody", "-"],
            "nobody",
        ),
    ];
    for (args, names) in cases {
        // In an empty directory: a regression that writes a file (`synth --out -` once wrote
        // one named "-") writes it there, not into the repository.
        let out = flashpoint()
            .args(&args)
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(names), "{args:?}: {err}");
    }
    let bad_log = flashpoint()
        .args(["check-config", &demo])
        .env("FLASHPOINT_LOG", "flashpoint=loud")
        .output()
        .unwrap();
    assert_eq!(bad_log.status.code(), Some(2));
    assert!(
        stderr(&bad_log).contains("FLASHPOINT_LOG"),
        "{}",
        stderr(&bad_log)
    );
}

/// Durations take compound and fractional forms; a bad one is listed with an example, and
/// the error count is in the singular when there is one.
#[test]
fn conventions_durations_env_defaults_and_plurals_through_check_config() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, body: &str| {
        let p = dir.path().join(name);
        std::fs::write(
            &p,
            format!("[[brand]]\nid = \"a\"\nterms = [\"a\"]\n{body}"),
        )
        .unwrap();
        p
    };
    let good = write(
        "good.toml",
        "[pipeline]\nallowed_lateness = \"1h30m\"\nparent_retention = \"1.5d\"\n\
         [server]\nlisten = \"${FP_TEST_UNSET_HOST:-127.0.0.1}:9464\"\n",
    );
    let out = flashpoint()
        .args(["check-config", good.to_str().unwrap()])
        .env_remove("FP_TEST_UNSET_HOST")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("(1 brand)"));
    let bad = write("bad.toml", "[pipeline]\nallowed_lateness = \"5 parsecs\"\n");
    let out = flashpoint()
        .args(["check-config", bad.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("(1 error)"), "{err}");
    assert!(err.contains("5 parsecs") && err.contains("1h30m"), "{err}");
}

/// A taken metrics port is an error that names the port, not a warning before reading
/// another process's /metrics.
#[test]
fn conventions_demo_fails_on_a_taken_port_naming_it() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap();
    let out = flashpoint()
        .args(["demo", "--speed", "max", "--listen", &addr.to_string()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains(&format!("port {}", addr.port())), "{err}");
    assert!(err.contains("--no-metrics"), "{err}");
}

/// `--listen 127.0.0.1:0` prints the port it chose; `--log-format json` writes JSON log lines.
#[test]
fn conventions_demo_prints_the_chosen_port_and_logs_json() {
    let out = flashpoint()
        .args([
            "demo",
            "--speed",
            "max",
            "--listen",
            "127.0.0.1:0",
            "--log-format",
            "json",
        ])
        .env("FLASHPOINT_LOG", "info")
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    let port_line = err
        .lines()
        .find(|l| l.starts_with("serving metrics on http://127.0.0.1:"))
        .unwrap_or_else(|| panic!("no chosen port in {err}"));
    let port: u16 = port_line["serving metrics on http://127.0.0.1:".len()..]
        .split('/')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert_ne!(port, 0);
    let logs: Vec<serde_json::Value> = err
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(!logs.is_empty(), "no JSON log lines in {err}");
    assert!(logs
        .iter()
        .all(|l| l["level"].is_string() && l["fields"].is_object()));
}
