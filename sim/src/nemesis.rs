//! The nemesis: a fault schedule drawn from the run's seed ("swarm testing").
//!
//! A hand-written fault schedule tests what its author thought of. Swarm testing
//! (TigerBeetle's VOPR, FoundationDB's simulation) lets every seed first draw a
//! **mix** (which fault kinds are on, how often each comes, how busy the run is),
//! then a concrete **schedule** from that mix. Seeds whose mix leaves most kinds
//! out reach states an even blend never reaches: a run of nothing but pauses
//! stacks pauses; a run of nothing but link cuts shrinks ISRs one link at a time.
//!
//! Nothing is hidden: the mix and every fault of the schedule are printed at the
//! top of the run's timeline, and the schedule is plain data ([`Schedule`], a
//! list of [`TimedFault`]) that prints one fault a line. Drawing
//! ([`draw`]) and carrying out ([`run_safety_phase`]) are separate, so a schedule
//! can later be written by hand, read from a file or shrunk to a smaller one.
//!
//! Each fault lasts a drawn time and undoes itself (a restart, a resume, a heal).
//! A run has phases: during the **safety phase** the schedule runs; at its end,
//! the **heal phase** undoes every fault still on; then the scenario's bounded
//! **liveness phase** checks that the cluster recovers.
//!
//! A [`Profile`] bounds what may be drawn. [`Profile::SAFE`] keeps Kafka's
//! promises reachable: no power loss (Kafka acknowledges from the page cache, so a
//! power loss may lose acknowledged writes), and never two server faults at once:
//! at any time at most one broker is crashed, paused or isolated, or one link
//! between two brokers is cut, or the controller is down (client cuts come on top
//! of any of these). With RF 3 and `min.insync.replicas` 2, a partition can still dip below
//! its minimum ISR (a broker that just restarted has not caught up yet when the
//! next one fails): writes stall then, but nothing acknowledged may be lost.
//! [`Profile::DOUBLE`] draws two server faults at once, still without power
//! loss: a partition may lose its whole ISR for a while, and a safe
//! configuration must still lose nothing (elections wait for an in-sync replica).
//! [`Profile::WILD`] also draws power losses.
//!
//! [`Profile::NETWORK`] is [`Profile::SAFE`] (no power loss, one server fault at
//! a time) that also draws the network faults below ([`FaultKind::NETWORK`]).
//! The three other profiles never draw them, and draw exactly what they drew
//! before these faults existed: the same seed gives the same schedule.
//!
//! ## Network faults
//!
//! Every network fault works on madsim's reliable channels (see `faults`): a
//! message is never dropped, only stalled, as on TCP. Clients are never cut by
//! them (only by a client cut).
//! - `isolate-controller`: the controller is cut off from every broker, both
//!   ways. Brokers keep serving clients with the metadata they have; nothing is
//!   elected, no ISR changes; heartbeats stall, so past
//!   `broker.session.timeout.ms` the controller fences every broker it no longer
//!   hears from, and the stalled heartbeats arriving after the heal unfence them.
//! - `isolate-leader`: when it starts, the broker that leads the named partition
//!   in the controller's metadata *then* is isolated (as `isolate`); the same
//!   broker is reconnected when it ends, whoever leads by then. A partition
//!   without a leader makes it do nothing, which the timeline says.
//! - `split`: a minority of brokers is cut off from the other brokers and from
//!   the controller, which stays with the majority; links inside each side stay.
//! - `one-way`: messages from one server (a broker or the controller) to another
//!   stall, while the other direction flows. madsim checks a new connection only
//!   in its own direction: `to` can still open one to `from`, and its requests
//!   arrive, but the answers stall; `from` cannot open one to `to`.
//! - `slow-network`: every message sent while it lasts (between any two machines,
//!   clients included) takes `extra_ms` longer to arrive: madsim's send latency
//!   (1–5 ms) becomes 1+extra to 5+extra ms, set through its network
//!   configuration at run time. Connections keep their order, so a message sent
//!   just after the end still waits behind the slow ones.
//! - `flaky-link`: packet loss, as a TCP user sees it. The link between two
//!   brokers clogs and opens again over and over, both ways: clogged for
//!   100–300 ms, then open for 600–1000 ms (each drawn from the seed's
//!   generator while it runs), from its start to its end. No message is dropped:
//!   what is sent into a clog stalls, as a lost segment does until TCP
//!   retransmits it, and arrives in order at the receiver's next probe; a
//!   connect during a clog is refused.
//!
//! Which servers a network fault takes out of normal service (the "one server
//! fault at a time" rule, and what two faults may not both hit, see
//! [`Fault::servers`]): `isolate-controller` the controller; `split` its
//! minority; `one-way` and `flaky-link` both ends; `slow-network` every server.
//! `isolate-leader` does not know its broker until it runs, so it counts as a
//! fault on every broker: it never overlaps another fault on any broker.
//!
//! Left out: lost responses (an armed loss waits for its response however long
//! that takes, so it does not fit a timed schedule), client crashes (client
//! machines are not restarted), clock faults, and disk corruption.

