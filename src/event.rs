//! Events nodes report: what a trace, a timeline and the checkers read.
//!
//! Events are facts a node *did*, never guesses about others. Checkers of replica
//! invariants read these; they never look inside a node.

use crate::group::coordinator::GroupEvent;
use crate::ids::{BrokerId, LeaderEpoch, Offset, TopicPartition};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Hash, Eq, Serialize, Deserialize)]
pub enum ClusterEvent {
    /// The controller registered a broker and gave it an epoch.
    BrokerRegistered { broker: BrokerId, broker_epoch: i64 },
    /// The controller fenced a broker that stopped heartbeating.
    BrokerFenced { broker: BrokerId },
    /// A fenced broker heartbeated again and may lead partitions.
    BrokerUnfenced { broker: BrokerId },
    /// The controller created a topic and placed its replicas.
    TopicCreated {
        topic: String,
        replicas: Vec<Vec<BrokerId>>,
    },
    /// The controller changed a partition's leader (`None`: no leader available).
    LeaderElected {
        partition: TopicPartition,
        leader: Option<BrokerId>,
        leader_epoch: LeaderEpoch,
        isr: Vec<BrokerId>,
        /// Eligible leader replicas (KIP-966; empty when off).
        elr: Vec<BrokerId>,
        unclean: bool,
    },
    /// The controller accepted a new ISR for a partition (an `AlterPartition`, or a
    /// fenced broker leaving it).
    IsrChanged {
        partition: TopicPartition,
        isr: Vec<BrokerId>,
        /// Eligible leader replicas (KIP-966; empty when off).
        elr: Vec<BrokerId>,
        partition_epoch: i32,
    },
    /// A broker started following a leader of a partition in an epoch.
    BecameFollower {
        broker: BrokerId,
        partition: TopicPartition,
        leader: BrokerId,
        leader_epoch: LeaderEpoch,
    },
    /// A follower cut its log back to `log_end_offset`, dropping `records`.
    Truncated {
        broker: BrokerId,
        partition: TopicPartition,
        log_end_offset: Offset,
        records: i64,
    },
    /// A broker started acting as leader of a partition in an epoch.
    BecameLeader {
        broker: BrokerId,
        partition: TopicPartition,
        leader_epoch: LeaderEpoch,
    },
    /// A broker appended a batch as leader.
    Appended {
        broker: BrokerId,
        partition: TopicPartition,
        base_offset: Offset,
        records: i64,
    },
    /// A group coordinator did something (a broker reports it).
    Group(GroupEvent),
    /// A broker's high watermark for a partition moved.
    HighWatermark {
        broker: BrokerId,
        partition: TopicPartition,
        high_watermark: Offset,
    },
    /// The controller deleted a topic (DeleteTopics): its `partitions`
    /// partitions are gone from the metadata, and each broker drops its
    /// replicas when it sees that. (Last, so the variants before keep their
    /// discriminants in the trace hash.)
    TopicDeleted { topic: String, partitions: i32 },
}
