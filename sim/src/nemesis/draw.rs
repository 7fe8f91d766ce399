//! Drawing a nemesis: first the mix, then a schedule from it, all from one
//! random number generator (the run's, seeded by its seed).

use super::{Fault, FaultKind, Mix, Nemesis, Profile, Schedule, Targets, TimedFault};
use kafkasim::disk::CrashKind;
use kafkasim::ids::{BrokerId, NodeId};
use madsim::rand::seq::SliceRandom;
use madsim::rand::Rng;
use std::collections::BTreeMap;

/// The heaviest weight a kind can draw.
const WEIGHT_MAX: u32 = 3;
/// The mean gap between faults is drawn from this range, in ms.
const MEAN_GAP_MS: (u64, u64) = (2_000, 10_000);
/// After a server fault is undone, the next one waits this long at least.
const SETTLE_MS: u64 = 500;
/// A slow network adds this much latency to every message, from..=to in ms.
const EXTRA_LATENCY_MS: (u64, u64) = (50, 500);

/// Draws a mix and a schedule of `phase_ms` from `rng`. Inside a run, pass
/// `madsim::rand::thread_rng()`: the seed's generator (see [`draw_for_run`]).
pub fn draw(rng: &mut impl Rng, profile: Profile, targets: &Targets, phase_ms: u64) -> Nemesis {
    let mix = draw_mix(rng, profile, targets);
    let schedule = draw_schedule(rng, &mix, profile, targets, phase_ms);
    Nemesis {
        profile,
        mix,
        schedule,
    }
}

/// Draws from the run's seeded generator; call inside the simulation.
pub fn draw_for_run(profile: Profile, targets: &Targets, phase_ms: u64) -> Nemesis {
    draw(&mut madsim::rand::thread_rng(), profile, targets, phase_ms)
}

fn draw_mix(rng: &mut impl Rng, profile: Profile, targets: &Targets) -> Mix {
    let allowed: Vec<FaultKind> = (FaultKind::DRAWN.into_iter())
        .chain(profile.extra_kinds.iter().copied())
        .filter(|&kind| kind != FaultKind::PowerLoss || profile.power_loss)
        .filter(|&kind| targets.can_hit(kind))
        .collect();
    assert!(!allowed.is_empty(), "a nemesis needs something to hit");
    let mut weights = BTreeMap::new();
    for &kind in &allowed {
        // Both draws happen for every kind, so one kind's odds never shift
        // the draws of the kinds after it.
        let on = rng.gen_range(0..100) < kind.odds_in_mix_percent();
        let weight = rng.gen_range(1..=WEIGHT_MAX);
        if on {
            weights.insert(kind, weight);
        }
    }
    if weights.is_empty() {
        let kind = *allowed.choose(rng).expect("not empty");
        weights.insert(kind, 1);
    }
    let mean_gap_ms = rng.gen_range(MEAN_GAP_MS.0..=MEAN_GAP_MS.1);
    Mix {
        weights,
        mean_gap_ms,
    }
}

fn draw_schedule(
    rng: &mut impl Rng,
    mix: &Mix,
    profile: Profile,
    targets: &Targets,
    phase_ms: u64,
) -> Schedule {
    let mut faults: Vec<TimedFault> = Vec::new();
    let gap = |rng: &mut _| draw_gap(rng, mix.mean_gap_ms);
    let mut at_ms = gap(rng);
    while at_ms < phase_ms {
        let kind = pick_kind(rng, mix);
        let fault = draw_fault(rng, kind, targets);
        let start_ms = earliest_start(&faults, &fault, at_ms, profile);
        if start_ms < phase_ms {
            faults.push(TimedFault {
                at_ms: start_ms,
                fault,
            });
            at_ms = start_ms;
        }
        at_ms += gap(rng);
    }
    Schedule { phase_ms, faults }
}

/// Half to one and a half times the mean: steady, but not a metronome.
fn draw_gap(rng: &mut impl Rng, mean_ms: u64) -> u64 {
    rng.gen_range(mean_ms / 2..=mean_ms * 3 / 2)
}

fn pick_kind(rng: &mut impl Rng, mix: &Mix) -> FaultKind {
    let total: u32 = mix.weights.values().sum();
    let mut ticket = rng.gen_range(0..total);
    for (&kind, &weight) in &mix.weights {
        if ticket < weight {
            return kind;
        }
        ticket -= weight;
    }
    unreachable!("the ticket is below the total weight")
}

