//! Issue 20: detection split by brand over engine shards (`app::shard`) writes the same alert
//! log, byte for byte, for any shard count: on the golden demo replay (with and without
//! preparing threads, with the report's series) and on every scenario of the suite.

use std::path::Path;

use flashpoint::app::Speed;
use flashpoint::eval::scenarios;

#[tokio::test]
async fn the_demo_replay_is_byte_identical_for_any_number_of_shards() {
    let dir = tempfile::tempdir().unwrap();
    let mut runs = Vec::new();
    for (shards, workers) in [(1, 0), (2, 0), (4, 0), (2, 2), (3, 1)] {
        let log = dir.path().join(format!("s{shards}w{workers}.ndjson"));
        let report = dir.path().join(format!("s{shards}w{workers}.json"));
        let mut opts = crate::support::options(Speed::Max, Some(log.display().to_string()));
        opts.shards = shards;
        opts.prepare_workers = workers;
        // A report makes every shard sample its brands' series, merged at the end.
        opts.report_json = Some(report.display().to_string());
        let s = crate::support::replay_demo_with(opts).await;
        runs.push((shards, workers, s, std::fs::read(&log).unwrap()));
    }
    let (_, _, one, log1) = &runs[0];
    assert!(
        one.alerts.len() >= 10,
        "the demo produced {} alerts",
        one.alerts.len()
    );
    assert!(!one.series.is_empty(), "no series recorded");
    for (shards, workers, s, log) in &runs[1..] {
        let what = format!("{shards} shards, {workers} preparing threads");
        assert!(log == log1, "alert log differs with {what}");
        assert_eq!(s.engine, one.engine, "engine stats differ with {what}");
        assert!(s.series == one.series, "report series differ with {what}");
    }
}

#[test]
fn every_scenario_alerts_the_same_with_1_2_and_4_shards() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scenarios");
    let files = scenarios::load_dir(&dir).unwrap();
    assert!(files.len() >= 13, "only {} scenario files", files.len());
    let lines = |f: &scenarios::ScenarioFile, shards: usize| -> Vec<String> {
        scenarios::alerts_with_shards(f, shards)
            .unwrap()
            .iter()
            .map(|a| a.to_json_line())
            .collect()
    };
    // Scenarios are independent: two at a time (CI has two cores).
    let total: usize = std::thread::scope(|scope| {
        let (even, odd): (Vec<_>, Vec<_>) = files.iter().enumerate().partition(|(i, _)| i % 2 == 0);
        let halves: Vec<_> = [even, odd]
            .into_iter()
            .map(|half| {
                scope.spawn(move || {
                    let mut n = 0;
                    for (_, f) in half {
                        let one = lines(f, 1);
                        n += one.len();
                        for shards in [2, 4] {
                            let other = lines(f, shards);
                            assert!(
                                other == one,
                                "{}: alerts differ with {shards} shards:\n1: {one:#?}\n{shards}: {other:#?}",
                                f.name
                            );
                        }
                    }
                    n
                })
            })
            .collect();
        halves.into_iter().map(|h| h.join().unwrap()).sum()
    });
    assert!(total >= 20, "the suite produced only {total} alert lines");
}
