//! Grouping one brand's mentions into candidate incidents: threads, near-duplicates and
//! posts about the same thing.
//!
//! Role: a burst of mentions about a brand is usually several stories at once (an outage, a
//! viral video, a spam wave). The [`Clusterer`] splits them so each can be scored and alerted
//! on separately.
//!
//! Inputs, per mention: its thread root key (a hash of the root post id; a post is its own
//! root), its text, its key terms (`super::terms::key_terms`, brand words ignored) and its
//! event time; watermarks for [`Clusterer::expire`].
//!
//! Outputs: a [`ClusterId`] per mention, and read-only [`ClusterView`]s.
//!
//! Assignment, first rule that applies wins:
//! 1. the mention's root is one a live cluster has seen → that cluster (replies, quotes,
//!    reposts of one post stay together);
//! 2. its SimHash (`score::simhash`) is within [`NEAR_DUP_HAMMING`] bits of one of a cluster's recent
//!    member hashes → that cluster (copy-paste spam, retweet-with-comment copies);
//! 3. it shares at least [`MIN_SHARED_TERMS`] distinct key terms with a cluster's top terms →
//!    that cluster (independent posts about the same event);
//! 4. otherwise a new cluster.
//!
//! Mentions without words (plain reposts) use rule 1 only. Among several candidate clusters
//! the closest wins (fewest differing bits, most shared terms), then the most recently seen,
//! then the oldest id.
//!
//! Invariants: at most `max_clusters` clusters, each of fixed size (16 roots, 8 hashes, 16
//! term counters, no heap); when full the least recently seen cluster not pinned by an open incident is evicted; ids come
//! from a per-clusterer counter, so a replay of the same input yields the same ids; no
//! clocks, no randomness (FxHash is unseeded).

use crate::domain::feature_hash;
use crate::domain::EventTime;

/// Largest SimHash distance (in bits) at which two texts count as near-duplicates.
///
/// Small on purpose: it catches copies that differ in case, punctuation, numbers, handles and
/// URLs (all ignored by `simhash`), and long texts with a word or two changed. Looser
/// paraphrases are caught by shared key terms instead.
pub const NEAR_DUP_HAMMING: u32 = 3;
/// Distinct key terms a mention must share with a cluster's top terms to join it.
pub const MIN_SHARED_TERMS: usize = 2;

const MAX_ROOTS: usize = 16;
const MAX_HASHES: usize = 8;
const MAX_TERMS: usize = 16;
const TOP_TERMS: usize = 8;

/// Number of differing bits.
pub fn hamming(a: u64, b: u64) -> u32 {
    (a ^ b).count_ones()
}

/// A cluster's id, unique within one [`Clusterer`] and assigned in creation order from 1.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub struct ClusterId(pub u64);

/// A read-only summary of one live cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClusterView {
    pub id: ClusterId,
    /// Mentions assigned so far (saturating).
    pub members: u32,
    pub first_seen: EventTime,
    pub last_seen: EventTime,
}

/// A fixed-capacity set of recent values; the oldest is overwritten when full. Read back from
/// a checkpoint only when `len <= N` and `next < N` (a file that passes its checksum may
/// still hold other numbers: refused at load, not a panic at the next mention).
#[derive(Debug, Clone, Copy, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "RawRing<N>")]
struct Ring<const N: usize> {
    #[serde(with = "serde_big_array::BigArray")]
    items: [u64; N],
    len: u8,
    next: u8,
}

/// A [`Ring`] as a checkpoint holds it, before its bounds are checked.
#[derive(serde::Deserialize)]
struct RawRing<const N: usize> {
    #[serde(with = "serde_big_array::BigArray")]
    items: [u64; N],
    len: u8,
    next: u8,
}

impl<const N: usize> TryFrom<RawRing<N>> for Ring<N> {
    type Error = String;

    fn try_from(r: RawRing<N>) -> Result<Self, String> {
        if usize::from(r.len) > N || usize::from(r.next) >= N {
            return Err(format!(
                "a ring of {N} holds {} values with its next slot at {}",
                r.len, r.next
            ));
        }
        Ok(Ring {
            items: r.items,
            len: r.len,
            next: r.next,
        })
    }
}

impl<const N: usize> Ring<N> {
    fn new() -> Self {
        Ring {
            items: [0; N],
            len: 0,
            next: 0,
        }
    }

    fn as_slice(&self) -> &[u64] {
        &self.items[..usize::from(self.len)]
    }

    fn contains(&self, v: u64) -> bool {
        self.as_slice().contains(&v)
    }

    /// Adds `v` unless present.
    fn push(&mut self, v: u64) {
        if self.contains(v) {
            return;
        }
        self.items[usize::from(self.next)] = v;
        self.next = ((usize::from(self.next) + 1) % N) as u8;
        self.len = (usize::from(self.len) + 1).min(N) as u8;
    }
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct Cluster {
    id: u64,
    first_seen: EventTime,
    last_seen: EventTime,
    members: u32,
    roots: Ring<MAX_ROOTS>,
    hashes: Ring<MAX_HASHES>,
    /// Term-hash counts sorted by count descending then hash ascending (Space-Saving).
    terms: [(u64, u32); MAX_TERMS],
    n_terms: u8,
}

impl Cluster {
    fn view(&self) -> ClusterView {
        ClusterView {
            id: ClusterId(self.id),
            members: self.members,
            first_seen: self.first_seen,
            last_seen: self.last_seen,
        }
    }

