//! `bert`: a BERT sequence classifier (MiniLM, 6 layers, 384 hidden, fine-tuned on
//! SemEval-2017) run on local weights by rust-bert 0.23 on tch 0.17 / libtorch 2.4. Built only
//! with the cargo feature `rust-bert`.
//!
//! Role: the slow, more accurate model, meant for `[pipeline] incident_sentiment_model` (only
//! mentions of brands with a candidate incident, in batches), `flashpoint sentiment --model
//! bert` and `eval sentiment`.
//!
//! Inputs: a folder (`FLASHPOINT_BERT_DIR`, default `models/minilm-rust-bert`) holding
//! `config.json` (a BERT config whose `id2label` is negative, neutral, positive),
//! `vocab.txt` (WordPiece, lower-cased) and `model.safetensors` (tensors under rust-bert's
//! `BertForSequenceClassification` names), as written by
//! `models/training/convert_rust_bert.py`. Texts are truncated to [`MAX_TOKENS`] WordPiece
//! tokens.
//! Outputs: the most probable class and `score` = 0.8 · (P(positive) − P(negative)) + 0.2 ·
//! VADER compound, like `onnx` ([`super::TRANSFORMER_SCORE_BLEND`]).
//!
//! Why rust-bert: it is the maintained Rust port of HuggingFace's BERT with a tokenizer that
//! matches `vocab.txt`; tch (its tensor library) reads safetensors directly, so no
//! `rust_model.ot` conversion through libtorch's pickle format is needed. rust-bert's own ONNX
//! path depends on the yanked ort 1.x, hence libtorch.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rust_bert::bert::{BertConfig, BertForSequenceClassification};
use rust_bert::pipelines::common::{ModelType, TokenizerOption};
use rust_tokenizers::tokenizer::TruncationStrategy;
use tch::{nn, Device, Kind, Tensor};

use super::{twitter_placeholders, SentimentModel};
use crate::domain::Sentiment;

/// Longest input, in WordPiece tokens (tweets rarely exceed 64).
pub const MAX_TOKENS: usize = 128;
/// Texts per forward pass, after sorting a call's texts by token count (as the `onnx` model).
pub const CHUNK: usize = 16;
/// The environment variable naming the weights folder.
pub const DIR_ENV: &str = "FLASHPOINT_BERT_DIR";
/// The weights folder when [`DIR_ENV`] is unset (relative to the working directory).
pub const DEFAULT_DIR: &str = "models/minilm-rust-bert";

/// Why the `bert` weights could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum BertError {
    #[error("{path}: {message} (see docs/models.md, \"Sentiment models: bert\")")]
    Files { path: String, message: String },
    #[error("{path}: config has {found} labels, the sentiment model needs 3 (negative, neutral, positive)")]
    Labels { path: String, found: usize },
    #[error("rust-bert: {0}")]
    Model(String),
}

struct Inner {
    tokenizer: TokenizerOption,
    model: BertForSequenceClassification,
    // Owns the tensors `model` refers to.
    _vs: nn::VarStore,
    pad_id: i64,
}

/// The rust-bert sequence classifier (see the module docs).
pub struct BertSentiment {
    inner: Mutex<Inner>,
}

impl std::fmt::Debug for BertSentiment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BertSentiment").finish_non_exhaustive()
    }
}

impl BertSentiment {
    /// The folder named by `FLASHPOINT_BERT_DIR`, else `models/minilm-rust-bert`.
    pub fn default_dir() -> PathBuf {
        std::env::var_os(DIR_ENV)
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(DEFAULT_DIR))
    }

    /// Loads the classifier from `dir` on the CPU.
    pub fn load(dir: &Path) -> Result<BertSentiment, BertError> {
        let file = |name: &str| dir.join(name);
        let files_err = |p: &Path, e: &dyn std::fmt::Display| BertError::Files {
            path: p.display().to_string(),
            message: e.to_string(),
        };
        let config_path = file("config.json");
        let text =
            std::fs::read_to_string(&config_path).map_err(|e| files_err(&config_path, &e))?;
        let config: BertConfig =
            serde_json::from_str(&text).map_err(|e| files_err(&config_path, &e))?;
        let labels = config.id2label.as_ref().map_or(0, |l| l.len());
        if labels != 3 {
            return Err(BertError::Labels {
                path: config_path.display().to_string(),
                found: labels,
            });
        }
        let vocab = file("vocab.txt");
        let vocab_str = vocab.to_str().ok_or_else(|| BertError::Files {
            path: vocab.display().to_string(),
            message: String::from("path is not UTF-8"),
        })?;
        if !vocab.is_file() {
            return Err(files_err(&vocab, &"missing"));
        }
        let tokenizer =
            TokenizerOption::from_file(ModelType::Bert, vocab_str, None, true, None, None)
                .map_err(|e| BertError::Model(e.to_string()))?;
        let weights = file("model.safetensors");
        if !weights.is_file() {
            return Err(files_err(&weights, &"missing"));
        }
        let mut vs = nn::VarStore::new(Device::Cpu);
        let model = BertForSequenceClassification::new(vs.root(), &config)
            .map_err(|e| BertError::Model(e.to_string()))?;
        vs.load(&weights).map_err(|e| files_err(&weights, &e))?;
        let pad_id = tokenizer.get_pad_id().unwrap_or(0);
        Ok(BertSentiment {
            inner: Mutex::new(Inner {
                tokenizer,
                model,
                _vs: vs,
                pad_id,
            }),
        })
    }

    /// P(negative), P(neutral), P(positive) for each text.
    fn probabilities(&self, texts: &[&str]) -> Vec<[f32; 3]> {
        if texts.is_empty() {
            return Vec::new();
        }
        let inner = match self.inner.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        // URL and @handle placeholders, as the onnx model (see `twitter_placeholders`).
        let normalised: Vec<_> = texts.iter().map(|t| twitter_placeholders(t)).collect();
        let normalised: Vec<&str> = normalised.iter().map(|t| t.as_ref()).collect();
        let encoded = inner.tokenizer.encode_list(
            &normalised,
            MAX_TOKENS,
            &TruncationStrategy::LongestFirst,
            0,
        );
        // Chunks of similar length: little of each forward pass is padding.
        let mut order: Vec<usize> = (0..encoded.len()).collect();
        order.sort_by_key(|&i| encoded[i].token_ids.len());
        // A tensor that could not be read back scores neutral rather than losing the texts.
        let mut out = vec![[0.0, 1.0, 0.0]; texts.len()];
        for chunk in order.chunks(CHUNK) {
            let len = chunk
                .iter()
                .map(|&i| encoded[i].token_ids.len())
                .max()
                .unwrap_or(1)
                .max(1);
            let mut ids = Vec::with_capacity(chunk.len() * len);
            let mut mask = Vec::with_capacity(chunk.len() * len);
            for &i in chunk {
                let e = &encoded[i];
                ids.extend_from_slice(&e.token_ids);
                mask.extend(std::iter::repeat_n(1i64, e.token_ids.len()));
                let pad = len - e.token_ids.len();
                ids.extend(std::iter::repeat_n(inner.pad_id, pad));
                mask.extend(std::iter::repeat_n(0i64, pad));
            }
            let shape = [chunk.len() as i64, len as i64];
            let ids = Tensor::from_slice(&ids).view(shape);
            let mask = Tensor::from_slice(&mask).view(shape);
            let types = Tensor::zeros(shape, (Kind::Int64, Device::Cpu));
            let probs = tch::no_grad(|| {
                inner
                    .model
                    .forward_t(Some(&ids), Some(&mask), Some(&types), None, None, false)
                    .logits
                    .softmax(-1, Kind::Float)
            });
            let flat: Vec<f32> = Vec::try_from(probs.flatten(0, -1)).unwrap_or_default();
            for (&i, c) in chunk.iter().zip(flat.chunks_exact(3)) {
                out[i] = [c[0], c[1], c[2]];
            }
        }
        out
    }
}

