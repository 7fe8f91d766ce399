//! A drawn schedule replays as a file: the faults a seed of `standard` draws,
//! written to a scenario file and run with the same seed, are the same faults
//! at the same times, and the run makes the same history and the same findings.
//! The nemesis draws from its own generator, apart from the simulator's, so
//! whether a schedule was drawn or read changes nothing the simulator does.
//!
//! Seeds 1 to 5 by default; `KAFKASIM_REPLAY_SEEDS=100 cargo test --release
//! --test schedule_replay` checks more.

use kafkasim_sim::trace::{Captured, FaultEvent};
use kafkasim_tools::run::{run_scenario, RunOptions, RunReport};
use kafkasim_tools::scenario::workload::file::{parse, to_toml};
use kafkasim_tools::scenario::workload::{FaultPlan, Workload};
use kafkasim_tools::scenario::Scenario;

const SEEDS_DEFAULT: u64 = 5;

fn seeds() -> u64 {
    match std::env::var("KAFKASIM_REPLAY_SEEDS") {
        Ok(n) => n.parse().expect("KAFKASIM_REPLAY_SEEDS is a number"),
        Err(_) => SEEDS_DEFAULT,
    }
}

fn run(seed: u64, scenario: &Scenario) -> RunReport {
    let options = RunOptions {
        capture: true,
        ..RunOptions::default()
    };
    run_scenario(seed, scenario, &options)
}

/// Every fault's start and end, as the run captured them.
fn faults(report: &RunReport) -> Vec<FaultEvent> {
    let capture = report.run.capture.as_ref().expect("captured");
    (capture.events.iter())
        .filter_map(|event| match event {
            Captured::Fault(fault) => Some(fault.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn a_drawn_schedule_written_to_a_file_replays_the_same_faults_and_findings() {
    let mut faults_seen = 0;
    for seed in 1..=seeds() {
        let drawn = run(seed, &Scenario::workload("standard", Workload::standard()));
        let schedule = drawn.schedule.clone().expect("a workload has a schedule");
        let mut written = Workload::standard();
        written.faults = FaultPlan::Schedule(schedule.clone());
        let text = to_toml(&written, &[], &[]);
        let read = parse(&text).unwrap_or_else(|e| panic!("seed {seed}: {e}\n{text}"));
        assert_eq!(read.faults, FaultPlan::Schedule(schedule), "seed {seed}");
        let replayed = run(seed, &Scenario::workload("written", read));

        let (before, after) = (faults(&drawn), faults(&replayed));
        assert_eq!(
            before, after,
            "seed {seed}: the same faults at the same times"
        );
        faults_seen += before.len();
        assert_eq!(
            drawn.run.history, replayed.run.history,
            "seed {seed}: the same history"
        );
        assert_eq!(
            drawn.judgement.findings, replayed.judgement.findings,
            "seed {seed}: the same findings"
        );
        assert_eq!(drawn.run.messages, replayed.run.messages, "seed {seed}");
    }
    assert!(faults_seen > 0, "the seeds drew faults");
}
