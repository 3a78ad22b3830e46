//! Arroyo UDF `fp_sentiment(text TEXT) -> DOUBLE`: flashpoint's sentiment score in `[-1, 1]`
//! (the main crate's model: VADER `lexicon` by default, `FLASHPOINT_SENTIMENT_MODEL=linear`
//! for the trained one). `NULL` text gives `NULL`; invalid UTF-8 is scored after lossy repair.

use arroyo_udf_plugin::udf;

#[udf]
fn fp_sentiment(text: &str) -> f64 {
    flashpoint_udf::sentiment(text)
}
