//! Alerting: the alert log, routing and notifiers.
