//! Wiring: builds the stages from a `Config`, runs them on threads and tasks joined by
//! bounded channels, and owns shutdown. The only module that knows every stage.
//!
//! ```text
//! reader thread ──(bounded, Block)──▶ engine task ──▶ alert log (file)
//!  (decode, archives)                 (match, score,  └─(bounded, Block)─▶ dispatcher ─▶ notifiers
//!                                      window, detect)
//! ```
//!
//! A replay puts [`prepare`]'s threads between reader and engine (bounded, Block, ordered
//! merge): the reader splits lines, the threads decode, match and score, the engine attributes
//! threads and detects (and counts the bad lines in the reader's order); with
//! `[pipeline] shards` > 1, [`shard`] splits its detection by brand over threads (bounded, Block,
//! events merged in one detector's order). Processed mentions go back to the thread that
//! decoded them, which frees them (bounded; freed by the engine when full): the allocator's
//! per-thread cache then serves the frees.
//!
//! [`run`](fn@run) is the live pipeline: source tasks (started by [`sources`]) feed the same engine
//! through one bounded queue, and the engine task also writes the archive (see its module
//! docs). [`service`] wraps it for `flashpoint run` (signals, alert delivery start and drain),
//! and `kafka` (feature `kafka`) splits it into the roles of the partitioned topology. Every
//! wiring hands its decided alerts to `alert::AlertOutput`. [`commands`] and [`demo`] hold the
//! bodies of the other commands, [`checkpoint`] every checkpoint file, [`progress`] the
//! progress bars of `replay` and `synth`.

pub mod checkpoint;
pub mod commands;
pub mod demo;
pub mod engine;
pub mod idle_clock;
#[cfg(feature = "kafka")]
pub mod kafka;
pub mod prepare;
pub mod progress;
pub mod recent_ids;
pub mod reconcile;
pub mod refine;
pub mod replay;
pub mod report;
pub mod run;
pub mod series;
pub mod service;
pub mod shard;
pub mod sources;
mod summary;
pub mod tally;

pub use engine::{Engine, EngineStats};

pub use refine::{RefineStats, Refiner};
pub use replay::{replay, ReplayOptions, Speed};
pub use run::{run, RunOptions, RunSummary};
pub use summary::ReplaySummary;
