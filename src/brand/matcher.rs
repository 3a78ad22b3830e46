//! Text matching of every configured brand at once.
//!
//! # Design
//!
//! All terms, handles, hashtags and exclude phrases of all brands are compiled into **one**
//! Aho-Corasick automaton (`MatchKind::Standard`, overlapping search, so that a phrase of one
//! brand never hides a shorter or overlapping phrase of another, and an exclude phrase never
//! hides the term it contains). Identical pattern strings are stored once; a side table maps
//! each pattern to the `(brand, kind)` entries that use it. Above `DFA_MAX_PATTERNS`
//! patterns, those made of plain ASCII words are looked up by hash from the text's word runs
//! instead (`super::words`), and the rest go into NFAs of at most `NFA_CHUNK_PATTERNS`
//! each; every candidate occurrence, from either, passes the same rules below.
//!
//! # Case folding
//!
//! Patterns are lowercased char by char (`char::to_lowercase`, plus the length-changing
//! foldings `ß`/`ẞ` → `ss`, `İ` → `i`, `ς` → `σ`, see `lower_into`). The automaton is built with
//! `ascii_case_insensitive(true)`:
//!
//! * **ASCII text** (the common case) is searched as is, with no copy: ASCII case-insensitivity
//!   is exactly Unicode case-insensitivity for ASCII text.
//! * **Non-ASCII text** is first lowercased char by char into a reusable buffer (no allocation
//!   once warm), and the buffer is searched; boundary and URL checks then run on the buffer.
//!   Lowercasing may change byte lengths ("İ" → "i̇"), which is why no offsets are ever mapped
//!   back to the original text. Because patterns and buffer are valid UTF-8, every match starts
//!   and ends on a char boundary; all slicing still goes through `str::get`, so nothing panics.
//!
//! # Matching rules (docs/contracts.md §2)
//!
//! A *word char* is `char::is_alphanumeric`, `_`, or a combining diacritical mark. Scripts
//! written without spaces (Han, kana, Thai, Lao, Khmer, Myanmar) ask no boundary: a term edge
//! in such a script needs none, and such a char next to a term does not glue to it.
//!
//! * **Terms** are whole-word: when a term starts (ends) with a word char, the char before
//!   (after) it must not be a word char. A term directly preceded by `@` or `#` does not count:
//!   `@brightline` is a handle token and `#brightline` a hashtag token, matched only by the
//!   brand's handles / hashtags. Multi-word terms match with the spacing given in the config.
//! * **Handles** (`@name`, configured with or without the `@`) match `@name` tokens only: not
//!   preceded by a word char or `@` (so `x@name.com` is not a handle) and not followed by a word
//!   char or by `.`/`-` plus a word char (`@name.other` is a different, longer handle). A
//!   fediverse suffix is allowed: `@name@mastodon.social` counts as `@name`.
//! * **Hashtags** (`#tag`, configured with or without the `#`) match `#tag` tokens only: not
//!   preceded by a word char, `#` or `@`, not followed by a word char.
//! * **URLs and e-mail addresses never count**: a match whose whitespace-delimited token has
//!   `http://`, `https://` or `www.` before it is inside a URL; a match overlapping an
//!   `local@domain.tld` address is inside an e-mail address. A bare domain such as
//!   `brightline.com` without scheme or `www.` still counts as the term `brightline`.
//! * **Exclude phrases** (whole-word, like terms) apply to the same brand's *term* matches: a term
//!   occurrence lying inside an occurrence of an exclude phrase does not count; other occurrences
//!   in the same text still do. Handles and hashtags are never excluded.

use std::cell::RefCell;

use aho_corasick::{AhoCorasick, AhoCorasickKind, Input, MatchKind};
use rustc_hash::FxHashMap;

use super::words::{plain_words, WordIndex};
use crate::config::Brand;
use crate::domain::BrandIdx;

/// Up to this many distinct patterns the automaton is a full DFA (about 32 MiB at the limit).
const DFA_MAX_PATTERNS: usize = 20_000;

/// Above the DFA limit, patterns go into contiguous NFAs of at most this many patterns each.
/// Building one first builds a non-contiguous NFA about four times its final size, so one
/// automaton over 420,000 patterns (100,000 brands) peaked at 234 MiB to hold 55 MiB; in
/// chunks the peak is one chunk's, for one more scan of the text per chunk.
const NFA_CHUNK_PATTERNS: usize = 100_000;

/// Building the brand automaton failed.
#[derive(Debug, thiserror::Error)]
pub enum MatcherError {
    #[error("cannot build the brand automaton: {0}")]
    Build(#[from] aho_corasick::BuildError),
    #[error("too many brand patterns: {0}")]
    TooManyPatterns(usize),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    Term,
    Handle,
    Hashtag,
    Exclude,
}

/// One use of a pattern by a brand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Entry {
    brand: u32,
    kind: Kind,
    /// The brand has exclude phrases, so its term matches must be checked against them.
    excludable: bool,
}

/// Per pattern: its entries (a range of `BrandMatcher::entries`) and edge shape.
#[derive(Debug, Clone, Copy)]
struct PatternInfo {
    first: u32,
    end: u32,
    /// The pattern's first char is a word char (so a left word boundary is required).
    word_start: bool,
    /// The pattern's last char is a word char (so a right word boundary is required).
    word_end: bool,
}

/// A candidate occurrence in the searched text.
#[derive(Debug, Clone, Copy)]
struct Span {
    brand: u32,
    start: usize,
    end: usize,
}

