//! The nemesis draws from the seed alone, and the safe profile keeps its promise.

use super::execute::{steps, Action};
use super::*;
use std::collections::BTreeSet;

const PHASE_MS: u64 = 60_000;

fn targets() -> Targets {
    Targets {
        brokers: vec![1, 2, 3],
        clients: vec!["producer-1".into(), "consumer-1".into()],
        partitions: (0..6).map(|p| TopicPartition::new("events", p)).collect(),
    }
}

/// Draws as a run with `seed` does: inside a fresh simulator, on a fresh thread.
fn drawn(seed: u64, profile: Profile) -> Nemesis {
    std::thread::spawn(move || {
        crate::app::runtime(seed)
            .block_on(async move { draw_for_run(profile, &targets(), PHASE_MS) })
    })
    .join()
    .expect("drawing never panics")
}

/// Whether two faults are on at the same time somewhere.
fn overlap(a: &TimedFault, b: &TimedFault) -> bool {
    a.at_ms < b.end_ms() && b.at_ms < a.end_ms()
}

fn is_server_fault(f: &TimedFault) -> bool {
    !f.fault.servers().is_empty()
}

#[test]
fn one_seed_always_draws_the_same_schedule_and_other_seeds_draw_others() {
    let first = drawn(7, Profile::SAFE);
    assert_eq!(drawn(7, Profile::SAFE), first);
    assert!(!first.schedule.faults.is_empty(), "{first:?}");
    let others: Vec<Nemesis> = (8..13).map(|seed| drawn(seed, Profile::SAFE)).collect();
    for other in &others {
        assert_ne!(other.schedule, first.schedule);
    }
    let mixes: std::collections::BTreeSet<String> =
        others.iter().map(|n| n.mix.to_string()).collect();
    assert!(mixes.len() > 1, "mixes vary between seeds: {mixes:?}");
}

#[test]
fn the_safe_profile_never_has_two_brokers_down_at_once_nor_a_power_loss() {
    for seed in 0..200 {
        let nemesis = drawn(seed, Profile::SAFE);
        let faults = &nemesis.schedule.faults;
        assert!(!nemesis.mix.weights.contains_key(&FaultKind::PowerLoss));
        for (i, a) in faults.iter().enumerate() {
            assert_ne!(a.fault.kind(), FaultKind::PowerLoss, "seed {seed}");
            assert!(a.at_ms < PHASE_MS, "seed {seed}: {a} starts in the phase");
            for b in &faults[i + 1..] {
                assert!(a.at_ms <= b.at_ms, "seed {seed}: faults in start order");
                let both_servers = is_server_fault(a) && is_server_fault(b);
                assert!(
                    !(both_servers && overlap(a, b)),
                    "seed {seed}: {a} and {b} are on at once"
                );
                assert!(
                    !(a.fault.collides_with(&b.fault) && overlap(a, b)),
                    "seed {seed}: {a} and {b} hit the same thing at once"
                );
            }
        }
    }
}

#[test]
fn the_wild_profile_draws_power_losses_and_overlapping_server_faults() {
    let (mut power_losses, mut overlaps) = (0, 0);
    for seed in 0..200 {
        let faults = drawn(seed, Profile::WILD).schedule.faults;
        power_losses += (faults.iter())
            .filter(|f| f.fault.kind() == FaultKind::PowerLoss)
            .count();
        for (i, a) in faults.iter().enumerate() {
            let on_with_a = (faults[i + 1..].iter())
                .filter(|b| is_server_fault(a) && is_server_fault(b) && overlap(a, b))
                .count();
            overlaps += on_with_a;
        }
    }
    assert!(power_losses > 0, "some seed draws a power loss");
    assert!(overlaps > 0, "some seed has two server faults at once");
}

#[test]
fn a_schedule_prints_one_fault_a_line_and_its_steps_undo_before_they_start() {
    let schedule = Schedule {
        phase_ms: 60_000,
        faults: vec![
            TimedFault {
                at_ms: 1_500,
                fault: Fault::BrokerCrash {
                    broker: 2,
                    kind: CrashKind::ProcessCrash,
                    down_ms: 5_000,
                },
            },
            TimedFault {
                at_ms: 6_500,
                fault: Fault::LinkCut {
                    a: 1,
                    b: 3,
                    for_ms: 60_000,
                },
            },
            TimedFault {
                at_ms: 7_000,
                fault: Fault::ClientCut {
                    client: "consumer-2".into(),
                    broker: 1,
                    for_ms: 2_250,
                },
            },
        ],
    };
    assert_eq!(
        schedule.to_string(),
        "safety phase 60.000 s, 3 fault(s), then heal\n\
         at 1.500 s: crash broker-2, restart after 5.000 s\n\
         at 6.500 s: cut broker-1 and broker-3 apart for 60.000 s\n\
         at 7.000 s: cut consumer-2 off from broker-1 for 2.250 s\n"
    );
    let order: Vec<(u64, Action)> = steps(&schedule)
        .iter()
        .map(|s| (s.at_ms, s.action))
        .collect();
    assert_eq!(
        order,
        vec![
            (1_500, Action::Start),
            (6_500, Action::Undo),
            (6_500, Action::Start),
            (7_000, Action::Start),
            (9_250, Action::Undo),
            (66_500, Action::Undo),
        ]
    );
}

