//! The `standard` swarm scenario: a safe configuration under faults drawn from
//! each seed keeps every acknowledged record, and its group processes them all.

use kafkasim_check::checkers::AnomalyKind;
use kafkasim_sim::run::{run_seed, Verdict};
use kafkasim_sim::scenario::{self, Scenario};
use kafkasim_sim::sweep::{self, SeedRange, Selection, Sweep, VerdictKind};

fn standard() -> &'static Scenario {
    scenario::find("standard").expect("built in")
}

#[test]
fn standard_keeps_and_processes_every_acknowledged_record_on_fixed_seeds() {
    // Seed 32 isolates a partition leader, which keeps appending as a stale
    // leader until it is healed, then truncates that tail and rejoins the ISR.
    for seed in [1, 3, 32] {
        let report = run_seed(seed, standard(), false);
        assert_eq!(report.verdict, Verdict::Ok, "seed {seed}");
        let first = &report.timeline[0];
        assert!(
            first.node == "nemesis" && first.text.starts_with("nemesis (safe): mix "),
            "seed {seed}: the drawn mix comes first, got {first:?}"
        );
        assert!(
            report.outcome.sent.len() > 500,
            "seed {seed}: the producers kept producing ({} acknowledged)",
            report.outcome.sent.len()
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
    assert_eq!(summary.worst(), VerdictKind::Ok, "{failing:#?}");
    assert_eq!(summary.count(VerdictKind::Ok), 50);
    // A safe configuration allows no log or delivery anomaly at all; only a
    // group's at-least-once reprocessing ("processed 2 times") may show.
    let checker_kinds: Vec<&str> = AnomalyKind::ALL.iter().map(|k| k.name()).collect();
    let shown: Vec<String> = (summary.anomaly_runs().into_keys())
        .filter(|kind| checker_kinds.contains(&kind.as_str()))
        .collect();
    assert!(shown.is_empty(), "the safe configuration showed {shown:?}");
}

#[test]
fn a_restarted_broker_without_metadata_does_not_stall_a_producer() {
    // In seed 58 broker-1 restarts as the faults heal and answers a producer's
    // Metadata request before it has any metadata of its own: no brokers, topic
    // unknown. A client that took that answer in waited for its batch's
    // delivery.timeout.ms (30 s) before the liveness phase could end; like
    // Kafka's, the client now ignores the empty answer and asks again.
    let report = run_seed(58, standard(), false);
    assert_eq!(report.verdict, Verdict::Ok);
    let stalled: Vec<_> = (report.timeline.iter())
        .filter(|e| e.text.contains("last error UNKNOWN_TOPIC_OR_PARTITION"))
        .collect();
    assert!(
        stalled.is_empty(),
        "a send waited on unknown metadata: {stalled:?}"
    );
    assert!(
        report.simulated_ms < 70_000,
        "the liveness phase ended {} ms in",
        report.simulated_ms
    );
}
