//! The `kafkasim` command line: parse arguments, run, print, choose the exit code.
//!
//! Parsing is written out by hand so every mistake gets one clear line and exit
//! code 2, never a panic. Exit codes: 0 ok, 1 a correctness check failed,
//! 2 usage error (also: a report that cannot be written or read), 3 liveness
//! failure (the scenario got stuck), 4 crash.

use crate::bench;
use crate::render::{render_styled, Style};
use crate::report::{check_report, prepare_dir, write_report, ReportError};
use crate::run::{run_seed, run_seed_with, RunOptions, RunReport, Verdict};
use crate::scenario::{self, SCENARIOS};
use crate::sweep::{self, merge, Progress, SeedRange, Selection, Shard, Sweep, VerdictKind};
use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};

pub const EXIT_OK: i32 = 0;
pub const EXIT_CORRECTNESS: i32 = 1;
pub const EXIT_USAGE: i32 = 2;
pub const EXIT_LIVENESS: i32 = 3;
pub const EXIT_CRASH: i32 = 4;

mod help;
mod shrink;
pub use help::*;
pub use shrink::ShrinkArgs;

/// What the command line asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Help(&'static str),
    Run {
        seed: Option<u64>,
        scenario: &'static str,
        /// Where to write a report (`--report DIR [--force]`).
        report: Option<ReportTarget>,
        /// `--safety-phase-s`, in milliseconds (workloads only).
        safety_phase_ms: Option<u64>,
        /// Print the report as one JSON object instead of text.
        json: bool,
    },
    Replay {
        seed: u64,
        scenario: &'static str,
    },
    Scenarios,
    Sweep {
        scenario: &'static str,
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
    },
    Bench {
        seeds: SeedRange,
        json: bool,
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

/// A usage error: one line for the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageError(pub String);

/// Parses the arguments after the program name.
pub fn parse(args: &[String]) -> Result<Command, UsageError> {
    let Some((command, rest)) = args.split_first() else {
        return Ok(Command::Help(HELP));
    };
    match command.as_str() {
        "-h" | "--help" | "help" => match rest.first().map(String::as_str) {
            None => Ok(Command::Help(HELP)),
            Some("run") => Ok(Command::Help(RUN_HELP)),
            Some("replay") => Ok(Command::Help(REPLAY_HELP)),
            Some("scenarios") => Ok(Command::Help(SCENARIOS_HELP)),
            Some("sweep") => Ok(Command::Help(SWEEP_HELP)),
            Some("shrink") => Ok(Command::Help(SHRINK_HELP)),
            Some("merge") => Ok(Command::Help(MERGE_HELP)),
            Some("bench") => Ok(Command::Help(BENCH_HELP)),
            Some("report-check") => Ok(Command::Help(REPORT_CHECK_HELP)),
            Some(other) => Err(UsageError(format!(
                "no such command '{other}'; commands: run, replay, sweep, shrink, merge, bench, scenarios, report-check"
            ))),
        },
        "run" => match parse_options(rest, RUN_HELP)? {
            Parsed::Help(help) => Ok(Command::Help(help)),
            Parsed::Options(o) => {
                let report = report_target(o.report, o.force)?;
                let safety_phase_ms = match o.safety_phase_s {
                    Some(_) if scenario::find(o.scenario).and_then(|s| s.workload()).is_none() => {
                        return Err(UsageError(
                            "--safety-phase-s applies only to workloads: standard, replicated, groups or a scenario file".into(),
                        ))
                    }
                    Some(s) => Some(s * 1000),
                    None => None,
                };
                Ok(Command::Run {
                    seed: o.seed,
                    scenario: o.scenario,
                    report,
                    safety_phase_ms,
                    json: o.json,
                })
            }
        },
        "replay" => match parse_options(rest, REPLAY_HELP)? {
            Parsed::Help(help) => Ok(Command::Help(help)),
            Parsed::Options(o)
                if o.report.is_some() || o.force || o.safety_phase_s.is_some() || o.json =>
            {
                Err(UsageError(
                    "replay takes only --seed and --scenario (--report and --json go with run)"
                        .into(),
                ))
            }
            Parsed::Options(RunFlags {
                seed: Some(seed),
                scenario,
                ..
            }) => Ok(Command::Replay { seed, scenario }),
            Parsed::Options(_) => Err(UsageError("replay needs --seed N".into())),
        },
        "sweep" => parse_sweep(rest),
        "shrink" => shrink::parse_shrink(rest),
        "merge" => parse_merge(rest),
        "bench" => parse_bench(rest),
        "report-check" => parse_report_check(rest),
        "scenarios" => match rest.first().map(String::as_str) {
            None => Ok(Command::Scenarios),
            Some("-h" | "--help") => Ok(Command::Help(SCENARIOS_HELP)),
            Some(other) => Err(UsageError(format!(
                "scenarios takes no arguments, got '{other}'"
            ))),
        },
        other => Err(UsageError(format!(
            "no such command '{other}'; commands: run, replay, sweep, shrink, merge, bench, scenarios, report-check (try --help)"
        ))),
    }
}

/// The flags of `run` and `replay`.
struct RunFlags {
    seed: Option<u64>,
    scenario: &'static str,
    report: Option<PathBuf>,
    force: bool,
    safety_phase_s: Option<u64>,
    json: bool,
}

enum Parsed {
    Help(&'static str),
    Options(RunFlags),
}

/// `--report DIR` with `--force`; `--force` alone is a mistake.
fn report_target(dir: Option<PathBuf>, force: bool) -> Result<Option<ReportTarget>, UsageError> {
    match dir {
        Some(dir) => Ok(Some(ReportTarget { dir, force })),
        None if force => Err(UsageError("--force goes with --report DIR".into())),
        None => Ok(None),
    }
}

/// A `--report` directory: any non-empty path.
fn report_dir(text: String) -> Result<PathBuf, UsageError> {
    if text.is_empty() {
        Err(UsageError("--report needs a directory".into()))
    } else {
        Ok(PathBuf::from(text))
    }
}

fn parse_report_check(args: &[String]) -> Result<Command, UsageError> {
    match args {
        [flag] if flag == "-h" || flag == "--help" => Ok(Command::Help(REPORT_CHECK_HELP)),
        [dir] if !dir.starts_with('-') => Ok(Command::ReportCheck {
            dir: PathBuf::from(dir),
        }),
        [] => Err(UsageError("report-check needs a report directory".into())),
        _ => Err(UsageError(
            "report-check takes one argument: a report directory".into(),
        )),
    }
}

/// Command-line flags, written `--flag value` or `--flag=value`.
struct Flags<'a>(std::slice::Iter<'a, String>);

impl<'a> Flags<'a> {
    /// The next flag, with the value written after its `=`, if any.
    fn next_flag(&mut self) -> Option<(&'a str, Option<String>)> {
        let arg = self.0.next()?;
        Some(match arg.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => (flag, Some(value.to_string())),
            _ => (arg.as_str(), None),
        })
    }

    /// A flag's value: the inline one, else the next argument.
    fn value(&mut self, name: &str, inline: Option<String>) -> Result<String, UsageError> {
        inline
            .or_else(|| self.0.next().cloned())
            .ok_or_else(|| UsageError(format!("{name} needs a value")))
    }
}

