//! Replay support: ordering mentions in event time and writing the archives that a replay
//! reads back.
//!
//! [`watermark`] decides which mentions are on time, late (within the allowed lateness) or too
//! late to count; [`writer`] writes a live run's mentions into rotating zstd segments that
//! `ingest::archive` reads back (plain, gzip, zstd or stdin, bad lines counted by reason).

pub mod watermark;
pub mod writer;

pub use watermark::{Admit, Watermark};
pub use writer::ArchiveWriter;
