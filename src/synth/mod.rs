//! Deterministic synthetic mention streams: the bundled demo sample and test inputs.
//!
//! Input: a [`SynthSpec`] (seed, start, days, scale). Output: mentions in arrival order (event
//! time with a little realistic out-of-order jitter, always within the default allowed
//! lateness) and the ground truth of the scenarios planted in them. The same spec always gives
//! the same bytes: one ChaCha stream seeded from `seed`, no clocks, no hash-map iteration.
//!
//! What the stream holds, for the seven brands of `config/demo.toml`:
//! - diurnal background chatter per brand (a quiet night, a mid-afternoon peak), with replies
//!   that never name the brand, plus unbranded noise including near-misses ("brightline
//!   train", e-mail addresses, URLs, "lumens");
//! - `misconduct` (day 2, brightline): a customer's post that the technician is drinking before
//!   working on a gas line, then an exponential cascade of reposts, quotes and replies that
//!   mostly never name the brand;
//! - `positive_viral` (day 3, velora): a delighted customer's story going viral;
//! - `outage` (day 3, northwind): a slow-burn broadband outage reported by many people;
//! - `bot_burst` (day 2 evening, lumen): new, zero-follower accounts spamming near-identical
//!   airdrop posts;
//! - `ambiguous` (day 4, orchard): fruit-picking posts, most caught by exclude phrases;
//! - `influencer` (day 4, harbor): a large account's neutral-to-positive post, widely reposted;
//! - `stray_watch` (day 1, kestrel): one risky post that never builds.

mod texts;

use std::io::{self, Write};
use std::path::Path;

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::domain::codec::encode;
use crate::domain::{Author, EventTime, Mention, MentionKind};
use texts::{BrandVoice, VOICES};

const MINUTE: i64 = 60_000;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;

/// The longest stream `flashpoint synth` and the scenario suite generate, in days. The longest
/// bundled scenario is 9 days and the demo 4. A day at the demo's rates is about 4,800
/// mentions (about 3.4 MB held in memory while generating), so 60 days is about 290,000
/// mentions and 200 MB; an unbounded `days` ran the process out of memory instead.
pub const MAX_DAYS: u32 = 60;

/// The largest background rate multiplier a scenario may set (`background.scale.<brand>`,
/// `weekend`, `noise`); the bundled scenarios use at most 8.
pub const MAX_RATE_MULTIPLIER: f64 = 20.0;

/// The most a scenario's `days` times its peak background multiplier may be (the largest of
/// 1, `noise` and the `scale` values, times `weekend` when that is above 1): twice
/// [`MAX_DAYS`] days at the demo's rates, about 580,000 mentions and 400 MB at most, so that a
/// short scenario may raise rates (6 days at 20x) without a long one multiplying its volume.
/// The bundled scenarios need at most 27 (9 days, weekends at 3x).
pub const MAX_DAY_RATE: f64 = 120.0;

/// What to generate.
#[derive(Debug, Clone, PartialEq)]
pub struct SynthSpec {
    pub seed: u64,
    /// Start of the stream (UTC midnight in the demo).
    pub start: EventTime,
    pub days: u32,
    /// Multiplies every background rate (scenarios are unchanged).
    pub scale: f64,
    /// Malformed lines mixed into written archives (counted and skipped by readers).
    pub malformed: u32,
}

impl SynthSpec {
    /// The bundled demo: seed 7, four days from Monday 2026-03-02.
    pub fn demo() -> SynthSpec {
        SynthSpec {
            seed: 7,
            start: EventTime(1_772_409_600_000), // 2026-03-02T00:00:00Z
            days: 4,
            scale: 1.0,
            malformed: 3,
        }
    }
}

/// A scenario planted in the stream and what the detector should do with it.
#[derive(Debug, Clone, PartialEq)]
pub struct ScenarioTruth {
    pub name: &'static str,
    pub brand: &'static str,
    /// Event time of the scenario's first post.
    pub start: EventTime,
    pub end: EventTime,
    pub expect: &'static str,
}

/// A generated stream.
#[derive(Debug, Clone)]
pub struct Synth {
    /// In arrival order.
    pub mentions: Vec<Mention>,
    pub scenarios: Vec<ScenarioTruth>,
    /// Lines to corrupt when writing (indices into `mentions`), from `SynthSpec::malformed`.
    malformed_at: Vec<usize>,
}

struct Gen {
    rng: ChaCha8Rng,
    start: i64,
    end: i64,
    seq: u64,
    out: Vec<(i64, Mention)>,
}

impl Gen {
    fn next_id(&mut self, source: &str) -> String {
        self.seq += 1;
        let prefix = if source == "bluesky" { "bsky" } else { "x" };
        format!("{prefix}-{:07}", self.seq)
    }

