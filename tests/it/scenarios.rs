//! The scenario suite (`tests/scenarios/*.toml`): every scenario meets its expected outcome.

use std::path::Path;

use flashpoint::eval::scenarios;

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
