//! Sentiment models behind the `SentimentModel` trait.
//!
//! Role: turn a mention's text into a [`Sentiment`] reading for the scoring stage. Shipped
//! models: the embedded VADER lexicon model ([`Vader`]: `"lexicon"` reads it with a
//! social-slang overlay, "fire" and "killed it" as praise in context; `"vader"` is the exact
//! reference port) and the trained hashed-n-gram logistic regression ([`LinearModel`], `"linear"`, trained by
//! [`train`]); with the cargo feature `rust-bert`, the transformer `bert::BertSentiment`
//! (`"bert"`); other models plug in by implementing [`SentimentModel`].
//!
//! Inputs: UTF-8 text (any length, any content; models never panic on input).
//! Outputs: [`Sentiment`] with `score` in `[-1, 1]` and a three-way [`SentimentLabel`]: for the
//! lexicon VADER's compound with thresholds ±0.05; for the classifiers (`linear`, `onnx`,
//! `bert`) the most probable class and a blend of P(positive) − P(negative) with the compound
//! ([`linear::SCORE_BLEND`], [`TRANSFORMER_SCORE_BLEND`]). Beside polarity, [`complaint`]
//! gives every text a complaint / service-failure probability (one model for every sentiment
//! model).

use std::borrow::Cow;

use crate::domain::{Sentiment, SentimentLabel};

#[cfg(feature = "rust-bert")]
pub mod bert;
pub mod complaint;
pub mod distill;
pub mod gold;
pub mod linear;
#[cfg(feature = "onnx")]
pub mod onnx;
pub mod train;
pub mod vader;

pub use linear::{LinearModel, WeightsError};
pub use vader::{Lexicon, LexiconError, Polarity, Vader};

/// A sentiment model: text -> Sentiment {score: f32 in [-1,1], label}.
pub trait SentimentModel: Send + Sync {
    fn name(&self) -> &str;

    fn score(&self, text: &str) -> Sentiment;

    /// Default loops over score(); batched models override.
    fn score_batch(&self, texts: &[&str], out: &mut Vec<Sentiment>) {
        out.clear();
        out.extend(texts.iter().map(|t| self.score(t)));
    }
}

pub use crate::config::MODEL_NAMES;