fn parse_options(args: &[String], help: &'static str) -> Result<Parsed, UsageError> {
    let mut seed = None;
    let mut scenario = SCENARIOS[0].name;
    let (mut report, mut force, mut safety_phase_s, mut json) = (None, false, None, false);
    let mut args = Flags(args.iter());
    while let Some((flag, inline)) = args.next_flag() {
        let has_value = inline.is_some();
        let mut value = |name: &str| args.value(name, inline.clone());
        match flag {
            "-h" | "--help" => return Ok(Parsed::Help(help)),
            "--seed" => {
                let text = value("--seed")?;
                let parsed = text.parse::<u64>().map_err(|_| {
                    UsageError(format!(
                        "--seed must be a non-negative whole number, got '{text}'"
                    ))
                })?;
                seed = Some(parsed);
            }
            "--scenario" => scenario = scenario_named(&value("--scenario")?)?,
            "--report" => report = Some(report_dir(value("--report")?)?),
            "--force" if has_value => return Err(UsageError("--force takes no value".into())),
            "--force" => force = true,
            "--safety-phase-s" => safety_phase_s = Some(parse_safety_phase(&value(flag)?)?),
            "--json" if has_value => return Err(UsageError("--json takes no value".into())),
            "--json" => json = true,
            other => return Err(UsageError(format!("unknown option '{other}' (try --help)"))),
        }
    }
    Ok(Parsed::Options(RunFlags {
        seed,
        scenario,
        report,
        force,
        safety_phase_s,
        json,
    }))
}

