//! Incident category classification and single-post risk triage.
//!
//! Role: say what one mention is about (conduct, safety, outage, billing, service, positive,
//! spam) and whether that post alone alleges staff misconduct or danger to customers, so the
//! incident stage can open a watch incident on it immediately instead of waiting for volume.
//!
//! Inputs: a mention's text. Outputs: a [`Classification`]: one score per [`Category`] in
//! [`Category::ALL`] order, a risk in `[0, 1]` and the phrases that made the risk fire.
//!
//! The [`KeywordClassifier`] is a weighted phrase lexicon (`models/categories/categories.toml`,
//! documented in `models/categories/MODEL_CARD.md`) compiled into one Aho-Corasick automaton:
//! - text and phrases are normalised alike ([`super::terms`] word rules, numbers kept) into
//!   `" w1  w2  w3 "`, every word wrapped in its own pair of spaces, so a leftmost-longest
//!   automaton gives whole-word, non-overlapping matches with the longest phrase winning
//!   ("gas bill" shadows "gas", "on hold" wins over "hold");
//! - negation: a phrase with a cue word (`not`, `no`, `never`, `isn't`, `wasn't`, `didn't`, …)
//!   among its `window` (2) preceding words is discarded (`not late`, `wasn't drunk`);
//! - phrases in Chinese, Japanese or Korean script ([`is_cjk`]), languages that do not put
//!   spaces between words, are compiled into a second leftmost-longest automaton that finds
//!   them anywhere in the raw text, without the negation window (the negation is part of such
//!   a phrase: "繋がらない"); it only runs on texts holding such characters;
//! - each distinct phrase counts once; a category's score is `1 - exp(-Σ weights)`, in
//!   `[0, 1)`; one strong phrase scores ≈ 0.63. [`Category::Other`] is never scored: it is the
//!   residual the incident stage falls back to;
//! - sentiment and sarcasm are not handled here ("great job, 3 hours on hold" scores service
//!   for its wait phrases, and a little positive): the sentiment model carries tone.
//!
//! Risk tiers (levels from the model file, embedded defaults shown):
//! - high, 0.70–0.95: a staff noun and a misconduct/danger hazard in the same text;
//! - medium, 0.45–0.50: a danger-with-harm phrase alone (gas leak, fire, injured, …);
//! - low, 0.20–0.25: a strong hazard alone (reactions such as "alcohol and a gas line??"), or a
//!   staff noun with any conduct phrase ("the driver was rude");
//! - 0 otherwise. [`RISK_WATCH`] (0.6) separates "open a watch incident now" from the rest.
//!
//! Invariants: pure, deterministic, no panics; scores finite and `≥ 0`; risk in `[0, 1]`.

use std::collections::BTreeMap;
use std::sync::Arc;

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};
use rustc_hash::{FxHashMap, FxHashSet};
use serde::Deserialize;

use super::terms::{push_normalized, raw_words, Words};
use crate::domain::Category;

#[cfg(test)]
mod tests;

/// The embedded default lexicon.
const EMBEDDED: &str = include_str!("../../models/categories/categories.toml");

/// Risk at or above which one post alone should open a watch incident (staff + hazard only).
pub const RISK_WATCH: f32 = 0.6;
/// Lower bound of the medium tier (danger with harm, no staff).
pub const RISK_MEDIUM: f32 = 0.4;
/// Lower bound of the high tier (staff noun with misconduct or danger).
pub const RISK_HIGH: f32 = 0.7;

/// Coarse reading of [`Classification::risk`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RiskLevel {
    /// Below [`RISK_MEDIUM`]: ordinary complaints, reactions, nothing.
    Low,
    /// [`RISK_MEDIUM`] up to [`RISK_HIGH`]: danger to customers without staff involvement.
    Medium,
    /// [`RISK_HIGH`] and above: staff misconduct or staff-caused danger.
    High,
}

/// The result of classifying one text.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Classification {
    /// One score per category in [`Category::ALL`] order, each in `[0, 1)`.
    pub scores: [f32; 8],
    /// Single-post risk in `[0, 1]`; see the module docs for the tiers.
    pub risk: f32,
    /// The normalised phrases behind `risk`, in order of appearance; empty when risk is 0.
    pub risk_terms: Vec<Arc<str>>,
}

