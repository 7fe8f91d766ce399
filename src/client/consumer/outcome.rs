//! What the consumer hands back: records, the outcome of each call, the
//! rebalance listener's events, and the outcomes of asynchronous commits.

use crate::client::ClientError;
use crate::ids::{LeaderEpoch, Offset, TopicPartition};
use std::collections::BTreeMap;
use std::fmt;

/// A record as `poll` returns it (Kafka's `ConsumerRecord`).
#[derive(Debug, Clone, PartialEq, Hash, Eq)]
pub struct ConsumerRecord {
    pub partition: TopicPartition,
    pub offset: Offset,
    /// The leader epoch the record was appended in (Kafka's `leaderEpoch()`).
    pub leader_epoch: LeaderEpoch,
    pub key: Option<String>,
    pub value: String,
    pub timestamp_ms: u64,
}

pub type PollOutcome = Result<Vec<ConsumerRecord>, ClientError>;
pub type CommitOutcome = Result<(), ClientError>;

/// What a consumer call completes with.
#[derive(Clone, PartialEq, Hash, Eq)]
pub enum ConsumerOutcome {
    Poll(PollOutcome),
    /// `commit_sync`: done, or failed for good (or timed out).
    Commit(CommitOutcome),
    Close,
}

/// Prints a poll's outcome bare, so a trace shows polls the same way whatever
/// else the consumer can complete.
impl fmt::Debug for ConsumerOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConsumerOutcome::Poll(outcome) => outcome.fmt(f),
            ConsumerOutcome::Commit(outcome) => f.debug_tuple("Commit").field(outcome).finish(),
            ConsumerOutcome::Close => f.write_str("Close"),
        }
    }
}

/// What Kafka's `ConsumerRebalanceListener` would be told, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RebalanceEvent {
    /// `onPartitionsAssigned`: new partitions (after every rebalance, maybe none).
    Assigned(Vec<TopicPartition>),
    /// `onPartitionsRevoked`: given up in an orderly rebalance; commit now or never.
    Revoked(Vec<TopicPartition>),
    /// `onPartitionsLost`: the member was no longer in the group; another member
    /// may already own them, so a commit would fail.
    Lost(Vec<TopicPartition>),
}

/// The outcome of an asynchronous commit: `commit_async`, or one the consumer
/// made itself (auto-commit, or the commit before a rebalance or a close).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitResult {
    /// True for commits the consumer made itself (`enable.auto.commit`).
    pub auto: bool,
    pub offsets: BTreeMap<TopicPartition, Offset>,
    pub outcome: CommitOutcome,
}

/// The group membership a commit is made under (Kafka's `ConsumerGroupMetadata`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupMetadata {
    pub group_id: String,
    pub generation_id: i32,
    pub member_id: String,
    pub group_instance_id: Option<String>,
}
