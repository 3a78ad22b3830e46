//! Teacher probabilities for distilling a transformer into the `linear` model
//! (`flashpoint train sentiment --teacher onnx`).
//!
//! Role: run the teacher over the training tweets, the dev tweets and an unlabelled transfer
//! set, once, and hand [`super::train::select_and_train`] a [`Teacher`].
//!
//! Inputs: the teacher's name (`onnx`, which needs the cargo feature `onnx`), the corpus, the
//! transfer texts and optionally a cache file.
//! Outputs: a [`Teacher`]; the cache file holds a key line and one `p_neg p_neu p_pos` line
//! per text (train, then dev, then transfer), and is reused only when its key (a sha256 over
//! the teacher's name, its model files' checksums and every text) matches, so a changed model
//! or corpus recomputes it.
//!
//! Failure policy: a missing feature, model or runtime is an error before any training; a text
//! the teacher fails on gets the uniform distribution (it then teaches nothing) and is counted
//! in the log line.

use std::io::{BufRead, Write};
use std::path::Path;

use sha2::{Digest, Sha256};

use super::linear::CLASSES;
use super::train::{Corpus, Teacher};

/// First token of the cache file's key line. v2: the transformer teachers see URL/@handle
/// placeholders (`twitter_placeholders`); a v1 cache holds raw-text probabilities and is a miss.
const CACHE_MAGIC: &str = "# flashpoint-teacher-v2";

/// Computes (or reads from `cache`) the teacher's probabilities for the corpus and `transfer`.
pub fn teach(
    name: &str,
    corpus: &Corpus,
    transfer: Vec<String>,
    cache: Option<&Path>,
) -> anyhow::Result<Teacher> {
    let texts: Vec<&str> = corpus
        .train
        .iter()
        .chain(&corpus.dev)
        .map(|t| t.text.as_str())
        .chain(transfer.iter().map(String::as_str))
        .collect();
    let model_id = model_fingerprint(name)?;
    let key = cache_key(name, &model_id, &texts);
    let cached = cache.and_then(|path| read_cache(path, &key, texts.len()));
    let probs = match cached {
        Some(p) => {
            eprintln!("teacher {name}: {} probabilities from the cache", p.len());
            p
        }
        None => {
            let p = run_teacher(name, &texts)?;
            if let Some(path) = cache {
                write_cache(path, &key, &p)?;
                eprintln!("teacher {name}: cache written to {}", path.display());
            }
            p
        }
    };
    let (n_train, n_dev) = (corpus.train.len(), corpus.dev.len());
    let mut rest = probs.into_iter();
    let train = rest.by_ref().take(n_train).collect();
    let dev = rest.by_ref().take(n_dev).collect();
    let transfer = transfer.into_iter().zip(rest).collect();
    Ok(Teacher {
        train,
        dev,
        transfer,
    })
}

fn cache_key(name: &str, model_id: &str, texts: &[&str]) -> String {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update([0]);
    h.update(model_id.as_bytes());
    for t in texts {
        h.update([0]);
        h.update(t.as_bytes());
    }
    hex::encode(h.finalize())
}

/// Reads the cache when it exists and its key line matches; anything else is a miss.
fn read_cache(path: &Path, key: &str, n: usize) -> Option<Vec<[f32; CLASSES]>> {
    let file = std::fs::File::open(path).ok()?;
    let mut lines = std::io::BufReader::new(file).lines();
    let head = lines.next()?.ok()?;
    if head != format!("{CACHE_MAGIC} {key} {n}") {
        eprintln!("teacher cache {} is stale; recomputing", path.display());
        return None;
    }
    let mut out = Vec::with_capacity(n);
    for line in lines {
        let line = line.ok()?;
        let mut v = line.split(' ').map(|x| x.parse::<f32>());
        let p = [v.next()?.ok()?, v.next()?.ok()?, v.next()?.ok()?];
        out.push(p);
    }
    (out.len() == n).then_some(out)
}

fn write_cache(path: &Path, key: &str, probs: &[[f32; CLASSES]]) -> anyhow::Result<()> {
    let tmp = path.with_extension("tmp");
    let mut w = std::io::BufWriter::new(std::fs::File::create(&tmp)?);
    writeln!(w, "{CACHE_MAGIC} {key} {}", probs.len())?;
    for p in probs {
        writeln!(w, "{} {} {}", p[0], p[1], p[2])?;
    }
    w.into_inner().map_err(|e| e.into_error())?.sync_all()?;
    std::fs::rename(&tmp, path)?;
    Ok(())
}

#[cfg(feature = "onnx")]
fn model_fingerprint(name: &str) -> anyhow::Result<String> {
    anyhow::ensure!(name == "onnx", "unknown teacher {name:?} (known: onnx)");
    let sums = super::onnx::default_dir().join(super::onnx::SUMS_FILE);
    std::fs::read_to_string(&sums).map_err(|e| anyhow::anyhow!("{}: {e}", sums.display()))
}

#[cfg(not(feature = "onnx"))]
fn model_fingerprint(name: &str) -> anyhow::Result<String> {
    anyhow::bail!(
        "teacher {name:?} is not available: this binary was built without feature onnx \
         (cargo run --release --features onnx -- train sentiment --teacher onnx)"
    )
}

#[cfg(feature = "onnx")]
fn run_teacher(_name: &str, texts: &[&str]) -> anyhow::Result<Vec<[f32; CLASSES]>> {
    let model = super::onnx::OnnxModel::load_default()?;
    let bar = indicatif::ProgressBar::new(texts.len() as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "teacher onnx {bar:40} {pos}/{len} texts, {per_sec}, eta {eta}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let mut out = Vec::with_capacity(texts.len());
    let mut failed = 0usize;
    // Chunks of 4,096 keep the length sorting effective and the progress bar moving.
    for chunk in texts.chunks(4096) {
        for p in model.probabilities_batch(chunk) {
            out.push(p.unwrap_or_else(|| {
                failed += 1;
                [1.0 / 3.0; CLASSES]
            }));
        }
        bar.inc(chunk.len() as u64);
    }
    bar.finish_and_clear();
    eprintln!(
        "teacher onnx: {} texts scored, {failed} failed (uniform target)",
        out.len()
    );
    Ok(out)
}

#[cfg(not(feature = "onnx"))]
fn run_teacher(name: &str, _texts: &[&str]) -> anyhow::Result<Vec<[f32; CLASSES]>> {
    model_fingerprint(name).map(|_| Vec::new())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_round_trips_and_a_changed_key_is_a_miss() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("teacher.txt");
        let probs = vec![[0.1, 0.7, 0.2], [0.25, 0.25, 0.5]];
        let key = cache_key("onnx", "sums", &["a", "b"]);
        write_cache(&path, &key, &probs).expect("write");
        assert_eq!(read_cache(&path, &key, 2), Some(probs));
        assert_eq!(read_cache(&path, &key, 3), None);
        let other = cache_key("onnx", "sums", &["a", "c"]);
        assert_ne!(key, other);
        assert_eq!(read_cache(&path, &other, 2), None);
    }

    #[cfg(not(feature = "onnx"))]
    #[test]
    fn teacher_without_the_feature_is_a_clear_error() {
        let err = teach("onnx", &Corpus::default(), Vec::new(), None).expect_err("no feature");
        assert!(err.to_string().contains("feature onnx"), "{err}");
    }
}
