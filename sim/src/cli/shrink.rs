//! `kafkasim shrink`: parsing its flags and carrying it out.

use super::{scenario_named, Command, Flags, UsageError, EXIT_OK, EXIT_USAGE, SHRINK_HELP};
use crate::scenario;
use crate::shrink::{shrink, Request, MAX_RUNS_DEFAULT};

/// What `kafkasim shrink` was asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShrinkArgs {
    pub seed: u64,
    pub scenario: &'static str,
    pub kind: Option<String>,
    pub max_runs: usize,
    /// Where to write the minimal file; `None`: stdout.
    pub out: Option<String>,
}

pub(super) fn parse_shrink(args: &[String]) -> Result<Command, UsageError> {
    let (mut seed, mut kind, mut out) = (None, None, None);
    let mut scenario = "standard";
    let mut max_runs = MAX_RUNS_DEFAULT;
    let mut args = Flags(args.iter());
    while let Some((flag, inline)) = args.next_flag() {
        let mut value = |name: &str| args.value(name, inline.clone());
        match flag {
            "-h" | "--help" => return Ok(Command::Help(SHRINK_HELP)),
            "--seed" => seed = Some(number("--seed", &value("--seed")?)?),
            "--scenario" => scenario = scenario_named(&value("--scenario")?)?,
            "--kind" => kind = Some(value("--kind")?),
            "--max-runs" => match number("--max-runs", &value("--max-runs")?)? {
                0 => return Err(UsageError("--max-runs must be at least 1".into())),
                n => max_runs = n as usize,
            },
            "--out" => out = Some(value("--out")?),
            other => return Err(UsageError(format!("unknown option '{other}' (try --help)"))),
        }
    }
    let seed = seed.ok_or_else(|| UsageError("shrink needs --seed N (a failing seed)".into()))?;
    Ok(Command::Shrink(ShrinkArgs {
        seed,
        scenario,
        kind,
        max_runs,
        out,
    }))
}

fn number(flag: &str, text: &str) -> Result<u64, UsageError> {
    text.parse::<u64>().map_err(|_| {
        UsageError(format!(
            "{flag} must be a non-negative whole number, got '{text}'"
        ))
    })
}

/// Shrinks, printing each step on stderr and the minimal file on stdout (or
/// into `--out`). Nothing to shrink, or a file that cannot be written, is exit
/// code 2 with one line saying why.
pub(super) fn execute_shrink(args: ShrinkArgs) -> i32 {
    let scenario = scenario::find(args.scenario).expect("parsed names exist");
    let request = Request {
        scenario,
        seed: args.seed,
        kind: args.kind.clone(),
        max_runs: args.max_runs,
    };
    let shrunk = match shrink(&request, &mut |line| eprintln!("{line}")) {
        Ok(shrunk) => shrunk,
        Err(why) => {
            eprintln!("error: {why}");
            return EXIT_USAGE;
        }
    };
    let text = shrunk.scenario_file(args.scenario, args.seed);
    match &args.out {
        None => print!("{text}"),
        Some(path) => {
            if let Err(e) = std::fs::write(path, &text) {
                eprintln!("error: cannot write {path}: {e}");
                return EXIT_USAGE;
            }
        }
    }
    let expect = shrunk
        .workload
        .expect
        .as_ref()
        .expect("a shrunk workload expects");
    let faults = match &shrunk.workload.faults {
        crate::scenario::workload::FaultPlan::Schedule(s) => s.faults.len(),
        _ => 0,
    };
    eprintln!(
        "shrunk in {} runs: {} shows {} with seed {}; {} -> {faults} faults, {} -> {} acknowledged records",
        shrunk.runs,
        args.out.as_deref().unwrap_or("the file above"),
        shrunk.kind,
        expect.seed,
        shrunk.faults_before,
        shrunk.records_before,
        shrunk.records_after
    );
    EXIT_OK
}
