//! `kafkasim lab`: a learner writes one of Kafka's rules, the model runs with it.
//!
//! A lab is one rule of [`kafkasim::rules::Rules`], a file of the
//! `kafkasim-labs` crate (`labs/src/`) where the learner writes their version
//! of it, unit tests, and a scenario with faults that the rule matters to.
//! Checking a lab swaps the learner's function into the rules the cluster and
//! its clients run with (nothing in the model changes) and then:
//!
//! 1. runs the unit tests in-process, each on a thread of its own so that a
//!    panic (an `assert!` failing, or a body still `todo!()`) is caught and
//!    told, not printed raw;
//! 2. if they pass, sweeps the lab's scenario over many seeds;
//! 3. if a seed fails, shrinks it to the fewest faults that still fail the same
//!    way, writes that scenario file and a report of its run, and says how to
//!    replay it (`kafkasim lab run NAME --seed N --scenario FILE`).
//!
//! The unit tests are the first judge of exactness: a partitioner that puts
//! keys in other partitions than Kafka's, or a range assignor that gives the
//! extra partitions to the last members, keeps every promise a run can check,
//! so only the tests catch it. The sweep catches what breaks a promise: lost
//! acknowledged writes, records never processed, duplicates, a crash.
//!
//! Each lab's definition (its unit tests, its scenario) lives in `lab/NAME.rs`.

use crate::run::{run_scenario, RunOptions};
use crate::scenario::{workload, LabRules, Scenario};
use crate::shrink::{self, Request};
use crate::sweep::{self, SeedRange, Selection, Sweep, SweepSummary, Tally};
use kafkasim::rules::Rules;
use kafkasim_check::Kind;
use std::path::{Path, PathBuf};

mod high_watermark;
mod partitioner;
mod range_assignor;
pub mod render;
mod sequence_check;
mod truncation;

/// One unit test of a lab: it asserts (panics) when the rule it is given is
/// wrong.
pub struct UnitTest {
    pub name: &'static str,
    pub run: fn(&Rules),
}

/// One lab.
pub struct Lab {
    /// What `kafkasim lab check` takes.
    pub name: &'static str,
    /// The rule, in a few words.
    pub rule: &'static str,
    /// Where Kafka decides it.
    pub kafka: &'static str,
    /// The learner's file, from the repository's root.
    pub file: &'static str,
    /// The function to write in it.
    pub function: &'static str,
    /// The model's own version, for after the learner's attempt.
    pub reference: &'static str,
    /// `rules` with the learner's function in.
    pub learner: fn(Rules) -> Rules,
    pub tests: &'static [UnitTest],
    /// The scenario swept: its path (its name, so replay commands work from
    /// the repository's root) and its text.
    pub scenario_path: &'static str,
    pub scenario_text: &'static str,
}

impl std::fmt::Debug for Lab {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Lab({})", self.name)
    }
}

impl PartialEq for Lab {
    fn eq(&self, other: &Lab) -> bool {
        self.name == other.name
    }
}

impl Lab {
    /// The rules with the learner's version in.
    pub fn learner_rules(&self) -> Rules {
        (self.learner)(Rules::KAFKA)
    }

    /// The lab's scenario, run with `rules`.
    pub fn scenario(&self, rules: Rules) -> Scenario {
        let workload = workload::file::parse(self.scenario_text)
            .unwrap_or_else(|e| panic!("a lab's scenario file is valid: {e}"));
        Scenario::workload(self.scenario_path, workload).with_lab(self.with(rules))
    }

    /// `rules` as this lab's.
    pub fn with(&self, rules: Rules) -> LabRules {
        LabRules {
            lab: self.name,
            rules,
        }
    }
}

/// Every lab, in the order `kafkasim lab list` shows them.
pub fn all() -> [&'static Lab; 5] {
    [
        &partitioner::LAB,
        &high_watermark::LAB,
        &truncation::LAB,
        &range_assignor::LAB,
        &sequence_check::LAB,
    ]
}

/// The lab called `name`.
pub fn named(name: &str) -> Option<&'static Lab> {
    all().into_iter().find(|lab| lab.name == name)
}

/// The labs' names, for an error that lists them.
pub fn names() -> Vec<&'static str> {
    all().iter().map(|lab| lab.name).collect()
}

/// How one unit test went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TestOutcome {
    Passed,
    /// The function still panics with `todo!()`.
    NotImplemented,
    /// It panicked: an assertion of the test, or the function itself.
    Failed(String),
}