use crate::cluster::Cluster;
use crate::driver::now_ms;
use kafkasim::disk::CrashKind;
use kafkasim::ids::{BrokerId, NodeId, TopicPartition};
use std::collections::BTreeMap;
use std::fmt;

/// A kind of fault, as the mix names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FaultKind {
    /// A broker's process crashes and restarts (its page cache survives).
    Crash,
    /// A broker's machine loses power and restarts (unflushed data is gone).
    PowerLoss,
    /// A broker stops the world (a long GC pause, a stalled VM), then resumes.
    Pause,
    /// A broker is cut off from the controller and the other brokers.
    Isolate,
    /// The link between two brokers is cut, both ways.
    LinkCut,
    /// The single controller crashes and restarts: metadata freezes meanwhile.
    ControllerCrash,
    /// A client machine is cut off from one broker.
    ClientCut,
    /// A client machine stops the world, then resumes: a consumer that stalls
    /// past its session comes back a zombie. Only written schedules have it.
    ClientPause,
    /// The controller is cut off from every broker.
    IsolateController,
    /// Whichever broker leads a partition when the fault starts is isolated.
    IsolateLeader,
    /// A minority of brokers is cut off from the majority and the controller.
    Split,
    /// Messages from one server to another stall; the other direction flows.
    OneWay,
    /// Every message takes longer to arrive (a latency spike).
    SlowNetwork,
    /// The link between two brokers clogs and opens over and over (packet loss).
    FlakyLink,
}

impl FaultKind {
    /// The kinds a swarm mix draws from (not [`FaultKind::ClientPause`]).
    pub const DRAWN: [FaultKind; 7] = [
        FaultKind::Crash,
        FaultKind::PowerLoss,
        FaultKind::Pause,
        FaultKind::Isolate,
        FaultKind::LinkCut,
        FaultKind::ControllerCrash,
        FaultKind::ClientCut,
    ];

    /// The network faults only [`Profile::NETWORK`] draws, besides [`Self::DRAWN`].
    pub const NETWORK: [FaultKind; 6] = [
        FaultKind::IsolateController,
        FaultKind::IsolateLeader,
        FaultKind::Split,
        FaultKind::OneWay,
        FaultKind::SlowNetwork,
        FaultKind::FlakyLink,
    ];

