//! Refusing a workload that cannot run, or would not mean anything: the first
//! problem, naming the part of the workload at fault.
//!
//! An error is an [`Invalid`]: the [`Part`] it is about (a topic, a producer, a
//! group, a fault, by its place in the workload) and why. A scenario file maps
//! the part to the line of its table; the message never has to be read back.

use super::step::{Condition, Step};
use super::{FaultPlan, GroupSpec, ProducerSpec, TopicSpec, Workload, WORKER_OWNED_SETTINGS};
use crate::scenario::worker::consumer_config;
use kafkasim::config::TopicConfig;
use kafkasim::group::coordinator::GroupCoordinatorConfig;
use kafkasim::ids::BrokerId;
use kafkasim::ids::TopicPartition;
use kafkasim_check::fault::{Action, Fault, Target};
use std::collections::BTreeSet;
use std::fmt;

/// The longest phase a workload may ask for, and the longest run: a run must
/// end well inside the simulator's time limit, with room to set up and read.
pub const PHASE_MS_MAX: u64 = 300_000;
pub const PHASES_MS_MAX: u64 = 480_000;
pub const BROKERS_MAX: u32 = 9;
pub const PARTITIONS_MAX: i32 = 64;
pub const RATE_PER_S_MAX: u64 = 1000;
/// The most producers and consumers a workload may have, all tables together.
pub const CLIENTS_MAX: usize = 1_000;
/// The most extra latency a slow network may add to every message, in ms.
pub const EXTRA_LATENCY_MS_MAX: u64 = 10_000;
/// The most topics a workload may declare (each has up to `PARTITIONS_MAX`
/// partitions, each replicated on every broker at most).
pub const TOPICS_MAX: usize = 100;
/// The most faults a schedule may hold.
pub const FAULTS_MAX: usize = 1_000;
/// The most steps a story may have, and the longest a sleep step may sleep.
pub const STEPS_MAX: usize = 1_000;
pub const SLEEP_MS_MAX: u64 = PHASE_MS_MAX;

/// The part of a workload an error is about, by its place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    Workload,
    Cluster,
    Topic(usize),
    Producer(usize),
    Group(usize),
    Phases,
    Fault(usize),
    Step(usize),
}

/// Why a workload cannot run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    pub part: Part,
    pub why: String,
}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.why)
    }
}

fn invalid(part: Part, why: String) -> Invalid {
    Invalid { part, why }
}

impl Workload {
    /// The first problem that keeps the workload from running, if any.
    pub fn validate(&self) -> Result<(), Invalid> {
        let brokers = self.cluster.brokers;
        if !(1..=BROKERS_MAX).contains(&brokers) {
            let why = format!("cluster: brokers must be 1 to {BROKERS_MAX}, got {brokers}");
            return Err(invalid(Part::Cluster, why));
        }
        if self.topics.is_empty() {
            let why = "a workload needs at least one [[topic]]".to_string();
            return Err(invalid(Part::Workload, why));
        }
        if self.topics.len() > TOPICS_MAX {
            let why = format!(
                "{} topics; a workload declares at most {TOPICS_MAX}",
                self.topics.len()
            );
            return Err(invalid(Part::Topic(TOPICS_MAX), why));
        }
        for (i, topic) in self.topics.iter().enumerate() {
            validate_topic(topic, brokers).map_err(|why| invalid(Part::Topic(i), why))?;
            if self.topics[..i].iter().any(|t| t.name == topic.name) {
                let why = format!("topic {}: declared twice", topic.name);
                return Err(invalid(Part::Topic(i), why));
            }
        }
        if self.is_story() {
            return self.validate_story();
        }
        if self.producers.is_empty() {
            let why = "a workload needs at least one [[producer]]".to_string();
            return Err(invalid(Part::Workload, why));
        }
        for (i, producer) in self.producers.iter().enumerate() {
            (self.validate_producer(producer)).map_err(|why| invalid(Part::Producer(i), why))?;
        }
        for (i, group) in self.groups.iter().enumerate() {
            self.validate_group(group)
                .map_err(|why| invalid(Part::Group(i), why))?;
            if self.groups[..i].iter().any(|g| g.id == group.id) {
                let why = format!("group {}: declared twice", group.id);
                return Err(invalid(Part::Group(i), why));
            }
        }
        let clients = self.clients();
        if clients.len() > CLIENTS_MAX {
            let why = format!(
                "{} producers and consumers in all; at most {CLIENTS_MAX}",
                clients.len()
            );
            return Err(invalid(Part::Workload, why));
        }
        for (i, name) in clients.iter().enumerate() {
            if clients[..i].contains(name) {
                return Err(invalid(
                    Part::Workload,
                    format!("two clients are named {name}"),
                ));
            }
        }
        self.validate_phases()
            .map_err(|why| invalid(Part::Phases, why))?;
        if let FaultPlan::Schedule(schedule) = &self.faults {
            if schedule.faults.len() > FAULTS_MAX {
                let why = format!(
                    "{} scheduled faults; a schedule holds at most {FAULTS_MAX}",
                    schedule.faults.len()
                );
                return Err(invalid(Part::Fault(FAULTS_MAX), why));
            }
            for (i, fault) in schedule.faults.iter().enumerate() {
                self.validate_fault(fault)
                    .map_err(|why| invalid(Part::Fault(i), why))?;
            }
        }
        Ok(())
    }

