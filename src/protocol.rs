//! Protocol messages, named after Kafka's APIs.
//!
//! Every exchange is a request and a response matched by a correlation id, over a
//! connection that keeps order, as Kafka's binary protocol over TCP. Field names
//! follow Kafka's message schemas (`ProduceRequest.json`, `FetchRequest.json`, …)
//! where the model has the field at all. Simplification: the model sends Rust
//! values, not bytes; a real-network driver will translate them to the wire format.

use crate::error::ErrorCode;
use crate::ids::{BrokerId, CorrelationId, LeaderEpoch, Offset, TopicPartition};
use crate::metadata::MetadataImage;
use crate::record::RecordBatch;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

mod group;
pub use group::*;

/// What travels over a connection.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Message {
    Request {
        correlation_id: CorrelationId,
        request: Request,
    },
    Response {
        correlation_id: CorrelationId,
        response: Response,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Request {
    Metadata(MetadataRequest),
    CreateTopics(CreateTopicsRequest),
    Produce(ProduceRequest),
    Fetch(FetchRequest),
    ListOffsets(ListOffsetsRequest),
    OffsetsForLeaderEpoch(OffsetsForLeaderEpochRequest),
    InitProducerId(InitProducerIdRequest),
    ElectLeaders(ElectLeadersRequest),
    AlterPartition(AlterPartitionRequest),
    FindCoordinator(FindCoordinatorRequest),
    JoinGroup(JoinGroupRequest),
    SyncGroup(SyncGroupRequest),
    Heartbeat(HeartbeatRequest),
    LeaveGroup(LeaveGroupRequest),
    OffsetCommit(OffsetCommitRequest),
    OffsetFetch(OffsetFetchRequest),
    BrokerRegistration(BrokerRegistrationRequest),
    BrokerHeartbeat(BrokerHeartbeatRequest),
    ClusterMetadataFetch(ClusterMetadataFetchRequest),
    // Last, so the variants before keep their discriminants (and every trace
    // hash of a run without deletion stays as it was).
    DeleteTopics(DeleteTopicsRequest),
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Response {
    Metadata(MetadataResponse),
    CreateTopics(CreateTopicsResponse),
    Produce(ProduceResponse),
    Fetch(FetchResponse),
    ListOffsets(ListOffsetsResponse),
    OffsetsForLeaderEpoch(OffsetsForLeaderEpochResponse),
    InitProducerId(InitProducerIdResponse),
    ElectLeaders(ElectLeadersResponse),
    AlterPartition(AlterPartitionResponse),
    FindCoordinator(FindCoordinatorResponse),
    JoinGroup(JoinGroupResponse),
    SyncGroup(SyncGroupResponse),
    Heartbeat(HeartbeatResponse),
    LeaveGroup(LeaveGroupResponse),
    OffsetCommit(OffsetCommitResponse),
    OffsetFetch(OffsetFetchResponse),
    BrokerRegistration(BrokerRegistrationResponse),
    BrokerHeartbeat(BrokerHeartbeatResponse),
    ClusterMetadataFetch(ClusterMetadataFetchResponse),
    DeleteTopics(DeleteTopicsResponse),
}

impl Request {
    /// Kafka's API name, for traces.
    pub fn api_name(&self) -> &'static str {
        match self {
            Request::Metadata(_) => "Metadata",
            Request::CreateTopics(_) => "CreateTopics",
            Request::Produce(_) => "Produce",
            Request::Fetch(_) => "Fetch",
            Request::ListOffsets(_) => "ListOffsets",
            Request::OffsetsForLeaderEpoch(_) => "OffsetsForLeaderEpoch",
            Request::InitProducerId(_) => "InitProducerId",
            Request::ElectLeaders(_) => "ElectLeaders",
            Request::AlterPartition(_) => "AlterPartition",
            Request::FindCoordinator(_) => "FindCoordinator",
            Request::JoinGroup(_) => "JoinGroup",
            Request::SyncGroup(_) => "SyncGroup",
            Request::Heartbeat(_) => "Heartbeat",
            Request::LeaveGroup(_) => "LeaveGroup",
            Request::OffsetCommit(_) => "OffsetCommit",
            Request::OffsetFetch(_) => "OffsetFetch",
            Request::BrokerRegistration(_) => "BrokerRegistration",
            Request::BrokerHeartbeat(_) => "BrokerHeartbeat",
            Request::ClusterMetadataFetch(_) => "ClusterMetadataFetch",
            Request::DeleteTopics(_) => "DeleteTopics",
        }
    }
}

/// Every API the model speaks, by Kafka's name (what `api_name` returns).
pub const API_NAMES: [&str; 20] = [
    "Metadata",
    "CreateTopics",
    "Produce",
    "Fetch",
    "ListOffsets",
    "OffsetsForLeaderEpoch",
    "InitProducerId",
    "ElectLeaders",
    "AlterPartition",
    "FindCoordinator",
    "JoinGroup",
    "SyncGroup",
    "Heartbeat",
    "LeaveGroup",
    "OffsetCommit",
    "OffsetFetch",
    "BrokerRegistration",
    "BrokerHeartbeat",
    "ClusterMetadataFetch",
    "DeleteTopics",
];

impl Response {
    pub fn api_name(&self) -> &'static str {
        match self {
            Response::Metadata(_) => "Metadata",
            Response::CreateTopics(_) => "CreateTopics",
            Response::Produce(_) => "Produce",
            Response::Fetch(_) => "Fetch",
            Response::ListOffsets(_) => "ListOffsets",
            Response::OffsetsForLeaderEpoch(_) => "OffsetsForLeaderEpoch",
            Response::InitProducerId(_) => "InitProducerId",
            Response::ElectLeaders(_) => "ElectLeaders",
            Response::AlterPartition(_) => "AlterPartition",
            Response::FindCoordinator(_) => "FindCoordinator",
            Response::JoinGroup(_) => "JoinGroup",
            Response::SyncGroup(_) => "SyncGroup",
            Response::Heartbeat(_) => "Heartbeat",
            Response::LeaveGroup(_) => "LeaveGroup",
            Response::OffsetCommit(_) => "OffsetCommit",
            Response::OffsetFetch(_) => "OffsetFetch",
            Response::BrokerRegistration(_) => "BrokerRegistration",
            Response::BrokerHeartbeat(_) => "BrokerHeartbeat",
            Response::ClusterMetadataFetch(_) => "ClusterMetadataFetch",
            Response::DeleteTopics(_) => "DeleteTopics",
        }
    }
}

