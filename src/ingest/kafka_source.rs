//! `[[source]] type = "kafka"`: canonical mention NDJSON from a topic, read by a consumer
//! group (docs/contracts.md §1 per message; a message may hold several lines).
//!
//! Inputs: the topic's messages. Outputs: mentions into the pipeline queue.
//! Policy when the queue is full: **block** (the consumer stops polling; the broker keeps the
//! messages). Offsets: a message's offset is stored only after all its mentions are queued
//! (or it was counted as bad), and stored offsets are auto-committed: at-least-once, and a bad
//! message never stalls the partition. Bad input is counted by reason
//! (`flashpoint_ingest_decode_errors_total{source,reason}`) and skipped.

use std::time::{Duration, Instant};

use anyhow::Context;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::Message;
use tokio_util::sync::CancellationToken;

use super::SourceCtx;
use crate::config::kafka::{client_config, KafkaSourceConfig};
use crate::domain::codec::decode;

/// How long one poll waits before cancellation is checked again.
const POLL: Duration = Duration::from_millis(100);

/// Reads `cfg.topic` with group `cfg.group_id` until `cancel` fires, calling `on_payload` with
/// each message's payload (`None` for a null payload) on the calling thread; blocking in it is
/// the backpressure. `true` = handled (delivered, or counted as bad): its offset is stored,
/// committed in the background and once more at the end. `false` = not delivered (shutdown):
/// the loop ends without storing it, so the group reads that message again.
///
/// Other decoders (aggregates, ...) reuse this loop with their own callback.
pub fn consume(
    cfg: &KafkaSourceConfig,
    cancel: &CancellationToken,
    mut on_payload: impl FnMut(Option<&[u8]>) -> bool,
) -> anyhow::Result<()> {
    let consumer: BaseConsumer = client_config(&cfg.client)
        .set("group.id", &cfg.group_id)
        .set("enable.auto.commit", "true")
        .set("enable.auto.offset.store", "false")
        .set("auto.offset.reset", "earliest")
        .create()
        .context("creating the Kafka consumer")?;
    consumer
        .subscribe(&[cfg.topic.as_str()])
        .with_context(|| format!("subscribing to {}", cfg.topic))?;
    while !cancel.is_cancelled() {
        let Some(r) = consumer.poll(POLL) else {
            continue;
        };
        let msg = match r {
            Ok(m) => m,
            Err(e) => {
                tracing::warn!(topic = %cfg.topic, error = %e, "Kafka consumer error");
                continue;
            }
        };
        if !on_payload(msg.payload()) {
            // Not (fully) delivered: its offset is not stored, so the group reads it again.
            break;
        }
        if let Err(e) = consumer.store_offset_from_message(&msg) {
            tracing::warn!(error = %e, "cannot store the Kafka offset");
        }
    }
    match consumer.commit_consumer_state(CommitMode::Sync) {
        // Nothing stored since the last auto-commit is not an error.
        Ok(()) | Err(rdkafka::error::KafkaError::ConsumerCommit(_)) => {}
        Err(e) => tracing::warn!(error = %e, "final Kafka offset commit failed"),
    }
    Ok(())
}

/// Runs the mention source until cancelled (or the pipeline closes).
pub async fn run(cfg: KafkaSourceConfig, ctx: SourceCtx) -> anyhow::Result<()> {
    ctx.set_connected(true);
    let c = ctx.clone();
    let result = tokio::task::spawn_blocking(move || {
        let ctx = c;
        consume(&cfg, &ctx.cancel.clone(), |payload| {
            deliver_payload(&ctx, payload)
        })
    })
    .await
    .context("the Kafka source thread panicked")?;
    ctx.set_connected(false);
    result
}

/// Decodes one message (one or more NDJSON lines) into the queue; `false` when the pipeline
/// has gone or the source is cancelled.
fn deliver_payload(ctx: &SourceCtx, payload: Option<&[u8]>) -> bool {
    let Some(payload) = payload.filter(|p| !p.is_empty()) else {
        ctx.line();
        ctx.bad_input("empty_message", "");
        return true;
    };
    let received = Instant::now();
    for line in payload.split(|b| *b == b'\n') {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        ctx.line();
        match decode(line) {
            Ok(mention) => {
                if !ctx.emit_blocking(mention, received) {
                    return false;
                }
            }
            Err(e) => ctx.bad_input(e.reason(), e.message()),
        }
    }
    true
}
