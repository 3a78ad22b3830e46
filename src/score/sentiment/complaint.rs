//! Complaint / service-failure probability: a small logistic regression trained in pure Rust
//! on hand-labelled posts and weakly labelled SemEval tweets (`flashpoint train complaint`).
//!
//! Role: polarity alone misses factual complaints without sentiment words ("technician showed
//! up 3 hours late and nobody called" is neutral to a lexicon), and a phrase list misses
//! complaints in wording it was not written around ("the thing just spins"). This model gives
//! every scored mention `P(complaint)`, which the detector counts as a service complaint and
//! as negative evidence above `[detect] complaint_threshold`.
//!
//! Inputs: any UTF-8 text. Features (version 2): the `linear` model's tokeniser — word
//! unigrams and bigrams with negation scope and character 2–5-grams of every word
//! ([`for_each_feature`]: "crashing", "crashed" and "crashes" share most of theirs) — in 2^16
//! buckets scaled by `1/sqrt(count)`, plus dense cue features: one indicator per
//! service-failure cue family ([`CUES`]: delay, waiting/hold, billing, delivery/no-show,
//! outage/broken, conduct, no response), an indicator for a strong cue, a bias, and for texts
//! holding a cue VADER's negative proportion and compound.
//!
//! Outputs: `P(complaint)` in `[0, 1]` ([`ComplaintModel::probability`]).
//!
//! Labels: 5,297 hand-labelled posts about invented brands in eleven domains
//! (`models/complaint/gold/`, [`read_gold`]; three more, `eval`, `eval_fresh` and
//! `eval_mockery`, are never trained on), and
//! weak labels on SemEval tweets ([`rule_label`]: a tweet is a complaint when it holds a
//! strong cue phrase, or when its gold sentiment is negative and it holds any cue word). The
//! setting is chosen by leave-one-domain-out F1 on the hand labels ([`select_and_train`]).
//!
//! Invariants: the weights file (`models/complaint/weights.bin`, embedded) carries the sha256
//! of its body; [`ComplaintModel::from_bytes`] rejects a corrupt, truncated or mismatched
//! file with a clear [`ComplaintWeightsError`]. Scoring allocates nothing in the steady state.

use std::cell::RefCell;
use std::sync::OnceLock;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use rand::seq::SliceRandom;
use rand::SeedableRng;

use super::linear::{for_each_feature, u32_at, verified_body, HeaderError, BUCKET_BITS};
use super::train::{Corpus, Labelled};
use super::Vader;

/// log2 of the number of hash buckets.
pub const COMPLAINT_BITS: u32 = 16;
/// Number of hash buckets.
pub const COMPLAINT_BUCKETS: usize = 1 << COMPLAINT_BITS;
/// Cue families.
pub const FAMILIES: usize = 7;
/// Dense features: one per family, "a strong cue", bias, and for texts with a cue VADER's
/// negative proportion and compound (VADER only runs on those few texts).
pub const COMPLAINT_DENSE: usize = FAMILIES + 4;
/// Bumped whenever the features change, so stale weights are refused.
pub const COMPLAINT_FEATURE_VERSION: u32 = 2;

const MAGIC: &[u8; 8] = b"FPCMPv1\0";
const BODY: usize = 4 + COMPLAINT_DENSE * 4 + COMPLAINT_BUCKETS * 2;

const EMBEDDED: &[u8] = include_bytes!("../../../models/complaint/weights.bin");

/// Names of the cue families, in dense-feature order.
pub const FAMILY_NAMES: [&str; FAMILIES] = [
    "delay",
    "waiting",
    "billing",
    "delivery",
    "outage",
    "conduct",
    "no-response",
];

/// Cue phrases: (phrase, family index, strong). A strong cue states a service failure on its
/// own; a weak one only counts in a tweet whose gold label is negative. Matched ASCII
/// case-insensitively at word boundaries.
pub const CUES: &[(&str, u8, bool)] = &[
    // 0 delay
    ("hours late", 0, true),
    ("hour late", 0, true),
    ("hrs late", 0, true),
    ("minutes late", 0, true),
    ("mins late", 0, true),
    ("still not here", 0, true),
    ("late", 0, false),
    ("delay", 0, false),
    ("delayed", 0, false),
    ("delays", 0, false),
    // 1 waiting / hold
    ("on hold", 1, true),
    ("still waiting", 1, true),
    ("been waiting", 1, true),
    ("waiting", 1, false),
    ("waited", 1, false),
    ("wait time", 1, false),
    ("queue", 1, false),
    // 2 billing
    ("charged twice", 2, true),
    ("charged me twice", 2, true),
    ("double charged", 2, true),
    ("overcharged", 2, true),
    ("no refund", 2, true),
    ("hidden fee", 2, true),
    ("hidden fees", 2, true),
    ("refund", 2, false),
    ("charged", 2, false),
    ("billing", 2, false),
    ("bill", 2, false),
    ("fees", 2, false),
    // 3 delivery / no-show / cancellation
    ("never arrived", 3, true),
    ("never showed", 3, true),
    ("never delivered", 3, true),
    ("never received", 3, true),
    ("didn't arrive", 3, true),
    ("didnt arrive", 3, true),
    ("no show", 3, true),
    ("no-show", 3, true),
    ("wrong order", 3, true),
    ("damaged", 3, true),
    ("lost my", 3, true),
    ("cancelled", 3, false),
    ("canceled", 3, false),
    ("cancel", 3, false),
    ("missing", 3, false),
    ("lost", 3, false),
    // 4 outage / broken
    ("outage", 4, true),
    ("stopped working", 4, true),
    ("keeps crashing", 4, true),
    ("down again", 4, true),
    ("no signal", 4, true),
    ("no service", 4, true),
    ("no internet", 4, true),
    ("no power", 4, true),
    ("not working", 4, false),
    ("doesn't work", 4, false),
    ("doesnt work", 4, false),
    ("is down", 4, false),
    ("went down", 4, false),
    ("broken", 4, false),
    ("broke", 4, false),
    ("crashed", 4, false),
    ("crashing", 4, false),
    ("error", 4, false),
    // 5 conduct
    ("hung up", 5, true),
    ("unprofessional", 5, true),
    ("rude", 5, false),
    ("yelled", 5, false),
    ("attitude", 5, false),
    // 6 no response
    ("nobody called", 6, true),
    ("no one called", 6, true),
    ("never called", 6, true),
    ("nobody answered", 6, true),
    ("no response", 6, true),
    ("no reply", 6, true),
    ("never got back", 6, true),
    ("never responded", 6, true),
    ("no call back", 6, true),
    ("no callback", 6, true),
    ("worst service", 6, true),
    ("customer service", 6, false),
    ("ignored", 6, false),
    ("complaint", 6, false),
];

