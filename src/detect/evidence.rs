//! Evidence accumulated for a cluster or an incident: counts, shares, reach, authors, growth
//! per minute, category votes, the riskiest post and the top posts by reach.
//!
//! Input: one [`Scored`] mention at a time (any order within the allowed lateness).
//! Output: the numbers that grading, the alert summary and `metrics` are built from.
//! Invariants: memory is bounded (top posts ≤ 5, author set capped, a 64-minute count ring).

use crate::domain::alert::{truncate_chars, TopPost, MAX_TOP_POSTS};
use crate::domain::scored::{category_slot, is_complaint, Naming, Scored};
use crate::domain::{Category, EventTime, Mention, MentionKind, SentimentLabel};

/// Longest post text kept as evidence.
const EVIDENCE_TEXT_CHARS: usize = 280;
/// A top post's id and author handle are cut to this many characters: a remote instance may
/// send a handle of hundreds of kilobytes, and every sink copies the top posts whole
/// (PagerDuty refuses an event over 512 KB, and a refused page is never retried).
const EVIDENCE_ID_CHARS: usize = 256;
/// A top post's URL longer than this is left out (`null`): a cut URL would link elsewhere.
const EVIDENCE_URL_BYTES: usize = 2048;
/// Distinct authors counted exactly up to this many, then estimated by a HyperLogLog sketch.
const EXACT_AUTHORS: usize = 32;
/// HyperLogLog registers (standard error ≈ 1.04 / √256 ≈ 6.5 %).
const HLL_REGISTERS: usize = 256;
/// Minutes of per-minute counts kept for growth and recency.
const RING: usize = 64;

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct Post {
    followers: u64,
    post: TopPost,
}

/// Bounded evidence about a set of mentions.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Evidence {
    pub first_at: EventTime,
    pub last_at: EventTime,
    pub mentions: u64,
    pub weighted: f64,
    pub negative: u64,
    pub positive: u64,
    /// Mentions with text of their own (plain reposts amplify but express no sentiment).
    pub rated: u64,
    /// Mentions whose text states a complaint (a negative category scores at least
    /// [`crate::domain::scored::COMPLAINT_SCORE`]), whatever their sentiment words: "great job, 3 hours on hold".
    pub complaints: u64,
    /// Mentions that name a brand in their own text, and of those the ones that name it only
    /// through an ordinary-looking word ([`Naming::Plain`]).
    pub named: u64,
    pub plain: u64,
    pub reach: u64,
    pub reactions: u64,
    pub bots: u64,
    pub duplicates: u64,
    pub category_sums: [f32; 8],
    pub max_risk: f32,
    authors: Distinct,
    /// Newest minute index counted in the ring; slot `m % RING` holds minute `m` for
    /// `ring_head - RING < m <= ring_head`.
    ring_head: i64,
    #[serde(with = "serde_big_array::BigArray")]
    ring_count: [u32; RING],
    top: Vec<Post>,
    risk_post: Option<TopPost>,
    /// A post shown before all others (a thread story's root post: what the story is).
    lead: Option<TopPost>,
}

impl Evidence {
    pub fn new(at: EventTime) -> Evidence {
        Evidence {
            first_at: at,
            last_at: at,
            mentions: 0,
            weighted: 0.0,
            negative: 0,
            positive: 0,
            rated: 0,
            complaints: 0,
            named: 0,
            plain: 0,
            reach: 0,
            reactions: 0,
            bots: 0,
            duplicates: 0,
            category_sums: [0.0; 8],
            max_risk: 0.0,
            authors: Distinct::Exact(Vec::new()),
            ring_head: i64::MIN,
            ring_count: [0; RING],
            top: Vec::new(),
            risk_post: None,
            lead: None,
        }
    }

