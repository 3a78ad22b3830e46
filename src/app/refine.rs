//! Second-opinion sentiment for candidate incidents: the fast model scores every matched
//! mention, a slower model (`[pipeline] incident_sentiment_model`, e.g. the `bert`
//! transformer) re-scores only mentions of brands the detector holds a candidate incident for
//! ([`crate::detect::detector::Detector::is_hot`]), in batches.
//!
//! Role: the engine's reorder buffer. While any mention waits for the slow model, every later
//! mention (hot or not, matched or not) queues behind it, so the detector still sees mentions
//! and minute ticks in arrival order; only the waiting mentions' sentiment labels change.
//!
//! Inputs: `Entry`s from the engine, hot ones marked for refinement. Outputs: the same
//! entries, in the same order, once their batch is scored (or skipped).
//!
//! A batch is sent when it holds `batch` hot mentions, when event time enters a new minute,
//! when the buffer holds [`MAX_PENDING`] entries, and at the end of the input. Two executors:
//! - [`Refiner::inline`] (replay, eval, tests): the batch is scored at once on the engine's
//!   thread. Deterministic: the same input gives the same alert log, byte for byte; a slow
//!   model slows the replay down, but only by its cost on hot mentions.
//! - [`Refiner::worker`] (the live service): a worker thread takes batches from a bounded queue
//!   of `queue` batches. The engine never waits for it. Full policy: a batch that finds the
//!   queue full keeps the fast scores (counted in `flashpoint_sentiment_refine_skipped_total`);
//!   when the buffer reaches [`MAX_PENDING`] entries the oldest batch in flight is abandoned the
//!   same way (its late result is ignored), and at the end of input every batch still in flight
//!   is. Results are collected whenever the engine sees a mention or [`Refiner::poll`] runs.
//!
//! Memory is bounded: at most [`MAX_PENDING`] buffered entries (each holds a copy of its
//! mention), at most `queue + 1` batches in the worker.

use std::collections::VecDeque;
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::domain::scored::Scored;
use crate::domain::{BrandIdx, EventTime, Mention, Sentiment};
use crate::score::sentiment::SentimentModel;
use crate::score::terms::TermList;
use crate::telemetry::Metrics;

use crate::config::incident_sentiment::MAX_PENDING;

/// What happened to the mentions sent for refinement.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct RefineStats {
    /// Mentions that got the refining model's label.
    pub refined: u64,
    /// Mentions that kept the fast model's label (queue full, abandoned, or worker gone).
    pub skipped: u64,
    /// Batches the refining model scored.
    pub batches: u64,
}

/// A matched mention and what the engine computed for it.
pub(crate) struct Item {
    pub mention: Mention,
    pub brands: Vec<BrandIdx>,
    pub root: u64,
    pub scored: Scored,
    pub terms: TermList,
    slot: Slot,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    /// Ready with its current (fast or refined) label.
    Ready,
    /// In the batch being built.
    Building,
    /// In a batch sent to the worker.
    InFlight(u64),
}

/// One mention's turn in the engine: the watermark's high mark when it arrived (the detector
/// is advanced to it before the mention is applied) and, when it matched a brand, its item.
pub(crate) struct Entry {
    pub max_seen: EventTime,
    pub item: Option<Item>,
}

impl Item {
    pub fn new(
        mention: Mention,
        brands: Vec<BrandIdx>,
        root: u64,
        scored: Scored,
        terms: TermList,
    ) -> Item {
        Item {
            mention,
            brands,
            root,
            scored,
            terms,
            slot: Slot::Ready,
        }
    }
}

struct Job {
    id: u64,
    texts: Vec<String>,
}

struct Done {
    id: u64,
    out: Vec<Sentiment>,
    took: Duration,
}

/// What became of a batch when it was sent.
enum Sent {
    Scored(Duration),
    Queued,
    Skipped,
}

enum Exec {
    Inline(Box<dyn SentimentModel>),
    Worker {
        jobs: Option<mpsc::SyncSender<Job>>,
        done: mpsc::Receiver<Done>,
        in_flight: VecDeque<u64>,
        thread: Option<std::thread::JoinHandle<()>>,
    },
}

/// The reorder buffer and its executor (see the module docs).
pub struct Refiner {
    model: String,
    exec: Exec,
    batch: usize,
    entries: VecDeque<Entry>,
    /// Sequence number of `entries[0]`.
    front: u64,
    /// Sequence numbers of the hot entries in the batch being built.
    building: Vec<u64>,
    /// Event-time minute of the newest buffered entry.
    minute: i64,
    next_id: u64,
    stats: RefineStats,
    metrics: Option<Arc<Metrics>>,
    scratch: Vec<Sentiment>,
}