/// Reusable per-call buffers; kept warm so that matching does not allocate per mention.
#[derive(Debug, Default)]
pub(crate) struct Scratch {
    lowered: String,
    terms: Vec<Span>,
    excludes: Vec<Span>,
    /// [`word_candidates`]' runs and lookup key.
    runs: Vec<(usize, usize)>,
    key: String,
    /// [`Hidden`]: the text's URL tails and e-mail addresses, found once per text.
    hidden: Hidden,
    /// For `excludes` sorted by brand and start: the furthest end among each brand's excludes
    /// up to and including this one.
    reach: Vec<usize>,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

/// Matches every configured brand against a text in one pass.
#[derive(Debug, Clone)]
pub struct BrandMatcher {
    /// One automaton, or above [`DFA_MAX_PATTERNS`] one per chunk of patterns, each with the
    /// index in `ac_ids` of its first pattern.
    ac: Vec<(AhoCorasick, usize)>,
    /// The `patterns` index of each automaton pattern, in automaton order.
    ac_ids: Vec<u32>,
    /// The patterns looked up by hash instead (above the DFA limit only), if any.
    words: Option<WordIndex>,
    patterns: Vec<PatternInfo>,
    entries: Vec<Entry>,
}

impl BrandMatcher {
    /// Compiles all brands' terms, handles, hashtags and exclude phrases into one automaton.
    pub fn new(brands: &[Brand]) -> Result<BrandMatcher, MatcherError> {
        BrandMatcher::build(brands, DFA_MAX_PATTERNS, NFA_CHUNK_PATTERNS, true)
    }

    /// The matcher as it was before the [`WordIndex`]: every pattern in automata. For
    /// `benches/matcher.rs`, which compares the two in one run; it matches the same brands.
    #[doc(hidden)]
    pub fn automata_only(brands: &[Brand]) -> Result<BrandMatcher, MatcherError> {
        BrandMatcher::build(brands, DFA_MAX_PATTERNS, NFA_CHUNK_PATTERNS, false)
    }

    /// [`BrandMatcher::new`] with the DFA limit and the NFA chunk size as parameters (tests
    /// use small ones); `hash_words`: above the DFA limit, plain-word patterns go into a
    /// [`WordIndex`] instead of the automata.
    fn build(
        brands: &[Brand],
        dfa_max: usize,
        chunk_patterns: usize,
        hash_words: bool,
    ) -> Result<BrandMatcher, MatcherError> {
        // Each distinct pattern once (the map owns it until the end), and one flat list of
        // (pattern, use) pairs: two allocations per pattern fewer than a list of uses each,
        // which at 100,000 brands was most of the build (malloc and free).
        let mut index: FxHashMap<String, u32> = FxHashMap::default();
        let mut pairs: Vec<(u32, Entry)> = Vec::new();
        for brand in brands {
            let excludable = brand.exclude.iter().any(|x| !x.trim().is_empty());
            let mut add = |pattern: String, kind: Kind| {
                if pattern.is_empty() {
                    return;
                }
                let next = index.len() as u32;
                let i = *index.entry(pattern).or_insert(next);
                pairs.push((
                    i,
                    Entry {
                        brand: brand.idx.0,
                        kind,
                        excludable,
                    },
                ));
            };
            for t in &brand.terms {
                add(normalise_phrase(t), Kind::Term);
            }
            for h in &brand.handles {
                add(normalise_prefixed(h, '@'), Kind::Handle);
            }
            for h in &brand.hashtags {
                add(normalise_prefixed(h, '#'), Kind::Hashtag);
            }
            for x in &brand.exclude {
                add(normalise_phrase(x), Kind::Exclude);
            }
        }
        if index.len() > u32::MAX as usize / 2 {
            return Err(MatcherError::TooManyPatterns(index.len()));
        }
        let mut strings: Vec<String> = vec![String::new(); index.len()];
        for (s, i) in index {
            strings[i as usize] = s;
        }
        // A pattern's uses in the order they were added, each once (a stable sort keeps it).
        pairs.sort_by_key(|&(i, _)| i);
        let mut entries: Vec<Entry> = Vec::with_capacity(pairs.len());
        let mut patterns = Vec::with_capacity(strings.len());
        let mut rest = pairs.as_slice();
        for s in &strings {
            let first = entries.len();
            let n = rest
                .iter()
                .take_while(|(i, _)| *i as usize == patterns.len())
                .count();
            for (_, e) in &rest[..n] {
                if !entries[first..].contains(e) {
                    entries.push(*e);
                }
            }
            rest = &rest[n..];
            patterns.push(PatternInfo {
                first: first as u32,
                end: entries.len() as u32,
                word_start: s.chars().next().is_some_and(is_spaced_word),
                word_end: s.chars().next_back().is_some_and(is_spaced_word),
            });
        }
        drop(pairs);

        let build = |kind: Option<AhoCorasickKind>, strings: &[String]| {
            AhoCorasick::builder()
                .match_kind(MatchKind::Standard)
                .ascii_case_insensitive(true)
                .kind(kind)
                .build(strings)
        };
        // A full DFA is the fastest scanner (~3x a contiguous NFA here) but costs ~1.6 KiB per
        // pattern (8 MiB for 1,000 brands × 5 patterns). Above `DFA_MAX_PATTERNS` plain-word
        // patterns are looked up by hash (one pass over the text, a few bytes per pattern), and
        // the rest, or everything if the DFA is refused, go into contiguous NFAs (~10x smaller
        // than a DFA) of at most `chunk_patterns` each.
        let over = strings.len() > dfa_max;
        let hashed = over && hash_words;
        let mut words = WordIndex::with_capacity(if hashed { strings.len() } else { 0 });
        let mut ac_ids = Vec::new();
        let mut ac_strings: Vec<String> = Vec::new();
        for (i, s) in strings.into_iter().enumerate() {
            match plain_words(&s) {
                Some(n) if hashed => words.insert(s, i as u32, n),
                _ => {
                    ac_ids.push(i as u32);
                    ac_strings.push(s);
                }
            }
        }
        let dfa = if over {
            None
        } else {
            build(Some(AhoCorasickKind::DFA), &ac_strings).ok()
        };
        let ac = match dfa {
            Some(ac) => vec![(ac, 0)],
            None if ac_strings.is_empty() => Vec::new(),
            None => {
                let mut out = Vec::new();
                let size = chunk_patterns.max(1);
                for (i, chunk) in ac_strings.chunks(size).enumerate() {
                    out.push((build(None, chunk)?, i * size));
                }
                out
            }
        };
        Ok(BrandMatcher {
            ac,
            ac_ids,
            words: (!words.is_empty()).then(|| {
                words.seal();
                words
            }),
            patterns,
            entries,
        })
    }

