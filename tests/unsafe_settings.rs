//! Checking the checkers on real runs: each unsafe setting, under swarm faults,
//! shows the anomaly it allows (or, for a bug, fails the run with it) within a
//! stated number of seeds. The scenarios are the files in `sim/scenarios/`;
//! each test runs seeds 1, 2, … and stops at the first that shows the kind.
//!
//! The bounds were set from a sweep with some headroom (first seed showing the
//! kind when written: acks-1 2, no-idempotence 3, unclean-election 2,
//! high-watermark-truncation 6, power-loss-single-replica 3). A change to the
//! model may move them; then sweep the file (`kafkasim sweep --seeds 1..=50
//! --scenario sim/scenarios/NAME.toml`) and restate the bound here.

use kafkasim_check::checkers::AnomalyKind;
use kafkasim_sim::run::{run_seed, Verdict};
use kafkasim_sim::scenario::{self, Scenario};

fn scenario_file(name: &str) -> &'static Scenario {
    let path = format!("{}/sim/scenarios/{name}.toml", env!("CARGO_MANIFEST_DIR"));
    scenario::load_file(&path).unwrap_or_else(|e| panic!("{e}"))
}

/// Whether the run showed `kind`: `allowed` among the allowed anomalies (the run
/// passes), or else among the failing ones (the run fails its correctness check).
fn shows(name: &str, seed: u64, kind: AnomalyKind, allowed: bool) -> bool {
    let report = run_seed(seed, scenario_file(name), false);
    let checks = (report.outcome.checks.as_ref())
        .unwrap_or_else(|| panic!("{name} seed {seed}: no checks ({:?})", report.verdict));
    if allowed {
        assert!(
            checks.failing.is_empty(),
            "{name} seed {seed}: only allowed anomalies expected, got {:?}",
            report.verdict
        );
        checks.allowed.iter().any(|a| a.anomaly.kind == kind)
    } else {
        let found = checks.failing.iter().any(|a| a.kind == kind);
        if found {
            assert!(
                matches!(report.verdict, Verdict::Failed(_)),
                "{name} seed {seed}: {:?}",
                report.verdict
            );
        }
        found
    }
}

/// The first seed in 1..=`within` whose run shows `kind`.
fn caught_within(name: &str, within: u64, kind: AnomalyKind, allowed: bool) -> u64 {
    (1..=within)
        .find(|&seed| shows(name, seed, kind, allowed))
        .unwrap_or_else(|| panic!("{name}: no {kind} in seeds 1..={within}"))
}

#[test]
fn acks_1_loses_acknowledged_writes_in_a_failover() {
    caught_within("acks-1", 5, AnomalyKind::LostWrite, true);
}

#[test]
fn without_idempotence_a_retried_send_lands_twice() {
    caught_within("no-idempotence", 6, AnomalyKind::Duplicate, true);
}

#[test]
fn an_unclean_election_loses_committed_writes() {
    caught_within("unclean-election", 5, AnomalyKind::LostWrite, true);
}

#[test]
fn high_watermark_truncation_loses_acknowledged_writes_and_fails_the_run() {
    caught_within(
        "high-watermark-truncation",
        10,
        AnomalyKind::LostWrite,
        false,
    );
}

#[test]
fn a_power_loss_of_the_only_replica_loses_acknowledged_writes() {
    caught_within("power-loss-single-replica", 6, AnomalyKind::LostWrite, true);
}
