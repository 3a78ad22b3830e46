//! The randomized parameters of one family run, drawn from its seed.
//!
//! [`draw`] turns (family, seed, pool) into a [`RunParams`]: invented brands (names, terms,
//! handles, hashtags, excludes) with their background shape, the audience, the planted
//! stories and the run's time span. Every draw is a closed range or a clamped distribution, so
//! no seed can produce a NaN, an empty range or a panic. Ranges, with the wording:
//!
//! | parameter | range |
//! |---|---|
//! | background rate per brand | log-uniform 0.05–50 mentions/min (daily mean) |
//! | daily shape | amplitude 0–0.9 around the mean, peak hour 0–24 UTC |
//! | weekly shape | weekend factor 0.4–1.6 |
//! | history before the onset | 4 days under 0.5/min, 3 under 5/min, else 2 (quiet weeks: 7) |
//! | onset | a random minute, daytime (07–21 UTC) four times in five |
//! | cascade doubling time | log-uniform 4–60 min, peak 8–40/min or 0.5–2x the brand's rate |
//! | complaint share (background) | 3–30 % (slow burn: derived from its ratios) |
//! | reactions | 10–45 % of background; repost/quote/reply mix and unbranded share drawn |
//! | audience | log-normal followers (median 20–500, σ 0.8–2.4), 0–8 % new accounts, 0–6 % bots |

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

use super::phrases::{phrases, Phrases};
use super::{Family, Pool};
use crate::domain::Severity;

pub const MINUTE: i64 = 60_000;
pub const HOUR: i64 = 60 * MINUTE;
pub const DAY: i64 = 24 * HOUR;

/// Monday 2026-01-05T00:00:00Z: runs start on one of the seven days from here.
pub const EPOCH_MS: i64 = 1_767_571_200_000;

/// Optional bounds on the draws, for quick runs (the CI slice). `None` draws the full range.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Limits {
    /// Caps every brand's background rate (mentions per minute).
    pub rate_cap: Option<f64>,
    /// Draws every brand's background complaint share from this range instead of
    /// [`COMPLAINT_SHARE`] (a brand whose everyday talk is complaints, an airline's).
    pub complaint_share: Option<(f64, f64)>,
}

/// The range of a brand's background complaint share.
pub const COMPLAINT_SHARE: (f64, f64) = (0.03, 0.30);

/// One invented brand and its background traffic.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BrandParams {
    pub id: String,
    pub name: String,
    pub terms: Vec<String>,
    pub handles: Vec<String>,
    pub hashtags: Vec<String>,
    pub exclude: Vec<String>,
    /// Ways posts name the brand (`{b}`).
    #[serde(skip)]
    pub refs: Vec<String>,
    /// Index into the pool's sectors.
    pub sector: usize,
    /// Index into the pool's ambiguous words when the brand's name is an ordinary word.
    pub ambiguous: Option<usize>,
    /// Background mentions per minute, daily mean on weekdays.
    pub rate: f64,
    /// Daily swing: the rate is `rate · (1 + amplitude · cos(2π (h − peak_hour) / 24))`.
    pub amplitude: f64,
    pub peak_hour: f64,
    /// Multiplier on Saturdays and Sundays.
    pub weekend: f64,
    /// Share of background mentions that are complaints.
    pub complaint_share: f64,
    /// Share of background posts that praise.
    pub positive_share: f64,
    /// Share of background mentions that are reactions to the brand's recent posts.
    pub reaction_share: f64,
    /// Reaction mix (sums to 1).
    pub repost: f64,
    pub quote: f64,
    pub reply: f64,
    /// Share of text reactions (quotes, replies) that do not name the brand.
    pub unbranded_share: f64,
}

