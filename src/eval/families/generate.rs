//! The stream of one family run: background traffic per brand, unbranded chatter and the
//! planted stories, in arrival order, with a label per mention and the run's ground truth.
//!
//! Input: a [`RunParams`] ([`super::params::draw`]). Output: a [`Generated`]: the brands'
//! configuration tables, the mentions (a little out-of-order jitter, always within the default
//! allowed lateness), one [`Label`] per mention saying what the generator meant it to be, and
//! the [`Truth`] the judge uses. The same parameters always give the same bytes: one ChaCha
//! stream, no clocks, no hash-map iteration.
//!
//! Background, per brand and minute: a Poisson count at the brand's shaped rate; posts are
//! complaints, praise or neutral at the brand's shares, some by bot-like accounts; reactions
//! (reposts, quotes, replies) answer the brand's recent posts and carry `parent_id`, most of
//! their texts never naming the brand. Stories add their own posts on top (see
//! [`super::params::Story`] for the shapes).

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

use super::params::{
    slow_burn_multiplier, Cascade, Expect, RunParams, Story, Wave, DAY, HOUR, MINUTE,
};
use super::phrases::{phrases, Phrases};
use super::{Family, Pool};
use crate::config::BrandConfig;
use crate::domain::{Author, EventTime, Mention, MentionKind};

/// What the generator meant one mention to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Label {
    /// The brand it is about (index into the run's brands); `None` for unbranded chatter.
    pub brand: Option<u8>,
    /// The planted story it belongs to (index into the run's stories); `None` = background.
    pub story: Option<u8>,
    /// A complaint or a report of a service failure.
    pub complaint: bool,
    /// A repost, quote or reply.
    pub reaction: bool,
    /// Its own text names the brand (or, for ambiguous names, contains the brand's word).
    pub names_brand: bool,
}

/// One brand's part of the truth.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BrandTruth {
    pub id: String,
    /// Background rate (mentions per minute, weekday daily mean).
    pub rate: f64,
    /// `[from, to)` in ms: the brand's background time (before its first story, or the whole
    /// run), where any page is false.
    pub background: (i64, i64),
}

/// One planted story's part of the truth.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoryTruth {
    pub kind: &'static str,
    pub brand: usize,
    pub onset_ms: i64,
    pub end_ms: i64,
    /// The page it must produce; `None`: no page above info.
    pub expect: Option<Expect>,
    /// Conduct/safety alerts on its brand after its onset are part of it.
    pub alleges_conduct: bool,
    /// A slow burn's likelihood-ratio bound ([`super::params::slow_burn_oracle_min`]), minutes
    /// after the onset.
    pub oracle_min: Option<f64>,
}

/// The ground truth of a run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Truth {
    pub family: Family,
    pub seed: u64,
    pub pool: Pool,
    pub start_ms: i64,
    pub end_ms: i64,
    pub brands: Vec<BrandTruth>,
    pub stories: Vec<StoryTruth>,
}

/// A generated run.
#[derive(Debug, Clone)]
pub struct Generated {
    pub params: RunParams,
    /// The run's `[[brand]]` tables.
    pub brands: Vec<BrandConfig>,
    /// In arrival order.
    pub mentions: Vec<Mention>,
    /// `labels[i]` describes `mentions[i]`.
    pub labels: Vec<Label>,
    pub truth: Truth,
}

/// A post reactions can point at.
#[derive(Debug, Clone)]
struct Parent {
    id: String,
    source: &'static str,
    at: i64,
}

struct Gen<'a> {
    rng: ChaCha8Rng,
    p: &'a RunParams,
    ph: &'static Phrases,
    seq: u64,
    out: Vec<(i64, Mention, Label)>,
}

