//! SimHash of a post's words: the near-duplicate fingerprint that the detector's duplicate
//! tracker and clusterer compare (carried in `Scored`, computed once per mention).
//!
//! Pure and deterministic (unseeded FxHash plus a 64-bit finaliser, `domain::feature_hash`).

use crate::domain::feature_hash;

/// Whether a whitespace-separated token is a handle or a URL (ignored by [`simhash`]).
fn is_handle_or_url(tok: &str) -> bool {
    tok.starts_with('@') || tok.contains("://") || tok.starts_with("www.")
}

/// SimHash of a text and the number of words it was built from.
pub fn simhash_counted(text: &str) -> (u64, usize) {
    let mut acc = [0i32; 64];
    let mut word = String::new();
    let mut n = 0;
    for tok in text.split_whitespace() {
        if is_handle_or_url(tok) {
            continue;
        }
        word.clear();
        for c in tok.chars().filter(|c| c.is_alphanumeric()) {
            word.extend(c.to_lowercase());
        }
        if !word.chars().any(char::is_alphabetic) {
            continue;
        }
        let h = feature_hash(&word);
        for (bit, a) in acc.iter_mut().enumerate() {
            *a += if (h >> bit) & 1 == 1 { 1 } else { -1 };
        }
        n += 1;
    }
    let hash = acc
        .iter()
        .enumerate()
        .filter(|(_, &a)| a > 0)
        .fold(0u64, |h, (bit, _)| h | (1 << bit));
    (hash, n)
}

/// 64-bit SimHash over a text's words: lowercased, punctuation stripped, tokens without a
/// letter (numbers), `@handles` and URLs skipped; each word hashed with FxHash plus a 64-bit
/// finaliser. A text without words gives 0.
pub fn simhash(text: &str) -> u64 {
    simhash_counted(text).0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simhash_ignores_case_punctuation_numbers_handles_and_urls() {
        let a = simhash("WIN a free phone today @bob123 https://a.example/1 1234!!");
        let b = simhash("win a FREE phone, today! @alice https://c.example/2 9999");
        assert_eq!(a, b);
        assert_eq!(simhash(""), 0);
        assert_eq!(simhash("@who 123 https://x.example"), 0);
    }
}
