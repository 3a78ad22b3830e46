//! The partitioned topology (`flashpoint run --role ingest|detect|alert`).
//!
//! ```text
//!  sources ─▶ ingest node ──(mentions topic, partition = fnv(brand) % N)──▶ detect workers ──(alerts topic)──▶ alerter
//!             IngestRouter                  headers fp-wm, fp-brands,        consumer group;              dedup, alert log,
//!             watermark + matcher           fp-root; minute ticks to          one Engine per partition;   outbox delivery
//!             + thread index                every partition                   checkpoint + offset
//! ```
//!
//! Role: split one engine's work by brand across processes while keeping every decision equal
//! to a single process. Inputs: mentions (ingest), the mentions topic (detect), the alerts
//! topic (alert). Outputs: brand-partitioned mentions, alert lines, deliveries.
//!
//! Why the alert log equals a single process: the ingest node does what the engine does
//! before detection (watermark admission, brand matching, thread attribution) for the *whole*
//! stream, and stamps each record with its newest event time before the mention (`fp-wm`).
//! A detect worker raises its partition engine's watermark to `fp-wm` before the mention, so
//! every per-minute evaluation of a brand happens after exactly the mentions it would follow in
//! one process; per-brand detector state is independent of other brands. Minute ticks (null
//! payload, `fp-wm` only) reach partitions whose brands are quiet, so resolves fire at the same
//! event time. This holds for one ingest node; several ingest nodes (sharded by source) each
//! keep their own watermark and thread index, so decisions may then shift by up to a minute.
//!
//! Fault tolerance: a detect worker checkpoints each of its partitions (engine state and the
//! next offset, one atomic file per partition in a shared directory) only after the alerts
//! produced so far are acknowledged, and commits the offsets after the files are durable. A
//! worker that dies loses what it did since its last checkpoint; the partition's new owner
//! loads the checkpoint, skips offsets below it and replays the rest, producing the same
//! alert lines again, which the alerter drops by identity (incident, action, severity, at:
//! `AlertRecord::line_key`) and receivers fold by dedup_key. A graceful revoke (rebalance, shutdown) checkpoints first.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{BaseRecord, DeliveryResult, Producer, ProducerContext, ThreadedProducer};
use rdkafka::{ClientContext, Message, Offset, TopicPartitionList};

use crate::alert::AlertRecord;
use crate::app::{checkpoint, Engine};
use crate::brand::{Attribution, Attributor};
use crate::config::kafka::{client_config, producer_config, KafkaClient};
use crate::config::Config;
use crate::domain::codec::{decode, encode};
use crate::domain::{BrandIdx, EventTime, Mention};
use crate::replay::watermark::{Admit, Watermark};
use crate::score::classify::KeywordClassifier;
use crate::score::sentiment::model_by_name;
use crate::telemetry::Metrics;

/// How long a producer may take to acknowledge everything before a checkpoint gives up.
const FLUSH_TIMEOUT: Duration = Duration::from_secs(30);

/// One record for the mentions topic.
#[derive(Debug, Clone, PartialEq)]
pub struct Outgoing {
    pub partition: i32,
    /// The first of `brands` (empty on a tick): keeps the topic "keyed by brand".
    pub key: String,
    /// The canonical NDJSON line; `None` for a watermark tick.
    pub payload: Option<Vec<u8>>,
    /// `fp-wm`: newest event time (ms) seen before this mention; after it on a tick.
    pub watermark: Option<i64>,
    /// `fp-brands`: comma-separated ids of the brands this partition owns.
    pub brands: String,
    pub root: u64,
}

/// What the ingest router did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RouterStats {
    pub received: u64,
    pub too_late: u64,
    pub unmatched: u64,
    pub matched: u64,
    pub records: u64,
    pub ticks: u64,
}

/// The ingest node's half of the engine: watermark admission, brand matching and thread
/// attribution over the whole stream, then one record per partition owning a matched brand.
pub struct IngestRouter {
    cfg: Arc<Config>,
    watermark: Watermark,
    attributor: Attributor,
    attribution: Attribution,
    last_minute: Option<i64>,
    partitions: i32,
    owner: Vec<i32>,
    stats: RouterStats,
}

