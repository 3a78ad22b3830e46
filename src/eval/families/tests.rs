//! Unit tests of the families harness: pool disjointness (and that the checks can say no), no
//! copies of the demo generator's word banks, and disjoint seed ranges.

use super::phrases::{copied_phrases, phrases_of, shared_phrases, Phrases, TEST, TUNE};
use super::{Family, Pool};

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