    fn source(&mut self) -> &'static str {
        if self.rng.gen_bool(0.7) {
            "bluesky"
        } else {
            "x"
        }
    }

    /// A regular account from a pool of 40,000 with heavy-tailed reach.
    fn person(&mut self) -> Author {
        let n: u32 = self.rng.gen_range(0..40_000);
        self.account(n)
    }

    fn account(&self, n: u32) -> Author {
        // Deterministic per account: followers and age derive from the account number.
        let h = u64::from(n).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        let u = ((h >> 11) as f64 / (1u64 << 53) as f64).max(1e-6);
        let followers = (25.0 * u.powf(-1.0 / 1.3)).min(900_000.0) as u64;
        let age_days = 60 + (h % 3000) as i64;
        Author {
            id: format!("did:plc:u{n:05}"),
            handle: format!("@user{n}.example"),
            followers,
            created_at: Some(EventTime(self.start - age_days * DAY)),
        }
    }

    fn named(&self, id: &str, handle: &str, followers: u64, age_days: i64) -> Author {
        Author {
            id: id.to_string(),
            handle: handle.to_string(),
            followers,
            created_at: Some(EventTime(self.start - age_days * DAY)),
        }
    }

    fn pick<'a>(&mut self, xs: &'a [&'a str]) -> &'a str {
        xs.choose(&mut self.rng).copied().unwrap_or("")
    }

    #[allow(clippy::too_many_arguments)]
    fn push(
        &mut self,
        at: i64,
        source: &str,
        author: Author,
        kind: MentionKind,
        parent: Option<&Mention>,
        text: String,
    ) -> Mention {
        let id = self.next_id(source);
        let m = Mention {
            url: Some(format!("https://social.example/{source}/{id}")),
            id,
            source: source.to_string(),
            created_at: EventTime(at),
            text,
            author,
            kind,
            parent_id: parent.map(|p| p.id.clone()),
            lang: Some(String::from("en")),
            likes: None,
            reposts: None,
        };
        // Arrival jitter: 3 % of mentions arrive up to 2.5 minutes late.
        let arrival = if self.rng.gen_bool(0.03) {
            at + self.rng.gen_range(5_000..150_000)
        } else {
            at
        };
        if at >= self.start && at < self.end {
            self.out.push((arrival, m.clone()));
        }
        m
    }

    fn poisson(&mut self, lambda: f64) -> u32 {
        if lambda <= 0.0 {
            return 0;
        }
        if lambda > 30.0 {
            // Normal approximation for large means.
            let z: f64 = (0..12).map(|_| self.rng.gen::<f64>()).sum::<f64>() - 6.0;
            return (lambda + z * lambda.sqrt()).round().max(0.0) as u32;
        }
        let l = (-lambda).exp();
        let mut k = 0;
        let mut p = 1.0;
        loop {
            p *= self.rng.gen::<f64>();
            if p <= l {
                return k;
            }
            k += 1;
        }
    }

    /// Background texts for one brand.
    fn background_text(&mut self, v: &BrandVoice) -> String {
        let r: f64 = self.rng.gen();
        let bank = if r < v.negative_share {
            v.negative
        } else if r < v.negative_share + (1.0 - v.negative_share) * 0.6 {
            v.neutral
        } else {
            v.positive
        };
        let body = self.pick(bank).replace("{b}", self.pick(v.refs));
        let opener = self.pick(texts::OPENERS);
        let tail = self.pick(texts::TAILS);
        format!("{opener}{body}{tail}")
    }
}

/// Plants one scenario starting at the given event time.
type Scenario = fn(&mut Gen, i64) -> ScenarioTruth;

/// Relative activity by UTC hour: quiet nights, a mid-afternoon peak.
fn diurnal(minute_of_day: i64) -> f64 {
    let h = minute_of_day as f64 / 60.0;
    let x = ((h - 15.0) / 24.0 * std::f64::consts::TAU).cos();
    0.15 + 0.85 * ((x + 1.0) / 2.0).powf(1.5)
}

/// Generates the stream for `spec`.
pub fn generate(spec: &SynthSpec) -> Synth {
    let start = spec.start.millis();
    let mut g = Gen {
        rng: ChaCha8Rng::seed_from_u64(spec.seed),
        start,
        end: start + i64::from(spec.days) * DAY,
        seq: 0,
        out: Vec::new(),
    };
    let scale = spec.scale;
    background(&mut g, &|_| scale, 1.0, scale);
    let mut scenarios = Vec::new();
    let day = |d: i64, h: i64, m: i64| start + d * DAY + h * HOUR + m * MINUTE;
    let plan: [(&str, i64, Scenario); 7] = [
        ("stray_watch", day(0, 14, 10), stray_watch),
        ("misconduct", day(1, 10, 20), misconduct),
        ("bot_burst", day(1, 20, 5), bot_burst),
        ("outage", day(2, 7, 30), outage),
        ("positive_viral", day(2, 15, 0), positive_viral),
        ("ambiguous", day(3, 10, 0), ambiguous),
        ("influencer", day(3, 16, 0), influencer),
    ];
    for (_, at, f) in plan {
        // A scenario needs about eight quiet hours after it to resolve inside the stream.
        if at + 8 * HOUR <= g.end {
            scenarios.push(f(&mut g, at + 7_000));
        }
    }
    finish(g, scenarios, spec.malformed)
}

