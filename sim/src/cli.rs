//! The `kafkasim` command line: parse arguments, run, print, choose the exit code.
//!
//! Parsing produces a `Command`; `execute` runs it. clap reads the arguments:
//! `cli/args.rs` holds every command, flag and help text, `cli/values.rs` what
//! each flag's value may be, and `cli/parse.rs` the checks that span flags and
//! the one-line form of every usage error (exit code 2, never a panic).
//!
//! Exit codes: 0 ok, 1 a correctness check failed, 2 usage error (also: a report
//! that cannot be written or read), 3 liveness failure (the scenario got stuck),
//! 4 crash.
//!
//! Everything printed to stdout goes through `out!`/`outln!` (`cli/stdout.rs`),
//! never `print!`, which panics when the reader of a pipe has left; the lint
//! below keeps it so.
#![warn(clippy::print_stdout)]

use crate::bench;
use crate::render::{counted, render_styled, Style};
use crate::report::{check_report, prepare_dir, write_report, ReportError};
use crate::run::{run_scenario, RunOptions, RunReport};
use crate::scenario::{self, Scenario};
use crate::sweep::{self, merge, Progress, SeedRange, Selection, Sweep};
use kafkasim_check::Kind;
#[cfg(test)]
use kafkasim_check::Verdict;
use kafkasim_sim::TraceLines;
use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};

pub const EXIT_OK: i32 = 0;
pub const EXIT_CORRECTNESS: i32 = 1;
pub const EXIT_USAGE: i32 = 2;
pub const EXIT_LIVENESS: i32 = 3;
pub const EXIT_CRASH: i32 = 4;
/// `kafkasim ctl`: the server answered, and refused the command.
pub const EXIT_CTL_REFUSED: i32 = 1;

mod args;
mod lab;
mod parse;
mod shrink;
pub mod stdout;
mod values;
pub use parse::parse;
pub use shrink::ShrinkArgs;
pub use stdout::finish_stdout;
use stdout::{out, outln};

/// What the command line asked for.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Print this help page (clap's rendering of the command's help).
    Help(String),
    Run {
        seed: Option<u64>,
        scenario: Scenario,
        /// Where to write a report (`--report DIR [--force]`).
        report: Option<ReportTarget>,
        /// `--safety-phase-s`, in milliseconds (workloads only).
        safety_phase_ms: Option<u64>,
        /// Print the report as one JSON object instead of text.
        json: bool,
    },
    Replay {
        seed: u64,
        scenario: Scenario,
        /// How the trace's lines read: in Kafka's words, or every field (`--debug`).
        lines: TraceLines,
    },
    Scenarios,
    /// `kafkasim bugs`: the famous bugs `--bug` switches on.
    Bugs,
    /// `kafkasim hunt`: does the swarm find each bug? (`jobs` 0: one a core)
    Hunt(crate::hunt::Hunt),
    Sweep {
        scenario: Scenario,
        selection: Selection,
        /// `None`: one job per core.
        jobs: Option<usize>,
        json: bool,
        /// Where to write one report per failing seed.
        report: Option<ReportTarget>,
    },
    /// Reads a report back and checks its files.
    ReportCheck {
        dir: PathBuf,
    },
    Shrink(ShrinkArgs),
    Merge {
        /// Summary files written by `sweep --json`.
        files: Vec<String>,
        json: bool,
        /// Merge even if seeds of the merged range are missing.
        allow_gaps: bool,
    },
    Bench {
        seeds: SeedRange,
        json: bool,
    },
    /// `kafkasim serve`: the model behind real sockets, for real clients.
    Serve(kafkasim_serve::ServeConfig),
    /// `kafkasim ctl`: one command to a serving process's control port.
    Ctl {
        control_port: u16,
        command: String,
    },
    /// `kafkasim lab list`.
    LabList,
    /// `kafkasim lab check NAME`.
    LabCheck {
        lab: &'static crate::lab::Lab,
        options: crate::lab::CheckOptions,
    },
}

/// A report directory, and whether it may already hold files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportTarget {
    pub dir: PathBuf,
    pub force: bool,
}

/// The longest safety phase `--safety-phase-s` accepts, in seconds.
pub const SAFETY_PHASE_S_MAX: u64 = 3600;

/// The most seeds a sweep runs at once (`--jobs`). Each job is a thread with a
/// simulator of its own; past the machine's cores more only share them, so a
/// larger number is a typo, not a wish for speed.
pub const JOBS_MAX: usize = 256;