    pub fn add(&mut self, m: &Mention, s: &Scored) {
        self.first_at = self.first_at.min(m.created_at);
        self.last_at = self.last_at.max(m.created_at);
        self.mentions += 1;
        self.weighted += f64::from(s.weight);
        if !m.text.trim().is_empty() {
            self.rated += 1;
            if s.complained || is_complaint(&s.category_scores) {
                self.complaints += 1;
            }
        }
        match s.naming {
            Naming::Distinct => self.named += 1,
            Naming::Plain => {
                self.named += 1;
                self.plain += 1;
            }
            Naming::Thread => {}
        }
        match s.sentiment {
            SentimentLabel::Negative => self.negative += 1,
            SentimentLabel::Positive => self.positive += 1,
            SentimentLabel::Neutral => {}
        }
        self.reach = self.reach.saturating_add(m.author.followers);
        if m.kind != MentionKind::Post {
            self.reactions += 1;
        }
        if s.weight < 0.5 {
            self.bots += 1;
        }
        if s.duplicate {
            self.duplicates += 1;
        }
        for (sum, v) in self.category_sums.iter_mut().zip(s.category_scores) {
            *sum += v;
        }
        self.authors.insert(s.author_key);
        self.count_minute(m.created_at.minute_index(), 1);
        self.offer_post(m, s);
    }

    /// Adds `n` to minute `minute` of the ring, advancing it (and clearing reused slots) when
    /// the minute is newer than any seen; minutes older than the ring count in totals only.
    fn count_minute(&mut self, minute: i64, n: u32) {
        if self.ring_head == i64::MIN || minute > self.ring_head {
            let from = if self.ring_head == i64::MIN {
                minute
            } else {
                (self.ring_head + 1).max(minute - RING as i64 + 1)
            };
            for k in from..=minute {
                self.ring_count[slot_of(k)] = 0;
            }
            self.ring_head = minute;
        } else if minute <= self.ring_head - RING as i64 {
            return;
        }
        let slot = slot_of(minute);
        self.ring_count[slot] = self.ring_count[slot].saturating_add(n);
    }

    /// The ring's count for `minute` (0 when outside it).
    fn minute_count(&self, minute: i64) -> u32 {
        if self.ring_head == i64::MIN
            || minute > self.ring_head
            || minute <= self.ring_head - RING as i64
        {
            0
        } else {
            self.ring_count[slot_of(minute)]
        }
    }

    fn offer_post(&mut self, m: &Mention, s: &Scored) {
        if s.risk > self.max_risk {
            self.max_risk = s.risk;
            self.risk_post = Some(to_top_post(m));
        }
        if m.text.trim().is_empty() {
            return;
        }
        let key = (m.author.followers, std::cmp::Reverse(m.id.as_str()));
        let worst = self
            .top
            .iter()
            .map(|p| (p.followers, std::cmp::Reverse(p.post.id.as_str())))
            .min();
        if self.top.len() < MAX_TOP_POSTS || worst.is_some_and(|w| key > w) {
            if self.top.capacity() == 0 {
                self.top.reserve_exact(MAX_TOP_POSTS);
            }
            if self.top.len() >= MAX_TOP_POSTS {
                self.top.pop();
            }
            self.top.push(Post {
                followers: m.author.followers,
                post: to_top_post(m),
            });
            self.top.sort_by(|a, b| {
                b.followers
                    .cmp(&a.followers)
                    .then_with(|| a.post.id.cmp(&b.post.id))
            });
        }
    }

    /// Folds `other` into `self` (a brand-wide incident seeded from several clusters).
    pub fn merge(&mut self, other: &Evidence) {
        self.first_at = self.first_at.min(other.first_at);
        self.last_at = self.last_at.max(other.last_at);
        self.mentions += other.mentions;
        self.weighted += other.weighted;
        self.negative += other.negative;
        self.positive += other.positive;
        self.rated += other.rated;
        self.complaints += other.complaints;
        self.named += other.named;
        self.plain += other.plain;
        self.reach = self.reach.saturating_add(other.reach);
        self.reactions += other.reactions;
        self.bots += other.bots;
        self.duplicates += other.duplicates;
        for (a, b) in self.category_sums.iter_mut().zip(other.category_sums) {
            *a += b;
        }
        self.authors.merge(&other.authors);
        if other.ring_head != i64::MIN {
            for minute in (other.ring_head - RING as i64 + 1)..=other.ring_head {
                let c = other.minute_count(minute);
                if c > 0 {
                    self.count_minute(minute, c);
                }
            }
        }
        if other.max_risk > self.max_risk {
            self.max_risk = other.max_risk;
            self.risk_post.clone_from(&other.risk_post);
        }
        for p in &other.top {
            if !self.top.iter().any(|q| q.post.id == p.post.id) {
                self.top.push(p.clone());
            }
        }
        self.top.sort_by(|a, b| {
            b.followers
                .cmp(&a.followers)
                .then_with(|| a.post.id.cmp(&b.post.id))
        });
        self.top.truncate(MAX_TOP_POSTS);
        self.top.shrink_to(MAX_TOP_POSTS);
    }

