//! A workload: a scenario written as data rather than code. A cluster, its
//! topics, producers sending at a steady rate, consumer groups processing what
//! they send, a fault plan, and two phase lengths. `standard` is one; every
//! scenario file (see [`file`]) is one.
//!
//! A run has three phases. **Safety**: the producers send while the fault plan
//! runs (a schedule drawn from the seed, one written out, or none). **Heal**:
//! every fault still on is undone, and the producers stop sending. **Liveness**:
//! up to `liveness_ms` for the producers' last sends to finish, for every group
//! to process every acknowledged record of its topics, and for every replica to
//! be back in sync. Then a fresh consumer (`reader`) reads every partition from
//! the beginning.
//!
//! Every client operation goes into the run's [`History`]: each send, each poll
//! of the groups' consumers and of the reader, and the rebalances between polls.
//! The verdict comes from the history checkers ([`kafkasim_check::checkers`]), which know
//! what the workload's settings allow (`acks=1` may lose a write; idempotence off
//! may duplicate one; …): an allowed anomaly is listed with its reason, any
//! other fails the run. Divergent replicas fail it too (`run` checks those).
//! What the groups processed is judged apart: a record processed twice is
//! allowed when the group commits after processing (at-least-once); an
//! acknowledged record a group never processed within the bound, though the log
//! still holds it, is a liveness failure, or allowed when the group commits
//! before processing (at-most-once).

use super::worker::Commit;
use super::ScenarioFuture;
use crate::cluster::{Cluster, ClusterSpec};
use crate::nemesis::{Fault, FaultKind, Profile, Schedule, TimedFault};
use kafkasim::client::consumer::ConsumerConfig;
use kafkasim::client::producer::ProducerConfig;
use kafkasim::config::TopicConfig;
use kafkasim::ids::{NodeId, TopicPartition};
use kafkasim::protocol::Acks;
use std::collections::BTreeMap;
use std::sync::Arc;

pub mod file;
mod judge;
mod producing;
mod running;

/// A topic the workload creates before anything else runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicSpec {
    pub name: String,
    pub partitions: i32,
    pub replication_factor: i16,
    /// Topic configs by Kafka key (`min.insync.replicas`, …).
    pub configs: BTreeMap<String, String>,
}

/// One producer, on its own client machine, sending to one topic.
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
    /// The anomaly kind (`lost-write`, `processed-again`, …), as
    /// [`crate::shrink::shown_kinds`] names it.
    pub kind: String,
}

#[derive(Debug, Clone)]
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

/// The longest phase a workload may ask for, and the longest run: a run must
/// end well inside `run::SCENARIO_TIME_LIMIT_MS`, with room to set up and read.
pub const PHASE_MS_MAX: u64 = 300_000;
pub const PHASES_MS_MAX: u64 = 480_000;
pub const BROKERS_MAX: u32 = 9;
pub const PARTITIONS_MAX: i32 = 64;
pub const RATE_PER_S_MAX: u64 = 1000;
/// The most extra latency a slow network may add to every message, in ms.
pub const EXTRA_LATENCY_MS_MAX: u64 = 10_000;

impl Workload {
    /// `standard`: three brokers; topic `events` with 6 partitions, RF 3 and
    /// `min.insync.replicas` 2; two idempotent `acks=all` producers sending
    /// keyed records 20 a second each; a group of three committing after
    /// processing; 60 s of faults drawn under [`Profile::SAFE`], then up to 60 s
    /// to recover.
    pub fn standard() -> Workload {
        let producer = |n: u32| ProducerSpec {
            name: format!("producer-{n}"),
            topic: "events".into(),
            interval_ms: 50,
            keys: 24,
            settings: settings(&[("acks", "all"), ("enable.idempotence", "true")]),
        };
        Workload {
            summary: String::new(),
            expect: None,
            cluster: ClusterSpec::default(),
            topics: vec![TopicSpec {
                name: "events".into(),
                partitions: 6,
                replication_factor: 3,
                configs: BTreeMap::from([("min.insync.replicas".into(), "2".into())]),
            }],
            producers: vec![producer(1), producer(2)],
            groups: vec![GroupSpec {
                id: "group-1".into(),
                topics: vec!["events".into()],
                consumers: (1..=3).map(|n| format!("consumer-{n}")).collect(),
                commit: Commit::AfterProcessing,
                settings: vec![],
            }],
            faults: FaultPlan::Swarm(Profile::SAFE),
            safety_ms: 60_000,
            liveness_ms: 60_000,
        }
    }

