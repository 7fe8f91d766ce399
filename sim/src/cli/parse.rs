//! From the words typed to a `Command`: clap reads them into `args::Cli`, this
//! module checks what spans more than one flag and says every mistake in one line.
//!
//! clap's own error pages (a message, a tip, the usage, a pointer to `--help`)
//! are replaced by one line built from the error's kind and context, so a usage
//! error reads the same for every command and fits a CI log line.

use super::args::{Cli, LabSub, RunFlags, Sub};
use super::{Command, ReportTarget, ShrinkArgs, UsageError, SWEEP_SEEDS_MAX};
use crate::scenario::Scenario;
use crate::sweep::{SeedRange, Selection, Shard};
use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::{CommandFactory as _, Parser as _};
use kafkasim::bugs::Bug;
use kafkasim_sim::TraceLines;
use std::error::Error as _;
use std::ffi::OsString;
use std::path::PathBuf;

/// Parses the arguments after the program name. Asking for help (`--help`,
/// `-h`, `help`, or no command at all) is `Command::Help` with the page to print.
pub fn parse<I, T>(args: I) -> Result<Command, UsageError>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString>,
{
    let args = utf8(args)?;
    let program = std::iter::once("kafkasim");
    match Cli::try_parse_from(program.chain(args.iter().map(String::as_str))) {
        Ok(cli) => command(cli),
        Err(error) if asks_for_help(error.kind()) => Ok(Command::Help(error.render().to_string())),
        Err(error) => Err(UsageError(one_line(
            &error,
            args.first().map(String::as_str),
        ))),
    }
}

/// `--help`, `-h`, `help [COMMAND]`, or no command at all.
fn asks_for_help(kind: ErrorKind) -> bool {
    matches!(
        kind,
        ErrorKind::DisplayHelp | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    )
}

/// The arguments as text. Every flag, name and path kafkasim takes is printed
/// back in reports and replay commands, so an argument that is not UTF-8 is
/// refused here rather than shown garbled later.
fn utf8<I, T>(args: I) -> Result<Vec<String>, UsageError>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString>,
{
    (args.into_iter().map(Into::into))
        .map(|arg| {
            arg.into_string().map_err(|arg| {
                UsageError(format!(
                    "argument '{}' is not valid UTF-8",
                    arg.to_string_lossy()
                ))
            })
        })
        .collect()
}

/// The `Command` for what clap read, with the checks that span flags.
fn command(cli: Cli) -> Result<Command, UsageError> {
    Ok(match cli.command {
        Sub::Run(flags) => run(flags)?,
        Sub::Replay(flags) => Command::Replay {
            seed: flags.seed,
            scenario: with_bugs(flags.scenario, flags.bugs),
            lines: if flags.debug {
                TraceLines::Debug
            } else {
                TraceLines::Readable
            },
        },
        Sub::Sweep(flags) => Command::Sweep {
            scenario: with_bugs(flags.scenario, flags.bugs),
            selection: sweep_selection(flags.seeds, flags.shard)?,
            jobs: flags.jobs,
            json: flags.json,
            report: report_target(flags.report, flags.force)?,
        },
        Sub::Shrink(flags) => {
            if flags.force && flags.out.is_none() {
                return Err(UsageError("--force goes with --out FILE".into()));
            }
            Command::Shrink(ShrinkArgs {
                seed: flags.seed,
                scenario: with_bugs(flags.scenario, flags.bugs),
                kind: flags.kind,
                max_runs: flags.max_runs,
                out: flags.out,
                force: flags.force,
            })
        }
        Sub::Merge(flags) => Command::Merge {
            files: flags.files,
            json: flags.json,
            allow_gaps: flags.allow_gaps,
        },
        Sub::Bench(flags) => Command::Bench {
            seeds: flags.seeds,
            json: flags.json,
        },
        Sub::Serve(flags) => Command::Serve(kafkasim_serve::ServeConfig {
            port: flags.port,
            brokers: flags.brokers,
            control_port: flags.control_port,
            ..kafkasim_serve::ServeConfig::default()
        }),
        Sub::Ctl(flags) => Command::Ctl {
            control_port: flags.control_port.unwrap_or(
                flags
                    .port
                    .saturating_add(kafkasim_serve::CONTROL_PORT_OFFSET),
            ),
            command: flags.command.join(" "),
        },
        Sub::Scenarios => Command::Scenarios,
        Sub::Bugs => Command::Bugs,
        Sub::Hunt(flags) => Command::Hunt(crate::hunt::Hunt {
            bugs: match flags.bugs.is_empty() {
                true => kafkasim::bugs::Bug::ALL.to_vec(),
                false => flags.bugs,
            },
            rounds: flags.rounds,
            max_seeds: flags.max_seeds,
            jobs: flags.jobs.unwrap_or(0),
            shrink_runs: flags.shrink_runs,
        }),
        Sub::ReportCheck(flags) => Command::ReportCheck { dir: flags.dir },
        Sub::Lab(flags) => lab(flags.command)?,
    })
}