/// Which cue families a text holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CueHits {
    /// Bit `f` set: family `f` matched.
    pub families: u8,
    pub strong: bool,
}

impl CueHits {
    pub fn any(self) -> bool {
        self.families != 0
    }
}

/// An ASCII case-insensitive automaton over a fixed list of short literal phrases (`what`
/// names it in the impossible build error).
fn phrase_automaton<'a>(
    phrases: impl IntoIterator<Item = &'a str>,
    kind: MatchKind,
    what: &str,
) -> AhoCorasick {
    AhoCorasickBuilder::new()
        .ascii_case_insensitive(true)
        .match_kind(kind)
        .build(phrases)
        // A fixed list of short literal phrases always builds.
        .unwrap_or_else(|e| panic!("{what} automaton: {e}"))
}

fn matcher() -> &'static AhoCorasick {
    static AC: OnceLock<AhoCorasick> = OnceLock::new();
    AC.get_or_init(|| {
        phrase_automaton(
            CUES.iter().map(|c| c.0),
            MatchKind::Standard,
            "complaint cue",
        )
    })
}

/// The cue families of `text` (phrases must start and end at word boundaries).
pub fn cue_hits(text: &str) -> CueHits {
    let b = text.as_bytes();
    let word = |c: u8| c.is_ascii_alphanumeric() || c == b'\'';
    let mut hits = CueHits::default();
    for m in matcher().find_overlapping_iter(text) {
        let before = m.start() == 0 || !word(b[m.start() - 1]);
        let after = m.end() == b.len() || !word(b[m.end()]);
        if before && after {
            let (_, family, strong) = CUES[m.pattern().as_usize()];
            hits.families |= 1 << family;
            hits.strong |= strong;
        }
    }
    hits
}

/// Phrases in which the author says nothing went wrong, in the words of a complaint ("no
/// complaints here", "zero issues since I switched", "never had a problem with them"). The
/// model's word features see "complaints" and "issues" and read them as complaints (docs/
/// evaluation.md, twenty-second round).
pub const SATISFIED: &[&str] = &[
    "no complaints",
    "no complaint",
    "zero complaints",
    "not a single complaint",
    "nothing to complain about",
    "can't complain",
    "cant complain",
    "cannot complain",
    "no issues",
    "zero issues",
    "not a single issue",
    "not one issue",
    "never had an issue",
    "never had any issues",
    "never had a problem",
    "never had any problems",
    "no problems",
    "zero problems",
    "not a single problem",
    "not one problem",
    "without a hitch",
    "no hiccups",
    "not a single hiccup",
];

/// The most a text stating satisfaction ([`satisfied`]) can score.
pub const SATISFIED_CAP: f32 = 0.3;

/// Words before a satisfied phrase that make it someone else's claim ("support said there
/// were no issues on their end").
const HEARSAY: &[&str] = &[
    "say",
    "says",
    "said",
    "claim",
    "claims",
    "claimed",
    "apparently",
    "supposedly",
    "according",
    "told",
    "tells",
    "insist",
    "insists",
    "status",
];

/// Words after a satisfied phrase that take it back ("no issues until today", "no problems
/// but now it's down").
const RELAPSE: &[&str] = &[
    "but", "until", "till", "now", "again", "still", "except", "anymore", "lately", "today",
];

fn satisfied_matcher() -> &'static AhoCorasick {
    static AC: OnceLock<AhoCorasick> = OnceLock::new();
    AC.get_or_init(|| {
        phrase_automaton(
            SATISFIED.iter().copied(),
            MatchKind::LeftmostLongest,
            "satisfied phrase",
        )
    })
}

/// The words of `s` (letters, digits and apostrophes), borrowed from it.
fn words_of(s: &str) -> impl DoubleEndedIterator<Item = &str> {
    s.split(|c: char| !(c.is_alphanumeric() || c == '\''))
        .filter(|w| !w.is_empty())
}