    pub fn name(self) -> &'static str {
        match self {
            FaultKind::Crash => "crash",
            FaultKind::PowerLoss => "power-loss",
            FaultKind::Pause => "pause",
            FaultKind::Isolate => "isolate",
            FaultKind::LinkCut => "link-cut",
            FaultKind::ControllerCrash => "controller-crash",
            FaultKind::ClientCut => "client-cut",
            FaultKind::ClientPause => "client-pause",
            FaultKind::IsolateController => "isolate-controller",
            FaultKind::IsolateLeader => "isolate-leader",
            FaultKind::Split => "split",
            FaultKind::OneWay => "one-way",
            FaultKind::SlowNetwork => "slow-network",
            FaultKind::FlakyLink => "flaky-link",
        }
    }

    /// How long a fault of this kind lasts, from..=to in ms. Ranges reach past
    /// `broker.session.timeout.ms` (9 s), so some brokers are fenced and some come
    /// back before anyone noticed; link cuts reach past `replica.lag.time.max.ms`
    /// (30 s), so some shrink an ISR; so do one-way stalls and flaky links.
    fn duration_ms(self) -> (u64, u64) {
        match self {
            FaultKind::Crash | FaultKind::PowerLoss => (1_000, 15_000),
            FaultKind::Pause => (500, 15_000),
            FaultKind::Isolate => (2_000, 20_000),
            FaultKind::LinkCut => (2_000, 40_000),
            FaultKind::ControllerCrash => (1_000, 10_000),
            FaultKind::ClientCut | FaultKind::ClientPause => (2_000, 20_000),
            FaultKind::IsolateController | FaultKind::IsolateLeader => (2_000, 20_000),
            FaultKind::Split => (2_000, 30_000),
            FaultKind::OneWay => (2_000, 40_000),
            FaultKind::SlowNetwork => (2_000, 20_000),
            FaultKind::FlakyLink => (5_000, 40_000),
        }
    }

    /// The chance, in percent, that a mix turns this kind on. A controller
    /// crash or isolation freezes all metadata, so it comes rarely; a slow
    /// network holds back every other server fault while it lasts.
    fn odds_in_mix_percent(self) -> u32 {
        match self {
            FaultKind::ControllerCrash | FaultKind::IsolateController => 20,
            FaultKind::SlowNetwork => 30,
            _ => 50,
        }
    }
}

/// What a nemesis may draw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Profile {
    pub name: &'static str,
    /// Whether power losses may be drawn.
    pub power_loss: bool,
    /// How many server faults (of brokers, links between them, the controller)
    /// may be on at once. Client cuts never count.
    pub server_faults_max: usize,
    /// Kinds drawn besides [`FaultKind::DRAWN`] (empty but for
    /// [`Profile::NETWORK`]), so a profile without them draws as it always did.
    pub extra_kinds: &'static [FaultKind],
}

impl Profile {
    /// Faults under which Kafka promises that no acknowledged write is lost.
    pub const SAFE: Profile = Profile {
        name: "safe",
        power_loss: false,
        server_faults_max: 1,
        extra_kinds: &[],
    };

    /// Two server faults at once, no power loss: harder on the cluster, and
    /// still within Kafka's promises (an election waits for an in-sync
    /// replica), so a safe configuration must still lose nothing.
    pub const DOUBLE: Profile = Profile {
        name: "double",
        power_loss: false,
        server_faults_max: 2,
        extra_kinds: &[],
    };

    /// Also power losses, and two server faults at once: acknowledged writes may
    /// be lost, and a scenario must judge its runs knowing that.
    pub const WILD: Profile = Profile {
        name: "wild",
        power_loss: true,
        server_faults_max: 2,
        extra_kinds: &[],
    };

    /// [`Profile::SAFE`] with network faults too: controller and leader
    /// isolation, majority/minority splits, one-way stalls, latency spikes and
    /// flaky links. Kafka keeps its promises under all of them.
    pub const NETWORK: Profile = Profile {
        name: "network",
        power_loss: false,
        server_faults_max: 1,
        extra_kinds: &FaultKind::NETWORK,
    };
}

/// What faults may hit: the brokers, the client machines by name, and the
/// partitions whose leaders may be isolated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Targets {
    pub brokers: Vec<BrokerId>,
    pub clients: Vec<String>,
    pub partitions: Vec<TopicPartition>,
}

