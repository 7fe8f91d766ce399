//! What `kafkasim sweep` prints: a text summary for people, or one JSON object for
//! scripts. Both are pure functions of a `SweepSummary`, so tests pin them without
//! running a single seed. `kafkasim merge` prints the same text after its own first
//! two lines (`Findings`), and reads the JSON back (`merge::SummaryFile`).
//!
//! Only the timing (wall time, seeds per second, workers) changes between two sweeps
//! of the same seeds; the JSON keeps it apart, under `timing`, so scripts can compare
//! the rest byte for byte.

use super::{SeedResult, SweepSummary};
use crate::render::counted;
use crate::scenario::{Body, Scenario};
use kafkasim_check::{Kind, Verdict};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// The summary lists at most this many failing seeds; the JSON lists every run.
pub const FAILING_SHOWN_MAX: usize = 10;

/// A reason longer than this is cut in the text summary (its replay shows it whole).
pub const REASON_CHARS_MAX: usize = 200;

/// The text summary `kafkasim sweep` prints on stdout.
pub fn render_text(summary: &SweepSummary) -> String {
    let mut out = String::new();
    let shard = summary
        .selection
        .shard
        .map_or(String::new(), |s| format!(", shard {s}"));
    let _ = writeln!(
        out,
        "sweep: scenario {}, seeds {}{shard}",
        summary.scenario, summary.selection.range
    );
    let _ = writeln!(
        out,
        "seeds run: {} ({}), wall time {:.3} s, {:.1} seeds/s",
        summary.results.len(),
        counted(summary.jobs, "job"),
        summary.wall.as_secs_f64(),
        summary.seeds_per_s(),
    );
    render_findings(&mut out, &Findings::of(summary));
    out
}

/// What both `sweep` and `merge` print after their first two lines: the verdict
/// counts, how many runs showed each anomaly and reached each goal, and the first
/// failing seeds.
pub(super) struct Findings<'a> {
    /// How many runs there were.
    pub(super) runs: usize,
    /// How many runs ended with each verdict, in the order of `Verdict::ALL`.
    pub(super) verdicts: [usize; 4],
    /// For each kind of allowed anomaly, how many runs showed it.
    pub(super) anomaly_runs: BTreeMap<String, usize>,
    /// For each "sometimes" goal, how many runs reached it.
    pub(super) goal_runs: BTreeMap<&'a str, usize>,
    /// How many runs failed.
    pub(super) failing: usize,
    /// The first failing runs, in seed order (at most `FAILING_SHOWN_MAX` are shown).
    pub(super) first_failing: Vec<Failing<'a>>,
}

/// A failing run as the summary lists it.
pub(super) struct Failing<'a> {
    pub(super) seed: u64,
    pub(super) verdict: &'a str,
    pub(super) reason: &'a str,
    pub(super) replay: &'a str,
}

impl<'a> Findings<'a> {
    fn of(summary: &'a SweepSummary) -> Self {
        Findings {
            runs: summary.results.len(),
            verdicts: Verdict::ALL.map(|kind| summary.count(kind)),
            anomaly_runs: (summary.anomaly_runs().into_iter())
                .map(|(kind, runs)| (kind.name().to_string(), runs))
                .collect(),
            goal_runs: summary.goal_runs(),
            failing: summary.failing().count(),
            first_failing: (summary.failing().take(FAILING_SHOWN_MAX))
                .map(|r| Failing {
                    seed: r.seed,
                    verdict: r.verdict.name(),
                    reason: &r.reason,
                    replay: &r.replay,
                })
                .collect(),
        }
    }
}

pub(super) fn render_findings(out: &mut String, findings: &Findings<'_>) {
    let counts: Vec<String> = (Verdict::ALL.iter().zip(findings.verdicts))
        .map(|(kind, count)| format!("{count} {}", kind.name()))
        .collect();
    let _ = writeln!(out, "verdicts: {}", counts.join(", "));
    render_anomalies(out, findings);
    render_goals(out, findings);
    render_failing(out, findings);
}

fn render_anomalies(out: &mut String, findings: &Findings<'_>) {
    let runs = &findings.anomaly_runs;
    if runs.is_empty() {
        let _ = writeln!(out, "allowed anomalies: none");
        return;
    }
    let _ = writeln!(out, "allowed anomalies (runs showing each kind):");
    render_run_counts(
        out,
        runs.iter().map(|(k, n)| (k.as_str(), *n)),
        findings.runs,
    );
}

