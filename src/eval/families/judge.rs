//! Judging family runs against their ground truth, and the per-family table.
//!
//! Input: a run's [`Truth`] and the alert lines the engine wrote for it. A *page* is a line
//! that is not a resolve, at warning or above (as in the scenario suite). Per run:
//! - each crisis story's expectation is met when a page at or above its minimum severity
//!   reaches its team within its deadline after the onset; the delay is measured to the first
//!   such page whenever it comes (a page after the deadline is late, not met);
//! - a benign story is met when its brand gets no page after the onset;
//! - pages after a brand's onset to a team its stories do not name are wrong-team pages (for a
//!   benign story every page is);
//! - on background time (every brand's time before its first story; the whole run for quiet
//!   weeks) every page is a false page and every conduct/safety incident opened is a false
//!   watch; both are counted per background brand-day.
//!
//! Output: a [`RunOutcome`] per run, summed into a [`FamilySummary`] per family and a
//! [`Report`] with its table ([`Report::table`]) and JSON ([`Report::to_json`]).

use std::fmt::Write as _;

use serde::Serialize;

use super::generate::Truth;
use super::params::{Limits, RunParams, DAY, MINUTE};
use super::{Family, Pool};
use crate::domain::alert::{Action, AlertRecord};
use crate::domain::{Category, Severity};

/// How one crisis story did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExpectOutcome {
    pub story: usize,
    pub team: &'static str,
    pub min_severity: Severity,
    pub deadline_min: f64,
    /// Paged in time.
    pub met: bool,
    /// Minutes from the onset to the first qualifying page, late ones included.
    pub delay_min: Option<f64>,
    /// The story's likelihood-ratio bound, when it has one (slow burns).
    pub oracle_min: Option<f64>,
}

/// How one run did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunOutcome {
    pub family: Family,
    pub seed: u64,
    pub pool: Pool,
    /// The run met its ground truth (every expectation in time, or no page when none).
    pub ok: bool,
    pub expectations: Vec<ExpectOutcome>,
    /// Pages on story brands after their onset.
    pub event_pages: usize,
    pub wrong_team_pages: usize,
    /// Highest severity of any line on a story brand after its onset.
    pub max_severity: Option<Severity>,
    pub background_brand_days: f64,
    pub false_pages: usize,
    /// Of which in the first day of the brand's stream (cold start: no baseline yet).
    pub false_pages_first_day: usize,
    pub false_watches: usize,
    pub mentions: usize,
    pub alerts: usize,
    /// Background rate of the first story's brand (or the first brand), mentions per minute.
    pub brand_rate: f64,
    /// Everything the run was drawn with (for slicing the results).
    pub params: RunParams,
}

fn is_page(a: &AlertRecord) -> bool {
    a.action != Action::Resolve && a.severity >= Severity::Warning
}

fn at_ms(a: &AlertRecord) -> i64 {
    a.event_time().map_or(i64::MIN, |t| t.millis())
}