    /// Heap bytes held by the automaton and its pattern tables.
    pub fn memory_usage(&self) -> usize {
        self.ac
            .iter()
            .map(|(ac, _)| ac.memory_usage())
            .sum::<usize>()
            + self.ac_ids.capacity() * std::mem::size_of::<u32>()
            + self.words.as_ref().map_or(0, WordIndex::memory_usage)
            + self.patterns.capacity() * std::mem::size_of::<PatternInfo>()
            + self.entries.capacity() * std::mem::size_of::<Entry>()
    }

    /// Number of distinct patterns in the automaton.
    pub fn pattern_count(&self) -> usize {
        self.patterns.len()
    }

    /// Appends the matched brands (deduplicated, ascending [`BrandIdx`]) to `out`, which is
    /// cleared first.
    pub fn match_text(&self, text: &str, out: &mut Vec<BrandIdx>) {
        SCRATCH.with(|cell| match cell.try_borrow_mut() {
            Ok(mut scratch) => self.match_with(text, &mut scratch, out),
            Err(_) => self.match_with(text, &mut Scratch::default(), out),
        });
    }

    /// [`match_text`](Self::match_text) with caller-owned buffers.
    pub(crate) fn match_with(&self, text: &str, scratch: &mut Scratch, out: &mut Vec<BrandIdx>) {
        out.clear();
        if text.is_empty() || self.patterns.is_empty() {
            return;
        }
        let Scratch {
            lowered,
            terms,
            excludes,
            runs,
            key,
            hidden,
            reach,
        } = scratch;
        let hay: &str = if text.is_ascii() {
            text
        } else {
            lower_into(text, lowered);
            lowered.as_str()
        };
        terms.clear();
        excludes.clear();
        hidden.clear();
        // Spans are resolved only after every automaton has been scanned, and `out` is sorted
        // and deduplicated at the end, so the chunks' order does not matter.
        let mut consider = |pattern: usize, start: usize, end: usize| {
            let Some(info) = self.patterns.get(pattern) else {
                return;
            };
            let Some(ctx) = Context::new(hay, start, end, info) else {
                return;
            };
            let list = self
                .entries
                .get(info.first as usize..info.end as usize)
                .unwrap_or(&[]);
            // Whether the occurrence is inside a URL or e-mail address: the text's URLs and
            // addresses are found at most once, each occurrence looked up in them.
            let mut is_hidden = || hidden.covers(hay, start, end);
            for e in list {
                if !ctx.accepts(e.kind) {
                    continue;
                }
                let span = Span {
                    brand: e.brand,
                    start,
                    end,
                };
                match e.kind {
                    Kind::Exclude => excludes.push(span),
                    Kind::Term if e.excludable => {
                        if !is_hidden() {
                            terms.push(span);
                        }
                    }
                    _ => {
                        if !is_hidden() {
                            out.push(BrandIdx(e.brand));
                        }
                    }
                }
            }
        };
        for (ac, first) in &self.ac {
            let Ok(iter) = ac.try_find_overlapping_iter(Input::new(hay)) else {
                out.clear();
                return;
            };
            for m in iter {
                if let Some(&p) = self.ac_ids.get(first + m.pattern().as_usize()) {
                    consider(p as usize, m.start(), m.end());
                }
            }
        }
        if let Some(words) = &self.words {
            words.find(hay, runs, key, |start, end, p| {
                consider(p as usize, start, end)
            });
        }
        // A term inside one of its brand's excludes is not a mention. Excludes sorted by
        // brand and start, with the furthest end so far: one binary search per term (a text
        // of a million repeated "brightline train" is linear, not terms × excludes).
        excludes.sort_unstable_by_key(|x| (x.brand, x.start));
        reach.clear();
        for (i, x) in excludes.iter().enumerate() {
            let before = i
                .checked_sub(1)
                .filter(|&j| excludes[j].brand == x.brand)
                .map_or(0, |j| reach[j]);
            reach.push(before.max(x.end));
        }
        for t in terms.iter() {
            let upto = excludes.partition_point(|x| (x.brand, x.start) <= (t.brand, t.start));
            let excluded = upto
                .checked_sub(1)
                .filter(|&j| excludes[j].brand == t.brand)
                .is_some_and(|j| reach[j] >= t.end);
            if !excluded {
                out.push(BrandIdx(t.brand));
            }
        }
        if out.len() > 1 {
            out.sort_unstable();
            out.dedup();
        }
    }
}

/// The chars around one occurrence and the pattern's edge shape.
struct Context {
    prev: Option<char>,
    next: Option<char>,
    /// The char after `next`.
    next2: Option<char>,
    word_start: bool,
    word_end: bool,
}

impl Context {
    /// `None` when the occurrence does not sit on char boundaries (never expected).
    fn new(hay: &str, start: usize, end: usize, info: &PatternInfo) -> Option<Context> {
        let before = hay.get(..start)?;
        let after = hay.get(end..)?;
        let mut rest = after.chars();
        let next = rest.next();
        Some(Context {
            prev: before.chars().next_back(),
            next,
            next2: rest.next(),
            word_start: info.word_start,
            word_end: info.word_end,
        })
    }

    fn word_bounded(&self) -> bool {
        let glued_before = self.word_start && self.prev.is_some_and(is_spaced_word);
        let glued_after = self.word_end && self.next.is_some_and(is_spaced_word);
        !(glued_before || glued_after)
    }

