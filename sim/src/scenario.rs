//! Built-in scenarios: a cluster shape plus the application code that runs on it.
//!
//! A scenario's code runs on simulated client machines and reports what its
//! clients saw (`ScenarioOutcome`): every acknowledged send and every consumed
//! record. Checks read only that, never the nodes' insides.

use crate::cluster::{Cluster, ClusterSpec};
use kafkasim::ids::{Offset, TopicPartition};
use kafkasim::protocol::Acks;
use kafkasim_check::checkers::CheckReport;
use kafkasim_check::history::Entry;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use workload::Workload;

pub mod failover;
pub mod groups;
pub mod quickstart;
pub mod standard;
mod toolkit;
pub mod worker;
pub mod workload;

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
    /// Every client operation, when the scenario records a history.
    pub history: Vec<Entry>,
    /// What the history checkers found in it, allowed and failing.
    pub checks: Option<CheckReport>,
    /// The faults the run carried out, when a workload ran them.
    pub schedule: Option<crate::nemesis::Schedule>,
}

pub type ScenarioFuture = Pin<Box<dyn Future<Output = ScenarioOutcome> + Send>>;

pub struct Scenario {
    /// A built-in scenario's name, or the path of a scenario file as given:
    /// what `--scenario` takes to run it again.
    pub name: &'static str,
    pub summary: &'static str,
    pub body: Body,
}

/// What a scenario runs.
pub enum Body {
    /// Application code, written for one story (`quickstart`, the failovers…).
    Code {
        cluster: fn() -> ClusterSpec,
        run: fn(Cluster) -> ScenarioFuture,
    },
    /// A built-in workload (`standard`).
    BuiltIn(fn() -> Workload),
    /// A workload read from a scenario file.
    File(Arc<Workload>),
}

impl Scenario {
    /// The cluster the scenario runs on.
    pub fn cluster(&self) -> ClusterSpec {
        match &self.body {
            Body::Code { cluster, .. } => cluster(),
            Body::BuiltIn(workload) => workload().cluster,
            Body::File(workload) => workload.cluster.clone(),
        }
    }

    /// Starts the scenario's application code on `cluster`. A workload's safety
    /// phase is the run's `--safety-phase-s`, when one was given.
    pub fn start(&self, cluster: Cluster) -> ScenarioFuture {
        let longer = |mut workload: Workload| {
            if let Some(ms) = crate::run::safety_phase_ms() {
                workload.safety_ms = ms;
                if let workload::FaultPlan::Schedule(schedule) = &mut workload.faults {
                    schedule.phase_ms = ms;
                }
            }
            Arc::new(workload)
        };
        match &self.body {
            Body::Code { run, .. } => run(cluster),
            Body::BuiltIn(workload) => longer(workload()).start(cluster),
            Body::File(workload) => longer((**workload).clone()).start(cluster),
        }
    }

    /// The workload, when the scenario is one.
    pub fn workload(&self) -> Option<Workload> {
        match &self.body {
            Body::Code { .. } => None,
            Body::BuiltIn(workload) => Some(workload()),
            Body::File(workload) => Some((**workload).clone()),
        }
    }
}

/// Every built-in scenario; the first is the default of `kafkasim run`.
pub static SCENARIOS: &[Scenario] = &[
    standard::REPLICATED,
    quickstart::SCENARIO,
    standard::GROUPS,
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

/// A built-in scenario by name, or a scenario file loaded before by its path.
pub fn find(name: &str) -> Option<&'static Scenario> {
    let loaded = LOADED.lock().expect("loaded scenarios lock");
    (SCENARIOS.iter().find(|s| s.name == name))
        .or_else(|| loaded.iter().copied().find(|s| s.name == name))
}

/// Scenario files loaded in this process, each once.
static LOADED: Mutex<Vec<&'static Scenario>> = Mutex::new(Vec::new());

/// Reads, checks and keeps the scenario file at `path`; the scenario's name is
/// the path as given. A file is read once per process: it lives as long as the
/// process, like the built-in scenarios.
pub fn load_file(path: &str) -> Result<&'static Scenario, String> {
    if let Some(found) = find(path) {
        return Ok(found);
    }
    let workload = workload::file::read(std::path::Path::new(path))?;
    let summary = match workload.summary.as_str() {
        "" => format!("scenario file {path}"),
        text => text.to_string(),
    };
    let scenario: &'static Scenario = Box::leak(Box::new(Scenario {
        name: Box::leak(path.to_string().into_boxed_str()),
        summary: Box::leak(summary.into_boxed_str()),
        body: Body::File(Arc::new(workload)),
    }));
    LOADED.lock().expect("loaded scenarios lock").push(scenario);
    Ok(scenario)
}
