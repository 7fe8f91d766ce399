//! The log and delivery checkers: named anomalies found in a history.
//!
//! Each checker is one pure function over a history, named after the anomaly
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
//! | [`int_nonmonotonic_send`] | a producer's sends in flight together land in reverse order |
//! | [`aborted_read`] | a value whose send definitely failed is polled |
//! | [`processing`] | a record a group never processed, or processed twice |
//! | [`empty_history`] | a history with no send and no poll, or none that brought anything back (`nothing-acknowledged`): nothing to judge |
//!
//! Each checker reads [`Facts`]: what a history says, derived from it once for all
//! the checkers (its entries, every sighting, the first poll of each value, the
//! version order, and where each producer's sends landed).
//!
//! A send that got no answer (`info`) may or may not be in the log; once a poll
//! returns its value, it is, at the offset the poll saw: it then takes its place
//! among its producer's sends. A send that definitely failed has no place, and a
//! poll of it is an `aborted-read`. Jepsen's own checker tests, translated, are
//! `jepsen_cases`, with how kafkasim's answers differ from Jepsen's and why.
//!
//! Most of them read the *version order*: for each partition, which values were
//! seen at which offset, by acked sends and by polls (`VersionOrder`). A healthy
//! partition has one value per offset and each value at one offset.
//!
//! Which anomalies a configuration *allows* is the judge's business (the
//! `judge` module): a checker reports everything it finds. A record is told
//! apart from another by the send it came from ([`Origin`]), not by its value:
//! two sends of the same text are two sends. The checkers assume that a
//! consumer starts each partition from the beginning, a committed offset or a seek
//! it reports: one that starts at the log end (`auto.offset.reset=latest`) jumps
//! over records no one else polled, which `lost_write` cannot tell from a loss.
//! Jepsen counts positions in the version order rather than raw offsets, because
//! transaction markers leave gaps in real Kafka logs; this model writes no markers,
//! so offsets serve.

use crate::finding::{Detail, Finding, Kind, Sighting, Source};
use crate::history::{Entry, OpId, Operation, Outcome, PolledRecord, Value};
use kafkasim::ids::{Offset, TopicPartition};
use std::collections::BTreeMap;

mod delivery;
mod offsets;
mod order;
mod processing;

pub use delivery::{aborted_read, lost_write, unseen};
pub use offsets::{duplicate, inconsistent_offsets};
pub use order::{int_nonmonotonic_send, nonmonotonic_poll, nonmonotonic_send, poll_skip};
pub use processing::processing;

/// Every checker of the history, in the order findings are listed.
pub const CHECKERS: [fn(&Facts<'_>) -> Vec<Finding>; 11] = [
    inconsistent_offsets,
    duplicate,
    lost_write,
    unseen,
    poll_skip,
    nonmonotonic_poll,
    nonmonotonic_send,
    int_nonmonotonic_send,
    aborted_read,
    processing,
    empty_history,
];

/// Runs every checker over a history's entries.
pub fn check_history(entries: &[Entry]) -> Vec<Finding> {
    let facts = Facts::of(entries);
    CHECKERS
        .iter()
        .flat_map(|checker| checker(&facts))
        .collect()
}

/// `empty-history`: a history with no send and no poll. Every other checker
/// passes it, having nothing to judge; a run that made no operation must not
/// pass for one that made them all correctly (Jepsen's checker calls it
/// invalid: Elle finds an `empty-transaction-graph`).
pub fn empty_history(facts: &Facts<'_>) -> Vec<Finding> {
    let operated = facts.entries.iter().any(|entry| {
        matches!(
            entry,
            Entry::Invoke {
                operation: Operation::Send { .. } | Operation::Poll { .. },
                ..
            }
        )
    });
    if operated {
        return nothing_acknowledged(facts);
    }
    let entries = facts.entries.len();
    vec![Finding::new(
        Kind::EmptyHistory,
        Detail::EmptyHistory { entries },
    )]
}

/// `nothing-acknowledged`: sends and polls were made, yet no send was
/// acknowledged and no poll returned a record. Every checker passes such a
/// history too, for want of anything to check: a run whose producers were
/// all refused (settings Kafka would not take, a topic that never came) must
/// not read "every check passed".
fn nothing_acknowledged(facts: &Facts<'_>) -> Vec<Finding> {
    if !facts.sightings.is_empty() {
        return Vec::new();
    }
    let count = |is: fn(&Operation) -> bool| {
        (facts.entries.iter())
            .filter(|entry| matches!(entry, Entry::Invoke { operation, .. } if is(operation)))
            .count()
    };
    let sends = count(|op| matches!(op, Operation::Send { .. }));
    let polls = count(|op| matches!(op, Operation::Poll { .. }));
    vec![Finding::new(
        Kind::NothingAcknowledged,
        Detail::NothingAcknowledged { sends, polls },
    )]
}

/// A finding made of sightings of one partition.
fn seen_in(kind: Kind, partition: &TopicPartition, sightings: Vec<Sighting>) -> Finding {
    Finding::new(
        kind,
        Detail::Sightings {
            partition: partition.clone(),
            sightings,
        },
    )
}

/// Which send a sighting is of: the send's id for an acked send, and for a
/// polled record the send it came from. A record names its send by the id its
/// producer stamped on it; one without an id (a history written by hand, or by
/// clients that stamp nothing) is taken for the first send of its value. A
/// polled record that neither explains is known by its value alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Origin<'a> {
    Send(OpId),
    Unknown(&'a Value),
}

/// Tells which send each polled record came from (see [`Origin`]).
struct Origins<'a> {
    entries: &'a [Entry],
    /// The first send of each value, for records that carry no id.
    by_value: BTreeMap<&'a Value, OpId>,
}

