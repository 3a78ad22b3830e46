//! `fp_category` through the entry point the Arroyo host calls (`__run` with FFI arrays).

use flashpoint::score::classify::{Classifier, KeywordClassifier};
use flashpoint_udf::ffi::{call_text, INVALID_UTF8};

#[test]
fn fp_category_names_the_top_category_and_keeps_nulls() {
    let texts: [Option<&[u8]>; 6] = [
        Some(b"internet down again, total outage since this morning"),
        Some(b"they charged me twice, refund my double charge on the bill"),
        Some(b"had a sandwich"),
        None,
        Some(INVALID_UTF8),
        Some(b""),
    ];
    let out = call_text(fp_category::__run, &texts).expect("the UDF ran");
    assert_eq!(out.len(), texts.len());
    assert_eq!(out[0].as_deref(), Some("outage"));
    assert_eq!(out[1].as_deref(), Some("billing"));
    assert_eq!(out[2], None, "no category phrase: NULL");
    assert_eq!(out[3], None, "NULL text gives NULL");
    assert_eq!(out[5], None, "empty text: NULL");
    // The same code as the main crate, row by row (invalid UTF-8 after lossy repair).
    let classifier = KeywordClassifier::embedded();
    for (t, o) in texts.iter().zip(&out) {
        if let Some(t) = t {
            let text = String::from_utf8_lossy(t);
            let want = classifier
                .classify(&text)
                .top()
                .map(|(c, _)| c.as_str().to_owned());
            assert_eq!(*o, want, "{text}");
        }
    }
}

#[test]
fn fp_category_empty_batch() {
    assert_eq!(call_text(fp_category::__run, &[]), Some(Vec::new()));
}
