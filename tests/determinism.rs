//! Determinism is a feature with a test: same seed, same trace; another seed,
//! another run.

use kafkasim_sim::run::run_seed;
use kafkasim_sim::scenario;
use std::collections::BTreeSet;

const SEEDS: std::ops::RangeInclusive<u64> = 1..=6;

#[test]
fn the_same_seed_gives_the_same_trace_and_different_seeds_differ() {
    let quickstart = scenario::find("quickstart").expect("built in");
    let mut hashes = BTreeSet::new();
    for seed in SEEDS {
        let first = run_seed(seed, quickstart, true);
        let second = run_seed(seed, quickstart, true);
        assert_eq!(
            first.trace_hash, second.trace_hash,
            "seed {seed} ran twice differently"
        );
        assert_eq!(
            first.trace_lines, second.trace_lines,
            "seed {seed}: traces differ"
        );
        assert!(
            first.trace_events > 50,
            "seed {seed}: the trace recorded the run"
        );
        hashes.insert(first.trace_hash);
    }
    assert_eq!(hashes.len(), SEEDS.count(), "every seed gives its own run");
}

/// Runs in one process must not depend on the runs before them: anything
/// process-wide that leaks into a run (a global counter seeding a random choice,
/// say) shows up as a different trace on a later repetition.
#[test]
fn every_scenario_repeats_its_trace_however_many_runs_came_before_in_the_process() {
    for scenario in scenario::SCENARIOS {
        for seed in [1, 2] {
            let hashes: Vec<u64> = (0..4)
                .map(|_| run_seed(seed, scenario, false).trace_hash)
                .collect();
            assert!(
                hashes.windows(2).all(|w| w[0] == w[1]),
                "{} seed {seed}: the same seed gave traces {hashes:x?} in one process",
                scenario.name
            );
        }
    }
}
