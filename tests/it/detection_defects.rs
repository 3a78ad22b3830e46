//! Detection defects of issue 16, each on a small crafted stream: written to fail on the
//! detector that had them, kept so they stay fixed.
//!
//! Time advances only through event time: an unbranded tick mention every minute moves the
//! engine's clock.

use std::collections::HashSet;
use std::sync::Arc;

use flashpoint::alert::{Action, AlertRecord};
use flashpoint::app::Engine;
use flashpoint::config::{BrandConfig, Config};
use flashpoint::domain::{Author, Category, EventTime, Mention, MentionKind, Severity};

use crate::support::engine_with_model;

const MINUTE: i64 = 60_000;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;
/// Monday 2026-03-02 09:00 UTC.
const T0: i64 = 1_772_442_000_000;

const RISKY: &str =
    "the acme engineer who came to fix our boiler was drunk and smelled of alcohol, gas was leaking";

fn brand(id: &str, name: &str) -> BrandConfig {
    BrandConfig {
        id: id.into(),
        name: name.into(),
        terms: vec![id.into()],
        ..Default::default()
    }
}

fn config() -> Arc<Config> {
    Arc::new(Config::with_brands(vec![brand("acme", "Acme")]).unwrap())
}

struct Stream {
    engine: Engine,
    seq: u64,
    alerts: Vec<AlertRecord>,
}

impl Stream {
    /// A stream scored by the lexicon, as `support::engine` builds it.
    fn new(cfg: Arc<Config>) -> Stream {
        Stream::with_model(cfg, "lexicon")
    }

    /// A stream scored by the sentiment model `model`.
    fn with_model(cfg: Arc<Config>, model: &str) -> Stream {
        Stream {
            engine: engine_with_model(cfg, model),
            seq: 0,
            alerts: Vec::new(),
        }
    }

    /// Sends one mention; returns its id.
    fn post(
        &mut self,
        at: i64,
        author: &str,
        kind: MentionKind,
        parent: Option<&str>,
        text: &str,
    ) -> String {
        self.seq += 1;
        let id = format!("m{}", self.seq);
        let m = Mention {
            id: id.clone(),
            source: "test".into(),
            created_at: EventTime(at),
            text: text.into(),
            author: Author {
                id: author.into(),
                handle: format!("@{author}"),
                followers: 300,
                created_at: Some(EventTime(T0 - 400 * DAY)),
            },
            kind,
            parent_id: parent.map(String::from),
            ..Default::default()
        };
        self.engine.process(&m);
        self.alerts.extend(self.engine.drain_alerts());
        id
    }

    fn say(&mut self, at: i64, text: &str) -> String {
        let author = format!("u{}", self.seq + 1);
        self.post(at, &author, MentionKind::Post, None, text)
    }

    /// One unbranded mention per minute over `[from, to)`.
    fn tick(&mut self, from: i64, to: i64) {
        let mut t = from;
        while t < to {
            self.post(t, "clock", MentionKind::Post, None, "nothing to see here");
            t += MINUTE;
        }
    }

    /// `per_min` ordinary brand mentions a minute over `[from, to)`, with the clock ticking.
    fn chatter(&mut self, from: i64, to: i64, per_min: i64, text: &str) {
        self.chatter_of(from, to, per_min, &[text]);
    }

    /// [`Stream::chatter`] whose `j`-th mention of each minute says `texts[j % texts.len()]`.
    fn chatter_of(&mut self, from: i64, to: i64, per_min: i64, texts: &[&str]) {
        let mut t = from;
        while t < to {
            for j in 0..per_min {
                let author = format!("c{}", (self.seq + j as u64) % 5000);
                let text = texts[j as usize % texts.len()];
                let body = format!("{text} {}", self.seq % 97);
                self.post(
                    t + j * (MINUTE / per_min.max(1)),
                    &author,
                    MentionKind::Post,
                    None,
                    &body,
                );
            }
            self.post(t, "clock", MentionKind::Post, None, "nothing to see here");
            t += MINUTE;
        }
    }

