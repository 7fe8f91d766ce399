//! The log and delivery checkers: named anomalies found in a history.
//!
//! Each checker is one pure function over a [`History`], named after the anomaly
//! it finds, with the names Jepsen's Kafka checker gave them so that a reader of a
//! Jepsen analysis recognises them:
//!
//! | checker | finds |
//! |---|---|
//! | [`inconsistent_offsets`] | one offset seen holding two different values |
//! | [`duplicate`] | one value at two or more offsets of a partition |
//! | [`lost_write`] | an acked send never polled, though a poll went past its offset |
//! | [`unseen`] | an acked send never polled, and no poll went past it (lost or slow?) |
//! | [`poll_skip`] | a consumer's next record jumps over offsets the log has |
//! | [`nonmonotonic_poll`] | a consumer's next record is at or before one it already had |
//! | [`nonmonotonic_send`] | a producer's later send lands below an earlier acked one |
//! | [`aborted_read`] | a value whose send definitely failed is polled |
//!
//! Each checker reads [`Facts`]: what a history says, derived from it once for all
//! the checkers (its entries, every sighting, the first poll of each value and the
//! version order).
//!
//! Most of them read the *version order*: for each partition, which values were
//! seen at which offset, by acked sends and by polls ([`VersionOrder`]). A healthy
//! partition has one value per offset and each value at one offset.
//!
//! Which anomalies a configuration *allows* is [`config`]'s business: a checker
//! reports everything it finds, and [`check_all`] sorts the findings into allowed
//! and failing. The checkers assume values are unique within a run, and that a
//! consumer starts each partition from the beginning, a committed offset or a seek
//! it reports: one that starts at the log end (`auto.offset.reset=latest`) jumps
//! over records no one else polled, which `lost_write` cannot tell from a loss.
//! Jepsen counts positions in the version order rather than raw offsets, because
//! transaction markers leave gaps in real Kafka logs; this model writes no markers,
//! so offsets serve.

use crate::history::{Entry, Operation, Outcome};
use kafkasim::ids::{Offset, TopicPartition};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt;

pub mod config;
mod delivery;
mod offsets;
mod order;

pub use config::{
    check_all, AllowedAnomalies, AllowedAnomaly, CheckReport, Config, DeliveryMode, FailureKind,
};
pub use delivery::{aborted_read, lost_write, unseen};
pub use offsets::{duplicate, inconsistent_offsets};
pub use order::{nonmonotonic_poll, nonmonotonic_send, poll_skip};

#[cfg(test)]
mod tests;

/// The anomalies, by their Jepsen names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AnomalyKind {
    InconsistentOffsets,
    Duplicate,
    LostWrite,
    Unseen,
    PollSkip,
    NonmonotonicPoll,
    NonmonotonicSend,
    AbortedRead,
}

impl AnomalyKind {
    pub const ALL: [AnomalyKind; 8] = [
        AnomalyKind::InconsistentOffsets,
        AnomalyKind::Duplicate,
        AnomalyKind::LostWrite,
        AnomalyKind::Unseen,
        AnomalyKind::PollSkip,
        AnomalyKind::NonmonotonicPoll,
        AnomalyKind::NonmonotonicSend,
        AnomalyKind::AbortedRead,
    ];

    pub fn name(self) -> &'static str {
        match self {
            AnomalyKind::InconsistentOffsets => "inconsistent-offsets",
            AnomalyKind::Duplicate => "duplicate",
            AnomalyKind::LostWrite => "lost-write",
            AnomalyKind::Unseen => "unseen",
            AnomalyKind::PollSkip => "poll-skip",
            AnomalyKind::NonmonotonicPoll => "nonmonotonic-poll",
            AnomalyKind::NonmonotonicSend => "nonmonotonic-send",
            AnomalyKind::AbortedRead => "aborted-read",
        }
    }
}

