//! A pure-Rust port of VADER (vaderSentiment 3.3.2, C.J. Hutto, MIT licence).
//!
//! Role: the default, dependency-free sentiment model. It reproduces
//! `SentimentIntensityAnalyzer.polarity_scores` rule for rule: lexicon lookup, booster and
//! dampener words, ALL-CAPS emphasis, negation (including "n't", "never so", "without doubt"),
//! "least", "no", the "but" shift, "kind of", the reference's special-case idioms,
//! punctuation emphasis, the three-word look-back and emoji-to-description replacement.
//!
//! Inputs: raw mention text (any UTF-8). Outputs: [`Polarity`] (neg/neu/pos proportions and the
//! normalised compound score in `[-1, 1]`, rounded like the reference), and through
//! [`SentimentModel`] a [`Sentiment`] whose score is the compound.
//!
//! The lexicon and emoji table are embedded from `models/vader/` and parsed once
//! ([`Vader::embedded`]). Scoring reuses per-thread scratch buffers, so the steady state makes
//! no heap allocation for ASCII text.

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::sync::OnceLock;

use rustc_hash::FxHashMap;

use super::SentimentModel;

mod idioms;
mod slang;
use crate::domain::{Sentiment, SentimentLabel};

const LEXICON_TEXT: &str = include_str!("../../../models/vader/vader_lexicon.txt");
const EMOJI_TEXT: &str = include_str!("../../../models/vader/emoji_utf8_lexicon.txt");

/// Empirically derived increment for booster words.
const B_INCR: f64 = 0.293;
/// Empirically derived decrement for dampener words.
const B_DECR: f64 = -0.293;
/// Increment for an ALL-CAPS word in mixed-case text.
const C_INCR: f64 = 0.733;
/// Scalar applied to a negated valence.
const N_SCALAR: f64 = -0.74;
/// Normalisation constant approximating the maximum expected raw score.
const ALPHA: f64 = 15.0;

/// Rejected lexicon text.
#[derive(Debug, thiserror::Error)]
pub enum LexiconError {
    #[error("sentiment lexicon line {line}: {reason}")]
    Lexicon { line: usize, reason: String },
    #[error("emoji lexicon line {line}: {reason}")]
    Emoji { line: usize, reason: String },
}

/// VADER's output for one text (the reference's `polarity_scores` dict).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Polarity {
    pub neg: f64,
    pub neu: f64,
    pub pos: f64,
    pub compound: f64,
}

impl Polarity {
    /// The reading a [`SentimentModel`] reports: the compound as the score, labelled with
    /// VADER's ±0.05 thresholds.
    pub fn sentiment(&self) -> Sentiment {
        let compound = self.compound as f32;
        Sentiment {
            score: compound,
            label: SentimentLabel::from_compound(compound),
        }
    }
}

/// The VADER model: word lexicon plus emoji descriptions.
#[derive(Debug, Clone)]
pub struct Vader {
    lexicon: FxHashMap<Box<str>, Entry>,
    /// Single-code-point emoji -> description. Multi-code-point entries of the emoji file can
    /// never match in the reference (it looks emoji up one code point at a time), so they are
    /// dropped.
    emojis: FxHashMap<char, Box<str>>,
    /// Whether some emoji key is ASCII (it is not for the shipped file); disables the ASCII
    /// fast path that skips emoji replacement.
    ascii_emoji: bool,
}

/// A word of the lexicon map: its valence, if the reference lexicon has one, and whether the
/// idiom overlay starts a rule at it ([`idioms::ANCHORS`]), found by the same lookup.
#[derive(Debug, Clone, Copy)]
struct Entry {
    valence: Option<f64>,
    anchor: u8,
}

/// One token of the text after emoji replacement and punctuation stripping.
#[derive(Debug, Clone, Copy)]
struct Tok {
    /// Byte range of the lowercased token in the scratch `lower` buffer.
    lo: u32,
    hi: u32,
    /// Python `str.isupper()` of the original token.
    upper: bool,
    /// The raw token ended a clause (its last character is `.,;:!?`): read by the social-slang
    /// overlay only.
    stop: bool,
    /// A negation word that does not negate here ("couldn't be happier", "can't recommend them
    /// enough"): set by the idiom overlay only.
    inert: bool,
    /// The idiom overlay's rule families that start at this word (`idioms::family`).
    anchor: u8,
    /// Lexicon valence of the lowercased token.
    lex: Option<f64>,
}

#[derive(Default)]
struct Scratch {
    text: String,
    lower: String,
    toks: Vec<Tok>,
    sents: Vec<f64>,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

impl Vader {
    /// The model built from the lexicon files embedded at compile time, parsed once.
    pub fn embedded() -> &'static Vader {
        static EMBEDDED: OnceLock<Vader> = OnceLock::new();
        EMBEDDED.get_or_init(|| {
            // The embedded files are fixed at compile time and covered by a unit test.
            Vader::from_lexicon_text(LEXICON_TEXT, EMOJI_TEXT)
                .unwrap_or_else(|e| panic!("embedded VADER lexicon is malformed: {e}"))
        })
    }

