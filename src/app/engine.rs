//! The synchronous pipeline core: watermark → brand attribution → scoring → detection.
//!
//! Input: mentions in arrival order. Output: alert records (drained by the caller) and metric
//! updates. The engine has no clock and no IO: the same mentions in the same order always give
//! the same alerts, which is what makes replays byte-identical at any speed. With a refining
//! model ([`Engine::refine_with`]) mentions of brands with a candidate incident wait in a
//! bounded reorder buffer for a second sentiment opinion; see [`super::refine`].

use std::sync::Arc;

use rustc_hash::FxHasher;

use super::prepare::{Preparation, Preparer, TextFeatures, TextScorer};
use super::recent_ids::RecentIds;
use super::refine::{Entry, Item, Refiner};
pub use super::series::BrandPoint;
use super::series::{publish_brand_gauges, SeriesRecorder};
use crate::brand::naming::Needles;
use crate::brand::{Attribution, Attributor};
use crate::config::Config;
use crate::detect::detector::Detector;
use crate::domain::scored::{Naming, Scored};
use crate::domain::{BrandIdx, EventTime, Mention};
use crate::replay::watermark::{Admit, Offered, OutlierGuard, Watermark};
use crate::score::classify::Classifier;
use crate::score::sentiment::SentimentModel;
use crate::score::simhash::simhash_counted;
use crate::score::terms::{key_terms, Ignore, TermList};
use crate::score::trust::bot_weight;
use crate::telemetry::Metrics;

/// Counts of what happened to the mentions the engine saw.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct EngineStats {
    pub received: u64,
    pub late: u64,
    pub too_late: u64,
    pub matched: u64,
    pub unmatched: u64,
    /// Matched mentions dropped because the same `(source, id)` was taken in already.
    pub duplicates: u64,
    /// Mentions the replay guard dropped as event-time outliers
    /// ([`crate::replay::watermark`]).
    #[serde(default)]
    pub outliers: u64,
    pub alerts: u64,
}

/// Counts of what happened to the aggregate rows the engine saw ([`Engine::ingest_aggregate`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AggregateStats {
    pub rows: u64,
    /// Rows whose brand is not configured (skipped).
    pub unknown_brand: u64,
    /// Rows whose newest minute is beyond the allowed lateness (skipped).
    pub too_late: u64,
    /// Synthetic mentions fed to the detector.
    pub mentions: u64,
}

/// Why [`Engine::ingest_aggregate`] skipped a row; `reason` is a stable metric label.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AggregateSkip {
    #[error("unknown_brand: brand {0:?} is not configured")]
    UnknownBrand(String),
    #[error("too_late: the window ending {0} is beyond the allowed lateness")]
    TooLate(String),
}

impl AggregateSkip {
    pub fn reason(&self) -> &'static str {
        match self {
            AggregateSkip::UnknownBrand(_) => "unknown_brand",
            AggregateSkip::TooLate(_) => "too_late",
        }
    }
}

/// The checkpoint format's first field and version.
const CHECKPOINT_MAGIC: &str = "flashpoint-checkpoint";
/// 4: each complaint stream keeps two CUSUMs (issue 16, fourth round), and the engine the ids
/// it took in ([`RecentIds`]); 5: each brand's threads; 6: how each brand was named over the
/// last 15 minutes (`detect::detector::NamingWindow`) and a third CUSUM per complaint stream;
/// 7: each complaint stream's evidence of the minutes not evaluated yet, kept apart; 9:
/// whether each thread's root post praises (`detect::threads::Thread::praised`).
const CHECKPOINT_VERSION: u32 = 9;

/// Why a checkpoint could not be written or read back.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    #[error("checkpoint encoding failed: {0}")]
    Encode(String),
    #[error("not a flashpoint checkpoint, or a corrupt one: {0}")]
    Decode(String),
    #[error("checkpoint version {found} is not supported (this build reads {CHECKPOINT_VERSION})")]
    Version { found: u32 },
    #[error("the checkpoint was taken with other brands ({0}); start without it")]
    Brands(String),
}

/// Most bytes a checkpoint's state may inflate to (1 GiB, far above the state of any
/// configuration that fits in memory to be checkpointed). A zstd frame says nothing true about
/// its output: a 100 KB file can inflate to gigabytes and end the process on allocation, so
/// restoring stops reading there and refuses the file, sealed or not (its checksum only shows
/// it was written whole, not by us).
const MAX_CHECKPOINT_STATE: u64 = 1 << 30;

/// The state in the zstd frames `bytes`, refused once it inflates past `limit` bytes (read
/// no further).
fn inflate_state(bytes: &[u8], limit: u64) -> Result<Vec<u8>, CheckpointError> {
    use std::io::Read;
    let decode = |e: std::io::Error| CheckpointError::Decode(e.to_string());
    let mut decoder = zstd::stream::read::Decoder::new(bytes).map_err(decode)?;
    let mut raw = Vec::new();
    (&mut decoder)
        .take(limit)
        .read_to_end(&mut raw)
        .map_err(decode)?;
    // One byte more than the limit: the state is larger than any this build writes.
    if decoder.read(&mut [0u8; 1]).map_err(decode)? != 0 {
        return Err(CheckpointError::Decode(format!(
            "its state inflates past {limit} bytes (a compression bomb or not a checkpoint)"
        )));
    }
    Ok(raw)
}

#[derive(serde::Serialize)]
struct CheckpointRef<'a> {
    magic: &'static str,
    version: u32,
    brands: Vec<&'a str>,
    watermark: &'a Watermark,
    index: &'a crate::brand::ThreadIndex,
    stats: &'a EngineStats,
    recent: &'a RecentIds,
    detector: crate::detect::detector::DetectorStateRef<'a>,
}

#[derive(serde::Deserialize)]
struct CheckpointHead {
    magic: String,
    version: u32,
}

#[derive(serde::Deserialize)]
struct Checkpoint {
    magic: String,
    version: u32,
    brands: Vec<String>,
    watermark: Watermark,
    index: crate::brand::ThreadIndex,
    stats: EngineStats,
    recent: RecentIds,
    detector: crate::detect::detector::DetectorState,
}

