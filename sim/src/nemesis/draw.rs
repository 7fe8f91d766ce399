//! Drawing a nemesis: first the mix, then a schedule from it, all from one
//! random number generator seeded by the run's seed, apart from the simulator's.

use super::{is_server_fault, Mix, Nemesis, Profile, Targets};
use kafkasim::ids::BrokerId;
use kafkasim_check::fault::{Action, Fault, FaultKind, Schedule, Target};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeMap;

/// Mixed into the seed, so the nemesis's stream is its own.
const STREAM: u64 = 0x6e65_6d65_7369_7321; // "nemesis!"
/// The heaviest weight a kind can draw.
const WEIGHT_MAX: u32 = 3;
/// The mean gap between faults is drawn from this range, in ms.
const MEAN_GAP_MS: (u64, u64) = (2_000, 10_000);
/// After a server fault is undone, the next one waits this long at least.
const SETTLE_MS: u64 = 500;
/// A slow network adds this much latency to every message, from..=to in ms.
const EXTRA_LATENCY_MS: (u64, u64) = (50, 500);

/// Draws a mix and a schedule of `phase_ms` for `seed`: the same seed always
/// draws the same, wherever and whenever it is drawn.
pub fn draw(seed: u64, profile: Profile, targets: &Targets, phase_ms: u64) -> Nemesis {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ STREAM);
    let mix = draw_mix(&mut rng, profile, targets);
    let schedule = draw_schedule(&mut rng, &mix, profile, targets, phase_ms);
    Nemesis {
        profile,
        mix,
        schedule,
    }
}

/// The APIs a drawn `stall-api` holds: a leader's answers to its followers'
/// fetches, and its proposals to change an ISR.
const STALLED_APIS: [&str; 2] = ["Fetch", "AlterPartition"];

/// How long a fault of `kind` lasts, from..=to in ms. Ranges reach past
/// `broker.session.timeout.ms` (9 s), so some brokers are fenced and some come
/// back before anyone noticed; link cuts reach past `replica.lag.time.max.ms`
/// (30 s), so some shrink an ISR; so do one-way stalls and flaky links.
fn duration_ms(kind: FaultKind) -> (u64, u64) {
    match kind {
        FaultKind::Crash | FaultKind::PowerLoss | FaultKind::ReplaceDisk => (1_000, 15_000),
        FaultKind::Pause => (500, 15_000),
        FaultKind::LinkCut | FaultKind::OneWay => (2_000, 40_000),
        FaultKind::Split => (2_000, 30_000),
        FaultKind::FlakyLink => (5_000, 40_000),
        _ => (2_000, 20_000),
    }
}

/// The chance, in percent, that a mix turns this kind on. A slow network holds
/// back every other server fault while it lasts, so it comes less often.
fn odds_in_mix_percent(kind: FaultKind) -> u32 {
    match kind {
        FaultKind::SlowNetwork => 30,
        _ => 50,
    }
}

/// Whether a fault of `kind` has something to hit.
fn can_hit(kind: FaultKind, targets: &Targets) -> bool {
    match kind {
        FaultKind::LinkCut | FaultKind::Split | FaultKind::FlakyLink => targets.brokers.len() >= 2,
        FaultKind::ClientCut => !targets.clients.is_empty() && !targets.brokers.is_empty(),
        FaultKind::SlowNetwork => true,
        _ => !targets.brokers.is_empty(),
    }
}