    /// Mentions in the `n` minutes ending with minute `end_minute` (inclusive).
    pub fn recent(&self, end_minute: i64, n: u32) -> u64 {
        let lo = end_minute - i64::from(n) + 1;
        (lo..=end_minute)
            .map(|k| u64::from(self.minute_count(k)))
            .sum()
    }

    /// Per-minute counts for the `n` minutes ending with `end_minute`, oldest first.
    pub fn minute_counts(&self, end_minute: i64, n: u32, out: &mut Vec<f64>) {
        out.clear();
        for minute in (end_minute - i64::from(n) + 1)..=end_minute {
            out.push(f64::from(self.minute_count(minute)));
        }
    }

    /// Distinct authors: exact up to 32, then a HyperLogLog estimate (±6.5 %).
    pub fn unique_authors(&self) -> u64 {
        self.authors.count()
    }

    pub fn share(&self, part: u64) -> f64 {
        if self.mentions == 0 {
            0.0
        } else {
            part as f64 / self.mentions as f64
        }
    }

    /// Share of the mentions with text of their own that carry `part` (a sentiment count).
    pub fn sentiment_share(&self, part: u64) -> f64 {
        if self.rated == 0 {
            0.0
        } else {
            part as f64 / self.rated as f64
        }
    }

    /// Shows `post` before every other post (a thread story's root post).
    pub fn set_lead(&mut self, post: TopPost) {
        self.lead = Some(post);
    }

    /// The top posts by reach: the lead post first, then the riskiest when it is not among
    /// them.
    pub fn top_posts(&self) -> Vec<TopPost> {
        let mut out: Vec<TopPost> = Vec::with_capacity(MAX_TOP_POSTS);
        if let Some(l) = &self.lead {
            out.push(l.clone());
        }
        if let Some(r) = &self.risk_post {
            if !out.iter().any(|o| o.id == r.id) {
                out.push(r.clone());
            }
        }
        for p in &self.top {
            if out.len() >= MAX_TOP_POSTS {
                break;
            }
            if !out.iter().any(|o| o.id == p.post.id) {
                out.push(p.post.clone());
            }
        }
        out
    }

    /// The post that carried the highest single-post risk.
    pub fn risk_post(&self) -> Option<&TopPost> {
        self.risk_post.as_ref()
    }

    /// The category with the highest summed score among `candidates`, if any scored.
    pub fn leading_category(&self, candidates: &[Category]) -> Option<Category> {
        let mut best: Option<(Category, f32)> = None;
        for &c in candidates {
            let v = self.category_sums[category_slot(c)];
            if v > 0.0 && best.is_none_or(|(_, b)| v > b) {
                best = Some((c, v));
            }
        }
        best.map(|(c, _)| c)
    }
}

/// Position of a category in `Category::ALL` (the order of classifier score arrays).
/// A distinct count in at most ~512 bytes: a sorted list of author keys while small, a
/// 256-register HyperLogLog once it outgrows that. Thousands of clusters and incidents each
/// keep one, so a hash set per evidence (kilobytes each) would dominate per-brand memory.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
enum Distinct {
    Exact(Vec<u64>),
    Sketch(#[serde(with = "boxed_registers")] Box<[u8; HLL_REGISTERS]>),
}

impl Distinct {
    fn insert(&mut self, key: u64) {
        match self {
            Distinct::Exact(keys) => {
                if let Err(pos) = keys.binary_search(&key) {
                    if keys.len() < EXACT_AUTHORS {
                        keys.insert(pos, key);
                    } else {
                        let mut sketch = Box::new([0u8; HLL_REGISTERS]);
                        for &k in keys.iter().chain(std::iter::once(&key)) {
                            hll_add(&mut sketch, k);
                        }
                        *self = Distinct::Sketch(sketch);
                    }
                }
            }
            Distinct::Sketch(regs) => hll_add(regs, key),
        }
    }