/// How many runs reached each "sometimes" goal: a mix that never exercises
/// failover shows up here instead of passing silently.
fn render_goals(out: &mut String, findings: &Findings<'_>) {
    let runs = &findings.goal_runs;
    if runs.is_empty() {
        let _ = writeln!(out, "sometimes goals: none reached");
        return;
    }
    let _ = writeln!(out, "sometimes goals (runs reaching each):");
    render_run_counts(out, runs.iter().map(|(k, n)| (*k, *n)), findings.runs);
}

/// `  lost write  2 of 15 runs`, names padded to the longest.
fn render_run_counts<'a>(
    out: &mut String,
    counts: impl Iterator<Item = (&'a str, usize)> + Clone,
    total: usize,
) {
    let width = counts
        .clone()
        .map(|(k, _)| k.chars().count())
        .max()
        .unwrap_or(0);
    for (name, count) in counts {
        let _ = writeln!(
            out,
            "  {name:<width$}  {count} of {}",
            counted(total, "run")
        );
    }
}

fn render_failing(out: &mut String, findings: &Findings<'_>) {
    let failing = findings.failing;
    if failing == 0 {
        let _ = writeln!(out, "failing seeds: none");
        return;
    }
    let shown = failing
        .min(FAILING_SHOWN_MAX)
        .min(findings.first_failing.len());
    let _ = writeln!(out, "failing seeds (first {shown} of {failing}):");
    for result in &findings.first_failing[..shown] {
        let _ = writeln!(
            out,
            "  seed {}: {}: {}",
            result.seed,
            result.verdict,
            one_line(result.reason)
        );
        let _ = writeln!(out, "    replay: {}", result.replay);
    }
}

/// A reason on one line, cut at `REASON_CHARS_MAX` characters.
fn one_line(reason: &str) -> String {
    let flat = reason.split_whitespace().collect::<Vec<_>>().join(" ");
    match flat.char_indices().nth(REASON_CHARS_MAX) {
        Some((cut, _)) => format!("{}…", &flat[..cut]),
        None => flat,
    }
}