impl Refiner {
    /// Scores each batch at once on the caller's thread (deterministic; for replays).
    pub fn inline(model: Box<dyn SentimentModel>, batch: usize) -> Refiner {
        let name = model.name().to_owned();
        Refiner::with_exec(name, Exec::Inline(model), batch)
    }

    /// Scores batches on a worker thread fed by a queue of `queue` batches; the caller never
    /// waits (for the live service).
    pub fn worker(
        model: Box<dyn SentimentModel>,
        batch: usize,
        queue: usize,
    ) -> std::io::Result<Refiner> {
        let name = model.name().to_owned();
        let (jobs, job_rx) = mpsc::sync_channel::<Job>(queue.max(1));
        // Unbounded in type, bounded in fact: at most `queue + 1` jobs exist at a time.
        let (done_tx, done) = mpsc::channel::<Done>();
        let thread = std::thread::Builder::new()
            .name(String::from("flashpoint-refine"))
            .spawn(move || {
                let mut out = Vec::new();
                while let Ok(job) = job_rx.recv() {
                    let t0 = Instant::now();
                    let texts: Vec<&str> = job.texts.iter().map(String::as_str).collect();
                    model.score_batch(&texts, &mut out);
                    let done = Done {
                        id: job.id,
                        out: std::mem::take(&mut out),
                        took: t0.elapsed(),
                    };
                    if done_tx.send(done).is_err() {
                        return;
                    }
                }
            })?;
        Ok(Refiner::with_exec(
            name,
            Exec::Worker {
                jobs: Some(jobs),
                done,
                in_flight: VecDeque::new(),
                thread: Some(thread),
            },
            batch,
        ))
    }

    fn with_exec(model: String, exec: Exec, batch: usize) -> Refiner {
        Refiner {
            model,
            exec,
            batch: batch.clamp(1, MAX_PENDING),
            entries: VecDeque::new(),
            front: 0,
            building: Vec::new(),
            minute: i64::MIN,
            next_id: 0,
            stats: RefineStats::default(),
            metrics: None,
            scratch: Vec::new(),
        }
    }

    /// Counts refined and skipped mentions and batch latency in `metrics`.
    pub fn with_metrics(mut self, metrics: Option<Arc<Metrics>>) -> Refiner {
        if let Some(m) = &metrics {
            // Export the families (at zero) before the first batch.
            m.sentiment_refined_total.with_label_values(&[&self.model]);
            m.sentiment_refine_skipped_total
                .with_label_values(&[&self.model]);
        }
        self.metrics = metrics;
        self
    }

    /// The refining model's name.
    pub fn model(&self) -> &str {
        &self.model
    }

    pub fn stats(&self) -> RefineStats {
        self.stats
    }

    /// No entry is buffered: the engine may apply a mention directly.
    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Entries buffered now.
    pub fn pending(&self) -> usize {
        self.entries.len()
    }

    /// Called before an entry of event-time `minute` is pushed: a new minute sends the batch
    /// being built, so refinement never holds results back past a minute of event time for
    /// want of more hot mentions.
    pub(crate) fn enter_minute(&mut self, minute: i64) {
        if minute != self.minute && !self.building.is_empty() {
            self.send_batch();
        }
    }

    /// Buffers an entry; `hot` marks its mention for the refining model.
    pub(crate) fn push(&mut self, mut entry: Entry, hot: bool, minute: i64) {
        self.minute = minute;
        let seq = self.front + self.entries.len() as u64;
        if let Some(item) = entry.item.as_mut() {
            if hot {
                item.slot = Slot::Building;
                self.building.push(seq);
            }
        }
        self.entries.push_back(entry);
        if self.building.len() >= self.batch {
            self.send_batch();
        }
        if self.entries.len() >= MAX_PENDING {
            self.make_room();
        }
    }

    /// The oldest entry, if it is ready to be applied.
    pub(crate) fn pop_ready(&mut self) -> Option<Entry> {
        let ready = match self.entries.front()? {
            Entry { item: None, .. } => true,
            Entry { item: Some(i), .. } => i.slot == Slot::Ready,
        };
        if !ready {
            return None;
        }
        self.front += 1;
        self.entries.pop_front()
    }

