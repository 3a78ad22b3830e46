//! Each brand's busiest threads, tracked by root, so that a story can be judged on its own
//! growth even when the post that started it said nothing the risk triage recognises.
//!
//! Role: a post about staff misconduct or danger that the triage does not recognise (wording
//! it was never written for) still shows the shape of one: a thread whose replies, quotes and
//! reposts double every few minutes, from many people, in words about conduct or danger
//! rather than about a service failure or praise. The detector's volume and complaint tests
//! see it late on a busy brand (the thread is a small part of the brand's volume) and grade
//! it on evidence diluted by the brand's other chatter; [`Threads`] lets the detector find
//! the thread itself and grade the story as it grades a risky post's.
//!
//! Inputs, per mention of the brand: its thread root key, the cluster it joined, the mention
//! and its scores. Outputs: [`Threads::stories`], the threads that are such a story at an
//! evaluation minute, each with its own growth and its own evidence (only its posts: the
//! page of a story lists the story, not the brand's chatter that shares its words).
//!
//! A thread is a story ([`Thread::is_story`]) when, over the last hour, it has at least
//! [`STORY_MIN_MENTIONS`] mentions from at least [`STORY_MIN_AUTHORS`] people, it doubles
//! within [`STORY_MAX_DOUBLING_S`], and its words lean to conduct or danger: the summed
//! conduct and safety scores of its posts (the root post's counted [`ROOT_WEIGHT`] times)
//! reach [`STORY_MIN_CONDUCT`] and exceed both the service-failure and the praise sums.
//!
//! A thread also remembers whether its root post praises ([`Thread::praised`]): read positive
//! or holding strong praise words, with no complaint stated and no grievance words stronger than
//! its praise. The detector reads a reply to such a post that states no grievance of its own
//! ("not me sobbing 😭", "the way i screamed") as neutral, not negative: a heart-warming story's
//! replies are moved, and read word by word they made it a "mostly negative" surge.
//!
//! Invariants: at most [`MAX_THREADS`] threads per brand (counters and the root post each),
//! of which at most [`MAX_EVIDENCE`] with a reaction keep a bounded [`Evidence`]; when
//! full, a thread idle for an hour goes first, else the one with the fewest mentions; no
//! clocks, no randomness.

use crate::domain::scored::{category_slot, grievance_score, Scored};
use crate::domain::{Category, EventTime, Mention, MentionKind};

use super::evidence::{Evidence, PackedPost};
use super::virality::thread_growth;

/// Threads tracked per brand: a busy brand's story root must outlast the posts that follow it
/// until its first reactions come.
pub const MAX_THREADS: usize = 64;
/// Threads that keep evidence (those with reactions, busiest first).
pub const MAX_EVIDENCE: usize = 8;
/// Minutes of per-minute counts a thread keeps.
const MINUTES: usize = 60;
/// A thread is a story only with this many mentions in the last hour ...
pub const STORY_MIN_MENTIONS: u32 = 20;
/// ... from at least this many distinct authors ...
pub const STORY_MIN_AUTHORS: u32 = 5;
/// ... doubling at least this fast (seconds) ...
pub const STORY_MAX_DOUBLING_S: f64 = 3600.0;
/// ... with conduct and safety scores summing to at least this (two replies with one medium
/// conduct word each: on the tuning pool, with the triage switched off to stand for roots it
/// cannot read, 2.0 gave a p90 of 104 minutes, 1.0 65 and 0.5 62, without a false page).
pub const STORY_MIN_CONDUCT: f32 = 1.0;
/// The root post's category scores count this many times: it says what the thread is about.
pub const ROOT_WEIGHT: f32 = 3.0;
/// A thread without a mention for this long is the first to make room.
const IDLE_MS: i64 = 60 * EventTime::MINUTE_MS;
/// Minutes of a thread's counts its growth is fitted on: the last half of the hour it keeps
/// (fitted on the whole hour, the tuning pool's misconduct error page p90 was 51 minutes; 41
/// on the half hour).
const GROWTH_MINUTES: i64 = 30;

