//! Detection split by brand over engine shards, one thread each, with the alert log unchanged.
//!
//! ```text
//!  engine (front): guard, watermark, thread index, dedupe, scores ──▶ shard 0: Detector (brands 0, N, 2N…)
//!    minute clock + gap clock, sequence numbers                    ──▶ shard 1: Detector (brands 1, N+1…)
//!    ◀── per batch from every shard: events keyed (seq, phase, minute, brand), merged in key order
//! ```
//!
//! Role: the detector's per-brand work (windows, clusters, virality, baselines, every
//! minute's evaluation) runs on `N` threads while the [`super::Engine`] keeps everything that
//! spans brands. Inputs: scored mentions and the engine's watermark. Output: incident events,
//! in exactly the order one [`Detector`] would have produced them.
//!
//! Why the output is the same for any shard count: a brand's detector state depends only on
//! its own mentions and on the minutes evaluated, so each shard holds a full [`Detector`] in
//! which only its brands ever get state. The front runs the detector's two clocks itself
//! ([`step_minute_clock`], [`gap_candidate`]) and tells every shard when minutes complete, in
//! the same place of the stream. The one decision that spans brands, whether a jump of the
//! newest event time is a no-data gap, needs every brand's expectation: the front waits for the
//! shards to catch up, asks each for its brands' values, sums them in brand order as one
//! detector would ([`is_no_data_gap`]) and sends the verdict to all. Each event is keyed by the
//! input it followed (sequence number), whether it came from a minute's evaluation (which runs
//! before the mention in one detector) or from the mention, then by minute and brand (minutes
//! evaluate brands in index order) or by the brand's place in the mention's list; merging a
//! batch's events from all shards by that key restores one detector's order.
//!
//! Queues: each shard's input is bounded ([`QUEUE_BATCHES`] batches of up to
//! [`FLUSH_MESSAGES`] messages) and the front blocks when it is full (replay policy: a slow
//! shard slows the front; nothing is dropped). Results go back on an unbounded channel that
//! never holds more than the input queue's batches plus one per shard.
//!
//! Not sharded: engines that refine sentiment (the refiner asks the detector which brands are
//! hot, mention by mention) or checkpoint (the state lives on the shards' threads), and the
//! live service (one detector keeps its decision latency lowest); see `docs/scaling.md`.

use std::sync::mpsc::{self, Receiver, SyncSender, TryRecvError};
use std::sync::Arc;
use std::thread::JoinHandle;

use crate::config::Config;
use crate::detect::detector::{
    gap_candidate, is_no_data_gap, step_minute_clock, Detector, KeyTerms,
};
use crate::domain::incident::IncidentEvent;
use crate::domain::scored::Scored;
use crate::domain::{BrandIdx, Category, EventTime, Mention, Severity};
use crate::score::terms::TermList;
use crate::telemetry::Metrics;

use super::series::{publish_brand_gauges, SeriesRecorder};

/// Messages per shard batch before the front sends it.
pub const FLUSH_MESSAGES: usize = 512;

/// Batches waiting in each shard's input queue before the front blocks.
pub const QUEUE_BATCHES: usize = 4;

/// One mention for a shard: the brands of it that the shard owns.
struct MentionMsg {
    seq: u64,
    mention: Arc<Mention>,
    /// (brand, its place in the mention's brand list).
    brands: Vec<(BrandIdx, u32)>,
    root: u64,
    scored: Scored,
    terms: Arc<TermList>,
}

enum Msg {
    /// Minutes completed before the watermark's minute (also starts the clock).
    Advance {
        seq: u64,
        watermark: EventTime,
    },
    /// A no-data gap decided over every brand.
    Gap {
        g0: i64,
        g1: i64,
    },
    Mention(Box<MentionMsg>),
    /// Reply with every brand's expected mentions per minute at this time.
    Expected {
        at: EventTime,
    },
}

/// Orders events as one detector would: (input sequence, 0 = minute evaluation before the
/// input / 1 = the input's own mention, minute or 0, brand index or place in the list).
type Key = (u64, u8, i64, u32);