    fn merge(&mut self, other: &Distinct) {
        match other {
            Distinct::Exact(keys) => keys.iter().for_each(|&k| self.insert(k)),
            Distinct::Sketch(theirs) => {
                if let Distinct::Exact(keys) = self {
                    let mut sketch = Box::new([0u8; HLL_REGISTERS]);
                    keys.iter().for_each(|&k| hll_add(&mut sketch, k));
                    *self = Distinct::Sketch(sketch);
                }
                if let Distinct::Sketch(mine) = self {
                    for (a, b) in mine.iter_mut().zip(theirs.iter()) {
                        *a = (*a).max(*b);
                    }
                }
            }
        }
    }

    fn count(&self) -> u64 {
        match self {
            Distinct::Exact(keys) => keys.len() as u64,
            Distinct::Sketch(regs) => {
                let m = HLL_REGISTERS as f64;
                let sum: f64 = regs.iter().map(|&r| (-f64::from(r)).exp2()).sum();
                let raw = 0.7213 / (1.0 + 1.079 / m) * m * m / sum;
                let zeros = regs.iter().filter(|&&r| r == 0).count();
                let estimate = if raw <= 2.5 * m && zeros > 0 {
                    // Linear counting for small cardinalities.
                    m * (m / zeros as f64).ln()
                } else {
                    raw
                };
                estimate.round() as u64
            }
        }
    }
}

/// Serde for the boxed HyperLogLog registers (arrays this long need a helper).
mod boxed_registers {
    use super::HLL_REGISTERS;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(r: &[u8; HLL_REGISTERS], s: S) -> Result<S::Ok, S::Error> {
        r.as_slice().serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Box<[u8; HLL_REGISTERS]>, D::Error> {
        let v = Vec::<u8>::deserialize(d)?;
        let arr: [u8; HLL_REGISTERS] = v
            .try_into()
            .map_err(|_| serde::de::Error::custom("HyperLogLog registers of the wrong length"))?;
        Ok(Box::new(arr))
    }
}

fn hll_add(regs: &mut [u8; HLL_REGISTERS], key: u64) {
    // Author keys are FxHash outputs; mix them so the register index bits are uniform.
    let mut h = key ^ (key >> 33);
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^= h >> 33;
    let idx = (h >> 56) as usize;
    let rank = ((h << 8) | 0x80).leading_zeros() as u8 + 1;
    regs[idx] = regs[idx].max(rank);
}

fn slot_of(minute: i64) -> usize {
    minute.rem_euclid(RING as i64) as usize
}

/// The post as an alert's evidence shows it.
/// A [`TopPost`] packed into one allocation: what a thread keeps of its root post until someone
/// reacts (every post of a brand is a thread root, so four strings each were a fifth of the
/// engine's allocations per mention). Serialised as the [`TopPost`] it stands for, so a
/// checkpoint reads the same either way.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(from = "TopPost", into = "TopPost")]
pub struct PackedPost {
    /// id, text (truncated as a page shows it), author handle and url, back to back.
    buf: Box<str>,
    /// Byte ends of the id, text and handle in `buf`; the url runs to its end.
    ends: [u32; 3],
    has_url: bool,
    followers: u64,
}

impl PackedPost {
    /// The post `m` as a page would show it ([`to_top_post`]).
    pub fn of(m: &Mention) -> PackedPost {
        let s = Shown::of(m);
        PackedPost::pack(&s.id, &s.text, &s.author, s.url, m.author.followers)
    }

