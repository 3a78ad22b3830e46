//! Sentiment models behind the `SentimentModel` trait.
//!
//! Role: turn a mention's text into a [`Sentiment`] reading for the scoring stage. The only
//! shipped model is the embedded VADER lexicon model ([`Vader`], selected as `"lexicon"` or
//! `"vader"`); other models plug in by implementing [`SentimentModel`].
//!
//! Inputs: UTF-8 text (any length, any content; models never panic on input).
//! Outputs: [`Sentiment`] with `score` in `[-1, 1]` (VADER's compound) and its three-way
//! [`SentimentLabel`] (`from_compound`, thresholds ±0.05).

use crate::domain::{Sentiment, SentimentLabel};

pub mod vader;

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

/// A model name that [`model_by_name`] does not know.
#[derive(Debug, thiserror::Error)]
#[error("unknown sentiment model {name:?} (available: lexicon)")]
pub struct UnknownModel {
    pub name: String,
}

/// "lexicon" or "vader" -> the embedded VADER model.
pub fn model_by_name(name: &str) -> Result<Box<dyn SentimentModel>, UnknownModel> {
    match name {
        "lexicon" | "vader" => Ok(Box::new(Lexicon)),
        _ => Err(UnknownModel {
            name: name.to_owned(),
        }),
    }
}

/// The neutral reading, for texts a stage decides not to score.
pub fn neutral() -> Sentiment {
    Sentiment {
        score: 0.0,
        label: SentimentLabel::Neutral,
    }
}
