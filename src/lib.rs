//! flashpoint: a real-time social-listening and crisis-detection stream processor.
//!
//! See `docs/architecture.md` for the pipeline picture; each module documents its stage.

pub mod alert;
pub mod brand;
pub mod config;
pub mod detect;
pub mod domain;
pub mod ingest;
pub mod replay;
pub mod score;
pub mod synth;
pub mod telemetry;