/// A model that [`model_by_name`] cannot provide.
#[derive(Debug, thiserror::Error)]
pub enum UnknownModel {
    #[error("unknown sentiment model {name:?} (available: {})", MODEL_NAMES.join(", "))]
    Unknown { name: String },
    /// A model whose cargo feature this binary was built without.
    #[error("sentiment model {name:?}: built without feature {feature} (rebuild with `--features {feature}`)")]
    NotBuilt {
        name: &'static str,
        feature: &'static str,
    },
    /// A model whose files could not be loaded.
    #[error("sentiment model {name:?}: {message}")]
    Load { name: &'static str, message: String },
    #[error("sentiment model \"linear\": {0}")]
    Weights(&'static WeightsError),
    #[cfg(feature = "onnx")]
    #[error("sentiment model \"onnx\": {0}")]
    Onnx(#[from] onnx::OnnxError),
}

/// "lexicon" -> the embedded VADER model with its social-slang overlay; "vader" -> the same
/// model exactly as the reference scores; "linear" -> the embedded trained
/// [`LinearModel`] (its weights verified against their sha256 on first use); "onnx" -> the
/// fine-tuned MiniLM from `onnx::default_dir` (feature `onnx`; loaded on each call); "bert" -> the
/// rust-bert transformer (feature `rust-bert`, weights from `FLASHPOINT_BERT_DIR`).
pub fn model_by_name(name: &str) -> Result<Box<dyn SentimentModel>, UnknownModel> {
    match name {
        "lexicon" => Ok(Box::new(Lexicon)),
        "vader" => Ok(Box::new(vader::ReferenceVader)),
        "linear" => LinearModel::embedded()
            .map(|m| Box::new(m.clone()) as Box<dyn SentimentModel>)
            .map_err(UnknownModel::Weights),
        #[cfg(feature = "onnx")]
        "onnx" => Ok(Box::new(onnx::OnnxModel::load_default()?)),
        #[cfg(not(feature = "onnx"))]
        "onnx" => Err(UnknownModel::NotBuilt {
            name: "onnx",
            feature: "onnx",
        }),
        #[cfg(feature = "rust-bert")]
        "bert" => bert::BertSentiment::load(&bert::BertSentiment::default_dir())
            .map(|m| Box::new(m) as Box<dyn SentimentModel>)
            .map_err(|e| UnknownModel::Load {
                name: "bert",
                message: e.to_string(),
            }),
        #[cfg(not(feature = "rust-bert"))]
        "bert" => Err(UnknownModel::NotBuilt {
            name: "bert",
            feature: "rust-bert",
        }),
        _ => Err(UnknownModel::Unknown {
            name: name.to_owned(),
        }),
    }
}

/// The most of a text, in bytes, that the trained n-gram models (`linear`, the complaint
/// model) read: ten times a long post. Their evidence is a sum over features scaled by
/// 1/sqrt(count), which grows with a repeated phrase: "love it" ten thousand times read as a
/// complaint, and past a few hundred thousand features the sum overflowed. Posts are
/// accepted up to 1 MiB; what follows the first [`MODEL_TEXT_BYTES`] is not read.
pub const MODEL_TEXT_BYTES: usize = 4096;

/// `text` cut to at most [`MODEL_TEXT_BYTES`], at a character boundary.
pub fn model_text(text: &str) -> &str {
    if text.len() <= MODEL_TEXT_BYTES {
        return text;
    }
    let mut end = MODEL_TEXT_BYTES;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// Twitter placeholders for the transformer models (`onnx`, `bert`), the rule their training
/// script applies (`normalise` in `models/training/finetune_minilm.py`; keep them equal): a URL
/// (`http://`, `https://` or `www.` and the non-blank run after it) becomes `http`, then an
/// @handle (`@` and a run of ASCII letters, digits and `_`) becomes `@user`. Blank is the six
/// ASCII whitespace characters (space, `\t`, `\n`, `\x0b`, `\x0c`, `\r`).
///
/// Why: a t.co link is a third or more of the tokens of a link-carrying tweet and says little
/// about sentiment; the SemEval-2017 test tweets shrink from 35.8 to 25.5 WordPiece tokens on
/// average, which is what a transformer's cost follows (+19 % texts/s). The models were
/// trained on raw text; the dev split preferred the placeholders, the test set lost 0.8 points
/// of macro-recall (`models/minilm/MODEL_CARD.md`). Borrows when there is nothing to replace.
pub fn twitter_placeholders(text: &str) -> Cow<'_, str> {
    const URL_STARTS: [&str; 3] = ["http://", "https://", "www."];
    let blank = |c: char| matches!(c, ' ' | '\t' | '\n' | '\x0b' | '\x0c' | '\r');
    let handle = |c: char| c.is_ascii_alphanumeric() || c == '_';
    if !text.contains('@') && !URL_STARTS.iter().any(|p| text.contains(p)) {
        return Cow::Borrowed(text);
    }
    // Pass 1: URLs. Leftmost match first, as a regex scan; a prefix with nothing after it
    // stays as it is.
    let mut urls = String::with_capacity(text.len());
    let mut rest = text;
    while !rest.is_empty() {
        let url = URL_STARTS
            .iter()
            .find(|p| rest.starts_with(**p))
            .and_then(|p| {
                let after = &rest[p.len()..];
                let n = after.len() - after.trim_start_matches(|c| !blank(c)).len();
                (n > 0).then_some(p.len() + n)
            });
        if let Some(len) = url {
            urls.push_str("http");
            rest = &rest[len..];
        } else {
            let c = rest.chars().next().expect("non-empty");
            urls.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    // Pass 2: @handles (on pass 1's output, as the script's second substitution).
    let mut out = String::with_capacity(urls.len());
    let mut rest = urls.as_str();
    while let Some(at) = rest.find('@') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        let n = after.len() - after.trim_start_matches(handle).len();
        if n > 0 {
            out.push_str("@user");
        } else {
            out.push('@');
        }
        rest = &after[n..];
    }
    out.push_str(rest);
    Cow::Owned(out)
}

/// Weight of `P(positive) − P(negative)` in the transformer models' (`onnx`, `bert`) score;
/// the rest is VADER's compound ([`blended_score_at`]). Chosen by the rule of
/// [`linear::SCORE_BLEND`] on the `onnx` model's probabilities (mean Pearson r over VADER's
/// three non-tweet rated sets: 0.6989 at 1, 0.7039 at 0.7, **0.7050 at 0.8**, 0.7030 at 0.9);
/// `bert` runs the same checkpoint in fp32 and takes the same weight.
pub const TRANSFORMER_SCORE_BLEND: f32 = 0.8;

/// `alpha · (P(pos) − P(neg)) + (1 − alpha) · compound`, clamped to `[-1, 1]`: the continuous
/// score of the classifier models, with `p` = (negative, neutral, positive).
pub fn blended_score_at(alpha: f32, p: [f32; 3], compound: f32) -> f32 {
    (alpha * (p[2] - p[0]) + (1.0 - alpha) * compound).clamp(-1.0, 1.0)
}

/// The reading of a three-class model whose outputs are in the order of [`linear::LABELS`]
/// (every shipped classifier's logit order): the most probable class (the first on ties) and
/// [`blended_score_at`]`(alpha, p, compound)`.
pub fn reading(p: [f32; 3], alpha: f32, compound: f32) -> Sentiment {
    let mut best = 0;
    for c in 1..3 {
        if p[c] > p[best] {
            best = c;
        }
    }
    Sentiment {
        score: blended_score_at(alpha, p, compound),
        label: linear::LABELS[best],
    }
}

/// VADER's compound of `text`, as the blended scores use it.
pub fn compound(text: &str) -> f32 {
    Vader::embedded().polarity_scores(text).compound as f32
}

/// The neutral reading, for texts a stage decides not to score.
pub fn neutral() -> Sentiment {
    Sentiment {
        score: 0.0,
        label: SentimentLabel::Neutral,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn twitter_placeholders_match_the_training_script() {
        // Expected outputs produced by `normalise` in models/training/finetune_minilm.py.
        let cases = [
            ("see https://t.co/abc, ok", "see http ok"),
            ("www.x.com", "http"),
            ("http:// x", "http:// x"),
            ("@bob_1 hi @ x a@b.c", "@user hi @ x a@user.c"),
            ("@https://x.com", "@user"),
            ("x(https://a.b)y http://a\u{a0}b", "x(http http"),
            ("http://a\x0bb https://c\td", "http\x0bb http\td"),
            (
                "caf\u{e9} @\u{e9}t\u{e9} @_ ",
                "caf\u{e9} @\u{e9}t\u{e9} @user ",
            ),
            ("", ""),
        ];
        for (text, want) in cases {
            assert_eq!(twitter_placeholders(text), want, "{text:?}");
        }
        assert!(matches!(
            twitter_placeholders("no links here"),
            Cow::Borrowed(_)
        ));
    }
}