impl fmt::Display for AnomalyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How a sighting came about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Evidence {
    /// A producer's send was acked at the offset.
    Acked,
    /// A consumer's poll returned the value at the offset.
    Polled,
    /// A producer's send definitely failed (it has no offset).
    Failed,
}

/// One fact from the history: a value seen (or refused) by a process at a time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Sighting {
    pub evidence: Evidence,
    pub value: String,
    /// Where the value was seen; `None` for a failed send.
    pub offset: Option<Offset>,
    pub process: String,
    pub time_ms: u64,
}

impl Sighting {
    fn how(&self) -> String {
        how(self.evidence, &self.process, self.time_ms)
    }

    fn at(&self) -> Offset {
        self.offset.expect("only a failed send has no offset")
    }
}

/// "acked to producer-1 at 100 ms", "polled by consumer-2 at 900 ms".
fn how(evidence: Evidence, process: &str, time_ms: u64) -> String {
    let (verb, to) = match evidence {
        Evidence::Acked => ("acked", "to"),
        Evidence::Polled => ("polled", "by"),
        Evidence::Failed => ("refused", "to"),
    };
    format!("{verb} {to} {process} at {time_ms} ms")
}

/// A sighting as the checkers read it, borrowed from the history's entries: an
/// owned [`Sighting`] is made only for the anomalies found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Seen<'a> {
    evidence: Evidence,
    value: &'a str,
    offset: Option<Offset>,
    process: &'a str,
    time_ms: u64,
}

impl Seen<'_> {
    fn owned(&self) -> Sighting {
        Sighting {
            evidence: self.evidence,
            value: self.value.to_string(),
            offset: self.offset,
            process: self.process.to_string(),
            time_ms: self.time_ms,
        }
    }

    fn how(&self) -> String {
        how(self.evidence, self.process, self.time_ms)
    }

    fn at(&self) -> Offset {
        self.offset.expect("only a failed send has no offset")
    }
}

/// One anomaly: its kind, its partition, the sightings it is made of (in the
/// order its description names them) and the description, in plain words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Anomaly {
    pub kind: AnomalyKind,
    pub partition: TopicPartition,
    pub sightings: Vec<Sighting>,
    pub description: String,
}

impl Anomaly {
    /// The offsets involved, in the order of the sightings.
    pub fn offsets(&self) -> Vec<Offset> {
        self.sightings.iter().filter_map(|s| s.offset).collect()
    }

    pub fn values(&self) -> Vec<&str> {
        self.sightings.iter().map(|s| s.value.as_str()).collect()
    }

    pub fn times_ms(&self) -> Vec<u64> {
        self.sightings.iter().map(|s| s.time_ms).collect()
    }

    /// The processes involved, each once, in the order they are first named.
    pub fn processes(&self) -> Vec<&str> {
        let mut processes: Vec<&str> = Vec::new();
        for s in &self.sightings {
            if !processes.contains(&s.process.as_str()) {
                processes.push(&s.process);
            }
        }
        processes
    }
}

impl fmt::Display for Anomaly {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind, self.description)
    }
}

/// The values seen at one offset, each with its first sighting.
type ValuesAt<'a> = BTreeMap<&'a str, Seen<'a>>;

/// For each partition, every offset that acked sends and polls saw, with the
/// values seen there.
#[derive(Debug, Default)]
struct VersionOrder<'a>(BTreeMap<&'a TopicPartition, BTreeMap<Offset, ValuesAt<'a>>>);

