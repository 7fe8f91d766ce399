//! The order checkers: does each client move forward through each partition?
//!
//! A consumer's polls of one partition must continue where they left off: the
//! next record is the one right after the last (Kafka's fetch position), unless
//! the consumer seeked or its assignment changed, which the history records as
//! events. A record at or before the last one is a `nonmonotonic-poll`; a jump
//! over offsets the log has is a `poll-skip`. Records of one poll are compared
//! with each other the same way.
//!
//! A consumer group hands a partition from owner to owner, and the new owner
//! starts at the committed offset, which may be behind what the old owner polled.
//! That is not an anomaly here: each consumer is compared only with itself, and
//! an `Assigned`, `Revoked` or `Lost` event starts its partition afresh.
//!
//! A producer's sends to one partition must move forward too: a send issued after
//! another was acked lands after it (`nonmonotonic-send`, under any settings),
//! and sends in flight together land in the order they were sent when the
//! producer is idempotent (`int-nonmonotonic-send`; without idempotence a retry
//! can overtake, which the judge allows). A send that got no answer but that a
//! poll returned has its place all the same: where the poll found it.

use super::{seen_in, Facts, Origin, Origins, Seen};
use crate::finding::{Finding, Kind, Source};
use crate::history::{ClientEvent, Entry, OpId, Operation, Outcome, Reply};
use kafkasim::ids::TopicPartition;
use std::collections::BTreeMap;

/// `poll-skip`: two records one consumer polled from a partition one after the
/// other (no seek or reassignment between) jump over offsets the log has.
pub fn poll_skip(facts: &Facts<'_>) -> Vec<Finding> {
    let mut anomalies = Vec::new();
    for &(partition, earlier, later) in &facts.consecutive_polls {
        let skipped = facts.order.between(partition, earlier.at(), later.at());
        if later.at() <= earlier.at() || skipped.is_empty() {
            continue;
        }
        let sightings = [earlier].into_iter().chain(skipped).chain([later]);
        let sightings = sightings.map(|s| s.owned()).collect();
        anomalies.push(seen_in(Kind::PollSkip, partition, sightings));
    }
    anomalies
}

/// `nonmonotonic-poll`: a consumer's next record of a partition (no seek or
/// reassignment between) is at or before one it already polled.
pub fn nonmonotonic_poll(facts: &Facts<'_>) -> Vec<Finding> {
    let mut anomalies = Vec::new();
    for &(partition, earlier, later) in &facts.consecutive_polls {
        if later.at() > earlier.at() {
            continue;
        }
        let sightings = vec![earlier.owned(), later.owned()];
        anomalies.push(seen_in(Kind::NonmonotonicPoll, partition, sightings));
    }
    anomalies
}

/// `nonmonotonic-send`: a producer's send, issued after an earlier send to the
/// same partition was acked, landed at a lower offset.
pub fn nonmonotonic_send(facts: &Facts<'_>) -> Vec<Finding> {
    let mut anomalies = Vec::new();
    for (&(_, partition), sends) in &facts.sends {
        // The acknowledged sends in the order their acks came, and the
        // highest of those acked before each send was issued.
        let mut acks: Vec<&Landed<'_>> = sends.iter().filter(|s| s.acked.is_some()).collect();
        acks.sort_by_key(|s| s.acked);
        let mut acks = acks.into_iter().peekable();
        let mut highest: Option<Seen<'_>> = None;
        for later in sends {
            while let Some(acked) = acks.next_if(|a| a.acked < Some(later.invoked)) {
                if highest.is_none_or(|h| acked.seen.at() > h.at()) {
                    highest = Some(acked.seen);
                }
            }
            let Some(earlier) = highest.filter(|h| h.at() > later.seen.at()) else {
                continue;
            };
            let sightings = vec![earlier.owned(), later.seen.owned()];
            let found = seen_in(Kind::NonmonotonicSend, partition, sightings);
            anomalies.push((later.acked.unwrap_or(later.invoked), found));
        }
    }
    // In the order the later sends were acknowledged (or issued, unanswered).
    anomalies.sort_by_key(|(at, _)| *at);
    anomalies.into_iter().map(|(_, found)| found).collect()
}

/// `int-nonmonotonic-send`: two sends of one producer to one partition, the
/// later issued before the earlier was acknowledged (in flight together, or
/// the earlier never answered), landed in the reverse order.
///
/// An idempotent producer numbers its records per partition and the leader
/// appends them only in that order, so sends in flight together land in the
/// order they were sent; without idempotence a retry can overtake. Each send
/// is compared with the producer's previous send to the partition whose place
/// is known (Jepsen compares consecutive sends within one operation, which
/// are sends in flight together).
pub fn int_nonmonotonic_send(facts: &Facts<'_>) -> Vec<Finding> {
    let mut anomalies = Vec::new();
    for (&(_, partition), sends) in &facts.sends {
        for (earlier, later) in sends.iter().zip(sends.iter().skip(1)) {
            let in_flight = earlier.acked.is_none_or(|acked| acked > later.invoked);
            if in_flight && later.seen.at() < earlier.seen.at() {
                let sightings = vec![earlier.seen.owned(), later.seen.owned()];
                anomalies.push(seen_in(Kind::IntNonmonotonicSend, partition, sightings));
            }
        }
    }
    anomalies
}

