//! Arroyo UDF `fp_category(text TEXT) -> TEXT`: the incident category flashpoint's keyword
//! classifier scores highest (`conduct`, `safety`, `outage`, `billing`, `service`,
//! `positive`, `spam`), `NULL` when no category phrase matched or the text is `NULL`.

use arroyo_udf_plugin::udf;

#[udf]
fn fp_category(text: &str) -> Option<String> {
    flashpoint_udf::category(text)
}
