//! Where each of Kafka's famous bugs shows: one replay per bug switch.
//!
//! A switch ([`kafkasim::bugs::Bug`]) brings one historic rule back; its
//! replay is a scenario whose schedule makes that rule lose or corrupt data.
//! Run with the switch on, the replay fails; with it off (the rule as Kafka
//! fixed it) the same schedule passes. `sim/tests/bugs.rs` runs every replay
//! both ways, so a switch without a replay, or a replay that no longer tells
//! the two rules apart, fails the build.

use crate::scenario::{self, workload, Scenario};
use kafkasim::bugs::Bug;

/// A scenario the bug tools run: a built-in one, or a scenario file shipped
/// with kafkasim and built into the binary, so that it runs from any folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    BuiltIn(&'static str),
    /// A file by its path from the top of the repository, and its text.
    File {
        path: &'static str,
        text: &'static str,
    },
}

/// A file of `sim/scenarios/`, built in.
macro_rules! shipped {
    ($path:literal) => {
        Source::File {
            path: concat!("sim/scenarios/", $path),
            text: include_str!(concat!("../scenarios/", $path)),
        }
    };
}
pub(crate) use shipped;

impl Source {
    /// What `--scenario` takes to run it: the name, or the path from the top
    /// of the repository.
    pub fn name(self) -> &'static str {
        match self {
            Source::BuiltIn(name) => name,
            Source::File { path, .. } => path,
        }
    }

    pub fn load(self) -> Result<Scenario, String> {
        match self {
            Source::BuiltIn(name) => scenario::named(name),
            Source::File { path, text } => {
                let workload = workload::file::parse(text)
                    .map_err(|e| format!("scenario file {path}: {e}"))?;
                Ok(Scenario::workload(path, workload))
            }
        }
    }

    /// The file's text, for a shipped file.
    pub fn text(self) -> Option<&'static str> {
        match self {
            Source::BuiltIn(_) => None,
            Source::File { text, .. } => Some(text),
        }
    }
}

/// A scenario that shows one bug with the same seed every time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Replay {
    pub bug: Bug,
    pub scenario: Source,
    pub seed: u64,
}

/// Every switch's replay, in `Bug::ALL` order.
pub const REPLAYS: &[Replay] = &[
    Replay {
        bug: Bug::Kip101,
        scenario: Source::BuiltIn("kip-101"),
        seed: 1,
    },
    Replay {
        bug: Bug::Kip106,
        scenario: shipped!("bugs/kip-106.toml"),
        seed: 1,
    },
    Replay {
        bug: Bug::Kip279,
        scenario: shipped!("bugs/kip-279.toml"),
        seed: 1,
    },
    Replay {
        bug: Bug::Kip320,
        scenario: shipped!("bugs/kip-320.toml"),
        seed: 1,
    },
    Replay {
        bug: Bug::Kip320Consumer,
        scenario: shipped!("bugs/kip-320-consumer.toml"),
        seed: 1,
    },
    Replay {
        bug: Bug::Kafka7164,
        scenario: shipped!("bugs/kafka-7164.toml"),
        seed: 1,
    },
    Replay {
        bug: Bug::Kip341,
        scenario: shipped!("bugs/kip-341.toml"),
        seed: 1,
    },
    Replay {
        bug: Bug::Kip903,
        scenario: shipped!("bugs/kip-903.toml"),
        seed: 1,
    },
    Replay {
        bug: Bug::Kip966,
        scenario: Source::BuiltIn("last-replica-isolated-elr"),
        seed: 1,
    },
    Replay {
        bug: Bug::Kafka15583,
        scenario: shipped!("bugs/kafka-15583.toml"),
        seed: 1,
    },
    Replay {
        bug: Bug::IsrExpansionGuard,
        scenario: shipped!("bugs/isr-expansion-guard.toml"),
        seed: 1,
    },
    Replay {
        bug: Bug::StaleFetchResponseGuard,
        scenario: shipped!("bugs/stale-fetch-response-guard.toml"),
        seed: 1,
    },
    Replay {
        bug: Bug::AlterPartitionEpochGuard,
        scenario: shipped!("bugs/alter-partition-epoch-guard.toml"),
        seed: 1,
    },
    Replay {
        bug: Bug::RegistrationIncarnationGuard,
        scenario: shipped!("bugs/registration-incarnation-guard.toml"),
        seed: 1,
    },
    Replay {
        bug: Bug::FollowerStateResetGuard,
        scenario: shipped!("bugs/follower-state-reset-guard.toml"),
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
        replay.seed,
        replay.scenario.name(),
        replay.bug
    )
}
