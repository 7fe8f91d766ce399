//! A run's verdict tells a crash from a stuck scenario, and keeps what led to it.

use kafkasim_check::finding::Detail;
use kafkasim_check::{Kind, Verdict};
use kafkasim_sim::runtime::TIME_LIMIT_MS_DEFAULT;
use kafkasim_sim::time::now_ms;
use kafkasim_sim::ClusterSpec;
use kafkasim_tools::run::run_seed;
use kafkasim_tools::scenario::Scenario;

fn panics() -> Scenario {
    Scenario::code(
        "panics",
        "logs one line, then panics",
        ClusterSpec::default,
        |cluster| {
            Box::pin(async move {
                cluster.trace().timeline(now_ms(), "app", "about to fail");
                panic!("planted failure");
            })
        },
    )
}

fn hangs() -> Scenario {
    Scenario::code(
        "hangs",
        "never finishes",
        ClusterSpec::default,
        |_cluster| Box::pin(std::future::pending()),
    )
}

#[test]
fn a_crash_is_reported_with_the_timeline_that_led_to_it() {
    let report = run_seed(1, &panics());
    assert_eq!(report.verdict(), Verdict::Crash);
    let failing: Vec<_> = report.judgement.failing().collect();
    assert_eq!(failing.len(), 1, "{failing:?}");
    assert_eq!(failing[0].kind, Kind::Crash);
    assert_eq!(
        failing[0].detail,
        Detail::Crash {
            message: "planted failure".into()
        }
    );
    let timeline = &report.run.timeline;
    assert!(
        timeline.iter().any(|e| e.text == "about to fail"),
        "{timeline:?}"
    );
    assert_eq!(report.verdict().exit_code(), 4);
}

#[test]
fn a_scenario_that_never_finishes_is_a_liveness_failure_at_the_time_limit() {
    let report = run_seed(1, &hangs());
    assert_eq!(report.verdict(), Verdict::Liveness);
    assert_eq!(report.judgement.failing_kinds(), vec![Kind::RunTimedOut]);
    assert!(report.run.simulated_ms >= TIME_LIMIT_MS_DEFAULT);
    assert_eq!(report.verdict().exit_code(), 3);
}
