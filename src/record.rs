//! Records and record batches, the unit a producer sends and a log stores.
//!
//! As Kafka has them (record format v2): a key and a value, each optional
//! bytes (`Data`; a null value is a tombstone, which a compacted topic reads as
//! "delete this key"), headers (a string key and optional bytes each), and a
//! timestamp. A key's partition is murmur2 over its bytes, so keys land where
//! real Kafka puts them.
//!
//! `Data` shows UTF-8 as text, and a record shows itself as it did when keys and
//! values were strings (a present value as the value alone, no headers when
//! there are none), so the simulator's traces, hashes and snapshots read the
//! same. Simplification: the model leaves out what Kafka keeps per record only
//! to encode it compactly (attributes, offset and timestamp deltas), and only
//! `CreateTime` timestamps are carried.

mod data;

use crate::ids::{LeaderEpoch, Offset};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::hash::{Hash, Hasher};

pub use data::Data;

/// Fixed per-record overhead counted by `size_bytes`, a rough stand-in for Kafka's
/// varint-encoded record header (attributes, deltas, lengths).
const RECORD_OVERHEAD_BYTES: usize = 8;

/// A record header: Kafka's `Header`, a string key and optional bytes. Keys
/// may repeat; order is kept.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Header {
    pub key: String,
    pub value: Option<Data>,
}

/// One record. `Debug` and `Hash` are written by hand so that a record with a
/// value and no headers shows and hashes exactly as it did when the value was
/// a `String` (see the module's header).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    pub key: Option<Data>,
    /// `None` is a tombstone.
    pub value: Option<Data>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub headers: Vec<Header>,
    /// `CreateTime` set by the producer, in milliseconds (simulated ones in a run).
    pub timestamp_ms: u64,
}

impl Record {
    /// A record with a value and no headers, the kind the simulator's clients send.
    pub fn new(key: Option<Data>, value: impl Into<Data>, timestamp_ms: u64) -> Self {
        Record {
            key,
            value: Some(value.into()),
            headers: Vec::new(),
            timestamp_ms,
        }
    }

    /// The value as text (see [`value_text`]).
    pub fn value_text(&self) -> String {
        value_text(&self.value)
    }

    pub fn size_bytes(&self) -> usize {
        let len = |data: &Option<Data>| data.as_ref().map_or(0, Data::len);
        let headers: usize = self
            .headers
            .iter()
            .map(|h| h.key.len() + len(&h.value))
            .sum();
        RECORD_OVERHEAD_BYTES + len(&self.key) + len(&self.value) + headers
    }
}

impl fmt::Debug for Record {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut record = f.debug_struct("Record");
        record
            .field("key", &self.key)
            .field("value", &ShownValue(&self.value));
        if !self.headers.is_empty() {
            record.field("headers", &self.headers);
        }
        record.field("timestamp_ms", &self.timestamp_ms).finish()
    }
}

impl Hash for Record {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.key.hash(state);
        hash_value(&self.value, state);
        self.timestamp_ms.hash(state);
        hash_headers(&self.headers, state);
    }
}

/// A value in `Debug` as the `String` it once was: the data alone when there
/// is one (`"v"`, not `Some("v")`), `None` for a tombstone.
pub(crate) struct ShownValue<'a>(pub &'a Option<Data>);

impl fmt::Debug for ShownValue<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(value) => fmt::Debug::fmt(value, f),
            None => f.write_str("None"),
        }
    }
}

/// Hashes a value as the `String` it once was; a tombstone ends in 0xfd, where a
/// value's bytes end in 0xff (UTF-8) or 0xfe (other bytes).
pub(crate) fn hash_value<H: Hasher>(value: &Option<Data>, state: &mut H) {
    match value {
        Some(value) => value.hash(state),
        None => state.write_u8(0xfd),
    }
}

/// Hashes headers only when there are some, so a record without any hashes as
/// it did before records had headers.
pub(crate) fn hash_headers<H: Hasher>(headers: &[Header], state: &mut H) {
    if !headers.is_empty() {
        headers.hash(state);
    }
}

/// A value as text, for people and for histories that tell sends apart by
/// value: UTF-8 as it is, other bytes as `Data`'s hex (`0x…`), a tombstone
/// (no value) as empty text.
pub fn value_text(value: &Option<Data>) -> String {
    value.as_ref().map_or_else(String::new, Data::to_string)
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
        let records = values.iter().map(|v| Record::new(None, *v, 0)).collect();
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::hash_map::DefaultHasher;

    /// `Record` as it was when keys and values were strings.
    #[derive(Debug, Hash, Serialize)]
    struct Before {
        key: Option<String>,
        value: String,
        timestamp_ms: u64,
    }

    fn hash_of(value: &impl Hash) -> u64 {
        let mut hasher = DefaultHasher::new();
        value.hash(&mut hasher);
        hasher.finish()
    }

    #[test]
    fn a_text_record_without_headers_shows_serializes_and_hashes_as_before() {
        for key in [None, Some("k-1")] {
            let now = Record::new(key.map(Data::from), "v\"1\"", 7);
            let before = Before {
                key: key.map(str::to_string),
                value: "v\"1\"".into(),
                timestamp_ms: 7,
            };
            assert_eq!(
                format!("{now:?}"),
                format!("{before:?}").replacen("Before", "Record", 1)
            );
            assert_eq!(
                format!("{now:#?}"),
                format!("{before:#?}").replacen("Before", "Record", 1)
            );
            assert_eq!(
                serde_json::to_string(&now).unwrap(),
                serde_json::to_string(&before).unwrap()
            );
            assert_eq!(hash_of(&now), hash_of(&before));
            let back: Record = serde_json::from_str(&serde_json::to_string(&now).unwrap()).unwrap();
            assert_eq!(back, now);
        }
    }

    #[test]
    fn tombstones_headers_and_bytes_show_as_themselves() {
        let record = Record {
            key: Some(Data::new(vec![0xff])),
            value: None,
            headers: vec![Header {
                key: "h".into(),
                value: None,
            }],
            timestamp_ms: 1,
        };
        assert_eq!(
            format!("{record:?}"),
            r#"Record { key: Some(0xff), value: None, headers: [Header { key: "h", value: None }], timestamp_ms: 1 }"#
        );
        let json = serde_json::to_string(&record).unwrap();
        assert_eq!(
            json,
            r#"{"key":{"hex":"ff"},"value":null,"headers":[{"key":"h","value":null}],"timestamp_ms":1}"#
        );
        assert_eq!(serde_json::from_str::<Record>(&json).unwrap(), record);
        let valued = Record::new(record.key.clone(), "", 1);
        assert_ne!(
            hash_of(&record),
            hash_of(&valued),
            "a tombstone is not an empty value"
        );
    }

    #[test]
    fn size_counts_key_value_and_header_bytes() {
        let mut record = Record::new(Some("ab".into()), "cde", 0);
        assert_eq!(record.size_bytes(), RECORD_OVERHEAD_BYTES + 5);
        record.headers.push(Header {
            key: "hk".into(),
            value: Some(Data::new(vec![0, 1, 2])),
        });
        record.value = None;
        assert_eq!(record.size_bytes(), RECORD_OVERHEAD_BYTES + 2 + 2 + 3);
    }
}
