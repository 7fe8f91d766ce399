//! The help texts of `kafkasim` and its commands (pinned by snapshot tests).

pub const HELP: &str = "\
kafkasim: Apache Kafka in a deterministic network simulator

Usage: kafkasim <COMMAND> [OPTIONS]

Commands:
  run        Run a scenario with a seed; print its timeline and a trace hash
  replay     Run a seed and print its full trace, message by message
  sweep      Run many seeds of a scenario; print one summary
  shrink     Reduce a failing seed to a minimal scenario file
  scenarios  List the built-in scenarios
  help       Print this help, or the help of a command

The same seed always gives the same run, byte for byte.
Run `kafkasim <COMMAND> --help` for a command's options.

Exit codes: 0 ok, 1 correctness failure, 2 usage error, 3 liveness failure, 4 crash.
";

pub const RUN_HELP: &str = "\
Run a scenario with a seed; print its timeline and a trace hash

Usage: kafkasim run [--seed N] [--scenario NAME|FILE.toml]

Options:
  --seed N           The simulation seed (a number). Without it, a scenario
                     file's own seed (its `expect`) is used, or one is picked
                     and the command that replays it is printed.
  --scenario NAME    A built-in scenario (default: quickstart); see `kafkasim scenarios`.
                     Or a scenario file, such as sim/scenarios/standard.toml.
  -h, --help         Print this help
";

pub const REPLAY_HELP: &str = "\
Run a seed and print its full trace, message by message

Usage: kafkasim replay --seed N [--scenario NAME|FILE.toml]

Options:
  --seed N           The simulation seed to replay (required)
  --scenario NAME    A built-in scenario (default: quickstart), or a scenario file
  -h, --help         Print this help
";

pub const SWEEP_HELP: &str = "\
Run many seeds of a scenario; print one summary

Usage: kafkasim sweep --seeds A..B [--scenario NAME|FILE.toml] [--jobs N] [--shard I/N] [--json]

Options:
  --seeds A..B       The seeds to run (required): A..B is A up to B-1, A..=B includes B
  --scenario NAME    A built-in scenario (default: quickstart); see `kafkasim scenarios`.
                     Or a scenario file.
  --jobs N           How many seeds run at once (default: the number of cores).
                     Results never depend on it: they are reported in seed order.
  --shard I/N        Run only the I-th of N slices of the range (1 <= I <= N): the
                     seeds s with (s - A) % N == I - 1. Shards 1/N to N/N cover the
                     range exactly once, so N machines can split one sweep.
  --json             Print one JSON object (on one line) instead of the text summary
  -h, --help         Print this help

The summary goes to stdout: verdict counts, how many runs showed each kind of
allowed anomaly, how many reached each \"sometimes\" goal (a leader changed, an
ISR changed, a rebalance completed, ...), and the first failing seeds with the
command that replays each.
Progress goes to stderr. The exit code is the worst verdict seen: 4 crash,
3 liveness, 1 correctness, 0 ok.

JSON fields: scenario; seeds {start, end} (half-open); shard {index, count} or
null; seeds_run; verdicts {ok, correctness, liveness, crash}; worst_verdict;
allowed_anomalies {kind: runs showing it}; goals {goal: runs reaching it};
first_failing [{seed, verdict,
reason, replay}] (at most 10); runs [{seed, verdict, trace_hash,
allowed_anomalies}] sorted by seed; timing {jobs, wall_time_s, seeds_per_s},
the only fields that differ between two sweeps of the same seeds.
";

pub const SHRINK_HELP: &str = "\
Reduce a failing seed to a minimal scenario file

Usage: kafkasim shrink --seed N [--scenario NAME|FILE.toml] [--kind KIND] [--max-runs N] [--out FILE]

Options:
  --seed N           The failing seed (required)
  --scenario NAME    `standard` (the default) or a scenario file; scenarios
                     written as code cannot be shrunk
  --kind KIND        The anomaly kind to keep (lost-write, divergent-replicas,
                     processed-again, ...); default: the first kind that fails
                     the run. An allowed kind can be shrunk toward too.
  --max-runs N       Stop after N runs (default 300) with the smallest so far
  --out FILE         Write the minimal scenario file there (default: stdout)
  -h, --help         Print this help

The seed's drawn faults are written out as a schedule, then faults are dropped
and shortened, the safety phase cut, producers, consumers and partitions
removed, one step at a time, keeping each step that still shows the kind with
the same seed. Each step tried is printed on stderr. The result is a scenario
file that names its seed and kind (`expect`), with a comment on each remaining
fault; `kafkasim run --scenario FILE` replays it and says whether it still
reproduces.
Exit codes: 0 shrunk; 2 bad input, or a seed that does not show the kind.
";

pub const SCENARIOS_HELP: &str = "\
List the built-in scenarios

Usage: kafkasim scenarios
";
