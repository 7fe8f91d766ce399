//! Lab `partitioner`: the partition of a record with a key.
//!
//! A Kafka producer that sends a record with a key (and no explicit
//! partition) picks its partition from the key alone, so every record with
//! the same key lands in the same partition, and stays in order there. Kafka's
//! `BuiltInPartitioner.partitionForKey` does it in three steps:
//!
//! 1. hash the key's bytes with **murmur2** (`Utils.murmur2`), seed
//!    `0x9747b28c`, multiplier `0x5bd1e995`, shift 24;
//! 2. make the hash non-negative with `Utils.toPositive`, which clears the sign
//!    bit (`n & 0x7fffffff`). Not `abs`: `abs(i32::MIN)` overflows, and two
//!    different hashes would collide;
//! 3. take it modulo the number of partitions.
//!
//! Every client that follows these steps (Java, librdkafka's
//! `murmur2_random`, kafkajs' default partitioner) puts a key in the same
//! partition, which is what lets producers in different languages share a
//! topic.
//!
//! murmur2, as Kafka writes it: `h = seed ^ length`; for each whole 4-byte
//! chunk `k` (little-endian): `k *= m; k ^= k >>> r; k *= m; h *= m; h ^= k`;
//! then the 1 to 3 bytes left, in this order: with 3 left `h ^= byte[2] << 16`,
//! with 2 or more `h ^= byte[1] << 8`, with 1 or more `h ^= byte[0]; h *= m`;
//! finally `h ^= h >>> 13; h *= m; h ^= h >>> 15`. Multiplications wrap
//! (Rust: `wrapping_mul` on `u32`), and `>>>` is an unsigned shift.
//!
//! Check it: `cargo run --release -- lab check partitioner`. Kafka's values
//! for the unit tests come from Kafka's own `UtilsTest.testMurmur2`.
//! The model's version: `src/partitioner.rs`.

/// Kafka's murmur2 hash of `data`, as a Java `int`.
pub fn murmur2(data: &[u8]) -> i32 {
    todo!("murmur2: hash the bytes as Kafka's Utils.murmur2 does")
}

/// The partition, among `num_partitions` (at least 1), of a record with `key`
/// (its bytes). The producer calls this for every keyed record.
pub fn partition_for_key(key: &[u8], num_partitions: i32) -> i32 {
    todo!("toPositive(murmur2(key)) % num_partitions")
}