impl Targets {
    /// Whether a fault of `kind` has something to hit.
    fn can_hit(&self, kind: FaultKind) -> bool {
        match kind {
            FaultKind::LinkCut | FaultKind::Split | FaultKind::FlakyLink => self.brokers.len() >= 2,
            FaultKind::ControllerCrash | FaultKind::SlowNetwork => true,
            FaultKind::ClientCut => !self.clients.is_empty() && !self.brokers.is_empty(),
            FaultKind::IsolateLeader => !self.partitions.is_empty(),
            FaultKind::Crash
            | FaultKind::PowerLoss
            | FaultKind::Pause
            | FaultKind::Isolate
            | FaultKind::ClientPause
            | FaultKind::IsolateController
            | FaultKind::OneWay => !self.brokers.is_empty(),
        }
    }
}

/// The fault kinds a seed turned on, each with a weight (how often it is picked
/// among the others), and how busy the run is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mix {
    pub weights: BTreeMap<FaultKind, u32>,
    /// The mean time from one fault's start to the next one's.
    pub mean_gap_ms: u64,
}

impl fmt::Display for Mix {
    /// `crash×2+pause×1, a fault every ~6.2 s`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kinds: Vec<String> = (self.weights.iter())
            .map(|(kind, weight)| format!("{}×{weight}", kind.name()))
            .collect();
        write!(
            f,
            "{}, a fault every ~{}",
            kinds.join("+"),
            seconds(self.mean_gap_ms)
        )
    }
}

/// One fault, with how long it lasts before it is undone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Kill a broker's machine (`kind` says what its disk keeps), restart it.
    BrokerCrash {
        broker: BrokerId,
        kind: CrashKind,
        down_ms: u64,
    },
    BrokerPause {
        broker: BrokerId,
        for_ms: u64,
    },
    BrokerIsolation {
        broker: BrokerId,
        for_ms: u64,
    },
    /// Cut the link between brokers `a` < `b`, both ways.
    LinkCut {
        a: BrokerId,
        b: BrokerId,
        for_ms: u64,
    },
    ControllerCrash {
        down_ms: u64,
    },
    /// Cut every client machine named `client` off from `broker`.
    ClientCut {
        client: String,
        broker: BrokerId,
        for_ms: u64,
    },
    /// Stop every client machine named `client`, then resume it.
    ClientPause {
        client: String,
        for_ms: u64,
    },
    /// Cut the controller off from every broker, both ways.
    IsolateController {
        for_ms: u64,
    },
    /// Isolate the broker that leads `topic`-`partition` when the fault starts
    /// (in the controller's metadata), and reconnect that broker at its end.
    IsolateLeader {
        topic: String,
        partition: i32,
        for_ms: u64,
    },
    /// Cut the `minority` brokers (sorted) off from the other brokers and the
    /// controller; each side keeps its own links, clients reach everyone.
    Split {
        minority: Vec<BrokerId>,
        for_ms: u64,
    },
    /// Messages from server `from` to server `to` (a broker or the controller)
    /// stall; the other direction flows.
    OneWay {
        from: NodeId,
        to: NodeId,
        for_ms: u64,
    },
    /// Every message takes `extra_ms` longer to arrive.
    SlowNetwork {
        extra_ms: u64,
        for_ms: u64,
    },
    /// The link between brokers `a` < `b` clogs and opens over and over.
    FlakyLink {
        a: BrokerId,
        b: BrokerId,
        for_ms: u64,
    },
}

/// The most brokers a cluster may have (a workload's bound): the servers a
/// fault on "every broker" names.
const BROKERS_MAX: BrokerId = crate::scenario::workload::BROKERS_MAX as BrokerId;

impl Fault {
    pub fn duration_ms(&self) -> u64 {
        *self.clone().duration_mut()
    }

    /// The same fault, lasting `ms`.
    pub fn with_duration(&self, ms: u64) -> Fault {
        let mut fault = self.clone();
        *fault.duration_mut() = ms;
        fault
    }

