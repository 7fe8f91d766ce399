//! The command line as clap sees it: every command, flag and help text.
//!
//! clap's derive turns these types into the parser and the `--help` pages: a
//! doc comment is the help of what it documents, `after_help` holds the notes a
//! page ends with. They are only the shape of what was typed; `parse.rs` turns
//! them into a `Command`, checking what involves more than one flag.

use super::values;
use crate::bench;
use crate::sweep::{SeedRange, Shard};
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

/// The width help is wrapped to, whatever the terminal, so a page reads the same
/// everywhere and the snapshot tests can pin it: wide enough to keep each line
/// of the command list whole, narrow enough for prose.
const HELP_WIDTH: usize = 90;

/// The exit codes of the commands that run seeds, as a literal for `concat!`.
macro_rules! exit_codes {
    () => {
        "Exit codes: 0 ok, 1 correctness failure, 2 usage error (also: a report that \
         cannot be written or read), 3 liveness failure, 4 crash."
    };
}

/// kafkasim: Apache Kafka in a deterministic network simulator
#[derive(Debug, Parser)]
#[command(
    name = "kafkasim",
    bin_name = "kafkasim",
    term_width = HELP_WIDTH,
    // `kafkasim` alone prints this page, as `--help` does, with exit code 0
    // (`parse::asks_for_help`).
    subcommand_required = true,
    arg_required_else_help = true,
    after_help = concat!(
        "The same seed always gives the same run, byte for byte.\n",
        "Run `kafkasim <COMMAND> --help` for a command's options.\n\n",
        exit_codes!()
    )
)]
pub(super) struct Cli {
    #[command(subcommand)]
    pub command: Sub,
}

#[derive(Debug, Subcommand)]
pub(super) enum Sub {
    Run(RunFlags),
    Replay(ReplayFlags),
    Sweep(SweepFlags),
    Shrink(ShrinkFlags),
    Merge(MergeFlags),
    Bench(BenchFlags),
    Serve(ServeFlags),
    Ctl(CtlFlags),
    /// List the built-in scenarios
    #[command(after_help = "Exit code 0.")]
    Scenarios,
    /// List Kafka's famous bugs that --bug NAME switches back on
    #[command(after_help = "\
Each switch puts one of Kafka's rules back as it was before a fix (or removes one \
guard the TLA+ specifications of Kafka's replication rely on). Give it to run, \
replay, sweep or shrink with --bug NAME (repeatable), or write bugs = [\"NAME\"] \
at the top of a scenario file.

Exit code 0.")]
    Bugs,
    ReportCheck(ReportCheckFlags),
    Hunt(HuntFlags),
    Lab(LabFlags),
}

/// Write one of Kafka's rules yourself and run the model with it
#[derive(Debug, Args)]
#[command(
    subcommand_required = true,
    arg_required_else_help = true,
    after_help = "\
A lab is one of Kafka's rules (the key partitioner, the high watermark, a \
follower's truncation point, the range assignor, the idempotent producer's \
sequence check) that you write in a file of labs/src/, whose body is todo!() as \
shipped. `lab check NAME` runs the lab's unit tests against your function, \
then the whole model with your function in place of Kafka's over many seeds of \
a scenario with faults; a failing seed is shrunk to the faults that matter. \
Build with --release.

Exit codes: 0 ok, 1 your rule is not implemented yet or fails, 2 usage error."
)]
pub(super) struct LabFlags {
    #[command(subcommand)]
    pub command: LabSub,
}

#[derive(Debug, Subcommand)]
pub(super) enum LabSub {
    /// List the labs: name, where they stand, the file to edit, the rule
    #[command(after_help = "\
The status is what the lab's unit tests say of the function in its file: todo \
(still todo!()), unit tests fail, or unit tests pass (then run `kafkasim lab \
check NAME` for the sweep).

Exit code 0.")]
    List,
    Check(LabCheckFlags),
    Run(LabRunFlags),
}

/// Check your version of a lab's rule: unit tests, a sweep, a shrunk counterexample
#[derive(Debug, Args)]
#[command(after_help = "\
First the lab's unit tests run against your function; a test that meets \
todo!() says \"not implemented yet\". When they all pass, the lab's scenario \
(sim/scenarios/labs/NAME.toml) runs over the seeds with your function in the \
cluster's rules, progress on stderr. If a seed fails, it is shrunk to the \
fewest faults that still fail the same way; the scenario file and a report of \
its run are written into DIR (default target/labs/NAME), and the command that \
replays it with your rule is printed.

