//! The `linear` sentiment model: hashed word and character n-grams plus VADER's scores, fed to
//! a three-class logistic regression trained in pure Rust (`flashpoint train sentiment`, see
//! [`super::train`]).
//!
//! Role: a fast model that learns tweet sentiment from labelled data (SemEval-2017 task 4A)
//! where the lexicon only knows word valences; it beats the lexicon on every evaluation set in
//! `models/README.md` at a few hundred thousand texts per second per core.
//!
//! Inputs: any UTF-8 text. Features ([`for_each_feature`]): light tweet normalisation
//! (lowercase, URLs → `_url_`, @handles → `_user_`, elongations squeezed to two letters,
//! emoticons kept whole, `!`/`?`/emoji as tokens), word unigrams and bigrams with negation
//! scope marking (words after `not`, `never`, `n't`… up to the next clause punctuation hash
//! as `not_<word>`), character 2–5-grams inside `^word$`, all hashed into 2^18 buckets and
//! scaled by `1/sqrt(count)`; plus dense VADER compound/pos/neg/neu and a bias.
//!
//! Outputs: class probabilities (negative, neutral, positive); through [`SentimentModel`] the
//! argmax label and `score = 0.6 · (P(positive) − P(negative)) + 0.4 · VADER compound` in
//! `[-1, 1]` ([`SCORE_BLEND`]; an empty or blank text is neutral with score 0). The class
//! biases include offsets chosen on the dev split for macro-recall (see
//! [`super::train::choose_offsets`]).
//!
//! Invariants: the weights file (`models/linear/weights.bin`, embedded with `include_bytes!`)
//! carries the sha256 of its body in its header and the feature-version it was trained
//! with; [`LinearModel::from_bytes`] rejects a corrupt, truncated or mismatched file with a
//! clear [`WeightsError`]. Scoring never allocates in the steady state (per-thread scratch).

use std::cell::RefCell;
use std::sync::OnceLock;

use sha2::{Digest, Sha256};

use super::{SentimentModel, Vader};
use crate::domain::{Sentiment, SentimentLabel};

/// Classes in weight order.
pub const LABELS: [SentimentLabel; CLASSES] = [
    SentimentLabel::Negative,
    SentimentLabel::Neutral,
    SentimentLabel::Positive,
];
/// Number of classes.
pub const CLASSES: usize = 3;
/// log2 of the number of hash buckets.
pub const BUCKET_BITS: u32 = 18;
/// Number of hash buckets.
pub const BUCKETS: usize = 1 << BUCKET_BITS;
/// Dense features: VADER compound, pos, neg, neu, and a constant bias.
pub const DENSE: usize = 5;
/// Bumped whenever [`for_each_feature`] or [`dense_features`] changes, so stale weights are
/// refused. Version 2: the dense VADER scores are the `lexicon` model's (with the social-slang
/// and idiom overlays), not the reference VADER's.
pub const FEATURE_VERSION: u32 = 2;

const MAGIC: &[u8; 8] = b"FPLINv1\0";
const BODY: usize = 4 + CLASSES * DENSE * 4 + BUCKETS * CLASSES * 2;

const EMBEDDED: &[u8] = include_bytes!("../../../models/linear/weights.bin");

/// A weights file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum WeightsError {
    #[error("linear sentiment weights: {len} bytes, expected {expected} (truncated or not a weights file)")]
    Size { len: usize, expected: usize },
    #[error("linear sentiment weights: bad magic (not a flashpoint linear weights file)")]
    Magic,
    #[error(
        "linear sentiment weights: feature version {found}, bucket bits {bits}, classes {classes}, \
         dense {dense}; this build expects {FEATURE_VERSION}, {BUCKET_BITS}, {CLASSES}, {DENSE} \
         (retrain with `flashpoint train sentiment`)"
    )]
    Shape {
        found: u32,
        bits: u32,
        classes: u32,
        dense: u32,
    },
    #[error(
        "linear sentiment weights are corrupt: sha256 of the body is {found}, the header says \
         {expected}"
    )]
    Checksum { found: String, expected: String },
}

