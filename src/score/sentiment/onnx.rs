//! The `onnx` sentiment model: MiniLM-L6 fine-tuned on SemEval-2017 task 4A, int8-quantised,
//! run by ONNX Runtime (cargo feature `onnx`).
//!
//! Role: the most accurate shipped sentiment model (see `models/README.md`), for deployments
//! that can afford a few thousand texts per second per core pair instead of hundreds of
//! thousands.
//!
//! Inputs: any UTF-8 text, with URLs and @handles replaced by placeholders
//! ([`super::twitter_placeholders`]) before tokenising. The model folder (`models/minilm/`,
//! produced by `models/training/finetune_minilm.py`) holds `model.int8.onnx`, `tokenizer.json` and
//! `sha256sums.txt` (`sha256sum` format); both artifacts are checked against it at load, so a
//! missing, truncated or swapped file is refused with a clear [`OnnxError`]. ONNX Runtime is not
//! linked: its shared library is loaded at run time from `ORT_DYLIB_PATH` (the
//! `libonnxruntime.so.*` inside the PyPI `onnxruntime` wheel works).
//!
//! Outputs: class probabilities (negative, neutral, positive) from the logits; through
//! [`SentimentModel`] the argmax label and `score = 0.8 · (P(positive) − P(negative)) + 0.2 ·
//! VADER compound` in `[-1, 1]` ([`super::TRANSFORMER_SCORE_BLEND`]).
//! [`SentimentModel::score_batch`] sorts the texts by token count, runs chunks of
//! [`BATCH`] texts padded to the longest of the chunk (in parallel, one single-threaded ONNX
//! Runtime session per core), and returns results in input order;
//! results match one-by-one scoring up to the small differences of dynamic int8
//! quantisation (activation scales are computed per batch; padding itself is masked out).
//!
//! Crates: `ort` 2.x (the maintained ONNX Runtime binding; `load-dynamic` so builds need no
//! download and no C++ toolchain) and Hugging Face `tokenizers` with the pure-Rust
//! `fancy-regex` backend (no oniguruma C build), the same tokenizer the model was trained with.
//!
//! Failure policy: a text the tokenizer or runtime rejects is scored neutral, counted
//! ([`OnnxModel::errors`]) and logged; the other texts of its batch are still scored.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};

use ort::session::builder::GraphOptimizationLevel;
use ort::session::Session;
use ort::value::Tensor;
use sha2::{Digest, Sha256};
use tokenizers::{Tokenizer, TruncationParams};

use super::{twitter_placeholders, SentimentModel};
use crate::domain::Sentiment;

/// Tokens per text, `[CLS]` and `[SEP]` included (the training length).
pub const MAX_TOKENS: usize = 64;
/// Texts per runtime call in [`SentimentModel::score_batch`]: with texts sorted by length,
/// 16 beat 32 and 64 on the 2-vCPU eval (`eval sentiment --models onnx`, paired runs: 828 /
/// 843 texts/s at 16 against 770 / 786 at 32, 620 / 588 at 64; 8 and 12 were no faster).
pub const BATCH: usize = 16;
/// Model file inside the model folder.
pub const MODEL_FILE: &str = "model.int8.onnx";
/// Tokenizer file inside the model folder.
pub const TOKENIZER_FILE: &str = "tokenizer.json";
/// Checksums file inside the model folder (`<hex>  <file name>` lines).
pub const SUMS_FILE: &str = "sha256sums.txt";
/// Environment variable naming the ONNX Runtime shared library.
pub const DYLIB_ENV: &str = "ORT_DYLIB_PATH";
/// Environment variable naming the folder that holds `minilm/` (default `models`).
pub const MODEL_DIR_ENV: &str = "FLASHPOINT_MODEL_DIR";