    fn duration_mut(&mut self) -> &mut u64 {
        match self {
            Fault::BrokerCrash { down_ms, .. } | Fault::ControllerCrash { down_ms } => down_ms,
            Fault::BrokerPause { for_ms, .. }
            | Fault::BrokerIsolation { for_ms, .. }
            | Fault::LinkCut { for_ms, .. }
            | Fault::ClientCut { for_ms, .. }
            | Fault::ClientPause { for_ms, .. }
            | Fault::IsolateController { for_ms }
            | Fault::IsolateLeader { for_ms, .. }
            | Fault::Split { for_ms, .. }
            | Fault::OneWay { for_ms, .. }
            | Fault::SlowNetwork { for_ms, .. }
            | Fault::FlakyLink { for_ms, .. } => for_ms,
        }
    }

    pub fn kind(&self) -> FaultKind {
        match self {
            Fault::BrokerCrash {
                kind: CrashKind::ProcessCrash,
                ..
            } => FaultKind::Crash,
            Fault::BrokerCrash {
                kind: CrashKind::PowerLoss,
                ..
            } => FaultKind::PowerLoss,
            Fault::BrokerPause { .. } => FaultKind::Pause,
            Fault::BrokerIsolation { .. } => FaultKind::Isolate,
            Fault::LinkCut { .. } => FaultKind::LinkCut,
            Fault::ControllerCrash { .. } => FaultKind::ControllerCrash,
            Fault::ClientCut { .. } => FaultKind::ClientCut,
            Fault::ClientPause { .. } => FaultKind::ClientPause,
            Fault::IsolateController { .. } => FaultKind::IsolateController,
            Fault::IsolateLeader { .. } => FaultKind::IsolateLeader,
            Fault::Split { .. } => FaultKind::Split,
            Fault::OneWay { .. } => FaultKind::OneWay,
            Fault::SlowNetwork { .. } => FaultKind::SlowNetwork,
            Fault::FlakyLink { .. } => FaultKind::FlakyLink,
        }
    }

    /// The servers this fault takes out of normal service; empty for a client
    /// fault. Where the servers are not known before the fault runs, every
    /// server it might hit, up to the largest cluster a workload may have: an
    /// isolated leader counts as a fault on every broker (broker-1 … broker-9),
    /// a slow network on the controller and every broker.
    pub fn servers(&self) -> Vec<NodeId> {
        let every_broker = || (1..=BROKERS_MAX).map(NodeId::Broker);
        match self {
            Fault::BrokerCrash { broker, .. }
            | Fault::BrokerPause { broker, .. }
            | Fault::BrokerIsolation { broker, .. } => vec![NodeId::Broker(*broker)],
            Fault::LinkCut { a, b, .. } | Fault::FlakyLink { a, b, .. } => {
                vec![NodeId::Broker(*a), NodeId::Broker(*b)]
            }
            Fault::ControllerCrash { .. } | Fault::IsolateController { .. } => {
                vec![NodeId::Controller]
            }
            Fault::ClientCut { .. } | Fault::ClientPause { .. } => vec![],
            Fault::IsolateLeader { .. } => every_broker().collect(),
            Fault::Split { minority, .. } => minority.iter().map(|&b| NodeId::Broker(b)).collect(),
            Fault::OneWay { from, to, .. } => vec![*from, *to],
            Fault::SlowNetwork { .. } => std::iter::once(NodeId::Controller)
                .chain(every_broker())
                .collect(),
        }
    }

