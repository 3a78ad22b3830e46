//! Scoring: everything computed from one mention alone, once, into its
//! [`Scored`](crate::domain::scored::Scored) record: sentiment and complaint models
//! ([`sentiment`]), category scores and single-post risk ([`classify`]), key terms ([`terms`]),
//! the near-duplicate fingerprint ([`simhash`]) and the bot discount ([`trust`]).
//!
//! Nothing here keeps state over time; that is `detect`'s.

pub mod classify;
pub mod sentiment;
pub mod simhash;
pub mod terms;
pub mod trust;