impl Classification {
    /// The best-scoring category, `None` when nothing matched; ties go to the category that
    /// comes first in [`Category::ALL`].
    pub fn top(&self) -> Option<(Category, f32)> {
        let mut best: Option<(Category, f32)> = None;
        for (c, &s) in Category::ALL.iter().zip(self.scores.iter()) {
            let better = match best {
                None => s > 0.0,
                Some((_, b)) => s > b,
            };
            if better {
                best = Some((*c, s));
            }
        }
        best
    }

    /// The score of one category.
    pub fn score(&self, c: Category) -> f32 {
        self.scores[c as usize]
    }

    /// The tier of [`Classification::risk`].
    pub fn risk_level(&self) -> RiskLevel {
        if self.risk >= RISK_HIGH {
            RiskLevel::High
        } else if self.risk >= RISK_MEDIUM {
            RiskLevel::Medium
        } else {
            RiskLevel::Low
        }
    }
}

/// Anything that can classify a mention's text. Implementations must be pure and cheap.
pub trait Classifier: Send + Sync {
    /// A short stable name for logs and metrics labels.
    fn name(&self) -> &'static str;
    /// Classifies one text; never fails (an empty text gives an all-zero result).
    fn classify(&self, text: &str) -> Classification;
    /// [`Classifier::classify`] given the text's words already tokenised (`words` is
    /// [`Words::of`] `text`); the same result. The default ignores them.
    fn classify_words(&self, text: &str, words: &Words) -> Classification {
        let _ = words;
        self.classify(text)
    }
}