/// The most seeds one sweep runs (`--seeds`, after `--shard`). A sweep keeps a
/// few hundred bytes per seed for its summary, and at tens of seeds a second a
/// million seeds is days of one machine's time: a larger range is split into
/// shards (`--shard I/N`) and the summaries merged (`kafkasim merge`).
pub const SWEEP_SEEDS_MAX: u64 = 1_000_000;

/// The most seeds `kafkasim bench` runs: it keeps every seed's timings, three
/// passes over them.
pub const BENCH_SEEDS_MAX: u64 = 10_000;

/// A usage error: one line for the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageError(pub String);

/// A seed for a run that was given none: different on every call, printed so
/// the run can be replayed. Only the command line does this; runs never do.
fn fresh_seed() -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    (nanos ^ (std::process::id() as u64).rotate_left(32)) % 1_000_000_000
}

/// What `kafkasim scenarios` prints: one line per built-in scenario, name then
/// summary. A function of its own so the book can show the listing verbatim.
pub fn scenarios_listing() -> String {
    let all = scenario::builtins();
    let width = all.iter().map(|s| s.name.len()).max().unwrap_or(0);
    all.iter()
        .map(|s| format!("{:<width$}  {}\n", s.name, s.summary))
        .collect()
}

/// What `kafkasim bugs` prints: a table of the switches, name, where Kafka
/// tracked the bug, the version that fixed it, and what goes wrong.
pub fn bugs_listing() -> String {
    let rows: Vec<[&str; 4]> = (kafkasim::bugs::Bug::ALL.iter())
        .map(|bug| {
            let about = bug.about();
            let fixed_in = about.fixed_in.unwrap_or("a guard");
            [about.name, about.source, fixed_in, about.summary]
        })
        .collect();
    let header = ["name", "source", "fixed in", "what goes wrong"];
    let width = |i: usize| {
        (rows.iter().map(|r| r[i].len()))
            .chain([header[i].len()])
            .max()
            .unwrap_or(0)
    };
    let (w0, w1, w2) = (width(0), width(1), width(2));
    std::iter::once(header)
        .chain(rows)
        .map(|[a, b, c, d]| format!("{a:<w0$}  {b:<w1$}  {c:<w2$}  {d}\n"))
        .collect()
}

