//! `kafkasim hunt`: does the swarm find each of Kafka's famous bugs?
//!
//! A bug switch ([`kafkasim::bugs::Bug`]) brings one historic rule back. Its
//! replay (`crate::bugs`) shows the failure from a schedule someone wrote; the
//! hunt asks the harder question, whether *random* faults find it. For each
//! switch it sweeps a workload whose faults are drawn from the seed (the
//! profile that suits the bug, named in the table), seed after seed, until a
//! seed fails with the switch on and passes with it off, so that the failure
//! is the bug's and not the workload's. It then shrinks that seed to the few
//! faults that still show the same kind of finding.
//!
//! Seeds run in batches of `jobs` on every core (`sweep::run`), and the
//! first failing seed of a batch is the lowest one that fails, so the result
//! never depends on how many jobs ran. With `rounds` above 1 each switch is
//! hunted again from further seeds (round `r` starts at seed `1 + r *
//! ROUND_STRIDE`), and the table gives the median number of seeds it took. A
//! switch not found within `max_seeds` seeds in a round is reported as such,
//! with what the hunt ran; it is never left out.

use crate::bugs::{shipped, Source};
use crate::run::run_seed;
use crate::scenario::Scenario;
use crate::shrink::{shrink, Request};
use crate::sweep::{self, SeedRange, Selection, Sweep};
use kafkasim::bugs::Bug;
use kafkasim_check::{Kind, Verdict};
use std::time::{Duration, Instant};

/// How far apart rounds start, in seeds: far past any round's length.
pub const ROUND_STRIDE: u64 = 1_000_000;

/// The seeds a round gives up after, unless asked otherwise.
pub const MAX_SEEDS_DEFAULT: u64 = 1_000;

/// The workload each switch is hunted with, and why that one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ground {
    pub bug: Bug,
    pub scenario: Source,
    pub why: &'static str,
}

/// Where each switch is hunted; a switch not listed is hunted on `standard`.
pub const GROUNDS: &[Ground] = &[
    Ground {
        bug: Bug::Kip101,
        scenario: shipped!("high-watermark-truncation.toml"),
        why: "two server faults at a time, no min.insync.replicas: quick failovers",
    },
    Ground {
        bug: Bug::Kip320,
        scenario: shipped!("replication-rf2.toml"),
        why: "stalled replication messages on RF 2: a follower can miss leader changes",
    },
    Ground {
        bug: Bug::Kip320Consumer,
        scenario: shipped!("unclean-election.toml"),
        why: "unclean elections truncate what a group read; paused members come back to a committed offset",
    },
    Ground {
        bug: Bug::Kip903,
        scenario: shipped!("replication-rf2.toml"),
        why: "replaced disks and stalled AlterPartition proposals on RF 2, min ISR 1",
    },
    Ground {
        bug: Bug::Kip966,
        scenario: shipped!("power-loss-rf3-elr.toml"),
        why: "power losses with eligible leader replicas on, the feature the switch turns off",
    },
    Ground {
        bug: Bug::Kafka15583,
        scenario: shipped!("replication-elr.toml"),
        why: "stalled replication with eligible leader replicas on, which count on the high watermark",
    },
    Ground {
        bug: Bug::Kip106,
        scenario: shipped!("double.toml"),
        why: "two server faults at a time shrink an ISR to its leader and then take the leader",
    },
    Ground {
        bug: Bug::Kip341,
        scenario: shipped!("sticky-groups.toml"),
        why: "members cut off from the group come back claiming partitions under the eager sticky assignor",
    },
    Ground {
        bug: Bug::IsrExpansionGuard,
        scenario: shipped!("replication-rf2.toml"),
        why: "stalled Fetch answers on RF 2, min ISR 1: a leader alone commits",
    },
    Ground {
        bug: Bug::StaleFetchResponseGuard,
        scenario: shipped!("network.toml"),
        why: "one-way stalls can hold a fetch answer across a leader change",
    },
    Ground {
        bug: Bug::AlterPartitionEpochGuard,
        scenario: shipped!("replication.toml"),
        why: "stalled AlterPartition proposals, two faults at a time",
    },
    Ground {
        bug: Bug::Kip279,
        scenario: shipped!("unclean-election.toml"),
        why: "unclean elections under two faults at a time: replicas lead in turn without each other's epochs",
    },
    Ground {
        bug: Bug::Kafka7164,
        scenario: shipped!("replication-rf2.toml"),
        why: "stalled metadata and replication messages on RF 2: a follower can miss a leader epoch",
    },
    Ground {
        bug: Bug::FollowerStateResetGuard,
        scenario: shipped!("replication.toml"),
        why: "two server faults at a time move leadership away and back while followers truncate",
    },
    Ground {
        bug: Bug::RegistrationIncarnationGuard,
        scenario: shipped!("power-loss-rf3-elr.toml"),
        why: "power losses and restarts with eligible leader replicas, which a restart must leave",
    },
];