fn parse_safety_phase(text: &str) -> Result<u64, UsageError> {
    match text.parse::<u64>() {
        Ok(s) if (1..=SAFETY_PHASE_S_MAX).contains(&s) => Ok(s),
        _ => Err(UsageError(format!(
            "--safety-phase-s must be a whole number of seconds from 1 to {SAFETY_PHASE_S_MAX}, got '{text}'"
        ))),
    }
}

/// A built-in scenario by name, or a scenario file by path (anything ending in
/// `.toml` or naming a file). A file that does not parse or cannot run is a
/// usage error that says why, with its line.
fn scenario_named(name: &str) -> Result<&'static str, UsageError> {
    if let Some(found) = scenario::find(name) {
        return Ok(found.name);
    }
    if name.ends_with(".toml") || std::path::Path::new(name).is_file() {
        return scenario::load_file(name)
            .map(|s| s.name)
            .map_err(UsageError);
    }
    let names: Vec<&str> = SCENARIOS.iter().map(|s| s.name).collect();
    Err(UsageError(format!(
        "unknown scenario '{name}'; built-in scenarios: {} (or a scenario file, NAME.toml)",
        names.join(", ")
    )))
}

fn parse_sweep(args: &[String]) -> Result<Command, UsageError> {
    let (mut seeds, mut shard, mut jobs, mut json) = (None, None, None, false);
    let (mut report, mut force) = (None, false);
    let mut scenario = SCENARIOS[0].name;
    let mut args = Flags(args.iter());
    while let Some((flag, inline)) = args.next_flag() {
        let json_value = inline.is_some();
        let mut value = |name: &str| args.value(name, inline.clone());
        match flag {
            "-h" | "--help" => return Ok(Command::Help(SWEEP_HELP)),
            "--seeds" => seeds = Some(SeedRange::parse(&value("--seeds")?).map_err(UsageError)?),
            "--scenario" => scenario = scenario_named(&value("--scenario")?)?,
            "--jobs" => jobs = Some(parse_jobs(&value("--jobs")?)?),
            "--shard" => shard = Some(Shard::parse(&value("--shard")?).map_err(UsageError)?),
            "--json" if json_value => return Err(UsageError("--json takes no value".into())),
            "--json" => json = true,
            "--report" => report = Some(report_dir(value("--report")?)?),
            "--force" if json_value => return Err(UsageError("--force takes no value".into())),
            "--force" => force = true,
            other => return Err(UsageError(format!("unknown option '{other}' (try --help)"))),
        }
    }
    let range = seeds.ok_or_else(|| UsageError("sweep needs --seeds A..B".into()))?;
    Ok(Command::Sweep {
        scenario,
        selection: Selection { range, shard },
        jobs,
        json,
        report: report_target(report, force)?,
    })
}

fn parse_merge(args: &[String]) -> Result<Command, UsageError> {
    let (mut files, mut json) = (Vec::new(), false);
    let mut args = Flags(args.iter());
    while let Some((flag, inline)) = args.next_flag() {
        match flag {
            "-h" | "--help" => return Ok(Command::Help(MERGE_HELP)),
            "--json" if inline.is_some() => return Err(UsageError("--json takes no value".into())),
            "--json" => json = true,
            other if other.starts_with('-') => {
                return Err(UsageError(format!("unknown option '{other}' (try --help)")))
            }
            file => files.push(file.to_string()),
        }
    }
    if files.is_empty() {
        return Err(UsageError(
            "merge needs at least one FILE (a summary written by `kafkasim sweep --json`)".into(),
        ));
    }
    Ok(Command::Merge { files, json })
}