    /// Parses `vader_lexicon.txt` (`token TAB mean [TAB ...]`) and `emoji_utf8_lexicon.txt`
    /// (`emoji TAB description`). Blank lines are skipped; later duplicates win.
    pub fn from_lexicon_text(lexicon: &str, emoji: &str) -> Result<Vader, LexiconError> {
        let mut lex = FxHashMap::default();
        lex.reserve(lexicon.len() / 40);
        for (n, line) in lexicon.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            let mut fields = line.split('\t');
            let word = fields.next().unwrap_or_default();
            let bad = |reason: String| LexiconError::Lexicon {
                line: n + 1,
                reason,
            };
            let measure = fields
                .next()
                .ok_or_else(|| bad(format!("expected `token<TAB>valence`, got {line:?}")))?;
            let value: f64 = measure
                .trim()
                .parse()
                .map_err(|_| bad(format!("valence {measure:?} is not a number")))?;
            if !value.is_finite() {
                return Err(bad(format!("valence {measure:?} is not finite")));
            }
            lex.insert(
                Box::from(word),
                Entry {
                    valence: Some(value),
                    anchor: 0,
                },
            );
        }
        for (family, words) in idioms::ANCHORS {
            for word in *words {
                lex.entry(Box::from(*word))
                    .or_insert(Entry {
                        valence: None,
                        anchor: 0,
                    })
                    .anchor |= family;
            }
        }
        let mut emojis = FxHashMap::default();
        let mut ascii_emoji = false;
        for (n, line) in emoji.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            let mut fields = line.split('\t');
            let key = fields.next().unwrap_or_default();
            let Some(desc) = fields.next() else {
                return Err(LexiconError::Emoji {
                    line: n + 1,
                    reason: format!("expected `emoji<TAB>description`, got {line:?}"),
                });
            };
            let mut chars = key.chars();
            if let (Some(c), None) = (chars.next(), chars.next()) {
                ascii_emoji |= c.is_ascii();
                emojis.insert(c, Box::from(desc));
            }
        }
        Ok(Vader {
            lexicon: lex,
            emojis,
            ascii_emoji,
        })
    }

    /// Number of lexicon entries (words with a valence).
    pub fn lexicon_len(&self) -> usize {
        self.lexicon
            .values()
            .filter(|e| e.valence.is_some())
            .count()
    }

    /// The reference's `polarity_scores`: neg/neu/pos rounded to 3 decimals, compound to 4.
    pub fn polarity_scores(&self, text: &str) -> Polarity {
        self.polarity(text, false)
    }

    /// [`Vader::polarity_scores`] with the social-slang overlay ([`slang`]): what the
    /// `lexicon` model reads.
    pub fn polarity_scores_social(&self, text: &str) -> Polarity {
        self.polarity(text, true)
    }

    fn polarity(&self, text: &str, social: bool) -> Polarity {
        let p = SCRATCH.with(|s| match s.try_borrow_mut() {
            Ok(mut scratch) => self.polarity_raw(text, &mut scratch, social),
            // Re-entrant use on one thread (not expected): fall back to fresh buffers.
            Err(_) => self.polarity_raw(text, &mut Scratch::default(), social),
        });
        Polarity {
            neg: round_to(p.neg, 1e3),
            neu: round_to(p.neu, 1e3),
            pos: round_to(p.pos, 1e3),
            compound: round_to(p.compound, 1e4),
        }
    }

    fn polarity_raw(&self, text: &str, scratch: &mut Scratch, social: bool) -> Polarity {
        let Scratch {
            text: text_buf,
            lower,
            toks,
            sents,
        } = scratch;
        // 1. Replace each emoji code point with its description, then strip.
        let text = if !self.ascii_emoji && text.is_ascii() {
            text
        } else {
            self.replace_emojis(text, text_buf, social);
            text_buf.as_str()
        };
        let text = text.trim_matches(py_space);

        // 2. Tokenise: split on whitespace, strip surrounding punctuation from words.
        lower.clear();
        toks.clear();
        let mut n_upper = 0usize;
        for raw in text.split(py_space).filter(|w| !w.is_empty()) {
            let stripped = raw.trim_matches(|c: char| c.is_ascii_punctuation());
            let word = if stripped.chars().nth(2).is_none() {
                raw
            } else {
                stripped
            };
            let lo = lower.len();
            let upper = if word.is_ascii() {
                lower.extend(word.bytes().map(|b| char::from(b.to_ascii_lowercase())));
                word.bytes().any(|b| b.is_ascii_uppercase())
                    && !word.bytes().any(|b| b.is_ascii_lowercase())
            } else {
                lower.push_str(&word.to_lowercase());
                word.chars().any(char::is_uppercase) && !word.chars().any(char::is_lowercase)
            };
            n_upper += usize::from(upper);
            let lw = &lower[lo..];
            let entry = self.lexicon.get(lw).copied();
            let lex = entry.and_then(|e| e.valence);
            toks.push(Tok {
                lo: to_u32(lo),
                hi: to_u32(lower.len()),
                upper,
                stop: raw.ends_with(['.', ',', ';', ':', '!', '?']),
                inert: false,
                anchor: entry.map_or(0, |e| e.anchor),
                lex,
            });
        }
        if social {
            slang::relex(lower, toks, text.contains('!'));
            idioms::relex(lower, toks);
        }
        let n = toks.len();
        if n == 0 {
            return Polarity::default();
        }
        let cap_diff = n_upper > 0 && n_upper < n;
        let words = Words {
            lower,
            toks,
            social,
        };

        // 3. Valence of each token.
        sents.clear();
        for i in 0..n {
            let w = words.l(i);
            if booster(w).is_some() || (w == "kind" && i + 1 < n && words.l(i + 1) == "of") {
                sents.push(0.0);
                continue;
            }
            sents.push(self.sentiment_valence(&words, i, cap_diff));
        }

        // 4. "but" shift, then aggregate.
        if let Some(bi) = (0..n).find(|&i| words.l(i) == "but") {
            but_check(sents, bi);
        }
        score_valence(sents, text)
    }

    fn replace_emojis(&self, text: &str, out: &mut String, social: bool) {
        out.clear();
        out.reserve(text.len());
        let mut prev_space = true;
        for c in text.chars() {
            let desc = match c {
                '\u{1F525}' if social => Some(slang::FIRE_EMOJI),
                _ => self.emojis.get(&c).map(|d| &**d),
            };
            if let Some(desc) = desc {
                if !prev_space {
                    out.push(' ');
                }
                out.push_str(desc);
                prev_space = false;
            } else {
                out.push(c);
                prev_space = c == ' ';
            }
        }
    }

    fn sentiment_valence(&self, w: &Words<'_>, i: usize, cap_diff: bool) -> f64 {
        let tok = w.toks[i];
        let Some(lex) = tok.lex else {
            return 0.0;
        };
        let n = w.toks.len();
        let mut valence = lex;
        // "no" directly before another lexicon word acts as a negator, not a sentiment word.
        if w.l(i) == "no" && i + 1 < n && w.toks[i + 1].lex.is_some() {
            valence = 0.0;
        }
        if (i > 0 && w.l(i - 1) == "no")
            || (i > 1 && w.l(i - 2) == "no")
            || (i > 2 && w.l(i - 3) == "no" && matches!(w.l(i - 1), "or" | "nor"))
        {
            valence = lex * N_SCALAR;
        }
        if tok.upper && cap_diff {
            if valence > 0.0 {
                valence += C_INCR;
            } else {
                valence -= C_INCR;
            }
        }
        for start_i in 0..3 {
            if i > start_i && w.toks[i - (start_i + 1)].lex.is_none() {
                let prev = &w.toks[i - (start_i + 1)];
                let mut s = scalar_inc_dec(w.lw(prev), prev.upper, valence, cap_diff);
                if start_i == 1 && s != 0.0 {
                    s *= 0.95;
                }
                if start_i == 2 && s != 0.0 {
                    s *= 0.9;
                }
                valence += s;
                valence = negation_check(valence, w, start_i, i);
                if start_i == 2 {
                    valence = special_idioms_check(valence, w, i);
                }
            }
        }
        least_check(valence, w, i)
    }
}