/// Full-precision weights, as training produces them.
#[derive(Debug, Clone)]
pub struct FloatWeights {
    /// `BUCKETS * CLASSES`, bucket-major.
    pub sparse: Vec<f32>,
    pub dense: [[f32; DENSE]; CLASSES],
}

impl FloatWeights {
    pub fn zeros() -> FloatWeights {
        FloatWeights {
            sparse: vec![0.0; BUCKETS * CLASSES],
            dense: [[0.0; DENSE]; CLASSES],
        }
    }

    /// Quantises the sparse weights to i16 with one scale and serialises the file.
    pub fn to_bytes(&self) -> Vec<u8> {
        weights_file(
            MAGIC,
            &[FEATURE_VERSION, BUCKET_BITS, CLASSES as u32, DENSE as u32],
            self.dense.as_flattened(),
            &self.sparse,
        )
    }
}

/// A weights file: `magic`, the `shape` fields (u32 LE), the sha256 of the body, then the
/// body: one f32 scale, the `dense` f32 weights, the `sparse` weights quantised to i16 by that
/// scale (max |w| / 32767). The layout [`verified_body`] reads, shared with the complaint model.
pub(crate) fn weights_file(
    magic: &[u8; 8],
    shape: &[u32],
    dense: &[f32],
    sparse: &[f32],
) -> Vec<u8> {
    let max = sparse.iter().fold(0f32, |m, w| m.max(w.abs()));
    let scale = if max > 0.0 { max / 32767.0 } else { 1.0 };
    let mut body = Vec::with_capacity(4 + 4 * dense.len() + 2 * sparse.len());
    body.extend_from_slice(&scale.to_le_bytes());
    for w in dense {
        body.extend_from_slice(&w.to_le_bytes());
    }
    for w in sparse {
        let q = (w / scale).round().clamp(-32767.0, 32767.0) as i16;
        body.extend_from_slice(&q.to_le_bytes());
    }
    let mut out = Vec::with_capacity(8 + 4 * shape.len() + 32 + body.len());
    out.extend_from_slice(magic);
    for v in shape {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out.extend_from_slice(&Sha256::digest(&body));
    out.extend_from_slice(&body);
    out
}

/// The quantised model ready to score.
#[derive(Debug, Clone)]
pub struct LinearModel {
    sparse: Vec<i16>,
    scale: f32,
    dense: [[f32; DENSE]; CLASSES],
}

pub(crate) fn u32_at(b: &[u8], at: usize) -> u32 {
    let mut w = [0u8; 4];
    w.copy_from_slice(&b[at..at + 4]);
    u32::from_le_bytes(w)
}

/// Why a weights file's header check failed (mapped to each model's own error type).
pub(crate) enum HeaderError<const N: usize> {
    Size { len: usize, expected: usize },
    Magic,
    Shape([u32; N]),
    Checksum { found: String, expected: String },
}

/// The header check shared by the embedded weight files: total size, 8-byte magic, `N`
/// little-endian u32 shape fields that must equal `shape`, then the sha256 of the body.
/// Returns the verified body.
pub(crate) fn verified_body<'a, const N: usize>(
    bytes: &'a [u8],
    magic: &[u8; 8],
    shape: [u32; N],
    body_len: usize,
) -> Result<&'a [u8], HeaderError<N>> {
    let header = 8 + 4 * N + 32;
    if bytes.len() != header + body_len {
        return Err(HeaderError::Size {
            len: bytes.len(),
            expected: header + body_len,
        });
    }
    if &bytes[..8] != magic {
        return Err(HeaderError::Magic);
    }
    let found: [u32; N] = std::array::from_fn(|i| u32_at(bytes, 8 + 4 * i));
    if found != shape {
        return Err(HeaderError::Shape(found));
    }
    let expected = &bytes[8 + 4 * N..header];
    let body = &bytes[header..];
    let digest = Sha256::digest(body);
    if digest.as_slice() != expected {
        return Err(HeaderError::Checksum {
            found: hex::encode(digest),
            expected: hex::encode(expected),
        });
    }
    Ok(body)
}

