//! Training of the [`linear`](super::linear) model: `flashpoint train sentiment`.
//!
//! Role: read the SemEval-2017 task 4A training files, pick hyper-parameters on a held-out
//! development set, retrain on everything and write the quantised weights file.
//!
//! Inputs: a folder holding `twitter-201*.tsv` (`id TAB label TAB text`; the 2013 files keep
//! `\uXXXX` escapes literally, which [`unescape`] decodes). Tweets are deduplicated by id (the
//! first file in name order wins); ids of the SemEval-2017 test file, when present in the
//! folder, are excluded so the test set can never leak into training.
//!
//! Outputs: [`FloatWeights`] and a log of dev metrics per epoch and setting.
//!
//! Method: multinomial logistic regression, AdaGrad, L2 on the touched weights, class-balanced
//! loss (each class weighted by `n / (3 n_c)`, which targets macro-recall), examples shuffled
//! by a ChaCha8 generator with a fixed seed: the same data gives the same weights.
//! Hyper-parameters (learning rate, L2, epochs) are chosen by macro-recall on the
//! `twitter-2016dev` + `twitter-2016devtest` files held out; the final model is then trained on
//! all files with the chosen setting.

use std::collections::HashSet;
use std::path::Path;

use rand::seq::SliceRandom;
use rand::SeedableRng;

use super::linear::{dense_features, dot, for_each_feature, softmax, FloatWeights, CLASSES, DENSE};

/// The SemEval-2017 gold test file name (never trained on).
pub const TEST_FILE: &str = "SemEval2017-task4-test.subtask-A.english.txt";
/// Files held out for model selection.
pub const DEV_FILES: &[&str] = &["twitter-2016dev-A.tsv", "twitter-2016devtest-A.tsv"];

/// One labelled tweet. `label`: 0 negative, 1 neutral, 2 positive.
#[derive(Debug, Clone)]
pub struct Labelled {
    pub id: String,
    pub label: u8,
    pub text: String,
}

/// `negative|neutral|positive` -> class index.
pub fn label_index(s: &str) -> Option<u8> {
    match s.trim() {
        "negative" => Some(0),
        "neutral" => Some(1),
        "positive" => Some(2),
        _ => None,
    }
}