/// Reaction cascade around a root post (misconduct, positive viral).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Cascade {
    /// Reactions per minute right after the root post.
    pub start_rate: f64,
    /// Minutes for the reaction rate to double.
    pub doubling_min: f64,
    /// Growth stops at this rate or after `growth_cap_min`, whichever comes first.
    pub peak_rate: f64,
    pub growth_cap_min: f64,
    /// Time constant of the decay after the peak.
    pub decay_min: f64,
    /// Reaction mix; `1 − repost − quote − reply` are standalone branded posts.
    pub repost: f64,
    pub quote: f64,
    pub reply: f64,
    /// Share of quotes and replies that do not name the brand.
    pub unbranded_share: f64,
    /// Share of replies answering an earlier reply instead of the root.
    pub reply_to_reply: f64,
    pub root_followers: u64,
    /// Index of the root template in the pool group (wording of the allegation or praise).
    pub root: usize,
}

/// A rise, a plateau and a decay of independent posts (outages, billing, sarcasm, launch,
/// ambiguous chatter).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Wave {
    /// Posts per minute on the plateau.
    pub peak_rate: f64,
    /// Minutes of linear rise from 0 to the peak.
    pub rise_min: f64,
    pub hold_min: f64,
    /// Time constant of the decay after the plateau.
    pub decay_min: f64,
    /// Share of posts that are neutral questions ("is it down?") instead of complaints.
    pub question_share: f64,
    /// Share of posts that are unbranded replies to an earlier post of the wave.
    pub reply_share: f64,
}

/// A planted story.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Story {
    Misconduct {
        brand: usize,
        onset_ms: i64,
        cascade: Cascade,
    },
    PositiveViral {
        brand: usize,
        onset_ms: i64,
        cascade: Cascade,
    },
    /// Complaints ramp exponentially from their usual rate to `complaint_ratio` times it over
    /// `ramp_min`, hold, then recover; extra neutral posts make total volume reach
    /// `total_ratio` times its usual rate at the same moment.
    SlowBurnOutage {
        brand: usize,
        onset_ms: i64,
        complaint_ratio: f64,
        total_ratio: f64,
        ramp_min: f64,
        hold_min: f64,
        recover_min: f64,
        reply_share: f64,
    },
    SharpOutage {
        brand: usize,
        onset_ms: i64,
        wave: Wave,
    },
    BillingWave {
        brand: usize,
        onset_ms: i64,
        wave: Wave,
    },
    SarcasmWave {
        brand: usize,
        onset_ms: i64,
        wave: Wave,
    },
    ProductLaunch {
        brand: usize,
        onset_ms: i64,
        wave: Wave,
    },
    AmbiguousName {
        brand: usize,
        onset_ms: i64,
        wave: Wave,
        /// Whether the brand's config lists exclude phrases (some of the collocations).
        excludes_configured: bool,
    },
    Influencer {
        brand: usize,
        onset_ms: i64,
        followers: u64,
        start_rate: f64,
        decay_min: f64,
        repost: f64,
        quote: f64,
    },
    BotBurst {
        brand: usize,
        onset_ms: i64,
        posts: u32,
        minutes: f64,
        /// How many spam templates the burst rotates through (1–3).
        templates: usize,
        max_followers: u64,
        repost_share: f64,
    },
}

impl Story {
    pub fn brand(&self) -> usize {
        match self {
            Story::Misconduct { brand, .. }
            | Story::PositiveViral { brand, .. }
            | Story::SlowBurnOutage { brand, .. }
            | Story::SharpOutage { brand, .. }
            | Story::BillingWave { brand, .. }
            | Story::SarcasmWave { brand, .. }
            | Story::ProductLaunch { brand, .. }
            | Story::AmbiguousName { brand, .. }
            | Story::Influencer { brand, .. }
            | Story::BotBurst { brand, .. } => *brand,
        }
    }

    pub fn onset_ms(&self) -> i64 {
        match self {
            Story::Misconduct { onset_ms, .. }
            | Story::PositiveViral { onset_ms, .. }
            | Story::SlowBurnOutage { onset_ms, .. }
            | Story::SharpOutage { onset_ms, .. }
            | Story::BillingWave { onset_ms, .. }
            | Story::SarcasmWave { onset_ms, .. }
            | Story::ProductLaunch { onset_ms, .. }
            | Story::AmbiguousName { onset_ms, .. }
            | Story::Influencer { onset_ms, .. }
            | Story::BotBurst { onset_ms, .. } => *onset_ms,
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Story::Misconduct { .. } => "misconduct",
            Story::PositiveViral { .. } => "positive_viral",
            Story::SlowBurnOutage { .. } => "slow_burn_outage",
            Story::SharpOutage { .. } => "sharp_outage",
            Story::BillingWave { .. } => "billing_wave",
            Story::SarcasmWave { .. } => "sarcasm_wave",
            Story::ProductLaunch { .. } => "product_launch",
            Story::AmbiguousName { .. } => "ambiguous_name",
            Story::Influencer { .. } => "influencer",
            Story::BotBurst { .. } => "bot_burst",
        }
    }