/// Whether `text` says that nothing went wrong: a [`SATISFIED`] phrase at word boundaries,
/// not reported as someone else's claim (a [`HEARSAY`] word among the four words before it),
/// not taken back (a [`RELAPSE`] word after it), in a text without a strong complaint cue.
pub fn satisfied(text: &str) -> bool {
    states_satisfaction(text) && !cue_hits(text).strong
}

/// [`satisfied`] without its strong-cue check, for a caller that has the text's cue hits
/// already ([`ComplaintModel::probability`]).
fn states_satisfaction(text: &str) -> bool {
    let b = text.as_bytes();
    let word = |c: u8| c.is_ascii_alphanumeric() || c == b'\'';
    // Words are matched case-insensitively against lowercase lists: no allocation.
    let listed = |list: &[&str], w: &str| list.iter().any(|l| l.eq_ignore_ascii_case(w));
    let mut found = false;
    for m in satisfied_matcher().find_iter(text) {
        let before = m.start() == 0 || !word(b[m.start() - 1]);
        let after = m.end() == b.len() || !word(b[m.end()]);
        if !(before && after) {
            continue;
        }
        let hearsay = words_of(&text[..m.start()])
            .rev()
            .take(4)
            .any(|w| listed(HEARSAY, w));
        let relapse = words_of(&text[m.end()..]).any(|w| listed(RELAPSE, w));
        if hearsay || relapse {
            return false;
        }
        found = true;
    }
    found
}

/// The weak label: a strong cue, or any cue in a tweet whose gold label is negative (0).
pub fn rule_label(text: &str, gold: u8) -> bool {
    let h = cue_hits(text);
    h.strong || (gold == 0 && h.any())
}

fn dense_of(text: &str, h: CueHits) -> [f32; COMPLAINT_DENSE] {
    let mut x = [0f32; COMPLAINT_DENSE];
    if h.any() {
        let p = Vader::embedded().polarity_scores(text);
        x[FAMILIES + 2] = p.neg as f32;
        x[FAMILIES + 3] = p.compound as f32;
    }
    for (f, v) in x.iter_mut().take(FAMILIES).enumerate() {
        if h.families & (1 << f) != 0 {
            *v = 1.0;
        }
    }
    x[FAMILIES] = if h.strong { 1.0 } else { 0.0 };
    x[FAMILIES + 1] = 1.0;
    x
}

#[inline]
fn bucket_of(i: u32) -> usize {
    (i >> (BUCKET_BITS - COMPLAINT_BITS)) as usize
}

/// A weights file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ComplaintWeightsError {
    #[error(
        "complaint weights: {len} bytes, expected {expected} (truncated or not a weights file)"
    )]
    Size { len: usize, expected: usize },
    #[error("complaint weights: bad magic (not a flashpoint complaint weights file)")]
    Magic,
    #[error(
        "complaint weights: feature version {found}, bucket bits {bits}, dense {dense}; this \
         build expects {COMPLAINT_FEATURE_VERSION}, {COMPLAINT_BITS}, {COMPLAINT_DENSE} \
         (retrain with `flashpoint train complaint`)"
    )]
    Shape { found: u32, bits: u32, dense: u32 },
    #[error(
        "complaint weights are corrupt: sha256 of the body is {found}, the header says {expected}"
    )]
    Checksum { found: String, expected: String },
}

/// Full-precision weights, as training produces them.
#[derive(Debug, Clone)]
pub struct ComplaintFloatWeights {
    pub sparse: Vec<f32>,
    pub dense: [f32; COMPLAINT_DENSE],
}

impl ComplaintFloatWeights {
    pub fn zeros() -> ComplaintFloatWeights {
        ComplaintFloatWeights {
            sparse: vec![0.0; COMPLAINT_BUCKETS],
            dense: [0.0; COMPLAINT_DENSE],
        }
    }

    /// Quantises the sparse weights to i16 with one scale and serialises the file.
    pub fn to_bytes(&self) -> Vec<u8> {
        super::linear::weights_file(
            MAGIC,
            &[
                COMPLAINT_FEATURE_VERSION,
                COMPLAINT_BITS,
                COMPLAINT_DENSE as u32,
            ],
            &self.dense,
            &self.sparse,
        )
    }
}

/// The quantised complaint model ready to score.
#[derive(Debug, Clone)]
pub struct ComplaintModel {
    sparse: Vec<i16>,
    scale: f32,
    dense: [f32; COMPLAINT_DENSE],
}