fn f32_at(b: &[u8], at: usize) -> f32 {
    f32::from_bits(u32_at(b, at))
}

impl LinearModel {
    /// The model from `models/linear/weights.bin`, embedded at compile time, verified and
    /// parsed once.
    pub fn embedded() -> Result<&'static LinearModel, &'static WeightsError> {
        static MODEL: OnceLock<Result<LinearModel, WeightsError>> = OnceLock::new();
        MODEL
            .get_or_init(|| LinearModel::from_bytes(EMBEDDED))
            .as_ref()
    }

    /// Verifies (size, magic, shape, sha256 of the body) and parses a weights file.
    pub fn from_bytes(bytes: &[u8]) -> Result<LinearModel, WeightsError> {
        let shape = [FEATURE_VERSION, BUCKET_BITS, CLASSES as u32, DENSE as u32];
        let body = verified_body(bytes, MAGIC, shape, BODY).map_err(|e| match e {
            HeaderError::Size { len, expected } => WeightsError::Size { len, expected },
            HeaderError::Magic => WeightsError::Magic,
            HeaderError::Shape([found, bits, classes, dense]) => WeightsError::Shape {
                found,
                bits,
                classes,
                dense,
            },
            HeaderError::Checksum { found, expected } => WeightsError::Checksum { found, expected },
        })?;
        let scale = f32_at(body, 0);
        let mut dense_w = [[0f32; DENSE]; CLASSES];
        let mut at = 4;
        for row in &mut dense_w {
            for w in row.iter_mut() {
                *w = f32_at(body, at);
                at += 4;
            }
        }
        let sparse = body[at..]
            .chunks_exact(2)
            .map(|c| i16::from_le_bytes([c[0], c[1]]))
            .collect();
        Ok(LinearModel {
            sparse,
            scale,
            dense: dense_w,
        })
    }

    /// Class probabilities (negative, neutral, positive).
    pub fn probabilities(&self, text: &str) -> [f32; CLASSES] {
        self.probabilities_and_compound(text).0
    }

    /// Class probabilities and VADER's compound score of `text` (one of the model's dense
    /// features, so it comes for free).
    pub fn probabilities_and_compound(&self, text: &str) -> ([f32; CLASSES], f32) {
        let text = super::model_text(text);
        SCRATCH.with(|s| {
            let s = &mut *s.borrow_mut();
            let mut acc = [0i64; CLASSES];
            let mut n = 0u32;
            let sparse = &self.sparse;
            for_each_feature(text, &mut s.word, |i| {
                let b = i as usize * CLASSES;
                if let Some(w) = sparse.get(b..b + CLASSES) {
                    acc[0] += i64::from(w[0]);
                    acc[1] += i64::from(w[1]);
                    acc[2] += i64::from(w[2]);
                }
                n += 1;
            });
            let x = dense_features(text);
            let k = if n > 0 {
                self.scale / (n as f32).sqrt()
            } else {
                0.0
            };
            let mut logits = [0f32; CLASSES];
            for c in 0..CLASSES {
                logits[c] = acc[c] as f32 * k + dot(&self.dense[c], &x);
            }
            (softmax(logits), x[0])
        })
    }
}

impl SentimentModel for LinearModel {
    fn name(&self) -> &str {
        "linear"
    }

    fn score(&self, text: &str) -> Sentiment {
        // No text, no evidence: the class-bias offsets alone would read it as positive.
        if text.trim().is_empty() {
            return super::neutral();
        }
        let (p, compound) = self.probabilities_and_compound(text);
        super::reading(p, SCORE_BLEND, compound)
    }
}

