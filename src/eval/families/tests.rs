//! Unit tests of the families harness: pool disjointness (and that the checks can say no), no
//! copies of the demo generator's word banks, seed ranges, draws that never panic and always
//! configure, and the judge's counting on hand-written alert lines.

use super::generate::{brand_configs, poisson, truth};
use super::judge::judge;
use super::params::{draw, Cascade, Limits, Wave, DAY, MINUTE};
use super::phrases::{copied_phrases, phrases_of, shared_phrases, Phrases, TEST, TUNE};
use super::{Family, Pool};
use crate::config::Config;
use crate::domain::alert::AlertRecord;
use rand::SeedableRng;

const SYNTH_TEXTS: &str = include_str!("../../synth/texts.rs");

#[test]
fn families_pools_share_no_template_or_phrase() {
    let shared = shared_phrases(&TUNE, &TEST);
    assert!(shared.is_empty(), "{}", shared.join("\n"));
}

#[test]
fn families_test_pool_copies_nothing_from_synth_texts_and_neither_does_tune() {
    for pool in [&TEST, &TUNE] {
        let copied = copied_phrases(pool, SYNTH_TEXTS);
        assert!(copied.is_empty(), "{:?}:\n{}", pool.pool, copied.join("\n"));
    }
}

static COPYCAT: Phrases = Phrases {
    pool: Pool::Test,
    stems: &[],
    sectors: &[],
    ambiguous: &[],
    openers: &[],
    tails: &[],
    noise: &["Rain again, GREAT."],
    bg_neutral: &["anyone know when the {b} facelift is due"],
    bg_positive: &[],
    bg_complaint: &[],
    bg_reply: &[],
    bg_branded_reply: &[],
    misconduct_root: &["so funny: faith in humanity restored by {b}"],
    misconduct_reaction: &[],
    misconduct_branded: &[],
    viral_root: &[],
    viral_reaction: &[],
    viral_branded: &[],
    slow_complaint: &[],
    slow_question: &[],
    sharp_complaint: &[],
    sharp_question: &[],
    complaint_reply: &[],
    billing_complaint: &[],
    influencer_root: &[],
    influencer_reaction: &[],
    launch_post: &[],
    bot_spam: &[],
    sarcasm_post: &[],
};

#[test]
fn families_overlap_checks_can_say_no() {
    // A whole template differing only in case and punctuation, and a shared 4-word run.
    let copied = copied_phrases(&COPYCAT, SYNTH_TEXTS);
    assert!(
        copied.iter().any(|c| c.contains("Rain again")),
        "{copied:?}"
    );
    assert!(
        copied.iter().any(|c| c.contains("anyone know when the")),
        "{copied:?}"
    );
    let shared = shared_phrases(&TUNE, &COPYCAT);
    assert!(
        shared
            .iter()
            .any(|c| c.contains("faith in humanity restored")),
        "{shared:?}"
    );
    // Placeholders break phrases: "{b} is" never joins words across the brand.
    assert_eq!(
        phrases_of("one two {b} three four five six"),
        ["three four five six"]
    );
    assert!(shared_phrases(&TUNE, &TUNE).len() > 100);
}

#[test]
fn families_seed_ranges_are_disjoint() {
    for i in [0, 1, 2, 999_997, 999_998, 999_999, 5_000_000, u32::MAX] {
        let (tune, test) = (Pool::Tune.seed(i), Pool::Test.seed(i));
        assert!(
            Pool::Tune.owns(tune) && !Pool::Test.owns(tune),
            "{i}: {tune}"
        );
        assert!(
            Pool::Test.owns(test) && !Pool::Tune.owns(test),
            "{i}: {test}"
        );
    }
    assert!(!Pool::Tune.owns(0) && !Pool::Test.owns(0));
    for f in Family::ALL {
        assert_eq!(Family::parse(f.name()), Some(f));
    }
}

#[test]
fn families_draws_never_panic_and_always_configure() {
    let cap = Limits {
        rate_cap: Some(0.5),
        complaint_share: None,
    };
    let grumbling = Limits {
        rate_cap: None,
        complaint_share: Some((0.3, 0.7)),
    };
    for f in Family::ALL {
        for pool in [Pool::Tune, Pool::Test] {
            for i in (0..400).chain([u32::MAX - 1, u32::MAX]) {
                for limits in [Limits::default(), cap, grumbling] {
                    let p = draw(f, pool.seed(i), pool, &limits);
                    assert!(p.end_ms > p.start_ms);
                    for b in &p.brands {
                        assert!(b.rate.is_finite() && b.rate > 0.0);
                        assert!((0.0..=1.0).contains(&b.complaint_share));
                        assert!((b.repost + b.quote + b.reply - 1.0).abs() < 1e-9);
                    }
                    for s in &p.stories {
                        assert!(s.duration_min().is_finite() && s.duration_min() > 0.0);
                        assert!(s.onset_ms() >= p.start_ms + 2 * DAY && s.onset_ms() < p.end_ms);
                    }
                    let cfg = Config::with_brands(brand_configs(&p));
                    assert!(cfg.is_ok(), "{f} {i}: {:?}", cfg.err());
                    let t = truth(&p);
                    assert_eq!(t.brands.len(), p.brands.len());
                }
            }
        }
    }
}

