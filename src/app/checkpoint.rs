//! Checkpoint files, the one place that writes and reads them: the engine's learned state
//! ([`Engine::checkpoint`], which carries its own magic and version) written atomically
//! (temporary file, fsync, rename, fsync of the directory) and read back at start.
//!
//! Two on-disk formats, each sealed in a checksum envelope:
//!
//! | format | written by | bytes |
//! |---|---|---|
//! | engine checkpoint | `replay --checkpoint-out`, `run` with `[checkpoint]` ([`save`], [`load`]) | the engine's state |
//! | partition checkpoint | a detect worker of the partitioned topology ([`save_partition`], [`load_partition`]) | `FPKPART1`, the partition's next offset (i64, little-endian), the engine's state |
//!
//! The envelope: `FPCKSUM1`, the body's length (u64, little-endian), the SHA-256 of the body
//! (32 bytes), the body. A file that does not start with `FPCKSUM1` is read as a checkpoint
//! of an earlier build (no envelope), so old checkpoints still load; a sealed file whose length
//! or checksum does not match is an error ([`Damaged`]) and is never restored from.
//!
//! Every save first keeps the file it replaces as `<path>.prev` (a hard link, else a copy), so
//! `run` can fall back to the previous good checkpoint when the newest is damaged
//! ([`load_or_previous`]).

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use sha2::Digest;

use super::engine::Engine;
use crate::config::state::sync_parent;

/// The first bytes of a checksummed checkpoint.
const SEAL_MAGIC: &[u8; 8] = b"FPCKSUM1";
/// Magic, body length, SHA-256.
const SEAL_HEADER: usize = 8 + 8 + 32;

/// A sealed checkpoint that failed its integrity check.
#[derive(Debug, thiserror::Error)]
pub enum Damaged {
    /// The file is shorter or longer than its header says (a torn or appended write).
    #[error("checkpoint is {found} bytes, its header promises {expected}: truncated or torn")]
    Length {
        /// Bytes the header announces (envelope included).
        expected: u64,
        /// Bytes found.
        found: u64,
    },
    /// The body's checksum differs from the one written with it (a flipped bit).
    #[error(
        "checkpoint checksum mismatch (sha256 {found}, written {expected}): the file is corrupt"
    )]
    Checksum {
        /// The checksum in the header (hex).
        expected: String,
        /// The checksum of the body read (hex).
        found: String,
    },
}

/// `body` in a checksum envelope.
pub fn seal(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(SEAL_HEADER + body.len());
    out.extend_from_slice(SEAL_MAGIC);
    out.extend_from_slice(&(body.len() as u64).to_le_bytes());
    out.extend_from_slice(&sha2::Sha256::digest(body));
    out.extend_from_slice(body);
    out
}

/// The body of a sealed checkpoint after checking it, or `bytes` unchanged when they carry no
/// envelope (a checkpoint written before checksums).
pub fn unseal(bytes: &[u8]) -> Result<&[u8], Damaged> {
    if !bytes.starts_with(SEAL_MAGIC) {
        return Ok(bytes);
    }
    let found = bytes.len() as u64;
    let mut len = [0u8; 8];
    if let Some(b) = bytes.get(8..16) {
        len.copy_from_slice(b);
    }
    let expected = u64::from_le_bytes(len).saturating_add(SEAL_HEADER as u64);
    if bytes.len() < SEAL_HEADER || expected != found {
        return Err(Damaged::Length { expected, found });
    }
    let body = &bytes[SEAL_HEADER..];
    let sum = sha2::Sha256::digest(body);
    if sum.as_slice() != &bytes[16..SEAL_HEADER] {
        return Err(Damaged::Checksum {
            expected: hex::encode(&bytes[16..SEAL_HEADER]),
            found: hex::encode(sum),
        });
    }
    Ok(body)
}

/// Writes `engine`'s checkpoint to `path` atomically: a crash leaves the previous file intact.
pub fn save(engine: &Engine, path: &Path) -> anyhow::Result<usize> {
    let bytes = seal(&engine.checkpoint()?);
    write_atomic(path, &bytes)?;
    Ok(bytes.len())
}

/// `path` with `suffix` appended to its whole name (`fp.tmp` + `.prev` = `fp.tmp.prev`).
fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_os_string();
    name.push(suffix);
    PathBuf::from(name)
}

/// Where the checkpoint that `path` replaced is kept.
pub fn previous_path(path: &Path) -> PathBuf {
    with_suffix(path, ".prev")
}

/// The temporary file a save of `path` writes first: `path` with `.tmp` appended, never a
/// name `path` itself could have (`with_extension("tmp")` of `fp.tmp` is `fp.tmp`: the save
/// would truncate the live checkpoint in place).
pub fn temporary_path(path: &Path) -> PathBuf {
    with_suffix(path, ".tmp")
}