/// The per-mention pipeline, owned by one task.
pub struct Engine {
    cfg: Arc<Config>,
    watermark: Watermark,
    attributor: Attributor,
    /// Sentiment, classifier, complaint model and key terms (shared with [`Preparer`]s).
    scorer: TextScorer,
    detector: Detector,
    attribution: Attribution,
    terms: TermList,
    metrics: Option<Arc<Metrics>>,
    stats: EngineStats,
    /// Matched mentions taken in within the allowed lateness (duplicates are dropped).
    recent: RecentIds,
    series: Option<SeriesRecorder>,
    /// Counts, authors and hashtags per brand for the analyst report (with `series`).
    tally: Option<super::tally::Tally>,
    /// Per-brand minute attribution of aggregate rows (not checkpointed: after a restart the
    /// first row of each brand is spread over its window, see `ingest::aggregates`).
    reconciler: crate::ingest::aggregates::Reconciler,
    aggregate_stats: AggregateStats,
    /// Second-opinion sentiment for candidate incidents (off unless configured).
    refiner: Option<Refiner>,
    /// Event-time outlier guard in front of the watermark (replays; off unless enabled).
    guard: Option<OutlierGuard>,
    /// The live service's wall clock at the batch being processed ([`Engine::set_live_now`]):
    /// the watermark moves no further. `None` in replays, which have no clock.
    live_now: Option<EventTime>,
    /// The newest event time a mention brought (capped by `live_now`), apart from the watermark,
    /// which [`Engine::advance_idle`] also moves: the no-data-gap check reads this one.
    data_max: EventTime,
    /// Detection split by brand over threads ([`Engine::shard`]); `detector` is unused then.
    shards: Option<Box<super::shard::Shards>>,
    /// Each mentioned brand's names prepared for [`crate::brand::naming`], by brand index.
    needles: Vec<Option<Box<Needles>>>,
}

/// Key terms of an evidence post for the detector, the brand's own words ignored.
struct BrandKeyTerms(Arc<Config>);

impl crate::detect::detector::KeyTerms for BrandKeyTerms {
    fn key_terms(&self, b: BrandIdx, text: &str) -> Vec<String> {
        let brand = self.0.brand(b);
        let ignore = Ignore::new(
            brand
                .terms
                .iter()
                .chain(&brand.handles)
                .chain(&brand.hashtags),
        );
        key_terms(text, &ignore).map(|t| t.into_owned()).collect()
    }
}

impl Engine {
    pub fn new(
        cfg: Arc<Config>,
        sentiment: Box<dyn SentimentModel>,
        classifier: Box<dyn Classifier>,
        metrics: Option<Arc<Metrics>>,
    ) -> Result<Engine, crate::brand::MatcherError> {
        let p = &cfg.pipeline;
        if let Err(e) = crate::score::sentiment::complaint::ComplaintModel::embedded() {
            // Mentions then carry complaint 0: polarity and categories still work.
            tracing::warn!("complaint model disabled: {e}");
        }
        let attributor = Attributor::new(
            &cfg.brands,
            p.parent_retention.as_millis_i64(),
            p.parent_capacity,
        )?;
        let ignore = Ignore::new(
            cfg.brands
                .iter()
                .flat_map(|b| b.terms.iter().chain(&b.handles).chain(&b.hashtags)),
        );
        // `complaint_threshold = 1` switches the model off (and its cost with it).
        let grievance = grievance_model(&p.grievance_sentiment_model, sentiment.name());
        let scorer = TextScorer::new(
            Arc::from(sentiment),
            Arc::from(classifier),
            Arc::new(ignore),
            cfg.detect.complaint_threshold < 1.0,
        )
        .with_grievance_model(grievance);
        Ok(Engine {
            watermark: Watermark::new(p.allowed_lateness.as_millis_i64()),
            attributor,
            scorer,
            detector: Detector::new(Arc::clone(&cfg), Arc::new(BrandKeyTerms(Arc::clone(&cfg)))),
            attribution: Attribution::default(),
            terms: TermList::default(),
            metrics,
            stats: EngineStats::default(),
            recent: RecentIds::default(),
            series: None,
            tally: None,
            reconciler: Default::default(),
            aggregate_stats: AggregateStats::default(),
            refiner: None,
            guard: None,
            live_now: None,
            data_max: EventTime::MIN,
            shards: None,
            needles: vec![None; cfg.brands.len()],
            cfg,
        })
    }

    /// Puts the replay guard in front of the watermark: event-time outliers (a record dated
    /// 9999-12-31, year 1 at the start, a run of records from a broken clock) are dropped instead of moving it, by the rule
    /// in [`crate::replay::watermark`] (`[pipeline] max_future_skew`, `max_event_age`). For
    /// replays, whose input has no wall clock to be checked against; live sources bound event
    /// time on the way in instead. Call [`Engine::finish`] at the end of the input.
    pub fn guard_event_times(&mut self) {
        let p = &self.cfg.pipeline;
        self.guard = Some(OutlierGuard::new(
            p.max_future_skew.as_millis_i64(),
            p.max_event_age.as_millis_i64(),
            p.allowed_lateness.as_millis_i64(),
        ));
    }

    /// Runs one mention through the pipeline.
    pub fn process(&mut self, m: &Mention) {
        self.process_with(m, None);
    }

    /// What [`Engine::process_prepared`] needs computed ahead of it, on any thread: brand
    /// matching and text features with this engine's matcher and models.
    pub fn preparer(&self) -> Preparer {
        Preparer::new(self.attributor.shared_matcher(), self.scorer.clone())
    }

    /// Like [`Engine::process`] for a mention that a [`Engine::preparer`] of this engine
    /// already matched and scored; the result is the same, bit for bit.
    pub fn process_prepared(&mut self, m: &Mention, prep: Preparation) {
        self.process_with(m, Some(prep));
    }