fn finish(mut g: Gen, scenarios: Vec<ScenarioTruth>, malformed: u32) -> Synth {
    let mut out = std::mem::take(&mut g.out);
    out.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.id.cmp(&b.1.id)));
    let mentions: Vec<Mention> = out.into_iter().map(|(_, m)| m).collect();
    let n = mentions.len();
    let malformed_at = (1..=malformed as usize)
        .map(|i| i * n / (malformed as usize + 1))
        .collect();
    Synth {
        mentions,
        scenarios,
        malformed_at,
    }
}

/// What can be planted in a custom stream (see [`Builder`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Plant {
    /// Technician drinking before a gas job, cascading with unbranded replies (brightline).
    Misconduct,
    /// A delighted customer's story going viral (velora).
    PositiveViral,
    /// Slow-burn broadband outage reported by many people (northwind).
    Outage,
    /// Airdrop spam from new, near-zero-follower accounts (lumen).
    BotBurst,
    /// Fruit-picking posts that say "orchard" (orchard).
    Ambiguous,
    /// A 1.8M-follower account's friendly post, widely reposted (harbor).
    Influencer,
    /// One alarming post that nobody amplifies (kestrel).
    StrayWatch,
    /// Sarcastic complaints about hold times: "great job, 3 hours on hold" (northwind).
    Sarcasm,
    /// A product launch everyone is excited about (velora).
    Launch,
    /// Customers charged twice, reported independently (brightline).
    Billing,
    /// A large account's mildly critical post that nobody piles onto (harbor).
    LoneInfluencer,
}

/// Builds custom deterministic streams over the demo's brands: background shape plus planted
/// scenarios at chosen times (the scenario suite uses it).
pub struct Builder {
    g: Gen,
    scenarios: Vec<ScenarioTruth>,
}

impl Builder {
    pub fn new(seed: u64, start: EventTime, days: u32) -> Builder {
        let start = start.millis();
        Builder {
            g: Gen {
                rng: ChaCha8Rng::seed_from_u64(seed),
                start,
                end: start + i64::from(days) * DAY,
                seq: 0,
                out: Vec::new(),
            },
            scenarios: Vec::new(),
        }
    }

    /// Event time of day `day` (0-based), `hour`:`minute` UTC; `None` unless `day` is inside
    /// the stream (`0..days`), `hour` is 0 to 23 and `minute` 0 to 59.
    pub fn at(&self, day: i64, hour: i64, minute: i64) -> Option<EventTime> {
        if !(0..24).contains(&hour) || !(0..60).contains(&minute) || day < 0 {
            return None;
        }
        let at = day
            .checked_mul(DAY)
            .and_then(|d| d.checked_add(hour * HOUR + minute * MINUTE))
            .and_then(|d| d.checked_add(self.g.start))?;
        (at < self.g.end).then_some(EventTime(at))
    }

    /// Adds background chatter; see the module docs for what it holds.
    pub fn background(&mut self, scale: &dyn Fn(&str) -> f64, weekend: f64, noise: f64) {
        background(&mut self.g, scale, weekend, noise);
    }

    /// Plants a scenario whose first post is at `at`.
    pub fn plant(&mut self, what: Plant, at: EventTime) -> &ScenarioTruth {
        let g = &mut self.g;
        let at = at.millis();
        let truth = match what {
            Plant::Misconduct => misconduct(g, at),
            Plant::PositiveViral => positive_viral(g, at),
            Plant::Outage => outage(g, at),
            Plant::BotBurst => bot_burst(g, at),
            Plant::Ambiguous => ambiguous(g, at),
            Plant::Influencer => influencer(g, at),
            Plant::StrayWatch => stray_watch(g, at),
            Plant::Sarcasm => wave(
                g,
                at,
                &Wave {
                    name: "sarcasm",
                    brand: "northwind",
                    texts: texts::SARCASM_POSTS,
                    peak: 8.0,
                    minutes: 240,
                    expect: "service complaints in sarcastic words: support paged",
                },
            ),
            Plant::Launch => wave(
                g,
                at,
                &Wave {
                    name: "launch",
                    brand: "velora",
                    texts: texts::LAUNCH_POSTS,
                    peak: 12.0,
                    minutes: 240,
                    expect: "a legitimate launch spike: marketing told at info, nobody paged",
                },
            ),
            Plant::Billing => wave(
                g,
                at,
                &Wave {
                    name: "billing",
                    brand: "brightline",
                    texts: texts::BILLING_POSTS,
                    peak: 6.0,
                    minutes: 240,
                    expect: "customers charged twice: support paged",
                },
            ),
            Plant::LoneInfluencer => lone_influencer(g, at),
        };
        self.scenarios.push(truth);
        let last = self.scenarios.len() - 1;
        &self.scenarios[last]
    }