    fn accepts(&self, kind: Kind) -> bool {
        match kind {
            Kind::Exclude => self.word_bounded(),
            Kind::Term => {
                self.word_bounded() && !(self.word_start && matches!(self.prev, Some('@' | '#')))
            }
            Kind::Handle => {
                let glued_before = matches!(self.prev, Some(c) if is_word(c) || c == '@');
                let glued_after = self.next.is_some_and(is_word);
                let longer_handle =
                    matches!(self.next, Some('.' | '-')) && self.next2.is_some_and(is_word);
                !(glued_before || glued_after || longer_handle)
            }
            Kind::Hashtag => {
                let glued_before =
                    matches!(self.prev, Some(c) if is_word(c) || c == '#' || c == '@');
                !(glued_before || self.next.is_some_and(is_word))
            }
        }
    }
}

/// Alphanumeric, `_`, or a combining mark (which continues the word of its base char).
fn is_word(c: char) -> bool {
    c.is_alphanumeric()
        || c == '_'
        || matches!(c, '\u{300}'..='\u{36f}'
            | '\u{1ab0}'..='\u{1aff}'
            | '\u{1dc0}'..='\u{1dff}'
            | '\u{20d0}'..='\u{20ff}'
            | '\u{fe20}'..='\u{fe2f}')
}

/// A word char of a script written with spaces between words. Han, kana, Thai, Lao, Khmer and
/// Myanmar text has no spaces between words, so a boundary cannot be asked of it: a term
/// whose edge is such a char needs no boundary there, and such a char next to a term is not
/// glued to it ("Brightlineの技術者" names Brightline).
fn is_spaced_word(c: char) -> bool {
    is_word(c) && !is_unspaced_script(c)
}

fn is_unspaced_script(c: char) -> bool {
    matches!(c,
        '\u{0e00}'..='\u{0eff}'      // Thai, Lao
        | '\u{1000}'..='\u{109f}'    // Myanmar
        | '\u{1780}'..='\u{17ff}'    // Khmer
        | '\u{3040}'..='\u{30ff}'    // Hiragana, Katakana
        | '\u{31f0}'..='\u{31ff}'    // Katakana extensions
        | '\u{3400}'..='\u{4dbf}'    // CJK extension A
        | '\u{4e00}'..='\u{9fff}'    // CJK unified ideographs
        | '\u{f900}'..='\u{faff}'    // CJK compatibility ideographs
        | '\u{ff66}'..='\u{ff9f}'    // half-width Katakana
        | '\u{20000}'..='\u{2fa1f}') // CJK extensions B–F, compatibility supplement
}

/// Lowercases char by char into `buf`, with the full case foldings that change length or
/// differ by language: `ß`/`ẞ` → `ss`, `İ` → `i` (not `i` + combining dot), final `ς` → `σ`.
/// Patterns and text get the same folding, so "STRASSE" matches "straße" and "İSTANBUL"
/// matches "istanbul".
fn lower_into(text: &str, buf: &mut String) {
    buf.clear();
    buf.reserve(text.len());
    for c in text.chars() {
        match c {
            _ if c.is_ascii() => buf.push(c.to_ascii_lowercase()),
            'ß' | 'ẞ' => buf.push_str("ss"),
            'İ' => buf.push('i'),
            'ς' => buf.push('σ'),
            _ => buf.extend(c.to_lowercase()),
        }
    }
}

fn lowercase(text: &str) -> String {
    let mut s = String::new();
    lower_into(text, &mut s);
    s
}

/// A term or exclude phrase: trimmed and lowercased.
fn normalise_phrase(p: &str) -> String {
    lowercase(p.trim())
}

/// A handle or hashtag: trimmed, lowercased, with exactly one leading `prefix`; empty when
/// nothing is left after the prefix.
fn normalise_prefixed(p: &str, prefix: char) -> String {
    let body = p.trim().trim_start_matches(prefix);
    if body.is_empty() {
        return String::new();
    }
    let mut s = String::with_capacity(body.len() + 1);
    s.push(prefix);
    s.push_str(&lowercase(body));
    s
}

/// A text's URL tails and e-mail addresses, found in one pass the first time an occurrence
/// asks ([`Hidden::covers`]), so that a text of a million brand names in one token costs one
/// scan, not one per occurrence.
#[derive(Debug, Default)]
struct Hidden {
    found: bool,
    /// `[from, token end)`: the rest of a whitespace-delimited token from the end of its first
    /// `http://`, `https://` or `www.`; an occurrence starting there is part of a URL.
    urls: Vec<(usize, usize)>,
    /// `[local start, domain end)` of each e-mail address (`local@domain.tld`, not a fediverse
    /// `@name@server`); an occurrence overlapping one is part of it.
    emails: Vec<(usize, usize)>,
}

impl Hidden {
    fn clear(&mut self) {
        self.found = false;
        self.urls.clear();
        self.emails.clear();
    }

    /// Whether `[start, end)` lies inside a URL (`http://`, `https://`, `www.` earlier in the
    /// same whitespace-delimited token) or overlaps an e-mail address.
    fn covers(&mut self, hay: &str, start: usize, end: usize) -> bool {
        if hay.get(..start).is_none() || hay.get(end..).is_none() {
            return true;
        }
        if !self.found {
            self.find(hay);
        }
        // Both lists are sorted and their spans do not overlap one another.
        let u = self.urls.partition_point(|&(from, _)| from <= start);
        if u > 0 && start < self.urls[u - 1].1 {
            return true;
        }
        let e = self.emails.partition_point(|&(from, _)| from < end);
        e > 0 && start < self.emails[e - 1].1
    }

    fn find(&mut self, hay: &str) {
        self.found = true;
        let mut tok_start = None;
        for (i, c) in hay.char_indices().chain([(hay.len(), ' ')]) {
            match (c.is_whitespace(), tok_start) {
                (false, None) => tok_start = Some(i),
                (true, Some(t)) => {
                    self.token(hay, t, i);
                    tok_start = None;
                }
                _ => {}
            }
        }
    }