/// The unit tests' outcomes, each with its test's name.
pub type TestResults = Vec<(&'static str, TestOutcome)>;

/// Runs every unit test of `lab` against `rules`.
pub fn run_tests(lab: &Lab, rules: &Rules) -> TestResults {
    quiet_panics_in_labs();
    (lab.tests.iter())
        .map(|test| (test.name, run_test(test, rules)))
        .collect()
}

/// The message `todo!()` panics with starts with this.
const TODO_PANIC: &str = "not yet implemented";

fn run_test(test: &UnitTest, rules: &Rules) -> TestOutcome {
    let (run, rules) = (test.run, *rules);
    let thread = std::thread::Builder::new()
        .name(format!("lab-test-{}", test.name))
        .spawn(move || run(&rules))
        .expect("the OS can start a thread");
    match thread.join() {
        Ok(()) => TestOutcome::Passed,
        Err(payload) => {
            let message = (payload.downcast_ref::<&str>().map(|s| s.to_string()))
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "it panicked".to_string());
            match message.starts_with(TODO_PANIC) {
                true => TestOutcome::NotImplemented,
                false => TestOutcome::Failed(message),
            }
        }
    }
}

/// A panic in a unit test or a seed is its outcome, told by `lab check`:
/// threads named `lab-test-…` and `seed-…` panic quietly, any other as usual.
fn quiet_panics_in_labs() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let default_hook = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let thread = std::thread::current();
            let name = thread.name().unwrap_or("");
            if !(name.starts_with("lab-test-") || name.starts_with("seed-")) {
                default_hook(info);
            }
        }));
    });
}

/// Where a lab stands: what `kafkasim lab list` shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Every unit test meets a `todo!()`.
    Todo,
    /// Some unit test fails (or some still meet a `todo!()`).
    Failing,
    /// Every unit test passes (the sweep is `lab check`'s).
    TestsPass,
}

impl Status {
    pub fn of(results: &TestResults) -> Status {
        let all = |outcome: fn(&TestOutcome) -> bool| results.iter().all(|(_, o)| outcome(o));
        if all(|o| *o == TestOutcome::NotImplemented) {
            Status::Todo
        } else if all(|o| *o == TestOutcome::Passed) {
            Status::TestsPass
        } else {
            Status::Failing
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Status::Todo => "todo",
            Status::Failing => "unit tests fail",
            Status::TestsPass => "unit tests pass",
        }
    }
}

/// How `lab check` sweeps and shrinks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckOptions {
    pub seeds: SeedRange,
    pub jobs: usize,
    /// The most runs the shrink of a failing seed takes.
    pub shrink_runs: usize,
    /// Where the counterexample and its report go (`DIR/minimal.toml`,
    /// `DIR/report/`).
    pub out: PathBuf,
}

/// The seeds `lab check` sweeps unless told otherwise.
pub const SEEDS_DEFAULT: SeedRange = SeedRange { start: 1, end: 201 };
/// The most runs `lab check` shrinks a failing seed with unless told otherwise.
pub const SHRINK_RUNS_DEFAULT: usize = 100;

/// Where `lab check NAME` writes a counterexample unless told otherwise.
pub fn out_default(lab: &Lab) -> PathBuf {
    Path::new("target").join("labs").join(lab.name)
}

/// What `lab check` found.
#[derive(Debug)]
pub struct Checked {
    pub tests: TestResults,
    /// Run only when every unit test passed.
    pub sweep: Option<SweepSummary>,
    /// The first failing seed, shrunk.
    pub counterexample: Option<Result<Counterexample, String>>,
}

impl Checked {
    pub fn status(&self) -> Status {
        Status::of(&self.tests)
    }

    /// Whether the rule passed everything `lab check` tried.
    pub fn passed(&self) -> bool {
        self.status() == Status::TestsPass
            && self
                .sweep
                .as_ref()
                .is_some_and(|s| s.failing().count() == 0)
    }
}

/// A failing seed made small, written out, with its report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Counterexample {
    pub seed: u64,
    pub kind: Kind,
    /// What the first finding of that kind in the shrunk run says.
    pub finding: String,
    pub faults_before: usize,
    /// What each remaining fault does (see `shrink::explain`).
    pub faults: Vec<String>,
    pub runs: usize,
    pub file: PathBuf,
    /// The report's page; `Err` says why it could not be written.
    pub report: Result<PathBuf, String>,
    pub replay: String,
}

