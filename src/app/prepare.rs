//! Per-mention work that needs no engine state, done ahead of the engine on worker threads.
//!
//! The engine's per-mention cost is mostly text: brand matching, sentiment, the keyword
//! classifier, SimHash, the complaint model and key terms. None of it depends on anything but
//! the mention's own text, so [`Preparer`]s compute it on other cores and the engine only
//! applies the results (thread attribution, watermark and detection stay on its one thread,
//! in arrival order). [`TextScorer`] is the one place those features are computed, used by
//! the workers and by the engine itself for mentions that arrive unprepared, so a prepared
//! mention scores exactly (bit for bit) as an unprepared one.
//!
//! [`spawn`] runs the workers of a replay: batches go to worker `i mod N` and come back on
//! that worker's own queue, and the consumer reads the queues in the same rotation
//! ([`Prepared::recv`]), so the merge is ordered without a reorder buffer and the engine sees
//! the mentions in exactly the reader's order. Every queue is bounded and blocks when full
//! (replay policy: a slow engine slows the workers, which slow the reader; nothing is dropped).

use std::sync::Arc;

use tokio::sync::mpsc;

use crate::brand::BrandMatcher;
use crate::domain::scored::{service_score, TONED_COMPLAINT_SCORE};
use crate::domain::{BrandIdx, Mention, Sentiment, SentimentLabel};
use crate::score::classify::{Classification, Classifier};
use crate::score::sentiment::SentimentModel;
use crate::score::simhash::simhash_counted;
use crate::score::terms::{key_terms_of, Ignore, TermList, Words};

/// The text features of one mention (everything [`crate::domain::scored::Scored`] takes from
/// the text, plus its key terms).
#[derive(Debug, Clone)]
pub struct TextFeatures {
    pub sentiment: Sentiment,
    pub class: Classification,
    pub simhash: u64,
    pub simhash_words: u32,
    /// P(complaint), 0 when the complaint model is switched off.
    pub complaint: f32,
    pub terms: TermList,
}

/// Computes [`TextFeatures`]; cheap to clone (shared models), usable from any thread.
#[derive(Clone)]
pub struct TextScorer {
    sentiment: Arc<dyn SentimentModel>,
    classifier: Arc<dyn Classifier>,
    ignore: Arc<Ignore>,
    complaint: bool,
    grievance: Option<Arc<dyn SentimentModel>>,
}

impl TextScorer {
    /// `complaint`: whether the complaint model runs (`complaint_threshold < 1`).
    pub fn new(
        sentiment: Arc<dyn SentimentModel>,
        classifier: Arc<dyn Classifier>,
        ignore: Arc<Ignore>,
        complaint: bool,
    ) -> TextScorer {
        TextScorer {
            sentiment,
            classifier,
            ignore,
            complaint,
            grievance: None,
        }
    }

    /// Re-reads with `model` the tone of the texts that carry a service-failure phrase
    /// (a service-group score of at least [`TONED_COMPLAINT_SCORE`]: one medium outage,
    /// billing or service phrase) and that the main model reads as praise: when `model` reads
    /// one negative, its reading is the text's sentiment. `[pipeline]
    /// grievance_sentiment_model`, docs/evaluation.md (seventeenth round): the lexicon reads
    /// "oh brilliant, the app is down again" as praise, a model trained on complaints does
    /// not. Only praise that names a failure is asked: praise without one (a good-news story's
    /// reactions, a launch) and neutral reports ("parcel out for delivery") keep the main
    /// model's reading.
    pub fn with_grievance_model(mut self, model: Option<Arc<dyn SentimentModel>>) -> TextScorer {
        self.grievance = model;
        self
    }

    /// Every text feature of `text`.
    pub fn score(&self, text: &str) -> TextFeatures {
        let mut sentiment = self.sentiment.score(text);
        // One tokenisation for the classifier and the key terms (the same words).
        let tokens = Words::of(text);
        let class = self.classifier.classify_words(text, &tokens);
        if let Some(grievance) = &self.grievance {
            if sentiment.label == SentimentLabel::Positive
                && service_score(&class.scores) >= TONED_COMPLAINT_SCORE
            {
                let second = grievance.score(text);
                if second.label == SentimentLabel::Negative {
                    sentiment = second;
                }
            }
        }
        let (simhash, words) = simhash_counted(text);
        let complaint = if self.complaint {
            crate::score::sentiment::complaint::complaint_probability(text)
        } else {
            0.0
        };
        TextFeatures {
            sentiment,
            class,
            simhash,
            simhash_words: words as u32,
            complaint,
            // Room for every word: the key terms are a subset of them.
            terms: TermList::collect(
                key_terms_of(&tokens, &self.ignore),
                tokens.canon.len(),
                tokens.len(),
            ),
        }
    }
}

/// What a worker prepared for one mention.
#[derive(Debug, Clone, Default)]
pub struct Preparation {
    /// The brands its text names (what [`BrandMatcher::match_text`] gives).
    pub text_brands: Vec<BrandIdx>,
    /// Its text features, when it may belong to a brand: its text names one, or it has a
    /// parent it may inherit brands from. `None` otherwise (the engine computes them in the
    /// rare case a mention needs them after all).
    pub features: Option<TextFeatures>,
}

/// Matches and scores one mention (a worker's job).
#[derive(Clone)]
pub struct Preparer {
    matcher: Arc<BrandMatcher>,
    scorer: TextScorer,
}

impl Preparer {
    pub fn new(matcher: Arc<BrandMatcher>, scorer: TextScorer) -> Preparer {
        Preparer { matcher, scorer }
    }

