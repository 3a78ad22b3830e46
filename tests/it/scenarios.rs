//! The scenario suite (`tests/scenarios/*.toml`): every scenario meets its expected outcome;
//! bad scenario files and bad `synth` arguments are clear errors (exit 2), never a panic or an
//! allocation abort.

use std::path::Path;

use flashpoint::eval::scenarios;

use crate::support;

#[test]
fn scenarios_all_meet_their_expected_outcomes() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scenarios");
    let files = scenarios::load_dir(&dir).unwrap();
    assert!(files.len() >= 13, "only {} scenario files", files.len());
    let outcomes: Vec<_> = files.iter().map(|f| scenarios::run(f).unwrap()).collect();
    let table = scenarios::table(&outcomes);
    eprintln!("{table}");
    assert!(outcomes.iter().all(|o| o.passed), "{table}");
}

#[test]
fn scenarios_a_wrong_expectation_fails() {
    // The judge must be able to say no: expect the positive story to page support.
    let s: scenarios::ScenarioFile = toml::from_str(
        r#"
name = "inverted"
about = "a deliberately wrong expectation"
days = 2
[[plant]]
what = "positive_viral"
day = 1
time = "15:00"
[[expect]]
kind = "page"
plant = 0
brand = "velora"
teams = ["support"]
min_severity = "warning"
within = "60m"
"#,
    )
    .unwrap();
    let o = scenarios::run(&s).unwrap();
    assert!(!o.passed);
    assert!(o.failures[0].contains("never paged"), "{:?}", o.failures);
}

/// A folder holding one scenario file `s.toml` with `body`.
fn scenario_dir(body: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.toml");
    std::fs::write(&path, format!("name = \"x\"\nabout = \"a\"\n{body}")).unwrap();
    (dir, path)
}

#[test]
fn scenarios_cli_rejects_bad_files_with_exit_2_naming_file_and_key() {
    let plant = |day: &str, time: &str| {
        format!(
            "days = 2\n[[plant]]\nwhat = \"misconduct\"\nday = {day}\ntime = \"{time}\"\n\
             [[expect]]\nkind = \"quiet\"\nbrand = \"harbor\"\n"
        )
    };
    for (body, key) in [
        (String::from("days = 100000\n"), "days"),
        (plant("1", "25:99"), "plant[0].time"),
        (plant("1", "-5:-7"), "plant[0].time"),
        (plant("5", "16:00"), "plant[0].day"),
        (plant("9223372036854775807", "16:00"), "plant[0].day"),
        (plant("-100000", "16:00"), "plant[0].day"),
        (
            String::from("days = 2\n[[expect]]\nkind = \"quiet\"\nbrand = \"nosuch\"\n"),
            "expect[0].brand",
        ),
    ] {
        let (dir, path) = scenario_dir(&body);
        let out = support::flashpoint()
            .args(["eval", "scenarios", "--dir"])
            .arg(dir.path())
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{body}: {err}");
        assert!(err.contains(&path.display().to_string()), "{body}: {err}");
        assert!(err.contains(key), "{body}: no {key} in {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
}

#[test]
fn synth_days_over_the_limit_exits_2_without_allocating() {
    let dir = tempfile::tempdir().unwrap();
    for days in ["4294967295", "61"] {
        let out = support::flashpoint()
            .args(["synth", "--days", days, "--out"])
            .arg(dir.path().join("s.ndjson"))
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{days}: {err}");
        assert!(err.contains("--days") && err.contains("60"), "{err}");
        assert!(!dir.path().join("s.ndjson").try_exists().unwrap());
    }
}

#[test]
fn synth_out_a_directory_exits_2_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let out = support::flashpoint()
        .args(["synth", "--days", "1", "--out"])
        .arg(dir.path())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains(&dir.path().display().to_string()), "{err}");
    assert!(err.contains("--out"), "{err}");
}

#[test]
fn synth_out_in_a_missing_folder_names_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("no/such/s.ndjson");
    let out = support::flashpoint()
        .args(["synth", "--days", "1", "--out"])
        .arg(&path)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(0), "{err}");
    assert!(err.contains(&path.display().to_string()), "{err}");
}