    fn pack(id: &str, text: &str, author: &str, url: Option<&str>, followers: u64) -> PackedPost {
        let url_len = url.map_or(0, str::len);
        let mut buf = String::with_capacity(id.len() + text.len() + author.len() + url_len);
        let mut ends = [0u32; 3];
        for (end, part) in ends.iter_mut().zip([id, text, author]) {
            buf.push_str(part);
            *end = u32::try_from(buf.len()).unwrap_or(u32::MAX);
        }
        buf.push_str(url.unwrap_or_default());
        PackedPost {
            buf: buf.into_boxed_str(),
            ends,
            has_url: url.is_some(),
            followers,
        }
    }

    /// The [`TopPost`] it stands for.
    pub fn unpack(&self) -> TopPost {
        let part = |from: u32, to: Option<u32>| {
            let to = to.map_or(self.buf.len(), |t| t as usize);
            self.buf
                .get(from as usize..to)
                .unwrap_or_default()
                .to_string()
        };
        let [id, text, author] = self.ends;
        TopPost {
            id: part(0, Some(id)),
            text: part(id, Some(text)),
            author: part(text, Some(author)),
            followers: self.followers,
            url: self.has_url.then(|| part(author, None)),
        }
    }
}

impl From<TopPost> for PackedPost {
    fn from(p: TopPost) -> PackedPost {
        PackedPost::pack(&p.id, &p.text, &p.author, p.url.as_deref(), p.followers)
    }
}

impl From<PackedPost> for TopPost {
    fn from(p: PackedPost) -> TopPost {
        p.unpack()
    }
}

/// `text` cut to `max` characters the way [`truncate_chars`] cuts it, borrowed when it fits.
fn truncated(text: &str, max: usize) -> std::borrow::Cow<'_, str> {
    match text.char_indices().nth(max) {
        None => std::borrow::Cow::Borrowed(text),
        Some(_) => std::borrow::Cow::Owned(truncate_chars(text, max)),
    }
}

pub fn to_top_post(m: &Mention) -> TopPost {
    let s = Shown::of(m);
    TopPost {
        id: s.id.into_owned(),
        text: s.text.into_owned(),
        author: s.author.into_owned(),
        followers: m.author.followers,
        url: s.url.map(str::to_string),
    }
}

/// The fields of `m` as evidence shows them, borrowed where nothing is cut: the one rule
/// behind [`to_top_post`] and [`PackedPost::of`].
struct Shown<'a> {
    id: std::borrow::Cow<'a, str>,
    text: std::borrow::Cow<'a, str>,
    author: std::borrow::Cow<'a, str>,
    url: Option<&'a str>,
}

