//! `fp_sentiment` through the entry point the Arroyo host calls (`__run` with FFI arrays).

use flashpoint::score::sentiment::{Lexicon, SentimentModel};
use flashpoint_udf::ffi::{call_f64, INVALID_UTF8};

#[test]
fn fp_sentiment_scores_like_the_main_crate_and_keeps_nulls() {
    let texts: [Option<&[u8]>; 6] = [
        Some(b"I love Brightline, great service and so friendly!"),
        Some(b"worst plumber ever, terrible and rude"),
        Some(b""),
        None,
        Some(INVALID_UTF8),
        Some("caf\u{e9} \u{1f600} awful".as_bytes()),
    ];
    let out = call_f64(fp_sentiment::__run, &texts).expect("the UDF ran");
    assert_eq!(out.len(), texts.len(), "one result per row");
    let pos = out[0].unwrap();
    let neg = out[1].unwrap();
    assert!(pos > 0.05, "positive text: {pos}");
    assert!(neg < -0.05, "negative text: {neg}");
    assert_eq!(out[2], Some(0.0), "empty text is neutral");
    assert_eq!(out[3], None, "NULL text gives NULL");
    // Invalid UTF-8 is scored after lossy repair, never a crash or an error for the batch.
    let repaired = String::from_utf8_lossy(INVALID_UTF8);
    assert_eq!(out[4], Some(f64::from(Lexicon.score(&repaired).score)));
    // The same code as the main crate, row by row.
    for (t, o) in texts.iter().zip(&out) {
        if let Some(t) = t {
            let text = String::from_utf8_lossy(t);
            assert_eq!(*o, Some(f64::from(Lexicon.score(&text).score)), "{text}");
        }
    }
    assert!(out.iter().flatten().all(|s| (-1.0..=1.0).contains(s)));
}

#[test]
fn fp_sentiment_empty_batch() {
    assert_eq!(call_f64(fp_sentiment::__run, &[]), Some(Vec::new()));
}
