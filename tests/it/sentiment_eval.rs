//! The sentiment models on the public test sets (`../shared/data/sentiment`): the trained
//! `linear` model must beat the lexicon on SemEval-2017 and TweetEval and keep its measured
//! macro-recall. Skips with a message when the data is absent.
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
    data.rated = None;
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
    // Measured 0.643 on the full SemEval-2017 test (models/README.md); the target of
    // 0.66 is not reached yet, so this guards the shipped level, not the target.
    let semeval = linear.sets[0].1.macro_recall;
    assert!(semeval >= 0.625, "SemEval-2017 macro-recall {semeval:.3}");
}
