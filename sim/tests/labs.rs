//! The labs check what they say they check: for each lab, Kafka's own rule
//! (the model's) passes the unit tests and a sweep, and a known-wrong version
//! is caught, by the unit tests, and where a run can show it, by the sweep's
//! checkers with a shrunk counterexample.
//!
//! The sweeps here are a few seeds of debug builds; `kafkasim lab check`
//! sweeps 200 by default.

use kafkasim::error::ErrorCode;
use kafkasim::ids::{LeaderEpoch, Offset};
use kafkasim::log::Log;
use kafkasim::producer_state::{IncomingBatch, ProducerEntry, SequenceCheck};
use kafkasim::rules::{Rules, Truncation};
use kafkasim_check::Kind;
use kafkasim_tools::lab::{self, CheckOptions, Counterexample, Lab, Status};
use kafkasim_tools::sweep::SeedRange;
use std::path::PathBuf;

fn named(name: &str) -> &'static Lab {
    lab::named(name).expect("a lab")
}

fn options(lab: &Lab, seeds: SeedRange, shrink_runs: usize) -> CheckOptions {
    CheckOptions {
        seeds,
        jobs: 2,
        shrink_runs,
        out: PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join("labs")
            .join(lab.name),
    }
}

fn seeds(start: u64, end: u64) -> SeedRange {
    SeedRange { start, end }
}

/// Kafka's rule passes the lab's unit tests, and `seeds` of its sweep.
fn kafkas_rule_passes(name: &str, seeds: SeedRange) {
    let lab = named(name);
    let results = lab::run_tests(lab, &Rules::KAFKA);
    assert_eq!(Status::of(&results), Status::TestsPass, "{results:?}");
    let checked = lab::check(lab, Rules::KAFKA, &options(lab, seeds, 1), &mut |_| {});
    let summary = checked.sweep.as_ref().expect("swept");
    let failing: Vec<_> = summary
        .failing()
        .map(|r| (r.seed, r.reason.clone()))
        .collect();
    assert!(failing.is_empty(), "{name}: {failing:?}");
    assert!(checked.passed());
}

/// `rules` fails at least one of the lab's unit tests.
fn the_unit_tests_catch(name: &str, rules: Rules) {
    let lab = named(name);
    let results = lab::run_tests(lab, &rules);
    assert_eq!(Status::of(&results), Status::Failing, "{results:?}");
    let checked = lab::check(lab, rules, &options(lab, seeds(1, 2), 1), &mut |_| {});
    assert!(
        checked.sweep.is_none(),
        "no sweep before the unit tests pass"
    );
    assert!(!checked.passed());
}

/// The lab's sweep over `seeds` catches `rules`, and shrinks the first
/// failing seed to a counterexample showing `kind`.
fn the_sweep_catches(name: &str, rules: Rules, seeds: SeedRange, kind: Kind) -> Counterexample {
    let lab = named(name);
    let (summary, found) = lab::sweep_and_shrink(lab, rules, &options(lab, seeds, 12), &mut |_| {});
    let failing: Vec<_> = summary
        .failing()
        .map(|r| (r.seed, r.failing.clone()))
        .collect();
    eprintln!("{name}: failing {failing:?}");
    let found = found.expect("a failing seed").expect("shrunk");
    assert_eq!(found.kind, kind, "{found:?}");
    assert!(found.file.is_file(), "{found:?}");
    assert!(
        found.report.as_ref().is_ok_and(|index| index.is_file()),
        "{found:?}"
    );
    assert!(
        found
            .replay
            .contains(&format!("lab run {name} --seed {}", found.seed)),
        "{found:?}"
    );
    found
}

// Lab 1: the partitioner.

fn abs_instead_of_to_positive(key: &[u8], partitions: i32) -> i32 {
    kafkasim::partitioner::murmur2(key).wrapping_abs() % partitions
}

#[test]
fn partitioner_kafkas_rule_passes() {
    kafkas_rule_passes("partitioner", seeds(1, 3));
}

#[test]
fn partitioner_abs_instead_of_to_positive_is_caught_by_the_unit_tests() {
    let wrong = Rules {
        partition_for_key: abs_instead_of_to_positive,
        ..Rules::KAFKA
    };
    the_unit_tests_catch("partitioner", wrong);
}

// Lab 2: the high watermark.

fn leaders_log_end(_: Offset, leader_log_end_offset: Offset, _: &[Option<Offset>]) -> Offset {
    leader_log_end_offset
}

#[test]
fn high_watermark_kafkas_rule_passes() {
    kafkas_rule_passes("high-watermark", seeds(1, 3));
}

