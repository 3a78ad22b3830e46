//! Renders `detect`'s incident events into alert lines (docs/contracts.md §3): the one-line
//! summary, the teams a line goes to (the routing table), rounded metrics and the dedup key.
//!
//! Every number in the summary is the one in the line's `metrics` (the incident's mentions,
//! rates, shares), and `why` carries the one sentence saying which signal crossed what.
//!
//! Pure: the same event and configuration always give the same line.

use crate::config::Config;
use crate::domain::alert::{
    one_line, per_min, truncate_chars, Action, AlertMetrics, AlertRecord, MAX_SUMMARY_CHARS,
};
use crate::domain::incident::IncidentEvent;
use crate::domain::Category;

/// The alert line for `ev`. Triggers and escalations go to the teams the routing table gives
/// the incident's category; a resolve goes to every team notified while it was open.
pub fn render(cfg: &Config, ev: &IncidentEvent) -> AlertRecord {
    let brand = cfg.brand(ev.brand);
    let n = &ev.numbers;
    let teams = match ev.action {
        Action::Resolve => ev.notified_teams.clone(),
        _ => cfg.routing.route(ev.category).teams.clone(),
    };
    let doubling = n
        .doubling_time_s
        .map(|d| format!(", doubling every {:.0} min", d / 60.0))
        .unwrap_or_default();
    // What the incident is about (the risky post, else its key terms), after a dash; nothing
    // when it has neither, rather than a dangling dash.
    let headline = if ev.headline.trim().is_empty() {
        String::new()
    } else {
        format!(" — {}", ev.headline)
    };
    let summary = match ev.action {
        Action::Resolve => format!(
            "{}: quiet again after {:.0} min — {} in total, {:.0}% negative{}",
            brand.name,
            (ev.at.millis() - ev.opened_at.millis()) as f64 / 60_000.0,
            mentions(n.mentions as f64),
            n.negative_share * 100.0,
            headline
        ),
        _ if ev.watch => format!(
            "{}: watching a post that alleges {} (risk {:.2}); {} so far{}",
            brand.name,
            if ev.category == Category::Safety {
                "a danger to customers"
            } else {
                "staff misconduct"
            },
            n.max_risk,
            mentions(n.mentions as f64),
            headline
        ),
        // The rate is the incident's own; the baseline is the brand's usual volume, which a
        // story or a cluster is only part of (or a complaint stream's usual complaints): said
        // so, or "1.3/min, baseline 8.7/min" reads as a story below normal beside a
        // why-sentence that says it is growing.
        _ => format!(
            "{}: {} ({}; {} {}){}, {:.0}% negative{}{}",
            brand.name,
            mentions(n.mentions as f64),
            per_min(n.rate_per_min),
            if n.of_complaints {
                "complaints usually"
            } else {
                "the brand's usual"
            },
            per_min(n.baseline_per_min),
            doubling,
            n.negative_share * 100.0,
            if n.bot_share >= 0.2 {
                format!(", {:.0}% from bot-like accounts", n.bot_share * 100.0)
            } else {
                String::new()
            },
            headline
        ),
    };
    AlertRecord {
        at: ev.at.to_rfc3339(),
        action: ev.action,
        incident: ev.incident.clone(),
        brand: brand.id.to_string(),
        severity: ev.severity,
        category: ev.category,
        teams,
        summary: truncate_chars(&one_line(&summary), MAX_SUMMARY_CHARS),
        metrics: AlertMetrics {
            mentions: n.mentions,
            rate_per_min: round3(n.rate_per_min),
            baseline_per_min: round3(n.baseline_per_min),
            doubling_time_s: n.doubling_time_s.map(|d| d.round()),
            negative_share: round3(n.negative_share),
            reach: n.reach,
            unique_authors: n.unique_authors,
            positive_share: round3(n.positive_share),
            bot_share: round3(n.bot_share),
            reaction_rate_per_min: round3(n.reaction_rate_per_min),
            max_risk: round3(n.max_risk),
        },
        top_posts: ev.top_posts.clone(),
        terms: ev.terms.clone(),
        dedup_key: AlertRecord::dedup_key_for(brand.id.as_str(), &ev.incident),
        why: ev.why.clone(),
    }
}

