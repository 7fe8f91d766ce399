//! Where each of Kafka's famous bugs shows: one replay per bug switch.
//!
//! A switch ([`kafkasim::bugs::Bug`]) brings one historic rule back; its
//! replay is a scenario whose schedule makes that rule lose or corrupt data.
//! Run with the switch on, the replay fails; with it off (the rule as Kafka
//! fixed it) the same schedule passes. `sim/tests/bugs.rs` runs every replay
//! both ways, so a switch without a replay, or a replay that no longer tells
//! the two rules apart, fails the build.

use kafkasim::bugs::Bug;

/// A scenario that shows one bug with the same seed every time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Replay {
    pub bug: Bug,
    /// A built-in scenario's name or a scenario file's path (from `sim/`).
    pub scenario: &'static str,
    pub seed: u64,
}

/// Every switch's replay, in `Bug::ALL` order.
pub const REPLAYS: &[Replay] = &[
    Replay {
        bug: Bug::Kip101,
        scenario: "kip-101",
        seed: 1,
    },
    Replay {
        bug: Bug::Kip320,
        scenario: "scenarios/bugs/kip-320.toml",
        seed: 1,
    },
    Replay {
        bug: Bug::Kip903,
        scenario: "scenarios/bugs/kip-903.toml",
        seed: 1,
    },
    Replay {
        bug: Bug::Kip966,
        scenario: "last-replica-isolated-elr",
        seed: 1,
    },
    Replay {
        bug: Bug::Kafka15583,
        scenario: "scenarios/bugs/kafka-15583.toml",
        seed: 1,
    },
    Replay {
        bug: Bug::IsrExpansionGuard,
        scenario: "scenarios/bugs/isr-expansion-guard.toml",
        seed: 1,
    },
    Replay {
        bug: Bug::StaleFetchResponseGuard,
        scenario: "scenarios/bugs/stale-fetch-response-guard.toml",
        seed: 1,
    },
    Replay {
        bug: Bug::AlterPartitionEpochGuard,
        scenario: "scenarios/bugs/alter-partition-epoch-guard.toml",
        seed: 1,
    },
];

/// The replay of `bug`, if it has one.
pub fn replay(bug: Bug) -> Option<&'static Replay> {
    REPLAYS.iter().find(|r| r.bug == bug)
}

/// The command that shows `replay`: the scenario with the switch on.
pub fn command(replay: &Replay) -> String {
    format!(
        "kafkasim run --seed {} --scenario {} --bug {}",
        replay.seed, replay.scenario, replay.bug
    )
}
