//! Checkpointed state: a replay split in two with a checkpoint/restore in the middle gives the
//! same alert log as one straight replay; a wrong or corrupt checkpoint is a clear error.

use std::sync::Arc;

use flashpoint::app::Engine;
use flashpoint::config::Config;
use flashpoint::synth::{generate, SynthSpec};

use crate::support::{demo_config, engine, scenario_start};

fn lines(e: &mut Engine, mentions: &[flashpoint::domain::Mention], out: &mut Vec<String>) {
    for m in mentions {
        e.process(m);
        out.extend(e.drain_alerts().iter().map(|a| a.to_json_line()));
    }
}

#[test]
fn checkpoint_split_replay_equals_a_straight_replay() {
    let stream = generate(&SynthSpec::demo()).mentions;
    let misconduct = scenario_start("misconduct").millis();
    // 30 minutes into the cascade: an open incident that has escalated and keeps growing.
    let mid_incident = stream
        .iter()
        .position(|m| m.created_at.millis() >= misconduct + 30 * 60_000)
        .unwrap();
    let mut straight = Vec::new();
    lines(&mut engine(demo_config()), &stream, &mut straight);
    assert!(straight.len() > 10);

    // Split in the middle of the misconduct cascade, and at a quiet point on day one.
    for cut in [mid_incident, stream.len() / 5] {
        let mut split = Vec::new();
        let mut first = engine(demo_config());
        lines(&mut first, &stream[..cut], &mut split);
        let bytes = first.checkpoint().unwrap();
        drop(first);
        let mut second = engine(demo_config());
        second.restore(&bytes).unwrap();
        lines(&mut second, &stream[cut..], &mut split);
        assert_eq!(split.len(), straight.len(), "cut at {cut}");
        for (a, b) in straight.iter().zip(&split) {
            assert_eq!(a, b, "cut at {cut}");
        }
        eprintln!("cut at {cut}: checkpoint {} bytes", bytes.len());
    }
}

/// Issue 17: a restart that re-reads an overlap (a Jetstream resume before its cursor, a push
/// client retrying a batch whose answer it lost) counts nothing twice: the checkpoint carries
/// the ids taken in, and the copies are dropped as duplicates. The alert log equals the
/// straight replay's.
#[test]
fn checkpoint_restart_over_an_overlap_counts_nothing_twice() {
    let stream = generate(&SynthSpec::demo()).mentions;
    let misconduct = scenario_start("misconduct").millis();
    let cut = stream
        .iter()
        .position(|m| m.created_at.millis() >= misconduct + 30 * 60_000)
        .unwrap();
    let mut straight = Vec::new();
    let mut one = engine(demo_config());
    lines(&mut one, &stream, &mut straight);

    let mut split = Vec::new();
    let mut first = engine(demo_config());
    lines(&mut first, &stream[..cut], &mut split);
    let bytes = first.checkpoint().unwrap();
    let mut second = engine(demo_config());
    second.restore(&bytes).unwrap();
    // The last 500 mentions before the cut arrive again, then the rest of the stream.
    let overlap = 500;
    lines(&mut second, &stream[cut - overlap..], &mut split);
    assert_eq!(
        split, straight,
        "an overlap re-read after a restart changed the alert log"
    );
    let matched_again = stream[cut - overlap..cut]
        .iter()
        .filter(|m| !m.id.is_empty())
        .count() as u64;
    let dup = second.stats().duplicates;
    assert!(dup > 0, "no copy was recognised");
    assert!(
        dup <= matched_again,
        "{dup} duplicates of {matched_again} copies"
    );
    assert_eq!(
        second.stats().matched,
        one.stats().matched,
        "matched mentions counted twice"
    );
}

#[test]
fn checkpoint_from_other_brands_or_corrupt_is_rejected() {
    let stream = generate(&SynthSpec::demo()).mentions;
    let mut e = engine(demo_config());
    let mut sink = Vec::new();
    lines(&mut e, &stream[..2_000], &mut sink);
    let bytes = e.checkpoint().unwrap();

    let other = Arc::new(demo_config().restrict_to("velora").unwrap());
    let err = engine(other).restore(&bytes).unwrap_err();
    assert!(err.to_string().contains("other brands"), "{err}");

    let mut corrupt = bytes.clone();
    let n = corrupt.len();
    corrupt.truncate(n / 2);
    let err = engine(demo_config()).restore(&corrupt).unwrap_err();
    assert!(err.to_string().contains("corrupt"), "{err}");
}

