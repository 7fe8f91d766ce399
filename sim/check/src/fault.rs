//! The one vocabulary of faults: what is done to a cluster, to whom, when, and
//! for how long.
//!
//! A [`Fault`] is plain data. The same value is drawn by the swarm's nemesis,
//! written in a scenario file (`[[faults.schedule]]`, which is `Fault`'s serde
//! form), shrunk, carried out by a driver, recorded in the trace, drawn in a
//! report and told on the timeline. Nothing else names a fault.
//!
//! Every fault undoes itself after `for_ms` (a restart, a resume, a heal); the
//! heal at the end of a run's safety phase undoes whatever is still on.
//!
//! A fault's [`Target`] names a server by id (`broker-2`, `controller`) or by
//! role (`leader of orders-0`, `follower of orders-0`, `coordinator of
//! group-1`). A role is resolved when the fault starts, against the controller's
//! metadata then, and the fault's end undoes it on the same server, whoever
//! holds the role by then. A role that names nobody (a partition without a
//! leader) makes the fault do nothing, and the timeline says so.
//!
//! Left out: clock faults and disk corruption.

use kafkasim::group::offsets_topic::{partition_for_group, OFFSETS_TOPIC};
use kafkasim::ids::{BrokerId, NodeId, TopicPartition};
use kafkasim::metadata::MetadataImage;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

/// A fault: what is done ([`Action`]), when it starts and how long it lasts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fault {
    /// When it starts, in ms from the start of the safety phase.
    pub at_ms: u64,
    #[serde(flatten)]
    pub action: Action,
    /// How long it lasts before it is undone.
    pub for_ms: u64,
}

/// What a fault does. Its serde form is a table tagged by `fault`:
/// `fault = "crash"`, `node = "leader of orders-0"`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "fault", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Action {
    /// A server's process dies (a broker's page cache survives); it restarts
    /// after `for_ms` and rebuilds itself from its disk.
    Crash { node: Target },
    /// A broker's machine loses power: it restarts with only what it flushed.
    PowerLoss { node: Target },
    /// A broker's disk fails and is replaced: it restarts with an empty log
    /// directory, as a new incarnation (the failure KIP-903 guards against).
    /// On the controller it is a crash: its metadata survives, as a KRaft
    /// quorum's would.
    ReplaceDisk { node: Target },
    /// A server stops the world (a long GC pause, a stalled VM): its timers and
    /// connections wait, nothing is lost; it resumes after `for_ms`.
    Pause { node: Target },
    /// A server is cut off from every other server, both ways; clients still
    /// reach a broker. Isolating the controller cuts it from every broker.
    Isolate { node: Target },
    /// The link between two servers is cut, both ways.
    LinkCut { nodes: [Target; 2] },
    /// A minority of brokers is cut off from the other brokers and the
    /// controller; each side keeps its own links; clients reach everyone.
    Split { nodes: Vec<Target> },
    /// Messages from one server to another stall; the other direction flows.
    OneWay { from: Target, to: Target },
    /// Every message (between any two machines) takes `extra_ms` longer.
    SlowNetwork { extra_ms: u64 },
    /// The link between two servers clogs and opens over and over, both ways:
    /// packet loss, as TCP shows it to its users.
    FlakyLink { nodes: [Target; 2] },
    /// The next response to `api` (Kafka's API name, e.g. `Produce`) that
    /// `node` sends within `for_ms` is lost: the connection is reset instead.
    /// The server did the work; the requester sees a broken connection.
    LostResponse { node: Target, api: String },
    /// Every `api` message (request or response) that `node` sends while the
    /// fault is on stalls, and arrives when it ends; its other messages flow.
    /// As if that API had a connection of its own, which Kafka gives
    /// AlterPartition (its own channel to the controller, apart from
    /// heartbeats) and each replica fetcher: a slow controller queue or a
    /// stalled fetcher connection, while the broker's session stays alive.
    StallApi { node: Target, api: String },
    /// A client machine (by its name, e.g. `producer-1`) is cut off from a broker.
    ClientCut { client: String, node: Target },
    /// A client machine stops the world: a consumer that stalls past its
    /// session comes back a zombie.
    ClientPause { client: String },
    /// A client machine crashes: its clients stop without closing anything (a
    /// crashed consumer sends no LeaveGroup). It is not restarted.
    ClientCrash { client: String },
}

/// The kinds of [`Action`], without their targets: what a swarm's mix weighs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FaultKind {
    Crash,
    PowerLoss,
    ReplaceDisk,
    Pause,
    Isolate,
    LinkCut,
    Split,
    OneWay,
    SlowNetwork,
    FlakyLink,
    LostResponse,
    StallApi,
    ClientCut,
    ClientPause,
    ClientCrash,
}