    /// A story: named producers, and steps that name only what exists and
    /// end only faults that started before them.
    fn validate_story(&self) -> Result<(), Invalid> {
        if !self.groups.is_empty() || self.faults != FaultPlan::None {
            let why = "a story's steps say what happens: it has no groups and no fault plan";
            return Err(invalid(Part::Workload, why.into()));
        }
        if self.steps.len() > STEPS_MAX {
            let why = format!("a story has at most {STEPS_MAX} steps");
            return Err(invalid(Part::Workload, why));
        }
        for (i, producer) in self.producers.iter().enumerate() {
            let who = &producer.name;
            let settings = (self.producer_config(producer)).map(|_| ());
            settings.map_err(|e| invalid(Part::Producer(i), format!("{who}: {e}")))?;
            if self.producers[..i].iter().any(|p| p.name == *who) {
                let why = format!("two producers are named {who}");
                return Err(invalid(Part::Producer(i), why));
            }
        }
        let mut story = StoryCheck::default();
        for (i, step) in self.steps.iter().enumerate() {
            (self.validate_step(step, &mut story)).map_err(|why| invalid(Part::Step(i), why))?;
        }
        Ok(())
    }

    fn validate_step(&self, step: &Step, story: &mut StoryCheck) -> Result<(), String> {
        let key = step.key();
        let at = |why: String| format!("{key} step: {why}");
        match step {
            Step::Send {
                producer,
                partition,
                values,
            } => {
                if !self.producers.iter().any(|p| p.name == *producer) {
                    return Err(at(format!("there is no producer {producer}")));
                }
                self.validate_partition(partition).map_err(at)?;
                if values.is_empty() {
                    return Err(at("sends no value".into()));
                }
                for value in values {
                    if !story.values.insert(value.clone()) {
                        // The checkers tell records apart by their values.
                        return Err(at(format!("{value} is sent twice: values must be unique")));
                    }
                }
            }
            Step::Fault { name, action } => {
                self.validate_action(action).map_err(at)?;
                if let Some(name) = name {
                    if !story.faults.insert(name.clone()) {
                        return Err(at(format!("a fault is already named {name}")));
                    }
                    story.on.insert(name.clone());
                }
            }
            Step::End { names } => {
                for name in names {
                    if !story.on.remove(name) {
                        let why = match story.faults.contains(name) {
                            true => format!("the fault {name} has already ended"),
                            false => format!("no fault step before it is named {name}"),
                        };
                        return Err(at(why));
                    }
                }
            }
            Step::Wait { partition, until } => {
                self.validate_partition(partition).map_err(at)?;
                let rf = self
                    .topic(&partition.topic)
                    .map_or(0, |t| t.replication_factor);
                let broker = |b: i32| match (1..=self.cluster.brokers as i32).contains(&b) {
                    true => Ok(()),
                    false => Err(at(format!("there is no broker-{b}"))),
                };
                match until {
                    Condition::Leader(Some(b)) => broker(*b)?,
                    Condition::Isr(isr) => {
                        isr.iter().try_for_each(|b| broker(*b))?;
                        if isr.is_empty() || isr.len() > rf as usize {
                            return Err(at(format!("an ISR holds 1 to {rf} replicas")));
                        }
                    }
                    Condition::IsrSize(n) if *n == 0 || *n > rf as usize => {
                        return Err(at(format!("an ISR holds 1 to {rf} replicas, not {n}")));
                    }
                    _ => {}
                }
            }
            Step::Sleep { ms } if !(1..=SLEEP_MS_MAX).contains(ms) => {
                return Err(at(format!("sleeps 1 to {SLEEP_MS_MAX} ms, not {ms}")));
            }
            Step::Show { topic, .. } | Step::Read { topic } if self.topic(topic).is_none() => {
                return Err(at(format!("there is no topic {topic}")));
            }
            Step::Sleep { .. }
            | Step::Show { .. }
            | Step::Read { .. }
            | Step::ElectPreferredLeaders => {}
        }
        Ok(())
    }