fn parse_bench(args: &[String]) -> Result<Command, UsageError> {
    let (mut seeds, mut json) = (crate::bench::DEFAULT_SEEDS, false);
    let mut args = Flags(args.iter());
    while let Some((flag, inline)) = args.next_flag() {
        let json_value = inline.is_some();
        let mut value = |name: &str| args.value(name, inline.clone());
        match flag {
            "-h" | "--help" => return Ok(Command::Help(BENCH_HELP)),
            "--seeds" => seeds = SeedRange::parse(&value("--seeds")?).map_err(UsageError)?,
            "--json" if json_value => return Err(UsageError("--json takes no value".into())),
            "--json" => json = true,
            other => return Err(UsageError(format!("unknown option '{other}' (try --help)"))),
        }
    }
    Ok(Command::Bench { seeds, json })
}

fn parse_jobs(text: &str) -> Result<usize, UsageError> {
    match text.parse::<usize>() {
        Ok(0) => Err(UsageError("--jobs must be at least 1, got '0'".into())),
        Ok(jobs) => Ok(jobs),
        Err(_) => Err(UsageError(format!(
            "--jobs must be a whole number of at least 1, got '{text}'"
        ))),
    }
}

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
    let width = SCENARIOS.iter().map(|s| s.name.len()).max().unwrap_or(0);
    SCENARIOS
        .iter()
        .map(|s| format!("{:<width$}  {}\n", s.name, s.summary))
        .collect()
}

/// Runs a parsed command, printing to stdout; returns the exit code.
pub fn execute(command: Command) -> i32 {
    match command {
        Command::Help(text) => {
            print!("{text}");
            EXIT_OK
        }
        Command::Scenarios => {
            print!("{}", scenarios_listing());
            EXIT_OK
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
                false => println!("{text}"),
            };
            let scenario = scenario::find(scenario).expect("parsed names exist");
            let expect = scenario.workload().and_then(|w| w.expect);
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
            let report = run_seed_with(seed, scenario, &options);
            let reproduced = expect.as_ref().map(|e| {
                let shown = crate::shrink::shown_kinds(&report);
                (e, shown.contains(&e.kind), shown)
            });
            if json {
                let expect = reproduced.as_ref().map(|(e, ok, _)| (e.kind.as_str(), *ok));
                print!("{}", crate::render::render_json(&report, expect));
            } else {
                let style = Style::choose(
                    std::io::stdout().is_terminal(),
                    std::env::var_os("NO_COLOR").as_deref(),
                );
                print!("{}", render_styled(&report, style));
                if let Some((expect, ok, shown)) = &reproduced {
                    println!("{}", expectation_line(&expect.kind, *ok, shown));
                }
            }
            if let Some(target) = &target {
                match write_report(&target.dir, &report) {
                    Ok(written) => note(format!("report: {}", written.index.display())),
                    Err(error) => return report_failed(&error),
                }
            }
            exit_code(&report.verdict)
        }
        Command::ReportCheck { dir } => match check_report(&dir) {
            Ok(checked) => {
                println!(
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
                eprintln!("error: {error}");
                EXIT_USAGE
            }
        },
        Command::Replay { seed, scenario } => {
            let scenario = scenario::find(scenario).expect("parsed names exist");
            let report = run_seed(seed, scenario, true);
            for line in &report.trace_lines {
                println!("{line}");
            }
            println!("trace hash {:016x}", report.trace_hash);
            exit_code(&report.verdict)
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
                scenario: scenario::find(scenario).expect("parsed names exist"),
                selection,
                jobs: jobs.unwrap_or_else(cores),
            };
            execute_sweep(&sweep, json, report.as_ref().map(|t| t.dir.as_path()))
        }
        Command::Shrink(args) => shrink::execute_shrink(args),
        Command::Merge { files, json } => execute_merge(&files, json),
        Command::Bench { seeds, json } => {
            quiet_panics_in_seeds();
            let mut progress = bench::StderrProgress::new(std::io::stderr().is_terminal());
            let figures = bench::run(seeds, &mut progress).figures();
            if json {
                print!("{}", bench::render_json(&figures));
            } else {
                print!("{}", bench::render_text(&figures));
            }
            EXIT_OK
        }
    }
}