/// Runs a parsed command, printing to stdout; returns the exit code.
pub fn execute(command: Command) -> i32 {
    match command {
        Command::Help(text) => {
            out!("{text}");
            EXIT_OK
        }
        Command::Scenarios => {
            out!("{}", scenarios_listing());
            EXIT_OK
        }
        Command::Bugs => {
            out!("{}", bugs_listing());
            EXIT_OK
        }
        Command::Hunt(mut hunt) => {
            quiet_panics_in_seeds();
            if hunt.jobs == 0 {
                hunt.jobs = cores();
            }
            match crate::hunt::run(&hunt, &mut |line| eprintln!("{line}")) {
                Ok(found) => {
                    out!("{}", crate::hunt::render_text(&found, &hunt));
                    match found.iter().all(crate::hunt::Found::found_every_round) {
                        true => EXIT_OK,
                        false => EXIT_CORRECTNESS,
                    }
                }
                Err(why) => {
                    stdout::error(why);
                    EXIT_USAGE
                }
            }
        }
        Command::Run {
            seed,
            scenario,
            report: target,
            safety_phase_ms,
            json,
        } => {
            if let Some(target) = &target {
                if let Err(error) = prepare_dir(&target.dir, target.force) {
                    return report_failed(&error);
                }
            }
            // With --json, stdout holds the JSON object alone.
            let note = |text: String| match json {
                true => eprintln!("{text}"),
                false => outln!("{text}"),
            };
            let expect = scenario.as_workload().and_then(|w| w.expect.clone());
            let seed = match (seed, &expect) {
                (Some(seed), _) => seed,
                (None, Some(expect)) => {
                    note(format!(
                        "no --seed given: the scenario file's seed {}",
                        expect.seed
                    ));
                    expect.seed
                }
                (None, None) => {
                    let seed = fresh_seed();
                    note(format!("no --seed given: picked seed {seed}"));
                    seed
                }
            };
            let options = RunOptions {
                capture: target.is_some(),
                safety_phase_ms,
                ..RunOptions::default()
            };
            let report = run_scenario(seed, &scenario, &options);
            let reproduced = expect.as_ref().map(|e| {
                let shown = crate::shrink::shown_kinds(&report);
                (e, shown.contains(&e.kind), shown)
            });
            if json {
                let expect = reproduced.as_ref().map(|(e, ok, _)| (e.kind, *ok));
                out!("{}", crate::render::render_json(&report, expect));
            } else {
                let style = Style::choose(
                    std::io::stdout().is_terminal(),
                    std::env::var_os("NO_COLOR").as_deref(),
                );
                out!("{}", render_styled(&report, style));
                if let Some((expect, ok, shown)) = &reproduced {
                    outln!("{}", expectation_line(expect.kind, *ok, shown));
                }
            }
            if let Some(target) = &target {
                match write_report(&target.dir, &report) {
                    Ok(written) => note(format!("report: {}", written.index.display())),
                    Err(error) => {
                        // The verdict went to stdout above; say it again beside
                        // the error, since exit code 2 now stands for both.
                        stdout::error(format!(
                            "{error} (the run itself: {}, exit code {} without the report)",
                            report.verdict().name(),
                            report.verdict().exit_code()
                        ));
                        return EXIT_USAGE;
                    }
                }
            }
            report.verdict().exit_code()
        }
        Command::ReportCheck { dir } => match check_report(&dir) {
            Ok(checked) => {
                outln!(
                    "ok: {}: scenario {}, seed {}, verdict {}; {} trace lines, {} history lines",
                    dir.display(),
                    checked.summary.scenario,
                    checked.summary.seed,
                    checked.summary.verdict.kind,
                    checked.trace_lines,
                    checked.history_lines
                );
                EXIT_OK
            }
            Err(error) => {
                stdout::error(error);
                EXIT_USAGE
            }
        },
        Command::Replay {
            seed,
            scenario,
            lines,
        } => {
            let options = RunOptions {
                keep_trace: Some(lines),
                ..RunOptions::default()
            };
            let report = run_scenario(seed, &scenario, &options);
            for line in &report.run.trace_lines {
                outln!("{line}");
            }
            outln!("trace hash {:016x}", report.run.trace_hash);
            report.verdict().exit_code()
        }
        Command::Sweep {
            scenario,
            selection,
            jobs,
            json,
            report,
        } => {
            if let Some(target) = &report {
                if let Err(error) = prepare_dir(&target.dir, target.force) {
                    return report_failed(&error);
                }
            }
            let sweep = Sweep {
                scenario,
                selection,
                jobs: jobs.unwrap_or_else(cores),
            };
            execute_sweep(&sweep, json, report.as_ref().map(|t| t.dir.as_path()))
        }
        Command::Shrink(args) => shrink::execute_shrink(args),
        Command::Merge {
            files,
            json,
            allow_gaps,
        } => execute_merge(&files, json, allow_gaps),
        Command::LabList => lab::execute_list(),
        Command::LabCheck { lab, options } => lab::execute_check(lab, &options),
        Command::Serve(config) => match kafkasim_serve::run(&config, |line| outln!("{line}")) {
            // What the server judged of itself: 0 ok, 1 a broken invariant or
            // divergent replicas (the judge's codes).
            Ok(end) => end.verdict().exit_code(),
            Err(error) => {
                stdout::error(error);
                EXIT_USAGE
            }
        },
        Command::Ctl {
            control_port,
            command,
        } => {
            let addr = std::net::SocketAddr::from(([127, 0, 0, 1], control_port));
            match kafkasim_serve::control::ctl(addr, &command) {
                Ok(answer) => {
                    outln!("{answer}");
                    // The answer's first word is the protocol's status: `ok` or `error`.
                    match answer.starts_with("ok:") {
                        true => EXIT_OK,
                        false => EXIT_CTL_REFUSED,
                    }
                }
                Err(error) => {
                    stdout::error(error);
                    EXIT_USAGE
                }
            }
        }
        Command::Bench { seeds, json } => {
            quiet_panics_in_seeds();
            let mut progress = bench::StderrProgress::new(std::io::stderr().is_terminal());
            let figures = bench::run(seeds, &mut progress).figures();
            if json {
                out!("{}", bench::render_json(&figures));
            } else {
                out!("{}", bench::render_text(&figures));
            }
            EXIT_OK
        }
    }
}

/// Whether a run shows what its scenario file says it shows (`expect`): a file
/// written by `kafkasim shrink` that no longer reproduces is told as such.
fn expectation_line(
    kind: Kind,
    reproduced: bool,
    shown: &std::collections::BTreeSet<Kind>,
) -> String {
    if reproduced {
        return format!("expected {kind}: reproduced");
    }
    let shows = match shown.is_empty() {
        true => "no anomaly".to_string(),
        false => (shown.iter().map(|k| k.name()))
            .collect::<Vec<_>>()
            .join(", "),
    };
    format!(
        "expected {kind}: NOT reproduced (the run shows {shows}); this file no longer shows what it was written for"
    )
}

