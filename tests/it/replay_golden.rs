//! Golden replay of the bundled demo stream: who is paged, how fast, and who is not.

use flashpoint::alert::{Action, AlertRecord};
use flashpoint::app::Speed;
use flashpoint::domain::{Category, EventTime, Severity};
use flashpoint::synth::{generate, SynthSpec};

use crate::support::{by_incident, replay_demo, scenario_start};

fn at(a: &AlertRecord) -> EventTime {
    a.event_time().unwrap()
}

#[tokio::test]
async fn replay_golden_demo_pages_the_right_teams_and_nobody_else() {
    let summary = replay_demo(Speed::Max, None).await;
    let alerts = &summary.alerts;
    let incidents = by_incident(alerts);
    for (id, lines) in &incidents {
        eprintln!(
            "{id}: {:?}",
            lines
                .iter()
                .map(|a| (a.action, a.severity, a.at.clone(), a.teams.clone()))
                .collect::<Vec<_>>()
        );
    }

    // Misconduct: field-ops and support at error or above within 60 minutes of the root post.
    let root = scenario_start("misconduct");
    let page = alerts
        .iter()
        .filter(|a| a.brand == "brightline" && a.action != Action::Resolve)
        .find(|a| {
            a.severity >= Severity::Error
                && a.teams.iter().any(|t| t == "field-ops")
                && a.teams.iter().any(|t| t == "support")
        })
        .expect("misconduct never paged field-ops and support at error");
    let delay = at(page).millis() - root.millis();
    assert!(
        (0..=60 * 60_000).contains(&delay),
        "misconduct paged after {} min",
        delay / 60_000
    );
    let misconduct_incident = page.incident.clone();
    // The watch opened within minutes of the root post, before any volume built.
    let first = alerts
        .iter()
        .find(|a| a.incident == misconduct_incident)
        .unwrap();
    assert!(
        at(first).millis() - root.millis() <= 10 * 60_000,
        "watch opened late: {}",
        first.at
    );

    // Outage: support only, warning or above.
    let outage: Vec<&AlertRecord> = alerts
        .iter()
        .filter(|a| a.brand == "northwind" && a.severity >= Severity::Warning)
        .collect();
    assert!(!outage.is_empty(), "the northwind outage was never paged");
    for a in &outage {
        assert_eq!(
            a.teams,
            vec!["support".to_string()],
            "outage routed to {:?}",
            a.teams
        );
    }
    let outage_incident = outage[0].incident.clone();

    // Nothing else at warning or above; positive, bot burst and ambiguous name page nobody.
    for a in alerts.iter().filter(|a| a.action != Action::Resolve) {
        if a.severity >= Severity::Warning {
            assert!(
                a.incident == misconduct_incident || a.incident == outage_incident,
                "unexpected page: {}",
                a.to_json_line()
            );
        }
        if ["velora", "lumen", "orchard", "kestrel", "harbor"].contains(&a.brand.as_str()) {
            assert!(
                a.severity < Severity::Error,
                "{} paged: {}",
                a.brand,
                a.to_json_line()
            );
        }
        if a.brand == "velora" {
            assert!(
                a.teams.iter().all(|t| t == "marketing"),
                "velora routed to {:?}",
                a.teams
            );
        }
    }
    // The positive story reaches marketing (at info).
    assert!(
        alerts
            .iter()
            .any(|a| a.brand == "velora" && a.teams == vec!["marketing".to_string()]),
        "the positive viral story never reached marketing"
    );

    // The bot burst is seen, called spam and routed to nobody.
    let lumen: Vec<&AlertRecord> = alerts.iter().filter(|a| a.brand == "lumen").collect();
    assert!(
        lumen.iter().any(|a| a.category == Category::Spam),
        "the bot burst was not recognised as spam: {lumen:?}"
    );
    for a in &lumen {
        assert!(
            a.teams.is_empty() && a.severity == Severity::Info,
            "{}",
            a.to_json_line()
        );
    }
    // Fruit picking is not the mobile network: no orchard incident at all.
    assert!(
        alerts.iter().all(|a| a.brand != "orchard"),
        "the ambiguous name opened an incident"
    );

    // Every incident resolves, exactly once, as its last line.
    for (id, lines) in &incidents {
        let resolves = lines.iter().filter(|a| a.action == Action::Resolve).count();
        assert_eq!(resolves, 1, "{id} resolved {resolves} times");
        assert_eq!(
            lines.last().unwrap().action,
            Action::Resolve,
            "{id} acted after resolving"
        );
        assert_eq!(
            lines[0].action,
            Action::Trigger,
            "{id} did not start with a trigger"
        );
    }
    // A volume line's ratio is the brand's, the quantity its p-value is for: a significant
    // spike is never "0.4x its usual rate" (the incident's share of the spike over the brand's
    // baseline read so). The bot burst says it is spam, not a volume figure.
    for a in alerts {
        if let Some(rest) = a.why.strip_prefix("brand volume ") {
            let ratio: f64 = rest.split('x').next().unwrap().parse().unwrap();
            assert!(ratio >= 2.0, "{}: {}", a.incident, a.why);
        }
        if a.category == Category::Spam && a.action == Action::Trigger {
            assert!(a.why.contains("spam"), "{}: {}", a.incident, a.why);
        }
    }
    // Evidence is attached and within contract limits.
    for a in alerts {
        assert!(a.top_posts.len() <= 5);
        assert!(a.summary.chars().count() <= 1024);
        assert!(a.dedup_key.len() <= 255);
    }
}