thread_local! {
    static WORD: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

fn sigmoid(z: f32) -> f32 {
    1.0 / (1.0 + (-z).exp())
}

impl ComplaintModel {
    /// The model from `models/complaint/weights.bin`, embedded at compile time, verified and
    /// parsed once.
    pub fn embedded() -> Result<&'static ComplaintModel, &'static ComplaintWeightsError> {
        static MODEL: OnceLock<Result<ComplaintModel, ComplaintWeightsError>> = OnceLock::new();
        MODEL
            .get_or_init(|| ComplaintModel::from_bytes(EMBEDDED))
            .as_ref()
    }

    /// Verifies (size, magic, shape, sha256 of the body) and parses a weights file.
    pub fn from_bytes(bytes: &[u8]) -> Result<ComplaintModel, ComplaintWeightsError> {
        let shape = [
            COMPLAINT_FEATURE_VERSION,
            COMPLAINT_BITS,
            COMPLAINT_DENSE as u32,
        ];
        let body = verified_body(bytes, MAGIC, shape, BODY).map_err(|e| match e {
            HeaderError::Size { len, expected } => ComplaintWeightsError::Size { len, expected },
            HeaderError::Magic => ComplaintWeightsError::Magic,
            HeaderError::Shape([found, bits, dense]) => {
                ComplaintWeightsError::Shape { found, bits, dense }
            }
            HeaderError::Checksum { found, expected } => {
                ComplaintWeightsError::Checksum { found, expected }
            }
        })?;
        let scale = f32::from_bits(u32_at(body, 0));
        let mut dense_w = [0f32; COMPLAINT_DENSE];
        for (k, w) in dense_w.iter_mut().enumerate() {
            *w = f32::from_bits(u32_at(body, 4 + 4 * k));
        }
        let sparse = body[4 + 4 * COMPLAINT_DENSE..]
            .chunks_exact(2)
            .map(|c| i16::from_le_bytes([c[0], c[1]]))
            .collect();
        Ok(ComplaintModel {
            sparse,
            scale,
            dense: dense_w,
        })
    }

    /// `P(complaint / service failure)` of `text`.
    pub fn probability(&self, text: &str) -> f32 {
        let text = super::model_text(text);
        if text.trim().is_empty() {
            return 0.0;
        }
        let mut acc = 0i64;
        let mut n = 0u32;
        WORD.with(|w| {
            let word = &mut *w.borrow_mut();
            for_each_feature(text, word, |i| {
                if let Some(&q) = self.sparse.get(bucket_of(i)) {
                    acc += i64::from(q);
                }
                n += 1;
            });
        });
        let hits = cue_hits(text);
        let x = dense_of(text, hits);
        let k = if n > 0 {
            self.scale / (n as f32).sqrt()
        } else {
            0.0
        };
        let z = acc as f32 * k + self.dense.iter().zip(&x).map(|(a, b)| a * b).sum::<f32>();
        let p = sigmoid(z);
        // [`satisfied`], with the cue hits computed once.
        if !hits.strong && states_satisfaction(text) {
            p.min(SATISFIED_CAP)
        } else {
            p
        }
    }
}

/// `P(complaint)` from the embedded model, or 0 when its weights do not verify (the error is
/// reported by [`ComplaintModel::embedded`] to whoever loads it first).
pub fn complaint_probability(text: &str) -> f32 {
    ComplaintModel::embedded().map_or(0.0, |m| m.probability(text))
}

// ----------------------------------------------------------------------------- training

/// A text as the complaint trainer sees it.
#[derive(Clone)]
pub struct ComplaintExample {
    sparse: Vec<(u32, f32)>,
    dense: [f32; COMPLAINT_DENSE],
    label: bool,
    /// How much its loss counts (a hand label counts more than a weak one).
    weight: f32,
}

fn example(text: &str, label: bool, weight: f32, word: &mut Vec<u8>) -> ComplaintExample {
    let mut idx = Vec::new();
    for_each_feature(text, word, |i| idx.push(bucket_of(i) as u32));
    ComplaintExample {
        sparse: super::train::merged_sparse(&mut idx),
        dense: dense_of(text, cue_hits(text)),
        label,
        weight,
    }
}

/// Features and weak labels of every tweet.
pub fn featurize(data: &[Labelled]) -> Vec<ComplaintExample> {
    let mut word = Vec::new();
    data.iter()
        .map(|t| example(&t.text, rule_label(&t.text, t.label), 1.0, &mut word))
        .collect()
}

/// Features of hand-labelled posts, each counting `weight` times a weak label.
pub fn featurize_gold(items: &[(String, bool)], weight: f32) -> Vec<ComplaintExample> {
    let mut word = Vec::new();
    items
        .iter()
        .map(|(t, l)| example(t, *l, weight, &mut word))
        .collect()
}

/// One domain of hand-labelled posts (`<domain>_complaints.txt` and `<domain>_other.txt`).
#[derive(Debug, Clone)]
pub struct GoldDomain {
    pub name: String,
    /// (post, is a complaint).
    pub items: Vec<(String, bool)>,
}

/// The hand-labelled domains of `dir` (`<domain>_complaints.txt`, `<domain>_other.txt`),
/// sorted by name; `training` selects the training domains (every one but the held-out ones,
/// [`super::gold::is_held_out`]) or only those.
pub fn read_gold(dir: &std::path::Path, training: bool) -> std::io::Result<Vec<GoldDomain>> {
    let domains = super::gold::read_domains(dir, &["_complaints.txt", "_other.txt"], training)?;
    Ok(domains
        .into_iter()
        .map(|(name, halves)| {
            let items = halves
                .into_iter()
                .zip([true, false])
                .flat_map(|(posts, complaint)| posts.into_iter().map(move |t| (t, complaint)))
                .collect();
            GoldDomain { name, items }
        })
        .collect())
}

fn predict(w: &ComplaintFloatWeights, x: &ComplaintExample) -> f32 {
    let mut z: f32 = w.dense.iter().zip(&x.dense).map(|(a, b)| a * b).sum();
    for &(i, v) in &x.sparse {
        z += w.sparse[i as usize] * v;
    }
    sigmoid(z)
}

/// Agreement of a model with the weak labels.
#[derive(Debug, Clone, Copy, Default)]
pub struct Agreement {
    pub n: usize,
    /// Share of texts the rules label a complaint.
    pub rule_rate: f64,
    pub accuracy: f64,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
}

/// Agreement of predictions (`p >= threshold`) with the rule labels.
pub fn agreement(pred: &[bool], rule: &[bool]) -> Agreement {
    let (mut tp, mut fp, mut fneg, mut same) = (0usize, 0usize, 0usize, 0usize);
    for (&p, &r) in pred.iter().zip(rule) {
        same += usize::from(p == r);
        match (p, r) {
            (true, true) => tp += 1,
            (true, false) => fp += 1,
            (false, true) => fneg += 1,
            _ => {}
        }
    }
    let n = pred.len().min(rule.len());
    let (precision, recall, f1) = precision_recall_f1(tp as f64, fp as f64, fneg as f64);
    Agreement {
        n,
        rule_rate: (tp + fneg) as f64 / n.max(1) as f64,
        accuracy: same as f64 / n.max(1) as f64,
        precision,
        recall,
        f1,
    }
}

/// Precision, recall and F1 from true positives, false positives (possibly weighted) and
/// false negatives; 0 where nothing was predicted or nothing was there to find.
pub fn precision_recall_f1(tp: f64, fp: f64, fneg: f64) -> (f64, f64, f64) {
    let precision = tp / (tp + fp).max(1.0);
    let recall = tp / (tp + fneg).max(1.0);
    let f1 = if precision + recall > 0.0 {
        2.0 * precision * recall / (precision + recall)
    } else {
        0.0
    };
    (precision, recall, f1)
}

/// Each example's predicted `P` beside its label: predicted once, judged at every threshold.
fn scored(w: &ComplaintFloatWeights, data: &[ComplaintExample]) -> Vec<(f32, bool)> {
    data.iter().map(|x| (predict(w, x), x.label)).collect()
}

/// F1 at `threshold`, each false alarm counted `false_alarm_weight` times.
fn f1_at(scored: &[(f32, bool)], threshold: f32, false_alarm_weight: f64) -> f64 {
    let (mut tp, mut fp, mut fneg) = (0f64, 0f64, 0f64);
    for &(p, label) in scored {
        match (p >= threshold, label) {
            (true, true) => tp += 1.0,
            (true, false) => fp += false_alarm_weight,
            (false, true) => fneg += 1.0,
            _ => {}
        }
    }
    precision_recall_f1(tp, fp, fneg).2
}

/// Complaint training settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ComplaintHyper {
    pub lr: f32,
    pub l2: f32,
    pub epochs: usize,
    pub seed: u64,
    /// How many weak labels one hand label counts as.
    pub gold_weight: f32,
    /// The operating point on the trained model's `P`, folded into its bias so that the
    /// shipped model's 0.5 is this point ([`THRESHOLDS`]).
    pub threshold: f32,
}

