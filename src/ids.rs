//! Identifiers shared by every node: broker ids, node addresses, topic-partitions.
//!
//! Kafka names a broker by its integer `node.id` and a partition by topic name plus
//! partition index. The model keeps both. A `NodeId` is the model's stand-in for a
//! network address: it says *which process* a message comes from or goes to.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Kafka's `node.id` of a broker (an `int32` on the wire).
pub type BrokerId = i32;
/// A position in a partition log (an `int64` on the wire).
pub type Offset = i64;
/// Bumped by the controller on every leader change of a partition.
pub type LeaderEpoch = i32;

/// A leader epoch / end offset the leader does not know (Kafka's
/// `UNDEFINED_EPOCH` and `UNDEFINED_EPOCH_OFFSET`).
pub const UNDEFINED_EPOCH: LeaderEpoch = -1;
pub const UNDEFINED_EPOCH_OFFSET: Offset = -1;
/// Kafka matches responses to requests with a per-connection correlation id.
pub type CorrelationId = u64;

/// Which simulated process a message comes from or goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum NodeId {
    /// The single KRaft-style controller (the seed's "ZooKeeper" role).
    Controller,
    /// A broker, by its `node.id`.
    Broker(BrokerId),
    /// A client process (admin, producer or consumer), numbered by the harness.
    Client(u32),
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NodeId::Controller => write!(f, "controller"),
            NodeId::Broker(id) => write!(f, "broker-{id}"),
            NodeId::Client(id) => write!(f, "client-{id}"),
        }
    }
}

/// A partition of a topic, printed the way Kafka prints it: `users-0`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct TopicPartition {
    pub topic: String,
    pub partition: i32,
}

impl TopicPartition {
    pub fn new(topic: impl Into<String>, partition: i32) -> Self {
        TopicPartition {
            topic: topic.into(),
            partition,
        }
    }
}

impl fmt::Display for TopicPartition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.topic, self.partition)
    }
}
