//! Detection: classification, clustering, grading and the incident lifecycle.
//!
//! [`classify`] scores categories and single-post risk, [`terms`] extracts key terms,
//! [`cluster`] groups related posts, [`evidence`] accumulates bounded evidence, [`grade`] turns
//! signals into a severity, [`incident`] runs one incident's life and [`detector`] owns every
//! brand's state and the per-minute evaluation.

pub mod classify;
pub mod cluster;
pub mod detector;
pub mod evidence;
pub mod grade;
pub mod incident;
pub mod terms;