/// The CLI: a replay of day one saves its state; a replay of the rest starting from it keeps
/// the learned baselines (no cold start), and a checkpoint from other brands is refused.
#[test]
fn checkpoint_cli_replay_in_two_halves() {
    let dir = tempfile::tempdir().unwrap();
    let root = env!("CARGO_MANIFEST_DIR");
    let cfg = format!("{root}/config/demo.toml");
    let sample = format!("{root}/data/demo/sample.ndjson.zst");
    let state = dir.path().join("state.ckpt");
    let bin = env!("CARGO_BIN_EXE_flashpoint");
    let first = std::process::Command::new(bin)
        .args(["replay", "--config", &cfg, "--to", "2026-03-03T00:00:00Z"])
        .arg("--checkpoint-out")
        .arg(&state)
        .arg(&sample)
        .output()
        .unwrap();
    assert_eq!(
        first.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    assert!(std::fs::metadata(&state).unwrap().len() > 1_000);
    let alerts = dir.path().join("second.ndjson");
    let second = std::process::Command::new(bin)
        .args(["replay", "--config", &cfg, "--from", "2026-03-03T00:00:00Z"])
        .arg("--checkpoint-in")
        .arg(&state)
        .arg("--alerts")
        .arg(&alerts)
        .arg(&sample)
        .output()
        .unwrap();
    assert_eq!(
        second.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&second.stderr)
    );
    let log = std::fs::read_to_string(&alerts).unwrap();
    assert!(
        log.contains("\"brightline\""),
        "the misconduct day still pages"
    );
    let refused = std::process::Command::new(bin)
        .args(["replay", "--config", &cfg, "--brand", "velora"])
        .arg("--checkpoint-in")
        .arg(&state)
        .arg(&sample)
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("other brands"));
}

/// `flashpoint run` restarted in the middle of the stream with a `[checkpoint]`: the two runs'
/// alert logs together equal one uninterrupted run (no forgotten baselines, no re-paging).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checkpoint_run_restart_neither_forgets_nor_repages() {
    use flashpoint::app::{run, RunOptions};
    use flashpoint::telemetry::Metrics;
    use tokio_util::sync::CancellationToken;

    let dir = tempfile::tempdir().unwrap();
    let synth = generate(&SynthSpec::demo());
    let misconduct = scenario_start("misconduct").millis();
    let cut = synth
        .mentions
        .iter()
        .position(|m| m.created_at.millis() >= misconduct + 20 * 60_000)
        .unwrap();
    let write = |name: &str, ms: &[flashpoint::domain::Mention]| {
        let mut buf = Vec::new();
        for m in ms {
            flashpoint::domain::codec::encode(m, &mut buf);
        }
        let p = dir.path().join(name);
        std::fs::write(&p, buf).unwrap();
        p
    };
    let all = write("all.ndjson", &synth.mentions);
    let first = write("first.ndjson", &synth.mentions[..cut]);
    let second = write("second.ndjson", &synth.mentions[cut..]);
    let run_file = |input: std::path::PathBuf,
                    log: std::path::PathBuf,
                    ckpt: Option<std::path::PathBuf>| {
        let mut text = format!(
            "{}\n[alert_log]\npath = {:?}\n[[source]]\nid = \"backlog\"\ntype = \"file\"\npath = {:?}\n",
            flashpoint::app::demo::DEMO_CONFIG,
            log.display().to_string(),
            input.display().to_string(),
        );
        if let Some(c) = ckpt {
            text.push_str(&format!(
                "[checkpoint]\npath = {:?}\n",
                c.display().to_string()
            ));
        }
        Arc::new(flashpoint::config::parse_str(&text, "live.toml", &|_| None).unwrap())
    };
    let go = |cfg: Arc<Config>| async move {
        let mut o = RunOptions::new(Arc::new(Metrics::new(&[], 0)), CancellationToken::new());
        o.console = Some(false);
        run(cfg, o).await.unwrap()
    };
    let straight_log = dir.path().join("straight.ndjson");
    go(run_file(all, straight_log.clone(), None)).await;
    let ckpt = dir.path().join("state.ckpt");
    let log1 = dir.path().join("one.ndjson");
    let log2 = dir.path().join("two.ndjson");
    go(run_file(first, log1.clone(), Some(ckpt.clone()))).await;
    assert!(
        std::fs::metadata(&ckpt).is_ok(),
        "no checkpoint saved at shutdown"
    );
    go(run_file(second, log2.clone(), Some(ckpt))).await;
    let straight = std::fs::read_to_string(&straight_log).unwrap();
    let restarted =
        std::fs::read_to_string(&log1).unwrap() + &std::fs::read_to_string(&log2).unwrap();
    assert!(straight.lines().count() > 10);
    assert_eq!(straight, restarted, "a restart changed the alert log");
}