impl Tok {
    /// The lowercased token in `lower`, the scratch buffer it was cut from.
    fn word<'a>(&self, lower: &'a str) -> &'a str {
        lower
            .get(self.lo as usize..self.hi as usize)
            .unwrap_or_default()
    }
}

/// Tokens with their lowercased text.
struct Words<'a> {
    lower: &'a str,
    toks: &'a [Tok],
    /// The social overlays are on (`lexicon`): a negation stops at its clause's end for a
    /// negative word ([`Words::negation_reaches`]).
    social: bool,
}

impl Words<'_> {
    /// Lowercased token `i`.
    fn l(&self, i: usize) -> &str {
        self.lw(&self.toks[i])
    }

    fn lw(&self, t: &Tok) -> &str {
        t.word(self.lower)
    }

    /// The reference's `negated` for token `i`, unless the idiom overlay made it inert.
    fn negates(&self, i: usize) -> bool {
        !self.toks[i].inert && negated(self.l(i))
    }

    /// Whether the negation word at `j` negates the sentiment word at `i > j`. With the
    /// social overlays, a negation does not reach a **negative** word past the end of its
    /// clause: "the technician never showed up, useless" is a grievance, not "not useless".
    /// Positive words keep the reference's reach ("not sure, good luck" is read as the
    /// reference reads it), as does everything without the overlays.
    fn negation_reaches(&self, j: usize, i: usize) -> bool {
        self.negates(j)
            && !(self.social
                && self.toks[i].lex.is_some_and(|v| v < 0.0)
                && self.toks[j..i].iter().any(|t| t.stop))
    }

    fn in_lexicon(&self, i: usize) -> bool {
        self.toks[i].lex.is_some()
    }
}

fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Python's `str.isspace` (what `str.split()`/`str.strip()` use): Unicode White_Space plus
/// the ASCII information separators U+001C..U+001F.
fn py_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// Python's `round(x, ndigits)` for `scale = 10^ndigits`: round half to even on the exact
/// binary value. Near-ties go through the (exact) decimal formatter, which rounds the same way.
fn round_to(x: f64, scale: f64) -> f64 {
    let y = x * scale;
    if (y - y.floor() - 0.5).abs() > 1e-6 {
        return y.round() / scale;
    }
    let digits = if scale >= 1e4 { 4 } else { 3 };
    format!("{x:.digits$}").parse().unwrap_or(y.round() / scale)
}

fn normalize(score: f64) -> f64 {
    let norm = score / (score * score + ALPHA).sqrt();
    if norm.is_nan() {
        // Only reachable for an infinite raw score.
        return score.signum();
    }
    norm.clamp(-1.0, 1.0)
}

/// The reference's `NEGATE` list.
fn is_negate_word(w: &str) -> bool {
    matches!(
        w,
        "aint"
            | "arent"
            | "cannot"
            | "cant"
            | "couldnt"
            | "darent"
            | "didnt"
            | "doesnt"
            | "ain't"
            | "aren't"
            | "can't"
            | "couldn't"
            | "daren't"
            | "didn't"
            | "doesn't"
            | "dont"
            | "hadnt"
            | "hasnt"
            | "havent"
            | "isnt"
            | "mightnt"
            | "mustnt"
            | "neither"
            | "don't"
            | "hadn't"
            | "hasn't"
            | "haven't"
            | "isn't"
            | "mightn't"
            | "mustn't"
            | "neednt"
            | "needn't"
            | "never"
            | "none"
            | "nope"
            | "nor"
            | "not"
            | "nothing"
            | "nowhere"
            | "oughtnt"
            | "shant"
            | "shouldnt"
            | "uhuh"
            | "wasnt"
            | "werent"
            | "oughtn't"
            | "shan't"
            | "shouldn't"
            | "uh-uh"
            | "wasn't"
            | "weren't"
            | "without"
            | "wont"
            | "wouldnt"
            | "won't"
            | "wouldn't"
            | "rarely"
            | "seldom"
            | "despite"
    )
}

/// The reference's `negated([word])` for one lowercased word.
fn negated(w: &str) -> bool {
    is_negate_word(w) || w.contains("n't")
}

/// The reference's `BOOSTER_DICT` for a single word.
fn booster(w: &str) -> Option<f64> {
    match w {
        "absolutely" | "amazingly" | "awfully" | "completely" | "considerable" | "considerably"
        | "decidedly" | "deeply" | "effing" | "enormous" | "enormously" | "entirely"
        | "especially" | "exceptional" | "exceptionally" | "extreme" | "extremely"
        | "fabulously" | "flipping" | "flippin" | "frackin" | "fracking" | "fricking"
        | "frickin" | "frigging" | "friggin" | "fully" | "fuckin" | "fucking" | "fuggin"
        | "fugging" | "greatly" | "hella" | "highly" | "hugely" | "incredible" | "incredibly"
        | "intensely" | "major" | "majorly" | "more" | "most" | "particularly" | "purely"
        | "quite" | "really" | "remarkably" | "so" | "substantially" | "thoroughly" | "total"
        | "totally" | "tremendous" | "tremendously" | "uber" | "unbelievably" | "unusually"
        | "utter" | "utterly" | "very" => Some(B_INCR),
        "almost" | "barely" | "hardly" | "kinda" | "kindof" | "kind-of" | "less" | "little"
        | "marginal" | "marginally" | "occasional" | "occasionally" | "partly" | "scarce"
        | "scarcely" | "slight" | "slightly" | "somewhat" | "sorta" | "sortof" | "sort-of" => {
            Some(B_DECR)
        }
        _ => None,
    }
}

/// The two-word `BOOSTER_DICT` keys ("just enough", "kind of", "sort of").
fn booster2(a: &str, b: &str) -> Option<f64> {
    match (a, b) {
        ("just", "enough") | ("kind", "of") | ("sort", "of") => Some(B_DECR),
        _ => None,
    }
}

/// Two-word `SPECIAL_CASES` keys.
fn special2(a: &str, b: &str) -> Option<f64> {
    match (a, b) {
        ("the", "shit") | ("the", "bomb") => Some(3.0),
        ("bad", "ass") => Some(1.5),
        ("bus", "stop") => Some(0.0),
        ("yeah", "right") => Some(-2.0),
        ("beating", "heart") => Some(3.5),
        _ => None,
    }
}

/// Three-word `SPECIAL_CASES` keys.
fn special3(a: &str, b: &str, c: &str) -> Option<f64> {
    match (a, b, c) {
        ("kiss", "of", "death") => Some(-1.5),
        ("to", "die", "for") => Some(3.0),
        _ => None,
    }
}

fn scalar_inc_dec(word_lower: &str, word_upper: bool, valence: f64, cap_diff: bool) -> f64 {
    let Some(mut scalar) = booster(word_lower) else {
        return 0.0;
    };
    if valence < 0.0 {
        scalar = -scalar;
    }
    if word_upper && cap_diff {
        if valence > 0.0 {
            scalar += C_INCR;
        } else {
            scalar -= C_INCR;
        }
    }
    scalar
}