#[test]
fn the_network_profile_draws_every_network_kind_and_the_others_never_do() {
    let mut seen: BTreeSet<FaultKind> = BTreeSet::new();
    for seed in 0..100 {
        let nemesis = drawn(seed, Profile::NETWORK);
        assert!(!nemesis.mix.weights.contains_key(&FaultKind::PowerLoss));
        seen.extend(nemesis.schedule.faults.iter().map(|f| f.fault.kind()));
        for profile in [Profile::SAFE, Profile::DOUBLE, Profile::WILD] {
            let other = drawn(seed, profile);
            for kind in FaultKind::NETWORK {
                assert!(!other.mix.weights.contains_key(&kind), "seed {seed}");
            }
        }
    }
    for kind in FaultKind::NETWORK {
        assert!(
            seen.contains(&kind),
            "no seed drew {}: {seen:?}",
            kind.name()
        );
    }
    assert!(seen.contains(&FaultKind::Crash), "the safe kinds come too");
}

#[test]
fn network_faults_hit_what_exists_and_keep_one_server_fault_at_a_time() {
    for seed in 0..100 {
        let faults = drawn(seed, Profile::NETWORK).schedule.faults;
        for (i, a) in faults.iter().enumerate() {
            match &a.fault {
                Fault::Split { minority, .. } => {
                    assert_eq!(minority.len(), 1, "seed {seed}: fewer than half of 3");
                    assert!((1..=3).contains(&minority[0]), "seed {seed}: {a}");
                }
                Fault::OneWay { from, to, .. } => {
                    assert_ne!(from, to, "seed {seed}");
                    for end in [from, to] {
                        assert!(!matches!(end, NodeId::Client(_)), "seed {seed}: {a}");
                    }
                }
                Fault::SlowNetwork { extra_ms, .. } => {
                    assert!((50..=500).contains(extra_ms), "seed {seed}: {a}");
                }
                Fault::FlakyLink { a: x, b: y, .. } => assert!(x < y, "seed {seed}: {a}"),
                Fault::IsolateLeader {
                    topic, partition, ..
                } => assert!(topic == "events" && (0..6).contains(partition)),
                _ => {}
            }
            for b in &faults[i + 1..] {
                let both_servers = is_server_fault(a) && is_server_fault(b);
                assert!(
                    !(both_servers && overlap(a, b)),
                    "seed {seed}: {a} and {b} are on at once"
                );
            }
        }
    }
}

#[test]
fn faults_whose_servers_are_unknown_collide_with_every_server_they_may_hit() {
    let leader = Fault::IsolateLeader {
        topic: "events".into(),
        partition: 0,
        for_ms: 1_000,
    };
    let slow = Fault::SlowNetwork {
        extra_ms: 100,
        for_ms: 1_000,
    };
    let crash = |broker| Fault::BrokerCrash {
        broker,
        kind: CrashKind::ProcessCrash,
        down_ms: 1_000,
    };
    let controller = Fault::IsolateController { for_ms: 1_000 };
    for broker in 1..=9 {
        assert!(leader.collides_with(&crash(broker)), "broker-{broker}");
        assert!(slow.collides_with(&crash(broker)), "broker-{broker}");
    }
    assert!(!leader.collides_with(&controller));
    assert!(slow.collides_with(&controller));
    let client_cut = Fault::ClientCut {
        client: "producer-1".into(),
        broker: 1,
        for_ms: 1_000,
    };
    assert!(!slow.collides_with(&client_cut), "clients are not servers");
    let split = Fault::Split {
        minority: vec![1, 3],
        for_ms: 1_000,
    };
    assert_eq!(split.servers(), [NodeId::Broker(1), NodeId::Broker(3)]);
    let one_way = Fault::OneWay {
        from: NodeId::Controller,
        to: NodeId::Broker(2),
        for_ms: 1_000,
    };
    assert_eq!(one_way.servers(), [NodeId::Controller, NodeId::Broker(2)]);
    assert!(one_way.collides_with(&controller));
}

#[test]
fn network_faults_print_what_they_do() {
    let shown: Vec<String> = [
        Fault::IsolateController { for_ms: 2_000 },
        Fault::IsolateLeader {
            topic: "events".into(),
            partition: 4,
            for_ms: 2_000,
        },
        Fault::Split {
            minority: vec![1, 2],
            for_ms: 2_000,
        },
        Fault::OneWay {
            from: NodeId::Broker(1),
            to: NodeId::Controller,
            for_ms: 2_000,
        },
        Fault::SlowNetwork {
            extra_ms: 250,
            for_ms: 2_000,
        },
        Fault::FlakyLink {
            a: 2,
            b: 3,
            for_ms: 2_000,
        },
    ]
    .iter()
    .map(ToString::to_string)
    .collect();
    assert_eq!(
        shown,
        [
            "isolate the controller from every broker for 2.000 s",
            "isolate the leader of events-4 for 2.000 s",
            "split broker-1 and broker-2 off from the other brokers and the controller for 2.000 s",
            "stall messages from broker-1 to controller (one way) for 2.000 s",
            "slow every message down by 250 ms for 2.000 s",
            "make the link between broker-2 and broker-3 flaky for 2.000 s",
        ]
    );
}
