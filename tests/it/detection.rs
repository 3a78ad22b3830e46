//! Detection behaviour on hand-built streams: cold start, explosions, watches, cool-down.
//!
//! Time advances only through event time: every minute carries at least one (unbranded)
//! mention, which is what moves the engine's clock.

use std::sync::Arc;

use flashpoint::alert::{Action, AlertRecord};
use flashpoint::app::Engine;
use flashpoint::config::{BrandConfig, Config, HumanDuration};
use flashpoint::domain::{Author, Category, EventTime, Mention, MentionKind, Severity};

use crate::support::engine;

const MINUTE: i64 = 60_000;
/// Monday 2026-03-02 09:00 UTC.
const T0: i64 = 1_772_442_000_000;

fn config(cooldown_s: u64) -> Arc<Config> {
    let mut cfg = Config::with_brands(vec![BrandConfig {
        id: "acme".into(),
        name: "Acme Broadband".into(),
        terms: vec!["acme broadband".into(), "acme".into()],
        handles: vec!["@acmehelp".into()],
        ..Default::default()
    }])
    .unwrap();
    cfg.detect.cooldown = HumanDuration::from_secs(cooldown_s);
    Arc::new(cfg)
}

struct Stream {
    engine: Engine,
    seq: u64,
    alerts: Vec<AlertRecord>,
}

impl Stream {
    fn new(cfg: Arc<Config>) -> Stream {
        Stream {
            engine: engine(cfg),
            seq: 0,
            alerts: Vec::new(),
        }
    }

    fn send(&mut self, at: i64, text: &str) {
        self.seq += 1;
        let m = Mention {
            id: format!("m{}", self.seq),
            source: "test".into(),
            created_at: EventTime(at),
            text: text.into(),
            author: Author {
                id: format!("u{}", self.seq),
                handle: format!("@u{}", self.seq),
                followers: 200,
                created_at: Some(EventTime(T0 - 400 * 86_400_000)),
            },
            kind: MentionKind::Post,
            ..Default::default()
        };
        self.engine.process(&m);
        self.alerts.extend(self.engine.drain_alerts());
    }

    /// One unbranded mention per minute from `from` to `to` (exclusive): the clock ticks.
    fn quiet(&mut self, from: i64, to: i64) {
        let mut t = from;
        while t < to {
            self.send(t, "nothing to see here");
            t += MINUTE;
        }
    }

    /// `per_minute` complaints every minute from `from` for `minutes`.
    fn burst(&mut self, from: i64, minutes: i64, per_minute: i64) {
        for k in 0..minutes {
            for j in 0..per_minute {
                let t = from + k * MINUTE + j * (MINUTE / per_minute.max(1));
                let text = format!("acme broadband is down again, no internet at all #{k}x{j}");
                self.send(t, &text);
            }
        }
    }
}

#[test]
fn detection_cold_start_stays_quiet_on_a_new_brands_first_mentions() {
    let mut s = Stream::new(config(1800));
    // A new brand's first mentions: a couple a minute for 20 minutes, ordinary chatter.
    for k in 0..20 {
        s.send(
            T0 + k * MINUTE,
            "just switched to acme broadband, setup was fine",
        );
        s.send(
            T0 + k * MINUTE + 30_000,
            "anyone else on acme? thinking about it",
        );
    }
    s.quiet(T0 + 20 * MINUTE, T0 + 120 * MINUTE);
    assert!(s.alerts.is_empty(), "{:?}", s.alerts);
}

/// A brand whose everyday talk is complaints (an airline's, a utility's: three posts in five
/// here) is first seen busy. In its first six hours its baseline is still mostly the prior, so
/// its ordinary traffic reads as a spike; a rule that let half the posts stating a complaint
/// page through that cap paged support at warning within minutes.
#[test]
fn detection_cold_start_stays_quiet_on_a_busy_brand_whose_chatter_is_complaints() {
    let complaints = [
        "acme broadband is down again, no internet at all",
        "on hold with acme for an hour, nobody answers",
        "acme charged me twice this month, sort it out",
        "acme router keeps dropping the connection every evening",
    ];
    let chatter = [
        "just switched to acme broadband, setup was fine",
        "anyone else on acme? thinking about it",
    ];
    let mut s = Stream::new(config(1800));
    for k in 0..360 {
        for j in 0..20 {
            let t = T0 + k * MINUTE + j * 3_000;
            let text = if j % 5 < 3 {
                complaints[(j as usize + k as usize) % complaints.len()]
            } else {
                chatter[(j as usize + k as usize) % chatter.len()]
            };
            s.send(t, &format!("{text} #{k}x{j}"));
        }
    }
    let pages: Vec<_> = s
        .alerts
        .iter()
        .filter(|a| a.severity >= Severity::Warning)
        .collect();
    assert!(pages.is_empty(), "{pages:#?}");
}

