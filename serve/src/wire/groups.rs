//! The consumer protocol's bytes: a member's subscription (JoinGroup) and
//! assignment (SyncGroup), Kafka's `ConsumerProtocolSubscription` and
//! `ConsumerProtocolAssignment`, each preceded by its int16 version.
//!
//! A Kafka coordinator never reads these bytes; the model's coordinator holds
//! them as typed values (see `kafkasim::protocol::group`), so the edge parses
//! and re-encodes them. Simplification: `user_data` and `rack_id` have no place
//! in the model and are dropped (kafkajs' round-robin assignor sends none); a
//! subscription is re-encoded in the lowest version that holds its fields.

use bytes::{Buf, BufMut, Bytes, BytesMut};
use kafka_protocol::messages::consumer_protocol_assignment::{
    ConsumerProtocolAssignment, TopicPartition as AssignedTopic,
};
use kafka_protocol::messages::consumer_protocol_subscription::{
    ConsumerProtocolSubscription, TopicPartition as OwnedTopic,
};
use kafka_protocol::messages::TopicName;
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};
use kafkasim::ids::TopicPartition;
use kafkasim::protocol::{Assignment, Subscription};
use std::collections::BTreeMap;

/// The newest version of both schemas this crate knows; a newer one is read as
/// this one, as Kafka's `ConsumerProtocol` does (new versions only add fields
/// at the end).
const CONSUMER_PROTOCOL_MAX_VERSION: i16 = 3;

fn read_version(bytes: &mut Bytes) -> Option<i16> {
    (bytes.remaining() >= 2).then(|| bytes.get_i16().min(CONSUMER_PROTOCOL_MAX_VERSION))
}

pub fn subscription_from_wire(metadata: &Bytes) -> Option<Subscription> {
    let mut bytes = metadata.clone();
    let version = read_version(&mut bytes)?;
    if version < 0 {
        return None;
    }
    let wire = ConsumerProtocolSubscription::decode(&mut bytes, version).ok()?;
    Some(Subscription {
        topics: wire.topics.iter().map(|t| t.to_string()).collect(),
        owned_partitions: flatten(
            wire.owned_partitions
                .iter()
                .map(|t| (&t.topic, &t.partitions)),
        ),
        generation_id: if version >= 2 { wire.generation_id } else { -1 },
    })
}

pub fn subscription_to_wire(subscription: &Subscription) -> Bytes {
    let version = if subscription.generation_id >= 0 {
        2
    } else if !subscription.owned_partitions.is_empty() {
        1
    } else {
        0
    };
    let mut wire = ConsumerProtocolSubscription::default();
    wire.topics = subscription
        .topics
        .iter()
        .map(|t| StrBytes::from_string(t.clone()))
        .collect();
    wire.owned_partitions = group(&subscription.owned_partitions)
        .into_iter()
        .map(|(topic, partitions)| {
            let mut owned = OwnedTopic::default();
            owned.topic = TopicName(StrBytes::from_string(topic));
            owned.partitions = partitions;
            owned
        })
        .collect();
    wire.generation_id = subscription.generation_id;
    encode_versioned(&wire, version)
}

/// An empty assignment is what a leader sends for a member it gave nothing.
pub fn assignment_from_wire(assignment: &Bytes) -> Option<Assignment> {
    if assignment.is_empty() {
        return Some(Assignment::default());
    }
    let mut bytes = assignment.clone();
    let version = read_version(&mut bytes)?;
    if version < 0 {
        return None;
    }
    let wire = ConsumerProtocolAssignment::decode(&mut bytes, version).ok()?;
    Some(Assignment {
        partitions: flatten(
            wire.assigned_partitions
                .iter()
                .map(|t| (&t.topic, &t.partitions)),
        ),
    })
}

pub fn assignment_to_wire(assignment: &Assignment) -> Bytes {
    let mut wire = ConsumerProtocolAssignment::default();
    wire.assigned_partitions = group(&assignment.partitions)
        .into_iter()
        .map(|(topic, partitions)| {
            let mut assigned = AssignedTopic::default();
            assigned.topic = TopicName(StrBytes::from_string(topic));
            assigned.partitions = partitions;
            assigned
        })
        .collect();
    wire.user_data = Some(Bytes::new());
    encode_versioned(&wire, 0)
}

fn encode_versioned<T: Encodable>(value: &T, version: i16) -> Bytes {
    let mut buf = BytesMut::new();
    buf.put_i16(version);
    value
        .encode(&mut buf, version)
        .expect("the model's values fit the consumer protocol's fields");
    buf.freeze()
}

fn flatten<'a>(topics: impl Iterator<Item = (&'a TopicName, &'a Vec<i32>)>) -> Vec<TopicPartition> {
    topics
        .flat_map(|(topic, partitions)| {
            partitions
                .iter()
                .map(move |&p| TopicPartition::new(topic.to_string(), p))
        })
        .collect()
}

fn group(partitions: &[TopicPartition]) -> BTreeMap<String, Vec<i32>> {
    let mut topics: BTreeMap<String, Vec<i32>> = BTreeMap::new();
    for tp in partitions {
        topics
            .entry(tp.topic.clone())
            .or_default()
            .push(tp.partition);
    }
    topics
}
