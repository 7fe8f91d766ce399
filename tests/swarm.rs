//! The `standard` swarm scenario: a safe configuration under faults drawn from
//! each seed keeps every acknowledged record, and its group processes them all.

use kafkasim_check::{Class, Kind, Verdict};
use kafkasim_tools::render::Counts;
use kafkasim_tools::run::run_seed;
use kafkasim_tools::scenario::{self, Scenario};
use kafkasim_tools::sweep::{self, SeedRange, Selection, Sweep};

fn standard() -> Scenario {
    scenario::builtin("standard").expect("built in")
}

#[test]
fn standard_keeps_and_processes_every_acknowledged_record_on_fixed_seeds() {
    // Seed 2 isolates broker-2 while it leads partitions: it keeps appending
    // as a stale leader until it is healed, then truncates that tail and
    // rejoins the ISR. Seed 3 pauses one broker after another.
    for seed in [1, 2, 3] {
        let report = run_seed(seed, &standard());
        assert_eq!(report.verdict(), Verdict::Ok, "seed {seed}");
        let first = &report.run.timeline[0];
        assert!(
            first.node == "nemesis" && first.text.starts_with("nemesis (safe): mix "),
            "seed {seed}: the drawn mix comes first, got {first:?}"
        );
        let acknowledged = Counts::of(&report.run.history).acknowledged;
        assert!(
            acknowledged > 400,
            "seed {seed}: the producers kept producing ({acknowledged} acknowledged)"
        );
    }
}

#[test]
fn standard_passes_on_fifty_seeds() {
    let jobs = std::thread::available_parallelism().map_or(1, |n| n.get());
    let summary = sweep::run(
        &Sweep {
            scenario: standard(),
            selection: Selection {
                range: SeedRange { start: 1, end: 51 },
                shard: None,
            },
            jobs,
        },
        &mut |_| {},
    );
    let failing: Vec<String> = summary
        .failing()
        .map(|r| format!("seed {}: {}", r.seed, r.reason))
        .collect();
    assert_eq!(summary.worst(), Verdict::Ok, "{failing:#?}");
    assert_eq!(summary.count(Verdict::Ok), 50);
    // A safe configuration allows no log or delivery anomaly at all; only a
    // group's at-least-once reprocessing (`processed-again`) may show.
    let shown: Vec<Kind> = (summary.anomaly_runs().into_keys())
        .filter(|kind| *kind != Kind::ProcessedAgain && kind.class() != Class::Crash)
        .collect();
    assert!(shown.is_empty(), "the safe configuration showed {shown:?}");
}
