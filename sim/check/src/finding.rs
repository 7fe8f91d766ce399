//! Findings: what a run's judge found, as facts with fields.
//!
//! A [`Finding`] has a [`Kind`] (Jepsen's anomaly names, the guide's invariant
//! names, and the ways a run can fail to make progress), the reasons the run's
//! settings allow it ([`Allowance`]; none: it fails the run), and a typed
//! [`Detail`]: the sightings, logs, generations or waits it is made of. From the
//! detail come the partitions, offsets, values, nodes and time span it concerns.
//! Sentences are made only when a finding is shown (`Display`): the text
//! output, the JSON, reports, sweeps and shrink read the fields.

use crate::divergence::Divergence;
use kafkasim::ids::{BrokerId, LeaderEpoch, Offset, TopicPartition};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// What a finding is: the names `checkers.md` and Jepsen's Kafka checker give.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// One offset of a partition seen holding two different values.
    InconsistentOffsets,
    /// One value at two or more offsets of a partition.
    Duplicate,
    /// An acked send never polled, though a poll went past its offset.
    LostWrite,
    /// An acked send never polled, and no poll went past it (lost, or slow).
    Unseen,
    /// A consumer's next record jumps over offsets the log has.
    PollSkip,
    /// A consumer's next record is at or before one it already had.
    NonmonotonicPoll,
    /// A producer's later send lands below an earlier acked one.
    NonmonotonicSend,
    /// Two sends of one producer to a partition, the later sent before the
    /// earlier was acknowledged (in flight together), landed in reverse order.
    IntNonmonotonicSend,
    /// A value whose send definitely failed is polled.
    AbortedRead,
    /// An acknowledged record a consumer group never processed.
    NeverProcessed,
    /// A record a consumer group processed more than once.
    ProcessedAgain,
    /// Two replicas disagree below the leader's high watermark.
    DivergentReplicas,
    /// Two brokers acted as leader of a partition in one leader epoch.
    OneLeaderPerEpoch,
    /// A leader's high watermark went down during its epoch.
    HwMonotonic,
    /// One generation of a group gave a partition to two members.
    ExclusiveAssignment,
    /// A generation started again with another assignment.
    OneAssignmentPerGeneration,
    /// A commit persisted from outside the generation it names.
    FencedCommits,
    /// Replicas not back in sync within the run's bound after the heal.
    NotInSync,
    /// A producer still waited for answers to its sends at the bound.
    ProducerStuck,
    /// A scenario waited for a state of the cluster that did not come.
    WaitTimedOut,
    /// The run did not finish within its simulated time limit.
    RunTimedOut,
    /// The scenario could not set up what it runs on (e.g. create its topics).
    SetupFailed,
    /// A node or the scenario panicked: a broken assertion, a model bug.
    Crash,
    /// The history holds no send and no poll: the checkers had nothing to judge.
    EmptyHistory,
    /// Sends and polls were made, but no send was acknowledged and no poll
    /// returned a record: the checkers had nothing to check.
    NothingAcknowledged,
}

impl Kind {
    pub const ALL: [Kind; 25] = [
        Kind::InconsistentOffsets,
        Kind::Duplicate,
        Kind::LostWrite,
        Kind::Unseen,
        Kind::PollSkip,
        Kind::NonmonotonicPoll,
        Kind::NonmonotonicSend,
        Kind::IntNonmonotonicSend,
        Kind::AbortedRead,
        Kind::NeverProcessed,
        Kind::ProcessedAgain,
        Kind::DivergentReplicas,
        Kind::OneLeaderPerEpoch,
        Kind::HwMonotonic,
        Kind::ExclusiveAssignment,
        Kind::OneAssignmentPerGeneration,
        Kind::FencedCommits,
        Kind::NotInSync,
        Kind::ProducerStuck,
        Kind::WaitTimedOut,
        Kind::RunTimedOut,
        Kind::SetupFailed,
        Kind::Crash,
        Kind::EmptyHistory,
        Kind::NothingAcknowledged,
    ];