/// Why the model cannot be loaded.
#[derive(Debug, thiserror::Error)]
pub enum OnnxError {
    #[error(
        "ONNX Runtime not found: set {DYLIB_ENV} to its shared library (e.g. the \
         libonnxruntime.so.* inside the `onnxruntime` PyPI wheel: `pip install onnxruntime`)"
    )]
    NoRuntime,
    #[error("ONNX Runtime could not be loaded from {path}: {msg}")]
    Runtime { path: PathBuf, msg: String },
    #[error(
        "{path}: {msg} (the MiniLM model is produced by models/training/finetune_minilm.py; \
         see models/minilm/MODEL_CARD.md)"
    )]
    Missing { path: PathBuf, msg: String },
    #[error(
        "{path} is corrupt or not the expected file: sha256 {found}, {SUMS_FILE} says {expected}"
    )]
    Checksum {
        path: PathBuf,
        found: String,
        expected: String,
    },
    #[error("{SUMS_FILE} in {dir} has no line for {file}")]
    NoChecksum { dir: PathBuf, file: &'static str },
    #[error("tokenizer {path}: {msg}")]
    Tokenizer { path: PathBuf, msg: String },
    #[error("ONNX model {path}: {msg}")]
    Session { path: PathBuf, msg: String },
}

/// The model folder: `$FLASHPOINT_MODEL_DIR/minilm` when set, else `models/minilm` relative to
/// the current directory.
pub fn default_dir() -> PathBuf {
    std::env::var_os(MODEL_DIR_ENV)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("models"))
        .join("minilm")
}

/// Loads ONNX Runtime from `ORT_DYLIB_PATH` once per process.
fn runtime() -> Result<&'static ort::environment::Environment, OnnxError> {
    static ENV: OnceLock<Result<ort::environment::Environment, (Option<PathBuf>, String)>> =
        OnceLock::new();
    let r = ENV.get_or_init(|| {
        let Some(path) = std::env::var_os(DYLIB_ENV).filter(|p| !p.is_empty()) else {
            return Err((None, String::new()));
        };
        let path = PathBuf::from(path);
        if !path.is_file() {
            return Err((Some(path), "no such file".into()));
        }
        let builder = ort::init_from(&path).map_err(|e| (Some(path.clone()), e.to_string()))?;
        builder
            .with_name("flashpoint")
            .build()
            .map_err(|e| (Some(path), e.to_string()))
    });
    match r {
        Ok(env) => Ok(env),
        Err((None, _)) => Err(OnnxError::NoRuntime),
        Err((Some(path), msg)) => Err(OnnxError::Runtime {
            path: path.clone(),
            msg: msg.clone(),
        }),
    }
}

fn read(path: &Path) -> Result<Vec<u8>, OnnxError> {
    std::fs::read(path).map_err(|e| OnnxError::Missing {
        path: path.to_owned(),
        msg: e.to_string(),
    })
}

/// Reads `file` from `dir` and checks it against its line in `sums`.
fn read_checked(dir: &Path, sums: &str, file: &'static str) -> Result<Vec<u8>, OnnxError> {
    let expected = sums
        .lines()
        .filter_map(|l| l.split_once(char::is_whitespace))
        .find(|(_, name)| name.trim().trim_start_matches('*') == file)
        .map(|(hex, _)| hex.trim().to_ascii_lowercase())
        .ok_or_else(|| OnnxError::NoChecksum {
            dir: dir.to_owned(),
            file,
        })?;
    let path = dir.join(file);
    let bytes = read(&path)?;
    let found = hex::encode(Sha256::digest(&bytes));
    if found != expected {
        return Err(OnnxError::Checksum {
            path,
            found,
            expected,
        });
    }
    Ok(bytes)
}

/// One tokenised text.
struct Encoded {
    ids: Vec<i64>,
}

/// The fine-tuned MiniLM model behind an ONNX Runtime session.
pub struct OnnxModel {
    // `Session::run` takes `&mut self`, so each session sits behind its own lock. Chunks run
    // on one single-threaded session per core in parallel. On the 2-vCPU machine, quiet, two
    // one-thread sessions gave 905-959 texts/s over six runs against 788-1,046 for one
    // two-thread session (medians 951 / 858); with another job on the cores, 1.7-1.8x the
    // texts/s (360-384 vs 206-208): ONNX Runtime's intra-op threads synchronise inside every
    // operator of these small matrices, and a busy core stalls both.
    sessions: Vec<Mutex<Session>>,
    tokenizer: Tokenizer,
    pad_id: i64,
    errors: AtomicU64,
}