Exit codes: 0 the unit tests and every seed pass; 1 not implemented yet, a \
unit test fails or a seed fails; 2 usage error.")]
pub(super) struct LabCheckFlags {
    /// The lab (see `kafkasim lab list`)
    #[arg(value_name = "NAME", value_parser = values::lab)]
    pub lab: &'static crate::lab::Lab,
    /// The seeds to sweep: A..B is A up to B-1, A..=B includes B
    #[arg(long, value_name = "A..B", default_value = "1..=200")]
    #[arg(value_parser = values::lab_seeds)]
    pub seeds: SeedRange,
    /// How many seeds run at once, 1 to 256 (default: the number of cores)
    #[arg(long, value_name = "N", value_parser = values::jobs)]
    #[arg(allow_negative_numbers = true)]
    pub jobs: Option<usize>,
    /// The most runs the shrink of a failing seed takes
    #[arg(long, value_name = "N", default_value_t = crate::lab::SHRINK_RUNS_DEFAULT)]
    #[arg(value_parser = values::max_runs, allow_negative_numbers = true)]
    pub shrink_runs: usize,
    /// Where to write the counterexample (minimal.toml) and its report
    /// (report/); default target/labs/NAME. Files there are replaced
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

/// Run one seed with your version of a lab's rule; print its timeline
#[derive(Debug, Args)]
#[command(after_help = concat!(
    "The same run as `kafkasim run`, with the lab's function from labs/src/ in \
     place of Kafka's in every broker and client. `lab check` prints this \
     command for a counterexample it finds.\n\n",
    exit_codes!()
))]
pub(super) struct LabRunFlags {
    /// The lab (see `kafkasim lab list`)
    #[arg(value_name = "NAME", value_parser = values::lab)]
    pub lab: &'static crate::lab::Lab,
    /// The simulation seed; without it, a scenario file's own seed, or 1
    #[arg(long, value_name = "N", value_parser = values::seed)]
    #[arg(allow_negative_numbers = true)]
    pub seed: Option<u64>,
    /// A built-in scenario or a scenario file (default: the lab's own,
    /// sim/scenarios/labs/NAME.toml)
    #[arg(long, value_name = "NAME|FILE.toml", value_parser = values::scenario)]
    pub scenario: Option<crate::scenario::Scenario>,
    /// Also write a report of the run into DIR (see `kafkasim run --help`)
    #[arg(long, value_name = "DIR")]
    pub report: Option<PathBuf>,
    /// Write the report into DIR even if it holds files (only with --report)
    #[arg(long)]
    pub force: bool,
}

/// Sweep for each famous bug until a seed shows it; shrink it; print a table
#[derive(Debug, Args)]
#[command(after_help = "\
For each bug switch (all of `kafkasim bugs`, or those named with --bug) the hunt \
runs seeds of a workload whose faults are drawn from the seed (the table says \
which), with the switch on, until a seed fails that passes with the switch off. \
It shrinks that seed to the faults that still show the same kind, and prints one \
row per bug: seeds it took (the median over rounds), the kind, the faults before \
and after shrinking, wall time. A bug not found within --max-seeds seeds is \
listed as not found. Progress goes to stderr. Build with --release.

Exit codes: 0 every bug was found in every round, 1 some bug was not, 2 usage \
error.")]
pub(super) struct HuntFlags {
    /// Hunt only this bug (see `kafkasim bugs`); may be given more than once
    #[arg(long = "bug", value_name = "NAME", value_parser = values::bug)]
    pub bugs: Vec<kafkasim::bugs::Bug>,
    /// Hunt each bug this many times, from further seeds each time, 1 to 100
    #[arg(long, value_name = "N", default_value_t = 1)]
    #[arg(value_parser = values::rounds, allow_negative_numbers = true)]
    pub rounds: u64,
    /// Give up on a round after this many seeds, 1 to 100000
    #[arg(long, value_name = "N", default_value_t = crate::hunt::MAX_SEEDS_DEFAULT)]
    #[arg(value_parser = values::max_seeds, allow_negative_numbers = true)]
    pub max_seeds: u64,
    /// How many seeds run at once, 1 to 256 (default: the number of cores)
    #[arg(long, value_name = "N", value_parser = values::jobs)]
    #[arg(allow_negative_numbers = true)]
    pub jobs: Option<usize>,
    /// The most runs each shrink takes
    #[arg(long, value_name = "N", default_value_t = crate::shrink::MAX_RUNS_DEFAULT)]
    #[arg(value_parser = values::max_runs, allow_negative_numbers = true)]
    pub shrink_runs: usize,
}

