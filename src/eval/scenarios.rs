//! The scenario suite: deterministic generated streams, each with its expected outcome.
//!
//! Input: scenario files (`tests/scenarios/*.toml`): a seed, a length in days, the background
//! shape (per-brand rate scale, weekend factor), what to plant when (see
//! [`crate::synth::Plant`]) and what must happen (a page to given teams at a minimum severity
//! within a delay, a team told at info, a brand kept quiet, a number of incidents). Output: one
//! [`Outcome`] per scenario (first page delay, severity, teams, false pages per day, pass/fail)
//! and a table. Every scenario runs on the demo's brands (`config/demo.toml`) with default
//! detection settings, through the same [`Engine`] as a replay. A file is checked before it
//! runs ([`ScenarioFile::validate`]: `days` 1 to [`MAX_DAYS`], plants inside the stream at an
//! `HH:MM` time, known brands, bounded rates); an error names the file and the key.
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
use crate::synth::{Builder, Plant, SynthSpec, MAX_DAYS, MAX_DAY_RATE, MAX_RATE_MULTIPLIER};

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
    /// The file it was read from ([`load_dir`] sets it); errors name it, else the scenario.
    #[serde(skip)]
    pub file: Option<std::path::PathBuf>,
    pub name: String,
    pub about: String,
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// Length of the stream, 1 to [`MAX_DAYS`].
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
    /// Rate multiplier per brand id (others 1.0); each 0 to [`MAX_RATE_MULTIPLIER`].
    pub scale: BTreeMap<String, f64>,
    /// Rate multiplier on Saturdays and Sundays (UTC), 0 to [`MAX_RATE_MULTIPLIER`].
    pub weekend: f64,
    /// Unbranded chatter multiplier, 0 to [`MAX_RATE_MULTIPLIER`].
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
    /// Day index from the start (0-based, so `0..days`) and UTC time `H:MM` or `HH:MM` (hour
    /// 0-23, minute 00-59), e.g. `day = 1`, `time = "10:20"`.
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
            let mut s: ScenarioFile =
                toml::from_str(&text).map_err(|e| ScenarioError::Invalid {
                    path: p.display().to_string(),
                    message: e.to_string(),
                })?;
            s.file = Some(p.clone());
            s.validate()?;
            Ok(s)
        })
        .collect()
}

