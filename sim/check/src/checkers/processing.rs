//! The processing checker: did each consumer group process every acknowledged
//! record of its topics exactly once?
//!
//! A group's members record each record the application processed
//! (`ClientEvent::Processed`), after saying which group they joined
//! (`ClientEvent::Subscribed`). Each acknowledged send to one of the group's
//! topics must be processed once: never is `never-processed` (a loss, or only
//! slow: a liveness matter unless the group commits before processing), more
//! than once is `processed-again` (a redelivery, which at-least-once allows).
//!
//! Records are told apart by their partition and the send they came from (not
//! their value, which two sends may share): after an unclean election one
//! offset can hold two records in turn, and processing the first is not
//! processing the second; and a send retried after the truncation may land at
//! another offset. Processing is the application's business: Kafka promises delivery to
//! the consumer, and what the application does with a record between two
//! commits decides which of the two a crash causes.

use super::{Facts, Origin, Origins, Seen};
use crate::finding::{Detail, Finding, Kind};
use crate::history::{ClientEvent, Entry, Operation, Outcome, Reply};
use kafkasim::ids::{LeaderEpoch, Offset, TopicPartition};
use std::collections::BTreeMap;

/// A group: its topics and its members' processes.
#[derive(Default)]
struct Group<'a> {
    topics: Vec<&'a str>,
    members: Vec<&'a str>,
}

/// `never-processed` and `processed-again`, for every group of the history.
pub fn processing(facts: &Facts<'_>) -> Vec<Finding> {
    let groups = groups(facts.entries);
    let epochs = epochs(facts.entries, &facts.origins);
    let mut findings = Vec::new();
    for (group, Group { topics, members }) in &groups {
        let processed = processed_by(facts.entries, &facts.origins, members);
        let newer_at = processed_epochs(facts.entries, members);
        for (partition, seen) in &facts.sightings {
            let acked = seen.source == crate::finding::Source::Acked;
            if !acked || seen.at() < 0 || !topics.contains(&partition.topic.as_str()) {
                continue;
            }
            let by = processed.get(&(*partition, seen.origin));
            let times = by.map_or(0, Vec::len);
            if times == 1 {
                continue;
            }
            let kind = match times {
                0 if hidden(&epochs, &newer_at, partition, seen) => continue,
                0 => Kind::NeverProcessed,
                _ => Kind::ProcessedAgain,
            };
            let detail = Detail::Processing {
                group: group.to_string(),
                partition: (*partition).clone(),
                offset: seen.at(),
                value: seen.value.to_string(),
                times,
                by: by.map_or(vec![], |by| by.iter().map(|p| p.to_string()).collect()),
            };
            findings.push(Finding::new(kind, detail));
        }
    }
    findings
}

/// The leader epoch each send's record was polled with, by partition.
fn epochs<'a>(
    entries: &'a [Entry],
    origins: &Origins<'a>,
) -> BTreeMap<(&'a TopicPartition, Origin<'a>), LeaderEpoch> {
    let mut epochs = BTreeMap::new();
    for done in super::completions(entries) {
        if let (Operation::Poll { .. }, Outcome::Ok(Reply::Polled { records })) =
            (done.operation, done.outcome)
        {
            for r in records.iter().filter(|r| r.leader_epoch >= 0) {
                epochs.insert((&r.partition, origins.of_record(r)), r.leader_epoch);
            }
        }
    }
    epochs
}

/// The highest leader epoch of the records a group processed at each offset.
fn processed_epochs<'a>(
    entries: &'a [Entry],
    members: &[&str],
) -> BTreeMap<(&'a TopicPartition, Offset), LeaderEpoch> {
    let mut highest: BTreeMap<(&TopicPartition, Offset), LeaderEpoch> = BTreeMap::new();
    for entry in entries {
        if let Entry::Event {
            process,
            event: ClientEvent::Processed { record },
            ..
        } = entry
        {
            if members.contains(&process.as_str()) {
                let epoch = highest
                    .entry((&record.partition, record.offset))
                    .or_insert(-1);
                *epoch = (*epoch).max(record.leader_epoch);
            }
        }
    }
    highest
}

/// Whether an acked record the group never processed was hidden from it by
/// a truncation that Kafka's consumer cannot see: the group processed, at its
/// offset, a record of a *newer* leader epoch, which a log truncated below
/// the high watermark (an unclean election, a power loss) later replaced
/// with this older-epoch one. A consumer checks its position against the
/// end of its own epoch, or the newest older one, in the new leader's log
/// (KIP-320); a divergence inside an older epoch lies below that end. The
/// divergence itself is told by the log checkers (`inconsistent-offsets`),
/// whose allowances judge it.
fn hidden(
    epochs: &BTreeMap<(&TopicPartition, Origin<'_>), LeaderEpoch>,
    newer_at: &BTreeMap<(&TopicPartition, Offset), LeaderEpoch>,
    partition: &TopicPartition,
    seen: &Seen<'_>,
) -> bool {
    let Some(&epoch) = epochs.get(&(partition, seen.origin)) else {
        return false;
    };
    newer_at
        .get(&(partition, seen.at()))
        .is_some_and(|&processed| processed > epoch)
}

/// Every group a consumer subscribed with, its topics and members.
fn groups(entries: &[Entry]) -> BTreeMap<&str, Group<'_>> {
    let mut groups: BTreeMap<&str, Group<'_>> = BTreeMap::new();
    for entry in entries {
        if let Entry::Event {
            process,
            event: ClientEvent::Subscribed { group, topics },
            ..
        } = entry
        {
            let group = groups.entry(group).or_default();
            for topic in topics {
                if !group.topics.contains(&topic.as_str()) {
                    group.topics.push(topic);
                }
            }
            if !group.members.contains(&process.as_str()) {
                group.members.push(process);
            }
        }
    }
    groups
}

/// Who processed each record, each time, among `members`.
fn processed_by<'a>(
    entries: &'a [Entry],
    origins: &Origins<'a>,
    members: &[&str],
) -> BTreeMap<(&'a TopicPartition, Origin<'a>), Vec<&'a str>> {
    let mut processed: BTreeMap<(&TopicPartition, Origin<'_>), Vec<&str>> = BTreeMap::new();
    for entry in entries {
        if let Entry::Event {
            process,
            event: ClientEvent::Processed { record },
            ..
        } = entry
        {
            if members.contains(&process.as_str()) {
                let key = (&record.partition, origins.of_record(record));
                processed.entry(key).or_default().push(process);
            }
        }
    }
    processed
}