    /// Collects the worker's finished batches (never waits).
    pub fn poll(&mut self) {
        let Exec::Worker {
            done, in_flight, ..
        } = &mut self.exec
        else {
            return;
        };
        let mut finished = Vec::new();
        while let Ok(d) = done.try_recv() {
            // Results of abandoned batches arrive late and are ignored.
            if let Some(pos) = in_flight.iter().position(|&id| id == d.id) {
                in_flight.remove(pos);
                finished.push(d);
            }
        }
        for d in finished {
            self.observe_batch(d.took);
            self.resolve(Slot::InFlight(d.id), Some(&d.out));
        }
    }

    /// End of input: sends the partial batch, then (worker) abandons what is still in flight,
    /// so every entry becomes ready.
    pub(crate) fn finish(&mut self) {
        self.send_batch();
        self.poll();
        let abandoned: Vec<u64> = match &mut self.exec {
            Exec::Worker { in_flight, .. } => in_flight.drain(..).collect(),
            Exec::Inline(_) => Vec::new(),
        };
        for id in abandoned {
            self.resolve(Slot::InFlight(id), None);
        }
    }

    fn send_batch(&mut self) {
        if self.building.is_empty() {
            return;
        }
        let seqs = std::mem::take(&mut self.building);
        let texts: Vec<String> = seqs
            .iter()
            .filter_map(|&s| self.item(s).map(|i| i.mention.text.clone()))
            .collect();
        let id = self.next_id;
        self.next_id += 1;
        let mut out = std::mem::take(&mut self.scratch);
        let sent = match &mut self.exec {
            Exec::Inline(model) => {
                let t0 = Instant::now();
                let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
                model.score_batch(&refs, &mut out);
                Sent::Scored(t0.elapsed())
            }
            Exec::Worker {
                jobs, in_flight, ..
            } => match jobs.as_ref().map(|tx| tx.try_send(Job { id, texts })) {
                Some(Ok(())) => {
                    in_flight.push_back(id);
                    Sent::Queued
                }
                Some(Err(mpsc::TrySendError::Full(_))) => Sent::Skipped,
                Some(Err(mpsc::TrySendError::Disconnected(_))) => {
                    tracing::error!(model = %self.model, "the refine worker stopped; mentions keep the fast score");
                    *jobs = None;
                    Sent::Skipped
                }
                None => Sent::Skipped,
            },
        };
        match sent {
            Sent::Scored(took) => {
                self.observe_batch(took);
                self.resolve_seqs(&seqs, Some(&out));
            }
            Sent::Queued => {
                for &s in &seqs {
                    if let Some(i) = self.item_mut(s) {
                        i.slot = Slot::InFlight(id);
                    }
                }
            }
            Sent::Skipped => self.resolve_seqs(&seqs, None),
        }
        self.scratch = out;
    }

    /// The buffer is full: send the partial batch, and (worker) abandon the oldest batch in
    /// flight if the front entry still waits for it.
    fn make_room(&mut self) {
        self.send_batch();
        let front = match self.entries.front() {
            Some(Entry {
                item: Some(Item { slot, .. }),
                ..
            }) => *slot,
            _ => return,
        };
        if let (Slot::InFlight(id), Exec::Worker { in_flight, .. }) = (front, &mut self.exec) {
            in_flight.retain(|&x| x != id);
            self.resolve(Slot::InFlight(id), None);
        }
    }

    /// Marks every entry in `slot` ready, with `out`'s labels (in order) or its fast label.
    fn resolve(&mut self, slot: Slot, out: Option<&[Sentiment]>) {
        let seqs: Vec<u64> = self
            .entries
            .iter()
            .enumerate()
            .filter(|(_, e)| e.item.as_ref().is_some_and(|i| i.slot == slot))
            .map(|(k, _)| self.front + k as u64)
            .collect();
        self.resolve_seqs(&seqs, out);
    }

    fn resolve_seqs(&mut self, seqs: &[u64], out: Option<&[Sentiment]>) {
        let mut refined = 0u64;
        let mut skipped = 0u64;
        for (k, &s) in seqs.iter().enumerate() {
            let Some(item) = self.item_mut(s) else {
                continue;
            };
            item.slot = Slot::Ready;
            match out.and_then(|o| o.get(k)) {
                Some(sent) => {
                    item.scored.sentiment = sent.label;
                    refined += 1;
                }
                None => skipped += 1,
            }
        }
        self.stats.refined += refined;
        self.stats.skipped += skipped;
        if let Some(m) = &self.metrics {
            m.sentiment_refined_total
                .with_label_values(&[&self.model])
                .inc_by(refined);
            m.sentiment_refine_skipped_total
                .with_label_values(&[&self.model])
                .inc_by(skipped);
        }
    }

    fn observe_batch(&mut self, took: Duration) {
        self.stats.batches += 1;
        if let Some(m) = &self.metrics {
            m.sentiment_refine_batch_seconds
                .with_label_values(&[&self.model])
                .observe(took.as_secs_f64());
        }
    }

