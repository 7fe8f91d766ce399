//! `kafkasim merge`: the summaries of several sweeps as one.
//!
//! A sweep too big for one machine runs as shards (`--shard I/N`), each on its own
//! machine, each writing what `kafkasim sweep --json` prints. `merge` reads those
//! files and prints the summary one sweep of all their seeds would have printed:
//! as text, or as the same JSON, so that merges can be merged again.
//!
//! The files must be of one scenario and must not share a seed (a seed run twice
//! would be counted twice). Seeds missing between the lowest start and the highest
//! end of the files' ranges (a shard that never ran, a gap between two ranges) are
//! told in a warning, and the merge goes on.
//!
//! How each field is merged: `runs` are joined and sorted by seed; `seeds_run`,
//! `verdicts`, `worst_verdict` and `allowed_anomalies` are counted again from them;
//! `goals` are summed (a summary counts goals per sweep, not per run);
//! `first_failing` takes the first failing seeds of all the files' own lists (each
//! holds its file's first ones, so together they hold the merged first ones);
//! `seeds` is the lowest start to the highest end; `shard` is null. Only `timing`
//! differs from the summary of one sweep: `jobs` and `wall_time_s` are the sums
//! over the files (the real time all shards took, one after the other), and
//! `seeds_per_s` is the seeds run over that summed time.

use super::summary::{
    render_findings, Failing, Findings, RangeJson, ShardJson, TimingJson, VerdictsJson,
    FAILING_SHOWN_MAX,
};
use super::SeedRange;
use crate::render::counted;
use kafkasim_check::{Kind, Verdict as VerdictKind};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

/// A summary as `kafkasim sweep --json` prints it, read back (fields in its order).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SummaryFile {
    pub scenario: String,
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
pub struct FailingRun {
    pub seed: u64,
    pub verdict: VerdictKind,
    pub kinds: Vec<Kind>,
    pub reason: String,
    pub replay: String,
}

/// One of a summary's `runs`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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

/// Reads the files at `paths` and merges them.
pub fn read_and_merge(paths: &[String]) -> Result<Merged, String> {
    let inputs = (paths.iter())
        .map(|path| match std::fs::read_to_string(path) {
            Ok(text) => Ok(Input {
                name: path.clone(),
                text,
            }),
            Err(error) => Err(format!("cannot read {path}: {error}")),
        })
        .collect::<Result<Vec<_>, _>>()?;
    merge(&inputs)
}

/// Merges summaries; an error (one line) names the file, or the files, at fault.
pub fn merge(inputs: &[Input]) -> Result<Merged, String> {
    let Some(first) = inputs.first() else {
        return Err("nothing to merge: give at least one summary file".into());
    };
    let files: Vec<SummaryFile> = inputs.iter().map(parse).collect::<Result<_, _>>()?;
    let scenario = files[0].scenario.clone();
    if let Some((input, other)) = (inputs.iter().zip(&files)).find(|(_, f)| f.scenario != scenario)
    {
        return Err(format!(
            "the files are of different scenarios: {} is of {scenario}, {} of {}",
            first.name, input.name, other.scenario
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
    let mut goals = BTreeMap::new();
    for (goal, count) in files.iter().flat_map(|f| &f.goals) {
        *goals.entry(goal.clone()).or_insert(0) += count;
    }
    let mut first_failing: Vec<FailingRun> = (files.iter())
        .flat_map(|f| f.first_failing.iter().cloned())
        .collect();
    first_failing.sort_by_key(|f| f.seed);
    first_failing.truncate(FAILING_SHOWN_MAX);
    let seeds = SeedRange {
        start: files.iter().map(|f| f.seeds.start).min().expect("a file"),
        end: files.iter().map(|f| f.seeds.end).max().expect("a file"),
    };
    let wall_time_s: f64 = files.iter().map(|f| f.timing.wall_time_s).sum();
    let summary = SummaryFile {
        scenario,
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
        goals,
        first_failing,
        timing: TimingJson {
            jobs: files.iter().map(|f| f.timing.jobs).sum(),
            wall_time_s,
            seeds_per_s: runs.len() as f64 / wall_time_s.max(1e-9),
        },
        runs,
    };
    let missing = gaps(seeds, summary.runs.iter().map(|r| r.seed));
    Ok(Merged {
        summary,
        files: inputs.len(),
        missing,
    })
}

/// Reads one file as a summary, and checks it holds together: known verdicts,
/// every run once and inside its range, as many runs as it says.
fn parse(input: &Input) -> Result<SummaryFile, String> {
    let name = &input.name;
    let file: SummaryFile = serde_json::from_str(&input.text).map_err(|error| {
        format!("{name} is not a sweep summary (the JSON of `kafkasim sweep --json`): {error}")
    })?;
    let broken = |why: String| Err(format!("{name} is not a consistent sweep summary: {why}"));
    let range = &file.seeds;
    let mut seen = BTreeSet::new();
    for run in &file.runs {
        if !(range.start..range.end).contains(&run.seed) {
            return broken(format!(
                "seed {} is outside its seeds {}..{}",
                run.seed, range.start, range.end
            ));
        }
        if !seen.insert(run.seed) {
            return broken(format!("seed {} is listed twice", run.seed));
        }
    }
    if file.seeds_run != file.runs.len() {
        return broken(format!(
            "seeds_run is {} but it lists {}",
            file.seeds_run,
            counted(file.runs.len(), "run")
        ));
    }
    Ok(file)
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
