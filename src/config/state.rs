//! State directories on disk: one process owns one, and what is written in one survives a
//! power loss. Shared by every stage that keeps state in a directory (the outbox, the push
//! spool, the archive writer, the checkpoint), which may not import each other.
//!
//! * [`lock_dir`] takes an exclusive, non-blocking lock on a file in the directory and writes
//!   the owner's pid there; when another process (or another open handle in this one) holds
//!   it, the caller gets that holder's pid to put in its own error.
//! * [`sync_dir`] fsyncs a directory, so that files created, renamed or removed in it are
//!   durable (a no-op where the platform cannot fsync a directory); [`sync_parent`] the
//!   directory holding a file.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Seek, SeekFrom, Write};
use std::path::Path;

/// The outcome of [`lock_dir`].
#[derive(Debug)]
pub enum DirLock {
    /// The lock, held while the file stays open.
    Held(File),
    /// Someone else holds it: their pid as written in the lock file (`unknown` if unreadable).
    Busy { holder: String },
}

/// Takes the lock on `dir/name` without waiting and records our pid in it.
pub fn lock_dir(dir: &Path, name: &str) -> io::Result<DirLock> {
    let path = dir.join(name);
    let mut f = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)?;
    match f.try_lock() {
        Ok(()) => {}
        Err(fs::TryLockError::WouldBlock) => {
            let holder = fs::read_to_string(&path)
                .ok()
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| String::from("unknown"));
            return Ok(DirLock::Busy { holder });
        }
        Err(fs::TryLockError::Error(e)) => return Err(e),
    }
    f.set_len(0)?;
    f.seek(SeekFrom::Start(0))?;
    writeln!(f, "{}", std::process::id())?;
    f.sync_data()?;
    Ok(DirLock::Held(f))
}

/// Fsyncs directory `dir`, so that files created, renamed or removed in it survive a power
/// loss.
#[cfg(unix)]
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Fsyncs directory `dir` (not possible on this platform: a no-op).
#[cfg(not(unix))]
pub fn sync_dir(_dir: &Path) -> io::Result<()> {
    Ok(())
}

/// Fsyncs the directory holding `path` (the current directory for a bare file name).
pub fn sync_parent(path: &Path) -> io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    sync_dir(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_held_lock_names_its_holder_and_is_released_on_drop() {
        let dir = tempfile::tempdir().unwrap();
        let held = match lock_dir(dir.path(), "x.lock").unwrap() {
            DirLock::Held(f) => f,
            DirLock::Busy { holder } => panic!("a fresh directory is busy ({holder})"),
        };
        match lock_dir(dir.path(), "x.lock").unwrap() {
            DirLock::Busy { holder } => assert_eq!(holder, std::process::id().to_string()),
            DirLock::Held(_) => panic!("a held lock was taken twice"),
        }
        drop(held);
        assert!(matches!(
            lock_dir(dir.path(), "x.lock").unwrap(),
            DirLock::Held(_)
        ));
        sync_dir(dir.path()).unwrap();
    }
}