/// Decodes literal `\uXXXX` escapes (with surrogate pairs) as found in the 2013 files.
pub fn unescape(s: &str) -> String {
    if !s.contains("\\u") {
        return s.to_owned();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    let hex4 = |t: &str| t.get(2..6).and_then(|h| u32::from_str_radix(h, 16).ok());
    while let Some(at) = rest.find("\\u") {
        out.push_str(&rest[..at]);
        let t = &rest[at..];
        match hex4(t) {
            Some(hi @ 0xd800..=0xdbff) => {
                let lo = t
                    .get(6..)
                    .and_then(|r| r.starts_with("\\u").then(|| hex4(r)).flatten());
                match lo {
                    Some(lo @ 0xdc00..=0xdfff) => {
                        let c = 0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00);
                        out.push(char::from_u32(c).unwrap_or('\u{fffd}'));
                        rest = &t[12..];
                    }
                    _ => {
                        out.push('\u{fffd}');
                        rest = &t[6..];
                    }
                }
            }
            Some(c) => {
                out.push(char::from_u32(c).unwrap_or('\u{fffd}'));
                rest = &t[6..];
            }
            None => {
                out.push_str("\\u");
                rest = &t[2..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// Reads one SemEval file (`id TAB label TAB text [TAB]`); malformed lines are skipped.
pub fn read_semeval_file(path: &Path) -> std::io::Result<Vec<Labelled>> {
    let bytes = std::fs::read(path)?;
    let text = String::from_utf8_lossy(&bytes);
    Ok(text
        .lines()
        .filter_map(|line| {
            let mut f = line.splitn(3, '\t');
            let id = f.next()?.trim();
            let label = label_index(f.next()?)?;
            let text = unescape(f.next()?.trim_end_matches(['\t', '\r', ' ']));
            Some(Labelled {
                id: id.to_owned(),
                label,
                text,
            })
        })
        .collect())
}

/// The training corpus split into the selection-training part and the held-out dev part.
#[derive(Debug, Default)]
pub struct Corpus {
    pub train: Vec<Labelled>,
    pub dev: Vec<Labelled>,
    pub files: Vec<String>,
    pub duplicates: usize,
}

/// Every `twitter-201*.tsv` in `dir`, deduplicated by id, test ids excluded, dev split off.
pub fn load_corpus(dir: &Path) -> anyhow::Result<Corpus> {
    let mut names: Vec<String> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| n.starts_with("twitter-201") && n.ends_with(".tsv"))
        .collect();
    names.sort();
    anyhow::ensure!(
        !names.is_empty(),
        "no twitter-201*.tsv files in {}",
        dir.display()
    );
    let mut seen: HashSet<String> = match read_semeval_file(&dir.join(TEST_FILE)) {
        Ok(test) => test.into_iter().map(|t| t.id).collect(),
        Err(_) => HashSet::new(),
    };
    // Dev ids first, so a dev tweet repeated in a training file stays out of selection-training.
    let mut corpus = Corpus::default();
    for name in DEV_FILES {
        if !names.iter().any(|n| n == name) {
            continue;
        }
        for t in read_semeval_file(&dir.join(name))? {
            if seen.insert(t.id.clone()) {
                corpus.dev.push(t);
            } else {
                corpus.duplicates += 1;
            }
        }
    }
    for name in &names {
        if DEV_FILES.contains(&name.as_str()) {
            continue;
        }
        for t in read_semeval_file(&dir.join(name))? {
            if seen.insert(t.id.clone()) {
                corpus.train.push(t);
            } else {
                corpus.duplicates += 1;
            }
        }
    }
    corpus.files = names;
    Ok(corpus)
}

/// A tweet as the trainer sees it: merged sparse (bucket, value) pairs and dense features.
pub struct Featurized {
    sparse: Vec<(u32, f32)>,
    dense: [f32; DENSE],
    label: u8,
}

/// Computes the features of every example once.
pub fn featurize(data: &[Labelled]) -> Vec<Featurized> {
    let mut word = Vec::new();
    let mut idx = Vec::new();
    data.iter()
        .map(|t| {
            idx.clear();
            for_each_feature(&t.text, &mut word, |i| idx.push(i));
            let v = 1.0 / (idx.len() as f32).sqrt();
            idx.sort_unstable();
            let mut sparse: Vec<(u32, f32)> = Vec::with_capacity(idx.len());
            for &i in &idx {
                match sparse.last_mut() {
                    Some((j, x)) if *j == i => *x += v,
                    _ => sparse.push((i, v)),
                }
            }
            Featurized {
                sparse,
                dense: dense_features(&t.text),
                label: t.label,
            }
        })
        .collect()
}

/// Training hyper-parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hyper {
    pub lr: f32,
    pub l2: f32,
    pub epochs: usize,
    pub seed: u64,
}

/// Macro-recall of the float weights on featurised data.
pub fn macro_recall(w: &FloatWeights, data: &[Featurized]) -> f64 {
    let mut hit = [0usize; CLASSES];
    let mut n = [0usize; CLASSES];
    for x in data {
        let p = predict(w, x);
        let best = (0..CLASSES)
            .max_by(|&a, &b| p[a].total_cmp(&p[b]))
            .unwrap_or(1);
        n[x.label as usize] += 1;
        if best == x.label as usize {
            hit[x.label as usize] += 1;
        }
    }
    (0..CLASSES)
        .map(|c| hit[c] as f64 / n[c].max(1) as f64)
        .sum::<f64>()
        / CLASSES as f64
}

// Index loops mirror the weight layout (bucket * CLASSES + class) more plainly than zips.
#[allow(clippy::needless_range_loop)]
fn predict(w: &FloatWeights, x: &Featurized) -> [f32; CLASSES] {
    let mut logits = [0f32; CLASSES];
    for (c, l) in logits.iter_mut().enumerate() {
        *l = dot(&w.dense[c], &x.dense);
    }
    for &(i, v) in &x.sparse {
        let b = i as usize * CLASSES;
        for c in 0..CLASSES {
            logits[c] += w.sparse[b + c] * v;
        }
    }
    softmax(logits)
}

#[allow(clippy::needless_range_loop)] // see predict
/// Trains for `hyper.epochs`; after each epoch calls `after_epoch(epoch, &weights)`.
pub fn train(
    data: &[Featurized],
    hyper: Hyper,
    mut after_epoch: impl FnMut(usize, &FloatWeights),
) -> FloatWeights {
    let mut n = [0usize; CLASSES];
    for x in data {
        n[x.label as usize] += 1;
    }
    let alpha: [f32; CLASSES] =
        std::array::from_fn(|c| data.len() as f32 / (CLASSES as f32 * n[c].max(1) as f32));
    let mut w = FloatWeights::zeros();
    let mut g2 = FloatWeights::zeros();
    let eps = 1e-6f32;
    let mut order: Vec<usize> = (0..data.len()).collect();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(hyper.seed);
    for epoch in 1..=hyper.epochs {
        order.shuffle(&mut rng);
        for &k in &order {
            let x = &data[k];
            let p = predict(&w, x);
            let a = alpha[x.label as usize];
            let g: [f32; CLASSES] =
                std::array::from_fn(|c| a * (p[c] - if c == x.label as usize { 1.0 } else { 0.0 }));
            for c in 0..CLASSES {
                for d in 0..DENSE {
                    let grad = g[c] * x.dense[d];
                    g2.dense[c][d] += grad * grad;
                    w.dense[c][d] -= hyper.lr * grad / (g2.dense[c][d] + eps).sqrt();
                }
            }
            for &(i, v) in &x.sparse {
                let b = i as usize * CLASSES;
                for c in 0..CLASSES {
                    let wi = &mut w.sparse[b + c];
                    let grad = g[c] * v + hyper.l2 * *wi;
                    let acc = &mut g2.sparse[b + c];
                    *acc += grad * grad;
                    *wi -= hyper.lr * grad / (*acc + eps).sqrt();
                }
            }
        }
        after_epoch(epoch, &w);
    }
    w
}

/// Grid for model selection.
pub const LEARNING_RATES: &[f32] = &[0.05, 0.2];
pub const L2S: &[f32] = &[1e-6, 1e-5, 1e-4];
pub const MAX_EPOCHS: usize = 12;
pub const SEED: u64 = 20_170_401;

/// Step and range of the class-bias offsets searched by [`choose_offsets`].
pub const OFFSET_STEP: f32 = 0.1;
pub const OFFSET_STEPS: i32 = 10;

/// Macro-recall on `data` of the class probabilities `probs` with `offsets` added to their logs.
fn offset_recall(probs: &[[f32; CLASSES]], data: &[Featurized], offsets: [f32; CLASSES]) -> f64 {
    let mut hit = [0usize; CLASSES];
    let mut n = [0usize; CLASSES];
    for (p, x) in probs.iter().zip(data) {
        let l: [f32; CLASSES] = std::array::from_fn(|c| p[c].max(1e-30).ln() + offsets[c]);
        let best = (0..CLASSES)
            .max_by(|&a, &b| l[a].total_cmp(&l[b]))
            .unwrap_or(1);
        n[x.label as usize] += 1;
        if best == x.label as usize {
            hit[best] += 1;
        }
    }
    (0..CLASSES)
        .map(|c| hit[c] as f64 / n[c].max(1) as f64)
        .sum::<f64>()
        / CLASSES as f64
}

/// Class-bias offsets (negative, 0, positive) that maximise macro-recall on `dev`: a grid of
/// ±[`OFFSET_STEPS`] × [`OFFSET_STEP`] for the negative and positive logits, neutral fixed at 0
/// (only differences matter). Ties keep the smallest offsets (grid order from 0 outwards).
/// Returns the offsets and the dev macro-recall they reach.
pub fn choose_offsets(w: &FloatWeights, dev: &[Featurized]) -> ([f32; CLASSES], f64) {
    let probs: Vec<[f32; CLASSES]> = dev.iter().map(|x| predict(w, x)).collect();
    let outwards = |k: i32| if k % 2 == 0 { k / 2 } else { -(k + 1) / 2 };
    let mut best = ([0f32; CLASSES], offset_recall(&probs, dev, [0.0; CLASSES]));
    for i in 0..=2 * OFFSET_STEPS {
        for j in 0..=2 * OFFSET_STEPS {
            let o = [
                outwards(i) as f32 * OFFSET_STEP,
                0.0,
                outwards(j) as f32 * OFFSET_STEP,
            ];
            let r = offset_recall(&probs, dev, o);
            if r > best.1 + 1e-12 {
                best = (o, r);
            }
        }
    }
    best
}

/// Index of the constant-1 dense feature: its weights are the class biases.
pub const BIAS: usize = DENSE - 1;

/// Selects hyper-parameters on the dev split, then trains on train + dev.
/// `log` receives one line per evaluated setting.
///
/// After the grid, the class-bias offsets that maximise macro-recall of the selected setting
/// on the dev split ([`choose_offsets`]) are added to the retrained model's bias weights: the
/// loss is class-balanced on 2013–2016 class frequencies, and the dev split shows the neutral
/// class is still over-predicted. Returns the weights, the setting and the dev macro-recall
/// with the offsets.
pub fn select_and_train(corpus: &Corpus, mut log: impl FnMut(&str)) -> (FloatWeights, Hyper, f64) {
    let train_f = featurize(&corpus.train);
    let dev_f = featurize(&corpus.dev);
    let mut best = (
        f64::NEG_INFINITY,
        Hyper {
            lr: LEARNING_RATES[0],
            l2: L2S[0],
            epochs: 1,
            seed: SEED,
        },
        FloatWeights::zeros(),
    );
    for &lr in LEARNING_RATES {
        for &l2 in L2S {
            let hyper = Hyper {
                lr,
                l2,
                epochs: MAX_EPOCHS,
                seed: SEED,
            };
            train(&train_f, hyper, |epoch, w| {
                let r = macro_recall(w, &dev_f);
                log(&format!(
                    "lr {lr} l2 {l2:e} epoch {epoch:2}: dev macro-recall {r:.4}"
                ));
                if r > best.0 {
                    best = (
                        r,
                        Hyper {
                            epochs: epoch,
                            ..hyper
                        },
                        w.clone(),
                    );
                }
            });
        }
    }
    let (dev_plain, hyper, selected) = best;
    let (offsets, dev_recall) = choose_offsets(&selected, &dev_f);
    log(&format!(
        "class-bias offsets (neg, neu, pos) {offsets:?}: dev macro-recall {dev_plain:.4} -> \
         {dev_recall:.4}"
    ));
    let mut all_f = train_f;
    all_f.extend(dev_f);
    let mut w = train(&all_f, hyper, |_, _| {});
    for (row, o) in w.dense.iter_mut().zip(offsets) {
        row[BIAS] += o;
    }
    (w, hyper, dev_recall)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unescape_handles_bmp_pairs_and_junk() {
        assert_eq!(unescape("I\\u2019m here\\u002c ok"), "I\u{2019}m here, ok");
        assert_eq!(unescape("\\ud83d\\ude00!"), "\u{1f600}!");
        assert_eq!(unescape("a\\uzz b"), "a\\uzz b");
        assert_eq!(unescape("plain"), "plain");
    }

    #[test]
    fn training_separates_a_toy_problem() {
        let mk = |text: &str, label| Labelled {
            id: String::new(),
            label,
            text: text.to_owned(),
        };
        let data: Vec<Labelled> = (0..30)
            .flat_map(|i| {
                [
                    mk(&format!("zorp flarb {i}"), 0),
                    mk(&format!("the meeting is at {i}"), 1),
                    mk(&format!("quibble wonky {i}"), 2),
                ]
            })
            .collect();
        let f = featurize(&data);
        let w = train(
            &f,
            Hyper {
                lr: 0.2,
                l2: 1e-6,
                epochs: 5,
                seed: 1,
            },
            |_, _| {},
        );
        assert!(macro_recall(&w, &f) > 0.99);
        // Offsets never lower dev macro-recall and stay at zero when nothing is gained.
        let (o, r) = choose_offsets(&w, &f);
        assert_eq!(o, [0.0; CLASSES]);
        assert!(r >= macro_recall(&w, &f));
    }

    #[test]
    fn offsets_fix_a_biased_model() {
        let mut w = FloatWeights::zeros();
        // Dense feature 0 separates the classes, but the neutral bias is far too high.
        w.dense[0][0] = -2.0;
        w.dense[2][0] = 2.0;
        w.dense[1][BIAS] = 2.5;
        let mk = |v: f32, label| Featurized {
            sparse: Vec::new(),
            dense: [v, 0.0, 0.0, 0.0, 1.0],
            label,
        };
        let dev: Vec<Featurized> = (0..20)
            .flat_map(|_| [mk(-1.0, 0), mk(0.0, 1), mk(1.0, 2)])
            .collect();
        assert!(macro_recall(&w, &dev) < 0.5);
        let (o, r) = choose_offsets(&w, &dev);
        assert!(r > 0.99, "{o:?} {r}");
        assert!(o[0] > 0.0 && o[2] > 0.0, "{o:?}");
    }
}
