//! Kafka adapters against librdkafka's in-process mock cluster (feature `kafka`; no broker).
//!
//! No sleeps: every wait is a bounded polling loop whose deadline fails the test; decisions
//! use event time from the data.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use flashpoint::app::kafka::topology::{
    checkpoint_path, Alerter, DetectWorker, IngestRouter, Publisher, WorkerOptions,
};
use flashpoint::config::kafka::{KafkaClient, KafkaSourceConfig};
use flashpoint::synth::{generate, SynthSpec};
use flashpoint::telemetry::Metrics;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::mocking::MockCluster;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};

use crate::support::{demo_config, engine};

/// Generous bound for a loop that normally ends in seconds; reaching it fails the test.
const DEADLINE: Duration = Duration::from_secs(300);

fn until(what: &str, start: Instant) {
    assert!(start.elapsed() < DEADLINE, "timed out waiting for {what}");
}

fn worker(
    cfg: &Arc<flashpoint::config::Config>,
    client: &KafkaClient,
    dir: &std::path::Path,
) -> DetectWorker {
    DetectWorker::new(
        Arc::clone(cfg),
        client,
        "mentions",
        "alerts",
        "detect",
        WorkerOptions {
            checkpoint_dir: dir.to_path_buf(),
            // Checkpoints by message count only: deterministic.
            checkpoint_interval: Duration::from_secs(3600),
            checkpoint_every: Some(3_000),
            sentiment_model: "lexicon".into(),
            metrics: None,
        },
    )
    .unwrap()
}

