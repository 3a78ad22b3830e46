//! Replay: reading mention archives and ordering them in event time.
//!
//! [`archive`] turns files (plain, gzip, zstd, stdin) into batches of decoded mentions, counting
//! bad lines by reason; [`watermark`] decides which mentions are on time, late (within the
//! allowed lateness) or too late to count; [`writer`] writes a live run's mentions into rotating
//! zstd segments that [`archive`] reads back.

pub mod archive;
pub mod watermark;
pub mod writer;

pub use archive::{ArchiveError, DecodeStats, ReadError};
pub use watermark::{Admit, Watermark};
pub use writer::ArchiveWriter;
