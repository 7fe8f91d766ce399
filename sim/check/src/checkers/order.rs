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
//! another was acked lands after it. Sends in flight together may land in any
//! order (without idempotence, a retry can overtake), so only acked-then-issued
//! pairs are compared.

use super::{seen_in, Facts, Seen};
use crate::finding::{Finding, Kind, Sighting, Source};
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
/// same partition was acked, is acked at a lower offset.
pub fn nonmonotonic_send(facts: &Facts<'_>) -> Vec<Finding> {
    let entries = facts.entries;
    // The highest offset acked so far to each producer in each partition.
    let mut highest: BTreeMap<(&str, &TopicPartition), Sighting> = BTreeMap::new();
    // For each send in flight: the highest acked to its producer in each
    // partition of its topic when it was issued (the partition it lands in is
    // known only when it is acked).
    let mut before: BTreeMap<OpId, Vec<(&TopicPartition, Sighting)>> = BTreeMap::new();
    let mut anomalies = Vec::new();
    for entry in entries {
        match entry {
            Entry::Invoke {
                op,
                process,
                operation: Operation::Send { topic, .. },
                ..
            } => {
                let tops = (highest.iter())
                    .filter(|((p, tp), _)| *p == process && tp.topic == *topic)
                    .map(|((_, tp), top)| (*tp, top.clone()));
                before.insert(*op, tops.collect());
            }
            Entry::Complete {
                op,
                time_ms,
                process,
                outcome: Outcome::Ok(Reply::Sent { partition, offset }),
            } if *offset >= 0 => {
                let Entry::Invoke {
                    operation: Operation::Send { value, .. },
                    ..
                } = &entries[op.0]
                else {
                    unreachable!("a send's reply completes a send");
                };
                let acked = Sighting {
                    source: Source::Acked,
                    value: value.clone(),
                    offset: Some(*offset),
                    process: process.clone(),
                    time_ms: *time_ms,
                    error: None,
                };
                let earlier = (before.remove(op).unwrap_or_default().into_iter())
                    .find(|(tp, top)| *tp == partition && top.at() > *offset);
                if let Some((_, earlier)) = earlier {
                    let sightings = vec![earlier, acked.clone()];
                    anomalies.push(seen_in(Kind::NonmonotonicSend, partition, sightings));
                }
                let top = highest
                    .entry((process.as_str(), partition))
                    .or_insert(acked.clone());
                if acked.at() > top.at() {
                    *top = acked;
                }
            }
            _ => {}
        }
    }
    anomalies
}

/// Every pair of records one consumer polled from one partition one after the
/// other, with no event of that consumer about that partition between.
pub(super) fn consecutive_polls(entries: &[Entry]) -> Vec<(&TopicPartition, Seen<'_>, Seen<'_>)> {
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
                    let polled = Seen {
                        source: Source::Polled,
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
