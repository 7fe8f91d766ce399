//! "Labs: write Kafka's rules yourself": `kafkasim lab list` and `lab check`
//! on the files as shipped, from the `kafkasim` binary itself; what a failing
//! unit test and a failing sweep print, from the library the binary uses.

use kafkasim::ids::Offset;
use kafkasim::rules::Rules;
use kafkasim_tools::lab::{self, render, CheckOptions};
use kafkasim_tools::sweep::SeedRange;
use std::path::Path;
use std::process::Command;

/// `kafkasim ARGS` from the repository's root, with its exit code.
fn kafkasim(args: &[&str]) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let output = Command::new(env!("CARGO_BIN_EXE_kafkasim"))
        .args(args)
        .current_dir(root)
        .output()
        .expect("the kafkasim binary runs");
    let stdout = String::from_utf8(output.stdout).expect("kafkasim prints UTF-8");
    let code = output.status.code().expect("an exit code");
    format!("$ kafkasim {}\n{stdout}$ echo $?\n{code}\n", args.join(" "))
}

/// `kafkasim lab list` on a fresh checkout: every lab still `todo!()`.
pub fn lab_list() -> String {
    kafkasim(&["lab", "list"])
}

/// `kafkasim lab check high-watermark` on a fresh checkout.
pub fn lab_check_todo() -> String {
    kafkasim(&["lab", "check", "high-watermark"])
}

/// A high watermark that follows the leader's log end, as a learner might
/// first write it.
fn leaders_log_end(_: Offset, leader_log_end_offset: Offset, _: &[Option<Offset>]) -> Offset {
    leader_log_end_offset
}

/// What `lab check high-watermark` prints for `leaders_log_end`.
pub fn lab_check_failing_tests() -> String {
    let lab = lab::named("high-watermark").expect("a lab");
    let rules = Rules {
        high_watermark: leaders_log_end,
        ..Rules::KAFKA
    };
    let results = lab::run_tests(lab, &rules);
    format!(
        "$ kafkasim lab check high-watermark\n{}{}",
        render::heading(lab),
        render::tests(lab, &results)
    )
}

/// What the sweep of `lab check high-watermark` prints for `leaders_log_end`,
/// past the unit tests, over seed 1, the counterexample written where `lab
/// check` writes it by default.
pub fn lab_check_failing_sweep() -> String {
    let lab = lab::named("high-watermark").expect("a lab");
    let rules = Rules {
        high_watermark: leaders_log_end,
        ..Rules::KAFKA
    };
    let scratch = Path::new(env!("CARGO_TARGET_TMPDIR")).join("book-labs");
    let _ = std::fs::remove_dir_all(&scratch);
    let options = CheckOptions {
        seeds: SeedRange { start: 1, end: 2 },
        jobs: 1,
        shrink_runs: 12,
        out: scratch.join("target/labs/high-watermark"),
    };
    let (sweep, counterexample) = lab::sweep_and_shrink(lab, rules, &options, &mut |_| {});
    let checked = lab::Checked {
        tests: vec![],
        sweep: Some(sweep),
        counterexample,
    };
    let text = render::sweep(lab, &checked);
    // The scratch directory stands where `lab check` runs: the repository.
    let shown = text.replace(&format!("{}/", scratch.display()), "");
    format!("$ kafkasim lab check high-watermark --seeds 1..2\n...{shown}")
}
