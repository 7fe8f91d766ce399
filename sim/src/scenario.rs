//! Built-in scenarios: a cluster shape plus the application code that runs on it.
//!
//! A scenario's code runs on simulated client machines and reports what its
//! clients saw (`ScenarioOutcome`): every acknowledged send and every consumed
//! record. Checks read only that, never the nodes' insides.

use crate::cluster::{Cluster, ClusterSpec};
use kafkasim::ids::{Offset, TopicPartition};
use std::future::Future;
use std::pin::Pin;

pub mod quickstart;

/// A send the broker acknowledged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentRecord {
    pub time_ms: u64,
    pub value: String,
    pub partition: TopicPartition,
    pub offset: Offset,
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
    pub consumed: Vec<ConsumedRecord>,
    /// `None` when the scenario's checks passed; otherwise what went wrong.
    pub failure: Option<String>,
}

pub type ScenarioFuture = Pin<Box<dyn Future<Output = ScenarioOutcome> + Send>>;

pub struct Scenario {
    pub name: &'static str,
    pub summary: &'static str,
    pub cluster: fn() -> ClusterSpec,
    pub run: fn(Cluster) -> ScenarioFuture,
}

/// Every built-in scenario; the first is the default of `kafkasim run`.
pub static SCENARIOS: &[Scenario] = &[quickstart::SCENARIO];

pub fn find(name: &str) -> Option<&'static Scenario> {
    SCENARIOS.iter().find(|s| s.name == name)
}
