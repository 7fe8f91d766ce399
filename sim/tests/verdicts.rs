//! A run's verdict tells a crash from a stuck scenario, and keeps what led to it.

use kafkasim_sim::cli::{exit_code, EXIT_CRASH, EXIT_LIVENESS};
use kafkasim_sim::cluster::ClusterSpec;
use kafkasim_sim::driver::now_ms;
use kafkasim_sim::run::{run_seed, Verdict, SCENARIO_TIME_LIMIT_MS};
use kafkasim_sim::scenario::{Body, Scenario};

static PANICS: Scenario = Scenario {
    name: "panics",
    summary: "logs one line, then panics",
    body: Body::Code {
        cluster: ClusterSpec::default,
        run: |cluster| {
            Box::pin(async move {
                cluster.trace().timeline(now_ms(), "app", "about to fail");
                panic!("planted failure");
            })
        },
    },
};

static HANGS: Scenario = Scenario {
    name: "hangs",
    summary: "never finishes",
    body: Body::Code {
        cluster: ClusterSpec::default,
        run: |_cluster| Box::pin(std::future::pending()),
    },
};

#[test]
fn a_crash_is_reported_with_the_timeline_that_led_to_it() {
    let report = run_seed(1, &PANICS, false);
    assert_eq!(report.verdict, Verdict::Crash("planted failure".into()));
    assert!(
        report.timeline.iter().any(|e| e.text == "about to fail"),
        "{:?}",
        report.timeline
    );
    assert_eq!(exit_code(&report.verdict), EXIT_CRASH);
}

#[test]
fn a_scenario_that_never_finishes_is_a_liveness_failure_at_the_time_limit() {
    let report = run_seed(1, &HANGS, false);
    assert!(
        matches!(report.verdict, Verdict::Stuck(_)),
        "{:?}",
        report.verdict
    );
    assert!(report.simulated_ms >= SCENARIO_TIME_LIMIT_MS);
    assert_eq!(exit_code(&report.verdict), EXIT_LIVENESS);
}
