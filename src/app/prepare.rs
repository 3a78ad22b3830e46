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
//! [`LiveQueue`] puts the same workers between `run`'s sources and its engine task
//! (`[pipeline] prepare_workers`, off by default: on two cores it measured no faster, see
//! benches/README.md, "Preparing threads on the live path").

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::sync::mpsc;

use crate::brand::BrandMatcher;
use crate::domain::scored::{service_score, TONED_COMPLAINT_SCORE};
use crate::domain::{BrandIdx, Mention, Sentiment, SentimentLabel};
use crate::ingest::Ingested;
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

    /// [`Preparer::prepare`], or `None` when it panics (a preparing thread's view: the panic
    /// is left to happen again where the engine scores the mention itself).
    pub fn prepare_or_leave(&self, m: &Mention) -> Option<Preparation> {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.prepare(m))).ok()
    }

    /// Each mention of `batch` with [`Preparer::prepare_or_leave`]'s result.
    pub fn prepare_batch<T: Carries>(&self, batch: Vec<T>) -> PreparedBatch<T> {
        batch
            .into_iter()
            .map(|m| {
                let prep = self.prepare_or_leave(m.mention());
                (m, prep)
            })
            .collect()
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

/// What a preparing thread reads the mention from: a replay's bare [`Mention`], or a live
/// [`Ingested`] with its arrival time and the source's bookkeeping.
pub trait Carries: Send + 'static {
    fn mention(&self) -> &Mention;
}

impl Carries for Mention {
    fn mention(&self) -> &Mention {
        self
    }
}

impl Carries for Ingested {
    fn mention(&self) -> &Mention {
        &self.mention
    }
}

/// A batch of mentions with their preparations (same length, same order). `None` where
/// preparing panicked: the engine then scores that mention itself and fails exactly as it would
/// without preparing threads, instead of the thread's end looking like the end of the input.
pub type PreparedBatch<T = Mention> = Vec<(T, Option<Preparation>)>;

/// The consumer's end of the workers' queues, read in rotation.
pub struct Ordered<O> {
    queues: Vec<mpsc::Receiver<O>>,
    next: usize,
}

/// Prepared batches in the producer's order.
pub type Prepared<T = Mention> = Ordered<PreparedBatch<T>>;

impl<O> Ordered<O> {
    /// The next result in the producer's order; `None` once the input is exhausted.
    /// Cancel-safe: the rotation moves on only once a result is taken.
    pub async fn recv(&mut self) -> Option<O> {
        let n = self.queues.len();
        let batch = self.queues.get_mut(self.next)?.recv().await?;
        self.next = (self.next + 1) % n;
        Some(batch)
    }