fn negation_check(valence: f64, w: &Words<'_>, start_i: usize, i: usize) -> f64 {
    match start_i {
        0 => {
            if w.negation_reaches(i - 1, i) {
                return valence * N_SCALAR;
            }
        }
        1 => {
            let (w2, w1) = (w.l(i - 2), w.l(i - 1));
            if w2 == "never" && (w1 == "so" || w1 == "this") {
                return valence * 1.25;
            } else if w2 == "without" && w1 == "doubt" {
                return valence;
            } else if w.negation_reaches(i - 2, i) {
                return valence * N_SCALAR;
            }
        }
        _ => {
            let (w3, w2, w1) = (w.l(i - 3), w.l(i - 2), w.l(i - 1));
            if (w3 == "never" && (w2 == "so" || w2 == "this")) || (w1 == "so" || w1 == "this") {
                return valence * 1.25;
            } else if w3 == "without" && (w2 == "doubt" || w1 == "doubt") {
                return valence;
            } else if w.negation_reaches(i - 3, i) {
                return valence * N_SCALAR;
            }
        }
    }
    valence
}

/// Only called with `i >= 3`.
fn special_idioms_check(mut valence: f64, w: &Words<'_>, i: usize) -> f64 {
    let n = w.toks.len();
    let (w3, w2, w1, w0) = (w.l(i - 3), w.l(i - 2), w.l(i - 1), w.l(i));
    // Order as in the reference: onezero, twoonezero, twoone, threetwoone, threetwo.
    let hit = special2(w1, w0)
        .or_else(|| special3(w2, w1, w0))
        .or_else(|| special2(w2, w1))
        .or_else(|| special3(w3, w2, w1))
        .or_else(|| special2(w3, w2));
    if let Some(v) = hit {
        valence = v;
    }
    if n - 1 > i {
        if let Some(v) = special2(w0, w.l(i + 1)) {
            valence = v;
        }
    }
    if n - 1 > i + 1 {
        if let Some(v) = special3(w0, w.l(i + 1), w.l(i + 2)) {
            valence = v;
        }
    }
    // Booster n-grams: threetwoone (no three-word boosters exist), threetwo, twoone.
    if let Some(b) = booster2(w3, w2) {
        valence += b;
    }
    if let Some(b) = booster2(w2, w1) {
        valence += b;
    }
    valence
}

fn least_check(valence: f64, w: &Words<'_>, i: usize) -> f64 {
    if i > 1 && !w.in_lexicon(i - 1) && w.l(i - 1) == "least" {
        let w2 = w.l(i - 2);
        if w2 != "at" && w2 != "very" {
            return valence * N_SCALAR;
        }
    } else if i > 0 && !w.in_lexicon(i - 1) && w.l(i - 1) == "least" {
        return valence * N_SCALAR;
    }
    valence
}

/// The reference's `_but_check`, including its quirk: each position's current value is looked
/// up with `list.index` (first equal value), and that first occurrence is the one scaled.
/// Zero values are no-ops (0 scaled is 0), so only non-zero values are visited.
fn but_check(sents: &mut [f64], bi: usize) {
    let nonzero = sents.iter().filter(|&&v| v != 0.0).count();
    if nonzero <= 256 {
        for pos in 0..sents.len() {
            let v = sents[pos];
            if v == 0.0 {
                continue;
            }
            let si = sents[..pos].iter().position(|&x| x == v).unwrap_or(pos);
            if si < bi {
                sents[si] = v * 0.5;
            } else if si > bi {
                sents[si] = v * 1.5;
            }
        }
        return;
    }
    // Same algorithm with an index from value to the positions holding it, for long texts.
    let mut index: FxHashMap<u64, BTreeSet<usize>> = FxHashMap::default();
    for (j, &v) in sents.iter().enumerate() {
        if v != 0.0 {
            index.entry(v.to_bits()).or_default().insert(j);
        }
    }
    for pos in 0..sents.len() {
        let v = sents[pos];
        if v == 0.0 {
            continue;
        }
        let si = index
            .get(&v.to_bits())
            .and_then(|s| s.first().copied())
            .unwrap_or(pos);
        let new = if si < bi {
            v * 0.5
        } else if si > bi {
            v * 1.5
        } else {
            continue;
        };
        if let Some(set) = index.get_mut(&v.to_bits()) {
            set.remove(&si);
        }
        sents[si] = new;
        if new != 0.0 {
            index.entry(new.to_bits()).or_default().insert(si);
        }
    }
}

fn punctuation_emphasis(text: &str) -> f64 {
    let (mut ep, mut qm) = (0usize, 0usize);
    for b in text.bytes() {
        ep += usize::from(b == b'!');
        qm += usize::from(b == b'?');
    }
    let ep_amp = ep.min(4) as f64 * 0.292;
    let qm_amp = match qm {
        0 | 1 => 0.0,
        2 | 3 => qm as f64 * 0.18,
        _ => 0.96,
    };
    ep_amp + qm_amp
}