#[tokio::test(start_paused = true)]
async fn replay_is_byte_identical_at_any_speed() {
    let dir = tempfile::tempdir().unwrap();
    let fast = dir.path().join("max.ndjson");
    let paced = dir.path().join("paced.ndjson");
    replay_demo(Speed::Max, Some(fast.display().to_string())).await;
    // Paused tokio time: the paced replay sleeps on a virtual clock, so it runs at full speed
    // while taking the pacing code path.
    replay_demo(Speed::Factor(5_000.0), Some(paced.display().to_string())).await;
    let a = std::fs::read(&fast).unwrap();
    let b = std::fs::read(&paced).unwrap();
    assert!(!a.is_empty(), "the demo produced no alerts");
    assert!(a == b, "alert logs differ between speeds");
}

#[test]
fn demo_sample_is_exactly_the_generator_output() {
    let mut fresh = Vec::new();
    flashpoint::synth::write_ndjson(&generate(&SynthSpec::demo()), &mut fresh).unwrap();
    let bundled = zstd::decode_all(flashpoint::app::demo::DEMO_SAMPLE).unwrap();
    assert!(
        fresh == bundled,
        "data/demo/sample.ndjson.zst is stale: regenerate it with `flashpoint synth --out data/demo/sample.ndjson.zst`"
    );
}

/// Issue 20: with preparing threads the reader only splits lines and the threads decode them;
/// the decode statistics, the bad lines (oversize, invalid, empty, missing fields) and the
/// alert log are the same as when the reader decodes (no threads), for any number of threads.
#[tokio::test]
async fn bad_lines_count_the_same_whoever_decodes_them() {
    use flashpoint::app::replay::{replay, Input};
    let dir = tempfile::tempdir().unwrap();
    let sample = zstd::decode_all(flashpoint::app::demo::DEMO_SAMPLE).unwrap();
    let huge = format!(
        "{{\"id\":\"{}\"}}",
        "x".repeat(flashpoint::domain::codec::MAX_LINE_BYTES + 10)
    );
    let mut input = Vec::new();
    for (i, line) in sample
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .take(6000)
        .enumerate()
    {
        input.extend_from_slice(line);
        // Every 7th line in CRLF form, and a bad line every 500.
        input.extend_from_slice(if i % 7 == 0 { b"\r\n" } else { b"\n" });
        match i % 500 {
            3 => input.extend_from_slice(b"{not json\n"),
            17 => input.extend_from_slice(b"\n"),
            101 => input.extend_from_slice(b"{\"id\":\"1\",\"source\":\"x\"}\n"),
            250 => {
                input.extend_from_slice(huge.as_bytes());
                input.push(b'\n');
            }
            _ => {}
        }
    }
    let path = dir.path().join("input.ndjson");
    std::fs::write(&path, &input).unwrap();
    let mut runs = Vec::new();
    for workers in [0, 1, 3] {
        let log = dir.path().join(format!("w{workers}.ndjson"));
        let mut opts = crate::support::options(Speed::Max, Some(log.display().to_string()));
        opts.prepare_workers = workers;
        let s = replay(
            crate::support::demo_config(),
            Input::Paths(vec![path.display().to_string()]),
            opts,
            None,
        )
        .await
        .unwrap();
        runs.push((workers, s.decode, s.engine, std::fs::read(&log).unwrap()));
    }
    let (_, decode0, engine0, log0) = &runs[0];
    assert_eq!(decode0.lines, 6000 + 4 * 12, "{decode0:?}");
    assert_eq!(decode0.decoded, 6000, "{decode0:?}");
    assert_eq!(decode0.errors.get("oversize"), Some(&12), "{decode0:?}");
    assert_eq!(decode0.errors.values().sum::<u64>(), 4 * 12, "{decode0:?}");
    assert!(!log0.is_empty(), "the sample's first 6000 lines page");
    for (workers, decode, engine, log) in &runs[1..] {
        assert_eq!(decode, decode0, "{workers} threads");
        assert_eq!(engine, engine0, "{workers} threads");
        assert!(log == log0, "alert log differs with {workers} threads");
    }
}

/// Issue 20: matching and scoring on preparing threads ahead of the engine leaves the alert log
/// byte for byte as the engine alone writes it, for any number of threads, with and without
/// the incident sentiment model (whose reorder buffer also sees prepared mentions).
#[tokio::test]
async fn replay_is_byte_identical_for_any_number_of_preparing_threads() {
    let dir = tempfile::tempdir().unwrap();
    for incident_model in [None, Some("linear")] {
        let mut logs = Vec::new();
        for workers in [0, 1, 2, 4] {
            let path = dir.path().join(format!("w{workers}.ndjson"));
            let mut opts = crate::support::options(Speed::Max, Some(path.display().to_string()));
            opts.prepare_workers = workers;
            opts.incident_model = incident_model.map(String::from);
            let s = crate::support::replay_demo_with(opts).await;
            assert!(s.engine.matched > 0);
            logs.push((workers, s.engine.clone(), std::fs::read(&path).unwrap()));
        }
        let (_, stats0, log0) = &logs[0];
        assert!(!log0.is_empty(), "the demo produced no alerts");
        for (workers, stats, log) in &logs[1..] {
            assert_eq!(stats, stats0, "{workers} threads, {incident_model:?}");
            assert!(
                log == log0,
                "alert log differs with {workers} preparing threads ({incident_model:?})"
            );
        }
    }
}
