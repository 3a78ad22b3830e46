//! The cost of durable push acknowledgements (issue 17): `POST /v1/mentions` throughput with
//! `ack = "durable"` (spooled and fsynced before the 200, group commit) against
//! `ack = "queued"` (the 200 once the lines are on the in-memory queue).
//!
//! Each iteration: `CLIENTS` concurrent clients each post one batch of `BATCH` mentions to a
//! real server on 127.0.0.1 (port 0); a consumer task drains the queue as the engine would.
//! The durable spool lives in a temporary directory, so the number depends on that file
//! system's fsync (`fdatasync`) latency: run it on the disk the service will use
//! (`TMPDIR=<a directory on that disk> cargo bench --bench push`).
//!
//! Run: `cargo bench --bench push`

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use flashpoint::config::source::{AckMode, HttpPushConfig};
use flashpoint::ingest::push::{router, PushState};
use flashpoint::ingest::spool::Spool;
use flashpoint::telemetry::Metrics;

const CLIENTS: usize = 16;
const BATCH: usize = 50;

fn body(client: usize) -> String {
    (0..BATCH)
        .map(|i| {
            format!(
                "{{\"id\":\"{client}-{i}\",\"source\":\"x\",\"created_at\":\"2026-03-02T10:00:00Z\",\
                 \"text\":\"acme vans are late again, third time this week\",\
                 \"author\":{{\"id\":\"a\",\"handle\":\"@a\"}}}}\n"
            )
        })
        .collect()
}

fn push(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let mut g = c.benchmark_group("push");
    g.throughput(Throughput::Elements((CLIENTS * BATCH) as u64));
    g.measurement_time(Duration::from_secs(10));
    let bodies: Arc<Vec<String>> = Arc::new((0..CLIENTS).map(body).collect());
    for mode in [AckMode::Queued, AckMode::Durable] {
        let dir = tempfile::tempdir().expect("tempdir");
        let (addr, _spool) = rt.block_on(async {
            let metrics = Arc::new(Metrics::new(&[], 0));
            let (tx, mut rx) = tokio::sync::mpsc::channel(65_536);
            tokio::spawn(async move { while rx.recv().await.is_some() {} });
            let cfg = HttpPushConfig {
                token: None,
                max_body_bytes: 1 << 20,
                retry_after: Duration::from_secs(1),
                ack: mode,
                spool_dir: None,
            };
            let mut state = PushState::new("push", cfg, tx.clone(), metrics);
            let mut spool = None;
            if mode == AckMode::Durable {
                let (s, handle, _) = Spool::open(dir.path(), tx).expect("spool");
                state = state.with_spool(handle);
                spool = Some(s);
            }
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind");
            let addr = listener.local_addr().expect("addr");
            let app = router(state);
            tokio::spawn(async move { axum::serve(listener, app).await });
            (addr, spool)
        });
        let client = reqwest::Client::new();
        let url = format!("http://{addr}/v1/mentions");
        let name = match mode {
            AckMode::Queued => "queued",
            AckMode::Durable => "durable",
        };
        g.bench_function(name, |b| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let start = Instant::now();
                    for _ in 0..iters {
                        let mut posts = Vec::with_capacity(CLIENTS);
                        for body in bodies.iter() {
                            let req = client.post(&url).body(body.clone());
                            posts.push(tokio::spawn(async move {
                                let r = req.send().await.expect("post");
                                assert_eq!(r.status(), 200);
                            }));
                        }
                        for p in posts {
                            p.await.expect("client task");
                        }
                    }
                    start.elapsed()
                })
            })
        });
    }
    g.finish();
}

criterion_group!(benches, push);
criterion_main!(benches);
