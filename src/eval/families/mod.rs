//! Randomized scenario families (issue 16): detection judged on crisis shapes and wording the
//! detector was not tuned on.
//!
//! A [`Family`] is a kind of scenario (a misconduct cascade, a slow-burn outage, a bot burst,
//! quiet weeks, …) whose parameters are drawn from a seed: invented brands with their
//! background rate, daily and weekly shape, audience and reaction mix, when the story starts,
//! how fast it grows, and the words of every post. Each run is generated
//! ([`generate::generate`]), fed mention by mention into a fresh [`crate::app::Engine`] built from
//! the run's own configuration (its brands, default routing), and the alert lines that come out
//! are judged against the family's ground truth ([`judge`](mod@judge)): the expected team, minimum
//! severity and deadline for crises, "no page above info" for benign stories, and false pages
//! and false watches on every background brand-day.
//!
//! Honesty rules the harness keeps:
//! - it only feeds mentions and reads alert lines: nothing depends on the detector's internals;
//! - two disjoint phrase pools ([`phrases::TUNE`], [`phrases::TEST`]) and two disjoint seed
//!   ranges ([`Pool::seed`]): a detector is tuned on the tuning side and reported on the test
//!   side, which only ever combines test seeds with test wording, sectors and brand names;
//! - deterministic: one ChaCha stream per (family, seed, pool), no clocks, no hash-map order in
//!   any output; the same run always gives the same mentions and the same alert lines.
//!
//! `flashpoint eval families` ([`runner::run_cli`]) prints one row per family.

pub mod generate;
pub mod judge;
pub mod params;
pub mod phrases;
pub mod runner;

#[cfg(test)]
mod tests;

pub use generate::{generate, Generated, Label};
pub use judge::{judge, FamilySummary, Report, RunOutcome};
pub use params::{draw, Limits, RunParams};
pub use runner::{evaluate, run_cli, run_one, FamiliesArgs, FamiliesError, Options};

use serde::Serialize;

/// A kind of scenario with randomized parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Family {
    /// A risky root post alleging staff misconduct or danger, then an exponential cascade of
    /// reactions, mostly replies that never name the brand.
    Misconduct,
    /// Complaints rising 10–20x over about four hours while total volume rises only 2–3x.
    SlowBurnOutage,
    /// Complaints jumping within minutes to several times the brand's normal volume.
    SharpOutage,
    /// Customers reporting double or wrong charges, building over an hour or two.
    BillingWave,
    /// A customer's delighted story, cascading like a crisis but in praise.
    PositiveViral,
    /// A big account's friendly post, widely reposted.
    Influencer,
    /// Many people excited about a new product.
    ProductLaunch,
    /// New, low-follower accounts posting near-identical spam naming the brand.
    BotBurst,
    /// The brand's name used in its ordinary sense (an exclude list configured only sometimes).
    AmbiguousName,
    /// Service complaints worded with sarcastic praise.
    SarcasmWave,
    /// Two crises at once: on two brands, or two stories on one brand.
    TwoIncidents,
    /// A week of background only: the false-alarm family.
    QuietWeeks,
}

impl Family {
    pub const ALL: [Family; 12] = [
        Family::Misconduct,
        Family::SlowBurnOutage,
        Family::SharpOutage,
        Family::BillingWave,
        Family::PositiveViral,
        Family::Influencer,
        Family::ProductLaunch,
        Family::BotBurst,
        Family::AmbiguousName,
        Family::SarcasmWave,
        Family::TwoIncidents,
        Family::QuietWeeks,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Family::Misconduct => "misconduct",
            Family::SlowBurnOutage => "slow_burn_outage",
            Family::SharpOutage => "sharp_outage",
            Family::BillingWave => "billing_wave",
            Family::PositiveViral => "positive_viral",
            Family::Influencer => "influencer",
            Family::ProductLaunch => "product_launch",
            Family::BotBurst => "bot_burst",
            Family::AmbiguousName => "ambiguous_name",
            Family::SarcasmWave => "sarcasm_wave",
            Family::TwoIncidents => "two_incidents",
            Family::QuietWeeks => "quiet_weeks",
        }
    }

    pub fn parse(s: &str) -> Option<Family> {
        Family::ALL.into_iter().find(|f| f.name() == s)
    }

    /// Whether the family's ground truth expects a page (the others expect none above info).
    pub fn is_crisis(self) -> bool {
        matches!(
            self,
            Family::Misconduct
                | Family::SlowBurnOutage
                | Family::SharpOutage
                | Family::BillingWave
                | Family::SarcasmWave
                | Family::TwoIncidents
        )
    }

    /// A salt that makes the same seed draw differently in each family.
    fn salt(self) -> u64 {
        // FNV-1a over the name: stable across builds and platforms.
        self.name().bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        })
    }
}

impl std::fmt::Display for Family {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Which side of the tune/test split a run belongs to: its phrase pool and its seed range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Pool {
    /// Tuning side: seeds `1..=999_999`, the [`phrases::TUNE`] pool.
    Tune,
    /// Test side: seeds from `1_000_001`, the [`phrases::TEST`] pool.
    Test,
}

/// First test seed; tuning seeds lie below it.
pub const TEST_SEED_BASE: u64 = 1_000_001;

impl Pool {
    pub fn name(self) -> &'static str {
        match self {
            Pool::Tune => "tune",
            Pool::Test => "test",
        }
    }

    pub fn parse(s: &str) -> Option<Pool> {
        match s {
            "tune" => Some(Pool::Tune),
            "test" => Some(Pool::Test),
            _ => None,
        }
    }

    /// The `i`-th seed (0-based) of this pool: tune `1 + i`, test `1_000_001 + i`.
    pub fn seed(self, i: u32) -> u64 {
        match self {
            Pool::Tune => 1 + u64::from(i) % (TEST_SEED_BASE - 2),
            Pool::Test => TEST_SEED_BASE + u64::from(i),
        }
    }

    /// Whether `seed` lies in this pool's range.
    pub fn owns(self, seed: u64) -> bool {
        match self {
            Pool::Tune => (1..TEST_SEED_BASE - 1).contains(&seed),
            Pool::Test => seed >= TEST_SEED_BASE,
        }
    }
}

impl std::fmt::Display for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
