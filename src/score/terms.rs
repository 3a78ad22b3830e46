//! Key-term extraction: the words that say what a burst of mentions is about.
//!
//! Role: turn a mention's text into the content words an incident summary and the clusterer
//! use ("drinking", "van", "gas"), and keep bounded per-incident counts of them.
//!
//! Inputs: raw mention text (any Unicode), and an [`Ignore`] list built from the brand's own
//! terms, handles and hashtags (those words say nothing about *what* happened).
//!
//! Outputs: [`key_terms`] yields normalised words (`detect::term_counts` keeps an incident's
//! most frequent ones).
//!
//! Tokenisation rules (shared with the classifier and SimHash through [`raw_words`]):
//! - the text is split on whitespace into chunks; a chunk holding `://`, starting with
//!   `www.`, or holding `@` (handles, e-mail addresses) is dropped whole;
//! - inside a chunk, a word is a maximal run of Unicode alphanumerics, with apostrophes
//!   (`'`, `’`, `ʼ`) allowed between two alphanumerics; everything else separates words, so
//!   `#GasLeak` gives the word `gasleak` (the `#` sign is dropped, the tag is kept as a word);
//! - [`normalize_word`] lowercases (Unicode-aware), drops a possessive `'s` and removes the
//!   remaining apostrophes (`didn't` → `didnt`).
//!
//! [`key_terms`] then drops: words shorter than 2 characters, numbers (no letter at all, or
//! digits followed by an ordinal/time/quantity suffix such as `3rd`, `10pm`, `24h`, `5k`; `5g`
//! is kept), a compact built-in English stopword list and the caller's [`Ignore`] list.
//!
//! Invariants: pure and deterministic; no allocation for words that are already lowercase
//! without apostrophes.

use std::borrow::Cow;

use rustc_hash::FxHashSet;

/// English stopwords, sorted and unique (a test keeps them so), apostrophes already removed.
///
/// Deliberately compact: function words, pronouns, auxiliaries and the commonest social-media
/// fillers. Negations (`not`, `never`, `didnt`, …) are stopwords here: they matter to the
/// classifier, which does not use this list, but not to a summary's key terms.
#[rustfmt::skip]
const STOPWORDS: &[&str] = &[
    "about", "above", "after", "again", "against", "all", "also", "am", "amp", "an", "and", "any",
    "anyone", "are", "arent", "as", "at", "be", "because", "been", "before", "being", "below",
    "between", "both", "but", "by", "can", "cant", "could", "couldnt", "did", "didnt", "do",
    "does", "doesnt", "doing", "done", "dont", "down", "during", "each", "even", "ever", "few",
    "for", "from", "further", "get", "gets", "getting", "going", "gonna", "got", "had", "hadnt",
    "has", "hasnt", "have", "havent", "having", "he", "hed", "her", "here", "hers", "herself",
    "hes", "him", "himself", "his", "how", "id", "if", "im", "in", "into", "is", "isnt", "it",
    "its", "itself", "ive", "just", "like", "lol", "me", "more", "most", "much", "my", "myself",
    "no", "nor", "not", "now", "of", "off", "oh", "ok", "okay", "on", "once", "one", "only", "or",
    "other", "our", "ours", "ourselves", "out", "over", "own", "really", "same", "she", "shes",
    "should", "since", "so", "some", "someone", "still", "such", "than", "that", "thats", "the",
    "their", "theirs", "them", "themselves", "then", "there", "theres", "these", "they", "theyre",
    "this", "those", "through", "to", "too", "u", "under", "until", "up", "ur", "us", "very",
    "via", "was", "wasnt", "we", "were", "werent", "what", "whats", "when", "where", "which",
    "while", "who", "whom", "why", "will", "with", "wont", "would", "wouldnt", "yeah", "yes",
    "yet", "you", "youll", "your", "youre", "yours", "yourself", "youve",
];

/// Number suffixes that keep a token a "number" (`3rd`, `10pm`, `24h`, `5k`, `2hrs`).
const NUMBER_SUFFIXES: &[&str] = &[
    "", "am", "h", "hr", "hrs", "k", "m", "min", "mins", "nd", "pm", "rd", "s", "st", "th",
];

fn is_apostrophe(c: char) -> bool {
    matches!(c, '\'' | '\u{2019}' | '\u{02BC}')
}

/// Whether a whitespace-separated chunk is a URL, handle or e-mail address (dropped whole).
fn is_dropped_chunk(chunk: &str) -> bool {
    chunk.contains("://")
        || chunk.contains('@')
        || chunk
            .get(..4)
            .is_some_and(|p| p.eq_ignore_ascii_case("www."))
}