    /// Its name, as files, JSON and the command line write it.
    pub fn name(self) -> &'static str {
        match self {
            Kind::InconsistentOffsets => "inconsistent-offsets",
            Kind::Duplicate => "duplicate",
            Kind::LostWrite => "lost-write",
            Kind::Unseen => "unseen",
            Kind::PollSkip => "poll-skip",
            Kind::NonmonotonicPoll => "nonmonotonic-poll",
            Kind::NonmonotonicSend => "nonmonotonic-send",
            Kind::IntNonmonotonicSend => "int-nonmonotonic-send",
            Kind::AbortedRead => "aborted-read",
            Kind::NeverProcessed => "never-processed",
            Kind::ProcessedAgain => "processed-again",
            Kind::DivergentReplicas => "divergent-replicas",
            Kind::OneLeaderPerEpoch => "one-leader-per-epoch",
            Kind::HwMonotonic => "hw-monotonic",
            Kind::ExclusiveAssignment => "exclusive-assignment",
            Kind::OneAssignmentPerGeneration => "one-assignment-per-generation",
            Kind::FencedCommits => "fenced-commits",
            Kind::NotInSync => "not-in-sync",
            Kind::ProducerStuck => "producer-stuck",
            Kind::WaitTimedOut => "wait-timed-out",
            Kind::RunTimedOut => "run-timed-out",
            Kind::SetupFailed => "setup-failed",
            Kind::Crash => "crash",
            Kind::EmptyHistory => "empty-history",
            Kind::NothingAcknowledged => "nothing-acknowledged",
        }
    }

    /// What a failing finding of this kind says about the run.
    pub fn class(self) -> Class {
        match self {
            Kind::Unseen
            | Kind::NeverProcessed
            | Kind::NotInSync
            | Kind::ProducerStuck
            | Kind::WaitTimedOut
            | Kind::RunTimedOut
            | Kind::EmptyHistory
            | Kind::NothingAcknowledged => Class::Liveness,
            Kind::Crash => Class::Crash,
            _ => Class::Correctness,
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Kind {
    type Err = String;

    fn from_str(text: &str) -> Result<Kind, String> {
        Kind::ALL
            .into_iter()
            .find(|k| k.name() == text)
            .ok_or_else(|| {
                let names: Vec<&str> = Kind::ALL.iter().map(|k| k.name()).collect();
                format!(
                    "unknown finding kind \"{text}\"; kinds: {}",
                    names.join(", ")
                )
            })
    }
}

/// What a failing finding says about the run, by severity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Class {
    /// Something the configuration promised did not hold.
    Correctness,
    /// Progress the run waited for did not come within its bound.
    Liveness,
    /// A node or the scenario panicked.
    Crash,
}

/// Why a run's settings allow a finding: Kafka promises less under them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Allowance {
    /// `acks=1`: the leader acknowledges a write only it has.
    LeaderOnlyAcks,
    /// `acks=0`: the producer waits for no answer at all.
    NoAcks,
    /// `enable.idempotence=false`: a retried send can be appended twice, or
    /// behind a later send that was in flight with it.
    NoIdempotence,
    /// `unclean.leader.election.enable=true`.
    UncleanElection,
    /// A power loss keeps only what a broker flushed or its page cache had
    /// written back.
    PowerLoss,
    /// With eligible leader replicas, a partition whose replicas all came
    /// back from unclean shutdowns stays offline rather than lose a write.
    PowerLossOffline,
    /// A group commits after processing: a new owner starts from the last commit.
    AtLeastOnce,
    /// A group commits before processing: what a rebalance interrupts is skipped.
    AtMostOnce,
    /// A group commits before processing, and a commit failed: the next owner
    /// starts before what was processed.
    FailedCommit,
}

impl fmt::Display for Allowance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Allowance::LeaderOnlyAcks => {
                "acks=1 acknowledges a write only the leader has, and a failover can lose it"
            }
            Allowance::NoAcks => {
                "acks=0 waits for no answer: a write the leader never appended, or lost, is gone without a word"
            }
            Allowance::NoIdempotence => {
                "without idempotence a retried send can be appended twice, or behind a later one"
            }
            Allowance::UncleanElection => {
                "an unclean election can elect a replica that lacks committed records"
            }
            Allowance::PowerLoss => {
                "a power loss keeps only what a broker flushed or had written back, and Kafka does not flush each write"
            }
            Allowance::PowerLossOffline => {
                "with eligible leader replicas a partition whose replicas all came back from unclean shutdowns stays offline rather than lose a write (KIP-966)"
            }
            Allowance::AtLeastOnce => {
                "at-least-once; a rebalance hands a partition over from its last commit"
            }
            Allowance::AtMostOnce => {
                "at-most-once; a commit before processing skips what a rebalance interrupts"
            }
            Allowance::FailedCommit => {
                "a failed commit leaves the next owner to start before what was processed"
            }
        })
    }
}

/// How a sighting came about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// A producer's send was acked at the offset.
    Acked,
    /// A consumer's poll returned the value at the offset.
    Polled,
    /// A producer's send definitely failed (it has no offset).
    Refused,
    /// A producer's send ended without an answer (`info`: a timeout, a lost
    /// response), and a poll found it: `offset` is where the poll found it,
    /// `process` and `time_ms` are the producer's and the send's end.
    Ambiguous,
    /// A consumer read the partition to its end: `offset` is the end (the
    /// high watermark) and there is no value.
    End,
}