    /// Whether two faults cannot be on at once whatever the profile: they hit
    /// the same server, or cut the same client link (undoing one would undo both).
    fn collides_with(&self, other: &Fault) -> bool {
        let servers = other.servers();
        let same_server = self.servers().iter().any(|s| servers.contains(s));
        let same_client_link = match (self, other) {
            (
                Fault::ClientCut { client, broker, .. },
                Fault::ClientCut {
                    client: c,
                    broker: b,
                    ..
                },
            ) => client == c && broker == b,
            (Fault::ClientPause { client, .. }, Fault::ClientPause { client: c, .. }) => {
                client == c
            }
            _ => false,
        };
        same_server || same_client_link
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let lasting = seconds(self.duration_ms());
        match self {
            Fault::BrokerCrash {
                broker,
                kind: CrashKind::ProcessCrash,
                ..
            } => write!(f, "crash broker-{broker}, restart after {lasting}"),
            Fault::BrokerCrash {
                broker,
                kind: CrashKind::PowerLoss,
                ..
            } => write!(f, "power loss on broker-{broker}, restart after {lasting}"),
            Fault::BrokerPause { broker, .. } => write!(f, "pause broker-{broker} for {lasting}"),
            Fault::BrokerIsolation { broker, .. } => {
                write!(f, "isolate broker-{broker} for {lasting}")
            }
            Fault::LinkCut { a, b, .. } => {
                write!(f, "cut broker-{a} and broker-{b} apart for {lasting}")
            }
            Fault::ControllerCrash { .. } => {
                write!(f, "crash the controller, restart after {lasting}")
            }
            Fault::ClientCut { client, broker, .. } => {
                write!(f, "cut {client} off from broker-{broker} for {lasting}")
            }
            Fault::ClientPause { client, .. } => write!(f, "pause {client} for {lasting}"),
            Fault::IsolateController { .. } => {
                write!(f, "isolate the controller from every broker for {lasting}")
            }
            Fault::IsolateLeader {
                topic, partition, ..
            } => write!(f, "isolate the leader of {topic}-{partition} for {lasting}"),
            Fault::Split { minority, .. } => {
                let names: Vec<String> = minority.iter().map(|b| format!("broker-{b}")).collect();
                write!(
                    f,
                    "split {} off from the other brokers and the controller for {lasting}",
                    names.join(" and ")
                )
            }
            Fault::OneWay { from, to, .. } => {
                write!(
                    f,
                    "stall messages from {from} to {to} (one way) for {lasting}"
                )
            }
            Fault::SlowNetwork { extra_ms, .. } => {
                write!(f, "slow every message down by {extra_ms} ms for {lasting}")
            }
            Fault::FlakyLink { a, b, .. } => write!(
                f,
                "make the link between broker-{a} and broker-{b} flaky for {lasting}"
            ),
        }
    }
}

/// A fault and when it starts, in ms from the start of the safety phase.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimedFault {
    pub at_ms: u64,
    pub fault: Fault,
}

impl TimedFault {
    /// When the fault is undone (at the latest at the heal).
    pub fn end_ms(&self) -> u64 {
        self.at_ms + self.fault.duration_ms()
    }
}

impl fmt::Display for TimedFault {
    /// `at 12.345 s: crash broker-2, restart after 5.100 s`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at {}: {}", seconds(self.at_ms), self.fault)
    }
}

/// A safety phase of `phase_ms` and the faults in it, by start time. A fault
/// that would outlast the phase is undone at its end, by the heal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    pub phase_ms: u64,
    pub faults: Vec<TimedFault>,
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

/// What a seed drew: the profile it drew under, the mix, and the schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Nemesis {
    pub profile: Profile,
    pub mix: Mix,
    pub schedule: Schedule,
}

impl Nemesis {
    /// `nemesis (safe): mix crash×2+pause×1, a fault every ~6.2 s; 7 faults in 60 s`
    pub fn headline(&self) -> String {
        format!(
            "nemesis ({}): mix {}; {} faults in {}",
            self.profile.name,
            self.mix,
            self.schedule.faults.len(),
            seconds(self.schedule.phase_ms)
        )
    }

    /// Tells the mix and the whole schedule at the top of the timeline.
    pub fn tell(&self, cluster: &Cluster) {
        let (trace, now) = (cluster.trace(), now_ms());
        trace.timeline(now, "nemesis", self.headline());
        for fault in &self.schedule.faults {
            trace.timeline(now, "nemesis", fault.to_string());
        }
    }
}

/// `5.100 s`: times are printed to the ms, in seconds.
fn seconds(ms: u64) -> String {
    format!("{}.{:03} s", ms / 1000, ms % 1000)
}

mod draw;
mod execute;

pub use draw::{draw, draw_for_run};
pub use execute::run_safety_phase;

#[cfg(test)]
mod tests;