#[test]
fn detection_cold_start_still_catches_an_explosion() {
    let mut s = Stream::new(config(1800));
    s.quiet(T0 - 30 * MINUTE, T0);
    s.burst(T0, 30, 20);
    s.quiet(T0 + 30 * MINUTE, T0 + 300 * MINUTE);
    let page = s
        .alerts
        .iter()
        .find(|a| a.severity >= Severity::Warning)
        .unwrap_or_else(|| {
            panic!(
                "a 20-per-minute outage on a new brand was never paged: {:#?}",
                s.alerts
            )
        });
    assert_eq!(page.category, Category::Outage);
    assert_eq!(page.teams, vec!["support".to_string()]);
    let at = page.event_time().unwrap().millis();
    assert!(
        at - T0 <= 10 * MINUTE,
        "paged {} min in",
        (at - T0) / MINUTE
    );
    assert_eq!(s.alerts.last().unwrap().action, Action::Resolve);
}

#[test]
fn detection_single_risky_post_opens_a_watch_at_once() {
    let mut s = Stream::new(config(1800));
    s.quiet(T0 - 10 * MINUTE, T0);
    let at = T0 + 17_000;
    s.send(
        at,
        "the acme engineer who came to fix our line was drunk and smelled of alcohol",
    );
    assert_eq!(s.alerts.len(), 1, "{:?}", s.alerts);
    let watch = &s.alerts[0];
    assert_eq!(watch.action, Action::Trigger);
    assert_eq!(watch.severity, Severity::Info);
    assert_eq!(watch.category, Category::Conduct);
    assert_eq!(
        watch.teams,
        vec!["field-ops".to_string(), "support".to_string()]
    );
    assert_eq!(watch.event_time().unwrap().millis(), at);
    // Nobody reacts: it never escalates and resolves after the quiet period.
    s.quiet(T0, T0 + 180 * MINUTE);
    assert_eq!(s.alerts.len(), 2);
    assert_eq!(s.alerts[1].action, Action::Resolve);
}

/// Event time of the first trigger after `after`.
fn second_trigger(cooldown_s: u64) -> Option<i64> {
    let mut s = Stream::new(config(cooldown_s));
    s.quiet(T0 - 30 * MINUTE, T0);
    s.burst(T0, 20, 20);
    // Quiet until the first incident has resolved.
    let mut t = T0 + 20 * MINUTE;
    while !s.alerts.iter().any(|a| a.action == Action::Resolve) {
        assert!(t < T0 + 600 * MINUTE, "the first incident never resolved");
        s.quiet(t, t + MINUTE);
        t += MINUTE;
    }
    let resolve = s
        .alerts
        .iter()
        .find(|a| a.action == Action::Resolve)
        .unwrap();
    let resolved = resolve.event_time().unwrap().millis();
    s.quiet(t, resolved + 5 * MINUTE);
    // The same story flares up again five minutes after the resolve.
    s.burst(resolved + 5 * MINUTE, 20, 20);
    s.quiet(resolved + 25 * MINUTE, resolved + 60 * MINUTE);
    s.alerts
        .iter()
        .filter(|a| a.action == Action::Trigger)
        .nth(1)
        .map(|a| a.event_time().unwrap().millis() - resolved)
}

#[test]
fn detection_cooldown_holds_back_a_new_volume_incident_after_a_resolve() {
    let without = second_trigger(0).expect("without a cool-down the flare-up opens an incident");
    assert!(without < 20 * MINUTE, "{} min", without / MINUTE);
    match second_trigger(1800) {
        None => {}
        Some(with) => assert!(with >= 30 * MINUTE, "opened {} min after", with / MINUTE),
    }
}

/// The brand's 60-minute negative share at the last sampled minute after `texts` are sent
/// round-robin, three a minute for 20 minutes, with `complaint_threshold` set.
fn negative_share_after(texts: &[&str], complaint_threshold: f64) -> f64 {
    let mut cfg = (*config(1800)).clone();
    cfg.detect.complaint_threshold = complaint_threshold;
    // The complaint model's effect alone: the grievance model would read these too.
    cfg.pipeline.grievance_sentiment_model = "none".into();
    let mut s = Stream::new(Arc::new(cfg));
    s.engine.record_series(1);
    s.quiet(T0, T0 + 5 * MINUTE);
    let from = T0 + 5 * MINUTE;
    for k in 0..60 {
        let at = from + k * (MINUTE / 3);
        s.send(at, texts[k as usize % texts.len()]);
    }
    s.quiet(from + 20 * MINUTE, from + 22 * MINUTE);
    let series = s.engine.take_series();
    let points = series.get("acme").expect("acme was sampled");
    points.last().expect("a sample").negative_share
}

#[test]
fn detection_factual_complaints_count_as_negative_evidence() {
    // Complaints that state a service failure without sentiment words.
    let complaints = [
        "acme technician showed up 3 hours late and nobody called",
        "acme charged twice for one order",
        "40 minutes on hold with acme again",
    ];
    let chatter = [
        "acme store on main street opens at 9 on saturday",
        "just switched my phone plan to acme",
        "saw the acme ad during the game tonight",
    ];
    let lexicon_only = negative_share_after(&complaints, 1.0);
    let with_model = negative_share_after(&complaints, 0.5);
    let chatter_share = negative_share_after(&chatter, 0.5);
    // The lexicon reads at most "charged twice" as negative (VADER: "charged" -0.2).
    assert!(
        lexicon_only < 0.4,
        "the lexicon alone reads these as mostly neutral: {lexicon_only}"
    );
    assert!(
        with_model >= 0.9,
        "complaint model makes them negative: {with_model}"
    );
    assert!(
        chatter_share < 0.1,
        "neutral chatter stays neutral: {chatter_share}"
    );
}
