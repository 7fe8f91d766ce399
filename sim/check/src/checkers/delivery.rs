//! The delivery checkers: did what was acked get polled, and only that?
//!
//! A send acked at offset i that no poll ever returned is either *lost* (some
//! consumer polled the partition past i, so the record should have come by) or
//! *unseen* (no poll reached i: the run cannot tell a loss from a slow consumer).
//! A read of the partition to its end that stopped at or before i is proof too:
//! the log no longer reaches offset i (a power loss can leave a partition with
//! no record at all, so no poll ever goes past i). The run's liveness phase,
//! which heals every fault and polls everything, turns an unseen write into a
//! verdict: after it, unseen means never delivered.
//!
//! An `acks=0` send gets no offset: it is lost when no poll ever returned it
//! and a read of its partition reached the end without it.
//!
//! The other way round, a record whose send definitely failed must never be
//! polled: the client told the application the write did not happen.

use super::{completions, seen_in, Facts, Origin, Seen};
use crate::finding::{Finding, Kind, Sighting, Source};
use crate::history::{Operation, Outcome};
use kafkasim::ids::TopicPartition;
use std::cmp::Reverse;
use std::collections::BTreeMap;

/// `lost-write`: a send acked at offset i was never polled, although some
/// consumer polled its partition at or past i (at i, it found another value),
/// or read it to an end at or before i; or it was polled, and a later read
/// of its partition to the end stopped at or before i.
pub fn lost_write(facts: &Facts<'_>) -> Vec<Finding> {
    let mut anomalies = Vec::new();
    for (partition, acked, highest) in never_polled(facts) {
        let Some(proof) = proof_of_loss(facts, partition, &acked, highest) else {
            continue;
        };
        let sightings = vec![acked.owned(), proof.owned()];
        anomalies.push(seen_in(Kind::LostWrite, partition, sightings));
    }
    for (partition, acked, polled, end) in polled_then_gone(facts) {
        let sightings = vec![acked.owned(), polled.owned(), end.owned()];
        anomalies.push(seen_in(Kind::LostWrite, partition, sightings));
    }
    anomalies
}

/// Acked sends that were polled, and then gone: a later read of their
/// partition to its end stopped at or before their offset, so the log no
/// longer holds them (a replica without them was elected, and the others cut
/// them away).
fn polled_then_gone<'a>(
    facts: &Facts<'a>,
) -> Vec<(&'a TopicPartition, Seen<'a>, Seen<'a>, Seen<'a>)> {
    let mut gone = Vec::new();
    for &(partition, acked) in &facts.sightings {
        if acked.source != Source::Acked || acked.at() < 0 {
            continue;
        }
        let Some(&polled) = facts.first_polls.get(&(partition, acked.origin)) else {
            continue;
        };
        let Some(&end) = facts.ends.get(partition) else {
            continue;
        };
        if end.time_ms > polled.time_ms && end.at() <= acked.at() {
            gone.push((partition, acked, polled, end));
        }
    }
    gone
}

/// What shows an acked, never-polled record is gone: a poll of its partition
/// at or past its offset, or else a read to an end at or before it. An
/// `acks=0` send has no offset: a read of its partition to the end that never
/// met it is the proof.
fn proof_of_loss<'a>(
    facts: &Facts<'a>,
    partition: &TopicPartition,
    acked: &Seen<'a>,
    highest: Option<Seen<'a>>,
) -> Option<Seen<'a>> {
    if acked.at() < 0 {
        return facts.ends.get(partition).copied();
    }
    let polled_past = highest.filter(|h| h.at() >= acked.at());
    let short_end = (facts.ends.get(partition).copied()).filter(|end| end.at() <= acked.at());
    polled_past.or(short_end)
}

/// `unseen`: a send acked at offset i was never polled, and no poll of its
/// partition went past i. Reported apart from `lost-write`: it may only be slow.
pub fn unseen(facts: &Facts<'_>) -> Vec<Finding> {
    let mut anomalies = Vec::new();
    for (partition, acked, highest) in never_polled(facts) {
        if proof_of_loss(facts, partition, &acked, highest).is_some() {
            continue; // a lost write, not an unseen one
        }
        let sightings = [acked].into_iter().chain(highest).map(|s| s.owned());
        anomalies.push(seen_in(Kind::Unseen, partition, sightings.collect()));
    }
    anomalies
}

/// `aborted-read`: a record whose send definitely failed (`Fail`) was polled.
pub fn aborted_read(facts: &Facts<'_>) -> Vec<Finding> {
    let mut anomalies = Vec::new();
    for done in completions(facts.entries) {
        let (Operation::Send { value, .. }, Outcome::Fail { error }) =
            (done.operation, done.outcome)
        else {
            continue;
        };
        let Some((partition, poll)) = facts.first_poll_of.get(&Origin::Send(done.op)) else {
            continue;
        };
        let refused = Sighting {
            source: Source::Refused,
            value: value.to_string(),
            offset: None,
            process: done.process.to_string(),
            time_ms: done.time_ms,
            producer: Some(done.process.to_string()),
            error: Some(error.clone()),
        };
        let sightings = vec![refused, poll.owned()];
        anomalies.push(seen_in(Kind::AbortedRead, partition, sightings));
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
            // An acks=0 send has no offset (-1), and no poll of another
            // partition can have returned it: it counts as polled if any did.
            let polled = match s.at() >= 0 {
                true => polled.contains_key(&(*partition, s.origin)),
                false => facts.first_poll_of.contains_key(&s.origin),
            };
            s.source == Source::Acked && !polled
        })
        .map(|&(partition, s)| (partition, s, highest.get(partition).copied()))
        .collect();
    missing.sort_by_key(|(partition, s, _)| (*partition, s.at()));
    missing
}
