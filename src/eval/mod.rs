//! Evaluations of the detector against public benchmarks: [`nab`] (the Numenta Anomaly
//! Benchmark's realTweets series, scored the way NAB scores detectors).

pub mod nab;
