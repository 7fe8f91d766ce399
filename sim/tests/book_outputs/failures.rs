//! The failure chapters' outputs: whole runs and excerpts of the built-in failure
//! scenarios, from the `kafkasim` binary itself (see `kafkasim` below for why).

use std::fmt::Write as _;
use std::process::Command;

/// The seed every failure chapter uses, so a reader repeats each run as shown.
const FAILOVER_SEED: u64 = 1;

/// What the `kafkasim` command prints for `COMMAND --seed 1 --scenario NAME`.
///
/// The failure chapters run the binary itself, one fresh process per run, exactly as a
/// reader does. A schedule that crashes and restarts a broker within the same
/// millisecond (the KIP-101 pair) does not replay byte for byte when several runs
/// share one process: later runs there can take a different, equally valid path.
fn kafkasim(command: &str, name: &str) -> String {
    let seed = FAILOVER_SEED.to_string();
    let args = [command, "--seed", seed.as_str(), "--scenario", name];
    let output = Command::new(env!("CARGO_BIN_EXE_kafkasim"))
        .args(args)
        .output()
        .expect("the kafkasim binary runs");
    assert!(
        output.stderr.is_empty(),
        "kafkasim {} wrote to stderr: {}",
        args.join(" "),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("kafkasim prints UTF-8")
}

/// `kafkasim run --seed 1 --scenario NAME`, whole, after the command line.
pub(crate) fn whole_run(name: &str) -> String {
    format!(
        "$ kafkasim run --seed {FAILOVER_SEED} --scenario {name}\n{}",
        kafkasim("run", name)
    )
}

/// Single-quotes `text` for a shell command line (the book's patterns hold no quote).
fn quoted(text: &str) -> String {
    assert!(
        !text.contains('\''),
        "a pattern the book shows holds no single quote"
    );
    format!("'{text}'")
}

/// ` | grep -F -e 'A' -e 'B'`: keep the lines holding any of `patterns`.
fn grep_any(patterns: &[&str]) -> String {
    let args: Vec<String> = patterns
        .iter()
        .map(|p| format!("-e {}", quoted(p)))
        .collect();
    format!(" | grep -F {}", args.join(" "))
}

/// `kafkasim run --seed 1 --scenario NAME | grep -F -e …`: the report lines holding
/// any of `patterns`.
pub(crate) fn grep_run(name: &str, patterns: &[&str]) -> String {
    let mut out = format!(
        "$ kafkasim run --seed {FAILOVER_SEED} --scenario {name}{}\n",
        grep_any(patterns)
    );
    for line in kafkasim("run", name)
        .lines()
        .filter(|l| patterns.iter().any(|p| l.contains(p)))
    {
        let _ = writeln!(out, "{line}");
    }
    out
}

/// A simulated-time window found in the run itself, so that it follows the run
/// when timings move: it ends at the first trace line holding every string of
/// `until` (after the first line holding every string of `after`, when given),
/// and starts at the last line before that holding every string of `from`.
#[derive(Default)]
pub(crate) struct Window {
    pub(crate) after: &'static [&'static str],
    pub(crate) from: &'static [&'static str],
    pub(crate) until: &'static [&'static str],
}

impl Window {
    /// The window's first and last millisecond in `replay`.
    fn find(&self, replay: &str) -> (u64, u64) {
        let holds = |line: &str, all: &[&str]| all.iter().all(|p| line.contains(p));
        let lines: Vec<&str> = replay.lines().collect();
        let search_from = match self.after {
            [] => 0,
            after => (lines.iter().position(|l| holds(l, after)))
                .unwrap_or_else(|| panic!("no replay line holds {after:?}")),
        };
        let end = search_from
            + (lines[search_from..]
                .iter()
                .position(|l| holds(l, self.until)))
            .unwrap_or_else(|| panic!("no replay line holds {:?}", self.until));
        let start = (lines[..end].iter().rposition(|l| holds(l, self.from))).unwrap_or_else(|| {
            panic!(
                "no replay line before {:?} holds {:?}",
                self.until, self.from
            )
        });
        let time = |line: &str| -> u64 {
            let first = line.split_whitespace().next().unwrap_or_default();
            first
                .parse()
                .unwrap_or_else(|_| panic!("a trace line starts with its time: {line}"))
        };
        (time(lines[start]), time(lines[end]))
    }
}

/// Which lines of `kafkasim replay` an excerpt keeps, each step a shell filter.
#[derive(Default)]
pub(crate) struct ReplayFilter {
    /// `awk '$1 >= FROM && $1 <= TO'`: trace lines in this simulated-time window.
    pub(crate) window: Option<Window>,
    /// `grep -F -e …`: lines holding any of these.
    pub(crate) any_of: &'static [&'static str],
    /// `grep -F …`, once each: lines holding every one of these.
    pub(crate) all_of: &'static [&'static str],
    /// `grep -v -F -e …`: lines holding none of these.
    pub(crate) none_of: &'static [&'static str],
    /// `head -n N`.
    pub(crate) head: Option<usize>,
}