    fn top_terms(&self) -> &[(u64, u32)] {
        &self.terms[..usize::from(self.n_terms).min(TOP_TERMS)]
    }

    fn shared_terms(&self, terms: &[u64]) -> usize {
        let top = self.top_terms();
        terms
            .iter()
            .filter(|t| top.iter().any(|(h, _)| h == *t))
            .count()
    }

    fn nearest(&self, hash: u64) -> u32 {
        self.hashes
            .as_slice()
            .iter()
            .map(|&h| hamming(h, hash))
            .min()
            .unwrap_or(u32::MAX)
    }

    fn add_term(&mut self, term: u64) {
        let n = usize::from(self.n_terms);
        let pos = match self.terms[..n].iter().position(|(h, _)| *h == term) {
            Some(i) => {
                self.terms[i].1 = self.terms[i].1.saturating_add(1);
                i
            }
            None if n < MAX_TERMS => {
                self.terms[n] = (term, 1);
                self.n_terms += 1;
                n
            }
            None => {
                // Full: replace the smallest (last) entry, inheriting its count.
                let last = MAX_TERMS - 1;
                self.terms[last] = (term, self.terms[last].1.saturating_add(1));
                last
            }
        };
        let mut i = pos;
        while i > 0 {
            let (prev, cur) = (self.terms[i - 1], self.terms[i]);
            if (cur.1, std::cmp::Reverse(cur.0)) > (prev.1, std::cmp::Reverse(prev.0)) {
                self.terms.swap(i - 1, i);
                i -= 1;
            } else {
                break;
            }
        }
    }

    /// Whether `self` is a better candidate than `other` at equal closeness.
    fn fresher_than(&self, other: &Cluster) -> bool {
        (self.last_seen, std::cmp::Reverse(self.id))
            > (other.last_seen, std::cmp::Reverse(other.id))
    }
}

/// One brand's live clusters, bounded in count and size.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Clusterer {
    max_clusters: usize,
    idle_ms: i64,
    next_id: u64,
    clusters: Vec<Cluster>,
    /// Ids of clusters that open incidents own (see [`Clusterer::pin`]).
    pinned: Vec<u64>,
    /// The term hashes of the mention being assigned, kept between calls so that assigning
    /// allocates nothing once it has grown to a text's terms.
    #[serde(skip)]
    scratch: Vec<u64>,
}

impl Clusterer {
    /// A clusterer keeping at most `max_clusters` (at least 1) clusters, each dropped by
    /// [`Clusterer::expire`] once idle for more than `idle_ms` of event time.
    pub fn new(max_clusters: usize, idle_ms: i64) -> Clusterer {
        let max_clusters = max_clusters.max(1);
        Clusterer {
            max_clusters,
            idle_ms: idle_ms.max(0),
            next_id: 1,
            pinned: Vec::new(),
            scratch: Vec::new(),
            // Grown on demand: most brands hold one or two clusters at a time.
            clusters: Vec::new(),
        }
    }