    fn process_with(&mut self, m: &Mention, prep: Option<Preparation>) {
        let Some(guard) = self.guard.as_mut() else {
            self.process_unguarded(m, prep);
            return;
        };
        let offered = guard.offer(m, self.watermark.started());
        let pass = offered.pass;
        self.apply_offered(offered);
        if pass {
            self.process_unguarded(m, prep);
        }
    }

    /// Counts the guard's outliers and processes the mentions it released.
    fn apply_offered(&mut self, offered: Offered) {
        self.stats.outliers += offered.dropped.len() as u64;
        for (m, why) in &offered.dropped {
            if let Some(metrics) = &self.metrics {
                metrics
                    .ingest_dropped_total
                    .with_label_values(&[metrics.source_label(&m.source), why.reason()])
                    .inc();
            }
            // Debug, not Display: a hostile id's line breaks and quotes stay escaped in text logs.
            tracing::debug!(id = ?m.id, created_at = %m.created_at, reason = why.reason(), "event-time outlier dropped");
        }
        // Released mentions lost their preparation: scored here (same functions).
        for m in &offered.release {
            self.process_unguarded(m, None);
        }
    }

    fn process_unguarded(&mut self, m: &Mention, prep: Option<Preparation>) {
        if !self.admit(m) {
            return;
        }
        if self.refiner.is_some() {
            self.process_refining(m, prep);
            return;
        }
        self.evaluate_to(self.watermark.max_seen());
        let features = self.attribute(m, prep);
        if let Some(scored) = self.score_attributed(m, features) {
            self.apply_current(m, &scored);
        }
    }

    /// Like [`Engine::process`] for a mention whose brands and thread root were already
    /// attributed upstream (a detect worker of the partitioned topology: the ingest node holds
    /// the thread index). `brands` must be ascending and deduplicated. Never refines.
    pub fn process_attributed(&mut self, m: &Mention, brands: &[BrandIdx], root: u64) {
        if !self.admit(m) {
            return;
        }
        self.evaluate_to(self.watermark.max_seen());
        self.attribution.brands.clear();
        self.attribution.brands.extend_from_slice(brands);
        self.attribution.via_thread = false;
        self.attribution.root = root;
        if let Some(scored) = self.score_attributed(m, None) {
            self.apply_current(m, &scored);
        }
    }

    /// Raises the watermark to `max_seen` without a mention (an upstream node saw mentions
    /// this engine does not get), evaluating the minutes that completed. Times at or below the
    /// current watermark change nothing.
    pub fn advance_to(&mut self, max_seen: EventTime) {
        if max_seen <= self.watermark.max_seen() {
            return;
        }
        self.watermark.observe(max_seen);
        let max_seen = self.watermark.max_seen();
        match self.refiner.as_mut() {
            // Mentions still wait for the refining model: the minutes close behind them.
            Some(r) if !r.is_empty() => {
                let minute = max_seen.minute_index();
                r.enter_minute(minute);
                r.push(
                    Entry {
                        max_seen,
                        item: None,
                    },
                    false,
                    minute,
                );
                self.apply_ready();
            }
            _ => self.evaluate_to(max_seen),
        }
    }

    /// Moves event time to `t` while a live stream is idle (`app::idle_clock`): the watermark
    /// follows, and the minutes that completed are decided, but the no-data-gap check keeps the
    /// newest event time a mention brought, so a source that went silent is still told apart
    /// from quiet when its data comes back (the minutes decided meanwhile, at most the idle
    /// cap less the lateness, are read as quiet). Nothing happens while mentions wait for the
    /// refining model: their entries close the minutes behind them.
    pub fn advance_idle(&mut self, t: EventTime) {
        if t <= self.watermark.max_seen() || self.refiner.as_ref().is_some_and(|r| !r.is_empty()) {
            return;
        }
        self.watermark.observe(t);
        let lateness = self.cfg.pipeline.allowed_lateness.as_millis_i64();
        let max_seen = self.watermark.max_seen();
        self.evaluate_through(max_seen.plus_ms(-lateness), self.data_max);
    }

    /// The newest event time a mention brought, which [`Engine::advance_idle`] does not move.
    pub fn data_max(&self) -> EventTime {
        self.data_max
    }

    /// The live service's wall clock now: mentions dated later (within the sources'
    /// `max_future_skew`) are processed, but move the watermark no further than `now`
    /// ([`Watermark::observe_until`]). The live loop sets it before each batch; the engine
    /// itself keeps no clock.
    pub fn set_live_now(&mut self, now: EventTime) {
        self.live_now = Some(now);
    }

    /// The newest event time seen (not minus the allowed lateness).
    pub fn max_seen(&self) -> EventTime {
        self.watermark.max_seen()
    }

    /// Counts `m` in `flashpoint_ingest_dropped_total{source, reason}`.
    fn count_dropped(&self, m: &Mention, reason: &str) {
        if let Some(metrics) = &self.metrics {
            metrics
                .ingest_dropped_total
                .with_label_values(&[metrics.source_label(&m.source), reason])
                .inc();
        }
    }

    /// Watermark admission and minute evaluation; `false` when the mention is too late.
    fn admit(&mut self, m: &Mention) -> bool {
        self.stats.received += 1;
        let admit = match self.live_now {
            Some(now) => self.watermark.observe_until(m.created_at, now),
            None => self.watermark.observe(m.created_at),
        };
        match admit {
            Admit::TooLate => {
                self.stats.too_late += 1;
                self.count_dropped(m, "too_late");
                return false;
            }
            Admit::Late => self.stats.late += 1,
            Admit::OnTime => {}
        }
        let at = self
            .live_now
            .map_or(m.created_at, |now| m.created_at.min(now));
        self.data_max = self.data_max.max(at);
        true
    }

    /// Re-scores mentions of brands with a candidate incident with `refiner`'s model (see
    /// [`super::refine`]); other mentions keep the engine's sentiment model. Only for
    /// [`Engine::process`]: the partitioned topology's [`Engine::process_attributed`] does not
    /// refine.
    pub fn refine_with(&mut self, refiner: Refiner) {
        self.refiner = Some(refiner);
    }

