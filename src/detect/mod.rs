//! Detection: classification, clustering and incidents.

pub mod classify;
pub mod cluster;
pub mod terms;
