//! The file source: replays an NDJSON archive (plain, gzip or zstd) into the pipeline, or with
//! `follow = true` tails a growing plain NDJSON file.
//!
//! Policy when the queue is full: **block** (the file waits). A bad line is counted by reason
//! and skipped; a line longer than [`MAX_LINE_BYTES`] is read past without being held
//! (`oversize`). Without `follow` the source ends at the end of the file; `flashpoint run` ends
//! once every source has ended and no push route is configured.
//!
//! With `follow` the path is watched like `tail -F`: a file truncated under the reader is read
//! again from its start, and a path that comes to name another file (rotation by rename, a
//! replaced file, a swapped symlink) has the old file read to its end and the new one from its
//! start; each switch is logged and counted (`file_truncated`, `file_replaced`). A file
//! truncated and written again past the read offset between two polls (which `tail -F` misses)
//! is caught by comparing the last [`TAIL_BYTES`] bytes read with what the file holds there:
//! a difference is a truncation. A rewrite that puts back the very same bytes there is not
//! seen.

use std::time::Instant;

use tokio::io::{AsyncBufReadExt, BufReader};

use super::archive;
use super::SourceCtx;
use crate::config::source::FileConfig;
use crate::domain::codec::{decode, MAX_LINE_BYTES};

/// How many of the last bytes read a followed file is checked against at each poll.
const TAIL_BYTES: usize = 64;

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

/// The identity of a file: device and inode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileId {
    dev: u64,
    ino: u64,
}

impl FileId {
    fn of(m: &std::fs::Metadata) -> FileId {
        use std::os::unix::fs::MetadataExt;
        FileId {
            dev: m.dev(),
            ino: m.ino(),
        }
    }
}

/// What the followed path shows at the end of what was read.
#[derive(Debug, PartialEq, Eq)]
enum PathState {
    /// The open file, still as long as what was read (or longer): keep reading it.
    Same,
    /// The open file is shorter than what was read (`copytruncate`): read it again from the
    /// start.
    Truncated,
    /// The path names another file now (rotated by rename, replaced, a symlink swapped): the
    /// open one is read to its end, then the new one from its start.
    Replaced,
}

/// Compares the path with the open file (`open`, read up to `offset`, whose last bytes were
/// `tail`). A path that does not exist for now (between a rename and the new file's creation)
/// keeps the open file.
async fn path_state(path: &str, open: FileId, offset: u64, tail: &[u8]) -> PathState {
    match tokio::fs::metadata(path).await {
        // A directory or a FIFO where the file was (a mistake, or a swap half done) is no file
        // to read: keep the open one, as for a missing path, and look again. Opening a FIFO
        // would block the source, and reading a directory would fail the run.
        Ok(m) if !m.is_file() => PathState::Same,
        Ok(m) if FileId::of(&m) != open => PathState::Replaced,
        Ok(m) if m.len() < offset => PathState::Truncated,
        Ok(_) if !holds_at(path, open, offset, tail).await => PathState::Truncated,
        _ => PathState::Same,
    }
}

/// Whether the file at `path`, if it is still the open file (`open`), holds `tail` just before
/// `offset`. Another file there (swapped since the look at its metadata) or an unreadable one
/// counts as holding it: the next look sees the swap, or looks again.
async fn holds_at(path: &str, open: FileId, offset: u64, tail: &[u8]) -> bool {
    use tokio::io::{AsyncReadExt, AsyncSeekExt};
    let Some(start) = offset.checked_sub(tail.len() as u64) else {
        return true;
    };
    if tail.is_empty() {
        return true;
    }
    let Ok(mut f) = tokio::fs::File::open(path).await else {
        return true;
    };
    if f.metadata().await.map_or(true, |m| FileId::of(&m) != open) {
        return true;
    }
    let mut buf = vec![0u8; tail.len()];
    if f.seek(std::io::SeekFrom::Start(start)).await.is_err() {
        return true;
    }
    match f.read_exact(&mut buf).await {
        Ok(_) => buf == tail,
        // Shorter than `offset` since the size was read: a truncation the next look sees.
        Err(_) => true,
    }
}

/// Opens the followed file; the error names the path.
async fn open_followed(path: &str) -> anyhow::Result<(BufReader<tokio::fs::File>, FileId)> {
    let kind = tokio::fs::metadata(path)
        .await
        .map_err(|e| anyhow::anyhow!("cannot stat the followed file {path}: {e}"))?;
    if !kind.is_file() {
        anyhow::bail!("the followed path {path} is not a regular file");
    }
    let file = tokio::fs::File::open(path)
        .await
        .map_err(|e| anyhow::anyhow!("cannot open the followed file {path}: {e}"))?;
    let meta = file
        .metadata()
        .await
        .map_err(|e| anyhow::anyhow!("cannot stat the followed file {path}: {e}"))?;
    Ok((BufReader::new(file), FileId::of(&meta)))
}

