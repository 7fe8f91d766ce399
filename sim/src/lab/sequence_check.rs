//! Lab `sequence-check`: the idempotent producer's check
//! (`labs/src/sequence_check.rs`).

use super::{Lab, UnitTest};
use kafkasim::error::ErrorCode;
use kafkasim::producer_state::{BatchMetadata, IncomingBatch, ProducerEntry, SequenceCheck};
use kafkasim::rules::Rules;

pub(super) static LAB: Lab = Lab {
    name: "sequence-check",
    rule: "the idempotent producer's duplicate and sequence check",
    kafka: "ProducerAppendInfo.checkProducerEpoch and checkSequence",
    file: "labs/src/sequence_check.rs",
    function: "check_sequence",
    reference: "check_sequence in src/producer_state.rs",
    learner: |rules| Rules {
        check_sequence: kafkasim_labs::sequence_check::check_sequence,
        ..rules
    },
    tests: &[
        UnitTest {
            name: "an_unknown_producer_may_start_anywhere",
            run: an_unknown_producer_may_start_anywhere,
        },
        UnitTest {
            name: "the_next_sequence_is_appended",
            run: the_next_sequence_is_appended,
        },
        UnitTest {
            name: "a_retry_of_a_retained_batch_answers_its_original_offset",
            run: a_retry_of_a_retained_batch_answers_its_original_offset,
        },
        UnitTest {
            name: "a_gap_is_out_of_order",
            run: a_gap_is_out_of_order,
        },
        UnitTest {
            name: "a_batch_older_than_the_retained_ones_is_out_of_order",
            run: a_batch_older_than_the_retained_ones_is_out_of_order,
        },
        UnitTest {
            name: "an_older_epoch_is_fenced",
            run: an_older_epoch_is_fenced,
        },
        UnitTest {
            name: "a_newer_epoch_starts_again_at_0",
            run: a_newer_epoch_starts_again_at_0,
        },
    ],
    scenario_path: "sim/scenarios/labs/sequence-check.toml",
    scenario_text: include_str!("../../scenarios/labs/sequence-check.toml"),
};

/// A producer in epoch 1 whose last five batches of two records each are
/// sequences 2..=11 at offsets 100..=109 (the batch at 0..=1 is forgotten).
fn producer() -> ProducerEntry {
    let batches = (1..6)
        .map(|i| BatchMetadata {
            first_seq: 2 * i,
            last_seq: 2 * i + 1,
            base_offset: 98 + 2 * i64::from(i),
            last_offset: 99 + 2 * i64::from(i),
        })
        .collect();
    ProducerEntry {
        producer_epoch: 1,
        batches,
    }
}

fn batch(producer_epoch: i16, first_seq: i32, last_seq: i32) -> IncomingBatch {
    IncomingBatch {
        producer_epoch,
        first_seq,
        last_seq,
    }
}

const KNOWN: &str =
    "the producer (epoch 1) last wrote sequences 2..=11 in batches of two, at offsets 100..=109";

fn an_unknown_producer_may_start_anywhere(rules: &Rules) {
    for first in [0, 7] {
        assert_eq!(
            (rules.check_sequence)(&batch(0, first, first + 1), None),
            Ok(SequenceCheck::Append),
            "a producer the partition does not know sends sequences {first}..={}",
            first + 1
        );
    }
}

fn the_next_sequence_is_appended(rules: &Rules) {
    assert_eq!(
        (rules.check_sequence)(&batch(1, 12, 14), Some(&producer())),
        Ok(SequenceCheck::Append),
        "{KNOWN}; the batch has sequences 12..=14"
    );
}

fn a_retry_of_a_retained_batch_answers_its_original_offset(rules: &Rules) {
    for (first, offset) in [(2, 100), (6, 104), (10, 108)] {
        assert_eq!(
            (rules.check_sequence)(&batch(1, first, first + 1), Some(&producer())),
            Ok(SequenceCheck::Duplicate {
                base_offset: offset
            }),
            "{KNOWN}; the batch has sequences {first}..={} again",
            first + 1
        );
    }
}

fn a_gap_is_out_of_order(rules: &Rules) {
    assert_eq!(
        (rules.check_sequence)(&batch(1, 13, 13), Some(&producer())),
        Err(ErrorCode::OutOfOrderSequenceNumber),
        "{KNOWN}; the batch has sequence 13 (12 is missing)"
    );
}

fn a_batch_older_than_the_retained_ones_is_out_of_order(rules: &Rules) {
    assert_eq!(
        (rules.check_sequence)(&batch(1, 0, 1), Some(&producer())),
        Err(ErrorCode::OutOfOrderSequenceNumber),
        "{KNOWN}; the batch has sequences 0..=1, older than every retained batch"
    );
}

fn an_older_epoch_is_fenced(rules: &Rules) {
    assert_eq!(
        (rules.check_sequence)(&batch(0, 12, 12), Some(&producer())),
        Err(ErrorCode::InvalidProducerEpoch),
        "{KNOWN}; the batch comes from epoch 0"
    );
}

fn a_newer_epoch_starts_again_at_0(rules: &Rules) {
    assert_eq!(
        (rules.check_sequence)(&batch(2, 0, 0), Some(&producer())),
        Ok(SequenceCheck::Append),
        "{KNOWN}; the batch comes from epoch 2 with sequence 0"
    );
    assert_eq!(
        (rules.check_sequence)(&batch(2, 12, 12), Some(&producer())),
        Err(ErrorCode::OutOfOrderSequenceNumber),
        "{KNOWN}; the batch comes from epoch 2 with sequence 12"
    );
}