    fn item(&self, seq: u64) -> Option<&Item> {
        let k = usize::try_from(seq.checked_sub(self.front)?).ok()?;
        self.entries.get(k)?.item.as_ref()
    }

    fn item_mut(&mut self, seq: u64) -> Option<&mut Item> {
        let k = usize::try_from(seq.checked_sub(self.front)?).ok()?;
        self.entries.get_mut(k)?.item.as_mut()
    }
}

impl Drop for Refiner {
    fn drop(&mut self) {
        if let Exec::Worker { jobs, thread, .. } = &mut self.exec {
            // Closing the queue ends the worker after its current batch; not joined, so
            // dropping the engine never waits for the model.
            drop(jobs.take());
            drop(thread.take());
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::domain::SentimentLabel;

    /// A refining model that labels everything positive and records what it was asked.
    struct Marker {
        seen: Arc<Mutex<Vec<String>>>,
    }

    impl SentimentModel for Marker {
        fn name(&self) -> &str {
            "marker"
        }
        fn score(&self, text: &str) -> Sentiment {
            if let Ok(mut s) = self.seen.lock() {
                s.push(text.to_owned());
            }
            Sentiment {
                score: 1.0,
                label: SentimentLabel::Positive,
            }
        }
    }

    /// A refining model that reports each batch it starts and waits for a permit per batch.
    struct Gated {
        started: Mutex<mpsc::Sender<usize>>,
        permits: Mutex<mpsc::Receiver<()>>,
    }

    impl SentimentModel for Gated {
        fn name(&self) -> &str {
            "gated"
        }
        fn score(&self, _: &str) -> Sentiment {
            Sentiment {
                score: 1.0,
                label: SentimentLabel::Positive,
            }
        }
        fn score_batch(&self, texts: &[&str], out: &mut Vec<Sentiment>) {
            if let Ok(tx) = self.started.lock() {
                let _reported = tx.send(texts.len()).is_ok();
            }
            if let Ok(rx) = self.permits.lock() {
                let _permitted = rx.recv().is_ok();
            }
            out.clear();
            out.extend(texts.iter().map(|t| self.score(t)));
        }
    }

    fn gated() -> (Gated, mpsc::Receiver<usize>, mpsc::Sender<()>) {
        let (started_tx, started) = mpsc::channel();
        let (permit, permits) = mpsc::channel();
        let model = Gated {
            started: Mutex::new(started_tx),
            permits: Mutex::new(permits),
        };
        (model, started, permit)
    }

    fn entry(id: usize, matched: bool) -> Entry {
        let mention = Mention {
            id: format!("m{id}"),
            text: format!("text {id}"),
            ..Mention::default()
        };
        Entry {
            max_seen: EventTime(0),
            item: matched.then(|| {
                Item::new(
                    mention,
                    vec![BrandIdx(0)],
                    0,
                    Scored {
                        sentiment: SentimentLabel::Negative,
                        category_scores: Default::default(),
                        risk: 0.0,
                        weight: 1.0,
                        duplicate: false,
                        author_key: 0,
                        simhash: 0,
                        simhash_words: 0,
                        complaint: 0.0,
                        complained: false,
                        naming: Default::default(),
                    },
                    TermList::default(),
                )
            }),
        }
    }

    /// Pops every ready entry: (mention id or "-", label).
    fn drain(r: &mut Refiner) -> Vec<(String, SentimentLabel)> {
        std::iter::from_fn(|| r.pop_ready())
            .map(|e| match e.item {
                Some(i) => (i.mention.id, i.scored.sentiment),
                None => (String::from("-"), SentimentLabel::Neutral),
            })
            .collect()
    }

    impl Refiner {
        /// Waits (bounded) for the next result of a batch still in flight and collects it
        /// (results of abandoned batches are skipped, as in `poll`).
        fn wait_one(&mut self) {
            loop {
                let Exec::Worker {
                    done, in_flight, ..
                } = &mut self.exec
                else {
                    return;
                };
                let d = done
                    .recv_timeout(Duration::from_secs(60))
                    .expect("the worker answers");
                let Some(pos) = in_flight.iter().position(|&id| id == d.id) else {
                    continue;
                };
                in_flight.remove(pos);
                self.observe_batch(d.took);
                self.resolve(Slot::InFlight(d.id), Some(&d.out));
                return;
            }
        }
    }

    #[test]
    fn inline_refines_hot_mentions_only_and_keeps_arrival_order() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let model = Marker {
            seen: Arc::clone(&seen),
        };
        let mut r = Refiner::inline(Box::new(model), 2);
        // hot, unmatched, cold, hot (batch of 2 full), cold.
        r.push(entry(0, true), true, 0);
        assert!(drain(&mut r).is_empty(), "hot mention waits for its batch");
        r.push(entry(1, false), false, 0);
        r.push(entry(2, true), false, 0);
        assert!(drain(&mut r).is_empty(), "later mentions queue behind it");
        r.push(entry(3, true), true, 0);
        let out = drain(&mut r);
        use SentimentLabel::*;
        assert_eq!(
            out,
            vec![
                ("m0".into(), Positive),
                ("-".into(), Neutral),
                ("m2".into(), Negative),
                ("m3".into(), Positive),
            ]
        );
        assert_eq!(*seen.lock().unwrap(), vec!["text 0", "text 3"]);
        // A lone hot mention is sent when event time enters a new minute, or at the end.
        r.push(entry(4, true), true, 0);
        r.enter_minute(0);
        assert!(drain(&mut r).is_empty());
        r.enter_minute(1);
        assert_eq!(drain(&mut r), vec![("m4".into(), Positive)]);
        r.push(entry(5, true), true, 1);
        r.finish();
        assert_eq!(drain(&mut r), vec![("m5".into(), Positive)]);
        assert_eq!(
            r.stats(),
            RefineStats {
                refined: 4,
                skipped: 0,
                batches: 3
            }
        );
    }

    #[test]
    fn worker_skips_when_its_queue_is_full_and_never_reorders() {
        let (model, started, permit) = gated();
        let metrics = Arc::new(Metrics::new(&[], 10));
        let mut r = Refiner::worker(Box::new(model), 1, 1)
            .unwrap()
            .with_metrics(Some(Arc::clone(&metrics)));
        r.push(entry(0, true), true, 0); // taken by the worker
        assert_eq!(started.recv().unwrap(), 1);
        r.push(entry(1, true), true, 0); // waits in the queue (capacity 1)
        r.push(entry(2, true), true, 0); // queue full: keeps the fast score
        r.push(entry(3, true), false, 0);
        assert_eq!(r.stats().skipped, 1);
        r.poll();
        assert!(
            drain(&mut r).is_empty(),
            "m0 still in flight: nothing passes it"
        );
        permit.send(()).unwrap();
        r.wait_one();
        assert_eq!(started.recv().unwrap(), 1);
        permit.send(()).unwrap();
        r.wait_one();
        use SentimentLabel::*;
        assert_eq!(
            drain(&mut r),
            vec![
                ("m0".into(), Positive),
                ("m1".into(), Positive),
                ("m2".into(), Negative),
                ("m3".into(), Negative),
            ]
        );
        assert_eq!(
            r.stats(),
            RefineStats {
                refined: 2,
                skipped: 1,
                batches: 2
            }
        );
        let text = metrics.encode_text();
        assert!(
            text.contains("flashpoint_sentiment_refine_skipped_total{model=\"gated\"} 1"),
            "{text}"
        );
        assert!(text.contains("flashpoint_sentiment_refined_total{model=\"gated\"} 2"));
        assert!(text.contains("flashpoint_sentiment_refine_batch_seconds_count{model=\"gated\"} 2"));
    }

    #[test]
    fn a_full_buffer_abandons_the_oldest_batch_in_flight() {
        let (model, started, permit) = gated();
        let mut r = Refiner::worker(Box::new(model), 1, 1).unwrap();
        r.push(entry(0, true), true, 0);
        assert_eq!(started.recv().unwrap(), 1);
        for i in 1..MAX_PENDING {
            r.push(entry(i, false), false, 0);
        }
        assert_eq!(r.stats().skipped, 1);
        let out = drain(&mut r);
        assert_eq!(out.len(), MAX_PENDING);
        assert_eq!(out[0], ("m0".into(), SentimentLabel::Negative));
        // The late result of the abandoned batch is ignored.
        permit.send(()).unwrap();
        r.push(entry(9999, true), true, 0);
        assert_eq!(started.recv().unwrap(), 1);
        permit.send(()).unwrap();
        r.wait_one();
        assert_eq!(
            drain(&mut r),
            vec![("m9999".into(), SentimentLabel::Positive)]
        );
        assert_eq!(r.stats().refined, 1);
        // At the end of input, batches in flight keep the fast score: finish never waits.
        r.push(entry(10_000, true), true, 0);
        r.finish();
        assert_eq!(
            drain(&mut r),
            vec![("m10000".into(), SentimentLabel::Negative)]
        );
        drop(permit);
    }
}
