//! How plainly a mention names its brand: the signal that tells "Orchard, the company" from
//! "orchard" the place where apples grow.
//!
//! Role: a brand whose term is an ordinary word ("orchard", "maple", "lantern") is matched by
//! every post that uses the word. The matcher cannot know which meaning a post has; what it
//! can tell is *how* the post names the brand. This module grades that, per mention and brand:
//!
//! * [`Naming::Distinct`]: the post uses something only the brand is called: its `@handle`,
//!   its `#hashtag`, a multi-word term or the brand's multi-word name ("orchard energy"), or a
//!   single-word term capitalised inside a sentence ("my bill from Orchard"), as proper nouns
//!   are written;
//! * [`Naming::Plain`]: it names the brand only through single-word terms written in lower
//!   case or at the start of a sentence ("orchard picking today", "Orchard trees...");
//! * [`Naming::Thread`]: it does not name the brand at all (a reply attributed through its
//!   thread).
//!
//! The detector compares an incident's share of plain namings with the brand's usual share: a
//! surge that is plain far more often than the brand's own chatter is the ordinary word
//! trending, not the brand (see `detect::grade`). It judges the rise in two ways: the
//! incident's own evidence, and the brand's last 15 minutes with its usual chatter taken out
//! (an incident open for hours gathers the brand's chatter into its evidence, which dilutes
//! the first). For a brand with an invented name both shares stay alike, so nothing changes
//! for it.
//!
//! Inputs: the brand's configuration and the mention's text. Output: a [`Naming`]. Pure and
//! allocation-light: ASCII-case-insensitive searches over the original text (non-ASCII terms
//! are compared case-sensitively after Unicode lowercasing of both sides).

use crate::config::Brand;
use crate::domain::scored::Naming;

/// A brand's names prepared for [`Needles::naming`]: trimmed, lower-cased and prefixed once, not per
/// mention.
#[derive(Debug, Clone)]
pub struct Needles {
    /// Lower-cased `@handle`s, `#hashtag`s and multi-word terms (and the name, when it has
    /// several words): any of them in the lower-cased text names the brand distinctly.
    distinct: Vec<String>,
    /// Single-word terms capitalised as proper nouns are written (`Orchard`); terms whose first
    /// character has no case are left out (capitalisation says nothing about them).
    proper: Vec<String>,
    /// Single-word terms in lower case.
    plain: Vec<String>,
}

impl Needles {
    pub fn new(brand: &Brand) -> Needles {
        let prefixed = |needle: &String, prefix: char| {
            let n = needle.trim().trim_start_matches(prefix).to_lowercase();
            (!n.is_empty()).then(|| format!("{prefix}{n}"))
        };
        let multi = |t: &String| t.trim().contains(char::is_whitespace);
        let mut distinct: Vec<String> = brand
            .handles
            .iter()
            .filter_map(|h| prefixed(h, '@'))
            .chain(brand.hashtags.iter().filter_map(|h| prefixed(h, '#')))
            .collect();
        distinct.extend(
            brand
                .terms
                .iter()
                .chain(std::iter::once(&brand.name))
                .filter(|t| multi(t))
                .map(|t| t.trim().to_lowercase())
                .filter(|t| !t.is_empty()),
        );
        let single: Vec<&str> = brand
            .terms
            .iter()
            .filter(|t| !multi(t))
            .map(|t| t.trim())
            .collect();
        Needles {
            distinct,
            proper: single.iter().filter_map(|t| capitalised(t)).collect(),
            plain: single
                .iter()
                .map(|t| t.to_lowercase())
                .filter(|t| !t.is_empty())
                .collect(),
        }
    }

    /// How `text` names the brand (which the matcher already found in it).
    pub fn naming(&self, text: &str) -> Naming {
        let lowered = text.to_lowercase();
        if self.distinct.iter().any(|n| lowered.contains(n.as_str())) {
            return Naming::Distinct;
        }
        if self.proper.iter().any(|c| proper_noun_in(text, c)) {
            Naming::Distinct
        } else if self.plain.iter().any(|w| whole_word_in(&lowered, w)) {
            Naming::Plain
        } else {
            // The text does not name the brand itself (a reply it belongs to through its thread).
            Naming::Thread
        }
    }
}

