//! The internal topic `__consumer_offsets`: which partition holds a group, and the
//! records the group coordinator writes there.
//!
//! Kafka places a group on partition `Utils.abs(groupId.hashCode()) %
//! offsets.topic.num.partitions`, with Java's `String.hashCode`; the broker leading
//! that partition is the group's coordinator. The coordinator writes two kinds of
//! records, both keyed so that log compaction keeps only the latest per key:
//!
//! - an *offset commit* per group and topic-partition (Kafka's `OffsetCommitKey` /
//!   `OffsetCommitValue`), and
//! - the *group metadata* per group (`GroupMetadataKey` / `GroupMetadataValue`): the
//!   generation, the chosen assignor, the leader and every member with its
//!   subscription and assignment. Kafka writes it when a generation's assignment is
//!   known (the leader's SyncGroup), when the group becomes Empty and when a static
//!   member is replaced.
//!
//! A record with a null value is a *tombstone*: the offset or the group is gone.
//! A new coordinator rebuilds every group of a partition by replaying these records
//! in order (see `coordinator::GroupCoordinator::on_partition_led`).
//!
//! Simplification: Kafka encodes keys and values in versioned binary schemas; the
//! model writes readable text (see `offsets_topic/text.rs`) so a trace or a dumped
//! log reads well.
//! Kafka also stores commit and expiry timestamps, `client.id` and `client.host`;
//! the model keeps only what its coordinator uses.

use crate::ids::{LeaderEpoch, Offset, TopicPartition};
use crate::protocol::{Assignment, Subscription};
use crate::record::{Data, Record};
use serde::{Deserialize, Serialize};

mod text;

/// The internal topic that holds committed offsets and group metadata.
pub const OFFSETS_TOPIC: &str = "__consumer_offsets";

/// Key prefix of offset commit records: `offset/<group>/<topic>/<partition>`.
const OFFSET_KEY_PREFIX: &str = "offset/";
/// Key prefix of group metadata records: `group/<group>`.
const GROUP_KEY_PREFIX: &str = "group/";

/// Java's `String.hashCode`: `s[0]*31^(n-1) + … + s[n-1]` over UTF-16 code units,
/// in wrapping 32-bit arithmetic. Kafka places groups with it, so a group lands on
/// the same `__consumer_offsets` partition here as in a real cluster.
pub fn java_string_hash(s: &str) -> i32 {
    s.encode_utf16().fold(0i32, |hash, unit| {
        hash.wrapping_mul(31).wrapping_add(i32::from(unit))
    })
}

// ANCHOR: partition_for_group
/// The `__consumer_offsets` partition of a group: `Utils.abs(hash) % partitions`.
///
/// Kafka's `Utils.abs` maps `Integer.MIN_VALUE` (whose absolute value does not fit
/// in an `int`) to 0, so such a group lands on partition 0.
pub fn partition_for_group(group_id: &str, offsets_topic_partitions: i32) -> i32 {
    assert!(
        offsets_topic_partitions > 0,
        "offsets.topic.num.partitions must be positive"
    );
    let hash = java_string_hash(group_id);
    let abs = if hash == i32::MIN { 0 } else { hash.abs() };
    abs % offsets_topic_partitions
}
// ANCHOR_END: partition_for_group

/// One member as the group metadata record stores it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredMember {
    pub member_id: String,
    pub group_instance_id: Option<String>,
    pub session_timeout_ms: u64,
    pub rebalance_timeout_ms: u64,
    /// The member's subscription for the group's chosen assignor (Kafka keeps only
    /// the chosen protocol's metadata, not the member's whole list).
    pub subscription: Subscription,
    pub assignment: Assignment,
}

/// A group's state as the group metadata record stores it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredGroup {
    /// `consumer` for consumer groups; `None` for a group that never had members.
    pub protocol_type: Option<String>,
    pub generation_id: i32,
    /// The assignor chosen for the generation; `None` when the group is Empty.
    pub protocol_name: Option<String>,
    pub leader: Option<String>,
    pub members: Vec<StoredMember>,
}