/// Whether a run shows what its scenario file says it shows (`expect`): a file
/// written by `kafkasim shrink` that no longer reproduces is told as such.
fn expectation_line(
    kind: &str,
    reproduced: bool,
    shown: &std::collections::BTreeSet<String>,
) -> String {
    if reproduced {
        return format!("expected {kind}: reproduced");
    }
    let shows = match shown.is_empty() {
        true => "no anomaly".to_string(),
        false => shown.iter().cloned().collect::<Vec<_>>().join(", "),
    };
    format!(
        "expected {kind}: NOT reproduced (the run shows {shows}); this file no longer shows what it was written for"
    )
}

/// Prints why a report could not be written; a report error is an operator's.
fn report_failed(error: &ReportError) -> i32 {
    eprintln!("error: {error}");
    EXIT_USAGE
}

/// Runs a failing seed of a sweep again, capturing, and writes its report into
/// `dir/seed-N`.
fn write_seed_report(dir: &Path, sweep: &Sweep, seed: u64) -> Result<PathBuf, ReportError> {
    let seed_dir = dir.join(format!("seed-{seed}"));
    prepare_dir(&seed_dir, true)?;
    let options = RunOptions {
        capture: true,
        ..RunOptions::default()
    };
    let report: RunReport = run_seed_with(seed, sweep.scenario, &options);
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
        print!("{}", sweep::render_json(&summary));
    } else {
        print!("{}", sweep::render_text(&summary));
    }
    if let Some(dir) = report_dir {
        // Reports go to stderr's side, so `--json` output stays one JSON object.
        for failing in summary.failing() {
            match write_seed_report(dir, sweep, failing.seed) {
                Ok(index) => eprintln!("report: {}", index.display()),
                Err(error) => return report_failed(&error),
            }
        }
    }
    verdict_kind_exit_code(summary.worst())
}

/// Merges sweep summaries: a file that cannot be read or merged is an operator
/// mistake (exit code 2); otherwise the exit code is the worst merged verdict's.
fn execute_merge(files: &[String], json: bool) -> i32 {
    let merged = match merge::read_and_merge(files) {
        Ok(merged) => merged,
        Err(why) => {
            eprintln!("error: {why}");
            return EXIT_USAGE;
        }
    };
    if let Some(warning) = merged.warning() {
        eprintln!("warning: {warning}");
    }
    if json {
        print!("{}", merge::render_json(&merged));
    } else {
        print!("{}", merge::render_text(&merged));
    }
    verdict_kind_exit_code(merged.worst())
}

