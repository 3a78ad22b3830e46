//! SimHash of a post's words: the near-duplicate fingerprint that the detector's duplicate
//! tracker and clusterer compare (carried in `Scored`, computed once per mention).
//!
//! Pure and deterministic (unseeded FxHash plus a 64-bit finaliser, `domain::feature_hash`).

use crate::domain::feature_hash;

/// Whether a whitespace-separated token is a handle or a URL (ignored by [`simhash`]).
fn is_handle_or_url(tok: &str) -> bool {
    tok.starts_with('@') || tok.contains("://") || tok.starts_with("www.")
}

/// `SPREAD[b]` has byte `i` set to bit `i` of `b`: adding it to a word of eight byte-wide
/// counters counts the set bits of one byte of a hash in one addition.
const SPREAD: [u64; 256] = {
    let mut t = [0u64; 256];
    let mut b = 0;
    while b < 256 {
        let mut i = 0;
        while i < 8 {
            if (b >> i) & 1 == 1 {
                t[b] |= 1 << (8 * i);
            }
            i += 1;
        }
        b += 1;
    }
    t
};

/// Words counted in the byte-wide counters before they are moved into `ones` (a counter
/// holds at most 255).
const PACKED_WORDS: u32 = 255;

/// SimHash of a text and the number of words it was built from.
///
/// Bit `i` of the hash is set when more words have bit `i` set in their hash than clear. The
/// set bits are counted eight bits at a time (`SPREAD`), not bit by bit: the same counts,
/// a tenth of the work per word.
pub fn simhash_counted(text: &str) -> (u64, usize) {
    let mut ones = [0u32; 64];
    let mut packed = [0u64; 8];
    let mut pending = 0u32;
    let mut word = String::new();
    let mut n = 0;
    let unpack = |packed: &mut [u64; 8], ones: &mut [u32; 64]| {
        for (j, p) in packed.iter_mut().enumerate() {
            for i in 0..8 {
                ones[8 * j + i] += ((*p >> (8 * i)) & 0xff) as u32;
            }
            *p = 0;
        }
    };
    for tok in text.split_whitespace() {
        if is_handle_or_url(tok) {
            continue;
        }
        word.clear();
        if tok.is_ascii() {
            for b in tok.bytes().filter(u8::is_ascii_alphanumeric) {
                word.push(char::from(b.to_ascii_lowercase()));
            }
            if !word.bytes().any(|b| b.is_ascii_alphabetic()) {
                continue;
            }
        } else {
            for c in tok.chars().filter(|c| c.is_alphanumeric()) {
                word.extend(c.to_lowercase());
            }
            if !word.chars().any(char::is_alphabetic) {
                continue;
            }
        }
        let h = feature_hash(&word);
        for (j, p) in packed.iter_mut().enumerate() {
            *p += SPREAD[((h >> (8 * j)) & 0xff) as usize];
        }
        pending += 1;
        if pending == PACKED_WORDS {
            unpack(&mut packed, &mut ones);
            pending = 0;
        }
        n += 1;
    }
    unpack(&mut packed, &mut ones);
    // Bit i: ones − (n − ones) > 0.
    let hash = ones
        .iter()
        .enumerate()
        .filter(|(_, &o)| 2 * o as usize > n)
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

    /// The bit-by-bit definition, for comparison.
    fn reference(text: &str) -> (u64, usize) {
        let mut acc = [0i64; 64];
        let mut n = 0;
        for tok in text.split_whitespace() {
            if is_handle_or_url(tok) {
                continue;
            }
            let word: String = tok
                .chars()
                .filter(|c| c.is_alphanumeric())
                .flat_map(char::to_lowercase)
                .collect();
            if !word.chars().any(char::is_alphabetic) {
                continue;
            }
            let h = feature_hash(&word);
            for (bit, a) in acc.iter_mut().enumerate() {
                *a += if (h >> bit) & 1 == 1 { 1 } else { -1 };
            }
            n += 1;
        }
        let hash = (0..64)
            .filter(|&b| acc[b] > 0)
            .fold(0u64, |h, b| h | (1 << b));
        (hash, n)
    }

    #[test]
    fn counting_a_byte_at_a_time_gives_the_bit_by_bit_hash() {
        let mut texts: Vec<String> = [
            "",
            "one",
            "the technician never showed up, useless",
            "Brightline fixed our boiler in an hour, quick and tidy!",
            "ÉCOLE fermée à cause de la grève @x https://y.example",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        // Past the 255 words a byte-wide counter holds, with ties and near-ties.
        for n in [254, 255, 256, 600, 1000] {
            texts.push((0..n).map(|i| format!("w{} ", i % 37)).collect());
        }
        texts.push("same same same same ".repeat(300));
        for t in &texts {
            assert_eq!(
                simhash_counted(t),
                reference(t),
                "{:?}",
                &t[..t.len().min(40)]
            );
        }
    }

    #[test]
    fn simhash_ignores_case_punctuation_numbers_handles_and_urls() {
        let a = simhash("WIN a free phone today @bob123 https://a.example/1 1234!!");
        let b = simhash("win a FREE phone, today! @alice https://c.example/2 9999");
        assert_eq!(a, b);
        assert_eq!(simhash(""), 0);
        assert_eq!(simhash("@who 123 https://x.example"), 0);
    }
}