/// Run a scenario with a seed; print its timeline and a trace hash
#[derive(Debug, Args)]
#[command(after_help = concat!(
    "On a terminal the timeline is coloured (unless NO_COLOR is set); piped, it is \
     plain text.\n\n",
    exit_codes!()
))]
pub(super) struct RunFlags {
    /// The simulation seed. Without it, a scenario file's own seed (its `expect`)
    /// is used, or one is picked and the command that replays it is printed
    #[arg(long, value_name = "N", value_parser = values::seed)]
    #[arg(allow_negative_numbers = true)]
    pub seed: Option<u64>,
    /// A built-in scenario (see `kafkasim scenarios`), or a scenario file such as
    /// sim/scenarios/standard.toml
    #[arg(long, value_name = "NAME|FILE.toml", default_value = "replicated")]
    #[arg(value_parser = values::scenario)]
    pub scenario: crate::scenario::Scenario,
    /// Switch one of Kafka's famous bugs back on (see `kafkasim bugs`); may be
    /// given more than once
    #[arg(long = "bug", value_name = "NAME", value_parser = values::bug)]
    pub bugs: Vec<kafkasim::bugs::Bug>,
    /// Print the run as one JSON object on one line instead of text: seed,
    /// scenario, verdict {kind, reason, exit_code}, trace_hash, messages, goals,
    /// allowed_anomalies, checks, partitions, expect, replay (other notes go to
    /// stderr)
    #[arg(long)]
    pub json: bool,
    /// Also write a report of the run into DIR: index.html (open it in a
    /// browser, no network needed), trace.jsonl, history.jsonl and summary.json.
    /// DIR must be empty or new
    #[arg(long, value_name = "DIR")]
    pub report: Option<PathBuf>,
    /// Write the report into DIR even if it holds files (only with --report)
    #[arg(long)]
    pub force: bool,
    /// For workloads (standard, replicated, groups, scenario files): run the
    /// safety phase for S seconds, 1 to 3600, instead of the scenario's own (a
    /// longer, larger run)
    #[arg(long, value_name = "S", value_parser = values::safety_phase_s)]
    #[arg(allow_negative_numbers = true)]
    pub safety_phase_s: Option<u64>,
}

/// Run a seed and print its full trace, message by message
#[derive(Debug, Args)]
#[command(after_help = concat!(
    "Each line is a time, a node, and what happened there: a request or response \
     it received (`broker-1 ← client-3   Produce request (correlation 4): acks=all, \
     ...`) in Kafka's API, field and error names, an event it emitted, a fault. \
     --debug prints each message and event with every field instead. The last \
     line is the trace hash, the same with or without --debug.\n\n",
    exit_codes!()
))]
pub(super) struct ReplayFlags {
    /// The simulation seed to replay
    #[arg(long, value_name = "N", value_parser = values::seed)]
    #[arg(allow_negative_numbers = true)]
    pub seed: u64,
    /// A built-in scenario, or a scenario file
    #[arg(long, value_name = "NAME|FILE.toml", default_value = "replicated")]
    #[arg(value_parser = values::scenario)]
    pub scenario: crate::scenario::Scenario,
    /// Switch one of Kafka's famous bugs back on (see `kafkasim bugs`); may be
    /// given more than once
    #[arg(long = "bug", value_name = "NAME", value_parser = values::bug)]
    pub bugs: Vec<kafkasim::bugs::Bug>,
    /// Print every field of every message and event as the model's Rust types
    /// hold it (their `Debug` form), instead of one line in Kafka's words
    #[arg(long)]
    pub debug: bool,
}