/// Where a checkpoint that was refused, or that the engine panicked on, is set aside: out of
/// the way of the next start and of [`keep_previous`] (which would otherwise keep the refused
/// file as the fallback, over the good one), and kept for a look.
pub fn refused_path(path: &Path) -> PathBuf {
    with_suffix(path, ".refused")
}

/// Moves the checkpoint at `path` to [`refused_path`]; a failure is logged.
pub fn set_aside(path: &Path) {
    let to = refused_path(path);
    match std::fs::rename(path, &to) {
        Ok(()) => {
            tracing::warn!(path = %path.display(), to = %to.display(), "checkpoint set aside")
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => {
            tracing::error!(path = %path.display(), error = %e, "cannot set the checkpoint aside")
        }
    }
}

/// Fails when a checkpoint could not be written at `path` (its directory cannot be created or
/// is not writable): a probe at start, so a path that can never be saved is an error then, not
/// an error every interval and a lost state at the end. Creates the directory, as the archive
/// and the spool create theirs (`state/fp.ckpt` beside `state/archive` works on a first start).
pub fn probe_writable(path: &Path) -> anyhow::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create the checkpoint directory {}", dir.display()))?;
    }
    let tmp = temporary_path(path);
    std::fs::File::create(&tmp)
        .with_context(|| format!("cannot write checkpoint {}", tmp.display()))?;
    std::fs::remove_file(&tmp).with_context(|| format!("cannot remove the probe {}", tmp.display()))
}

/// Writes `bytes` to `path` atomically: a temporary file, fsync, the current file kept as
/// [`previous_path`], rename, fsync of the directory (so the rename itself survives a power
/// loss).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let tmp = temporary_path(path);
    {
        let mut f = std::fs::File::create(&tmp)
            .with_context(|| format!("cannot write checkpoint {}", tmp.display()))?;
        f.write_all(bytes)
            .with_context(|| format!("cannot write checkpoint {}", tmp.display()))?;
        f.sync_all()
            .with_context(|| format!("cannot fsync checkpoint {}", tmp.display()))?;
    }
    keep_previous(path);
    std::fs::rename(&tmp, path)
        .with_context(|| format!("cannot move the checkpoint into {}", path.display()))?;
    sync_parent(path).with_context(|| format!("cannot fsync the directory of {}", path.display()))
}

/// Keeps the file at `path` (if any) as its [`previous_path`]; a failure only costs the
/// fallback, so it is logged, not returned.
fn keep_previous(path: &Path) {
    if !path.try_exists().unwrap_or(false) {
        return;
    }
    let prev = previous_path(path);
    if let Err(e) = std::fs::remove_file(&prev) {
        if e.kind() != std::io::ErrorKind::NotFound {
            tracing::warn!(path = %prev.display(), error = %e, "cannot replace the previous checkpoint");
            return;
        }
    }
    if std::fs::hard_link(path, &prev).is_err() {
        if let Err(e) = std::fs::copy(path, &prev) {
            tracing::warn!(path = %prev.display(), error = %e, "cannot keep the previous checkpoint");
        }
    }
}

