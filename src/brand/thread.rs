//! Thread attribution: replies, quotes and reposts inherit the brands of the post they point at.
//!
//! The [`ThreadIndex`] remembers every brand-attributed mention for a retention window, keyed by
//! a 64-bit FxHash of `(source, id)` (`parent_id` is unique within a source). Each entry holds
//! the post's brands, its thread root (hashed) and its event time; a reply to a reply to a
//! branded post therefore chains through, and all of them share the root of the first.
//!
//! The index is bounded twice: [`Attributor::evict`] drops entries older than
//! `watermark - retention`, and inserting into a full index first drops the oldest entries
//! (insertion order, which is event-time order for mostly ordered input). A parent older than
//! the retention relative to the reply's own event time is ignored even if not yet evicted, so
//! attribution does not depend on how often `evict` runs.

use std::collections::VecDeque;
use std::sync::Arc;

use rustc_hash::FxHashMap;

use super::matcher::{BrandMatcher, MatcherError, Scratch};
use crate::config::Brand;
use crate::domain::{post_key, BrandIdx, EventTime, Mention};

/// The brands of one mention and its thread.
#[derive(Debug, Default, Clone)]
pub struct Attribution {
    /// Deduplicated, ascending.
    pub brands: Vec<BrandIdx>,
    /// Some brand came only through the thread (the parent), not from the text.
    pub via_thread: bool,
    /// Stable hash of the thread root's `(source, id)`.
    pub root: u64,
}

/// One remembered post: 24 bytes. Brands beyond the first (a post naming two brands, rare)
/// live in [`ThreadIndex::extra`].
#[derive(Debug, Clone, Copy, serde::Serialize, serde::Deserialize)]
struct Entry {
    root: u64,
    at: i64,
    first: BrandIdx,
}

/// Recently attributed posts, bounded by time and size.
///
/// Memory: about 33 bytes per slot of the hash map (key, entry, control byte) plus 8 bytes per
/// post in the eviction queue, so the default capacity of 1M posts costs ~75 MB at most.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct ThreadIndex {
    map: FxHashMap<u64, Entry>,
    extra: FxHashMap<u64, Box<[BrandIdx]>>,
    /// Keys in insertion order; one item per map entry.
    order: VecDeque<u64>,
    retention_ms: i64,
    capacity: usize,
}

impl ThreadIndex {
    /// An empty index keeping entries `retention_ms` and at most `capacity` (at least 1) of them.
    pub fn new(retention_ms: i64, capacity: usize) -> ThreadIndex {
        ThreadIndex {
            map: FxHashMap::default(),
            extra: FxHashMap::default(),
            order: VecDeque::new(),
            retention_ms: retention_ms.max(0),
            capacity: capacity.max(1),
        }
    }

    /// The entry for `key` if it is within retention of `now`.
    fn get(&self, key: u64, now: EventTime) -> Option<Entry> {
        let e = self.map.get(&key)?;
        (e.at >= now.0.saturating_sub(self.retention_ms)).then_some(*e)
    }

