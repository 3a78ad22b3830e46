//! Evaluations of the detector: [`nab`] (the Numenta Anomaly Benchmark's realTweets series,
//! scored the way NAB scores detectors) and [`scenarios`] (the scenario suite of generated
//! streams with expected outcomes).

pub mod nab;
pub mod scenarios;
