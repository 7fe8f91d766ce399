//! Lab `range-assignor`: who in a consumer group reads which partition.
//!
//! In Kafka's classic group protocol the group's leader member assigns the
//! partitions, with the assignor the group agreed on
//! (`partition.assignment.strategy`); `range` is the first in the default
//! list. Kafka's `RangeAssignor` works topic by topic: the partitions of a
//! topic, in numeric order, are split into **contiguous ranges** over the
//! members that subscribe to it, in member order. When the count does not
//! divide evenly, the **first** `count % members` members get one partition
//! more. So 7 partitions over 3 members are `[0, 1, 2]`, `[3, 4]`, `[5, 6]`.
//!
//! The model orders the members as Kafka does (static members first, by
//! `group.instance.id`, then the others by member id) and calls this once per
//! topic with the topic's partition count and how many members subscribe to
//! it. Return one list per member, in that order.
//!
//! Every partition must go to exactly one member: a partition given to nobody
//! is never read, one given to two is read twice.
//!
//! Check it: `cargo run --release -- lab check range-assignor`.
//! The model's version: `range_assign` in `src/assignment.rs`.

/// The partitions of each of `subscribers` members, in member order, of a
/// topic with `partition_count` partitions.
pub fn range_assign(partition_count: i32, subscribers: usize) -> Vec<Vec<i32>> {
    todo!("contiguous ranges, the first count % subscribers members one partition more")
}