    /// What the refining model did so far (`None` without one).
    pub fn refine_stats(&self) -> Option<super::refine::RefineStats> {
        self.refiner.as_ref().map(Refiner::stats)
    }

    /// Applies mentions whose refined scores arrived meanwhile (live service: call it on a
    /// timer so alerts do not wait for the next mention). Never waits.
    pub fn poll_refined(&mut self) {
        if let Some(r) = self.refiner.as_mut() {
            r.poll();
        }
        self.apply_ready();
    }

    /// End of input: mentions held by the event-time guard are judged (a jump nobody confirmed
    /// is dropped), every mention still waiting for the refining model is applied (inline:
    /// scored first; worker: batches still in flight keep the fast score), and the minutes the
    /// allowed lateness still held back are decided. Call it before the last
    /// [`Engine::drain_alerts`].
    pub fn finish(&mut self) {
        self.finish_input(true);
    }

    /// [`Engine::finish`] for a stop whose state goes to a checkpoint that a later run goes on
    /// from: the minutes the allowed lateness still holds back stay undecided, as they would
    /// have without the stop, and the next run decides them once its watermark passes them,
    /// with the late mentions it receives. Deciding them here would judge them on fewer
    /// mentions than an uninterrupted run does (an incident's "people in all" counted short)
    /// and write that line to the alert log for good.
    pub fn finish_for_checkpoint(&mut self) {
        self.finish_input(false);
    }

    fn finish_input(&mut self, decide_held_minutes: bool) {
        let started = self.watermark.started();
        if let Some(offered) = self.guard.as_mut().map(|g| g.finish(started)) {
            self.apply_offered(offered);
        }
        if let Some(r) = self.refiner.as_mut() {
            r.finish();
        }
        self.apply_ready();
        // The input has ended: no late mention can arrive, so the minutes the allowed
        // lateness held back are decided now.
        let max_seen = self.watermark.max_seen();
        if decide_held_minutes && max_seen > EventTime::MIN {
            self.evaluate_through(max_seen, max_seen);
        }
        if let Some(shards) = self.shards.as_mut() {
            for rec in shards.finish() {
                if let Some(mine) = self.series.as_mut() {
                    mine.absorb(rec);
                }
            }
        }
    }

    /// Splits detection by brand over `n` threads ([`super::shard`]); the alert lines, their
    /// order and the report's series are the same as with one. Call it on a new engine, after
    /// [`Engine::record_series`] and before the first mention; `n ≤ 1` changes nothing. An
    /// engine that refines sentiment is not sharded (it asks the detector which brands are hot,
    /// mention by mention), and a sharded engine cannot be checkpointed. After
    /// [`Engine::finish`] a sharded engine takes no more mentions. Returns the shard count.
    pub fn shard(&mut self, n: usize) -> std::io::Result<usize> {
        if n <= 1 || self.refiner.is_some() || self.shards.is_some() {
            return Ok(self.shards.as_ref().map_or(1, |s| s.count()));
        }
        let shards = super::shard::Shards::start(
            &self.cfg,
            n,
            Arc::new(BrandKeyTerms(Arc::clone(&self.cfg))),
            self.series.as_ref().map(SeriesRecorder::step),
            self.metrics.clone(),
        )?;
        let count = shards.count();
        self.shards = Some(Box::new(shards));
        Ok(count)
    }

    fn process_refining(&mut self, m: &Mention, prep: Option<Preparation>) {
        let max_seen = self.watermark.max_seen();
        let minute = max_seen.minute_index();
        if let Some(r) = self.refiner.as_mut() {
            r.enter_minute(minute);
        }
        self.apply_ready();
        let idle = self.refiner.as_ref().is_none_or(Refiner::is_empty);
        if idle {
            self.evaluate_to(max_seen);
        }
        let features = self.attribute(m, prep);
        let item = match self.score_attributed(m, features) {
            None if idle => return,
            None => None,
            Some(scored) => {
                let hot = self
                    .attribution
                    .brands
                    .iter()
                    .any(|&b| self.detector.is_hot(b));
                if idle && !hot {
                    self.apply_current(m, &scored);
                    return;
                }
                Some((
                    Item::new(
                        m.clone(),
                        self.attribution.brands.clone(),
                        self.attribution.root,
                        scored,
                        self.terms.clone(),
                    ),
                    hot,
                ))
            }
        };
        let hot = item.as_ref().is_some_and(|(_, h)| *h);
        let entry = Entry {
            max_seen,
            item: item.map(|(i, _)| i),
        };
        if let Some(r) = self.refiner.as_mut() {
            r.push(entry, hot, minute);
        }
        self.apply_ready();
    }

    /// Applies buffered entries from the front while they are ready, in arrival order.
    fn apply_ready(&mut self) {
        loop {
            let Some(entry) = self.refiner.as_mut().and_then(Refiner::pop_ready) else {
                return;
            };
            self.evaluate_to(entry.max_seen);
            if let Some(i) = entry.item {
                self.apply(&i.mention, &i.brands, i.root, &i.scored, &i.terms);
            }
        }
    }

    /// Evaluates the minutes completed before the watermark of `max_seen` (minus the allowed
    /// lateness, so mentions reordered within it cannot change a decision); a no-op within a
    /// minute.
    fn evaluate_to(&mut self, max_seen: EventTime) {
        let lateness = self.cfg.pipeline.allowed_lateness.as_millis_i64();
        self.evaluate_through(max_seen.plus_ms(-lateness), max_seen);
    }

    fn evaluate_through(&mut self, watermark: EventTime, max_seen: EventTime) {
        let completed = match self.shards.as_mut() {
            Some(s) => s.advance(watermark, max_seen),
            None => self.detector.advance(watermark, max_seen),
        };
        if let Some(minute) = completed {
            self.attributor.evict(self.watermark.current());
            self.publish_minute(minute);
            self.sample_series(minute);
        }
    }

