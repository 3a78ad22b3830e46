//! Severity grading and category choice for an incident, from its evidence and the brand's
//! volume signal. Pure functions: the same signals always give the same grade.
//!
//! Grades (before the routing cap):
//! - **info**: a watch (one risky post) or an anomaly that is positive, spam or too small.
//! - **warning**: a significant, persistent volume spike that is mostly negative (in sentiment
//!   words, or in stated complaints: half the posts naming a service failure; a spike
//!   negative in words but under half negative also needs [`STATED_COMPLAINT_SHARE`] of stated
//!   complaints) and comes from several authors; or a risky conduct/safety post whose
//!   reactions are building.
//! - **error**: warning plus a large excess over baseline (rate ≥ 8× baseline and ≥ 40
//!   mentions in the last hour), or a service failure whose complaint stream runs alarmed at
//!   ≥ [`SERVICE_ERROR_RATIO`] times its usual level (≥ 2 a minute, ≥ 40 mentions in the
//!   hour), or a conduct/safety incident growing fast
//!   (≥ [`STORY_ERROR_REACTIONS`] mentions in the hour, doubling in ≤ 60 min, a story's
//!   doubling fitted on its thread) that began with a risky post, that is a thread's story
//!   about conduct or danger (`detect::threads`), or whose conduct/safety
//!   complaint stream runs at ≥ [`CONDUCT_STORY_RATIO`] times its baseline (≥ 40 mentions in
//!   the hour is enough for the latter).
//! - **critical**: error plus massive volume (≥ 400 mentions in the hour at ≥ 25× baseline) or
//!   massive reach (≥ 5M followers reached with ≥ 150 mentions).

use crate::config::DetectConfig;
use crate::domain::{Category, Severity};

/// Everything grading looks at, for one incident at one evaluation minute.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Signals {
    pub mentions_15: f64,
    pub mentions_60: f64,
    pub rate_per_min: f64,
    pub baseline_per_min: f64,
    /// Upper-tail probability of the brand's 15-minute volume under its baseline.
    pub p_value: f64,
    /// Consecutive minutes the brand's volume has been significant.
    pub spike_run: u32,
    pub doubling_time_s: Option<f64>,
    pub negative_share: f64,
    pub positive_share: f64,
    /// Share of mentions (with text) that state a complaint, whatever their sentiment words.
    pub complaint_share: f64,
    pub bot_share: f64,
    pub duplicate_share: f64,
    pub unique_authors: u64,
    pub reach: u64,
    pub max_risk: f64,
    /// For an incident on a category group's complaint stream: that stream's numbers.
    pub group: Option<GroupSignal>,
    /// For a volume incident about a service failure (outage, billing, service; not a stream's
    /// own incident): the brand's service or outage complaint stream at this minute, whichever
    /// runs further above its usual level. An outage's brand-wide incident is graded on it
    /// too, not only on the brand's whole volume ([`SERVICE_ERROR_RATIO`]).
    pub service_stream: Option<GroupSignal>,
    /// The brand's usual share of negative mentions (learnt over about a day).
    pub usual_negative_share: f64,
    /// Mentions of the incident that name the brand in their own text, the share of them that
    /// name it only as an ordinary-looking word, and the brand's usual share of such mentions
    /// (`brand::naming`).
    pub named: u64,
    pub plain_share: f64,
    pub usual_plain_share: f64,
    /// The brand's mentions naming it in the last 15 minutes, and the share of them naming it
    /// only as an ordinary word (the whole brand, not only the incident's evidence).
    pub named_now: u64,
    pub plain_share_now: f64,
    /// The brand's (bot-discounted) volume of the last 15 minutes over its baseline.
    pub volume_ratio_now: f64,
    /// The incident is a thread's story about conduct or danger (`detect::threads`): it is
    /// graded as a risky post's story is, on its own growth.
    pub story: bool,
}

