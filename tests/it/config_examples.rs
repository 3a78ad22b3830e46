//! Every file in `config/` is a valid configuration; a wrong one lists all its errors.

use std::path::Path;

use flashpoint::config;

#[test]
fn config_examples_all_parse() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("config");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("toml") {
            continue;
        }
        let env = |_: &str| Some(String::from("test-value"));
        let cfg = config::load_with_env(&path, &env)
            .unwrap_or_else(|e| panic!("{} is invalid:\n{e}", path.display()));
        assert!(!cfg.brands.is_empty());
        checked += 1;
    }
    assert!(
        checked >= 3,
        "expected the example, brands and demo configs, found {checked}"
    );
}

#[test]
fn config_example_documents_every_default() {
    // The example's values are the defaults: parsing it must give the same pipeline and
    // detection settings as a brands-only file.
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("config");
    let env = |_: &str| Some(String::from("x"));
    let full = config::load_with_env(&dir.join("flashpoint.example.toml"), &env).unwrap();
    let bare = config::load_with_env(&dir.join("brands.example.toml"), &env).unwrap();
    assert_eq!(full.pipeline, bare.pipeline);
    assert_eq!(full.detect, bare.detect);
    assert_eq!(full.routing, bare.routing);
}

#[test]
fn config_wrong_fixture_lists_every_error() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/configs/invalid.toml");
    let errs = config::load_with_env(&path, &|_| None).unwrap_err();
    assert!(errs.0.len() >= 4, "{errs}");
    let text = errs.to_string();
    // file:line: key: reason, the line of the key in the file.
    assert!(text.contains("invalid.toml:3: brand[0].id"), "{text}");
    assert!(text.contains("brand[2].id: duplicate brand id"), "{text}");
    assert!(text.contains("detect.spike_p_value"), "{text}");
    assert!(text.contains("routing[0].max_severity"), "{text}");
    assert!(text.contains("brand[1].profile: unknown profile"), "{text}");
}

#[test]
fn config_kafka_examples_parse_or_name_the_missing_feature() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/kafka");
    let env = |_: &str| Some(String::from("test-value"));
    let mut checked = 0;
    let kafka = config::kafka::ENABLED;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("toml") {
            continue;
        }
        checked += 1;
        match config::load_with_env(&path, &env) {
            Ok(cfg) => assert!(kafka && !cfg.brands.is_empty()),
            Err(e) => {
                assert!(!kafka, "{} is invalid:\n{e}", path.display());
                assert!(
                    e.0.iter()
                        .all(|e| e.reason.contains("built without feature kafka")),
                    "{e}"
                );
            }
        }
    }
    assert!(checked >= 2);
}