impl Origin<'_> {
    /// The send, if the sighting is of one.
    fn send(self) -> Option<OpId> {
        match self {
            Origin::Send(op) => Some(op),
            Origin::Unknown(_) => None,
        }
    }
}

impl<'a> Origins<'a> {
    fn of(entries: &'a [Entry]) -> Origins<'a> {
        let mut by_value = BTreeMap::new();
        for entry in entries {
            if let Entry::Invoke {
                op,
                operation: Operation::Send { value, .. },
                ..
            } = entry
            {
                by_value.entry(value).or_insert(*op);
            }
        }
        Origins { entries, by_value }
    }

    /// The producer that invoked the send a sighting is of.
    fn producer(&self, origin: Origin<'a>) -> Option<&'a str> {
        match self.entries.get(origin.send()?.0)? {
            Entry::Invoke { process, .. } => Some(process),
            _ => None,
        }
    }

    /// The send `record` came from.
    fn of_record(&self, record: &'a PolledRecord) -> Origin<'a> {
        let is_send = |op: OpId| {
            matches!(
                self.entries.get(op.0),
                Some(Entry::Invoke {
                    operation: Operation::Send { .. },
                    ..
                })
            )
        };
        match record.send.filter(|&op| is_send(op)) {
            Some(op) => Origin::Send(op),
            None => match self.by_value.get(&record.value) {
                Some(&op) => Origin::Send(op),
                None => Origin::Unknown(&record.value),
            },
        }
    }
}

/// A sighting as the checkers read it, borrowed from the history's entries: an
/// owned [`Sighting`] is made only for the anomalies found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Seen<'a> {
    source: Source,
    /// The send it is of; the value is for people.
    origin: Origin<'a>,
    /// The producer of that send, when known.
    producer: Option<&'a str>,
    value: &'a Value,
    offset: Option<Offset>,
    process: &'a str,
    time_ms: u64,
}

impl Seen<'_> {
    fn owned(&self) -> Sighting {
        Sighting {
            source: self.source,
            value: self.value.to_string(),
            offset: self.offset,
            process: self.process.to_string(),
            time_ms: self.time_ms,
            producer: self.producer.map(str::to_string),
            error: None,
        }
    }

    fn at(&self) -> Offset {
        self.offset.expect("only a failed send has no offset")
    }
}

/// The sends seen at one offset, each with its first sighting.
type ValuesAt<'a> = BTreeMap<Origin<'a>, Seen<'a>>;

/// For each partition, every offset that acked sends and polls saw, with the
/// values seen there.
#[derive(Debug, Default)]
struct VersionOrder<'a>(BTreeMap<&'a TopicPartition, BTreeMap<Offset, ValuesAt<'a>>>);

impl<'a> VersionOrder<'a> {
    fn of(sightings: &[(&'a TopicPartition, Seen<'a>)]) -> VersionOrder<'a> {
        let mut order = VersionOrder::default();
        for &(partition, seen) in sightings {
            if seen.at() < 0 {
                continue; // no offset to place it at (an acks=0 send)
            }
            order
                .0
                .entry(partition)
                .or_default()
                .entry(seen.at())
                .or_default()
                .entry(seen.origin)
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
    /// Every acked send and polled record, in order.
    sightings: Vec<(&'a TopicPartition, Seen<'a>)>,
    /// Which send each polled record came from.
    origins: Origins<'a>,
    /// The first poll of each send, by partition and send.
    first_polls: BTreeMap<(&'a TopicPartition, Origin<'a>), Seen<'a>>,
    /// The first poll of each send, wherever it was polled.
    first_poll_of: BTreeMap<Origin<'a>, (&'a TopicPartition, Seen<'a>)>,
    order: VersionOrder<'a>,
    /// Each pair of records a consumer polled from a partition one after the
    /// other, with no seek or reassignment between.
    consecutive_polls: Vec<(&'a TopicPartition, Seen<'a>, Seen<'a>)>,
    /// The last read of each partition to its end (a [`Source::End`] sighting).
    ends: BTreeMap<&'a TopicPartition, Seen<'a>>,
    /// Each producer's sends to each partition whose place is known, in the
    /// order they were issued.
    sends: BTreeMap<(&'a str, &'a TopicPartition), Vec<order::Landed<'a>>>,
}

impl<'a> Facts<'a> {
    /// The facts of a history's entries (see [`History::with_entries`](crate::history::History::with_entries)).
    pub fn of(entries: &'a [Entry]) -> Facts<'a> {
        let origins = Origins::of(entries);
        let sightings = sightings(entries, &origins);
        let mut first_polls = BTreeMap::new();
        let mut first_poll_of = BTreeMap::new();
        for &(partition, seen) in &sightings {
            if seen.source == Source::Polled {
                first_polls.entry((partition, seen.origin)).or_insert(seen);
                first_poll_of
                    .entry(seen.origin)
                    .or_insert((partition, seen));
            }
        }
        Facts {
            entries,
            sends: order::landed_sends(entries, &first_poll_of),
            ends: ends(entries),
            first_poll_of,
            order: VersionOrder::of(&sightings),
            sightings,
            first_polls,
            consecutive_polls: order::consecutive_polls(entries, &origins),
            origins,
        }
    }
}

/// An operation that completed, with its invocation.
struct Completed<'a> {
    op: OpId,
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
                op: *op,
                process,
                operation,
                time_ms: *time_ms,
                outcome,
            })
        }
        _ => None,
    })
}

