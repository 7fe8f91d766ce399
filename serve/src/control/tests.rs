//! The command line's words: each fault of the vocabulary the server
//! carries out, `for_ms=N` last, and a one-line refusal for the rest.

use super::*;

fn start(action: Action, for_ms: Option<u64>) -> Result<Command, String> {
    Ok(Command::Start { action, for_ms })
}

fn broker(id: i32) -> Target {
    Target::Broker(id)
}

#[test]
fn a_fault_may_end_in_for_ms_as_scenario_files_time_it() {
    let crash = Action::Crash { node: broker(2) };
    assert_eq!(parse("crash broker-2"), start(crash.clone(), None));
    assert_eq!(
        parse("  crash broker-2   for_ms=5000 "),
        start(crash, Some(5000))
    );
    let isolate = Action::Isolate {
        node: Target::leader_of("users", 0),
    };
    assert_eq!(
        parse("isolate leader of users-0 for_ms=100"),
        start(isolate, Some(100))
    );
}

#[test]
fn slow_network_split_and_flaky_link_speak_the_vocabulary() {
    let slow = Action::SlowNetwork { extra_ms: 300 };
    assert_eq!(parse("slow-network 300"), start(slow.clone(), None));
    assert_eq!(
        parse("slow-network extra_ms=300 for_ms=2000"),
        start(slow, Some(2000))
    );
    let split = Action::Split {
        nodes: vec![broker(2), broker(3)],
    };
    assert_eq!(parse("split broker-2 broker-3"), start(split, None));
    let flaky = Action::FlakyLink {
        nodes: [Target::Controller, broker(1)],
    };
    assert_eq!(parse("flaky-link controller broker-1"), start(flaky, None));
}

#[test]
fn bad_lines_are_refused_in_one_line() {
    for line in [
        "crash broker-2 for_ms=0",
        "crash broker-2 for_ms=86400001",
        "crash broker-2 for_ms=-5",
        "crash broker-2 for_ms = 5000",
        "crash broker-2 for_ms=5000 now",
        "for_ms=5000",
        "heal for_ms=5000",
        "restart broker-2 for_ms=5000",
        "slow-network",
        "slow-network 0",
        "slow-network 60001",
        "slow-network 300ms",
        "slow-network broker-1",
        "split",
        "split controller",
        "split broker-2 broker-2",
        "split leader of users-0",
        "flaky-link broker-1 broker-1",
        "flaky-link broker-1",
        "client-pause client-1",
        "client-crash client-1",
        "stall-api broker-1 Produce",
        "lost-response broker-1 Produce",
    ] {
        let refused = parse(line).expect_err(line);
        assert!(!refused.contains('\n'), "{line}: {refused}");
        assert!(!refused.is_empty(), "{line}");
    }
    let why = parse("client-pause client-1").unwrap_err();
    assert!(why.contains("process"), "{why}");
    let why = parse("heal for_ms=5000").unwrap_err();
    assert!(why.starts_with("for_ms= times a fault"), "{why}");
}
