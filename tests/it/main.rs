//! flashpoint's integration tests: one binary, one module per area.
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

mod aggregates;
mod alert_sinks;
mod checkpoint;
mod cli;
mod cluster;
mod config_examples;
mod conventions;
mod dashboards;
mod delivery_hostile;
mod delivery_state;
mod detection;
mod detection_defects;
mod families;
mod incident_api;
mod ingest_durable;
mod ingest_event_time;
mod ingest_hostile;
mod ingest_mastodon;
mod ingest_push;
mod ingest_run;
mod ingest_ws;
mod input;
#[cfg(feature = "kafka")]
mod kafka;
mod layers;
mod nab;
mod progress;
mod refine;
mod replay_golden;
mod report;
mod scenarios;
mod sentiment_eval;
mod sentiment_onnx;
mod shards;
mod support;
mod telemetry_http;
