//! Consumer groups: the coordinator that runs on brokers, the assignors that run
//! on the group's leader member, and the records that keep a group's state in the
//! internal topic `__consumer_offsets`.
//!
//! A group's coordinator is the broker leading partition
//! `abs(java_string_hash(group.id)) % offsets.topic.num.partitions` of
//! `__consumer_offsets`. Committed offsets and group metadata are records in that
//! partition, replicated like any data, so a coordinator failover is a leader
//! change: the new leader rebuilds the groups by reading the partition.

pub mod assignor;
pub mod coordinator;
pub mod offsets_topic;