/// The shared classifier reading with the transformers' score blend.
fn reading(p: [f32; 3], text: &str) -> Sentiment {
    super::reading(p, super::TRANSFORMER_SCORE_BLEND, super::compound(text))
}

impl SentimentModel for BertSentiment {
    fn name(&self) -> &str {
        "bert"
    }

    fn score(&self, text: &str) -> Sentiment {
        self.probabilities(&[text])
            .first()
            .map_or_else(super::neutral, |&p| reading(p, text))
    }

    fn score_batch(&self, texts: &[&str], out: &mut Vec<Sentiment>) {
        out.clear();
        out.extend(
            self.probabilities(texts)
                .into_iter()
                .zip(texts)
                .map(|(p, t)| reading(p, t)),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::SentimentLabel;

    /// The weights folder, or `None` (with a message) when it has not been set up.
    fn weights() -> Option<PathBuf> {
        let dir = BertSentiment::default_dir();
        let dir = if dir.is_relative() {
            Path::new(env!("CARGO_MANIFEST_DIR")).join(dir)
        } else {
            dir
        };
        if dir.join("model.safetensors").is_file() {
            Some(dir)
        } else {
            eprintln!(
                "skipping: no bert weights in {} (run models/training/convert_rust_bert.py)",
                dir.display()
            );
            None
        }
    }

    #[test]
    fn missing_folder_is_a_clear_error() {
        let err = BertSentiment::load(Path::new("no/such/folder")).unwrap_err();
        assert!(err.to_string().contains("config.json"), "{err}");
    }

    #[test]
    fn batch_matches_single_and_keeps_order_and_count() {
        let Some(dir) = weights() else { return };
        let m = BertSentiment::load(&dir).unwrap();
        let long = "terrible service ".repeat(200);
        let texts = [
            "I love this phone, best purchase ever!",
            "",
            long.as_str(),
            "The store opens at nine.",
            "Worst airline. Lost my bag again and nobody answers.",
        ];
        let mut batch = Vec::new();
        m.score_batch(&texts, &mut batch);
        assert_eq!(batch.len(), texts.len());
        for (t, b) in texts.iter().zip(&batch) {
            let single = m.score(t);
            assert_eq!(single.label, b.label, "{t:?}");
            assert!((single.score - b.score).abs() < 1e-3, "{t:?}");
            assert!((-1.0..=1.0).contains(&b.score));
        }
        let mut empty = vec![reading([1.0, 0.0, 0.0], "")];
        m.score_batch(&[], &mut empty);
        assert!(empty.is_empty());
    }

    #[test]
    fn readings_follow_the_probabilities() {
        assert_eq!(reading([0.7, 0.2, 0.1], "").label, SentimentLabel::Negative);
        assert_eq!(reading([0.1, 0.2, 0.7], "").label, SentimentLabel::Positive);
        assert_eq!(reading([0.2, 0.6, 0.2], "").label, SentimentLabel::Neutral);
        // No sentiment words: compound 0, so the score is 0.8 · (0.7 − 0.1).
        assert!((reading([0.1, 0.2, 0.7], "the box").score - 0.48).abs() < 1e-6);
        // The compound pulls the intensity: "love" is strongly positive for VADER.
        assert!(reading([0.1, 0.2, 0.7], "I love it").score > 0.48);
    }
}