    /// Minutes from the onset to the end of the story's traffic.
    pub fn duration_min(&self) -> f64 {
        match self {
            Story::Misconduct { cascade, .. } | Story::PositiveViral { cascade, .. } => {
                cascade.peak_min() + 3.0 * cascade.decay_min
            }
            Story::SlowBurnOutage {
                ramp_min,
                hold_min,
                recover_min,
                ..
            } => ramp_min + hold_min + 3.0 * recover_min,
            Story::SharpOutage { wave, .. }
            | Story::BillingWave { wave, .. }
            | Story::SarcasmWave { wave, .. }
            | Story::ProductLaunch { wave, .. }
            | Story::AmbiguousName { wave, .. } => wave.duration_min(),
            Story::Influencer { decay_min, .. } => 4.0 * decay_min,
            Story::BotBurst { minutes, .. } => *minutes,
        }
    }

    /// What the detector should do (`None`: no page above info).
    pub fn expect(&self) -> Option<Expect> {
        let support = |min_severity, deadline_min| Expect {
            team: "support",
            allowed: &["support"],
            min_severity,
            deadline_min,
        };
        match self {
            Story::Misconduct { cascade, .. } => Some(Expect {
                team: "field-ops",
                allowed: &["field-ops", "support"],
                min_severity: Severity::Error,
                deadline_min: misconduct_deadline_min(cascade.doubling_min),
            }),
            Story::SlowBurnOutage { .. } => Some(support(Severity::Warning, 180.0)),
            Story::SharpOutage { .. } => Some(support(Severity::Warning, 30.0)),
            Story::BillingWave { .. } => Some(support(Severity::Warning, 120.0)),
            Story::SarcasmWave { .. } => Some(support(Severity::Warning, 180.0)),
            _ => None,
        }
    }

    /// Whether conduct/safety alerts are part of this story (not false watches).
    pub fn alleges_conduct(&self) -> bool {
        matches!(self, Story::Misconduct { .. })
    }
}

/// How many times its usual rate a slow burn's complaint rate runs `t` minutes after the
/// onset: exponential from 1 to `k` over `ramp`, `k` for `hold`, then back towards 1 with
/// time constant `recover`.
pub fn slow_burn_multiplier(k: f64, ramp: f64, hold: f64, recover: f64, t: f64) -> f64 {
    if t < 0.0 {
        1.0
    } else if t < ramp {
        k.powf(t / ramp)
    } else if t < ramp + hold {
        k
    } else {
        1.0 + (k - 1.0) * (-(t - ramp - hold) / recover.max(1e-9)).exp()
    }
}

/// The minutes after a slow burn's onset by which the *expected* log-likelihood ratio of its
/// true complaint ramp against "no change" reaches `threshold`: about the median time an
/// oracle that knows the ramp's exact shape and the usual complaint rate `usual(t)` (per
/// minute, `t` minutes after the onset) would page at that threshold. The expected evidence a
/// minute is `usual · (m ln m − m + 1)` at multiplier `m` ([`slow_burn_multiplier`]); no test
/// that has to estimate the usual rate and does not know the ramp does better on average, so
/// the ratio of a detector's first page to this bound says how much of a delay is the
/// detector's and how much is the evidence's. `None` when it is not reached within
/// `horizon_min`.
pub fn slow_burn_oracle_min(
    usual: impl Fn(f64) -> f64,
    k: f64,
    ramp: f64,
    hold: f64,
    recover: f64,
    threshold: f64,
    horizon_min: f64,
) -> Option<f64> {
    let mut evidence = 0.0;
    let mut t = 0.0;
    while t < horizon_min {
        let m = slow_burn_multiplier(k, ramp, hold, recover, t + 0.5);
        evidence += usual(t + 0.5) * (m * m.ln() - m + 1.0);
        t += 1.0;
        if evidence >= threshold {
            return Some(t);
        }
    }
    None
}