impl IngestRouter {
    pub fn new(
        cfg: Arc<Config>,
        partitions: i32,
    ) -> Result<IngestRouter, crate::brand::MatcherError> {
        let p = &cfg.pipeline;
        let attributor = Attributor::new(
            &cfg.brands,
            p.parent_retention.as_millis_i64(),
            p.parent_capacity,
        )?;
        let owner = cfg
            .brands
            .iter()
            .map(|b| super::partition_of(b.id.as_str(), partitions))
            .collect();
        Ok(IngestRouter {
            watermark: Watermark::new(p.allowed_lateness.as_millis_i64()),
            attributor,
            attribution: Attribution::default(),
            last_minute: None,
            partitions: partitions.max(1),
            owner,
            stats: RouterStats::default(),
            cfg,
        })
    }

    pub fn stats(&self) -> &RouterStats {
        &self.stats
    }

    pub fn partitions(&self) -> i32 {
        self.partitions
    }

    /// Routes one mention, appending its records (and ticks) to `out`.
    pub fn route(&mut self, m: &Mention, out: &mut Vec<Outgoing>) {
        self.stats.received += 1;
        let before = (self.watermark.max_seen() != EventTime::MIN)
            .then(|| self.watermark.max_seen().millis());
        if self.watermark.observe(m.created_at) == Admit::TooLate {
            // The engine downstream would drop it too; it must not enter the thread index.
            self.stats.too_late += 1;
            return;
        }
        let minute = self.watermark.max_seen().minute_index();
        let crossed = self.last_minute.is_some_and(|l| minute > l);
        if crossed {
            self.attributor.evict(self.watermark.current());
        }
        if self.last_minute.is_none() || crossed {
            self.last_minute = Some(minute);
        }
        self.attributor.attribute(m, &mut self.attribution);
        if self.attribution.brands.is_empty() {
            self.stats.unmatched += 1;
        } else {
            self.stats.matched += 1;
            let mut by_partition: BTreeMap<i32, Vec<BrandIdx>> = BTreeMap::new();
            for &b in &self.attribution.brands {
                by_partition
                    .entry(self.owner[b.index()])
                    .or_default()
                    .push(b);
            }
            let mut line = Vec::with_capacity(256);
            encode(m, &mut line);
            line.pop();
            for (partition, brands) in by_partition {
                let ids: Vec<&str> = brands
                    .iter()
                    .map(|b| self.cfg.brand(*b).id.as_str())
                    .collect();
                out.push(Outgoing {
                    partition,
                    key: ids[0].to_string(),
                    payload: Some(line.clone()),
                    watermark: before,
                    brands: ids.join(","),
                    root: self.attribution.root,
                });
                self.stats.records += 1;
            }
        }
        if crossed {
            let wm = self.watermark.max_seen().millis();
            for partition in 0..self.partitions {
                out.push(Outgoing {
                    partition,
                    key: String::new(),
                    payload: None,
                    watermark: Some(wm),
                    brands: String::new(),
                    root: 0,
                });
                self.stats.ticks += 1;
            }
        }
    }
}

/// Counts failed deliveries of a producer (checked before every checkpoint).
#[derive(Default)]
pub struct DeliveryCounter {
    failed: AtomicU64,
}

impl ClientContext for DeliveryCounter {}

impl ProducerContext for DeliveryCounter {
    type DeliveryOpaque = ();

    fn delivery(&self, r: &DeliveryResult<'_>, _: ()) {
        if let Err((e, _)) = r {
            self.failed.fetch_add(1, Ordering::Relaxed);
            tracing::error!(error = %e, "Kafka delivery failed");
        }
    }
}

/// A producer whose `send` blocks while librdkafka's queue is full (Block policy).
pub struct Publisher {
    producer: ThreadedProducer<DeliveryCounter>,
    topic: String,
}

impl Publisher {
    pub fn new(client: &KafkaClient, topic: &str) -> anyhow::Result<Publisher> {
        let producer = producer_config(client)
            .create_with_context(DeliveryCounter::default())
            .context("creating the Kafka producer")?;
        Ok(Publisher {
            producer,
            topic: topic.to_string(),
        })
    }

    /// Partitions of the topic (it must exist).
    pub fn partitions(&self, timeout: Duration) -> anyhow::Result<i32> {
        let md = self
            .producer
            .client()
            .fetch_metadata(Some(&self.topic), timeout)
            .with_context(|| format!("reading the metadata of {}", self.topic))?;
        let n = md
            .topics()
            .iter()
            .find(|t| t.name() == self.topic)
            .map_or(0, |t| t.partitions().len());
        anyhow::ensure!(
            n > 0,
            "topic {} has no partitions (create it first)",
            self.topic
        );
        Ok(i32::try_from(n).unwrap_or(i32::MAX))
    }