/// Splits one chunk into raw word slices (original case, apostrophes kept).
fn chunk_words(chunk: &str) -> impl Iterator<Item = &str> {
    let mut rest = chunk;
    std::iter::from_fn(move || loop {
        let start = rest.find(char::is_alphanumeric)?;
        let tail = &rest[start..];
        let mut end = tail.len();
        let mut prev_alnum = false;
        let mut iter = tail.char_indices().peekable();
        while let Some((i, c)) = iter.next() {
            if c.is_alphanumeric() {
                prev_alnum = true;
                continue;
            }
            let next_alnum = iter.peek().is_some_and(|&(_, n)| n.is_alphanumeric());
            if is_apostrophe(c) && prev_alnum && next_alnum {
                prev_alnum = false;
                continue;
            }
            end = i;
            break;
        }
        let word = &tail[..end];
        rest = &tail[end..];
        if !word.is_empty() {
            return Some(word);
        }
    })
}

/// Raw word slices of `text` in order: URLs, handles and e-mail addresses skipped, original
/// case and inner apostrophes kept. Pass each through [`normalize_word`] before comparing.
pub fn raw_words(text: &str) -> impl Iterator<Item = &str> {
    text.split_whitespace()
        .filter(|chunk| !is_dropped_chunk(chunk))
        .flat_map(chunk_words)
}

/// Strips a trailing possessive `'s` (any apostrophe form).
fn strip_possessive(raw: &str) -> &str {
    let mut chars = raw.char_indices().rev();
    match (chars.next(), chars.next()) {
        (Some((_, 's' | 'S')), Some((i, a))) if is_apostrophe(a) => &raw[..i],
        _ => raw,
    }
}

/// Appends the normalised form of a raw word to `out`: lowercase, possessive `'s` dropped,
/// apostrophes removed.
pub fn push_normalized(raw: &str, out: &mut String) {
    for c in strip_possessive(raw).chars() {
        if is_apostrophe(c) {
            continue;
        }
        if c.is_ascii() {
            out.push(c.to_ascii_lowercase());
        } else {
            out.extend(c.to_lowercase());
        }
    }
}

/// The normalised form of a raw word, borrowed when it is already normal.
pub fn normalize_word(raw: &str) -> Cow<'_, str> {
    // Normal: nothing [`push_normalized`] would change (no apostrophe, and every character its
    // own lowercase, titlecase letters such as `ǅ` included).
    let normal = !raw.chars().any(|c| {
        is_apostrophe(c)
            || if c.is_ascii() {
                c.is_ascii_uppercase()
            } else {
                c.to_lowercase().ne(std::iter::once(c))
            }
    });
    if normal {
        Cow::Borrowed(raw)
    } else {
        let mut out = String::with_capacity(raw.len());
        push_normalized(raw, &mut out);
        Cow::Owned(out)
    }
}

fn is_stopword(word: &str) -> bool {
    // A hash set, not a binary search: one hash and one comparison instead of eight library
    // `memcmp` calls, for every word of every scored text.
    static SET: std::sync::OnceLock<FxHashSet<&'static str>> = std::sync::OnceLock::new();
    SET.get_or_init(|| STOPWORDS.iter().copied().collect())
        .contains(word)
}

/// A number: no letter at all, or leading digits followed by a known suffix.
fn is_number(word: &str) -> bool {
    if !word.chars().any(char::is_alphabetic) {
        return true;
    }
    let digits = word.bytes().take_while(u8::is_ascii_digit).count();
    digits > 0 && NUMBER_SUFFIXES.contains(&&word[digits..])
}

/// Words a brand's key terms must not contain: its own name, handles and hashtags.
#[derive(Debug, Clone, Default)]
pub struct Ignore {
    words: FxHashSet<Box<str>>,
}

impl Ignore {
    /// An empty ignore list.
    pub fn empty() -> Ignore {
        Ignore::default()
    }

    /// Builds an ignore list from phrases, handles and hashtags: each is split into words
    /// with the key-term rules (a leading `@` or `#` is stripped first, so `@brightlineplumb`
    /// ignores the word `brightlineplumb`).
    pub fn new<I, S>(phrases: I) -> Ignore
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut words = FxHashSet::default();
        for phrase in phrases {
            for chunk in phrase.as_ref().split_whitespace() {
                let chunk = chunk.trim_start_matches(['@', '#']);
                for raw in chunk_words(chunk) {
                    words.insert(Box::from(normalize_word(raw).as_ref()));
                }
            }
        }
        Ignore { words }
    }

    /// Whether a normalised word is ignored.
    pub fn contains(&self, word: &str) -> bool {
        self.words.contains(word)
    }

    pub fn len(&self) -> usize {
        self.words.len()
    }

    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }
}

/// A text's words as the keyword classifier and the key terms read them, tokenised once
/// ([`raw_words`], each [`push_normalized`]): `canon` holds them padded with spaces
/// (`" w1  w2 "`, the form the classifier's automaton runs on) and `starts` the byte offset of
/// each word's leading space.
#[derive(Debug, Clone, Default)]
pub struct Words {
    pub canon: String,
    pub starts: Vec<usize>,
}

impl Words {
    pub fn of(text: &str) -> Words {
        let mut w = Words {
            canon: String::with_capacity(text.len() + text.len() / 2 + 8),
            starts: Vec::with_capacity(text.len() / 4 + 1),
        };
        for raw in raw_words(text) {
            w.starts.push(w.canon.len());
            w.canon.push(' ');
            push_normalized(raw, &mut w.canon);
            w.canon.push(' ');
        }
        w
    }

