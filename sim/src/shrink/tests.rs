use super::*;

fn crash(at_ms: u64, broker: i32, for_ms: u64) -> Fault {
    Fault {
        at_ms,
        action: Action::Crash {
            node: Target::Broker(broker),
        },
        for_ms,
    }
}

fn scheduled(faults: Vec<Fault>) -> Workload {
    let mut workload = Workload::standard();
    workload.faults = FaultPlan::Schedule(Schedule {
        phase_ms: workload.safety_ms,
        faults,
    });
    workload
}

#[test]
fn faults_are_dropped_by_halves_then_one_at_a_time() {
    let workload = scheduled((1..=4).map(|i| crash(i * 1000, 1, 500)).collect());
    let candidates = drop_faults(&workload);
    let counts: Vec<usize> = (candidates.iter())
        .map(|(_, w)| schedule_of(w).unwrap().faults.len())
        .collect();
    // Halves (2 + 2), then singles (4): 3, 3, 3, 3 remaining.
    assert_eq!(counts, [2, 2, 3, 3, 3, 3]);
    assert!(
        candidates[2]
            .0
            .starts_with("without fault at 1.000 s: crash broker-1"),
        "{}",
        candidates[2].0
    );
    assert!(
        drop_faults(&Workload::standard()).is_empty(),
        "a swarm plan has no written faults"
    );
}

#[test]
fn faults_are_shortened_by_half_down_to_a_floor() {
    let workload = scheduled(vec![crash(1000, 1, 4000), crash(9000, 2, 150)]);
    let candidates = shorten_faults(&workload);
    assert_eq!(candidates.len(), 1, "150 ms halves below the 100 ms floor");
    let faults = &schedule_of(&candidates[0].1).unwrap().faults;
    assert_eq!(faults[0].for_ms, 2000);
}

#[test]
fn the_safety_phase_ends_a_second_after_the_last_fault() {
    let workload = scheduled(vec![crash(1000, 1, 4200)]);
    let candidates = shorten_safety_phase(&workload);
    assert_eq!(candidates[0].1.safety_ms, 7000);
    assert_eq!(schedule_of(&candidates[0].1).unwrap().phase_ms, 7000);
}

#[test]
fn dropping_a_consumer_renames_the_rest_and_the_faults_that_name_them() {
    let mut workload = scheduled(vec![Fault {
        at_ms: 0,
        action: Action::ClientPause {
            client: "consumer-3".into(),
        },
        for_ms: 1000,
    }]);
    workload.groups.push(workload.groups[0].clone());
    workload.groups[1].id = "group-2".into();
    workload.groups[1].consumers = vec!["consumer-4".into()];
    let candidates = fewer_clients(&workload);
    let (what, without_first) = candidates
        .iter()
        .find(|(what, _)| what == "without group group-1")
        .expect("a candidate without the first group");
    assert_eq!(without_first.groups[0].consumers, ["consumer-1"], "{what}");
    assert!(
        schedule_of(without_first).unwrap().faults.is_empty(),
        "the pause named a dropped consumer"
    );
    let (_, without_last) = candidates
        .iter()
        .find(|(what, _)| what == "without consumer-3")
        .expect("a candidate without consumer-3");
    assert!(schedule_of(without_last).unwrap().faults.is_empty());
    let slower = candidates.last().unwrap();
    assert_eq!(slower.0, "the producers at half the rate");
    assert_eq!(slower.1.producers[0].interval_ms, 100);
}

#[test]
fn a_fault_is_explained_under_the_line_the_timeline_tells() {
    let text = explain(&crash(2500, 2, 3000));
    assert!(
        text.starts_with("at 2.500 s: crash broker-2, restart after 3.000 s:\n"),
        "{text}"
    );
    assert!(text.contains("truncates"), "{text}");
}

#[test]
fn every_fault_kind_is_explained() {
    let b = Target::Broker;
    let actions = [
        (
            Action::Crash {
                node: Target::Controller,
            },
            "no elections",
        ),
        (Action::PowerLoss { node: b(2) }, "loses power"),
        (Action::Pause { node: b(2) }, "stops the world"),
        (
            Action::Isolate {
                node: Target::Controller,
            },
            "fences",
        ),
        (
            Action::Isolate {
                node: Target::leader_of("events", 2),
            },
            "leader of events-2",
        ),
        (
            Action::LinkCut {
                nodes: [b(1), b(2)],
            },
            "cannot talk",
        ),
        (
            Action::Split { nodes: vec![b(1)] },
            "broker-1 loses the controller",
        ),
        (
            Action::OneWay {
                from: Target::Controller,
                to: b(3),
            },
            "from controller to broker-3 stall",
        ),
        (Action::SlowNetwork { extra_ms: 250 }, "250 ms longer"),
        (
            Action::FlakyLink {
                nodes: [b(1), b(2)],
            },
            "clogs and opens",
        ),
        (
            Action::LostResponse {
                node: b(1),
                api: "Produce".into(),
            },
            "Produce response",
        ),
        (
            Action::ClientCut {
                client: "producer-1".into(),
                node: b(1),
            },
            "cannot reach",
        ),
        (
            Action::ClientPause {
                client: "consumer-1".into(),
            },
            "zombie",
        ),
        (
            Action::ClientCrash {
                client: "consumer-1".into(),
            },
            "closing nothing",
        ),
    ];
    for (action, says) in actions {
        let fault = Fault {
            at_ms: 1000,
            action,
            for_ms: 4000,
        };
        let text = explain(&fault);
        assert!(text.starts_with(&format!("{fault}:\n")), "{text}");
        assert!(text.contains(says), "{says:?} in {text}");
    }
}