/// The whole file at `path`; `Ok(None)` when there is none yet.
fn read(path: &Path) -> std::io::Result<Option<Vec<u8>>> {
    match std::fs::read(path) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Restores `engine` from `path`; `Ok(false)` when there is no checkpoint yet. A damaged file
/// is an error whose chain holds a [`Damaged`].
pub fn load(engine: &mut Engine, path: &Path) -> anyhow::Result<bool> {
    let Some(bytes) =
        read(path).with_context(|| format!("cannot read checkpoint {}", path.display()))?
    else {
        return Ok(false);
    };
    let body = unseal(&bytes).with_context(|| format!("checkpoint {}", path.display()))?;
    engine
        .restore(body)
        .with_context(|| format!("checkpoint {}", path.display()))?;
    Ok(true)
}

/// What [`load_or_previous`] restored.
#[derive(Debug)]
pub struct Restored {
    /// The file the state came from; `None`: start fresh.
    pub from: Option<PathBuf>,
    /// Why each file tried before it was refused (`path: error`).
    pub rejected: Vec<String>,
    /// How many of the refused files failed their checksum or length check.
    pub damaged: u64,
    /// Whether the newest file (`path` itself) was there and refused.
    pub newest_refused: bool,
}

/// Restores `engine` from `path`, or when that file is unusable (damaged, undecodable, of
/// other brands) from [`previous_path`]; a file that fails leaves `engine` as `fresh()` builds
/// it. Only an engine that cannot be built is an error.
pub fn load_or_previous(
    engine: &mut Engine,
    path: &Path,
    fresh: &dyn Fn() -> anyhow::Result<Engine>,
) -> anyhow::Result<Restored> {
    let mut out = Restored {
        from: None,
        rejected: Vec::new(),
        damaged: 0,
        newest_refused: false,
    };
    for candidate in [path.to_path_buf(), previous_path(path)] {
        match load(engine, &candidate) {
            Ok(true) => {
                out.from = Some(candidate);
                return Ok(out);
            }
            Ok(false) => {}
            Err(e) => {
                if e.chain().any(|c| c.downcast_ref::<Damaged>().is_some()) {
                    out.damaged += 1;
                }
                out.rejected.push(format!("{e:#}"));
                out.newest_refused |= candidate == path;
                // A failed restore may have changed part of the state: start clean.
                *engine = fresh()?;
            }
        }
    }
    Ok(out)
}

/// The first bytes of a partition checkpoint.
const PARTITION_MAGIC: &[u8; 8] = b"FPKPART1";

/// Writes a partition checkpoint (`engine`'s state and the partition's `next_offset`) to `path`
/// atomically.
pub fn save_partition(engine: &Engine, next_offset: i64, path: &Path) -> anyhow::Result<()> {
    let mut bytes = PARTITION_MAGIC.to_vec();
    bytes.extend_from_slice(&next_offset.to_le_bytes());
    bytes.extend_from_slice(&engine.checkpoint()?);
    write_atomic(path, &seal(&bytes))
}

/// Restores `engine` from the partition checkpoint at `path` and returns the partition's next
/// offset; `Ok(None)` when there is no checkpoint yet. A damaged file is an error.
pub fn load_partition(engine: &mut Engine, path: &Path) -> anyhow::Result<Option<i64>> {
    let Some(bytes) = read(path).with_context(|| format!("reading {}", path.display()))? else {
        return Ok(None);
    };
    let bytes = unseal(&bytes).with_context(|| format!("checkpoint {}", path.display()))?;
    anyhow::ensure!(
        bytes.len() >= 16 && &bytes[..8] == PARTITION_MAGIC,
        "{} is not a partition checkpoint",
        path.display()
    );
    let mut off = [0u8; 8];
    off.copy_from_slice(&bytes[8..16]);
    engine
        .restore(&bytes[16..])
        .with_context(|| format!("checkpoint {}", path.display()))?;
    Ok(Some(i64::from_le_bytes(off)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_bodies_round_trip_and_unsealed_bytes_pass_through() {
        let body = b"learned state".repeat(100);
        let sealed = seal(&body);
        assert_eq!(unseal(&sealed).unwrap(), body.as_slice());
        // A checkpoint of an earlier build (a bare zstd frame) reads as it is.
        let legacy = zstd::encode_all(body.as_slice(), 1).unwrap();
        assert_eq!(unseal(&legacy).unwrap(), legacy.as_slice());
    }

    #[test]
    fn every_single_bit_flip_in_the_body_or_header_is_detected() {
        let body = b"0123456789abcdef".repeat(8);
        let sealed = seal(&body);
        let mut missed = Vec::new();
        // Every bit after the magic (a flipped magic reads as a legacy file, refused later by
        // the engine's own magic check).
        for bit in 8 * SEAL_MAGIC.len()..sealed.len() * 8 {
            let mut b = sealed.clone();
            b[bit / 8] ^= 1 << (bit % 8);
            if unseal(&b).is_ok() {
                missed.push(bit);
            }
        }
        assert!(missed.is_empty(), "undetected flips at bits {missed:?}");
    }

    #[test]
    fn a_torn_or_extended_file_is_a_length_error() {
        let sealed = seal(b"state");
        assert!(matches!(
            unseal(&sealed[..sealed.len() - 1]),
            Err(Damaged::Length { .. })
        ));
        assert!(matches!(unseal(&sealed[..10]), Err(Damaged::Length { .. })));
        let mut longer = sealed.clone();
        longer.push(0);
        assert!(matches!(unseal(&longer), Err(Damaged::Length { .. })));
    }

    #[test]
    fn a_save_keeps_the_replaced_file_as_prev() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.ckpt");
        write_atomic(&path, b"one").unwrap();
        assert!(!previous_path(&path).try_exists().unwrap());
        write_atomic(&path, b"two").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        assert_eq!(std::fs::read(previous_path(&path)).unwrap(), b"one");
        assert!(!temporary_path(&path).try_exists().unwrap());
    }

    /// A checkpoint named like a temporary file (`fp.tmp`) is not its own temporary file:
    /// before, the save truncated the live file in place and kept that same file as `.prev`.
    #[test]
    fn a_checkpoint_named_tmp_still_keeps_its_previous_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("fp.tmp");
        write_atomic(&path, b"one").unwrap();
        write_atomic(&path, b"two").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        assert_eq!(std::fs::read(previous_path(&path)).unwrap(), b"one");
    }
}