fn draw_mix(rng: &mut ChaCha8Rng, profile: Profile, targets: &Targets) -> Mix {
    let allowed: Vec<FaultKind> = (profile.kinds().into_iter())
        .filter(|&kind| can_hit(kind, targets))
        .collect();
    assert!(!allowed.is_empty(), "a nemesis needs something to hit");
    let mut weights = BTreeMap::new();
    for &kind in &allowed {
        // Both draws happen for every kind, so one kind's odds never shift
        // the draws of the kinds after it.
        let on = rng.gen_range(0..100) < odds_in_mix_percent(kind);
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
    rng: &mut ChaCha8Rng,
    mix: &Mix,
    profile: Profile,
    targets: &Targets,
    phase_ms: u64,
) -> Schedule {
    let mut faults: Vec<Fault> = Vec::new();
    let mut at_ms = draw_gap(rng, mix.mean_gap_ms);
    while at_ms < phase_ms {
        let kind = pick_kind(rng, mix);
        let (from, to) = duration_ms(kind);
        let for_ms = rng.gen_range(from..=to);
        let action = draw_action(rng, kind, profile, targets);
        let start_ms = earliest_start(&faults, &action, at_ms, profile, &targets.brokers);
        if start_ms < phase_ms {
            faults.push(Fault {
                at_ms: start_ms,
                action,
                for_ms,
            });
            at_ms = start_ms;
        }
        at_ms += draw_gap(rng, mix.mean_gap_ms);
    }
    Schedule { phase_ms, faults }
}

/// Half to one and a half times the mean: steady, but not a metronome.
fn draw_gap(rng: &mut ChaCha8Rng, mean_ms: u64) -> u64 {
    rng.gen_range(mean_ms / 2..=mean_ms * 3 / 2)
}

fn pick_kind(rng: &mut ChaCha8Rng, mix: &Mix) -> FaultKind {
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

/// What a fault of `kind` hits: brokers by id, the controller for a crash
/// (and, with network faults, for an isolation), and with network faults the
/// leader of a partition, by its role.
fn draw_action(
    rng: &mut ChaCha8Rng,
    kind: FaultKind,
    profile: Profile,
    targets: &Targets,
) -> Action {
    let broker =
        |rng: &mut ChaCha8Rng| Target::Broker(*targets.brokers.choose(rng).expect("brokers"));
    let pair = |rng: &mut ChaCha8Rng| -> [Target; 2] {
        let mut pair: Vec<BrokerId> = targets.brokers.choose_multiple(rng, 2).copied().collect();
        pair.sort_unstable();
        [Target::Broker(pair[0]), Target::Broker(pair[1])]
    };
    let server = |rng: &mut ChaCha8Rng| -> Target {
        let servers = targets.brokers.len() + 1;
        match rng.gen_range(0..servers) {
            0 => Target::Controller,
            i => Target::Broker(targets.brokers[i - 1]),
        }
    };
    match kind {
        FaultKind::Crash => Action::Crash { node: server(rng) },
        FaultKind::PowerLoss => Action::PowerLoss { node: broker(rng) },
        FaultKind::ReplaceDisk => Action::ReplaceDisk { node: broker(rng) },
        FaultKind::Pause => Action::Pause { node: broker(rng) },
        FaultKind::Isolate if profile.network => {
            let leaders = targets.partitions.len();
            let node = match rng.gen_range(0..3) {
                0 => Target::Controller,
                1 if leaders > 0 => {
                    let tp = targets.partitions.choose(rng).expect("partitions");
                    Target::LeaderOf(tp.clone())
                }
                _ => broker(rng),
            };
            Action::Isolate { node }
        }
        FaultKind::Isolate => Action::Isolate { node: broker(rng) },
        FaultKind::LinkCut => Action::LinkCut { nodes: pair(rng) },
        FaultKind::FlakyLink => Action::FlakyLink { nodes: pair(rng) },
        FaultKind::ClientCut => Action::ClientCut {
            client: targets.clients.choose(rng).expect("clients").clone(),
            node: broker(rng),
        },
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
            Action::Split {
                nodes: minority.into_iter().map(Target::Broker).collect(),
            }
        }
        FaultKind::OneWay => {
            let from = server(rng);
            let to = loop {
                let to = server(rng);
                if to != from {
                    break to;
                }
            };
            Action::OneWay { from, to }
        }
        FaultKind::SlowNetwork => Action::SlowNetwork {
            extra_ms: rng.gen_range(EXTRA_LATENCY_MS.0..=EXTRA_LATENCY_MS.1),
        },
        FaultKind::StallApi => Action::StallApi {
            node: broker(rng),
            api: STALLED_APIS.choose(rng).expect("apis").to_string(),
        },
        FaultKind::LostResponse | FaultKind::ClientPause | FaultKind::ClientCrash => {
            unreachable!("no profile draws {kind}")
        }
    }
}

/// The earliest time from `at_ms` on at which `action` may start next to the
/// faults already placed (all of which start at or before `at_ms`): it must not
/// collide with one still on, and server faults stay within the profile's bound.
fn earliest_start(
    placed: &[Fault],
    action: &Action,
    at_ms: u64,
    profile: Profile,
    brokers: &[BrokerId],
) -> u64 {
    let server_fault = is_server_fault(action, brokers);
    let mut start_ms = at_ms;
    loop {
        let on: Vec<&Fault> = (placed.iter())
            .filter(|p| p.end_ms() + SETTLE_MS > start_ms)
            .collect();
        let collides = on.iter().any(|p| p.action.collides_with(action, brokers));
        let servers_on = (on.iter())
            .filter(|p| is_server_fault(&p.action, brokers))
            .count();
        let too_many = server_fault && servers_on >= profile.server_faults_max;
        if !collides && !too_many {
            return start_ms;
        }
        // Try again once the first of them is over.
        start_ms = (on.iter().map(|p| p.end_ms() + SETTLE_MS))
            .min()
            .expect("something is in the way");
    }
}