    /// The stream in arrival order, with its ground truth.
    pub fn finish(self) -> Synth {
        finish(self.g, self.scenarios, 0)
    }
}

/// Independent posts about one thing from many people: a logistic ramp to `peak` per minute
/// over the first two hours, a plateau, then a fast decay.
struct Wave<'a> {
    name: &'static str,
    brand: &'static str,
    texts: &'a [&'a str],
    peak: f64,
    minutes: i64,
    expect: &'static str,
}

fn wave(g: &mut Gen, at: i64, w: &Wave<'_>) -> ScenarioTruth {
    let fallback = [w.brand];
    let refs = VOICES
        .iter()
        .find(|v| v.id == w.brand)
        .map_or(&fallback[..], |v| v.refs);
    let mut last = at;
    for m in 0..w.minutes + 90 {
        let mf = m as f64;
        let rate = if m < w.minutes {
            w.peak / (1.0 + (-(mf - 60.0) / 15.0).exp())
        } else {
            w.peak * (-(mf - w.minutes as f64) / 20.0).exp()
        };
        let n = g.poisson(rate);
        for _ in 0..n {
            let t = at + m * MINUTE + g.rng.gen_range(0..MINUTE);
            last = last.max(t);
            let body = g.pick(w.texts).replace("{b}", g.pick(refs));
            let (opener, tail) = (g.pick(texts::OPENERS), g.pick(texts::TAILS));
            let text = format!("{opener}{body}{tail}");
            let src = g.source();
            let author = g.person();
            g.push(t, src, author, MentionKind::Post, None, text);
        }
    }
    ScenarioTruth {
        name: w.name,
        brand: w.brand,
        start: EventTime(at),
        end: EventTime(last),
        expect: w.expect,
    }
}

fn lone_influencer(g: &mut Gen, at: i64) -> ScenarioTruth {
    let author = g.named("did:plc:loud", "@loudvoice", 2_100_000, 3_000);
    let root = g.push(
        at,
        "x",
        author,
        MentionKind::Post,
        None,
        texts::LONE_INFLUENCER.into(),
    );
    let mut last = at;
    for i in 1..=4 {
        let t = at + i * 7 * MINUTE;
        last = t;
        let text = g.pick(texts::REPLIES_NEUTRAL).to_string();
        let author = g.person();
        g.push(t, "x", author, MentionKind::Reply, Some(&root), text);
    }
    ScenarioTruth {
        name: "lone_influencer",
        brand: "harbor",
        start: EventTime(at),
        end: EventTime(last),
        expect: "a big account's mild complaint nobody piles onto: nobody paged",
    }
}

fn background(g: &mut Gen, scale: &dyn Fn(&str) -> f64, weekend: f64, noise: f64) {
    let minutes = (g.end - g.start) / MINUTE;
    let mut recent: Vec<Mention> = Vec::new();
    for k in 0..minutes {
        let t0 = g.start + k * MINUTE;
        // 2026-03-02 (the demo's start) is a Monday; days since the epoch + 3 gives Monday = 0.
        let weekday = (t0.div_euclid(DAY) + 3).rem_euclid(7);
        let d = diurnal(k % 1440) * if weekday >= 5 { weekend } else { 1.0 };
        for v in VOICES {
            let n = g.poisson(v.peak_rate * d * scale(v.id));
            for _ in 0..n {
                let at = t0 + g.rng.gen_range(0..MINUTE);
                let text = g.background_text(v);
                let src = g.source();
                let author = g.person();
                let m = g.push(at, src, author, MentionKind::Post, None, text);
                if g.rng.gen_bool(0.12) {
                    recent.push(m);
                }
            }
        }
        let n = g.poisson(1.2 * d * noise);
        for _ in 0..n {
            let at = t0 + g.rng.gen_range(0..MINUTE);
            let text = g.pick(texts::NOISE).to_string();
            let src = g.source();
            let author = g.person();
            g.push(at, src, author, MentionKind::Post, None, text);
        }
        // Replies to recent branded posts: they never name the brand themselves.
        recent.retain(|p| p.created_at.millis() > t0 - 30 * MINUTE);
        if !recent.is_empty() && g.rng.gen_bool(0.25) {
            let i = g.rng.gen_range(0..recent.len());
            let parent = recent[i].clone();
            let at = (t0 + g.rng.gen_range(0..MINUTE)).max(parent.created_at.millis() + 1_000);
            let text = g.pick(texts::REPLIES_NEUTRAL).to_string();
            let author = g.person();
            g.push(
                at,
                &parent.source,
                author,
                MentionKind::Reply,
                Some(&parent),
                text,
            );
        }
    }
}

