//! A story's steps: what its application does, one step after the other.
//!
//! A scenario file with `[[step]]` tables is a *story*: its topics are created
//! (every replica in sync) and its producers started, then each step runs when
//! the one before it has finished. A step sends records, starts or ends a
//! fault, waits until a partition's leader or ISR is what it says, sleeps,
//! shows partitions on the timeline, reads a topic as a consumer would, or
//! asks for a preferred leader election.
//! At the end every fault still on is undone and the reader reads every
//! partition back. A wait that does not come within its limit ends the story
//! with a `wait-timed-out` finding.

use kafkasim::ids::{BrokerId, TopicPartition};
use kafkasim::metadata::PartitionInfo;
use kafkasim_check::fault::Action;
use std::fmt;

/// One step of a story.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// `producer` sends each value to `partition`, one after the other, each
    /// waited for; the timeline tells how each went.
    Send {
        producer: String,
        partition: TopicPartition,
        values: Vec<String>,
    },
    /// A fault starts now; `name`, if given, is how a later step ends it.
    Fault {
        name: Option<String>,
        action: Action,
    },
    /// The faults of these names end now.
    End { names: Vec<String> },
    /// Waits until `partition` is as `until` says.
    Wait {
        partition: TopicPartition,
        until: Condition,
    },
    /// Simulated time passes.
    Sleep { ms: u64 },
    /// The timeline shows each partition of `topic`: its leader and ISR, after
    /// `say`.
    Show { topic: String, say: String },
    /// A fresh consumer reads every partition of `topic` from the beginning
    /// to its high watermark now: what a consumer may see at this moment. Its
    /// polls go into the history, so a record it read and the log later lost
    /// is found.
    Read { topic: String },
    /// The admin client asks for a preferred leader election of every
    /// partition (`ElectLeaders`, `ElectionType.PREFERRED`).
    ElectPreferredLeaders,
}

/// What a partition must look like for a wait to end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Condition {
    /// This broker leads it; `None`: nobody does (it is offline).
    Leader(Option<BrokerId>),
    /// A leader other than the one it had when the wait began (and not none).
    LeaderChanged,
    /// Its ISR is exactly these brokers, in any order.
    Isr(Vec<BrokerId>),
    /// Its ISR holds this many replicas.
    IsrSize(usize),
}

impl Condition {
    /// Whether `partition` satisfies the condition; `leader_before` is its
    /// leader when the wait began.
    pub fn holds(&self, partition: &PartitionInfo, leader_before: Option<BrokerId>) -> bool {
        match self {
            Condition::Leader(leader) => partition.leader == *leader,
            Condition::LeaderChanged => {
                partition.leader.is_some() && partition.leader != leader_before
            }
            Condition::Isr(isr) => {
                let mut wanted = isr.clone();
                let mut now = partition.isr.clone();
                wanted.sort_unstable();
                now.sort_unstable();
                wanted == now
            }
            Condition::IsrSize(size) => partition.isr.len() == *size,
        }
    }
}

/// What a wait waits for, as the timeline and a `wait-timed-out` finding say it.
impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Condition::Leader(Some(b)) => write!(f, "broker-{b} as leader"),
            Condition::Leader(None) => write!(f, "no leader"),
            Condition::LeaderChanged => write!(f, "a new leader"),
            Condition::Isr(isr) => write!(f, "the ISR {}", brokers(isr)),
            Condition::IsrSize(1) => write!(f, "the ISR down to 1 replica"),
            Condition::IsrSize(n) => write!(f, "{n} replicas in the ISR"),
        }
    }
}

/// `[1,2]`, as the timeline writes brokers.
pub fn brokers(ids: &[BrokerId]) -> String {
    let ids: Vec<String> = ids.iter().map(ToString::to_string).collect();
    format!("[{}]", ids.join(","))
}

impl Step {
    /// The step's kind, as a file writes its key.
    pub fn key(&self) -> &'static str {
        match self {
            Step::Send { .. } => "send",
            Step::Fault { .. } => "fault",
            Step::End { .. } => "end",
            Step::Wait { .. } => "wait",
            Step::Sleep { .. } => "sleep_ms",
            Step::Show { .. } => "show",
            Step::Read { .. } => "read",
            Step::ElectPreferredLeaders => "elect",
        }
    }
}
