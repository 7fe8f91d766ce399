//! The nemesis: a fault schedule drawn from the run's seed ("swarm testing").
//!
//! A hand-written fault schedule tests what its author thought of. Swarm testing
//! (TigerBeetle's VOPR, FoundationDB's simulation) lets every seed first draw a
//! **mix** (which fault kinds are on, how often each comes, how busy the run is),
//! then a concrete **schedule** from that mix. Seeds whose mix leaves most kinds
//! out reach states an even blend never reaches: a run of nothing but pauses
//! stacks pauses; a run of nothing but link cuts shrinks ISRs one link at a time.
//!
//! The schedule is drawn **before** the run, from a generator of its own seeded
//! by the run's seed (ChaCha8, a stream apart from madsim's), and is plain data:
//! a [`Schedule`] of [`Fault`](kafkasim_check::Fault)s, the same type a scenario file's
//! `[[faults.schedule]]` holds. So writing a drawn schedule out to a file and
//! running that file with the same seed gives the same faults at the same
//! times, and the same run: `kafkasim shrink` starts from exactly that. Nothing
//! is hidden: the mix and every fault are printed at the top of the timeline.
//!
//! Each fault lasts a drawn time and undoes itself (a restart, a resume, a
//! heal). During the run's **safety phase** the schedule runs; at its end the
//! **heal** undoes every fault still on; then the **liveness phase** checks that
//! the cluster recovers.
//!
//! A [`Profile`] bounds what may be drawn. [`Profile::SAFE`] keeps Kafka's
//! promises reachable: no power loss (Kafka acknowledges from the page cache, so
//! a power loss may lose acknowledged writes), and never two server faults at
//! once: at any time at most one broker is crashed, paused or isolated, or one
//! link between two brokers is cut, or the controller is down (client cuts come
//! on top of any of these). With RF 3 and `min.insync.replicas` 2, a partition
//! can still dip below its minimum ISR (a broker that just restarted has not
//! caught up yet when the next one fails): writes stall then, but nothing
//! acknowledged may be lost. [`Profile::DOUBLE`] draws two server faults at
//! once, still without power loss: a partition may lose its whole ISR for a
//! while, and a safe configuration must still lose nothing (elections wait for
//! an in-sync replica). [`Profile::WILD`] also draws power losses.
//! [`Profile::NETWORK`] is [`Profile::SAFE`] that also draws the network faults:
//! isolating the controller or a partition's leader, splits, one-way stalls,
//! latency spikes and flaky links (see `kafkasim_sim::network` for what each
//! does to a connection).
//!
//! What a fault takes out of normal service (the "one server fault at a time"
//! rule) is [`Action::servers`]: a fault on a role (`leader of events-0`) does
//! not know its broker until it runs, so it counts as a fault on every broker.
//!
//! [`Profile::REPLICATION`] is [`Profile::DOUBLE`] that also draws replaced
//! disks and stalls of one replication API (a server's `Fetch` answers or its
//! `AlterPartition` proposals held while the rest flows): what the bug switches
//! of the replication protocol (`kafkasim bugs`) are hunted with.
//!
//! Left out: lost responses, client pauses and client crashes (written
//! schedules and stories have them), clock faults, disk corruption.

use kafkasim::ids::{BrokerId, TopicPartition};
use kafkasim_check::fault::{seconds, Action, FaultKind, Schedule};
use std::collections::BTreeMap;
use std::fmt;

mod draw;

pub use draw::draw;

#[cfg(test)]
mod tests;

/// What a nemesis may draw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Profile {
    pub name: &'static str,
    /// Whether power losses may be drawn.
    pub power_loss: bool,
    /// How many server faults (of brokers, links between them, the controller)
    /// may be on at once. Client cuts never count.
    pub server_faults_max: usize,
    /// Whether the network faults may be drawn (and isolations of the
    /// controller and of partition leaders).
    pub network: bool,
    /// Whether replaced disks and stalls of one replication API (`Fetch`,
    /// `AlterPartition`) may be drawn: the faults the replication protocol's
    /// own guards exist for.
    pub replication: bool,
}

impl Profile {
    /// Faults under which Kafka promises that no acknowledged write is lost.
    pub const SAFE: Profile = Profile {
        name: "safe",
        power_loss: false,
        server_faults_max: 1,
        network: false,
        replication: false,
    };

    /// Two server faults at once, no power loss: harder on the cluster, and
    /// still within Kafka's promises.
    pub const DOUBLE: Profile = Profile {
        name: "double",
        power_loss: false,
        server_faults_max: 2,
        network: false,
        replication: false,
    };

    /// Also power losses, and two server faults at once: acknowledged writes may
    /// be lost, and a scenario must judge its runs knowing that.
    pub const WILD: Profile = Profile {
        name: "wild",
        power_loss: true,
        server_faults_max: 2,
        network: false,
        replication: false,
    };

    /// [`Profile::SAFE`] with network faults too. Kafka keeps its promises
    /// under all of them.
    pub const NETWORK: Profile = Profile {
        name: "network",
        power_loss: false,
        server_faults_max: 1,
        network: true,
        replication: false,
    };

    /// [`Profile::DOUBLE`] with replaced disks and stalls of one replication
    /// API (a leader's `Fetch` answers, its `AlterPartition` proposals) while
    /// the rest of its traffic flows. With Kafka's rules no acknowledged write
    /// is lost to them (a disk is replaced on one broker at a time, and a
    /// broker outside every ISR may lose its disk at no cost); each bug switch
    /// that removes a replication guard loses one.
    pub const REPLICATION: Profile = Profile {
        name: "replication",
        power_loss: false,
        server_faults_max: 2,
        network: false,
        replication: true,
    };

    pub const ALL: [Profile; 5] = [
        Profile::SAFE,
        Profile::DOUBLE,
        Profile::WILD,
        Profile::NETWORK,
        Profile::REPLICATION,
    ];

    /// The profile named `name`, as a scenario file writes it.
    pub fn named(name: &str) -> Option<Profile> {
        Profile::ALL.into_iter().find(|p| p.name == name)
    }

    /// The kinds this profile draws, in the order a mix lists them.
    pub fn kinds(self) -> Vec<FaultKind> {
        let mut kinds = vec![
            FaultKind::Crash,
            FaultKind::Pause,
            FaultKind::Isolate,
            FaultKind::LinkCut,
            FaultKind::ClientCut,
        ];
        if self.power_loss {
            kinds.insert(1, FaultKind::PowerLoss);
        }
        if self.network {
            kinds.extend([
                FaultKind::Split,
                FaultKind::OneWay,
                FaultKind::SlowNetwork,
                FaultKind::FlakyLink,
            ]);
        }
        if self.replication {
            kinds.extend([FaultKind::ReplaceDisk, FaultKind::StallApi]);
        }
        kinds
    }
}

/// What faults may hit: the brokers, the client machines by name, and the
/// partitions whose leaders may be isolated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Targets {
    pub brokers: Vec<BrokerId>,
    pub clients: Vec<String>,
    pub partitions: Vec<TopicPartition>,
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
            .map(|(kind, weight)| format!("{kind}×{weight}"))
            .collect();
        write!(
            f,
            "{}, a fault every ~{}",
            kinds.join("+"),
            seconds(self.mean_gap_ms)
        )
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
}

/// Whether `action` is a fault on servers (which counts against a profile's
/// bound), not only on a client machine.
pub fn is_server_fault(action: &Action, brokers: &[BrokerId]) -> bool {
    !action.servers(brokers).is_empty()
}
