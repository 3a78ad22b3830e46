//! The randomized scenario families harness (`flashpoint::eval::families`): determinism, the
//! generator's ground-truth properties, the tune/test separation of phrases and seeds, and a
//! small slice of the evaluation that only checks the harness runs and reports sane numbers
//! (detection rates are measured by `flashpoint eval families`, not asserted here: the
//! detector is tuned against this harness).

use std::collections::BTreeMap;

use flashpoint::domain::MentionKind;
use flashpoint::eval::families::params::{slow_burn_multiplier, Story, MINUTE};
use flashpoint::eval::families::phrases::{copied_phrases, shared_phrases, TEST, TUNE};
use flashpoint::eval::families::{
    draw, evaluate, generate, run_one, FamiliesError, Family, Generated, Limits, Options, Pool,
};

/// Rates capped so that debug-build runs stay a few thousand mentions.
const SMALL: Limits = Limits {
    rate_cap: Some(0.5),
    complaint_share: None,
};
const FULL: Limits = Limits {
    rate_cap: None,
    complaint_share: None,
};

/// The first `n` test seeds (among the first 400) whose draw satisfies `keep`.
fn test_seeds(
    family: Family,
    n: usize,
    keep: impl Fn(&flashpoint::eval::families::RunParams) -> bool,
) -> Vec<u64> {
    let seeds: Vec<u64> = (0..400)
        .map(|i| Pool::Test.seed(i))
        .filter(|&s| keep(&draw(family, s, Pool::Test, &FULL)))
        .take(n)
        .collect();
    assert_eq!(seeds.len(), n, "too few {family} seeds fit the test");
    seeds
}

#[test]
fn families_same_seed_gives_identical_alert_lines() {
    let seed = Pool::Test.seed(3);
    let a = run_one(Family::Misconduct, seed, Pool::Test, None, &SMALL).unwrap();
    let b = run_one(Family::Misconduct, seed, Pool::Test, None, &SMALL).unwrap();
    let lines = |r: &flashpoint::eval::families::runner::Run| -> Vec<String> {
        r.alerts.iter().map(|a| a.to_json_line()).collect()
    };
    assert!(
        !a.alerts.is_empty(),
        "the misconduct run alerts on something"
    );
    assert_eq!(lines(&a), lines(&b));
    assert_eq!(a.generated.mentions, b.generated.mentions);
    assert_eq!(a.outcome, b.outcome);
    let c = generate(&draw(Family::Misconduct, seed + 1, Pool::Test, &SMALL));
    assert_ne!(
        a.generated.mentions, c.mentions,
        "the seed changes the stream"
    );
    // The same seed in another family draws another run.
    let d = draw(Family::SharpOutage, seed, Pool::Test, &SMALL);
    assert_ne!(d.brands[0].rate, a.generated.params.brands[0].rate);
}

/// Checks every mention's parent exists earlier and shares its source, ids are unique, and
/// arrival order stays within the default allowed lateness.
fn assert_well_formed(g: &Generated) {
    let mut seen: BTreeMap<(&str, &str), i64> = BTreeMap::new();
    let mut newest = i64::MIN;
    for m in &g.mentions {
        newest = newest.max(m.created_at.millis());
        assert!(
            newest - m.created_at.millis() <= 5 * MINUTE,
            "{} too late",
            m.id
        );
        assert!(
            seen.insert((&m.source, &m.id), m.created_at.millis())
                .is_none(),
            "duplicate id {}",
            m.id
        );
    }
    for m in &g.mentions {
        if let Some(p) = &m.parent_id {
            // A parent may lie before the run's start (then it is absent): only check present ones.
            if let Some(at) = seen.get(&(m.source.as_str(), p.as_str())) {
                assert!(
                    *at <= m.created_at.millis(),
                    "{} answers a later post",
                    m.id
                );
            }
        }
        if m.kind != MentionKind::Post {
            assert!(
                m.parent_id.is_some(),
                "{} is a reaction without parent",
                m.id
            );
        }
    }
    assert_eq!(g.mentions.len(), g.labels.len());
}