/// Two detect workers in one group; one dies mid-stream without a final checkpoint or commit;
/// the survivor takes its partitions over from their last checkpoints. After the alerter's
/// dedup the alert log equals a single-process replay of the same stream, line for line per
/// brand (every field, `at` included: the `fp-wm` headers and minute ticks give each partition
/// the single process's watermark).
#[test]
fn kafka_takeover_after_a_crash_equals_the_single_process_alert_log() {
    let cfg = demo_config();
    let stream = generate(&SynthSpec::demo()).mentions;

    // The single-process reference.
    let mut reference: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut single = engine(Arc::clone(&cfg));
    for m in &stream {
        single.process(m);
        for a in single.drain_alerts() {
            reference
                .entry(a.brand.clone())
                .or_default()
                .push(a.to_json_line());
        }
    }
    let total_alerts: usize = reference.values().map(Vec::len).sum();
    assert!(total_alerts > 10 && reference.len() >= 2, "{reference:?}");

    let cluster = MockCluster::new(1).unwrap();
    cluster.create_topic("mentions", 4, 1).unwrap();
    cluster.create_topic("alerts", 1, 1).unwrap();
    let client = KafkaClient::new(cluster.bootstrap_servers());

    // Ingest: route and publish, with one malformed record mid-stream on partition 0.
    let publisher = Publisher::new(&client, "mentions").unwrap();
    let partitions = publisher.partitions(Duration::from_secs(10)).unwrap();
    assert_eq!(partitions, 4);
    let mut router = IngestRouter::new(Arc::clone(&cfg), partitions).unwrap();
    let mut per_partition = [0i64; 4];
    let mut out = Vec::new();
    for (i, m) in stream.iter().enumerate() {
        router.route(m, &mut out);
        if i == stream.len() / 3 {
            out.push(flashpoint::app::kafka::topology::Outgoing {
                partition: 0,
                key: "x".into(),
                payload: Some(b"{not json".to_vec()),
                watermark: None,
                brands: "brightline".into(),
                root: 1,
            });
        }
        for o in out.drain(..) {
            per_partition[o.partition as usize] += 1;
            publisher.send(&o).unwrap();
        }
    }
    publisher.flush().unwrap();
    let records: i64 = per_partition.iter().sum();
    eprintln!(
        "published {records} records {per_partition:?}; router {:?}",
        router.stats()
    );
    assert!(per_partition.iter().all(|&n| n > 0));

    let dir = tempfile::tempdir().unwrap();
    let mut a = worker(&cfg, &client, dir.path());
    let mut b = worker(&cfg, &client, dir.path());

    // Run both until `a` holds partitions, has checkpointed, and is mid-way with work that is
    // not checkpointed yet, and the group has read about a third of the records.
    let start = Instant::now();
    loop {
        until("both workers to share the stream", start);
        a.poll(Duration::from_millis(50)).unwrap();
        b.poll(Duration::from_millis(50)).unwrap();
        let sa = a.stats();
        let done = sa.messages + b.stats().messages;
        if sa.checkpoints > 0
            && !b.partitions().is_empty()
            && a.uncheckpointed() > 500
            && done as i64 > records / 3
        {
            break;
        }
    }
    let a_parts = a.partitions();
    // A partition whose first message came after a's last checkpoint has no file yet; its
    // new owner reads it from the start instead, which is just as right.
    let a_checkpointed = a_parts
        .iter()
        .filter(|p| {
            checkpoint_path(dir.path(), "mentions", **p)
                .try_exists()
                .unwrap_or(false)
        })
        .count() as u64;
    let a_bad: u64 = a.stats().bad.values().sum();
    eprintln!(
        "killing worker a: partitions {a_parts:?}, {} messages not checkpointed",
        a.uncheckpointed()
    );
    a.abandon();

    // The survivor takes every partition over and reads to the end.
    let start = Instant::now();
    loop {
        until("the survivor to reach the end of every partition", start);
        b.poll(Duration::from_millis(50)).unwrap();
        let pos = b.positions();
        if pos.len() == 4 && (0..4).all(|p| pos[&p] == per_partition[p as usize]) {
            break;
        }
    }
    let sb = b.close().unwrap();
    eprintln!("survivor: {sb:?}");
    assert!(
        a_checkpointed >= 1 && sb.restored >= a_checkpointed,
        "took over from checkpoints: {a_checkpointed} of {a_parts:?} checkpointed"
    );
    // The malformed record was counted by whoever read it last, and skipped: the offsets
    // above reached the end of partition 0 past it.
    let b_bad: u64 = sb.bad.values().sum();
    assert!(
        a_bad + b_bad >= 1 && sb.bad.keys().all(|r| *r == "invalid_json"),
        "{sb:?}"
    );

    // The alerter reads the whole alerts topic, dropping re-produced lines.
    let probe: BaseConsumer = flashpoint::config::kafka::client_config(&client)
        .create()
        .unwrap();
    let (_, high) = probe
        .fetch_watermarks("alerts", 0, Duration::from_secs(10))
        .unwrap();
    let mut alerter = Alerter::new(&client, "alerts", "alerter", 100_000).unwrap();
    let mut got: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut read = 0i64;
    let start = Instant::now();
    while read < high {
        until("the alerter to read the alerts topic", start);
        if alerter
            .poll(Duration::from_millis(50), |a| {
                got.entry(a.brand.clone())
                    .or_default()
                    .push(a.to_json_line());
                Ok(())
            })
            .unwrap()
        {
            read += 1;
        }
    }
    let st = alerter.stats().clone();
    eprintln!(
        "alerts topic: {high} lines, {} distinct, {} duplicates; reference {total_alerts}",
        st.alerts, st.duplicates
    );
    assert_eq!(st.bad, 0);
    assert_eq!(st.alerts as usize, total_alerts);
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        reference.keys().collect::<Vec<_>>()
    );
    for (brand, want) in &reference {
        assert_eq!(&got[brand], want, "brand {brand}");
    }
}