/// A shard's answer to one batch.
#[derive(Default)]
struct Out {
    events: Vec<(Key, IncidentEvent)>,
    expected: Vec<(BrandIdx, f64)>,
    /// Open incidents after the batch, when a minute was evaluated in it (for the gauge).
    open: Option<Vec<(BrandIdx, Category, Severity)>>,
}

/// What a shard hands back when its input ends.
struct End {
    series: Option<SeriesRecorder>,
}

/// The front's handle on the shard threads.
pub struct Shards {
    owner: Vec<u16>,
    inputs: Vec<SyncSender<Vec<Msg>>>,
    outputs: Vec<Receiver<Out>>,
    handles: Vec<JoinHandle<End>>,
    pending: Vec<Vec<Msg>>,
    pending_len: usize,
    /// Batches sent whose results have not all come back, and those that have, per shard.
    in_flight: usize,
    partial: Vec<Option<Out>>,
    ready: Vec<IncidentEvent>,
    /// Answers to an [`Msg::Expected`] query, until [`Shards::expected_by_brand`] takes them.
    expected: Vec<(BrandIdx, f64)>,
    open: Option<Vec<(BrandIdx, Category, Severity)>>,
    seq: u64,
    evaluated_through: Option<i64>,
    newest_minute: Option<i64>,
}

impl Shards {
    /// Starts `n` (at least two) shard threads for `cfg`'s brands; each keeps series samples
    /// every `series_step` minutes when given, and publishes its brands' gauges to `metrics`.
    pub fn start(
        cfg: &Arc<Config>,
        n: usize,
        key_terms: Arc<dyn KeyTerms>,
        series_step: Option<i64>,
        metrics: Option<Arc<Metrics>>,
    ) -> std::io::Result<Shards> {
        let n = n.clamp(2, usize::from(u16::MAX));
        let owner = (0..cfg.brands.len()).map(|i| (i % n) as u16).collect();
        let mut inputs = Vec::with_capacity(n);
        let mut outputs = Vec::with_capacity(n);
        let mut handles = Vec::with_capacity(n);
        for i in 0..n {
            let (in_tx, in_rx) = mpsc::sync_channel::<Vec<Msg>>(QUEUE_BATCHES);
            let (out_tx, out_rx) = mpsc::channel::<Out>();
            let mut shard = Shard {
                cfg: Arc::clone(cfg),
                detector: Detector::new(Arc::clone(cfg), Arc::clone(&key_terms)),
                series: series_step.map(SeriesRecorder::new),
                metrics: metrics.clone(),
            };
            let handle = std::thread::Builder::new()
                .name(format!("flashpoint-shard-{i}"))
                .spawn(move || {
                    while let Ok(batch) = in_rx.recv() {
                        if out_tx.send(shard.run(batch)).is_err() {
                            break;
                        }
                    }
                    End {
                        series: shard.series,
                    }
                })?;
            inputs.push(in_tx);
            outputs.push(out_rx);
            handles.push(handle);
        }
        Ok(Shards {
            owner,
            inputs,
            outputs,
            handles,
            pending: (0..n).map(|_| Vec::new()).collect(),
            pending_len: 0,
            in_flight: 0,
            partial: (0..n).map(|_| None).collect(),
            ready: Vec::new(),
            expected: Vec::new(),
            open: None,
            seq: 0,
            evaluated_through: None,
            newest_minute: None,
        })
    }

    pub fn count(&self) -> usize {
        self.inputs.len()
    }

    /// [`Detector::advance`] over every shard: the same gap decision and the same minutes.
    /// Returns the last completed minute when minutes completed.
    pub fn advance(&mut self, watermark: EventTime, newest: EventTime) -> Option<i64> {
        if let Some((g0, g1)) = gap_candidate(&mut self.newest_minute, newest.minute_index()) {
            let at = EventTime(g0 * EventTime::MINUTE_MS);
            if is_no_data_gap(self.expected_by_brand(at), g0, g1) {
                self.broadcast(|| Msg::Gap { g0, g1 });
            }
        }
        let before = self.evaluated_through;
        let completed = step_minute_clock(&mut self.evaluated_through, watermark);
        if self.evaluated_through != before {
            self.seq += 1;
            let seq = self.seq;
            self.broadcast(|| Msg::Advance { seq, watermark });
        }
        completed
    }

