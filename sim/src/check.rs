//! Checks over what clients saw: acknowledged writes against a final read.
//!
//! A run's scenario ends by reading every partition from the beginning with a
//! fresh consumer. Comparing that read with the acknowledged sends finds Kafka's
//! write anomalies without looking inside any broker:
//! - a **lost write**: acknowledged at an offset, absent from the final read (when
//!   another record now sits at its offset, the offset was *reused*);
//! - a **duplicate**: one sent value read at two offsets (a retry landed twice);
//! - a **reordering**: two acknowledged sends of one producer to one partition read
//!   back in the opposite order.
//!
//! Values are unique within a scenario, which is what lets a value identify a send.
//!
//! One check reads the brokers' logs at the end of a run instead: **divergent
//! replicas**, two copies of a partition that disagree below the leader's high
//! watermark, where every replica must hold the same committed prefix.
//! Failed sends are never counted as lost, and an *ambiguous* failed send (a
//! timeout) may legitimately appear in the read: it is "unknown", not "failed".

use crate::scenario::ScenarioOutcome;
use kafkasim::ids::{BrokerId, Offset, TopicPartition};
use kafkasim::log::Log;
use std::collections::BTreeMap;
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Anomaly {
    LostWrite {
        value: String,
        partition: TopicPartition,
        offset: Offset,
        /// What the final read found at that offset instead, if anything.
        now_holds: Option<String>,
    },
    Duplicate {
        value: String,
        offsets: Vec<(TopicPartition, Offset)>,
    },
    Reordered {
        first: String,
        second: String,
        partition: TopicPartition,
    },
    /// A consumer group never processed an acknowledged record.
    NotProcessed {
        value: String,
        partition: TopicPartition,
        offset: Offset,
    },
    /// A consumer group processed one record more than once.
    ProcessedAgain {
        value: String,
        partition: TopicPartition,
        offset: Offset,
        times: usize,
    },
}

impl fmt::Display for Anomaly {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Anomaly::LostWrite {
                value,
                partition,
                offset,
                now_holds,
            } => {
                write!(
                    f,
                    "lost write: {value} was acknowledged at {partition}@{offset} but is not in the log"
                )?;
                match now_holds {
                    Some(other) => write!(f, " (offset {offset} now holds {other})"),
                    None => Ok(()),
                }
            }
            Anomaly::Duplicate { value, offsets } => {
                let at: Vec<String> = offsets.iter().map(|(tp, o)| format!("{tp}@{o}")).collect();
                write!(f, "duplicate: {value} is in the log {} times, at {}", offsets.len(), at.join(", "))
            }
            Anomaly::NotProcessed {
                value,
                partition,
                offset,
            } => write!(
                f,
                "never processed: {value} ({partition}@{offset}) was acknowledged, but no consumer processed it"
            ),
            Anomaly::ProcessedAgain {
                value,
                partition,
                offset,
                times,
            } => write!(
                f,
                "processed {times} times: {value} ({partition}@{offset})"
            ),
            Anomaly::Reordered {
                first,
                second,
                partition,
            } => write!(
                f,
                "reordering: {first} was acknowledged before {second} but sits after it in {partition}"
            ),
        }
    }
}

/// Compares acknowledged sends with the final read in `outcome.consumed`.
pub fn write_anomalies(outcome: &ScenarioOutcome) -> Vec<Anomaly> {
    let mut anomalies = Vec::new();
    let mut read_at: BTreeMap<(TopicPartition, Offset), &str> = BTreeMap::new();
    let mut places: BTreeMap<&str, Vec<(TopicPartition, Offset)>> = BTreeMap::new();
    for c in &outcome.consumed {
        read_at.insert((c.partition.clone(), c.offset), &c.value);
        places
            .entry(&c.value)
            .or_default()
            .push((c.partition.clone(), c.offset));
    }
    for sent in &outcome.sent {
        if !places.contains_key(sent.value.as_str()) && sent.offset >= 0 {
            let now_holds = read_at
                .get(&(sent.partition.clone(), sent.offset))
                .map(|v| v.to_string());
            anomalies.push(Anomaly::LostWrite {
                value: sent.value.clone(),
                partition: sent.partition.clone(),
                offset: sent.offset,
                now_holds,
            });
        }
    }
    for (value, offsets) in &places {
        if offsets.len() > 1 {
            anomalies.push(Anomaly::Duplicate {
                value: value.to_string(),
                offsets: offsets.clone(),
            });
        }
    }
    // Sends are recorded in acknowledgement order; within a partition, the read
    // must keep that order for the ones it holds.
    let mut last_per_partition: BTreeMap<&TopicPartition, (&str, Offset)> = BTreeMap::new();
    for sent in &outcome.sent {
        let Some(found) = places.get(sent.value.as_str()) else {
            continue;
        };
        let Some(&(_, offset)) = found.iter().find(|(tp, _)| *tp == sent.partition) else {
            continue;
        };
        if let Some(&(previous, previous_offset)) = last_per_partition.get(&sent.partition) {
            if offset < previous_offset {
                anomalies.push(Anomaly::Reordered {
                    first: previous.to_string(),
                    second: sent.value.clone(),
                    partition: sent.partition.clone(),
                });
            }
        }
        last_per_partition.insert(&sent.partition, (&sent.value, offset));
    }
    anomalies
}

