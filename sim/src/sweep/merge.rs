//! `kafkasim merge`: the summaries of several sweeps as one.
//!
//! A sweep too big for one machine runs as shards (`--shard I/N`), each on its own
//! machine, each writing what `kafkasim sweep --json` prints. `merge` reads those
//! files and prints the summary one sweep of all their seeds would have printed:
//! as text, or as the same JSON, so that merges can be merged again.
//!
//! Each file is read back whole before anything is merged (see `read`): a
//! regular file of at most `SUMMARY_BYTES_MAX` bytes, with exactly the fields
//! `sweep --json` writes, each of its type and range, and holding together (its
//! counts are those of its runs, its shard's seeds are the ones it ran, a run's
//! verdict is the one its failing kinds give). The first problem is refused in
//! one line that names the file and the field.
//!
//! The files must be of one scenario, told by `scenario_hash` (what the scenario
//! is) rather than by `scenario` (what it was called: `s.toml` and `./s.toml`
//! are one file); the merge takes the first file's name. They must not share a
//! seed (a seed run twice would be counted twice). Seeds missing between the
//! lowest start and the highest end of the files' ranges (a shard that never ran,
//! a gap between two ranges) make the merge an error, since a summary of a range
//! that covers fewer seeds than the range says is a wrong answer; with
//! `allow_gaps` they are told in a warning instead, and the merge goes on.
//!
//! How each field is merged: `runs` are joined and sorted by seed; `seeds_run`,
//! `verdicts`, `worst_verdict` and `allowed_anomalies` are counted again from them;
//! `goals` are summed (a summary counts goals per sweep, not per run);
//! `first_failing` takes the first failing seeds of all the files' own lists (each
//! holds its file's first ones, so together they hold the merged first ones);
//! `seeds` is the lowest start to the highest end; `shard` is null. Only `timing`
//! differs from the summary of one sweep: `jobs` and `wall_time_s` are the sums
//! over the files (the real time all shards took, one after the other), and
//! `seeds_per_s` is the seeds run over that summed time. Every sum is checked: one
//! too large for its type (a `jobs` past `usize`, a wall time past what an `f64`
//! holds) refuses the merge rather than wrap or print `null`, so what `merge`
//! writes always reads back.

use super::summary::{
    render_findings, Failing, Findings, RangeJson, ShardJson, TimingJson, VerdictsJson,
    FAILING_SHOWN_MAX,
};
use super::SeedRange;
use crate::render::counted;
use kafkasim_check::{Kind, Verdict as VerdictKind};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt::Write as _;

mod read;

/// The largest summary file `merge` reads: about two million runs. A summary is
/// one line of JSON, so this bounds its line as well.
pub const SUMMARY_BYTES_MAX: u64 = 256 << 20;

/// A summary as `kafkasim sweep --json` prints it, read back (fields in its order).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SummaryFile {
    pub scenario: String,
    pub scenario_hash: String,
    pub seeds: RangeJson,
    pub shard: Option<ShardJson>,
    pub seeds_run: usize,
    pub verdicts: VerdictsJson,
    pub worst_verdict: VerdictKind,
    pub allowed_anomalies: BTreeMap<Kind, usize>,
    pub goals: BTreeMap<String, usize>,
    pub first_failing: Vec<FailingRun>,
    pub runs: Vec<Run>,
    pub timing: TimingJson,
}

/// One of a summary's `first_failing`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FailingRun {
    pub seed: u64,
    pub verdict: VerdictKind,
    pub kinds: Vec<Kind>,
    pub reason: String,
    pub replay: String,
}

/// One of a summary's `runs`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Run {
    pub seed: u64,
    pub verdict: VerdictKind,
    pub trace_hash: String,
    pub failing: Vec<Kind>,
    pub allowed_anomalies: Vec<Kind>,
}

/// A summary file's name (as given on the command line) and its contents.
#[derive(Debug, Clone)]
pub struct Input {
    pub name: String,
    pub text: String,
}

/// What `merge` found.
#[derive(Debug, Clone, PartialEq)]
pub struct Merged {
    /// The merged summary.
    pub summary: SummaryFile,
    /// How many files were merged.
    pub files: usize,
    /// The seeds of the merged range that no file ran, as half-open runs of
    /// consecutive seeds.
    pub missing: Vec<SeedRange>,
}