impl<'a> Shown<'a> {
    fn of(m: &'a Mention) -> Shown<'a> {
        Shown {
            id: truncated(&m.id, EVIDENCE_ID_CHARS),
            text: truncated(&m.text, EVIDENCE_TEXT_CHARS),
            author: truncated(&m.author.handle, EVIDENCE_ID_CHARS),
            url: m.url.as_deref().filter(|u| u.len() <= EVIDENCE_URL_BYTES),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Author;

    fn mention(id: &str, minute: i64, followers: u64, text: &str) -> Mention {
        Mention {
            id: id.into(),
            source: "x".into(),
            created_at: EventTime(minute * 60_000),
            text: text.into(),
            author: Author {
                id: format!("a-{id}"),
                handle: format!("@{id}"),
                followers,
                created_at: None,
            },
            ..Default::default()
        }
    }

    fn scored(risk: f32, key: u64) -> Scored {
        Scored {
            sentiment: SentimentLabel::Negative,
            category_scores: [0.0; 8],
            risk,
            weight: 1.0,
            duplicate: false,
            author_key: key,
            simhash: 0,
            simhash_words: 0,
            complaint: 0.0,
            complained: false,
            naming: Default::default(),
        }
    }

    #[test]
    fn a_packed_post_is_the_top_post_it_stands_for() {
        let mut long = mention("p1", 0, 7, &"é".repeat(EVIDENCE_TEXT_CHARS + 5));
        long.url = Some("https://example.com/p1".into());
        // A remote instance's 300 kB handle and 600 kB URL: cut and left out, so that no
        // sink's payload outgrows its receiver's limit (PagerDuty: 512 KB).
        let mut huge = mention(&"i".repeat(10_000), 0, 7, "the engineer was drunk");
        huge.author.handle = format!("@{}", "h".repeat(300_000));
        huge.url = Some(format!("https://x.example/{}", "u".repeat(600_000)));
        let top = to_top_post(&huge);
        assert_eq!(top.id.chars().count(), EVIDENCE_ID_CHARS);
        assert_eq!(top.author.chars().count(), EVIDENCE_ID_CHARS);
        assert_eq!(top.url, None);
        for m in [
            mention("p0", 0, 3, "the engineer was drunk"),
            mention("", 0, 0, ""),
            long,
            huge,
        ] {
            let packed = PackedPost::of(&m);
            assert_eq!(packed.unpack(), to_top_post(&m));
            // Serialised as the TopPost, so a checkpoint reads the same either way.
            let json = serde_json::to_string(&packed).unwrap();
            assert_eq!(json, serde_json::to_string(&to_top_post(&m)).unwrap());
            let back: PackedPost = serde_json::from_str(&json).unwrap();
            assert_eq!(back, packed);
        }
    }

    #[test]
    fn evidence_keeps_top_posts_by_reach_and_the_risk_post() {
        let mut e = Evidence::new(EventTime(0));
        e.add(
            &mention("root", 0, 10, "the tech is drunk"),
            &scored(0.9, 1),
        );
        for i in 0..20u64 {
            e.add(
                &mention(&format!("m{i}"), 1, 100 + i, "wow"),
                &scored(0.0, i + 2),
            );
        }
        let top = e.top_posts();
        assert_eq!(top.len(), MAX_TOP_POSTS);
        assert_eq!(top[0].id, "root");
        assert_eq!(top[1].id, "m19");
        assert_eq!(top[4].id, "m16");
        assert_eq!(e.unique_authors(), 21);
        assert_eq!(e.mentions, 21);
    }

    #[test]
    fn distinct_authors_are_exact_when_few_and_close_when_many() {
        let mut d = Distinct::Exact(Vec::new());
        for k in [5u64, 9, 5, 1, 9] {
            d.insert(k);
        }
        assert_eq!(d.count(), 3);
        for n in [100u64, 1_000, 20_000] {
            let mut d = Distinct::Exact(Vec::new());
            for k in 0..n {
                // Author keys are hashes; repeats must not count twice.
                d.insert(k.wrapping_mul(0x9e37_79b9_7f4a_7c15));
                d.insert(k.wrapping_mul(0x9e37_79b9_7f4a_7c15));
            }
            let c = d.count() as f64;
            assert!((c - n as f64).abs() <= 0.2 * n as f64, "{n}: estimated {c}");
        }
        // Merging a sketch into a small exact set keeps both sides' authors.
        let mut a = Distinct::Exact((0..10u64).map(|k| k.wrapping_mul(31)).collect());
        let mut b = Distinct::Exact(Vec::new());
        (1_000..2_000u64).for_each(|k| b.insert(k.wrapping_mul(0x9e37_79b9_7f4a_7c15)));
        a.merge(&b);
        let c = a.count() as f64;
        assert!((c - 1_010.0).abs() <= 200.0, "{c}");
    }

    #[test]
    fn evidence_recent_counts_only_the_window() {
        let mut e = Evidence::new(EventTime(0));
        for minute in 0..100 {
            e.add(
                &mention(&format!("m{minute}"), minute, 1, "x"),
                &scored(0.0, 1),
            );
        }
        assert_eq!(e.recent(99, 15), 15);
        assert_eq!(e.recent(120, 15), 0);
        let mut counts = Vec::new();
        e.minute_counts(99, 5, &mut counts);
        assert_eq!(counts, vec![1.0; 5]);
        // A late mention older than the ring still counts in totals.
        e.add(&mention("old", 1, 1, "x"), &scored(0.0, 1));
        assert_eq!(e.mentions, 101);
        assert_eq!(e.recent(99, 64), 64);
    }
}