/// The object `kafkasim sweep --json` prints, on one line. Fields, in order:
#[derive(Debug, Serialize)]
pub struct SweepJson<'a> {
    /// The scenario's name: a built-in name, or a scenario file's path as given.
    pub scenario: &'a str,
    /// What the scenario is, whatever it is called: 16 hex digits (see
    /// [`scenario_hash`]). `kafkasim merge` merges only summaries that agree on it.
    pub scenario_hash: String,
    /// The seed range, half-open: seeds `start` up to `end - 1`.
    pub seeds: RangeJson,
    /// The shard that ran (`index` from 1, of `count`), or null for the whole range.
    pub shard: Option<ShardJson>,
    /// How many seeds ran.
    pub seeds_run: usize,
    /// How many runs ended with each verdict.
    pub verdicts: VerdictsJson,
    /// The worst verdict seen ("ok", "correctness", "liveness", "crash"); the exit
    /// code follows it.
    pub worst_verdict: &'static str,
    /// For each kind of allowed anomaly ("lost-write", "duplicate",
    /// "processed-again", …), how many runs showed it.
    pub allowed_anomalies: BTreeMap<Kind, usize>,
    /// For each "sometimes" goal ("leader changed", "rebalance completed", …), how
    /// many runs reached it.
    pub goals: BTreeMap<&'static str, usize>,
    /// The first failing seeds (at most `FAILING_SHOWN_MAX`), as the text lists them.
    pub first_failing: Vec<FailingJson<'a>>,
    /// Every run, sorted by seed.
    pub runs: Vec<RunJson<'a>>,
    /// How this sweep ran here: the only fields that differ between two sweeps of
    /// the same seeds.
    pub timing: TimingJson,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RangeJson {
    pub start: u64,
    pub end: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShardJson {
    pub index: u64,
    pub count: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerdictsJson {
    pub ok: usize,
    pub correctness: usize,
    pub liveness: usize,
    pub crash: usize,
}

#[derive(Debug, Serialize)]
pub struct FailingJson<'a> {
    pub seed: u64,
    pub verdict: &'static str,
    /// The kinds of the findings that fail it.
    pub kinds: &'a [Kind],
    /// The whole reason, uncut.
    pub reason: &'a str,
    /// The command that replays the run.
    pub replay: &'a str,
}

#[derive(Debug, Serialize)]
pub struct RunJson<'a> {
    pub seed: u64,
    pub verdict: &'static str,
    /// The trace hash as `kafkasim run` prints it: 16 hex digits.
    pub trace_hash: String,
    /// The kinds of the findings that fail it (empty when it passed).
    pub failing: &'a [Kind],
    /// The kinds of allowed anomaly this run showed.
    pub allowed_anomalies: Vec<Kind>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimingJson {
    /// Worker threads.
    pub jobs: usize,
    /// Real time the sweep took, in seconds.
    pub wall_time_s: f64,
    pub seeds_per_s: f64,
}

impl<'a> SweepJson<'a> {
    pub fn new(summary: &'a SweepSummary) -> Self {
        let selection = summary.selection;
        SweepJson {
            scenario: &summary.scenario,
            scenario_hash: format!("{:016x}", summary.scenario_hash),
            seeds: RangeJson {
                start: selection.range.start,
                end: selection.range.end,
            },
            shard: (selection.shard).map(|s| ShardJson {
                index: s.index,
                count: s.count,
            }),
            seeds_run: summary.results.len(),
            verdicts: VerdictsJson {
                ok: summary.count(Verdict::Ok),
                correctness: summary.count(Verdict::Correctness),
                liveness: summary.count(Verdict::Liveness),
                crash: summary.count(Verdict::Crash),
            },
            worst_verdict: summary.worst().name(),
            allowed_anomalies: summary.anomaly_runs(),
            goals: summary.goal_runs(),
            first_failing: (summary.failing().take(FAILING_SHOWN_MAX))
                .map(FailingJson::new)
                .collect(),
            runs: summary.results.iter().map(RunJson::new).collect(),
            timing: TimingJson {
                jobs: summary.jobs,
                wall_time_s: summary.wall.as_secs_f64(),
                seeds_per_s: summary.seeds_per_s(),
            },
        }
    }
}

impl<'a> FailingJson<'a> {
    fn new(result: &'a SeedResult) -> Self {
        FailingJson {
            seed: result.seed,
            verdict: result.verdict.name(),
            kinds: &result.failing,
            reason: &result.reason,
            replay: &result.replay,
        }
    }
}

impl<'a> RunJson<'a> {
    fn new(result: &'a SeedResult) -> Self {
        RunJson {
            seed: result.seed,
            verdict: result.verdict.name(),
            trace_hash: format!("{:016x}", result.trace_hash),
            failing: &result.failing,
            allowed_anomalies: result.anomaly_kinds.iter().copied().collect(),
        }
    }
}

/// What a scenario is, as a number: two sweeps with the same hash ran the same
/// runs for the same seeds, so their summaries may be merged. Its name cannot
/// tell: `s.toml` and `./s.toml` are one file, and two directories may each
/// hold a different `s.toml`.
///
/// A workload is hashed in its canonical form, the scenario file
/// `kafkasim shrink` would write of it (which reads back as the same workload),
/// so comments and layout do not count but every value that shapes a run does.
/// A story written as code is known by its built-in name. The hash is 64-bit
/// FNV-1a, chosen because it is the same on every machine and every build.
pub fn scenario_hash(scenario: &Scenario) -> u64 {
    let canonical = match &scenario.body {
        Body::Workload(workload) => crate::scenario::workload::file::to_toml(workload, &[], &[]),
        Body::Code { .. } => format!("built-in story written as code: {}", scenario.name),
    };
    fnv1a_64(canonical.as_bytes())
}

/// The 64-bit FNV-1a hash of `bytes`.
fn fnv1a_64(bytes: &[u8]) -> u64 {
    const OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    (bytes.iter()).fold(OFFSET_BASIS, |hash, &byte| {
        (hash ^ u64::from(byte)).wrapping_mul(PRIME)
    })
}

/// The JSON `kafkasim sweep --json` prints: one object, one line.
pub fn render_json(summary: &SweepSummary) -> String {
    let mut text = serde_json::to_string(&SweepJson::new(summary))
        .expect("plain structs of strings and numbers serialize");
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    /// The published FNV-1a test vectors: the hash is the same everywhere.
    #[test]
    fn fnv1a_gives_the_published_values() {
        assert_eq!(super::fnv1a_64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(super::fnv1a_64(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(super::fnv1a_64(b"foobar"), 0x8594_4171_f739_67e8);
    }
}
