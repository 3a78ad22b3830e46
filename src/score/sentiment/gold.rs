//! Hand-labelled posts shared by the trainers of the complaint model
//! ([`super::complaint::read_gold`]) and of `linear` ([`super::train::read_gold`]): one post
//! per line, one file per domain and class ([`read_domains`]), and the rule that keeps the
//! held-out domains out of training.

use std::collections::BTreeSet;
use std::path::Path;

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
pub fn read_posts(path: &Path) -> std::io::Result<Vec<String>> {
    Ok(std::fs::read_to_string(path)?
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect())
}

/// The domains of `dir` (files `<domain><suffix>`, one per class), sorted by name: the training
/// ones, or (`training` false) only the held-out ones ([`is_held_out`]); each with its posts
/// per suffix, in the order of `suffixes`. A domain with only some of its files is an error,
/// not a silently one-sided set; an unreadable file is an error naming it.
pub fn read_domains(
    dir: &Path,
    suffixes: &[&str],
    training: bool,
) -> std::io::Result<Vec<(String, Vec<Vec<String>>)>> {
    let files: BTreeSet<String> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().to_str().map(str::to_owned))
        .collect();
    let names: BTreeSet<&str> = files
        .iter()
        .filter_map(|f| suffixes.iter().find_map(|s| f.strip_suffix(s)))
        .filter(|n| is_held_out(n) != training)
        .collect();
    names
        .into_iter()
        .map(|name| {
            let has = |s: &&&str| files.contains(&format!("{name}{s}"));
            if let (Some(present), Some(missing)) =
                (suffixes.iter().find(has), suffixes.iter().find(|s| !has(s)))
            {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    format!("{name}{present} has no {name}{missing} beside it"),
                ));
            }
            let posts = suffixes
                .iter()
                .map(|s| {
                    let path = dir.join(format!("{name}{s}"));
                    read_posts(&path).map_err(|e| {
                        std::io::Error::new(e.kind(), format!("{}: {e}", path.display()))
                    })
                })
                .collect::<std::io::Result<Vec<_>>>()?;
            Ok((name.to_owned(), posts))
        })
        .collect()
}