/// SplitMix64 finaliser: per-account attributes from the account number.
fn mix(mut h: u64) -> u64 {
    h = (h ^ (h >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h = (h ^ (h >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^ (h >> 31)
}

fn unit(h: u64) -> f64 {
    ((h >> 11) as f64 / (1u64 << 53) as f64).clamp(1e-12, 1.0 - 1e-12)
}

fn pick<'b>(rng: &mut ChaCha8Rng, xs: &'b [&'b str]) -> &'b str {
    if xs.is_empty() {
        ""
    } else {
        xs[rng.gen_range(0..xs.len())]
    }
}

/// Poisson count with mean `lambda` (normal approximation above 30); 0 for any non-positive
/// or non-finite mean.
pub(crate) fn poisson(rng: &mut ChaCha8Rng, lambda: f64) -> u32 {
    if lambda.is_nan() || lambda <= 0.0 {
        return 0;
    }
    let lambda = lambda.min(1e6);
    if lambda > 30.0 {
        let (u1, u2): (f64, f64) = (rng.gen::<f64>().max(1e-12), rng.gen());
        let z = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
        return (lambda + z * lambda.sqrt()).round().max(0.0) as u32;
    }
    let l = (-lambda).exp();
    let mut k = 0;
    let mut p = 1.0;
    loop {
        p *= rng.gen::<f64>();
        if p <= l || k > 1000 {
            return k;
        }
        k += 1;
    }
}

impl Gen<'_> {
    /// True with probability `p`; a `p` outside `[0, 1]` is clamped (NaN counts as 0) instead
    /// of panicking, and the random stream advances exactly as `gen_bool` does.
    fn chance(&mut self, p: f64) -> bool {
        let p = if p.is_nan() { 0.0 } else { p.clamp(0.0, 1.0) };
        self.rng.gen_bool(p)
    }

    fn source(&mut self) -> &'static str {
        if self.chance(0.7) {
            "bluesky"
        } else {
            "x"
        }
    }

    /// A regular account: followers log-normal around the run's median, a few created lately.
    fn person(&mut self) -> Author {
        let n = self.rng.gen_range(0..self.p.population.max(1));
        let h = mix(u64::from(n) ^ self.p.seed.rotate_left(17));
        let (u1, u2, u3) = (unit(h), unit(mix(h)), unit(mix(h ^ 0x55)));
        let z = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
        let followers = (self.p.followers_median * (self.p.followers_sigma * z).exp())
            .clamp(0.0, 50_000_000.0) as u64;
        let age_ms = if u3 < self.p.new_account_share {
            // New: created within the last few days before the run (young all run long).
            (HOUR as f64 + unit(mix(h ^ 0x99)) * 4.0 * DAY as f64) as i64
        } else {
            60 * DAY + (mix(h ^ 0x77) % 3000) as i64 * DAY
        };
        Author {
            id: format!("did:plc:p{n:06}"),
            handle: format!("@p{n}.people.example"),
            followers,
            created_at: Some(EventTime(self.p.start_ms - age_ms)),
        }
    }

    /// A fresh bot-like account: new, almost no followers.
    fn bot(&mut self, at: i64, max_followers: u64) -> Author {
        self.seq += 1;
        let n = self.seq;
        let age = self.rng.gen_range(2 * HOUR..4 * DAY);
        Author {
            id: format!("did:plc:b{n:07}"),
            handle: format!("@deals{n}.bots.example"),
            followers: self.rng.gen_range(0..=max_followers),
            created_at: Some(EventTime(at - age)),
        }
    }

    /// One swapped pair of letters in a word of four letters or more (placeholders untouched).
    fn typo(&mut self, template: &str) -> String {
        let words: Vec<&str> = template.split(' ').collect();
        let candidates: Vec<usize> = words
            .iter()
            .enumerate()
            .filter(|(_, w)| w.len() >= 4 && w.chars().all(|c| c.is_ascii_alphabetic()))
            .map(|(i, _)| i)
            .collect();
        if candidates.is_empty() {
            return template.to_string();
        }
        let i = candidates[self.rng.gen_range(0..candidates.len())];
        let mut chars: Vec<char> = words[i].chars().collect();
        let j = self.rng.gen_range(1..chars.len() - 2);
        chars.swap(j, j + 1);
        let swapped: String = chars.into_iter().collect();
        let mut out: Vec<String> = words.iter().map(|w| w.to_string()).collect();
        out[i] = swapped;
        out.join(" ")
    }

    /// A template filled for brand `b`: `{b}` a way of naming it, `{x}` a product, `{s}` a
    /// staff role; sometimes a typo, an opener and a tail.
    fn fill(&mut self, template: &str, b: usize, decorate: bool) -> String {
        let template = if self.chance(self.p.typo_rate) {
            self.typo(template)
        } else {
            template.to_string()
        };
        let brand = self.p.brands.get(b);
        let sector = brand.and_then(|br| self.ph.sectors.get(br.sector));
        let mut text = template;
        if text.contains("{b}") {
            let refs: Vec<&str> = brand.map_or(Vec::new(), |br| {
                br.refs.iter().map(String::as_str).collect::<Vec<_>>()
            });
            let r = pick(&mut self.rng, &refs).to_string();
            text = text.replace("{b}", &r);
        }
        if text.contains("{x}") {
            let x = pick(&mut self.rng, sector.map_or(&[][..], |s| s.things)).to_string();
            text = text.replace("{x}", &x);
        }
        if text.contains("{s}") {
            let s = pick(&mut self.rng, sector.map_or(&[][..], |s| s.staff)).to_string();
            text = text.replace("{s}", &s);
        }
        if decorate {
            let opener = pick(&mut self.rng, self.ph.openers);
            let tail = pick(&mut self.rng, self.ph.tails);
            text = format!("{opener}{text}{tail}");
        }
        text
    }

    /// [`Gen::fill`] on a template picked from `xs`.
    fn fill_pick(&mut self, xs: &[&str], b: usize, decorate: bool) -> String {
        let t = pick(&mut self.rng, xs);
        self.fill(t, b, decorate)
    }

    /// A new top-level post from `author`, on a source drawn now.
    fn post(&mut self, at: i64, author: Author, text: String, label: Label) -> Parent {
        let src = self.source();
        self.push(at, src, author, MentionKind::Post, None, text, label)
    }

    #[allow(clippy::too_many_arguments)]
    fn push(
        &mut self,
        at: i64,
        source: &'static str,
        author: Author,
        kind: MentionKind,
        parent: Option<&Parent>,
        text: String,
        label: Label,
    ) -> Parent {
        self.seq += 1;
        let prefix = if source == "bluesky" { "bsky" } else { "x" };
        let id = format!("{prefix}-f{:07}", self.seq);
        // 3 % arrive up to 2.5 minutes late (the default allowed lateness is 5 minutes).
        let arrival = if self.chance(0.03) {
            at + self.rng.gen_range(5_000..150_000)
        } else {
            at
        };
        if at >= self.p.start_ms && at < self.p.end_ms {
            let m = Mention {
                url: Some(format!("https://social.example/{source}/{id}")),
                id: id.clone(),
                source: source.to_string(),
                created_at: EventTime(at),
                text,
                author,
                kind,
                parent_id: parent.map(|p| p.id.clone()),
                lang: None,
                likes: None,
                reposts: None,
            };
            self.out.push((arrival, m, label));
        }
        Parent { id, source, at }
    }

    fn background(&mut self, b: usize) {
        let Some(brand) = self.p.brands.get(b) else {
            return;
        };
        let brand = brand.clone();
        let ph = self.ph;
        let tag = u8::try_from(b).ok();
        let post_complaint = (brand.complaint_share / (1.0 - brand.reaction_share)).min(0.95);
        let mut recent: Vec<Parent> = Vec::new();
        let mut t0 = self.p.start_ms;
        while t0 < self.p.end_ms {
            let n = poisson(&mut self.rng, self.p.background_rate(b, t0));
            recent.retain(|p| p.at > t0 - HOUR);
            for _ in 0..n {
                let at = t0 + self.rng.gen_range(0..MINUTE);
                let label = Label {
                    brand: tag,
                    ..Label::default()
                };
                if !recent.is_empty() && self.chance(brand.reaction_share) {
                    let parent = recent[self.rng.gen_range(0..recent.len())].clone();
                    let at = at.max(parent.at + 1_000);
                    let author = self.person();
                    let r: f64 = self.rng.gen();
                    let reaction = Label {
                        reaction: true,
                        ..label
                    };
                    if r < brand.repost {
                        self.push(
                            at,
                            parent.source,
                            author,
                            MentionKind::Repost,
                            Some(&parent),
                            String::new(),
                            reaction,
                        );
                        continue;
                    }
                    let kind = if r < brand.repost + brand.quote {
                        MentionKind::Quote
                    } else {
                        MentionKind::Reply
                    };
                    let (text, names) = if self.chance(brand.unbranded_share) {
                        (pick(&mut self.rng, ph.bg_reply).to_string(), false)
                    } else {
                        let t = pick(&mut self.rng, ph.bg_branded_reply);
                        (self.fill(t, b, false), true)
                    };
                    self.push(
                        at,
                        parent.source,
                        author,
                        kind,
                        Some(&parent),
                        text,
                        Label {
                            names_brand: names,
                            ..reaction
                        },
                    );
                    continue;
                }
                let r: f64 = self.rng.gen();
                let (group, complaint) = if r < post_complaint {
                    (ph.bg_complaint, true)
                } else if r < post_complaint + brand.positive_share {
                    (ph.bg_positive, false)
                } else {
                    (ph.bg_neutral, false)
                };
                let t = pick(&mut self.rng, group);
                let text = self.fill(t, b, true);
                let author = if self.chance(self.p.bot_share) {
                    self.bot(at, 20)
                } else {
                    self.person()
                };
                let post = self.post(
                    at,
                    author,
                    text,
                    Label {
                        complaint,
                        names_brand: true,
                        ..label
                    },
                );
                if recent.len() >= 32 {
                    recent.remove(0);
                }
                recent.push(post);
            }
            t0 += MINUTE;
        }
    }

    fn noise(&mut self) {
        let mut t0 = self.p.start_ms;
        while t0 < self.p.end_ms {
            for _ in 0..poisson(&mut self.rng, self.p.noise_rate) {
                let at = t0 + self.rng.gen_range(0..MINUTE);
                let text = pick(&mut self.rng, self.ph.noise).to_string();
                let (src, author) = (self.source(), self.person());
                self.push(
                    at,
                    src,
                    author,
                    MentionKind::Post,
                    None,
                    text,
                    Label::default(),
                );
            }
            t0 += MINUTE;
        }
    }

    fn label(&self, b: usize, story: usize) -> Label {
        Label {
            brand: u8::try_from(b).ok(),
            story: u8::try_from(story).ok(),
            ..Label::default()
        }
    }

    /// A root post and its reaction cascade.
    #[allow(clippy::too_many_arguments)]
    fn cascade(
        &mut self,
        story: usize,
        b: usize,
        onset: i64,
        c: &Cascade,
        roots: &'static [&'static str],
        reactions: &'static [&'static str],
        branded: &'static [&'static str],
    ) {
        let base = self.label(b, story);
        let mut author = self.person();
        author.followers = c.root_followers;
        author.created_at = Some(EventTime(self.p.start_ms - 900 * DAY));
        let root_text = roots.get(c.root).copied().unwrap_or("");
        let text = self.fill(root_text, b, false);
        let root = self.post(
            onset,
            author,
            text,
            Label {
                names_brand: true,
                ..base
            },
        );
        let mut replies: Vec<Parent> = Vec::new();
        let minutes = (c.peak_min() + 3.0 * c.decay_min).ceil() as i64;
        for m in 0..minutes.max(1) {
            let n = poisson(&mut self.rng, c.rate_at(m as f64 + 0.5));
            for _ in 0..n {
                let at = onset + m * MINUTE + self.rng.gen_range(1_000..MINUTE);
                let author = self.person();
                let r: f64 = self.rng.gen();
                let reaction = Label {
                    reaction: true,
                    ..base
                };
                if r < c.repost {
                    self.push(
                        at,
                        root.source,
                        author,
                        MentionKind::Repost,
                        Some(&root),
                        String::new(),
                        reaction,
                    );
                } else if r < c.repost + c.quote + c.reply {
                    let is_quote = r < c.repost + c.quote;
                    let (text, names) = if self.chance(c.unbranded_share) {
                        (self.fill_pick(reactions, b, false), false)
                    } else {
                        (self.fill_pick(branded, b, false), true)
                    };
                    let parent =
                        if !is_quote && !replies.is_empty() && self.chance(c.reply_to_reply) {
                            replies[self.rng.gen_range(0..replies.len())].clone()
                        } else {
                            root.clone()
                        };
                    let at = at.max(parent.at + 1_000);
                    let kind = if is_quote {
                        MentionKind::Quote
                    } else {
                        MentionKind::Reply
                    };
                    let posted = self.push(
                        at,
                        root.source,
                        author,
                        kind,
                        Some(&parent),
                        text,
                        Label {
                            names_brand: names,
                            ..reaction
                        },
                    );
                    if !is_quote && replies.len() < 64 {
                        replies.push(posted);
                    }
                } else {
                    let text = self.fill_pick(branded, b, true);
                    self.post(
                        at,
                        author,
                        text,
                        Label {
                            names_brand: true,
                            ..base
                        },
                    );
                }
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn slow_burn(
        &mut self,
        story: usize,
        b: usize,
        onset: i64,
        k: f64,
        total: f64,
        ramp: f64,
        hold: f64,
        recover: f64,
        reply_share: f64,
    ) {
        let base = self.label(b, story);
        let c = self.p.brands.get(b).map_or(0.1, |br| br.complaint_share);
        let neutral_gain = ((total - 1.0) - c * (k - 1.0)).max(0.0);
        let ph = self.ph;
        let mut posts: Vec<Parent> = Vec::new();
        let minutes = (ramp + hold + 3.0 * recover).ceil() as i64;
        for m in 0..minutes {
            let t0 = onset + m * MINUTE;
            let usual = self.p.background_rate(b, t0);
            let extra = slow_burn_multiplier(k, ramp, hold, recover, m as f64 + 0.5) - 1.0;
            let n_complaints = poisson(&mut self.rng, c * usual * extra);
            let n_neutral = poisson(
                &mut self.rng,
                usual * neutral_gain * extra / (k - 1.0).max(1e-9),
            );
            for i in 0..n_complaints + n_neutral {
                let at = t0 + self.rng.gen_range(0..MINUTE);
                let author = self.person();
                let complaint = i < n_complaints;
                if complaint && !posts.is_empty() && self.chance(reply_share) {
                    let parent = posts[self.rng.gen_range(0..posts.len())].clone();
                    let text = pick(&mut self.rng, ph.complaint_reply).to_string();
                    self.push(
                        at.max(parent.at + 1_000),
                        parent.source,
                        author,
                        MentionKind::Reply,
                        Some(&parent),
                        text,
                        Label {
                            complaint: true,
                            reaction: true,
                            ..base
                        },
                    );
                    continue;
                }
                let group = if complaint {
                    ph.slow_complaint
                } else {
                    ph.slow_question
                };
                let text = self.fill_pick(group, b, true);
                let post = self.post(
                    at,
                    author,
                    text,
                    Label {
                        complaint,
                        names_brand: true,
                        ..base
                    },
                );
                if complaint {
                    if posts.len() >= 32 {
                        posts.remove(0);
                    }
                    posts.push(post);
                }
            }
        }
    }

    /// Independent posts following `w`'s shape. `reply` answers earlier posts of the wave
    /// (unbranded); `None` makes those reactions plain reposts.
    #[allow(clippy::too_many_arguments)]
    fn wave(
        &mut self,
        story: usize,
        b: usize,
        onset: i64,
        w: &Wave,
        main: &[&str],
        questions: &[&str],
        reply: Option<&[&str]>,
        complaint: bool,
    ) {
        let base = self.label(b, story);
        let mut posts: Vec<Parent> = Vec::new();
        let minutes = w.duration_min().ceil() as i64;
        for m in 0..minutes {
            let n = poisson(&mut self.rng, w.rate_at(m as f64));
            for _ in 0..n {
                let at = onset + m * MINUTE + self.rng.gen_range(0..MINUTE);
                let author = self.person();
                let r: f64 = self.rng.gen();
                if r < w.question_share && !questions.is_empty() {
                    let text = self.fill_pick(questions, b, true);
                    self.post(
                        at,
                        author,
                        text,
                        Label {
                            names_brand: true,
                            ..base
                        },
                    );
                    continue;
                }
                if r < w.question_share + w.reply_share && !posts.is_empty() {
                    let parent = posts[self.rng.gen_range(0..posts.len())].clone();
                    let (kind, text) = match reply {
                        Some(pool) => (MentionKind::Reply, pick(&mut self.rng, pool).to_string()),
                        None => (MentionKind::Repost, String::new()),
                    };
                    self.push(
                        at.max(parent.at + 1_000),
                        parent.source,
                        author,
                        kind,
                        Some(&parent),
                        text,
                        Label {
                            complaint,
                            reaction: true,
                            ..base
                        },
                    );
                    continue;
                }
                let text = self.fill_pick(main, b, true);
                let post = self.post(
                    at,
                    author,
                    text,
                    Label {
                        complaint,
                        names_brand: true,
                        ..base
                    },
                );
                if posts.len() >= 32 {
                    posts.remove(0);
                }
                posts.push(post);
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn influencer(
        &mut self,
        story: usize,
        b: usize,
        onset: i64,
        followers: u64,
        start_rate: f64,
        decay: f64,
        repost: f64,
        quote: f64,
    ) {
        let base = self.label(b, story);
        let ph = self.ph;
        let author = Author {
            id: format!("did:plc:star{}", self.p.seed),
            handle: String::from("@bigvoice.example"),
            followers,
            created_at: Some(EventTime(self.p.start_ms - 2_000 * DAY)),
        };
        let text = self.fill_pick(ph.influencer_root, b, false);
        let root = self.push(
            onset,
            "x",
            author,
            MentionKind::Post,
            None,
            text,
            Label {
                names_brand: true,
                ..base
            },
        );
        let minutes = (4.0 * decay).ceil() as i64;
        for m in 0..minutes {
            let n = poisson(
                &mut self.rng,
                start_rate * (-(m as f64 + 0.5) / decay).exp(),
            );
            for _ in 0..n {
                let at = onset + m * MINUTE + self.rng.gen_range(1_000..MINUTE);
                let author = self.person();
                let r: f64 = self.rng.gen();
                let (kind, text) = if r < repost {
                    (MentionKind::Repost, String::new())
                } else if r < repost + quote {
                    (
                        MentionKind::Quote,
                        pick(&mut self.rng, ph.influencer_reaction).to_string(),
                    )
                } else {
                    (
                        MentionKind::Reply,
                        pick(&mut self.rng, ph.influencer_reaction).to_string(),
                    )
                };
                self.push(
                    at,
                    root.source,
                    author,
                    kind,
                    Some(&root),
                    text,
                    Label {
                        reaction: true,
                        ..base
                    },
                );
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn bot_burst(
        &mut self,
        story: usize,
        b: usize,
        onset: i64,
        posts: u32,
        minutes: f64,
        templates: usize,
        max_followers: u64,
        repost_share: f64,
    ) {
        let base = self.label(b, story);
        let ph = self.ph;
        // One way of naming the brand for the whole burst (the spammers' tag).
        let tag = self.p.brands.get(b).map_or(String::new(), |br| {
            let tags = [br.hashtags.first(), br.handles.first()];
            tags[self.rng.gen_range(0..2)].cloned().unwrap_or_default()
        });
        let n_templates = templates.clamp(1, ph.bot_spam.len().max(1));
        let mut earlier: Vec<Parent> = Vec::new();
        let span = (minutes * MINUTE as f64) as i64;
        for i in 0..posts {
            let at = onset
                + i64::from(i) * span / i64::from(posts.max(1))
                + self.rng.gen_range(0..3_000);
            let author = self.bot(at, max_followers);
            if !earlier.is_empty() && self.chance(repost_share) {
                let parent = earlier[self.rng.gen_range(0..earlier.len())].clone();
                self.push(
                    at.max(parent.at + 1_000),
                    parent.source,
                    author,
                    MentionKind::Repost,
                    Some(&parent),
                    String::new(),
                    Label {
                        reaction: true,
                        ..base
                    },
                );
                continue;
            }
            let t = ph
                .bot_spam
                .get(self.rng.gen_range(0..n_templates))
                .copied()
                .unwrap_or("");
            let code: u16 = self.rng.gen();
            let text = format!("{} {code:04x}", t.replace("{b}", &tag));
            let post = self.push(
                at,
                "x",
                author,
                MentionKind::Post,
                None,
                text,
                Label {
                    names_brand: true,
                    ..base
                },
            );
            if earlier.len() < 64 {
                earlier.push(post);
            }
        }
    }

    fn story(&mut self, i: usize, s: &Story) {
        let ph = self.ph;
        match s {
            Story::Misconduct {
                brand,
                onset_ms,
                cascade,
            } => self.cascade(
                i,
                *brand,
                *onset_ms,
                cascade,
                ph.misconduct_root,
                ph.misconduct_reaction,
                ph.misconduct_branded,
            ),
            Story::PositiveViral {
                brand,
                onset_ms,
                cascade,
            } => self.cascade(
                i,
                *brand,
                *onset_ms,
                cascade,
                ph.viral_root,
                ph.viral_reaction,
                ph.viral_branded,
            ),
            Story::SlowBurnOutage {
                brand,
                onset_ms,
                complaint_ratio,
                total_ratio,
                ramp_min,
                hold_min,
                recover_min,
                reply_share,
            } => self.slow_burn(
                i,
                *brand,
                *onset_ms,
                *complaint_ratio,
                *total_ratio,
                *ramp_min,
                *hold_min,
                *recover_min,
                *reply_share,
            ),
            Story::SharpOutage {
                brand,
                onset_ms,
                wave,
            } => self.wave(
                i,
                *brand,
                *onset_ms,
                wave,
                ph.sharp_complaint,
                ph.sharp_question,
                Some(ph.complaint_reply),
                true,
            ),
            Story::BillingWave {
                brand,
                onset_ms,
                wave,
            } => self.wave(
                i,
                *brand,
                *onset_ms,
                wave,
                ph.billing_complaint,
                &[],
                Some(ph.complaint_reply),
                true,
            ),
            Story::SarcasmWave {
                brand,
                onset_ms,
                wave,
            } => self.wave(
                i,
                *brand,
                *onset_ms,
                wave,
                ph.sarcasm_post,
                &[],
                Some(ph.complaint_reply),
                true,
            ),
            Story::ProductLaunch {
                brand,
                onset_ms,
                wave,
            } => self.wave(i, *brand, *onset_ms, wave, ph.launch_post, &[], None, false),
            Story::AmbiguousName {
                brand,
                onset_ms,
                wave,
                ..
            } => {
                let posts = self
                    .p
                    .brands
                    .get(*brand)
                    .and_then(|br| br.ambiguous)
                    .and_then(|a| ph.ambiguous.get(a))
                    .map_or(&[][..], |a| a.posts);
                self.wave(
                    i,
                    *brand,
                    *onset_ms,
                    wave,
                    posts,
                    &[],
                    Some(ph.bg_reply),
                    false,
                );
            }
            Story::Influencer {
                brand,
                onset_ms,
                followers,
                start_rate,
                decay_min,
                repost,
                quote,
            } => self.influencer(
                i,
                *brand,
                *onset_ms,
                *followers,
                *start_rate,
                *decay_min,
                *repost,
                *quote,
            ),
            Story::BotBurst {
                brand,
                onset_ms,
                posts,
                minutes,
                templates,
                max_followers,
                repost_share,
            } => self.bot_burst(
                i,
                *brand,
                *onset_ms,
                *posts,
                *minutes,
                *templates,
                *max_followers,
                *repost_share,
            ),
        }
    }
}

/// The ground truth of `p`.
pub fn truth(p: &RunParams) -> Truth {
    let brands = p
        .brands
        .iter()
        .enumerate()
        .map(|(b, br)| {
            let first = p
                .stories
                .iter()
                .filter(|s| s.brand() == b)
                .map(Story::onset_ms)
                .min()
                .unwrap_or(p.end_ms);
            BrandTruth {
                id: br.id.clone(),
                rate: br.rate,
                background: (p.start_ms, first.clamp(p.start_ms, p.end_ms)),
            }
        })
        .collect();
    let stories = p
        .stories
        .iter()
        .map(|s| StoryTruth {
            kind: s.kind(),
            brand: s.brand(),
            onset_ms: s.onset_ms(),
            end_ms: p.end_ms,
            expect: s.expect(),
            alleges_conduct: s.alleges_conduct(),
            oracle_min: p.oracle_min(s),
        })
        .collect();
    Truth {
        family: p.family,
        seed: p.seed,
        pool: p.pool,
        start_ms: p.start_ms,
        end_ms: p.end_ms,
        brands,
        stories,
    }
}

/// The run's `[[brand]]` tables (every other setting stays at its default).
pub fn brand_configs(p: &RunParams) -> Vec<BrandConfig> {
    p.brands
        .iter()
        .map(|b| BrandConfig {
            id: b.id.clone(),
            name: b.name.clone(),
            terms: b.terms.clone(),
            handles: b.handles.clone(),
            hashtags: b.hashtags.clone(),
            exclude: b.exclude.clone(),
            profile: None,
        })
        .collect()
}

/// Generates the run `p` describes.
pub fn generate(p: &RunParams) -> Generated {
    let mut key = [0u8; 32];
    key[..8].copy_from_slice(&p.seed.to_le_bytes());
    key[8..16].copy_from_slice(&(p.family as u64).to_le_bytes());
    key[16..24].copy_from_slice(&(p.pool as u64).to_le_bytes());
    key[24..].copy_from_slice(b"fp-gen01");
    let mut g = Gen {
        rng: ChaCha8Rng::from_seed(key),
        p,
        ph: phrases(p.pool),
        seq: 0,
        out: Vec::new(),
    };
    for b in 0..p.brands.len() {
        g.background(b);
    }
    g.noise();
    for (i, s) in p.stories.iter().enumerate() {
        g.story(i, s);
    }
    let mut out = std::mem::take(&mut g.out);
    out.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.id.cmp(&b.1.id)));
    let (mentions, labels) = out.into_iter().map(|(_, m, l)| (m, l)).unzip();
    Generated {
        params: p.clone(),
        brands: brand_configs(p),
        mentions,
        labels,
        truth: truth(p),
    }
}
