//! A workload: a scenario written as data rather than code. A cluster, its
//! topics, producers sending at a steady rate, consumer groups processing what
//! they send, a fault plan, and two phase lengths. `standard` is one; every
//! scenario file (see [`file`](mod@file)) is one. A workload with steps is a *story*
//! (see [`step`]): no rates and no fault plan, only what its steps say.
//!
//! A run has three phases. **Safety**: the producers send while the fault plan
//! runs (a schedule drawn from the seed, one written out, or none). **Heal**:
//! every fault still on is undone, and the producers stop sending. **Liveness**:
//! up to `liveness_ms` for the producers' last sends to finish, for every group
//! to process every acknowledged record of its topics, and for every replica to
//! be back in sync. Then a fresh consumer (`reader`) reads every partition from
//! the beginning to its end.
//!
//! Every client operation goes into the run's history: each send, each poll
//! of the groups' consumers and of the reader, the rebalances between polls,
//! and the records the groups' applications processed. The one judge
//! (`kafkasim_check::judge`) reads it, with what the cluster itself showed
//! (replicas that disagree, broken invariants): an anomaly the workload's
//! settings allow (`acks=1` may lose a write; idempotence off may duplicate one;
//! a group that commits after processing may process a record twice) is listed
//! with its reason, any other fails the run.

use super::worker::Commit;
use crate::nemesis::Profile;
use kafkasim::client::producer::ProducerConfig;
use kafkasim::ids::TopicPartition;
use kafkasim_check::fault::{Action, Schedule};
use kafkasim_check::Kind;
use kafkasim_sim::ClusterSpec;
use std::collections::BTreeMap;

pub mod file;
mod producing;
mod running;
pub mod step;
mod story;
mod validate;

pub use running::run;
pub use step::{Condition, Step};
pub use story::run as run_story;
pub use validate::{
    BROKERS_MAX, CLIENTS_MAX, EXTRA_LATENCY_MS_MAX, PARTITIONS_MAX, PHASES_MS_MAX, PHASE_MS_MAX,
    RATE_PER_S_MAX,
};

/// A topic the workload creates before anything else runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicSpec {
    pub name: String,
    pub partitions: i32,
    pub replication_factor: i16,
    /// Topic configs by Kafka key (`min.insync.replicas`, …).
    pub configs: BTreeMap<String, String>,
}

/// One producer, on its own client machine, sending to one topic; or a
/// story's producer, which sends only what its steps say (its `topic` is empty
/// and its `interval_ms` 0).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProducerSpec {
    /// The client machine's name, also the process name in the history.
    pub name: String,
    pub topic: String,
    /// Sends a record this often.
    pub interval_ms: u64,
    /// Records are keyed `k0` … `k{keys-1}` (the key picks the partition, with
    /// murmur2 as Kafka's default partitioner does); 0: no keys, and the
    /// application picks the partitions round-robin itself.
    pub keys: u64,
    /// Producer configs by Kafka key, applied in order.
    pub settings: Vec<(String, String)>,
}

/// A consumer group: its consumers, each a worker on its own client machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupSpec {
    /// The `group.id`.
    pub id: String,
    pub topics: Vec<String>,
    /// The consumers' machine names.
    pub consumers: Vec<String>,
    pub commit: Commit,
    /// Extra consumer configs by Kafka key (`partition.assignment.strategy`, …).
    pub settings: Vec<(String, String)>,
}

/// What faults the safety phase brings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FaultPlan {
    None,
    /// Drawn from the seed under the profile (see [`crate::nemesis`]).
    Swarm(Profile),
    /// Written out: the same faults for every seed.
    Schedule(Schedule),
}

/// What a scenario file says its runs show: written by `kafkasim shrink` into
/// the minimal file it prints, so a replay can tell whether it still does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expectation {
    /// The seed that shows it; `kafkasim run` uses it when given no `--seed`.
    pub seed: u64,
    /// The finding's kind (`lost-write`, `processed-again`, …).
    pub kind: Kind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Workload {
    pub summary: String,
    pub expect: Option<Expectation>,
    pub cluster: ClusterSpec,
    pub topics: Vec<TopicSpec>,
    pub producers: Vec<ProducerSpec>,
    pub groups: Vec<GroupSpec>,
    pub faults: FaultPlan,
    pub safety_ms: u64,
    pub liveness_ms: u64,
    /// A story's steps (see [`step`]); empty for a workload that produces at
    /// rates under a fault plan.
    pub steps: Vec<Step>,
    /// A bug hunt (`hunt = true`): a run's text says that bugs are switched
    /// on, not which, so that a learner finds the rule from what breaks.
    pub hunt: bool,
}