/// Whether a post praises: read positive, no complaint stated, no more than a low risk (a
/// hazard word alone: "stopped to help a lady who'd fallen"), and its praise words at least
/// as strong as any grievance words ("the driver remembered my late mum": "late" is a service
/// word).
fn praises(s: &Scored) -> bool {
    let grievance = grievance_score(&s.category_scores);
    let praise = s.category_scores[category_slot(Category::Positive)];
    (s.sentiment == crate::domain::SentimentLabel::Positive || praise >= PRAISE_WORDS)
        && !s.complained
        && s.risk < PRAISE_MAX_RISK
        && praise >= grievance
}

/// A praising post's risk stays below this: the risk triage's medium tier (danger with harm,
/// `score::classify::RISK_MEDIUM`) is never praise.
pub const PRAISE_MAX_RISK: f32 = 0.4;

/// Praise words strong enough to make a post praise whatever its other words' tone (one strong
/// or two medium phrases of the category lexicon: "legend", "restored my faith", "shoutout …
/// like a pro"): a heart-warming story often tells of a fall, a loss or an anxious child.
pub const PRAISE_WORDS: f32 = 0.6;

/// One thread's counters.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Thread {
    pub root: u64,
    /// The cluster its newest mention joined (the cluster a story incident covers).
    pub cluster: u64,
    first_at: EventTime,
    last_at: EventTime,
    mentions: u32,
    /// Mentions per minute, indexed by minute modulo [`MINUTES`]; `newest` is the latest
    /// minute counted (older slots are zeroed as it advances).
    #[serde(with = "serde_big_array::BigArray")]
    counts: [u16; MINUTES],
    newest: i64,
    /// Distinct authors, as a 64-bit sketch (a lower bound, exact while small).
    authors: u64,
    /// Summed category scores: conduct + safety, outage + billing + service, positive.
    conduct: f32,
    service: f32,
    praise: f32,
    /// An incident has taken this thread's story: it is never opened again.
    told: bool,
    /// The root post, as a page shows it (when seen, with text).
    lead: Option<PackedPost>,
    /// The root post praises (`praises`): its reactions' tears and screams are being moved,
    /// not a grievance ([`Thread::praised`]).
    praised: bool,
    /// The thread's own posts from its first reaction on, for the page of its story (led by
    /// the root post); `None` for a post nobody has reacted to yet.
    evidence: Option<Box<Evidence>>,
}

impl Thread {
    fn new(root: u64, cluster: u64, at: EventTime) -> Thread {
        Thread {
            root,
            cluster,
            first_at: at,
            last_at: at,
            mentions: 0,
            counts: [0; MINUTES],
            newest: at.minute_index(),
            authors: 0,
            conduct: 0.0,
            service: 0.0,
            praise: 0.0,
            praised: false,
            told: false,
            lead: None,
            evidence: None,
        }
    }

    fn add(&mut self, cluster: u64, m: &Mention, s: &Scored) {
        let (at, author_key, scores) = (m.created_at, s.author_key, &s.category_scores);
        let root = m.kind == MentionKind::Post;
        if root && !m.text.trim().is_empty() {
            self.lead = Some(PackedPost::of(m));
            self.praised = praises(s);
        }
        if let Some(e) = self.evidence.as_deref_mut() {
            e.add(m, s);
            if let Some(lead) = self.lead.as_ref().filter(|_| root) {
                e.set_lead(lead.unpack());
            }
        } else if !root || self.mentions > 0 {
            let mut e = Evidence::new(self.first_at.min(at));
            if let Some(lead) = &self.lead {
                e.set_lead(lead.unpack());
            }
            e.add(m, s);
            self.evidence = Some(Box::new(e));
        }
        let minute = at.minute_index();
        if minute > self.newest {
            let clear = (minute - self.newest).min(MINUTES as i64);
            for k in 0..clear {
                let slot = (minute - k).rem_euclid(MINUTES as i64) as usize;
                self.counts[slot] = 0;
            }
            self.newest = minute;
        }
        if minute > self.newest - MINUTES as i64 {
            let slot = minute.rem_euclid(MINUTES as i64) as usize;
            self.counts[slot] = self.counts[slot].saturating_add(1);
        }
        self.mentions = self.mentions.saturating_add(1);
        self.first_at = self.first_at.min(at);
        self.last_at = self.last_at.max(at);
        self.cluster = cluster;
        self.authors |= 1u64 << (author_key % 64);
        let w = if root { ROOT_WEIGHT } else { 1.0 };
        let s = |c: Category| scores[category_slot(c)];
        self.conduct += w * (s(Category::Conduct) + s(Category::Safety));
        self.service += w * (s(Category::Outage) + s(Category::Billing) + s(Category::Service));
        self.praise += w * s(Category::Positive);
    }