/// Prints why a report could not be written; a report error is an operator's.
fn report_failed(error: &ReportError) -> i32 {
    stdout::error(error);
    EXIT_USAGE
}

/// Runs a failing seed of a sweep again, capturing, and writes its report into
/// `dir/seed-N`.
fn write_seed_report(dir: &Path, sweep: &Sweep, seed: u64) -> Result<PathBuf, ReportError> {
    let seed_dir = dir.join(format!("seed-{seed}"));
    if crate::files::entry(&seed_dir).ok() == Some(crate::files::Entry::Link) {
        return Err(ReportError::Io {
            path: seed_dir,
            error: std::io::Error::other(
                "it is a symbolic link; reports are never written through one",
            ),
        });
    }
    prepare_dir(&seed_dir, true)?;
    let options = RunOptions {
        capture: true,
        ..RunOptions::default()
    };
    let report: RunReport = run_scenario(seed, &sweep.scenario, &options);
    write_report(&seed_dir, &report).map(|written| written.index)
}

/// One job per core the OS lets this process use; 1 when it will not say.
fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

fn execute_sweep(sweep: &Sweep, json: bool, report_dir: Option<&Path>) -> i32 {
    quiet_panics_in_seeds();
    let stderr = std::io::stderr();
    let terminal = stderr.is_terminal();
    let mut progress = Progress::new(stderr, terminal);
    let summary = sweep::run(sweep, &mut |tally| progress.update(tally));
    progress.finish(&summary);
    if json {
        out!("{}", sweep::render_json(&summary));
    } else {
        out!("{}", sweep::render_text(&summary));
    }
    if stdout::failed_for_good() {
        // Minutes of work must not vanish with a full disk: the summary goes
        // to stderr too.
        eprint!("{}", sweep::render_text(&summary));
    }
    let mut unwritten = 0;
    if let Some(dir) = report_dir {
        // Reports go to stderr's side, so `--json` output stays one JSON object.
        // One report that cannot be written does not stop the others.
        for failing in summary.failing() {
            match write_seed_report(dir, sweep, failing.seed) {
                Ok(index) => eprintln!("report: {}", index.display()),
                Err(error) => {
                    stdout::error(error);
                    unwritten += 1;
                }
            }
        }
    }
    if unwritten > 0 {
        stdout::error(format!(
            "{} could not be written (the sweep itself: {}, exit code {} without them)",
            counted(unwritten, "report"),
            summary.worst().name(),
            summary.worst().exit_code()
        ));
        return EXIT_USAGE;
    }
    summary.worst().exit_code()
}

/// Merges sweep summaries: a file that cannot be read or merged is an operator
/// mistake (exit code 2); otherwise the exit code is the worst merged verdict's.
fn execute_merge(files: &[String], json: bool, allow_gaps: bool) -> i32 {
    let merged = match merge::read_and_merge(files, allow_gaps) {
        Ok(merged) => merged,
        Err(why) => {
            stdout::error(why);
            return EXIT_USAGE;
        }
    };
    if let Some(warning) = merged.warning() {
        eprintln!("warning: {warning}");
    }
    if json {
        out!("{}", merge::render_json(&merged));
    } else {
        out!("{}", merge::render_text(&merged));
    }
    merged.worst().exit_code()
}

/// A crashing seed's panic is its verdict: the summary lists it with the command
/// that replays it, and the replay prints the panic in full. Printing every one
/// during a sweep would bury the progress line, so panics on seed threads (named
/// `seed-N` by `run_seed`) stay quiet; any other panic is printed as usual.
fn quiet_panics_in_seeds() {
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let thread = std::thread::current();
        if !thread.name().is_some_and(|name| name.starts_with("seed-")) {
            default_hook(info);
        }
    }));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_worst_verdict_is_the_highest_exit_code_and_usage_has_its_own() {
        let codes: Vec<i32> = Verdict::ALL.into_iter().map(Verdict::exit_code).collect();
        assert_eq!(
            codes,
            [EXIT_OK, EXIT_CORRECTNESS, EXIT_LIVENESS, EXIT_CRASH]
        );
        assert!(codes.windows(2).all(|w| w[0] < w[1]), "severity order");
        assert!(!codes.contains(&EXIT_USAGE));
    }
}