/// Checks `rules` (a learner's, or any other) as `lab`'s: unit tests, then
/// sweep, then shrink. `progress` hears the sweep's tally and each shrink step.
pub fn check(
    lab: &Lab,
    rules: Rules,
    options: &CheckOptions,
    progress: &mut dyn FnMut(Progress),
) -> Checked {
    let tests = run_tests(lab, &rules);
    if Status::of(&tests) != Status::TestsPass {
        return Checked {
            tests,
            sweep: None,
            counterexample: None,
        };
    }
    let (sweep, counterexample) = sweep_and_shrink(lab, rules, options, progress);
    Checked {
        tests,
        sweep: Some(sweep),
        counterexample,
    }
}

/// What a check is doing, for the progress lines.
pub enum Progress<'a> {
    Sweep(&'a Tally),
    Shrink(&'a str),
}

/// The sweep and, on a failing seed, the shrink: `lab check` past its unit
/// tests (a test can check a rule the unit tests would stop).
pub fn sweep_and_shrink(
    lab: &Lab,
    rules: Rules,
    options: &CheckOptions,
    progress: &mut dyn FnMut(Progress),
) -> (SweepSummary, Option<Result<Counterexample, String>>) {
    quiet_panics_in_labs();
    let scenario = lab.scenario(rules);
    let sweep = Sweep {
        scenario: scenario.clone(),
        selection: Selection {
            range: options.seeds,
            shard: None,
        },
        jobs: options.jobs.max(1),
    };
    let summary = sweep::run(&sweep, &mut |tally| progress(Progress::Sweep(tally)));
    let counterexample = (summary.failing().next()).map(|failing| {
        let seed = failing.seed;
        shrink_seed(lab, &scenario, seed, options, progress)
    });
    (summary, counterexample)
}

fn shrink_seed(
    lab: &Lab,
    scenario: &Scenario,
    seed: u64,
    options: &CheckOptions,
    progress: &mut dyn FnMut(Progress),
) -> Result<Counterexample, String> {
    let request = Request {
        scenario: scenario.clone(),
        seed,
        kind: None,
        max_runs: options.shrink_runs,
    };
    let shrunk = shrink::shrink(&request, &mut |line| progress(Progress::Shrink(line)))?;
    std::fs::create_dir_all(&options.out)
        .map_err(|e| format!("cannot create {}: {e}", options.out.display()))?;
    let file = options.out.join("minimal.toml");
    let name = file.display().to_string();
    let faults: Vec<String> = match &shrunk.workload.faults {
        workload::FaultPlan::Schedule(s) => s.faults.iter().map(shrink::explain).collect(),
        _ => vec![],
    };
    let header = vec![
        format!(
            "A counterexample to {}'s rule in {}: it shows {} with seed {seed}.",
            lab.name, lab.file, shrunk.kind
        ),
        format!(
            "Replay it with your rule: `kafkasim lab run {} --seed {seed} --scenario {name}`",
            lab.name
        ),
        "(`kafkasim run` would run it with Kafka's rule, which passes.)".to_string(),
    ];
    let text = workload::file::to_toml(&shrunk.workload, &header, &faults);
    crate::files::write(&file, text.as_bytes(), true)
        .map_err(|e| format!("cannot write {name}: {e}"))?;
    let minimal = Scenario::workload(&name, shrunk.workload.clone())
        .with_lab(lab.with(scenario_rules(scenario)));
    let options_run = RunOptions {
        capture: true,
        ..RunOptions::default()
    };
    let report = run_scenario(seed, &minimal, &options_run);
    let finding = (report.judgement.failing())
        .chain(report.judgement.allowed())
        .find(|f| f.kind == shrunk.kind)
        .map_or_else(String::new, ToString::to_string);
    let report_dir = options.out.join("report");
    let written = crate::report::prepare_dir(&report_dir, true)
        .and_then(|()| crate::report::write_report(&report_dir, &report))
        .map(|w| w.index)
        .map_err(|e| e.to_string());
    Ok(Counterexample {
        seed,
        kind: shrunk.kind,
        finding,
        faults_before: shrunk.faults_before,
        faults,
        runs: shrunk.runs,
        file,
        report: written,
        replay: crate::render::replay_command(&report),
    })
}

/// The rules a lab's scenario runs with.
fn scenario_rules(scenario: &Scenario) -> Rules {
    scenario.lab.map_or(Rules::KAFKA, |lab| lab.rules)
}