/// A category group's complaint stream at one evaluation minute.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct GroupSignal {
    /// Complaints per minute over the last 15 minutes (bot-discounted).
    pub rate_per_min: f64,
    /// The stream's seasonal baseline, per minute.
    pub baseline_per_min: f64,
    /// The CUSUM statistic.
    pub cusum: f64,
    /// The stream's alarm threshold (`detector::cusum_threshold`).
    pub threshold: f64,
    /// Whether the statistic is at or over its threshold while the stream's complaints still
    /// come (at least three in the last 15 minutes, above the slow CUSUM's ratio of the
    /// baseline).
    pub alarm: bool,
    /// The stream is the outage reports' (the brand's service cannot be reached at all),
    /// not another complaint group's: the why-sentence names them so.
    pub outage: bool,
}

/// How far above its baseline a conduct/safety complaint stream must run for its incident to
/// escalate like a risky post's story ([`grade`]).
pub const CONDUCT_STORY_RATIO: f64 = 10.0;

/// How far above its usual level a service or outage complaint stream must run, alarmed, for
/// its incident to escalate to error ([`grade`]), with at least [`SERVICE_ERROR_PER_MIN`]
/// complaints a minute and 40 mentions in the incident's last hour. Twenty-fifth round of
/// issue 16: a sharp outage on a busy brand (complaints 15x their usual rate) stayed at
/// warning for as long as it lasted, because the brand's whole volume, where the complaints
/// are a part of the chatter, rose only 2 to 3 times, short of the volume rule's 8.
pub const SERVICE_ERROR_RATIO: f64 = 10.0;
/// The complaints a minute (last 15 minutes) that rule needs: the volume rule's own floor.
pub const SERVICE_ERROR_PER_MIN: f64 = 2.0;

impl GroupSignal {
    /// Whether this stream is alarmed at the scale of a major service failure
    /// ([`SERVICE_ERROR_RATIO`], [`SERVICE_ERROR_PER_MIN`]).
    pub fn major(&self) -> bool {
        self.alarm
            && self.rate_per_min >= SERVICE_ERROR_PER_MIN
            && self.rate_per_min >= SERVICE_ERROR_RATIO * self.baseline_per_min.max(0.02)
    }
}

/// Mentions in the last hour a risky story (or alleged conduct) needs, while doubling within
/// the hour, to page at error: about three and a half doublings of one post, inside the
/// issue's "error within six doubling times". 25 before the eighth round of issue 16 (with the
/// thread's Poisson growth fit, 15 brought the tuning pool's misconduct p90 from 51 to 41
/// minutes); 12 in the ninth (p90 41 to 37, p50 19 to 16). Neither changed a benign family.
pub const STORY_ERROR_REACTIONS: f64 = 12.0;

/// The negative share from which a volume spike is negative enough on its words alone
/// ([`grade`]).
pub const STRONGLY_NEGATIVE_SHARE: f64 = 0.5;
/// Under [`STRONGLY_NEGATIVE_SHARE`], the share of the incident's mentions that must state a
/// complaint (the complaint model at its threshold, or a strong complaint phrase) for a
/// negative spike to page. Eighteenth
/// round of issue 16: on the development launch posts (`data/dev-phrases/launch_plain.txt`
/// swapped into 30 tuning-seed launches) six of the seven pages were spikes 35–40 % negative
/// with 2.5–11 % complaints (mood tails such as "smh" on plain praise), while every tuning-seed
/// outage, billing, sarcasm and two-incident run whose first page came from negative words had
/// 17.7 % complaints or more.
pub const STATED_COMPLAINT_SHARE: f64 = 0.15;

/// Mentions naming the brand an incident needs before its plain share is judged.
pub const ORDINARY_WORD_MIN_NAMED: u64 = 10;
/// A surge is the ordinary word trending, not the brand, when at least this share of its
/// mentions name the brand only as the word...
pub const ORDINARY_WORD_SHARE: f64 = 0.8;
/// ... and that share is this far above the brand's usual share.
pub const ORDINARY_WORD_EXCESS: f64 = 0.3;
/// The brand's volume over its baseline at which the rise of its last 15 minutes is judged on
/// its own ([`Signals::surge_plain_share`]): below it the rise is too small a part of the
/// window to estimate. 2 before the sixteenth round of issue 16; at 1.5 a word that trends
/// slowly is judged while its rise is still under the brand's own chatter, before the
/// incident's evidence fills with that chatter's complaints
/// (`detection_defects::a_slowly_trending_ordinary_word_on_a_busy_brand_pages_no_one`).
pub const WORD_SURGE_MIN_RATIO: f64 = 1.5;

