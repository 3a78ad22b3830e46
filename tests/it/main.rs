//! flashpoint's integration tests: one binary, one module per area.

mod cli;
mod config_examples;
mod input;
mod replay_golden;
mod support;