    /// Queues one mentions-topic record.
    pub fn send(&self, o: &Outgoing) -> anyhow::Result<()> {
        let mut headers = OwnedHeaders::new_with_capacity(3);
        let wm = o.watermark.map(|w| w.to_string());
        if let Some(wm) = &wm {
            headers = headers.insert(Header {
                key: super::HEADER_WATERMARK,
                value: Some(wm.as_str()),
            });
        }
        let root = o.root.to_string();
        if o.payload.is_some() {
            headers = headers
                .insert(Header {
                    key: super::HEADER_BRANDS,
                    value: Some(o.brands.as_str()),
                })
                .insert(Header {
                    key: super::HEADER_ROOT,
                    value: Some(root.as_str()),
                });
        }
        let mut record: BaseRecord<'_, str, [u8]> = BaseRecord::to(&self.topic)
            .partition(o.partition)
            .key(o.key.as_str())
            .headers(headers);
        if let Some(p) = &o.payload {
            record = record.payload(p.as_slice());
        }
        self.send_record(record)
    }

    /// Queues one alert line keyed by its brand.
    pub fn send_alert(&self, a: &AlertRecord) -> anyhow::Result<()> {
        let line = a.to_json_line();
        let record: BaseRecord<'_, str, str> = BaseRecord::to(&self.topic)
            .key(a.brand.as_str())
            .payload(line.as_str());
        self.send_record(record)
    }

    fn send_record<K, P>(&self, mut record: BaseRecord<'_, K, P>) -> anyhow::Result<()>
    where
        K: rdkafka::message::ToBytes + ?Sized,
        P: rdkafka::message::ToBytes + ?Sized,
    {
        loop {
            match self.producer.send(record) {
                Ok(()) => return Ok(()),
                Err((
                    rdkafka::error::KafkaError::MessageProduction(
                        rdkafka::types::RDKafkaErrorCode::QueueFull,
                    ),
                    r,
                )) => {
                    // Block: wait for in-flight messages to be acknowledged, then retry.
                    // A timeout here only means "still full": the loop tries again.
                    self.producer.flush(Duration::from_millis(100)).ok();
                    record = r;
                }
                Err((e, _)) => return Err(e).context("producing to Kafka"),
            }
        }
    }

    /// Waits until everything queued is acknowledged; fails if a delivery ever failed.
    pub fn flush(&self) -> anyhow::Result<()> {
        self.producer
            .flush(FLUSH_TIMEOUT)
            .context("waiting for Kafka to acknowledge")?;
        let failed = self.producer.context().failed.load(Ordering::Relaxed);
        anyhow::ensure!(failed == 0, "{failed} Kafka deliveries failed");
        Ok(())
    }
}

/// How a detect worker checkpoints.
#[derive(Debug, Clone)]
pub struct WorkerOptions {
    /// Shared by every worker of the group.
    pub checkpoint_dir: PathBuf,
    /// Wall-clock time between checkpoints.
    pub checkpoint_interval: Duration,
    /// Also checkpoint after this many messages (deterministic tests; `None` = time only).
    pub checkpoint_every: Option<u64>,
    pub sentiment_model: String,
    pub metrics: Option<Arc<Metrics>>,
}

/// What a detect worker did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WorkerStats {
    pub messages: u64,
    pub mentions: u64,
    pub ticks: u64,
    /// Below the partition's checkpoint (already in its state).
    pub skipped: u64,
    pub alerts: u64,
    pub checkpoints: u64,
    pub restored: u64,
    /// Bad messages by reason (also `flashpoint_ingest_decode_errors_total`).
    pub bad: BTreeMap<&'static str, u64>,
}

struct Part {
    engine: Engine,
    next_offset: i64,
    dirty: bool,
}

struct Shared {
    cfg: Arc<Config>,
    topic: String,
    opts: WorkerOptions,
    parts: Mutex<BTreeMap<i32, Part>>,
    alerts: Publisher,
    abandoned: AtomicBool,
    checkpoints: AtomicU64,
}

