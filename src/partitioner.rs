//! Choosing a partition for a record, as Kafka's producer does.
//!
//! In order: an explicit partition (the seed's `msg[0] < 'N' ? 0 : 1`); a key,
//! its bytes hashed with Kafka's murmur2 so a key lands where real Kafka puts it;
//! otherwise the sticky partitioner (KIP-480: stay on one partition until its
//! batch is sent).
//! Round-robin is available as an option, like Kafka's `RoundRobinPartitioner`.
//!
//! Simplification: Kafka's sticky partitioner (KIP-794) also weighs partitions by
//! broker load; the model picks the next partition in turn, which needs no RNG.

use serde::{Deserialize, Serialize};

/// Kafka's murmur2 (`org.apache.kafka.common.utils.Utils.murmur2`), seed 0x9747b28c.
pub fn murmur2(data: &[u8]) -> i32 {
    const SEED: u32 = 0x9747_b28c;
    const M: u32 = 0x5bd1_e995;
    const R: u32 = 24;
    let length = data.len() as u32;
    let mut h: u32 = SEED ^ length;
    let chunks = data.chunks_exact(4);
    let tail = chunks.remainder();
    for chunk in chunks {
        let mut k = u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M);
        h ^= k;
    }
    if tail.len() >= 3 {
        h ^= (tail[2] as u32) << 16;
    }
    if tail.len() >= 2 {
        h ^= (tail[1] as u32) << 8;
    }
    if !tail.is_empty() {
        h ^= tail[0] as u32;
        h = h.wrapping_mul(M);
    }
    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^= h >> 15;
    h as i32
}

/// Kafka's `Utils.toPositive`: clears the sign bit (not `abs`, which overflows).
pub fn to_positive(n: i32) -> i32 {
    n & 0x7fff_ffff
}

/// The partition Kafka's default partitioner gives a key.
pub fn partition_for_key(key: &[u8], num_partitions: i32) -> i32 {
    assert!(num_partitions > 0, "a topic has at least one partition");
    to_positive(murmur2(key)) % num_partitions
}

/// `partitioner.class` for records without an explicit partition or key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PartitionerKind {
    /// Kafka's default since 2.4: keyless records stick to one partition per batch.
    Sticky,
    /// `RoundRobinPartitioner`: every record to the next partition.
    RoundRobin,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn murmur2_matches_kafka() {
        // Values from Kafka's UtilsTest.testMurmur2.
        assert_eq!(murmur2(b"21"), -973932308);
        assert_eq!(murmur2(b"foobar"), -790332482);
        assert_eq!(murmur2(b"a-little-bit-long-string"), -985981536);
        assert_eq!(murmur2(b"a-little-bit-longer-string"), -1486304829);
        assert_eq!(
            murmur2(b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8"),
            -58897971
        );
        assert_eq!(murmur2(b"abc"), 479470107);
    }

    #[test]
    fn to_positive_clears_the_sign_bit() {
        assert_eq!(to_positive(-1), i32::MAX);
        assert_eq!(to_positive(i32::MIN), 0);
        assert_eq!(to_positive(7), 7);
    }

    #[test]
    fn a_key_always_maps_to_the_same_partition() {
        let p = partition_for_key(b"alice", 6);
        assert!((0..6).contains(&p));
        assert_eq!(partition_for_key(b"alice", 6), p);
    }

    #[test]
    fn a_key_that_is_not_utf8_is_hashed_as_its_bytes() {
        // kafka-python's murmur2 (the Java client's, ported) of these bytes.
        let key = [0x00, 0xff, 0xfe, 0x80, 0x64];
        assert_eq!(murmur2(&key), 473_726_033);
        assert_eq!(partition_for_key(&key, 3), 2);
    }
}