    /// Attributes `m` into `self.attribution` (text matches from `prep` when prepared) and
    /// returns the prepared text features, if any.
    fn attribute(&mut self, m: &Mention, prep: Option<Preparation>) -> Option<TextFeatures> {
        match prep {
            Some(p) => {
                self.attributor
                    .attribute_matched(m, &p.text_brands, &mut self.attribution);
                p.features
            }
            None => {
                self.attributor.attribute(m, &mut self.attribution);
                None
            }
        }
    }

    /// Scores the mention attributed in `self.attribution` when it matched a brand, with the
    /// fast model and classifier (or takes `features` computed ahead by a [`Preparer`]), and
    /// collects its key terms (into `self.terms`).
    fn score_attributed(&mut self, m: &Mention, features: Option<TextFeatures>) -> Option<Scored> {
        if self.attribution.brands.is_empty() {
            self.stats.unmatched += 1;
            return None;
        }
        // The same mention twice (a retried push, a reconnect's overlap, a restart re-reading
        // what the checkpoint already holds) is counted once.
        if !self.recent.first_time(m, self.watermark.current()) {
            self.stats.duplicates += 1;
            self.count_dropped(m, "duplicate");
            return None;
        }
        self.stats.matched += 1;
        let f = match features {
            Some(f) => f,
            None => self.scorer.score(&m.text),
        };
        let scored = Scored {
            sentiment: f.sentiment.label,
            category_scores: f.class.scores,
            risk: f.class.risk,
            weight: bot_weight(
                &m.author,
                m.created_at,
                self.cfg.detect.new_account_age.as_millis_i64(),
            ),
            duplicate: false,
            author_key: author_key(&m.author.id),
            simhash: f.simhash,
            simhash_words: f.simhash_words,
            complaint: f.complaint,
            complained: false,
            naming: self.naming(m),
        };
        self.terms = f.terms;
        Some(scored)
    }

    /// How the mention just attributed names its brands: through its thread when attributed
    /// by it; else distinctly if it names any of them distinctly, plainly if it names any
    /// only as an ordinary word.
    fn naming(&mut self, m: &Mention) -> Naming {
        if self.attribution.via_thread {
            return Naming::Thread;
        }
        let mut out = Naming::Thread;
        for &b in &self.attribution.brands {
            // Prepared on a brand's first mention (brands never mentioned cost nothing).
            let needles = self.needles[b.index()]
                .get_or_insert_with(|| Box::new(Needles::new(self.cfg.brand(b))));
            match needles.naming(&m.text) {
                Naming::Distinct => return Naming::Distinct,
                Naming::Plain => out = Naming::Plain,
                Naming::Thread => {}
            }
        }
        out
    }

    /// Feeds the mention just attributed and scored (`self.attribution`, `self.terms`).
    fn apply_current(&mut self, m: &Mention, scored: &Scored) {
        let brands = std::mem::take(&mut self.attribution.brands);
        let terms = std::mem::take(&mut self.terms);
        self.apply(m, &brands, self.attribution.root, scored, &terms);
        self.attribution.brands = brands;
        self.terms = terms;
    }

    /// Feeds one scored mention to the detector.
    fn apply(&mut self, m: &Mention, brands: &[BrandIdx], root: u64, s: &Scored, terms: &TermList) {
        match self.shards.as_mut() {
            Some(shards) => shards.on_mention(m, brands, root, s, terms),
            None => self.detector.on_mention(m, brands, root, s, terms),
        }
        if let Some(t) = self.tally.as_mut() {
            for &b in brands {
                t.record(self.cfg.brand(b).id.as_str(), m, s.sentiment);
            }
        }
        if let Some(metrics) = &self.metrics {
            for &b in brands {
                let id = self.cfg.brand(b).id.as_str();
                metrics
                    .brand_mentions_total
                    .with_label_values(&[metrics.brand_label(id), metrics.source_label(&m.source)])
                    .inc();
            }
        }
    }

    /// Runs one upstream aggregate row (`ingest::aggregates`, e.g. from Arroyo) through the
    /// detector: the row's newest minute gains what the brand's earlier minutes of that window
    /// have not already received, fed as synthetic scored mentions (no text, one cluster per
    /// brand and minute), so windows, baselines, grading and incidents work as for raw mentions. Returns
    /// the number of synthetic mentions. Rows and mentions may be mixed in one engine, but a
    /// brand should get one or the other (both would count its mentions twice).
    pub fn ingest_aggregate(
        &mut self,
        row: &crate::ingest::aggregates::AggregateRow,
    ) -> Result<u64, AggregateSkip> {
        use crate::ingest::aggregates::{synthesize, SYNTHETIC_SOURCE};
        self.aggregate_stats.rows += 1;
        let Some(brand) = self.cfg.brand_by_id(&row.brand) else {
            self.aggregate_stats.unknown_brand += 1;
            return Err(AggregateSkip::UnknownBrand(row.brand.clone()));
        };
        let b = brand.idx;
        let minute_start = EventTime(row.newest_minute() * EventTime::MINUTE_MS);
        if self.watermark.observe(minute_start) == Admit::TooLate {
            self.aggregate_stats.too_late += 1;
            return Err(AggregateSkip::TooLate(row.window_end.to_rfc3339()));
        }
        self.evaluate_to(self.watermark.max_seen());
        let delta = self.reconciler.fold(row);
        // One thread root per brand and minute: no minute holds a spike's dominant share, so
        // a volume incident is brand-wide, its evidence starts from the brand's last minutes
        // (not its whole history) and every later row adds to it.
        let root =
            crate::domain::post_key(SYNTHETIC_SOURCE, &format!("{}/{}", row.brand, delta.minute));
        let brands = [b];
        let mut n = 0u64;
        for s in synthesize(&row.brand, &delta) {
            let (simhash, words) = simhash_counted(&s.mention.text);
            let scored = Scored {
                sentiment: s.sentiment,
                category_scores: s.category_scores,
                risk: 0.0,
                weight: 1.0,
                duplicate: false,
                author_key: s.author_key,
                simhash,
                simhash_words: words as u32,
                // Rows carry category counts, not texts: no complaint model reading.
                complaint: 0.0,
                complained: false,
                naming: Default::default(),
            };
            self.detector
                .on_mention(&s.mention, &brands, root, &scored, &TermList::default());
            n += 1;
        }
        self.aggregate_stats.mentions += n;
        if let Some(metrics) = &self.metrics {
            let id = self.cfg.brand(b).id.as_str();
            metrics
                .brand_mentions_total
                .with_label_values(&[metrics.brand_label(id), SYNTHETIC_SOURCE])
                .inc_by(n);
        }
        Ok(n)
    }