/// Weight of the model's `P(positive) − P(negative)` in its continuous score; the rest is
/// VADER's compound: `score = SCORE_BLEND · (P(pos) − P(neg)) + (1 − SCORE_BLEND) · compound`
/// ([`super::blended_score_at`]).
/// The label is the most probable class either way; only the intensity reading changes.
///
/// Chosen by [`crate::eval::sentiment::choose_score_blend`]: the weight in 0, 0.1, …, 1 with
/// the highest mean Pearson r against the human ratings of VADER's three non-tweet rated sets
/// (Amazon reviews, movie reviews, NYT editorials; `data/vader-snippets/`), so the tweet set
/// in the evaluation table stays held out. Class probabilities alone rank intensity poorly
/// ("good" and "best day ever" are both ~certainly positive); the lexicon's valences carry it.
pub const SCORE_BLEND: f32 = 0.6;

struct Scratch {
    word: Vec<u8>,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = const { RefCell::new(Scratch { word: Vec::new() }) };
}

pub(crate) fn dot(w: &[f32; DENSE], x: &[f32; DENSE]) -> f32 {
    w.iter().zip(x).map(|(a, b)| a * b).sum()
}

pub(crate) fn softmax(logits: [f32; CLASSES]) -> [f32; CLASSES] {
    let m = logits.iter().fold(f32::NEG_INFINITY, |m, &l| m.max(l));
    let e = logits.map(|l| (l - m).exp());
    let s: f32 = e.iter().sum();
    e.map(|v| v / s)
}

/// The dense features of a text: VADER compound, pos, neg, neu (as the `lexicon` model reads
/// them: with the social-slang and idiom overlays) and a constant 1.
pub fn dense_features(text: &str) -> [f32; DENSE] {
    let p = Vader::embedded().polarity_scores_social(text);
    [
        p.compound as f32,
        p.pos as f32,
        p.neg as f32,
        p.neu as f32,
        1.0,
    ]
}

const K: u64 = 0x517c_c1b7_2722_0a95;
const SALT_UNI: u64 = 0x1f0d_3a5b_9c77_e211;
const SALT_BI: u64 = 0x6a09_e667_f3bc_c908;
const SALT_CHAR: u64 = 0xbb67_ae85_84ca_a73b;
const SALT_NEG: u64 = 0x3c6e_f372_fe94_f82b;
/// Longest word prefix (bytes) that contributes character n-grams.
const MAX_CHAR_WORD: usize = 24;

#[inline]
fn step(h: u64, b: u8) -> u64 {
    (h.rotate_left(5) ^ u64::from(b)).wrapping_mul(K)
}

#[inline]
fn bucket(h: u64) -> u32 {
    (crate::domain::fmix64(h) >> (64 - BUCKET_BITS)) as u32
}

fn hash_bytes(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| step(h, b))
}

fn is_negator(w: &[u8]) -> bool {
    matches!(
        w,
        b"not"
            | b"no"
            | b"never"
            | b"cannot"
            | b"nothing"
            | b"nobody"
            | b"none"
            | b"nor"
            | b"neither"
            | b"nowhere"
            | b"without"
            | b"dont"
            | b"cant"
            | b"wont"
            | b"isnt"
            | b"arent"
            | b"didnt"
            | b"doesnt"
            | b"wasnt"
            | b"werent"
            | b"shouldnt"
            | b"wouldnt"
            | b"couldnt"
            | b"aint"
            | b"havent"
            | b"hasnt"
    ) || w.ends_with(b"n't")
}

fn is_emoticon(raw: &str) -> bool {
    let b = raw.as_bytes();
    raw.len() <= 4
        && raw.is_ascii()
        && ((b.iter().any(|c| matches!(c, b':' | b';' | b'='))
            && b.iter().any(|c| {
                matches!(
                    c,
                    b')' | b'(' | b'D' | b'P' | b'p' | b'/' | b'|' | b'[' | b']'
                )
            }))
            || raw == "<3")
}

/// Tokeniser state shared by the word and punctuation emitters.
struct Emitter<F: FnMut(u32)> {
    emit: F,
    prev: u64,
    negated: bool,
}

