//! What the consumer hands back: records, the outcome of each call, the
//! rebalance listener's events, and the outcomes of asynchronous commits.

use crate::client::ClientError;
use crate::ids::{LeaderEpoch, Offset, TopicPartition};
use crate::record::{hash_headers, hash_value, Data, Header, ShownValue};
use std::collections::BTreeMap;
use std::fmt;
use std::hash::{Hash, Hasher};

/// A record as `poll` returns it (Kafka's `ConsumerRecord`). `Debug` and
/// `Hash` are written by hand, as `Record`'s, so that a record with a value and
/// no headers shows and hashes as when values were strings.
#[derive(Clone, PartialEq, Eq)]
pub struct ConsumerRecord {
    pub partition: TopicPartition,
    pub offset: Offset,
    /// The leader epoch the record was appended in (Kafka's `leaderEpoch()`).
    pub leader_epoch: LeaderEpoch,
    pub key: Option<Data>,
    /// `None` for a tombstone.
    pub value: Option<Data>,
    pub headers: Vec<Header>,
    pub timestamp_ms: u64,
}

impl ConsumerRecord {
    /// The value as text (see [`crate::record::value_text`]).
    pub fn value_text(&self) -> String {
        crate::record::value_text(&self.value)
    }
}

impl fmt::Debug for ConsumerRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut record = f.debug_struct("ConsumerRecord");
        record
            .field("partition", &self.partition)
            .field("offset", &self.offset)
            .field("leader_epoch", &self.leader_epoch)
            .field("key", &self.key)
            .field("value", &ShownValue(&self.value));
        if !self.headers.is_empty() {
            record.field("headers", &self.headers);
        }
        record.field("timestamp_ms", &self.timestamp_ms).finish()
    }
}

impl Hash for ConsumerRecord {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.partition.hash(state);
        self.offset.hash(state);
        self.leader_epoch.hash(state);
        self.key.hash(state);
        hash_value(&self.value, state);
        self.timestamp_ms.hash(state);
        hash_headers(&self.headers, state);
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::hash_map::DefaultHasher;

    /// `ConsumerRecord` as it was when keys and values were strings.
    #[derive(Debug, Hash)]
    struct Before {
        partition: TopicPartition,
        offset: Offset,
        leader_epoch: LeaderEpoch,
        key: Option<String>,
        value: String,
        timestamp_ms: u64,
    }

    fn hash_of(value: &impl Hash) -> u64 {
        let mut hasher = DefaultHasher::new();
        value.hash(&mut hasher);
        hasher.finish()
    }

    #[test]
    fn a_polled_text_record_without_headers_shows_and_hashes_as_before() {
        let now = ConsumerRecord {
            partition: TopicPartition::new("orders", 1),
            offset: 4,
            leader_epoch: 2,
            key: Some("k".into()),
            value: Some("Alice".into()),
            headers: Vec::new(),
            timestamp_ms: 9,
        };
        let before = Before {
            partition: TopicPartition::new("orders", 1),
            offset: 4,
            leader_epoch: 2,
            key: Some("k".into()),
            value: "Alice".into(),
            timestamp_ms: 9,
        };
        let shown = format!("{before:?}").replacen("Before", "ConsumerRecord", 1);
        assert_eq!(format!("{now:?}"), shown);
        assert_eq!(hash_of(&now), hash_of(&before));
        assert_eq!(now.value_text(), "Alice");
    }
}