impl FaultKind {
    pub const ALL: [FaultKind; 15] = [
        FaultKind::Crash,
        FaultKind::PowerLoss,
        FaultKind::ReplaceDisk,
        FaultKind::Pause,
        FaultKind::Isolate,
        FaultKind::LinkCut,
        FaultKind::Split,
        FaultKind::OneWay,
        FaultKind::SlowNetwork,
        FaultKind::FlakyLink,
        FaultKind::LostResponse,
        FaultKind::StallApi,
        FaultKind::ClientCut,
        FaultKind::ClientPause,
        FaultKind::ClientCrash,
    ];

    /// The name a scenario file gives it (`fault = "power-loss"`).
    pub fn name(self) -> &'static str {
        match self {
            FaultKind::Crash => "crash",
            FaultKind::PowerLoss => "power-loss",
            FaultKind::ReplaceDisk => "replace-disk",
            FaultKind::Pause => "pause",
            FaultKind::Isolate => "isolate",
            FaultKind::LinkCut => "link-cut",
            FaultKind::Split => "split",
            FaultKind::OneWay => "one-way",
            FaultKind::SlowNetwork => "slow-network",
            FaultKind::FlakyLink => "flaky-link",
            FaultKind::LostResponse => "lost-response",
            FaultKind::StallApi => "stall-api",
            FaultKind::ClientCut => "client-cut",
            FaultKind::ClientPause => "client-pause",
            FaultKind::ClientCrash => "client-crash",
        }
    }
}

impl fmt::Display for FaultKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Action {
    pub fn kind(&self) -> FaultKind {
        match self {
            Action::Crash { .. } => FaultKind::Crash,
            Action::PowerLoss { .. } => FaultKind::PowerLoss,
            Action::ReplaceDisk { .. } => FaultKind::ReplaceDisk,
            Action::Pause { .. } => FaultKind::Pause,
            Action::Isolate { .. } => FaultKind::Isolate,
            Action::LinkCut { .. } => FaultKind::LinkCut,
            Action::Split { .. } => FaultKind::Split,
            Action::OneWay { .. } => FaultKind::OneWay,
            Action::SlowNetwork { .. } => FaultKind::SlowNetwork,
            Action::FlakyLink { .. } => FaultKind::FlakyLink,
            Action::LostResponse { .. } => FaultKind::LostResponse,
            Action::StallApi { .. } => FaultKind::StallApi,
            Action::ClientCut { .. } => FaultKind::ClientCut,
            Action::ClientPause { .. } => FaultKind::ClientPause,
            Action::ClientCrash { .. } => FaultKind::ClientCrash,
        }
    }

    /// Every server target the action names, in order.
    pub fn targets(&self) -> Vec<&Target> {
        match self {
            Action::Crash { node }
            | Action::PowerLoss { node }
            | Action::ReplaceDisk { node }
            | Action::Pause { node }
            | Action::Isolate { node }
            | Action::LostResponse { node, .. }
            | Action::StallApi { node, .. }
            | Action::ClientCut { node, .. } => vec![node],
            Action::LinkCut { nodes } | Action::FlakyLink { nodes } => nodes.iter().collect(),
            Action::Split { nodes } => nodes.iter().collect(),
            Action::OneWay { from, to } => vec![from, to],
            Action::SlowNetwork { .. }
            | Action::ClientPause { .. }
            | Action::ClientCrash { .. } => vec![],
        }
    }

    /// The client machine the action hits, if it hits one.
    pub fn client(&self) -> Option<&str> {
        match self {
            Action::ClientCut { client, .. }
            | Action::ClientPause { client }
            | Action::ClientCrash { client } => Some(client),
            _ => None,
        }
    }

    /// The servers the action takes out of normal service: the servers it
    /// names, and where a role names one not yet known, every broker of
    /// `brokers` (it might be any); every server for a slow network; none for
    /// a fault of a client machine alone.
    pub fn servers(&self, brokers: &[BrokerId]) -> Vec<NodeId> {
        let every_broker = || brokers.iter().map(|&b| NodeId::Broker(b));
        let mut servers: Vec<NodeId> = match self {
            Action::SlowNetwork { .. } => std::iter::once(NodeId::Controller)
                .chain(every_broker())
                .collect(),
            Action::ClientCut { .. } | Action::ClientPause { .. } | Action::ClientCrash { .. } => {
                vec![]
            }
            _ => (self.targets().into_iter())
                .flat_map(|t| match t.node() {
                    Some(node) => vec![node],
                    None => every_broker().collect(),
                })
                .collect(),
        };
        servers.sort();
        servers.dedup();
        servers
    }