impl std::fmt::Debug for OnnxModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OnnxModel")
            .field("errors", &self.errors())
            .finish_non_exhaustive()
    }
}

impl OnnxModel {
    /// Loads the model from [`default_dir`].
    pub fn load_default() -> Result<Self, OnnxError> {
        Self::load(&default_dir())
    }

    /// Loads `dir/model.int8.onnx` and `dir/tokenizer.json` after checking both against
    /// `dir/sha256sums.txt`, into `sessions` ONNX Runtime sessions (0 = one per core) of
    /// `intra_threads` threads each (0 = one).
    pub fn load_with(dir: &Path, sessions: usize, intra_threads: usize) -> Result<Self, OnnxError> {
        let sums_path = dir.join(SUMS_FILE);
        let sums = String::from_utf8_lossy(&read(&sums_path)?).into_owned();
        let model_bytes = read_checked(dir, &sums, MODEL_FILE)?;
        let tok_bytes = read_checked(dir, &sums, TOKENIZER_FILE)?;

        let tok_path = dir.join(TOKENIZER_FILE);
        let tok_err = |msg: String| OnnxError::Tokenizer {
            path: tok_path.clone(),
            msg,
        };
        let mut tokenizer =
            Tokenizer::from_bytes(&tok_bytes).map_err(|e| tok_err(e.to_string()))?;
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: MAX_TOKENS,
                ..TruncationParams::default()
            }))
            .map_err(|e| tok_err(e.to_string()))?;
        tokenizer.with_padding(None);
        let pad_id = i64::from(tokenizer.token_to_id("[PAD]").unwrap_or(0));

        let env = runtime()?;
        let model_path = dir.join(MODEL_FILE);
        let sess_err = |msg: String| OnnxError::Session {
            path: model_path.clone(),
            msg,
        };
        let count = if sessions == 0 {
            std::thread::available_parallelism().map_or(1, usize::from)
        } else {
            sessions
        };
        let mut all = Vec::with_capacity(count);
        for _ in 0..count {
            let session = Session::builder(env)
                .map_err(|e| sess_err(e.to_string()))?
                .with_optimization_level(GraphOptimizationLevel::Level3)
                .map_err(|e| sess_err(e.to_string()))?
                .with_intra_threads(intra_threads.max(1))
                .map_err(|e| sess_err(e.to_string()))?
                .commit_from_memory(&model_bytes)
                .map_err(|e| sess_err(e.to_string()))?;
            let inputs: Vec<&str> = session.inputs().iter().map(|i| i.name()).collect();
            for want in ["input_ids", "attention_mask", "token_type_ids"] {
                if !inputs.contains(&want) {
                    return Err(sess_err(format!("no input {want:?} (inputs: {inputs:?})")));
                }
            }
            all.push(Mutex::new(session));
        }
        Ok(Self {
            sessions: all,
            tokenizer,
            pad_id,
            errors: AtomicU64::new(0),
        })
    }

    /// [`Self::load_with`]: one single-threaded session per core.
    pub fn load(dir: &Path) -> Result<Self, OnnxError> {
        Self::load_with(dir, 0, 1)
    }

    /// Number of ONNX Runtime sessions chunks are spread over.
    pub fn sessions(&self) -> usize {
        self.sessions.len()
    }

    /// Texts scored neutral because the tokenizer or the runtime failed on them.
    pub fn errors(&self) -> u64 {
        self.errors.load(Ordering::Relaxed)
    }

    fn encode(&self, text: &str) -> Option<Encoded> {
        let text = twitter_placeholders(text);
        match self.tokenizer.encode(text.as_ref(), true) {
            Ok(e) => Some(Encoded {
                ids: e.get_ids().iter().map(|&i| i64::from(i)).collect(),
            }),
            Err(e) => {
                self.errors.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(error = %e, "onnx sentiment: tokenizer failed; scored neutral");
                None
            }
        }
    }

    /// Class probabilities (negative, neutral, positive) of each text, in input order; `None`
    /// for a text the tokenizer or the runtime failed on (counted in [`Self::errors`]). Texts
    /// are sorted by token count and run in chunks of [`BATCH`], padded to the longest of the
    /// chunk.
    pub fn probabilities_batch(&self, texts: &[&str]) -> Vec<Option<[f32; 3]>> {
        let mut out = vec![None; texts.len()];
        let encoded = self.encode_all(texts);
        // Similar lengths share a chunk, so little of each chunk is padding.
        let mut order: Vec<usize> = (0..texts.len()).filter(|&i| encoded[i].is_some()).collect();
        order.sort_by_key(|&i| encoded[i].as_ref().map_or(0, |e| e.ids.len()));
        let chunks: Vec<&[usize]> = order.chunks(BATCH).collect();
        let run = |session: &Mutex<Session>, chunk: &[usize]| {
            let batch: Vec<&Encoded> = chunk.iter().filter_map(|&i| encoded[i].as_ref()).collect();
            self.probabilities(session, &batch)
        };
        let workers = self.sessions.len().min(chunks.len());
        let results: Vec<(usize, Option<Vec<[f32; 3]>>)> = if workers <= 1 {
            chunks
                .iter()
                .enumerate()
                .map(|(k, c)| (k, run(&self.sessions[0], c)))
                .collect()
        } else {
            // Each worker owns one session and takes the next chunk until none is left; every
            // chunk's result depends only on its texts, so the output does not depend on
            // which worker ran it.
            let next = AtomicUsize::new(0);
            std::thread::scope(|scope| {
                let handles: Vec<_> = self.sessions[..workers]
                    .iter()
                    .map(|session| {
                        let (next, chunks, run) = (&next, &chunks, &run);
                        scope.spawn(move || {
                            let mut done = Vec::new();
                            loop {
                                let k = next.fetch_add(1, Ordering::Relaxed);
                                let Some(chunk) = chunks.get(k) else { break };
                                done.push((k, run(session, chunk)));
                            }
                            done
                        })
                    })
                    .collect();
                handles
                    .into_iter()
                    .flat_map(|h| h.join().unwrap_or_default())
                    .collect()
            })
        };
        for (k, probs) in results {
            if let Some(probs) = probs {
                for (&i, p) in chunks[k].iter().zip(probs) {
                    out[i] = Some(p);
                }
            }
        }
        out
    }

    /// Tokenises `texts`, split into one contiguous part per session on scoped threads when
    /// there are enough of them to pay for the threads.
    fn encode_all(&self, texts: &[&str]) -> Vec<Option<Encoded>> {
        let parts = self.sessions.len().min(texts.len() / 256).max(1);
        if parts == 1 {
            return texts.iter().map(|t| self.encode(t)).collect();
        }
        let encoded: Vec<Option<Encoded>> = std::thread::scope(|scope| {
            let handles: Vec<_> = texts
                .chunks(texts.len().div_ceil(parts))
                .map(|part| {
                    scope.spawn(move || part.iter().map(|t| self.encode(t)).collect::<Vec<_>>())
                })
                .collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().unwrap_or_default())
                .collect()
        });
        if encoded.len() == texts.len() {
            encoded
        } else {
            // A tokenizer thread panicked: redo the work on this thread rather than lose texts.
            texts.iter().map(|t| self.encode(t)).collect()
        }
    }

    /// Class probabilities for each encoded text (padded to the longest), or `None` when the
    /// runtime fails (counted once per text).
    fn probabilities(&self, session: &Mutex<Session>, batch: &[&Encoded]) -> Option<Vec<[f32; 3]>> {
        let n = batch.len();
        let len = batch.iter().map(|e| e.ids.len()).max()?.max(1);
        let mut ids = vec![self.pad_id; n * len];
        let mut mask = vec![0i64; n * len];
        for (row, e) in batch.iter().enumerate() {
            ids[row * len..row * len + e.ids.len()].copy_from_slice(&e.ids);
            mask[row * len..row * len + e.ids.len()].fill(1);
        }
        let types = vec![0i64; n * len];
        let shape = [n as i64, len as i64];
        let run = || -> Result<Vec<[f32; 3]>, String> {
            let ids = Tensor::from_array((shape, ids)).map_err(|e| e.to_string())?;
            let mask = Tensor::from_array((shape, mask)).map_err(|e| e.to_string())?;
            let types = Tensor::from_array((shape, types)).map_err(|e| e.to_string())?;
            let mut session = session
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let out = session
                .run(ort::inputs![
                    "input_ids" => ids,
                    "attention_mask" => mask,
                    "token_type_ids" => types,
                ])
                .map_err(|e| e.to_string())?;
            let (_, logits) = out["logits"]
                .try_extract_tensor::<f32>()
                .map_err(|e| e.to_string())?;
            if logits.len() != n * 3 {
                return Err(format!("logits hold {} values for {n} texts", logits.len()));
            }
            Ok(logits.chunks_exact(3).map(softmax3).collect())
        };
        match run() {
            Ok(p) => Some(p),
            Err(e) => {
                self.errors.fetch_add(n as u64, Ordering::Relaxed);
                tracing::warn!(error = %e, texts = n, "onnx sentiment: runtime failed; scored neutral");
                None
            }
        }
    }
}

