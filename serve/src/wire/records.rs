//! Record batches between Kafka's bytes (record batch format v2, magic 2) and
//! the model's `RecordBatch`.
//!
//! Keys, values (a null value is a tombstone), headers and `CreateTime`
//! timestamps go through both ways byte for byte: the model's records hold
//! bytes (`Data`) as Kafka's do.
//!
//! Simplifications, each refused with an error code rather than bent to fit:
//! transactional and control batches are refused with `INVALID_RECORD`
//! (transactions are not modelled). Only `none` and `gzip` are decompressed;
//! `snappy`, `lz4` and `zstd` get `UNSUPPORTED_COMPRESSION_TYPE`. Fetch always
//! answers uncompressed batches, as a broker may (Kafka keeps the producer's
//! compression, `compression.type=producer`). `kafka-protocol` holds a
//! record's headers in a map by key, so of headers that repeat a key (Kafka
//! allows it) only the last value survives decoding, in the first one's place.
//! A timestamp before 1970 (Kafka's `NO_TIMESTAMP`, -1) is kept as 0.

use super::codes;
use bytes::{Bytes, BytesMut};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::records::{
    Compression, Record as WireRecord, RecordBatchDecoder, RecordBatchEncoder, RecordEncodeOptions,
    TimestampType,
};
use kafkasim::record::{Data, Header, ProducerIdentity, Record, RecordBatch};

/// At most this many records in one compressed batch: its header's count is
/// checked against this before anything is reserved for them. (An
/// uncompressed batch is bounded by its size: a record takes at least 7 bytes.)
pub const COMPRESSED_BATCH_RECORDS_MAX: i32 = 100_000;

/// The smallest encoded record: length, attributes, timestamp delta, offset
/// delta, key length, value length, header count (one byte each at least).
const RECORD_BYTES_MIN: usize = 7;

/// One Produce partition's `records` as the model's batch, or the error code
/// Kafka would answer for that partition.
pub fn batch_from_wire(records: &Bytes) -> Result<RecordBatch, i16> {
    let infos = RecordBatchDecoder::decode_batch_info(&mut records.clone())
        .map_err(|_| codes::CORRUPT_MESSAGE)?;
    // Kafka: a Produce v3+ partition holds exactly one batch of magic 2.
    let [info] = infos.as_slice() else {
        return Err(codes::INVALID_RECORD);
    };
    if info.version != 2 {
        return Err(codes::INVALID_RECORD);
    }
    match info.compression {
        Compression::None | Compression::Gzip => {}
        _ => return Err(codes::UNSUPPORTED_COMPRESSION_TYPE),
    }
    if info.transactional || info.control {
        return Err(codes::INVALID_RECORD);
    }
    let bound = match info.compression {
        Compression::None => (records.len() / RECORD_BYTES_MIN) as i32,
        _ => COMPRESSED_BATCH_RECORDS_MAX,
    };
    if info.record_count < 1 || info.record_count > bound {
        return Err(codes::INVALID_RECORD);
    }
    let set =
        RecordBatchDecoder::decode(&mut records.clone()).map_err(|_| codes::CORRUPT_MESSAGE)?;
    let records = set
        .records
        .iter()
        .map(record_from_wire)
        .collect::<Result<Vec<_>, _>>()?;
    let first = set.records.first().ok_or(codes::INVALID_RECORD)?;
    let mut batch = RecordBatch::new(records);
    if first.producer_id >= 0 {
        batch.producer = Some(ProducerIdentity {
            producer_id: first.producer_id,
            producer_epoch: first.producer_epoch,
            base_sequence: first.sequence,
        });
    }
    Ok(batch)
}

fn record_from_wire(record: &WireRecord) -> Result<Record, i16> {
    let data = |bytes: &Option<Bytes>| bytes.as_deref().map(Data::from);
    let headers = (record.headers.iter())
        .map(|(key, value)| Header {
            key: key.as_str().to_string(),
            value: data(value),
        })
        .collect();
    Ok(Record {
        key: data(&record.key),
        value: data(&record.value),
        headers,
        // The producer's CreateTime, wall-clock milliseconds; the model only
        // carries it.
        timestamp_ms: record.timestamp.max(0) as u64,
    })
}

/// The model's batches as Fetch's `records` bytes, one wire batch per model
/// batch so that offsets, epochs and producer ids stay as the leader wrote them.
pub fn batches_to_wire(batches: &[RecordBatch]) -> Bytes {
    let mut buf = BytesMut::new();
    for batch in batches {
        let records: Vec<WireRecord> = batch
            .offset_records()
            .enumerate()
            .map(|(i, (offset, record))| record_to_wire(batch, i as i32, offset, record))
            .collect();
        let options = RecordEncodeOptions {
            version: 2,
            compression: Compression::None,
        };
        RecordBatchEncoder::encode(&mut buf, records.iter(), &options)
            .expect("encoding uncompressed records into memory cannot fail");
    }
    buf.freeze()
}

fn record_to_wire(batch: &RecordBatch, index: i32, offset: i64, record: &Record) -> WireRecord {
    let bytes = |data: &Option<Data>| data.as_ref().map(|d| Bytes::copy_from_slice(d.as_bytes()));
    let (producer_id, producer_epoch, sequence) = match batch.producer {
        Some(p) => (p.producer_id, p.producer_epoch, p.base_sequence + index),
        // No producer: the batch's base sequence is -1 (Kafka's NO_SEQUENCE),
        // and `kafka-protocol` derives each record's from it and its offset
        // delta, so a constant -1 would split the batch into one per record.
        None => (-1, -1, index - 1),
    };
    WireRecord {
        transactional: false,
        control: false,
        delete_horizon: false,
        partition_leader_epoch: batch.partition_leader_epoch,
        producer_id,
        producer_epoch,
        timestamp_type: TimestampType::Creation,
        offset,
        sequence,
        timestamp: record.timestamp_ms as i64,
        key: bytes(&record.key),
        value: bytes(&record.value),
        headers: (record.headers.iter())
            .map(|h| (StrBytes::from_string(h.key.clone()), bytes(&h.value)))
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_without_a_producer_goes_over_the_wire_as_one_batch_and_back() {
        let batch = RecordBatch::from_values(&["a", "b", "c"]);
        let bytes = batches_to_wire(std::slice::from_ref(&batch));
        let infos = RecordBatchDecoder::decode_batch_info(&mut bytes.clone()).expect("decodes");
        assert_eq!(infos.len(), 1, "one wire batch");
        assert_eq!(infos[0].base_sequence, -1, "NO_SEQUENCE");
        let back = batch_from_wire(&bytes).expect("a batch the edge takes");
        assert_eq!(back.records, batch.records);
        assert_eq!(back.producer, None);
    }

    #[test]
    fn bytes_tombstones_and_headers_go_over_the_wire_and_back() {
        let binary = Record {
            key: Some(Data::new(vec![0x00, 0xff, 0xfe])),
            value: Some(Data::new(vec![0xc3, 0x28])),
            headers: vec![
                Header {
                    key: "trace-id".into(),
                    value: Some(Data::new(vec![0x80])),
                },
                Header {
                    key: "empty".into(),
                    value: None,
                },
            ],
            timestamp_ms: 1_700_000_000_000,
        };
        let tombstone = Record {
            value: None,
            headers: Vec::new(),
            ..binary.clone()
        };
        let batch = RecordBatch::new(vec![binary, tombstone]);
        let bytes = batches_to_wire(std::slice::from_ref(&batch));
        let back = batch_from_wire(&bytes).expect("a batch the edge takes");
        assert_eq!(back.records, batch.records);
    }
}