/// Binary logistic regression, AdaGrad, L2 on touched weights, each example's loss scaled by
/// its weight and positives up-weighted by `sqrt(neg / pos)` (weighted counts: complaints are
/// rare; full balancing over-predicts them on dev), ChaCha8 shuffling: deterministic.
pub fn train(
    data: &[ComplaintExample],
    hyper: ComplaintHyper,
    mut after_epoch: impl FnMut(usize, &ComplaintFloatWeights),
) -> ComplaintFloatWeights {
    let pos: f32 = data.iter().filter(|x| x.label).map(|x| x.weight).sum();
    let neg: f32 = data.iter().filter(|x| !x.label).map(|x| x.weight).sum();
    let alpha = [1.0, (neg.max(1.0) / pos.max(1.0)).sqrt()];
    let mut w = ComplaintFloatWeights::zeros();
    let mut g2 = ComplaintFloatWeights::zeros();
    let eps = 1e-6f32;
    let mut order: Vec<usize> = (0..data.len()).collect();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(hyper.seed);
    for epoch in 1..=hyper.epochs {
        order.shuffle(&mut rng);
        for &k in &order {
            let x = &data[k];
            let y = if x.label { 1.0 } else { 0.0 };
            let g = x.weight * alpha[usize::from(x.label)] * (predict(&w, x) - y);
            for ((wd, gd), xd) in w.dense.iter_mut().zip(g2.dense.iter_mut()).zip(&x.dense) {
                let grad = g * xd;
                *gd += grad * grad;
                *wd -= hyper.lr * grad / (*gd + eps).sqrt();
            }
            for &(i, v) in &x.sparse {
                let wi = &mut w.sparse[i as usize];
                let grad = g * v + hyper.l2 * *wi;
                let acc = &mut g2.sparse[i as usize];
                *acc += grad * grad;
                *wi -= hyper.lr * grad / (*acc + eps).sqrt();
            }
        }
        after_epoch(epoch, &w);
    }
    w
}