impl ReplayFilter {
    fn command(&self, window_ms: Option<(u64, u64)>) -> String {
        let mut command = String::new();
        if let Some((from, to)) = window_ms {
            let _ = write!(command, " | awk '$1 >= {from} && $1 <= {to}'");
        }
        if !self.any_of.is_empty() {
            command.push_str(&grep_any(self.any_of));
        }
        for pattern in self.all_of {
            let _ = write!(command, " | grep -F {}", quoted(pattern));
        }
        if !self.none_of.is_empty() {
            let args: Vec<String> = self
                .none_of
                .iter()
                .map(|p| format!("-e {}", quoted(p)))
                .collect();
            let _ = write!(command, " | grep -v -F {}", args.join(" "));
        }
        if let Some(n) = self.head {
            let _ = write!(command, " | head -n {n}");
        }
        command
    }

    fn keeps(&self, window_ms: Option<(u64, u64)>, line: &str) -> bool {
        // awk compares the first field as a number; the closing `trace hash` line
        // has none and falls outside every window.
        let time_ms = line
            .split_whitespace()
            .next()
            .and_then(|t| t.parse::<u64>().ok());
        let in_window = match window_ms {
            None => true,
            Some((from, to)) => time_ms.is_some_and(|t| from <= t && t <= to),
        };
        in_window
            && (self.any_of.is_empty() || self.any_of.iter().any(|p| line.contains(p)))
            && self.all_of.iter().all(|p| line.contains(p))
            && !self.none_of.iter().any(|p| line.contains(p))
    }
}

/// `kafkasim replay --seed 1 --scenario NAME | …`: the trace lines `filter` keeps.
pub(crate) fn replay_excerpt(name: &str, filter: ReplayFilter) -> String {
    let full = kafkasim("replay", name);
    let window_ms = filter.window.as_ref().map(|w| w.find(&full));
    let mut out = format!(
        "$ kafkasim replay --seed {FAILOVER_SEED} --scenario {name}{}\n",
        filter.command(window_ms)
    );
    let kept = full.lines().filter(|l| filter.keeps(window_ms, l));
    for line in kept.take(filter.head.unwrap_or(usize::MAX)) {
        let _ = writeln!(out, "{line}");
    }
    out
}

// Leaders and followers.

pub(crate) fn preferred_leader_returns_run() -> String {
    whole_run("preferred-leader-returns")
}

/// Who led each partition at each step of the run.
pub(crate) fn preferred_leaders() -> String {
    grep_run("preferred-leader-returns", &["leaders"])
}

/// One acks=all write to orders-0, from the Produce request to its answer: the
/// followers' fetches carry it, and their next fetches move the high watermark.
pub(crate) fn replication_fetches() -> String {
    replay_excerpt(
        "preferred-leader-returns",
        ReplayFilter {
            window: Some(Window {
                from: &["Produce request"],
                until: &["Produce response"],
                ..Window::default()
            }),
            // " Fetch ", not "Fetch": ClusterMetadataFetch is another API.
            any_of: &["Produce ", " Fetch ", "appended", "high watermark"],
            all_of: &["orders-0"],
            ..ReplayFilter::default()
        },
    )
}

/// The leaders' proposals to add broker-1 back to their ISRs, and the answers.
pub(crate) fn isr_expansion() -> String {
    replay_excerpt(
        "preferred-leader-returns",
        ReplayFilter {
            any_of: &["AlterPartition "],
            ..ReplayFilter::default()
        },
    )
}

// The controller.

/// A broker's heartbeats, two seconds apart.
pub(crate) fn heartbeats() -> String {
    replay_excerpt(
        "preferred-leader-returns",
        ReplayFilter {
            any_of: &["BrokerHeartbeat request"],
            all_of: &["controller ← broker-2"],
            head: Some(4),
            ..ReplayFilter::default()
        },
    )
}

/// broker-2's metadata fetch, held by the controller until the fencing of the
/// dead leader changes the metadata.
pub(crate) fn metadata_pull() -> String {
    replay_excerpt(
        "leader-crash-acks-all",
        ReplayFilter {
            window: Some(Window {
                from: &["broker-2 ← controller", "no change within the wait"],
                until: &["controller ← broker-2", "has image version 8"],
                ..Window::default()
            }),
            any_of: &[
                "controller event",
                "controller ← broker-2",
                "broker-2 ← controller",
                "broker-2 event",
            ],
            none_of: &["Heartbeat"],
            ..ReplayFilter::default()
        },
    )
}

pub(crate) fn controller_crash_run() -> String {
    whole_run("controller-crash")
}