/// The misconduct deadline: an hour, or four doubling times for slower cascades (the time to
/// grow sixteen-fold), at most four hours.
pub fn misconduct_deadline_min(doubling_min: f64) -> f64 {
    (4.0 * doubling_min).clamp(60.0, 240.0)
}

/// What a crisis story must produce.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Expect {
    /// The team that must be paged.
    pub team: &'static str,
    /// Teams the story may page (any other is a wrong-team page).
    pub allowed: &'static [&'static str],
    pub min_severity: Severity,
    /// Minutes after the onset by which the page must come.
    pub deadline_min: f64,
}

impl Cascade {
    /// Minutes from the root to the peak of the reaction rate.
    pub fn peak_min(&self) -> f64 {
        let to_peak = self.doubling_min * (self.peak_rate / self.start_rate).max(1.0).log2();
        to_peak.min(self.growth_cap_min)
    }

    /// Reactions per minute `t` minutes after the root.
    pub fn rate_at(&self, t: f64) -> f64 {
        let peak = self.peak_min();
        if t < 0.0 {
            0.0
        } else if t <= peak {
            self.start_rate * (t / self.doubling_min).exp2()
        } else {
            self.start_rate
                * (peak / self.doubling_min).exp2()
                * (-(t - peak) / self.decay_min).exp()
        }
    }
}

impl Wave {
    pub fn duration_min(&self) -> f64 {
        self.rise_min + self.hold_min + 3.0 * self.decay_min
    }

    /// Posts per minute `t` minutes after the onset.
    pub fn rate_at(&self, t: f64) -> f64 {
        if t < 0.0 {
            0.0
        } else if t < self.rise_min {
            self.peak_rate * (t + 0.5) / self.rise_min
        } else if t < self.rise_min + self.hold_min {
            self.peak_rate
        } else {
            self.peak_rate * (-(t - self.rise_min - self.hold_min) / self.decay_min).exp()
        }
    }
}

/// Everything one run is made of.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunParams {
    pub family: Family,
    pub seed: u64,
    pub pool: Pool,
    pub start_ms: i64,
    pub end_ms: i64,
    /// Whole days of background before the first onset.
    pub history_days: u32,
    pub brands: Vec<BrandParams>,
    pub stories: Vec<Story>,
    /// Unbranded chatter per minute.
    pub noise_rate: f64,
    /// Share of posts with one swapped-letter typo (outside brand names).
    pub typo_rate: f64,
    /// Regular accounts to draw authors from.
    pub population: u32,
    pub followers_median: f64,
    pub followers_sigma: f64,
    /// Share of regular accounts created in the last days.
    pub new_account_share: f64,
    /// Share of background posts written by bot-like accounts.
    pub bot_share: f64,
}

impl RunParams {
    /// [`slow_burn_oracle_min`] for story `s` at the detector's CUSUM threshold, from the
    /// brand's drawn complaint share and background rate (with its daily and weekly shape);
    /// `None` for other stories.
    pub fn oracle_min(&self, s: &Story) -> Option<f64> {
        let Story::SlowBurnOutage {
            brand,
            onset_ms,
            complaint_ratio,
            ramp_min,
            hold_min,
            recover_min,
            ..
        } = *s
        else {
            return None;
        };
        let share = self.brands.get(brand)?.complaint_share;
        let usual =
            |t: f64| share * self.background_rate(brand, onset_ms + (t * MINUTE as f64) as i64);
        slow_burn_oracle_min(
            usual,
            complaint_ratio,
            ramp_min,
            hold_min,
            recover_min,
            crate::detect::detector::SERVICE_CUSUM_THRESHOLD,
            ramp_min + hold_min + 3.0 * recover_min,
        )
    }