impl<'a> VersionOrder<'a> {
    fn of(sightings: &[(&'a TopicPartition, Seen<'a>)]) -> VersionOrder<'a> {
        let mut order = VersionOrder::default();
        for &(partition, seen) in sightings {
            if seen.evidence == Evidence::Failed || seen.at() < 0 {
                continue; // no offset to place it at (a failed or an acks=0 send)
            }
            order
                .0
                .entry(partition)
                .or_default()
                .entry(seen.at())
                .or_default()
                .entry(seen.value)
                .or_insert(seen);
        }
        order
    }

    fn partitions(
        &self,
    ) -> impl Iterator<Item = (&'a TopicPartition, &BTreeMap<Offset, ValuesAt<'a>>)> {
        self.0.iter().map(|(p, offsets)| (*p, offsets))
    }

    /// The offsets of `partition` strictly between `after` and `before`, with
    /// the earliest sighting at each.
    fn between(&self, partition: &TopicPartition, after: Offset, before: Offset) -> Vec<Seen<'a>> {
        let Some(offsets) = self.0.get(partition) else {
            return Vec::new();
        };
        if before <= after + 1 {
            return Vec::new();
        }
        offsets
            .range(after + 1..before)
            .filter_map(|(_, values)| values.values().min_by_key(|s| s.time_ms).copied())
            .collect()
    }
}

/// What a history says, derived once and read by every checker. It borrows
/// the history's entries rather than copying what it reads of them.
pub struct Facts<'a> {
    entries: &'a [Entry],
    /// Every acked send, polled record and failed send, in order.
    sightings: Vec<(&'a TopicPartition, Seen<'a>)>,
    /// The first poll of each value, by partition and value.
    first_polls: BTreeMap<(&'a TopicPartition, &'a str), Seen<'a>>,
    order: VersionOrder<'a>,
    /// Each pair of records a consumer polled from a partition one after the
    /// other, with no seek or reassignment between.
    consecutive_polls: Vec<(&'a TopicPartition, Seen<'a>, Seen<'a>)>,
}

impl<'a> Facts<'a> {
    /// The facts of a history's entries (see [`History::with_entries`]).
    pub fn of(entries: &'a [Entry]) -> Facts<'a> {
        let sightings = sightings(entries);
        let mut first_polls = BTreeMap::new();
        for &(partition, seen) in &sightings {
            if seen.evidence == Evidence::Polled {
                first_polls.entry((partition, seen.value)).or_insert(seen);
            }
        }
        Facts {
            entries,
            order: VersionOrder::of(&sightings),
            sightings,
            first_polls,
            consecutive_polls: order::consecutive_polls(entries),
        }
    }
}

/// An operation that completed, with its invocation.
struct Completed<'a> {
    process: &'a str,
    operation: &'a Operation,
    time_ms: u64,
    outcome: &'a Outcome,
}

/// Every completion of the history, in order, paired with its invocation.
fn completions(entries: &[Entry]) -> impl Iterator<Item = Completed<'_>> {
    entries.iter().filter_map(|entry| match entry {
        Entry::Complete {
            op,
            time_ms,
            outcome,
            ..
        } => {
            let Entry::Invoke {
                process, operation, ..
            } = &entries[op.0]
            else {
                unreachable!("an OpId names its invocation");
            };
            Some(Completed {
                process,
                operation,
                time_ms: *time_ms,
                outcome,
            })
        }
        _ => None,
    })
}

/// Every acked send, polled record and failed send of the history, in order,
/// with its partition.
fn sightings(entries: &[Entry]) -> Vec<(&TopicPartition, Seen<'_>)> {
    use crate::history::Reply;
    let mut found = Vec::new();
    for done in completions(entries) {
        let seen = |evidence, value, offset| Seen {
            evidence,
            value,
            offset,
            process: done.process,
            time_ms: done.time_ms,
        };
        match (done.operation, done.outcome) {
            (Operation::Send { partition, value }, Outcome::Ok(Reply::Sent { offset })) => {
                found.push((partition, seen(Evidence::Acked, value, Some(*offset))));
            }
            (Operation::Send { partition, value }, Outcome::Fail { .. }) => {
                found.push((partition, seen(Evidence::Failed, value, None)));
            }
            (Operation::Poll { .. }, Outcome::Ok(Reply::Polled { records })) => {
                for r in records {
                    found.push((
                        &r.partition,
                        seen(Evidence::Polled, r.value.as_str(), Some(r.offset)),
                    ));
                }
            }
            _ => {}
        }
    }
    found
}