/// Judges one run's alert lines.
pub fn judge(
    params: &RunParams,
    truth: &Truth,
    alerts: &[AlertRecord],
    mentions: usize,
) -> RunOutcome {
    let brand_of = |a: &AlertRecord| truth.brands.iter().position(|b| b.id == a.brand);
    let mut false_pages = 0;
    let mut first_day = 0;
    let mut false_watches = 0;
    let mut event_pages = 0;
    let mut wrong_team_pages = 0;
    let mut max_severity: Option<Severity> = None;
    for a in alerts {
        let Some(b) = brand_of(a) else { continue };
        let t = at_ms(a);
        let (from, to) = truth.brands[b].background;
        let stories: Vec<_> = truth.stories.iter().filter(|s| s.brand == b).collect();
        // A brand without a story is background to the end (lines the final watermark
        // advance decides just after the last mention included).
        if t >= from && (t < to || stories.is_empty()) {
            if is_page(a) {
                false_pages += 1;
                first_day += usize::from(t < from + DAY);
            }
            if a.action == Action::Trigger
                && matches!(a.category, Category::Conduct | Category::Safety)
            {
                false_watches += 1;
            }
            continue;
        }
        if stories.is_empty() || t < to {
            continue;
        }
        if a.action != Action::Resolve {
            max_severity = max_severity.max(Some(a.severity));
        }
        if is_page(a) {
            event_pages += 1;
            let allowed = |team: &String| {
                stories.iter().any(|s| {
                    s.expect
                        .as_ref()
                        .is_some_and(|e| e.allowed.contains(&team.as_str()))
                })
            };
            if a.teams.iter().any(|team| !allowed(team)) {
                wrong_team_pages += 1;
            }
        }
    }
    let mut expectations = Vec::new();
    for (i, s) in truth.stories.iter().enumerate() {
        let (Some(e), Some(brand)) = (&s.expect, truth.brands.get(s.brand)) else {
            continue;
        };
        let id = &brand.id;
        let first = alerts
            .iter()
            .filter(|a| {
                a.brand == *id
                    && is_page(a)
                    && a.severity >= e.min_severity
                    && at_ms(a) >= s.onset_ms
                    && a.teams.iter().any(|t| t == e.team)
            })
            .map(at_ms)
            .min();
        let delay_min = first.map(|t| (t - s.onset_ms) as f64 / MINUTE as f64);
        expectations.push(ExpectOutcome {
            story: i,
            team: e.team,
            min_severity: e.min_severity,
            deadline_min: e.deadline_min,
            met: delay_min.is_some_and(|d| d <= e.deadline_min),
            delay_min,
            oracle_min: s.oracle_min,
        });
    }
    let ok = if !expectations.is_empty() {
        expectations.iter().all(|e| e.met)
    } else if truth.stories.is_empty() {
        false_pages == 0
    } else {
        event_pages == 0
    };
    let background_ms: i64 = truth
        .brands
        .iter()
        .map(|b| (b.background.1 - b.background.0).max(0))
        .sum();
    let lead = truth.stories.first().map_or(0, |s| s.brand);
    RunOutcome {
        family: truth.family,
        seed: truth.seed,
        pool: truth.pool,
        ok,
        expectations,
        event_pages,
        wrong_team_pages,
        max_severity,
        background_brand_days: background_ms as f64 / DAY as f64,
        false_pages,
        false_pages_first_day: first_day,
        false_watches,
        mentions,
        alerts: alerts.len(),
        brand_rate: truth.brands.get(lead).map_or(0.0, |b| b.rate),
        params: params.clone(),
    }
}

/// How many runs reached each highest severity (none = no line at all after the onset).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct SeverityCounts {
    pub none: usize,
    pub info: usize,
    pub warning: usize,
    pub error: usize,
    pub critical: usize,
}

impl SeverityCounts {
    fn add(&mut self, s: Option<Severity>) {
        match s {
            None => self.none += 1,
            Some(Severity::Info) => self.info += 1,
            Some(Severity::Warning) => self.warning += 1,
            Some(Severity::Error) => self.error += 1,
            Some(Severity::Critical) => self.critical += 1,
        }
    }

    /// The median run's highest severity (`none` when no line).
    pub fn median(&self) -> &'static str {
        let n = self.none + self.info + self.warning + self.error + self.critical;
        let half = n.div_ceil(2);
        let mut seen = 0;
        for (count, name) in [
            (self.none, "none"),
            (self.info, "info"),
            (self.warning, "warning"),
            (self.error, "error"),
            (self.critical, "critical"),
        ] {
            seen += count;
            if seen >= half && n > 0 {
                return name;
            }
        }
        "none"
    }
}

