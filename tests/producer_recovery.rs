//! The idempotent producer recovers from `OUT_OF_ORDER_SEQUENCE_NUMBER` by
//! itself, as Kafka 4.x's does (`TransactionManager.canRetry`), and never tells
//! the application a write failed that is in the log.
//!
//! In `sim/scenarios/double.toml` (two server faults at once), seeds 193, 631
//! and 684 once failed with `aborted-read`: after a failover, the retry of a
//! batch that later batches had overtaken reached the new leader after it had
//! forgotten the batch (a broker remembers a producer's last five), was
//! refused as out of order, and the producer called the send "not written",
//! though a consumer then read it. Now such a batch is retried as it is until
//! it expires, which is an ambiguous failure: it may be in the log.
//!
//! Runs change as the model grows more faithful, so the seeds below are ones
//! in which a broker refuses a batch as out of order today (the test checks
//! that it does): the refusal must still never reach the application.

use kafkasim_check::history::{Entry, Outcome};
use kafkasim_check::Verdict;
use kafkasim_sim::TraceLines;
use kafkasim_tools::run::{run_scenario, RunOptions};
use kafkasim_tools::scenario;

const SEEDS: [u64; 3] = [2, 21, 46];

#[test]
fn out_of_order_refusals_are_retried_and_never_reach_the_application_as_not_written() {
    let path = format!("{}/sim/scenarios/double.toml", env!("CARGO_MANIFEST_DIR"));
    let double = scenario::load_file(&path).unwrap_or_else(|e| panic!("{e}"));
    let options = RunOptions {
        keep_trace: Some(TraceLines::Readable),
        ..RunOptions::default()
    };
    for seed in SEEDS {
        let report = run_scenario(seed, &double, &options);
        let refusals = (report.run.trace_lines.iter())
            .filter(|l| l.contains("OUT_OF_ORDER_SEQUENCE_NUMBER"))
            .count();
        assert!(
            refusals > 0,
            "seed {seed}: a broker refused a batch as out of order"
        );
        let told = (report.run.history.iter()).any(|entry| {
            matches!(entry, Entry::Complete { outcome: Outcome::Fail { error }, .. }
                if error.contains("OUT_OF_ORDER_SEQUENCE_NUMBER"))
        });
        assert!(!told, "seed {seed}: the application heard of it");
        assert_eq!(
            report.verdict(),
            Verdict::Ok,
            "seed {seed}: {}",
            report.judgement
        );
    }
}