/// A cascade around `root`: per-minute rate `rate(m)` for `minutes`, split into reposts,
/// quotes, replies (to the root or to an earlier reply) and branded standalone posts.
struct Cascade<'a> {
    minutes: i64,
    rate: &'a dyn Fn(i64) -> f64,
    repost: f64,
    quote: f64,
    reply: f64,
    quotes: &'a [&'a str],
    replies: &'a [&'a str],
    branded: &'a [&'a str],
}

fn cascade(g: &mut Gen, root: &Mention, c: &Cascade<'_>) -> i64 {
    let t0 = root.created_at.millis();
    let mut replies: Vec<Mention> = Vec::new();
    let mut last = t0;
    for m in 0..c.minutes {
        let n = g.poisson((c.rate)(m));
        for _ in 0..n {
            let at = t0 + m * MINUTE + g.rng.gen_range(1_000..MINUTE);
            last = last.max(at);
            let author = g.person();
            let r: f64 = g.rng.gen();
            if r < c.repost {
                g.push(
                    at,
                    &root.source,
                    author,
                    MentionKind::Repost,
                    Some(root),
                    String::new(),
                );
            } else if r < c.repost + c.quote {
                let text = g.pick(c.quotes).to_string();
                g.push(
                    at,
                    &root.source,
                    author,
                    MentionKind::Quote,
                    Some(root),
                    text,
                );
            } else if r < c.repost + c.quote + c.reply {
                let text = g.pick(c.replies).to_string();
                let parent = if !replies.is_empty() && g.rng.gen_bool(0.3) {
                    let i = g.rng.gen_range(0..replies.len());
                    replies[i].clone()
                } else {
                    root.clone()
                };
                let at = at.max(parent.created_at.millis() + 1_000);
                let reply = g.push(
                    at,
                    &root.source,
                    author,
                    MentionKind::Reply,
                    Some(&parent),
                    text,
                );
                if replies.len() < 64 {
                    replies.push(reply);
                }
            } else {
                let text = g.pick(c.branded).to_string();
                let src = g.source();
                g.push(at, src, author, MentionKind::Post, None, text);
            }
        }
    }
    last
}

/// Mentions per minute `m` minutes into a viral cascade: `start`, doubling every `doubling`
/// minutes until `peak` minutes, then decaying with time constant `decay` minutes.
fn rise_then_decay(m: i64, start: f64, doubling: f64, peak: f64, decay: f64) -> f64 {
    let m = m as f64;
    if m <= peak {
        start * (m / doubling).exp2()
    } else {
        start * (peak / doubling).exp2() * (-(m - peak) / decay).exp()
    }
}

fn misconduct(g: &mut Gen, at: i64) -> ScenarioTruth {
    let author = g.named("did:plc:jo", "@jo.example", 3_100, 2_500);
    let root = g.push(
        at,
        "bluesky",
        author,
        MentionKind::Post,
        None,
        texts::MISCONDUCT_ROOT.into(),
    );
    // Doubling every 8 minutes for 45 minutes, then a slow decay over the afternoon.
    let rate = |m: i64| rise_then_decay(m, 0.5, 8.0, 45.0, 35.0);
    let end = cascade(
        g,
        &root,
        &Cascade {
            minutes: 240,
            rate: &rate,
            repost: 0.55,
            quote: 0.15,
            reply: 0.22,
            quotes: texts::MISCONDUCT_QUOTES,
            replies: texts::MISCONDUCT_REPLIES,
            branded: texts::MISCONDUCT_BRANDED,
        },
    );
    ScenarioTruth {
        name: "misconduct",
        brand: "brightline",
        start: root.created_at,
        end: EventTime(end),
        expect: "conduct: field-ops and support paged at error or above within 60 minutes",
    }
}