    /// Background mentions per minute of brand `b` at event time `t` (daily and weekly shape).
    pub fn background_rate(&self, b: usize, t: i64) -> f64 {
        let Some(brand) = self.brands.get(b) else {
            return 0.0;
        };
        let hour = t.rem_euclid(DAY) as f64 / HOUR as f64;
        let daily =
            1.0 + brand.amplitude * ((hour - brand.peak_hour) / 24.0 * std::f64::consts::TAU).cos();
        // Days since the epoch + 3 gives Monday = 0.
        let weekday = (t.div_euclid(DAY) + 3).rem_euclid(7);
        let weekly = if weekday >= 5 { brand.weekend } else { 1.0 };
        (brand.rate * daily * weekly).max(0.0)
    }
}

/// A uniform draw in `[lo, hi]` (either order).
pub(crate) fn uniform(rng: &mut ChaCha8Rng, lo: f64, hi: f64) -> f64 {
    lo + rng.gen::<f64>() * (hi - lo)
}

/// A log-uniform draw in `[lo, hi]`, both positive.
pub(crate) fn log_uniform(rng: &mut ChaCha8Rng, lo: f64, hi: f64) -> f64 {
    let (a, b) = (lo.max(1e-12).ln(), hi.max(1e-12).ln());
    (a + rng.gen::<f64>() * (b - a)).exp()
}

