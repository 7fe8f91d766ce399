//! What a partition replica remembers about idempotent producers: Kafka's
//! `ProducerStateManager`, simplified.
//!
//! An idempotent producer numbers the records it sends to each partition
//! (`enable.idempotence`): a batch carries its producer id, producer epoch and the
//! sequence number of its first record. Before the leader appends such a batch it
//! checks the sequence against what it knows of that producer:
//!
//! - the batch continues the producer's last sequence: append it;
//! - the batch is one of the producer's last five batches (`NUM_BATCHES_TO_RETAIN`)
//!   arriving again, because the producer retried after losing the answer: do not
//!   append it, answer with the offset it was written at the first time;
//! - the sequence leaves a gap: `OUT_OF_ORDER_SEQUENCE_NUMBER`, nothing appended;
//! - the producer epoch is older than the one already seen: the batch comes from a
//!   fenced producer instance, `INVALID_PRODUCER_EPOCH`;
//! - a newer epoch starts the producer's sequence again at 0.
//!
//! A producer the replica knows nothing about may start at any sequence, as in
//! Kafka since 2.5 (KIP-360): its earlier batches may simply be gone from this log,
//! removed by retention in Kafka, or truncated away by an unclean election here.
//!
//! The table is derived from the log only: every replica updates it after every
//! append, leader or follower, and [`ProducerStateTable::rebuild`] reads it back from
//! the batches after a restart or a truncation. That is why deduplication survives a
//! leader failover: the new leader replicated the same batches and so knows the same
//! sequences. Kafka additionally writes snapshots of the table to save the replay.
//!
//! Simplifications: no transactions (no transactional state, no control batches),
//! sequences never wrap around past `i32::MAX` (Kafka wraps them to 0), and producer
//! ids never expire (Kafka forgets a producer after `transactional.id.expiration.ms`
//! / `producer.id.expiration.ms` without writes).

use crate::error::ErrorCode;
use crate::ids::Offset;
use crate::record::{ProducerIdentity, RecordBatch};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, VecDeque};

/// The leader's check of an idempotent producer's batch before appending it,
/// given what the partition remembers of that producer (`None`: nothing).
pub type CheckSequence =
    fn(batch: &IncomingBatch, producer: Option<&ProducerEntry>) -> Result<SequenceCheck, ErrorCode>;

/// How many of a producer's latest batches a replica remembers for deduplication
/// (Kafka's `ProducerStateManager.NUM_BATCHES_TO_RETAIN`). It matches the largest
/// `max.in.flight.requests.per.connection` an idempotent producer may use, so any
/// batch a producer can still be retrying is recognised.
pub const NUM_BATCHES_TO_RETAIN: usize = 5;

/// Where one retained batch sits: its sequences and offsets (Kafka's
/// `BatchMetadata`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchMetadata {
    pub first_seq: i32,
    pub last_seq: i32,
    pub base_offset: Offset,
    pub last_offset: Offset,
}

/// One producer's state in one partition (Kafka's `ProducerStateEntry`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProducerEntry {
    pub producer_epoch: i16,
    /// The latest batches of this epoch, oldest first, at most `NUM_BATCHES_TO_RETAIN`.
    pub batches: VecDeque<BatchMetadata>,
}

/// What the sequence check reads of a batch an idempotent producer sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IncomingBatch {
    pub producer_epoch: i16,
    /// The sequence numbers of its first and last records.
    pub first_seq: i32,
    pub last_seq: i32,
}

#[cfg(test)]
impl ProducerStateTable {
    /// Asserts every entry's shape again (`record` checks the entry it changes).
    pub fn invariants(&self) {
        for (&producer_id, entry) in &self.producers {
            entry.invariants(producer_id);
        }
    }
}

impl ProducerEntry {
    fn last_seq(&self) -> i32 {
        self.batches
            .back()
            .expect("an entry exists only once a batch was recorded")
            .last_seq
    }
}

/// The outcome of checking a batch before appending it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SequenceCheck {
    /// New data in sequence: append it.
    Append,
    /// A retry of a batch already in the log at `base_offset`: append nothing and
    /// answer `NONE` with that offset.
    Duplicate { base_offset: Offset },
}

/// Per partition replica: producer id → that producer's latest batches.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProducerStateTable {
    producers: BTreeMap<i64, ProducerEntry>,
}

/// The sequence of a batch's last record (no wrap-around in the model).
fn last_sequence(identity: &ProducerIdentity, batch: &RecordBatch) -> i32 {
    let count = i32::try_from(batch.len()).expect("a batch holds fewer than 2^31 records");
    identity
        .base_sequence
        .checked_add(count - 1)
        .expect("sequences do not wrap around in the model")
}