/// Why a category model was rejected. Not retryable: fix the model file and restart.
#[derive(Debug, thiserror::Error)]
pub enum ClassifierError {
    /// The file is not TOML of the expected shape: fix the key the message names.
    #[error("category model is malformed: {0}")]
    Parse(#[from] toml::de::Error),
    /// The file parsed but breaks the model rules: fix every listed problem.
    #[error("category model is invalid: {}", .0.join("; "))]
    Invalid(Vec<String>),
    /// The phrase automaton could not be built (far too many or too long phrases).
    #[error("cannot build the phrase automaton: {0}")]
    Build(#[from] aho_corasick::BuildError),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawModel {
    version: String,
    weights: RawWeights,
    negation: RawNegation,
    category: BTreeMap<String, RawTiers>,
    #[serde(default)]
    shadow: RawShadow,
    risk: RawRisk,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWeights {
    strong: f32,
    medium: f32,
    weak: f32,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNegation {
    cues: Vec<String>,
    window: usize,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawTiers {
    #[serde(default)]
    strong: Vec<String>,
    #[serde(default)]
    medium: Vec<String>,
    #[serde(default)]
    weak: Vec<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawShadow {
    #[serde(default)]
    phrases: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRisk {
    staff: Vec<String>,
    hazard: Vec<String>,
    #[serde(default)]
    hazard_weak: Vec<String>,
    harm: Vec<String>,
    high_min: f32,
    high_max: f32,
    weak_strength: f32,
    medium: f32,
    medium_max: f32,
    low_hazard: f32,
    low_staff_conduct: f32,
}

/// Everything the model knows about one phrase (one automaton pattern).
#[derive(Debug, Clone)]
struct Phrase {
    /// Normalised text (`"gas leak"`), the evidence reported in `risk_terms`.
    text: Arc<str>,
    weights: [f32; 8],
    staff: bool,
    /// Hazard strength: 0 none, `weak_strength` for ambiguous hazards, 1 for clear ones.
    hazard: f32,
    harm: bool,
}

#[derive(Debug, Clone, Copy, PartialEq)]
struct Levels {
    high_min: f32,
    high_max: f32,
    weak_strength: f32,
    medium: f32,
    medium_max: f32,
    low_hazard: f32,
    low_staff_conduct: f32,
}

/// The weighted-phrase classifier; cheap to clone (the automaton is shared).
#[derive(Debug, Clone)]
pub struct KeywordClassifier {
    version: Arc<str>,
    automaton: Option<AhoCorasick>,
    /// The phrase id of each pattern of `automaton`.
    word_ids: Arc<[usize]>,
    /// The phrases written in Chinese, Japanese or Korean script, matched as substrings of the
    /// text (those scripts do not separate words with spaces): `(automaton, phrase id of each
    /// pattern)`. `None` when the lexicon has none.
    cjk: Option<(AhoCorasick, Arc<[usize]>)>,
    phrases: Arc<[Phrase]>,
    cues: Arc<[Box<str>]>,
    window: usize,
    levels: Levels,
}

/// Accumulates model-building problems so that every one is reported at once.
struct Builder {
    index: FxHashMap<String, usize>,
    phrases: Vec<Phrase>,
    members: FxHashSet<(usize, u8)>,
    problems: Vec<String>,
}

const LIST_STAFF: u8 = 8;
const LIST_HAZARD: u8 = 9;
const LIST_HARM: u8 = 10;

impl Builder {
    /// The phrase slot for `raw`, created on first sight, and whether `list` held it already.
    fn slot(&mut self, raw: &str, list: u8, what: &str) -> Option<usize> {
        // The padded form the automaton runs on, as texts are tokenised.
        let pattern = Words::of(raw).canon;
        if pattern.is_empty() {
            self.problems
                .push(format!("{what}: phrase {raw:?} has no words"));
            return None;
        }
        let next = self.phrases.len();
        let id = *self.index.entry(pattern).or_insert(next);
        if id == next {
            let text: String = raw_words(raw)
                .map(|w| {
                    let mut s = String::new();
                    push_normalized(w, &mut s);
                    s
                })
                .collect::<Vec<_>>()
                .join(" ");
            self.phrases.push(Phrase {
                text: Arc::from(text),
                weights: [0.0; 8],
                staff: false,
                hazard: 0.0,
                harm: false,
            });
        }
        if !self.members.insert((id, list)) {
            self.problems
                .push(format!("{what}: phrase {raw:?} is listed twice"));
            return None;
        }
        Some(id)
    }
}

/// Whether `c` is written in a script that does not put spaces between words (Chinese,
/// Japanese kana, and Korean, whose particles join the word before them), so a phrase in it
/// is matched as a substring.
fn is_cjk(c: char) -> bool {
    matches!(c,
        '\u{3040}'..='\u{30FF}'   // hiragana, katakana
        | '\u{3400}'..='\u{4DBF}' // CJK extension A
        | '\u{4E00}'..='\u{9FFF}' // CJK unified ideographs
        | '\u{AC00}'..='\u{D7AF}' // Hangul syllables
        | '\u{F900}'..='\u{FAFF}' // CJK compatibility ideographs
        | '\u{FF66}'..='\u{FF9F}' // halfwidth katakana
    )
}

fn check_unit(problems: &mut Vec<String>, key: &str, v: f32) {
    if !(0.0..=1.0).contains(&v) {
        problems.push(format!("{key} = {v} must lie in [0, 1]"));
    }
}

impl KeywordClassifier {
    /// The lexicon compiled into the binary (`models/categories/categories.toml`).
    ///
    /// A unit test guarantees the embedded file is valid; should it ever not be, this
    /// returns [`KeywordClassifier::empty`] rather than panicking (use
    /// [`KeywordClassifier::try_embedded`] to see the error).
    pub fn embedded() -> KeywordClassifier {
        KeywordClassifier::try_embedded().unwrap_or_else(|_| KeywordClassifier::empty())
    }

    /// The embedded lexicon, or why it is invalid.
    pub fn try_embedded() -> Result<KeywordClassifier, ClassifierError> {
        KeywordClassifier::from_toml(EMBEDDED)
    }

    /// A classifier that matches nothing (all scores and risk 0).
    pub fn empty() -> KeywordClassifier {
        KeywordClassifier {
            version: Arc::from("empty"),
            automaton: None,
            word_ids: Arc::from(Vec::new()),
            cjk: None,
            phrases: Arc::from(Vec::new()),
            cues: Arc::from(Vec::new()),
            window: 0,
            levels: Levels {
                high_min: 0.0,
                high_max: 0.0,
                weak_strength: 0.0,
                medium: 0.0,
                medium_max: 0.0,
                low_hazard: 0.0,
                low_staff_conduct: 0.0,
            },
        }
    }

    /// Parses and compiles a lexicon in the `categories.toml` format, reporting every
    /// problem found.
    pub fn from_toml(text: &str) -> Result<KeywordClassifier, ClassifierError> {
        let raw: RawModel = toml::from_str(text)?;
        let mut b = Builder {
            index: FxHashMap::default(),
            phrases: Vec::new(),
            members: FxHashSet::default(),
            problems: Vec::new(),
        };
        let w = &raw.weights;
        for (key, v) in [("strong", w.strong), ("medium", w.medium), ("weak", w.weak)] {
            if !(v.is_finite() && (0.0..=16.0).contains(&v)) {
                b.problems
                    .push(format!("weights.{key} = {v} must lie in [0, 16]"));
            }
        }
        for (name, tiers) in &raw.category {
            let cat = match Category::parse(name) {
                Some(Category::Other) | None => {
                    b.problems.push(format!(
                        "category.{name}: unknown or unscored category (use one of conduct, \
                         safety, outage, billing, service, positive, spam)"
                    ));
                    continue;
                }
                Some(c) => c,
            };
            let what = format!("category.{name}");
            for (list, weight) in [
                (&tiers.strong, w.strong),
                (&tiers.medium, w.medium),
                (&tiers.weak, w.weak),
            ] {
                for p in list {
                    if let Some(id) = b.slot(p, cat as u8, &what) {
                        b.phrases[id].weights[cat as usize] = weight;
                    }
                }
            }
        }
        let r = &raw.risk;
        for p in &r.staff {
            if let Some(id) = b.slot(p, LIST_STAFF, "risk.staff") {
                b.phrases[id].staff = true;
            }
        }
        for (list, strength, what) in [
            (&r.hazard, 1.0, "risk.hazard"),
            (&r.hazard_weak, r.weak_strength, "risk.hazard_weak"),
        ] {
            for p in list {
                if let Some(id) = b.slot(p, LIST_HAZARD, what) {
                    b.phrases[id].hazard = strength;
                }
            }
        }
        for p in &r.harm {
            if let Some(id) = b.slot(p, LIST_HARM, "risk.harm") {
                b.phrases[id].harm = true;
            }
        }
        for p in &raw.shadow.phrases {
            let pattern = Words::of(p).canon;
            if b.index.contains_key(&pattern) {
                b.problems.push(format!(
                    "shadow: phrase {p:?} is also listed elsewhere (a shadow carries nothing)"
                ));
            } else {
                b.slot(p, u8::MAX, "shadow");
            }
        }
        let levels = Levels {
            high_min: r.high_min,
            high_max: r.high_max,
            weak_strength: r.weak_strength,
            medium: r.medium,
            medium_max: r.medium_max,
            low_hazard: r.low_hazard,
            low_staff_conduct: r.low_staff_conduct,
        };
        for (key, v) in [
            ("risk.high_min", r.high_min),
            ("risk.high_max", r.high_max),
            ("risk.weak_strength", r.weak_strength),
            ("risk.medium", r.medium),
            ("risk.medium_max", r.medium_max),
            ("risk.low_hazard", r.low_hazard),
            ("risk.low_staff_conduct", r.low_staff_conduct),
        ] {
            check_unit(&mut b.problems, key, v);
        }
        let ordered = r.low_hazard.max(r.low_staff_conduct) <= r.medium
            && r.medium <= r.medium_max
            && r.medium_max < r.high_min
            && r.high_min <= r.high_max;
        if !ordered {
            b.problems.push(
                "risk levels must satisfy low_hazard, low_staff_conduct <= medium <= medium_max \
                 < high_min <= high_max"
                    .to_owned(),
            );
        }
        if raw.negation.window > 8 {
            b.problems.push(format!(
                "negation.window = {} exceeds 8",
                raw.negation.window
            ));
        }
        let mut cues = Vec::new();
        for cue in &raw.negation.cues {
            let mut words = raw_words(cue);
            match (words.next(), words.next()) {
                (Some(w), None) => {
                    let mut s = String::new();
                    push_normalized(w, &mut s);
                    cues.push(s.into_boxed_str());
                }
                _ => b
                    .problems
                    .push(format!("negation.cues: {cue:?} must be exactly one word")),
            }
        }
        if raw.version.trim().is_empty() {
            b.problems.push("version must not be empty".to_owned());
        }
        if !b.problems.is_empty() {
            return Err(ClassifierError::Invalid(b.problems));
        }
        let mut patterns: Vec<(&str, usize)> =
            b.index.iter().map(|(p, &id)| (p.as_str(), id)).collect();
        patterns.sort_unstable_by_key(|&(_, id)| id);
        // A phrase in a script without spaces between words is matched anywhere in the text,
        // as written (normalised, without the padding).
        let (cjk, words): (Vec<_>, Vec<_>) = patterns
            .into_iter()
            .partition(|(p, _)| p.chars().any(is_cjk));
        let cjk = if cjk.is_empty() {
            None
        } else {
            let ids: Vec<usize> = cjk.iter().map(|&(_, id)| id).collect();
            let automaton = AhoCorasick::builder()
                .match_kind(MatchKind::LeftmostLongest)
                .build(cjk.iter().map(|&(_, id)| &*b.phrases[id].text))?;
            Some((automaton, Arc::from(ids)))
        };
        let automaton = AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostLongest)
            .kind(Some(AhoCorasickKind::DFA))
            .build(words.iter().map(|&(p, _)| p))?;
        Ok(KeywordClassifier {
            version: Arc::from(raw.version.trim()),
            automaton: Some(automaton),
            word_ids: words.iter().map(|&(_, id)| id).collect(),
            cjk,
            phrases: Arc::from(b.phrases),
            cues: Arc::from(cues),
            window: raw.negation.window,
            levels,
        })
    }

    /// The model's `version` string.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// Number of distinct phrases (including shadows).
    pub fn phrase_count(&self) -> usize {
        self.phrases.len()
    }

    /// Whether any of the `window` words before token `i` is a negation cue.
    fn negated(&self, words: &Words, i: usize) -> bool {
        (i.saturating_sub(self.window)..i).any(|j| {
            let word = words.word(j);
            self.cues.iter().any(|c| **c == *word)
        })
    }
}

impl Classifier for KeywordClassifier {
    fn name(&self) -> &'static str {
        "keyword"
    }

    fn classify(&self, text: &str) -> Classification {
        if self.automaton.is_none() {
            return Classification::default();
        }
        self.classify_words(text, &Words::of(text))
    }

    fn classify_words(&self, text: &str, words: &Words) -> Classification {
        let Some(automaton) = &self.automaton else {
            return Classification::default();
        };
        let (canon, starts) = (&words.canon, &words.starts);

        let mut seen: Vec<usize> = Vec::new();
        let mut sums = [0.0f32; 8];
        let (mut staff, mut hazard, mut harm, mut conduct) = (false, 0.0f32, 0u32, false);
        let mut take = |id: usize| {
            let Some(phrase) = self.phrases.get(id) else {
                return;
            };
            if seen.contains(&id) {
                return;
            }
            seen.push(id);
            for (sum, w) in sums.iter_mut().zip(phrase.weights) {
                *sum += w;
            }
            staff |= phrase.staff;
            hazard = hazard.max(phrase.hazard);
            harm += u32::from(phrase.harm);
            conduct |= phrase.weights[Category::Conduct as usize] > 0.0;
        };
        for m in automaton.find_iter(canon.as_str()) {
            let Some(&id) = self.word_ids.get(m.pattern().as_usize()) else {
                continue;
            };
            let token = starts.binary_search(&m.start()).unwrap_or(0);
            if !self.negated(words, token) {
                take(id);
            }
        }
        // Chinese, Japanese and Korean phrases, anywhere in the text (no negation window: a
        // negation in those languages is part of the phrase, "繋がらない").
        if let Some((cjk, ids)) = &self.cjk {
            if text.chars().any(is_cjk) {
                for m in cjk.find_iter(text) {
                    if let Some(&id) = ids.get(m.pattern().as_usize()) {
                        take(id);
                    }
                }
            }
        }

        let mut scores = [0.0f32; 8];
        for (s, sum) in scores.iter_mut().zip(sums) {
            if sum > 0.0 {
                *s = 1.0 - (-sum).exp();
            }
        }
        let l = &self.levels;
        type Evidence = fn(&Phrase) -> bool;
        let (risk, evidence): (f32, Evidence) = if staff && hazard > 0.0 {
            let r = l.high_min + (l.high_max - l.high_min) * hazard;
            (r, |p| p.staff || p.hazard > 0.0)
        } else if harm > 0 {
            let r = if harm >= 2 { l.medium_max } else { l.medium };
            (r, |p| p.harm)
        } else if hazard >= 1.0 {
            (l.low_hazard, |p| p.hazard >= 1.0)
        } else if staff && conduct {
            (l.low_staff_conduct, |p| {
                p.staff || p.weights[Category::Conduct as usize] > 0.0
            })
        } else {
            (0.0, |_| false)
        };
        let risk = if risk.is_finite() {
            risk.clamp(0.0, 1.0)
        } else {
            0.0
        };
        let risk_terms = if risk > 0.0 {
            seen.iter()
                .filter_map(|&id| self.phrases.get(id))
                .filter(|p| evidence(p))
                .map(|p| p.text.clone())
                .collect()
        } else {
            Vec::new()
        };
        Classification {
            scores,
            risk,
            risk_terms,
        }
    }
}
