//! Checkpoint files, the one place that writes and reads them: the engine's learned state
//! ([`Engine::checkpoint`], which carries its own magic and version) written atomically
//! (temporary file, fsync, rename) and read back at start.
//!
//! Two on-disk formats:
//!
//! | format | written by | bytes |
//! |---|---|---|
//! | engine checkpoint | `replay --checkpoint-out`, `run` with `[checkpoint]` ([`save`], [`load`]) | the engine's state |
//! | partition checkpoint | a detect worker of the partitioned topology ([`save_partition`], [`load_partition`]) | `FPKPART1`, the partition's next offset (i64, little-endian), the engine's state |

use std::io::Write;
use std::path::Path;

use anyhow::Context;

use super::engine::Engine;

/// Writes `engine`'s checkpoint to `path` atomically: a crash leaves the previous file intact.
pub fn save(engine: &Engine, path: &Path) -> anyhow::Result<usize> {
    let bytes = engine.checkpoint()?;
    write_atomic(path, &bytes)?;
    Ok(bytes.len())
}

/// Writes `bytes` to `path` atomically (temporary file, fsync, rename).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let tmp = path.with_extension("tmp");
    {
        let mut f = std::fs::File::create(&tmp)
            .with_context(|| format!("cannot write checkpoint {}", tmp.display()))?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)
        .with_context(|| format!("cannot move the checkpoint into {}", path.display()))?;
    Ok(())
}

/// The whole file at `path`; `Ok(None)` when there is none yet.
fn read(path: &Path) -> std::io::Result<Option<Vec<u8>>> {
    match std::fs::read(path) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Restores `engine` from `path`; `Ok(false)` when there is no checkpoint yet.
pub fn load(engine: &mut Engine, path: &Path) -> anyhow::Result<bool> {
    let Some(bytes) =
        read(path).with_context(|| format!("cannot read checkpoint {}", path.display()))?
    else {
        return Ok(false);
    };
    engine
        .restore(&bytes)
        .with_context(|| format!("checkpoint {}", path.display()))?;
    Ok(true)
}

/// The first bytes of a partition checkpoint.
const PARTITION_MAGIC: &[u8; 8] = b"FPKPART1";

/// Writes a partition checkpoint (`engine`'s state and the partition's `next_offset`) to `path`
/// atomically.
pub fn save_partition(engine: &Engine, next_offset: i64, path: &Path) -> anyhow::Result<()> {
    let mut bytes = PARTITION_MAGIC.to_vec();
    bytes.extend_from_slice(&next_offset.to_le_bytes());
    bytes.extend_from_slice(&engine.checkpoint()?);
    write_atomic(path, &bytes)
}

/// Restores `engine` from the partition checkpoint at `path` and returns the partition's next
/// offset; `Ok(None)` when there is no checkpoint yet.
pub fn load_partition(engine: &mut Engine, path: &Path) -> anyhow::Result<Option<i64>> {
    let Some(bytes) = read(path).with_context(|| format!("reading {}", path.display()))? else {
        return Ok(None);
    };
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