    pub fn aggregate_stats(&self) -> &AggregateStats {
        &self.aggregate_stats
    }

    /// Alerts decided since the last call, in decision order.
    pub fn drain_alerts(&mut self) -> Vec<crate::alert::AlertRecord> {
        let cfg = &self.cfg;
        let out: Vec<_> = match self.shards.as_mut() {
            Some(shards) => {
                if let (Some(open), Some(m)) = (shards.take_open_incidents(), &self.metrics) {
                    publish_open_incidents(m, cfg, &open);
                }
                shards
                    .drain_events()
                    .iter()
                    .map(|e| crate::alert::render::render(cfg, e))
                    .collect()
            }
            None => self
                .detector
                .drain_events()
                .map(|e| crate::alert::render::render(cfg, &e))
                .collect(),
        };
        self.stats.alerts += out.len() as u64;
        out
    }

    /// Everything the engine has learned (watermark, thread index, every brand's windows,
    /// baselines, clusters and open incidents), as a versioned, zstd-compressed bincode
    /// blob. Take it between mentions, after draining alerts.
    pub fn checkpoint(&self) -> Result<Vec<u8>, CheckpointError> {
        if self.shards.is_some() {
            return Err(CheckpointError::Encode(String::from(
                "a sharded engine cannot be checkpointed (its state lives on the shards)",
            )));
        }
        let state = CheckpointRef {
            magic: CHECKPOINT_MAGIC,
            version: CHECKPOINT_VERSION,
            brands: self.cfg.brands.iter().map(|b| b.id.as_str()).collect(),
            watermark: &self.watermark,
            index: self.attributor.index(),
            stats: &self.stats,
            recent: &self.recent,
            detector: self.detector.state(),
        };
        let raw = bincode::serialize(&state).map_err(|e| CheckpointError::Encode(e.to_string()))?;
        zstd::encode_all(raw.as_slice(), 3).map_err(|e| CheckpointError::Encode(e.to_string()))
    }

    /// Restores a [`Engine::checkpoint`] taken with the same brands (same ids, same order).
    pub fn restore(&mut self, bytes: &[u8]) -> Result<(), CheckpointError> {
        let raw = inflate_state(bytes, MAX_CHECKPOINT_STATE)?;
        let head: CheckpointHead =
            bincode::deserialize(&raw).map_err(|e| CheckpointError::Decode(e.to_string()))?;
        if head.magic != CHECKPOINT_MAGIC {
            return Err(CheckpointError::Decode(String::from("wrong magic")));
        }
        if head.version != CHECKPOINT_VERSION {
            return Err(CheckpointError::Version {
                found: head.version,
            });
        }
        let c: Checkpoint =
            bincode::deserialize(&raw).map_err(|e| CheckpointError::Decode(e.to_string()))?;
        let ours: Vec<&str> = self.cfg.brands.iter().map(|b| b.id.as_str()).collect();
        if c.brands != ours {
            return Err(CheckpointError::Brands(format!(
                "{} brands in the checkpoint, {} configured",
                c.brands.len(),
                ours.len()
            )));
        }
        debug_assert_eq!(c.magic, CHECKPOINT_MAGIC);
        debug_assert_eq!(c.version, CHECKPOINT_VERSION);
        if !self.detector.restore(c.detector) {
            return Err(CheckpointError::Brands(String::from("brand count differs")));
        }
        self.watermark = c.watermark;
        self.attributor.set_index(c.index);
        self.stats = c.stats;
        self.recent = c.recent;
        Ok(())
    }

    /// Keeps a sample of every active brand's rate, baseline and sentiment every
    /// `step_minutes` of event time (for the analyst report); see [`Engine::take_series`].
    pub fn record_series(&mut self, step_minutes: i64) {
        self.series = Some(SeriesRecorder::new(step_minutes));
        self.tally = Some(super::tally::Tally::default());
    }

    /// The report's counts, authors and hashtags (empty unless [`Engine::record_series`] was
    /// called).
    pub fn take_tally(&mut self) -> super::tally::Tally {
        self.tally.take().unwrap_or_default()
    }

    /// The recorded samples by brand id (empty unless [`Engine::record_series`] was called).
    pub fn take_series(&mut self) -> std::collections::BTreeMap<String, Vec<BrandPoint>> {
        let Some(rec) = self.series.take() else {
            return std::collections::BTreeMap::new();
        };
        rec.into_points()
            .into_iter()
            .map(|(b, v)| (self.cfg.brand(BrandIdx(b)).id.to_string(), v))
            .collect()
    }

    fn sample_series(&mut self, minute: i64) {
        // Sharded: each shard samples its own brands (merged in `finish`).
        if self.shards.is_some() {
            return;
        }
        if let Some(rec) = self.series.as_mut() {
            rec.sample(&mut self.detector, minute);
        }
    }

    pub fn stats(&self) -> &EngineStats {
        &self.stats
    }

    pub fn watermark(&self) -> EventTime {
        self.watermark.current()
    }

    fn publish_minute(&mut self, minute: i64) {
        let Some(metrics) = self.metrics.clone() else {
            return;
        };
        let wm = self.watermark.current().millis() as f64 / 1000.0;
        metrics.pipeline_watermark_timestamp_seconds.set(wm);
        // Sharded: each shard publishes its brands' gauges; the open incidents come back with
        // the shards' results (`drain_alerts`).
        if self.shards.is_some() {
            return;
        }
        publish_brand_gauges(&metrics, &self.cfg, &mut self.detector, minute);
        let open = self.detector.open_incidents();
        publish_open_incidents(&metrics, &self.cfg, &open);
    }
}

