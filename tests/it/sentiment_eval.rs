//! The sentiment models on the public test sets (`../shared/data/sentiment`): the trained
//! `linear` model must beat the lexicon on SemEval-2017, TweetEval and VADER's rated tweets and
//! keep the macro-recall target. Skips with a message when the data is absent.
//!
//! Debug builds score a fixed deterministic subset (every 4th tweet) to keep `cargo test`
//! fast; `flashpoint eval sentiment` scores everything.

use flashpoint::eval::sentiment::{evaluate, load};
use flashpoint::score::sentiment::model_by_name;

#[test]
fn linear_beats_lexicon_on_both_test_sets() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/sentiment");
    let Ok(mut data) = load(&dir) else {
        eprintln!("skipping: no sentiment data under {}", dir.display());
        return;
    };
    if data.labelled.len() < 2 {
        eprintln!(
            "skipping: SemEval-2017 or TweetEval test missing under {}",
            dir.display()
        );
        return;
    }
    let step = if cfg!(debug_assertions) { 4 } else { 1 };
    for set in &mut data.labelled {
        set.items = set.items.iter().step_by(step).cloned().collect();
    }
    let lexicon = evaluate(model_by_name("lexicon").unwrap().as_ref(), &data);
    let linear = evaluate(model_by_name("linear").unwrap().as_ref(), &data);
    for ((name, lin), (_, lex)) in linear.sets.iter().zip(&lexicon.sets) {
        eprintln!(
            "{name} (every {step}th): linear {:.3}, lexicon {:.3} macro-recall",
            lin.macro_recall, lex.macro_recall
        );
        assert!(lin.macro_recall > lex.macro_recall + 0.03, "{name}");
        assert!(lin.f1_pn > lex.f1_pn, "{name}");
        assert!(lin.accuracy > lex.accuracy, "{name}");
    }
    // The target; measured 0.673 on the full SemEval-2017 test (models/README.md),
    // 0.667 on the every-4th subset of debug builds.
    let semeval = linear.sets[0].1.macro_recall;
    assert!(semeval >= 0.66, "SemEval-2017 macro-recall {semeval:.3}");
    // VADER's own rated tweets, where the lexicon is strongest: `linear`'s blended score must
    // still correlate better with the human ratings (measured 0.893 vs 0.872).
    if let (Some(lin), Some(lex)) = (linear.pearson, lexicon.pearson) {
        eprintln!("VADER tweets Pearson r: linear {lin:.3}, lexicon {lex:.3}");
        assert!(lin > lex + 0.01, "linear {lin:.3} vs lexicon {lex:.3}");
    } else {
        eprintln!("VADER tweets absent: Pearson comparison skipped");
    }
}

/// `linear::SCORE_BLEND` is what its stated rule picks on VADER's non-tweet rated sets (a
/// retrained model or changed features must re-run the choice), and the blended score beats
/// both of its parts on those sets.
#[test]
fn shipped_score_blend_is_the_dev_choice() {
    use flashpoint::eval::sentiment::{blend_sets, choose_score_blend, load_snippets};
    use flashpoint::score::sentiment::linear::SCORE_BLEND;
    use flashpoint::score::sentiment::LinearModel;
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("data/vader-snippets");
    let sets = load_snippets(&dir).expect("the snippet sets are committed");
    assert_eq!(
        sets.iter().map(|s| s.items.len()).collect::<Vec<_>>(),
        [3708, 10605, 5190]
    );
    let model = LinearModel::embedded().unwrap();
    let sets = blend_sets(&sets, &|texts| {
        texts.iter().map(|t| Some(model.probabilities(t))).collect()
    });
    let (best, grid) = choose_score_blend(&sets);
    eprintln!("score blend grid: {grid:?}");
    assert_eq!(best, SCORE_BLEND);
    let at = |a: f32| grid.iter().find(|(x, _)| (x - a).abs() < 1e-6).unwrap().1;
    assert!(at(SCORE_BLEND) > at(0.0) && at(SCORE_BLEND) > at(1.0));
}

/// The held-out hand-labelled brand posts (`models/linear/gold/eval_voices_*`, a writer whose
/// posts were never trained on): `linear` was taught brand posts by four other writers and must
/// read this one's far better than the lexicon, without reading praise as complaint more often
/// than one time in three (measured: macro-recall 0.733 against 0.543; 30 of 111 positive posts
/// read negative).
#[test]
fn linear_reads_held_out_brand_posts() {
    use flashpoint::eval::sentiment::{add_hand_sets, Data, SENTIMENT_GOLD_DIR};
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(SENTIMENT_GOLD_DIR);
    let mut data = Data {
        labelled: Vec::new(),
        rated: None,
        snippets: Vec::new(),
    };
    assert_eq!(
        add_hand_sets(&mut data, &dir),
        1,
        "the held-out set is committed"
    );
    let lexicon = evaluate(model_by_name("lexicon").unwrap().as_ref(), &data);
    let linear = evaluate(model_by_name("linear").unwrap().as_ref(), &data);
    let (lin, lex) = (&linear.sets[0].1, &lexicon.sets[0].1);
    eprintln!(
        "eval_voices: linear {:.3}, lexicon {:.3} macro-recall",
        lin.macro_recall, lex.macro_recall
    );
    assert!(lin.macro_recall >= 0.70, "{:.3}", lin.macro_recall);
    assert!(lin.macro_recall > lex.macro_recall + 0.1);
    let model = model_by_name("linear").unwrap();
    let positives = &data.labelled[0].items;
    let praise: Vec<&str> = positives
        .iter()
        .filter(|t| t.label == 2)
        .map(|t| t.text.as_str())
        .collect();
    let read_negative = praise
        .iter()
        .filter(|t| model.score(t).label == flashpoint::domain::SentimentLabel::Negative)
        .count();
    eprintln!(
        "{read_negative} of {} positive posts read negative",
        praise.len()
    );
    assert!(read_negative * 3 <= praise.len(), "{read_negative}");
}
