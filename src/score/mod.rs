//! Scoring: sentiment, virality, windows and baselines.

pub mod sentiment;