pub fn exit_code(verdict: &Verdict) -> i32 {
    match verdict {
        Verdict::Ok => EXIT_OK,
        Verdict::Failed(_) => EXIT_CORRECTNESS,
        Verdict::Stuck(_) => EXIT_LIVENESS,
        Verdict::Crash(_) => EXIT_CRASH,
    }
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

pub fn verdict_kind_exit_code(kind: VerdictKind) -> i32 {
    match kind {
        VerdictKind::Ok => EXIT_OK,
        VerdictKind::Correctness => EXIT_CORRECTNESS,
        VerdictKind::Liveness => EXIT_LIVENESS,
        VerdictKind::Crash => EXIT_CRASH,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn run_takes_a_seed_and_a_scenario() {
        assert_eq!(
            parse(&args("run --seed 7 --scenario quickstart")),
            Ok(Command::Run {
                seed: Some(7),
                scenario: "quickstart",
                report: None,
                safety_phase_ms: None,
                json: false,
            })
        );
        assert_eq!(
            parse(&args("run --seed=7")),
            Ok(Command::Run {
                seed: Some(7),
                scenario: "replicated",
                report: None,
                safety_phase_ms: None,
                json: false,
            })
        );
    }

    #[test]
    fn run_takes_a_report_directory_and_a_longer_safety_phase() {
        assert_eq!(
            parse(&args(
                "run --seed 3 --scenario standard --report out --force --safety-phase-s 240 --json"
            )),
            Ok(Command::Run {
                seed: Some(3),
                scenario: "standard",
                report: Some(ReportTarget {
                    dir: PathBuf::from("out"),
                    force: true
                }),
                safety_phase_ms: Some(240_000),
                json: true,
            })
        );
        assert_eq!(
            parse(&args("report-check out")),
            Ok(Command::ReportCheck {
                dir: PathBuf::from("out")
            })
        );
    }

    #[test]
    fn sweep_takes_a_range_a_scenario_jobs_a_shard_and_json() {
        assert_eq!(
            parse(&args(
                "sweep --seeds 1..=9 --scenario kip-101 --jobs 3 --shard 2/4 --json"
            )),
            Ok(Command::Sweep {
                scenario: "kip-101",
                selection: Selection {
                    range: SeedRange { start: 1, end: 10 },
                    shard: Some(Shard { index: 2, count: 4 }),
                },
                jobs: Some(3),
                json: true,
                report: None,
            })
        );
        assert_eq!(
            parse(&args("sweep --seeds=0..5")),
            Ok(Command::Sweep {
                scenario: "replicated",
                selection: Selection {
                    range: SeedRange { start: 0, end: 5 },
                    shard: None,
                },
                jobs: None,
                json: false,
                report: None,
            })
        );
    }

    #[test]
    fn merge_takes_files_and_json_and_bench_takes_seeds_and_json() {
        assert_eq!(
            parse(&args("merge a.json --json shards/b.json")),
            Ok(Command::Merge {
                files: vec!["a.json".into(), "shards/b.json".into()],
                json: true,
            })
        );
        assert_eq!(
            parse(&args("bench")),
            Ok(Command::Bench {
                seeds: crate::bench::DEFAULT_SEEDS,
                json: false,
            })
        );
        assert_eq!(
            parse(&args("bench --seeds=3..=4 --json")),
            Ok(Command::Bench {
                seeds: SeedRange { start: 3, end: 5 },
                json: true,
            })
        );
        assert_eq!(parse(&args("help merge")), Ok(Command::Help(MERGE_HELP)));
        assert_eq!(parse(&args("bench -h")), Ok(Command::Help(BENCH_HELP)));
    }

    #[test]
    fn the_worst_verdict_kind_is_the_highest_exit_code() {
        let codes: Vec<i32> = VerdictKind::ALL
            .into_iter()
            .map(verdict_kind_exit_code)
            .collect();
        assert_eq!(
            codes,
            [EXIT_OK, EXIT_CORRECTNESS, EXIT_LIVENESS, EXIT_CRASH]
        );
        assert!(codes.windows(2).all(|w| w[0] < w[1]), "severity order");
    }

    #[test]
    fn bad_input_is_a_one_line_usage_error() {
        for bad in [
            "run --seed x",
            "run --seed -1",
            "run --scenario nope",
            "run --bogus",
            "frobnicate",
            "run --seed",
            "replay",
            "sweep",
            "sweep --seeds 1-5",
            "sweep --seeds 10..3",
            "sweep --seeds 3..3",
            "sweep --seeds 1..4 --scenario nope",
            "sweep --seeds 1..4 --jobs 0",
            "sweep --seeds 1..4 --jobs x",
            "sweep --seeds 1..4 --shard 0/3",
            "sweep --seeds 1..4 --shard 4/3",
            "sweep --seeds 1..4 --shard x/y",
            "sweep --seeds 1..4 --json=yes",
            "merge",
            "merge --json",
            "merge a.json --bogus",
            "merge a.json --json=yes",
            "bench --seeds 10..3",
            "bench --seeds",
            "bench --jobs 2",
            "bench --json=yes",
            "run --force",
            "run --report",
            "run --report=",
            "run --report out --force=yes",
            "run --scenario quickstart --safety-phase-s 60",
            "run --json=yes",
            "replay --seed 1 --json",
            "run --scenario standard --safety-phase-s 0",
            "run --scenario standard --safety-phase-s x",
            "replay --seed 1 --report out",
            "sweep --seeds 1..4 --force",
            "report-check",
            "report-check a b",
        ] {
            let err = parse(&args(bad)).expect_err(bad);
            assert!(!err.0.contains('\n'), "{bad}: {}", err.0);
        }
    }
}