/// Grid for model selection.
pub const L2S: &[f32] = &[1e-2, 3e-2, 0.1];
pub const GOLD_WEIGHTS: &[f32] = &[30.0, 100.0, 300.0];
/// A setting may call at most this many times as many of the dev split's tweets complaints
/// as the weak rules do: hand-labelled posts are about services, the stream is mostly not,
/// and a model that learnt "complaint" as "any grumble" would fire on ordinary tweets.
pub const MAX_DEV_RATE_OVER_RULES: f64 = 2.0;
/// Candidate operating points on a trained model's `P(complaint)`.
pub const THRESHOLDS: &[f32] = &[0.5, 0.55, 0.6, 0.65, 0.7, 0.8, 0.9];
/// How many times a false alarm on a held-out "other" post counts in the selection's
/// precision. A brand's everyday stream is mostly not complaints, and a false alarm raises a
/// complaint stream's usual level and so hides part of every later rise, where a miss only
/// delays one. In the first round's domains (half complaints) this stands for a stream with 10
/// ordinary posts per complaint; in the later ones (about two other posts per complaint) for
/// about 21: the selection leans to precision, on purpose.
pub const OTHERS_PER_COMPLAINT: f64 = 10.0;
pub const LR: f32 = 0.2;
pub const MAX_EPOCHS: usize = 12;
pub const SEED: u64 = 20_170_402;

/// How a chosen setting scored while it was selected.
#[derive(Debug, Clone, Copy, Default)]
pub struct Selection {
    /// Mean F1 on each hand-labelled domain while it was left out of training (0 without
    /// hand labels).
    pub held_out_gold_f1: f64,
    /// F1 against the weak labels of the SemEval dev split (trained without it).
    pub dev_weak_f1: f64,
    /// Share of the dev split's tweets the model calls complaints.
    pub dev_rate: f64,
}

fn rate_at(scored: &[(f32, bool)], threshold: f32) -> f64 {
    let n = scored.iter().filter(|x| x.0 >= threshold).count();
    n as f64 / scored.len().max(1) as f64
}

/// Picks L2, the hand labels' weight and epochs, then retrains on everything.
///
/// With hand-labelled domains the criterion is their mean F1 when each is left out of
/// training in turn (leave-one-domain-out: a complaint in a kind of service the model has
/// never seen labelled is what the stream will bring), every setting trained on the weak
/// SemEval training split plus the other domains. Without them it is F1 against the weak
/// labels of the dev split, as before. Returns the weights, the setting and its scores.
pub fn select_and_train(
    corpus: &Corpus,
    gold: &[GoldDomain],
    mut log: impl FnMut(&str),
) -> (ComplaintFloatWeights, ComplaintHyper, Selection) {
    let train_f = featurize(&corpus.train);
    let dev_f = featurize(&corpus.dev);
    log(&format!(
        "weak labels: {} of {} training and {} of {} dev tweets are complaints; hand labels: {}",
        train_f.iter().filter(|x| x.label).count(),
        train_f.len(),
        dev_f.iter().filter(|x| x.label).count(),
        dev_f.len(),
        gold.iter()
            .map(|d| format!(
                "{} {}+{}",
                d.name,
                d.items.iter().filter(|x| x.1).count(),
                d.items.iter().filter(|x| !x.1).count()
            ))
            .collect::<Vec<_>>()
            .join(", ")
    ));
    let weights: &[f32] = if gold.is_empty() {
        &[1.0]
    } else {
        GOLD_WEIGHTS
    };
    // Featurised once; each setting only re-weights the hand labels.
    let gold_f: Vec<Vec<ComplaintExample>> =
        gold.iter().map(|d| featurize_gold(&d.items, 1.0)).collect();
    let weighted = |k: usize, w: f32| {
        gold_f[k].iter().cloned().map(move |mut x| {
            x.weight = w;
            x
        })
    };
    let thresholds: &[f32] = if gold.is_empty() { &[0.5] } else { THRESHOLDS };
    let rule_rate = dev_f.iter().filter(|x| x.label).count() as f64 / dev_f.len().max(1) as f64;
    let mut best: Option<(f64, ComplaintHyper, Selection)> = None;
    for &l2 in L2S {
        for &gold_weight in weights {
            let hyper = ComplaintHyper {
                lr: LR,
                l2,
                epochs: MAX_EPOCHS,
                seed: SEED,
                gold_weight,
                threshold: 0.5,
            };
            // Per epoch and threshold: the mean held-out F1 over the folds.
            let mut held = vec![vec![0f64; thresholds.len()]; MAX_EPOCHS];
            for (k, test) in gold_f.iter().enumerate() {
                let mut data = train_f.clone();
                for j in (0..gold.len()).filter(|&j| j != k) {
                    data.extend(weighted(j, gold_weight));
                }
                train(&data, hyper, |epoch, w| {
                    let s = scored(w, test);
                    for (h, &t) in held[epoch - 1].iter_mut().zip(thresholds) {
                        *h += f1_at(&s, t, OTHERS_PER_COMPLAINT) / gold.len() as f64;
                    }
                });
            }
            // Then the dev scores of the run with every domain in.
            let mut data = train_f.clone();
            for j in 0..gold.len() {
                data.extend(weighted(j, gold_weight));
            }
            train(&data, hyper, |epoch, w| {
                let dev = scored(w, &dev_f);
                for (ti, &threshold) in thresholds.iter().enumerate() {
                    let sel = Selection {
                        held_out_gold_f1: held[epoch - 1][ti],
                        dev_weak_f1: f1_at(&dev, threshold, 1.0),
                        dev_rate: rate_at(&dev, threshold),
                    };
                    log(&format!(
                        "l2 {l2:e} gold weight {gold_weight} epoch {epoch} threshold {threshold}: \
                         held-out hand-label F1 {:.4}, dev F1 vs rules {:.4}, dev complaint rate \
                         {:.4}",
                        sel.held_out_gold_f1, sel.dev_weak_f1, sel.dev_rate
                    ));
                    let score = if gold.is_empty() {
                        sel.dev_weak_f1
                    } else if sel.dev_rate > MAX_DEV_RATE_OVER_RULES * rule_rate {
                        f64::NEG_INFINITY
                    } else {
                        sel.held_out_gold_f1
                    };
                    if best.as_ref().is_none_or(|b| score > b.0) {
                        let chosen = ComplaintHyper {
                            epochs: epoch,
                            threshold,
                            ..hyper
                        };
                        best = Some((score, chosen, sel));
                    }
                }
            });
        }
    }
    let (score, hyper, sel) = best.expect("the grid is not empty");
    if score == f64::NEG_INFINITY {
        log(&format!(
            "warning: every setting called more than {MAX_DEV_RATE_OVER_RULES}x the rules' share \
             of dev tweets complaints; keeping the first setting of the grid"
        ));
    }
    let mut all = train_f;
    all.extend(dev_f);
    for j in 0..gold.len() {
        all.extend(weighted(j, hyper.gold_weight));
    }
    let mut w = train(&all, hyper, |_, _| {});
    // P >= threshold  <=>  z >= logit(threshold): shift the bias so that 0.5 is that point.
    let t = f64::from(hyper.threshold);
    w.dense[FAMILIES + 1] -= (t / (1.0 - t)).ln() as f32;
    (w, hyper, sel)
}