/// One fact from the history: a value seen (or refused) by a process at a time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sighting {
    pub source: Source,
    pub value: String,
    /// Where the value was seen; `None` for a refused send.
    pub offset: Option<Offset>,
    pub process: String,
    pub time_ms: u64,
    /// The producer whose send it is, when the history tells: the process
    /// itself for a send, the send's producer for a polled record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub producer: Option<String>,
    /// The client's error, for a refused send.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl Sighting {
    /// The offset; only a refused send has none.
    pub fn at(&self) -> Offset {
        self.offset.expect("only a refused send has no offset")
    }

    /// "acked to producer-1 at 100 ms", "polled by consumer-2 at 900 ms",
    /// "unanswered to producer-1 at 300 ms".
    fn how(&self) -> String {
        let (verb, to) = match self.source {
            Source::Acked => ("acked", "to"),
            Source::Polled => ("polled", "by"),
            Source::Refused => ("refused", "to"),
            Source::Ambiguous => ("unanswered", "to"),
            Source::End => ("read to its end", "by"),
        };
        format!("{verb} {to} {} at {} ms", self.process, self.time_ms)
    }
}

/// A partition's leader and ISR as the controller saw them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartitionState {
    pub partition: TopicPartition,
    pub leader: Option<BrokerId>,
    pub isr: Vec<BrokerId>,
}

/// What a finding is made of, in its kind's own terms.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Detail {
    /// What clients saw of one partition, in the order the description names it.
    Sightings {
        partition: TopicPartition,
        sightings: Vec<Sighting>,
    },
    /// How often a group processed one acknowledged record (`times` 0: never).
    Processing {
        group: String,
        partition: TopicPartition,
        offset: Offset,
        value: String,
        times: usize,
        /// The processes that processed it, each time.
        by: Vec<String>,
    },
    /// A replica that disagrees with the leader below its high watermark.
    Divergence(Divergence),
    /// Two brokers led one partition in one leader epoch.
    LeaderTwice {
        partition: TopicPartition,
        leader_epoch: LeaderEpoch,
        first: BrokerId,
        first_ms: u64,
        second: BrokerId,
        second_ms: u64,
    },
    /// A leader moved its high watermark back within its epoch.
    HighWatermarkBack {
        broker: BrokerId,
        partition: TopicPartition,
        leader_epoch: LeaderEpoch,
        before: Offset,
        after: Offset,
        time_ms: u64,
    },
    /// One generation gave a partition to two members.
    AssignedTwice {
        group: String,
        generation: i32,
        partition: TopicPartition,
        members: [String; 2],
        time_ms: u64,
    },
    /// A generation started again with another assignment.
    GenerationRestarted {
        group: String,
        generation: i32,
        time_ms: u64,
    },
    /// A commit persisted from a member not in the generation it names.
    UnfencedCommit {
        group: String,
        member: String,
        generation: i32,
        partition: TopicPartition,
        offset: Offset,
        time_ms: u64,
    },
    /// Partitions not back in sync `bound_ms` after the heal.
    NotInSync {
        partitions: Vec<PartitionState>,
        bound_ms: u64,
        time_ms: u64,
    },
    /// A producer still waited for answers when the bound came.
    ProducerStuck { producer: String, time_ms: u64 },
    /// A wait for `what` (as the scenario says it) that gave up.
    WaitTimedOut {
        what: String,
        waited_ms: u64,
        time_ms: u64,
    },
    /// The run had not finished at its simulated time limit.
    RunTimedOut { limit_ms: u64 },
    /// What the scenario could not set up, and why.
    SetupFailed { what: String, time_ms: u64 },
    /// A panic's message.
    Crash { message: String },
    /// A history with no send and no poll; `entries` is how many entries it
    /// holds all the same (client events, commits).
    EmptyHistory { entries: usize },
    /// A history whose `sends` sends and `polls` polls brought nothing back: no
    /// send acknowledged, no record polled.
    NothingAcknowledged { sends: usize, polls: usize },
}

/// One finding of a run's judge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    pub kind: Kind,
    /// Why the run's settings allow it; empty: it fails the run.
    pub allowed: Vec<Allowance>,
    pub detail: Detail,
}

/// A replica that disagrees with its leader below the high watermark.
impl From<Divergence> for Finding {
    fn from(divergence: Divergence) -> Finding {
        Finding::new(Kind::DivergentReplicas, Detail::Divergence(divergence))
    }
}

impl Finding {
    /// A finding nothing allows (yet: the judge decides).
    pub fn new(kind: Kind, detail: Detail) -> Finding {
        Finding {
            kind,
            allowed: Vec::new(),
            detail,
        }
    }

