//! Checking the checkers on real runs: each unsafe setting, under swarm faults,
//! shows the anomaly it allows (or, for a bug, fails the run with it) within a
//! stated number of seeds. The scenarios are the files in `sim/scenarios/`;
//! each test runs seeds 1, 2, … and stops at the first that shows the kind.
//!
//! The bounds were set from a sweep with some headroom (first seed showing the
//! kind when written: acks-0 1, acks-1 1, no-idempotence 1 (its reordering 2), unclean-election 2,
//! high-watermark-truncation 14 (as inconsistent offsets and divergent
//! replicas; as a lost write first at seed 17), power-loss-single-replica 1). A change to the model or to the
//! nemesis's draw may move them; then sweep the file (`kafkasim sweep --seeds
//! 1..=50 --scenario sim/scenarios/NAME.toml`) and restate the bound here.

use kafkasim_check::views;
use kafkasim_check::{Kind, Verdict};
use kafkasim_tools::run::run_seed;
use kafkasim_tools::scenario::workload::FaultPlan;
use kafkasim_tools::scenario::{self, Body, Scenario};

fn scenario_file(name: &str) -> Scenario {
    let path = format!("{}/sim/scenarios/{name}.toml", env!("CARGO_MANIFEST_DIR"));
    scenario::load_file(&path).unwrap_or_else(|e| panic!("{e}"))
}

/// Whether the run showed `kind`: `allowed` among the allowed anomalies (the run
/// passes), or else among the failing ones (the run fails its correctness check).
fn shows(name: &str, seed: u64, kind: &[Kind], allowed: bool) -> bool {
    let report = run_seed(seed, &scenario_file(name));
    let judgement = &report.judgement;
    if allowed {
        assert_eq!(
            judgement.failing().count(),
            0,
            "{name} seed {seed}: only allowed anomalies expected, got\n{judgement}"
        );
        judgement.allowed().any(|f| kind.contains(&f.kind))
    } else {
        let found = judgement.failing().any(|f| kind.contains(&f.kind));
        if found {
            assert_eq!(report.verdict(), Verdict::Correctness, "{name} seed {seed}");
        }
        found
    }
}

/// The first seed in 1..=`within` whose run shows one of `kinds`.
fn caught_within(name: &str, within: u64, kinds: &[Kind], allowed: bool) -> u64 {
    (1..=within)
        .find(|&seed| shows(name, seed, kinds, allowed))
        .unwrap_or_else(|| panic!("{name}: none of {kinds:?} in seeds 1..={within}"))
}

#[test]
fn acks_1_loses_acknowledged_writes_in_a_failover() {
    caught_within("acks-1", 5, &[Kind::LostWrite], true);
}

#[test]
fn acks_0_loses_what_it_sent_to_a_failed_leader_without_a_word() {
    caught_within("acks-0", 3, &[Kind::LostWrite], true);
}

#[test]
fn acks_0_without_faults_loses_nothing_and_passes() {
    let mut scenario = scenario_file("acks-0");
    let Body::Workload(workload) = &mut scenario.body else {
        panic!("a file is a workload");
    };
    workload.faults = FaultPlan::None;
    let report = run_seed(1, &scenario);
    assert_eq!(report.verdict(), Verdict::Ok);
    assert!(report.judgement.findings.is_empty(), "{}", report.judgement);
    assert!(views::acked(&report.run.history).len() > 100, "it sent");
}

#[test]
fn without_idempotence_a_retried_send_lands_twice() {
    caught_within("no-idempotence", 5, &[Kind::Duplicate], true);
}

#[test]
fn without_idempotence_a_retried_send_lands_behind_a_later_one() {
    // Five requests in flight and no sequence numbers: a failed batch retried
    // after a later one was appended lands behind it.
    caught_within("no-idempotence", 6, &[Kind::IntNonmonotonicSend], true);
}

#[test]
fn an_unclean_election_loses_committed_writes() {
    caught_within("unclean-election", 6, &[Kind::LostWrite], true);
}

#[test]
fn high_watermark_truncation_loses_acknowledged_writes_and_fails_the_run() {
    // A truncated follower that is elected loses what it truncated: an
    // acknowledged write (lost, its offset reused), or a committed record of the
    // offsets topic that its replicas then disagree on.
    let kinds = [
        Kind::LostWrite,
        Kind::InconsistentOffsets,
        Kind::DivergentReplicas,
    ];
    caught_within("high-watermark-truncation", 20, &kinds, false);
}

#[test]
fn a_power_loss_of_the_only_replica_loses_acknowledged_writes() {
    caught_within("power-loss-single-replica", 5, &[Kind::LostWrite], true);
}