/// Sets the open-incident gauge to `open` (brand, category, severity).
fn publish_open_incidents(
    metrics: &Metrics,
    cfg: &Config,
    open: &[(BrandIdx, crate::domain::Category, crate::domain::Severity)],
) {
    metrics.zero_incidents_active();
    for (b, c, s) in open {
        let label = metrics.brand_label(cfg.brand(*b).id.as_str());
        metrics
            .incidents_active
            .with_label_values(&[label, c.as_str(), s.as_str()])
            .inc();
    }
}

/// The `[pipeline] grievance_sentiment_model` named `name`, unless it is "none" or the main
/// model `main` itself; a model that cannot load is logged and left out (the main model's
/// reading stands).
fn grievance_model(name: &str, main: &str) -> Option<Arc<dyn SentimentModel>> {
    if name == crate::config::NO_GRIEVANCE_MODEL || name == main {
        return None;
    }
    match crate::score::sentiment::model_by_name(name) {
        Ok(m) => Some(Arc::from(m)),
        Err(e) => {
            tracing::warn!("grievance sentiment model {name:?} disabled: {e}");
            None
        }
    }
}

fn author_key(id: &str) -> u64 {
    use std::hash::Hasher;
    let mut h = FxHasher::default();
    h.write(id.as_bytes());
    h.finish()
}

#[cfg(test)]
mod refine_tests {
    use std::sync::{Arc, Mutex};

    use super::*;
    use crate::app::refine::Refiner;
    use crate::domain::{Sentiment, SentimentLabel};
    use crate::score::classify::KeywordClassifier;
    use crate::score::sentiment::model_by_name;

    /// Labels everything positive and records the texts it was asked to score.
    struct Marker(Arc<Mutex<Vec<String>>>);

    impl SentimentModel for Marker {
        fn name(&self) -> &str {
            "marker"
        }
        fn score(&self, text: &str) -> Sentiment {
            if let Ok(mut seen) = self.0.lock() {
                seen.push(text.to_owned());
            }
            Sentiment {
                score: 1.0,
                label: SentimentLabel::Positive,
            }
        }
    }

    fn mention(id: &str, minute: i64, text: &str) -> Mention {
        Mention {
            id: id.to_owned(),
            source: String::from("test"),
            created_at: EventTime(1_700_000_000_000 + minute * EventTime::MINUTE_MS),
            text: text.to_owned(),
            ..Mention::default()
        }
    }

    #[test]
    fn only_brands_with_a_candidate_incident_go_to_the_refining_model() {
        let cfg = Arc::new(
            crate::config::parse_str(crate::app::demo::DEMO_CONFIG, "demo.toml", &|_| None)
                .unwrap(),
        );
        let mut engine = Engine::new(
            Arc::clone(&cfg),
            model_by_name("lexicon").unwrap(),
            Box::new(KeywordClassifier::embedded()),
            None,
        )
        .unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        engine.refine_with(Refiner::inline(Box::new(Marker(Arc::clone(&seen))), 4));
        let brightline = BrandIdx(0);
        assert_eq!(cfg.brand(brightline).id.as_str(), "brightline");
        let risky = "So the technician @brightlineplumb sent to fix our gas boiler has been \
                     sitting in his van drinking beer for the last hour. Now he wants to start on \
                     the gas line. Absolutely not. I have a toddler in this house.";
        engine.process(&mention("a", 0, "velora motors launched a new hatchback"));
        engine.process(&mention("b", 0, risky));
        assert!(
            engine.detector.is_hot(brightline),
            "a risky post opens a watch incident at once"
        );
        engine.process(&mention(
            "c",
            0,
            "is brightline plumbing still coming today?",
        ));
        engine.process(&mention("d", 0, "velora motors service was quick"));
        engine.process(&mention("e", 0, "no match here"));
        engine.process(&mention("f", 0, "brightline never called back"));
        assert!(
            seen.lock().unwrap().is_empty(),
            "the batch of 4 is not full yet"
        );
        engine.process(&mention("g", 1, "velora is fine"));
        assert_eq!(
            *seen.lock().unwrap(),
            vec![
                "is brightline plumbing still coming today?",
                "brightline never called back"
            ],
            "a new minute sends the partial batch; cold brands keep the fast model"
        );
        engine.process(&mention("h", 1, "brightline truck outside"));
        engine.finish();
        assert_eq!(seen.lock().unwrap().len(), 3);
        let stats = engine.refine_stats().unwrap();
        assert_eq!((stats.refined, stats.skipped), (3, 0));
        assert_eq!(engine.stats().received, 8);
        assert_eq!(engine.stats().unmatched, 1);
    }
}

#[cfg(test)]
mod shard_tests {
    use super::*;
    use crate::score::classify::KeywordClassifier;
    use crate::score::sentiment::model_by_name;

    fn engine(cfg: &Arc<Config>) -> Engine {
        Engine::new(
            Arc::clone(cfg),
            model_by_name("lexicon").unwrap(),
            Box::new(KeywordClassifier::embedded()),
            None,
        )
        .unwrap()
    }

