//! Alerting: the alert log record (docs/contracts.md §3), the [`Notifier`] trait that sinks
//! implement, the dispatcher that fans alerts out to notifiers by team, and [`AlertOutput`],
//! the log → metrics → notifiers path every wiring hands its decided alerts to.
//!
//! Input: [`AlertRecord`]s produced by `detect`. Output: alert log lines and notifier calls.
//! Invariants: the alert log is written by one owner in decision order, so a replay's log is
//! byte-identical at any speed; a notifier never sees an alert whose teams it does not carry.

mod board_feed;
mod console;
pub mod deliver;
mod dispatch;
mod log;
mod metered;
pub mod outbox;
mod output;
pub mod pages;
pub mod policy;
pub mod render;

pub mod sink;

pub use crate::domain::alert::{
    truncate_chars, Action, AlertMetrics, AlertRecord, TopPost, MAX_DEDUP_KEY_CHARS,
    MAX_SUMMARY_CHARS, MAX_TOP_POSTS,
};
pub use board_feed::BoardFeed;
pub use console::ConsoleNotifier;
pub use deliver::{Delivery, DeliveryOptions, RetryPolicy};
pub use dispatch::{blackhole, Dispatcher, Notifier, NotifyError, NotifyErrorKind, NotifyFuture};
pub use log::AlertLog;
pub use metered::Metered;
pub use output::AlertOutput;
pub use pages::{PageLedger, Verb};