/// Whether a `category` story with `max_risk` began with (or holds) one post alleging staff
/// misconduct or danger: such a story keeps its category, is not capped by cold start or the
/// ordinary-word rule, and grades on its own thread.
pub fn risky_story(category: Category, max_risk: f64, cfg: &DetectConfig) -> bool {
    matches!(category, Category::Conduct | Category::Safety) && max_risk >= cfg.single_post_risk
}

impl Signals {
    /// Whether the incident is mostly an ordinary word that the brand is named after ("apple
    /// picking at the orchard"), much more so than the brand's own chatter: not the brand.
    /// Judged on the incident's evidence, or on the rise of the brand's last 15 minutes
    /// ([`Signals::surge_plain_share`]): an incident open for hours gathers the brand's
    /// long-lived chatter clusters into its evidence, and its plain share then falls under
    /// the cap while the rise itself is still the word.
    pub fn ordinary_word(&self) -> bool {
        let word = |share: f64| {
            share >= ORDINARY_WORD_SHARE && share >= self.usual_plain_share + ORDINARY_WORD_EXCESS
        };
        (self.named >= ORDINARY_WORD_MIN_NAMED && word(self.plain_share))
            || (self.named_now >= ORDINARY_WORD_MIN_NAMED && word(self.surge_plain_share()))
    }

    /// The share of the rise's own mentions (those above the baseline) that name the brand
    /// only as the ordinary word, estimated from the brand's last 15 minutes: with the volume
    /// at `r` times its baseline, `1/r` of them are the usual chatter at its usual share.
    /// 0 when the volume is under [`WORD_SURGE_MIN_RATIO`] times its baseline.
    pub fn surge_plain_share(&self) -> f64 {
        let r = self.volume_ratio_now;
        if r < WORD_SURGE_MIN_RATIO {
            return 0.0;
        }
        let usual = self.usual_plain_share / r;
        ((self.plain_share_now - usual) / (1.0 - 1.0 / r)).clamp(0.0, 1.0)
    }

    /// Rate over baseline, with the baseline floored so a silent brand is not infinite.
    pub fn ratio(&self) -> f64 {
        self.rate_per_min / self.baseline_per_min.max(0.05)
    }
}

/// Spam if most of it comes from bot-like accounts, or it is mostly near-identical text with a
/// sizeable bot share (people do write "same here" and "internet down again" word for word);
/// positive if praise clearly dominates and few posts state a complaint; otherwise the leading negative category (`fallback`
/// when none scored).
pub fn choose_category(s: &Signals, fallback: Category) -> Category {
    if s.bot_share >= 0.5 || (s.duplicate_share >= 0.5 && s.bot_share >= 0.2) {
        Category::Spam
    } else if s.positive_share >= 0.4
        && s.positive_share >= 2.0 * s.negative_share
        && s.complaint_share < 0.3
    {
        Category::Positive
    } else if fallback == Category::Positive && s.negative_share > s.positive_share {
        Category::Other
    } else {
        fallback
    }
}

