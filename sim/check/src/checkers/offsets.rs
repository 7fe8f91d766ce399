//! The checkers of the version order itself: one send per offset, one offset per
//! send (sends are told apart by their ids, not their values).
//!
//! In Kafka an offset, once committed, names one record forever, and a record is
//! written once. An offset seen holding two values means some replica's log was
//! rewritten under a reader (a truncation after an unclean election or a power
//! loss, or an `acks=1` write lost in a failover and its offset reused). A value
//! at two offsets means a send landed twice: a retry after a lost response, which
//! idempotence exists to prevent.

use super::{seen_in, Facts, Origin, Seen};
use crate::finding::{Finding, Kind};
use kafkasim::ids::Offset;
use std::collections::BTreeMap;

/// `inconsistent-offsets`: one offset of a partition seen holding two or more
/// different sends (by acked sends or polls).
pub fn inconsistent_offsets(facts: &Facts<'_>) -> Vec<Finding> {
    let mut anomalies = Vec::new();
    for (partition, offsets) in facts.order.partitions() {
        for values in offsets.values() {
            if values.len() < 2 {
                continue;
            }
            let sightings = values.values().map(Seen::owned).collect();
            anomalies.push(seen_in(Kind::InconsistentOffsets, partition, sightings));
        }
    }
    anomalies
}

/// `duplicate`: one send seen at two or more offsets of a partition.
pub fn duplicate(facts: &Facts<'_>) -> Vec<Finding> {
    let mut anomalies = Vec::new();
    for (partition, offsets) in facts.order.partitions() {
        let mut places: BTreeMap<Origin<'_>, Vec<(Offset, &Seen<'_>)>> = BTreeMap::new();
        for (&offset, sends) in offsets {
            for (&origin, sighting) in sends {
                places.entry(origin).or_default().push((offset, sighting));
            }
        }
        for at in places.into_values() {
            if at.len() < 2 {
                continue;
            }
            let sightings = at.iter().map(|(_, s)| s.owned()).collect();
            anomalies.push(seen_in(Kind::Duplicate, partition, sightings));
        }
    }
    anomalies
}