fn score_valence(sents: &[f64], text: &str) -> Polarity {
    if sents.is_empty() {
        return Polarity::default();
    }
    let mut sum_s: f64 = sents.iter().sum();
    let punct = punctuation_emphasis(text);
    if sum_s > 0.0 {
        sum_s += punct;
    } else if sum_s < 0.0 {
        sum_s -= punct;
    }
    let compound = normalize(sum_s);
    let (mut pos_sum, mut neg_sum, mut neu_count) = (0.0f64, 0.0f64, 0usize);
    for &s in sents {
        if s > 0.0 {
            pos_sum += s + 1.0;
        }
        if s < 0.0 {
            neg_sum += s - 1.0;
        }
        if s == 0.0 {
            neu_count += 1;
        }
    }
    if pos_sum > neg_sum.abs() {
        pos_sum += punct;
    } else if pos_sum < neg_sum.abs() {
        neg_sum -= punct;
    }
    let total = pos_sum + neg_sum.abs() + neu_count as f64;
    if total <= 0.0 {
        return Polarity {
            compound,
            ..Polarity::default()
        };
    }
    Polarity {
        neg: (neg_sum / total).abs(),
        neu: (neu_count as f64 / total).abs(),
        pos: (pos_sum / total).abs(),
        compound,
    }
}

impl SentimentModel for Vader {
    fn name(&self) -> &str {
        "lexicon"
    }

    fn score(&self, text: &str) -> Sentiment {
        self.polarity_scores(text).sentiment()
    }
}

/// The embedded VADER model with the social-slang overlay ([`slang`]) as an owned, boxable
/// [`SentimentModel`] (delegates to [`Vader::embedded`]): the `"lexicon"` model.
#[derive(Debug, Clone, Copy, Default)]
pub struct Lexicon;

impl SentimentModel for Lexicon {
    fn name(&self) -> &str {
        "lexicon"
    }

    fn score(&self, text: &str) -> Sentiment {
        Vader::embedded().polarity_scores_social(text).sentiment()
    }
}

/// The embedded VADER model exactly as the reference scores (no [`slang`] overlay), selected
/// as `"vader"`.
#[derive(Debug, Clone, Copy, Default)]
pub struct ReferenceVader;

impl SentimentModel for ReferenceVader {
    fn name(&self) -> &str {
        "vader"
    }

    fn score(&self, text: &str) -> Sentiment {
        Vader::embedded().score(text)
    }
}

/// Assertions shared by the overlays' tests: how the overlays' reading (`lexicon`) of a text
/// compares with the reference's (`vader`).
#[cfg(test)]
mod overlay_tests {
    use super::Vader;

    /// The overlays' compound score.
    pub(super) fn overlay(text: &str) -> f64 {
        Vader::embedded().polarity_scores_social(text).compound
    }

    /// The reference's compound score.
    pub(super) fn reference(text: &str) -> f64 {
        Vader::embedded().polarity_scores(text).compound
    }

    /// Read below positive (< 0.05) by the reference, positive by the overlays.
    pub(super) fn turn_positive(texts: &[&str]) {
        for text in texts {
            let (r, s) = (reference(text), overlay(text));
            assert!(
                r < 0.05 && s >= 0.05,
                "{text:?}: reference {r}, overlay {s}"
            );
        }
    }

    /// Read negative (≤ -0.05) by the reference, not negative by the overlays.
    pub(super) fn stop_being_negative(texts: &[&str]) {
        for text in texts {
            let (r, s) = (reference(text), overlay(text));
            assert!(
                r <= -0.05 && s > -0.05,
                "{text:?}: reference {r}, overlay {s}"
            );
        }
    }

    /// Read above negative by the reference, negative by the overlays.
    pub(super) fn turn_negative(texts: &[&str]) {
        for text in texts {
            let (r, s) = (reference(text), overlay(text));
            assert!(
                r > -0.05 && s <= -0.05,
                "{text:?}: reference {r}, overlay {s}"
            );
        }
    }

    /// Read positive (≥ 0.05) by the reference, negative by the overlays: praise words
    /// that, in context, reproach.
    pub(super) fn praise_turned_negative(texts: &[&str]) {
        for text in texts {
            let (r, s) = (reference(text), overlay(text));
            assert!(
                r >= 0.05 && s <= -0.05,
                "{text:?}: reference {r}, overlay {s}"
            );
        }
    }

