//! The nemesis draws from the seed alone, and the safe profile keeps its promise.

use super::execute::{steps, Action};
use super::*;

const PHASE_MS: u64 = 60_000;

fn targets() -> Targets {
    Targets {
        brokers: vec![1, 2, 3],
        clients: vec!["producer-1".into(), "consumer-1".into()],
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