/// Compares acknowledged sends with what a consumer group processed (in
/// `outcome.consumed`): each record must be processed exactly once.
pub fn processing_anomalies(outcome: &ScenarioOutcome) -> Vec<Anomaly> {
    let mut times: BTreeMap<(&TopicPartition, Offset), usize> = BTreeMap::new();
    for c in &outcome.consumed {
        *times.entry((&c.partition, c.offset)).or_default() += 1;
    }
    let mut anomalies = Vec::new();
    for sent in &outcome.sent {
        let (value, partition, offset) = (sent.value.clone(), sent.partition.clone(), sent.offset);
        match times
            .get(&(&sent.partition, sent.offset))
            .copied()
            .unwrap_or(0)
        {
            0 => anomalies.push(Anomaly::NotProcessed {
                value,
                partition,
                offset,
            }),
            1 => {}
            times => anomalies.push(Anomaly::ProcessedAgain {
                value,
                partition,
                offset,
                times,
            }),
        }
    }
    anomalies
}

/// Where each replica disagrees with the leader's committed records: one line per
/// divergent replica, naming the first offset where they differ.
pub fn replica_divergence(
    partition: &TopicPartition,
    leader: (BrokerId, &Log),
    followers: &[(BrokerId, &Log)],
) -> Vec<String> {
    kafkasim_check::divergence::replica_divergence(partition, leader, followers)
        .into_iter()
        .map(|d| {
            format!(
                "divergent replicas: broker-{} has {} at {}@{}, the leader broker-{} has {}",
                d.replica, d.replica_value, d.partition, d.offset, d.leader, d.leader_value
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::{ConsumedRecord, SentRecord};
    use kafkasim::protocol::Acks;

    fn tp() -> TopicPartition {
        TopicPartition::new("t", 0)
    }

    fn sent(value: &str, offset: Offset) -> SentRecord {
        SentRecord {
            time_ms: 0,
            value: value.into(),
            partition: tp(),
            offset,
            acks: Acks::All,
        }
    }

    fn read(value: &str, offset: Offset) -> ConsumedRecord {
        ConsumedRecord {
            time_ms: 0,
            value: value.into(),
            partition: tp(),
            offset,
        }
    }

    fn outcome(sent: Vec<SentRecord>, consumed: Vec<ConsumedRecord>) -> ScenarioOutcome {
        ScenarioOutcome {
            sent,
            consumed,
            ..ScenarioOutcome::default()
        }
    }

    #[test]
    fn a_read_holding_every_acknowledged_write_in_order_has_no_anomaly() {
        let o = outcome(
            vec![sent("a", 0), sent("b", 1)],
            vec![read("a", 0), read("b", 1)],
        );
        assert_eq!(write_anomalies(&o), vec![]);
    }

    #[test]
    fn an_acknowledged_write_missing_from_the_read_is_lost_and_its_offset_reused() {
        let o = outcome(
            vec![sent("a", 0), sent("b", 1)],
            vec![read("a", 0), read("c", 1)],
        );
        assert_eq!(
            write_anomalies(&o),
            vec![Anomaly::LostWrite {
                value: "b".into(),
                partition: tp(),
                offset: 1,
                now_holds: Some("c".into()),
            }]
        );
    }

    #[test]
    fn a_value_read_twice_is_a_duplicate() {
        let o = outcome(vec![sent("a", 1)], vec![read("a", 0), read("a", 1)]);
        assert_eq!(
            write_anomalies(&o),
            vec![Anomaly::Duplicate {
                value: "a".into(),
                offsets: vec![(tp(), 0), (tp(), 1)],
            }]
        );
    }

    #[test]
    fn writes_read_back_against_acknowledgement_order_are_reordered() {
        let o = outcome(
            vec![sent("a", 1), sent("b", 0)],
            vec![read("b", 0), read("a", 1)],
        );
        assert_eq!(
            write_anomalies(&o),
            vec![Anomaly::Reordered {
                first: "a".into(),
                second: "b".into(),
                partition: tp(),
            }]
        );
    }
}