#[test]
fn families_complaint_background_changes_only_the_complaint_share() {
    let grumbling = Limits {
        rate_cap: None,
        complaint_share: Some((0.3, 0.7)),
    };
    for f in Family::ALL {
        for i in 0..50 {
            let seed = Pool::Tune.seed(i);
            let plain = draw(f, seed, Pool::Tune, &Limits::default());
            let mut other = draw(f, seed, Pool::Tune, &grumbling);
            for (a, b) in plain.brands.iter().zip(&mut other.brands) {
                // The slow burn sets its brand's share from the story's own ratios.
                let story_set = (0.03..=0.30).contains(&b.complaint_share);
                assert!(
                    story_set || (0.3..=0.7).contains(&b.complaint_share),
                    "{f} {i}"
                );
                b.complaint_share = a.complaint_share;
            }
            assert_eq!(plain.brands, other.brands, "{f} {i}");
            assert_eq!(plain.stories, other.stories, "{f} {i}");
        }
    }
}

#[test]
fn families_rates_and_counts_stay_finite() {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
    for l in [
        f64::NAN,
        f64::INFINITY,
        -1.0,
        0.0,
        1e-300,
        0.5,
        29.9,
        30.1,
        1e9,
    ] {
        let n = poisson(&mut rng, l);
        assert!(f64::from(n) <= 1e6 + 1e4, "{l} → {n}");
    }
    let c = Cascade {
        start_rate: 0.5,
        doubling_min: 4.0,
        peak_rate: 40.0,
        growth_cap_min: 240.0,
        decay_min: 30.0,
        repost: 0.3,
        quote: 0.1,
        reply: 0.5,
        unbranded_share: 0.8,
        reply_to_reply: 0.1,
        root_followers: 100,
        root: 0,
    };
    assert!((c.peak_min() - 4.0 * 80f64.log2()).abs() < 1e-9);
    assert!((c.rate_at(c.peak_min()) - 40.0).abs() < 1e-6);
    assert!((c.rate_at(8.0) / c.rate_at(4.0) - 2.0).abs() < 1e-9);
    let w = Wave {
        peak_rate: 5.0,
        rise_min: 10.0,
        hold_min: 20.0,
        decay_min: 15.0,
        question_share: 0.1,
        reply_share: 0.1,
    };
    assert_eq!(w.rate_at(-1.0), 0.0);
    assert_eq!(w.rate_at(15.0), 5.0);
    assert!(w.rate_at(w.duration_min()) < 0.3);
}

fn line(at: &str, action: &str, severity: &str, category: &str, teams: &[&str]) -> AlertRecord {
    let teams: Vec<String> = teams.iter().map(|t| format!("{t:?}")).collect();
    serde_json::from_str(&format!(
        r#"{{"at":"{at}","action":"{action}","incident":"x-1","brand":"BRAND","severity":"{severity}",
        "category":"{category}","teams":[{}],"summary":"s","metrics":{{"mentions":1,"rate_per_min":1.0,
        "baseline_per_min":1.0,"doubling_time_s":null,"negative_share":0.0,"reach":0,"unique_authors":1}},
        "top_posts":[],"terms":[],"dedup_key":"k"}}"#,
        teams.join(",")
    ))
    .unwrap()
}