    /// How many words.
    pub fn len(&self) -> usize {
        self.starts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.starts.is_empty()
    }

    /// The `i`-th normalised word ("" past the end).
    pub fn word(&self, i: usize) -> &str {
        let Some(&start) = self.starts.get(i) else {
            return "";
        };
        let end = self.starts.get(i + 1).copied().unwrap_or(self.canon.len());
        self.canon.get(start + 1..end - 1).unwrap_or("")
    }

    /// The normalised words, in order.
    pub fn iter(&self) -> impl Iterator<Item = &str> + '_ {
        (0..self.len()).map(|i| self.word(i))
    }
}

/// [`key_terms`] of words already tokenised.
pub fn key_terms_of<'a>(words: &'a Words, ignore: &'a Ignore) -> impl Iterator<Item = &'a str> {
    words.iter().filter(move |&w| is_key_term(w, ignore))
}

fn is_key_term(w: &str, ignore: &Ignore) -> bool {
    w.chars().nth(1).is_some() && !is_number(w) && !is_stopword(w) && !ignore.contains(w)
}

pub use crate::domain::terms::TermList;

/// The key terms of `text`, in order of appearance (repeats included).
///
/// Yields borrowed slices for words already in normal form, so a lowercase text costs no
/// allocation per word.
pub fn key_terms<'a>(text: &'a str, ignore: &'a Ignore) -> impl Iterator<Item = Cow<'a, str>> {
    raw_words(text)
        .map(normalize_word)
        .filter(move |w| is_key_term(w, ignore))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn terms(text: &str, ignore: &Ignore) -> Vec<String> {
        key_terms(text, ignore).map(Cow::into_owned).collect()
    }

    #[test]
    fn stopwords_are_sorted_and_unique() {
        assert!(STOPWORDS.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn key_terms_drop_urls_handles_numbers_and_stopwords() {
        let got = terms(
            "So the PLUMBER they sent is drinking in his van @brightlineplumb \
             https://t.co/xyz at 10pm, 3rd time! 42",
            &Ignore::empty(),
        );
        assert_eq!(got, ["plumber", "sent", "drinking", "van", "time"]);
    }

    #[test]
    fn key_terms_of_tokenised_words_are_the_key_terms_of_the_text() {
        let ignore = Ignore::new(["Brightline Plumbing", "@brightlineplumb"]);
        for text in [
            "",
            "So the PLUMBER they sent is drinking in his van @brightlineplumb https://t.co/x",
            "the engineer's van, the ENGINEER\u{2019}S tools; it's 3rd time!! 42 #GasLeak",
            "ǅemal's ǈubljana ᾈ İstanbul STRAẞE ΣΊΣΥΦΟΣ don\u{02BC}t",
            "a@b.com www.x.org ' '' rock'n'roll",
        ] {
            let words = Words::of(text);
            let of: Vec<&str> = key_terms_of(&words, &ignore).collect();
            let direct: Vec<String> = terms(text, &ignore);
            assert_eq!(of, direct, "{text:?}");
            assert_eq!(words.iter().count(), raw_words(text).count(), "{text:?}");
        }
    }

    #[test]
    fn key_terms_keep_hashtag_words_without_sign() {
        let got = terms("#GasLeak at my house #lumenmobile", &Ignore::empty());
        assert_eq!(got, ["gasleak", "house", "lumenmobile"]);
    }

    #[test]
    fn key_terms_respect_ignore_list() {
        let ignore = Ignore::new(["Brightline Plumbing", "@brightlineplumb", "#brightline"]);
        let got = terms(
            "Brightline plumbing engineer's van #brightline @brightlineplumb",
            &ignore,
        );
        assert_eq!(got, ["engineer", "van"]);
        assert!(ignore.contains("brightlineplumb"));
        assert_eq!(ignore.len(), 3);
    }

    #[test]
    fn key_terms_normalise_apostrophes_and_unicode_case() {
        let got = terms("He didn’t fix the ÉCOLE’s Straße", &Ignore::empty());
        assert_eq!(got, ["fix", "école", "straße"]);
    }

    #[test]
    fn key_terms_keep_alphanumeric_product_words() {
        let got = terms("no 5g since 9am, 24h, 2nd day", &Ignore::empty());
        assert_eq!(got, ["5g", "day"]);
    }

    #[test]
    fn key_terms_borrow_normal_words() {
        let ignore = Ignore::empty();
        assert!(key_terms("gas leak", &ignore).all(|w| matches!(w, Cow::Borrowed(_))));
    }

    #[test]
    fn raw_words_skip_urls_and_emails() {
        let got: Vec<&str> = raw_words("see www.x.com or mail a@b.com — it's 'quoted'").collect();
        assert_eq!(got, ["see", "or", "mail", "it's", "quoted"]);
    }
}