/// The severity the evidence supports for a `category` incident (not yet capped by routing).
pub fn grade(category: Category, s: &Signals, cfg: &DetectConfig) -> Severity {
    if matches!(category, Category::Positive | Category::Spam) {
        return Severity::Info;
    }
    let persistence = persistence_minutes(cfg);
    let risky = risky_story(category, s.max_risk, cfg) || s.story;
    // "Orchard" the fruit farm trending is not Orchard the company: a surge that names the
    // brand only as the ordinary word, far more than its chatter does, stays informational
    // (a risky post names its staff, and keeps its own path).
    if s.ordinary_word() && !risky {
        return Severity::Info;
    }
    let spike = s.p_value < cfg.spike_p_value
        && s.spike_run >= persistence
        && s.mentions_15 >= f64::from(cfg.min_mentions);
    // Negative in words, or in facts: sarcastic complaints ("great job, 3 hours on hold")
    // read positive to a lexicon but state a service failure.
    // ... and clearly more negative than the brand usually is: a busy hour of a brand whose
    // chatter is always 40 % negative is not a crisis.
    // Mixed reactions (about as many positive as negative) are not a crisis either.
    let worded = s.negative_share >= 0.35_f64.max(s.usual_negative_share + 0.15)
        && s.negative_share >= 1.5 * s.positive_share;
    // A third of the posts negative in words, with almost none stating what went wrong, is
    // the texture of any busy day ("my wallet hates me, ordered one", "... fml"), not a
    // crisis: a moderately negative surge needs some stated complaints, a strongly negative
    // one does not (outrage at an advert states no service failure).
    let negative = (worded
        && (s.negative_share >= STRONGLY_NEGATIVE_SHARE
            || s.complaint_share >= STATED_COMPLAINT_SHARE))
        || s.complaint_share >= 0.5;
    // A category group's complaint stream rising on its own (its CUSUM over threshold) is
    // negative by construction: complaints from several people page without a volume spike.
    let group_alarm = s.group.is_some_and(|g| g.alarm);
    let warning = (spike && negative && s.unique_authors >= 5)
        || (group_alarm && s.unique_authors >= 5)
        || (risky && s.mentions_60 >= 10.0 && s.unique_authors >= 5);
    if !warning {
        return Severity::Info;
    }
    // A risky story whose reactions double within the hour is growing on its own, whatever
    // the brand's volume: six doublings from one post are 64 reactions.
    let fast = s.doubling_time_s.is_some_and(|d| d <= 3600.0);
    // Conduct or danger alleged by many people at once, far beyond the brand's usual level of
    // such talk (its conduct/safety stream at ten times its baseline), is the same story told
    // without one post the triage recognised: it escalates the same way.
    let alleged = matches!(category, Category::Conduct | Category::Safety)
        && s.group.is_some_and(|g| {
            g.alarm && g.rate_per_min >= CONDUCT_STORY_RATIO * g.baseline_per_min.max(0.02)
        });
    // A service failure whose complaints run at ten times their usual level is a major one,
    // however much chatter the brand has beside them.
    let major_failure = matches!(
        category,
        Category::Outage | Category::Billing | Category::Service
    ) && s.group.or(s.service_stream).is_some_and(|g| g.major());
    let error = (s.ratio() >= 8.0 && s.mentions_60 >= 40.0 && s.rate_per_min >= 2.0)
        || ((risky || alleged) && s.mentions_60 >= STORY_ERROR_REACTIONS && fast)
        || ((alleged || major_failure) && s.mentions_60 >= 40.0);
    if !error {
        return Severity::Warning;
    }
    let critical = (s.mentions_60 >= 400.0 && s.ratio() >= 25.0)
        || (s.reach >= 5_000_000 && s.mentions_60 >= 150.0);
    if critical {
        Severity::Critical
    } else {
        Severity::Error
    }
}

