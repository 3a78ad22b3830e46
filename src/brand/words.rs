//! The brand matcher's hashed word index for large configurations ([`WordIndex`]): patterns
//! made of plain ASCII words, looked up from the runs of word chars of a text instead of
//! scanned by an automaton whose size grows with the configuration. Used by
//! `super::matcher` above its DFA limit; it only finds candidate occurrences, which the
//! matcher then judges by the same rules as the automaton's.

use std::hash::BuildHasher;

use rustc_hash::FxHashMap;

/// Patterns made of plain ASCII words, looked up by hash (the automaton keeps the rest).
///
/// A *plain phrase* is one or more words of `[a-z0-9_]` joined by single spaces; a *plain
/// handle or hashtag* is `@` or `#` and one such word. Every occurrence of one that the
/// matching rules can accept is a candidate of [`word_candidates`]: its first char is a word
/// char whose left neighbour may not be a spaced word char, so it starts a maximal run of
/// `[A-Za-z0-9_]`; likewise it ends one; and its inner single spaces join consecutive runs. So
/// looking up each run and each chain of up to `max_words` runs (and each `@`/`#` before a
/// run, with the run) finds exactly the occurrences the automaton would report and the rules
/// accept, in one pass over the text whatever the number of patterns: the automaton's size
/// grows with the configuration (one scan per chunk above the DFA limit), this does not.
#[derive(Debug, Clone)]
pub(super) struct WordIndex {
    /// Pattern string → its index in `patterns`.
    phrases: FxHashMap<Box<str>, u32>,
    /// Most words in a plain phrase.
    max_words: usize,
    /// One bit per slot of a hash of each pattern (16 bits per pattern, so about one word of
    /// text in 16 that names no brand gets past it): most candidates are ordinary words, and
    /// this small table answers for them without touching the large map.
    filter: Vec<u64>,
}

impl WordIndex {
    /// An empty index with room for `capacity` patterns (one allocation when they all come).
    pub(super) fn with_capacity(capacity: usize) -> WordIndex {
        WordIndex {
            phrases: FxHashMap::with_capacity_and_hasher(capacity, Default::default()),
            max_words: 0,
            filter: Vec::new(),
        }
    }

    /// The filter word and bit of `key` in a filter of `words` words (a power of two): the
    /// high half of an FxHash of its bytes, which the map's own hashing of the key does not
    /// share.
    fn slot(key: &str, words: usize) -> (usize, u64) {
        let h = rustc_hash::FxBuildHasher.hash_one(key.as_bytes());
        let bit = (h >> 32) as usize & (words * 64 - 1);
        (bit / 64, 1 << (bit % 64))
    }

    /// Adds plain pattern `pattern` (of `words` words, [`plain_words`]), index `id` in the
    /// matcher's patterns.
    pub(super) fn insert(&mut self, pattern: String, id: u32, words: usize) {
        self.max_words = self.max_words.max(words);
        self.phrases.insert(pattern.into_boxed_str(), id);
    }

    pub(super) fn is_empty(&self) -> bool {
        self.phrases.is_empty()
    }

    /// Heap bytes: the table's slots (key, value, control byte), each key's bytes, the filter.
    pub(super) fn memory_usage(&self) -> usize {
        self.phrases.capacity() * (std::mem::size_of::<(Box<str>, u32)>() + 1)
            + self.phrases.keys().map(|k| k.len()).sum::<usize>()
            + self.filter.capacity() * 8
    }

    /// Calls `f(start, end, id)` for each occurrence in `hay` of one of the patterns, with
    /// [`word_candidates`]' buffers.
    pub(super) fn find(
        &self,
        hay: &str,
        runs: &mut Vec<(usize, usize)>,
        key: &mut String,
        mut f: impl FnMut(usize, usize, u32),
    ) {
        word_candidates(hay, self.max_words, runs, key, |start, end, key| {
            if let Some(id) = self.get(key) {
                f(start, end, id);
            }
        });
    }

    /// Builds the filter once every phrase is in.
    pub(super) fn seal(&mut self) {
        let bits = (self.phrases.len() * 16).next_power_of_two().max(64);
        let mut filter = vec![0u64; bits / 64];
        for key in self.phrases.keys() {
            let (word, bit) = WordIndex::slot(key, filter.len());
            filter[word] |= bit;
        }
        self.filter = filter;
    }

    fn get(&self, key: &str) -> Option<u32> {
        let (word, bit) = WordIndex::slot(key, self.filter.len());
        if self.filter.get(word).is_some_and(|w| w & bit != 0) {
            self.phrases.get(key).copied()
        } else {
            None
        }
    }
}

/// A char of a plain word ([`WordIndex`]).
fn is_plain(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// The number of words of a plain phrase, or 1 for a plain handle or hashtag; `None` for any
/// other pattern.
pub(super) fn plain_words(pattern: &str) -> Option<usize> {
    let body = pattern
        .strip_prefix('@')
        .or_else(|| pattern.strip_prefix('#'));
    if let Some(word) = body {
        return (!word.is_empty() && word.bytes().all(is_plain)).then_some(1);
    }
    let mut n = 0;
    for word in pattern.split(' ') {
        if word.is_empty() || !word.bytes().all(is_plain) {
            return None;
        }
        n += 1;
    }
    Some(n)
}

/// Calls `f(start, end, key)` for every span of `hay` that may be an accepted occurrence of a
/// plain pattern ([`WordIndex`]): each maximal run of `[A-Za-z0-9_]`, each chain of up to
/// `max_words` runs joined by single spaces, and each run with the `@` or `#` right before it;
/// `key` is the span ASCII-lowercased (the automaton's case rule).
fn word_candidates(
    hay: &str,
    max_words: usize,
    runs: &mut Vec<(usize, usize)>,
    key: &mut String,
    mut f: impl FnMut(usize, usize, &str),
) {
    let bytes = hay.as_bytes();
    runs.clear();
    let mut i = 0;
    while i < bytes.len() {
        if is_plain(bytes[i]) {
            let start = i;
            while i < bytes.len() && is_plain(bytes[i]) {
                i += 1;
            }
            runs.push((start, i));
        } else {
            i += 1;
        }
    }
    // Spans are ASCII (plain chars, spaces, `@`, `#`), so pushing bytes as chars is exact.
    let push_lowered = |key: &mut String, span: &[u8]| {
        key.extend(span.iter().map(|b| char::from(b.to_ascii_lowercase())));
    };
    for k in 0..runs.len() {
        let (start, mut end) = runs[k];
        if start > 0 && matches!(bytes[start - 1], b'@' | b'#') {
            key.clear();
            push_lowered(key, &bytes[start - 1..end]);
            f(start - 1, end, key);
        }
        // Each chain is the previous one and one more run: the key grows instead of being
        // lowered again from its start.
        key.clear();
        push_lowered(key, &bytes[start..end]);
        f(start, end, key);
        for n in 1..max_words {
            match runs.get(k + n) {
                Some(&(s, e)) if s == end + 1 && bytes[end] == b' ' => {
                    push_lowered(key, &bytes[end..e]);
                    end = e;
                }
                _ => break,
            }
            f(start, end, key);
        }
    }
}
