//! The clusterer (and the SimHash it compares), fed as the engine feeds it: each text's
//! SimHash and key terms computed by `score` first. Here rather than in `detect` because
//! `detect` never imports `score`, not even in its unit tests.

use flashpoint::detect::cluster::*;
use flashpoint::domain::EventTime;
use flashpoint::score::simhash::{simhash, simhash_counted};
use flashpoint::score::terms::{key_terms, Ignore};

const T0: EventTime = EventTime(1_772_445_600_000);

fn at(min: i64) -> EventTime {
    T0.plus_ms(min * EventTime::MINUTE_MS)
}

fn assign(c: &mut Clusterer, root: u64, text: &str, min: i64) -> ClusterId {
    let ignore = Ignore::new(["lumen", "#lumenmobile"]);
    let owned: Vec<String> = key_terms(text, &ignore).map(|t| t.into_owned()).collect();
    let (hash, words) = simhash_counted(text);
    c.assign(root, hash, words, owned.iter().map(String::as_str), at(min))
}

const PAIRS: &[(&str, &str)] = &[
    (
        "so the plumber they sent is drinking in his van outside my house right now",
        "so the plumber they sent is drinking in his car outside my house right now",
    ),
    (
        "no signal across the whole of leeds since this morning and nobody at support knows why",
        "no signal across the whole of york since this morning and nobody at support knows why",
    ),
    (
        "charged twice for my march bill and the refund still has not arrived after three weeks",
        "charged twice for my april bill and the refund still has not arrived after three weeks",
    ),
    (
        "win a free phone today just follow and retweet this post and click the link below",
        "win a free tablet today just follow and retweet this post and click the link below",
    ),
    (
        "the engineer was lovely and fixed our boiler in twenty minutes would recommend to anyone",
        "the engineer was brilliant and fixed our boiler in twenty minutes would recommend to anyone",
    ),
    (
        "waited in all day for the technician and nobody turned up not even a phone call",
        "waited in all day for the installer and nobody turned up not even a phone call",
    ),
];

#[test]
fn simhash_of_wordless_text_is_zero() {
    assert_eq!(simhash(""), 0);
    assert_eq!(simhash("  !!! 123 https://x.example @who"), 0);
}

#[test]
fn simhash_ignores_case_punctuation_numbers_handles_and_urls() {
    let a = simhash("WIN a free phone @bob123 https://a.example/1 #lumen 1234");
    let b = simhash("win a FREE phone!! @alice https://c.example/2 #Lumen 9999");
    assert_eq!(a, b);
    assert_ne!(a, 0);
}

#[test]
fn simhash_near_duplicates_are_closer_than_unrelated_texts() {
    let near: Vec<u32> = PAIRS
        .iter()
        .map(|(a, b)| hamming(simhash(a), simhash(b)))
        .collect();
    let mut far = Vec::new();
    for (i, (a, _)) in PAIRS.iter().enumerate() {
        for (b, _) in &PAIRS[i + 1..] {
            far.push(hamming(simhash(a), simhash(b)));
        }
    }
    let mean = |v: &[u32]| v.iter().sum::<u32>() as f64 / v.len() as f64;
    let (near_mean, far_mean) = (mean(&near), mean(&far));
    assert!(near_mean <= 10.0, "near {near:?}");
    assert!(far_mean >= 24.0, "far {far:?}");
    assert!(
        near.iter().max() < far.iter().min(),
        "near {near:?} far {far:?}"
    );
}

#[test]
fn simhash_hamming_counts_bits() {
    assert_eq!(hamming(0, 0), 0);
    assert_eq!(hamming(0b1011, 0b0001), 2);
    assert_eq!(hamming(0, u64::MAX), 64);
}

#[test]
fn cluster_replies_with_same_root_join() {
    let mut c = Clusterer::new(32, 3_600_000);
    let a = assign(
        &mut c,
        7,
        "so the plumber they sent is drinking in his van",
        0,
    );
    let b = assign(&mut c, 7, "omg that is terrifying", 1);
    let r = assign(&mut c, 7, "", 2);
    assert_eq!(a, b);
    assert_eq!(a, r);
    assert_eq!(c.get(a).map(|v| v.members), Some(3));
}