    /// The URL tail and the e-mail addresses of the token `hay[start..end]`.
    fn token(&mut self, hay: &str, start: usize, end: usize) {
        let Some(token) = hay.get(start..end) else {
            return;
        };
        let b = token.as_bytes();
        let url_from = [&b"http://"[..], b"https://", b"www."]
            .iter()
            .filter_map(|m| find_ci(b, m).map(|i| i + m.len()))
            .min();
        if let Some(from) = url_from {
            self.urls.push((start + from, end));
        }
        if !token.contains('@') {
            return;
        }
        for (i, c) in token.char_indices() {
            if c != '@' {
                continue;
            }
            let local_part = &token[..i];
            let local_len: usize = local_part
                .chars()
                .rev()
                .take_while(|&c| is_email_local(c))
                .map(char::len_utf8)
                .sum();
            if local_len == 0 {
                continue;
            }
            // `@name@server` is a fediverse handle, not an e-mail address.
            if local_part[..i - local_len].ends_with('@') {
                continue;
            }
            let domain_full = &token[i + 1..];
            let domain_len: usize = domain_full
                .chars()
                .take_while(|&c| c.is_alphanumeric() || c == '.' || c == '-')
                .map(char::len_utf8)
                .sum();
            let domain = domain_full[..domain_len].trim_end_matches(['.', '-']);
            if domain.starts_with('.') || !domain.contains('.') {
                continue;
            }
            let span = (start + i - local_len, start + i + 1 + domain.len());
            // Addresses of one token never overlap: each starts after the last one's `@`.
            match self.emails.last_mut() {
                Some(last) if last.1 > span.0 => last.1 = last.1.max(span.1),
                _ => self.emails.push(span),
            }
        }
    }
}

fn is_email_local(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '.' | '_' | '%' | '+' | '-')
}