fn softmax3(z: &[f32]) -> [f32; 3] {
    let m = z.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let e = [(z[0] - m).exp(), (z[1] - m).exp(), (z[2] - m).exp()];
    let s = e[0] + e[1] + e[2];
    [e[0] / s, e[1] / s, e[2] / s]
}

impl SentimentModel for OnnxModel {
    fn name(&self) -> &str {
        "onnx"
    }

    fn score(&self, text: &str) -> Sentiment {
        let mut out = Vec::with_capacity(1);
        self.score_batch(&[text], &mut out);
        out.pop().unwrap_or_else(super::neutral)
    }

    fn score_batch(&self, texts: &[&str], out: &mut Vec<Sentiment>) {
        out.clear();
        out.extend(
            self.probabilities_batch(texts)
                .into_iter()
                .zip(texts)
                .map(|(p, t)| {
                    p.map_or_else(super::neutral, |p| {
                        super::reading(p, super::TRANSFORMER_SCORE_BLEND, super::compound(t))
                    })
                }),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::SentimentLabel;

    #[test]
    fn logits_read_as_argmax_and_pos_minus_neg() {
        // Weight 1, compound 0: the score is P(pos) − P(neg) alone.
        let reading = |p| crate::score::sentiment::reading(p, 1.0, 0.0);
        let s = reading(softmax3(&[0.1, 0.2, 3.0]));
        assert_eq!(s.label, SentimentLabel::Positive);
        assert!(s.score > 0.8 && s.score <= 1.0, "{s:?}");
        let s = reading(softmax3(&[2.0, 1.0, -1.0]));
        assert_eq!(s.label, SentimentLabel::Negative);
        assert!(s.score < 0.0);
        let p = softmax3(&[1000.0, 0.0, -1000.0]);
        assert!(p.iter().all(|x| x.is_finite()) && (p.iter().sum::<f32>() - 1.0).abs() < 1e-6);
    }

    #[test]
    fn checksum_lines_are_matched_by_file_name() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join(TOKENIZER_FILE), b"abc").expect("write");
        let good = format!(
            "{}  {TOKENIZER_FILE}\n",
            hex::encode(Sha256::digest(b"abc"))
        );
        assert_eq!(
            read_checked(dir.path(), &good, TOKENIZER_FILE).expect("good sum"),
            b"abc"
        );
        let bad = format!(
            "{}  {TOKENIZER_FILE}\n",
            hex::encode(Sha256::digest(b"abd"))
        );
        let err = read_checked(dir.path(), &bad, TOKENIZER_FILE).expect_err("bad sum");
        assert!(matches!(err, OnnxError::Checksum { .. }), "{err}");
        assert!(err.to_string().contains("corrupt"), "{err}");
        let err = read_checked(dir.path(), &good, MODEL_FILE).expect_err("no line");
        assert!(matches!(err, OnnxError::NoChecksum { .. }), "{err}");
    }

    #[test]
    fn missing_folder_names_the_path_and_the_script() {
        let err = OnnxModel::load(Path::new("no/such/minilm")).expect_err("missing");
        let msg = err.to_string();
        assert!(
            msg.contains("no/such/minilm") && msg.contains("finetune_minilm.py"),
            "{msg}"
        );
    }
}