/// A flipped bit in the newest checkpoint is caught by its checksum: `run` refuses it
/// (counted as `damaged`), restores the previous good checkpoint it kept, and goes on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checkpoint_run_refuses_a_flipped_bit_and_restores_the_previous_one() {
    use flashpoint::app::{checkpoint, run, RunOptions};
    use flashpoint::telemetry::Metrics;
    use tokio_util::sync::CancellationToken;

    let dir = tempfile::tempdir().unwrap();
    let stream = generate(&SynthSpec::demo()).mentions;
    let ckpt = dir.path().join("state.ckpt");
    let mut e = engine(demo_config());
    let mut sink = Vec::new();
    lines(&mut e, &stream[..1_000], &mut sink);
    checkpoint::save(&e, &ckpt).unwrap();
    lines(&mut e, &stream[1_000..3_000], &mut sink);
    checkpoint::save(&e, &ckpt).unwrap();
    // The newest file's body loses one bit (a bad sector, a torn page).
    let mut bytes = std::fs::read(&ckpt).unwrap();
    let at = bytes.len() - 100;
    bytes[at] ^= 0x10;
    std::fs::write(&ckpt, &bytes).unwrap();
    let err = checkpoint::load(&mut engine(demo_config()), &ckpt).unwrap_err();
    assert!(format!("{err:#}").contains("checksum mismatch"), "{err:#}");

    let input = dir.path().join("next.ndjson");
    let mut buf = Vec::new();
    for m in &stream[3_000..3_010] {
        flashpoint::domain::codec::encode(m, &mut buf);
    }
    std::fs::write(&input, buf).unwrap();
    let cfg = demo_reading_with_checkpoint(&input, &ckpt);
    let metrics = Arc::new(Metrics::new(&[], 0));
    let mut o = RunOptions::new(Arc::clone(&metrics), CancellationToken::new());
    o.console = Some(false);
    let summary = run(cfg, o).await.unwrap();
    // The previous checkpoint (1,000 mentions) plus the 10 read now.
    assert_eq!(summary.engine.received, 1_010, "{:?}", summary.engine);
    let text = metrics.encode_text();
    assert!(
        text.contains("flashpoint_checkpoint_rejected_total{reason=\"damaged\"} 1"),
        "{text}"
    );
    // The run's own final checkpoint is whole again.
    checkpoint::load(&mut engine(demo_config()), &ckpt).unwrap();
    // ... and the fallback is still the good one: the refused file was set aside, not kept
    // as the previous checkpoint over it.
    checkpoint::load(
        &mut engine(demo_config()),
        &checkpoint::previous_path(&ckpt),
    )
    .expect("the previous checkpoint is whole");
    assert_eq!(
        std::fs::read(checkpoint::refused_path(&ckpt)).unwrap(),
        bytes,
        "the refused file is kept aside for a look"
    );
}

/// A checkpoint written before checksums (a bare engine checkpoint) still loads.
#[test]
fn checkpoint_without_a_checksum_still_loads() {
    let dir = tempfile::tempdir().unwrap();
    let stream = generate(&SynthSpec::demo()).mentions;
    let mut e = engine(demo_config());
    let mut sink = Vec::new();
    lines(&mut e, &stream[..500], &mut sink);
    let path = dir.path().join("old.ckpt");
    std::fs::write(&path, e.checkpoint().unwrap()).unwrap();
    let mut restored = engine(demo_config());
    assert!(flashpoint::app::checkpoint::load(&mut restored, &path).unwrap());
    assert_eq!(restored.stats().received, 500);
}

/// A checkpoint path that can never be written (its directory cannot be created: a file is
/// in the way) stops `run` at start, as an unwritable alert log or archive does; before, it
/// ran, logged a failure every interval, lost the state at the end and exited 0. A missing
/// directory is created, as the archive's is.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checkpoint_run_refuses_a_path_it_cannot_write_at_start() {
    use flashpoint::app::{run, RunOptions};
    use flashpoint::telemetry::Metrics;
    use tokio_util::sync::CancellationToken;

    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.ndjson");
    std::fs::write(&input, b"").unwrap();
    std::fs::write(dir.path().join("state"), b"a file").unwrap();
    let ckpt = dir.path().join("state").join("fp.ckpt");
    let cfg = demo_reading_with_checkpoint(&input, &ckpt);
    let mut o = RunOptions::new(Arc::new(Metrics::new(&[], 0)), CancellationToken::new());
    o.console = Some(false);
    let err = run(cfg, o).await.unwrap_err();
    assert!(
        format!("{err:#}").contains("cannot create the checkpoint directory"),
        "{err:#}"
    );
    // A directory that is only missing is created on a first start.
    let fresh = dir.path().join("new").join("fp.ckpt");
    let mut o = RunOptions::new(Arc::new(Metrics::new(&[], 0)), CancellationToken::new());
    o.console = Some(false);
    run(demo_reading_with_checkpoint(&input, &fresh), o)
        .await
        .unwrap();
    assert!(fresh.try_exists().unwrap(), "the final checkpoint is saved");
}

/// The demo configuration with a `file` source reading `input` and a checkpoint at `ckpt`.
fn demo_reading_with_checkpoint(
    input: &std::path::Path,
    ckpt: &std::path::Path,
) -> Arc<flashpoint::config::Config> {
    let text = format!(
        "{}\n[[source]]\nid = \"backlog\"\ntype = \"file\"\npath = {:?}\n[checkpoint]\npath = {:?}\n",
        flashpoint::app::demo::DEMO_CONFIG,
        input.display().to_string(),
        ckpt.display().to_string(),
    );
    Arc::new(flashpoint::config::parse_str(&text, "live.toml", &|_| None).unwrap())
}
