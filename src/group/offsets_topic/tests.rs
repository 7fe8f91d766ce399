use super::*;
use proptest::prelude::*;

fn round_trip(record: &OffsetsRecord) -> OffsetsRecord {
    OffsetsRecord::parse(&record.to_record(1_000)).expect("a record the coordinator wrote parses")
}

fn member(id: &str, instance: Option<&str>, assigned: &[(&str, i32)]) -> StoredMember {
    StoredMember {
        member_id: id.to_string(),
        group_instance_id: instance.map(str::to_string),
        session_timeout_ms: 45_000,
        rebalance_timeout_ms: 300_000,
        subscription: Subscription {
            topics: vec!["orders".into(), "odd topic, with \"quotes\"]".into()],
            owned_partitions: vec![TopicPartition::new("orders", 1)],
            generation_id: 4,
        },
        assignment: Assignment {
            partitions: assigned
                .iter()
                .map(|(t, p)| TopicPartition::new(*t, *p))
                .collect(),
        },
    }
}

#[test]
fn java_string_hash_matches_java_for_known_strings() {
    // Values from Java's String.hashCode.
    assert_eq!(java_string_hash(""), 0);
    assert_eq!(java_string_hash("a"), 97);
    assert_eq!(java_string_hash("group-1"), 293_427_299);
    assert_eq!(java_string_hash("héllo"), 103_094_734);
    // Outside the BMP, Java hashes the two UTF-16 code units of the surrogate pair.
    assert_eq!(java_string_hash("😀"), 1_772_899);
    assert_eq!(java_string_hash("polygenelubricants"), i32::MIN);
}

#[test]
fn partition_for_group_uses_kafkas_abs_so_i32_min_lands_on_partition_zero() {
    assert_eq!(partition_for_group("polygenelubricants", 50), 0);
    assert_eq!(partition_for_group("polygenelubricants", 3), 0);
    assert_eq!(partition_for_group("a", 50), 47);
    assert_eq!(partition_for_group("group-1", 50), 49);
    assert_eq!(partition_for_group("group-1", 3), 2);
    assert_eq!(partition_for_group("console-consumer-12345", 50), 6);
    assert_eq!(partition_for_group("", 3), 0);
}

#[test]
fn offset_commit_records_round_trip_and_read_well() {
    let commit = OffsetsRecord::OffsetCommit {
        group: "billing/eu".into(),
        partition: TopicPartition::new("orders", 7),
        offset: 42,
        leader_epoch: Some(3),
        metadata: Some("processed by \"worker 2\"\nat night".into()),
    };
    let record = commit.to_record(1_000);
    assert_eq!(record.key, Some(Data::from("offset/billing/eu/orders/7")));
    assert_eq!(
        record.value_text(),
        r#"offset=42 leader_epoch=3 metadata="processed by \"worker 2\"\nat night""#
    );
    assert_eq!(record.timestamp_ms, 1_000);
    assert_eq!(round_trip(&commit), commit);
    let bare = OffsetsRecord::OffsetCommit {
        group: "g".into(),
        partition: TopicPartition::new("orders", 0),
        offset: 0,
        leader_epoch: None,
        metadata: None,
    };
    assert_eq!(
        bare.to_record(0).value_text(),
        "offset=0 leader_epoch=none metadata=none"
    );
    assert_eq!(round_trip(&bare), bare);
}

#[test]
fn group_metadata_records_round_trip_with_awkward_ids() {
    let state = StoredGroup {
        protocol_type: Some("consumer".into()),
        generation_id: 5,
        protocol_name: Some("range".into()),
        leader: Some("client-1-0".into()),
        members: vec![
            member("client-1-0", None, &[("orders", 0), ("orders", 1)]),
            member("worker \"b\"=x [1]-9", Some("host/b\tc"), &[]),
            member("client-3-2", None, &[("we ird,topic]", 2)]),
        ],
    };
    let record = OffsetsRecord::GroupMetadata {
        group: "team/a b=c".into(),
        state,
    };
    let encoded = record.to_record(5);
    assert_eq!(encoded.key, Some(Data::from("group/team/a b=c")));
    assert!(encoded.value_text().starts_with(
        "generation=5 protocol_type=\"consumer\" protocol=\"range\" leader=\"client-1-0\"\n"
    ));
    assert!(encoded
        .value_text()
        .contains("assignment=[orders-0,orders-1]"));
    assert_eq!(round_trip(&record), record);
}