    /// Every brand of a stored post, first one first.
    fn brands(&self, key: u64, e: Entry) -> impl Iterator<Item = BrandIdx> + '_ {
        let rest = self.extra.get(&key).map_or(&[][..], |r| &r[..]);
        std::iter::once(e.first).chain(rest.iter().copied())
    }

    /// Records a post. A key already present (a duplicate delivery) is updated in place and
    /// keeps its place in the eviction order.
    fn insert(&mut self, key: u64, brands: &[BrandIdx], root: u64, at: EventTime) {
        let Some((&first, rest)) = brands.split_first() else {
            return;
        };
        if let Some(e) = self.map.get_mut(&key) {
            e.first = first;
            e.root = root;
        } else {
            while self.map.len() >= self.capacity {
                if !self.pop_oldest() {
                    break;
                }
            }
            self.map.insert(
                key,
                Entry {
                    root,
                    at: at.0,
                    first,
                },
            );
            self.order.push_back(key);
        }
        if rest.is_empty() {
            self.extra.remove(&key);
        } else {
            self.extra.insert(key, rest.into());
        }
    }

    fn pop_oldest(&mut self) -> bool {
        match self.order.pop_front() {
            Some(key) => {
                self.map.remove(&key);
                self.extra.remove(&key);
                true
            }
            None => false,
        }
    }

    /// Drops entries older than `watermark - retention` (from the front of the insertion order).
    pub fn evict(&mut self, watermark: EventTime) {
        let cutoff = watermark.0.saturating_sub(self.retention_ms);
        while let Some(key) = self.order.front() {
            if self.map.get(key).is_some_and(|e| e.at >= cutoff) {
                break;
            }
            self.pop_oldest();
        }
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

/// Text matching plus thread attribution.
#[derive(Debug)]
pub struct Attributor {
    /// Shared with text-matching workers ahead of the engine (`app::prepare`).
    matcher: Arc<BrandMatcher>,
    index: ThreadIndex,
    scratch: Scratch,
}

impl Attributor {
    /// `retention_ms`: how long an attributed post keeps passing its brands to replies;
    /// `capacity`: the most posts remembered.
    pub fn new(
        brands: &[Brand],
        retention_ms: i64,
        capacity: usize,
    ) -> Result<Attributor, MatcherError> {
        Ok(Attributor {
            matcher: Arc::new(BrandMatcher::new(brands)?),
            index: ThreadIndex::new(retention_ms, capacity),
            scratch: Scratch::default(),
        })
    }

    /// The thread index (for a checkpoint).
    pub fn index(&self) -> &ThreadIndex {
        &self.index
    }

    /// Replaces the thread index (restoring a checkpoint).
    pub fn set_index(&mut self, index: ThreadIndex) {
        self.index = index;
    }

    pub fn matcher(&self) -> &BrandMatcher {
        &self.matcher
    }

    /// The matcher, for matching texts on other threads ([`Attributor::attribute_matched`]).
    pub fn shared_matcher(&self) -> Arc<BrandMatcher> {
        Arc::clone(&self.matcher)
    }

    /// Fills `out` (cleared first) for one mention: its text matches plus, when its parent is in
    /// the index, the parent's brands. Mentions that end up with a brand are indexed.
    pub fn attribute(&mut self, m: &Mention, out: &mut Attribution) {
        self.matcher
            .match_with(&m.text, &mut self.scratch, &mut out.brands);
        self.thread(m, out);
    }

    /// Like [`Attributor::attribute`] for a mention whose text was already matched (by this
    /// attributor's [`Attributor::shared_matcher`], on another thread): `text_brands` is what
    /// [`BrandMatcher::match_text`] gave. The result is the same as `attribute`'s.
    pub fn attribute_matched(
        &mut self,
        m: &Mention,
        text_brands: &[BrandIdx],
        out: &mut Attribution,
    ) {
        out.brands.clear();
        out.brands.extend_from_slice(text_brands);
        self.thread(m, out);
    }

    /// Thread attribution and indexing after `out.brands` holds the text matches.
    fn thread(&mut self, m: &Mention, out: &mut Attribution) {
        out.via_thread = false;
        let own = post_key(&m.source, &m.id);
        out.root = match m.parent_id.as_deref() {
            Some(parent) => {
                let pk = post_key(&m.source, parent);
                match self.index.get(pk, m.created_at) {
                    Some(e) => {
                        let before = out.brands.len();
                        for b in self.index.brands(pk, e) {
                            if !out.brands[..before].contains(&b) {
                                out.brands.push(b);
                            }
                        }
                        if out.brands.len() > before {
                            out.via_thread = true;
                            out.brands.sort_unstable();
                        }
                        e.root
                    }
                    None => pk,
                }
            }
            None => own,
        };
        if !out.brands.is_empty() {
            self.index.insert(own, &out.brands, out.root, m.created_at);
        }
    }

    /// Drops index entries older than `watermark - retention`.
    pub fn evict(&mut self, watermark: EventTime) {
        self.index.evict(watermark);
    }

    pub fn index_len(&self) -> usize {
        self.index.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{BrandConfig, Config};
    use crate::domain::MentionKind;

    fn attributor(retention_ms: i64, capacity: usize) -> Attributor {
        let b = |id: &str, term: &str| BrandConfig {
            id: id.to_string(),
            name: String::new(),
            terms: vec![term.to_string()],
            handles: vec![],
            hashtags: vec![],
            exclude: vec![],
            profile: None,
        };
        let cfg = Config::with_brands(vec![b("brightline", "brightline"), b("acme", "acme")])
            .expect("valid config");
        Attributor::new(&cfg.brands, retention_ms, capacity).expect("builds")
    }

    fn mention(id: &str, at: i64, text: &str, parent: Option<&str>) -> Mention {
        Mention {
            id: id.to_string(),
            source: "bluesky".to_string(),
            created_at: EventTime(at),
            text: text.to_string(),
            kind: if parent.is_some() {
                MentionKind::Reply
            } else {
                MentionKind::Post
            },
            parent_id: parent.map(str::to_string),
            ..Default::default()
        }
    }

    fn run(a: &mut Attributor, m: &Mention) -> Attribution {
        let mut out = Attribution {
            brands: vec![BrandIdx(42)],
            via_thread: true,
            root: 7,
        };
        a.attribute(m, &mut out);
        out
    }

    #[test]
    fn reply_chain_inherits_brand_and_root() {
        let mut a = attributor(3_600_000, 100);
        let p = run(
            &mut a,
            &mention("p", 0, "brightline sent a drunk plumber", None),
        );
        assert_eq!(p.brands, vec![BrandIdx(0)]);
        assert!(!p.via_thread);
        assert_eq!(p.root, post_key("bluesky", "p"));
        let r1 = run(&mut a, &mention("r1", 10, "wow that is awful", Some("p")));
        assert_eq!(r1.brands, vec![BrandIdx(0)]);
        assert!(r1.via_thread);
        assert_eq!(r1.root, p.root);
        let r2 = run(
            &mut a,
            &mention("r2", 20, "agreed, and acme too", Some("r1")),
        );
        assert_eq!(r2.brands, vec![BrandIdx(0), BrandIdx(1)]);
        assert!(r2.via_thread);
        assert_eq!(r2.root, p.root);
        let r3 = run(&mut a, &mention("r3", 30, "brightline again", Some("r2")));
        assert_eq!(r3.brands, vec![BrandIdx(0), BrandIdx(1)]);
        assert!(r3.via_thread, "acme came only through the thread");
        assert_eq!(r3.root, p.root);
        assert_eq!(a.index_len(), 4);
    }

    #[test]
    fn text_brand_already_present_is_not_via_thread() {
        let mut a = attributor(3_600_000, 100);
        run(&mut a, &mention("p", 0, "brightline", None));
        let r = run(&mut a, &mention("r", 1, "yes brightline", Some("p")));
        assert_eq!(r.brands, vec![BrandIdx(0)]);
        assert!(!r.via_thread);
    }

    #[test]
    fn repost_of_unknown_parent_gets_nothing() {
        let mut a = attributor(3_600_000, 100);
        let mut m = mention("rp", 0, "", Some("unknown"));
        m.kind = MentionKind::Repost;
        let r = run(&mut a, &m);
        assert!(r.brands.is_empty());
        assert!(!r.via_thread);
        assert_eq!(r.root, post_key("bluesky", "unknown"));
        assert_eq!(a.index_len(), 0);
        // Same id on another source is a different post.
        run(&mut a, &mention("p", 0, "acme", None));
        let mut other = mention("x", 1, "", Some("p"));
        other.source = "x".to_string();
        assert!(run(&mut a, &other).brands.is_empty());
    }

    #[test]
    fn time_eviction() {
        let mut a = attributor(1_000, 100);
        run(&mut a, &mention("p1", 0, "acme", None));
        run(&mut a, &mention("p2", 500, "acme", None));
        a.evict(EventTime(1_200));
        assert_eq!(a.index_len(), 1);
        assert!(run(&mut a, &mention("r1", 1_200, "", Some("p1")))
            .brands
            .is_empty());
        assert_eq!(
            run(&mut a, &mention("r2", 1_200, "", Some("p2"))).brands,
            vec![BrandIdx(1)]
        );
        // Stale parents are ignored even before `evict` runs.
        assert!(run(&mut a, &mention("r3", 5_000, "", Some("p2")))
            .brands
            .is_empty());
        a.evict(EventTime(10_000));
        assert_eq!(a.index_len(), 0);
    }

    #[test]
    fn capacity_eviction_is_oldest_first() {
        let mut a = attributor(1_000_000, 3);
        for (i, id) in ["a", "b", "c", "d"].iter().enumerate() {
            run(&mut a, &mention(id, i as i64, "brightline", None));
        }
        assert_eq!(a.index_len(), 3);
        assert!(run(&mut a, &mention("ra", 10, "", Some("a")))
            .brands
            .is_empty());
        // "ra" got no brand, so it was not inserted; "b".."d" are still there.
        assert_eq!(a.index_len(), 3);
        assert_eq!(
            run(&mut a, &mention("rd", 11, "", Some("d"))).brands,
            vec![BrandIdx(0)]
        );
        // Inserting "rd" evicted "b", the oldest.
        assert!(run(&mut a, &mention("rb", 12, "", Some("b")))
            .brands
            .is_empty());
        assert_eq!(
            run(&mut a, &mention("rc", 13, "", Some("c"))).brands,
            vec![BrandIdx(0)]
        );
        assert_eq!(a.index_len(), 3);
    }

    #[test]
    fn duplicate_delivery_does_not_grow_the_index() {
        let mut a = attributor(1_000_000, 10);
        for _ in 0..5 {
            run(&mut a, &mention("p", 0, "acme", None));
        }
        assert_eq!(a.index_len(), 1);
        a.evict(EventTime(10_000_000));
        assert_eq!(a.index_len(), 0);
    }

    #[test]
    fn entry_is_compact() {
        assert!(std::mem::size_of::<Entry>() <= 24);
    }
}
