//! # kafkasim: a faithful small Apache Kafka, as sans-IO state machines
//!
//! This crate is the Kafka model. It holds no networking, no clock and no
//! randomness: every node is a state machine that takes messages and the current
//! time and returns effects. The `kafkasim-sim` crate (in `sim/`) runs these nodes
//! inside the madsim deterministic simulator, injects faults and checks the results.
//!
//! A map of the modules, in the order a reader meets them:
//!
//! - [`ids`]: broker ids, node ids, topic-partitions, offsets.
//! - [`record`]: records and record batches.
//! - [`append_file`]: an append-only file that knows how much of it is flushed.
//! - [`disk`]: a node's disk, which knows what was flushed (power loss vs crash).
//! - [`log`]: the partition log: offsets, log end offset, high watermark.
//! - [`producer_state`]: idempotent producers' sequences a replica remembers.
//! - [`metadata`]: the cluster metadata image the controller publishes.
//! - [`config`]: configuration with Kafka's key names and defaults.
//! - [`error`]: Kafka's error codes.
//! - [`protocol`]: request and response messages named after Kafka's APIs.
//! - [`node`]: the sans-IO contract every node follows (messages in, effects out).
//! - [`event`]: what nodes report for traces and checkers.
//! - [`controller`]: registers and fences brokers, creates topics, elects leaders.
//! - [`broker`]: leads partitions; answers Produce, Fetch, ListOffsets, Metadata.
//! - [`partitioner`]: Kafka's murmur2 key partitioner, sticky and round-robin.
//! - [`group`]: consumer groups: coordinator, assignors, `__consumer_offsets`.
//! - [`rules`]: five of Kafka's rules as functions a configuration carries, so
//!   a lab can run the model with a learner's version of one.
//! - [`client`]: the protocol cores of Admin, Producer and Consumer.
//! - [`testing`]: a deterministic in-memory network that runs the real nodes for
//!   tests, with no simulator: the clock, delivery order and faults in the test's
//!   hands.
//!
//! Where teaching won over realism the module says so, and says what real Kafka
//! does instead. The largest simplifications: one controller instead of a KRaft
//! quorum, one log segment per partition, and Rust values instead of Kafka's binary
//! wire format.

pub mod append_file;
pub mod assignment;
pub mod broker;
pub mod bugs;
pub mod client;
pub mod config;
pub mod controller;
pub mod disk;
pub mod error;
pub mod event;
pub mod group;
pub mod ids;
pub mod log;
pub mod metadata;
pub mod node;
pub mod partitioner;
pub mod producer_state;
pub mod protocol;
pub mod record;
pub mod replication;
pub mod rules;
pub mod testing;

pub use ids::{BrokerId, NodeId, Offset, TopicPartition};
