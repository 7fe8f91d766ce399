//! The help texts of `kafkasim` and its commands (pinned by snapshot tests).

pub const HELP: &str = "\
kafkasim: Apache Kafka in a deterministic network simulator

Usage: kafkasim <COMMAND> [OPTIONS]

Commands:
  run           Run a scenario with a seed; print its timeline and a trace hash
  replay        Run a seed and print its full trace, message by message
  sweep         Run many seeds of a scenario; print one summary
  scenarios     List the built-in scenarios
  report-check  Read a run report back and check its files
  help          Print this help, or the help of a command

The same seed always gives the same run, byte for byte.
Run `kafkasim <COMMAND> --help` for a command's options.

Exit codes: 0 ok, 1 correctness failure, 2 usage error (also: a report that
cannot be written or read), 3 liveness failure, 4 crash.
";

pub const RUN_HELP: &str = "\
Run a scenario with a seed; print its timeline and a trace hash

Usage: kafkasim run [--seed N] [--scenario NAME] [--report DIR [--force]]

Options:
  --seed N           The simulation seed (a number). Without it, one is picked
                     and the command that replays it is printed.
  --scenario NAME    A built-in scenario (default: quickstart); see `kafkasim scenarios`
  --report DIR       Also write a report of the run into DIR: index.html (open it
                     in a browser, no network needed), trace.jsonl, history.jsonl
                     and summary.json. DIR must be empty or new.
  --force            Write the report into DIR even if it holds files
  --safety-phase-s S
                     For --scenario standard only: draw and carry out faults
                     for S seconds instead of 60 (a longer, larger run)
  -h, --help         Print this help

On a terminal the timeline is coloured (unless NO_COLOR is set); piped, it is
plain text.
";

pub const REPLAY_HELP: &str = "\
Run a seed and print its full trace, message by message

Usage: kafkasim replay --seed N [--scenario NAME]

Options:
  --seed N           The simulation seed to replay (required)
  --scenario NAME    A built-in scenario (default: quickstart)
  -h, --help         Print this help
";

pub const SWEEP_HELP: &str = "\
Run many seeds of a scenario; print one summary

Usage: kafkasim sweep --seeds A..B [--scenario NAME] [--jobs N] [--shard I/N] [--json]
                      [--report DIR [--force]]

Options:
  --seeds A..B       The seeds to run (required): A..B is A up to B-1, A..=B includes B
  --scenario NAME    A built-in scenario (default: quickstart); see `kafkasim scenarios`
  --jobs N           How many seeds run at once (default: the number of cores).
                     Results never depend on it: they are reported in seed order.
  --shard I/N        Run only the I-th of N slices of the range (1 <= I <= N): the
                     seeds s with (s - A) % N == I - 1. Shards 1/N to N/N cover the
                     range exactly once, so N machines can split one sweep.
  --json             Print one JSON object (on one line) instead of the text summary
  --report DIR       Write a report of each failing seed into DIR/seed-N (see
                     `kafkasim run --help`); DIR must be empty or new
  --force            Write the reports into DIR even if it holds files
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

pub const SCENARIOS_HELP: &str = "\
List the built-in scenarios

Usage: kafkasim scenarios
";

pub const REPORT_CHECK_HELP: &str = "\
Read a run report back and check its files

Usage: kafkasim report-check DIR

Checks DIR/summary.json, every line of DIR/trace.jsonl and DIR/history.jsonl
against the shapes the book's \"Reading a report\" chapter documents, and that
DIR/index.html embeds the data. The first problem is printed with its file and
line (e.g. `trace.jsonl line 17: ...`) and the exit code is 2.
";