/// Reads the files at `paths` and merges them. Seeds of the merged range that
/// no file ran are an error unless `allow_gaps`.
pub fn read_and_merge(paths: &[String], allow_gaps: bool) -> Result<Merged, String> {
    let inputs = (paths.iter())
        .map(|path| {
            let text = crate::input::read_text(std::path::Path::new(path), SUMMARY_BYTES_MAX)?;
            Ok(Input {
                name: path.clone(),
                text,
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    let merged = merge(&inputs)?;
    match merged.warning() {
        Some(gaps) if !allow_gaps => Err(format!("{gaps}; pass --allow-gaps to merge them anyway")),
        _ => Ok(merged),
    }
}

/// Merges summaries; an error (one line) names the file, or the files, at fault.
/// Seeds no file ran are in `Merged::missing`: the caller decides.
pub fn merge(inputs: &[Input]) -> Result<Merged, String> {
    let Some(first) = inputs.first() else {
        return Err("nothing to merge: give at least one summary file".into());
    };
    let files: Vec<SummaryFile> = inputs.iter().map(read::parse).collect::<Result<_, _>>()?;
    let hash = &files[0].scenario_hash;
    if let Some((input, other)) =
        (inputs.iter().zip(&files)).find(|(_, f)| &f.scenario_hash != hash)
    {
        return Err(format!(
            "the files are of different scenarios: {} is of {} (scenario_hash {hash}), {} of {} (scenario_hash {})",
            first.name, files[0].scenario, input.name, other.scenario, other.scenario_hash
        ));
    }
    refuse_overlaps(inputs, &files)?;

    let mut runs: Vec<Run> = files.iter().flat_map(|f| f.runs.iter().cloned()).collect();
    runs.sort_by_key(|r| r.seed);
    let count = |kind| runs.iter().filter(|r| r.verdict == kind).count();
    let mut allowed_anomalies = BTreeMap::new();
    for kind in runs.iter().flat_map(|r| &r.allowed_anomalies) {
        *allowed_anomalies.entry(*kind).or_insert(0) += 1;
    }
    let mut first_failing: Vec<FailingRun> = (files.iter())
        .flat_map(|f| f.first_failing.iter().cloned())
        .collect();
    first_failing.sort_by_key(|f| f.seed);
    first_failing.truncate(FAILING_SHOWN_MAX);
    let seeds = SeedRange {
        start: files.iter().map(|f| f.seeds.start).min().unwrap_or(0),
        end: files.iter().map(|f| f.seeds.end).max().unwrap_or(0),
    };
    let summary = SummaryFile {
        scenario: files[0].scenario.clone(),
        scenario_hash: hash.clone(),
        seeds: RangeJson {
            start: seeds.start,
            end: seeds.end,
        },
        shard: None,
        seeds_run: runs.len(),
        verdicts: VerdictsJson {
            ok: count(VerdictKind::Ok),
            correctness: count(VerdictKind::Correctness),
            liveness: count(VerdictKind::Liveness),
            crash: count(VerdictKind::Crash),
        },
        worst_verdict: (runs.iter().map(|r| r.verdict).max()).unwrap_or(VerdictKind::Ok),
        allowed_anomalies,
        goals: summed_goals(inputs, &files)?,
        first_failing,
        timing: summed_timing(inputs, &files, runs.len())?,
        runs,
    };
    let missing = gaps(seeds, summary.runs.iter().map(|r| r.seed));
    Ok(Merged {
        summary,
        files: inputs.len(),
        missing,
    })
}

/// Each goal's count of runs, summed over the files. A sum cannot pass the
/// number of runs unless a file's count does, which `read` refuses; it is
/// checked all the same, so that no input makes it wrap.
fn summed_goals(
    inputs: &[Input],
    files: &[SummaryFile],
) -> Result<BTreeMap<String, usize>, String> {
    let mut goals: BTreeMap<String, usize> = BTreeMap::new();
    for (input, file) in inputs.iter().zip(files) {
        for (goal, count) in &file.goals {
            let sum = goals.entry(goal.clone()).or_insert(0);
            *sum = sum.checked_add(*count).ok_or_else(|| {
                format!(
                    "{}: goals.{goal:?}: the sum over the files is too large to count",
                    input.name
                )
            })?;
        }
    }
    Ok(goals)
}

/// `jobs` and `wall_time_s` summed over the files, and the seeds run per second
/// of that time. Each file's wall time is finite and not negative (`read`
/// refuses others), so `seeds_per_s` is finite; only the sums can overflow, and
/// are refused then, naming the file whose addition did it.
fn summed_timing(
    inputs: &[Input],
    files: &[SummaryFile],
    runs: usize,
) -> Result<TimingJson, String> {
    let mut jobs: usize = 0;
    let mut wall_time_s: f64 = 0.0;
    for (input, file) in inputs.iter().zip(files) {
        let too_large = |field: &str| {
            format!(
                "{}: timing.{field}: the sum over the files is too large to hold",
                input.name
            )
        };
        jobs = jobs
            .checked_add(file.timing.jobs)
            .ok_or_else(|| too_large("jobs"))?;
        wall_time_s += file.timing.wall_time_s;
        if !wall_time_s.is_finite() {
            return Err(too_large("wall_time_s"));
        }
    }
    Ok(TimingJson {
        jobs,
        wall_time_s,
        seeds_per_s: runs as f64 / wall_time_s.max(1e-9),
    })
}

/// Refuses two files that ran a seed in common, naming the first such pair and
/// the seeds they share.
fn refuse_overlaps(inputs: &[Input], files: &[SummaryFile]) -> Result<(), String> {
    let mut owner: BTreeMap<u64, usize> = BTreeMap::new();
    // The seeds each pair of files shares, for the first pair found.
    let mut shared: BTreeMap<(usize, usize), Vec<u64>> = BTreeMap::new();
    for (index, file) in files.iter().enumerate() {
        for run in &file.runs {
            if let Some(&earlier) = owner.get(&run.seed) {
                shared.entry((earlier, index)).or_default().push(run.seed);
            } else {
                owner.insert(run.seed, index);
            }
        }
    }
    let Some(((a, b), seeds)) = shared.first_key_value() else {
        return Ok(());
    };
    let others = match shared.len() - 1 {
        0 => String::new(),
        more => format!("; {} more pair(s) of files overlap too", more),
    };
    Err(format!(
        "{} and {} both ran {}: {}; a seed may come from one file only{others}",
        inputs[*a].name,
        inputs[*b].name,
        counted(seeds.len(), "seed"),
        listed(seeds.iter().map(|&s| SeedRange {
            start: s,
            end: s + 1
        })),
    ))
}

/// The runs of consecutive seeds of `range` that are not in `seeds` (sorted).
fn gaps(range: SeedRange, seeds: impl Iterator<Item = u64>) -> Vec<SeedRange> {
    let mut gaps = Vec::new();
    let mut next = range.start;
    for seed in seeds {
        if seed > next {
            gaps.push(SeedRange {
                start: next,
                end: seed,
            });
        }
        next = seed + 1;
    }
    if next < range.end {
        gaps.push(SeedRange {
            start: next,
            end: range.end,
        });
    }
    gaps
}

/// The most runs of seeds a message lists before it says how many more there are.
const LISTED_MAX: usize = 10;

/// `3, 5..=9, 12`: seeds and runs of seeds, at most `LISTED_MAX` of them.
fn listed(ranges: impl ExactSizeIterator<Item = SeedRange>) -> String {
    let total = ranges.len();
    let mut parts: Vec<String> = ranges
        .take(LISTED_MAX)
        .map(|r| match r.end - r.start {
            1 => r.start.to_string(),
            _ => format!("{}..={}", r.start, r.end - 1),
        })
        .collect();
    if total > LISTED_MAX {
        parts.push(format!("and {} more", total - LISTED_MAX));
    }
    parts.join(", ")
}

impl Merged {
    /// The worst verdict of the merged runs: the exit code follows it.
    pub fn worst(&self) -> VerdictKind {
        self.summary.worst_verdict
    }

    /// How many seeds of the merged range no file ran.
    pub fn missing_seeds(&self) -> u64 {
        self.missing.iter().map(|r| r.end - r.start).sum()
    }

    /// The warning for seeds no file ran, if any.
    pub fn warning(&self) -> Option<String> {
        if self.missing.is_empty() {
            return None;
        }
        let seeds = &self.summary.seeds;
        Some(format!(
            "the files do not cover seeds {}..{}: {} missing: {}",
            seeds.start,
            seeds.end,
            self.missing_seeds(),
            listed(self.missing.iter().copied())
        ))
    }
}

/// The text `kafkasim merge` prints: the sweep's summary, but for its first two lines.
pub fn render_text(merged: &Merged) -> String {
    let summary = &merged.summary;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "merge: scenario {}, seeds {}..{}, {}",
        summary.scenario,
        summary.seeds.start,
        summary.seeds.end,
        counted(merged.files, "file")
    );
    let _ = writeln!(
        out,
        "seeds run: {} ({} in all), wall time {:.3} s summed over the files, {:.1} seeds/s",
        summary.seeds_run,
        counted(summary.timing.jobs, "job"),
        summary.timing.wall_time_s,
        summary.timing.seeds_per_s,
    );
    let verdicts = &summary.verdicts;
    let failing = summary.seeds_run - verdicts.ok;
    let findings = Findings {
        runs: summary.seeds_run,
        verdicts: [
            verdicts.ok,
            verdicts.correctness,
            verdicts.liveness,
            verdicts.crash,
        ],
        anomaly_runs: (summary.allowed_anomalies.iter())
            .map(|(kind, runs)| (kind.name().to_string(), *runs))
            .collect(),
        goal_runs: (summary.goals.iter())
            .map(|(goal, runs)| (goal.as_str(), *runs))
            .collect(),
        failing,
        first_failing: (summary.first_failing.iter())
            .map(|f| Failing {
                seed: f.seed,
                verdict: f.verdict.name(),
                reason: &f.reason,
                replay: &f.replay,
            })
            .collect(),
    };
    render_findings(&mut out, &findings);
    out
}

/// The JSON `kafkasim merge --json` prints: one object, one line, in the shape of
/// `kafkasim sweep --json`.
pub fn render_json(merged: &Merged) -> String {
    let mut text = serde_json::to_string(&merged.summary)
        .expect("plain structs of strings and numbers serialize");
    text.push('\n');
    text
}

#[cfg(test)]
mod tests;