/// One family over all its seeds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FamilySummary {
    pub family: Family,
    /// The ground truth in words.
    pub truth: &'static str,
    pub runs: usize,
    /// Runs that met the ground truth (detected in time, or stayed quiet).
    pub ok: usize,
    pub ok_rate: f64,
    /// Crisis expectations (two per run for two incidents) and how many were met.
    pub expectations: usize,
    pub expectations_met: usize,
    /// First qualifying page, minutes after the onset, over every expectation: a miss counts
    /// as never, so `None` means that quantile was never paged.
    pub delay_p50_min: Option<f64>,
    pub delay_p90_min: Option<f64>,
    pub max_severity: SeverityCounts,
    /// Runs that met the ground truth / runs, for brands below 1 mention per minute and for
    /// the others: how much of the result is about volume.
    pub ok_below_1_per_min: (usize, usize),
    pub ok_from_1_per_min: (usize, usize),
    pub wrong_team_runs: usize,
    pub wrong_team_pages: usize,
    pub event_pages: usize,
    pub background_brand_days: f64,
    pub false_pages: usize,
    /// Of which in the first day of a brand's stream (cold start).
    pub false_pages_first_day: usize,
    pub false_watches: usize,
    pub false_pages_per_brand_day: f64,
    pub false_watches_per_brand_day: f64,
    pub mentions: usize,
    /// Expectations with a likelihood-ratio bound (slow burns), and over them the median and
    /// 90th percentile of first page / bound (a miss counts as never) and how many paged by
    /// the bound.
    pub oracle_expectations: usize,
    pub over_oracle_p50: Option<f64>,
    pub over_oracle_p90: Option<f64>,
    pub by_oracle: usize,
}

/// The ground truth of a family in words.
pub fn truth_text(f: Family) -> &'static str {
    match f {
        Family::Misconduct => "field-ops >= error, 60-240 min",
        Family::SlowBurnOutage => "support >= warning, 180 min",
        Family::SharpOutage => "support >= warning, 30 min",
        Family::BillingWave => "support >= warning, 120 min",
        Family::SarcasmWave => "support >= warning, 180 min",
        Family::TwoIncidents => "both of the above kinds",
        Family::PositiveViral
        | Family::Influencer
        | Family::ProductLaunch
        | Family::BotBurst
        | Family::AmbiguousName => "no page above info",
        Family::QuietWeeks => "no page (background)",
    }
}

/// Nearest-rank quantile with misses as never: `None` when the rank falls on a miss.
fn quantile(delays: &[Option<f64>], q: f64) -> Option<f64> {
    if delays.is_empty() {
        return None;
    }
    let mut xs: Vec<f64> = delays.iter().map(|d| d.unwrap_or(f64::INFINITY)).collect();
    xs.sort_by(f64::total_cmp);
    let rank = ((q * xs.len() as f64).ceil() as usize).clamp(1, xs.len());
    let v = xs[rank - 1];
    v.is_finite().then_some(v)
}

fn per_day(n: usize, days: f64) -> f64 {
    if days > 0.0 {
        n as f64 / days
    } else {
        0.0
    }
}

