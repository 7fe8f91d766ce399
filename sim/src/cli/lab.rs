//! `kafkasim lab list` and `kafkasim lab check`: carrying them out (their
//! flags are in `args.rs`; `lab run` is `run` with a lab's rules).

use super::stdout::out;
use super::{EXIT_CORRECTNESS, EXIT_OK};
use crate::lab::{self, render, CheckOptions, Lab, Progress, Status};
use crate::sweep::Progress as SweepProgress;
use std::io::IsTerminal as _;

/// Lists the labs, each with what its unit tests say of the learner's file.
pub(super) fn execute_list() -> i32 {
    let rows: Vec<(&Lab, Status)> = (lab::all().into_iter())
        .map(|lab| (lab, Status::of(&lab::run_tests(lab, &lab.learner_rules()))))
        .collect();
    out!("{}", render::listing(&rows));
    EXIT_OK
}

/// Checks the learner's version of `lab`'s rule: unit tests, then a sweep
/// (progress on stderr), then the first failing seed shrunk.
pub(super) fn execute_check(lab: &Lab, options: &CheckOptions) -> i32 {
    out!("{}", render::heading(lab));
    let stderr = std::io::stderr();
    let terminal = stderr.is_terminal();
    let mut sweep_progress = SweepProgress::new(stderr, terminal);
    let mut shrinking = false;
    let checked = lab::check(
        lab,
        lab.learner_rules(),
        options,
        &mut |progress| match progress {
            Progress::Sweep(tally) => sweep_progress.update(tally),
            Progress::Shrink(line) => {
                if !shrinking {
                    eprintln!();
                    shrinking = true;
                }
                eprintln!("shrink: {line}");
            }
        },
    );
    out!("{}", render::tests(lab, &checked.tests));
    out!("{}", render::sweep(lab, &checked));
    match checked.passed() {
        true => EXIT_OK,
        false => EXIT_CORRECTNESS,
    }
}