fn positive_viral(g: &mut Gen, at: i64) -> ScenarioTruth {
    let author = g.named("did:plc:sam", "@sam.drives", 12_400, 1_800);
    let root = g.push(
        at,
        "bluesky",
        author,
        MentionKind::Post,
        None,
        texts::POSITIVE_ROOT.into(),
    );
    let rate = |m: i64| rise_then_decay(m, 0.6, 6.0, 40.0, 30.0);
    let end = cascade(
        g,
        &root,
        &Cascade {
            minutes: 200,
            rate: &rate,
            repost: 0.6,
            quote: 0.2,
            reply: 0.18,
            quotes: texts::POSITIVE_QUOTES,
            replies: texts::POSITIVE_REPLIES,
            branded: &[
                "love this story about @veloramotors",
                "velora motors doing it right",
            ],
        },
    );
    ScenarioTruth {
        name: "positive_viral",
        brand: "velora",
        start: root.created_at,
        end: EventTime(end),
        expect: "positive: marketing informed at info, nobody paged",
    }
}

fn outage(g: &mut Gen, at: i64) -> ScenarioTruth {
    let voice = VOICES.iter().find(|v| v.id == "northwind");
    let refs = voice.map_or(&["northwind"][..], |v| v.refs);
    // Builds over two hours to ~14/min, holds, then recovers.
    let mut last = at;
    for m in 0..330i64 {
        let mf = m as f64;
        let rate = if m < 240 {
            14.0 / (1.0 + (-(mf - 80.0) / 18.0).exp())
        } else {
            14.0 * (-(mf - 240.0) / 20.0).exp()
        };
        let n = g.poisson(rate);
        for _ in 0..n {
            let t = at + m * MINUTE + g.rng.gen_range(0..MINUTE);
            last = last.max(t);
            let body = g.pick(texts::OUTAGE_POSTS).replace("{b}", g.pick(refs));
            let (opener, tail) = (g.pick(texts::OPENERS), g.pick(texts::OUTAGE_TAILS));
            let text = format!("{opener}{body}{tail}");
            let src = g.source();
            let author = g.person();
            g.push(t, src, author, MentionKind::Post, None, text);
        }
    }
    ScenarioTruth {
        name: "outage",
        brand: "northwind",
        start: EventTime(at),
        end: EventTime(last),
        expect: "outage: support paged at warning or above, nobody else",
    }
}

fn bot_burst(g: &mut Gen, at: i64) -> ScenarioTruth {
    let mut last = at;
    for i in 0..420u32 {
        let t = at + i64::from(i) * 20 * MINUTE / 420 + g.rng.gen_range(0..3_000);
        last = last.max(t);
        let n = 900_000 + g.rng.gen_range(0..5_000u32);
        let author = Author {
            id: format!("did:plc:bot{n}"),
            handle: format!("@lumen-drop{n}.example"),
            followers: g.rng.gen_range(0..4),
            created_at: Some(EventTime(at - g.rng.gen_range(1..3) * DAY)),
        };
        let body = g.pick(texts::BOT_POSTS).replace("{b}", "#lumen");
        let text = format!("{body} {:04x}", g.rng.gen::<u16>());
        g.push(t, "x", author, MentionKind::Post, None, text);
    }
    ScenarioTruth {
        name: "bot_burst",
        brand: "lumen",
        start: EventTime(at),
        end: EventTime(last),
        expect: "spam: nobody paged",
    }
}

fn ambiguous(g: &mut Gen, at: i64) -> ScenarioTruth {
    let mut last = at;
    for m in 0..300i64 {
        let n = g.poisson(2.0);
        for _ in 0..n {
            let t = at + m * MINUTE + g.rng.gen_range(0..MINUTE);
            last = last.max(t);
            let text = if g.rng.gen_bool(0.85) {
                g.pick(texts::ORCHARD_EXCLUDED)
            } else {
                g.pick(texts::ORCHARD_LEAKS)
            }
            .to_string();
            let src = g.source();
            let author = g.person();
            g.push(t, src, author, MentionKind::Post, None, text);
        }
    }
    ScenarioTruth {
        name: "ambiguous",
        brand: "orchard",
        start: EventTime(at),
        end: EventTime(last),
        expect: "fruit picking, not the brand: nobody paged",
    }
}

fn influencer(g: &mut Gen, at: i64) -> ScenarioTruth {
    let author = g.named("did:plc:bigmoney", "@bigmoneytalk", 1_800_000, 3_000);
    let root = g.push(
        at,
        "x",
        author,
        MentionKind::Post,
        None,
        texts::INFLUENCER_ROOT.into(),
    );
    let rate = |m: i64| 12.0 * (-(m as f64) / 20.0).exp();
    let end = cascade(
        g,
        &root,
        &Cascade {
            minutes: 120,
            rate: &rate,
            repost: 0.75,
            quote: 0.0,
            reply: 0.25,
            quotes: &[],
            replies: texts::INFLUENCER_REPLIES,
            branded: &[],
        },
    );
    ScenarioTruth {
        name: "influencer",
        brand: "harbor",
        start: root.created_at,
        end: EventTime(end),
        expect: "large reach, not negative: nobody paged",
    }
}