    /// Assigns a mention to a cluster (see the module docs for the rules) and returns its id.
    /// `hash` is the text's SimHash built from `words` words (`score::simhash`).
    pub fn assign<'t>(
        &mut self,
        root: u64,
        hash: u64,
        words: usize,
        terms: impl IntoIterator<Item = &'t str>,
        at: EventTime,
    ) -> ClusterId {
        let mut term_hashes = std::mem::take(&mut self.scratch);
        term_hashes.clear();
        if words > 0 {
            term_hashes.extend(terms.into_iter().map(feature_hash));
            term_hashes.sort_unstable();
            term_hashes.dedup();
        }

        let mut chosen = self.best_by(|c| c.roots.contains(root).then_some(0));
        if chosen.is_none() && words > 0 {
            chosen = self.best_by(|c| {
                let d = c.nearest(hash);
                (d <= NEAR_DUP_HAMMING).then_some(d)
            });
        }
        if chosen.is_none() && term_hashes.len() >= MIN_SHARED_TERMS {
            chosen = self.best_by(|c| {
                let shared = c.shared_terms(&term_hashes);
                (shared >= MIN_SHARED_TERMS).then_some(u32::MAX - shared as u32)
            });
        }
        let idx = match chosen {
            Some(i) => i,
            None => self.create(at),
        };
        let Some(c) = self.clusters.get_mut(idx) else {
            self.scratch = term_hashes;
            return ClusterId(0);
        };
        c.last_seen = c.last_seen.max(at);
        c.first_seen = c.first_seen.min(at);
        c.members = c.members.saturating_add(1);
        c.roots.push(root);
        if words > 0 {
            c.hashes.push(hash);
            for &t in &term_hashes {
                c.add_term(t);
            }
        }
        let id = ClusterId(c.id);
        self.scratch = term_hashes;
        id
    }

    /// The index of the cluster with the smallest `distance` (`None` = not a candidate);
    /// ties go to the most recently seen, then the oldest id.
    fn best_by(&self, distance: impl Fn(&Cluster) -> Option<u32>) -> Option<usize> {
        let mut best: Option<(usize, u32)> = None;
        for (i, c) in self.clusters.iter().enumerate() {
            let Some(d) = distance(c) else { continue };
            let better = match best {
                None => true,
                Some((b, bd)) => d < bd || (d == bd && c.fresher_than(&self.clusters[b])),
            };
            if better {
                best = Some((i, d));
            }
        }
        best.map(|(i, _)| i)
    }

    /// Clusters that open incidents own: never evicted or expired while pinned (an
    /// incident's later reactions must keep joining its cluster). Replaces the previous set.
    pub fn pin(&mut self, ids: impl IntoIterator<Item = u64>) {
        self.pinned.clear();
        self.pinned.extend(ids);
    }

    fn is_pinned(&self, id: u64) -> bool {
        self.pinned.contains(&id)
    }

    /// Opens a new empty cluster, evicting the least recently seen unpinned one when full.
    fn create(&mut self, at: EventTime) -> usize {
        if self.clusters.len() >= self.max_clusters {
            let victim = self
                .clusters
                .iter()
                .enumerate()
                .filter(|(_, c)| !self.is_pinned(c.id))
                .min_by_key(|(_, c)| (c.last_seen, c.id))
                .map(|(i, _)| i);
            if let Some(i) = victim {
                self.clusters.swap_remove(i);
            }
        }
        let id = self.next_id;
        self.next_id = self.next_id.saturating_add(1);
        self.clusters.push(Cluster {
            id,
            first_seen: at,
            last_seen: at,
            members: 0,
            roots: Ring::new(),
            hashes: Ring::new(),
            terms: [(0, 0); MAX_TERMS],
            n_terms: 0,
        });
        self.clusters.len() - 1
    }

    /// Drops clusters whose last mention is more than `idle_ms` before `watermark`.
    pub fn expire(&mut self, watermark: EventTime) {
        let idle_ms = self.idle_ms;
        let pinned = &self.pinned;
        self.clusters.retain(|c| {
            watermark.0.saturating_sub(c.last_seen.0) <= idle_ms || pinned.contains(&c.id)
        });
    }

    /// A live cluster's summary.
    pub fn get(&self, id: ClusterId) -> Option<ClusterView> {
        self.clusters
            .iter()
            .find(|c| c.id == id.0)
            .map(Cluster::view)
    }

    /// Every live cluster's summary, oldest id first.
    pub fn clusters(&self) -> Vec<ClusterView> {
        let mut all: Vec<ClusterView> = self.clusters.iter().map(Cluster::view).collect();
        all.sort_unstable_by_key(|v| v.id);
        all
    }

    /// Number of live clusters.
    pub fn len(&self) -> usize {
        self.clusters.len()
    }

    pub fn is_empty(&self) -> bool {
        self.clusters.is_empty()
    }

    /// Approximate memory held, in bytes (clusters are fixed-size, no per-cluster heap).
    pub fn approx_bytes(&self) -> usize {
        std::mem::size_of::<Self>() + self.clusters.capacity() * std::mem::size_of::<Cluster>()
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn a_ring_read_back_out_of_its_bounds_is_refused() {
        let mut r = Ring::<4>::new();
        for v in 1..=6 {
            r.push(v);
        }
        let text = serde_json::to_string(&r).unwrap();
        let back: Ring<4> = serde_json::from_str(&text).unwrap();
        assert_eq!(back.as_slice(), r.as_slice());
        // A checkpoint whose checksum holds but whose ring says 255 values of 4.
        for bad in [
            text.replace("\"len\":4", "\"len\":255"),
            text.replace("\"next\":2", "\"next\":4"),
        ] {
            assert_ne!(bad, text);
            let e = serde_json::from_str::<Ring<4>>(&bad).unwrap_err();
            assert!(e.to_string().contains("a ring of 4"), "{e}");
        }
    }

    use super::*;

    #[test]
    fn cluster_top_terms_track_frequent_terms() {
        let mut cl = Cluster {
            id: 1,
            first_seen: EventTime(0),
            last_seen: EventTime(0),
            members: 0,
            roots: Ring::new(),
            hashes: Ring::new(),
            terms: [(0, 0); MAX_TERMS],
            n_terms: 0,
        };
        for i in 0..100u64 {
            cl.add_term(42);
            cl.add_term(1000 + i);
        }
        assert_eq!(cl.terms[0], (42, 100));
        assert_eq!(usize::from(cl.n_terms), MAX_TERMS);
        assert!(cl.terms.windows(2).all(|w| w[0].1 >= w[1].1));
    }
}
