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
