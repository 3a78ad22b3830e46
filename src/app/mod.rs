//! Wiring: builds the stages from a [`Config`], runs them on threads and tasks joined by
//! bounded channels, and owns shutdown. The only module that knows every stage.
//!
//! ```text
//! reader thread ──(bounded, Block)──▶ engine task ──▶ alert log (file)
//!  (decode, archives)                 (match, score,  └─(bounded, Block)─▶ dispatcher ─▶ notifiers
//!                                      window, detect)
//! ```

pub mod engine;
pub mod metered;
pub mod replay;
mod report;

pub use engine::{Engine, EngineStats};
pub use metered::Metered;
pub use replay::{replay, ReplayOptions, ReplaySummary, Speed};