#[test]
fn families_slow_burn_complaints_rise_tenfold_while_volume_rises_two_to_threefold() {
    let seeds = test_seeds(Family::SlowBurnOutage, 3, |p| {
        (2.0..12.0).contains(&p.brands[0].rate)
    });
    for seed in seeds {
        let p = draw(Family::SlowBurnOutage, seed, Pool::Test, &FULL);
        let Story::SlowBurnOutage {
            onset_ms,
            complaint_ratio: k,
            total_ratio: t,
            ramp_min,
            hold_min,
            recover_min,
            ..
        } = p.stories[0].clone()
        else {
            panic!("not a slow burn: {:?}", p.stories[0]);
        };
        assert!(
            (10.0..=20.0).contains(&k) && (2.0..=3.0).contains(&t),
            "{k} {t}"
        );
        // Complaints pass three times their usual rate within two hours.
        assert!(slow_burn_multiplier(k, ramp_min, hold_min, recover_min, 120.0) >= 3.0);
        assert!(
            ramp_min > 200.0 && ramp_min <= 270.0,
            "about four hours: {ramp_min}"
        );
        let g = generate(&p);
        assert_well_formed(&g);
        // Realised counts on the plateau against the background expected at the same times.
        let from = onset_ms + (ramp_min * MINUTE as f64) as i64;
        let to = from + (hold_min * MINUTE as f64) as i64;
        let usual: f64 = (from / MINUTE..to / MINUTE)
            .map(|m| p.background_rate(0, m * MINUTE))
            .sum();
        let c = p.brands[0].complaint_share;
        let (mut total, mut complaints) = (0.0, 0.0);
        for (m, l) in g.mentions.iter().zip(&g.labels) {
            let at = m.created_at.millis();
            if l.brand == Some(0) && at >= from && at < to {
                total += 1.0;
                if l.complaint {
                    complaints += 1.0;
                }
            }
        }
        let total_ratio = total / usual;
        let complaint_ratio = complaints / (c * usual);
        assert!(
            (t * 0.8..=t * 1.2).contains(&total_ratio),
            "seed {seed}: total {total_ratio:.2}x, drawn {t:.2}x"
        );
        assert!(
            complaint_ratio >= 10.0 * 0.8 && (k * 0.75..=k * 1.25).contains(&complaint_ratio),
            "seed {seed}: complaints {complaint_ratio:.1}x, drawn {k:.1}x"
        );
        // Before the onset the complaint share is the drawn one.
        let (mut bg, mut bg_c) = (0.0, 0.0);
        for l in &g.labels {
            if l.brand == Some(0) && l.story.is_none() {
                bg += 1.0;
                bg_c += f64::from(u8::from(l.complaint));
            }
        }
        assert!(
            (bg_c / bg - c).abs() < 0.3 * c + 0.01,
            "{} vs {c}",
            bg_c / bg
        );
    }
}

#[test]
fn families_misconduct_reactions_double_at_the_drawn_doubling_time() {
    // Cascades with at least four doublings of growth and enough reactions to measure.
    let seeds = test_seeds(Family::Misconduct, 3, |p| match &p.stories[0] {
        Story::Misconduct { cascade: c, .. } => {
            let g = c.peak_min();
            g >= 4.0 * c.doubling_min
                && c.start_rate * c.doubling_min >= 2.0
                && p.brands[0].rate < 3.0
        }
        _ => false,
    });
    for seed in seeds {
        let p = draw(Family::Misconduct, seed, Pool::Test, &FULL);
        let Story::Misconduct {
            onset_ms, cascade, ..
        } = &p.stories[0]
        else {
            panic!("not misconduct");
        };
        let g = generate(&p);
        assert_well_formed(&g);
        let growth = cascade.peak_min();
        let half = growth / 2.0;
        let (mut first, mut second) = (0.0f64, 0.0f64);
        for (m, l) in g.mentions.iter().zip(&g.labels) {
            if l.story == Some(0) && l.reaction {
                let t = (m.created_at.millis() - onset_ms) as f64 / MINUTE as f64;
                if t < half {
                    first += 1.0;
                } else if t < growth {
                    second += 1.0;
                }
            }
        }
        let measured = half / (second / first).log2();
        let drawn = cascade.doubling_min;
        assert!(
            (measured - drawn).abs() <= 0.25 * drawn,
            "seed {seed}: reactions double every {measured:.1} min, drawn {drawn:.1} ({first} then {second})"
        );
    }
}