    /// Whether two actions may not be on at once whatever else is on: they
    /// take out one server, or hit one client machine (undoing one would undo
    /// the other).
    pub fn collides_with(&self, other: &Action, brokers: &[BrokerId]) -> bool {
        let theirs = other.servers(brokers);
        let same_server = self.servers(brokers).iter().any(|s| theirs.contains(s));
        let same_client = self.client().is_some() && self.client() == other.client();
        same_server || same_client
    }
}

impl Fault {
    /// When the fault is undone, in ms from the start of the safety phase.
    pub fn end_ms(&self) -> u64 {
        self.at_ms.saturating_add(self.for_ms)
    }

    pub fn kind(&self) -> FaultKind {
        self.action.kind()
    }
}

/// A server a fault hits: by id, or by the role it holds when the fault starts.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Target {
    Controller,
    Broker(BrokerId),
    /// The broker that leads the partition.
    LeaderOf(TopicPartition),
    /// The first replica of the partition, in assignment order, that does not lead it.
    FollowerOf(TopicPartition),
    /// The broker that coordinates the consumer group: the leader of its
    /// partition of `__consumer_offsets`.
    CoordinatorOf(String),
}

/// Why a role named nobody when its fault started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unresolved {
    NoSuchPartition(TopicPartition),
    NoLeader(TopicPartition),
    NoFollower(TopicPartition),
    /// `__consumer_offsets` does not exist yet: no group has a coordinator.
    NoCoordinator(String),
}

impl fmt::Display for Unresolved {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Unresolved::NoSuchPartition(tp) => write!(f, "there is no partition {tp}"),
            Unresolved::NoLeader(tp) => write!(f, "{tp} has no leader"),
            Unresolved::NoFollower(tp) => write!(f, "{tp} has no follower"),
            Unresolved::NoCoordinator(group) => write!(f, "group {group} has no coordinator"),
        }
    }
}

impl Target {
    pub fn leader_of(topic: &str, partition: i32) -> Target {
        Target::LeaderOf(TopicPartition::new(topic, partition))
    }

    /// The server, when the target names it by id.
    pub fn node(&self) -> Option<NodeId> {
        match self {
            Target::Controller => Some(NodeId::Controller),
            Target::Broker(id) => Some(NodeId::Broker(*id)),
            _ => None,
        }
    }

    /// The server the target names in `image` (the controller's metadata now).
    pub fn resolve(&self, image: &MetadataImage) -> Result<NodeId, Unresolved> {
        let partition = |tp: &TopicPartition| {
            image
                .partition(tp)
                .ok_or_else(|| Unresolved::NoSuchPartition(tp.clone()))
        };
        match self {
            Target::Controller => Ok(NodeId::Controller),
            Target::Broker(id) => Ok(NodeId::Broker(*id)),
            Target::LeaderOf(tp) => (partition(tp)?.leader)
                .map(NodeId::Broker)
                .ok_or_else(|| Unresolved::NoLeader(tp.clone())),
            Target::FollowerOf(tp) => {
                let info = partition(tp)?;
                (info.replicas.iter())
                    .find(|&&b| Some(b) != info.leader)
                    .map(|&b| NodeId::Broker(b))
                    .ok_or_else(|| Unresolved::NoFollower(tp.clone()))
            }
            Target::CoordinatorOf(group) => {
                let unknown = || Unresolved::NoCoordinator(group.clone());
                let offsets = image.topics.get(OFFSETS_TOPIC).ok_or_else(unknown)?;
                let index = partition_for_group(group, offsets.partitions.len() as i32);
                (offsets.partitions.get(index as usize))
                    .and_then(|p| p.leader)
                    .map(NodeId::Broker)
                    .ok_or_else(unknown)
            }
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Controller => write!(f, "controller"),
            Target::Broker(id) => write!(f, "broker-{id}"),
            Target::LeaderOf(tp) => write!(f, "leader of {tp}"),
            Target::FollowerOf(tp) => write!(f, "follower of {tp}"),
            Target::CoordinatorOf(group) => write!(f, "coordinator of {group}"),
        }
    }
}

/// What a target may be written as.
const TARGET_FORMS: &str =
    "\"controller\", \"broker-N\", \"leader of TOPIC-P\", \"follower of TOPIC-P\" or \"coordinator of GROUP\"";

impl FromStr for Target {
    type Err = String;