/// What an end sighting shows for a value: it is of no record.
static NO_VALUE: Value = Value(None);

/// The last read of each partition to its end.
fn ends(entries: &[Entry]) -> BTreeMap<&TopicPartition, Seen<'_>> {
    use crate::history::ClientEvent;
    let mut ends = BTreeMap::new();
    for entry in entries {
        let Entry::Event {
            time_ms,
            process,
            event:
                ClientEvent::ReadToEnd {
                    partition,
                    end_offset,
                },
        } = entry
        else {
            continue;
        };
        let seen = Seen {
            source: Source::End,
            origin: Origin::Unknown(&NO_VALUE),
            producer: None,
            value: &NO_VALUE,
            offset: Some(*end_offset),
            process,
            time_ms: *time_ms,
        };
        ends.insert(partition, seen);
    }
    ends
}

/// Every acked send and polled record of the history, in order, with its
/// partition.
fn sightings<'a>(
    entries: &'a [Entry],
    origins: &Origins<'a>,
) -> Vec<(&'a TopicPartition, Seen<'a>)> {
    use crate::history::Reply;
    let mut found = Vec::new();
    for done in completions(entries) {
        let seen = |source, origin, value, offset| Seen {
            source,
            origin,
            producer: origins.producer(origin),
            value,
            offset,
            process: done.process,
            time_ms: done.time_ms,
        };
        match (done.operation, done.outcome) {
            (Operation::Send { value, .. }, Outcome::Ok(Reply::Sent { partition, offset })) => {
                let origin = Origin::Send(done.op);
                found.push((partition, seen(Source::Acked, origin, value, Some(*offset))));
            }
            (Operation::Poll { .. }, Outcome::Ok(Reply::Polled { records })) => {
                for r in records {
                    let origin = origins.of_record(r);
                    found.push((
                        &r.partition,
                        seen(Source::Polled, origin, &r.value, Some(r.offset)),
                    ));
                }
            }
            _ => {}
        }
    }
    found
}