fn draw_fault(rng: &mut impl Rng, kind: FaultKind, targets: &Targets) -> Fault {
    let (from, to) = kind.duration_ms();
    let lasting = rng.gen_range(from..=to);
    let broker = |rng: &mut _| *targets.brokers.choose(rng).expect("brokers to hit");
    match kind {
        FaultKind::Crash | FaultKind::PowerLoss => Fault::BrokerCrash {
            broker: broker(rng),
            kind: if kind == FaultKind::Crash {
                CrashKind::ProcessCrash
            } else {
                CrashKind::PowerLoss
            },
            down_ms: lasting,
        },
        FaultKind::Pause => Fault::BrokerPause {
            broker: broker(rng),
            for_ms: lasting,
        },
        FaultKind::Isolate => Fault::BrokerIsolation {
            broker: broker(rng),
            for_ms: lasting,
        },
        FaultKind::LinkCut => {
            let pair: Vec<BrokerId> = targets.brokers.choose_multiple(rng, 2).copied().collect();
            Fault::LinkCut {
                a: pair[0].min(pair[1]),
                b: pair[0].max(pair[1]),
                for_ms: lasting,
            }
        }
        FaultKind::ControllerCrash => Fault::ControllerCrash { down_ms: lasting },
        FaultKind::ClientCut => Fault::ClientCut {
            client: targets.clients.choose(rng).expect("clients to hit").clone(),
            broker: broker(rng),
            for_ms: lasting,
        },
        FaultKind::ClientPause => Fault::ClientPause {
            client: targets.clients.choose(rng).expect("clients to hit").clone(),
            for_ms: lasting,
        },
        FaultKind::IsolateController => Fault::IsolateController { for_ms: lasting },
        FaultKind::IsolateLeader => {
            let tp = targets.partitions.choose(rng).expect("partitions to hit");
            Fault::IsolateLeader {
                topic: tp.topic.clone(),
                partition: tp.partition,
                for_ms: lasting,
            }
        }
        FaultKind::Split => {
            // Fewer than half the brokers (one, on two brokers).
            let most = ((targets.brokers.len() - 1) / 2).max(1);
            let size = rng.gen_range(1..=most);
            let mut minority: Vec<BrokerId> = targets
                .brokers
                .choose_multiple(rng, size)
                .copied()
                .collect();
            minority.sort_unstable();
            Fault::Split {
                minority,
                for_ms: lasting,
            }
        }
        FaultKind::OneWay => {
            let servers: Vec<NodeId> = std::iter::once(NodeId::Controller)
                .chain(targets.brokers.iter().map(|&b| NodeId::Broker(b)))
                .collect();
            let from = *servers.choose(rng).expect("servers to hit");
            let others: Vec<NodeId> = servers.into_iter().filter(|&s| s != from).collect();
            let to = *others.choose(rng).expect("two servers at least");
            Fault::OneWay {
                from,
                to,
                for_ms: lasting,
            }
        }
        FaultKind::SlowNetwork => Fault::SlowNetwork {
            extra_ms: rng.gen_range(EXTRA_LATENCY_MS.0..=EXTRA_LATENCY_MS.1),
            for_ms: lasting,
        },
        FaultKind::FlakyLink => {
            let pair: Vec<BrokerId> = targets.brokers.choose_multiple(rng, 2).copied().collect();
            Fault::FlakyLink {
                a: pair[0].min(pair[1]),
                b: pair[0].max(pair[1]),
                for_ms: lasting,
            }
        }
    }
}

/// The earliest time from `at_ms` on at which `fault` may start next to the
/// faults already placed (all of which start at or before `at_ms`): it must not
/// collide with one still on, and server faults stay within the profile's bound.
fn earliest_start(placed: &[TimedFault], fault: &Fault, at_ms: u64, profile: Profile) -> u64 {
    let is_server_fault = !fault.servers().is_empty();
    let mut start_ms = at_ms;
    loop {
        let on: Vec<&TimedFault> = (placed.iter())
            .filter(|p| p.end_ms() + SETTLE_MS > start_ms)
            .collect();
        let collides = on.iter().any(|p| p.fault.collides_with(fault));
        let servers_on = (on.iter())
            .filter(|p| !p.fault.servers().is_empty())
            .count();
        let too_many = is_server_fault && servers_on >= profile.server_faults_max;
        if !collides && !too_many {
            return start_ms;
        }
        // Try again once the first of them is over.
        start_ms = (on.iter().map(|p| p.end_ms() + SETTLE_MS))
            .min()
            .expect("something is in the way");
    }
}