/// Where `needle` first occurs in `hay`, ASCII case-insensitively.
fn find_ci(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len())
        .position(|w| w.eq_ignore_ascii_case(needle))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{BrandConfig, Config};

    fn brand(
        id: &str,
        terms: &[&str],
        handles: &[&str],
        tags: &[&str],
        excl: &[&str],
    ) -> BrandConfig {
        let v = |xs: &[&str]| xs.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        BrandConfig {
            id: id.to_string(),
            name: String::new(),
            terms: v(terms),
            handles: v(handles),
            hashtags: v(tags),
            exclude: v(excl),
            profile: None,
        }
    }

    /// Issue 20: above the DFA limit patterns are split over several automata; whatever the
    /// chunk size, every text matches the same brands as with one automaton (exclusions
    /// across chunks included).
    #[test]
    fn chunked_automata_match_exactly_as_one() {
        let cfg = Config::with_brands(vec![
            brand(
                "brightline",
                &["brightline plumbing", "brightline"],
                &["@brightlineplumb"],
                &["#brightline"],
                &[
                    "brightline train",
                    "brightline trains",
                    "brightline station",
                ],
            ),
            brand(
                "velora",
                &["velora motors", "velora"],
                &["@veloramotors"],
                &["#velora"],
                &[],
            ),
            brand(
                "northwind",
                &["northwind broadband", "northwind"],
                &["@northwindhelp"],
                &["#northwind"],
                &["northwind traders"],
            ),
            brand(
                "orchard",
                &["orchard mobile", "orchard"],
                &["@orchardmobile"],
                &["#orchardmobile"],
                &["apple orchard", "community orchard"],
            ),
            brand(
                "lumen",
                &["lumen energy", "lumen", "ルーメン"],
                &["@lumenenergy"],
                &["#lumen"],
                &[],
            ),
        ])
        .unwrap();
        let one = BrandMatcher::build(&cfg.brands, 0, usize::MAX, false).unwrap();
        assert_eq!(one.ac.len(), 1);
        let texts = [
            "brightline plumbing sent a guy drinking in his van @brightlineplumb",
            "took the brightline train to miami, lovely",
            "brightline train and brightline plumbing in one day",
            "#velora and #northwind both down?? @veloramotors",
            "northwind traders is not northwind broadband",
            "picked apples at the community orchard, orchard mobile has no signal there",
            "https://example.com/brightline is a link, mail me at x@velora.com",
            "ÉNERGIE: Lumen Energy a coupé le courant",
            "nothing to see",
            "ルーメンの停電がひどい",
            "Brightline Station was closed, BRIGHTLINE never came",
            "@northwindhelp @orchardmobile #lumen #velora brightline",
        ];
        let mut matched = 0;
        for chunk in [1, 2, 3, 7, 16] {
            let many = BrandMatcher::build(&cfg.brands, 0, chunk, false).unwrap();
            assert!(many.ac.len() > 1, "chunk {chunk}");
            for text in texts {
                let (mut a, mut b) = (Vec::new(), Vec::new());
                one.match_text(text, &mut a);
                many.match_text(text, &mut b);
                assert_eq!(a, b, "chunk {chunk}: {text:?}");
                matched += usize::from(!a.is_empty());
            }
        }
        assert_eq!(matched, 5 * 9, "nine of the texts name a brand");
    }

    fn matcher(brands: Vec<BrandConfig>) -> BrandMatcher {
        let cfg = Config::with_brands(brands).expect("valid config");
        BrandMatcher::new(&cfg.brands).expect("matcher builds")
    }

    fn brightline() -> BrandMatcher {
        matcher(vec![
            brand(
                "brightline",
                &["brightline plumbing", "brightline"],
                &["@brightlineplumb"],
                &["#brightline"],
                &["brightline train"],
            ),
            brand(
                "acme",
                &["acme corp", "ACME"],
                &["@acme"],
                &["#acmefail"],
                &[],
            ),
        ])
    }

    fn hits(m: &BrandMatcher, text: &str) -> Vec<u32> {
        let mut out = vec![BrandIdx(99)];
        m.match_text(text, &mut out);
        out.into_iter().map(|b| b.0).collect()
    }

    #[test]
    fn unspaced_scripts_match_without_spaces_around_terms() {
        let m = matcher(vec![
            brand("bl", &["ブライトライン", "brightline"], &[], &[], &[]),
            brand("hx", &["华夏银行"], &[], &[], &[]),
        ]);
        // Japanese and Chinese are written without spaces between words.
        assert_eq!(hits(&m, "ブライトラインの技術者が酔っていた"), [0]);
        assert_eq!(hits(&m, "Brightlineの技術者が酔っていた"), [0]);
        assert_eq!(hits(&m, "今天华夏银行的网站打不开"), [1]);
        // A Latin term glued to Latin letters is still no match.
        assert!(hits(&m, "brightlines are fine").is_empty());
    }

    #[test]
    fn case_folding_handles_dotted_i_and_sharp_s() {
        let m = matcher(vec![
            brand("ist", &["istanbul kebab"], &[], &[], &[]),
            brand("str", &["straße"], &[], &[], &[]),
        ]);
        assert_eq!(hits(&m, "İSTANBUL KEBAB is closed"), [0]);
        assert_eq!(hits(&m, "the STRASSE app is down"), [1]);
        assert_eq!(hits(&m, "die Straße App geht nicht"), [1]);
        assert_eq!(hits(&m, "DIE STRAẞE APP"), [1]);
    }

    #[test]
    fn punctuation_around_terms() {
        let m = brightline();
        for t in [
            "Brightline!",
            "(brightline)",
            "brightline's van",
            "I called BRIGHTLINE.",
            "\"brightline\"",
            "brightline,acme",
            "brightline",
            "-brightline-",
        ] {
            assert!(hits(&m, t).contains(&0), "{t:?}");
        }
    }

    #[test]
    fn substrings_do_not_match() {
        let m = brightline();
        for t in [
            "brightlines",
            "xbrightline",
            "brightline_x",
            "brightline2",
            "acmes",
            "pacme",
        ] {
            assert_eq!(hits(&m, t), Vec::<u32>::new(), "{t:?}");
        }
    }

    #[test]
    fn multi_word_terms() {
        let m = matcher(vec![brand("nr", &["Northern Rail"], &[], &[], &[])]);
        assert_eq!(hits(&m, "delays on northern rail again"), vec![0]);
        assert_eq!(hits(&m, "NORTHERN RAIL!!"), vec![0]);
        assert!(hits(&m, "northern railway").is_empty());
        assert!(hits(&m, "northern").is_empty());
    }

    #[test]
    fn unicode_terms() {
        let m = matcher(vec![
            brand("eclair", &["Éclair"], &[], &[], &[]),
            brand("tokyo", &["東京ガス"], &[], &[], &[]),
            brand("ist", &["İstanbul Kebap"], &[], &[], &[]),
            brand("munchen", &["münchen"], &[], &[], &[]),
        ]);
        assert_eq!(hits(&m, "ÉCLAIR is late"), vec![0]);
        assert_eq!(hits(&m, "my éclair order"), vec![0]);
        assert!(hits(&m, "éclairs").is_empty());
        assert!(hits(&m, "eclair").is_empty(), "accents are significant");
        assert_eq!(hits(&m, "東京ガス 😡"), vec![1]);
        assert_eq!(hits(&m, "🔥東京ガス🔥"), vec![1]);
        assert_eq!(hits(&m, "brightline🔥éclair🔥"), vec![0]);
        assert_eq!(hits(&m, "İSTANBUL KEBAP"), vec![2]);
        assert_eq!(hits(&m, "MÜNCHEN"), vec![3]);
        assert!(hits(&m, "münchenx").is_empty());
        // A combining mark continues the word.
        assert!(hits(&m, "éclair\u{301}").is_empty());
        // Odd inputs never panic.
        for t in ["İ", "ẞ", "Σ", "\u{0}", "ﬃ", "İİİİstanbul"] {
            let _ = hits(&m, t);
        }
    }

    #[test]
    fn handles_and_hashtags_are_tokens() {
        let m = brightline();
        assert_eq!(hits(&m, "hey @BrightlinePlumb where are you"), vec![0]);
        assert_eq!(hits(&m, "#Brightline sucks"), vec![0]);
        assert!(hits(&m, "brightlineplumb").is_empty(), "handle needs the @");
        assert!(hits(&m, "#brightlinetrain").is_empty());
        assert!(hits(&m, "@brightlineplumbing").is_empty());
        assert!(hits(&m, "@brightlineplumb.other").is_empty());
        assert_eq!(hits(&m, "@brightlineplumb."), vec![0]);
        assert_eq!(hits(&m, "@brightlineplumb@mastodon.social"), vec![0]);
        // Term preceded by @ or # is a handle/hashtag token, not the term.
        assert!(hits(&m, "@brightline").is_empty());
        assert!(hits(&m, "#acme").is_empty());
        assert_eq!(hits(&m, "#acmefail"), vec![1]);
        // Handles/hashtags given without their prefix still match only prefixed tokens.
        let cfg = Config::with_brands(vec![brand("x", &["x"], &[], &[], &[])]).expect("valid");
        let mut raw = cfg.brands[0].clone();
        raw.handles = vec!["ZETA".into()];
        raw.hashtags = vec!["zed".into()];
        let n = BrandMatcher::new(&[raw]).expect("builds");
        assert_eq!(hits(&n, "ping @ZETA"), vec![0]);
        assert!(hits(&n, "zeta").is_empty());
        assert!(hits(&n, "zed").is_empty());
        assert_eq!(hits(&n, "#Zed"), vec![0]);
    }

    #[test]
    fn hidden_spans_agree_with_the_per_occurrence_rule() {
        // The rule as it was, one scan per occurrence (quadratic on a long token): the
        // reference the one-pass `Hidden` must agree with on every span.
        fn reference(hay: &str, start: usize, end: usize) -> bool {
            let (Some(before), Some(after)) = (hay.get(..start), hay.get(end..)) else {
                return true;
            };
            let tok_start = before
                .char_indices()
                .rev()
                .find(|(_, c)| c.is_whitespace())
                .map_or(0, |(i, c)| i + c.len_utf8());
            let tok_end = after
                .char_indices()
                .find(|(_, c)| c.is_whitespace())
                .map_or(hay.len(), |(i, _)| end + i);
            let prefix = &before.as_bytes()[tok_start..];
            if [&b"http://"[..], b"https://", b"www."]
                .iter()
                .any(|m| find_ci(prefix, m).is_some())
            {
                return true;
            }
            let token = &hay[tok_start..tok_end];
            token
                .char_indices()
                .filter(|(_, c)| *c == '@')
                .any(|(i, _)| {
                    let local_part = &token[..i];
                    let local_len: usize = local_part
                        .chars()
                        .rev()
                        .take_while(|&c| is_email_local(c))
                        .map(char::len_utf8)
                        .sum();
                    if local_len == 0 || local_part[..i - local_len].ends_with('@') {
                        return false;
                    }
                    let d = &token[i + 1..];
                    let n: usize = d
                        .chars()
                        .take_while(|&c| c.is_alphanumeric() || c == '.' || c == '-')
                        .map(char::len_utf8)
                        .sum();
                    let domain = d[..n].trim_end_matches(['.', '-']);
                    if domain.starts_with('.') || !domain.contains('.') {
                        return false;
                    }
                    let at = tok_start + i;
                    start < at + 1 + domain.len() && end > at - local_len
                })
        }
        let texts = [
            "see https://acme.example/acme and www.Acme.com or HTTP://x/acme acme",
            "mail jo@acme.co.uk, acme@x.io or @acme@mastodon.social about acme",
            "a@b.c+d@e.fg acme.acme.acme@acme.acme hi@acme. x@.acme @@acme.io",
            "naïve@acmé.fr über acme wwW.acme ﬁhttps://acme",
            "brightline.brightline.brightline. brightline train brightline",
            "",
            "   acme   ",
        ];
        for hay in texts {
            let bounds: Vec<usize> = hay
                .char_indices()
                .map(|(i, _)| i)
                .chain([hay.len()])
                .collect();
            let mut hidden = Hidden::default();
            // Occurrences of trimmed patterns: non-empty, never starting at whitespace.
            for (k, &start) in bounds.iter().enumerate() {
                if hay[start..].starts_with(char::is_whitespace) {
                    continue;
                }
                for &end in &bounds[k + 1..] {
                    assert_eq!(
                        hidden.covers(hay, start, end),
                        reference(hay, start, end),
                        "{hay:?} [{start}, {end}) = {:?}",
                        &hay[start..end]
                    );
                }
            }
        }
    }

    #[test]
    fn a_long_token_of_brand_names_matches_once_in_one_pass() {
        let m = matcher(vec![brand("acme", &["acme"], &[], &[], &["acme rocket"])]);
        let mut out = Vec::new();
        m.match_text(&"acme.".repeat(100_000), &mut out);
        assert_eq!(out, vec![BrandIdx(0)]);
        m.match_text(&"acme rocket ".repeat(50_000), &mut out);
        assert!(out.is_empty(), "every acme is inside an exclude");
        m.match_text(&format!("{}acme", "acme rocket ".repeat(50_000)), &mut out);
        assert_eq!(out, vec![BrandIdx(0)]);
        m.match_text(&format!("https://x/{}", "acme.".repeat(100_000)), &mut out);
        assert!(out.is_empty(), "all inside one URL");
    }

    #[test]
    fn urls_and_emails_do_not_count() {
        let m = brightline();
        for t in [
            "see https://brightline.com/@brightlineplumb",
            "http://example.com/#brightline",
            "www.brightline.com",
            "(https://x.com/brightline)",
            "mail me at jo@brightline.com",
            "mail brightline@gmail.com",
            "x@brightlineplumb.com",
            "HTTPS://ACME.COM/acme",
        ] {
            assert!(hits(&m, t).is_empty(), "{t:?}");
        }
        assert_eq!(hits(&m, "https://x.com/a brightline"), vec![0]);
        assert_eq!(hits(&m, "brightline.com is down"), vec![0]);
        assert_eq!(hits(&m, "ask @acme or jo@gmail.com"), vec![1]);
    }

    #[test]
    fn exclusions() {
        let m = brightline();
        assert!(hits(&m, "the Brightline Train was late").is_empty());
        assert_eq!(
            hits(&m, "brightline train late, and brightline plumbing no-show"),
            vec![0]
        );
        assert_eq!(hits(&m, "brightline train, then brightline again"), vec![0]);
        // Handles and hashtags are not excluded.
        assert_eq!(hits(&m, "brightline train #brightline"), vec![0]);
    }

    #[test]
    fn two_brands_in_one_text() {
        let m = brightline();
        assert_eq!(hits(&m, "acme and brightline both"), vec![0, 1]);
        assert_eq!(hits(&m, "@acme #brightline @acme acme corp"), vec![0, 1]);
        // Shared term: both brands, and overlapping phrases of different brands.
        let n = matcher(vec![
            brand("a", &["apple"], &[], &[], &[]),
            brand("b", &["apple"], &[], &[], &[]),
            brand("c", &["apple pie"], &[], &[], &[]),
            brand("d", &["pie shop"], &[], &[], &[]),
        ]);
        assert_eq!(hits(&n, "apple pie shop"), vec![0, 1, 2, 3]);
    }

    #[test]
    fn out_is_cleared() {
        let m = brightline();
        let mut out = vec![BrandIdx(7), BrandIdx(3)];
        m.match_text("nothing here", &mut out);
        assert!(out.is_empty());
        m.match_text("", &mut out);
        assert!(out.is_empty());
    }

    /// The brands of the equivalence property below: terms, handles, hashtags and exclude
    /// phrases drawn from a small vocabulary, so that texts built from it hit them often.
    fn vocabulary_brands(picks: &[(u8, u8, u8)]) -> Config {
        const WORDS: [&str; 8] = [
            "acme", "corp", "north", "wind", "x_1", "b2b", "lumen", "pie",
        ];
        let word = |i: u8| WORDS[usize::from(i) % WORDS.len()];
        let brands = picks
            .iter()
            .enumerate()
            .map(|(i, &(a, b, kind))| {
                let one = word(a).to_string();
                let two = format!("{} {}", word(a), word(b));
                // Every brand has a plain handle and hashtag besides its terms.
                let handles = vec![format!("@{}", word(b))];
                let tags = vec![format!("#{one}")];
                let (terms, excl) = match kind % 6 {
                    0 => (vec![one], vec![]),
                    1 => (vec![two], vec![]),
                    2 => (vec![one.clone()], vec![two]),
                    3 => (
                        vec![format!("{one}_{}", word(b))],
                        vec![format!("{two} {one}")],
                    ),
                    // Not plain: stays in the automaton beside the hashed ones.
                    4 => (vec![format!("{one}-{}", word(b)), "lumen é".into()], vec![]),
                    _ => (vec![format!("{two} {}", word(a ^ b))], vec![]),
                };
                BrandConfig {
                    id: format!("b{i}"),
                    name: String::new(),
                    terms,
                    handles,
                    hashtags: tags,
                    exclude: excl,
                    profile: None,
                }
            })
            .collect();
        Config::with_brands(brands).expect("valid config")
    }

    /// Issue 20: plain-word patterns looked up by hash match exactly as in the automaton, on
    /// the hand-picked texts of the chunk test.
    #[test]
    fn hashed_words_match_exactly_as_the_automaton_on_known_texts() {
        let cfg = vocabulary_brands(&[
            (0, 1, 0),
            (2, 3, 1),
            (0, 1, 2),
            (6, 0, 3),
            (0, 1, 4),
            (7, 0, 5),
        ]);
        let one = BrandMatcher::build(&cfg.brands, usize::MAX, usize::MAX, true).unwrap();
        let hashed = BrandMatcher::build(&cfg.brands, 0, usize::MAX, true).unwrap();
        assert!(one.words.is_none() && hashed.words.is_some());
        let mut matched = 0;
        for text in [
            "ACME is down, acme corp too",
            "north wind and NORTH  WIND",
            "@lumen #lumen lumen@example.com https://x.org/lumen",
            "acme-corp and acmé and _acme and acme_",
            "pie acme pie, pie acme pie x_1",
            "lumen é ルーメンacmeの",
        ] {
            let (mut a, mut b) = (Vec::new(), Vec::new());
            one.match_text(text, &mut a);
            hashed.match_text(text, &mut b);
            assert_eq!(a, b, "{text:?}");
            matched += a.len();
        }
        assert!(matched >= 10, "{matched}");
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(1024))]
        /// Issue 20: for any brands and any text built from their words and tricky separators,
        /// the hashed index and the automaton give the same brands.
        #[test]
        fn hashed_words_match_exactly_as_the_automaton(
            picks in proptest::collection::vec((0u8..8, 0u8..8, 0u8..6), 1..12),
            parts in proptest::collection::vec(
                (
                    proptest::sample::select(vec![
                        " ", " ", " ", "  ", "@", "@", "#", "#", "_", "-", ".", ",", "ルーメン",
                        "https://", "www.", "x@y.com ", "\u{301}", "İ", "\n", "K", "é", "",
                    ]),
                    proptest::sample::select(vec![
                        "acme", "CORP", "North", "wind", "x_1", "B2B", "lumen", "pie", "Pie",
                    ]),
                ),
                0..16,
            ),
        ) {
            let cfg = vocabulary_brands(&picks);
            let one = BrandMatcher::build(&cfg.brands, usize::MAX, usize::MAX, true).unwrap();
            let hashed = BrandMatcher::build(&cfg.brands, 0, 3, true).unwrap();
            let text: String = parts.iter().flat_map(|(sep, word)| [*sep, *word]).collect();
            let (mut a, mut b) = (Vec::new(), Vec::new());
            one.match_text(&text, &mut a);
            hashed.match_text(&text, &mut b);
            proptest::prop_assert_eq!(a, b, "{:?}", text);
        }

        #[test]
        fn tricky_neighbourhoods_never_panic(
            a in "[a-zA-Z@#./:_ \\-éİΣ😡\u{301}w]{0,30}",
            b in "[a-zA-Z@#./:_ \\-éİΣ😡\u{301}w]{0,30}",
        ) {
            let m = brightline();
            let mut x = Vec::new();
            let mut y = Vec::new();
            for core in ["brightline", "@BrightlinePlumb", "#brightline", "acme corp", "ÉCLAIR"] {
                let text = format!("{a}{core}{b}");
                m.match_text(&text, &mut x);
                m.match_text(&text.to_ascii_uppercase(), &mut y);
                proptest::prop_assert_eq!(&x, &y);
                proptest::prop_assert!(x.windows(2).all(|w| w[0] < w[1]));
            }
        }

        #[test]
        fn never_panics_and_ascii_case_invariant(s in "\\PC{0,80}", t in "[ -~]{0,60}") {
            let m = brightline();
            let mut a = Vec::new();
            let mut b = Vec::new();
            m.match_text(&s, &mut a);
            m.match_text(&s.to_ascii_uppercase(), &mut b);
            proptest::prop_assert_eq!(&a, &b);
            m.match_text(&s.to_ascii_lowercase(), &mut b);
            proptest::prop_assert_eq!(&a, &b);
            let mixed = format!("{t} Brightline {s}brightline{t}@brightlineplumb{s}#ACME@{t}");
            m.match_text(&mixed, &mut a);
            m.match_text(&mixed.to_ascii_uppercase(), &mut b);
            proptest::prop_assert_eq!(&a, &b);
        }
    }
}