/// Sums the runs of one family.
pub fn summarise(family: Family, runs: &[&RunOutcome]) -> FamilySummary {
    let mut delays = Vec::new();
    let (mut over_oracle, mut by_oracle) = (Vec::new(), 0);
    let mut sev = SeverityCounts::default();
    let (mut ok, mut wrong_runs, mut wrong, mut event, mut fp, mut fw, mut mentions) =
        (0, 0, 0, 0, 0, 0, 0);
    let mut fp_first = 0;
    let mut days = 0.0;
    let mut met = 0;
    let (mut low, mut high) = ((0, 0), (0, 0));
    for r in runs {
        ok += usize::from(r.ok);
        let band = if r.brand_rate < 1.0 {
            &mut low
        } else {
            &mut high
        };
        band.0 += usize::from(r.ok);
        band.1 += 1;
        for e in &r.expectations {
            delays.push(e.delay_min);
            met += usize::from(e.met);
            if let Some(bound) = e.oracle_min {
                over_oracle.push(e.delay_min.map(|d| d / bound));
                by_oracle += usize::from(e.delay_min.is_some_and(|d| d <= bound));
            }
        }
        sev.add(r.max_severity);
        wrong_runs += usize::from(r.wrong_team_pages > 0);
        wrong += r.wrong_team_pages;
        event += r.event_pages;
        fp += r.false_pages;
        fp_first += r.false_pages_first_day;
        fw += r.false_watches;
        days += r.background_brand_days;
        mentions += r.mentions;
    }
    FamilySummary {
        family,
        truth: truth_text(family),
        runs: runs.len(),
        ok,
        ok_rate: if runs.is_empty() {
            0.0
        } else {
            ok as f64 / runs.len() as f64
        },
        expectations: delays.len(),
        expectations_met: met,
        delay_p50_min: quantile(&delays, 0.5),
        delay_p90_min: quantile(&delays, 0.9),
        max_severity: sev,
        ok_below_1_per_min: low,
        ok_from_1_per_min: high,
        wrong_team_runs: wrong_runs,
        wrong_team_pages: wrong,
        event_pages: event,
        background_brand_days: days,
        false_pages: fp,
        false_pages_first_day: fp_first,
        false_watches: fw,
        false_pages_per_brand_day: per_day(fp, days),
        false_watches_per_brand_day: per_day(fw, days),
        mentions,
        oracle_expectations: over_oracle.len(),
        over_oracle_p50: quantile(&over_oracle, 0.5),
        over_oracle_p90: quantile(&over_oracle, 0.9),
        by_oracle,
    }
}

/// Totals over every family.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Global {
    pub runs: usize,
    pub ok: usize,
    pub background_brand_days: f64,
    pub false_pages: usize,
    /// Of which in the first day of a brand's stream (cold start).
    pub false_pages_first_day: usize,
    pub false_watches: usize,
    pub false_pages_per_brand_day: f64,
    pub false_watches_per_brand_day: f64,
    pub mentions: usize,
}

/// A whole evaluation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub pool: Pool,
    pub seeds: u32,
    /// First and last seed of the pool's range used.
    pub seed_range: (u64, u64),
    pub model: String,
    pub limits: Limits,
    pub families: Vec<FamilySummary>,
    pub global: Global,
    pub runs: Vec<RunOutcome>,
}

impl Report {
    /// Summarises `runs` (any order) per family, families in [`Family::ALL`] order.
    pub fn new(
        pool: Pool,
        seeds: u32,
        model: String,
        limits: Limits,
        runs: Vec<RunOutcome>,
    ) -> Report {
        let mut families = Vec::new();
        for f in Family::ALL {
            let mine: Vec<&RunOutcome> = runs.iter().filter(|r| r.family == f).collect();
            if !mine.is_empty() {
                families.push(summarise(f, &mine));
            }
        }
        let days: f64 = families.iter().map(|f| f.background_brand_days).sum();
        let fp = families.iter().map(|f| f.false_pages).sum();
        let fp_first = families.iter().map(|f| f.false_pages_first_day).sum();
        let fw = families.iter().map(|f| f.false_watches).sum();
        let global = Global {
            runs: runs.len(),
            ok: runs.iter().filter(|r| r.ok).count(),
            background_brand_days: days,
            false_pages: fp,
            false_pages_first_day: fp_first,
            false_watches: fw,
            false_pages_per_brand_day: per_day(fp, days),
            false_watches_per_brand_day: per_day(fw, days),
            mentions: runs.iter().map(|r| r.mentions).sum(),
        };
        Report {
            pool,
            seeds,
            // The seeds the runs used (`--seed` picks some); the pool's first ones otherwise.
            seed_range: (
                runs.iter()
                    .map(|r| r.seed)
                    .min()
                    .unwrap_or_else(|| pool.seed(0)),
                runs.iter()
                    .map(|r| r.seed)
                    .max()
                    .unwrap_or_else(|| pool.seed(seeds.saturating_sub(1))),
            ),
            model,
            limits,
            families,
            global,
            runs,
        }
    }

