//! The `kafkasim` command line: parse arguments, run, print, choose the exit code.
//!
//! Parsing is written out by hand so every mistake gets one clear line and exit
//! code 2, never a panic. Exit codes: 0 ok, 1 a correctness check failed,
//! 2 usage error, 3 liveness failure (the scenario got stuck), 4 crash.

use crate::render::render;
use crate::run::{run_seed, Verdict};
use crate::scenario::{self, SCENARIOS};

pub const EXIT_OK: i32 = 0;
pub const EXIT_CORRECTNESS: i32 = 1;
pub const EXIT_USAGE: i32 = 2;
pub const EXIT_LIVENESS: i32 = 3;
pub const EXIT_CRASH: i32 = 4;

pub const HELP: &str = "\
kafkasim: Apache Kafka in a deterministic network simulator

Usage: kafkasim <COMMAND> [OPTIONS]

Commands:
  run        Run a scenario with a seed; print its timeline and a trace hash
  replay     Run a seed and print its full trace, message by message
  scenarios  List the built-in scenarios
  help       Print this help, or the help of a command

The same seed always gives the same run, byte for byte.
Run `kafkasim <COMMAND> --help` for a command's options.

Exit codes: 0 ok, 1 correctness failure, 2 usage error, 3 liveness failure, 4 crash.
";

pub const RUN_HELP: &str = "\
Run a scenario with a seed; print its timeline and a trace hash

Usage: kafkasim run [--seed N] [--scenario NAME]

Options:
  --seed N           The simulation seed (a number). Without it, one is picked
                     and the command that replays it is printed.
  --scenario NAME    A built-in scenario (default: quickstart); see `kafkasim scenarios`
  -h, --help         Print this help
";

pub const REPLAY_HELP: &str = "\
Run a seed and print its full trace, message by message

Usage: kafkasim replay --seed N [--scenario NAME]

Options:
  --seed N           The simulation seed to replay (required)
  --scenario NAME    A built-in scenario (default: quickstart)
  -h, --help         Print this help
";

pub const SCENARIOS_HELP: &str = "\
List the built-in scenarios

Usage: kafkasim scenarios
";

/// What the command line asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Help(&'static str),
    Run {
        seed: Option<u64>,
        scenario: &'static str,
    },
    Replay {
        seed: u64,
        scenario: &'static str,
    },
    Scenarios,
}

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
            Some(other) => Err(UsageError(format!(
                "no such command '{other}'; commands: run, replay, scenarios"
            ))),
        },
        "run" => {
            let options = parse_options(rest, RUN_HELP)?;
            match options {
                Parsed::Help(help) => Ok(Command::Help(help)),
                Parsed::Options { seed, scenario } => Ok(Command::Run { seed, scenario }),
            }
        }
        "replay" => match parse_options(rest, REPLAY_HELP)? {
            Parsed::Help(help) => Ok(Command::Help(help)),
            Parsed::Options {
                seed: Some(seed),
                scenario,
            } => Ok(Command::Replay { seed, scenario }),
            Parsed::Options { seed: None, .. } => Err(UsageError("replay needs --seed N".into())),
        },
        "scenarios" => match rest.first().map(String::as_str) {
            None => Ok(Command::Scenarios),
            Some("-h" | "--help") => Ok(Command::Help(SCENARIOS_HELP)),
            Some(other) => Err(UsageError(format!(
                "scenarios takes no arguments, got '{other}'"
            ))),
        },
        other => Err(UsageError(format!(
            "no such command '{other}'; commands: run, replay, scenarios (try --help)"
        ))),
    }
}

enum Parsed {
    Help(&'static str),
    Options {
        seed: Option<u64>,
        scenario: &'static str,
    },
}

fn parse_options(args: &[String], help: &'static str) -> Result<Parsed, UsageError> {
    let mut seed = None;
    let mut scenario = SCENARIOS[0].name;
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => (flag, Some(value.to_string())),
            _ => (arg.as_str(), None),
        };
        let mut value = |name: &str| {
            inline
                .clone()
                .or_else(|| args.next().cloned())
                .ok_or_else(|| UsageError(format!("{name} needs a value")))
        };
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
            "--scenario" => {
                let name = value("--scenario")?;
                let found = scenario::find(&name).ok_or_else(|| {
                    let names: Vec<&str> = SCENARIOS.iter().map(|s| s.name).collect();
                    UsageError(format!(
                        "unknown scenario '{name}'; built-in scenarios: {}",
                        names.join(", ")
                    ))
                })?;
                scenario = found.name;
            }
            other => return Err(UsageError(format!("unknown option '{other}' (try --help)"))),
        }
    }
    Ok(Parsed::Options { seed, scenario })
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
    SCENARIOS
        .iter()
        .map(|s| format!("{:<12} {}\n", s.name, s.summary))
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
        Command::Run { seed, scenario } => {
            let picked = seed.is_none();
            let seed = seed.unwrap_or_else(fresh_seed);
            if picked {
                println!("no --seed given: picked seed {seed}");
            }
            let scenario = scenario::find(scenario).expect("parsed names exist");
            let report = run_seed(seed, scenario, false);
            print!("{}", render(&report));
            exit_code(&report.verdict)
        }
        Command::Replay { seed, scenario } => {
            let scenario = scenario::find(scenario).expect("parsed names exist");
            let report = run_seed(seed, scenario, true);
            for line in &report.trace_lines {
                println!("{line}");
            }
            println!("trace hash {:016x}", report.trace_hash);
            exit_code(&report.verdict)
        }
    }
}

pub fn exit_code(verdict: &Verdict) -> i32 {
    match verdict {
        Verdict::Ok => EXIT_OK,
        Verdict::Failed(_) => EXIT_CORRECTNESS,
        Verdict::Stuck(_) => EXIT_LIVENESS,
        Verdict::Crash(_) => EXIT_CRASH,
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
                scenario: "quickstart"
            })
        );
        assert_eq!(
            parse(&args("run --seed=7")),
            Ok(Command::Run {
                seed: Some(7),
                scenario: "quickstart"
            })
        );
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
        ] {
            let err = parse(&args(bad)).expect_err(bad);
            assert!(!err.0.contains('\n'), "{bad}: {}", err.0);
        }
    }
}
