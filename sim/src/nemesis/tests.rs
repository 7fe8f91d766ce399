//! The nemesis draws from the seed alone, and each profile keeps its bounds.

use super::*;
use kafkasim::ids::NodeId;
use kafkasim_check::fault::{Fault, Target};
use std::collections::BTreeSet;

const PHASE_MS: u64 = 60_000;
const BROKERS: [BrokerId; 3] = [1, 2, 3];

fn targets() -> Targets {
    Targets {
        brokers: BROKERS.to_vec(),
        clients: vec!["producer-1".into(), "consumer-1".into()],
        partitions: (0..6).map(|p| TopicPartition::new("events", p)).collect(),
    }
}

fn drawn(seed: u64, profile: Profile) -> Nemesis {
    draw(seed, profile, &targets(), PHASE_MS)
}

/// Whether two faults are on at the same time somewhere.
fn overlap(a: &Fault, b: &Fault) -> bool {
    a.at_ms < b.end_ms() && b.at_ms < a.end_ms()
}

fn is_server(f: &Fault) -> bool {
    is_server_fault(&f.action, &BROKERS)
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
    let mixes: BTreeSet<String> = others.iter().map(|n| n.mix.to_string()).collect();
    assert!(mixes.len() > 1, "mixes vary between seeds: {mixes:?}");
}

#[test]
fn a_draw_is_pinned_so_a_change_to_the_stream_is_seen() {
    // A schedule written to a file must keep meaning what it meant: a change
    // here changes every seed's run, on purpose only.
    let nemesis = drawn(1, Profile::SAFE);
    assert_eq!(
        nemesis.headline(),
        "nemesis (safe): mix pause×1+isolate×2+link-cut×2+client-cut×2, a fault every ~2.278 s; 10 faults in 60.000 s"
    );
}

#[test]
fn the_safe_profile_never_has_two_servers_down_at_once_nor_a_power_loss() {
    for seed in 0..200 {
        let nemesis = drawn(seed, Profile::SAFE);
        let faults = &nemesis.schedule.faults;
        assert!(!nemesis.mix.weights.contains_key(&FaultKind::PowerLoss));
        for (i, a) in faults.iter().enumerate() {
            assert_ne!(a.kind(), FaultKind::PowerLoss, "seed {seed}");
            assert!(a.at_ms < PHASE_MS, "seed {seed}: {a} starts in the phase");
            for b in &faults[i + 1..] {
                assert!(a.at_ms <= b.at_ms, "seed {seed}: faults in start order");
                let both_servers = is_server(a) && is_server(b);
                assert!(
                    !(both_servers && overlap(a, b)),
                    "seed {seed}: {a} and {b} are on at once"
                );
                assert!(
                    !(a.action.collides_with(&b.action, &BROKERS) && overlap(a, b)),
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
            .filter(|f| f.kind() == FaultKind::PowerLoss)
            .count();
        for (i, a) in faults.iter().enumerate() {
            let on_with_a = (faults[i + 1..].iter())
                .filter(|b| is_server(a) && is_server(b) && overlap(a, b))
                .count();
            overlaps += on_with_a;
        }
    }
    assert!(power_losses > 0, "some seed draws a power loss");
    assert!(overlaps > 0, "some seed has two server faults at once");
}

#[test]
fn the_network_profile_draws_every_network_kind_and_the_others_never_do() {
    let network = [
        FaultKind::Split,
        FaultKind::OneWay,
        FaultKind::SlowNetwork,
        FaultKind::FlakyLink,
    ];
    let mut seen: BTreeSet<FaultKind> = BTreeSet::new();
    let mut isolated: BTreeSet<&'static str> = BTreeSet::new();
    for seed in 0..100 {
        let nemesis = drawn(seed, Profile::NETWORK);
        assert!(!nemesis.mix.weights.contains_key(&FaultKind::PowerLoss));
        for fault in &nemesis.schedule.faults {
            seen.insert(fault.kind());
            if let Action::Isolate { node } = &fault.action {
                isolated.insert(match node {
                    Target::Controller => "controller",
                    Target::LeaderOf(_) => "leader",
                    _ => "broker",
                });
            }
        }
        for profile in [Profile::SAFE, Profile::DOUBLE, Profile::WILD] {
            for fault in drawn(seed, profile).schedule.faults {
                assert!(!network.contains(&fault.kind()), "seed {seed}: {fault}");
                if let Action::Isolate { node } = &fault.action {
                    assert!(matches!(node, Target::Broker(_)), "seed {seed}: {fault}");
                }
            }
        }
    }
    for kind in network.into_iter().chain([FaultKind::Crash]) {
        assert!(seen.contains(&kind), "no seed drew {kind}: {seen:?}");
    }
    assert_eq!(isolated.len(), 3, "{isolated:?}");
}

#[test]
fn network_faults_hit_what_exists_and_keep_one_server_fault_at_a_time() {
    for seed in 0..100 {
        let faults = drawn(seed, Profile::NETWORK).schedule.faults;
        for (i, a) in faults.iter().enumerate() {
            match &a.action {
                Action::Split { nodes } => {
                    assert_eq!(nodes.len(), 1, "seed {seed}: fewer than half of 3");
                    assert!(
                        matches!(nodes[0], Target::Broker(1..=3)),
                        "seed {seed}: {a}"
                    );
                }
                Action::OneWay { from, to } => assert_ne!(from, to, "seed {seed}"),
                Action::SlowNetwork { extra_ms } => {
                    assert!((50..=500).contains(extra_ms), "seed {seed}: {a}");
                }
                Action::FlakyLink { nodes: [x, y] } => assert!(x < y, "seed {seed}: {a}"),
                Action::Isolate {
                    node: Target::LeaderOf(tp),
                } => assert!(tp.topic == "events" && (0..6).contains(&tp.partition)),
                _ => {}
            }
            for b in &faults[i + 1..] {
                let both_servers = is_server(a) && is_server(b);
                assert!(
                    !(both_servers && overlap(a, b)),
                    "seed {seed}: {a} and {b} are on at once"
                );
            }
        }
    }
}

#[test]
fn a_schedule_prints_one_fault_a_line() {
    let schedule = Schedule {
        phase_ms: 60_000,
        faults: vec![
            Fault {
                at_ms: 1_500,
                action: Action::Crash {
                    node: Target::Broker(2),
                },
                for_ms: 5_000,
            },
            Fault {
                at_ms: 6_500,
                action: Action::Isolate {
                    node: Target::leader_of("events", 4),
                },
                for_ms: 60_000,
            },
            Fault {
                at_ms: 7_000,
                action: Action::ClientCut {
                    client: "consumer-2".into(),
                    node: Target::Broker(1),
                },
                for_ms: 2_250,
            },
        ],
    };
    assert_eq!(
        schedule.to_string(),
        "safety phase 60.000 s, 3 fault(s), then heal\n\
         at 1.500 s: crash broker-2, restart after 5.000 s\n\
         at 6.500 s: isolate the leader of events-4 for 60.000 s\n\
         at 7.000 s: cut consumer-2 off from broker-1 for 2.250 s\n"
    );
    let servers = schedule.faults[1].action.servers(&BROKERS);
    assert_eq!(
        servers,
        [NodeId::Broker(1), NodeId::Broker(2), NodeId::Broker(3)]
    );
}