    /// [`Detector::on_mention`]: each shard gets the brands it owns.
    pub fn on_mention(
        &mut self,
        m: &Mention,
        brands: &[BrandIdx],
        root: u64,
        scored: &Scored,
        terms: &TermList,
    ) {
        self.seq += 1;
        let mention = Arc::new(m.clone());
        let terms = Arc::new(terms.clone());
        let n = self.inputs.len();
        for shard in 0..n {
            let mine: Vec<(BrandIdx, u32)> = brands
                .iter()
                .enumerate()
                .filter(|(_, b)| usize::from(self.owner[b.index()]) == shard)
                .map(|(i, &b)| (b, i as u32))
                .collect();
            if mine.is_empty() {
                continue;
            }
            self.pending[shard].push(Msg::Mention(Box::new(MentionMsg {
                seq: self.seq,
                mention: Arc::clone(&mention),
                brands: mine,
                root,
                scored: scored.clone(),
                terms: Arc::clone(&terms),
            })));
        }
        self.pending_len += 1;
        if self.pending_len >= FLUSH_MESSAGES {
            self.flush();
        }
    }

    /// Events of every batch whose results all came back, in one detector's order; never
    /// waits.
    pub fn drain_events(&mut self) -> Vec<IncidentEvent> {
        while self.collect(false) {}
        std::mem::take(&mut self.ready)
    }

    /// Open incidents as of the last batch that evaluated a minute (for the gauge); taken.
    pub fn take_open_incidents(&mut self) -> Option<Vec<(BrandIdx, Category, Severity)>> {
        self.open.take()
    }

    /// Sends what is pending and waits for every result: afterwards [`Shards::drain_events`]
    /// returns everything decided so far.
    pub fn sync(&mut self) {
        self.flush();
        while self.in_flight > 0 {
            self.collect(true);
        }
    }