/// Whether `word` (lower case) occurs in `lowered` as a whole word.
fn whole_word_in(lowered: &str, word: &str) -> bool {
    if word.is_empty() {
        return false;
    }
    let mut from = 0;
    while let Some(pos) = lowered.get(from..).and_then(|rest| rest.find(word)) {
        let start = from + pos;
        let end = start + word.len();
        let before = lowered.get(..start).unwrap_or("");
        let after = lowered.get(end..).unwrap_or("");
        if !before
            .chars()
            .next_back()
            .is_some_and(char::is_alphanumeric)
            && !after.chars().next().is_some_and(char::is_alphanumeric)
        {
            return true;
        }
        from = end;
    }
    false
}

/// `word` with an upper-case first letter and the rest in lower case, as a proper noun is
/// written; `None` when it is empty or its first character has no case.
fn capitalised(word: &str) -> Option<String> {
    let mut chars = word.chars();
    let first = chars.next()?;
    if first.to_uppercase().eq(first.to_lowercase()) {
        return None;
    }
    Some(
        first
            .to_uppercase()
            .chain(chars.flat_map(char::to_lowercase))
            .collect(),
    )
}

/// Whether `capitalised` ([`capitalised`]) occurs in `text` whole-word and not at the start of
/// a sentence.
fn proper_noun_in(text: &str, capitalised: &str) -> bool {
    let mut from = 0;
    while let Some(pos) = text.get(from..).and_then(|rest| rest.find(capitalised)) {
        let start = from + pos;
        let end = start + capitalised.len();
        let before = text.get(..start).unwrap_or("");
        let after = text.get(end..).unwrap_or("");
        let whole = !before
            .chars()
            .next_back()
            .is_some_and(char::is_alphanumeric)
            && !after.chars().next().is_some_and(char::is_alphanumeric);
        if whole && !sentence_start(before) {
            return true;
        }
        from = end;
    }
    false
}

/// Whether a word right after `before` starts a sentence: nothing but spaces, quotes or
/// brackets since the text's start or since a `.`, `!`, `?` or line break.
fn sentence_start(before: &str) -> bool {
    for c in before.chars().rev() {
        match c {
            '.' | '!' | '?' | '\n' | '\r' => return true,
            c if c.is_whitespace()
                || matches!(c, '"' | '\'' | '(' | '[' | '“' | '‘' | '*' | '-') => {}
            _ => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naming(brand: &Brand, text: &str) -> Naming {
        Needles::new(brand).naming(text)
    }
    use crate::config::Profile;
    use crate::domain::BrandIdx;

    fn orchard() -> Brand {
        Brand {
            idx: BrandIdx(0),
            id: crate::domain::BrandId(std::sync::Arc::from("orchard")),
            name: String::from("Orchard Energy"),
            terms: vec![String::from("orchard"), String::from("orchard energy")],
            handles: vec![String::from("@orchardenergy")],
            hashtags: vec![String::from("#orchard")],
            exclude: Vec::new(),
            profile: Profile::default(),
        }
    }

    #[test]
    fn naming_tells_the_brand_from_the_ordinary_word() {
        let b = orchard();
        for t in [
            "@OrchardEnergy my boiler is still broken",
            "third outage this week #orchard",
            "orchard energy charged me twice",
            "switched to Orchard last year and regret it",
            "my bill from Orchard doubled",
        ] {
            assert_eq!(naming(&b, t), Naming::Distinct, "{t}");
        }
        for t in [
            "apple picking at the orchard today 🍎",
            "Orchard trees are in full bloom",
            "the old orchard behind the school. Orchard walks are the best",
            "orchards and orchard cider",
        ] {
            assert_eq!(naming(&b, t), Naming::Plain, "{t}");
        }
    }

    #[test]
    fn naming_needs_the_whole_word_and_survives_odd_text() {
        let b = orchard();
        // "Orchardist" is another word (the text does not name the brand); a sentence end
        // before "Orchard" makes it plain.
        assert_eq!(naming(&b, "ask an Orchardist about it"), Naming::Thread);
        assert_eq!(naming(&b, "great day! Orchard was busy"), Naming::Plain);
        assert_eq!(naming(&b, ""), Naming::Thread);
        // A reply that names nothing belongs through its thread, whatever it says.
        assert_eq!(naming(&b, "report him, this is horrible"), Naming::Thread);
        assert_eq!(naming(&b, "İ ß ς 日本 Orchard"), Naming::Distinct);
    }
}