/// "1 mention", "36 mentions".
pub(crate) fn mentions(n: f64) -> String {
    if n == 1.0 {
        String::from("1 mention")
    } else {
        format!("{n:.0} mentions")
    }
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::BrandConfig;
    use crate::domain::incident::{IncidentEvent, IncidentNumbers};
    use crate::domain::{BrandIdx, Category, EventTime, Severity};

    fn acme() -> Config {
        Config::with_brands(vec![BrandConfig {
            id: "acme".into(),
            terms: vec!["acme".into()],
            ..BrandConfig::default()
        }])
        .unwrap()
    }

    fn event(
        action: Action,
        watch: bool,
        headline: &str,
        numbers: IncidentNumbers,
    ) -> IncidentEvent {
        IncidentEvent {
            at: EventTime(60_000),
            action,
            incident: "acme-19700101-0001".into(),
            brand: BrandIdx(0),
            severity: if watch {
                Severity::Info
            } else {
                Severity::Error
            },
            category: Category::Conduct,
            notified_teams: Vec::new(),
            opened_at: EventTime(0),
            why: String::new(),
            watch,
            headline: headline.into(),
            top_posts: Vec::new(),
            terms: Vec::new(),
            numbers,
        }
    }

    /// Contract §3: the summary is one line. A post quoted in it (a watch's headline) cannot
    /// fake a line of its own ("\n• false alarm, resolved") in PagerDuty's title, Slack or
    /// Alertmanager, nor carry escape sequences or a right-to-left override.
    #[test]
    fn render_quotes_a_post_on_one_line_without_controls() {
        let cfg = acme();
        let ev = event(
            Action::Trigger,
            true,
            "the acme guy is drunk\n2026-01-01T00:00:00Z ERROR fake\r\n• resolved\u{2028}\u{1b}[2J\u{202e}gpj\u{0}",
            IncidentNumbers::default(),
        );
        let a = render(&cfg, &ev);
        assert!(
            !a.summary
                .chars()
                .any(|c| c.is_control() || matches!(c, '\u{2028}' | '\u{202e}')),
            "{:?}",
            a.summary
        );
        assert!(
            a.summary.ends_with(
                "the acme guy is drunk 2026-01-01T00:00:00Z ERROR fake • resolved [2Jgpj"
            ),
            "{:?}",
            a.summary
        );
    }

    /// An incident with neither a risky post nor key terms (a burst of one repeated word the
    /// term extractor drops) ends its summary at its numbers, not at a dangling dash.
    #[test]
    fn a_summary_without_a_headline_has_no_dangling_dash() {
        let cfg = acme();
        for (action, watch) in [
            (Action::Trigger, false),
            (Action::Trigger, true),
            (Action::Resolve, false),
        ] {
            let a = render(&cfg, &event(action, watch, "", IncidentNumbers::default()));
            assert!(
                !a.summary.ends_with('—') && !a.summary.ends_with("— "),
                "{:?}",
                a.summary
            );
            let b = render(
                &cfg,
                &event(action, watch, "boiler, van", IncidentNumbers::default()),
            );
            assert!(b.summary.ends_with(" — boiler, van"), "{:?}", b.summary);
        }
    }

    /// The summary's rate is the incident's own and its baseline the brand's: said so, and a
    /// quiet stream's rate shows its two significant decimals ("0.04/min", not "0.0/min"),
    /// the numbers of the line's metrics (found by an independent replay, 2026-12-06: "37
    /// mentions (1.3/min, baseline 8.7/min)" on a story doubling every 9 minutes).
    #[test]
    fn render_says_whose_rate_and_whose_baseline() {
        let cfg = acme();
        let numbers = IncidentNumbers {
            mentions: 37,
            rate_per_min: 1.3,
            baseline_per_min: 0.04,
            ..IncidentNumbers::default()
        };
        let ev = event(Action::Escalate, false, "the acme guy is drunk", numbers);
        let a = render(&cfg, &ev);
        assert!(
            a.summary
                .contains("37 mentions (1.3/min; the brand's usual 0.04/min)"),
            "{:?}",
            a.summary
        );
        assert_eq!(a.metrics.baseline_per_min, 0.04);
    }
}
