//! What an incident says: its signals, read from its brand's state ([`incident_signals`]),
//! whether it is still active ([`incident_active`]), and the event each of its actions emits,
//! with its why-sentence and evidence ([`incident_event`]).

use super::brand_state::BrandState;
use super::grade::{risky_story, Signals};
use super::lifecycle::{Incident, Scope};
use super::streams::group_of;
use super::virality::{growth, thread_growth};
use super::window::{OUTAGE_GROUP, SERVICE_GROUP};
use crate::config::{Config, DetectConfig};
use crate::domain::alert::Action;
use crate::domain::incident::{IncidentEvent, IncidentNumbers};
use crate::domain::{BrandIdx, Category, EventTime, Severity};

/// Key terms of an evidence post's text for a brand, the brand's own words ignored: how an
/// incident opened from a cluster's history seeds its terms. The wiring injects
/// `score::terms`' extractor, so detect never runs per-mention text analysis itself.
pub trait KeyTerms: Send + Sync {
    fn key_terms(&self, brand: BrandIdx, text: &str) -> Vec<String>;
}

pub(super) fn incident_signals(
    inc: &Incident,
    st: &BrandState,
    minute: i64,
    baseline: f64,
) -> Signals {
    let ev = &inc.evidence;
    let mut counts = Vec::with_capacity(30);
    ev.minute_counts(minute, 30, &mut counts);
    // The growth fit covers only minutes since the incident's first post: the empty minutes
    // before a story existed would read as growth.
    let since_first = (minute - ev.first_at.minute_index() + 1).clamp(0, 30) as usize;
    let counts = &counts[counts.len() - since_first..];
    let m15 = ev.recent(minute, 15) as f64;
    let at = EventTime(minute * EventTime::MINUTE_MS);
    let group = match inc.scope {
        Scope::Group(g) => {
            let g = usize::from(g);
            st.groups.get(g).map(|gs| gs.signal(g, m15, at))
        }
        _ => None,
    };
    let service_stream =
        if group.is_none() && inc.root == 0 && group_of(inc.category) == Some(SERVICE_GROUP) {
            [SERVICE_GROUP, OUTAGE_GROUP]
                .into_iter()
                .map(|g| st.groups[g].signal(g, st.group_recent_15(minute, g), at))
                .max_by(|a, b| {
                    (a.rate_per_min / a.baseline_per_min)
                        .total_cmp(&(b.rate_per_min / b.baseline_per_min))
                })
        } else {
            None
        };
    // A story opened on one post (a risky post's watch, or a thread recognised as a story)
    // grows at its thread's own pace, fitted on the thread's last half hour by the Poisson fit
    // that reads a sparse start (its evidence may also hold the brand's other chatter, taken
    // before the thread was recognised); a volume incident at its evidence's.
    let thread = (inc.root != 0).then(|| st.threads.get(inc.root)).flatten();
    let doubling_time_s = match thread {
        Some(t) => t.doubling_time_s(minute),
        None if inc.root != 0 => thread_growth(counts).doubling_time_s,
        None => growth(counts).doubling_time_s,
    };
    Signals {
        mentions_15: m15,
        mentions_60: ev.recent(minute, 60) as f64,
        rate_per_min: m15 / 15.0,
        baseline_per_min: baseline,
        p_value: st.p_value,
        spike_run: st.spike_run,
        doubling_time_s,
        negative_share: ev.sentiment_share(ev.negative),
        positive_share: ev.sentiment_share(ev.positive),
        complaint_share: ev.sentiment_share(ev.complaints),
        bot_share: ev.share(ev.bots),
        duplicate_share: ev.share(ev.duplicates),
        unique_authors: ev.unique_authors(),
        reach: ev.reach,
        max_risk: f64::from(ev.max_risk),
        group,
        service_stream,
        usual_negative_share: st.usual_negative_share(),
        named: ev.named,
        plain_share: ev.plain as f64 / ev.named.max(1) as f64,
        usual_plain_share: st.usual_plain_share(),
        named_now: st.naming_now.totals(minute).0,
        volume_ratio_now: st
            .window
            .view(EventTime(minute * EventTime::MINUTE_MS), 15)
            .weighted
            / (15.0 * baseline.max(0.05)),
        plain_share_now: {
            let (named, plain) = st.naming_now.totals(minute);
            plain as f64 / named.max(1) as f64
        },
        story: inc.story,
    }
}