/// Malformed messages on a source topic are counted by reason and skipped; the mentions
/// around them arrive, and the group's committed offset moves past all of them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kafka_source_counts_and_skips_malformed_messages() {
    let cluster = MockCluster::new(1).unwrap();
    cluster.create_topic("raw", 1, 1).unwrap();
    let client = KafkaClient::new(cluster.bootstrap_servers());
    let producer: BaseProducer = flashpoint::config::kafka::client_config(&client)
        .create()
        .unwrap();
    let good = |id: &str| {
        format!(
            "{{\"id\":\"{id}\",\"source\":\"kafka\",\"created_at\":\"2026-03-02T10:31:07Z\",\"text\":\"brightline van\",\"author\":{{\"id\":\"a\",\"handle\":\"@a\"}}}}"
        )
    };
    let two = format!("{}\n{}\n", good("m3"), good("m4"));
    let payloads: Vec<Option<String>> = vec![
        Some(good("m1")),
        Some("{not json".into()),
        None,
        Some("{\"id\":\"x\"}".into()),
        Some(good("m2")),
        Some(two),
    ];
    for p in &payloads {
        let mut r: BaseRecord<'_, str, str> = BaseRecord::to("raw");
        if let Some(p) = p {
            r = r.payload(p.as_str());
        }
        producer.send(r).map_err(|(e, _)| e).unwrap();
    }
    producer.flush(Duration::from_secs(10)).unwrap();

    let cfg = KafkaSourceConfig {
        client: client.clone(),
        topic: "raw".into(),
        group_id: "g".into(),
    };
    let metrics = Arc::new(Metrics::new(&["brightline"], 10));
    let (tx, mut rx) = tokio::sync::mpsc::channel(16);
    let cancel = tokio_util::sync::CancellationToken::new();
    let ctx = flashpoint::ingest::SourceCtx::new("k", tx, Arc::clone(&metrics), cancel.clone());
    let task = tokio::spawn(flashpoint::ingest::kafka_source::run(cfg, ctx));
    let mut ids = Vec::new();
    for _ in 0..4 {
        let item = tokio::time::timeout(DEADLINE, rx.recv())
            .await
            .expect("timed out waiting for a mention")
            .expect("the source ended early");
        ids.push(item.mention.id);
    }
    assert_eq!(ids, ["m1", "m2", "m3", "m4"]);
    // The last message was delivered, so its offset is stored; wait for the bad ones' count.
    let errors = |reason: &str| {
        metrics
            .ingest_decode_errors_total
            .with_label_values(&["k", reason])
            .get()
    };
    assert_eq!(errors("invalid_json"), 1);
    assert_eq!(errors("empty_message"), 1);
    assert_eq!(errors("missing_field"), 1);
    cancel.cancel();
    tokio::time::timeout(DEADLINE, task)
        .await
        .expect("the source did not stop")
        .unwrap()
        .unwrap();

    let check: BaseConsumer = flashpoint::config::kafka::client_config(&client)
        .set("group.id", "g")
        .create()
        .unwrap();
    let mut tpl = rdkafka::TopicPartitionList::new();
    tpl.add_partition("raw", 0);
    let committed = check
        .committed_offsets(tpl, Duration::from_secs(10))
        .unwrap();
    let offset = committed.find_partition("raw", 0).unwrap().offset();
    assert_eq!(offset, rdkafka::Offset::Offset(payloads.len() as i64));
}

/// A line re-produced after a takeover reaches the alerter twice; it is handled once.
#[test]
fn kafka_alerter_drops_re_produced_alert_lines() {
    let cluster = MockCluster::new(1).unwrap();
    cluster.create_topic("alerts", 1, 1).unwrap();
    let client = KafkaClient::new(cluster.bootstrap_servers());
    let cfg = demo_config();
    let mut e = engine(Arc::clone(&cfg));
    let mut alerts = Vec::new();
    for m in &generate(&SynthSpec::demo()).mentions {
        e.process(m);
        alerts.extend(e.drain_alerts());
        if alerts.len() >= 2 {
            break;
        }
    }
    let publisher = Publisher::new(&client, "alerts").unwrap();
    for a in [&alerts[0], &alerts[1], &alerts[0], &alerts[1]] {
        publisher.send_alert(a).unwrap();
    }
    publisher.flush().unwrap();
    let mut alerter = Alerter::new(&client, "alerts", "alerter", 1000).unwrap();
    let mut got = Vec::new();
    let (mut read, start) = (0, Instant::now());
    while read < 4 {
        until("four alert messages", start);
        if alerter
            .poll(Duration::from_millis(50), |a| {
                got.push(a);
                Ok(())
            })
            .unwrap()
        {
            read += 1;
        }
    }
    assert_eq!(got, alerts[..2]);
    assert_eq!(alerter.stats().duplicates, 2);
}