#[test]
fn cluster_near_duplicate_spam_joins() {
    let mut c = Clusterer::new(32, 3_600_000);
    let ids: Vec<ClusterId> = (0..5)
        .map(|i| {
            let text = format!(
                "WIN a free phone from #lumenmobile click here @user{i} https://s.example/{i}"
            );
            assign(&mut c, 100 + i, &text, i as i64)
        })
        .collect();
    assert!(ids.iter().all(|&id| id == ids[0]), "{ids:?}");
    assert_eq!(c.len(), 1);
}

#[test]
fn cluster_shared_terms_join_paraphrases() {
    let mut c = Clusterer::new(32, 3_600_000);
    let a = assign(&mut c, 1, "lumen outage in leeds, no signal at all", 0);
    let b = assign(&mut c, 2, "anyone else got no signal in Leeds??", 1);
    assert_eq!(a, b);
}

#[test]
fn cluster_unrelated_texts_split() {
    let mut c = Clusterer::new(32, 3_600_000);
    let ids: Vec<ClusterId> = PAIRS
        .iter()
        .enumerate()
        .map(|(i, (t, _))| assign(&mut c, i as u64, t, 0))
        .collect();
    let mut unique = ids.clone();
    unique.dedup();
    assert_eq!(unique.len(), PAIRS.len(), "{ids:?}");
}

#[test]
fn cluster_empty_text_joins_by_root_only() {
    let mut c = Clusterer::new(32, 3_600_000);
    let a = assign(&mut c, 1, "", 0);
    let b = assign(&mut c, 2, "", 0);
    let a2 = assign(&mut c, 1, "", 1);
    assert_ne!(a, b);
    assert_eq!(a, a2);
}

#[test]
fn cluster_capacity_evicts_least_recently_seen() {
    let mut c = Clusterer::new(2, 3_600_000);
    let a = assign(&mut c, 1, "", 0);
    let b = assign(&mut c, 2, "", 1);
    assert_eq!(assign(&mut c, 1, "", 2), a); // a is now the most recent
    let d = assign(&mut c, 3, "", 3); // evicts b
    assert_eq!(c.len(), 2);
    assert!(c.get(b).is_none());
    assert!(c.get(a).is_some() && c.get(d).is_some());
    let b2 = assign(&mut c, 2, "", 4); // b's root is forgotten: a new cluster
    assert_ne!(b2, b);
}

#[test]
fn cluster_expire_drops_idle_clusters() {
    let mut c = Clusterer::new(8, 10 * EventTime::MINUTE_MS);
    let a = assign(&mut c, 1, "", 0);
    let b = assign(&mut c, 2, "", 5);
    c.expire(at(10));
    assert_eq!(c.len(), 2);
    c.expire(at(11));
    assert!(c.get(a).is_none());
    assert!(c.get(b).is_some());
    c.expire(at(100));
    assert!(c.is_empty());
}

#[test]
fn cluster_ids_are_deterministic_across_replays() {
    let run = || {
        let mut c = Clusterer::new(3, 30 * EventTime::MINUTE_MS);
        let mut ids = Vec::new();
        for (i, (a, b)) in PAIRS.iter().enumerate() {
            let m = i as i64 * 7;
            ids.push(assign(&mut c, i as u64, a, m));
            ids.push(assign(&mut c, 1000 + i as u64, b, m + 1));
            ids.push(assign(&mut c, i as u64, "", m + 2));
            c.expire(at(m));
        }
        (ids, c.clusters())
    };
    let (ids, views) = run();
    assert_eq!((ids.clone(), views.clone()), run());
    assert_eq!(ids[0], ClusterId(1));
    assert!(views.len() <= 3);
}

#[test]
fn cluster_memory_is_bounded() {
    let mut c = Clusterer::new(4, i64::MAX);
    let before = c.approx_bytes();
    for i in 0..500u64 {
        let text = format!("word{i} other{} thing{}", i * 7, i * 13);
        assign(&mut c, i, &text, i as i64);
    }
    assert_eq!(c.len(), 4);
    assert!(c.approx_bytes() <= before.max(std::mem::size_of::<Clusterer>() + 64 * 4 * 8));
    assert!(c.approx_bytes() < 8 * 1024);
}