impl Shared {
    fn path(&self, partition: i32) -> PathBuf {
        checkpoint_path(&self.opts.checkpoint_dir, &self.topic, partition)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<i32, Part>> {
        // A poisoned lock means a panic mid-message; the state is still the last one written.
        self.parts.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Checkpoints the dirty partitions (all, or `only`), then commits their offsets.
    fn checkpoint(
        &self,
        consumer: &BaseConsumer<WorkerCtx>,
        only: Option<&[i32]>,
    ) -> anyhow::Result<()> {
        // Alerts first: a checkpoint must never be ahead of the alerts topic.
        self.alerts.flush()?;
        let mut tpl = TopicPartitionList::new();
        {
            let mut parts = self.lock();
            for (p, part) in parts.iter_mut() {
                if !part.dirty || only.is_some_and(|o| !o.contains(p)) {
                    continue;
                }
                checkpoint::save_partition(&part.engine, part.next_offset, &self.path(*p))?;
                part.dirty = false;
                tpl.add_partition_offset(&self.topic, *p, Offset::Offset(part.next_offset))?;
            }
        }
        if tpl.count() > 0 {
            self.checkpoints.fetch_add(1, Ordering::Relaxed);
            // The files are the truth: a failed commit (e.g. a rebalance in progress) only
            // means the next owner starts reading earlier and skips up to the checkpoint.
            if let Err(e) = consumer.commit(&tpl, CommitMode::Sync) {
                tracing::warn!(error = %e, "offset commit after the checkpoint failed; the checkpoint stands");
            }
        }
        Ok(())
    }

    fn load(&self, partition: i32) -> anyhow::Result<(Part, bool)> {
        let mut engine = Engine::new(
            Arc::clone(&self.cfg),
            model_by_name(&self.opts.sentiment_model)?,
            Box::new(KeywordClassifier::embedded()),
            self.opts.metrics.clone(),
        )
        .context("building the engine")?;
        let restored = checkpoint::load_partition(&mut engine, &self.path(partition))?;
        Ok((
            Part {
                engine,
                next_offset: restored.unwrap_or(0),
                dirty: false,
            },
            restored.is_some(),
        ))
    }
}

/// The consumer context: checkpoints partitions before they are revoked.
pub struct WorkerCtx {
    shared: Arc<Shared>,
}

impl ClientContext for WorkerCtx {}

impl ConsumerContext for WorkerCtx {
    fn pre_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        let Rebalance::Revoke(tpl) = rebalance else {
            return;
        };
        let revoked: Vec<i32> = tpl
            .elements_for_topic(&self.shared.topic)
            .iter()
            .map(|e| e.partition())
            .collect();
        if !self.shared.abandoned.load(Ordering::Acquire) {
            if let Err(e) = self.shared.checkpoint(consumer, Some(&revoked)) {
                tracing::error!(error = %format!("{e:#}"), "checkpoint on revoke failed; the next owner resumes from the previous one");
            }
        }
        let mut parts = self.shared.lock();
        for p in revoked {
            parts.remove(&p);
        }
    }
}

/// A detect worker: consumes the mentions topic in a consumer group, keeps one engine per
/// assigned partition, produces alert lines, checkpoints and commits.
pub struct DetectWorker {
    consumer: BaseConsumer<WorkerCtx>,
    shared: Arc<Shared>,
    brand_by_id: std::collections::HashMap<String, BrandIdx>,
    since_checkpoint: u64,
    last_checkpoint: Instant,
    stats: WorkerStats,
    brands: Vec<BrandIdx>,
}

impl DetectWorker {
    pub fn new(
        cfg: Arc<Config>,
        client: &KafkaClient,
        mentions_topic: &str,
        alerts_topic: &str,
        group_id: &str,
        opts: WorkerOptions,
    ) -> anyhow::Result<DetectWorker> {
        std::fs::create_dir_all(&opts.checkpoint_dir).with_context(|| {
            format!("creating checkpoint dir {}", opts.checkpoint_dir.display())
        })?;
        let brand_by_id = cfg
            .brands
            .iter()
            .map(|b| (b.id.as_str().to_string(), b.idx))
            .collect();
        let shared = Arc::new(Shared {
            cfg,
            topic: mentions_topic.to_string(),
            opts,
            parts: Mutex::new(BTreeMap::new()),
            alerts: Publisher::new(client, alerts_topic)?,
            abandoned: AtomicBool::new(false),
            checkpoints: AtomicU64::new(0),
        });
        let consumer: BaseConsumer<WorkerCtx> = client_config(client)
            .set("group.id", group_id)
            .set("enable.auto.commit", "false")
            .set("auto.offset.reset", "earliest")
            .set("partition.assignment.strategy", "cooperative-sticky")
            .create_with_context(WorkerCtx {
                shared: Arc::clone(&shared),
            })
            .context("creating the Kafka consumer")?;
        consumer
            .subscribe(&[mentions_topic])
            .with_context(|| format!("subscribing to {mentions_topic}"))?;
        Ok(DetectWorker {
            consumer,
            shared,
            brand_by_id,
            since_checkpoint: 0,
            last_checkpoint: Instant::now(),
            stats: WorkerStats::default(),
            brands: Vec::new(),
        })
    }

