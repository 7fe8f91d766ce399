//! Records and record batches, the unit a producer sends and a log stores.
//!
//! Simplification: keys and values are UTF-8 strings so traces and the book read
//! well; Kafka stores bytes. A key's partition is computed from its UTF-8 bytes,
//! which is what Kafka's `StringSerializer` would hand to the partitioner, so keys
//! still land where real Kafka puts them.

use crate::ids::{LeaderEpoch, Offset};
use serde::{Deserialize, Serialize};

/// Fixed per-record overhead counted by `size_bytes`, a rough stand-in for Kafka's
/// varint-encoded record header (attributes, deltas, lengths).
const RECORD_OVERHEAD_BYTES: usize = 8;

/// One key/value record.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Record {
    pub key: Option<String>,
    pub value: String,
    /// `CreateTime` set by the producer, in simulated milliseconds.
    pub timestamp_ms: u64,
}

impl Record {
    pub fn size_bytes(&self) -> usize {
        RECORD_OVERHEAD_BYTES + self.key.as_ref().map_or(0, |k| k.len()) + self.value.len()
    }
}

/// Producer identity carried by idempotent batches (`enable.idempotence`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ProducerIdentity {
    pub producer_id: i64,
    pub producer_epoch: i16,
    pub base_sequence: i32,
}

/// A batch of records appended at consecutive offsets, as Kafka's `RecordBatch`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RecordBatch {
    /// Offset of the first record; set by the leader on append (0 in a produce request).
    pub base_offset: Offset,
    /// Epoch of the leader that appended the batch (`partitionLeaderEpoch`).
    pub partition_leader_epoch: LeaderEpoch,
    pub producer: Option<ProducerIdentity>,
    pub records: Vec<Record>,
}

impl RecordBatch {
    /// A batch as a producer builds it, before a leader assigns offsets.
    pub fn new(records: Vec<Record>) -> Self {
        assert!(!records.is_empty(), "Kafka never sends an empty batch");
        RecordBatch {
            base_offset: 0,
            partition_leader_epoch: -1,
            producer: None,
            records,
        }
    }

    /// A batch of keyless records with these values, stamped at time 0 (for tests
    /// and examples that care only about values).
    pub fn from_values(values: &[&str]) -> Self {
        let records = values
            .iter()
            .map(|v| Record {
                key: None,
                value: v.to_string(),
                timestamp_ms: 0,
            })
            .collect();
        RecordBatch::new(records)
    }

    /// Number of records, as an offset delta.
    pub fn len(&self) -> i64 {
        self.records.len() as i64
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// The offset after the batch's last record.
    pub fn next_offset(&self) -> Offset {
        self.base_offset + self.len()
    }

    pub fn last_offset(&self) -> Offset {
        self.next_offset() - 1
    }

    pub fn size_bytes(&self) -> usize {
        self.records.iter().map(Record::size_bytes).sum()
    }

    /// Records with their offsets.
    pub fn offset_records(&self) -> impl Iterator<Item = (Offset, &Record)> {
        self.records
            .iter()
            .enumerate()
            .map(move |(i, r)| (self.base_offset + i as i64, r))
    }
}
