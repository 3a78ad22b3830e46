//! Checkpoint files: the engine's learned state ([`Engine::checkpoint`]) written atomically
//! (temporary file, fsync, rename) and read back at start.

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

/// Restores `engine` from `path`; `Ok(false)` when there is no checkpoint yet.
pub fn load(engine: &mut Engine, path: &Path) -> anyhow::Result<bool> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => {
            return Err(e).with_context(|| format!("cannot read checkpoint {}", path.display()))
        }
    };
    engine
        .restore(&bytes)
        .with_context(|| format!("checkpoint {}", path.display()))?;
    Ok(true)
}