/// The producer settings every workload producer starts from, before its own:
/// shorter than Kafka's defaults (30 s, 120 s) so that a send stuck behind a
/// fault ends inside a run of a minute or two.
pub const PRODUCER_DEFAULTS: [(&str, &str); 2] = [
    ("request.timeout.ms", "10000"),
    ("delivery.timeout.ms", "30000"),
];

/// Consumer settings the workers set themselves; a group may not change them.
pub const WORKER_OWNED_SETTINGS: [&str; 3] =
    ["group.id", "enable.auto.commit", "auto.offset.reset"];

impl Workload {
    /// `standard`, the built-in swarm scenario: `sim/scenarios/standard.toml`.
    pub fn standard() -> Workload {
        built_in(include_str!("../../scenarios/standard.toml"))
    }

    /// `replicated`, the default of `kafkasim run`: `sim/scenarios/replicated.toml`.
    pub fn replicated() -> Workload {
        built_in(include_str!("../../scenarios/replicated.toml"))
    }

    /// `groups`: `sim/scenarios/groups.toml`.
    pub fn groups() -> Workload {
        built_in(include_str!("../../scenarios/groups.toml"))
    }

    /// Whether the workload is a story: steps, not rates and a fault plan.
    pub fn is_story(&self) -> bool {
        !self.steps.is_empty()
    }

    pub fn topic(&self, name: &str) -> Option<&TopicSpec> {
        self.topics.iter().find(|t| t.name == name)
    }

    /// Every partition of the workload's topics, in order.
    pub fn partitions(&self) -> Vec<TopicPartition> {
        (self.topics.iter())
            .flat_map(|t| (0..t.partitions).map(|p| TopicPartition::new(t.name.clone(), p)))
            .collect()
    }

    /// Every client machine's name: the producers', then the consumers' (a
    /// story's: `app`).
    pub fn clients(&self) -> Vec<String> {
        if self.is_story() {
            // A story's producers and its reader are processes of one
            // client machine, `app`: a client fault cuts or stops them all.
            return vec!["app".to_string()];
        }
        let producers = self.producers.iter().map(|p| p.name.clone());
        let consumers = self.groups.iter().flat_map(|g| g.consumers.iter().cloned());
        producers.chain(consumers).collect()
    }

    /// Each producer's configuration, as its client will see it.
    pub fn producer_config(&self, producer: &ProducerSpec) -> Result<ProducerConfig, String> {
        let mut config = ProducerConfig::new(vec![]);
        for (key, value) in PRODUCER_DEFAULTS {
            config.set_default(key, value).map_err(|e| e.to_string())?;
        }
        for (key, value) in &producer.settings {
            config.set(key, value).map_err(|e| e.to_string())?;
        }
        config.validate().map_err(|e| e.to_string())?;
        Ok(config)
    }

    /// The same workload with a safety phase of `ms` (`kafkasim run
    /// --safety-phase-s`): a written schedule's phase grows with it.
    pub fn with_safety_phase(mut self, ms: u64) -> Workload {
        self.safety_ms = ms;
        if let FaultPlan::Schedule(schedule) = &mut self.faults {
            schedule.phase_ms = ms;
        }
        self
    }

    /// Whether a written schedule loses power on a broker or replaces its disk
    /// (a drawn one may, under [`Profile::WILD`]).
    pub fn has_power_loss(&self) -> bool {
        match &self.faults {
            FaultPlan::None => false,
            FaultPlan::Swarm(profile) => profile.power_loss,
            FaultPlan::Schedule(schedule) => {
                let loses_data =
                    |a: &Action| matches!(a, Action::PowerLoss { .. } | Action::ReplaceDisk { .. });
                (schedule.faults.iter()).any(|f| loses_data(&f.action))
            }
        }
    }
}

/// A built-in workload from its scenario file, which every build checks.
fn built_in(text: &str) -> Workload {
    file::parse(text).unwrap_or_else(|e| panic!("a built-in scenario file is valid: {e}"))
}
