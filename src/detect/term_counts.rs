//! Bounded term counts for an incident: which key terms (extracted per mention by
//! `score::terms`) dominate its posts.

use rustc_hash::FxHashMap;

/// Bounded term counts for one incident or brand: the Space-Saving top-k summary.
///
/// Holds at most `capacity` terms. A new term arriving when full evicts the term with the
/// smallest count (ties: the alphabetically last) and inherits that count plus one, so counts
/// of frequent terms are exact or slightly over-estimated and rare terms churn at the bottom.
/// [`TermCounter::decay`] halves every count so old topics fade.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct TermCounter {
    capacity: usize,
    counts: FxHashMap<Box<str>, u32>,
}

impl Default for TermCounter {
    fn default() -> Self {
        TermCounter::new(TermCounter::DEFAULT_CAPACITY)
    }
}

impl TermCounter {
    /// The default bound on distinct terms.
    pub const DEFAULT_CAPACITY: usize = 256;

    /// A counter holding at most `capacity` terms (at least 1).
    pub fn new(capacity: usize) -> TermCounter {
        let capacity = capacity.max(1);
        TermCounter {
            capacity,
            counts: FxHashMap::with_capacity_and_hasher(capacity.min(64), Default::default()),
        }
    }

    /// Counts one occurrence of `term` (expected normalised, e.g. from `key_terms`).
    pub fn add(&mut self, term: &str) {
        if let Some(count) = self.counts.get_mut(term) {
            *count = count.saturating_add(1);
            return;
        }
        let mut inherited = 0;
        if self.counts.len() >= self.capacity {
            let victim = self
                .counts
                .iter()
                .min_by(|a, b| a.1.cmp(b.1).then_with(|| b.0.cmp(a.0)))
                .map(|(k, &v)| (k.clone(), v));
            if let Some((key, count)) = victim {
                self.counts.remove(&key);
                inherited = count;
            }
        }
        self.counts
            .insert(Box::from(term), inherited.saturating_add(1));
    }

    /// The count of `term` (0 when absent).
    pub fn get(&self, term: &str) -> u32 {
        self.counts.get(term).copied().unwrap_or(0)
    }

    /// Halves every count and forgets terms that reach zero.
    pub fn decay(&mut self) {
        self.counts.retain(|_, c| {
            *c /= 2;
            *c > 0
        });
    }

    /// The `k` most frequent terms, highest count first, ties broken alphabetically.
    pub fn top(&self, k: usize) -> Vec<(String, u32)> {
        let mut all: Vec<(&str, u32)> = self.counts.iter().map(|(t, &c)| (&**t, c)).collect();
        all.sort_unstable_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
        all.into_iter()
            .take(k)
            .map(|(t, c)| (t.to_owned(), c))
            .collect()
    }

    pub fn len(&self) -> usize {
        self.counts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.counts.is_empty()
    }

    /// Rough heap + inline size in bytes, for memory accounting.
    pub fn approx_bytes(&self) -> usize {
        let entries: usize = self.counts.keys().map(|k| k.len()).sum();
        std::mem::size_of::<Self>()
            + self.counts.capacity() * (std::mem::size_of::<(Box<str>, u32)>() + 1)
            + entries
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn term_counter_top_breaks_ties_alphabetically() {
        let mut c = TermCounter::new(16);
        for t in ["van", "gas", "drinking", "gas", "van", "beer"] {
            c.add(t);
        }
        assert_eq!(
            c.top(3),
            [
                ("gas".to_owned(), 2),
                ("van".to_owned(), 2),
                ("beer".to_owned(), 1)
            ]
        );
        assert_eq!(c.get("drinking"), 1);
        assert_eq!(c.get("absent"), 0);
    }

    #[test]
    fn term_counter_is_bounded_and_keeps_heavy_hitters() {
        let mut c = TermCounter::new(8);
        for i in 0..1000 {
            c.add("gas");
            c.add(&format!("noise{i}"));
            if i % 2 == 0 {
                c.add("leak");
            }
        }
        assert_eq!(c.len(), 8);
        let top = c.top(2);
        assert_eq!(top[0], ("gas".to_owned(), 1000));
        assert_eq!(top[1].0, "leak");
    }

    #[test]
    fn term_counter_eviction_is_deterministic() {
        let run = || {
            let mut c = TermCounter::new(4);
            for t in ["e", "d", "c", "b", "a", "f", "a", "g"] {
                c.add(t);
            }
            c.top(10)
        };
        assert_eq!(run(), run());
        assert_eq!(run()[0], ("a".to_owned(), 3));
    }

    #[test]
    fn term_counter_decay_halves_and_forgets() {
        let mut c = TermCounter::new(8);
        c.add("gas");
        c.add("gas");
        c.add("van");
        c.decay();
        assert_eq!(c.top(5), [("gas".to_owned(), 1)]);
        assert!(c.approx_bytes() > 0);
    }
}