fn stray_watch(g: &mut Gen, at: i64) -> ScenarioTruth {
    let author = g.person();
    let root = g.push(
        at,
        "bluesky",
        author,
        MentionKind::Post,
        None,
        texts::STRAY_WATCH.into(),
    );
    let mut last = at;
    for i in 1..=3 {
        let t = at + i * 4 * MINUTE;
        last = t;
        let text = g.pick(texts::REPLIES_NEUTRAL).to_string();
        let author = g.person();
        g.push(t, "bluesky", author, MentionKind::Reply, Some(&root), text);
    }
    ScenarioTruth {
        name: "stray_watch",
        brand: "kestrel",
        start: EventTime(at),
        end: EventTime(last),
        expect: "a watch at info that never builds and resolves",
    }
}

/// Writes `s` as canonical NDJSON, with the spec's malformed lines mixed in.
pub fn write_ndjson(s: &Synth, out: &mut impl Write) -> io::Result<()> {
    write_ndjson_with(s, out, &mut |_| {})
}

/// Mentions written between two calls of a progress callback.
const PROGRESS_EVERY: usize = 4096;

/// [`write_ndjson`], calling `written(n)` every few thousand mentions and at the end with
/// how many mentions are written so far.
pub fn write_ndjson_with(
    s: &Synth,
    out: &mut impl Write,
    written: &mut dyn FnMut(u64),
) -> io::Result<()> {
    let mut buf = Vec::with_capacity(512);
    for (i, m) in s.mentions.iter().enumerate() {
        if i % PROGRESS_EVERY == 0 {
            written(i as u64);
        }
        if let Some(k) = s.malformed_at.iter().position(|&j| j == i) {
            let bad = match k % 3 {
                0 => String::from("{\"id\": \"broken-1\", \"source\": \"x\", \"created_at\": \n"),
                1 => String::from("{\"id\":\"broken-2\",\"source\":\"x\",\"created_at\":\"not a time\",\"text\":\"\",\"author\":{\"id\":\"a\",\"handle\":\"@a\"}}\n"),
                _ => String::from("{\"id\":\"broken-3\",\"source\":\"x\",\"created_at\":\"2026-03-02T00:00:00Z\"}\n"),
            };
            out.write_all(bad.as_bytes())?;
        }
        buf.clear();
        encode(m, &mut buf);
        out.write_all(&buf)?;
    }
    written(s.mentions.len() as u64);
    Ok(())
}

/// What [`write_archive_with`] reports while it works.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SynthProgress {
    /// The stream is generated: this many mentions are to be written.
    Generated {
        /// Mentions in the stream.
        mentions: u64,
    },
    /// This many mentions are written (compressed) so far.
    Written {
        /// Mentions written.
        mentions: u64,
    },
}

/// Generates `spec` and writes it to `path`, compressed by extension (`.zst`, `.gz`).
pub fn write_archive(spec: &SynthSpec, path: &Path) -> io::Result<()> {
    write_archive_with(spec, path, &mut |_| {}).map(|_| ())
}

