//! flashpoint: a real-time social-listening and crisis-detection stream processor.
//!
//! ```text
//! archives / streams ─▶ ingest ─▶ brand ─▶ score ─▶ detect ─▶ alert
//!   (replay::archive)   (record   (match,   (sentiment,  (windows,   (alert log,
//!                        decode,   thread)   virality)    baselines,  routing,
//!                        watermark)                       incidents)  notifiers)
//! ```
//!
//! | module | stage |
//! |---|---|
//! | [`domain`] | the canonical mention and shared value types |
//! | [`config`] | TOML → validated [`config::Config`] (all errors at once) |
//! | [`ingest`] | decoding the canonical record |
//! | [`replay`] | archives (plain, gzip, zstd, stdin) and the event-time watermark |
//! | [`brand`] | brand matching over all brands at once, thread attribution |
//! | [`score`] | sentiment models, windows, baselines, virality |
//! | [`detect`] | classification, clustering, grading, incident lifecycle |
//! | [`alert`] | alert log, notifier trait, dispatcher |
//! | [`telemetry`] | Prometheus metrics, the HTTP endpoint, the incident board and its JSON API |
//! | [`synth`] | the deterministic synthetic stream behind the demo |
//! | [`eval`] | benchmarks of the detector (NAB realTweets) |
//! | [`app`] | wiring of all stages (the only module that knows them all) |
//! | [`cli`] | the command line |
//!
//! Invariants: decisions use event time only; every channel is bounded; the same archive and
//! configuration give a byte-identical alert log at any replay speed.

pub mod alert;
pub mod app;
pub mod brand;
pub mod cli;
pub mod config;
pub mod detect;
pub mod domain;
pub mod eval;
pub mod ingest;
pub mod replay;
pub mod score;
pub mod synth;
pub mod telemetry;
