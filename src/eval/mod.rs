//! Evaluations of the detector: [`nab`] (the Numenta Anomaly Benchmark's realTweets series,
//! scored the way NAB scores detectors), [`scenarios`] (the scenario suite of generated
//! streams with expected outcomes), [`families`] (randomized scenario families judged on
//! held-out wording and seeds) and [`sentiment`] (sentiment models on SemEval-2017,
//! TweetEval and VADER's rated tweets).

pub mod entry;
pub mod families;
pub mod nab;
pub mod scenarios;
pub mod sentiment;
