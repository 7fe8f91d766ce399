//! The delivery checkers: did what was acked get polled, and only that?
//!
//! A send acked at offset i that no poll ever returned is either *lost* (some
//! consumer polled the partition past i, so the record should have come by) or
//! *unseen* (no poll reached i: the run cannot tell a loss from a slow consumer).
//! The run's liveness phase, which heals every fault and polls everything, turns
//! an unseen write into a verdict: after it, unseen means never delivered.
//!
//! The other way round, a value whose send definitely failed must never be
//! polled: the client told the application the write did not happen.

use super::{completions, Anomaly, AnomalyKind, Evidence, Facts, Seen, Sighting};
use crate::history::{Operation, Outcome};
use kafkasim::ids::TopicPartition;
use std::cmp::Reverse;
use std::collections::BTreeMap;

/// `lost-write`: a send acked at offset i was never polled, although some
/// consumer polled its partition past i.
pub fn lost_write(facts: &Facts<'_>) -> Vec<Anomaly> {
    let mut anomalies = Vec::new();
    for (partition, acked, highest) in never_polled(facts) {
        let Some(highest) = highest.filter(|h| h.at() > acked.at()) else {
            continue;
        };
        anomalies.push(Anomaly {
            kind: AnomalyKind::LostWrite,
            description: format!(
                "{} acked at {partition}@{} by {} at {} ms was never polled, though {} polled {partition} up to offset {} at {} ms",
                acked.value,
                acked.at(),
                acked.process,
                acked.time_ms,
                highest.process,
                highest.at(),
                highest.time_ms
            ),
            partition: partition.clone(),
            sightings: vec![acked.owned(), highest.owned()],
        });
    }
    anomalies
}

/// `unseen`: a send acked at offset i was never polled, and no poll of its
/// partition went past i. Reported apart from `lost-write`: it may only be slow.
pub fn unseen(facts: &Facts<'_>) -> Vec<Anomaly> {
    let mut anomalies = Vec::new();
    for (partition, acked, highest) in never_polled(facts) {
        if highest.as_ref().is_some_and(|h| h.at() > acked.at()) {
            continue; // a lost write, not an unseen one
        }
        let polls = match &highest {
            Some(h) => format!(
                "{} polled {partition} only up to offset {} at {} ms",
                h.process,
                h.at(),
                h.time_ms
            ),
            None => format!("no consumer polled {partition} at all"),
        };
        anomalies.push(Anomaly {
            kind: AnomalyKind::Unseen,
            description: format!(
                "{} acked at {partition}@{} by {} at {} ms was never polled; {polls} (lost, or not consumed yet)",
                acked.value,
                acked.at(),
                acked.process,
                acked.time_ms
            ),
            partition: partition.clone(),
            sightings: [acked].into_iter().chain(highest).map(|s| s.owned()).collect(),
        });
    }
    anomalies
}

/// `aborted-read`: a value whose send definitely failed (`Fail`) was polled.
pub fn aborted_read(facts: &Facts<'_>) -> Vec<Anomaly> {
    let mut anomalies = Vec::new();
    for done in completions(facts.entries) {
        let (Operation::Send { partition, value }, Outcome::Fail { error }) =
            (done.operation, done.outcome)
        else {
            continue;
        };
        let Some(poll) = facts.first_polls.get(&(partition, value.as_str())) else {
            continue;
        };
        anomalies.push(Anomaly {
            kind: AnomalyKind::AbortedRead,
            partition: partition.clone(),
            description: format!(
                "{value} was refused to {} at {} ms ({error}), yet {} polled it at {partition}@{} at {} ms",
                done.process,
                done.time_ms,
                poll.process,
                poll.at(),
                poll.time_ms
            ),
            sightings: vec![
                Sighting {
                    evidence: Evidence::Failed,
                    value: value.clone(),
                    offset: None,
                    process: done.process.to_string(),
                    time_ms: done.time_ms,
                },
                poll.owned(),
            ],
        });
    }
    anomalies
}

/// Every acked send (with an offset) that no poll returned, sorted by partition
/// and offset, each with the first poll of its partition's highest polled offset.
fn never_polled<'a>(facts: &Facts<'a>) -> Vec<(&'a TopicPartition, Seen<'a>, Option<Seen<'a>>)> {
    let polled = &facts.first_polls;
    let mut highest: BTreeMap<&TopicPartition, Seen<'a>> = BTreeMap::new();
    for (&(partition, _), &s) in polled {
        // The highest offset; of two polls of it, the earlier.
        let top = highest.entry(partition).or_insert(s);
        if (s.at(), Reverse(s.time_ms)) > (top.at(), Reverse(top.time_ms)) {
            *top = s;
        }
    }
    let mut missing: Vec<(&TopicPartition, Seen<'a>, Option<Seen<'a>>)> = facts
        .sightings
        .iter()
        .filter(|(partition, s)| {
            s.evidence == Evidence::Acked
                && s.at() >= 0 // acks=0 acks without an offset
                && !polled.contains_key(&(*partition, s.value))
        })
        .map(|&(partition, s)| (partition, s, highest.get(partition).copied()))
        .collect();
    missing.sort_by_key(|(partition, s, _)| (*partition, s.at()));
    missing
}
