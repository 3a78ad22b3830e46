//! Telemetry: the typed Prometheus metrics of every stage ([`metrics`]) and the HTTP endpoint
//! that serves them with health probes ([`http`]).

pub mod http;
pub mod metrics;

pub use http::serve;
pub use metrics::{Metrics, OTHER_BRAND};
