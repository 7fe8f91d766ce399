//! The crash course's flow, end to end, through what the clients saw.

use kafkasim_check::history::{Entry, Outcome, Reply};
use kafkasim_check::{judge, views, Kind, Verdict};
use kafkasim_tools::render::render;
use kafkasim_tools::run::{run_seed, RunReport};
use kafkasim_tools::scenario::{self, quickstart};

fn quickstart(seed: u64) -> RunReport {
    run_seed(seed, &scenario::builtin("quickstart").expect("built in"))
}

#[test]
fn every_sent_name_is_consumed_exactly_once_in_offset_order_in_its_half() {
    let report = quickstart(7);
    assert_eq!(report.verdict(), Verdict::Ok, "{}", render(&report));
    let history = &report.run.history;
    assert_eq!(views::acked(history).len(), quickstart::NAMES.len());
    let consumed = views::polled_by(history, "consumer");
    for partition in 0..2 {
        let consumed: Vec<(i64, &str)> = (consumed.iter())
            .filter(|c| c.partition.partition == partition)
            .map(|c| (c.offset, c.value.as_str().expect("a text value")))
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
    for summary in &report.run.partitions {
        assert_eq!(
            summary.high_watermark, summary.log_end_offset,
            "{}: everything committed",
            summary.partition
        );
    }
}

/// The quickstart's history with `change` made to the consumer's first poll
/// that returned records.
fn with_first_poll(
    report: &RunReport,
    change: impl FnOnce(&mut Vec<kafkasim_check::history::PolledRecord>),
) -> Vec<Entry> {
    let mut entries = report.run.history.clone();
    let first = entries.iter_mut().find_map(|entry| match entry {
        Entry::Complete {
            process,
            outcome: Outcome::Ok(Reply::Polled { records }),
            ..
        } if process == "consumer" && !records.is_empty() => Some(records),
        _ => None,
    });
    change(first.expect("the consumer polled records"));
    entries
}

#[test]
fn the_judge_finds_a_name_read_twice_or_never() {
    let report = quickstart(3);
    assert_eq!(report.verdict(), Verdict::Ok, "{}", report.judgement);
    let config = report.run.config();
    let twice = with_first_poll(&report, |records| {
        let mut again = records[0].clone();
        again.offset += 100;
        records.push(again);
    });
    let found = judge(&twice, &config, vec![]);
    assert_eq!(found.verdict(), Verdict::Correctness);
    assert!(found.kinds().contains(&Kind::Duplicate), "{found}");
    let never = with_first_poll(&report, |records| {
        records.remove(0);
    });
    let found = judge(&never, &config, vec![]);
    assert_ne!(found.verdict(), Verdict::Ok, "{found}");
}

#[test]
fn the_quickstart_output_for_seed_7_is_pinned() {
    insta::assert_snapshot!("quickstart_seed_7", render(&quickstart(7)));
}
