//! The crash course's flow, end to end, through what the clients saw.

use kafkasim_sim::render::render;
use kafkasim_sim::run::{run_seed, RunReport, Verdict};
use kafkasim_sim::scenario::{self, quickstart};

fn quickstart(seed: u64) -> RunReport {
    run_seed(seed, scenario::find("quickstart").expect("built in"), false)
}

#[test]
fn every_sent_name_is_consumed_exactly_once_in_offset_order_in_its_half() {
    let report = quickstart(7);
    assert_eq!(report.verdict, Verdict::Ok, "{}", render(&report));
    let outcome = &report.outcome;
    assert_eq!(outcome.sent.len(), quickstart::NAMES.len());
    for partition in 0..2 {
        let consumed: Vec<(i64, &str)> = outcome
            .consumed
            .iter()
            .filter(|c| c.partition.partition == partition)
            .map(|c| (c.offset, c.value.as_str()))
            .collect();
        let expected: Vec<&str> = quickstart::NAMES
            .iter()
            .copied()
            .filter(|n| quickstart::partition_for_name(n) == partition)
            .collect();
        let offsets: Vec<i64> = consumed.iter().map(|(o, _)| *o).collect();
        let values: Vec<&str> = consumed.iter().map(|(_, v)| *v).collect();
        assert_eq!(
            offsets,
            (0..expected.len() as i64).collect::<Vec<_>>(),
            "users-{partition}: dense from 0"
        );
        assert_eq!(
            values, expected,
            "users-{partition}: every name once, in send order"
        );
    }
    for summary in &report.partitions {
        assert_eq!(
            summary.high_watermark, summary.log_end_offset,
            "{}: everything committed",
            summary.partition
        );
    }
}

#[test]
fn the_quickstart_check_rejects_a_duplicate_or_a_gap() {
    let mut outcome = quickstart(3).outcome;
    assert_eq!(quickstart::check(&outcome), Ok(()));
    let duplicate = outcome.consumed[0].clone();
    outcome.consumed.push(duplicate);
    assert!(quickstart::check(&outcome)
        .unwrap_err()
        .contains("consumed 2 times"));
    outcome.consumed.pop();
    let first = outcome.consumed.remove(0);
    let err = quickstart::check(&outcome).unwrap_err();
    assert!(err.contains(&first.value), "{err}");
}

#[test]
fn the_quickstart_output_for_seed_7_is_pinned() {
    insta::assert_snapshot!("quickstart_seed_7", render(&quickstart(7)));
}