    pub fn prepare(&self, m: &Mention) -> Preparation {
        let mut text_brands = Vec::new();
        self.matcher.match_text(&m.text, &mut text_brands);
        let features =
            (!text_brands.is_empty() || m.parent_id.is_some()).then(|| self.scorer.score(&m.text));
        Preparation {
            text_brands,
            features,
        }
    }
}

/// A batch of mentions with their preparations (same length, same order).
pub type PreparedBatch = Vec<(Mention, Preparation)>;

/// The consumer's end of the workers' queues, read in rotation.
pub struct Prepared {
    queues: Vec<mpsc::Receiver<PreparedBatch>>,
    next: usize,
}

impl Prepared {
    /// The next batch in the reader's order; `None` once the input is exhausted.
    pub async fn recv(&mut self) -> Option<PreparedBatch> {
        let n = self.queues.len();
        let batch = self.queues.get_mut(self.next)?.recv().await?;
        self.next = (self.next + 1) % n;
        Some(batch)
    }

    /// Batches waiting in the queues.
    pub fn len(&self) -> usize {
        self.queues.iter().map(mpsc::Receiver::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The producer's end: hands batch `i` to worker `i mod N`.
pub struct Dispatch {
    queues: Vec<std::sync::mpsc::SyncSender<Vec<Mention>>>,
    next: usize,
}

impl Dispatch {
    /// Blocks while that worker's queue is full; `false` when the consumer went away.
    pub fn send(&mut self, batch: Vec<Mention>) -> bool {
        let n = self.queues.len();
        let Some(q) = self.queues.get(self.next) else {
            return false;
        };
        self.next = (self.next + 1) % n;
        q.send(batch).is_ok()
    }
}

/// Starts `workers` (at least one) preparing threads; `capacity` is in batches per queue (at
/// least one). Dropping the [`Dispatch`] ends them once their queues are drained.
pub fn spawn(
    preparer: &Preparer,
    workers: usize,
    capacity: usize,
) -> std::io::Result<(Dispatch, Prepared, Vec<std::thread::JoinHandle<()>>)> {
    let workers = workers.max(1);
    let capacity = capacity.max(1);
    let mut inputs = Vec::with_capacity(workers);
    let mut outputs = Vec::with_capacity(workers);
    let mut handles = Vec::with_capacity(workers);
    for i in 0..workers {
        let (in_tx, in_rx) = std::sync::mpsc::sync_channel::<Vec<Mention>>(capacity);
        let (out_tx, out_rx) = mpsc::channel::<PreparedBatch>(capacity);
        let p = preparer.clone();
        let handle = std::thread::Builder::new()
            .name(format!("flashpoint-prepare-{i}"))
            .spawn(move || {
                while let Ok(batch) = in_rx.recv() {
                    let out: PreparedBatch = batch
                        .into_iter()
                        .map(|m| {
                            let prep = p.prepare(&m);
                            (m, prep)
                        })
                        .collect();
                    if out_tx.blocking_send(out).is_err() {
                        return;
                    }
                }
            })?;
        inputs.push(in_tx);
        outputs.push(out_rx);
        handles.push(handle);
    }
    Ok((
        Dispatch {
            queues: inputs,
            next: 0,
        },
        Prepared {
            queues: outputs,
            next: 0,
        },
        handles,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::score::classify::KeywordClassifier;
    use crate::score::sentiment::model_by_name;

    fn scorer(grievance: Option<&str>) -> TextScorer {
        TextScorer::new(
            Arc::from(model_by_name("lexicon").unwrap()),
            Arc::new(KeywordClassifier::embedded()),
            Arc::new(Ignore::new(["zentra"])),
            true,
        )
        .with_grievance_model(grievance.map(|n| Arc::from(model_by_name(n).unwrap())))
    }

    #[test]
    fn a_failure_named_in_praise_words_is_read_again_by_the_grievance_model() {
        use SentimentLabel::{Negative, Neutral, Positive};
        let (lexicon, both) = (scorer(None), scorer(Some("linear")));
        // Sarcasm around an outage phrase: praise to the lexicon, a complaint to `linear`.
        let sarcastic = "oh brilliant, Zentra app down again right when i need to pay rent";
        assert_eq!(lexicon.score(sarcastic).sentiment.label, Positive);
        let s = both.score(sarcastic).sentiment;
        assert_eq!(s.label, Negative);
        // `linear`'s score (its probabilities blended with VADER's compound) comes with it.
        assert!(s.score < lexicon.score(sarcastic).sentiment.score, "{s:?}");
        // Praise that names no failure keeps the lexicon's reading, although `linear` alone
        // reads this one negative.
        let linear = model_by_name("linear").unwrap();
        let praise = "ugh fine, Zentra, the hype was justified";
        assert_eq!(linear.score(praise).label, Negative);
        assert_eq!(lexicon.score(praise).sentiment.label, Positive);
        assert_eq!(both.score(praise).sentiment.label, Positive);
        // A neutral report that names a service word keeps its reading too: only praise is
        // asked again ("not gonna lie" reads negative to `linear`).
        let report = "not gonna lie, parcel out for delivery with Zentra";
        assert_eq!(linear.score(report).label, Negative);
        assert_eq!(lexicon.score(report).sentiment.label, Neutral);
        assert_eq!(both.score(report).sentiment.label, Neutral);
        // What the lexicon already reads negative is not asked again (its score stays).
        let plain = "Zentra app is down again, this is awful";
        assert_eq!(both.score(plain).sentiment, lexicon.score(plain).sentiment);
        assert_eq!(lexicon.score(plain).sentiment.label, Negative);
    }
}