#[test]
fn families_judge_counts_false_pages_wrong_teams_and_deadlines() {
    let mut p = draw(
        Family::Misconduct,
        Pool::Test.seed(0),
        Pool::Test,
        &Limits::default(),
    );
    let super::params::Story::Misconduct {
        ref mut onset_ms,
        ref mut cascade,
        ..
    } = p.stories[0]
    else {
        panic!("misconduct draws a misconduct story");
    };
    // Onset 2026-01-08T10:00Z; deadline 60 min (doubling 10 min).
    let onset = super::params::EPOCH_MS + 3 * DAY + 10 * 60 * MINUTE;
    *onset_ms = onset;
    cascade.doubling_min = 10.0;
    p.start_ms = super::params::EPOCH_MS;
    p.end_ms = onset + 10 * 60 * MINUTE;
    let t = truth(&p);
    let brand = t.brands[0].id.clone();
    let mut alerts = vec![
        // Background: a false page and a false watch.
        line(
            "2026-01-06T12:00:00Z",
            "trigger",
            "warning",
            "outage",
            &["support"],
        ),
        line(
            "2026-01-07T09:00:00Z",
            "trigger",
            "info",
            "safety",
            &["field-ops", "support"],
        ),
        // The story: a watch, a warning (below the minimum), the error page at +30 min.
        line(
            "2026-01-08T10:00:00Z",
            "trigger",
            "info",
            "conduct",
            &["field-ops", "support"],
        ),
        line(
            "2026-01-08T10:10:00Z",
            "escalate",
            "warning",
            "conduct",
            &["field-ops", "support"],
        ),
        line(
            "2026-01-08T10:30:00Z",
            "escalate",
            "error",
            "conduct",
            &["field-ops", "support"],
        ),
        // A page to marketing after the onset: wrong team.
        line(
            "2026-01-08T11:00:00Z",
            "trigger",
            "warning",
            "positive",
            &["marketing"],
        ),
        line(
            "2026-01-08T15:00:00Z",
            "resolve",
            "critical",
            "conduct",
            &["field-ops"],
        ),
    ];
    for a in &mut alerts {
        a.brand = brand.clone();
    }
    let o = judge(&p, &t, &alerts, 10);
    assert_eq!(o.false_pages, 1);
    assert_eq!(o.false_pages_first_day, 0, "2026-01-06T12:00Z is day two");
    assert_eq!(o.false_watches, 1);
    assert_eq!(o.event_pages, 3);
    assert_eq!(o.wrong_team_pages, 1);
    assert_eq!(o.expectations.len(), 1);
    assert_eq!(o.expectations[0].delay_min, Some(30.0));
    assert!(o.expectations[0].met && o.ok);
    assert_eq!(o.max_severity, Some(crate::domain::Severity::Error));
    assert!((o.background_brand_days - 3.0 - 10.0 / 24.0).abs() < 1e-9);
    // The same page after the deadline is late: measured, not met.
    alerts[4].at = String::from("2026-01-08T11:30:00Z");
    let late = judge(&p, &t, &alerts, 10);
    assert_eq!(late.expectations[0].delay_min, Some(90.0));
    assert!(!late.expectations[0].met && !late.ok);
    // Another brand's page is not this story's page.
    alerts[4].brand = String::from("someone-else");
    let other = judge(&p, &t, &alerts, 10);
    assert_eq!(other.expectations[0].delay_min, None);
}

#[test]
fn families_generate_survives_out_of_range_parameters() {
    let mut p = draw(
        Family::Misconduct,
        Pool::Test.seed(0),
        Pool::Test,
        &Limits::default(),
    );
    p.end_ms = p.start_ms + 6 * 60 * 60_000;
    p.stories.clear();
    p.typo_rate = f64::NAN;
    p.bot_share = 7.0;
    p.brands[0].rate = 0.2;
    p.brands[0].reaction_share = -1.0;
    p.brands[0].unbranded_share = f64::NAN;
    let g = super::generate::generate(&p);
    assert_eq!(g.mentions.len(), g.labels.len());
}

#[test]
fn the_slow_burn_bound_is_the_expected_evidence_crossing_the_threshold() {
    use super::params::slow_burn_oracle_min;
    let bound =
        |per_min: f64| slow_burn_oracle_min(|_| per_min, 15.0, 240.0, 60.0, 30.0, 13.67, 330.0);
    // Complaints at a usual 1 a minute, rising 15x over four hours: the evidence a minute is
    // m ln m − m + 1 at multiplier m = 15^(t/240); summed, it passes 13.67 at 75 minutes.
    assert_eq!(bound(1.0), Some(75.0));
    // More complaints, more evidence a minute: monotone, and a quiet stream never gets there
    // in the story's time.
    let ladder: Vec<f64> = [0.03, 0.1, 0.3, 1.0, 3.0, 10.0]
        .iter()
        .map(|&c| bound(c).unwrap())
        .collect();
    assert!(ladder.windows(2).all(|w| w[0] > w[1]), "{ladder:?}");
    assert_eq!(bound(0.001), None);
    assert_eq!(bound(0.0), None);
    // A slow burn's truth carries its bound; other stories have none.
    for (family, has) in [(Family::SlowBurnOutage, true), (Family::SharpOutage, false)] {
        let p = draw(family, 7, Pool::Tune, &Limits::default());
        let t = truth(&p);
        assert_eq!(t.stories[0].oracle_min.is_some(), has, "{family:?}");
    }
}

#[test]
fn families_seed_flag_picks_those_seeds_of_the_pool_and_refuses_others() {
    use super::runner::{FamiliesArgs, FamiliesError, Options};
    let args = |pool: &str, seed: Vec<u64>| FamiliesArgs {
        seeds: 20,
        pool: pool.into(),
        family: Vec::new(),
        model: None,
        json: false,
        jobs: Some(1),
        rate_cap: None,
        complaint_background: None,
        write_runs: None,
        seed,
    };
    let o = Options::from_args(&args("tune", vec![78, 22, 78])).unwrap();
    assert_eq!(o.only_seeds, [22, 78], "sorted, each once");
    assert_eq!(o.seeds, 2, "the report counts the seeds it ran");
    let all = Options::from_args(&args("tune", Vec::new())).unwrap();
    assert!(all.only_seeds.is_empty());
    assert_eq!(all.seeds, 20);
    let test_seed = Pool::Test.seed(0);
    match Options::from_args(&args("tune", vec![22, test_seed])) {
        Err(FamiliesError::SeedOutsidePool { seed, pool }) => {
            assert_eq!((seed, pool), (test_seed, Pool::Tune));
        }
        other => panic!("a test seed on the tuning pool: {other:?}"),
    }
}
