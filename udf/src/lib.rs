//! Shared glue of flashpoint's Arroyo UDFs: the functions behind `fp_sentiment`,
//! `fp_category` and `fp_brands`, built from the main crate's own sentiment model, category
//! classifier and brand matcher (a path dependency, so it is the same code, not a copy).
//!
//! Role: the per-UDF crates (`fp_sentiment/`, `fp_category/`, `fp_brands/`) are one
//! `#[udf]` function each (Arroyo loads one UDF per dylib) that calls into this crate.
//!
//! Inputs: one text per row, as Arroyo passes it (`&str` read from an Arrow `Utf8` column;
//! `NULL` rows never reach these functions: the generated `__run` answers `NULL` for them).
//! Outputs: [`sentiment`] a score in `[-1, 1]`; [`category`] the top category name or `None`;
//! [`brands`] the matched brand ids, comma-separated in configuration order, or `None`.
//!
//! Invariants: never panics on any text. Arroyo imports Arrow arrays through the C data
//! interface without validating them, so a `Utf8` column may carry bytes that are not UTF-8;
//! every function re-checks its input ([`repaired`]) and scores the lossy repair (U+FFFD for
//! each bad sequence) instead. Models and the brand configuration are loaded once per process:
//!
//! | env | used by | default |
//! |---|---|---|
//! | `FLASHPOINT_CONFIG` | `fp_brands` | the embedded demo brands (`config/demo.toml`) |
//! | `FLASHPOINT_SENTIMENT_MODEL` | `fp_sentiment` | `lexicon` (VADER); also `linear` |
//!
//! A configuration or model that cannot be loaded makes every call panic with the reason;
//! the generated `__run` catches it and reports an error to Arroyo (the pipeline fails
//! loudly instead of silently matching nothing).

use std::borrow::Cow;
use std::sync::OnceLock;

use flashpoint::brand::BrandMatcher;
use flashpoint::config::Config;
use flashpoint::domain::BrandIdx;
use flashpoint::score::classify::{Classifier, KeywordClassifier};
use flashpoint::score::sentiment::{model_by_name, SentimentModel};

pub mod ffi;

/// The environment variable naming the brand configuration `fp_brands` uses.
pub const CONFIG_ENV: &str = "FLASHPOINT_CONFIG";
/// The environment variable naming the sentiment model `fp_sentiment` uses.
pub const MODEL_ENV: &str = "FLASHPOINT_SENTIMENT_MODEL";

/// `text` itself when its bytes are valid UTF-8, else their lossy repair.
///
/// Arrow's FFI import does not validate `Utf8` columns, so a `&str` handed to a UDF may hold
/// invalid bytes; reading them through `as_bytes` and validating is the sound way back.
pub fn repaired(text: &str) -> Cow<'_, str> {
    let bytes = text.as_bytes();
    match std::str::from_utf8(bytes) {
        Ok(_) => Cow::Borrowed(text),
        Err(_) => Cow::Owned(String::from_utf8_lossy(bytes).into_owned()),
    }
}

fn model() -> &'static Result<Box<dyn SentimentModel>, String> {
    static MODEL: OnceLock<Result<Box<dyn SentimentModel>, String>> = OnceLock::new();
    MODEL.get_or_init(|| {
        let name = std::env::var(MODEL_ENV).unwrap_or_else(|_| String::from("lexicon"));
        model_by_name(&name).map_err(|e| format!("{MODEL_ENV}={name}: {e}"))
    })
}

/// The sentiment score of `text` in `[-1, 1]` (the model's [`flashpoint::domain::Sentiment`]
/// score: VADER's compound for `lexicon`).
pub fn sentiment(text: &str) -> f64 {
    match model() {
        Ok(m) => f64::from(m.score(&repaired(text)).score),
        Err(e) => panic!("fp_sentiment: {e}"),
    }
}

fn classifier() -> &'static KeywordClassifier {
    static CLASSIFIER: OnceLock<KeywordClassifier> = OnceLock::new();
    CLASSIFIER.get_or_init(KeywordClassifier::embedded)
}

/// The best-scoring incident category of `text` (`conduct`, `safety`, `outage`, `billing`,
/// `service`, `positive`, `spam`), `None` when no category phrase matched.
pub fn category(text: &str) -> Option<String> {
    classifier()
        .classify(&repaired(text))
        .top()
        .map(|(c, _)| c.as_str().to_owned())
}

/// A brand configuration compiled for matching.
pub struct Brands {
    config: Config,
    matcher: BrandMatcher,
}

impl Brands {
    /// Loads the brands of the configuration file at `path`, or the embedded demo brands.
    pub fn load(path: Option<&str>) -> Result<Brands, String> {
        let config = match path {
            Some(p) => flashpoint::config::load(std::path::Path::new(p))
                .map_err(|e| format!("{CONFIG_ENV}={p}: {e}"))?,
            None => flashpoint::config::parse_str(
                flashpoint::app::demo::DEMO_CONFIG,
                "demo.toml",
                &|k| std::env::var(k).ok(),
            )
            .map_err(|e| format!("embedded demo brands: {e}"))?,
        };
        let matcher = BrandMatcher::new(&config.brands).map_err(|e| e.to_string())?;
        Ok(Brands { config, matcher })
    }

    /// The ids of the brands `text` names, comma-separated in configuration order; `None`
    /// when it names none. Ids are `[a-z0-9_-]+`, so the comma never needs escaping.
    pub fn matches(&self, text: &str) -> Option<String> {
        let mut found: Vec<BrandIdx> = Vec::new();
        self.matcher.match_text(&repaired(text), &mut found);
        if found.is_empty() {
            return None;
        }
        let ids: Vec<&str> = found
            .iter()
            .map(|&b| self.config.brand(b).id.as_str())
            .collect();
        Some(ids.join(","))
    }
}

fn configured_brands() -> &'static Result<Brands, String> {
    static BRANDS: OnceLock<Result<Brands, String>> = OnceLock::new();
    BRANDS.get_or_init(|| Brands::load(std::env::var(CONFIG_ENV).ok().as_deref()))
}

/// [`Brands::matches`] against the configuration named by `FLASHPOINT_CONFIG` (default: the
/// embedded demo brands), loaded on first use.
pub fn brands(text: &str) -> Option<String> {
    match configured_brands() {
        Ok(b) => b.matches(text),
        Err(e) => panic!("fp_brands: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repaired_keeps_valid_text_and_replaces_bad_bytes() {
        assert!(matches!(repaired("plain"), Cow::Borrowed("plain")));
        let bad = ffi::invalid_str_for_tests();
        assert_eq!(repaired(&bad).as_ref(), "\u{fffd}brightline \u{fffd}(");
    }

    #[test]
    fn brands_load_reports_a_missing_file() {
        let err = Brands::load(Some("no/such/flashpoint.toml"))
            .err()
            .unwrap_or_default();
        assert!(err.contains("no/such/flashpoint.toml"), "{err}");
    }

    #[test]
    fn demo_brands_match_in_config_order() {
        let b = Brands::load(None).unwrap();
        assert_eq!(
            b.matches("@veloramotors and Brightline Plumbing both failed me")
                .as_deref(),
            Some("brightline,velora")
        );
        assert_eq!(b.matches("the brightline train was late"), None);
    }
}
