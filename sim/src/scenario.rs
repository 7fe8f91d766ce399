//! Built-in scenarios: a cluster shape plus the application code that runs on it.
//!
//! A scenario's code runs on simulated client machines and reports what its
//! clients saw (`ScenarioOutcome`): every acknowledged send and every consumed
//! record. Checks read only that, never the nodes' insides.

use crate::cluster::{Cluster, ClusterSpec};
use kafkasim::ids::{Offset, TopicPartition};
use kafkasim::protocol::Acks;
use std::future::Future;
use std::pin::Pin;

pub mod failover;
pub mod groups;
pub mod quickstart;
pub mod standard;
mod toolkit;
mod worker;

/// A send the broker acknowledged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentRecord {
    pub time_ms: u64,
    pub value: String,
    pub partition: TopicPartition,
    pub offset: Offset,
    /// The `acks` it was sent with: what its acknowledgement promised.
    pub acks: Acks,
}

/// A send that ended in an error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedSend {
    pub time_ms: u64,
    pub value: String,
    /// The client's error, as printed.
    pub error: String,
    /// True when the write may still have happened (a timeout, or an error after
    /// the append): a checker must treat it as unknown, not as failed.
    pub ambiguous: bool,
}

/// A record a consumer's poll returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumedRecord {
    pub time_ms: u64,
    pub value: String,
    pub partition: TopicPartition,
    pub offset: Offset,
}

/// What the scenario's clients saw, and whether the scenario's checks passed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScenarioOutcome {
    pub sent: Vec<SentRecord>,
    pub failed: Vec<FailedSend>,
    pub consumed: Vec<ConsumedRecord>,
    /// Anomalies the run showed that Kafka's promises allow under its settings
    /// (e.g. an `acks=1` write lost in a failover), each with the reason.
    pub allowed_anomalies: Vec<String>,
    /// `None` when the scenario's checks passed; otherwise what went wrong.
    pub failure: Option<String>,
    /// Progress the scenario waited for and did not see within its own bound
    /// (e.g. a group that never processed some acknowledged records): a liveness
    /// failure, told apart from a broken promise.
    pub liveness_failure: Option<String>,
}

pub type ScenarioFuture = Pin<Box<dyn Future<Output = ScenarioOutcome> + Send>>;

pub struct Scenario {
    pub name: &'static str,
    pub summary: &'static str,
    pub cluster: fn() -> ClusterSpec,
    pub run: fn(Cluster) -> ScenarioFuture,
}

/// Every built-in scenario; the first is the default of `kafkasim run`.
pub static SCENARIOS: &[Scenario] = &[
    quickstart::SCENARIO,
    failover::LEADER_CRASH_ACKS_ALL,
    failover::PREFERRED_LEADER_RETURNS,
    failover::ACKS_1_FAILOVER,
    failover::UNCLEAN_ELECTION,
    failover::UNCLEAN_ELECTION_DISABLED,
    failover::SPLIT_BRAIN_OLD_LEADER,
    failover::CONTROLLER_CRASH,
    failover::LOST_PRODUCE_RESPONSE,
    failover::LOST_PRODUCE_RESPONSE_IDEMPOTENT,
    failover::KIP_101,
    failover::KIP_101_HIGH_WATERMARK_TRUNCATION,
    failover::LAST_REPLICA_POWER_LOSS,
    failover::LAST_REPLICA_PROCESS_CRASH,
    groups::CONSUMER_CRASH,
    groups::MEMBER_JOINS,
    groups::ZOMBIE_CONSUMER,
    groups::COORDINATOR_CRASH,
    groups::COMMIT_AFTER_PROCESSING,
    groups::COMMIT_BEFORE_PROCESSING,
    standard::STANDARD,
];

pub fn find(name: &str) -> Option<&'static Scenario> {
    SCENARIOS.iter().find(|s| s.name == name)
}