/// `persistence` in whole evaluation minutes (at least 1).
pub fn persistence_minutes(cfg: &DetectConfig) -> u32 {
    u32::try_from(cfg.persistence.0.as_secs() / 60)
        .unwrap_or(u32::MAX)
        .max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Signals {
        Signals {
            mentions_15: 60.0,
            mentions_60: 120.0,
            rate_per_min: 4.0,
            baseline_per_min: 1.0,
            p_value: 1e-9,
            spike_run: 5,
            doubling_time_s: None,
            negative_share: 0.7,
            positive_share: 0.1,
            complaint_share: 0.0,
            bot_share: 0.0,
            duplicate_share: 0.0,
            unique_authors: 50,
            reach: 10_000,
            max_risk: 0.0,
            group: None,
            service_stream: None,
            usual_negative_share: 0.0,
            named: 50,
            plain_share: 0.2,
            usual_plain_share: 0.2,
            named_now: 50,
            plain_share_now: 0.2,
            volume_ratio_now: 4.0,
            story: false,
        }
    }

    #[test]
    fn the_rise_of_a_diffuse_word_surge_is_judged_apart_from_the_usual_chatter() {
        let cfg = DetectConfig::default();
        // The incident's evidence is a mix (long-lived clusters merged in), but the brand's
        // last 15 minutes run at 5x its baseline with 85 % of mentions plain where 20 % is
        // usual: the rise itself is (0.85 - 0.04) / 0.8 = 100 % the ordinary word.
        let surge = Signals {
            plain_share: 0.6,
            usual_plain_share: 0.2,
            named_now: 300,
            plain_share_now: 0.85,
            volume_ratio_now: 5.0,
            ..base()
        };
        assert!((surge.surge_plain_share() - 1.0).abs() < 1e-9);
        assert!(surge.ordinary_word());
        assert_eq!(grade(Category::Outage, &surge, &cfg), Severity::Info);
        // The same share at only 1.4x the baseline is not a surge of anything.
        let flat = Signals {
            volume_ratio_now: 1.4,
            ..surge.clone()
        };
        assert_eq!(flat.surge_plain_share(), 0.0);
        assert!(!flat.ordinary_word());
        // At 1.5x it is judged: a third of the window is the rise, and that is all the word.
        let slow = Signals {
            volume_ratio_now: WORD_SURGE_MIN_RATIO,
            ..surge.clone()
        };
        assert_eq!(slow.surge_plain_share(), 1.0);
        assert!(slow.ordinary_word());
        // A rise told mostly in the brand's own name is the brand: half the new posts plain.
        let brand = Signals {
            plain_share_now: 0.44,
            ..surge.clone()
        };
        assert!((brand.surge_plain_share() - 0.5).abs() < 1e-9);
        assert!(!brand.ordinary_word());
        // Too few mentions in the window to judge.
        let few = Signals {
            named_now: 5,
            ..surge
        };
        assert!(!few.ordinary_word());
    }

    #[test]
    fn a_conduct_stream_far_above_its_baseline_escalates_like_a_risky_story() {
        let cfg = DetectConfig::default();
        let stream = |rate: f64| Signals {
            mentions_60: 45.0,
            rate_per_min: 0.8,
            baseline_per_min: 0.5,
            p_value: 1.0,
            spike_run: 0,
            group: Some(GroupSignal {
                rate_per_min: rate,
                baseline_per_min: 0.02,
                cusum: 20.0,
                threshold: 13.67,
                alarm: true,
                outage: false,
            }),
            ..base()
        };
        assert_eq!(
            grade(Category::Conduct, &stream(0.8), &cfg),
            Severity::Error
        );
        // Five times its baseline: a warning, as before.
        assert_eq!(
            grade(Category::Conduct, &stream(0.1), &cfg),
            Severity::Warning
        );
        // A service stream at the same level is not a conduct story.
        assert_eq!(
            grade(Category::Outage, &stream(0.8), &cfg),
            Severity::Warning
        );
    }

    #[test]
    fn a_service_failure_whose_complaints_run_tenfold_escalates_to_error() {
        let cfg = DetectConfig::default();
        let stream = |rate: f64, usual: f64| GroupSignal {
            rate_per_min: rate,
            baseline_per_min: usual,
            cusum: 30.0,
            threshold: 14.36,
            alarm: true,
            outage: false,
        };
        // A brand-wide incident of a busy brand: its volume 1.7x, under the volume rule's 8x.
        let brand_wide = |g: GroupSignal| Signals {
            mentions_60: 900.0,
            rate_per_min: 34.0,
            baseline_per_min: 20.0,
            negative_share: 0.6,
            complaint_share: 0.5,
            service_stream: Some(g),
            ..base()
        };
        assert_eq!(
            grade(Category::Outage, &brand_wide(stream(15.0, 1.0)), &cfg),
            Severity::Error
        );
        // The stream's own incident, the same.
        let own = Signals {
            group: Some(stream(15.0, 1.0)),
            service_stream: None,
            ..brand_wide(stream(0.0, 1.0))
        };
        assert_eq!(grade(Category::Billing, &own, &cfg), Severity::Error);
        // Five times the usual level, or ten times a trickle (0.5 a minute), or not alarmed:
        // a warning, as before.
        for g in [
            stream(5.0, 1.0),
            stream(0.5, 0.05),
            GroupSignal {
                alarm: false,
                ..stream(15.0, 1.0)
            },
        ] {
            assert_eq!(
                grade(Category::Outage, &brand_wide(g), &cfg),
                Severity::Warning,
                "{g:?}"
            );
        }
        // Praise is never more than info, and a conduct story is graded on its own rules.
        assert_eq!(
            grade(Category::Positive, &brand_wide(stream(15.0, 1.0)), &cfg),
            Severity::Info
        );
        assert_eq!(
            grade(Category::Conduct, &brand_wide(stream(15.0, 1.0)), &cfg),
            Severity::Warning
        );
    }

    #[test]
    fn a_surge_of_the_ordinary_word_stays_informational() {
        let cfg = DetectConfig::default();
        let word = Signals {
            plain_share: 0.95,
            usual_plain_share: 0.3,
            ..base()
        };
        assert!(word.ordinary_word());
        assert_eq!(grade(Category::Outage, &word, &cfg), Severity::Info);
        // A brand usually named plainly (an invented name people type in lower case) is not
        // judged by it; nor is a surge with too few posts naming it.
        let usual = Signals {
            usual_plain_share: 0.8,
            ..word.clone()
        };
        assert_eq!(grade(Category::Outage, &usual, &cfg), Severity::Warning);
        let few = Signals {
            named: 5,
            ..word.clone()
        };
        assert_eq!(grade(Category::Outage, &few, &cfg), Severity::Warning);
        // A risky post about the brand's staff keeps its own path.
        let risky = Signals {
            max_risk: 0.9,
            mentions_60: 30.0,
            doubling_time_s: Some(600.0),
            ..word
        };
        assert_eq!(grade(Category::Conduct, &risky, &cfg), Severity::Error);
    }

    #[test]
    fn grade_spike_negative_is_warning_then_error_then_critical() {
        let cfg = DetectConfig::default();
        let s = base();
        assert_eq!(grade(Category::Outage, &s, &cfg), Severity::Warning);
        let s = Signals {
            rate_per_min: 10.0,
            ..base()
        };
        assert_eq!(grade(Category::Outage, &s, &cfg), Severity::Error);
        let s = Signals {
            rate_per_min: 40.0,
            mentions_60: 900.0,
            ..base()
        };
        assert_eq!(grade(Category::Outage, &s, &cfg), Severity::Critical);
    }

    #[test]
    fn grade_needs_persistence_and_negativity() {
        let cfg = DetectConfig::default();
        let s = Signals {
            spike_run: 1,
            ..base()
        };
        assert_eq!(grade(Category::Outage, &s, &cfg), Severity::Info);
        let s = Signals {
            negative_share: 0.1,
            ..base()
        };
        assert_eq!(grade(Category::Outage, &s, &cfg), Severity::Info);
        let s = Signals {
            unique_authors: 2,
            ..base()
        };
        assert_eq!(grade(Category::Outage, &s, &cfg), Severity::Info);
    }

    #[test]
    fn a_mildly_negative_spike_pages_only_when_people_state_what_went_wrong() {
        let cfg = DetectConfig::default();
        // A launch: 38 % negative in words (mood tails on plain praise), 21 % positive, and
        // 5 % of the posts stating a complaint. Busy, not broken.
        let launch = Signals {
            negative_share: 0.38,
            positive_share: 0.21,
            complaint_share: 0.05,
            ..base()
        };
        assert_eq!(grade(Category::Service, &launch, &cfg), Severity::Info);
        // The same words with a fifth of the posts naming a failure: an outage.
        let outage = Signals {
            complaint_share: 0.2,
            ..launch.clone()
        };
        assert_eq!(grade(Category::Outage, &outage, &cfg), Severity::Warning);
        // Just under the floor, and just at it.
        let under = Signals {
            complaint_share: STATED_COMPLAINT_SHARE - 0.01,
            ..launch.clone()
        };
        assert_eq!(grade(Category::Outage, &under, &cfg), Severity::Info);
        let at = Signals {
            complaint_share: STATED_COMPLAINT_SHARE,
            ..launch.clone()
        };
        assert_eq!(grade(Category::Outage, &at, &cfg), Severity::Warning);
        // Outrage that states no service failure but is mostly negative still pages.
        let outrage = Signals {
            negative_share: 0.6,
            positive_share: 0.1,
            complaint_share: 0.0,
            ..base()
        };
        assert_eq!(grade(Category::Other, &outrage, &cfg), Severity::Warning);
    }

    #[test]
    fn grade_risky_post_escalates_with_reactions_before_a_volume_spike() {
        let cfg = DetectConfig::default();
        let quiet = Signals {
            p_value: 0.5,
            spike_run: 0,
            mentions_15: 5.0,
            mentions_60: 5.0,
            max_risk: 0.9,
            unique_authors: 5,
            ..base()
        };
        assert_eq!(grade(Category::Conduct, &quiet, &cfg), Severity::Info);
        let building = Signals {
            mentions_60: 12.0,
            ..quiet.clone()
        };
        assert_eq!(grade(Category::Conduct, &building, &cfg), Severity::Warning);
        let fast = Signals {
            mentions_60: 30.0,
            doubling_time_s: Some(420.0),
            ..building
        };
        assert_eq!(grade(Category::Conduct, &fast, &cfg), Severity::Error);
        // The same numbers without a risky post stay quiet.
        let plain = Signals {
            max_risk: 0.2,
            ..fast
        };
        assert_eq!(grade(Category::Service, &plain, &cfg), Severity::Info);
        // A thread's story about conduct (`detect::threads`) grades the same way without a
        // risky post; a thread of praise stays informational whatever its growth.
        let story = Signals {
            story: true,
            ..plain.clone()
        };
        assert_eq!(grade(Category::Conduct, &story, &cfg), Severity::Error);
        assert_eq!(grade(Category::Conduct, &plain, &cfg), Severity::Info);
        assert_eq!(grade(Category::Positive, &story, &cfg), Severity::Info);
    }

    #[test]
    fn sarcastic_complaints_are_negative_not_praise() {
        let cfg = DetectConfig::default();
        // "great job, 3 hours on hold": a lexicon reads praise, the facts are a complaint.
        let s = Signals {
            negative_share: 0.1,
            positive_share: 0.6,
            complaint_share: 0.8,
            ..base()
        };
        assert_eq!(choose_category(&s, Category::Service), Category::Service);
        assert_eq!(grade(Category::Service, &s, &cfg), Severity::Warning);
        let praise = Signals {
            complaint_share: 0.05,
            ..s.clone()
        };
        assert_eq!(
            choose_category(&praise, Category::Other),
            Category::Positive
        );
        assert_eq!(grade(Category::Other, &praise, &cfg), Severity::Info);
    }

    #[test]
    fn grade_positive_and_spam_never_exceed_info() {
        let cfg = DetectConfig::default();
        let s = Signals {
            rate_per_min: 100.0,
            mentions_60: 5000.0,
            ..base()
        };
        assert_eq!(grade(Category::Positive, &s, &cfg), Severity::Info);
        assert_eq!(grade(Category::Spam, &s, &cfg), Severity::Info);
    }

    #[test]
    fn choose_category_detects_spam_and_praise() {
        let s = Signals {
            bot_share: 0.8,
            ..base()
        };
        assert_eq!(choose_category(&s, Category::Outage), Category::Spam);
        let s = Signals {
            duplicate_share: 0.9,
            bot_share: 0.3,
            ..base()
        };
        assert_eq!(choose_category(&s, Category::Outage), Category::Spam);
        // Real people repeating the same complaint are not spam.
        let s = Signals {
            duplicate_share: 0.9,
            ..base()
        };
        assert_eq!(choose_category(&s, Category::Outage), Category::Outage);
        let s = Signals {
            positive_share: 0.7,
            negative_share: 0.1,
            ..base()
        };
        assert_eq!(choose_category(&s, Category::Other), Category::Positive);
        assert_eq!(
            choose_category(&base(), Category::Billing),
            Category::Billing
        );
    }
}
