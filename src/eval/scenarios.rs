//! The scenario suite: deterministic generated streams, each with its expected outcome.
//!
//! Input: scenario files (`tests/scenarios/*.toml`): a seed, a length in days, the background
//! shape (per-brand rate scale, weekend factor), what to plant when (see
//! [`crate::synth::Plant`]) and what must happen (a page to given teams at a minimum severity
//! within a delay, a team told at info, a brand kept quiet, a number of incidents). Output: one
//! [`Outcome`] per scenario (first page delay, severity, teams, false pages per day, pass/fail)
//! and a table. Every scenario runs on the demo's brands (`config/demo.toml`) with default
//! detection settings, through the same [`Engine`] as a replay.
//!
//! A *page* is a trigger or escalate line at warning or above. A page for a brand that no
//! `page`/`incidents` expectation covers is a false page; any false page fails the scenario.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;

use serde::Deserialize;

use crate::app::Engine;
use crate::config::{self, Config, HumanDuration, Profile};
use crate::domain::alert::{Action, AlertRecord};
use crate::domain::{Category, EventTime, Severity};
use crate::score::classify::KeywordClassifier;
use crate::score::sentiment::model_by_name;
use crate::synth::{Builder, Plant, SynthSpec};

#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Invalid { path: String, message: String },
}

/// One scenario file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioFile {
    pub name: String,
    pub about: String,
    #[serde(default = "default_seed")]
    pub seed: u64,
    pub days: u32,
    #[serde(default)]
    pub background: BackgroundSpec,
    #[serde(default)]
    pub plant: Vec<PlantSpec>,
    #[serde(default)]
    pub expect: Vec<ExpectSpec>,
}