/// The ground of `bug`.
pub fn ground(bug: Bug) -> Ground {
    GROUNDS
        .iter()
        .copied()
        .find(|g| g.bug == bug)
        .unwrap_or(Ground {
            bug,
            scenario: Source::BuiltIn("standard"),
            why: "the standard swarm: crashes, pauses, isolations, cut links, a controller crash",
        })
}

/// What to hunt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hunt {
    pub bugs: Vec<Bug>,
    pub rounds: u64,
    pub max_seeds: u64,
    pub jobs: usize,
    /// The most runs one shrink may take.
    pub shrink_runs: usize,
}

/// One round's catch: the first seed that showed the bug, and its shrink.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Catch {
    pub seed: u64,
    /// How many seeds the round ran to find it (the seed's place, from 1).
    pub seeds: u64,
    pub kind: Kind,
    pub faults_before: usize,
    /// `None` when the shrink could not run (say why in `shrink_error`).
    pub faults_after: Option<usize>,
    pub shrink_error: Option<String>,
}

/// What the hunt found of one switch.
#[derive(Debug, Clone, PartialEq)]
pub struct Found {
    pub ground: Ground,
    /// One entry per round: its catch, or `None` when it ran out of seeds.
    pub rounds: Vec<Option<Catch>>,
    pub wall: Duration,
}

impl Found {
    /// The median number of seeds of the rounds that found the bug.
    pub fn median_seeds(&self) -> Option<u64> {
        let mut seeds: Vec<u64> = self.rounds.iter().flatten().map(|c| c.seeds).collect();
        seeds.sort_unstable();
        match seeds.len() {
            0 => None,
            n => Some(seeds[(n - 1) / 2]),
        }
    }

    pub fn found_every_round(&self) -> bool {
        self.rounds.iter().all(Option::is_some)
    }
}

/// Hunts every switch of `hunt`, telling `progress` what it does.
pub fn run(hunt: &Hunt, progress: &mut dyn FnMut(&str)) -> Result<Vec<Found>, String> {
    let mut found = Vec::new();
    for &bug in &hunt.bugs {
        let ground = ground(bug);
        let scenario = ground.scenario.load()?;
        if scenario.as_workload().is_none_or(|w| w.is_story()) {
            return Err(format!(
                "{}: hunting ground {} is not a workload whose faults are drawn",
                bug,
                ground.scenario.name()
            ));
        }
        let started = Instant::now();
        let mut rounds = Vec::new();
        for round in 0..hunt.rounds {
            let first = 1 + round * ROUND_STRIDE;
            progress(&format!(
                "hunt {bug}: round {} of {}, seeds from {first} on {}",
                round + 1,
                hunt.rounds,
                ground.scenario.name()
            ));
            let catch = hunt_round(hunt, bug, &scenario, first)?;
            match &catch {
                Some(c) => progress(&format!(
                    "hunt {bug}: seed {} shows {} ({} seeds); {} faults shrunk to {}",
                    c.seed,
                    c.kind,
                    c.seeds,
                    c.faults_before,
                    c.faults_after.map_or("?".into(), |n| n.to_string())
                )),
                None => progress(&format!(
                    "hunt {bug}: not found in {} seeds",
                    hunt.max_seeds
                )),
            }
            rounds.push(catch);
        }
        found.push(Found {
            ground,
            rounds,
            wall: started.elapsed(),
        });
    }
    Ok(found)
}