    /// A no-data gap is decided over every brand: here no brand alone expected enough mentions
    /// in the 200 silent minutes, the three together did. With one brand per shard, only the
    /// front's query over all shards sees that; the baselines after the gap (which would
    /// otherwise have learnt 200 empty minutes) must be the same to the bit.
    #[test]
    fn a_gap_is_decided_over_the_brands_of_every_shard() {
        let cfg = Arc::new(
            crate::config::parse_str(crate::app::demo::DEMO_CONFIG, "demo.toml", &|_| None)
                .unwrap(),
        );
        let names = ["brightline", "velora", "northwind"];
        let mut one = engine(&cfg);
        let mut three = engine(&cfg);
        assert_eq!(three.shard(3).unwrap(), 3);
        let t0 = 1_700_000_000_000_i64;
        let minute = EventTime::MINUTE_MS;
        let feed = |from: i64, to: i64, one: &mut Engine, three: &mut Engine| {
            // One mention of each brand every five minutes: 0.2 per minute each.
            for k in (from..to).step_by(5) {
                for (i, name) in names.iter().enumerate() {
                    let m = Mention {
                        id: format!("{name}-{k}"),
                        source: String::from("test"),
                        created_at: EventTime(t0 + k * minute + i as i64 * 1_000),
                        text: format!("{name} is fine today"),
                        ..Mention::default()
                    };
                    one.process(&m);
                    three.process(&m);
                }
            }
        };
        let day = 24 * 60;
        feed(0, 2 * day, &mut one, &mut three);
        feed(2 * day + 200, 2 * day + 300, &mut one, &mut three);
        let at = EventTime(t0 + (2 * day + 20) * minute);
        let gaps: Vec<_> = one.detector.no_data_gaps().collect();
        assert_eq!(gaps.len(), 1, "one detector saw {gaps:?}");
        let alone: Vec<(BrandIdx, f64)> = one.detector.expected_per_min_by_brand(at).collect();
        assert_eq!(alone.len(), 3);
        for (b, e) in &alone {
            assert!(
                !crate::detect::detector::is_no_data_gap([(*b, *e)], gaps[0].0, gaps[0].1),
                "{b:?} alone ({e}/min) would decide the gap"
            );
        }
        let shards = three.shards.as_mut().unwrap();
        let sharded = shards.expected_by_brand(at);
        assert_eq!(sharded.len(), 3);
        for ((b1, e1), (b3, e3)) in alone.iter().zip(&sharded) {
            assert_eq!(b1, b3);
            assert_eq!(e1.to_bits(), e3.to_bits(), "{b1:?}: {e1} vs {e3}");
        }
        assert_eq!(
            one.drain_alerts().len(),
            three.drain_alerts().len(),
            "alerts differ"
        );
    }

    /// A live run moves event time through an idle stream (`app::idle_clock`, up to its cap);
    /// a source outage must still be a no-data gap when data comes back. Moved with the
    /// watermark, the gap check saw the outage less the cap
    /// (35 minutes read as 25: no gap, every minute learnt as quiet; found in review).
    #[test]
    fn an_idle_advance_hides_no_outage_from_the_gap_check() {
        let cfg = Arc::new(
            crate::config::parse_str(crate::app::demo::DEMO_CONFIG, "demo.toml", &|_| None)
                .unwrap(),
        );
        let names = ["brightline", "velora", "northwind"];
        let t0 = 1_700_000_000_000_i64;
        let minute = EventTime::MINUTE_MS;
        let feed = |from: i64, to: i64, e: &mut Engine| {
            for k in from..to {
                for (i, name) in names.iter().enumerate() {
                    e.process(&Mention {
                        id: format!("{name}-{k}"),
                        source: String::from("test"),
                        created_at: EventTime(t0 + k * minute + i as i64 * 1_000),
                        text: format!("{name} is fine today"),
                        ..Mention::default()
                    });
                }
            }
        };
        let day = 24 * 60;
        let mut e = engine(&cfg);
        feed(0, 2 * day, &mut e);
        // The idle clock's cap past the newest mention, in quarter-minute ticks.
        let newest = e.data_max();
        for q in 1..=40 {
            e.advance_idle(newest.plus_ms(q * minute / 4));
        }
        assert_eq!(e.max_seen(), newest.plus_ms(10 * minute));
        assert_eq!(e.data_max(), newest, "the idle advance brought no data");
        feed(2 * day + 36, 2 * day + 60, &mut e);
        let gaps: Vec<(i64, i64)> = e.detector.no_data_gaps().collect();
        assert_eq!(gaps.len(), 1, "the 35-minute outage is a gap: {gaps:?}");
        assert!(gaps[0].1 - gaps[0].0 + 1 >= 35, "{gaps:?}");
    }
}

#[cfg(test)]
mod checkpoint_tests {
    use super::*;

    /// `len` zero bytes as a zstd frame of a few kilobytes, written in pieces so the test
    /// never holds them.
    fn bomb(len: u64) -> Vec<u8> {
        let mut enc = zstd::stream::write::Encoder::new(Vec::new(), 1).unwrap();
        let zeros = vec![0u8; 1 << 20];
        let mut left = len;
        while left > 0 {
            let n = left.min(zeros.len() as u64) as usize;
            std::io::Write::write_all(&mut enc, &zeros[..n]).unwrap();
            left -= n as u64;
        }
        enc.finish().unwrap()
    }

    #[test]
    fn a_checkpoint_that_inflates_past_the_limit_is_refused() {
        let z = bomb(MAX_CHECKPOINT_STATE + 1);
        assert!(z.len() < 1 << 20, "{}", z.len());
        let cfg = Arc::new(
            crate::config::parse_str(crate::app::demo::DEMO_CONFIG, "demo.toml", &|_| None)
                .unwrap(),
        );
        let mut engine = Engine::new(
            cfg,
            crate::score::sentiment::model_by_name("lexicon").unwrap(),
            Box::new(crate::score::classify::KeywordClassifier::embedded()),
            None,
        )
        .unwrap();
        // A sealed file reaches `restore` with the same body (its checksum envelope is a
        // checksum, not a signature): this is the one path both kinds of file take.
        let err = engine.restore(&z).unwrap_err().to_string();
        assert!(err.contains("inflates past"), "{err}");
    }

    #[test]
    fn state_up_to_the_limit_inflates_in_every_frame() {
        let mut z = zstd::encode_all(&b"state "[..], 1).unwrap();
        z.extend(zstd::encode_all(&b"more"[..], 1).unwrap());
        assert_eq!(inflate_state(&z, 10).unwrap(), b"state more");
        let err = inflate_state(&z, 9).unwrap_err();
        assert!(err.to_string().contains("inflates past 9 bytes"), "{err}");
        assert!(inflate_state(b"not zstd", 1 << 20).is_err());
    }
}
