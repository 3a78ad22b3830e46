//! Replay: reading archives in event time.