fn default_seed() -> u64 {
    7
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BackgroundSpec {
    /// Rate multiplier per brand id (others 1.0).
    pub scale: BTreeMap<String, f64>,
    /// Rate multiplier on Saturdays and Sundays (UTC).
    pub weekend: f64,
    /// Unbranded chatter multiplier.
    pub noise: f64,
}

impl Default for BackgroundSpec {
    fn default() -> Self {
        BackgroundSpec {
            scale: BTreeMap::new(),
            weekend: 1.0,
            noise: 1.0,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlantSpec {
    /// misconduct, positive_viral, outage, bot_burst, ambiguous, influencer, stray_watch,
    /// sarcasm, launch, billing, lone_influencer
    pub what: String,
    /// Day index from the start (0-based) and UTC time, e.g. `day = 1`, `time = "10:20"`.
    pub day: i64,
    pub time: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, tag = "kind", rename_all = "snake_case")]
pub enum ExpectSpec {
    /// `teams` paged at `min_severity` or above within `within` of plant `plant` (index).
    Page {
        plant: usize,
        brand: String,
        teams: Vec<String>,
        min_severity: String,
        within: HumanDuration,
        /// The pages may reach no team other than `teams`.
        #[serde(default)]
        only: bool,
    },
    /// `team` told (any severity) within `within` of plant `plant`, and the brand never paged.
    Told {
        plant: usize,
        brand: String,
        team: String,
        within: HumanDuration,
    },
    /// The brand is never paged.
    Quiet { brand: String },
    /// Exactly `count` incidents of the brand reach `min_severity`.
    Incidents {
        brand: String,
        min_severity: String,
        count: usize,
    },
}

/// What happened in one scenario.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub name: String,
    pub passed: bool,
    /// Minutes from the first page expectation's plant to its first matching page.
    pub first_page_delay_min: Option<f64>,
    /// Minutes from that plant to the first alert of any severity (a watch included) reaching
    /// every expected team.
    pub first_alert_delay_min: Option<f64>,
    /// Conduct/safety watches opened on brands that no expectation covers, per day.
    pub false_watches_per_day: f64,
    pub max_severity: Option<Severity>,
    pub teams: Vec<String>,
    pub false_pages_per_day: f64,
    pub failures: Vec<String>,
    pub alerts: Vec<AlertRecord>,
}

/// Reads every `*.toml` in `dir`, sorted by file name.
pub fn load_dir(dir: &Path) -> Result<Vec<ScenarioFile>, ScenarioError> {
    let io = |source| ScenarioError::Io {
        path: dir.display().to_string(),
        source,
    };
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .map_err(io)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    paths.sort();
    paths
        .iter()
        .map(|p| {
            let text = std::fs::read_to_string(p).map_err(|source| ScenarioError::Io {
                path: p.display().to_string(),
                source,
            })?;
            toml::from_str(&text).map_err(|e| ScenarioError::Invalid {
                path: p.display().to_string(),
                message: e.to_string(),
            })
        })
        .collect()
}

fn plant_kind(what: &str) -> Option<Plant> {
    Some(match what {
        "misconduct" => Plant::Misconduct,
        "positive_viral" => Plant::PositiveViral,
        "outage" => Plant::Outage,
        "bot_burst" => Plant::BotBurst,
        "ambiguous" => Plant::Ambiguous,
        "influencer" => Plant::Influencer,
        "stray_watch" => Plant::StrayWatch,
        "sarcasm" => Plant::Sarcasm,
        "launch" => Plant::Launch,
        "billing" => Plant::Billing,
        "lone_influencer" => Plant::LoneInfluencer,
        _ => return None,
    })
}

fn severity(s: &str, name: &str) -> Result<Severity, ScenarioError> {
    Severity::parse(s).ok_or_else(|| ScenarioError::Invalid {
        path: name.to_string(),
        message: format!("unknown severity {s:?}"),
    })
}

fn is_page(a: &AlertRecord) -> bool {
    a.action != Action::Resolve && a.severity >= Severity::Warning
}

fn at(a: &AlertRecord) -> i64 {
    a.event_time().map_or(i64::MIN, EventTime::millis)
}

/// Generates and runs one scenario at the default (balanced) sensitivity.
pub fn run(s: &ScenarioFile) -> Result<Outcome, ScenarioError> {
    run_with(s, Profile::Balanced)
}

/// Generates and runs one scenario with every brand at sensitivity `profile`.
pub fn run_with(s: &ScenarioFile, profile: Profile) -> Result<Outcome, ScenarioError> {
    let (cfg, stream, starts) = generate(s, profile)?;
    let alerts = replay_in_memory(&cfg, &stream.mentions, None).map_err(|m| invalid(s, m))?;
    judge(s, &starts, alerts)
}

/// Every alert line of one scenario (balanced sensitivity) to the end of its stream, with
/// detection split over `shards` threads (`app::shard`): the lines must not depend on it.
pub fn alerts_with_shards(
    s: &ScenarioFile,
    shards: usize,
) -> Result<Vec<AlertRecord>, ScenarioError> {
    let (cfg, stream, _) = generate(s, Profile::Balanced)?;
    replay_in_memory(&cfg, &stream.mentions, Some(shards)).map_err(|m| invalid(s, m))
}

fn invalid(s: &ScenarioFile, message: String) -> ScenarioError {
    ScenarioError::Invalid {
        path: s.name.clone(),
        message,
    }
}

/// The scenario's configuration, stream and plant start times.
fn generate(
    s: &ScenarioFile,
    profile: Profile,
) -> Result<(Arc<Config>, crate::synth::Synth, Vec<EventTime>), ScenarioError> {
    let invalid = |message: String| invalid(s, message);
    let mut cfg = config::parse_str(crate::app::demo::DEMO_CONFIG, "demo.toml", &|_| None)
        .map_err(|e| invalid(e.to_string()))?;
    for b in &mut cfg.brands {
        b.profile = profile;
    }
    let cfg = Arc::new(cfg);
    let mut b = Builder::new(s.seed, SynthSpec::demo().start, s.days);
    let scale = s.background.scale.clone();
    b.background(
        &|id| scale.get(id).copied().unwrap_or(1.0),
        s.background.weekend,
        s.background.noise,
    );
    let mut starts = Vec::new();
    for p in &s.plant {
        let kind =
            plant_kind(&p.what).ok_or_else(|| invalid(format!("unknown plant {:?}", p.what)))?;
        let (h, m) = p
            .time
            .split_once(':')
            .and_then(|(h, m)| Some((h.parse().ok()?, m.parse().ok()?)))
            .ok_or_else(|| invalid(format!("time {:?} is not HH:MM", p.time)))?;
        let when = b.at(p.day, h, m);
        starts.push(b.plant(kind, when).start);
    }
    Ok((cfg, b.finish(), starts))
}

/// The stream through a fresh engine; a model or matcher that cannot be built is an error,
/// never an empty alert list that would read as "nobody paged". With `shards` the detection is
/// split over that many threads and the input is finished (its last minutes decided, and a
/// sharded engine's last alerts collected).
fn replay_in_memory(
    cfg: &Arc<Config>,
    mentions: &[crate::domain::Mention],
    shards: Option<usize>,
) -> Result<Vec<AlertRecord>, String> {
    let sentiment = model_by_name(&cfg.pipeline.sentiment_model).map_err(|e| e.to_string())?;
    let mut engine = Engine::new(
        Arc::clone(cfg),
        sentiment,
        Box::new(KeywordClassifier::embedded()),
        None,
    )
    .map_err(|e| e.to_string())?;
    if let Some(n) = shards {
        engine.shard(n).map_err(|e| e.to_string())?;
    }
    let mut alerts = Vec::new();
    for m in mentions {
        engine.process(m);
        alerts.extend(engine.drain_alerts());
    }
    if shards.is_some() {
        engine.finish();
        alerts.extend(engine.drain_alerts());
    }
    Ok(alerts)
}

fn judge(
    s: &ScenarioFile,
    starts: &[EventTime],
    alerts: Vec<AlertRecord>,
) -> Result<Outcome, ScenarioError> {
    let mut failures = Vec::new();
    let mut first_delay = None;
    let mut first_alert = None;
    let mut covered: Vec<&str> = Vec::new();
    let start_of = |i: usize| {
        starts
            .get(i)
            .copied()
            .ok_or_else(|| ScenarioError::Invalid {
                path: s.name.clone(),
                message: format!("expectation refers to plant {i}, which does not exist"),
            })
    };
    for e in &s.expect {
        match e {
            ExpectSpec::Page {
                plant,
                brand,
                teams,
                min_severity,
                within,
                only,
            } => {
                covered.push(brand);
                let from = start_of(*plant)?.millis();
                let min = severity(min_severity, &s.name)?;
                let hit = alerts.iter().find(|a| {
                    a.brand == *brand
                        && is_page(a)
                        && a.severity >= min
                        && at(a) >= from
                        && teams.iter().all(|t| a.teams.contains(t))
                });
                if first_alert.is_none() {
                    first_alert = alerts
                        .iter()
                        .find(|a| {
                            a.brand == *brand
                                && a.action == Action::Trigger
                                && at(a) >= from
                                && teams.iter().all(|t| a.teams.contains(t))
                        })
                        .map(|a| (at(a) - from) as f64 / 60_000.0);
                }
                match hit {
                    Some(a) => {
                        let delay = at(a) - from;
                        if first_delay.is_none() {
                            first_delay = Some(delay as f64 / 60_000.0);
                        }
                        if delay > within.as_millis_i64() {
                            failures.push(format!(
                                "{brand}: paged {} at {} after {:.0} min (limit {:.0})",
                                teams.join("+"),
                                a.severity,
                                delay as f64 / 60_000.0,
                                within.as_millis_i64() as f64 / 60_000.0
                            ));
                        }
                    }
                    None => failures.push(format!(
                        "{brand}: {} never paged at {min} or above",
                        teams.join("+")
                    )),
                }
                if *only {
                    for a in alerts.iter().filter(|a| a.brand == *brand && is_page(a)) {
                        if let Some(t) = a.teams.iter().find(|t| !teams.contains(t)) {
                            failures.push(format!("{brand}: paged {t} as well"));
                            break;
                        }
                    }
                }
            }
            ExpectSpec::Told {
                plant,
                brand,
                team,
                within,
            } => {
                let from = start_of(*plant)?.millis();
                let told = alerts.iter().find(|a| {
                    a.brand == *brand && a.action == Action::Trigger && a.teams.contains(team)
                });
                match told {
                    Some(a) if at(a) - from <= within.as_millis_i64() => {}
                    Some(a) => failures.push(format!(
                        "{brand}: {team} told only after {:.0} min",
                        (at(a) - from) as f64 / 60_000.0
                    )),
                    None => failures.push(format!("{brand}: {team} never told")),
                }
            }
            ExpectSpec::Quiet { .. } => {}
            ExpectSpec::Incidents {
                brand,
                min_severity,
                count,
            } => {
                covered.push(brand);
                let min = severity(min_severity, &s.name)?;
                let mut ids: Vec<&str> = alerts
                    .iter()
                    .filter(|a| a.brand == *brand && a.severity >= min)
                    .map(|a| a.incident.as_str())
                    .collect();
                ids.sort_unstable();
                ids.dedup();
                if ids.len() != *count {
                    let what: Vec<String> = ids
                        .iter()
                        .filter_map(|id| alerts.iter().find(|a| a.incident == *id))
                        .map(|a| format!("{} {} at {}", a.incident, a.category, a.at))
                        .collect();
                    failures.push(format!(
                        "{brand}: {} incidents reached {min}, expected {count} ({})",
                        ids.len(),
                        what.join("; ")
                    ));
                }
            }
        }
    }
    let pages: Vec<&AlertRecord> = alerts.iter().filter(|a| is_page(a)).collect();
    let false_pages: Vec<&&AlertRecord> = pages
        .iter()
        .filter(|a| !covered.contains(&a.brand.as_str()))
        .collect();
    for a in false_pages.iter().take(3) {
        failures.push(format!(
            "false page: {} {} {} {} ({})",
            a.brand, a.severity, a.category, a.at, a.why
        ));
    }
    let false_watches = alerts
        .iter()
        .filter(|a| {
            a.action == Action::Trigger
                && matches!(a.category, Category::Conduct | Category::Safety)
                && !covered.contains(&a.brand.as_str())
        })
        .count();
    let mut teams: Vec<String> = pages.iter().flat_map(|a| a.teams.clone()).collect();
    teams.sort();
    teams.dedup();
    Ok(Outcome {
        name: s.name.clone(),
        passed: failures.is_empty(),
        first_page_delay_min: first_delay,
        first_alert_delay_min: first_alert,
        false_watches_per_day: false_watches as f64 / f64::from(s.days.max(1)),
        max_severity: pages.iter().map(|a| a.severity).max(),
        teams,
        false_pages_per_day: false_pages.len() as f64 / f64::from(s.days.max(1)),
        failures,
        alerts,
    })
}

/// The scenario table (one row per outcome).
pub fn table(outcomes: &[Outcome]) -> String {
    let mut t = String::new();
    let _w = writeln!(
        t,
        "{:<24} {:>11} {:>10} {:>9} {:<20} {:>10} {:>11}  result",
        "scenario",
        "first alert",
        "first page",
        "severity",
        "teams paged",
        "false/day",
        "f.watch/day"
    );
    let mins = |m: Option<f64>| m.map_or_else(|| String::from("—"), |d| format!("{d:.0} min"));
    for o in outcomes {
        let sev = o.max_severity.map_or("—", Severity::as_str);
        let teams = if o.teams.is_empty() {
            String::from("—")
        } else {
            o.teams.join(",")
        };
        let result = if o.passed {
            String::from("pass")
        } else {
            format!("FAIL: {}", o.failures.join("; "))
        };
        let _w = writeln!(
            t,
            "{:<24} {:>11} {:>10} {:>9} {:<20} {:>10.2} {:>11.2}  {result}",
            o.name,
            mins(o.first_alert_delay_min),
            mins(o.first_page_delay_min),
            sev,
            teams,
            o.false_pages_per_day,
            o.false_watches_per_day
        );
    }
    t
}
