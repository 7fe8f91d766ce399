//! `kafkasim shrink` and the minimal scenario files it wrote, checked in under
//! `sim/scenarios/minimal/`: each still shows its anomaly when replayed, and
//! shrinking the KIP-101 failure again gives exactly its file.
//!
//! After a change to the model, a file may stop reproducing (the replay test
//! says so) or the shrinker may find another minimal file; regenerate them with
//! the commands at the top of each file.

mod common;
use common::kafkasim;

use kafkasim_check::Kind;
use kafkasim_tools::run::run_seed;
use kafkasim_tools::scenario::{self, workload::FaultPlan};
use kafkasim_tools::shrink::{shown_kinds, shrink, Request, MAX_RUNS_DEFAULT};

fn path(relative: &str) -> String {
    format!("{}/{relative}", env!("CARGO_MANIFEST_DIR"))
}

/// Replays a minimal file at its own seed; returns how many faults it has.
fn replay_minimal(name: &str, kind: Kind) -> usize {
    let file = path(&format!("scenarios/minimal/{name}.toml"));
    let scenario = scenario::load_file(&file).unwrap_or_else(|e| panic!("{e}"));
    let workload = scenario.as_workload().expect("a file is a workload");
    let expect = workload
        .expect
        .clone()
        .expect("a minimal file says what it shows");
    assert_eq!(expect.kind, kind);
    let report = run_seed(expect.seed, &scenario);
    let shown = shown_kinds(&report);
    assert!(
        shown.contains(&kind),
        "{name}: expected {kind}, the run shows {shown:?}"
    );
    match &workload.faults {
        FaultPlan::Schedule(schedule) => schedule.faults.len(),
        other => panic!("{name}: a minimal file has a written schedule, not {other:?}"),
    }
}

#[test]
fn the_minimal_kip_101_file_loses_a_write_with_at_most_four_faults() {
    assert!(replay_minimal("kip-101", Kind::LostWrite) <= 4);
}

#[test]
fn the_minimal_unclean_election_file_loses_a_write() {
    assert!(replay_minimal("unclean-election", Kind::LostWrite) <= 4);
}

#[test]
fn the_minimal_zombie_consumer_file_processes_records_twice() {
    assert_eq!(replay_minimal("zombie-consumer", Kind::ProcessedAgain), 1);
}

#[test]
fn shrinking_the_kip_101_failure_again_gives_its_checked_in_file() {
    let from = "sim/scenarios/high-watermark-truncation.toml";
    let scenario = scenario::load_file(&path("scenarios/high-watermark-truncation.toml"))
        .unwrap_or_else(|e| panic!("{e}"));
    let request = Request {
        scenario,
        seed: 71,
        kind: Some(Kind::LostWrite),
        max_runs: MAX_RUNS_DEFAULT,
    };
    let mut steps = 0;
    let shrunk = shrink(&request, &mut |_| steps += 1).expect("seed 71 loses a write");
    assert!(shrunk.runs <= 60, "took {} runs", shrunk.runs);
    assert!(
        shrunk.records_after * 4 < shrunk.records_before,
        "{} of {} records left",
        shrunk.records_after,
        shrunk.records_before
    );
    let expected = std::fs::read_to_string(path("scenarios/minimal/kip-101.toml")).unwrap();
    assert_eq!(shrunk.scenario_file(from, 71), expected);
    assert!(steps > 0, "every step is reported");
}

#[test]
fn shrinking_a_seed_that_does_not_fail_says_so_and_exits_2() {
    let out = kafkasim(&[
        "shrink",
        "--seed",
        "1",
        "--scenario",
        "scenarios/minimal/zombie-consumer.toml",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("does not fail (verdict ok; it shows processed-again): nothing to shrink"),
        "{err}"
    );
    assert!(err.contains("pass --kind KIND"), "{err}");
    let out = kafkasim(&["shrink", "--seed", "1", "--scenario", "quickstart"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("written as code, not as a workload"));
    let out = kafkasim(&["shrink", "--seed", "1", "--scenario", "kip-101"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is a story: its steps already say"));
    let out = kafkasim(&["shrink", "--scenario", "standard"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("shrink needs --seed <N>"));
}

#[test]
fn a_file_that_no_longer_reproduces_is_told_so_not_a_crash() {
    let text = std::fs::read_to_string(path("scenarios/minimal/zombie-consumer.toml")).unwrap();
    let stale = text.replace("kind = \"processed-again\"", "kind = \"lost-write\"");
    let dir = std::env::temp_dir().join(format!("kafkasim-shrink-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("stale.toml");
    std::fs::write(&file, stale).unwrap();
    let out = kafkasim(&["run", "--scenario", file.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("no --seed given: the scenario file's seed 1"),
        "{text}"
    );
    assert!(
        text.contains("expected lost-write: NOT reproduced (the run shows processed-again)"),
        "{text}"
    );
    assert_eq!(out.status.code(), Some(0), "the run itself passed");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_scenario_file_runs_from_the_command_line_and_bad_ones_say_where() {
    let out = kafkasim(&[
        "run",
        "--seed",
        "6",
        "--scenario",
        "scenarios/minimal/kip-101.toml",
    ]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "a lost write is a correctness failure"
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("expected lost-write: reproduced"));
    let dir = std::env::temp_dir().join(format!("kafkasim-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.toml");
    std::fs::write(&bad, "[[topic]]\nname = \"t\"\nreplicas = 3\n").unwrap();
    let out = kafkasim(&["run", "--seed", "1", "--scenario", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("line 3, column 1: unknown field `replicas`"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    std::fs::remove_dir_all(&dir).ok();
}
