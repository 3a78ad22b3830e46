//! Detection: classification, clustering and incidents.

pub mod classify;
pub mod cluster;
pub mod evidence;
pub mod grade;
pub mod incident;
pub mod terms;