    fn validate_partition(&self, tp: &TopicPartition) -> Result<(), String> {
        self.validate_target(&Target::LeaderOf(tp.clone()))
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
        (self.producer_config(producer))
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
        if group.id.trim().is_empty() {
            return Err(format!(
                "group '{}': group.id must not be empty",
                group.id.escape_debug()
            ));
        }
        for (key, _) in &group.settings {
            if WORKER_OWNED_SETTINGS.contains(&key.as_str()) {
                return Err(format!(
                    "{who}: {key} is set by the workload's consumers (group.id from the group, manual commits, auto.offset.reset=earliest)"
                ));
            }
        }
        // The configuration the workers will build, checked as they build it.
        let config = consumer_config(vec![], &group.id, &group.settings)
            .map_err(|e| format!("{who}: {e}"))?;
        let coordinator = GroupCoordinatorConfig::default();
        let allowed =
            coordinator.group_min_session_timeout_ms..=coordinator.group_max_session_timeout_ms;
        if !allowed.contains(&config.session_timeout_ms) {
            return Err(format!(
                "{who}: session.timeout.ms = {} is outside the brokers' group.min.session.timeout.ms \
                 to group.max.session.timeout.ms ({} to {}): the coordinator would refuse every \
                 JoinGroup with INVALID_SESSION_TIMEOUT",
                config.session_timeout_ms,
                allowed.start(),
                allowed.end()
            ));
        }
        if let Some(instance) = &config.group_instance_id {
            if group.consumers.len() > 1 {
                // Kafka keeps one member per group.instance.id: each join
                // fences the one before with FENCED_INSTANCE_ID, a fatal error.
                return Err(format!(
                    "{who}: group.instance.id = \"{}\" would be shared by its {} consumers; \
                     a static member's id is its own (Kafka fences all but the newest with \
                     FENCED_INSTANCE_ID): use one consumer per group with it",
                    instance.escape_debug(),
                    group.consumers.len()
                ));
            }
        }
        Ok(())
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

    fn validate_fault(&self, fault: &Fault) -> Result<(), String> {
        let at = format!("fault at {} ms ({})", fault.at_ms, fault.kind());
        if fault.at_ms >= self.safety_ms {
            return Err(format!(
                "{at}: starts after the safety phase ({} ms)",
                self.safety_ms
            ));
        }
        if fault.for_ms == 0 {
            return Err(format!("{at}: lasts 0 ms"));
        }
        self.validate_action(&fault.action)
            .map_err(|why| format!("{at}: {why}"))
    }

    /// Whether what an action names exists in this workload, and the action
    /// makes sense on it.
    fn validate_action(&self, action: &Action) -> Result<(), String> {
        for target in action.targets() {
            self.validate_target(target)?;
        }
        if let Some(client) = action.client() {
            if !self.clients().iter().any(|c| c == client) {
                return Err(format!(
                    "there is no client {client} (clients: {})",
                    self.clients().join(", ")
                ));
            }
        }
        match action {
            Action::LinkCut { nodes: [a, b] } | Action::FlakyLink { nodes: [a, b] } if a == b => {
                Err(format!("cuts {a} from itself"))
            }
            Action::OneWay { from, to } if from == to => Err(format!("stalls {from} from itself")),
            Action::Split { nodes } => self.validate_split(nodes),
            Action::ClientCut { node, .. } if *node == Target::Controller => {
                Err("cuts a client from a broker, not from the controller".into())
            }
            Action::SlowNetwork { extra_ms } if !(1..=EXTRA_LATENCY_MS_MAX).contains(extra_ms) => {
                Err(format!(
                    "extra_ms must be 1 to {EXTRA_LATENCY_MS_MAX}, got {extra_ms}"
                ))
            }
            Action::LostResponse { api, .. } | Action::StallApi { api, .. }
                if !kafkasim::protocol::API_NAMES.contains(&api.as_str()) =>
            {
                Err(format!(
                    "there is no API \"{api}\" (APIs: {})",
                    kafkasim::protocol::API_NAMES.join(", ")
                ))
            }
            _ => Ok(()),
        }
    }

    fn validate_target(&self, target: &Target) -> Result<(), String> {
        let brokers = self.cluster.brokers;
        let partition = |tp: &kafkasim::ids::TopicPartition| match self.topic(&tp.topic) {
            None => Err(format!(
                "there is no topic {} (topics: {})",
                tp.topic,
                (self.topics.iter().map(|t| t.name.as_str()))
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
            Some(spec) if !(0..spec.partitions).contains(&tp.partition) => Err(format!(
                "there is no partition {tp} (topic {} has partitions 0 to {})",
                tp.topic,
                spec.partitions - 1
            )),
            Some(_) => Ok(()),
        };
        match target {
            Target::Controller => Ok(()),
            Target::Broker(b) if *b < 1 || *b as u32 > brokers => Err(format!(
                "there is no broker-{b} (brokers are 1 to {brokers})"
            )),
            Target::Broker(_) => Ok(()),
            Target::LeaderOf(tp) | Target::FollowerOf(tp) => partition(tp),
            Target::CoordinatorOf(group) => match self.groups.iter().any(|g| g.id == *group) {
                true => Ok(()),
                false => Err(format!("there is no group {group}")),
            },
        }
    }

    /// A split's minority: brokers by id, each once, and not all of them.
    fn validate_split(&self, minority: &[Target]) -> Result<(), String> {
        if minority.is_empty() {
            return Err("a split needs at least one broker in its minority".into());
        }
        let mut ids: Vec<BrokerId> = Vec::new();
        for target in minority {
            let Target::Broker(id) = target else {
                return Err(format!(
                    "a split's minority names brokers by id, not {target}"
                ));
            };
            if ids.contains(id) {
                return Err(format!("broker-{id} is named twice"));
            }
            ids.push(*id);
        }
        if ids.len() as u32 >= self.cluster.brokers {
            return Err(format!(
                "a split must leave a majority: at least one of the {} broker(s) stays with the controller",
                self.cluster.brokers
            ));
        }
        Ok(())
    }
}

/// What the steps before this one did: the values sent, the faults named,
/// the named faults still on.
#[derive(Default)]
struct StoryCheck {
    values: BTreeSet<String>,
    faults: BTreeSet<String>,
    on: BTreeSet<String>,
}

fn validate_topic(topic: &TopicSpec, brokers: u32) -> Result<(), String> {
    if let Err(why) = kafkasim::config::validate_topic_name(&topic.name) {
        return Err(format!("topic: {why}"));
    }
    let who = format!("topic {}", topic.name);
    if topic.name.starts_with("__") {
        return Err(format!(
            "{who}: a name starting with __ is for Kafka's internal topics"
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
