//! Plain views of a history: what was acknowledged, what was refused, what a
//! process read. For tests and tools that want to look at a run's facts
//! without a checker's judgement.

use crate::history::{ClientEvent, Entry, Operation, Outcome, PolledRecord, Reply, Value};
use kafkasim::ids::{Offset, TopicPartition};

/// A send acknowledged at an offset of a partition (`-1` with `acks=0`); its
/// value as text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Acked {
    pub value: String,
    pub partition: TopicPartition,
    pub offset: Offset,
    pub process: String,
    pub time_ms: u64,
}

/// A send that ended in an error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    pub value: String,
    /// The client's error, as printed.
    pub error: String,
    /// True for an unknown outcome (`info`: a timeout, an error after the
    /// append); false for a send that definitely did not happen.
    pub ambiguous: bool,
    pub process: String,
    pub time_ms: u64,
}

/// Every acknowledged send, in the order the acknowledgements came.
pub fn acked(entries: &[Entry]) -> Vec<Acked> {
    sends(entries)
        .filter_map(|(value, process, time_ms, outcome)| match outcome {
            Outcome::Ok(Reply::Sent { partition, offset }) => Some(Acked {
                value: value.to_string(),
                partition: partition.clone(),
                offset: *offset,
                process: process.to_string(),
                time_ms,
            }),
            _ => None,
        })
        .collect()
}

/// Every send that ended in an error, in the order the errors came.
pub fn refused(entries: &[Entry]) -> Vec<Refused> {
    sends(entries)
        .filter_map(|(value, process, time_ms, outcome)| match outcome {
            Outcome::Fail { error } | Outcome::Info { error } => Some(Refused {
                value: value.to_string(),
                error: error.clone(),
                ambiguous: matches!(outcome, Outcome::Info { .. }),
                process: process.to_string(),
                time_ms,
            }),
            Outcome::Ok(_) => None,
        })
        .collect()
}

/// Every record `process`'s polls returned, in order.
pub fn polled_by(entries: &[Entry], process: &str) -> Vec<PolledRecord> {
    (entries.iter())
        .filter_map(|entry| match entry {
            Entry::Complete {
                process: p,
                outcome: Outcome::Ok(Reply::Polled { records }),
                ..
            } if p == process => Some(records.iter().cloned()),
            _ => None,
        })
        .flatten()
        .collect()
}

/// Every record `process` said it processed, in order.
pub fn processed_by(entries: &[Entry], process: &str) -> Vec<PolledRecord> {
    (entries.iter())
        .filter_map(|entry| match entry {
            Entry::Event {
                process: p,
                event: ClientEvent::Processed { record },
                ..
            } if p == process => Some(record.clone()),
            _ => None,
        })
        .collect()
}

/// Each completed send: its value, its process, when it ended and how.
fn sends(entries: &[Entry]) -> impl Iterator<Item = (&Value, &str, u64, &Outcome)> {
    entries.iter().filter_map(|entry| {
        let Entry::Complete {
            op,
            time_ms,
            process,
            outcome,
        } = entry
        else {
            return None;
        };
        match &entries[op.index()] {
            Entry::Invoke {
                operation: Operation::Send { value, .. },
                ..
            } => Some((value, process.as_str(), *time_ms, outcome)),
            _ => None,
        }
    })
}
