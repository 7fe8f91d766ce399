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

use super::{Anomaly, AnomalyKind, Evidence, Facts, Seen, Sighting};
use crate::history::{ConsumerEvent, Entry, OpId, Operation, Outcome, Reply};
use kafkasim::ids::TopicPartition;
use std::collections::BTreeMap;

/// `poll-skip`: two records one consumer polled from a partition one after the
/// other (no seek or reassignment between) jump over offsets the log has.
pub fn poll_skip(facts: &Facts<'_>) -> Vec<Anomaly> {
    let mut anomalies = Vec::new();
    for &(partition, earlier, later) in &facts.consecutive_polls {
        let skipped = facts.order.between(partition, earlier.at(), later.at());
        if later.at() <= earlier.at() || skipped.is_empty() {
            continue;
        }
        let offsets: Vec<String> = skipped.iter().map(|s| s.at().to_string()).collect();
        let values: Vec<&str> = skipped.iter().map(|s| s.value).collect();
        anomalies.push(Anomaly {
            kind: AnomalyKind::PollSkip,
            description: format!(
                "{} polled {partition}@{} at {} ms, then {partition}@{} at {} ms, skipping offsets {} ({}) with no seek or reassignment between",
                earlier.process,
                earlier.at(),
                earlier.time_ms,
                later.at(),
                later.time_ms,
                offsets.join(", "),
                values.join(", ")
            ),
            sightings: [earlier]
                .into_iter()
                .chain(skipped)
                .chain([later])
                .map(|s| s.owned())
                .collect(),
            partition: partition.clone(),
        });
    }
    anomalies
}

/// `nonmonotonic-poll`: a consumer's next record of a partition (no seek or
/// reassignment between) is at or before one it already polled.
pub fn nonmonotonic_poll(facts: &Facts<'_>) -> Vec<Anomaly> {
    let mut anomalies = Vec::new();
    for &(partition, earlier, later) in &facts.consecutive_polls {
        if later.at() > earlier.at() {
            continue;
        }
        anomalies.push(Anomaly {
            kind: AnomalyKind::NonmonotonicPoll,
            description: format!(
                "{} polled {partition}@{} at {} ms, then {partition}@{} at {} ms, with no seek or reassignment between",
                earlier.process,
                earlier.at(),
                earlier.time_ms,
                later.at(),
                later.time_ms
            ),
            partition: partition.clone(),
            sightings: vec![earlier.owned(), later.owned()],
        });
    }
    anomalies
}

/// `nonmonotonic-send`: a producer's send, issued after an earlier send to the
/// same partition was acked, is acked at a lower offset.
pub fn nonmonotonic_send(facts: &Facts<'_>) -> Vec<Anomaly> {
    let entries = facts.entries;
    // The highest offset acked so far to each producer in each partition.
    let mut highest: BTreeMap<(&str, &TopicPartition), Sighting> = BTreeMap::new();
    // For each send in flight: the highest acked when it was issued.
    let mut before: BTreeMap<OpId, Sighting> = BTreeMap::new();
    let mut anomalies = Vec::new();
    for entry in entries {
        match entry {
            Entry::Invoke {
                op,
                process,
                operation: Operation::Send { partition, .. },
                ..
            } => {
                if let Some(top) = highest.get(&(process.as_str(), partition)) {
                    before.insert(*op, top.clone());
                }
            }
            Entry::Complete {
                op,
                time_ms,
                process,
                outcome: Outcome::Ok(Reply::Sent { offset }),
            } if *offset >= 0 => {
                let Entry::Invoke {
                    operation: Operation::Send { partition, value },
                    ..
                } = &entries[op.0]
                else {
                    unreachable!("a send's reply completes a send");
                };
                let acked = Sighting {
                    evidence: Evidence::Acked,
                    value: value.clone(),
                    offset: Some(*offset),
                    process: process.clone(),
                    time_ms: *time_ms,
                };
                if let Some(earlier) = before.remove(op).filter(|e| e.at() > *offset) {
                    anomalies.push(Anomaly {
                        kind: AnomalyKind::NonmonotonicSend,
                        partition: partition.clone(),
                        description: format!(
                            "{process} sent {value} after {} was acked at {partition}@{} at {} ms, yet {value} was acked at the lower offset {partition}@{offset} at {time_ms} ms",
                            earlier.value,
                            earlier.at(),
                            earlier.time_ms
                        ),
                        sightings: vec![earlier, acked.clone()],
                    });
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
                        evidence: Evidence::Polled,
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
fn touched(event: &ConsumerEvent) -> Vec<&TopicPartition> {
    match event {
        ConsumerEvent::Assigned { partitions }
        | ConsumerEvent::Revoked { partitions }
        | ConsumerEvent::Lost { partitions } => partitions.iter().collect(),
        ConsumerEvent::Seek { partition, .. } => vec![partition],
    }
}