#[test]
fn families_misconduct_unbranded_reaction_share_is_as_drawn_and_threads_reach_the_root() {
    let seeds = test_seeds(Family::Misconduct, 3, |p| p.brands[0].rate < 3.0);
    for seed in seeds {
        let p = draw(Family::Misconduct, seed, Pool::Test, &FULL);
        let Story::Misconduct { cascade, .. } = &p.stories[0] else {
            panic!("not misconduct");
        };
        let g = generate(&p);
        let brand = &p.brands[0];
        let root = g
            .mentions
            .iter()
            .zip(&g.labels)
            .find(|(m, l)| l.story == Some(0) && m.kind == MentionKind::Post)
            .map(|(m, _)| m.id.clone())
            .unwrap();
        let story_ids: std::collections::BTreeSet<&str> = g
            .mentions
            .iter()
            .zip(&g.labels)
            .filter(|(_, l)| l.story == Some(0))
            .map(|(m, _)| m.id.as_str())
            .collect();
        let (mut texts, mut unbranded, mut to_root, mut reactions) = (0.0, 0.0, 0.0, 0.0);
        for (m, l) in g.mentions.iter().zip(&g.labels) {
            if l.story != Some(0) || !l.reaction {
                continue;
            }
            reactions += 1.0;
            let parent = m.parent_id.as_deref().unwrap();
            assert!(
                story_ids.contains(parent),
                "{} answers outside the story",
                m.id
            );
            if parent == root {
                to_root += 1.0;
            }
            if m.kind == MentionKind::Repost {
                assert!(m.text.is_empty());
                continue;
            }
            texts += 1.0;
            let lower = m.text.to_lowercase();
            let names = brand.terms.iter().any(|t| lower.contains(t.as_str()))
                || brand
                    .handles
                    .iter()
                    .chain(&brand.hashtags)
                    .any(|h| lower.contains(h.as_str()));
            assert_eq!(names, l.names_brand, "label of {:?}", m.text);
            if !names {
                unbranded += 1.0;
            }
        }
        assert!(texts >= 100.0, "seed {seed}: only {texts} text reactions");
        let share = unbranded / texts;
        assert!(
            (share - cascade.unbranded_share).abs() < 0.08,
            "seed {seed}: {share:.2} unbranded, drawn {:.2}",
            cascade.unbranded_share
        );
        assert!(
            to_root / reactions >= 0.6,
            "most reactions answer the root post"
        );
    }
}

#[test]
fn families_draws_keep_their_ranges_for_every_family() {
    for f in Family::ALL {
        for i in 0..60 {
            for pool in [Pool::Tune, Pool::Test] {
                let p = draw(f, pool.seed(i), pool, &FULL);
                assert!(!p.brands.is_empty());
                for b in &p.brands {
                    assert!((0.05..=50.0).contains(&b.rate), "{f} rate {}", b.rate);
                    assert!((0.4..=1.6).contains(&b.weekend));
                }
                let onset = p.stories.iter().map(Story::onset_ms).min();
                let history = (onset.unwrap_or(p.end_ms) - p.start_ms) / (24 * 60 * MINUTE);
                if f == Family::QuietWeeks {
                    assert!(p.stories.is_empty());
                    assert_eq!(p.end_ms - p.start_ms, 7 * 24 * 60 * MINUTE);
                } else {
                    assert!(history >= 2, "{f}: {history} days of history");
                    assert_eq!(
                        p.stories.len(),
                        if f == Family::TwoIncidents { 2 } else { 1 }
                    );
                }
                if let Some(Story::Misconduct { cascade, .. }) = p.stories.first() {
                    assert!((4.0..=60.0).contains(&cascade.doubling_min));
                }
                assert_eq!(
                    f.is_crisis(),
                    p.stories.iter().any(|s| s.expect().is_some())
                );
            }
        }
    }
}