/// Run many seeds of a scenario; print one summary
#[derive(Debug, Args)]
#[command(after_help = concat!(
    "The summary goes to stdout: verdict counts, how many runs showed each kind of \
     allowed anomaly, how many reached each \"sometimes\" goal (a leader changed, an \
     ISR changed, a rebalance completed, ...), and the first failing seeds with the \
     command that replays each. Progress goes to stderr.\n\n",
    "JSON fields: scenario; scenario_hash (16 hex digits: what the scenario is, \
     whatever its name); seeds {start, end} (half-open); shard {index, count} or \
     null; seeds_run; verdicts {ok, correctness, liveness, crash}; worst_verdict; \
     allowed_anomalies {kind: runs showing it}; goals {goal: runs reaching it}; \
     first_failing [{seed, verdict, kinds, reason, replay}] (at most 10); runs \
     [{seed, verdict, trace_hash, failing, allowed_anomalies}] sorted by seed; timing {jobs, \
     wall_time_s, seeds_per_s}, the only fields that differ between two sweeps of \
     the same seeds.\n\n",
    "The exit code is the worst verdict seen: 4 crash, 3 liveness, 1 correctness, \
     0 ok; 2 is a usage error (also: a report that cannot be written)."
))]
pub(super) struct SweepFlags {
    /// The seeds to run: A..B is A up to B-1, A..=B includes B; at most
    /// 1000000 seeds per sweep (split more with --shard)
    #[arg(long, value_name = "A..B", value_parser = SeedRange::parse)]
    pub seeds: SeedRange,
    /// A built-in scenario (see `kafkasim scenarios`), or a scenario file
    #[arg(long, value_name = "NAME|FILE.toml", default_value = "replicated")]
    #[arg(value_parser = values::scenario)]
    pub scenario: crate::scenario::Scenario,
    /// Switch one of Kafka's famous bugs back on (see `kafkasim bugs`); may be
    /// given more than once
    #[arg(long = "bug", value_name = "NAME", value_parser = values::bug)]
    pub bugs: Vec<kafkasim::bugs::Bug>,
    /// How many seeds run at once, 1 to 256 (default: the number of cores).
    /// Results never depend on it: they are reported in seed order
    #[arg(long, value_name = "N", value_parser = values::jobs)]
    #[arg(allow_negative_numbers = true)]
    pub jobs: Option<usize>,
    /// Run only the I-th of N slices of the range (1 <= I <= N): the seeds s with
    /// (s - A) % N == I - 1. Shards 1/N to N/N cover the range exactly once, so N
    /// machines can split one sweep; `kafkasim merge` joins their --json
    /// summaries into one
    #[arg(long, value_name = "I/N", value_parser = Shard::parse)]
    pub shard: Option<Shard>,
    /// Print one JSON object (on one line) instead of the text summary
    #[arg(long)]
    pub json: bool,
    /// Write a report of each failing seed into DIR/seed-N (see `kafkasim run
    /// --help`); DIR must be empty or new
    #[arg(long, value_name = "DIR")]
    pub report: Option<PathBuf>,
    /// Write the reports into DIR even if it holds files (only with --report)
    #[arg(long)]
    pub force: bool,
}

/// Reduce a failing seed to a minimal scenario file
#[derive(Debug, Args)]
#[command(after_help = "\
The seed's drawn faults are written out as a schedule, then faults are dropped \
and shortened, the safety phase cut, producers, consumers and partitions \
removed, one step at a time, keeping each step that still shows the kind with \
the same seed. Each step tried is printed on stderr. The result is a scenario \
file that names its seed and kind (`expect`), with a comment on each remaining \
fault; `kafkasim run --scenario FILE` replays it and says whether it still \
reproduces.

