//! Starting the configured sources: the one place that turns a typed `[[source]]`
//! ([`SourceConfig`]) into its reader, for every wiring path (`app::run` and the partitioned
//! topology's ingest role).
//!
//! Inputs: a parsed source and its [`SourceCtx`] (the mention queue, metrics, cancellation).
//! Outputs: a task to run, or, for `type = "http"`, the push route's state to serve. Which
//! sources a wiring path accepts is decided here too: without an aggregate-row queue an
//! `arroyo-aggregates` source is an error, and a build without the `kafka` feature refuses
//! `type = "kafka"`.

use std::future::Future;
use std::pin::Pin;

use crate::config::{SourceConfig, SourceKind};
use crate::ingest::aggregates::AggregateTx;
use crate::ingest::{self, SourceCtx};

/// A source's reader: runs until its input ends, it fails, or its context is cancelled.
pub type SourceTask = Pin<Box<dyn Future<Output = anyhow::Result<()>> + Send>>;

/// What a started source needs from its caller.
pub enum Started {
    /// A reader task, for the caller to spawn and supervise.
    Task(SourceTask),
    /// `type = "http"`: the state of `POST /v1/mentions`, for the caller to serve.
    Push(ingest::http::PushState),
}

/// Starts `source` over `ctx`. `aggregates`: the queue for `arroyo-aggregates` rows; `None`
/// where rows have nowhere to go (the `--role ingest` process), which refuses such a source.
/// Nothing runs until the caller spawns the returned task.
pub fn start(
    source: &SourceConfig,
    ctx: SourceCtx,
    aggregates: Option<&AggregateTx>,
) -> anyhow::Result<Started> {
    let task: SourceTask = match &source.kind {
        SourceKind::Jetstream(c) => Box::pin(ingest::jetstream::run(c.clone(), ctx)),
        SourceKind::Mastodon(c) => Box::pin(ingest::mastodon::run(c.clone(), ctx)),
        SourceKind::File(c) => Box::pin(ingest::file::run(c.clone(), ctx)),
        #[cfg(feature = "kafka")]
        SourceKind::Kafka(c) => Box::pin(ingest::kafka::run(c.clone(), ctx)),
        #[cfg(not(feature = "kafka"))]
        SourceKind::Kafka(_) => anyhow::bail!(crate::config::kafka::NO_FEATURE),
        SourceKind::ArroyoAggregates(c) => match aggregates {
            Some(tx) => Box::pin(ingest::aggregates::run(c.clone(), ctx, tx.clone())),
            None => anyhow::bail!(
                "source {}: arroyo-aggregates rows go to a single-process `run`, \
                 not to --role ingest",
                source.id
            ),
        },
        SourceKind::Http(c) => {
            return Ok(Started::Push(ingest::http::PushState::new(
                &source.id,
                c.clone(),
                ctx.tx,
                ctx.metrics,
            )))
        }
    };
    Ok(Started::Task(task))
}