    /// The table: one row per family, then the global false-alarm line.
    pub fn table(&self) -> String {
        let mut t = String::new();
        let _w = writeln!(
            t,
            "pool {} (seeds {}..={}), {} runs, sentiment model {}{}{}",
            self.pool,
            self.seed_range.0,
            self.seed_range.1,
            self.global.runs,
            self.model,
            self.limits
                .rate_cap
                .map_or(String::new(), |c| format!(", rates capped at {c}/min")),
            self.limits
                .complaint_share
                .map_or(String::new(), |(lo, hi)| format!(
                    ", background complaint shares {lo}-{hi}"
                ))
        );
        let _w = writeln!(
            t,
            "{:<17} {:<31} {:>4} {:>5} {:>8} {:>8} {:>8} {:>8} {:>8} {:<20} {:>6} {:>9} {:>9} {:>8}",
            "family",
            "ground truth",
            "runs",
            "ok",
            "ok <1/m",
            "ok >=1/m",
            "p50",
            "p90",
            "max sev",
            "n/i/w/e/c",
            "wrong",
            "fp/bday",
            "fw/bday",
            "bg days"
        );
        let mins = |f: &FamilySummary, d: Option<f64>| {
            if f.expectations == 0 {
                String::from("—")
            } else {
                d.map_or_else(|| String::from("miss"), |d| format!("{d:.0} min"))
            }
        };
        for f in &self.families {
            let s = &f.max_severity;
            let dist = format!(
                "{}/{}/{}/{}/{}",
                s.none, s.info, s.warning, s.error, s.critical
            );
            let _w = writeln!(
                t,
                "{:<17} {:<31} {:>4} {:>4.0}% {:>8} {:>8} {:>8} {:>8} {:>8} {:<20} {:>5.0}% {:>9.3} {:>9.3} {:>8.1}",
                f.family.name(),
                f.truth,
                f.runs,
                100.0 * f.ok_rate,
                format!("{}/{}", f.ok_below_1_per_min.0, f.ok_below_1_per_min.1),
                format!("{}/{}", f.ok_from_1_per_min.0, f.ok_from_1_per_min.1),
                mins(f, f.delay_p50_min),
                mins(f, f.delay_p90_min),
                s.median(),
                dist,
                if f.runs == 0 {
                    0.0
                } else {
                    100.0 * f.wrong_team_runs as f64 / f.runs as f64
                },
                f.false_pages_per_brand_day,
                f.false_watches_per_brand_day,
                f.background_brand_days
            );
        }
        let ratio =
            |r: Option<f64>| r.map_or_else(|| String::from("never"), |r| format!("{r:.2}x"));
        for f in self.families.iter().filter(|f| f.oracle_expectations > 0) {
            let _w = writeln!(
                t,
                "{}: first page / likelihood-ratio bound (an oracle knowing the ramp, at the \
                 detector's threshold): p50 {}, p90 {}; {} of {} paged by the bound",
                f.family.name(),
                ratio(f.over_oracle_p50),
                ratio(f.over_oracle_p90),
                f.by_oracle,
                f.oracle_expectations
            );
        }
        let g = &self.global;
        let _w = writeln!(
            t,
            "all families: {} false pages ({} in a brand's first day) and {} false watches on \
             {:.1} background brand-days: {:.3} false pages and {:.3} false watches per \
             brand-day; {} mentions",
            g.false_pages,
            g.false_pages_first_day,
            g.false_watches,
            g.background_brand_days,
            g.false_pages_per_brand_day,
            g.false_watches_per_brand_day,
            g.mentions
        );
        t
    }

    /// The report as pretty JSON (every run included).
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}