/// [`write_archive`], reporting progress to `progress`; returns how many mentions it wrote.
pub fn write_archive_with(
    spec: &SynthSpec,
    path: &Path,
    progress: &mut dyn FnMut(SynthProgress),
) -> io::Result<u64> {
    if spec.days > MAX_DAYS {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("days {}: at most {MAX_DAYS}", spec.days),
        ));
    }
    let named = |e: io::Error| io::Error::new(e.kind(), format!("{}: {e}", path.display()));
    // Opened first: a path that cannot be written fails before minutes of generating.
    let file = std::fs::File::create(path).map_err(named)?;
    let s = generate(spec);
    let mentions = s.mentions.len() as u64;
    progress(SynthProgress::Generated { mentions });
    let mut written = |n| progress(SynthProgress::Written { mentions: n });
    let name = path.to_string_lossy();
    if name.ends_with(".zst") {
        let mut enc = zstd::Encoder::new(file, 19)?;
        write_ndjson_with(&s, &mut enc, &mut written)?;
        enc.finish()?.sync_all()?;
    } else if name.ends_with(".gz") {
        let mut enc = flate2::write::GzEncoder::new(file, flate2::Compression::best());
        write_ndjson_with(&s, &mut enc, &mut written)?;
        enc.finish()?.sync_all()?;
    } else {
        let mut w = io::BufWriter::new(file);
        write_ndjson_with(&s, &mut w, &mut written)?;
        w.flush()?;
    }
    Ok(mentions)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> SynthSpec {
        SynthSpec {
            days: 2,
            ..SynthSpec::demo()
        }
    }

    #[test]
    fn write_archive_reports_generation_then_rising_counts_to_the_total() {
        let dir = tempfile::tempdir().unwrap();
        let mut seen = Vec::new();
        let n = write_archive_with(&small(), &dir.path().join("s.ndjson"), &mut |p| {
            seen.push(p)
        })
        .unwrap();
        assert_eq!(seen[0], SynthProgress::Generated { mentions: n });
        let written: Vec<u64> = seen[1..]
            .iter()
            .map(|p| match p {
                SynthProgress::Written { mentions } => *mentions,
                other => panic!("{other:?}"),
            })
            .collect();
        assert!(
            written.len() > 2 && written.windows(2).all(|w| w[0] < w[1]),
            "{written:?}"
        );
        assert_eq!(written.last(), Some(&n));
    }

    #[test]
    fn same_spec_same_bytes() {
        let mut a = Vec::new();
        let mut b = Vec::new();
        write_ndjson(&generate(&small()), &mut a).unwrap();
        write_ndjson(&generate(&small()), &mut b).unwrap();
        assert!(a == b);
        let mut c = Vec::new();
        write_ndjson(&generate(&SynthSpec { seed: 8, ..small() }), &mut c).unwrap();
        assert!(a != c, "the seed changes the stream");
    }

    #[test]
    fn arrival_order_stays_within_the_default_lateness() {
        let s = generate(&small());
        let mut newest = i64::MIN;
        for m in &s.mentions {
            newest = newest.max(m.created_at.millis());
            assert!(
                newest - m.created_at.millis() <= 5 * MINUTE,
                "{} too late",
                m.id
            );
        }
    }

    #[test]
    fn ids_are_unique_and_parents_precede_children() {
        let s = generate(&small());
        let mut seen = std::collections::HashMap::new();
        for m in &s.mentions {
            assert!(
                seen.insert(m.id.clone(), m.created_at).is_none(),
                "duplicate {}",
                m.id
            );
        }
        for m in &s.mentions {
            if let Some(p) = &m.parent_id {
                let at = seen
                    .get(p)
                    .unwrap_or_else(|| panic!("{} has no parent {p}", m.id));
                assert!(*at <= m.created_at);
            }
        }
    }

    #[test]
    fn scenarios_fit_in_the_stream() {
        let demo = generate(&SynthSpec::demo());
        let names: Vec<&str> = demo.scenarios.iter().map(|s| s.name).collect();
        assert_eq!(
            names,
            [
                "stray_watch",
                "misconduct",
                "bot_burst",
                "outage",
                "positive_viral",
                "ambiguous",
                "influencer"
            ]
        );
        let short = generate(&SynthSpec {
            days: 1,
            ..SynthSpec::demo()
        });
        assert_eq!(short.scenarios.len(), 1, "only the day-one scenario fits");
    }

    #[test]
    fn builder_at_is_inside_the_stream_or_none() {
        let start = SynthSpec::demo().start;
        let b = Builder::new(7, start, 2);
        let ms = |d: i64, h: i64, m: i64| {
            Some(EventTime(start.millis() + d * DAY + h * HOUR + m * MINUTE))
        };
        assert_eq!(b.at(0, 0, 0), ms(0, 0, 0));
        assert_eq!(b.at(1, 23, 59), ms(1, 23, 59));
        for (d, h, m) in [
            (2, 0, 0),
            (5, 16, 0),
            (-1, 23, 59),
            (-100_000, -5, -7),
            (1, 24, 0),
            (1, 25, 99),
            (1, 12, 60),
            (0, -1, 0),
            (0, 0, -1),
            (i64::MAX, 16, 0),
            (i64::MIN, 16, 0),
            (1, i64::MAX, 0),
            (1, 0, i64::MIN),
        ] {
            assert_eq!(b.at(d, h, m), None, "day {d} {h}:{m}");
        }
    }

    #[test]
    fn write_archive_refuses_more_than_max_days_before_generating() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.ndjson");
        for days in [MAX_DAYS + 1, u32::MAX] {
            let spec = SynthSpec {
                days,
                ..SynthSpec::demo()
            };
            let err = write_archive(&spec, &path).unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
            assert!(err.to_string().contains(&MAX_DAYS.to_string()), "{err}");
            assert!(!path.try_exists().unwrap());
        }
    }

    #[test]
    fn write_archive_errors_name_the_path() {
        let dir = tempfile::tempdir().unwrap();
        for path in [dir.path().to_path_buf(), dir.path().join("no/such.ndjson")] {
            let err = write_archive(&small(), &path).unwrap_err();
            assert!(
                err.to_string().contains(&path.display().to_string()),
                "{err}"
            );
        }
    }
}
