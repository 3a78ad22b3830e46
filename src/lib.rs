//! flashpoint: a real-time social-listening and crisis-detection stream processor.
//!
//! ```text
//! sources, archives ─▶ ingest ───▶ brand ──▶ score ──────▶ detect ───────▶ alert ─▶ alert log, sinks
//!  (ingest::archive,   (decode,    (match,   (sentiment,   (windows,       (render, log,
//!   jetstream, http,    one         thread)   complaint,    baselines,      dispatch, routing,
//!   file, kafka…)       bounded               category,     complaint       outbox, delivery)
//!                       queue)                simhash,      streams,
//!                                             bot weight)   incidents)
//!        replay::watermark orders event time; replay::writer archives a live run;
//!        stages pass domain values (Mention → Scored → IncidentEvent → AlertRecord); app wires them
//! ```
//!
//! Layers, top to bottom (a module imports only lower layers; stages never import each other;
//! no two files import each other; checked by `tests/it/layers.rs`):
//!
//! | module | layer | what it holds |
//! |---|---|---|
//! | [`cli`] | 6 cli | argument parsing and dispatch to the command bodies, nothing else |
//! | [`eval`] | 5 eval | NAB realTweets, the scenario suite, sentiment evaluation, their commands |
//! | [`app`] | 4 app | all wiring: the engine, incident sentiment refinement, replay and report, the live service (`run`, `service`, `sources`), commands, demo, checkpoint files, the Kafka topology and roles (`app::kafka`, feature `kafka`) |
//! | [`ingest`] | 3 stage | sources (Jetstream, Mastodon, HTTP push, file, Kafka, Arroyo aggregates), archive reading, the shared source context |
//! | [`brand`] | 3 stage | brand matching over all brands at once, thread attribution |
//! | [`score`] | 3 stage | everything computed from one mention: sentiment and complaint models, categories and risk, key terms, SimHash, bot weight |
//! | [`detect`] | 3 stage | everything over event time: windows, baselines, virality, clusters, evidence, grading, incidents, the detector emitting incident events |
//! | [`alert`] | 3 stage | rendering incident events into alert lines, the alert log, notifiers, dispatch, routing, the outbox, delivery, sinks |
//! | [`replay`] | 3 stage | the event-time watermark and the archive writer |
//! | [`synth`] | 3 stage | the deterministic synthetic stream behind the demo and the scenarios |
//! | [`telemetry`] | 2 telemetry | Prometheus metrics, the HTTP endpoint, the incident board and its JSON API |
//! | [`config`] | 1 config | TOML → validated [`config::Config`] (all errors at once), typed sources, sinks and Kafka settings |
//! | [`domain`] | 0 domain | the contracts: mention and its NDJSON codec, event time, brands, severities, categories, `Scored`, incident events, the alert line, stable hashes |
//!
//! Invariants: decisions use event time only; every channel is bounded; the same archive and
//! configuration give a byte-identical alert log at any replay speed.

pub mod alert;
pub mod app;
pub mod brand;
pub mod cli;
pub mod config;
pub mod detect;
pub mod domain;
pub mod eval;
pub mod ingest;
pub mod replay;
pub mod score;
pub mod synth;
pub mod telemetry;