/// Tails the file like `tail -F`: a file truncated under it is read again from the start, and
/// when the path comes to name another file (rotation by rename, a replaced file, a swapped
/// symlink) the old one is read to its end and the new one from its start. Each switch is
/// logged at warn and counted in `flashpoint_ingest_decode_errors_total`
/// (`reason="file_truncated"|"file_replaced"`); a partial last line of the old file is decoded
/// as a line of its own.
async fn follow(cfg: FileConfig, ctx: SourceCtx) -> anyhow::Result<()> {
    let (mut reader, mut id) = open_followed(&cfg.path).await?;
    // Bytes of the open file consumed so far.
    let mut offset: u64 = 0;
    let mut line = Vec::new();
    // Inside a line longer than MAX_LINE_BYTES: read past it without holding it.
    let mut oversize = false;
    // The last bytes consumed (at most TAIL_BYTES), ending at `offset`.
    let mut tail: Vec<u8> = Vec::with_capacity(2 * TAIL_BYTES);
    // Back from a poll's wait: look at the path before reading on, since a file rewritten
    // meanwhile would otherwise be read from the old offset.
    let mut polled = false;
    loop {
        let looked = if std::mem::take(&mut polled) {
            Some(path_state(&cfg.path, id, offset, &tail).await)
        } else {
            None
        };
        let available: &[u8] = if looked == Some(PathState::Truncated) {
            &[]
        } else {
            tokio::select! {
                r = reader.fill_buf() => r.map_err(|e| anyhow::anyhow!("cannot read the followed file {}: {e}", cfg.path))?,
                _ = ctx.cancel.cancelled() => return Ok(()),
            }
        };
        if available.is_empty() {
            // Just looked (back from a poll's wait): the same answer.
            let state = match looked {
                Some(state) => state,
                None => path_state(&cfg.path, id, offset, &tail).await,
            };
            if state == PathState::Replaced
                && !reader.fill_buf().await.map_or(true, <[u8]>::is_empty)
            {
                // Written to before the switch was seen: read the old file to its end first.
                continue;
            }
            if state != PathState::Same {
                let reopened = match state {
                    PathState::Truncated => {
                        use tokio::io::AsyncSeekExt;
                        reader.seek(std::io::SeekFrom::Start(0)).await.map(|_| id)
                    }
                    _ => match open_followed(&cfg.path).await {
                        Ok((r, new_id)) => {
                            reader = r;
                            Ok(new_id)
                        }
                        Err(e) => Err(std::io::Error::other(e.to_string())),
                    },
                };
                match reopened {
                    Ok(new_id) => {
                        let reason = if state == PathState::Truncated {
                            "file_truncated"
                        } else {
                            "file_replaced"
                        };
                        ctx.metrics
                            .ingest_decode_errors_total
                            .with_label_values(&[&ctx.id, reason])
                            .inc();
                        tracing::warn!(source = %ctx.id, path = %cfg.path, reason, read_bytes = offset, "followed file truncated or replaced: reading it from the start");
                        id = new_id;
                        offset = 0;
                        tail.clear();
                        // The old file's last line, without its newline.
                        let rest = std::mem::take(&mut line);
                        if std::mem::take(&mut oversize) {
                            ctx.line();
                            ctx.bad_input(
                                "oversize",
                                &format!(
                                    "a line longer than {MAX_LINE_BYTES} bytes: skipped unread"
                                ),
                            );
                        } else if !rest.is_empty() {
                            ctx.line();
                            if !emit_line(&ctx, &rest).await {
                                return Ok(());
                            }
                        }
                        continue;
                    }
                    // Gone again between the look and the open: look again after the interval.
                    Err(e) => {
                        tracing::warn!(source = %ctx.id, path = %cfg.path, error = %e, "cannot reopen the followed file")
                    }
                }
            }
            // At the end for now: keep the partial line and look again after the interval.
            tokio::select! {
                _ = tokio::time::sleep(cfg.poll_interval) => {
                    polled = true;
                    continue;
                }
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
        let read = &available[..used];
        tail.extend_from_slice(&read[read.len().saturating_sub(TAIL_BYTES)..]);
        if tail.len() > TAIL_BYTES {
            tail.drain(..tail.len() - TAIL_BYTES);
        }
        reader.consume(used);
        offset += used as u64;
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
        if !emit_line(&ctx, &line[..line.len() - 1]).await {
            return Ok(());
        }
        line.clear();
    }
}

/// Decodes one line (without its newline) and queues it; bad lines are counted. `false` when
/// the source must stop.
async fn emit_line(ctx: &SourceCtx, text: &[u8]) -> bool {
    match decode(text) {
        Ok(m) => ctx.emit(m, Instant::now()).await,
        Err(e) if e.reason() == "empty_line" => true,
        Err(e) => {
            ctx.bad_input(e.reason(), e.message());
            true
        }
    }
}