#[test]
fn an_empty_group_record_has_no_member_lines() {
    let record = OffsetsRecord::GroupMetadata {
        group: "g".into(),
        state: StoredGroup {
            protocol_type: Some("consumer".into()),
            generation_id: 2,
            protocol_name: None,
            leader: None,
            members: Vec::new(),
        },
    };
    assert_eq!(
        record.to_record(0).value_text(),
        "generation=2 protocol_type=\"consumer\" protocol=none leader=none"
    );
    assert_eq!(round_trip(&record), record);
}

#[test]
fn tombstones_carry_no_value() {
    let offset = OffsetsRecord::OffsetTombstone {
        group: "g/1".into(),
        partition: TopicPartition::new("orders", 3),
    };
    let group = OffsetsRecord::GroupTombstone {
        group: "g/1".into(),
    };
    // As Kafka's: a null value, not an empty one.
    assert_eq!(offset.to_record(0).value, None);
    assert_eq!(group.to_record(0).value, None);
    assert_eq!(round_trip(&offset), offset);
    assert_eq!(round_trip(&group), group);
    // An empty value is not a tombstone, and no offset commit either.
    let mut empty = offset.to_record(0);
    empty.value = Some(Data::from(""));
    assert!(OffsetsRecord::parse(&empty).is_err());
}

#[test]
fn records_that_are_not_the_coordinators_do_not_parse() {
    let record = |key: Option<&str>, value: &str| Record::new(key.map(Data::from), value, 0);
    assert!(OffsetsRecord::parse(&record(None, "x")).is_err());
    assert!(OffsetsRecord::parse(&record(Some("txn/x"), "x")).is_err());
    assert!(OffsetsRecord::parse(&record(Some("offset/g/orders"), "offset=1")).is_err());
    assert!(OffsetsRecord::parse(&record(Some("offset/g/orders/x"), "")).is_err());
    let key = Some("offset/g/orders/0");
    assert!(OffsetsRecord::parse(&record(key, "offset=1")).is_err());
    assert!(OffsetsRecord::parse(&record(key, "offset=1 leader_epoch=none metadata=\"x")).is_err());
    assert!(
        OffsetsRecord::parse(&record(key, "offset=1 metadata=none leader_epoch=none")).is_err()
    );
    assert!(OffsetsRecord::parse(&record(Some("group/g"), "generation=1")).is_err());
}

proptest! {
    #[test]
    fn any_offset_commit_round_trips(
        group in "(?s).*",
        topic in "[a-zA-Z0-9._-]{1,20}|.{0,10}",
        partition in 0..1000i32,
        offset in any::<i64>(),
        leader_epoch in proptest::option::of(any::<i32>()),
        metadata in proptest::option::of("(?s).*"),
    ) {
        // Topic names cannot hold '/' in Kafka, and the key relies on it.
        prop_assume!(!topic.contains('/'));
        let commit = OffsetsRecord::OffsetCommit {
            group,
            partition: TopicPartition::new(topic, partition),
            offset,
            leader_epoch,
            metadata,
        };
        prop_assert_eq!(round_trip(&commit), commit);
    }

    #[test]
    fn any_group_metadata_round_trips(
        group in "(?s).*",
        member_id in "(?s).*",
        instance in proptest::option::of("(?s).*"),
        topic in ".{0,10}",
        leader in proptest::option::of(".*"),
    ) {
        let mut m = member(&member_id, instance.as_deref(), &[("orders", 0)]);
        m.subscription.topics.push(topic.clone());
        m.assignment.partitions.push(TopicPartition::new(topic, 9));
        let record = OffsetsRecord::GroupMetadata {
            group,
            state: StoredGroup {
                protocol_type: Some("consumer".into()),
                generation_id: 1,
                protocol_name: Some("cooperative-sticky".into()),
                leader,
                members: vec![m],
            },
        };
        prop_assert_eq!(round_trip(&record), record);
    }
}