impl ProducerStateTable {
    /// Leader side, before appending `batch`: may it be appended, is it a retry of
    /// a batch already in the log, or must it be refused? Batches without a
    /// producer identity are always appended; the others are checked by the
    /// rule the broker was configured with (the model's is [`check_sequence`]).
    pub fn check_with(
        &self,
        rule: CheckSequence,
        batch: &RecordBatch,
    ) -> Result<SequenceCheck, ErrorCode> {
        let Some(identity) = batch.producer else {
            return Ok(SequenceCheck::Append);
        };
        let incoming = IncomingBatch {
            producer_epoch: identity.producer_epoch,
            first_seq: identity.base_sequence,
            last_seq: last_sequence(&identity, batch),
        };
        rule(&incoming, self.producers.get(&identity.producer_id))
    }

    /// [`ProducerStateTable::check_with`] Kafka's rule.
    pub fn check(&self, batch: &RecordBatch) -> Result<SequenceCheck, ErrorCode> {
        self.check_with(check_sequence, batch)
    }

    /// After any append, on the leader or a follower, with the batch's final offsets.
    /// Followers record without checking: the leader already decided.
    pub fn record(&mut self, batch: &RecordBatch) {
        let Some(identity) = batch.producer else {
            return;
        };
        assert!(identity.base_sequence >= 0, "sequences start at 0");
        assert!(!batch.is_empty(), "Kafka never appends an empty batch");
        let metadata = BatchMetadata {
            first_seq: identity.base_sequence,
            last_seq: last_sequence(&identity, batch),
            base_offset: batch.base_offset,
            last_offset: batch.last_offset(),
        };
        let entry = self
            .producers
            .entry(identity.producer_id)
            .or_insert_with(|| ProducerEntry {
                producer_epoch: identity.producer_epoch,
                batches: VecDeque::new(),
            });
        if identity.producer_epoch != entry.producer_epoch {
            // Only the current epoch's batches can be retried, so older ones go.
            entry.producer_epoch = identity.producer_epoch;
            entry.batches.clear();
        }
        entry.batches.push_back(metadata);
        if entry.batches.len() > NUM_BATCHES_TO_RETAIN {
            entry.batches.pop_front();
        }
        entry.invariants(identity.producer_id);
    }

    /// The table as it was after appending `batches`, in log order: how a replica
    /// finds its producers again after a restart or a truncation.
    pub fn rebuild<'a>(batches: impl IntoIterator<Item = &'a RecordBatch>) -> Self {
        let mut table = ProducerStateTable::default();
        for batch in batches {
            table.record(batch);
        }
        table
    }
}

// ANCHOR: sequence_check
/// Kafka's check of an idempotent producer's batch against what the partition
/// remembers of the producer (`ProducerAppendInfo.checkProducerEpoch` and
/// `checkSequence`, with the duplicate search of `ProducerStateEntry`).
pub fn check_sequence(
    batch: &IncomingBatch,
    producer: Option<&ProducerEntry>,
) -> Result<SequenceCheck, ErrorCode> {
    let Some(entry) = producer else {
        return Ok(SequenceCheck::Append);
    };
    if batch.producer_epoch < entry.producer_epoch {
        return Err(ErrorCode::InvalidProducerEpoch);
    }
    if batch.producer_epoch > entry.producer_epoch {
        // A new epoch of the producer numbers its batches from the start again.
        return match batch.first_seq {
            0 => Ok(SequenceCheck::Append),
            _ => Err(ErrorCode::OutOfOrderSequenceNumber),
        };
    }
    let retained = (entry.batches.iter())
        .find(|b| b.first_seq == batch.first_seq && b.last_seq == batch.last_seq);
    if let Some(original) = retained {
        return Ok(SequenceCheck::Duplicate {
            base_offset: original.base_offset,
        });
    }
    if i64::from(batch.first_seq) == i64::from(entry.last_seq()) + 1 {
        Ok(SequenceCheck::Append)
    } else {
        Err(ErrorCode::OutOfOrderSequenceNumber)
    }
}
// ANCHOR_END: sequence_check

