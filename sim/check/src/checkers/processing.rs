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
//! Records are told apart by their partition and offset, as a consumer sees
//! them. Processing is the application's business: Kafka promises delivery to
//! the consumer, and what the application does with a record between two
//! commits decides which of the two a crash causes.

use super::Facts;
use crate::finding::{Detail, Finding, Kind};
use crate::history::{ClientEvent, Entry};
use kafkasim::ids::{Offset, TopicPartition};
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
    let mut findings = Vec::new();
    for (group, Group { topics, members }) in &groups {
        let processed = processed_by(facts.entries, members);
        for (partition, seen) in &facts.sightings {
            let acked = seen.source == crate::finding::Source::Acked;
            if !acked || seen.at() < 0 || !topics.contains(&partition.topic.as_str()) {
                continue;
            }
            let by = processed.get(&(*partition, seen.at()));
            let times = by.map_or(0, Vec::len);
            if times == 1 {
                continue;
            }
            let kind = match times {
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
    members: &[&str],
) -> BTreeMap<(&'a TopicPartition, Offset), Vec<&'a str>> {
    let mut processed: BTreeMap<(&TopicPartition, Offset), Vec<&str>> = BTreeMap::new();
    for entry in entries {
        if let Entry::Event {
            process,
            event: ClientEvent::Processed { record },
            ..
        } = entry
        {
            if members.contains(&process.as_str()) {
                let key = (&record.partition, record.offset);
                processed.entry(key).or_default().push(process);
            }
        }
    }
    processed
}