impl ScenarioFile {
    /// Checks what serde cannot: `days` within 1 to [`MAX_DAYS`]; rate multipliers finite and
    /// within 0 to [`MAX_RATE_MULTIPLIER`]; brands that the demo configuration has; plants that
    /// exist, at a `day` inside the stream and an `HH:MM` time; severities and plant indexes
    /// that exist. Each error names the file and the key (`plant[0].time`).
    pub fn validate(&self) -> Result<(), ScenarioError> {
        let bad = |message: String| invalid(self, message);
        if !(1..=MAX_DAYS).contains(&self.days) {
            return Err(bad(format!(
                "days = {}: must be 1 to {MAX_DAYS}",
                self.days
            )));
        }
        let cfg = config::parse_str(crate::app::demo::DEMO_CONFIG, "demo.toml", &|_| None)
            .map_err(|e| bad(e.to_string()))?;
        let brands: Vec<&str> = cfg.brands.iter().map(|b| b.id.as_str()).collect();
        let brand = |key: String, id: &str| {
            if brands.contains(&id) {
                Ok(())
            } else {
                Err(bad(format!(
                    "{key} = {id:?}: unknown brand (the demo's brands: {})",
                    brands.join(", ")
                )))
            }
        };
        let multiplier = |key: String, x: f64| {
            if x.is_finite() && (0.0..=MAX_RATE_MULTIPLIER).contains(&x) {
                Ok(())
            } else {
                Err(bad(format!(
                    "{key} = {x}: must be a number from 0 to {MAX_RATE_MULTIPLIER}"
                )))
            }
        };
        for (id, x) in &self.background.scale {
            brand(format!("background.scale.{id}"), id)?;
            multiplier(format!("background.scale.{id}"), *x)?;
        }
        multiplier(String::from("background.weekend"), self.background.weekend)?;
        multiplier(String::from("background.noise"), self.background.noise)?;
        let peak = self
            .background
            .scale
            .values()
            .fold(self.background.noise.max(1.0), |a, x| a.max(*x))
            * self.background.weekend.max(1.0);
        if f64::from(self.days) * peak > MAX_DAY_RATE {
            return Err(bad(format!(
                "days = {} with a peak background multiplier of {peak} (the largest of 1, \
                 noise and scale, times weekend): days x multiplier must be at most \
                 {MAX_DAY_RATE}",
                self.days
            )));
        }
        for (i, p) in self.plant.iter().enumerate() {
            if plant_kind(&p.what).is_none() {
                return Err(bad(format!(
                    "plant[{i}].what = {:?}: unknown plant ({})",
                    p.what,
                    PLANTS.join(", ")
                )));
            }
            if !(0..i64::from(self.days)).contains(&p.day) {
                return Err(bad(format!(
                    "plant[{i}].day = {}: must be 0 to {} (0-based, inside days = {})",
                    p.day,
                    self.days - 1,
                    self.days
                )));
            }
            if parse_time(&p.time).is_none() {
                return Err(bad(format!(
                    "plant[{i}].time = {:?}: must be HH:MM UTC (hour 0-23, minute 00-59)",
                    p.time
                )));
            }
        }
        for (i, e) in self.expect.iter().enumerate() {
            let (id, plant, min) = match e {
                ExpectSpec::Page {
                    plant,
                    brand,
                    min_severity,
                    ..
                } => (brand, Some(*plant), Some(min_severity)),
                ExpectSpec::Told { plant, brand, .. } => (brand, Some(*plant), None),
                ExpectSpec::Quiet { brand } => (brand, None, None),
                ExpectSpec::Incidents {
                    brand,
                    min_severity,
                    ..
                } => (brand, None, Some(min_severity)),
            };
            brand(format!("expect[{i}].brand"), id)?;
            if let Some(p) = plant.filter(|p| *p >= self.plant.len()) {
                return Err(bad(format!(
                    "expect[{i}].plant = {p}: no such plant (the file plants {})",
                    self.plant.len()
                )));
            }
            if let Some(m) = min.filter(|m| Severity::parse(m).is_none()) {
                return Err(bad(format!(
                    "expect[{i}].min_severity = {m:?}: unknown severity"
                )));
            }
        }
        Ok(())
    }
}

/// `H:MM` or `HH:MM`, hour 0-23 and minute 00-59, as (hour, minute).
fn parse_time(s: &str) -> Option<(i64, i64)> {
    let (h, m) = s.split_once(':')?;
    let digits = |x: &str, len: std::ops::RangeInclusive<usize>| {
        (len.contains(&x.len()) && x.bytes().all(|b| b.is_ascii_digit()))
            .then(|| x.parse::<i64>().ok())
            .flatten()
    };
    let (h, m) = (digits(h, 1..=2)?, digits(m, 2..=2)?);
    (h < 24 && m < 60).then_some((h, m))
}

const PLANTS: [&str; 11] = [
    "misconduct",
    "positive_viral",
    "outage",
    "bot_burst",
    "ambiguous",
    "influencer",
    "stray_watch",
    "sarcasm",
    "launch",
    "billing",
    "lone_influencer",
];

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

fn severity(s: &str, file: &ScenarioFile) -> Result<Severity, ScenarioError> {
    Severity::parse(s).ok_or_else(|| invalid(file, format!("unknown severity {s:?}")))
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
        path: s.file.as_ref().map_or_else(
            || format!("scenario {:?}", s.name),
            |p| p.display().to_string(),
        ),
        message,
    }
}

