//! Real Python Kafka clients against `kafkasim serve`, no mocks: kafka-python
//! and confluent-kafka (librdkafka) each create a topic, produce and read back
//! (`clients/*_roundtrip.py`), and two consumers in one group, with each
//! library, split a 2-partition topic between them (`clients/*_group.py`);
//! kafka-python's admin client deletes a topic (`clients/kafka_python_delete.py`)
//! and `__consumer_offsets` (`clients/kafka_python_offsets_deleted.py`);
//! confluent-kafka sends a binary key and value with headers and a tombstone,
//! and reads them back byte for byte (`clients/confluent_bytes.py`).
//! Each test is skipped, with a message, where its Python package is not
//! installed (`.ci/run` installs `clients/requirements.txt`).

mod common;

use common::{python, python_has, start};
use std::collections::{BTreeMap, BTreeSet};

#[test]
fn kafka_python_creates_a_topic_produces_and_reads_back() {
    if !python_has("kafka") {
        return;
    }
    let (_runtime, server) = start(1);
    let broker = server.addrs()[&1].to_string();
    let out = python(&broker, "kafka_python_roundtrip.py", &["rt-kafka-python"]);
    assert!(out.contains("created rt-kafka-python"), "{out}");
    assert!(out.contains("sent three at 0/2"), "{out}");
    assert!(out.contains("received three at 0/2"), "{out}");
    assert!(out.contains("round trip ok"), "{out}");
}

#[test]
fn confluent_kafka_creates_a_topic_produces_and_reads_back() {
    if !python_has("confluent_kafka") {
        return;
    }
    let (_runtime, server) = start(1);
    let broker = server.addrs()[&1].to_string();
    let out = python(&broker, "confluent_roundtrip.py", &["rt-confluent"]);
    assert!(out.contains("created rt-confluent"), "{out}");
    assert!(out.contains("sent three at 0/2"), "{out}");
    assert!(out.contains("unsent after flush: 0"), "{out}");
    assert!(out.contains("round trip ok"), "{out}");
}

#[test]
fn two_confluent_kafka_members_of_a_group_split_two_partitions_between_them() {
    if !python_has("confluent_kafka") {
        return;
    }
    two_members_split_two_partitions("confluent_group.py");
}

#[test]
fn two_kafka_python_members_of_a_group_split_two_partitions_between_them() {
    if !python_has("kafka") {
        return;
    }
    two_members_split_two_partitions("kafka_python_group.py");
}

/// Runs `script`, whose two group members split a 2-partition topic, and
/// checks what each received.
fn two_members_split_two_partitions(script: &str) {
    let (_runtime, server) = start(3);
    let broker = server.addrs()[&1].to_string();
    let out = python(&broker, script, &["split"]);
    assert!(out.contains("done"), "{out}");
    // `record MEMBER PARTITION VALUE` lines: what each member received.
    let mut partitions: BTreeMap<&str, BTreeSet<i32>> = BTreeMap::new();
    let mut values = BTreeSet::new();
    for line in out.lines() {
        let Some(rest) = line.strip_prefix("record ") else {
            continue;
        };
        let fields: Vec<&str> = rest.split(' ').collect();
        let [member, partition, value] = fields[..] else {
            panic!("a record line has three fields: {line}");
        };
        let partition: i32 = partition.parse().expect("a partition number");
        assert!(
            value.starts_with(&format!("p{partition}-")),
            "{value} came from partition {partition}: {out}"
        );
        partitions.entry(member).or_default().insert(partition);
        assert!(values.insert(value), "{value} received twice: {out}");
    }
    let a = partitions.get("member-a").cloned().unwrap_or_default();
    let b = partitions.get("member-b").cloned().unwrap_or_default();
    assert!(
        !a.is_empty() && !b.is_empty(),
        "each member got records: {out}"
    );
    assert!(a.is_disjoint(&b), "no partition went to both: {out}");
    let expected: BTreeSet<String> = (0..2)
        .flat_map(|p| (0..10).map(move |i| format!("p{p}-{i}")))
        .collect();
    let got: BTreeSet<String> = values.iter().map(|v| v.to_string()).collect();
    assert_eq!(got, expected, "together they received every record: {out}");
}

#[test]
fn kafka_python_deletes_a_topic_and_a_second_delete_finds_none() {
    if !python_has("kafka") {
        return;
    }
    let (_runtime, server) = start(1);
    let broker = server.addrs()[&1].to_string();
    let out = python(&broker, "kafka_python_delete.py", &["doomed"]);
    assert!(out.contains("created doomed"), "{out}");
    assert!(out.contains("sent doomed at 0/0"), "{out}");
    assert!(out.contains("deleted doomed"), "{out}");
    assert!(out.contains("doomed no longer listed"), "{out}");
    assert!(
        out.contains("second delete: UNKNOWN_TOPIC_OR_PARTITION"),
        "{out}"
    );
}

/// Kafka 4.x's controller deletes `__consumer_offsets` like any topic: the
/// group's committed offset goes with it, and the next FindCoordinator
/// creates the topic afresh, where the group commits again.
#[test]
fn deleting_the_offsets_topic_loses_every_committed_offset() {
    if !python_has("kafka") {
        return;
    }
    let (_runtime, server) = start(1);
    let broker = server.addrs()[&1].to_string();
    let out = python(&broker, "kafka_python_offsets_deleted.py", &["kept"]);
    assert!(out.contains("created kept with 3 records"), "{out}");
    assert!(out.contains("committed 2\n"), "{out}");
    assert!(out.contains("deleted __consumer_offsets\n"), "{out}");
    assert!(out.contains("__consumer_offsets no longer listed"), "{out}");
    assert!(out.contains("committed after the delete None"), "{out}");
    assert!(out.contains("read from r0: ['r0', 'r1', 'r2']"), "{out}");
    assert!(out.contains("committed again 3"), "{out}");
}

/// A binary key and value, headers (one without a value) and a tombstone go
/// through produce, the log and fetch byte for byte, and librdkafka's
/// Java-compatible partitioner puts the key where the model's murmur2 does.
#[test]
fn binary_keys_values_headers_and_tombstones_come_back_byte_for_byte() {
    if !python_has("confluent_kafka") {
        return;
    }
    let (_runtime, server) = start(1);
    let broker = server.addrs()[&1].to_string();
    let out = python(&broker, "confluent_bytes.py", &["bytes"]);
    assert!(out.contains("created bytes"), "{out}");
    assert!(out.contains("unsent after flush: 0"), "{out}");
    let key = [0x00, 0xff, 0xfe, 0x80, 0x64];
    // Kafka's `Utils.toPositive(Utils.murmur2(key)) % 3`: 2, where librdkafka's
    // default partitioner (CRC32) would put the key on 0.
    let partition = kafkasim::partitioner::partition_for_key(&key, 3);
    assert_eq!(partition, 2, "kafka-python's murmur2 gives the same");
    assert!(out.contains(&format!("sent {partition} 0\n")), "{out}");
    assert!(out.contains(&format!("sent {partition} 1\n")), "{out}");
    let first = format!(
        "got {partition} 0 key=00fffe8064 value=c32800ff headers=[trace-id=808100,empty=null]"
    );
    let tombstone = format!("got {partition} 1 key=00fffe8064 value=null headers=[]");
    assert!(out.contains(&first), "{out}");
    assert!(out.contains(&tombstone), "{out}");
    assert!(out.contains("done"), "{out}");
}