/// `--role ingest` takes `POST /v1/mentions` (issue 17): a durable push is answered 200 once
/// it is in the spool, its brand mentions reach the mentions topic, and once Kafka has
/// acknowledged them the spool counts them covered: a restart re-feeds nothing. A mention that
/// names no brand is not published; a bad line is refused and counted, the good ones around it
/// kept.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kafka_ingest_role_takes_durable_pushes_into_the_mentions_topic() {
    let cluster = MockCluster::new(1).unwrap();
    cluster.create_topic("mentions", 2, 1).unwrap();
    let client = KafkaClient::new(cluster.bootstrap_servers());
    let state = tempfile::tempdir().unwrap();
    let spool = state.path().join("spool");
    let toml = format!(
        "{}\n[[source]]\nid = \"push\"\ntype = \"http\"\nack = \"durable\"\nspool_dir = {:?}\n",
        flashpoint::app::demo::DEMO_CONFIG,
        spool.display().to_string()
    );
    let cfg = Arc::new(flashpoint::config::parse_str(&toml, "ingest.toml", &|_| None).unwrap());
    let metrics = Arc::new(Metrics::new(&["brightline"], 10));
    let shutdown = tokio_util::sync::CancellationToken::new();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let role = tokio::spawn(flashpoint::app::kafka::roles::ingest(
        Arc::clone(&cfg),
        client,
        "mentions".into(),
        Arc::clone(&metrics),
        shutdown.clone(),
        Some(listener),
    ));
    let now = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let line = |id: &str, text: &str| {
        format!(
            r#"{{"id":"{id}","source":"x","created_at":"{now}","text":"{text}","author":{{"id":"a{id}","handle":"@a{id}"}}}}"#
        )
    };
    let body = format!(
        "{}\n{{bad\n{}\n{}\n",
        line("p1", "brightline van parked outside again"),
        line("p2", "nothing about any brand"),
        line("p3", "northwind internet is down")
    );
    let v = crate::support::push_mentions(addr, body).await;
    assert_eq!(
        (v["accepted"].as_u64(), v["rejected"].as_u64()),
        (Some(3), Some(1))
    );
    let scrape = reqwest::get(format!("http://{addr}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        scrape.contains("flashpoint_"),
        "no metrics served: {scrape}"
    );

    // The two brand mentions arrive on the topic (each on its brand's partition).
    let bootstrap = cluster.bootstrap_servers();
    let ids = tokio::task::spawn_blocking(move || {
        let consumer: BaseConsumer =
            flashpoint::config::kafka::client_config(&KafkaClient::new(bootstrap))
                .set("group.id", "check")
                .set("auto.offset.reset", "earliest")
                .create()
                .unwrap();
        consumer.subscribe(&["mentions"]).unwrap();
        let mut ids = BTreeSet::new();
        let start = Instant::now();
        while ids.len() < 2 {
            until("the pushed mentions on the topic", start);
            if let Some(Ok(msg)) = consumer.poll(Duration::from_millis(200)) {
                if let Some(Ok(text)) = rdkafka::Message::payload_view::<str>(&msg) {
                    for id in ["p1", "p2", "p3"] {
                        if text.contains(&format!("\"id\":\"{id}\"")) {
                            ids.insert(id);
                        }
                    }
                }
            }
        }
        ids
    })
    .await
    .unwrap();
    assert_eq!(ids, BTreeSet::from(["p1", "p3"]));

    shutdown.cancel();
    let stats = tokio::time::timeout(DEADLINE, role)
        .await
        .expect("the ingest role did not stop")
        .unwrap()
        .unwrap();
    assert_eq!((stats.received, stats.matched), (3, 2), "{stats:?}");
    // Everything pushed was acknowledged by Kafka: a restart's spool re-feeds nothing.
    let (tx, _rx) = tokio::sync::mpsc::channel(4);
    let (reopened, handle, recovery) = flashpoint::ingest::spool::Spool::open(&spool, tx).unwrap();
    assert_eq!(
        recovery.count(),
        0,
        "the spool still holds acknowledged pushes"
    );
    drop(handle);
    reopened.finish().unwrap();
}