// ---- Metadata -------------------------------------------------------------------

/// Asks a broker for brokers, topics and partition leaders.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct MetadataRequest {
    /// `None` asks for every topic.
    pub topics: Option<Vec<String>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct MetadataResponseBroker {
    pub node_id: BrokerId,
    pub listener: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct MetadataResponsePartition {
    pub error_code: ErrorCode,
    pub partition_index: i32,
    pub leader_id: Option<BrokerId>,
    pub leader_epoch: LeaderEpoch,
    pub replica_nodes: Vec<BrokerId>,
    pub isr_nodes: Vec<BrokerId>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct MetadataResponseTopic {
    pub error_code: ErrorCode,
    pub name: String,
    pub partitions: Vec<MetadataResponsePartition>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct MetadataResponse {
    /// Live (unfenced) brokers only, as Kafka answers.
    pub brokers: Vec<MetadataResponseBroker>,
    pub topics: Vec<MetadataResponseTopic>,
    /// The version of the image this answer came from (not in Kafka's response;
    /// kept so traces show how fresh each broker's view was).
    pub metadata_version: u64,
}

// ---- CreateTopics ---------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CreatableTopic {
    pub name: String,
    pub num_partitions: i32,
    pub replication_factor: i16,
    /// Topic configs by Kafka key, e.g. `min.insync.replicas`.
    pub configs: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CreateTopicsRequest {
    pub topics: Vec<CreatableTopic>,
    pub timeout_ms: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CreatableTopicResult {
    pub name: String,
    pub error_code: ErrorCode,
    pub error_message: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CreateTopicsResponse {
    pub topics: Vec<CreatableTopicResult>,
}

// ---- DeleteTopics ---------------------------------------------------------------

/// Deletes topics by name (Kafka's `topic_names`, v0–v5; v6 names them in
/// `topics`, with topic ids the model does not have).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct DeleteTopicsRequest {
    pub topic_names: Vec<String>,
    pub timeout_ms: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct DeletableTopicResult {
    pub name: String,
    pub error_code: ErrorCode,
    pub error_message: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct DeleteTopicsResponse {
    pub responses: Vec<DeletableTopicResult>,
}

// ---- Produce --------------------------------------------------------------------

/// `acks`: how many replicas must have a write before the leader answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Acks {
    /// `acks=0`: the producer does not wait; the broker sends no response.
    None,
    /// `acks=1`: the leader answers after its own append.
    Leader,
    /// `acks=all` (`-1`): the leader answers once the high watermark covers the batch.
    All,
}

impl Acks {
    pub fn as_i16(self) -> i16 {
        match self {
            Acks::None => 0,
            Acks::Leader => 1,
            Acks::All => -1,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PartitionProduceData {
    pub partition: TopicPartition,
    /// The producer's view of the leader epoch, checked like a Fetch's; `None`
    /// skips the check. Kafka's Produce request has no such field: there a stale
    /// producer is refused only once the broker it writes to stops leading.
    pub current_leader_epoch: Option<LeaderEpoch>,
    pub records: RecordBatch,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ProduceRequest {
    pub acks: Acks,
    pub timeout_ms: u64,
    pub partitions: Vec<PartitionProduceData>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PartitionProduceResponse {
    pub partition: TopicPartition,
    pub error_code: ErrorCode,
    /// Offset of the batch's first record, or -1 on error.
    pub base_offset: Offset,
    pub log_start_offset: Offset,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ProduceResponse {
    pub responses: Vec<PartitionProduceResponse>,
}

// ---- Fetch ----------------------------------------------------------------------

/// The `replica_id` a consumer puts in a Fetch (Kafka's `CONSUMER_REPLICA_ID`).
pub const CONSUMER_REPLICA_ID: BrokerId = -1;

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FetchPartition {
    pub partition: TopicPartition,
    /// The sender's view of the leader epoch, or `None` to skip the check.
    pub current_leader_epoch: Option<LeaderEpoch>,
    pub fetch_offset: Offset,
    pub partition_max_bytes: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FetchRequest {
    /// `-1` for consumers; a follower puts its broker id.
    pub replica_id: BrokerId,
    /// A follower's broker epoch (Kafka's `ReplicaState.ReplicaEpoch`, Fetch
    /// v15, KIP-903): the leader refuses a fetch from an older incarnation and
    /// remembers it for the ISR. `-1` for consumers.
    pub replica_epoch: i64,
    /// Long polling: wait up to this long (`fetch.max.wait.ms`) …
    pub max_wait_ms: u64,
    /// … for at least this much data (`fetch.min.bytes`).
    pub min_bytes: usize,
    pub max_bytes: usize,
    pub partitions: Vec<FetchPartition>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FetchablePartitionResponse {
    pub partition: TopicPartition,
    pub error_code: ErrorCode,
    pub high_watermark: Offset,
    pub log_start_offset: Offset,
    pub records: Vec<RecordBatch>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FetchResponse {
    pub error_code: ErrorCode,
    pub responses: Vec<FetchablePartitionResponse>,
}

// ---- ListOffsets ----------------------------------------------------------------

/// ListOffsets timestamp asking for the log start offset.
pub const EARLIEST_TIMESTAMP: i64 = -2;
/// ListOffsets timestamp asking for the end (the high watermark, for consumers).
pub const LATEST_TIMESTAMP: i64 = -1;

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ListOffsetsPartition {
    pub partition: TopicPartition,
    pub current_leader_epoch: Option<LeaderEpoch>,
    /// `EARLIEST_TIMESTAMP` or `LATEST_TIMESTAMP` (timestamp lookup is not modelled).
    pub timestamp: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ListOffsetsRequest {
    pub replica_id: BrokerId,
    pub partitions: Vec<ListOffsetsPartition>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ListOffsetsPartitionResponse {
    pub partition: TopicPartition,
    pub error_code: ErrorCode,
    pub offset: Offset,
    pub leader_epoch: LeaderEpoch,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ListOffsetsResponse {
    pub partitions: Vec<ListOffsetsPartitionResponse>,
}

// ---- OffsetsForLeaderEpoch --------------------------------------------------------

pub use crate::ids::{UNDEFINED_EPOCH, UNDEFINED_EPOCH_OFFSET};

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct OffsetForLeaderPartition {
    pub partition: TopicPartition,
    /// The sender's view of the current leader epoch (fencing, as in Fetch).
    pub current_leader_epoch: LeaderEpoch,
    /// The epoch whose end offset the follower asks for: its latest epoch.
    pub leader_epoch: LeaderEpoch,
}

/// A follower asks its new leader where an epoch of its log ended, to find
/// where the two logs diverge (KIP-101).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct OffsetsForLeaderEpochRequest {
    pub replica_id: BrokerId,
    pub partitions: Vec<OffsetForLeaderPartition>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct EpochEndOffset {
    pub partition: TopicPartition,
    pub error_code: ErrorCode,
    /// The largest epoch ≤ the requested one in the leader's log …
    pub leader_epoch: LeaderEpoch,
    /// … and the offset where it ends: the start of the next epoch, or the LEO.
    pub end_offset: Offset,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct OffsetsForLeaderEpochResponse {
    pub partitions: Vec<EpochEndOffset>,
}

// ---- InitProducerId ---------------------------------------------------------------

/// An idempotent producer asks for its producer id and epoch.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct InitProducerIdRequest {
    /// Transactions are not modelled: always `None`.
    pub transactional_id: Option<String>,
    pub transaction_timeout_ms: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct InitProducerIdResponse {
    pub error_code: ErrorCode,
    pub producer_id: i64,
    pub producer_epoch: i16,
}

// ---- ElectLeaders -------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ElectionType {
    /// Move leadership back to the preferred replica (`replicas[0]`) if it is in sync.
    Preferred,
    /// Elect a leader for leaderless partitions, from out-of-sync replicas if need be.
    Unclean,
}

/// An admin asks the controller to run leader elections (`kafka-leader-election.sh`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ElectLeadersRequest {
    pub election_type: ElectionType,
    /// `None`: every partition.
    pub partitions: Option<Vec<TopicPartition>>,
    pub timeout_ms: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PartitionElectionResult {
    pub partition: TopicPartition,
    /// `ELECTION_NOT_NEEDED` when the leader already is the one asked for.
    pub error_code: ErrorCode,
    pub error_message: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ElectLeadersResponse {
    pub error_code: ErrorCode,
    pub results: Vec<PartitionElectionResult>,
}

// ---- AlterPartition ---------------------------------------------------------------

/// A leader proposes a new ISR for a partition it leads.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct AlterPartitionData {
    pub partition: TopicPartition,
    pub leader_epoch: LeaderEpoch,
    pub new_isr: Vec<BrokerId>,
    /// Each `new_isr` member's broker epoch as the leader last saw it in its
    /// fetches, `-1` if unknown (Kafka's `NewIsrWithEpochs`, AlterPartition v3,
    /// KIP-903): the controller refuses a member whose epoch is not its
    /// current registration's.
    pub new_isr_broker_epochs: Vec<i64>,
    /// The partition epoch the proposal is based on; a stale one is rejected.
    pub partition_epoch: i32,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct AlterPartitionRequest {
    pub broker_id: BrokerId,
    pub broker_epoch: i64,
    pub partitions: Vec<AlterPartitionData>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct AlterPartitionResult {
    pub partition: TopicPartition,
    pub error_code: ErrorCode,
    /// The partition's state after the change (or as it is, on error).
    pub leader_id: Option<BrokerId>,
    pub leader_epoch: LeaderEpoch,
    pub isr: Vec<BrokerId>,
    pub partition_epoch: i32,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct AlterPartitionResponse {
    pub error_code: ErrorCode,
    pub partitions: Vec<AlterPartitionResult>,
}

// ---- Broker ↔ controller ----------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct BrokerRegistrationRequest {
    pub broker_id: BrokerId,
    /// New at every start of the broker's process (Kafka's `IncarnationId`, a
    /// UUID): the controller tells a restart from a retried registration by it.
    pub incarnation_id: u64,
    pub listener: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct BrokerRegistrationResponse {
    pub error_code: ErrorCode,
    pub broker_epoch: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct BrokerHeartbeatRequest {
    pub broker_id: BrokerId,
    pub broker_epoch: i64,
    /// How far the broker has caught up with the metadata (KRaft's metadata offset).
    pub current_metadata_offset: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct BrokerHeartbeatResponse {
    pub error_code: ErrorCode,
    pub is_fenced: bool,
}

/// Stands for the Fetch requests a KRaft broker sends to read the
/// `__cluster_metadata` log. The controller holds it until the metadata changes
/// past `known_version` or `max_wait_ms` passes, then answers with the whole image.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ClusterMetadataFetchRequest {
    pub broker_id: BrokerId,
    pub known_version: u64,
    pub max_wait_ms: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ClusterMetadataFetchResponse {
    /// `None` when nothing changed within the wait.
    pub image: Option<MetadataImage>,
}
