//! The checkers of the version order itself: one value per offset, one offset per
//! value.
//!
//! In Kafka an offset, once committed, names one record forever, and a record is
//! written once. An offset seen holding two values means some replica's log was
//! rewritten under a reader (a truncation after an unclean election or a power
//! loss, or an `acks=1` write lost in a failover and its offset reused). A value
//! at two offsets means a send landed twice: a retry after a lost response, which
//! idempotence exists to prevent.

use super::{Anomaly, AnomalyKind, Facts, Seen, Sighting};
use kafkasim::ids::Offset;
use std::collections::BTreeMap;

/// `inconsistent-offsets`: one offset of a partition seen holding two or more
/// different values (by acked sends or polls).
pub fn inconsistent_offsets(facts: &Facts<'_>) -> Vec<Anomaly> {
    let mut anomalies = Vec::new();
    for (partition, offsets) in facts.order.partitions() {
        for (offset, values) in offsets {
            if values.len() < 2 {
                continue;
            }
            let sightings: Vec<Sighting> = values.values().map(Seen::owned).collect();
            let seen: Vec<String> = sightings
                .iter()
                .map(|s| format!("{} ({})", s.value, s.how()))
                .collect();
            anomalies.push(Anomaly {
                kind: AnomalyKind::InconsistentOffsets,
                partition: partition.clone(),
                description: format!(
                    "{partition}@{offset} was seen holding {} values: {}",
                    sightings.len(),
                    seen.join(", ")
                ),
                sightings,
            });
        }
    }
    anomalies
}

/// `duplicate`: one value seen at two or more offsets of a partition.
pub fn duplicate(facts: &Facts<'_>) -> Vec<Anomaly> {
    let mut anomalies = Vec::new();
    for (partition, offsets) in facts.order.partitions() {
        let mut places: BTreeMap<&str, Vec<(Offset, &Seen<'_>)>> = BTreeMap::new();
        for (&offset, values) in offsets {
            for (value, sighting) in values {
                places.entry(value).or_default().push((offset, sighting));
            }
        }
        for (value, at) in places {
            if at.len() < 2 {
                continue;
            }
            let seen: Vec<String> = at
                .iter()
                .map(|(offset, s)| format!("{partition}@{offset} ({})", s.how()))
                .collect();
            anomalies.push(Anomaly {
                kind: AnomalyKind::Duplicate,
                partition: partition.clone(),
                sightings: at.iter().map(|(_, s)| s.owned()).collect(),
                description: format!("{value} is at {} offsets: {}", at.len(), seen.join(", ")),
            });
        }
    }
    anomalies
}
