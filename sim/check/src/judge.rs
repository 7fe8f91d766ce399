//! The one judge: every run, however it was made, is judged here.
//!
//! The judge takes what a run leaves: its client history, what the driver
//! observed as the run went (broken invariants, divergent replicas at the end,
//! progress it waited for in vain, a panic) and the run's configuration. It
//! runs every checker over the history, decides for each finding whether the
//! configuration allows it ([`Config::allowances`]), and gives the verdict.
//!
//! A history with no send and no poll is not a pass: the checkers had nothing
//! to judge, and the judgement says so with an `empty-history` finding (a
//! liveness failure); nor is one whose sends and polls all came back empty
//! (`nothing-acknowledged`), unless the driver observed why the run never got
//! to its operations (a crash, the time limit, a failed setup).

use crate::allowed::Config;
use crate::checkers::check_history;
use crate::finding::{Class, Finding, Kind};
use crate::history::Entry;
use kafkasim::ids::{Offset, TopicPartition};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::fmt;

/// A run's verdict, by severity (and so by exit code).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    Ok,
    Correctness,
    Liveness,
    Crash,
}

impl Verdict {
    pub const ALL: [Verdict; 4] = [
        Verdict::Ok,
        Verdict::Correctness,
        Verdict::Liveness,
        Verdict::Crash,
    ];

    /// The exit code of a command whose worst run had this verdict: 0 ok,
    /// 1 correctness, 3 liveness, 4 crash (2 is the command line's own, for a
    /// usage error).
    pub fn exit_code(self) -> i32 {
        match self {
            Verdict::Ok => 0,
            Verdict::Correctness => 1,
            Verdict::Liveness => 3,
            Verdict::Crash => 4,
        }
    }

    /// The verdict of a run that these kinds of finding fail: a crash outranks
    /// a broken promise, which outranks slowness; `Ok` when nothing fails.
    /// Files that carry both a verdict and its failing kinds are checked
    /// against it when read back.
    pub fn of_failing(kinds: impl IntoIterator<Item = Kind>) -> Verdict {
        let classes: BTreeSet<Class> = kinds.into_iter().map(Kind::class).collect();
        if classes.contains(&Class::Crash) {
            Verdict::Crash
        } else if classes.contains(&Class::Correctness) {
            Verdict::Correctness
        } else if classes.contains(&Class::Liveness) {
            Verdict::Liveness
        } else {
            Verdict::Ok
        }
    }

    /// The word the text and the JSON use.
    pub fn name(self) -> &'static str {
        match self {
            Verdict::Ok => "ok",
            Verdict::Correctness => "correctness",
            Verdict::Liveness => "liveness",
            Verdict::Crash => "crash",
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Everything the judge found, allowed or failing, and the verdict.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Judgement {
    /// In the order found: the history's checkers, then what the driver observed.
    pub findings: Vec<Finding>,
}

impl Judgement {
    /// A crash outranks everything; a broken promise outranks slowness (the
    /// slowness is still listed).
    pub fn verdict(&self) -> Verdict {
        Verdict::of_failing(self.failing().map(|f| f.kind))
    }

    pub fn failing(&self) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(|f| !f.is_allowed())
    }

    pub fn allowed(&self) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(|f| f.is_allowed())
    }

    /// The kinds of every finding, allowed or failing.
    pub fn kinds(&self) -> BTreeSet<Kind> {
        self.findings.iter().map(|f| f.kind).collect()
    }

    /// The kinds that fail the run, each once, in the order first found, those
    /// of the verdict's class first.
    pub fn failing_kinds(&self) -> Vec<Kind> {
        let verdict_class = match self.verdict() {
            Verdict::Crash => Some(Class::Crash),
            Verdict::Correctness => Some(Class::Correctness),
            Verdict::Liveness => Some(Class::Liveness),
            Verdict::Ok => None,
        };
        let mut kinds: Vec<Kind> = Vec::new();
        let first = self
            .failing()
            .filter(|f| Some(f.kind.class()) == verdict_class);
        let rest = self
            .failing()
            .filter(|f| Some(f.kind.class()) != verdict_class);
        for finding in first.chain(rest) {
            if !kinds.contains(&finding.kind) {
                kinds.push(finding.kind);
            }
        }
        kinds
    }
}

/// Judges a run: the history's findings and what the driver `observed`, each
/// allowed or not by `config`.
pub fn judge(history: &[Entry], config: &Config, observed: Vec<Finding>) -> Judgement {
    let mut findings = check_history(history);
    written_off(&mut findings);
    if observed.iter().any(|f| CUT_SHORT.contains(&f.kind)) {
        // The run did not get to its operations, and says why.
        findings.retain(|f| !matches!(f.kind, Kind::EmptyHistory | Kind::NothingAcknowledged));
    }
    findings.extend(observed);
    for finding in &mut findings {
        finding.allowed = config.allowances(finding);
    }
    Judgement { findings }
}

/// What the driver observes of a run cut short: a panic, the time limit, a
/// setup that failed. Such a run's history is judged without its operations
/// (a crashed or timed-out run is judged by what was observed alone), so an
/// empty history says nothing more there.
const CUT_SHORT: [Kind; 3] = [Kind::Crash, Kind::RunTimedOut, Kind::SetupFailed];

/// Drops what a group "never processed" because the write itself is lost or
/// never seen: that is told once, by `lost-write` or `unseen`.
fn written_off(findings: &mut Vec<Finding>) {
    let gone: BTreeSet<(TopicPartition, Offset)> = (findings.iter())
        .filter(|f| matches!(f.kind, Kind::LostWrite | Kind::Unseen))
        .filter_map(|f| Some((f.partitions().first()?.clone(), *f.offsets().first()?)))
        .collect();
    findings.retain(|f| {
        f.kind != Kind::NeverProcessed
            || !gone.contains(&(f.partitions()[0].clone(), f.offsets()[0]))
    });
}

impl fmt::Display for Judgement {
    /// One line per finding, the failing first.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.findings.is_empty() {
            return writeln!(f, "no findings");
        }
        for finding in self.failing() {
            writeln!(f, "FAILS {finding}")?;
        }
        for finding in self.allowed() {
            let reasons: Vec<String> = finding.allowed.iter().map(ToString::to_string).collect();
            writeln!(
                f,
                "expected for this config ({}): {finding}",
                reasons.join("; ")
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod jepsen_cases;
#[cfg(test)]
mod tests;
