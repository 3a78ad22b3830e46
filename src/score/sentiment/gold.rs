//! Hand-labelled posts shared by the trainers of the complaint model
//! ([`super::complaint::read_gold`]) and of `linear` ([`super::train::read_gold`]): one post
//! per line, one file per domain and class, and the rule that keeps the held-out domains out
//! of training.

/// Name of the domain held out of training: the readers skip it, and every domain named
/// `eval_<something>`, unless asked for them.
pub const GOLD_EVAL_DOMAIN: &str = "eval";

/// Whether a hand-labelled domain is held out of training ([`GOLD_EVAL_DOMAIN`] or
/// `eval_<something>`).
pub fn is_held_out(domain: &str) -> bool {
    domain
        .strip_prefix(GOLD_EVAL_DOMAIN)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('_'))
}

/// Reads one file of posts, one per line (blank lines skipped).
pub fn read_posts(path: &std::path::Path) -> std::io::Result<Vec<String>> {
    Ok(std::fs::read_to_string(path)?
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect())
}
