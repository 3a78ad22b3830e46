//! Telemetry: the typed Prometheus metrics of every stage ([`metrics`]), the HTTP endpoint
//! that serves them with health probes ([`http`]), and the incident board ([`board`]) behind
//! the JSON API ([`api`]) that Grafana reads for what Prometheus cannot hold, and the log
//! subscriber with its progress-aware writer ([`logging`]).

pub mod api;
pub mod board;
pub mod http;
pub mod logging;
pub mod metrics;

pub use api::api_router;
pub use board::IncidentBoard;
pub use http::{serve, serve_router};
pub use metrics::{Metrics, OTHER_BRAND};
