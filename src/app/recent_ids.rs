//! Mentions the engine has already taken in, remembered for as long as a copy could still be
//! admitted.
//!
//! Role: drop a mention that arrives twice (a push client retrying a batch whose answer it
//! lost, a Jetstream reconnect resuming two seconds before its cursor, a restart re-reading
//! an overlap) before it is counted twice. Only mentions that matched a brand are remembered:
//! a repeated unmatched one changes nothing the detector keeps.
//!
//! Identity is `(source, id)`, hashed with 64-bit FNV-1a (stable across builds and platforms,
//! so the set survives in the checkpoint); at a million remembered ids the chance that any
//! two distinct mentions collide is about 3 in 100 million. An id is forgotten once its event
//! time falls behind the newest event time by more than the allowed lateness: a copy older
//! than that is dropped as too late by the watermark anyway. At most [`MAX_IDS`] are kept
//! (oldest forgotten first), which bounds memory under a firehose.
//!
//! Invariants: deterministic (the same input order gives the same decisions); memory bounded
//! by [`MAX_IDS`]; an empty id is never treated as a duplicate.

use std::collections::VecDeque;

use rustc_hash::FxHashSet;

use crate::domain::{EventTime, Mention};

/// Most ids remembered (about 40 MB at the limit).
pub const MAX_IDS: usize = 1_000_000;

/// Recently admitted mention identities, oldest first.
#[derive(Debug, Default, Clone, serde::Serialize, serde::Deserialize)]
pub struct RecentIds {
    set: FxHashSet<u64>,
    /// (event time in ms, key), in the order they were remembered.
    order: VecDeque<(i64, u64)>,
}

/// The identity of a mention: FNV-1a over its source, a separator and its id.
fn key(m: &Mention) -> u64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut h = OFFSET;
    for b in m
        .source
        .as_bytes()
        .iter()
        .chain(&[0xff])
        .chain(m.id.as_bytes())
    {
        h ^= u64::from(*b);
        h = h.wrapping_mul(PRIME);
    }
    h
}

impl RecentIds {
    /// Remembers `m`; `false` when it was already remembered (a duplicate). Forgets ids whose
    /// event time is older than `horizon` first.
    pub fn first_time(&mut self, m: &Mention, horizon: EventTime) -> bool {
        if m.id.is_empty() {
            return true;
        }
        while let Some(&(at, k)) = self.order.front() {
            if at >= horizon.millis() && self.order.len() < MAX_IDS {
                break;
            }
            self.order.pop_front();
            self.set.remove(&k);
        }
        let k = key(m);
        if !self.set.insert(k) {
            return false;
        }
        self.order.push_back((m.created_at.millis(), k));
        true
    }

    /// Ids currently remembered.
    pub fn len(&self) -> usize {
        self.set.len()
    }

    /// Whether nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.set.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mention(source: &str, id: &str, at: i64) -> Mention {
        Mention {
            id: id.into(),
            source: source.into(),
            created_at: EventTime(at),
            ..Default::default()
        }
    }

    #[test]
    fn a_repeated_id_of_the_same_source_is_a_duplicate() {
        let mut r = RecentIds::default();
        let h = EventTime(0);
        assert!(r.first_time(&mention("push", "a", 10), h));
        assert!(!r.first_time(&mention("push", "a", 10), h));
        // The same id from another source is another mention.
        assert!(r.first_time(&mention("bsky", "a", 10), h));
        // No id: never a duplicate.
        assert!(r.first_time(&mention("push", "", 10), h));
        assert!(r.first_time(&mention("push", "", 10), h));
        assert_eq!(r.len(), 2);
    }

    #[test]
    fn ids_behind_the_horizon_are_forgotten() {
        let mut r = RecentIds::default();
        assert!(r.first_time(&mention("push", "a", 1_000), EventTime(0)));
        assert!(r.first_time(&mention("push", "b", 5_000), EventTime(0)));
        // "a" is older than the horizon now: forgotten (the watermark drops such a copy).
        assert!(r.first_time(&mention("push", "c", 9_000), EventTime(2_000)));
        assert_eq!(r.len(), 2);
        assert!(!r.first_time(&mention("push", "b", 5_000), EventTime(2_000)));
    }

    #[test]
    fn the_key_is_stable() {
        // FNV-1a of "x" 0xff "1": fixed forever, the checkpoint depends on it.
        assert_eq!(key(&mention("x", "1", 0)), 0xc192_f119_8186_a53b);
    }
}