    /// Read exactly as the reference reads them.
    pub(super) fn unchanged(texts: &[&str]) {
        for text in texts {
            assert_eq!(overlay(text), reference(text), "{text:?}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn compound(text: &str) -> f64 {
        Vader::embedded().polarity_scores(text).compound
    }

    fn assert_close(text: &str, expected: f64) {
        let got = compound(text);
        assert!(
            (got - expected).abs() <= 0.001,
            "{text:?}: got {got}, expected {expected}"
        );
    }

    #[test]
    fn embedded_lexicon_parses() {
        let v = Vader::embedded();
        assert!(v.lexicon_len() > 7000, "{}", v.lexicon_len());
        assert!(v.emojis.len() > 1000);
        assert!(!v.ascii_emoji);
    }

    #[test]
    fn readme_reference_values() {
        let cases: &[(&str, f64)] = &[
            ("VADER is smart, handsome, and funny.", 0.8316),
            ("VADER is smart, handsome, and funny!", 0.8439),
            ("VADER is very smart, handsome, and funny.", 0.8545),
            ("VADER is VERY SMART, handsome, and FUNNY.", 0.9227),
            ("VADER is VERY SMART, handsome, and FUNNY!!!", 0.9342),
            (
                "VADER is VERY SMART, uber handsome, and FRIGGIN FUNNY!!!",
                0.9469,
            ),
            ("VADER is not smart, handsome, nor funny.", -0.7424),
            ("The book was good.", 0.4404),
            ("At least it isn't a horrible book.", 0.431),
            ("The book was only kind of good.", 0.3832),
            (
                "The plot was good, but the characters are uncompelling and the dialog is not \
                 great.",
                -0.7042,
            ),
            ("Today SUX!", -0.5461),
            ("Today only kinda sux! But I'll get by, lol", 0.5249),
            ("Make sure you :) or :D today!", 0.8633),
            ("Catch utf-8 emoji such as 💘 and 💋 and 😁", 0.875),
            ("Not bad at all", 0.431),
        ];
        for &(text, expected) in cases {
            assert_close(text, expected);
        }
    }

    #[test]
    fn readme_full_polarity() {
        let p = Vader::embedded().polarity_scores("VADER is smart, handsome, and funny.");
        assert_eq!(
            (p.neg, p.neu, p.pos, p.compound),
            (0.0, 0.254, 0.746, 0.8316)
        );
    }

    #[test]
    fn empty_and_blank_are_neutral() {
        for text in ["", "   ", "\n\t", "...", "the of and"] {
            let p = Vader::embedded().polarity_scores(text);
            assert_eq!(p.compound, 0.0, "{text:?}");
        }
        assert_eq!(Vader::embedded().polarity_scores(""), Polarity::default());
        let s = Vader::embedded().score("");
        assert_eq!(s.label, SentimentLabel::Neutral);
    }

    #[test]
    fn emphasis_orders_scores() {
        let plain = compound("The book was good.");
        let very = compound("The book was very good.");
        let caps = compound("The book was VERY GOOD!!!");
        assert!(plain < very && very < caps, "{plain} {very} {caps}");
    }

    #[test]
    fn booster_and_dampener() {
        assert_close("The book was very good.", 0.4927);
        assert_close("The book was slightly good.", 0.3832);
        assert!(compound("The book was slightly good.") < compound("The book was good."));
    }

    #[test]
    fn negation_flips_sign() {
        assert!(compound("The book was good.") > 0.0);
        assert!(compound("The book was not good.") < 0.0);
        assert_close("The book was not good.", -0.3412);
        // "n't" suffix counts as a negation.
        assert_close("The book wasn't good.", -0.3412);
        assert_close("The book was never really good.", -0.3865);
    }

    /// With the overlays, a negation ends with its clause for a negative word after it: the
    /// README's grievance reads negative, where the reference negates "useless" across the
    /// comma. Inside one clause, and for positive words past a comma, the reach is the
    /// reference's.
    #[test]
    fn a_negation_does_not_reach_a_grievance_past_its_clause() {
        use super::overlay_tests::{overlay, turn_negative, unchanged};
        turn_negative(&[
            "the technician never showed up, useless",
            "engineer never came. useless",
            "they never called back; terrible",
        ]);
        // The same words in one clause: the negation still reaches.
        assert!(overlay("the technician was never useless") > 0.0);
        unchanged(&[
            "not bad at all",
            "not sure, good luck",
            "never showed up, great",
            "The book was not good.",
        ]);
    }

    #[test]
    fn never_so_and_without_doubt() {
        assert_close("I have never been so happy.", 0.6948);
        assert_close("This is never so good", 0.6626);
        assert_close("It is without doubt great", 0.7359);
    }

    #[test]
    fn least_handling() {
        assert_close("At least it is good", 0.4404);
        assert_close("It is the least good", -0.3412);
    }

    #[test]
    fn no_handling() {
        assert_close("No good", -0.3412);
        assert_close("no", -0.296);
        // "no X or Y": the negation reaches three words ahead through "or".
        assert_close("There is no problem or worry", 0.5667);
    }

    #[test]
    fn but_shifts_weight() {
        assert_close("The food was great but the service was awful", -0.3506);
        assert_close("The food was awful but the service was great", 0.6858);
        // Quirk of the reference: equal valences before "but" share one `list.index` slot.
        assert_close("good good but good", 0.775);
    }

    #[test]
    fn kind_of_dampens() {
        assert_close("The book was kind of good.", 0.3832);
        assert_close("The book was kind of good", 0.3832);
    }

    #[test]
    fn special_cases_and_idioms() {
        assert_close("That movie was the bomb", 0.6124);
        // Special cases only apply with three words of look-back, as in the reference.
        assert_close("oh yeah right that will work", 0.296);
        assert_close("this cake is to die for", -0.5994);
        assert_close("The book was VERY GOOD!!!", 0.7604);
    }

    #[test]
    fn punctuation_emphasis_caps() {
        assert_close("good!!!!", compound("good!!!!!!!!!!"));
        assert!(compound("good??") > compound("good?"));
        assert_close("good!!!!", 0.6209);
        assert_close("good??", 0.504);
        assert_close("Is it good????", 0.594);
    }

    #[test]
    fn emoji_replaced_by_description() {
        assert!(compound("😊") > 0.05, "{}", compound("😊"));
        assert_close("😊", 0.7184);
        assert_close("I hate this 😡", -0.5719);
        assert_close("great😊", 0.8779);
        assert!(compound("great😊") > compound("great"));
    }

    #[test]
    fn odd_input_does_not_panic() {
        let v = Vader::embedded();
        let long = "but good bad NOT never so ".repeat(20_000);
        let inputs = [
            "\u{0}\u{1f}\u{85}\u{a0}",
            "İstanbul ΣΊΣΥΦΟΣ ǅ ß ﬀ",
            "🏳️‍🌈👨‍👩‍👧 #️⃣",
            "no",
            "kind",
            "but",
            "!!!???",
            "\u{feff}good\u{200b}",
            long.as_str(),
        ];
        for text in inputs {
            let p = v.polarity_scores(text);
            assert!(
                p.compound.is_finite() && (-1.0..=1.0).contains(&p.compound),
                "{text:?}"
            );
        }
    }

    #[test]
    fn indexed_but_check_matches_scan() {
        let mut vals: Vec<f64> = (0..600).map(|i| f64::from((i * 7) % 5) - 2.0).collect();
        vals[300] = 0.0;
        let mut a = vals.clone();
        // Force the scan path by running it directly.
        for pos in 0..a.len() {
            let v = a[pos];
            if v == 0.0 {
                continue;
            }
            let si = a[..pos].iter().position(|&x| x == v).unwrap_or(pos);
            if si < 300 {
                a[si] = v * 0.5;
            } else if si > 300 {
                a[si] = v * 1.5;
            }
        }
        but_check(&mut vals, 300);
        assert_eq!(a, vals);
    }

    #[test]
    fn bad_lexicon_lines_are_reported() {
        let err = Vader::from_lexicon_text("good\t1.9\nbad\n", "").unwrap_err();
        assert!(err.to_string().contains("line 2"), "{err}");
        let err = Vader::from_lexicon_text("good\tx\n", "").unwrap_err();
        assert!(err.to_string().contains("line 1"), "{err}");
        let err = Vader::from_lexicon_text("good\t1.9\n", "😊\tsmile\n😡\n").unwrap_err();
        assert!(err.to_string().contains("emoji lexicon line 2"), "{err}");
        let v = Vader::from_lexicon_text("good\t1.9\t0.1\t[1]\r\n\r\n", "😊\tgood\n").unwrap();
        assert!(v.polarity_scores("😊").compound > 0.0);
    }

    #[test]
    fn model_trait_and_lookup() {
        let m = super::super::model_by_name("lexicon").unwrap();
        assert_eq!(m.name(), "lexicon");
        let s = m.score("I love it");
        assert_eq!(s.label, SentimentLabel::Positive);
        assert!(super::super::model_by_name("vader").is_ok());
        assert!(super::super::model_by_name("no-such-model").is_err());
        let mut out = Vec::new();
        m.score_batch(&["good", "bad", "table"], &mut out);
        let labels: Vec<_> = out.iter().map(|s| s.label).collect();
        assert_eq!(
            labels,
            [
                SentimentLabel::Positive,
                SentimentLabel::Negative,
                SentimentLabel::Neutral
            ]
        );
    }

    /// Pearson r between compound and the human mean rating of VADER's tweet ground truth.
    #[test]
    fn tweets_ground_truth_correlation() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../shared/data/sentiment/vader/tweets_GroundTruth.txt");
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) => {
                eprintln!("skipping: {} not found ({e})", path.display());
                return;
            }
        };
        let text = String::from_utf8_lossy(&bytes);
        let v = Vader::embedded();
        let (mut xs, mut ys) = (Vec::new(), Vec::new());
        for line in text.lines() {
            let mut f = line.splitn(3, '\t');
            let (Some(_id), Some(rating), Some(tweet)) = (f.next(), f.next(), f.next()) else {
                continue;
            };
            let Ok(rating) = rating.trim().parse::<f64>() else {
                continue;
            };
            xs.push(v.polarity_scores(tweet).compound);
            ys.push(rating);
        }
        let r = pearson(&xs, &ys);
        eprintln!(
            "VADER tweets ground truth: n = {}, Pearson r = {r:.4}",
            xs.len()
        );
        assert!(xs.len() > 4000, "only {} rows parsed", xs.len());
        assert!(r >= 0.85, "Pearson r {r} < 0.85");
    }

    fn pearson(xs: &[f64], ys: &[f64]) -> f64 {
        let n = xs.len() as f64;
        let (mx, my) = (xs.iter().sum::<f64>() / n, ys.iter().sum::<f64>() / n);
        let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
        for (x, y) in xs.iter().zip(ys) {
            sxy += (x - mx) * (y - my);
            sxx += (x - mx) * (x - mx);
            syy += (y - my) * (y - my);
        }
        sxy / (sxx * syy).sqrt()
    }
}
