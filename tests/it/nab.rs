//! NAB realTweets: the detector beats Numenta HTM's published raw score (skips without data).

use std::path::Path;

use flashpoint::eval::nab;

#[test]
fn nab_realtweets_standard_score_beats_numenta_htm() {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/anomaly/nab_realtweets");
    if std::fs::metadata(data.join("combined_windows_realTweets.json")).is_err() {
        eprintln!(
            "skipping: NAB realTweets data not found at {}",
            data.display()
        );
        return;
    }
    let out = tempfile::tempdir().unwrap();
    let report = nab::run(&data, out.path()).unwrap();
    assert_eq!(report.files.len(), 10);
    assert_eq!(report.windows, 33);
    let (_, _, standard) = report.scores[0];
    assert!(
        standard > 11.89,
        "standard profile {standard:.2} does not beat Numenta HTM's 11.89"
    );
    // One result file per series, in NAB's format, one row per input row.
    let aapl =
        std::fs::read_to_string(out.path().join("flashpoint_Twitter_volume_AAPL.csv")).unwrap();
    let mut lines = aapl.lines();
    assert_eq!(lines.next(), Some("timestamp,value,anomaly_score,label"));
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), 15_902);
    assert!(
        rows.iter().filter(|r| r.ends_with(",1")).count() > 1_000,
        "window rows labelled"
    );
}
