//! Lab `truncation`: a follower's truncation point (`labs/src/truncation.rs`).

use super::{Lab, UnitTest};
use kafkasim::ids::LeaderEpoch;
use kafkasim::log::Log;
use kafkasim::protocol::UNDEFINED_EPOCH;
use kafkasim::record::RecordBatch;
use kafkasim::rules::{Rules, Truncation};

pub(super) static LAB: Lab = Lab {
    name: "truncation",
    rule: "where a follower cuts its log after OffsetsForLeaderEpoch (KIP-101, KIP-279)",
    kafka: "AbstractFetcherThread.truncateToEpochEndOffsets",
    file: "labs/src/truncation.rs",
    function: "truncation_point",
    reference: "truncation_point in src/replication.rs",
    learner: |rules| Rules {
        truncation_point: kafkasim_labs::truncation::truncation_point,
        ..rules
    },
    tests: &[
        UnitTest {
            name: "a_longer_follower_cuts_to_the_leaders_end_of_the_epoch",
            run: a_longer_follower_cuts_to_the_leaders_end_of_the_epoch,
        },
        UnitTest {
            name: "a_shorter_follower_keeps_its_whole_epoch",
            run: a_shorter_follower_keeps_its_whole_epoch,
        },
        UnitTest {
            name: "an_older_epoch_both_have_ends_where_the_shorter_copy_ends",
            run: an_older_epoch_both_have_ends_where_the_shorter_copy_ends,
        },
        UnitTest {
            name: "an_epoch_the_follower_never_had_cuts_to_its_own_epoch_below_and_asks_again",
            run: an_epoch_the_follower_never_had_cuts_to_its_own_epoch_below_and_asks_again,
        },
        UnitTest {
            name: "no_common_epoch_keeps_only_what_is_committed",
            run: no_common_epoch_keeps_only_what_is_committed,
        },
        UnitTest {
            name: "every_epoch_newer_than_the_answer_cuts_to_the_log_start",
            run: every_epoch_newer_than_the_answer_cuts_to_the_log_start,
        },
    ],
    scenario_path: "sim/scenarios/labs/truncation.toml",
    scenario_text: include_str!("../../scenarios/labs/truncation.toml"),
};

/// A follower's log: `epochs` as (epoch, records), in order, then a high
/// watermark at `high_watermark`.
fn log(epochs: &[(LeaderEpoch, usize)], high_watermark: i64) -> Log {
    let mut log = Log::default();
    for &(epoch, records) in epochs {
        let values: Vec<String> = (0..records).map(|i| format!("e{epoch}-{i}")).collect();
        let values: Vec<&str> = values.iter().map(String::as_str).collect();
        log.append_as_leader(RecordBatch::from_values(&values), epoch, 0);
    }
    log.set_high_watermark(high_watermark);
    log
}

fn done(offset: i64) -> Truncation {
    Truncation {
        offset,
        ask_again: false,
    }
}

fn a_longer_follower_cuts_to_the_leaders_end_of_the_epoch(rules: &Rules) {
    // Follower: epoch 0 at 0..3, epoch 1 at 3..6, HW 1. The leader's epoch 1
    // ends at 4: offsets 4 and 5 are a tail the leader never had.
    let follower = log(&[(0, 3), (1, 3)], 1);
    assert_eq!(
        (rules.truncation_point)(1, 4, &follower),
        done(4),
        "follower epochs 0@0 1@3, LEO 6, HW 1; the leader says epoch 1 ends at 4"
    );
}

fn a_shorter_follower_keeps_its_whole_epoch(rules: &Rules) {
    let follower = log(&[(0, 3), (1, 3)], 2);
    assert_eq!(
        (rules.truncation_point)(1, 8, &follower),
        done(6),
        "follower epochs 0@0 1@3, LEO 6, HW 2; the leader says epoch 1 ends at 8: nothing to cut"
    );
}

fn an_older_epoch_both_have_ends_where_the_shorter_copy_ends(rules: &Rules) {
    // The follower asked for epoch 2; the leader has no epoch 2 and answers
    // with its epoch 0, which ends at 2 in its log and at 3 in ours.
    let follower = log(&[(0, 3), (2, 3)], 0);
    assert_eq!(
        (rules.truncation_point)(0, 2, &follower),
        done(2),
        "follower epochs 0@0 2@3, LEO 6, HW 0; the leader says epoch 0 ends at 2"
    );
}

fn an_epoch_the_follower_never_had_cuts_to_its_own_epoch_below_and_asks_again(rules: &Rules) {
    // The leader answers epoch 1, which this follower never had: its own
    // epoch below it (0) ends at 3, and one answer cannot say whether the
    // records of 0 agree all the way (KIP-279).
    let follower = log(&[(0, 3), (2, 3)], 0);
    assert_eq!(
        (rules.truncation_point)(1, 5, &follower),
        Truncation {
            offset: 3,
            ask_again: true
        },
        "follower epochs 0@0 2@3, LEO 6, HW 0; the leader says epoch 1 ends at 5"
    );
}

fn no_common_epoch_keeps_only_what_is_committed(rules: &Rules) {
    let follower = log(&[(3, 5)], 2);
    assert_eq!(
        (rules.truncation_point)(UNDEFINED_EPOCH, -1, &follower),
        done(2),
        "follower epoch 3@0, LEO 5, HW 2; the leader has none of its epochs (UNDEFINED_EPOCH)"
    );
}

fn every_epoch_newer_than_the_answer_cuts_to_the_log_start(rules: &Rules) {
    let follower = log(&[(3, 5)], 2);
    assert_eq!(
        (rules.truncation_point)(1, 4, &follower),
        done(0),
        "follower epoch 3@0, LEO 5, HW 2; the leader says epoch 1 ends at 4"
    );
}
