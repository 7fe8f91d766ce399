//! `kafkasim shrink`: carrying it out (its flags are in `args.rs`).

use super::stdout::{self, out};
use super::{EXIT_OK, EXIT_USAGE};
use crate::scenario::Scenario;
use crate::shrink::{shrink, Request};
use kafkasim_check::Kind;
use std::path::Path;

/// What `kafkasim shrink` was asked.
#[derive(Debug, Clone, PartialEq)]
pub struct ShrinkArgs {
    pub seed: u64,
    pub scenario: Scenario,
    pub kind: Option<Kind>,
    pub max_runs: usize,
    /// Where to write the minimal file; `None`: stdout.
    pub out: Option<String>,
    /// Whether `out` may replace a file.
    pub force: bool,
}

/// Shrinks, printing each step on stderr and the minimal file on stdout (or
/// into `--out`). Nothing to shrink, or a file that cannot be written, is exit
/// code 2 with one line saying why.
pub(super) fn execute_shrink(args: ShrinkArgs) -> i32 {
    // Before the runs: a shrink takes minutes, and its result must have a place.
    if let Some(path) = &args.out {
        if let Err(why) = crate::files::check_output(Path::new(path), args.force) {
            stdout::error(format!("cannot write --out {path}: {why}"));
            return EXIT_USAGE;
        }
    }
    let request = Request {
        scenario: args.scenario.clone(),
        seed: args.seed,
        kind: args.kind,
        max_runs: args.max_runs,
    };
    let shrunk = match shrink(&request, &mut |line| eprintln!("{line}")) {
        Ok(shrunk) => shrunk,
        Err(why) => {
            stdout::error(why);
            return EXIT_USAGE;
        }
    };
    let text = shrunk.scenario_file(&args.scenario.name, args.seed);
    match &args.out {
        None => out!("{text}"),
        Some(path) => {
            if let Err(e) = crate::files::write(Path::new(path), text.as_bytes(), args.force) {
                // The file could be written a moment ago: the result is not
                // lost with it, it goes to stdout.
                out!("{text}");
                stdout::error(format!(
                    "cannot write --out {path}: {e}; the minimal file is on stdout"
                ));
                return EXIT_USAGE;
            }
        }
    }
    let expect = shrunk
        .workload
        .expect
        .as_ref()
        .expect("a shrunk workload expects");
    let faults = shrunk.fault_count();
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
