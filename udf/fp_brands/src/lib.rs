//! Arroyo UDF `fp_brands(text TEXT) -> TEXT`: the ids of the brands a text names, by
//! flashpoint's own brand matcher (whole words, handles, hashtags, exclude phrases),
//! comma-separated in configuration order; `NULL` when none (or the text is `NULL`).
//! Brands come from `FLASHPOINT_CONFIG` (a flashpoint TOML file) or, unset, the embedded
//! demo brands; loaded once per worker process.

use arroyo_udf_plugin::udf;

#[udf]
fn fp_brands(text: &str) -> Option<String> {
    flashpoint_udf::brands(text)
}
