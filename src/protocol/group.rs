//! The consumer group APIs: FindCoordinator, JoinGroup, SyncGroup, Heartbeat,
//! LeaveGroup, OffsetCommit and OffsetFetch (Kafka's classic group protocol).
//!
//! Field names follow Kafka's message schemas. Simplification: Kafka carries a
//! member's subscription and assignment as bytes (the "consumer" protocol type's
//! `ConsumerProtocolSubscription` / `ConsumerProtocolAssignment`); the model sends
//! them as typed values with the same fields.

use crate::error::ErrorCode;
use crate::ids::{BrokerId, LeaderEpoch, Offset, TopicPartition};
use serde::{Deserialize, Serialize};

/// Kafka's `JoinGroupRequest.UNKNOWN_MEMBER_ID`: a member's first join.
pub const UNKNOWN_MEMBER_ID: &str = "";
/// The generation of a group that has never completed a rebalance, or of an
/// offset commit from outside any group (`-1` in Kafka).
pub const NO_GENERATION: i32 = -1;

// ---- FindCoordinator ----------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FindCoordinatorRequest {
    /// The `group.id` (key type GROUP; transactions are not modelled).
    pub key: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FindCoordinatorResponse {
    pub error_code: ErrorCode,
    pub error_message: Option<String>,
    /// The broker leading the group's `__consumer_offsets` partition.
    pub node_id: BrokerId,
}

// ---- JoinGroup ----------------------------------------------------------------------

/// What a consumer member tells the group (`ConsumerProtocolSubscription`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Subscription {
    pub topics: Vec<String>,
    /// Partitions the member owns now: sticky assignors keep them where they can.
    pub owned_partitions: Vec<TopicPartition>,
    /// The generation in which it got them (`-1` if none).
    pub generation_id: i32,
}

/// One assignor the member supports, with its subscription (a JoinGroup "protocol").
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct JoinGroupRequestProtocol {
    /// The assignor's name: `range`, `roundrobin`, `sticky`, `cooperative-sticky`.
    pub name: String,
    pub metadata: Subscription,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct JoinGroupRequest {
    pub group_id: String,
    /// `session.timeout.ms`: silence after which the coordinator evicts the member.
    pub session_timeout_ms: u64,
    /// `max.poll.interval.ms`: how long the coordinator waits for known members
    /// to rejoin during a rebalance.
    pub rebalance_timeout_ms: u64,
    /// Empty (`UNKNOWN_MEMBER_ID`) on a member's first join.
    pub member_id: String,
    /// `group.instance.id`: static membership.
    pub group_instance_id: Option<String>,
    /// Always `consumer` here.
    pub protocol_type: String,
    /// Assignors in the member's order of preference.
    pub protocols: Vec<JoinGroupRequestProtocol>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct JoinGroupResponseMember {
    pub member_id: String,
    pub group_instance_id: Option<String>,
    pub metadata: Subscription,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct JoinGroupResponse {
    pub error_code: ErrorCode,
    pub generation_id: i32,
    /// The assignor the group chose (supported by every member).
    pub protocol_name: Option<String>,
    /// The member that must compute the assignment.
    pub leader: String,
    /// The member id the coordinator gave (or confirmed to) the caller. With
    /// `MEMBER_ID_REQUIRED` the caller must join again with it.
    pub member_id: String,
    /// Every member with its subscription: filled only in the leader's answer.
    pub members: Vec<JoinGroupResponseMember>,
}

// ---- SyncGroup ----------------------------------------------------------------------

/// What a member is given (`ConsumerProtocolAssignment`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Assignment {
    pub partitions: Vec<TopicPartition>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SyncGroupRequestAssignment {
    pub member_id: String,
    pub assignment: Assignment,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SyncGroupRequest {
    pub group_id: String,
    pub generation_id: i32,
    pub member_id: String,
    pub group_instance_id: Option<String>,
    /// The leader sends everyone's assignment; followers send none.
    pub assignments: Vec<SyncGroupRequestAssignment>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SyncGroupResponse {
    pub error_code: ErrorCode,
    pub assignment: Assignment,
}

// ---- Heartbeat ----------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct HeartbeatRequest {
    pub group_id: String,
    pub generation_id: i32,
    pub member_id: String,
    pub group_instance_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct HeartbeatResponse {
    /// `REBALANCE_IN_PROGRESS` tells a member to rejoin.
    pub error_code: ErrorCode,
}

// ---- LeaveGroup ---------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct MemberIdentity {
    pub member_id: String,
    pub group_instance_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct LeaveGroupRequest {
    pub group_id: String,
    pub members: Vec<MemberIdentity>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct LeaveGroupResponse {
    pub error_code: ErrorCode,
}

// ---- OffsetCommit -------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct OffsetCommitRequestPartition {
    pub partition: TopicPartition,
    /// The next offset the group should read (last processed + 1).
    pub committed_offset: Offset,
    pub committed_leader_epoch: Option<LeaderEpoch>,
    pub committed_metadata: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct OffsetCommitRequest {
    pub group_id: String,
    /// The committing member's generation (`NO_GENERATION` from outside a group).
    pub generation_id: i32,
    pub member_id: String,
    pub group_instance_id: Option<String>,
    pub partitions: Vec<OffsetCommitRequestPartition>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct OffsetCommitResponsePartition {
    pub partition: TopicPartition,
    pub error_code: ErrorCode,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct OffsetCommitResponse {
    pub partitions: Vec<OffsetCommitResponsePartition>,
}

// ---- OffsetFetch --------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct OffsetFetchRequest {
    pub group_id: String,
    /// `None`: every partition the group has committed.
    pub partitions: Option<Vec<TopicPartition>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct OffsetFetchResponsePartition {
    pub partition: TopicPartition,
    /// `-1` when the group has no committed offset for the partition.
    pub committed_offset: Offset,
    pub committed_leader_epoch: Option<LeaderEpoch>,
    pub metadata: Option<String>,
    pub error_code: ErrorCode,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct OffsetFetchResponse {
    /// Group-level error (`NOT_COORDINATOR`, `COORDINATOR_LOAD_IN_PROGRESS`, …).
    pub error_code: ErrorCode,
    pub partitions: Vec<OffsetFetchResponsePartition>,
}
