//! What `score` computes for one mention ([`Scored`]), shared by every brand it belongs to and
//! read by `detect`, plus the category helpers both sides use.

use crate::domain::{Category, SentimentLabel};

/// What the scoring stages computed for one mention, shared by every brand it belongs to.
#[derive(Debug, Clone)]
pub struct Scored {
    pub sentiment: SentimentLabel,
    pub category_scores: [f32; 8],
    pub risk: f32,
    /// Bot discount in \[0,1\]; 1 = looks human.
    pub weight: f32,
    pub duplicate: bool,
    pub author_key: u64,
    /// SimHash of the text's words (`score::simhash`); 0 for a text without words.
    pub simhash: u64,
    /// Words the SimHash was built from (texts of few words are never near-duplicates).
    pub simhash_words: u32,
    /// `P(complaint / service failure)` from the complaint model, in `[0, 1]`.
    pub complaint: f32,
    /// Set by the detector when `complaint` reaches `[detect] complaint_threshold`: the
    /// mention counts as a stated complaint whatever its category scores.
    pub complained: bool,
    /// How the mention names its brands (`brand::naming`); [`Naming::Thread`] when its own
    /// text names none of them (it belongs through its thread).
    pub naming: Naming,
}

/// How a mention names its brand: something only the brand is called (a handle, a hashtag, a
/// multi-word name, a capitalised proper noun), only an ordinary-looking word, or nothing (it
/// belongs to the brand through its thread).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Naming {
    #[default]
    Distinct,
    Plain,
    Thread,
}

/// Category score from which a text counts as a complaint (one strong phrase scores 0.63).
pub const COMPLAINT_SCORE: f32 = 0.6;

/// A service-group category score (one medium phrase, or two weak ones: 0.45) that counts as a
/// complaint when the mention reads negative and names the brand itself (`detect::streams`),
/// and from which the grievance model re-reads a text's tone (`app::prepare`).
pub const TONED_COMPLAINT_SCORE: f32 = 0.45;

/// The strongest of a text's service-group scores (outage, billing, service).
pub fn service_score(scores: &[f32; 8]) -> f32 {
    [Category::Outage, Category::Billing, Category::Service]
        .iter()
        .map(|&c| scores[category_slot(c)])
        .fold(0.0f32, f32::max)
}

/// The categories of a grievance: staff behaviour, danger and the service failures.
pub const GRIEVANCES: [Category; 5] = [
    Category::Conduct,
    Category::Safety,
    Category::Outage,
    Category::Billing,
    Category::Service,
];

/// The strongest grievance category score (0 when the text holds no grievance word at all).
pub fn grievance_score(scores: &[f32; 8]) -> f32 {
    GRIEVANCES
        .iter()
        .map(|&c| scores[category_slot(c)])
        .fold(0.0, f32::max)
}

/// Whether per-category scores state a complaint (conduct, safety, outage, billing, service).
pub fn is_complaint(scores: &[f32; 8]) -> bool {
    grievance_score(scores) >= COMPLAINT_SCORE
}

/// The position of `c` in [`Category::ALL`] (the index of its per-category score).
pub fn category_slot(c: Category) -> usize {
    Category::ALL.iter().position(|x| *x == c).unwrap_or(0)
}