    /// The alert lines in short form, for failure messages.
    fn dump(&self) -> String {
        self.alerts
            .iter()
            .map(|a| {
                format!(
                    "{} {:?} {} {:?} {:?} {:?} | {} | {}",
                    a.at, a.action, a.incident, a.severity, a.category, a.teams, a.summary, a.why
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Minutes from `from` to the first page that reached `team`, if any.
    fn first_page_to(&self, team: &str, from: i64) -> Option<i64> {
        self.pages()
            .into_iter()
            .find(|a| a.teams.iter().any(|t| t == team))
            .map(|a| (at(a) - from) / MINUTE)
    }

    fn pages(&self) -> Vec<&AlertRecord> {
        self.alerts
            .iter()
            .filter(|a| a.action != Action::Resolve && a.severity >= Severity::Warning)
            .collect()
    }
}

fn at(a: &AlertRecord) -> i64 {
    a.event_time().unwrap().millis()
}

/// An unrelated info watch resolving must not start the brand's cool-down: a real outage right
/// after it still pages at once.
#[test]
fn defect_a_watch_resolve_does_not_delay_a_real_crisis() {
    let mut s = Stream::new(config());
    s.chatter(T0 - 2 * DAY, T0, 1, "acme is fine i guess");
    s.say(T0, RISKY);
    // Nobody reacts; the watch resolves after resolve_after.
    let mut t = T0;
    while !s.alerts.iter().any(|a| a.action == Action::Resolve) && t < T0 + 4 * HOUR {
        s.chatter(t, t + MINUTE, 1, "acme is fine i guess");
        t += MINUTE;
    }
    let resolved = s
        .alerts
        .iter()
        .find(|a| a.action == Action::Resolve)
        .map(at)
        .expect("the lone watch resolves");
    // An outage starts two minutes after the watch resolved (decided at the watermark, so
    // the clock already stands a few minutes later).
    let start = t.max(resolved + 2 * MINUTE);
    for k in 0..40 {
        for j in 0..15 {
            s.say(
                start + k * MINUTE + j * 3_000,
                &format!("acme internet down for everyone, no connection at all {k} {j}"),
            );
        }
        s.tick(start + k * MINUTE, start + (k + 1) * MINUTE);
    }
    let page = s.pages().into_iter().find(|a| at(a) >= start).map(at);
    let delay = page.map(|p| (p - start) / MINUTE);
    assert!(
        delay.is_some_and(|d| d <= 15),
        "outage paged after {delay:?} min (cool-down from an info watch?):\n{}",
        s.dump()
    );
}

/// A thread incident on a busy brand stays open while its thread keeps growing, whatever the
/// brand's total rate.
#[test]
fn defect_a_growing_thread_on_a_busy_brand_stays_open() {
    let mut s = Stream::new(config());
    s.chatter(T0 - 2 * DAY, T0, 20, "acme app is ok");
    let root = s.say(T0, RISKY);
    // The thread grows steadily at 4 reactions a minute for three hours, on top of 20/min.
    for k in 0..180 {
        let t = T0 + k * MINUTE;
        for j in 0..4 {
            let author = format!("r{k}x{j}");
            s.post(
                t + 1_000 + j * 10_000,
                &author,
                MentionKind::Reply,
                Some(&root),
                "wow that is awful",
            );
        }
        s.chatter(t, t + MINUTE, 20, "acme app is ok");
    }
    for a in &s.alerts {
        eprintln!("{}", a.to_json_line());
    }
    let resolve = s
        .alerts
        .iter()
        .find(|a| a.action == Action::Resolve && a.category == Category::Conduct);
    assert!(
        resolve.is_none(),
        "resolved while its thread still grows: {resolve:#?}"
    );
}

/// Amused replies do not turn a misconduct watch into a positive or "other" incident: the root
/// post's risk keeps the category, and the story escalates as it grows.
#[test]
fn defect_amused_replies_keep_a_misconduct_category() {
    let mut s = Stream::new(config());
    s.chatter(T0 - 2 * DAY, T0, 1, "acme is fine i guess");
    let root = s.say(T0, RISKY);
    let mut n = 0u64;
    for k in 0..90 {
        let t = T0 + k * MINUTE;
        // Amused reactions trickle in for 30 minutes, then the story takes off.
        let per_min = if k < 30 {
            1
        } else {
            (2f64.powf((k - 30) as f64 / 6.0)).min(40.0) as i64
        };
        for j in 0..per_min {
            n += 1;
            let text = if k >= 30 && n % 3 == 0 {
                "this is insane, never letting them in my house"
            } else {
                "lol amazing 😂 best thing i read today"
            };
            s.post(
                t + j * (MINUTE / per_min.max(1)),
                &format!("a{n}"),
                MentionKind::Reply,
                Some(&root),
                text,
            );
        }
        s.tick(t, t + MINUTE);
    }
    let triggers: Vec<_> = s
        .alerts
        .iter()
        .filter(|a| a.action != Action::Resolve)
        .collect();
    assert!(
        triggers
            .iter()
            .all(|a| matches!(a.category, Category::Conduct | Category::Safety)),
        "{:#?}",
        triggers
            .iter()
            .map(|a| (a.category, a.severity))
            .collect::<Vec<_>>()
    );
    assert!(
        triggers.iter().any(|a| a.severity >= Severity::Warning),
        "a misconduct story with hundreds of reactions never escalated"
    );
}

/// A thread that is shrinking is not "doubling": the growth fit only covers minutes since the
/// incident's first post.
#[test]
fn defect_a_shrinking_thread_is_not_reported_as_doubling() {
    let mut s = Stream::new(config());
    s.chatter(T0 - 2 * DAY, T0, 1, "acme is fine i guess");
    let root = s.say(T0, RISKY);
    // 30 reactions in the first minute, then fewer every minute.
    for k in 0..30i64 {
        let t = T0 + k * MINUTE;
        let per_min = (30 - k).max(0) / 2;
        for j in 0..per_min {
            s.post(
                t + 1_000 + j * 1_000,
                &format!("r{k}x{j}"),
                MentionKind::Reply,
                Some(&root),
                "that is terrible",
            );
        }
        s.tick(t, t + MINUTE);
    }
    for a in &s.alerts {
        assert!(
            !a.summary.contains("doubling every"),
            "a shrinking thread reported as growing: {}",
            a.summary
        );
        assert!(a.severity < Severity::Error, "{}", a.summary);
    }
}

/// A brand first seen already busy (a new source, a brand just added to the config) is at its
/// level, not in a crisis, even when much of its chatter is grumbling: its first day pages
/// nothing. Before, its baseline learnt the first hours at a tenth of the rate (they looked
/// anomalous against the cold-start prior), so six hours in, when the cold-start cap lifted,
/// ordinary traffic paged support as "brand volume 9x its usual rate for 356 min".
#[test]
fn a_brand_first_seen_busy_is_not_a_crisis() {
    let mut s = Stream::new(config());
    s.chatter_of(
        T0,
        T0 + DAY,
        20,
        &[
            "acme adverts on every channel again, so annoying, hate them",
            "acme app works as usual",
        ],
    );
    s.tick(T0 + DAY, T0 + DAY + 2 * HOUR);
    assert!(s.pages().is_empty(), "{}", s.dump());
}

/// A brand that is simply busier than the cold-start prior (a steady 20/min for three days)
/// learns its level: no incident stays open for days, and a real burst later still pages.
#[test]
fn defect_the_baseline_learns_a_lasting_level() {
    let mut s = Stream::new(config());
    s.chatter(T0, T0 + 3 * DAY, 20, "acme app works as usual");
    let open: HashSet<&str> = s
        .alerts
        .iter()
        .filter(|a| a.action == Action::Trigger)
        .map(|a| a.incident.as_str())
        .collect();
    let resolved: HashSet<&str> = s
        .alerts
        .iter()
        .filter(|a| a.action == Action::Resolve)
        .map(|a| a.incident.as_str())
        .collect();
    let still_open: Vec<_> = open.difference(&resolved).collect();
    assert!(
        still_open.is_empty(),
        "never resolved: {still_open:?}\n{}",
        s.dump()
    );
    let day3 = s.alerts.iter().filter(|a| at(a) >= T0 + 2 * DAY).count();
    assert_eq!(
        day3,
        0,
        "steady traffic on day 3 still alerts:\n{}",
        s.dump()
    );
}

/// A stream-wide gap (a source outage) is "no data", not a week of zero mentions: ordinary
/// traffic after it does not page.
#[test]
fn defect_a_stream_gap_is_not_learned_as_silence() {
    let cfg =
        Arc::new(Config::with_brands(vec![brand("acme", "Acme"), brand("bolt", "Bolt")]).unwrap());
    let mut s = Stream::new(cfg);
    let mut t = T0;
    let chatter = |s: &mut Stream, from: i64, to: i64| {
        let mut t = from;
        while t < to {
            for j in 0..4 {
                s.say(t + j * 15_000, &format!("acme works fine {}", j));
                s.say(t + j * 15_000 + 1, &format!("bolt works fine {}", j));
            }
            t += MINUTE;
        }
    };
    chatter(&mut s, t, t + 3 * DAY);
    t += 3 * DAY;
    let before = s.alerts.len();
    // Nothing at all for seven days (the source was down), then the same traffic again.
    t += 7 * DAY;
    chatter(&mut s, t, t + 6 * HOUR);
    let after: Vec<_> = s.alerts[before..]
        .iter()
        .filter(|a| a.action == Action::Trigger)
        .collect();
    assert!(
        after.is_empty(),
        "ordinary traffic after a gap opened incidents: {after:#?}"
    );
}

/// Incident ids are unique: a late post from before midnight does not restart the day's
/// sequence.
#[test]
fn defect_incident_ids_never_repeat() {
    let mut s = Stream::new(config());
    let midnight = T0 - 9 * HOUR + DAY; // Tuesday 00:00 UTC
    s.chatter(midnight - 2 * HOUR, midnight - 2 * MINUTE, 1, "acme ok");
    s.say(midnight - 2 * MINUTE, RISKY);
    s.tick(midnight - 2 * MINUTE, midnight + MINUTE);
    s.say(
        midnight + MINUTE,
        "acme courier threw a knife at my dog and threatened to hit my kid",
    );
    // A late post from before midnight (within the allowed lateness), another story.
    s.say(
        midnight - 30_000,
        "acme fitter left exposed live wires sparking in the nursery, fire risk",
    );
    s.say(
        midnight + 2 * MINUTE,
        "acme driver was drunk behind the wheel of the van and crashed into a school fence",
    );
    let triggers: Vec<&str> = s
        .alerts
        .iter()
        .filter(|a| a.action == Action::Trigger)
        .map(|a| a.incident.as_str())
        .collect();
    let unique: HashSet<&&str> = triggers.iter().collect();
    assert_eq!(unique.len(), triggers.len(), "ids repeat: {triggers:?}");
}

/// Minutes are decided at the watermark, so mentions reordered within the allowed lateness
/// give the same decisions: the same incidents, actions, severities, categories and times.
/// (An alert line's evidence totals may include mentions that arrived before the decision
/// from minutes not yet decided; those can differ with arrival order.)
#[test]
fn defect_results_do_not_depend_on_arrival_order_within_lateness() {
    let run = |shuffle: bool| {
        let mut s = Stream::new(config());
        s.chatter(T0 - DAY, T0, 1, "acme ok");
        let mut batch: Vec<(i64, String)> = Vec::new();
        for k in 0..30 {
            for j in 0..12 {
                batch.push((
                    T0 + k * MINUTE + j * 5_000,
                    format!("acme outage, internet down again {k} {j}"),
                ));
            }
        }
        if shuffle {
            // Swap neighbours two minutes apart (well within the 5-minute lateness).
            for i in (0..batch.len().saturating_sub(24)).step_by(48) {
                batch.swap(i, i + 24);
            }
        }
        for (t, text) in &batch {
            s.say(*t, text);
        }
        s.tick(T0 + 30 * MINUTE, T0 + 4 * HOUR);
        s.alerts
            .iter()
            .map(|a| {
                format!(
                    "{} {:?} {} {:?} {:?} {:?}",
                    a.at, a.action, a.incident, a.severity, a.category, a.teams
                )
            })
            .collect::<Vec<_>>()
    };
    let (a, b) = (run(false), run(true));
    for (x, y) in a.iter().zip(&b) {
        if x != y {
            eprintln!("ORDERED  {x}\nSHUFFLED {y}");
        }
    }
    assert_eq!(a, b);
}

/// A complaint surge pages support even when the brand's total volume barely moves: complaint
/// mentions go from almost none to most of a steady stream.
#[test]
fn defect_a_complaint_surge_pages_support_without_a_volume_spike() {
    let s = complaint_surge(|k, j| {
        format!("acme payment failed again, cannot log in, site will not load {k} {j}")
    });
    let page = s.first_page_to("support", T0);
    assert!(
        page.is_some_and(|d| d <= 60),
        "complaint surge paged support after {page:?} min: {:#?}",
        s.alerts
    );
    assert_field_ops_never_paged(&s);
}

/// Three days of 6 ordinary mentions a minute, then four hours at the same total in which a
/// growing share (~0 → 6/min over two hours) are complaints worded by `complaint(k, j)`.
fn complaint_surge(complaint: impl Fn(i64, i64) -> String) -> Stream {
    let mut s = Stream::new(config());
    s.chatter(T0 - 3 * DAY, T0, 6, "acme shop is ok");
    surge(
        &mut s,
        240,
        |k| ((k as f64 / 120.0) * 6.0).min(6.0).round() as i64,
        complaint,
    );
    s
}

/// `minutes` minutes from T0 of six mentions a minute, `complaints(k)` of minute `k`'s worded
/// by `complaint(k, j)` and the rest ordinary.
fn surge(
    s: &mut Stream,
    minutes: i64,
    complaints: impl Fn(i64) -> i64,
    complaint: impl Fn(i64, i64) -> String,
) {
    for k in 0..minutes {
        let t = T0 + k * MINUTE;
        for j in 0..6 {
            let text = if j < complaints(k) {
                complaint(k, j)
            } else {
                format!("acme shop is ok {k} {j}")
            };
            s.post(
                t + j * 10_000,
                &format!("p{k}x{j}"),
                MentionKind::Post,
                None,
                &text,
            );
        }
        s.tick(t, t + MINUTE);
    }
}

/// An outage whose complaints also say "dangerous" or "disgusting" (people without power
/// write that) is support's story: the conduct/safety stream rising beside a larger service
/// surge opens no field-ops incident of its own, during the outage or after it resolves.
#[test]
fn defect_an_outage_with_alarmed_words_does_not_page_field_ops() {
    let mut s = complaint_surge(|k, j| {
        if j % 3 == 0 {
            format!(
                "acme outage again, no power all night, this is dangerous and disgusting {k} {j}"
            )
        } else {
            format!("acme payment failed again, cannot log in, site will not load {k} {j}")
        }
    });
    // Long after: the conduct/safety evidence held back as part of the outage must not open
    // an incident of its own once the outage resolves and the cool-down ends.
    // The brand's ordinary conduct grumbles go on (one every half hour), as they do on any brand.
    for h in 0..24i64 {
        let from = T0 + 4 * HOUR + h * 30 * MINUTE;
        s.chatter(from, from + 30 * MINUTE, 6, "acme shop is ok");
        s.say(
            from + 29 * MINUTE,
            "acme staff were rude and aggressive at the till",
        );
    }
    assert!(
        s.pages()
            .iter()
            .any(|a| a.teams.iter().any(|t| t == "support")),
        "the outage paged nobody: {}",
        s.dump()
    );
    assert_field_ops_never_paged(&s);
}

/// Staff misconduct alleged by many people, none of whose posts the single-post triage
/// recognises (no staff noun beside a hazard), is still field-ops' crisis: the conduct/safety
/// stream at tens of times its usual level escalates to error like a risky post's story. Once
/// it resolves, the evidence its stream piled up is spent: no incident opens afterwards on no
/// complaints.
#[test]
fn defect_a_conduct_story_without_a_risky_post_escalates_and_ends() {
    let mut s = Stream::new(config());
    s.chatter(T0 - 3 * DAY, T0, 6, "acme shop is ok");
    // Two hours in which allegations grow from one to eight a minute beside the usual chatter.
    for k in 0..120i64 {
        let t = T0 + k * MINUTE;
        let allegations = 1 + k / 17;
        for j in 0..allegations {
            s.post(
                t + j * 5_000,
                &format!("a{k}x{j}"),
                MentionKind::Post,
                None,
                &format!("disgraceful behaviour from acme today, aggressive and abusive {k} {j}"),
            );
        }
        for j in 0..6 {
            s.post(
                t + 30_000 + j * 4_000,
                &format!("p{k}x{j}"),
                MentionKind::Post,
                None,
                &format!("acme shop is ok {k} {j}"),
            );
        }
        s.tick(t, t + MINUTE);
    }
    s.chatter(T0 + 2 * HOUR, T0 + 14 * HOUR, 6, "acme shop is ok");
    let error = s
        .pages()
        .into_iter()
        .find(|a| a.severity >= Severity::Error && a.teams.iter().any(|t| t == "field-ops"));
    assert!(
        error.is_some_and(|a| at(a) - T0 <= 90 * MINUTE),
        "the conduct story never reached field-ops at error in time:\n{}",
        s.dump()
    );
    assert!(
        s.alerts.iter().any(|a| a.action == Action::Resolve),
        "the story never resolved:\n{}",
        s.dump()
    );
    assert!(
        s.alerts
            .iter()
            .all(|a| a.action != Action::Trigger || at(a) < T0 + 2 * HOUR),
        "an incident opened after the story:\n{}",
        s.dump()
    );
}

/// An outage on a brand whose complaints are usually rare (its complaint stream's baseline at
/// the floor) resolves about `resolve_after` after its complaints stop, not hours later: the
/// stream's CUSUM, which falls by only its small expectation a minute, does not hold the story
/// open on its own (it did, until the six-hour plateau reset it: resolved at 470 min for an
/// outage over at 90). Afterwards, a handful of ordinary grumbles about staff (a third of the
/// outage's complaints were about staff too) open nothing.
#[test]
fn defect_a_quiet_streams_outage_resolves_once_its_complaints_stop() {
    let mut s = Stream::new(config());
    s.chatter(T0 - 3 * DAY, T0, 6, "acme shop is ok");
    // Ninety minutes in which complaints grow to all six mentions a minute.
    surge(
        &mut s,
        90,
        |k| (k / 10).min(6),
        |k, j| {
            if j % 3 == 0 {
                format!("acme staff at the till were rude and aggressive again {k} {j}")
            } else {
                format!("acme payment failed again, cannot log in, site will not load {k} {j}")
            }
        },
    );
    // Ordinary chatter until the outage has resolved, then through the cool-down.
    let mut t = T0 + 90 * MINUTE;
    while !s.alerts.iter().any(|a| a.action == Action::Resolve) {
        assert!(
            t < T0 + 12 * HOUR,
            "the outage never resolved:\n{}",
            s.dump()
        );
        s.chatter(t, t + 10 * MINUTE, 6, "acme shop is ok");
        t += 10 * MINUTE;
    }
    let resolved = t;
    let resolve = s
        .alerts
        .iter()
        .find(|a| a.action == Action::Resolve)
        .map(|a| (at(a) - T0) / MINUTE);
    assert!(
        resolve.is_some_and(|m| m <= 90 + 90 + 30),
        "the outage ended at 90 min and resolved at {resolve:?} min:\n{}",
        s.dump()
    );
    s.chatter(t, t + 40 * MINUTE, 6, "acme shop is ok");
    t += 40 * MINUTE;
    // Four grumbles about staff within ten minutes, among the usual chatter.
    for k in 0..10i64 {
        let m = t + k * MINUTE;
        if k % 3 == 0 {
            s.say(
                m + 20_000,
                &format!("acme staff were rude and aggressive at the till {k}"),
            );
        }
        s.chatter(m, m + MINUTE, 6, "acme shop is ok");
    }
    s.chatter(t + 10 * MINUTE, t + 2 * HOUR, 6, "acme shop is ok");
    assert!(
        s.pages()
            .iter()
            .any(|a| a.teams.iter().any(|t| t == "support")),
        "the outage paged nobody:\n{}",
        s.dump()
    );
    let after: Vec<_> = s
        .alerts
        .iter()
        .filter(|a| a.action == Action::Trigger && at(a) >= resolved)
        .collect();
    assert!(
        after.is_empty(),
        "an incident opened after the outage:\n{}",
        s.dump()
    );
}

/// A busy brand's story told in a thread: a root post the single-post triage does not
/// recognise (no staff noun, no hazard) whose unbranded replies double every six minutes.
/// `reaction(k)` words the k-th reply. Returns the root's event time.
fn thread_story(s: &mut Stream, reaction: impl Fn(i64) -> &'static str) -> i64 {
    s.chatter(T0 - 3 * DAY, T0, 10, "acme shop is ok");
    let root = s.say(
        T0,
        "acme sent someone round today who did something unspeakable in our kitchen, i am shaking",
    );
    let mut replies = 0i64;
    for k in 0..60i64 {
        let t = T0 + k * MINUTE;
        let n = (2f64.powf(k as f64 / 6.0).round() as i64).min(40);
        for j in 0..n {
            replies += 1;
            s.post(
                t + 1_000 + j * (50_000 / n),
                &format!("r{replies}"),
                MentionKind::Reply,
                Some(&root),
                reaction(replies),
            );
        }
        for j in 0..10 {
            s.post(
                t + 500 + j * 5_000,
                &format!("c{}", (k * 10 + j) % 5000),
                MentionKind::Post,
                None,
                "acme shop is ok",
            );
        }
        s.tick(t, t + MINUTE);
    }
    s.chatter(T0 + HOUR, T0 + 8 * HOUR, 10, "acme shop is ok");
    T0
}

/// A story about conduct that the triage cannot see in its root post is still field-ops'
/// crisis once its own thread grows like one: on a brand busy enough that the thread is a
/// small part of its volume, the thread (replies doubling every six minutes, in words the
/// category model reads as conduct but too weakly for the conduct complaint stream) pages field-ops at error within 45 minutes, says why in the
/// thread's own numbers, and once it resolves it does not open again. The same thread in
/// praise pages nobody.
#[test]
fn defect_an_unrecognised_root_posts_conduct_thread_is_graded_on_its_own_growth() {
    let mut s = Stream::new(config());
    let t0 = thread_story(&mut s, |k| match k % 3 {
        0 => "that is so inappropriate, report them",
        1 => "absolutely disrespectful, this is not ok",
        _ => "what on earth, sharing this everywhere",
    });
    let error = s
        .pages()
        .into_iter()
        .find(|a| a.severity >= Severity::Error && a.teams.iter().any(|t| t == "field-ops"))
        .cloned();
    assert!(
        error.as_ref().is_some_and(|a| at(a) - t0 <= 45 * MINUTE),
        "the thread's story never reached field-ops at error within 45 minutes:\n{}",
        s.dump()
    );
    assert!(
        error.as_ref().is_some_and(|a| a.why.contains("thread")),
        "the page does not say it is the thread's story: {:?}",
        error.map(|a| a.why)
    );
    // The page shows the story: its root post first, none of the brand's other chatter.
    let posts: Vec<&str> = error
        .as_ref()
        .map(|a| a.top_posts.iter().map(|p| p.text.as_str()).collect())
        .unwrap_or_default();
    assert!(
        posts.first().is_some_and(|p| p.contains("unspeakable")),
        "the root post does not lead the page: {posts:?}"
    );
    assert!(
        posts.iter().all(|p| !p.contains("shop is ok")),
        "the page lists the brand's other chatter: {posts:?}"
    );
    let field_ops_triggers = s
        .alerts
        .iter()
        .filter(|a| a.action == Action::Trigger && a.teams.iter().any(|t| t == "field-ops"))
        .count();
    assert_eq!(
        field_ops_triggers,
        1,
        "one story, one incident:\n{}",
        s.dump()
    );

    let mut praise = Stream::new(config());
    thread_story(&mut praise, |k| match k % 3 {
        0 => "what a legend, amazing",
        1 => "love this so much, brilliant",
        _ => "sharing this everywhere",
    });
    assert!(
        praise.pages().is_empty(),
        "a thread of praise paged:\n{}",
        praise.dump()
    );
}

/// A quiet brand named after an ordinary word, with its own chatter (mostly "Orchard Mobile",
/// one post in four in lower case, as people type), a post every three minutes. For six hours
/// the word itself trends at several times the brand's volume: many people, many wordings,
/// fruit picking "at the orchard", mostly cross, with replies that name nothing.
/// Over hours the incident's evidence gathers the brand's own chatter too, so its plain share
/// falls under the cap (the old rule paged support at error after four hours); the brand's
/// last fifteen minutes still show the rise is the word.
#[test]
fn defect_a_trending_ordinary_word_pages_no_one() {
    let word = [
        "muddy queue at the orchard today, apples all bruised",
        "the orchard ran out of cider again, terrible planning",
        "worst apple picking trip ever, the orchard was awful",
        "rain ruined our day at the orchard, kids miserable",
        "pear orchard closed early and nobody told us, so annoying",
        "overpriced baskets at the cherry orchard, never again",
        "kids asking a million questions about the orchard",
    ];
    let s = word_surge(&word);
    assert!(
        s.pages().is_empty(),
        "a trending ordinary word paged someone:\n{}",
        s.dump()
    );
    assert!(
        s.alerts.iter().any(|a| a.why.contains("ordinary word")),
        "the incident does not say why it stays informational:\n{}",
        s.dump()
    );
    // The same surge told about the brand, in its own name, is the brand's and pages support.
    let brand = [
        "no signal from Orchard Mobile all morning, useless",
        "Orchard Mobile network down again, cannot call anyone",
        "Orchard Mobile outage, no data since nine, awful",
        "is Orchard Mobile down? calls failing everywhere",
    ];
    let s = word_surge(&brand);
    assert!(
        s.pages()
            .iter()
            .any(|a| a.teams.iter().any(|t| t == "support")),
        "the brand's own surge did not page support:\n{}",
        s.dump()
    );
}

/// A busy brand named after an ordinary word (twenty posts a minute, one in four naming it in
/// lower case), whose word trends in slowly: from nothing to twice the brand's volume over
/// three hours, cross about the weather, with replies that name nothing. Rising that slowly,
/// the rise stays within the brand's usual swings for most of two hours and its baseline
/// follows it. A usual-naming memory counted in mentions (2,000: under two hours of this
/// brand) learnt the word as the brand's usual way of being named meanwhile, and once the
/// rise was significant support was paged at warning. The memory is now about a day, as for
/// the usual negative share.
#[test]
fn a_slowly_trending_ordinary_word_on_a_busy_brand_pages_no_one() {
    let cfg = Arc::new(Config::with_brands(vec![brand("orchard", "Orchard Mobile")]).unwrap());
    let mut s = Stream::new(cfg);
    let chatter = [
        "Orchard Mobile signal is fine in town today",
        "switched to Orchard Mobile last month, decent so far",
        "got the Orchard Mobile bill, same as usual",
        "anyone else on orchard roaming in spain",
    ];
    let word = [
        "clouds ruined our day at the orchard, kids miserable",
        "the orchard shut early in the storm, awful trip",
        "soaked and freezing at the orchard, worst day out",
        "hail flattened the orchard, nothing left to pick, gutted",
    ];
    let rise = T0 + 2 * DAY + 10 * HOUR;
    let end = rise + 4 * HOUR;
    let (mut t, mut k) = (T0, 0usize);
    let mut last: Option<String> = None;
    while t < end + HOUR {
        for j in 0..20 {
            k += 1;
            let text = format!("{} {}", chatter[k % chatter.len()], k % 89);
            s.post(
                t + j * 3_000,
                &format!("c{}", k % 4000),
                MentionKind::Post,
                None,
                &text,
            );
        }
        // The word's posts this minute: 0 to 40 over three hours, then 40.
        let n = if (rise..end).contains(&t) {
            (40 * (t - rise) / (3 * HOUR)).min(40)
        } else {
            0
        };
        for j in 0..n {
            k += 1;
            let at = t + j * (MINUTE / n);
            if k % 4 == 0 {
                if let Some(parent) = last.as_deref() {
                    s.post(
                        at,
                        &format!("r{k}"),
                        MentionKind::Reply,
                        Some(parent),
                        "ugh no",
                    );
                    continue;
                }
            }
            let text = format!("{} {}", word[k % word.len()], k % 1000);
            last = Some(s.post(at, &format!("w{k}"), MentionKind::Post, None, &text));
        }
        s.post(t, "clock", MentionKind::Post, None, "nothing to see here");
        t += MINUTE;
    }
    assert!(
        s.pages().is_empty(),
        "a slowly trending ordinary word paged someone:\n{}",
        s.dump()
    );
}

/// Two days of the quiet brand's chatter, then six hours of `surge` posts (five a minute, a
/// quarter of them replies naming nothing), then three quiet hours.
fn word_surge(surge: &[&str]) -> Stream {
    let cfg = Arc::new(Config::with_brands(vec![brand("orchard", "Orchard Mobile")]).unwrap());
    let mut s = Stream::new(cfg);
    let chatter = [
        "Orchard Mobile signal is fine in town today",
        "switched to Orchard Mobile last month, decent so far",
        "Orchard Mobile bill arrived, same as usual",
        "anyone else on orchard mobile roaming in spain",
    ];
    let replies = [
        "haha same",
        "which one is that?",
        "sounds fun",
        "ugh no thanks",
    ];
    let surge_from = T0 + 2 * DAY;
    let surge_to = surge_from + 6 * HOUR;
    let mut t = T0;
    let mut k = 0usize;
    let mut last: Option<String> = None;
    while t < surge_to + 3 * HOUR {
        if (t / MINUTE) % 4 == 0 {
            k += 1;
            let text = format!("{} {}", chatter[k % chatter.len()], k % 89);
            let author = format!("c{}", k % 4000);
            s.post(t + 7_000, &author, MentionKind::Post, None, &text);
        }
        if (surge_from..surge_to).contains(&t) {
            for j in 0..5 {
                k += 1;
                let at = t + j * 12_000;
                if k % 4 == 0 {
                    if let Some(parent) = last.as_deref() {
                        let author = format!("r{k}");
                        let text = replies[k % replies.len()];
                        s.post(at, &author, MentionKind::Reply, Some(parent), text);
                        continue;
                    }
                }
                let text = format!("{} {}", surge[k % surge.len()], k % 1000);
                let author = format!("w{k}");
                last = Some(s.post(at, &author, MentionKind::Post, None, &text));
            }
        }
        s.post(t, "clock", MentionKind::Post, None, "nothing to see here");
        t += MINUTE;
    }
    s
}

/// A quiet brand (a post every three minutes, a complaint an hour) whose complaints jump at
/// T0 to one every four minutes for three hours; the `k`-th post says `complaints[k % n]` or
/// `everyday[k % n]` followed by `k`.
fn quiet_brand_jump(complaints: &[&str], everyday: &[&str]) -> Stream {
    let mut s = Stream::new(config());
    let onset = T0;
    let mut t = T0 - 3 * DAY;
    let mut k = 0usize;
    while t < onset + 3 * HOUR {
        let minute = (t - (T0 - 3 * DAY)) / MINUTE;
        k += 1;
        let complaint = if t < onset {
            minute % 60 == 30
        } else {
            minute % 4 == 0
        };
        if complaint {
            s.say(
                t + 5_000,
                &format!("{} {k}", complaints[k % complaints.len()]),
            );
        } else if minute % 3 == 0 {
            s.say(t + 5_000, &format!("{} {k}", everyday[k % everyday.len()]));
        }
        s.post(t, "clock", MentionKind::Post, None, "nothing to see here");
        t += MINUTE;
    }
    s
}

/// No page of the run went to field-ops (a service failure is support's).
fn assert_field_ops_never_paged(s: &Stream) {
    assert!(
        s.pages()
            .iter()
            .all(|a| !a.teams.iter().any(|t| t == "field-ops")),
        "field-ops was paged:\n{}",
        s.dump()
    );
}

fn assert_support_paged_within_45_minutes(s: &Stream) {
    let page = s.first_page_to("support", T0);
    assert!(
        page.is_some_and(|d| (0..=45).contains(&d)),
        "support paged {page:?} min after the complaints jumped:\n{}",
        s.dump()
    );
}

/// A quiet brand (a post every three minutes, a complaint an hour) whose complaints jump to one
/// every four minutes, fifteen times their usual rate, while its total volume barely moves.
/// Each complaint is strong evidence on so quiet a stream: the steep CUSUM (a 5x rise) pages
/// support within 45 minutes (41), where the 3x and 1.5x ones alone took 57.
#[test]
fn a_quiet_brands_complaints_jumping_tenfold_page_support_within_45_minutes() {
    let s = quiet_brand_jump(
        &["acme payment failed again, cannot log in, site will not load"],
        &["acme shop is ok"],
    );
    assert_support_paged_within_45_minutes(&s);
}

/// The same jump as above with the complaints written in Spanish, Portuguese, French, German,
/// Italian and Dutch, and the everyday talk too: the models read those languages as neutral,
/// so before the lexicon's other languages (2026.12.7) the stream counted none of these
/// complaints and nothing paged in three hours. Support is paged as fast as in English.
#[test]
fn a_quiet_brands_complaints_in_other_languages_page_support_like_english_ones() {
    const COMPLAINTS: [&str; 6] = [
        "acme no funciona otra vez, no puedo entrar",
        "acme fora do ar de novo, não consigo acessar",
        "acme ne marche plus, impossible de se connecter",
        "acme funktioniert nicht, keine Verbindung",
        "acme non funziona, non riesco ad accedere",
        "acme werkt niet meer, kan niet inloggen",
    ];
    const EVERYDAY: [&str; 6] = [
        "acme abre el domingo?",
        "comprei na acme hoje",
        "acme a un nouveau logo",
        "acme hat heute lange offen",
        "acme ha cambiato orario",
        "acme heeft een nieuwe winkel",
    ];
    let s = quiet_brand_jump(&COMPLAINTS, &EVERYDAY);
    assert_support_paged_within_45_minutes(&s);
    assert_field_ops_never_paged(&s);
}

/// The same jump told in Japanese, Chinese and Korean, whose words are not separated by
/// spaces ("acmeのアプリにログインできない"): the brand is matched next to them and the
/// complaints are found inside them (category lexicon 2026.12.9). Before, no page.
#[test]
fn a_quiet_brands_complaints_in_unspaced_scripts_page_support() {
    const COMPLAINTS: [&str; 6] = [
        "acmeのアプリにログインできない",
        "acmeまた落ちてる、繋がらない",
        "acme又崩溃了，登录不了",
        "acme打不开，一直闪退",
        "acme 앱 또 먹통이네요",
        "acme 로그인이 안 돼요",
    ];
    const EVERYDAY: [&str; 3] = [
        "acmeの新しい店に行った",
        "acme今天有活动",
        "acme 새 매장 열었네요",
    ];
    let s = quiet_brand_jump(&COMPLAINTS, &EVERYDAY);
    assert_support_paged_within_45_minutes(&s);
}

/// A sharp outage on a busy brand: 20 mentions a minute, of which one is a complaint, then for
/// two hours 15 outage reports a minute on top. The brand's whole volume rises only 1.7 times,
/// short of the volume rule's 8 for error, while its complaints run at 15 times their usual
/// level: the outage is paged at warning and escalates to error on its complaints, saying so
/// (found by an evaluator's replays: a 20x complaint surge on the busiest brand stayed at
/// warning for as long as it lasted). Support only, never field-ops.
#[test]
fn a_major_outage_on_a_busy_brand_escalates_on_its_complaints() {
    const CHATTER: [&str; 4] = [
        "acme shop is ok",
        "picked up my order from acme",
        "acme opening hours on sunday?",
        "acme has a new logo",
    ];
    const REPORTS: [&str; 4] = [
        "acme app is down, cannot log in",
        "is acme down for everyone? nothing loads",
        "acme website not working again",
        "acme outage, payments failing",
    ];
    let mut s = Stream::new(config());
    let onset = T0;
    let mut t = T0 - 3 * DAY;
    let mut k = 0usize;
    while t < onset + 2 * HOUR {
        for j in 0..20 {
            k += 1;
            let text = if j == 0 {
                format!("{} {k}", REPORTS[k % REPORTS.len()])
            } else {
                format!("{} {k}", CHATTER[k % CHATTER.len()])
            };
            s.say(t + j * 2_900, &text);
        }
        if t >= onset {
            for j in 0..15 {
                k += 1;
                let text = format!("{} {k}", REPORTS[k % REPORTS.len()]);
                s.say(t + 1_000 + j * 3_900, &text);
            }
        }
        s.post(t, "clock", MentionKind::Post, None, "nothing to see here");
        t += MINUTE;
    }
    let warning = s.first_page_to("support", onset);
    assert!(
        warning.is_some_and(|d| (0..=15).contains(&d)),
        "support paged {warning:?} min into the outage:\n{}",
        s.dump()
    );
    let error = s
        .pages()
        .into_iter()
        .find(|a| a.severity >= Severity::Error && at(a) >= onset);
    assert!(
        error.is_some_and(|a| (at(a) - onset) / MINUTE <= 30
            && a.why.contains("x their usual")
            && a.teams.iter().all(|t| t == "support")),
        "the outage never reached error on its complaints:\n{}",
        s.dump()
    );
}

/// The slow burn on a quiet brand: a post every three minutes, a complaint every two
/// hours, then complaints rising exponentially (doubling every 18 minutes) to three times the
/// brand's usual *total* rate at two hours (0.33 → 1/min), while the rest of its chatter goes
/// on unchanged. Support is paged before the two hours are up (101 minutes; 108 without the
/// steep CUSUM), and field-ops never. Sooner is not on offer at this budget: by 60 minutes
/// only about 2 complaints have been posted against 0.5 expected (P = 0.01 by chance), by 80
/// about 5 (P = 5e-4).
#[test]
fn a_quiet_brands_slow_burn_pages_support_before_complaints_triple_its_volume() {
    let mut s = Stream::new(config());
    let onset = T0;
    let mut t = T0 - 3 * DAY;
    let mut k = 0;
    let mut due = 0.0f64;
    while t < onset + 4 * HOUR {
        let minute = (t - (T0 - 3 * DAY)) / MINUTE;
        k += 1;
        if minute % 3 == 0 {
            s.say(t + 5_000, &format!("acme shop is ok {k}"));
        }
        if t < onset {
            if minute % 120 == 60 {
                s.say(t + 9_000, &format!("acme app will not load, useless {k}"));
            }
        } else {
            let m = ((t - onset) / MINUTE) as f64;
            due += (0.01 * (m / 18.0).exp2()).min(1.0);
            while due >= 1.0 {
                due -= 1.0;
                k += 1;
                s.say(
                    t + 20_000,
                    &format!("acme payment failed again, cannot log in {k}"),
                );
            }
        }
        s.post(t, "clock", MentionKind::Post, None, "nothing to see here");
        t += MINUTE;
    }
    let page = s.first_page_to("support", onset);
    assert!(
        page.is_some_and(|d| (0..=110).contains(&d)),
        "support paged {page:?} min into the slow burn:\n{}",
        s.dump()
    );
    assert_field_ops_never_paged(&s);
}

/// A risky post's story that starts slowly (a reaction every three minutes) and doubles every
/// 24 minutes pages field-ops at error within a doubling time and a half (36 minutes):
/// its thread's growth is fitted on every minute of its last half hour as Poisson counts, not
/// on the last quarter hour's `ln(count + 1)`, which read its zeros and ones as flat until 35
/// reactions had come (43 minutes before), and 12 reactions in the hour are enough (25, then 15,
/// before).
/// The same post answered at a steady reaction every three minutes for two hours is not growing
/// and never reaches error.
#[test]
fn a_slow_starting_risky_story_pages_field_ops_at_error_within_a_doubling_and_a_half() {
    fn story(doubling_min: Option<f64>) -> Stream {
        let mut s = Stream::new(config());
        s.chatter(T0 - 2 * DAY, T0, 1, "acme is fine i guess");
        let root = s.say(T0, RISKY);
        // The k-th reaction of a thread starting at one every three minutes: evenly spaced, or
        // where the cumulative count of a rate doubling every `doubling_min` reaches k.
        let r0 = 1.0 / 3.0;
        let reaction_at = |k: f64| match doubling_min {
            Some(d) => d * (1.0 + k * std::f64::consts::LN_2 / (r0 * d)).log2(),
            None => k / r0,
        };
        let mut k = 1.0;
        for m in 0..120i64 {
            let t = T0 + m * MINUTE;
            while reaction_at(k) < (m + 1) as f64 {
                let when = T0 + (reaction_at(k) * MINUTE as f64) as i64 + 500;
                s.post(
                    when.max(t + 500),
                    &format!("r{k}"),
                    MentionKind::Reply,
                    Some(&root),
                    "that is appalling, someone should answer for this",
                );
                k += 1.0;
            }
            s.chatter(t, t + MINUTE, 1, "acme is fine i guess");
        }
        s
    }
    let growing = story(Some(24.0));
    let error = growing
        .alerts
        .iter()
        .find(|a| a.severity >= Severity::Error)
        .map(|a| (at(a) - T0) / MINUTE);
    assert!(
        error.is_some_and(|m| m <= 36),
        "error after {error:?} min:\n{}",
        growing.dump()
    );
    let page = growing.pages().into_iter().next().expect("paged");
    assert!(
        page.teams.iter().any(|t| t == "field-ops"),
        "{}",
        growing.dump()
    );

    let steady = story(None);
    assert!(
        steady.alerts.iter().all(|a| a.severity < Severity::Error),
        "a steady thread reached error:\n{}",
        steady.dump()
    );
}

/// An outage building beside a misconduct story on the same brand pages support as soon as it
/// would alone: the story's reactions (doubling the brand's volume for an hour) are the story,
/// not the brand being busier, so they do not raise what the service complaints are expected
/// to be. Before, the outage paged 95 minutes in beside the story and 62 alone.
#[test]
fn an_outage_beside_a_misconduct_story_pages_support_as_soon_as_alone() {
    fn outage(with_story: bool) -> (Option<i64>, String) {
        let mut s = Stream::new(config());
        everyday_complaints(&mut s);
        let root = with_story.then(|| s.say(T0, RISKY));
        for k in 0..240i64 {
            let t = T0 + k * MINUTE;
            climbing_complaints(&mut s, k);
            // The story: eight reactions a minute for its first 80 minutes, then silence.
            if let (Some(root), true) = (&root, k < 80) {
                for j in 0..8 {
                    s.post(
                        t + 3_000 + j * 7_000,
                        &format!("r{k}x{j}"),
                        MentionKind::Reply,
                        Some(root),
                        "wow, that is awful if true",
                    );
                }
            }
            s.tick(t, t + MINUTE);
        }
        let page = s
            .pages()
            .into_iter()
            .find(|a| a.category != Category::Conduct && a.teams.iter().any(|t| t == "support"))
            .map(|a| (at(a) - T0) / MINUTE);
        (page, s.dump())
    }
    let (alone, _) = outage(false);
    let (beside, dump) = outage(true);
    let alone = alone.expect("the outage alone pages support");
    assert!(
        beside.is_some_and(|b| b <= alone + 3),
        "alone at {alone} min, beside the story at {beside:?}:\n{dump}"
    );
}

/// A complaint page's numbers are its rise: on a brand with a complaint a minute for three days
/// (an everyday background that never went an hour without one), the outage's page counted the
/// stream's whole history ("4441 mentions" an hour into it) instead of the complaints since the
/// stream began to climb, and set its rate against the brand's whole volume ("2.1/min,
/// baseline 6.0/min") while its why-sentence said "2x their usual 1.00/min".
#[test]
fn a_complaint_page_counts_its_rise_not_the_background_before_it() {
    let mut s = Stream::new(config());
    everyday_complaints(&mut s);
    let mut complaints_by = Vec::new();
    let mut so_far = 0i64;
    for k in 0..240i64 {
        so_far += climbing_complaints(&mut s, k);
        complaints_by.push(so_far);
        s.tick(T0 + k * MINUTE, T0 + (k + 1) * MINUTE);
    }
    let pages = s.pages();
    let page = pages
        .iter()
        .find(|a| a.teams.iter().any(|t| t == "support"))
        .unwrap_or_else(|| panic!("the outage pages support:\n{}", s.dump()));
    let minute = ((at(page) - T0) / MINUTE).clamp(0, 239) as usize;
    let rise = complaints_by[minute];
    let n = page.metrics.mentions;
    assert!(
        n as i64 <= 2 * rise,
        "the page at minute {minute} counts {n} mentions; {rise} complaints since the climb began:\n{}",
        s.dump()
    );
    assert!(
        page.summary.contains(&format!("{n} mentions")),
        "{}",
        page.summary
    );
    // Its rate is set against the usual complaints (one a minute), not the brand's six.
    assert!(
        (0.5..2.0).contains(&page.metrics.baseline_per_min),
        "{}",
        page.summary
    );
}

const COMPLAINT: &str = "acme payment failed again, cannot log in, site will not load";

/// Three days before `T0` of six mentions a minute, one of them a complaint.
fn everyday_complaints(s: &mut Stream) {
    let mut t = T0 - 3 * DAY;
    while t < T0 {
        for j in 0..6 {
            let text = if j == 0 {
                format!("{COMPLAINT} {t}")
            } else {
                format!("acme shop is ok {t} {j}")
            };
            s.post(
                t + j * 10_000,
                &format!("c{}", (t / MINUTE + j) % 3000),
                MentionKind::Post,
                None,
                &text,
            );
        }
        s.tick(t, t + MINUTE);
        t += MINUTE;
    }
}

/// Minute `k` after `T0` of an outage: complaints climbing from one to four a minute over two
/// hours, beside five ordinary mentions a minute. Returns the minute's complaints.
fn climbing_complaints(s: &mut Stream, k: i64) -> i64 {
    let t = T0 + k * MINUTE;
    let complaints = (1.0 + 3.0 * (k as f64 / 120.0).min(1.0)).round() as i64;
    for j in 0..5 + complaints {
        let text = if j < complaints {
            format!("{COMPLAINT} {k} {j}")
        } else {
            format!("acme shop is ok {k} {j}")
        };
        s.post(
            t + j * 6_000,
            &format!("p{k}x{j}"),
            MentionKind::Post,
            None,
            &text,
        );
    }
    complaints
}

const GRUMBLE: &str = "acme never rang back about my complaint, three weeks of waiting, useless";
const OUTAGE_REPORT: &str = "acme app is down again, nothing will load";

/// An outage is measured against the brand's usual outage reports, not against every
/// complaint it gets. On a brand whose everyday grumbles (a call-back that never came) run at
/// one a minute, outage reports climbing from none to one every two minutes over two hours are
/// a 1.5x rise of its complaints, which the service stream alone saw only after hours; against
/// the brand's outage reports (almost none) they page support within 100 minutes, as an
/// outage, saying which stream rose.
#[test]
fn an_outage_is_measured_against_outage_reports_not_everyday_grumbles() {
    let mut s = Stream::new(config());
    let mut t = T0 - 3 * DAY;
    while t < T0 {
        grumbling_minute(&mut s, t, 0, 0, t / MINUTE);
        t += MINUTE;
    }
    // Reports so far by minute m: m² / 480 (0.5 a minute at two hours).
    let so_far = |m: i64| m * m / 480;
    for k in 0..180i64 {
        let reports = so_far(k + 1) - so_far(k);
        grumbling_minute(&mut s, T0 + k * MINUTE, 0, reports, 10_000_000 + k);
    }
    let pages = s.pages();
    let page = pages
        .iter()
        .find(|a| a.teams.iter().any(|t| t == "support"))
        .unwrap_or_else(|| panic!("the outage pages support:\n{}", s.dump()));
    let after = (at(page) - T0) / MINUTE;
    assert!(after <= 100, "paged after {after} min:\n{}", s.dump());
    assert_eq!(page.category, Category::Outage, "{}", s.dump());
    assert!(page.why.contains("outage reports"), "{}", page.why);
    assert!(
        pages
            .iter()
            .all(|a| a.teams.iter().all(|t| t != "field-ops")),
        "{}",
        s.dump()
    );
}

/// Outage reports that are a small part of a much larger rise are that rise's echo: at a
/// product launch (forty excited posts a minute on a brand that usually has six), one "the
/// site keeps crashing, can't preorder" a minute is the launch's crowd, not an outage, and
/// pages no one; the same reports alone page support (the test above).
#[test]
fn a_launchs_crowd_reporting_a_slow_site_is_not_an_outage() {
    let mut s = Stream::new(config());
    let mut t = T0 - 3 * DAY;
    while t < T0 {
        grumbling_minute(&mut s, t, 0, 0, t / MINUTE);
        t += MINUTE;
    }
    for k in 0..120i64 {
        grumbling_minute(&mut s, T0 + k * MINUTE, 40, 1, 10_000_000 + k);
    }
    assert!(s.pages().is_empty(), "{}", s.dump());
}

/// One minute from `t` of a brand with an everyday grumble a minute among six mentions, plus
/// `reports` outage reports and `launch` excited launch posts; `tag` keeps texts apart.
fn grumbling_minute(s: &mut Stream, t: i64, launch: i64, reports: i64, tag: i64) {
    for j in 0..6 + launch + reports {
        let text = match j {
            0 => format!("{GRUMBLE} {tag}"),
            1..=5 => format!("acme shop is ok {tag} {j}"),
            _ if j < 6 + reports => format!("{OUTAGE_REPORT} {tag} {j}"),
            _ => format!("the new acme phone is gorgeous, preordered {tag} {j}"),
        };
        s.post(
            t + j * 1_000,
            &format!("c{}", (tag * 7 + j) % 40_000),
            MentionKind::Post,
            None,
            &text,
        );
    }
    s.tick(t, t + MINUTE);
}

/// Replies of a heart-warming story, in the words people are moved in ("not me sobbing 😭",
/// "the way i screamed"): read word by word they are negative, and the story a "mostly
/// negative" surge.
const MOVED: [&str; 6] = [
    "not me sobbing at this 😭",
    "stop it, i'm crying 😭😭",
    "tears 😭😭 what a story",
    "the way i screamed when i saw this",
    "crying at my desk over this",
    "this broke me",
];

const PRAISE: &str = "shoutout to acme, their engineer stayed after the job to calm my anxious kid down. absolute hero";

/// A praised post's thread, `texts` replying, doubling to 24 a minute within the hour.
fn praised_thread(texts: &[&str]) -> Stream {
    let mut s = Stream::new(config());
    s.chatter(T0 - 2 * DAY, T0, 1, "acme is fine i guess");
    let root = s.say(T0, PRAISE);
    let mut n = 0usize;
    for k in 0..90 {
        let t = T0 + k * MINUTE;
        let per_min = (2f64.powf(k as f64 / 10.0)).min(24.0) as i64;
        for j in 0..per_min {
            n += 1;
            s.post(
                t + j * (MINUTE / per_min.max(1)),
                &format!("r{n}"),
                MentionKind::Reply,
                Some(&root),
                texts[n % texts.len()],
            );
        }
        s.tick(t, t + MINUTE);
    }
    s
}

/// The replies to a post that praises, stating no grievance of their own, are the story's
/// warmth: a heart-warming story pages no one, however tearful its replies.
#[test]
fn a_heart_warming_story_with_tearful_replies_pages_no_one() {
    let s = praised_thread(&MOVED);
    assert!(s.pages().is_empty(), "{}", s.dump());
}

/// ... but replies that state grievances under a praised post are grievances: they page.
#[test]
fn grievances_under_a_praised_post_still_page() {
    let s = praised_thread(&[
        "same engineer never turned up for my boiler repair, no heating for 3 days",
        "acme cut off my gas by mistake and nobody answers the phone",
        "still waiting for acme to refund the callout charge, useless",
    ]);
    assert!(
        s.pages().iter().any(|a| a.severity >= Severity::Warning),
        "{}",
        s.dump()
    );
}

/// A wave of complaints of which the models recognise only a third: the rest are sarcastic
/// ("so grateful acme broke my click and collect again") or flat ("failing at the self
/// checkout so consistently takes effort") and read as praise or nothing. The brand's volume
/// test sees the wave first (three posts a minute on a brand with one every two minutes) and
/// opens an incident on it at info: hardly any of its posts are negative in words. That
/// incident is about service, so it tells the service complaint stream's story and the
/// stream opens no incident of its own; the stream's alarm must then page through it, or the
/// wave stays at info for as long as it lasts (it did, for three hours: found on the tuning
/// pool's quiet-brand sarcasm waves, 2026-12-06).
///
/// Not fixed: the fix (the stream's alarm grading the volume incident that tells its story)
/// paged one more test-pool launch and failed the rule written before its look
/// (docs/evaluation.md, nineteenth round), so it was reverted. Run with `--ignored`.
#[test]
#[ignore = "known defect, not fixed: the fix failed its test-look rule (docs/evaluation.md, nineteenth round)"]
fn a_complaint_wave_the_volume_test_saw_first_still_pages_support() {
    const WAVE: [&str; 6] = [
        "acme promised a callback yesterday, still nothing",
        "so grateful acme broke my click and collect again, what would i do without the drama",
        "10/10 customer service from acme, still no answer after 4 days",
        "gotta hand it to acme, failing at the self checkout so consistently takes effort",
        "wow acme, another cancelled click and collect, you really spoil me",
        "gotta hand it to acme, failing at the meal deal so consistently takes effort",
    ];
    let mut s = Stream::new(config());
    let onset = T0;
    let mut t = T0 - 3 * DAY;
    let mut k = 0usize;
    while t < onset + 3 * HOUR {
        let minute = (t - (T0 - 3 * DAY)) / MINUTE;
        if minute % 2 == 0 {
            s.say(t + 5_000, &format!("acme shop opening hours {k}"));
        }
        if t < onset && minute % 20 == 10 {
            s.say(
                t + 7_000,
                &format!("acme still no answer about my order {k}"),
            );
        }
        if t >= onset {
            for j in 0..3 {
                k += 1;
                let text = format!("{} {k}", WAVE[k % WAVE.len()]);
                s.say(t + 20_000 + j * 10_000, &text);
            }
        }
        s.post(t, "clock", MentionKind::Post, None, "nothing to see here");
        t += MINUTE;
        k += 1;
    }
    let first = s.alerts.first().map(|a| (at(a) - onset) / MINUTE);
    let page = s.first_page_to("support", onset);
    // The shape the defect needs: the volume incident comes first, at info.
    assert!(
        s.alerts
            .first()
            .is_some_and(|a| a.severity == Severity::Info),
        "{}",
        s.dump()
    );
    assert!(
        page.is_some_and(|d| (0..=45).contains(&d)) && first < page,
        "support paged {page:?} min into the wave:\n{}",
        s.dump()
    );
    assert!(
        s.pages().iter().all(|a| a.why.contains("complaints at")),
        "a page that the complaint stream made says so:\n{}",
        s.dump()
    );
}

/// A brand's chatter that the model reads as grumbling ("acme emailed about changes to the
/// loyalty card terms" reads negative to `linear`), then an influencer's praise with a crowd of
/// agreeing replies and reposts. The volume test opens an incident on the rise; its evidence
/// merges the chatter's clusters with two days of their history, which read two-thirds
/// negative, so the incident was graded on that history and paged support at warning ("brand
/// volume 3.1x its usual rate", found on the tuning pool's influencer and launch runs under
/// `linear`, 2026-12-06). The rise itself (the brand's last 15 minutes) is praise: no page.
///
/// Not fixed: the fix (grading a volume incident on the words of the brand's last 15 minutes)
/// passed this test and the tuning pool, but its test look paged two more influencers than the
/// rule written before it allowed (docs/evaluation.md, twenty-first round), so it was
/// reverted. Run with `--ignored`.
#[test]
#[ignore = "known defect, not fixed: the fix failed its test-look rule (docs/evaluation.md, twenty-first round)"]
fn a_praised_rise_is_not_graded_on_the_history_of_the_chatter_it_merged() {
    const CHATTER: [&str; 2] = [
        "acme emailed about changes to the loyalty card terms",
        "acme emailed me about changes to the self checkout terms",
    ];
    const OTHER: [&str; 5] = [
        "so glad i switched to acme",
        "acme delivery came early, nice",
        "picked up my shopping from acme",
        "acme opening hours on sunday?",
        "acme has strawberries in",
    ];
    const REPLIES: [&str; 3] = [
        "agreed, been happy too",
        "honestly same, really happy with them",
        "fair, it's been fine for me",
    ];
    let mut s = Stream::with_model(config(), "linear");
    let onset = T0 + 2 * DAY + 10 * HOUR;
    let mut root = None;
    let mut t = T0;
    let mut k = 0usize;
    while t < onset + 3 * HOUR {
        let minute = (t - T0) / MINUTE;
        if minute % 2 == 0 {
            s.say(t + 5_000, &format!("{} {k}", CHATTER[k % 2]));
            k += 1;
        }
        if minute % 3 == 0 {
            s.say(t + 25_000, &format!("{} {k}", OTHER[k % 5]));
            k += 1;
        }
        if t == onset {
            root = Some(s.post(
                t + 1_000,
                "influencer",
                MentionKind::Post,
                None,
                "been trying acme for a month for the loyalty card. honestly solid, not an ad",
            ));
        }
        if let Some(root) = root.as_deref().filter(|_| t > onset) {
            let n = (1 + (t - onset) / (6 * MINUTE)).min(8);
            for j in 0..n {
                k += 1;
                let author = format!("fan{k}");
                let at = t + 2_000 + j * 6_000;
                if k % 3 == 0 {
                    let text = REPLIES[(k / 3) % REPLIES.len()];
                    s.post(at, &author, MentionKind::Reply, Some(root), text);
                } else {
                    s.post(at, &author, MentionKind::Repost, Some(root), "");
                }
            }
        }
        s.post(t, "clock", MentionKind::Post, None, "nothing to see here");
        t += MINUTE;
    }
    assert!(
        s.alerts.iter().any(|a| at(a) >= onset),
        "the rise opens an incident:\n{}",
        s.dump()
    );
    assert!(s.pages().is_empty(), "{}", s.dump());
}

/// Replies to a story that doubles every `doubling_min` minutes, for `minutes` minutes, with
/// `per_min` posts of `chatter` a minute beside it; returns the replies sent.
fn reactions_beside_chatter(
    s: &mut Stream,
    root: &str,
    doubling_min: f64,
    minutes: i64,
    per_min: i64,
    chatter: &str,
) -> i64 {
    const REPLIES: [&str; 4] = [
        "that is assault, report him to the police",
        "this is terrifying, are you ok",
        "how is this man still allowed to work",
        "absolutely vile, never using them again",
    ];
    let mut replies = 0i64;
    for k in 0..minutes {
        let t = T0 + k * MINUTE;
        let n = (0.5 * 2f64.powf(k as f64 / doubling_min)).round() as i64;
        for j in 0..n.min(60) {
            replies += 1;
            s.post(
                t + 1_000 + j * (50_000 / n.max(1)),
                &format!("r{replies}"),
                MentionKind::Reply,
                Some(root),
                REPLIES[replies as usize % REPLIES.len()],
            );
        }
        s.chatter(t, t + MINUTE, per_min, chatter);
    }
    replies
}

/// A risky post's story follows its thread, not the cluster the post first joined. On a busy
/// brand whose chatter shares the post's words ("acme engineer … boiler"), that chatter fills
/// the cluster's memory of threads within a minute or two, and the story's later replies
/// start a cluster of their own. The watch then saw none of them: its evidence froze at the
/// first few replies, it never escalated, and it resolved while the thread was still doubling
/// (found by an independent replay, 2026-12-06: "10 mentions in total" at resolve, against
/// 6,900 in the thread).
#[test]
fn a_risky_posts_story_follows_its_thread_out_of_its_first_cluster() {
    const CHATTER: &str = "acme engineer came to fix our boiler today, all good";
    let mut s = Stream::new(config());
    s.chatter(T0 - 2 * DAY, T0, 8, CHATTER);
    let root = s.say(T0, RISKY);
    let replies = reactions_beside_chatter(&mut s, &root, 6.0, 90, 8, CHATTER);
    // The thread stops; the brand's chatter goes on.
    s.chatter(T0 + 90 * MINUTE, T0 + 5 * HOUR, 8, CHATTER);
    let story: Vec<&AlertRecord> = s
        .alerts
        .iter()
        .filter(|a| at(a) >= T0 && a.category == Category::Conduct)
        .collect();
    let error = story
        .iter()
        .find(|a| a.action != Action::Resolve && a.severity >= Severity::Error)
        .map(|a| (at(a) - T0) / MINUTE);
    assert!(
        error.is_some_and(|d| d <= 45),
        "error {error:?} min after the root ({replies} replies):\n{}",
        s.dump()
    );
    let watch = story.first().map(|a| a.incident.clone());
    assert!(
        story.iter().all(|a| Some(&a.incident) == watch.as_ref()),
        "one incident tells the story:\n{}",
        s.dump()
    );
    let resolve = story.iter().find(|a| a.action == Action::Resolve);
    assert!(
        resolve
            .is_some_and(|a| at(a) > T0 + 90 * MINUTE && a.metrics.mentions * 2 >= replies as u64),
        "resolved at the thread's end, counting its {replies} replies:\n{}",
        s.dump()
    );
}

/// A watch on a harmless post that the triage misreads ("the acme driver waited while i
/// grabbed my bag, legend") does not swallow a real allegation in other words that the
/// clusterer put beside it for the words they share: the real post opens its own watch at
/// once and escalates on its own thread (found by an independent replay, 2026-12-06: the real
/// post got no watch, and its page came 20 to 42 minutes later from the thread alone).
#[test]
fn a_watch_on_a_harmless_post_does_not_swallow_a_real_allegation() {
    const CHATTER: &str = "acme driver got me to work on time";
    let mut s = Stream::new(config());
    s.chatter(T0 - 2 * DAY, T0 - 10 * MINUTE, 6, CHATTER);
    s.say(
        T0 - 10 * MINUTE,
        "acme driver waited for me while i grabbed my bag, legend",
    );
    s.chatter(T0 - 10 * MINUTE, T0, 6, CHATTER);
    let first_watch = s
        .alerts
        .iter()
        .find(|a| at(a) >= T0 - 10 * MINUTE)
        .map(|a| a.incident.clone());
    let real = "the acme driver grabbed my friend's wrist and would not let her out of the car, \
                she has bruises";
    let root = s.say(T0, real);
    reactions_beside_chatter(&mut s, &root, 6.0, 60, 6, CHATTER);
    let watch = s.alerts.iter().find(|a| {
        at(a) >= T0
            && a.action == Action::Trigger
            && a.top_posts.iter().any(|p| p.id == root)
            && Some(&a.incident) != first_watch.as_ref()
    });
    assert!(
        watch.is_some_and(|a| at(a) < T0 + 5 * MINUTE && a.teams.iter().any(|t| t == "field-ops")),
        "the real allegation's own watch (the harmless one: {first_watch:?}):\n{}",
        s.dump()
    );
    let error = s
        .pages()
        .into_iter()
        .find(|a| a.severity >= Severity::Error && a.teams.iter().any(|t| t == "field-ops"))
        .map(|a| (at(a) - T0) / MINUTE);
    assert!(
        error.is_some_and(|d| d <= 30),
        "field-ops error {error:?} min after the real post:\n{}",
        s.dump()
    );
}
