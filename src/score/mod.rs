//! Scoring: sentiment, virality, windows and baselines.

pub mod baseline;
pub mod sentiment;
pub mod virality;
pub mod window;