    pub fn is_allowed(&self) -> bool {
        !self.allowed.is_empty()
    }

    /// The class of a finding that fails the run; `None` when allowed.
    pub fn failure(&self) -> Option<Class> {
        (!self.is_allowed()).then(|| self.kind.class())
    }

    /// The partitions it concerns.
    pub fn partitions(&self) -> Vec<TopicPartition> {
        match &self.detail {
            Detail::Sightings { partition, .. }
            | Detail::Processing { partition, .. }
            | Detail::LeaderTwice { partition, .. }
            | Detail::HighWatermarkBack { partition, .. }
            | Detail::AssignedTwice { partition, .. }
            | Detail::UnfencedCommit { partition, .. } => vec![partition.clone()],
            Detail::Divergence(d) => vec![d.partition.clone()],
            Detail::NotInSync { partitions, .. } => {
                partitions.iter().map(|p| p.partition.clone()).collect()
            }
            _ => vec![],
        }
    }

    /// The offsets it concerns, in the order its description names them.
    pub fn offsets(&self) -> Vec<Offset> {
        match &self.detail {
            Detail::Sightings { sightings, .. } => {
                sightings.iter().filter_map(|s| s.offset).collect()
            }
            Detail::Processing { offset, .. } | Detail::UnfencedCommit { offset, .. } => {
                vec![*offset]
            }
            Detail::Divergence(d) => vec![d.offset],
            Detail::HighWatermarkBack { before, after, .. } => vec![*before, *after],
            _ => vec![],
        }
    }

    /// The record values it concerns, each once, in the order first named.
    pub fn values(&self) -> Vec<String> {
        let all: Vec<&str> = match &self.detail {
            Detail::Sightings { sightings, .. } => (sightings.iter())
                .filter(|s| s.source != Source::End) // an end has no value
                .map(|s| &*s.value)
                .collect(),
            Detail::Processing { value, .. } => vec![value],
            Detail::Divergence(d) => vec![&d.replica_value, &d.leader_value],
            _ => vec![],
        };
        let mut values: Vec<String> = Vec::new();
        for value in all {
            if !values.iter().any(|v| v == value) {
                values.push(value.to_string());
            }
        }
        values
    }

    /// The processes, brokers and groups it concerns, each once, in order.
    pub fn nodes(&self) -> Vec<String> {
        let broker = |b: &BrokerId| format!("broker-{b}");
        let all: Vec<String> = match &self.detail {
            Detail::Sightings { sightings, .. } => {
                sightings.iter().map(|s| s.process.clone()).collect()
            }
            Detail::Processing { group, by, .. } => std::iter::once(group.clone())
                .chain(by.iter().cloned())
                .collect(),
            Detail::Divergence(d) => vec![broker(&d.replica), broker(&d.leader)],
            Detail::LeaderTwice { first, second, .. } => vec![broker(first), broker(second)],
            Detail::HighWatermarkBack { broker: b, .. } => vec![broker(b)],
            Detail::AssignedTwice { group, members, .. } => std::iter::once(group.clone())
                .chain(members.iter().cloned())
                .collect(),
            Detail::GenerationRestarted { group, .. } => vec![group.clone()],
            Detail::UnfencedCommit { group, member, .. } => vec![group.clone(), member.clone()],
            Detail::ProducerStuck { producer, .. } => vec![producer.clone()],
            _ => vec![],
        };
        let mut nodes: Vec<String> = Vec::new();
        for node in all {
            if !nodes.contains(&node) {
                nodes.push(node);
            }
        }
        nodes
    }

    /// The simulated time span it concerns (first and last time named), if any.
    pub fn span_ms(&self) -> Option<(u64, u64)> {
        let times: Vec<u64> = match &self.detail {
            Detail::Sightings { sightings, .. } => sightings.iter().map(|s| s.time_ms).collect(),
            Detail::LeaderTwice {
                first_ms,
                second_ms,
                ..
            } => vec![*first_ms, *second_ms],
            Detail::HighWatermarkBack { time_ms, .. }
            | Detail::AssignedTwice { time_ms, .. }
            | Detail::GenerationRestarted { time_ms, .. }
            | Detail::UnfencedCommit { time_ms, .. }
            | Detail::NotInSync { time_ms, .. }
            | Detail::ProducerStuck { time_ms, .. }
            | Detail::WaitTimedOut { time_ms, .. }
            | Detail::SetupFailed { time_ms, .. } => vec![*time_ms],
            _ => vec![],
        };
        Some((*times.iter().min()?, *times.iter().max()?))
    }
}

mod describe;

#[cfg(test)]
mod tests;