Exit codes: 0 shrunk; 2 bad input, or a seed that does not show the kind.")]
pub(super) struct ShrinkFlags {
    /// The failing seed
    #[arg(long, value_name = "N", value_parser = values::seed)]
    #[arg(allow_negative_numbers = true)]
    pub seed: u64,
    /// `standard` or a scenario file; scenarios written as code cannot be shrunk
    #[arg(long, value_name = "NAME|FILE.toml", default_value = "standard")]
    #[arg(value_parser = values::scenario)]
    pub scenario: crate::scenario::Scenario,
    /// Switch one of Kafka's famous bugs back on (see `kafkasim bugs`); may be
    /// given more than once
    #[arg(long = "bug", value_name = "NAME", value_parser = values::bug)]
    pub bugs: Vec<kafkasim::bugs::Bug>,
    /// The anomaly kind to keep (lost-write, divergent-replicas, processed-again,
    /// ...); default: the first kind that fails the run. An allowed kind can be
    /// shrunk toward too
    #[arg(long, value_name = "KIND")]
    #[arg(value_parser = values::kind)]
    pub kind: Option<kafkasim_check::Kind>,
    /// Stop after N runs with the smallest so far
    #[arg(long, value_name = "N", default_value_t = crate::shrink::MAX_RUNS_DEFAULT)]
    #[arg(value_parser = values::max_runs, allow_negative_numbers = true)]
    pub max_runs: usize,
    /// Write the minimal scenario file there (default: stdout); FILE must be
    /// new, or given with --force
    #[arg(long, value_name = "FILE")]
    pub out: Option<String>,
    /// Replace FILE if it exists (only with --out); a symbolic link there is
    /// replaced, not written through
    #[arg(long)]
    pub force: bool,
}

/// Merge the JSON summaries of several sweeps (e.g. of shards) into one
#[derive(Debug, Args)]
#[command(after_help = "\
The merge is the summary one sweep of all the files' seeds would print, but for \
its timing. Each file must be a summary as `sweep --json` writes it, every \
field of its type and range and agreeing with its runs. The files must be of \
the same scenario (the same scenario_hash, whatever the scenario's name) and \
must not share a seed. The merged range goes from the lowest start to the \
highest end of the files' ranges; seeds of it that no file ran are an error, \
or with --allow-gaps a warning on stderr, and the merge goes on. On an error \
nothing is printed, and one line names the file and the field.

Timing is summed: wall_time_s and jobs are the sums over the files (the real \
time all the sweeps took one after the other), and seeds_per_s is the seeds run \
over that summed time. The merged shard is null.

Exit code: the worst merged verdict, as for `sweep` (4 crash, 3 liveness, \
1 correctness, 0 ok); 2 when a file cannot be read or merged.")]
pub(super) struct MergeFlags {
    /// Summaries written by `kafkasim sweep --json`, e.g. of the shards 1/N to
    /// N/N of one range, or earlier merges
    #[arg(value_name = "FILE", required = true)]
    pub files: Vec<String>,
    /// Print the merged summary as one JSON object, in the shape `sweep --json`
    /// prints (so merges can be merged again)
    #[arg(long)]
    pub json: bool,
    /// Merge even if no file ran some seeds of the merged range (a shard that
    /// never ran); they are listed in a warning
    #[arg(long)]
    pub allow_gaps: bool,
}

/// Measure how fast the standard scenario runs, against madsim alone
#[derive(Debug, Args)]
#[command(after_help = "\
Runs the seeds with 1 job, then with 2 jobs, then a baseline: for each seed, as \
many messages as its run delivered, exchanged as requests and responses between \
two simulated machines over madsim's connections, with nothing else running. \
Reports wall time per seed (mean, min, max), seeds/s with 1 and 2 jobs, \
simulated time per wall time, messages per wall-second, the model's wall time \
per message over the baseline's, the peak memory of the process (VmHWM), and \
whether each target is met: simulated/wall >= 1000x with 1 job; the model at \
most 2x the baseline per message; 2 jobs at least 1.7x the seeds/s of 1 job.

Build with --release for figures worth reading. Progress goes to stderr. Wall \
times depend on the machine and its load (printed).

Exit code 0; 2 for a usage error.")]
pub(super) struct BenchFlags {
    /// The seeds of the standard scenario to run (A..B is A up to B-1, A..=B
    /// includes B), at most 10000
    #[arg(long, value_name = "A..B", default_value_t = bench::DEFAULT_SEEDS)]
    #[arg(value_parser = values::bench_seeds)]
    pub seeds: SeedRange,
    /// Print the figures as one JSON object instead of the text
    #[arg(long)]
    pub json: bool,
}

/// Read a run report back and check its files
#[derive(Debug, Args)]
#[command(after_help = "\
Checks DIR/summary.json, every line of DIR/trace.jsonl and DIR/history.jsonl \
against the shapes the book's \"Reading a report\" chapter documents, and that \
DIR/index.html embeds the data. The first problem is printed with its file and \
line (e.g. `trace.jsonl line 17: ...`).