    /// Results waiting in the queues.
    pub fn len(&self) -> usize {
        self.queues.iter().map(mpsc::Receiver::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The producer's end: hands job `i` to worker `i mod N`.
pub struct Dispatch<I> {
    queues: Vec<mpsc::Sender<I>>,
    next: usize,
}

impl<I> Dispatch<I> {
    /// Blocks while that worker's queue is full; `false` when the consumer went away. For a
    /// thread outside the async runtime (a replay's reader).
    pub fn send(&mut self, job: I) -> bool {
        let n = self.queues.len();
        let Some(q) = self.queues.get(self.next) else {
            return false;
        };
        self.next = (self.next + 1) % n;
        q.blocking_send(job).is_ok()
    }

    /// [`Dispatch::send`] for a task: waits while that worker's queue is full.
    pub async fn send_async(&mut self, job: I) -> bool {
        let n = self.queues.len();
        let Some(q) = self.queues.get(self.next) else {
            return false;
        };
        self.next = (self.next + 1) % n;
        q.send(job).await.is_ok()
    }
}

/// The producer's and the consumer's ends of [`spawn_with`]'s workers, and their threads.
pub type Workers<I, O> = (Dispatch<I>, Ordered<O>, Vec<std::thread::JoinHandle<()>>);

/// Starts `workers` (at least one) preparing threads that match and score batches of
/// mentions; `capacity` is in batches per queue (at least one).
pub fn spawn<T: Carries>(
    preparer: &Preparer,
    workers: usize,
    capacity: usize,
) -> std::io::Result<Workers<Vec<T>, PreparedBatch<T>>> {
    spawn_with(workers, capacity, |_| {
        let p = preparer.clone();
        move |batch: Vec<T>| p.prepare_batch(batch)
    })
}

/// Starts `workers` (at least one) threads, thread `i` running `make_job(i)` on what
/// [`Dispatch`] hands it, results read back in the same order ([`Ordered`]); `capacity` is in
/// jobs per queue (at least one). Dropping the [`Dispatch`] ends them once their queues are
/// drained.
pub fn spawn_with<I, O, F>(
    workers: usize,
    capacity: usize,
    mut make_job: impl FnMut(usize) -> F,
) -> std::io::Result<Workers<I, O>>
where
    I: Send + 'static,
    O: Send + 'static,
    F: FnMut(I) -> O + Send + 'static,
{
    let workers = workers.max(1);
    let capacity = capacity.max(1);
    let mut inputs = Vec::with_capacity(workers);
    let mut outputs = Vec::with_capacity(workers);
    let mut handles = Vec::with_capacity(workers);
    for i in 0..workers {
        let (in_tx, mut in_rx) = mpsc::channel::<I>(capacity);
        let (out_tx, out_rx) = mpsc::channel::<O>(capacity);
        let mut job = make_job(i);
        let handle = std::thread::Builder::new()
            .name(format!("flashpoint-prepare-{i}"))
            .spawn(move || {
                while let Some(input) = in_rx.blocking_recv() {
                    if out_tx.blocking_send(job(input)).is_err() {
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
        Ordered {
            queues: outputs,
            next: 0,
        },
        handles,
    ))
}

/// Most mentions a live batch carries through the preparing threads. A batch is what the
/// sources' queue holds when the relay looks (`recv_many`), so under light load it is one
/// mention and adds no wait; under load it amortises the hand-offs.
pub const LIVE_BATCH: usize = 8;

/// Live mentions in the engine's order, each with its preparation when it has one.
pub type LiveBatch = PreparedBatch<Ingested>;

/// The engine task's end of `run`'s mention queue: the sources' bounded queue itself, or the
/// same mentions matched and scored ahead by preparing threads, in the same order.
///
/// With threads, a relay task takes what the sources' queue holds (at most [`LIVE_BATCH`]),
/// hands it to worker `i mod N` and the engine reads the workers' queues in the same rotation,
/// so the engine sees the sources' queue order exactly, as without them, and every mention
/// scores bit for bit as the engine would score it. With one worker the relay task prepares
/// the batch itself (one hand-off fewer). Every queue is bounded and waits when full (a slow
/// engine slows the workers, then the relay; the sources' queue then fills and each source
/// applies its own policy, as without threads): at most `2 × 2 × N` batches, i.e.
/// `4 × N × LIVE_BATCH` mentions, are between the sources' queue and the engine.
pub struct LiveQueue {
    inner: Live,
}

enum Live {
    Direct(mpsc::Receiver<Ingested>),
    Prepared {
        out: Prepared<Ingested>,
        /// Mentions taken from the sources' queue and not yet handed to the engine.
        in_flight: Arc<AtomicUsize>,
        /// What the sources' queue held when the relay last took from it.
        backlog: Arc<AtomicUsize>,
    },
}

/// Where the live relay hands a batch: prepared on its own task, or to the preparing threads.
enum Relay {
    Inline(Preparer, mpsc::Sender<PreparedBatch<Ingested>>),
    Threads(Dispatch<Vec<Ingested>>),
}

impl Relay {
    /// Waits while the next queue is full; `false` once the engine is gone.
    async fn send(&mut self, batch: Vec<Ingested>) -> bool {
        match self {
            Relay::Inline(p, out) => out.send(p.prepare_batch(batch)).await.is_ok(),
            Relay::Threads(d) => d.send_async(batch).await,
        }
    }
}

impl LiveQueue {
    /// The engine reads the sources' queue itself and scores every mention on its own task.
    pub fn direct(rx: mpsc::Receiver<Ingested>) -> LiveQueue {
        LiveQueue {
            inner: Live::Direct(rx),
        }
    }

    /// `workers` preparing threads (at least one) between the sources' queue and the engine,
    /// and the relay task that feeds them (spawned on the current runtime). The threads end
    /// once every sender of `rx` is gone and what was queued is through.
    pub fn prepared(
        mut rx: mpsc::Receiver<Ingested>,
        preparer: &Preparer,
        workers: usize,
    ) -> std::io::Result<LiveQueue> {
        let in_flight = Arc::new(AtomicUsize::new(0));
        let backlog = Arc::new(AtomicUsize::new(0));
        let (taken, waiting) = (Arc::clone(&in_flight), Arc::clone(&backlog));
        let (mut to, out) = if workers <= 1 {
            // One worker: the relay task prepares itself (one hand-off fewer).
            let (out_tx, out_rx) = mpsc::channel::<PreparedBatch<Ingested>>(2);
            let out = Ordered {
                queues: vec![out_rx],
                next: 0,
            };
            (Relay::Inline(preparer.clone(), out_tx), out)
        } else {
            let (dispatch, out, _handles) = spawn::<Ingested>(preparer, workers, 2)?;
            (Relay::Threads(dispatch), out)
        };
        tokio::spawn(async move {
            loop {
                let mut batch = Vec::with_capacity(LIVE_BATCH);
                if rx.recv_many(&mut batch, LIVE_BATCH).await == 0 {
                    break;
                }
                taken.fetch_add(batch.len(), Ordering::AcqRel);
                waiting.store(rx.len(), Ordering::Release);
                if !to.send(batch).await {
                    break;
                }
            }
        });
        Ok(LiveQueue {
            inner: Live::Prepared {
                out,
                in_flight,
                backlog,
            },
        })
    }

    /// The next mentions in the sources' queue order; `None` once every source is done and
    /// everything queued was handed out. Cancel-safe (for `select!`).
    pub async fn recv(&mut self) -> Option<LiveBatch> {
        match &mut self.inner {
            Live::Direct(rx) => rx.recv().await.map(|i| vec![(i, None)]),
            Live::Prepared { out, in_flight, .. } => {
                let batch = out.recv().await?;
                in_flight.fetch_sub(batch.len(), Ordering::AcqRel);
                Some(batch)
            }
        }
    }

    /// Mentions waiting before the engine (the sources' queue as the relay last saw it, plus
    /// those with the preparing threads). Like any queue length read by its consumer it may be
    /// behind by what arrived since.
    pub fn len(&self) -> usize {
        match &self.inner {
            Live::Direct(rx) => rx.len(),
            Live::Prepared {
                in_flight, backlog, ..
            } => in_flight.load(Ordering::Acquire) + backlog.load(Ordering::Acquire),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
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

    /// An engine of the demo's brands with `model` as its sentiment model.
    fn demo_engine(model: Box<dyn SentimentModel>) -> crate::app::Engine {
        let cfg = Arc::new(
            crate::config::parse_str(crate::app::demo::DEMO_CONFIG, "demo.toml", &|_| None)
                .unwrap(),
        );
        crate::app::Engine::new(cfg, model, Box::new(KeywordClassifier::embedded()), None).unwrap()
    }

    /// The live queue with three preparing threads hands out every mention in the order the
    /// sources queued it, each prepared exactly as the engine's own preparer would, and is
    /// empty once the senders are gone and everything is handed out.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_live_queue_keeps_the_queue_order_across_its_threads() {
        let preparer = demo_engine(model_by_name("lexicon").unwrap()).preparer();
        let texts = [
            "Brightline engineer never showed up, useless",
            "what a lovely morning",
            "@brightline thanks for the quick boiler fix!",
            "Northwind app down again, cannot log in",
        ];
        let (tx, rx) = mpsc::channel::<Ingested>(16);
        let mut queue = LiveQueue::prepared(rx, &preparer, 3).unwrap();
        const N: usize = 2_000;
        let producer = tokio::spawn(async move {
            for i in 0..N {
                let m = Mention {
                    id: format!("m{i}"),
                    text: texts[i % texts.len()].to_owned(),
                    ..Mention::default()
                };
                tx.send(Ingested::new(m, std::time::Instant::now()))
                    .await
                    .unwrap();
                if i % 5 == 0 {
                    tokio::task::yield_now().await;
                }
            }
        });
        let mut seen = 0usize;
        let mut batches = 0usize;
        while let Some(batch) = queue.recv().await {
            assert!(!batch.is_empty() && batch.len() <= LIVE_BATCH);
            batches += 1;
            for (ingested, prep) in batch {
                assert_eq!(ingested.mention.id, format!("m{seen}"), "out of order");
                let prep = prep.expect("every live mention is prepared");
                let own = preparer.prepare(&ingested.mention);
                assert_eq!(prep.text_brands, own.text_brands);
                assert_eq!(
                    prep.features.map(|f| (f.sentiment, f.simhash, f.complaint)),
                    own.features.map(|f| (f.sentiment, f.simhash, f.complaint))
                );
                seen += 1;
            }
        }
        producer.await.unwrap();
        assert_eq!(seen, N);
        assert!(
            batches >= 3,
            "the batches went round the threads: {batches}"
        );
        assert!(queue.is_empty());
    }

    /// A sentiment model that panics on one word.
    struct Fragile;

    impl SentimentModel for Fragile {
        fn name(&self) -> &str {
            "fragile"
        }

        fn score(&self, text: &str) -> Sentiment {
            assert!(!text.contains("kaboom"), "the model fails on this text");
            Sentiment {
                score: 0.0,
                label: SentimentLabel::Neutral,
            }
        }
    }

    /// A preparation that panics does not end the live queue (which the engine would read as
    /// the end of the input): that mention comes through unprepared, in its place, for the
    /// engine to score (and fail on) as it would without threads; the others are prepared.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_preparation_that_panics_leaves_the_mention_to_the_engine() {
        let engine = demo_engine(Box::new(Fragile));
        for workers in [1, 2] {
            let (tx, rx) = mpsc::channel::<Ingested>(16);
            let mut queue = LiveQueue::prepared(rx, &engine.preparer(), workers).unwrap();
            for (i, text) in [
                "Brightline boiler fixed",
                "Brightline kaboom",
                "Brightline again",
            ]
            .into_iter()
            .enumerate()
            {
                let m = Mention {
                    id: format!("m{i}"),
                    text: text.to_owned(),
                    ..Mention::default()
                };
                tx.send(Ingested::new(m, std::time::Instant::now()))
                    .await
                    .unwrap();
            }
            drop(tx);
            let mut got = Vec::new();
            while let Some(batch) = queue.recv().await {
                got.extend(batch.into_iter().map(|(i, p)| (i.mention.id, p.is_some())));
            }
            let want = [("m0", true), ("m1", false), ("m2", true)].map(|(i, p)| (i.to_owned(), p));
            assert_eq!(got, want, "{workers} workers");
        }
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
