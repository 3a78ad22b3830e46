//! Issue 4 item 7: a second sentiment model only for brands with a candidate incident, chosen
//! by configuration; replays stay deterministic with it and unchanged without it.

use flashpoint::app::replay::Input;
use flashpoint::app::{replay, ReplayOptions, Speed};

use crate::support::demo_config;

async fn demo_with(
    incident_model: Option<&str>,
    alerts: &std::path::Path,
) -> flashpoint::app::ReplaySummary {
    let opts = ReplayOptions {
        alerts: Some(alerts.display().to_string()),
        incident_model: incident_model.map(str::to_owned),
        ..ReplayOptions::new(Speed::Max)
    };
    replay(
        demo_config(),
        Input::Bytes(flashpoint::app::demo::DEMO_SAMPLE),
        opts,
        None,
    )
    .await
    .unwrap()
}

#[tokio::test]
async fn refine_replay_with_an_incident_model_is_byte_identical_run_to_run() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b, off) = (
        dir.path().join("a.ndjson"),
        dir.path().join("b.ndjson"),
        dir.path().join("off.ndjson"),
    );
    let first = demo_with(Some("linear"), &a).await;
    let second = demo_with(Some("linear"), &b).await;
    let without = demo_with(None, &off).await;
    let log = std::fs::read(&a).unwrap();
    assert!(!log.is_empty());
    assert_eq!(
        log,
        std::fs::read(&b).unwrap(),
        "alert logs differ run to run"
    );

    let stats = first.refine.expect("refine stats with an incident model");
    eprintln!(
        "demo with incident model linear: {stats:?} of {} matched; {} alerts (off: {})",
        first.engine.matched,
        first.alerts.len(),
        without.alerts.len()
    );
    assert_eq!(first.refine, second.refine);
    assert!(stats.refined > 0, "no mention of a hot brand was refined");
    assert!(
        stats.refined < first.engine.matched / 2,
        "only hot brands are refined: {} of {} matched",
        stats.refined,
        first.engine.matched
    );
    assert_eq!(stats.skipped, 0, "replays never skip: they score inline");
    assert!(stats.batches > 0 && stats.batches <= stats.refined);
    // Every mention still reaches the detector exactly once.
    assert_eq!(first.engine.matched, without.engine.matched);
    assert_eq!(first.engine.received, without.engine.received);
    assert!(without.refine.is_none());
    // The refined run still pages for the demo's incidents.
    assert!(first.alerts.iter().any(|x| x.brand == "brightline"));
}

#[test]
fn refine_config_key_is_validated() {
    let base = "version = 1\n[[brand]]\nid = \"acme\"\nterms = [\"acme\"]\n";
    let ok = format!(
        "{base}[pipeline]\nincident_sentiment_model = \"linear\"\nincident_sentiment_batch = 8\n"
    );
    let cfg = flashpoint::config::parse_str(&ok, "ok.toml", &|_| None).unwrap();
    assert_eq!(
        cfg.pipeline.incident_sentiment_model.as_deref(),
        Some("linear")
    );
    assert_eq!(cfg.pipeline.incident_sentiment_batch, 8);
    let default = flashpoint::config::parse_str(base, "d.toml", &|_| None).unwrap();
    assert_eq!(default.pipeline.incident_sentiment_model, None);

    let bad = format!(
        "{base}[pipeline]\nincident_sentiment_model = \"gpt\"\nincident_sentiment_batch = 0\n"
    );
    let err = flashpoint::config::parse_str(&bad, "bad.toml", &|_| None)
        .unwrap_err()
        .to_string();
    assert!(err.contains("pipeline.incident_sentiment_model"), "{err}");
    assert!(err.contains("pipeline.incident_sentiment_batch"), "{err}");
}

#[cfg(not(feature = "rust-bert"))]
#[test]
fn refine_bert_without_the_feature_is_a_clear_error() {
    let out = crate::support::flashpoint()
        .args(["sentiment", "--model", "bert"])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_ne!(out.status.code(), Some(0));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("built without feature rust-bert"), "{err}");
}