impl<F: FnMut(u32)> Emitter<F> {
    /// A whole token: unigram and bigram with the previous token; `chars` adds n-grams.
    fn token(&mut self, word: &[u8], chars: bool) {
        let mut h = hash_bytes(word);
        let negator = is_negator(word);
        if self.negated && !negator {
            h ^= SALT_NEG;
        }
        (self.emit)(bucket(h ^ SALT_UNI));
        (self.emit)(bucket(
            self.prev.wrapping_mul(K).rotate_left(17) ^ h ^ SALT_BI,
        ));
        self.prev = h;
        if chars {
            let w = &word[..word.len().min(MAX_CHAR_WORD)];
            let len = w.len() + 2;
            let at = |i: usize| -> u8 {
                if i == 0 {
                    b'^'
                } else if i == len - 1 {
                    b'$'
                } else {
                    w[i - 1]
                }
            };
            for start in 0..len - 1 {
                let mut c = SALT_CHAR;
                for (n, i) in (start..len.min(start + 5)).enumerate() {
                    c = step(c, at(i));
                    if n >= 1 {
                        (self.emit)(bucket(c));
                    }
                }
            }
        }
        if negator {
            self.negated = true;
        }
    }
}

/// Calls `emit` with the bucket of every sparse feature of `text` (with repeats).
/// `word` is scratch space.
/// Used by `linear` and by the complaint model.
pub fn for_each_feature(text: &str, word: &mut Vec<u8>, emit: impl FnMut(u32)) {
    let mut e = Emitter {
        emit,
        prev: 0x9e37_79b9_7f4a_7c15,
        negated: false,
    };
    for raw in text.split_whitespace() {
        let rb = raw.as_bytes();
        let lower_starts = |p: &[u8]| rb.len() >= p.len() && rb[..p.len()].eq_ignore_ascii_case(p);
        if lower_starts(b"http://") || lower_starts(b"https://") || lower_starts(b"www.") {
            e.token(b"_url_", false);
            continue;
        }
        if rb.len() > 1 && rb[0] == b'@' {
            e.token(b"_user_", false);
            continue;
        }
        if is_emoticon(raw) {
            e.token(rb, false);
            continue;
        }
        word.clear();
        let mut last_punct = 0u8;
        for ch in raw.chars() {
            if ch.is_alphanumeric() || ch == '\'' || ch == '\u{2019}' {
                last_punct = 0;
                if ch.is_ascii() {
                    let b = if ch == '\'' {
                        b'\''
                    } else {
                        (ch as u8).to_ascii_lowercase()
                    };
                    push_squeezed(word, b);
                } else if ch == '\u{2019}' {
                    push_squeezed(word, b'\'');
                } else {
                    let mut buf = [0u8; 4];
                    for lc in ch.to_lowercase() {
                        word.extend_from_slice(lc.encode_utf8(&mut buf).as_bytes());
                    }
                }
                continue;
            }
            if !word.is_empty() {
                e.token(word, true);
                word.clear();
            }
            match ch {
                '!' | '?' => {
                    e.negated = false;
                    if last_punct != ch as u8 {
                        let b = [ch as u8];
                        e.token(&b, false);
                        last_punct = ch as u8;
                    }
                }
                '.' | ',' | ';' | ':' => e.negated = false,
                c if !c.is_ascii() && !c.is_whitespace() => {
                    let mut buf = [0u8; 4];
                    e.token(c.encode_utf8(&mut buf).as_bytes(), false);
                }
                _ => {}
            }
        }
        if !word.is_empty() {
            e.token(word, true);
        }
    }
    let end = e.prev.wrapping_mul(K).rotate_left(17) ^ SALT_BI ^ 0xe0d;
    (e.emit)(bucket(end));
}