impl ProducerEntry {
    /// Asserts an entry's shape, checked each time `record` changes it (the only
    /// change a table sees): between one and `NUM_BATCHES_TO_RETAIN` batches, each
    /// with sane sequence and offset ranges.
    fn invariants(&self, producer_id: i64) {
        assert!(
            (1..=NUM_BATCHES_TO_RETAIN).contains(&self.batches.len()),
            "producer {producer_id} keeps 1..={NUM_BATCHES_TO_RETAIN} batches"
        );
        for b in &self.batches {
            assert!(0 <= b.first_seq && b.first_seq <= b.last_seq);
            assert!(0 <= b.base_offset && b.base_offset <= b.last_offset);
            assert_eq!(
                i64::from(b.last_seq - b.first_seq),
                b.last_offset - b.base_offset,
                "one sequence number per record"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PRODUCER: i64 = 1000;

    /// A batch of `count` records from `PRODUCER` as a leader appended it.
    fn batch(epoch: i16, base_sequence: i32, count: usize, base_offset: Offset) -> RecordBatch {
        let values: Vec<String> = (0..count).map(|i| format!("v{i}")).collect();
        let values: Vec<&str> = values.iter().map(String::as_str).collect();
        let mut batch = RecordBatch::from_values(&values);
        batch.base_offset = base_offset;
        batch.producer = Some(ProducerIdentity {
            producer_id: PRODUCER,
            producer_epoch: epoch,
            base_sequence,
        });
        batch
    }

    /// Six batches of two records each, epoch 0, sequences 0,2,..,10, offsets 100,102,...
    fn six_batches() -> Vec<RecordBatch> {
        (0..6)
            .map(|i| batch(0, 2 * i, 2, 100 + 2 * i as i64))
            .collect()
    }

    #[test]
    fn the_next_sequence_is_appended() {
        let table = ProducerStateTable::rebuild(&six_batches());
        assert_eq!(table.check(&batch(0, 12, 3, 0)), Ok(SequenceCheck::Append));
    }

    #[test]
    fn duplicates_of_any_of_the_last_five_batches_answer_with_their_original_offset() {
        let table = ProducerStateTable::rebuild(&six_batches());
        for i in 1..6 {
            let retry = batch(0, 2 * i, 2, 0);
            let original = 100 + 2 * i as i64;
            assert_eq!(
                table.check(&retry),
                Ok(SequenceCheck::Duplicate {
                    base_offset: original
                })
            );
        }
        table.invariants();
    }

    #[test]
    fn a_sixth_oldest_batch_is_no_longer_recognised() {
        let table = ProducerStateTable::rebuild(&six_batches());
        assert_eq!(
            table.check(&batch(0, 0, 2, 0)),
            Err(ErrorCode::OutOfOrderSequenceNumber)
        );
    }

    #[test]
    fn a_gap_is_out_of_order_sequence_number() {
        let table = ProducerStateTable::rebuild(&six_batches());
        assert_eq!(
            table.check(&batch(0, 13, 1, 0)),
            Err(ErrorCode::OutOfOrderSequenceNumber)
        );
    }

    #[test]
    fn an_older_epoch_is_fenced() {
        let table = ProducerStateTable::rebuild(&[batch(3, 0, 1, 0)]);
        assert_eq!(
            table.check(&batch(2, 1, 1, 0)),
            Err(ErrorCode::InvalidProducerEpoch)
        );
    }

    #[test]
    fn a_new_epoch_restarts_at_0() {
        let mut table = ProducerStateTable::rebuild(&six_batches());
        assert_eq!(
            table.check(&batch(1, 12, 1, 0)),
            Err(ErrorCode::OutOfOrderSequenceNumber)
        );
        assert_eq!(table.check(&batch(1, 0, 1, 0)), Ok(SequenceCheck::Append));
        table.record(&batch(1, 0, 1, 112));
        // The old epoch's batches are forgotten, and the old epoch is now fenced.
        assert_eq!(
            table.check(&batch(1, 0, 1, 0)),
            Ok(SequenceCheck::Duplicate { base_offset: 112 })
        );
        assert_eq!(
            table.check(&batch(0, 10, 2, 0)),
            Err(ErrorCode::InvalidProducerEpoch)
        );
        table.invariants();
    }

    #[test]
    fn an_unknown_producer_may_start_at_any_sequence() {
        let table = ProducerStateTable::default();
        assert_eq!(table.check(&batch(0, 0, 1, 0)), Ok(SequenceCheck::Append));
        assert_eq!(table.check(&batch(0, 7, 1, 0)), Ok(SequenceCheck::Append));
    }

    #[test]
    fn rebuild_from_batches_gives_the_same_table_as_recording_them() {
        let mut batches = six_batches();
        batches.push(batch(1, 0, 4, 112));
        let mut recorded = ProducerStateTable::default();
        for b in &batches {
            recorded.record(b);
        }
        assert_eq!(ProducerStateTable::rebuild(&batches), recorded);
        recorded.invariants();
    }

    #[test]
    fn batches_without_producer_are_ignored() {
        let mut table = ProducerStateTable::default();
        let mut plain = RecordBatch::from_values(&["a", "b"]);
        plain.base_offset = 40;
        table.record(&plain);
        assert_eq!(table, ProducerStateTable::default());
        assert_eq!(table.check(&plain), Ok(SequenceCheck::Append));
    }
}