/// Brokers and the producer failing to reach a controller and a leader that are gone.
pub(crate) fn controller_crash_connects() -> String {
    replay_excerpt(
        "controller-crash",
        ReplayFilter {
            any_of: &["cannot connect"],
            head: Some(8),
            ..ReplayFilter::default()
        },
    )
}

// acks, ISR and durability.

pub(crate) fn leader_crash_acks_all_run() -> String {
    whole_run("leader-crash-acks-all")
}

pub(crate) fn acks_1_failover() -> String {
    grep_run(
        "acks-1-failover",
        &[
            "producer",
            "cut off",
            "crashed",
            "leader epoch",
            "truncated",
            "final read",
            "lost-write",
        ],
    )
}

pub(crate) fn split_brain() -> String {
    grep_run(
        "split-brain-old-leader",
        &[
            "ms  acks=",
            "cut off",
            "reconnected",
            "leader epoch",
            "truncated",
            "final read",
            "lost-write",
        ],
    )
}

/// What the leader appended and answered around the lost Produce response.
fn lost_response_appends(name: &str) -> String {
    replay_excerpt(
        name,
        ReplayFilter {
            any_of: &["appended", "lost Produce", "Produce response"],
            ..ReplayFilter::default()
        },
    )
}

pub(crate) fn lost_produce_response() -> String {
    lost_response_appends("lost-produce-response")
}

pub(crate) fn lost_produce_response_idempotent() -> String {
    lost_response_appends("lost-produce-response-idempotent")
}

/// The final reads of the two lost-response runs, and the duplicate found.
pub(crate) fn lost_response_reads() -> String {
    let mut out = String::new();
    for name in ["lost-produce-response", "lost-produce-response-idempotent"] {
        out.push_str(&grep_run(name, &["final read", "duplicate"]));
    }
    out
}

// When brokers crash.

pub(crate) fn kip_101_high_watermark_truncation_run() -> String {
    whole_run("kip-101-high-watermark-truncation")
}

/// The follower gets m2 with a high watermark of 1; the leader's HW reaches 2 and
/// m2 is acknowledged; the follower crashes before it hears of it.
pub(crate) fn kip_101_high_watermark() -> String {
    replay_excerpt(
        "kip-101-high-watermark-truncation",
        ReplayFilter {
            window: Some(Window {
                from: &["broker-2 ← broker-1", "Fetch response"],
                until: &["event:", " truncated "],
                ..Window::default()
            }),
            any_of: &[
                " Fetch ",
                "high watermark",
                "Produce response",
                ": crashed (",
                ": restarted after",
                " truncated ",
            ],
            ..ReplayFilter::default()
        },
    )
}

pub(crate) fn kip_101() -> String {
    grep_run(
        "kip-101",
        &[
            "producer",
            "truncated",
            "leader epoch",
            "final read",
            "verdict",
        ],
    )
}

/// The old leader asks where epoch 0 ended, and keeps its log.
pub(crate) fn kip_101_epoch_end() -> String {
    replay_excerpt(
        "kip-101",
        ReplayFilter {
            any_of: &["OffsetsForLeaderEpoch ", " truncated "],
            ..ReplayFilter::default()
        },
    )
}

const UNCLEAN_LINES: &[&str] = &[
    "producer",
    "cut off",
    "ISR now",
    "leader",
    "crashed",
    "restarted",
    "truncated",
    "final read",
    "lost-write",
    "verdict",
];

pub(crate) fn unclean_election() -> String {
    grep_run("unclean-election", UNCLEAN_LINES)
}

pub(crate) fn unclean_election_disabled() -> String {
    grep_run("unclean-election-disabled", UNCLEAN_LINES)
}

const LAST_REPLICA_LINES: &[&str] = &[
    "producer",
    "crashed",
    "restarted",
    "ISR now",
    "leader",
    "truncated",
    "final read",
    "lost-write",
];

pub(crate) fn last_replica_power_loss() -> String {
    grep_run("last-replica-power-loss", LAST_REPLICA_LINES)
}

const ISOLATED_LINES: &[&str] = &[
    "producer",
    "crashed",
    "restarted",
    "cut off",
    "reconnected",
    "ISR now",
    "leader",
    "truncated",
    "final read",
    "lost-write",
];

pub(crate) fn last_replica_isolated() -> String {
    grep_run("last-replica-isolated", ISOLATED_LINES)
}

pub(crate) fn last_replica_isolated_elr() -> String {
    grep_run("last-replica-isolated-elr", ISOLATED_LINES)
}

pub(crate) fn last_replica_power_loss_elr() -> String {
    grep_run("last-replica-power-loss-elr", LAST_REPLICA_LINES)
}

pub(crate) fn last_replica_process_crash() -> String {
    grep_run("last-replica-process-crash", LAST_REPLICA_LINES)
}