    /// `replicated`: the crash course's pieces together, and one failure. Three
    /// brokers; topic `orders` with 3 partitions, RF 3, `min.insync.replicas` 2;
    /// one idempotent `acks=all` producer, 10 keyed records a second; a group
    /// of two consumers. At 10 s broker 1 crashes for 12 s: the partitions it led
    /// fail over, the ISRs shrink, the group finds a new coordinator, and when
    /// the broker returns it catches up and rejoins every ISR.
    pub fn replicated() -> Workload {
        Workload {
            summary: String::new(),
            expect: None,
            cluster: ClusterSpec::default(),
            topics: vec![TopicSpec {
                name: "orders".into(),
                partitions: 3,
                replication_factor: 3,
                configs: BTreeMap::from([("min.insync.replicas".into(), "2".into())]),
            }],
            producers: vec![ProducerSpec {
                name: "producer-1".into(),
                topic: "orders".into(),
                interval_ms: 100,
                keys: 12,
                settings: settings(&[("acks", "all"), ("enable.idempotence", "true")]),
            }],
            groups: vec![GroupSpec {
                id: "group-1".into(),
                topics: vec!["orders".into()],
                consumers: (1..=2).map(|n| format!("consumer-{n}")).collect(),
                commit: Commit::AfterProcessing,
                settings: vec![],
            }],
            faults: FaultPlan::Schedule(Schedule {
                phase_ms: 30_000,
                faults: vec![TimedFault {
                    at_ms: 10_000,
                    fault: Fault::BrokerCrash {
                        broker: 1,
                        kind: kafkasim::disk::CrashKind::ProcessCrash,
                        down_ms: 12_000,
                    },
                }],
            }),
            safety_ms: 30_000,
            liveness_ms: 30_000,
        }
    }

    /// `groups`: a group of three shares six partitions, and one member stalls.
    /// Topic `users` (RF 3); one producer, 10 keyed records a second; at 8 s
    /// consumer-2 stops the world for 15 s, past its 10 s session: the group
    /// rebalances without it, and takes it back when it resumes, a zombie for a
    /// moment (its commit is refused; what it held is processed again).
    pub fn groups() -> Workload {
        let mut workload = Workload::replicated();
        workload.topics[0].name = "users".into();
        workload.topics[0].partitions = 6;
        workload.producers[0].topic = "users".into();
        workload.groups[0].topics = vec!["users".into()];
        workload.groups[0].consumers = (1..=3).map(|n| format!("consumer-{n}")).collect();
        workload.faults = FaultPlan::Schedule(Schedule {
            phase_ms: 30_000,
            faults: vec![TimedFault {
                at_ms: 8_000,
                fault: Fault::ClientPause {
                    client: "consumer-2".into(),
                    for_ms: 15_000,
                },
            }],
        });
        workload.safety_ms = 30_000;
        workload
    }