    fn from_str(text: &str) -> Result<Target, String> {
        let bad = || format!("a node must be {TARGET_FORMS}, got \"{text}\"");
        let partition = |rest: &str| -> Result<TopicPartition, String> {
            let (topic, p) = rest.rsplit_once('-').ok_or_else(bad)?;
            match digits(p) {
                Some(p) if !topic.is_empty() => Ok(TopicPartition::new(topic, p)),
                _ => Err(bad()),
            }
        };
        if text == "controller" {
            Ok(Target::Controller)
        } else if let Some(id) = text.strip_prefix("broker-") {
            digits(id)
                .filter(|&id| id >= 1)
                .map(Target::Broker)
                .ok_or_else(bad)
        } else if let Some(rest) = text.strip_prefix("leader of ") {
            partition(rest).map(Target::LeaderOf)
        } else if let Some(rest) = text.strip_prefix("follower of ") {
            partition(rest).map(Target::FollowerOf)
        } else if let Some(group) = text.strip_prefix("coordinator of ") {
            match group.trim().is_empty() {
                true => Err(bad()),
                false => Ok(Target::CoordinatorOf(group.to_string())),
            }
        } else {
            Err(bad())
        }
    }
}

/// A whole number written in plain digits (no sign, no spaces), as ids are.
fn digits(text: &str) -> Option<i32> {
    let plain = !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit());
    plain.then(|| text.parse().ok()).flatten()
}

impl Serialize for Target {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Target {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Target, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Target;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "a node: {TARGET_FORMS}")
            }
            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Target, E> {
                text.parse().map_err(E::custom)
            }
        }
        deserializer.deserialize_str(Visitor)
    }
}

/// A safety phase of `phase_ms` and the faults in it, by start time. A fault
/// that would outlast the phase is undone at its end, by the heal.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Schedule {
    pub phase_ms: u64,
    pub faults: Vec<Fault>,
}

/// `5.100 s`: times are told to the ms, in seconds.
pub fn seconds(ms: u64) -> String {
    format!("{}.{:03} s", ms / 1000, ms % 1000)
}

fn names(targets: &[Target]) -> String {
    let names: Vec<String> = targets.iter().map(Target::to_string).collect();
    names.join(" and ")
}

impl fmt::Display for Action {
    /// What the action does, in words: `crash broker-2`, `isolate the leader of orders-0`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let the = |t: &Target| match t {
            Target::Controller => "the controller".to_string(),
            Target::Broker(_) => t.to_string(),
            _ => format!("the {t}"),
        };
        match self {
            Action::Crash { node } => write!(f, "crash {}", the(node)),
            Action::PowerLoss { node } => write!(f, "power loss on {}", the(node)),
            Action::ReplaceDisk { node } => write!(f, "replace the disk of {}", the(node)),
            Action::Pause { node } => write!(f, "pause {}", the(node)),
            Action::Isolate {
                node: Target::Controller,
            } => {
                write!(f, "isolate the controller from every broker")
            }
            Action::Isolate { node } => write!(f, "isolate {}", the(node)),
            Action::LinkCut { nodes } => write!(f, "cut {} apart", names(nodes)),
            Action::Split { nodes } => write!(
                f,
                "split {} off from the other brokers and the controller",
                names(nodes)
            ),
            Action::OneWay { from, to } => {
                write!(
                    f,
                    "stall messages from {} to {} (one way)",
                    the(from),
                    the(to)
                )
            }
            Action::SlowNetwork { extra_ms } => {
                write!(f, "slow every message down by {extra_ms} ms")
            }
            Action::FlakyLink { nodes } => {
                write!(f, "make the link between {} flaky", names(nodes))
            }
            Action::LostResponse { node, api } => {
                write!(f, "lose the next {api} response from {}", the(node))
            }
            Action::StallApi { node, api } => {
                write!(f, "stall every {api} message from {}", the(node))
            }
            Action::ClientCut { client, node } => write!(f, "cut {client} off from {}", the(node)),
            Action::ClientPause { client } => write!(f, "pause {client}"),
            Action::ClientCrash { client } => write!(f, "crash {client}"),
        }
    }
}

impl fmt::Display for Fault {
    /// `at 12.345 s: crash broker-2, restart after 5.100 s`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let lasting = seconds(self.for_ms);
        let until = match self.action {
            Action::Crash { .. } | Action::PowerLoss { .. } | Action::ReplaceDisk { .. } => {
                format!(", restart after {lasting}")
            }
            Action::LostResponse { .. } => format!(", armed for {lasting}"),
            Action::ClientCrash { .. } => ", not restarted".to_string(),
            _ => format!(" for {lasting}"),
        };
        write!(f, "at {}: {}{until}", seconds(self.at_ms), self.action)
    }
}

impl fmt::Display for Schedule {
    /// One line for the phase, then one line per fault.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "safety phase {}, {} fault(s), then heal",
            seconds(self.phase_ms),
            self.faults.len()
        )?;
        for fault in &self.faults {
            writeln!(f, "{fault}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
