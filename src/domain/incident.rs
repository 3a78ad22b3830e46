//! What `detect` decides about an incident at one moment ([`IncidentEvent`]): the facts and
//! numbers, not the words. `alert` renders each event into an alert line (summary text, team
//! routing, rounding; docs/contracts.md §3).

use super::alert::{Action, TopPost};
use super::{BrandIdx, Category, EventTime, Severity};

/// The numbers behind one incident decision, unrounded.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct IncidentNumbers {
    /// Mentions in the incident's evidence since it opened.
    pub mentions: u64,
    /// Mentions of the incident in the last 60 minutes.
    pub mentions_60: f64,
    /// Mentions per minute over the last 15 minutes.
    pub rate_per_min: f64,
    /// The brand's seasonal baseline, mentions per minute.
    pub baseline_per_min: f64,
    pub doubling_time_s: Option<f64>,
    pub negative_share: f64,
    pub positive_share: f64,
    pub bot_share: f64,
    pub reach: u64,
    pub unique_authors: u64,
    /// Reposts, quotes and replies per minute over the last 15 minutes.
    pub reaction_rate_per_min: f64,
    /// Highest single-post risk seen in the incident, 0..1.
    pub max_risk: f64,
    /// The rate and baseline are a complaint stream's (its complaints against their usual
    /// level), not the incident's mentions against the brand's usual volume.
    pub of_complaints: bool,
}

/// One trigger, escalation or resolve of an incident, as `detect` decided it.
#[derive(Debug, Clone, PartialEq)]
pub struct IncidentEvent {
    /// Event time of the decision.
    pub at: EventTime,
    pub action: Action,
    /// The incident id (unique per brand and opening day).
    pub incident: String,
    pub brand: BrandIdx,
    pub severity: Severity,
    pub category: Category,
    /// Teams notified about this incident so far (a resolve goes to the same teams).
    pub notified_teams: Vec<String>,
    pub opened_at: EventTime,
    /// One sentence saying which signal crossed what.
    pub why: String,
    /// A trigger on a single risky post that the crowd has not picked up yet.
    pub watch: bool,
    /// The riskiest post's text, or else the leading key terms.
    pub headline: String,
    pub top_posts: Vec<TopPost>,
    /// The incident's leading key terms, most frequent first.
    pub terms: Vec<String>,
    pub numbers: IncidentNumbers,
}
