//! What the analyst report counts beside the detector's gauges: per brand and event-time
//! minute, mentions and their sentiment labels; per brand and hour, the most frequent authors
//! and hashtags. Observation only: nothing here feeds a decision.
//!
//! Bounded: at most [`MAX_MINUTES_PER_BRAND`] minutes per brand, and at most
//! [`MAX_KEYS_PER_HOUR`] distinct authors and hashtags per brand and hour (later newcomers in
//! a full hour are counted in `others`, so shares stay honest).

use std::collections::{BTreeMap, HashMap};

use crate::domain::{EventTime, Mention, SentimentLabel};

/// Minutes kept per brand (about 70 days of minutes with mentions).
pub const MAX_MINUTES_PER_BRAND: usize = 100_000;
/// Distinct authors (and, separately, hashtags) counted per brand and hour.
pub const MAX_KEYS_PER_HOUR: usize = 256;

/// One brand's mentions in one event-time minute.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MinuteCount {
    /// Mentions attributed to the brand.
    pub mentions: u32,
    /// Of which scored negative.
    pub negative: u32,
    /// Of which scored positive.
    pub positive: u32,
}

/// Bounded counts of keys (authors or hashtags) in one hour.
#[derive(Debug, Clone, Default)]
pub struct KeyCounts {
    /// Count per key, at most [`MAX_KEYS_PER_HOUR`] keys.
    pub counts: HashMap<String, u32>,
    /// Occurrences of keys that arrived after the map was full.
    pub others: u32,
}

impl KeyCounts {
    fn add(&mut self, key: &str) {
        if let Some(n) = self.counts.get_mut(key) {
            *n += 1;
        } else if self.counts.len() < MAX_KEYS_PER_HOUR {
            self.counts.insert(key.to_owned(), 1);
        } else {
            self.others += 1;
        }
    }
}

/// One brand's tallies.
#[derive(Debug, Clone, Default)]
pub struct BrandTally {
    /// Per minute index (minutes since the epoch).
    pub minutes: BTreeMap<i64, MinuteCount>,
    /// Authors' handles per hour index (hours since the epoch).
    pub authors: BTreeMap<i64, KeyCounts>,
    /// Hashtags (lowercased, with `#`) per hour index.
    pub hashtags: BTreeMap<i64, KeyCounts>,
}

impl BrandTally {
    /// The `n` most frequent keys of `which` over hours `[from_h, to_h]`, most frequent
    /// first (ties by key).
    pub fn top(
        which: &BTreeMap<i64, KeyCounts>,
        from_h: i64,
        to_h: i64,
        n: usize,
    ) -> Vec<(String, u32)> {
        let mut sum: HashMap<&str, u32> = HashMap::new();
        for (_, kc) in which.range(from_h..=to_h) {
            for (k, c) in &kc.counts {
                *sum.entry(k.as_str()).or_default() += c;
            }
        }
        let mut v: Vec<(String, u32)> = sum.into_iter().map(|(k, c)| (k.to_owned(), c)).collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        v.truncate(n);
        v
    }

    /// Totals over minutes `[from, to)`.
    pub fn total(&self, from: i64, to: i64) -> MinuteCount {
        let mut t = MinuteCount::default();
        for c in self.minutes.range(from..to).map(|(_, c)| c) {
            t.mentions += c.mentions;
            t.negative += c.negative;
            t.positive += c.positive;
        }
        t
    }
}

/// Per-brand tallies, keyed by brand id.
#[derive(Debug, Clone, Default)]
pub struct Tally {
    /// By brand id.
    pub brands: BTreeMap<String, BrandTally>,
}

impl Tally {
    /// Counts one mention attributed to `brand`, scored `label`.
    pub fn record(&mut self, brand: &str, m: &Mention, label: SentimentLabel) {
        let t = match self.brands.get_mut(brand) {
            Some(t) => t,
            None => self.brands.entry(brand.to_owned()).or_default(),
        };
        let minute = m.created_at.millis().div_euclid(60_000);
        let hour = minute.div_euclid(60);
        if t.minutes.len() < MAX_MINUTES_PER_BRAND || t.minutes.contains_key(&minute) {
            let c = t.minutes.entry(minute).or_default();
            c.mentions += 1;
            match label {
                SentimentLabel::Negative => c.negative += 1,
                SentimentLabel::Positive => c.positive += 1,
                SentimentLabel::Neutral => {}
            }
        }
        t.authors.entry(hour).or_default().add(&m.author.handle);
        let tags = t.hashtags.entry(hour).or_default();
        for tag in hashtags(&m.text) {
            tags.add(&tag);
        }
    }

    /// First and last minute with a mention, over every brand.
    pub fn span(&self) -> Option<(i64, i64)> {
        let first = self
            .brands
            .values()
            .filter_map(|b| b.minutes.keys().next())
            .min()?;
        let last = self
            .brands
            .values()
            .filter_map(|b| b.minutes.keys().next_back())
            .max()?;
        Some((*first, *last))
    }
}

/// The `#tags` of a text, lowercased, without trailing punctuation.
pub fn hashtags(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split_whitespace().filter_map(|w| {
        let tag = w.strip_prefix('#')?;
        let tag: String = tag
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .flat_map(char::to_lowercase)
            .collect();
        (!tag.is_empty()).then(|| format!("#{tag}"))
    })
}

/// Minute index of an event time.
pub fn minute_of(t: EventTime) -> i64 {
    t.millis().div_euclid(60_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tally_hashtags_are_lowercased_and_trimmed() {
        let tags: Vec<String> = hashtags("so bad #Brightline, #fail! # #x_y2").collect();
        assert_eq!(tags, ["#brightline", "#fail", "#x_y2"]);
    }

    #[test]
    fn tally_key_counts_are_bounded() {
        let mut k = KeyCounts::default();
        for i in 0..MAX_KEYS_PER_HOUR + 10 {
            k.add(&format!("@a{i}"));
        }
        k.add("@a0");
        assert_eq!(k.counts.len(), MAX_KEYS_PER_HOUR);
        assert_eq!(k.others, 10);
        assert_eq!(k.counts["@a0"], 2);
    }
}