    pub fn stats(&self) -> WorkerStats {
        let mut s = self.stats.clone();
        s.checkpoints = self.shared.checkpoints.load(Ordering::Relaxed);
        s
    }

    /// Next offset to read per partition whose engine this worker holds now.
    pub fn positions(&self) -> BTreeMap<i32, i64> {
        self.shared
            .lock()
            .iter()
            .map(|(p, part)| (*p, part.next_offset))
            .collect()
    }

    /// Messages handled since the last checkpoint (what a crash now would replay).
    pub fn uncheckpointed(&self) -> u64 {
        self.since_checkpoint
    }

    /// Partitions whose engines this worker holds now.
    pub fn partitions(&self) -> Vec<i32> {
        self.shared.lock().keys().copied().collect()
    }

    /// Polls once; `Ok(true)` when a message was handled. Checkpoints when due.
    pub fn poll(&mut self, timeout: Duration) -> anyhow::Result<bool> {
        let handled = match self.consumer.poll(timeout) {
            None => false,
            Some(Err(e)) => {
                tracing::warn!(error = %e, "Kafka consumer error");
                false
            }
            Some(Ok(msg)) => {
                let p = msg.partition();
                let offset = msg.offset();
                let wm = super::header(&msg, super::HEADER_WATERMARK).map(str::to_string);
                let brands = super::header(&msg, super::HEADER_BRANDS).map(str::to_string);
                let root = super::header(&msg, super::HEADER_ROOT).and_then(|r| r.parse().ok());
                let payload = msg.payload().map(<[u8]>::to_vec);
                drop(msg);
                self.handle(
                    p,
                    offset,
                    payload.as_deref(),
                    wm.as_deref(),
                    brands.as_deref(),
                    root,
                )?;
                true
            }
        };
        let due_count = self
            .shared
            .opts
            .checkpoint_every
            .is_some_and(|n| self.since_checkpoint >= n);
        if due_count || self.last_checkpoint.elapsed() >= self.shared.opts.checkpoint_interval {
            self.checkpoint()?;
        }
        Ok(handled)
    }

    /// Checkpoints every dirty partition and commits its offset.
    pub fn checkpoint(&mut self) -> anyhow::Result<()> {
        self.shared.checkpoint(&self.consumer, None)?;
        self.since_checkpoint = 0;
        self.last_checkpoint = Instant::now();
        Ok(())
    }

    /// Graceful stop: checkpoint, commit, leave the group.
    pub fn close(mut self) -> anyhow::Result<WorkerStats> {
        self.checkpoint()?;
        let stats = self.stats();
        drop(self);
        Ok(stats)
    }

    /// What a crash leaves behind: no checkpoint and no commit since the last one (the test
    /// hook for takeover; a killed process does the same, minus leaving the group at once).
    pub fn abandon(self) {
        self.shared.abandoned.store(true, Ordering::Release);
        drop(self);
    }

    fn bad(&mut self, reason: &'static str, detail: &str) {
        *self.stats.bad.entry(reason).or_default() += 1;
        if let Some(m) = &self.shared.opts.metrics {
            m.ingest_decode_errors_total
                .with_label_values(&[self.shared.topic.as_str(), reason])
                .inc();
        }
        let n: u64 = self.stats.bad.values().sum();
        if n <= 10 || n % 1000 == 0 {
            let sample: String = detail.chars().take(200).collect();
            tracing::warn!(reason, count = n, sample = ?sample, "skipping bad message");
        }
    }