/// A record of `__consumer_offsets`, decoded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum OffsetsRecord {
    /// A committed offset: the next offset the group should read in `partition`.
    OffsetCommit {
        group: String,
        partition: TopicPartition,
        offset: Offset,
        leader_epoch: Option<LeaderEpoch>,
        metadata: Option<String>,
    },
    /// The committed offset of `partition` was removed (an empty value).
    OffsetTombstone {
        group: String,
        partition: TopicPartition,
    },
    /// The group's membership after a rebalance or a static member's replacement.
    GroupMetadata { group: String, state: StoredGroup },
    /// The group was deleted (an empty value).
    GroupTombstone { group: String },
}

impl OffsetsRecord {
    /// The group the record belongs to.
    pub fn group(&self) -> &str {
        match self {
            OffsetsRecord::OffsetCommit { group, .. }
            | OffsetsRecord::OffsetTombstone { group, .. }
            | OffsetsRecord::GroupMetadata { group, .. }
            | OffsetsRecord::GroupTombstone { group } => group,
        }
    }

    /// Encodes the record as the coordinator appends it.
    pub fn to_record(&self, timestamp_ms: u64) -> Record {
        let (key, value) = match self {
            OffsetsRecord::OffsetCommit {
                group,
                partition,
                offset,
                leader_epoch,
                metadata,
            } => (
                offset_key(group, partition),
                Some(text::offset_value(
                    *offset,
                    *leader_epoch,
                    metadata.as_deref(),
                )),
            ),
            OffsetsRecord::OffsetTombstone { group, partition } => {
                (offset_key(group, partition), None)
            }
            OffsetsRecord::GroupMetadata { group, state } => (
                format!("{GROUP_KEY_PREFIX}{group}"),
                Some(text::group_value(state)),
            ),
            OffsetsRecord::GroupTombstone { group } => (format!("{GROUP_KEY_PREFIX}{group}"), None),
        };
        Record {
            key: Some(Data::from(key)),
            value: value.map(Data::from),
            headers: Vec::new(),
            timestamp_ms,
        }
    }

    /// Decodes a record of `__consumer_offsets`; the error says what was wrong.
    pub fn parse(record: &Record) -> Result<OffsetsRecord, String> {
        let key = record
            .key
            .as_ref()
            .ok_or("a __consumer_offsets record needs a key")?
            .as_str()
            .ok_or("a __consumer_offsets key is text")?;
        let value = match &record.value {
            Some(value) => Some(value.as_str().ok_or("a __consumer_offsets value is text")?),
            None => None,
        };
        if let Some(rest) = key.strip_prefix(OFFSET_KEY_PREFIX) {
            let (group, partition) = parse_offset_key(rest)?;
            let Some(value) = value else {
                return Ok(OffsetsRecord::OffsetTombstone { group, partition });
            };
            let (offset, leader_epoch, metadata) = text::parse_offset_value(value)?;
            Ok(OffsetsRecord::OffsetCommit {
                group,
                partition,
                offset,
                leader_epoch,
                metadata,
            })
        } else if let Some(group) = key.strip_prefix(GROUP_KEY_PREFIX) {
            let group = group.to_string();
            let Some(value) = value else {
                return Ok(OffsetsRecord::GroupTombstone { group });
            };
            let state = text::parse_group_value(value)?;
            Ok(OffsetsRecord::GroupMetadata { group, state })
        } else {
            Err(format!("unknown __consumer_offsets key {key:?}"))
        }
    }
}

fn offset_key(group: &str, partition: &TopicPartition) -> String {
    format!(
        "{OFFSET_KEY_PREFIX}{group}/{}/{}",
        partition.topic, partition.partition
    )
}

/// Splits `<group>/<topic>/<partition>` from the right: a group id may contain '/',
/// a topic name may not (Kafka allows only ASCII letters, digits, '.', '_', '-').
fn parse_offset_key(rest: &str) -> Result<(String, TopicPartition), String> {
    let malformed = || format!("malformed offset key {rest:?}: want <group>/<topic>/<partition>");
    let (group_and_topic, partition) = rest.rsplit_once('/').ok_or_else(malformed)?;
    let (group, topic) = group_and_topic.rsplit_once('/').ok_or_else(malformed)?;
    let partition: i32 = partition.parse().map_err(|_| malformed())?;
    Ok((group.to_string(), TopicPartition::new(topic, partition)))
}

#[cfg(test)]
mod tests;