#[cfg(test)]
mod tests {

    /// A post's length is not evidence: praise repeated to 40 KB read as a complaint (0.996),
    /// and 130,000 emoji overflowed the sum to 1.0 (found by an attack on `flashpoint
    /// sentiment`). The model reads the first `MODEL_TEXT_BYTES` of a text.
    #[test]
    fn a_long_repeated_text_is_read_as_its_first_part() {
        let m = ComplaintModel::embedded().unwrap();
        for (unit, times) in [("love it ", 60_000), ("\u{1F525}", 130_000)] {
            let long = unit.repeat(times);
            let head = super::super::model_text(&long);
            assert!(head.len() <= super::super::MODEL_TEXT_BYTES && !head.is_empty());
            assert_eq!(m.probability(&long), m.probability(head), "{unit:?}");
            assert!(
                m.probability(&long) < 0.5,
                "{unit:?} x {times} read as a complaint"
            );
        }
    }

    use super::*;
    use crate::score::sentiment::gold::GOLD_EVAL_DOMAIN;

    #[test]
    fn cues_match_whole_words_only() {
        let h = cue_hits("40 minutes ON HOLD again");
        assert!(h.strong && h.families & (1 << 1) != 0, "{h:?}");
        assert!(!cue_hits("chocolate cake for the holidays").any());
        assert!(!cue_hits("the latest album").any());
        assert!(cue_hits("train is late").any());
        assert!(!cue_hits("train is late").strong);
        assert!(cue_hits("Charged twice for one order").strong);
        assert!(rule_label("my train is late", 0));
        assert!(!rule_label("my train is late", 1));
        assert!(rule_label("still waiting on my refund", 1));
        assert!(!rule_label("", 0));
    }

    #[test]
    fn embedded_model_scores_in_range_and_separates_cues() {
        let m = ComplaintModel::embedded().expect("embedded complaint weights verify");
        for t in ["", "hello", "\u{1f600}\u{1f600}", "on hold on hold on hold"] {
            let p = m.probability(t);
            assert!((0.0..=1.0).contains(&p), "{t:?}: {p}");
        }
        // Not the detector test's sentences: generic cue phrases vs plain chatter.
        let complaint = m.probability("my package never arrived and no refund yet");
        let chatter = m.probability("watching the game with friends tonight");
        assert!(complaint >= 0.5, "{complaint}");
        assert!(chatter < 0.5, "{chatter}");
        assert!(complaint > chatter);
    }

    #[test]
    fn corrupt_and_mismatched_files_are_rejected() {
        let mut copy = EMBEDDED.to_vec();
        let mid = copy.len() / 2;
        copy[mid] = copy[mid].wrapping_add(1);
        let err = ComplaintModel::from_bytes(&copy).expect_err("corrupt copy");
        assert!(
            matches!(err, ComplaintWeightsError::Checksum { .. }),
            "{err}"
        );
        assert!(err.to_string().contains("corrupt"), "{err}");
        let err = ComplaintModel::from_bytes(&EMBEDDED[..40]).expect_err("truncated");
        assert!(matches!(err, ComplaintWeightsError::Size { .. }), "{err}");
        let mut magic = EMBEDDED.to_vec();
        magic[0] = b'X';
        assert!(matches!(
            ComplaintModel::from_bytes(&magic),
            Err(ComplaintWeightsError::Magic)
        ));
        let mut shape = EMBEDDED.to_vec();
        shape[12] = 17;
        assert!(matches!(
            ComplaintModel::from_bytes(&shape),
            Err(ComplaintWeightsError::Shape { .. })
        ));
    }