    /// Ends the shards: waits for everything (left for [`Shards::drain_events`]), joins the
    /// threads and returns their series samples (with a series step). Nothing may be sent
    /// afterwards.
    pub fn finish(&mut self) -> Vec<SeriesRecorder> {
        self.sync();
        self.inputs.clear();
        let mut series = Vec::new();
        for h in std::mem::take(&mut self.handles) {
            match h.join() {
                Ok(end) => series.extend(end.series),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        series
    }

    /// [`Detector::expected_per_min_by_brand`] over every shard, in brand order. Waits for the
    /// shards to catch up first (the query is the last message of their last batch).
    pub(crate) fn expected_by_brand(&mut self, at: EventTime) -> Vec<(BrandIdx, f64)> {
        self.broadcast(|| Msg::Expected { at });
        self.sync();
        let mut by_brand = std::mem::take(&mut self.expected);
        by_brand.sort_by_key(|(b, _)| *b);
        by_brand
    }

    fn broadcast(&mut self, msg: impl Fn() -> Msg) {
        for p in &mut self.pending {
            p.push(msg());
        }
        self.pending_len += 1;
        if self.pending_len >= FLUSH_MESSAGES {
            self.flush();
        }
    }

    /// Sends every shard its pending batch (possibly empty: every shard answers every batch,
    /// so the merge can take them in step).
    fn flush(&mut self) {
        if self.pending_len == 0 {
            return;
        }
        self.pending_len = 0;
        for shard in 0..self.inputs.len() {
            let batch = std::mem::take(&mut self.pending[shard]);
            if self.inputs[shard].send(batch).is_err() {
                self.died(shard);
            }
        }
        self.in_flight += 1;
    }

    /// Takes the results of the oldest batch in flight when every shard's has come back
    /// (waiting for them with `wait`); `false` when there was none to take.
    fn collect(&mut self, wait: bool) -> bool {
        if self.in_flight == 0 {
            return false;
        }
        for shard in 0..self.outputs.len() {
            if self.partial[shard].is_none() {
                match self.recv(shard, wait) {
                    Some(out) => self.partial[shard] = Some(out),
                    None => return false,
                }
            }
        }
        self.merge();
        true
    }

    /// Merges the complete results of the oldest batch into `ready` (and `expected`).
    fn merge(&mut self) {
        let mut events = Vec::new();
        let mut open: Option<Vec<_>> = None;
        for p in &mut self.partial {
            let Some(out) = p.take() else { continue };
            events.extend(out.events);
            self.expected.extend(out.expected);
            if let Some(o) = out.open {
                open.get_or_insert_with(Vec::new).extend(o);
            }
        }
        // Stable: events of one brand at one key keep their shard's order.
        events.sort_by_key(|(k, _)| *k);
        self.ready.extend(events.into_iter().map(|(_, e)| e));
        if let Some(mut o) = open {
            o.sort_by_key(|(b, _, _)| *b);
            self.open = Some(o);
        }
        self.in_flight -= 1;
    }

    fn recv(&mut self, shard: usize, wait: bool) -> Option<Out> {
        let r = if wait {
            self.outputs[shard]
                .recv()
                .map_err(|_| TryRecvError::Disconnected)
        } else {
            self.outputs[shard].try_recv()
        };
        match r {
            Ok(out) => Some(out),
            Err(TryRecvError::Empty) => None,
            Err(TryRecvError::Disconnected) => self.died(shard),
        }
    }

    /// A shard thread ended early: only a panic does that; it is raised here, where one
    /// detector's panic would have been.
    fn died(&mut self, shard: usize) -> ! {
        self.inputs.clear();
        if shard < self.handles.len() {
            if let Err(panic) = self.handles.remove(shard).join() {
                std::panic::resume_unwind(panic);
            }
        }
        panic!("engine shard {shard} stopped (used after `finish`?)");
    }
}

impl Drop for Shards {
    fn drop(&mut self) {
        // Closing the inputs ends the threads; a panic of theirs is not raised twice.
        self.inputs.clear();
        for h in self.handles.drain(..) {
            if h.join().is_err() {
                tracing::error!("an engine shard panicked");
            }
        }
    }
}

/// One shard: a detector holding some of the brands.
struct Shard {
    cfg: Arc<Config>,
    detector: Detector,
    series: Option<SeriesRecorder>,
    metrics: Option<Arc<Metrics>>,
}

impl Shard {
    fn run(&mut self, batch: Vec<Msg>) -> Out {
        let mut out = Out::default();
        let mut evaluated = false;
        for msg in batch {
            match msg {
                Msg::Advance { seq, watermark } => {
                    let Some((minutes, completed)) = self.detector.minutes_until(watermark) else {
                        continue;
                    };
                    for minute in minutes {
                        self.detector.evaluate_minute(minute);
                        out.events.extend(
                            self.detector
                                .drain_events()
                                .map(|e| ((seq, 0, minute, e.brand.0), e)),
                        );
                    }
                    if let Some(m) = &self.metrics {
                        publish_brand_gauges(m, &self.cfg, &mut self.detector, completed);
                    }
                    if let Some(s) = self.series.as_mut() {
                        s.sample(&mut self.detector, completed);
                    }
                    evaluated = true;
                }
                Msg::Gap { g0, g1 } => self.detector.open_gap(g0, g1),
                Msg::Mention(m) => {
                    for &(b, place) in &m.brands {
                        self.detector
                            .on_mention(&m.mention, &[b], m.root, &m.scored, &m.terms);
                        out.events.extend(
                            self.detector
                                .drain_events()
                                .map(|e| ((m.seq, 1, 0, place), e)),
                        );
                    }
                }
                Msg::Expected { at } => {
                    out.expected
                        .extend(self.detector.expected_per_min_by_brand(at));
                }
            }
        }
        if evaluated && self.metrics.is_some() {
            out.open = Some(self.detector.open_incidents());
        }
        out
    }
}