/// Still active: a risky post's story while its own 15-minute volume stays above a small floor
/// and above a fifth of its peak (judged on the story itself, not against the brand's whole
/// rate); a volume cluster while it alone runs at 1.5x the brand's usual rate; a brand-wide incident while the brand's volume stays clearly above baseline; a
/// complaint-stream incident while its CUSUM is raised or complaints run at twice their usual
/// rate.
pub(super) fn incident_active(inc: &Incident, s: &Signals, brand_p: f64) -> bool {
    match inc.scope {
        // A story that began with a risky post: judged against its own peak.
        Scope::Clusters(_) if inc.root != 0 => {
            s.mentions_15 >= 3.0 && s.mentions_15 >= 0.2 * inc.peak_15
        }
        // A volume cluster: while it alone runs clearly above the brand's usual rate.
        Scope::Clusters(_) => s.mentions_15 >= 3.0 && s.rate_per_min >= 1.5 * s.baseline_per_min,
        Scope::Brand => brand_p < 1e-3,
        // A complaint stream's story: while its complaints still come (three in 15 minutes)
        // and either its CUSUM still holds half the alarm's evidence or they run at twice
        // their usual rate. The CUSUM alone would hold a quiet stream's story open for hours
        // after its last complaint: it falls by only `mu · (ratio − 1)` a minute.
        Scope::Group(_) => {
            s.mentions_15 >= 3.0
                && s.group.is_some_and(|g| {
                    g.cusum >= 0.5 * g.threshold || g.rate_per_min >= 2.0 * g.baseline_per_min
                })
        }
    }
}

/// One sentence saying which signal crossed what.
pub(super) fn why(
    inc: &Incident,
    action: Action,
    s: &Signals,
    d: &DetectConfig,
    watch: bool,
) -> String {
    if action == Action::Resolve {
        return String::from("no activity above its quiet threshold for the resolve period");
    }
    if watch {
        return format!(
            "one post alleges {} with risk {:.2} (threshold {:.2})",
            if inc.category == Category::Safety {
                "a danger to customers"
            } else {
                "staff misconduct"
            },
            s.max_risk,
            d.single_post_risk
        );
    }
    if s.ordinary_word() && !risky_story(inc.category, s.max_risk, d) {
        let (share, whose) = if s.plain_share >= s.surge_plain_share() {
            (s.plain_share, "its posts")
        } else {
            (s.surge_plain_share(), "the last 15 minutes' rise")
        };
        return format!(
            "{:.0} % of {whose} name the brand only as an ordinary word (usually {:.0} %): \
             the word is trending, not the brand",
            100.0 * share,
            100.0 * s.usual_plain_share
        );
    }
    let doubling = || {
        s.doubling_time_s
            .map(|t| format!(", doubling every {:.0} min", t / 60.0))
            .unwrap_or_default()
    };
    if inc.story {
        return format!(
            "one post's thread grew into a story about {} with {:.0} posts in the last 60 min, {} people in all{}",
            if inc.category == Category::Safety {
                "danger"
            } else {
                "conduct"
            },
            s.mentions_60,
            s.unique_authors,
            doubling()
        );
    }
    // A brand-wide incident that its complaints made major says so: that is the signal that
    // crossed, not the brand's volume.
    if let Some(g) = s.group.or(s.service_stream.filter(|g| g.major())) {
        let which = if g.outage {
            "outage reports"
        } else {
            "complaints"
        };
        return format!(
            "{which} at {:.1}/min, {:.0}x their usual {:.2}/min (CUSUM {:.1}, threshold {:.1})",
            g.rate_per_min,
            g.rate_per_min / g.baseline_per_min.max(1e-9),
            g.baseline_per_min,
            g.cusum,
            g.threshold
        );
    }
    if inc.root != 0 && s.max_risk >= d.single_post_risk {
        return format!(
            "a risky post's story has {:.0} posts in the last 60 min, {} people in all{}",
            s.mentions_60,
            s.unique_authors,
            doubling()
        );
    }
    if inc.category == Category::Spam {
        return format!(
            "{:.0} % of its posts come from bot-like accounts and {:.0} % are near-duplicates: \
             noted as spam, not paged",
            100.0 * s.bot_share,
            100.0 * s.duplicate_share
        );
    }
    // The brand's own (bot-discounted) volume against its baseline: the same quantities as
    // the spike test whose p-value follows, not the incident's share of them.
    let lasting = if s.spike_run > 0 {
        format!(" for {} min", s.spike_run)
    } else {
        String::new()
    };
    format!(
        "brand volume {:.1}x its usual rate{lasting} (p = {:.0e})",
        s.volume_ratio_now, s.p_value
    )
}