Exit codes: 0 the report checks out; 2 a problem, or a usage error.")]
pub(super) struct ReportCheckFlags {
    /// The report directory, as written by `kafkasim run --report DIR`
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
}

/// Serve the model to real Kafka clients over TCP (Kafka's wire protocol)
#[derive(Debug, Args)]
#[command(after_help = "\
Starts the model's controller and brokers in this process, in real time, each \
broker listening on 127.0.0.1: broker-1 on --port, broker-N on --port + N - 1, \
each advertising that address in Metadata. Kafka clients (kafkajs, the Java \
client, kcat) connect with bootstrap servers 127.0.0.1:PORT. Prints where each \
broker listens, then a timeline (brokers registering, topics created, leaders \
elected, groups rebalancing) until stopped with Ctrl-C (SIGINT), SIGTERM, or \
the end of stdin when stdin is a pipe. Nothing is kept on disk: every start is \
a new, empty cluster.

On stopping it prints each partition (leader, ISR, each replica's log end \
offset and high watermark) and what the checker can judge from the server \
alone: the replica and group invariants over every event, and replicas that \
disagree below the high watermark.

Faults, in the scenario files' words, while it serves: type `crash broker-2`, \
`power-loss broker-2`, `replace-disk broker-2`, `restart broker-2`, `isolate \
broker-3`, `split broker-3`, `slow-network 300`, `client-cut client-7 broker-1`, \
`heal`, `clients` or `help` on stdin (a fault may end in `for_ms=5000` to undo \
itself), or send them with `kafkasim ctl` to the \
control port (127.0.0.1, --port + 100 unless --control-port is given). A \
crashed node keeps its disk (as the fault kind leaves it) and restarts through \
the model's recovery; while it is down its port refuses connections.

Exit codes: 0 stopped, nothing found; 1 a broken invariant or divergent \
replicas; 2 a usage error or a port that cannot be bound.")]
pub(super) struct ServeFlags {
    /// broker-1's port; the other brokers take the next ones (0: any free ports)
    #[arg(long, value_name = "PORT", default_value_t = 9092)]
    pub port: u16,
    /// How many brokers (1 to 9)
    #[arg(long, value_name = "N", default_value_t = 3)]
    #[arg(value_parser = values::brokers)]
    pub brokers: u32,
    /// The control port for `kafkasim ctl` [default: --port + 100; any free port with --port 0]
    #[arg(long, value_name = "PORT")]
    pub control_port: Option<u16>,
}

/// Start or undo a fault on a running `kafkasim serve`
#[derive(Debug, Args)]
#[command(after_help = "\
Sends COMMAND to the control port of a `kafkasim serve` on this machine and \
prints its answer. Commands: crash, power-loss, replace-disk, pause or \
isolate TARGET; link-cut SERVER SERVER (both ways), one-way FROM TO or \
flaky-link SERVER SERVER (clogged 200 ms, then open 800 ms, over and over), \
servers by name (broker-N, controller); split BROKER... (those brokers cut off from the \
other brokers and the controller); slow-network EXTRA_MS (every message EXTRA_MS \
later); client-cut client-N TARGET (hold one client \
connection's traffic to its broker); restart TARGET; heal [TARGET] (no \
TARGET: every fault on but crashes); clients (list the client connections); help. \
A fault ending in for_ms=N undoes itself after N ms, as in scenario files. \
TARGET is controller, broker-N, \
\"leader of TOPIC-P\", \"follower of TOPIC-P\" or \"coordinator of GROUP\". \
Example: kafkasim ctl crash broker-2 for_ms=5000

Exit codes: 0 done; 1 the server refused the command; 2 a usage error or no \
server answering.")]
pub(super) struct CtlFlags {
    /// The server's --port (broker-1's port); the control port is 100 above it
    #[arg(long, value_name = "PORT", default_value_t = 9092)]
    pub port: u16,
    /// The server's control port, if it was given one
    #[arg(long, value_name = "PORT")]
    pub control_port: Option<u16>,
    /// The command, e.g. `crash broker-2`
    #[arg(value_name = "COMMAND", required = true, num_args = 1..)]
    pub command: Vec<String>,
}
