//! Reading one summary back: it must be what `kafkasim sweep --json` (or an
//! earlier `merge --json`) writes, field by field, and hold together, since the
//! merge trusts every count in it.
//!
//! serde checks the shape: every field present, none unknown, each of its type
//! (a verdict or kind is one of `kafkasim_check`'s names). The rest is checked
//! here, each problem named by its field: ranges (`seeds` non-empty, `shard`
//! I/N with 1 <= I <= N, wall times finite and not negative, `jobs` at least 1,
//! hashes 16 hex digits), and that the summary agrees with its own runs.

use super::{Input, Run, SummaryFile, FAILING_SHOWN_MAX};
use crate::render::counted;
use crate::sweep::{SeedRange, Selection, Shard};
use kafkasim_check::{Kind, Verdict};
use std::collections::BTreeMap;

/// Reads one file as a summary, and checks it holds together.
pub(super) fn parse(input: &Input) -> Result<SummaryFile, String> {
    let name = &input.name;
    let file: SummaryFile = serde_json::from_str(&input.text).map_err(|error| {
        format!("{name} is not a sweep summary (the JSON of `kafkasim sweep --json`): {error}")
    })?;
    check(&file).map_err(|why| format!("{name} is not a consistent sweep summary: {why}"))?;
    Ok(file)
}

/// The first problem of a summary read back, naming its field.
fn check(file: &SummaryFile) -> Result<(), String> {
    crate::input::hex_digits("scenario_hash", &file.scenario_hash)?;
    let selection = selection(file)?;
    check_runs(file, selection)?;
    check_counts(file)?;
    check_first_failing(file)?;
    check_timing(file)
}

/// The seeds the file says it ran: its range, and its shard of it.
fn selection(file: &SummaryFile) -> Result<Selection, String> {
    let (start, end) = (file.seeds.start, file.seeds.end);
    if start >= end {
        return Err(format!(
            "seeds: {start}..{end} is empty: its end must come after its start"
        ));
    }
    let shard = match &file.shard {
        None => None,
        Some(shard) if shard.index == 0 || shard.index > shard.count => {
            return Err(format!(
                "shard: {}/{} is not a shard: it must be I/N with 1 <= I <= N",
                shard.index, shard.count
            ));
        }
        Some(shard) => Some(Shard {
            index: shard.index,
            count: shard.count,
        }),
    };
    Ok(Selection {
        range: SeedRange { start, end },
        shard,
    })
}

/// Every run once, in seed order, inside the selection; each run consistent in
/// itself. A shard's sweep runs all its seeds, so a file with a shard lists
/// them all; a file without one may be a merge that allowed gaps.
fn check_runs(file: &SummaryFile, selection: Selection) -> Result<(), String> {
    let range = selection.range;
    let mut previous: Option<u64> = None;
    for (index, run) in file.runs.iter().enumerate() {
        let at = |what: String| format!("runs[{index}]: {what}");
        let seed = run.seed;
        if !(range.start..range.end).contains(&seed) {
            return Err(at(format!("seed {seed} is outside its seeds {range}")));
        }
        if let Some(shard) = selection.shard {
            if (seed - range.start) % shard.count != shard.index - 1 {
                return Err(at(format!("seed {seed} is not in its shard {shard}")));
            }
        }
        match previous {
            Some(before) if before == seed => {
                return Err(at(format!("seed {seed} is listed twice")))
            }
            Some(before) if before > seed => {
                return Err(at(format!(
                    "seed {seed} comes after seed {before}: runs are in seed order"
                )))
            }
            _ => previous = Some(seed),
        }
        check_run(run).map_err(at)?;
    }
    if file.seeds_run != file.runs.len() {
        return Err(format!(
            "seeds_run is {} but it lists {}",
            file.seeds_run,
            counted(file.runs.len(), "run")
        ));
    }
    let selected = selection.len();
    if let Some(shard) = selection.shard {
        if file.runs.len() as u64 != selected {
            return Err(format!(
                "runs: shard {shard} of seeds {range} has {selected} seed(s), but it lists {}",
                counted(file.runs.len(), "run")
            ));
        }
    }
    Ok(())
}

/// One run: its hash, its kinds each once, and the verdict its failing kinds give.
fn check_run(run: &Run) -> Result<(), String> {
    crate::input::hex_digits("trace_hash", &run.trace_hash)?;
    once("failing", &run.failing)?;
    once("allowed_anomalies", &run.allowed_anomalies)?;
    let verdict = Verdict::of_failing(run.failing.iter().copied());
    if run.verdict != verdict {
        let kinds: Vec<&str> = run.failing.iter().map(|k| k.name()).collect();
        return Err(format!(
            "verdict is {} but its failing kinds [{}] make it {verdict}",
            run.verdict,
            kinds.join(", ")
        ));
    }
    Ok(())
}

