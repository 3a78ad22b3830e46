//! Telemetry: Prometheus metrics and the HTTP endpoint.