fn pick<'a>(rng: &mut ChaCha8Rng, xs: &'a [&'a str]) -> &'a str {
    if xs.is_empty() {
        ""
    } else {
        xs[rng.gen_range(0..xs.len())]
    }
}

/// The run's random stream: one ChaCha stream per (family, seed, pool).
pub fn rng_for(family: Family, seed: u64, pool: Pool) -> ChaCha8Rng {
    let pool_salt: u64 = match pool {
        Pool::Tune => 0x7475_6e65,
        Pool::Test => 0x7465_7374,
    };
    let mut key = [0u8; 32];
    key[..8].copy_from_slice(&seed.to_le_bytes());
    key[8..16].copy_from_slice(&family.salt().to_le_bytes());
    key[16..24].copy_from_slice(&pool_salt.to_le_bytes());
    key[24..].copy_from_slice(b"fp-fam01");
    ChaCha8Rng::from_seed(key)
}

/// Draws the brand with index `slot` of a run (distinct stems per slot).
fn draw_brand(
    rng: &mut ChaCha8Rng,
    ph: &Phrases,
    taken: &[String],
    ambiguous: bool,
    limits: &Limits,
) -> BrandParams {
    let sector = rng.gen_range(0..ph.sectors.len().max(1));
    let suffixes = ph.sectors.get(sector).map_or(&[][..], |s| s.suffixes);
    let suffix = pick(rng, suffixes).to_string();
    let (word, amb) = if ambiguous && !ph.ambiguous.is_empty() {
        let i = rng.gen_range(0..ph.ambiguous.len());
        (ph.ambiguous[i].word.to_string(), Some(i))
    } else {
        // A stem not used by another brand of the run.
        let free: Vec<&str> = ph
            .stems
            .iter()
            .copied()
            .filter(|s| !taken.iter().any(|t| t.eq_ignore_ascii_case(s)))
            .collect();
        let stem = if free.is_empty() {
            format!("Brand{}", taken.len())
        } else {
            free[rng.gen_range(0..free.len())].to_string()
        };
        (stem.to_lowercase(), None)
    };
    let cap = {
        let mut c = word.chars();
        c.next()
            .map(|f| f.to_uppercase().chain(c).collect::<String>())
            .unwrap_or_default()
    };
    let suffix_l = suffix.to_lowercase();
    let name = format!("{cap} {suffix}");
    let handle = format!("@{word}{}", suffix_l.replace(' ', ""));
    let hashtag = format!("#{word}");
    let terms = vec![format!("{word} {suffix_l}"), word.clone()];
    let refs = vec![
        name.clone(),
        cap.clone(),
        word.clone(),
        handle.clone(),
        hashtag.clone(),
        name.to_lowercase(),
    ];
    let mut rate = log_uniform(rng, 0.05, 50.0);
    if let Some(cap) = limits.rate_cap {
        rate = rate.min(cap.max(0.05));
    }
    let reaction_share = uniform(rng, 0.10, 0.45);
    let (r, q, p) = (
        uniform(rng, 0.2, 1.0),
        uniform(rng, 0.05, 0.4),
        uniform(rng, 0.3, 1.0),
    );
    let sum = r + q + p;
    BrandParams {
        id: word.clone(),
        name,
        terms,
        handles: vec![handle],
        hashtags: vec![hashtag],
        exclude: Vec::new(),
        refs,
        sector,
        ambiguous: amb,
        rate,
        amplitude: uniform(rng, 0.0, 0.9),
        peak_hour: uniform(rng, 0.0, 24.0),
        weekend: uniform(rng, 0.4, 1.6),
        complaint_share: {
            let (lo, hi) = limits.complaint_share.unwrap_or(COMPLAINT_SHARE);
            uniform(rng, lo, hi)
        },
        positive_share: uniform(rng, 0.05, 0.35),
        reaction_share,
        repost: r / sum,
        quote: q / sum,
        reply: p / sum,
        unbranded_share: uniform(rng, 0.3, 0.95),
    }
}

/// A cascade on a brand with background `brand_rate`: a story about a big brand reaches more
/// people, so the peak is at least half to twice the brand's usual rate (8–40/min otherwise).
fn draw_cascade(rng: &mut ChaCha8Rng, roots: usize, misconduct: bool, brand_rate: f64) -> Cascade {
    let repost = uniform(rng, 0.2, 0.5);
    let quote = uniform(rng, 0.05, 0.2);
    let branded = uniform(rng, 0.03, 0.12);
    let reply = (1.0 - repost - quote - branded).max(0.0);
    Cascade {
        start_rate: uniform(rng, 0.2, 1.0),
        doubling_min: log_uniform(rng, 4.0, 60.0),
        peak_rate: log_uniform(rng, 8.0, 40.0)
            .max(brand_rate * uniform(rng, 0.5, 2.0))
            .min(150.0),
        growth_cap_min: 240.0,
        decay_min: uniform(rng, 30.0, 90.0),
        repost,
        quote,
        reply,
        unbranded_share: if misconduct {
            uniform(rng, 0.6, 0.95)
        } else {
            uniform(rng, 0.5, 0.9)
        },
        reply_to_reply: uniform(rng, 0.0, 0.3),
        root_followers: log_uniform(rng, 80.0, 30_000.0) as u64,
        root: rng.gen_range(0..roots.max(1)),
    }
}

/// A wave whose plateau is `multiple` times the brand's daily mean rate, at least `floor`
/// posts per minute and at most `cap`.
#[allow(clippy::too_many_arguments)]
fn draw_wave(
    rng: &mut ChaCha8Rng,
    brand_rate: f64,
    multiple: (f64, f64),
    floor: (f64, f64),
    cap: f64,
    rise: (f64, f64),
    hold: (f64, f64),
    question_share: (f64, f64),
) -> Wave {
    let m = uniform(rng, multiple.0, multiple.1);
    let f = uniform(rng, floor.0, floor.1);
    Wave {
        peak_rate: (brand_rate * m).max(f).min(cap),
        rise_min: uniform(rng, rise.0, rise.1).max(1.0),
        hold_min: uniform(rng, hold.0, hold.1).max(0.0),
        decay_min: uniform(rng, 15.0, 45.0),
        question_share: uniform(rng, question_share.0, question_share.1),
        reply_share: uniform(rng, 0.05, 0.2),
    }
}

/// The story of a single-story family on `brand`, starting at `onset_ms`.
fn draw_story(
    rng: &mut ChaCha8Rng,
    ph: &Phrases,
    family: Family,
    brand: usize,
    brands: &mut [BrandParams],
    onset_ms: i64,
) -> Story {
    let rate = brands.get(brand).map_or(1.0, |b| b.rate);
    match family {
        Family::Misconduct | Family::TwoIncidents | Family::QuietWeeks => Story::Misconduct {
            brand,
            onset_ms,
            cascade: draw_cascade(rng, ph.misconduct_root.len(), true, rate),
        },
        Family::PositiveViral => Story::PositiveViral {
            brand,
            onset_ms,
            cascade: draw_cascade(rng, ph.viral_root.len(), false, rate),
        },
        Family::SlowBurnOutage => {
            let complaint_ratio = uniform(rng, 10.0, 20.0);
            let total_ratio = uniform(rng, 2.0, 3.0);
            // Complaints at `c` of the usual total reach `K · c`; the rest of the rise is
            // neutral questions, so `c ≤ (T − 1) / (K − 1)` keeps the total at `T`.
            let share = (total_ratio - 1.0) / (complaint_ratio - 1.0) * uniform(rng, 0.5, 1.0);
            if let Some(b) = brands.get_mut(brand) {
                b.complaint_share = share;
            }
            Story::SlowBurnOutage {
                brand,
                onset_ms,
                complaint_ratio,
                total_ratio,
                // About four hours, short enough that complaints pass three times their
                // usual rate within two hours (K^(120/ramp) >= 3).
                ramp_min: uniform(
                    rng,
                    210.0,
                    (120.0 * complaint_ratio.ln() / 3f64.ln()).min(270.0),
                ),
                hold_min: uniform(rng, 30.0, 90.0),
                recover_min: uniform(rng, 20.0, 60.0),
                reply_share: uniform(rng, 0.05, 0.2),
            }
        }
        Family::SharpOutage => Story::SharpOutage {
            brand,
            onset_ms,
            wave: draw_wave(
                rng,
                rate,
                (3.0, 10.0),
                (1.0, 3.0),
                150.0,
                (2.0, 10.0),
                (30.0, 120.0),
                (0.05, 0.25),
            ),
        },
        Family::BillingWave => Story::BillingWave {
            brand,
            onset_ms,
            wave: draw_wave(
                rng,
                rate,
                (1.5, 6.0),
                (0.8, 2.0),
                100.0,
                (30.0, 120.0),
                (60.0, 180.0),
                (0.0, 0.0),
            ),
        },
        Family::SarcasmWave => Story::SarcasmWave {
            brand,
            onset_ms,
            wave: draw_wave(
                rng,
                rate,
                (1.5, 6.0),
                (0.8, 2.0),
                100.0,
                (30.0, 120.0),
                (60.0, 180.0),
                (0.0, 0.0),
            ),
        },
        Family::ProductLaunch => Story::ProductLaunch {
            brand,
            onset_ms,
            wave: draw_wave(
                rng,
                rate,
                (3.0, 12.0),
                (1.0, 3.0),
                150.0,
                (30.0, 90.0),
                (60.0, 240.0),
                (0.0, 0.0),
            ),
        },
        Family::AmbiguousName => {
            let excludes_configured = rng.gen_bool(0.5);
            if let Some(b) = brands.get_mut(brand) {
                if excludes_configured {
                    let colls = b
                        .ambiguous
                        .and_then(|i| ph.ambiguous.get(i))
                        .map_or(&[][..], |a| a.collocations);
                    let mut ex: Vec<String> = colls
                        .iter()
                        .filter(|_| rng.gen_bool(0.6))
                        .map(|c| c.to_string())
                        .collect();
                    if ex.is_empty() {
                        if let Some(c) = colls.first() {
                            ex.push(c.to_string());
                        }
                    }
                    b.exclude = ex;
                }
            }
            Story::AmbiguousName {
                brand,
                onset_ms,
                wave: draw_wave(
                    rng,
                    rate,
                    (2.0, 10.0),
                    (1.0, 6.0),
                    120.0,
                    (20.0, 90.0),
                    (90.0, 300.0),
                    (0.0, 0.0),
                ),
                excludes_configured,
            }
        }
        Family::Influencer => Story::Influencer {
            brand,
            onset_ms,
            followers: log_uniform(rng, 200_000.0, 5_000_000.0) as u64,
            start_rate: log_uniform(rng, 5.0, 40.0),
            decay_min: uniform(rng, 15.0, 60.0),
            repost: uniform(rng, 0.6, 0.9),
            quote: uniform(rng, 0.0, 0.1),
        },
        Family::BotBurst => Story::BotBurst {
            brand,
            onset_ms,
            posts: rng.gen_range(150..=900),
            minutes: uniform(rng, 10.0, 45.0),
            templates: rng.gen_range(1..=3),
            max_followers: rng.gen_range(0..=15),
            repost_share: uniform(rng, 0.0, 0.4),
        },
    }
}

/// Days of background before the onset: enough history for baselines, fewer for busy brands
/// so that a run stays a few tens of thousands of mentions at most.
fn history_days(max_rate: f64) -> u32 {
    if max_rate >= 5.0 {
        2
    } else if max_rate >= 0.5 {
        3
    } else {
        4
    }
}

/// Draws every parameter of one run. Pure: the same arguments always give the same value.
pub fn draw(family: Family, seed: u64, pool: Pool, limits: &Limits) -> RunParams {
    let mut rng = rng_for(family, seed, pool);
    let ph = phrases(pool);
    let start_ms = EPOCH_MS + rng.gen_range(0..7i64) * DAY;
    // Two incidents happen on two brands half the time, else as two stories on one brand.
    let n_brands = if family == Family::TwoIncidents && rng.gen_bool(0.5) {
        2
    } else {
        1
    };
    let mut brands: Vec<BrandParams> = Vec::new();
    for i in 0..n_brands {
        let taken: Vec<String> = brands.iter().map(|b| b.id.clone()).collect();
        let ambiguous = family == Family::AmbiguousName && i == 0;
        brands.push(draw_brand(&mut rng, ph, &taken, ambiguous, limits));
    }
    let max_rate = brands.iter().map(|b| b.rate).fold(0.0, f64::max);
    let history = if family == Family::QuietWeeks {
        7
    } else {
        history_days(max_rate)
    };
    let onset_in_day = if rng.gen_bool(0.8) {
        rng.gen_range(7 * 60..21 * 60)
    } else {
        rng.gen_range(0..24 * 60)
    };
    let onset_ms =
        start_ms + i64::from(history) * DAY + onset_in_day * MINUTE + rng.gen_range(0..MINUTE);
    let mut stories = Vec::new();
    match family {
        Family::QuietWeeks => {}
        Family::TwoIncidents => {
            // A misconduct story plus an outage or billing wave: on a second brand, or on the
            // same brand within the next ninety minutes.
            let second = *[
                Family::SharpOutage,
                Family::BillingWave,
                Family::SlowBurnOutage,
            ]
            .get(rng.gen_range(0..3))
            .unwrap_or(&Family::SharpOutage);
            let first_on_b = rng.gen_bool(0.5);
            let (a, b) = if brands.len() > 1 {
                if first_on_b {
                    (1, 0)
                } else {
                    (0, 1)
                }
            } else {
                (0, 0)
            };
            stories.push(draw_story(
                &mut rng,
                ph,
                Family::Misconduct,
                a,
                &mut brands,
                onset_ms,
            ));
            let offset = rng.gen_range(0..=90) * MINUTE + rng.gen_range(0..MINUTE);
            stories.push(draw_story(
                &mut rng,
                ph,
                second,
                b,
                &mut brands,
                onset_ms + offset,
            ));
        }
        f => stories.push(draw_story(&mut rng, ph, f, 0, &mut brands, onset_ms)),
    }
    let story_end = stories
        .iter()
        .map(|s| s.onset_ms() + (s.duration_min().min(12.0 * 60.0) * MINUTE as f64) as i64)
        .max();
    let end_ms = match story_end {
        // Two quiet hours after the story so that incidents can resolve.
        Some(e) => e.max(onset_ms + 6 * HOUR) + 2 * HOUR,
        None => start_ms + i64::from(history) * DAY,
    };
    RunParams {
        family,
        seed,
        pool,
        start_ms,
        end_ms,
        history_days: history,
        brands,
        stories,
        noise_rate: uniform(&mut rng, 0.1, 0.5),
        typo_rate: uniform(&mut rng, 0.0, 0.05),
        population: rng.gen_range(5_000..=200_000),
        followers_median: log_uniform(&mut rng, 20.0, 500.0),
        followers_sigma: uniform(&mut rng, 0.8, 2.4),
        new_account_share: uniform(&mut rng, 0.0, 0.08),
        bot_share: uniform(&mut rng, 0.0, 0.06),
    }
}
