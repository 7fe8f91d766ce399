//! Five of Kafka's rules as plain functions a configuration carries.
//!
//! Most of the model's rules are written where they decide, in the node that
//! decides. Five of them are small, pure and famous enough to be rewritten by a
//! learner: the key partitioner, the leader's high watermark, the follower's
//! truncation point after `OffsetsForLeaderEpoch`, the range assignor and the
//! idempotent producer's sequence check. For those, the node does not call the
//! function directly but through a [`Rules`] it was configured with: the
//! producer through `ProducerConfig`, the consumer through `ConsumerConfig`,
//! the broker through `BrokerConfig`. [`Rules::KAFKA`] holds the model's own
//! functions, each in a module of its own below the nodes that call it
//! (`partitioner`, `replication`, `assignment`, `producer_state`), so that this
//! module and the configurations that carry it need nothing from the nodes; a
//! lab puts a learner's version in one field and runs the unchanged model with
//! it.
//!
//! A `Rules` is plain data: five function pointers, copied into each
//! configuration, costing one indirect call where a direct one was. It is not
//! a setting of Kafka's and never appears in a scenario file or a trace: the
//! harness sets it. Real Kafka has one of the five as a plug-in point
//! (`partitioner.class`, and `partition.assignment.strategy` for assignors);
//! the other three are fixed code in the broker.

use crate::ids::{LeaderEpoch, Offset};
use crate::log::Log;

pub use crate::producer_state::CheckSequence;
pub use crate::replication::Truncation;
use std::fmt;

/// `partitioner.class`'s keyed case: the partition of a record with a key (its bytes),
/// among `num_partitions`.
pub type PartitionForKey = fn(key: &[u8], num_partitions: i32) -> i32;

/// The leader's high watermark after a change: from the current one, the
/// leader's log end offset and the log end offsets of the replicas it waits
/// for (`None`: an ISR member that has not fetched in this leader epoch yet).
pub type HighWatermark =
    fn(current: Offset, leader_log_end_offset: Offset, waited_for: &[Option<Offset>]) -> Offset;

/// Where a follower cuts its log once the leader answered
/// `OffsetsForLeaderEpoch` with `leader_epoch` ending at `leader_end_offset`.
pub type TruncationPoint =
    fn(leader_epoch: LeaderEpoch, leader_end_offset: Offset, log: &Log) -> Truncation;

/// The range assignor's split of one topic: for `partition_count` partitions
/// and `subscribers` members (in Kafka's member order), the partitions of
/// each member, in that order.
pub type RangeAssign = fn(partition_count: i32, subscribers: usize) -> Vec<Vec<i32>>;

/// The rules a node follows where a learner may put in a version of their own.
#[derive(Clone, Copy)]
pub struct Rules {
    pub partition_for_key: PartitionForKey,
    pub high_watermark: HighWatermark,
    pub truncation_point: TruncationPoint,
    pub range_assign: RangeAssign,
    pub check_sequence: CheckSequence,
}

impl Rules {
    /// Kafka's rules, as the model writes them.
    pub const KAFKA: Rules = Rules {
        partition_for_key: crate::partitioner::partition_for_key,
        high_watermark: crate::replication::advance_high_watermark,
        truncation_point: crate::replication::truncation_point,
        range_assign: crate::assignment::range_assign,
        check_sequence: crate::producer_state::check_sequence,
    };

    /// The names of the rules that differ from Kafka's, in field order.
    pub fn changed(&self) -> Vec<&'static str> {
        (self.compare(&Rules::KAFKA).into_iter())
            .filter(|(_, same)| !same)
            .map(|(name, _)| name)
            .collect()
    }

    /// Each field's name, and whether it is the same function in `other`.
    fn compare(&self, other: &Rules) -> [(&'static str, bool); 5] {
        use std::ptr::fn_addr_eq;
        [
            (
                "partition_for_key",
                fn_addr_eq(self.partition_for_key, other.partition_for_key),
            ),
            (
                "high_watermark",
                fn_addr_eq(self.high_watermark, other.high_watermark),
            ),
            (
                "truncation_point",
                fn_addr_eq(self.truncation_point, other.truncation_point),
            ),
            (
                "range_assign",
                fn_addr_eq(self.range_assign, other.range_assign),
            ),
            (
                "check_sequence",
                fn_addr_eq(self.check_sequence, other.check_sequence),
            ),
        ]
    }
}

impl Default for Rules {
    fn default() -> Self {
        Rules::KAFKA
    }
}

/// Two `Rules` are equal when every field is the same function. (A function
/// compiled twice may have two addresses: then two equal rule sets compare
/// unequal, which errs on the side of "changed".)
impl PartialEq for Rules {
    fn eq(&self, other: &Rules) -> bool {
        self.compare(other).iter().all(|(_, same)| *same)
    }
}

impl Eq for Rules {}

/// `Rules(kafka)`, or the fields that differ: `Rules(high_watermark changed)`.
impl fmt::Debug for Rules {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let changed = self.changed();
        match changed.is_empty() {
            true => write!(f, "Rules(kafka)"),
            false => write!(f, "Rules({} changed)", changed.join(", ")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leader_end(_: Offset, leader_log_end_offset: Offset, _: &[Option<Offset>]) -> Offset {
        leader_log_end_offset
    }

    #[test]
    fn kafkas_rules_are_the_default_and_a_changed_rule_is_named() {
        assert_eq!(Rules::default(), Rules::KAFKA);
        assert_eq!(format!("{:?}", Rules::KAFKA), "Rules(kafka)");
        let changed = Rules {
            high_watermark: leader_end,
            ..Rules::KAFKA
        };
        assert_ne!(changed, Rules::KAFKA);
        assert_eq!(format!("{changed:?}"), "Rules(high_watermark changed)");
    }
}
