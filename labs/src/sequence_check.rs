//! Lab `sequence-check`: the idempotent producer's duplicates and gaps.
//!
//! An idempotent producer (`enable.idempotence`, Kafka's default since 3.0)
//! numbers the records it sends to each partition: a batch carries its
//! producer id, producer epoch and the sequence number of its first record.
//! When a produce response is lost, the producer sends the same batch again;
//! the leader must recognise it rather than append it twice. Before appending
//! a batch, the leader checks it against what the partition remembers of the
//! producer (`ProducerStateEntry`: its epoch and its last 5 batches, oldest
//! first, each with its first and last sequence and its offsets). Kafka's
//! rule (`ProducerAppendInfo.checkProducerEpoch` and `checkSequence`):
//!
//! - a producer the partition knows nothing of (`producer` is `None`) may
//!   start at any sequence: append (KIP-360);
//! - an epoch older than the remembered one is a fenced, older instance of the
//!   producer: `INVALID_PRODUCER_EPOCH`;
//! - a newer epoch starts its sequences again: append if the batch starts at
//!   0, else `OUT_OF_ORDER_SEQUENCE_NUMBER`;
//! - in the same epoch, a batch with the same first and last sequence as one
//!   of the remembered batches is a **duplicate**: append nothing, answer with
//!   the offset the original was written at (`base_offset`);
//! - a batch that starts right after the last remembered sequence is appended;
//! - anything else leaves a gap (or repeats a batch too old to remember):
//!   `OUT_OF_ORDER_SEQUENCE_NUMBER`, and the producer must not count it
//!   written.
//!
//! Check it: `cargo run --release -- lab check sequence-check`.
//! The model's version: `check_sequence` in `src/producer_state.rs`.

use kafkasim::error::ErrorCode;
use kafkasim::producer_state::{IncomingBatch, ProducerEntry, SequenceCheck};

/// Whether the leader appends `batch`, answers it as a duplicate, or refuses
/// it, given what the partition remembers of its producer.
pub fn check_sequence(
    batch: &IncomingBatch,
    producer: Option<&ProducerEntry>,
) -> Result<SequenceCheck, ErrorCode> {
    todo!("epoch first, then duplicates among the retained batches, then the next sequence")
}
