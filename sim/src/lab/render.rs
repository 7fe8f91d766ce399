//! What `kafkasim lab list` and `kafkasim lab check` print.

use super::{Checked, Lab, Status, TestOutcome, TestResults};
use crate::render::counted;
use std::fmt::Write as _;

/// `kafkasim lab list`: one row a lab, with where it stands.
pub fn listing(rows: &[(&Lab, Status)]) -> String {
    let header = ["lab", "status", "file", "the rule"];
    let cells: Vec<[&str; 4]> = (rows.iter())
        .map(|(lab, status)| [lab.name, status.name(), lab.file, lab.rule])
        .collect();
    let width = |i: usize| {
        (cells.iter().map(|r| r[i].len()))
            .chain([header[i].len()])
            .max()
            .unwrap_or(0)
    };
    let (w0, w1, w2) = (width(0), width(1), width(2));
    std::iter::once(header)
        .chain(cells)
        .map(|[a, b, c, d]| format!("{a:<w0$}  {b:<w1$}  {c:<w2$}  {d}\n"))
        .collect()
}

/// The heading of `kafkasim lab check NAME`.
pub fn heading(lab: &Lab) -> String {
    format!(
        "lab {}: {}\nKafka: {}\nyour version: {} in {}\n",
        lab.name, lab.rule, lab.kafka, lab.function, lab.file
    )
}

/// The unit tests' lines, and what to do next when they do not all pass.
pub fn tests(lab: &Lab, results: &TestResults) -> String {
    let mut text = String::from("\nunit tests:\n");
    for (name, outcome) in results {
        let _ = match outcome {
            TestOutcome::Passed => writeln!(text, "  ok    {name}"),
            TestOutcome::NotImplemented => writeln!(text, "  todo  {name}: not implemented yet"),
            TestOutcome::Failed(why) => {
                let why = why.replace('\n', "\n        ");
                writeln!(text, "  FAIL  {name}\n        {why}")
            }
        };
    }
    let passed = (results.iter())
        .filter(|(_, o)| *o == TestOutcome::Passed)
        .count();
    let _ = match Status::of(results) {
        Status::Todo => writeln!(
            text,
            "\nnot implemented yet: {} in {} is still todo!(). Write it, then run this again.",
            lab.function, lab.file
        ),
        Status::Failing => writeln!(
            text,
            "\n{} of {} unit tests pass: fix {} in {} first; the sweep runs once they all pass.",
            passed,
            results.len(),
            lab.function,
            lab.file
        ),
        Status::TestsPass => writeln!(text, "\n{} pass.", counted(passed, "unit test")),
    };
    text
}

/// The sweep's result and, on a failure, the counterexample.
pub fn sweep(lab: &Lab, checked: &Checked) -> String {
    let mut text = String::new();
    let Some(summary) = &checked.sweep else {
        return text;
    };
    let failing = summary.failing().count();
    let _ = writeln!(
        text,
        "\nsweep: {} of {} with your {}:",
        counted(summary.results.len(), "seed"),
        lab.scenario_path,
        lab.function
    );
    if failing == 0 {
        let _ = writeln!(
            text,
            "  every seed ok.\n\npassed: your {} keeps Kafka's promises here. Kafka's own version: {}.",
            lab.function, lab.reference
        );
        return text;
    }
    let first = summary.failing().next().expect("a failing seed");
    let kinds: Vec<&str> = first.failing.iter().map(|k| k.name()).collect();
    let _ = writeln!(
        text,
        "  {failing} failing; the first, seed {}: {} ({})",
        first.seed,
        first.verdict.name(),
        kinds.join(", ")
    );
    match &checked.counterexample {
        Some(Ok(found)) => {
            let _ = writeln!(
                text,
                "\ncounterexample: seed {} shows {}, shrunk in {} runs from {} to {}:",
                found.seed,
                found.kind,
                found.runs,
                counted(found.faults_before, "fault"),
                found.faults.len()
            );
            for fault in &found.faults {
                let _ = writeln!(text, "  {}", fault.replace('\n', "\n  "));
            }
            if !found.finding.is_empty() {
                let _ = writeln!(text, "finding: {}", found.finding);
            }
            let _ = writeln!(text, "scenario file: {}", found.file.display());
            let _ = match &found.report {
                Ok(index) => writeln!(text, "report: {} (open it in a browser)", index.display()),
                Err(why) => writeln!(text, "report: not written: {why}"),
            };
            let _ = writeln!(text, "replay: {}", found.replay);
        }
        Some(Err(why)) => {
            let _ = writeln!(
                text,
                "\nthe seed could not be shrunk: {why}\nreplay: {}",
                first.replay
            );
        }
        None => {}
    }
    text
}
