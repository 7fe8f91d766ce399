//! The help texts of `kafkasim` and its commands (pinned by snapshot tests).

pub const HELP: &str = "\
kafkasim: Apache Kafka in a deterministic network simulator

Usage: kafkasim <COMMAND> [OPTIONS]

Commands:
  run           Run a scenario with a seed; print its timeline and a trace hash
  replay        Run a seed and print its full trace, message by message
  sweep         Run many seeds of a scenario; print one summary
  shrink        Reduce a failing seed to a minimal scenario file
  merge         Merge the JSON summaries of several sweeps (e.g. of shards) into one
  bench         Measure how fast the standard scenario runs, against madsim alone
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

Usage: kafkasim run [--seed N] [--scenario NAME|FILE.toml] [--json] [--report DIR [--force]]

Options:
  --seed N           The simulation seed (a number). Without it, a scenario
                     file's own seed (its `expect`) is used, or one is picked
                     and the command that replays it is printed.
  --scenario NAME    A built-in scenario (default: replicated); see `kafkasim scenarios`.
                     Or a scenario file, such as sim/scenarios/standard.toml.
  --json             Print the run as one JSON object on one line instead of
                     text: seed, scenario, verdict {kind, reason, exit_code},
                     trace_hash, messages, goals, allowed_anomalies, checks,
                     partitions, expect, replay (other notes go to stderr)
  --report DIR       Also write a report of the run into DIR: index.html (open it
                     in a browser, no network needed), trace.jsonl, history.jsonl
                     and summary.json. DIR must be empty or new.
  --force            Write the report into DIR even if it holds files
  --safety-phase-s S
                     For workloads (standard, replicated, groups, scenario
                     files): run the safety phase for S seconds instead of the
                     scenario's own (a longer, larger run)
  -h, --help         Print this help

On a terminal the timeline is coloured (unless NO_COLOR is set); piped, it is
plain text.
";

pub const REPLAY_HELP: &str = "\
Run a seed and print its full trace, message by message

Usage: kafkasim replay --seed N [--scenario NAME|FILE.toml]

Options:
  --seed N           The simulation seed to replay (required)
  --scenario NAME    A built-in scenario (default: replicated), or a scenario file
  -h, --help         Print this help
";

pub const SWEEP_HELP: &str = "\
Run many seeds of a scenario; print one summary

Usage: kafkasim sweep --seeds A..B [--scenario NAME|FILE.toml] [--jobs N] [--shard I/N] [--json]
                      [--report DIR [--force]]

Options:
  --seeds A..B       The seeds to run (required): A..B is A up to B-1, A..=B includes B
  --scenario NAME    A built-in scenario (default: replicated); see `kafkasim scenarios`.
                     Or a scenario file.
  --jobs N           How many seeds run at once (default: the number of cores).
                     Results never depend on it: they are reported in seed order.
  --shard I/N        Run only the I-th of N slices of the range (1 <= I <= N): the
                     seeds s with (s - A) % N == I - 1. Shards 1/N to N/N cover the
                     range exactly once, so N machines can split one sweep;
                     `kafkasim merge` joins their --json summaries into one.
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

pub const MERGE_HELP: &str = "\
Merge the JSON summaries of several sweeps (e.g. of shards) into one

Usage: kafkasim merge [--json] FILE...

Arguments:
  FILE...            Summaries written by `kafkasim sweep --json`, e.g. of the shards
                     1/N to N/N of one range, or earlier merges

Options:
  --json             Print the merged summary as one JSON object, in the shape
                     `sweep --json` prints (so merges can be merged again)
  -h, --help         Print this help

The merge is the summary one sweep of all the files' seeds would print, but for
its timing. The files must be of the same scenario and must not share a seed;
otherwise nothing is printed and the error names the files. The merged range
goes from the lowest start to the highest end of the files' ranges; seeds of
it that no file ran are listed in a warning on stderr, and the merge goes on.

Timing is summed: wall_time_s and jobs are the sums over the files (the real
time all the sweeps took one after the other), and seeds_per_s is the seeds run
over that summed time. The merged shard is null.

Exit code: the worst merged verdict, as for `sweep` (4 crash, 3 liveness,
1 correctness, 0 ok); 2 when a file cannot be read or merged.
";

pub const BENCH_HELP: &str = "\
Measure how fast the standard scenario runs, against madsim alone

Usage: kafkasim bench [--seeds A..B] [--json]

Options:
  --seeds A..B       The seeds of the standard scenario to run (default: 1..=20)
  --json             Print the figures as one JSON object instead of the text
  -h, --help         Print this help

Runs the seeds with 1 job, then with 2 jobs, then a baseline: for each seed, as
many messages as its run delivered, exchanged as requests and responses between
two simulated machines over madsim's connections, with nothing else running.
Reports wall time per seed (mean, min, max), seeds/s with 1 and 2 jobs,
simulated time per wall time, messages per wall-second, the model's wall time
per message over the baseline's, the peak memory of the process (VmHWM), and
whether each target is met: simulated/wall >= 1000x with 1 job; the model at
most 2x the baseline per message; 2 jobs at least 1.7x the seeds/s of 1 job.

Build with --release for figures worth reading. Progress goes to stderr. Wall
times depend on the machine and its load (printed). Exit code 0.
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