/// The first seed from `first` on that fails with `bug` on and passes with it
/// off, shrunk; `None` after `max_seeds` seeds.
fn hunt_round(
    hunt: &Hunt,
    bug: Bug,
    scenario: &Scenario,
    first: u64,
) -> Result<Option<Catch>, String> {
    let with_bug = scenario.clone().with_bugs([bug].into_iter().collect());
    let without = scenario.clone().without_bug(bug);
    let batch = (hunt.jobs as u64).max(1) * 4;
    let mut start = first;
    while start < first + hunt.max_seeds {
        let end = (start + batch).min(first + hunt.max_seeds);
        let sweep = Sweep {
            scenario: with_bug.clone(),
            selection: Selection {
                range: SeedRange { start, end },
                shard: None,
            },
            jobs: hunt.jobs,
        };
        let summary = sweep::run(&sweep, &mut |_| {});
        for failing in summary.failing() {
            // The bug's failure, not the workload's: the same seed passes
            // with the rule as Kafka fixed it.
            if run_seed(failing.seed, &without).verdict() != Verdict::Ok {
                continue;
            }
            let kind = failing.failing[0];
            let request = Request {
                scenario: with_bug.clone(),
                seed: failing.seed,
                kind: Some(kind),
                max_runs: hunt.shrink_runs,
            };
            let shrunk = shrink(&request, &mut |_| {});
            let (faults_before, faults_after, shrink_error) = match shrunk {
                Ok(s) => (s.faults_before, Some(s.fault_count()), None),
                Err(why) => (0, None, Some(why)),
            };
            return Ok(Some(Catch {
                seed: failing.seed,
                seeds: failing.seed - first + 1,
                kind,
                faults_before,
                faults_after,
                shrink_error,
            }));
        }
        start = end;
    }
    Ok(None)
}

/// The hunt's table: one row per switch.
pub fn render_text(found: &[Found], hunt: &Hunt) -> String {
    let mut rows = vec![[
        "bug".to_string(),
        "hunted on".to_string(),
        "seeds to find (median)".to_string(),
        "found".to_string(),
        "kind".to_string(),
        "faults before -> after".to_string(),
        "wall s".to_string(),
    ]];
    for f in found {
        let catches: Vec<&Catch> = f.rounds.iter().flatten().collect();
        let median = f.median_seeds().map_or("-".into(), |n| n.to_string());
        let kinds: Vec<String> = dedup(catches.iter().map(|c| c.kind.name().to_string()));
        let faults: Vec<String> = catches
            .iter()
            .map(|c| match c.faults_after {
                Some(after) => format!("{} -> {after}", c.faults_before),
                None => "shrink failed".into(),
            })
            .collect();
        rows.push([
            f.ground.bug.name().to_string(),
            f.ground.scenario.name().to_string(),
            median,
            format!("{}/{}", catches.len(), f.rounds.len()),
            if kinds.is_empty() {
                "-".into()
            } else {
                kinds.join(", ")
            },
            if faults.is_empty() {
                "-".into()
            } else {
                faults.join(", ")
            },
            format!("{:.1}", f.wall.as_secs_f64()),
        ]);
    }
    let widths: Vec<usize> = (0..7)
        .map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for row in &rows {
        let cells: Vec<String> = (row.iter().zip(&widths))
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    for f in found.iter().filter(|f| !f.found_every_round()) {
        let missed = f.rounds.iter().filter(|r| r.is_none()).count();
        let replay = match crate::bugs::replay(f.ground.bug) {
            Some(replay) => format!("its replay shows it: {}", crate::bugs::command(replay)),
            None => "it has no replay yet".to_string(),
        };
        out.push_str(&format!(
            "not found: {} in {missed} of {} rounds of {} seeds on {} ({}); {replay}\n",
            f.ground.bug,
            f.rounds.len(),
            hunt.max_seeds,
            f.ground.scenario.name(),
            f.ground.why
        ));
    }
    for f in found {
        for c in f.rounds.iter().flatten() {
            if let Some(why) = &c.shrink_error {
                out.push_str(&format!(
                    "shrink of {} seed {}: {why}\n",
                    f.ground.bug, c.seed
                ));
            }
        }
    }
    out
}

/// The distinct items, in first-seen order.
fn dedup(items: impl Iterator<Item = String>) -> Vec<String> {
    let mut seen = Vec::new();
    for item in items {
        if !seen.contains(&item) {
            seen.push(item);
        }
    }
    seen
}
