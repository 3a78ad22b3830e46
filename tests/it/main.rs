//! flashpoint's integration tests: one binary, one module per area.
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

mod cli;
mod config_examples;
mod detection;
mod ingest_mastodon;
mod ingest_push;
mod ingest_run;
mod ingest_ws;
mod input;
mod replay_golden;
mod support;
mod telemetry_http;