/// A send whose place in the log is known: from its acknowledgement or, for a
/// send that got no answer (`info`, still open, or `acks=0`), from the first
/// poll that returned it. A send that definitely failed has no place
/// (`aborted-read` tells of one that was polled all the same).
#[derive(Debug, Clone, Copy)]
pub(super) struct Landed<'a> {
    /// Where it landed: an `Acked` sighting, or an `Ambiguous` one with the
    /// producer's process, the time its send ended and the offset polled.
    pub(super) seen: Seen<'a>,
    /// The position of its invocation among the history's entries.
    pub(super) invoked: usize,
    /// The position of its acknowledgement; `None`: the producer never
    /// learned where it landed.
    pub(super) acked: Option<usize>,
}

/// Each producer's sends to each partition whose place is known, in the
/// order they were issued.
pub(super) fn landed_sends<'a>(
    entries: &'a [Entry],
    first_poll_of: &BTreeMap<Origin<'a>, (&'a TopicPartition, Seen<'a>)>,
) -> BTreeMap<(&'a str, &'a TopicPartition), Vec<Landed<'a>>> {
    let mut completion: BTreeMap<OpId, (usize, u64, &Outcome)> = BTreeMap::new();
    for (at, entry) in entries.iter().enumerate() {
        if let Entry::Complete {
            op,
            time_ms,
            outcome,
            ..
        } = entry
        {
            completion.insert(*op, (at, *time_ms, outcome));
        }
    }
    let mut sends: BTreeMap<(&str, &TopicPartition), Vec<Landed<'a>>> = BTreeMap::new();
    for (invoked, entry) in entries.iter().enumerate() {
        let Entry::Invoke {
            op,
            time_ms,
            process,
            operation: Operation::Send { value, .. },
        } = entry
        else {
            continue;
        };
        let seen = |source, offset, time_ms| Seen {
            source,
            origin: Origin::Send(*op),
            producer: Some(process),
            value,
            offset: Some(offset),
            process,
            time_ms,
        };
        let (partition, seen, acked) = match completion.get(op) {
            Some(&(at, done_ms, Outcome::Ok(Reply::Sent { partition, offset })))
                if *offset >= 0 =>
            {
                (partition, seen(Source::Acked, *offset, done_ms), Some(at))
            }
            Some((_, _, Outcome::Fail { .. })) => continue,
            unanswered => {
                let Some(&(partition, poll)) = first_poll_of.get(&Origin::Send(*op)) else {
                    continue; // nobody knows where it is, if anywhere
                };
                let ended_ms = unanswered.map_or(*time_ms, |&(_, done_ms, _)| done_ms);
                (
                    partition,
                    seen(Source::Ambiguous, poll.at(), ended_ms),
                    None,
                )
            }
        };
        sends
            .entry((process.as_str(), partition))
            .or_default()
            .push(Landed {
                seen,
                invoked,
                acked,
            });
    }
    sends
}

/// Every pair of records one consumer polled from one partition one after the
/// other, with no event of that consumer about that partition between.
pub(super) fn consecutive_polls<'a>(
    entries: &'a [Entry],
    origins: &Origins<'a>,
) -> Vec<(&'a TopicPartition, Seen<'a>, Seen<'a>)> {
    let mut last: BTreeMap<(&str, &TopicPartition), Seen<'_>> = BTreeMap::new();
    let mut pairs = Vec::new();
    for entry in entries {
        match entry {
            Entry::Event { process, event, .. } => {
                for partition in touched(event) {
                    last.remove(&(process.as_str(), partition));
                }
            }
            Entry::Complete {
                time_ms,
                process,
                outcome: Outcome::Ok(Reply::Polled { records }),
                ..
            } => {
                for r in records {
                    let origin = origins.of_record(r);
                    let polled = Seen {
                        source: Source::Polled,
                        origin,
                        producer: origins.producer(origin),
                        value: &r.value,
                        offset: Some(r.offset),
                        process,
                        time_ms: *time_ms,
                    };
                    if let Some(earlier) = last.insert((process.as_str(), &r.partition), polled) {
                        pairs.push((&r.partition, earlier, polled));
                    }
                }
            }
            _ => {}
        }
    }
    pairs
}

/// The partitions whose position an event resets.
fn touched(event: &ClientEvent) -> Vec<&TopicPartition> {
    match event {
        ClientEvent::Assigned { partitions }
        | ClientEvent::Revoked { partitions }
        | ClientEvent::Lost { partitions } => partitions.iter().collect(),
        ClientEvent::Seek { partition, .. } => vec![partition],
        ClientEvent::Producer { .. }
        | ClientEvent::Subscribed { .. }
        | ClientEvent::Delivery { .. }
        | ClientEvent::Processed { .. }
        | ClientEvent::ReadToEnd { .. } => vec![],
    }
}