/// `kafkasim lab …`: `lab run` is `run` with the lab's rules.
fn lab(command: LabSub) -> Result<Command, UsageError> {
    Ok(match command {
        LabSub::List => Command::LabList,
        LabSub::Check(flags) => Command::LabCheck {
            lab: flags.lab,
            options: crate::lab::CheckOptions {
                seeds: flags.seeds,
                jobs: flags.jobs.unwrap_or_else(super::cores),
                shrink_runs: flags.shrink_runs,
                out: (flags.out).unwrap_or_else(|| crate::lab::out_default(flags.lab)),
            },
        },
        LabSub::Run(flags) => {
            let lab = flags.lab;
            let rules = lab.with(lab.learner_rules());
            let scenario = match flags.scenario {
                Some(scenario) => scenario.with_lab(rules),
                None => lab.scenario(rules.rules),
            };
            let seed = match scenario.as_workload().and_then(|w| w.expect.as_ref()) {
                Some(_) => flags.seed,
                None => Some(flags.seed.unwrap_or(1)),
            };
            Command::Run {
                seed,
                scenario,
                report: report_target(flags.report, flags.force)?,
                safety_phase_ms: None,
                json: false,
            }
        }
    })
}

/// `scenario` with the `--bug` switches on.
fn with_bugs(scenario: Scenario, bugs: Vec<Bug>) -> Scenario {
    scenario.with_bugs(bugs.into_iter().collect())
}

/// The seeds a sweep runs: at most `SWEEP_SEEDS_MAX` of them.
fn sweep_selection(range: SeedRange, shard: Option<Shard>) -> Result<Selection, UsageError> {
    let selection = Selection { range, shard };
    match selection.len() {
        n if n > SWEEP_SEEDS_MAX => Err(UsageError(format!(
            "--seeds {range} selects {n} seeds; a sweep runs at most {SWEEP_SEEDS_MAX} \
             (split the range with --shard I/N and join the summaries with kafkasim merge)"
        ))),
        _ => Ok(selection),
    }
}

fn run(flags: RunFlags) -> Result<Command, UsageError> {
    let is_workload = flags.scenario.as_workload().is_some();
    let safety_phase_ms = match flags.safety_phase_s {
        Some(_) if !is_workload => {
            return Err(UsageError(
                "--safety-phase-s applies only to workloads: standard, replicated, groups or a scenario file".into(),
            ))
        }
        Some(s) => Some(s * 1000),
        None => None,
    };
    Ok(Command::Run {
        seed: flags.seed,
        scenario: with_bugs(flags.scenario, flags.bugs),
        report: report_target(flags.report, flags.force)?,
        safety_phase_ms,
        json: flags.json,
    })
}

/// `--report DIR` with `--force`; `--force` alone is a mistake.
fn report_target(dir: Option<PathBuf>, force: bool) -> Result<Option<ReportTarget>, UsageError> {
    match dir {
        Some(dir) => Ok(Some(ReportTarget { dir, force })),
        None if force => Err(UsageError("--force goes with --report DIR".into())),
        None => Ok(None),
    }
}

/// A clap error in one line, from its kind and context. `command` is the first
/// argument typed: the command's name whenever a command's flag is missing, as
/// `kafkasim` itself takes no flag but `--help`.
fn one_line(error: &clap::Error, command: Option<&str>) -> String {
    let context = |kind| match error.get(kind) {
        Some(ContextValue::String(text)) => text.clone(),
        Some(ContextValue::Strings(texts)) => texts.join(" and "),
        _ => String::new(),
    };
    let (arg, value) = (
        context(ContextKind::InvalidArg),
        context(ContextKind::InvalidValue),
    );
    let command = command.unwrap_or("kafkasim");
    match error.kind() {
        // A value parser's own message, which names its flag (`values.rs`).
        ErrorKind::ValueValidation => match error.source() {
            Some(why) => why.to_string(),
            None => format!("{arg}: invalid value '{value}'"),
        },
        ErrorKind::InvalidValue if value.is_empty() => format!("{arg} needs a value"),
        ErrorKind::UnknownArgument if arg.starts_with('-') => {
            let suggested = context(ContextKind::SuggestedArg);
            match suggested.is_empty() {
                true => format!("unknown option '{arg}' (try --help)"),
                false => format!("unknown option '{arg}'; did you mean '{suggested}'?"),
            }
        }
        ErrorKind::UnknownArgument => format!("unexpected argument '{arg}' (try --help)"),
        ErrorKind::InvalidSubcommand => {
            let typed = context(ContextKind::InvalidSubcommand);
            let commands: Vec<String> = (Cli::command().get_subcommands())
                .map(|c| c.get_name().to_string())
                .collect();
            format!(
                "no such command '{typed}'; commands: {} (try --help)",
                commands.join(", ")
            )
        }
        ErrorKind::MissingRequiredArgument => format!("{command} needs {arg}"),
        ErrorKind::ArgumentConflict if arg == context(ContextKind::PriorArg) => {
            format!("{arg} is given more than once; give it once")
        }
        ErrorKind::ArgumentConflict => format!(
            "{arg} cannot be used with {}",
            context(ContextKind::PriorArg)
        ),
        ErrorKind::TooManyValues if value.is_empty() => format!("{arg} takes no value"),
        ErrorKind::TooManyValues => format!("{arg} takes no value, got '{value}'"),
        // Kinds kafkasim's flags do not lead to; clap's description still says why.
        kind => {
            let why = kind.as_str().unwrap_or("invalid arguments");
            match arg.is_empty() {
                true => format!("{why} (try --help)"),
                false => format!("{arg}: {why} (try --help)"),
            }
        }
    }
}

#[cfg(test)]
mod tests;