    /// Runs the workload on `cluster`.
    pub fn start(self: Arc<Self>, cluster: Cluster) -> ScenarioFuture {
        Box::pin(running::run(self, cluster))
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

    /// Every client machine's name: the producers', then the consumers'.
    pub fn clients(&self) -> Vec<String> {
        let producers = self.producers.iter().map(|p| p.name.clone());
        let consumers = self.groups.iter().flat_map(|g| g.consumers.iter().cloned());
        producers.chain(consumers).collect()
    }

    /// Each producer's configuration, as its client will see it.
    pub fn producer_config(&self, producer: &ProducerSpec) -> Result<ProducerConfig, String> {
        let mut config = ProducerConfig::new(vec![]);
        let defaults = PRODUCER_DEFAULTS.iter().map(|(k, v)| (*k, *v));
        let own = producer
            .settings
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()));
        for (key, value) in defaults.chain(own) {
            config.set(key, value).map_err(|e| e.to_string())?;
        }
        config.validate().map_err(|e| e.to_string())?;
        Ok(config)
    }

    /// Whether a fault plan may lose power on a broker.
    pub fn has_power_loss(&self) -> bool {
        match &self.faults {
            FaultPlan::None => false,
            FaultPlan::Swarm(profile) => profile.power_loss,
            FaultPlan::Schedule(schedule) => {
                (schedule.faults.iter()).any(|f| f.fault.kind() == FaultKind::PowerLoss)
            }
        }
    }

    /// The weakest `acks` of any producer.
    pub fn weakest_acks(&self) -> Acks {
        let rank = |acks: Acks| match acks {
            Acks::None => 0,
            Acks::Leader => 1,
            Acks::All => 2,
        };
        (self.producers.iter())
            .filter_map(|p| self.producer_config(p).ok())
            .map(|c| c.acks)
            .min_by_key(|&acks| rank(acks))
            .unwrap_or(Acks::All)
    }

    /// Refuses what cannot run, or would not mean anything: the first problem,
    /// in words that name the part of the workload at fault.
    pub fn validate(&self) -> Result<(), String> {
        let brokers = self.cluster.brokers;
        if !(1..=BROKERS_MAX).contains(&brokers) {
            return Err(format!(
                "cluster: brokers must be 1 to {BROKERS_MAX}, got {brokers}"
            ));
        }
        if self.topics.is_empty() {
            return Err("a workload needs at least one [[topic]]".into());
        }
        for (i, topic) in self.topics.iter().enumerate() {
            validate_topic(topic, brokers)?;
            if self.topics[..i].iter().any(|t| t.name == topic.name) {
                return Err(format!("topic {}: declared twice", topic.name));
            }
        }
        if self.producers.is_empty() {
            return Err("a workload needs at least one [[producer]]".into());
        }
        for producer in &self.producers {
            self.validate_producer(producer)?;
        }
        for group in &self.groups {
            self.validate_group(group)?;
        }
        let clients = self.clients();
        for (i, name) in clients.iter().enumerate() {
            if clients[..i].contains(name) {
                return Err(format!("two clients are named {name}"));
            }
        }
        self.validate_phases()?;
        if let FaultPlan::Schedule(schedule) = &self.faults {
            for timed in &schedule.faults {
                self.validate_fault(timed)?;
            }
        }
        Ok(())
    }

    fn validate_producer(&self, producer: &ProducerSpec) -> Result<(), String> {
        let who = &producer.name;
        if self.topic(&producer.topic).is_none() {
            return Err(format!(
                "{who}: sends to topic {}, which the workload does not declare",
                producer.topic
            ));
        }
        if producer.interval_ms == 0 || 1000 / producer.interval_ms > RATE_PER_S_MAX {
            return Err(format!(
                "{who}: the rate must be 1 to {RATE_PER_S_MAX} records a second"
            ));
        }
        self.producer_config(producer)
            .map(|_| ())
            .map_err(|e| format!("{who}: {e}"))
    }

    fn validate_group(&self, group: &GroupSpec) -> Result<(), String> {
        let who = format!("group {}", group.id);
        if group.consumers.is_empty() {
            return Err(format!("{who}: a group needs at least one consumer"));
        }
        if group.topics.is_empty() {
            return Err(format!("{who}: subscribes to no topic"));
        }
        for topic in &group.topics {
            if self.topic(topic).is_none() {
                return Err(format!(
                    "{who}: subscribes to topic {topic}, which the workload does not declare"
                ));
            }
        }
        let mut config = ConsumerConfig::new(vec![]);
        for (key, value) in &group.settings {
            if WORKER_OWNED_SETTINGS.contains(&key.as_str()) {
                return Err(format!(
                    "{who}: {key} is set by the workload's consumers (group.id from the group, manual commits, auto.offset.reset=earliest)"
                ));
            }
            config.set(key, value).map_err(|e| format!("{who}: {e}"))?;
        }
        config.validate().map_err(|e| format!("{who}: {e}"))
    }

    fn validate_phases(&self) -> Result<(), String> {
        for (name, ms) in [
            ("safety_ms", self.safety_ms),
            ("liveness_ms", self.liveness_ms),
        ] {
            if !(1..=PHASE_MS_MAX).contains(&ms) {
                return Err(format!(
                    "phases: {name} must be 1 to {PHASE_MS_MAX} ms, got {ms}"
                ));
            }
        }
        if self.safety_ms + self.liveness_ms > PHASES_MS_MAX {
            return Err(format!(
                "phases: safety_ms + liveness_ms must be at most {PHASES_MS_MAX} ms"
            ));
        }
        Ok(())
    }

    fn validate_fault(&self, timed: &TimedFault) -> Result<(), String> {
        let at = format!(
            "fault at {} ms ({})",
            timed.at_ms,
            timed.fault.kind().name()
        );
        if timed.at_ms >= self.safety_ms {
            return Err(format!(
                "{at}: starts after the safety phase ({} ms)",
                self.safety_ms
            ));
        }
        if timed.fault.duration_ms() == 0 {
            return Err(format!("{at}: lasts 0 ms"));
        }
        let known = |b: i32| b >= 1 && b as u32 <= self.cluster.brokers;
        let brokers: Vec<i32> = match &timed.fault {
            Fault::BrokerCrash { broker, .. }
            | Fault::BrokerPause { broker, .. }
            | Fault::BrokerIsolation { broker, .. }
            | Fault::ClientCut { broker, .. } => vec![*broker],
            Fault::LinkCut { a, b, .. } | Fault::FlakyLink { a, b, .. } => {
                if a == b {
                    return Err(format!("{at}: cuts broker-{a} from itself"));
                }
                vec![*a, *b]
            }
            Fault::ControllerCrash { .. }
            | Fault::ClientPause { .. }
            | Fault::IsolateController { .. }
            | Fault::IsolateLeader { .. }
            | Fault::SlowNetwork { .. } => vec![],
            Fault::Split { minority, .. } => {
                self.validate_split(&at, minority)?;
                minority.clone()
            }
            Fault::OneWay { from, to, .. } => {
                if from == to {
                    return Err(format!("{at}: stalls {from} from itself"));
                }
                let mut brokers = Vec::new();
                for node in [from, to] {
                    match node {
                        NodeId::Broker(b) => brokers.push(*b),
                        NodeId::Controller => {}
                        NodeId::Client(_) => {
                            return Err(format!(
                                "{at}: {node} is not a server (the controller or a broker)"
                            ))
                        }
                    }
                }
                brokers
            }
        };
        if let Some(b) = brokers.into_iter().find(|&b| !known(b)) {
            return Err(format!(
                "{at}: there is no broker-{b} (brokers are 1 to {})",
                self.cluster.brokers
            ));
        }
        if let Fault::ClientCut { client, .. } | Fault::ClientPause { client, .. } = &timed.fault {
            if !self.clients().contains(client) {
                return Err(format!(
                    "{at}: there is no client {client} (clients: {})",
                    self.clients().join(", ")
                ));
            }
        }
        if let Fault::IsolateLeader {
            topic, partition, ..
        } = &timed.fault
        {
            let Some(spec) = self.topic(topic) else {
                return Err(format!(
                    "{at}: there is no topic {topic} (topics: {})",
                    (self.topics.iter().map(|t| t.name.as_str()))
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            };
            if !(0..spec.partitions).contains(partition) {
                return Err(format!(
                    "{at}: there is no partition {topic}-{partition} (topic {topic} has partitions 0 to {})",
                    spec.partitions - 1
                ));
            }
        }
        if let Fault::SlowNetwork { extra_ms, .. } = &timed.fault {
            if !(1..=EXTRA_LATENCY_MS_MAX).contains(extra_ms) {
                return Err(format!(
                    "{at}: extra_ms must be 1 to {EXTRA_LATENCY_MS_MAX}, got {extra_ms}"
                ));
            }
        }
        Ok(())
    }

    /// A split's minority: some brokers, each once, and not all of them.
    fn validate_split(&self, at: &str, minority: &[i32]) -> Result<(), String> {
        if minority.is_empty() {
            return Err(format!(
                "{at}: a split needs at least one broker in its minority"
            ));
        }
        let twice = (minority.iter().enumerate()).find(|&(i, b)| minority[..i].contains(b));
        if let Some((_, b)) = twice {
            return Err(format!("{at}: broker-{b} is named twice"));
        }
        if minority.len() as u32 >= self.cluster.brokers {
            return Err(format!(
                "{at}: a split must leave a majority: at least one of the {} broker(s) stays with the controller",
                self.cluster.brokers
            ));
        }
        Ok(())
    }
}

fn validate_topic(topic: &TopicSpec, brokers: u32) -> Result<(), String> {
    let who = format!("topic {}", topic.name);
    if topic.name.is_empty() || topic.name.starts_with("__") {
        return Err(format!(
            "topic '{}': a name must not be empty or start with __ (internal topics)",
            topic.name
        ));
    }
    if !(1..=PARTITIONS_MAX).contains(&topic.partitions) {
        return Err(format!(
            "{who}: partitions must be 1 to {PARTITIONS_MAX}, got {}",
            topic.partitions
        ));
    }
    let rf = topic.replication_factor;
    if rf < 1 || rf as u32 > brokers {
        return Err(format!(
            "{who}: replication_factor {rf} is impossible on {brokers} broker(s)"
        ));
    }
    let config = TopicConfig::from_map(&topic.configs).map_err(|e| format!("{who}: {e}"))?;
    if config.min_insync_replicas > rf as i32 {
        return Err(format!(
            "{who}: min.insync.replicas {} is above replication_factor {rf}: no acks=all write could ever succeed",
            config.min_insync_replicas
        ));
    }
    Ok(())
}

fn settings(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    (pairs.iter())
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}