#[test]
fn families_tune_and_test_pools_are_disjoint_and_new() {
    let shared = shared_phrases(&TUNE, &TEST);
    assert!(shared.is_empty(), "{}", shared.join("\n"));
    let texts = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/synth/texts.rs"),
    )
    .unwrap();
    for pool in [&TUNE, &TEST] {
        let copied = copied_phrases(pool, &texts);
        assert!(copied.is_empty(), "{}", copied.join("\n"));
    }
    // The seed ranges are disjoint and a test run refuses a tuning seed.
    for i in [0, 1, 999, 1_000_000] {
        assert!(Pool::Tune.owns(Pool::Tune.seed(i)) && !Pool::Test.owns(Pool::Tune.seed(i)));
        assert!(Pool::Test.owns(Pool::Test.seed(i)) && !Pool::Tune.owns(Pool::Test.seed(i)));
    }
    assert!(matches!(
        run_one(Family::QuietWeeks, 5, Pool::Test, None, &SMALL),
        Err(FamiliesError::SeedOutsidePool { .. })
    ));
    // Test runs never use tuning names or wording.
    let g = generate(&draw(
        Family::Misconduct,
        Pool::Test.seed(0),
        Pool::Test,
        &SMALL,
    ));
    for m in &g.mentions {
        let lower = m.text.to_lowercase();
        for stem in TUNE.stems {
            assert!(!lower.contains(&stem.to_lowercase()), "{:?}", m.text);
        }
    }
}

#[test]
fn families_small_slice_runs_and_reports_sane_numbers() {
    let opts = Options {
        jobs: 2,
        limits: SMALL,
        ..Options::new(Pool::Test, 2)
    };
    let report = evaluate(&opts).unwrap();
    eprintln!("{}", report.table());
    assert_eq!(report.families.len(), Family::ALL.len());
    assert_eq!(report.runs.len(), 2 * Family::ALL.len());
    for f in &report.families {
        assert_eq!(f.runs, 2, "{}", f.family);
        assert!((0.0..=1.0).contains(&f.ok_rate));
        assert!(
            f.background_brand_days >= 2.0 * 2.0,
            "{}: {}",
            f.family,
            f.background_brand_days
        );
        assert!(f.false_pages_per_brand_day.is_finite() && f.false_pages_per_brand_day >= 0.0);
        assert!(f.false_watches_per_brand_day.is_finite());
        assert!(f.mentions > 0);
        let crisis = f.family.is_crisis();
        assert_eq!(f.expectations > 0, crisis, "{}", f.family);
        for d in [f.delay_p50_min, f.delay_p90_min].into_iter().flatten() {
            assert!(d >= 0.0, "{}: delay {d}", f.family);
        }
        let s = f.max_severity;
        assert_eq!(s.none + s.info + s.warning + s.error + s.critical, 2);
    }
    for r in &report.runs {
        assert!(opts.pool.owns(r.seed));
    }
    let g = &report.global;
    assert!(g.background_brand_days >= 2.0 * 12.0 * 2.0);
    let table = report.table();
    for f in Family::ALL {
        assert!(table.contains(f.name()), "{table}");
    }
    let json: serde_json::Value = serde_json::from_str(&report.to_json()).unwrap();
    assert_eq!(json["families"].as_array().unwrap().len(), 12);
    assert_eq!(json["pool"], "test");
    // Threads change nothing: runs are collected by index.
    let few = Options {
        families: vec![Family::BotBurst, Family::Influencer],
        seeds: 1,
        ..opts
    };
    let one = evaluate(&Options {
        jobs: 1,
        ..few.clone()
    })
    .unwrap();
    let two = evaluate(&Options { jobs: 2, ..few }).unwrap();
    assert_eq!(one, two);
}

#[test]
fn families_written_runs_replay_as_config_and_archive() {
    let dir = tempfile::tempdir().unwrap();
    let opts = Options {
        families: vec![Family::BotBurst],
        seeds: 1,
        limits: SMALL,
        write_runs: Some(dir.path().to_path_buf()),
        ..Options::new(Pool::Test, 1)
    };
    let report = evaluate(&opts).unwrap();
    let folder = dir.path().join(format!("bot_burst-{}", Pool::Test.seed(0)));
    let cfg = flashpoint::config::load(&folder.join("config.toml")).unwrap();
    let p = &report.runs[0].params;
    assert_eq!(cfg.brands.len(), p.brands.len());
    assert_eq!(cfg.brands[0].id.as_str(), p.brands[0].id);
    let stream = std::fs::read(folder.join("mentions.ndjson")).unwrap();
    let mut n = 0;
    for line in stream.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        flashpoint::domain::codec::decode(line).unwrap();
        n += 1;
    }
    assert_eq!(n, report.runs[0].mentions);
    let alerts = std::fs::read_to_string(folder.join("alerts.ndjson")).unwrap();
    assert_eq!(alerts.lines().count(), report.runs[0].alerts);
    let truth: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(folder.join("truth.json")).unwrap()).unwrap();
    assert_eq!(truth["truth"]["family"], "bot_burst");
}
