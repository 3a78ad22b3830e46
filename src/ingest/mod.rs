//! Ingest: decoding the canonical mention record (CONTRACTS §1) from any source.

pub mod record;