#[test]
fn high_watermark_at_the_leaders_log_end_is_caught_by_the_unit_tests_and_the_sweep() {
    let wrong = Rules {
        high_watermark: leaders_log_end,
        ..Rules::KAFKA
    };
    the_unit_tests_catch("high-watermark", wrong);
    the_sweep_catches(
        "high-watermark",
        wrong,
        seeds(1, 2),
        Kind::InconsistentOffsets,
    );
}

// Lab 3: the truncation point.

/// Before Kafka 0.11 (KIP-101): cut to the own high watermark, whatever the
/// leader answers. As a lab's rule it cuts only once the leader answered, a
/// round trip later than Kafka 0.10 did (the `kip-101` switch cuts at once),
/// which leaves a window too narrow for a short sweep: the unit tests catch it.
fn to_own_high_watermark(_: LeaderEpoch, _: Offset, log: &Log) -> Truncation {
    Truncation {
        offset: log.high_watermark(),
        ask_again: false,
    }
}

/// Never cut: keep the tail an old leader appended and nobody else has.
fn never_cut(_: LeaderEpoch, _: Offset, log: &Log) -> Truncation {
    Truncation {
        offset: log.log_end_offset(),
        ask_again: false,
    }
}

#[test]
fn truncation_kafkas_rule_passes() {
    kafkas_rule_passes("truncation", seeds(1, 3));
}

#[test]
fn truncation_to_the_own_high_watermark_is_caught_by_the_unit_tests() {
    let wrong = Rules {
        truncation_point: to_own_high_watermark,
        ..Rules::KAFKA
    };
    the_unit_tests_catch("truncation", wrong);
}

#[test]
fn truncation_that_never_cuts_is_caught_by_the_unit_tests_and_the_sweep() {
    let wrong = Rules {
        truncation_point: never_cut,
        ..Rules::KAFKA
    };
    the_unit_tests_catch("truncation", wrong);
    the_sweep_catches("truncation", wrong, seeds(2, 3), Kind::DivergentReplicas);
}

// Lab 4: the range assignor.

/// The extra partitions to the last members instead of the first.
fn extras_to_the_last(partitions: i32, subscribers: usize) -> Vec<Vec<i32>> {
    let mut ranges = (Rules::KAFKA.range_assign)(partitions, subscribers);
    ranges.reverse();
    let mut next = 0;
    for range in &mut ranges {
        let length = range.len() as i32;
        *range = (next..next + length).collect();
        next += length;
    }
    ranges
}

/// Each member `partitions / subscribers`, the rest to nobody.
fn extras_to_nobody(partitions: i32, subscribers: usize) -> Vec<Vec<i32>> {
    let per_member = partitions / subscribers.max(1) as i32;
    (0..subscribers as i32)
        .map(|i| (i * per_member..(i + 1) * per_member).collect())
        .collect()
}

#[test]
fn range_assignor_kafkas_rule_passes() {
    kafkas_rule_passes("range-assignor", seeds(1, 3));
}

#[test]
fn range_assignor_with_the_extras_to_the_last_members_is_caught_by_the_unit_tests() {
    let wrong = Rules {
        range_assign: extras_to_the_last,
        ..Rules::KAFKA
    };
    the_unit_tests_catch("range-assignor", wrong);
}

#[test]
fn range_assignor_with_the_extras_to_nobody_is_caught_by_the_unit_tests_and_the_sweep() {
    let wrong = Rules {
        range_assign: extras_to_nobody,
        ..Rules::KAFKA
    };
    the_unit_tests_catch("range-assignor", wrong);
    the_sweep_catches("range-assignor", wrong, seeds(1, 2), Kind::NeverProcessed);
}

// Lab 5: the sequence check.

/// Every batch of a known producer in its epoch is appended: no duplicate
/// is recognised, no gap refused.
fn append_everything(
    batch: &IncomingBatch,
    producer: Option<&ProducerEntry>,
) -> Result<SequenceCheck, ErrorCode> {
    match producer {
        Some(known) if batch.producer_epoch < known.producer_epoch => {
            Err(ErrorCode::InvalidProducerEpoch)
        }
        _ => Ok(SequenceCheck::Append),
    }
}

#[test]
fn sequence_check_kafkas_rule_passes() {
    kafkas_rule_passes("sequence-check", seeds(1, 3));
}

#[test]
fn sequence_check_without_duplicates_is_caught_by_the_unit_tests_and_the_sweep() {
    let wrong = Rules {
        check_sequence: append_everything,
        ..Rules::KAFKA
    };
    the_unit_tests_catch("sequence-check", wrong);
    the_sweep_catches("sequence-check", wrong, seeds(1, 2), Kind::Duplicate);
}