/// `verdicts`, `worst_verdict`, `allowed_anomalies` and `goals` as its runs
/// give them.
fn check_counts(file: &SummaryFile) -> Result<(), String> {
    let runs = &file.runs;
    let count = |verdict| runs.iter().filter(|r| r.verdict == verdict).count();
    let v = &file.verdicts;
    for (field, said, verdict) in [
        ("ok", v.ok, Verdict::Ok),
        ("correctness", v.correctness, Verdict::Correctness),
        ("liveness", v.liveness, Verdict::Liveness),
        ("crash", v.crash, Verdict::Crash),
    ] {
        let counted_runs = count(verdict);
        if said != counted_runs {
            return Err(format!(
                "verdicts.{field} is {said} but {} of its runs are {verdict}",
                counted_runs
            ));
        }
    }
    let worst = runs.iter().map(|r| r.verdict).max().unwrap_or(Verdict::Ok);
    if file.worst_verdict != worst {
        return Err(format!(
            "worst_verdict is {} but the worst of its runs is {worst}",
            file.worst_verdict
        ));
    }
    let mut anomalies: BTreeMap<Kind, usize> = BTreeMap::new();
    for kind in runs.iter().flat_map(|r| &r.allowed_anomalies) {
        *anomalies.entry(*kind).or_insert(0) += 1;
    }
    for kind in anomalies.keys().chain(file.allowed_anomalies.keys()) {
        let (said, shown) = (
            file.allowed_anomalies.get(kind).copied().unwrap_or(0),
            anomalies.get(kind).copied().unwrap_or(0),
        );
        if said != shown {
            return Err(format!(
                "allowed_anomalies.{kind} is {said} but {shown} of its runs show it"
            ));
        }
    }
    for (goal, &reached) in &file.goals {
        if reached == 0 || reached > runs.len() {
            return Err(format!(
                "goals.{goal:?} is {reached}: a goal is listed when 1 to all {} reach it",
                counted(runs.len(), "run")
            ));
        }
    }
    Ok(())
}

/// `first_failing`: the first failing runs, in seed order, as many as the text
/// shows, each as its run says.
fn check_first_failing(file: &SummaryFile) -> Result<(), String> {
    let expected: Vec<&Run> = (file.runs.iter())
        .filter(|r| r.verdict != Verdict::Ok)
        .take(FAILING_SHOWN_MAX)
        .collect();
    for (index, failing) in file.first_failing.iter().enumerate() {
        let at = |what: String| format!("first_failing[{index}]: {what}");
        let Some(run) = expected.get(index) else {
            return Err(at(format!(
                "seed {} is one too many: it lists the first {} of its failing runs",
                failing.seed,
                expected.len()
            )));
        };
        if failing.seed != run.seed {
            return Err(at(format!(
                "seed {} is not its next failing run, seed {}",
                failing.seed, run.seed
            )));
        }
        if failing.verdict != run.verdict || failing.kinds != run.failing {
            return Err(at(format!(
                "seed {} is {} here but {} in runs (or its kinds differ)",
                failing.seed, failing.verdict, run.verdict
            )));
        }
    }
    if let Some(run) = expected.get(file.first_failing.len()) {
        return Err(format!(
            "first_failing lists {} but misses seed {}, which failed",
            counted(file.first_failing.len(), "run"),
            run.seed
        ));
    }
    Ok(())
}

/// `timing`: a worker at least, and times that are real numbers of seconds.
fn check_timing(file: &SummaryFile) -> Result<(), String> {
    let timing = &file.timing;
    if timing.jobs == 0 {
        return Err("timing.jobs is 0: a sweep runs on 1 job at least".into());
    }
    for (field, value) in [
        ("wall_time_s", timing.wall_time_s),
        ("seeds_per_s", timing.seeds_per_s),
    ] {
        if !value.is_finite() || value < 0.0 {
            return Err(format!(
                "timing.{field} is {value}: it must be a finite number, 0 or more"
            ));
        }
    }
    Ok(())
}

/// Each kind of `kinds` once.
fn once(field: &str, kinds: &[Kind]) -> Result<(), String> {
    for (index, kind) in kinds.iter().enumerate() {
        if kinds[..index].contains(kind) {
            return Err(format!("{field} lists {kind} twice"));
        }
    }
    Ok(())
}