    fn handle(
        &mut self,
        partition: i32,
        offset: i64,
        payload: Option<&[u8]>,
        wm: Option<&str>,
        brands: Option<&str>,
        root: Option<u64>,
    ) -> anyhow::Result<()> {
        self.stats.messages += 1;
        let shared = Arc::clone(&self.shared);
        let mut parts = shared.lock();
        let part = match parts.entry(partition) {
            std::collections::btree_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::btree_map::Entry::Vacant(v) => {
                let (part, restored) = shared.load(partition)?;
                if restored {
                    self.stats.restored += 1;
                    tracing::info!(
                        partition,
                        next_offset = part.next_offset,
                        "restored partition state"
                    );
                }
                v.insert(part)
            }
        };
        if offset < part.next_offset {
            self.stats.skipped += 1;
            return Ok(());
        }
        part.next_offset = offset + 1;
        part.dirty = true;
        self.since_checkpoint += 1;
        match wm.map(str::parse::<i64>) {
            Some(Ok(t)) => part.engine.advance_to(EventTime(t)),
            Some(Err(_)) => {
                drop(parts);
                self.bad("invalid_header", "fp-wm");
                return Ok(());
            }
            None => {}
        }
        let Some(payload) = payload else {
            self.stats.ticks += 1;
            return Ok(());
        };
        let mention = match decode(payload) {
            Ok(m) => m,
            Err(e) => {
                let (reason, msg) = (e.reason(), e.message().to_string());
                drop(parts);
                self.bad(reason, &msg);
                return Ok(());
            }
        };
        self.brands.clear();
        let mut unknown = false;
        for id in brands.unwrap_or("").split(',').filter(|s| !s.is_empty()) {
            match self.brand_by_id.get(id) {
                Some(b) => self.brands.push(*b),
                None => unknown = true,
            }
        }
        self.brands.sort_unstable();
        self.brands.dedup();
        if self.brands.is_empty() || root.is_none() {
            drop(parts);
            self.bad(
                if unknown {
                    "unknown_brand"
                } else {
                    "missing_header"
                },
                brands.unwrap_or(""),
            );
            return Ok(());
        }
        self.stats.mentions += 1;
        part.engine
            .process_attributed(&mention, &self.brands, root.unwrap_or(0));
        for alert in part.engine.drain_alerts() {
            shared.alerts.send_alert(&alert)?;
            self.stats.alerts += 1;
        }
        Ok(())
    }
}

/// What the alerter did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AlerterStats {
    pub alerts: u64,
    pub duplicates: u64,
    pub bad: u64,
}

/// The alert role's consumer: alert lines in, duplicates (re-produced after a takeover)
/// dropped by identity, each new line handed to a callback before its offset is stored.
pub struct Alerter {
    consumer: BaseConsumer,
    seen: crate::ingest::SeenIds,
    stats: AlerterStats,
}

impl Alerter {
    /// `remember` = how many alert identities the duplicate filter holds.
    pub fn new(
        client: &KafkaClient,
        topic: &str,
        group_id: &str,
        remember: usize,
    ) -> anyhow::Result<Alerter> {
        let consumer: BaseConsumer = client_config(client)
            .set("group.id", group_id)
            .set("enable.auto.commit", "true")
            .set("enable.auto.offset.store", "false")
            .set("auto.offset.reset", "earliest")
            .create()
            .context("creating the Kafka consumer")?;
        consumer
            .subscribe(&[topic])
            .with_context(|| format!("subscribing to {topic}"))?;
        Ok(Alerter {
            consumer,
            seen: crate::ingest::SeenIds::new(remember),
            stats: AlerterStats::default(),
        })
    }

    pub fn stats(&self) -> &AlerterStats {
        &self.stats
    }

    /// The identity of a decision: the same line produced twice has the same one.
    pub fn identity(a: &AlertRecord) -> String {
        a.line_key()
    }

    /// Polls once; a new alert goes to `handle`, whose success stores the offset (an error
    /// leaves it to be read again after a restart). `Ok(true)` when a message was read.
    pub fn poll(
        &mut self,
        timeout: Duration,
        mut handle: impl FnMut(AlertRecord) -> anyhow::Result<()>,
    ) -> anyhow::Result<bool> {
        let msg = match self.consumer.poll(timeout) {
            None => return Ok(false),
            Some(Err(e)) => {
                tracing::warn!(error = %e, "Kafka consumer error");
                return Ok(false);
            }
            Some(Ok(m)) => m,
        };
        match msg.payload().map(serde_json::from_slice::<AlertRecord>) {
            Some(Ok(a)) => {
                if self.seen.insert(&Self::identity(&a)) {
                    self.stats.alerts += 1;
                    handle(a)?;
                } else {
                    self.stats.duplicates += 1;
                }
            }
            _ => {
                self.stats.bad += 1;
                tracing::warn!(
                    offset = msg.offset(),
                    "skipping a message that is not an alert line"
                );
            }
        }
        self.consumer
            .store_offset_from_message(&msg)
            .context("storing the alert offset")?;
        Ok(true)
    }
}

/// Checkpoint file of `partition` of `topic` in `dir` (for operators and tests).
pub fn checkpoint_path(dir: &Path, topic: &str, partition: i32) -> PathBuf {
    dir.join(format!("{topic}-{partition}.ckpt"))
}