    /// Whether the thread's root post praises: read positive or holding strong praise words,
    /// no complaint stated, a risk below the triage's medium tier, and no grievance words
    /// stronger than its praise (`praises`).
    pub fn praised(&self) -> bool {
        self.praised
    }

    /// Mentions in the `n` minutes ending with `minute` (at most `MINUTES`).
    pub fn recent(&self, minute: i64, n: i64) -> u32 {
        let lo = (minute - n + 1).max(self.newest - MINUTES as i64 + 1);
        (lo..=minute.min(self.newest))
            .map(|k| u32::from(self.counts[k.rem_euclid(MINUTES as i64) as usize]))
            .sum()
    }

    /// The thread's own doubling time at `minute`, fitted on its minutes since its first
    /// mention (at most `GROWTH_MINUTES`); `None` when it is not growing.
    pub fn doubling_time_s(&self, minute: i64) -> Option<f64> {
        let from = (minute - GROWTH_MINUTES + 1).max(self.first_at.minute_index());
        let counts: Vec<f64> = (from..=minute)
            .map(|k| f64::from(self.recent(k, 1)))
            .collect();
        thread_growth(&counts).doubling_time_s
    }

    /// The thread's evidence (its root post first), once it has a reaction.
    pub fn evidence(&self) -> Option<&Evidence> {
        self.evidence.as_deref()
    }

    /// Distinct authors seen (a lower bound).
    pub fn authors(&self) -> u32 {
        self.authors.count_ones()
    }

    /// Whether the thread is a story about conduct or danger at `minute` (module docs).
    pub fn is_story(&self, minute: i64) -> bool {
        // Cheapest first: most threads are one post that said nothing about conduct.
        !self.told
            && self.conduct >= STORY_MIN_CONDUCT
            && self.conduct > self.service
            && self.conduct > self.praise
            && self.authors() >= STORY_MIN_AUTHORS
            && self.recent(minute, 60) >= STORY_MIN_MENTIONS
            && self
                .doubling_time_s(minute)
                .is_some_and(|d| d <= STORY_MAX_DOUBLING_S)
    }
}

/// One brand's tracked threads.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct Threads {
    list: Vec<Thread>,
    /// `list[i].root`, scanned for each mention (a dense array of keys).
    roots: Vec<u64>,
    /// Threads holding evidence.
    with_evidence: usize,
    /// Some thread may be a story (conduct enough, not told): the per-minute check is skipped
    /// otherwise.
    hot: bool,
}

impl Threads {
    /// Counts mention `m` of thread `root` (it joined `cluster`); a post is its thread's root.
    pub fn observe(&mut self, root: u64, cluster: u64, m: &Mention, s: &Scored) {
        let at = m.created_at;
        if root == 0 {
            return;
        }
        let pos = match self.roots.iter().position(|&r| r == root) {
            Some(i) => i,
            None => {
                if self.list.len() >= MAX_THREADS {
                    let idle = |t: &Thread| t.last_at.plus_ms(IDLE_MS) < at;
                    let victim = self
                        .list
                        .iter()
                        .enumerate()
                        .min_by_key(|(_, t)| (!idle(t), t.mentions, t.last_at, t.root))
                        .map(|(i, _)| i);
                    if let Some(i) = victim {
                        let gone = self.list.swap_remove(i);
                        self.roots.swap_remove(i);
                        self.with_evidence -= usize::from(gone.evidence.is_some());
                    }
                }
                self.list.push(Thread::new(root, cluster, at));
                self.roots.push(root);
                self.list.len() - 1
            }
        };
        let t = &mut self.list[pos];
        let had = t.evidence.is_some();
        t.add(cluster, m, s);
        self.hot |= t.conduct >= STORY_MIN_CONDUCT && !t.told;
        // Evidence only for the busiest threads: a told or quiet one gives its evidence up.
        if !had && t.evidence.is_some() {
            self.with_evidence += 1;
            if self.with_evidence > MAX_EVIDENCE {
                if let Some(t) = self
                    .list
                    .iter_mut()
                    .filter(|t| t.evidence.is_some() && t.root != root)
                    .min_by_key(|t| (!t.told, t.mentions, t.last_at, t.root))
                {
                    t.evidence = None;
                    self.with_evidence -= 1;
                }
            }
        }
    }

