//! Lab `partitioner`: the partition of a keyed record (`labs/src/partitioner.rs`).

use super::{Lab, UnitTest};
use kafkasim::rules::Rules;

pub(super) static LAB: Lab = Lab {
    name: "partitioner",
    rule: "the partition of a keyed record: murmur2, toPositive, modulo",
    kafka: "BuiltInPartitioner.partitionForKey, Utils.murmur2, Utils.toPositive",
    file: "labs/src/partitioner.rs",
    function: "partition_for_key (and murmur2)",
    reference: "partition_for_key and murmur2 in src/partitioner.rs",
    learner: |rules| Rules {
        partition_for_key: kafkasim_labs::partitioner::partition_for_key,
        ..rules
    },
    tests: &[
        UnitTest {
            name: "keys_land_where_kafka_puts_them",
            run: keys_land_where_kafka_puts_them,
        },
        UnitTest {
            name: "a_negative_hash_is_made_positive_by_clearing_the_sign_bit",
            run: a_negative_hash_is_made_positive_by_clearing_the_sign_bit,
        },
        UnitTest {
            name: "every_partition_is_in_range",
            run: every_partition_is_in_range,
        },
    ],
    scenario_path: "sim/scenarios/labs/partitioner.toml",
    scenario_text: include_str!("../../scenarios/labs/partitioner.toml"),
};

/// Kafka's murmur2 of some keys, from Kafka's `UtilsTest.testMurmur2`.
const KAFKA_HASHES: [(&str, i32); 6] = [
    ("21", -973932308),
    ("foobar", -790332482),
    ("a-little-bit-long-string", -985981536),
    ("a-little-bit-longer-string", -1486304829),
    (
        "lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8",
        -58897971,
    ),
    ("abc", 479470107),
];

/// The partition Kafka gives a key whose murmur2 is `hash`.
fn kafka_partition(hash: i32, partitions: i32) -> i32 {
    (hash & 0x7fff_ffff) % partitions
}

fn keys_land_where_kafka_puts_them(rules: &Rules) {
    for (key, hash) in KAFKA_HASHES {
        for partitions in [1, 2, 3, 6, 7, 50, 1000] {
            assert_eq!(
                (rules.partition_for_key)(key.as_bytes(), partitions),
                kafka_partition(hash, partitions),
                "key {key:?} over {partitions} partitions (Kafka's murmur2 of it is {hash})"
            );
        }
    }
}

fn a_negative_hash_is_made_positive_by_clearing_the_sign_bit(rules: &Rules) {
    // murmur2("21") is negative: abs() would give 973932308 % 1000 = 308,
    // toPositive gives 1173551340 % 1000 = 340.
    assert_eq!(
        (rules.partition_for_key)(b"21", 1000),
        340,
        "key \"21\" over 1000 partitions: toPositive(n) is n & 0x7fffffff, not abs(n)"
    );
}

fn every_partition_is_in_range(rules: &Rules) {
    for i in 0..200 {
        let key = format!("k{i}");
        for partitions in 1..=12 {
            let p = (rules.partition_for_key)(key.as_bytes(), partitions);
            assert!(
                (0..partitions).contains(&p),
                "key {key:?} over {partitions} partitions went to {p}"
            );
        }
    }
}