/// The scenario's configuration, stream and plant start times.
fn generate(
    s: &ScenarioFile,
    profile: Profile,
) -> Result<(Arc<Config>, crate::synth::Synth, Vec<EventTime>), ScenarioError> {
    s.validate()?;
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
        let (h, m) = parse_time(&p.time)
            .ok_or_else(|| invalid(format!("time {:?} is not HH:MM", p.time)))?;
        let when = b
            .at(p.day, h, m)
            .ok_or_else(|| invalid(format!("day {} {} is outside the stream", p.day, p.time)))?;
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
        starts.get(i).copied().ok_or_else(|| {
            invalid(
                s,
                format!("expectation refers to plant {i}, which does not exist"),
            )
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
                let min = severity(min_severity, s)?;
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
                let min = severity(min_severity, s)?;
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

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: &str = "name = \"x\"\nabout = \"a\"\n";

    /// Writes `body` as `s.toml` in a fresh folder and loads the folder; the error as text.
    fn load_err(body: &str) -> (String, String) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.toml");
        std::fs::write(&path, format!("{HEAD}{body}")).unwrap();
        match load_dir(dir.path()) {
            Ok(f) => panic!("{body:?} loaded: {f:?}"),
            Err(e) => (e.to_string(), path.display().to_string()),
        }
    }

    fn plant(day: &str, time: &str) -> String {
        format!(
            "days = 2\n[[plant]]\nwhat = \"misconduct\"\nday = {day}\ntime = \"{time}\"\n\
             [[expect]]\nkind = \"quiet\"\nbrand = \"harbor\"\n"
        )
    }

    fn assert_names(err: &str, path: &str, key: &str, value: &str) {
        assert!(err.contains(path), "no file in {err:?}");
        assert!(err.contains(key), "no key {key} in {err:?}");
        assert!(err.contains(value), "no value {value} in {err:?}");
    }

    #[test]
    fn days_outside_one_to_the_limit_are_an_error_naming_file_and_key() {
        for days in ["100000", "61", "4294967295", "0"] {
            let (err, path) = load_err(&format!("days = {days}\n"));
            assert_names(&err, &path, "days", days);
            assert!(err.contains("60"), "no limit in {err:?}");
        }
    }

    #[test]
    fn the_longest_allowed_scenario_loads() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("s.toml"),
            format!("{HEAD}days = 60\n[[plant]]\nwhat = \"outage\"\nday = 59\ntime = \"23:59\"\n"),
        )
        .unwrap();
        let files = load_dir(dir.path()).unwrap();
        assert_eq!(files[0].days, 60);
    }

    #[test]
    fn times_that_are_not_hh_mm_of_a_day_are_an_error_naming_file_and_key() {
        for time in [
            "25:99",
            "24:00",
            "12:60",
            "-5:-7",
            "-0:00",
            "16",
            "",
            "9223372036854775807:00",
            "1:2:3",
            "+1:00",
        ] {
            let (err, path) = load_err(&plant("1", time));
            assert_names(&err, &path, "plant[0].time", &format!("{time:?}"));
        }
    }

    #[test]
    fn days_outside_the_stream_are_an_error_naming_file_and_key() {
        // `day` is 0-based: with `days = 2` the plant may start on day 0 or 1.
        for day in [
            "2",
            "5",
            "-1",
            "-100000",
            "9223372036854775807",
            "-9223372036854775808",
        ] {
            let (err, path) = load_err(&plant(day, "16:00"));
            assert_names(&err, &path, "plant[0].day", day);
        }
    }

    #[test]
    fn the_first_and_last_minute_of_the_stream_are_accepted() {
        for (day, time) in [("0", "00:00"), ("1", "23:59"), ("1", "7:05")] {
            let dir = tempfile::tempdir().unwrap();
            std::fs::write(
                dir.path().join("s.toml"),
                format!("{HEAD}{}", plant(day, time)),
            )
            .unwrap();
            load_dir(dir.path()).unwrap();
        }
    }

    #[test]
    fn an_unknown_brand_is_an_error_naming_file_key_and_brand() {
        let (err, path) = load_err("days = 2\n[[expect]]\nkind = \"quiet\"\nbrand = \"nosuch\"\n");
        assert_names(&err, &path, "expect[0].brand", "nosuch");
        let (err, path) = load_err(
            "days = 2\n[[plant]]\nwhat = \"outage\"\nday = 1\ntime = \"07:30\"\n\
             [[expect]]\nkind = \"quiet\"\nbrand = \"harbor\"\n\
             [[expect]]\nkind = \"page\"\nplant = 0\nbrand = \"nosuch\"\nteams = [\"support\"]\n\
             min_severity = \"error\"\nwithin = \"60m\"\n",
        );
        assert_names(&err, &path, "expect[1].brand", "nosuch");
        let (err, path) = load_err("days = 2\n[background.scale]\nnosuch = 2.0\n");
        assert_names(&err, &path, "background.scale", "nosuch");
    }

    #[test]
    fn unusable_rate_multipliers_are_an_error_naming_file_and_key() {
        for (body, key) in [
            (
                "[background.scale]\nharbor = nan\n",
                "background.scale.harbor",
            ),
            (
                "[background.scale]\nharbor = 1e300\n",
                "background.scale.harbor",
            ),
            (
                "[background.scale]\nharbor = -1.0\n",
                "background.scale.harbor",
            ),
            ("[background]\nweekend = inf\n", "background.weekend"),
            ("[background]\nnoise = 1e12\n", "background.noise"),
        ] {
            let (err, path) = load_err(&format!("days = 2\n{body}"));
            assert_names(&err, &path, key, "");
        }
    }

    #[test]
    fn unknown_plants_severities_and_plant_indexes_are_errors_naming_the_file() {
        let (err, path) = load_err(&plant("1", "16:00").replace("misconduct", "asteroid"));
        assert_names(&err, &path, "plant[0].what", "asteroid");
        let (err, path) = load_err(
            "days = 2\n[[expect]]\nkind = \"incidents\"\nbrand = \"harbor\"\n\
             min_severity = \"dire\"\ncount = 0\n",
        );
        assert_names(&err, &path, "expect[0].min_severity", "dire");
        let (err, path) = load_err(
            "days = 2\n[[expect]]\nkind = \"told\"\nplant = 3\nbrand = \"harbor\"\n\
             team = \"support\"\nwithin = \"60m\"\n",
        );
        assert_names(&err, &path, "expect[0].plant", "3");
    }

    #[test]
    fn days_times_the_peak_rate_multiplier_is_bounded() {
        for body in [
            "days = 7\n[background]\nnoise = 20.0\n",
            "days = 60\n[background.scale]\nharbor = 2.5\n",
            "days = 10\n[background]\nweekend = 4.0\n[background.scale]\nharbor = 4.0\n",
        ] {
            let (err, path) = load_err(body);
            assert_names(&err, &path, "days", "multiplier");
            assert!(err.contains("120"), "{err}");
        }
        for body in [
            "days = 6\n[background]\nnoise = 20.0\n",
            "days = 60\n[background.scale]\nharbor = 0.5\n",
            "days = 10\n[background]\nweekend = 3.0\n[background.scale]\nharbor = 4.0\n",
        ] {
            let dir = tempfile::tempdir().unwrap();
            std::fs::write(dir.path().join("s.toml"), format!("{HEAD}{body}")).unwrap();
            load_dir(dir.path()).unwrap();
        }
    }

    #[test]
    fn every_listed_plant_is_known() {
        for p in PLANTS {
            assert!(plant_kind(p).is_some(), "{p}");
        }
    }

    #[test]
    fn run_checks_a_scenario_that_was_not_loaded_from_a_file() {
        let s: ScenarioFile = toml::from_str(&format!("{HEAD}{}", plant("1", "25:99"))).unwrap();
        let err = run(&s).unwrap_err().to_string();
        assert!(err.contains("plant[0].time"), "{err}");
        assert!(err.contains("\"x\""), "no scenario name in {err}");
    }
}
