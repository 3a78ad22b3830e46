//! The file source: replays an NDJSON archive (plain, gzip or zstd) into the pipeline, or with
//! `follow = true` tails a growing plain NDJSON file.
//!
//! Policy when the queue is full: **block** (the file waits). A bad line is counted by reason
//! and skipped; a line longer than [`MAX_LINE_BYTES`] is read past without being held
//! (`oversize`). Without `follow` the source ends at the end of the file; `flashpoint run` ends
//! once every source has ended and no push route is configured.

use std::time::Instant;

use tokio::io::{AsyncBufReadExt, BufReader};

use super::archive;
use super::SourceCtx;
use crate::config::source::FileConfig;
use crate::domain::codec::{decode, MAX_LINE_BYTES};

/// Mentions per batch read from an archive.
const BATCH: usize = 256;

/// Runs the file source until the file ends (or forever with `follow`) or `ctx.cancel` fires.
pub async fn run(cfg: FileConfig, ctx: SourceCtx) -> anyhow::Result<()> {
    if cfg.follow {
        return follow(cfg, ctx).await;
    }
    let reader_ctx = ctx.clone();
    let path = cfg.path.clone();
    tokio::task::spawn_blocking(move || {
        let ctx = reader_ctx;
        let mut on_error = |e: &archive::ReadError| {
            ctx.bad_input(e.reason, &format!("{}:{}: {}", e.path, e.line, e.message))
        };
        let mut on_batch = |batch: Vec<crate::domain::Mention>| {
            let received = Instant::now();
            for mention in batch {
                ctx.line();
                if !ctx.emit_blocking(mention, received) {
                    return false;
                }
            }
            true
        };
        archive::read_batches(&[path], BATCH, &mut on_error, &mut on_batch)
    })
    .await??;
    Ok(())
}

async fn follow(cfg: FileConfig, ctx: SourceCtx) -> anyhow::Result<()> {
    let file = tokio::fs::File::open(&cfg.path).await?;
    let mut reader = BufReader::new(file);
    let mut line = Vec::new();
    // Inside a line longer than MAX_LINE_BYTES: read past it without holding it.
    let mut oversize = false;
    loop {
        let available = tokio::select! {
            r = reader.fill_buf() => r?,
            _ = ctx.cancel.cancelled() => return Ok(()),
        };
        if available.is_empty() {
            // At the end for now: keep the partial line and look again after the interval.
            tokio::select! {
                _ = tokio::time::sleep(cfg.poll_interval) => continue,
                _ = ctx.cancel.cancelled() => return Ok(()),
            }
        }
        let (used, ends) = match memchr::memchr(b'\n', available) {
            Some(i) => (i + 1, true),
            None => (available.len(), false),
        };
        if !oversize {
            if line.len() + used - usize::from(ends) > MAX_LINE_BYTES {
                oversize = true;
                line = Vec::new();
            } else {
                line.extend_from_slice(&available[..used]);
            }
        }
        reader.consume(used);
        if !ends {
            continue;
        }
        ctx.line();
        if std::mem::take(&mut oversize) {
            ctx.bad_input(
                "oversize",
                &format!("a line longer than {MAX_LINE_BYTES} bytes: skipped unread"),
            );
            continue;
        }
        let text = &line[..line.len() - 1];
        match decode(text) {
            Ok(m) => {
                if !ctx.emit(m, Instant::now()).await {
                    return Ok(());
                }
            }
            Err(e) if e.reason() == "empty_line" => {}
            Err(e) => ctx.bad_input(e.reason(), e.message()),
        }
        line.clear();
    }
}
