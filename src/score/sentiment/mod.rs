//! Sentiment models behind the `SentimentModel` trait.
//!
//! Role: turn a mention's text into a [`Sentiment`] reading for the scoring stage. Shipped
//! models: the embedded VADER lexicon model ([`Vader`], selected as `"lexicon"` or `"vader"`)
//! and the trained hashed-n-gram logistic regression ([`LinearModel`], `"linear"`, trained by
//! [`train`]); with the cargo feature `rust-bert`, the transformer `bert::BertSentiment`
//! (`"bert"`); other models plug in by implementing [`SentimentModel`].
//!
//! Inputs: UTF-8 text (any length, any content; models never panic on input).
//! Outputs: [`Sentiment`] with `score` in `[-1, 1]` and a three-way [`SentimentLabel`]: for the
//! lexicon VADER's compound with thresholds ±0.05; for `linear` P(positive) − P(negative)
//! and the most probable class. Beside polarity, [`complaint`] gives every text a
//! complaint / service-failure probability (one model for every sentiment model).

use crate::domain::{Sentiment, SentimentLabel};

#[cfg(feature = "rust-bert")]
pub mod bert;
pub mod complaint;
pub mod distill;
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

/// Names [`model_by_name`] accepts.
/// `bert` is always listed (so configs naming it validate in every build); without the cargo
/// feature `rust-bert`, [`model_by_name`] answers [`UnknownModel::NotBuilt`]. `onnx` is listed
/// only in builds with the feature `onnx`.
#[cfg(not(feature = "onnx"))]
pub const MODEL_NAMES: &[&str] = &["lexicon", "vader", "linear", "bert"];
/// Names [`model_by_name`] accepts.
#[cfg(feature = "onnx")]
pub const MODEL_NAMES: &[&str] = &["lexicon", "vader", "linear", "onnx", "bert"];

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

/// "lexicon" or "vader" -> the embedded VADER model; "linear" -> the embedded trained
/// [`LinearModel`] (its weights verified against their sha256 on first use); "onnx" -> the
/// fine-tuned MiniLM from [`onnx::default_dir`] (feature `onnx`; loaded on each call); "bert" -> the
/// rust-bert transformer (feature `rust-bert`, weights from `FLASHPOINT_BERT_DIR`).
pub fn model_by_name(name: &str) -> Result<Box<dyn SentimentModel>, UnknownModel> {
    match name {
        "lexicon" | "vader" => Ok(Box::new(Lexicon)),
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

/// The neutral reading, for texts a stage decides not to score.
pub fn neutral() -> Sentiment {
    Sentiment {
        score: 0.0,
        label: SentimentLabel::Neutral,
    }
}