/// Appends `b`, squeezing runs of the same letter to at most two ("soooo" → "soo").
fn push_squeezed(word: &mut Vec<u8>, b: u8) {
    let n = word.len();
    if n >= 2 && word[n - 1] == b && word[n - 2] == b && b.is_ascii_alphabetic() {
        return;
    }
    word.push(b);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feats(text: &str) -> Vec<u32> {
        let mut w = Vec::new();
        let mut out = Vec::new();
        for_each_feature(text, &mut w, |i| out.push(i));
        out
    }

    #[test]
    fn normalisation_maps_equivalent_texts_to_equal_features() {
        assert_eq!(feats("SOOOOO good"), feats("soo good"));
        assert_eq!(
            feats("@acme see https://t.co/x"),
            feats("@other see http://example.com")
        );
        assert_eq!(feats("I don\u{2019}t like it"), feats("i don't like it"));
        assert_ne!(feats("good"), feats("not good"));
        // Negation scope ends at clause punctuation.
        let a = feats("not bad. good");
        let b = feats("not bad, good");
        assert_eq!(a, b);
        assert!(feats("").len() == 1);
        assert!(feats("x").iter().all(|&i| (i as usize) < BUCKETS));
    }

    #[test]
    fn negation_changes_the_word_feature() {
        let mut w = Vec::new();
        let mut plain = Vec::new();
        for_each_feature("good", &mut w, |i| plain.push(i));
        let mut neg = Vec::new();
        for_each_feature("never good", &mut w, |i| neg.push(i));
        assert!(!neg.contains(&plain[0]), "not_good must differ from good");
    }

    #[test]
    fn embedded_model_labels_a_fixed_sample() {
        let m = LinearModel::embedded().expect("embedded weights verify");
        let cases = [
            (
                "the technician never showed up, useless",
                SentimentLabel::Negative,
            ),
            ("charged twice and no refund", SentimentLabel::Negative),
            (
                "worst customer service EVER!!! never ordering again",
                SentimentLabel::Negative,
            ),
            ("I love this so much!", SentimentLabel::Positive),
            (
                "Loving the new update, battery life is SO much better",
                SentimentLabel::Positive,
            ),
            ("my flight is at 9am tomorrow", SentimentLabel::Neutral),
            ("", SentimentLabel::Neutral),
        ];
        for (text, want) in cases {
            let s = m.score(text);
            assert_eq!(s.label, want, "{text:?}: {s:?}");
            assert!((-1.0..=1.0).contains(&s.score));
        }
        let p = m.probabilities("great");
        assert!((p.iter().sum::<f32>() - 1.0).abs() < 1e-4);
    }

    #[test]
    fn corrupt_copy_of_the_embedded_weights_is_rejected() {
        let mut copy = EMBEDDED.to_vec();
        let mid = copy.len() / 2;
        copy[mid] = copy[mid].wrapping_add(1);
        let err = LinearModel::from_bytes(&copy).expect_err("corrupt copy");
        assert!(err.to_string().contains("corrupt"), "{err}");
    }

    #[test]
    fn round_trip_and_corruption_is_detected() {
        let mut fw = FloatWeights::zeros();
        fw.sparse[7] = 0.5;
        fw.dense[2][0] = 1.25;
        let bytes = fw.to_bytes();
        let m = LinearModel::from_bytes(&bytes).expect("valid file");
        assert_eq!(m.dense[2][0], 1.25);
        assert_eq!(m.sparse[7], 32767);

        let mut bad = bytes.clone();
        let last = bad.len() - 1;
        bad[last] ^= 0x40;
        let err = LinearModel::from_bytes(&bad).expect_err("corrupt file");
        assert!(matches!(err, WeightsError::Checksum { .. }), "{err}");
        assert!(err.to_string().contains("corrupt"), "{err}");

        let err = LinearModel::from_bytes(&bytes[..100]).expect_err("truncated");
        assert!(matches!(err, WeightsError::Size { .. }), "{err}");
        let mut magic = bytes;
        magic[0] = b'X';
        assert!(matches!(
            LinearModel::from_bytes(&magic),
            Err(WeightsError::Magic)
        ));
    }
}