/// The event for `action` on `inc`; records the teams notified (routing table) and seeds the
/// incident's terms from its evidence posts when it has none yet. `d` is the incident's
/// brand's detection settings (its sensitivity profile applied).
pub(super) fn incident_event(
    cfg: &Config,
    d: &DetectConfig,
    key_terms: &dyn KeyTerms,
    inc: &mut Incident,
    action: Action,
    at: EventTime,
    s: &Signals,
) -> IncidentEvent {
    if action != Action::Resolve {
        for t in &cfg.routing.route(inc.category).teams {
            if !inc.teams.contains(t) {
                inc.teams.push(t.clone());
            }
        }
    }
    let ev = &inc.evidence;
    let top_posts = ev.top_posts();
    if inc.terms.is_empty() {
        // Seed from the evidence posts (an incident opened from a cluster's history).
        for p in &top_posts {
            for t in key_terms.key_terms(inc.brand, &p.text) {
                inc.terms.add(&t);
            }
        }
    }
    let terms: Vec<String> = inc.terms.top(5).into_iter().map(|(t, _)| t).collect();
    let headline = ev
        .risk_post()
        .filter(|_| ev.max_risk > 0.0)
        .map(|p| p.text.clone())
        .or_else(|| (!terms.is_empty()).then(|| terms.join(", ")))
        .unwrap_or_default();
    let watch = action == Action::Trigger
        && inc.severity == Severity::Info
        && risky_story(inc.category, s.max_risk, d)
        && s.mentions_60 < f64::from(d.min_mentions);
    let why = why(inc, action, s, d, watch);
    IncidentEvent {
        at,
        action,
        incident: inc.id.clone(),
        brand: inc.brand,
        severity: inc.severity,
        category: inc.category,
        notified_teams: inc.teams.clone(),
        // Time in no-data gaps is not part of an incident's duration.
        opened_at: inc.opened_at.plus_ms(inc.paused_ms),
        why,
        watch,
        headline,
        top_posts,
        terms,
        numbers: IncidentNumbers {
            mentions: ev.mentions,
            mentions_60: s.mentions_60,
            rate_per_min: s.rate_per_min,
            // What the rate is compared with: a complaint stream's incident runs against the
            // stream's usual complaints (as its why-sentence says), not the brand's whole volume.
            baseline_per_min: s.group.map_or(s.baseline_per_min, |g| g.baseline_per_min),
            doubling_time_s: s.doubling_time_s,
            negative_share: s.negative_share,
            positive_share: s.positive_share,
            bot_share: s.bot_share,
            reach: ev.reach,
            unique_authors: ev.unique_authors(),
            reaction_rate_per_min: ev.share(ev.reactions) * s.rate_per_min,
            max_risk: s.max_risk,
            of_complaints: s.group.is_some(),
        },
    }
}