    #[test]
    fn hand_labels_are_read_by_domain_and_the_eval_domain_is_kept_apart() {
        let dir = tempfile::tempdir().expect("temp dir");
        let write = |name: &str, body: &str| {
            std::fs::write(dir.path().join(name), body).expect("write a hand-label file")
        };
        write(
            "shops_complaints.txt",
            "parcel never came\n\n  still no refund  \n",
        );
        write("shops_other.txt", "lovely staff\n");
        write("banks_complaints.txt", "app locked me out\n");
        write("banks_other.txt", "new branch opens monday\n");
        write("eval_complaints.txt", "site dead again\n");
        write("eval_other.txt", "site looks great\n");
        write("eval_fresh_complaints.txt", "card declined twice\n");
        write("eval_fresh_other.txt", "card arrived\n");
        // Only `eval` and `eval_<name>` are held out, not any name that starts with "eval".
        write("evaluators_complaints.txt", "no reply in a week\n");
        write("evaluators_other.txt", "quick reply\n");
        write("notes.txt", "not a domain\n");
        let training = read_gold(dir.path(), true).expect("training domains");
        let names: Vec<&str> = training.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(names, ["banks", "evaluators", "shops"]);
        assert_eq!(
            training[2].items,
            [
                ("parcel never came".to_owned(), true),
                ("still no refund".to_owned(), true),
                ("lovely staff".to_owned(), false)
            ]
        );
        let eval = read_gold(dir.path(), false).expect("the eval domain");
        let names: Vec<&str> = eval.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(names, [GOLD_EVAL_DOMAIN, "eval_fresh"]);
        // A domain without its other half is an error, not a silently one-sided set.
        write("pubs_complaints.txt", "no pints\n");
        assert!(read_gold(dir.path(), true).is_err());
        std::fs::remove_file(dir.path().join("pubs_complaints.txt")).expect("remove");
        write("cafes_other.txt", "flat white please\n");
        let err = read_gold(dir.path(), true).expect_err("an other half alone");
        assert!(err.to_string().contains("cafes_other.txt"), "{err}");
    }

    /// The held-out hand-labelled set (`models/complaint/gold/eval_*`, written apart from the
    /// training domains and never trained on; numbers in `models/complaint/MODEL_CARD.md`) as
    /// floors: most complaints in everyday wording are recognised, and most posts that only
    /// sound like one are not.
    #[test]
    fn embedded_model_recognises_held_out_hand_labelled_complaints() {
        let m = ComplaintModel::embedded().expect("embedded complaint weights verify");
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("models/complaint/gold");
        let held_out = read_gold(&dir, false).expect("the held-out domains");
        // (domain, complaints recognised at least, other posts called complaints at most), in
        // per cent: floors a little under the shipped model's numbers (MODEL_CARD.md).
        let floors = [(GOLD_EVAL_DOMAIN, 72, 5), ("eval_fresh", 72, 5)];
        for (name, recall, false_alarm) in floors {
            let domain = held_out
                .iter()
                .find(|d| d.name == name)
                .unwrap_or_else(|| panic!("held-out domain {name}"));
            let calls = |want: bool| {
                let of: Vec<&String> = domain
                    .items
                    .iter()
                    .filter(|x| x.1 == want)
                    .map(|x| &x.0)
                    .collect();
                let n = of.iter().filter(|t| m.probability(t) >= 0.5).count();
                (n, of.len())
            };
            let (hit, n) = calls(true);
            assert!(hit * 100 >= n * recall, "{name} complaints: {hit} of {n}");
            let (false_alarms, n) = calls(false);
            assert!(
                false_alarms * 100 <= n * false_alarm,
                "{name} other posts: {false_alarms} of {n}"
            );
        }
    }

    #[test]
    fn a_satisfied_post_in_complaint_words_is_capped() {
        let m = ComplaintModel::embedded().expect("embedded complaint weights verify");
        // The uncapped model reads these as complaints; the cap keeps them under 0.5.
        for text in ["same, no complaints here", "zero problems since the update"] {
            assert!(satisfied(text), "{text:?}");
            assert!(m.probability(text) <= SATISFIED_CAP, "{text:?}");
        }
        // Someone else's claim, a relapse, or a strong cue: a complaint stays one.
        for text in [
            "support said there were no issues on their end but my internet is down",
            "no issues until today, now it won't load",
            "no problems with the app, but charged twice for one order",
            "never had a problem with them... still waiting for my refund",
        ] {
            assert!(!satisfied(text), "{text:?}");
        }
        assert!(
            m.probability("support said there were no issues on their end but my internet is down")
                >= 0.5
        );
        // Word boundaries: "no issuesss" is not the phrase; "zero issues" mid-sentence is.
        assert!(!satisfied("no issuesss"));
        assert!(satisfied(
            "Pulsewave: zero issues since I switched, speeds as promised"
        ));
    }

    #[test]
    fn round_trip_and_toy_training() {
        let mk = |text: &str, label| Labelled {
            id: String::new(),
            label,
            text: text.to_owned(),
        };
        let data: Vec<Labelled> = (0..20)
            .flat_map(|i| {
                [
                    mk(&format!("order {i} never arrived"), 1),
                    mk(&format!("the meeting is at {i}"), 1),
                ]
            })
            .collect();
        let f = featurize(&data);
        let w = train(
            &f,
            ComplaintHyper {
                lr: 0.2,
                l2: 1e-6,
                epochs: 5,
                seed: 1,
                gold_weight: 1.0,
                threshold: 0.5,
            },
            |_, _| {},
        );
        assert!(f1_at(&scored(&w, &f), 0.5, 1.0) > 0.99);
        let m = ComplaintModel::from_bytes(&w.to_bytes()).expect("valid file");
        assert!(m.probability("order 3 never arrived") > 0.5);
        assert!(m.probability("the meeting is at 3") < 0.5);
    }
}
