//! What a replay did ([`ReplaySummary`]): returned by [`super::replay()`] and read by the
//! report writer, so it lives apart from both.

use std::time::Duration;

use super::engine::{BrandPoint, EngineStats};
use super::refine::RefineStats;
use super::tally::Tally;
use crate::alert::AlertRecord;
use crate::ingest::archive::DecodeStats;

/// The outcome of a replay.
#[derive(Debug, Clone)]
pub struct ReplaySummary {
    pub decode: DecodeStats,
    pub engine: EngineStats,
    pub alerts: Vec<AlertRecord>,
    pub wall: Duration,
    /// Per-brand samples every 10 minutes of event time (only when a report is written).
    pub series: std::collections::BTreeMap<String, Vec<BrandPoint>>,
    /// What the incident sentiment model did (`None` when it was off).
    pub refine: Option<RefineStats>,
    /// Per-brand minute counts, authors and hashtags (only when a report is written).
    pub tally: Tally,
}
