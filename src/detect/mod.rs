//! Detection: everything that lives over event time, read from `Scored` records only.
//!
//! [`window`] keeps per-brand minute panes, [`baseline`] the seasonal expectation,
//! [`virality`] the count tails, growth fit and near-duplicate tracker, [`cluster`] groups
//! related posts, [`evidence`] accumulates bounded evidence, [`term_counts`] an incident's key
//! terms, [`threads`] each brand's busiest threads, [`streams`] each brand's complaint streams, [`grade`] turns signals into a severity, [`lifecycle`] runs one incident's life,
//! `brand_state` holds one brand's state, [`event`] reads an incident's signals and writes the
//! event (with its why-sentence) each action emits, and [`detector`] owns every brand's state
//! and the per-minute evaluation, emitting incident events for `alert` to render.

pub mod baseline;
mod brand_state;
pub mod cluster;
pub mod detector;
pub mod event;
pub mod evidence;
pub mod grade;
pub mod lifecycle;
pub mod streams;
pub mod term_counts;
pub mod threads;
pub mod virality;
pub mod window;