    /// The thread of `root`, if tracked.
    pub fn get(&self, root: u64) -> Option<&Thread> {
        let i = self.roots.iter().position(|&r| r == root)?;
        self.list.get(i)
    }

    /// Marks the thread of `root` as told: an incident follows its story.
    pub fn mark_told(&mut self, root: u64) {
        if let Some(t) = self.list.iter_mut().find(|t| t.root == root) {
            t.told = true;
        }
    }

    /// The threads that are a story at `minute`, oldest first, as (root, cluster, a copy of
    /// its evidence), each marked told: it is never a story again.
    pub fn take_stories(&mut self, minute: i64) -> Vec<(u64, u64, Option<Evidence>)> {
        if !self.hot {
            return Vec::new();
        }
        let out: Vec<(u64, u64, Option<Evidence>)> = self
            .stories(minute)
            .iter()
            .map(|t| (t.root, t.cluster, t.evidence().cloned()))
            .collect();
        for (root, _, _) in &out {
            self.mark_told(*root);
        }
        self.hot = self
            .list
            .iter()
            .any(|t| t.conduct >= STORY_MIN_CONDUCT && !t.told);
        out
    }

    /// Threads that are a story at `minute`, oldest first.
    pub fn stories(&self, minute: i64) -> Vec<&Thread> {
        let mut out: Vec<&Thread> = self.list.iter().filter(|t| t.is_story(minute)).collect();
        out.sort_by_key(|t| (t.first_at, t.root));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONDUCT: [f32; 8] = {
        let mut s = [0.0; 8];
        s[Category::Conduct as usize] = 0.63;
        s
    };
    const PRAISE: [f32; 8] = {
        let mut s = [0.0; 8];
        s[Category::Positive as usize] = 0.63;
        s
    };
    const NOTHING: [f32; 8] = [0.0; 8];

    trait Observe {
        fn see(
            &mut self,
            root: u64,
            cluster: u64,
            at: EventTime,
            author: u64,
            scores: &[f32; 8],
            post: bool,
        );
    }

    impl Observe for Threads {
        fn see(
            &mut self,
            root: u64,
            cluster: u64,
            at: EventTime,
            author: u64,
            scores: &[f32; 8],
            post: bool,
        ) {
            let m = Mention {
                id: format!("{root}-{author}"),
                created_at: at,
                text: "words".into(),
                kind: if post {
                    MentionKind::Post
                } else {
                    MentionKind::Reply
                },
                ..Default::default()
            };
            let s = Scored {
                sentiment: crate::domain::SentimentLabel::Neutral,
                category_scores: *scores,
                risk: 0.0,
                weight: 1.0,
                duplicate: false,
                author_key: author,
                simhash: 0,
                simhash_words: 0,
                complaint: 0.0,
                complained: false,
                naming: crate::domain::scored::Naming::Thread,
            };
            self.observe(root, cluster, &m, &s);
        }
    }

    fn at(minute: i64, second: i64) -> EventTime {
        EventTime(minute * EventTime::MINUTE_MS + second * 1000)
    }

    /// A thread whose reactions double every `doubling` minutes for `minutes` minutes, each
    /// reaction from a new author with `scores`; returns the last minute.
    fn cascade(t: &mut Threads, root: u64, doubling: f64, minutes: i64, scores: &[f32; 8]) -> i64 {
        t.see(root, 7, at(0, 0), 1, &NOTHING, true);
        let mut author = 100;
        for m in 0..minutes {
            let n = (0.5 * 2f64.powf(m as f64 / doubling)).round() as i64;
            for k in 0..n {
                author += 1;
                t.see(root, 7, at(m, k % 60), author, scores, false);
            }
        }
        minutes - 1
    }

    #[test]
    fn a_fast_thread_of_conduct_talk_is_a_story_and_praise_is_not() {
        let mut t = Threads::default();
        let last = cascade(&mut t, 42, 6.0, 40, &CONDUCT);
        let th = t.get(42).unwrap();
        assert!(th.is_story(last), "{th:?}");
        let d = th.doubling_time_s(last).unwrap();
        assert!((200.0..=600.0).contains(&d), "doubling {d}");
        assert_eq!(t.stories(last).len(), 1);

        let mut p = Threads::default();
        let last = cascade(&mut p, 43, 6.0, 40, &PRAISE);
        assert!(p.stories(last).is_empty());
    }

    #[test]
    fn a_story_keeps_its_own_posts_led_by_its_root() {
        let mut t = Threads::default();
        let last = cascade(&mut t, 42, 6.0, 40, &CONDUCT);
        // Other threads of the brand come and go beside it.
        for k in 0..200u64 {
            t.see(5_000 + k, 3, at(last, 0), 9_000 + k, &NOTHING, true);
        }
        let th = t.get(42).unwrap();
        let e = th
            .evidence()
            .expect("a thread with reactions keeps evidence");
        assert_eq!(e.top_posts()[0].id, "42-1");
        assert_eq!(
            e.mentions,
            u64::from(th.mentions) - 1,
            "every reaction, nothing else"
        );
        assert!(t.list.iter().filter(|t| t.evidence.is_some()).count() <= MAX_EVIDENCE);
        assert!(t.list.len() <= MAX_THREADS);
    }

    #[test]
    fn a_steady_or_small_thread_is_not_a_story() {
        // Steady: one reaction a minute for an hour (no doubling).
        let mut t = Threads::default();
        for m in 0..60 {
            t.see(9, 1, at(m, 0), m as u64, &CONDUCT, m == 0);
        }
        assert!(t.stories(59).is_empty());
        // Growing but small: a dozen reactions.
        let mut s = Threads::default();
        let last = cascade(&mut s, 10, 6.0, 12, &CONDUCT);
        assert!(s.get(10).unwrap().recent(last, 60) < STORY_MIN_MENTIONS);
        assert!(s.stories(last).is_empty());
    }

    #[test]
    fn a_busy_brand_keeps_its_growing_thread_while_others_come_and_go() {
        let mut t = Threads::default();
        t.see(1, 1, at(0, 0), 1, &CONDUCT, true);
        for m in 0..30 {
            for k in 0..5u64 {
                t.see(
                    1,
                    1,
                    at(m, k as i64),
                    1000 + m as u64 * 5 + k,
                    &CONDUCT,
                    false,
                );
            }
            // Twenty new one-post threads a minute.
            for k in 0..20u64 {
                t.see(10_000 + m as u64 * 20 + k, 2, at(m, 30), k, &NOTHING, true);
            }
        }
        assert!(t.get(1).is_some_and(|th| th.recent(29, 60) >= 150));
        assert!(t.list.len() <= MAX_THREADS);
    }

    #[test]
    fn counts_roll_over_the_hour() {
        let mut t = Threads::default();
        t.see(5, 1, at(0, 0), 1, &NOTHING, true);
        t.see(5, 1, at(61, 0), 2, &NOTHING, false);
        let th = t.get(5).unwrap();
        assert_eq!(th.recent(61, 60), 1);
        assert_eq!(th.recent(61, 1), 1);
        // A mention from before the kept hour still counts in totals, not in minutes.
        t.see(5, 1, at(0, 30), 3, &NOTHING, false);
        assert_eq!(t.get(5).unwrap().recent(61, 60), 1);
    }
}
