//! `kafkasim sweep`: many seeds of one scenario, one summary.
//!
//! One seed is one run; a *sweep* is how a fault schedule gets tested. TigerBeetle's
//! VOPR and FoundationDB's simulation run thousands of seeds a night and keep only the
//! failing ones, each with the command that replays it. kafkasim does the same on one
//! machine: `--jobs` worker threads take seeds from a shared counter, each seed still
//! runs in its own fresh simulator on its own thread (`run::run_seed`), and results are
//! kept per seed and reported in seed order. So the summary never depends on how many
//! workers ran or which of them finished first. `--shard I/N` splits one range between
//! N machines (CI jobs) with no coordination: shard I takes every N-th seed, starting
//! with the I-th.
//!
//! This module holds the plan (range, shard, which seeds), the worker pool and the
//! tally; `sweep/summary.rs` renders what a sweep found, and `sweep/merge.rs` joins
//! the summaries of several sweeps (the shards of one range) into one. Left out:
//! stopping at the first failure, shrinking a failing seed to a smaller
//! counterexample, and the "sometimes" counts (how often a leader changed, an ISR
//! shrank) that runs do not record yet.

use crate::render::replay_command;
use crate::run::{run_seed, RunReport};
use crate::scenario::Scenario;
use kafkasim_check::{Kind, Verdict};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

pub mod merge;
mod summary;

pub use summary::{render_json, render_text, scenario_hash, SweepJson};

/// A non-empty, half-open range of seeds: `start..end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeedRange {
    pub start: u64,
    pub end: u64,
}

impl SeedRange {
    /// Parses `A..B` (A up to B - 1) or `A..=B` (A up to B). An empty or reversed
    /// range is refused: a sweep of nothing is almost always a typo.
    pub fn parse(text: &str) -> Result<SeedRange, String> {
        let syntax =
            || format!("--seeds must look like A..B or A..=B (whole numbers), got '{text}'");
        let (first, last, inclusive) = match text.split_once("..") {
            Some((first, rest)) => match rest.strip_prefix('=') {
                Some(last) => (first, last, true),
                None => (first, rest, false),
            },
            None => return Err(syntax()),
        };
        let number = |s: &str| digits(s).ok_or_else(syntax);
        let start = number(first)?;
        let end = match (number(last)?, inclusive) {
            (last, true) => last.checked_add(1).ok_or_else(|| {
                format!("--seeds {text}: the last seed must be below {}", u64::MAX)
            })?,
            (end, false) => end,
        };
        if end <= start {
            return Err(format!(
                "--seeds {text} is empty: the end must come after the start"
            ));
        }
        Ok(SeedRange { start, end })
    }
}

impl fmt::Display for SeedRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}..{}", self.start, self.end)
    }
}

/// One of `count` disjoint slices of a range; `index` counts from 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: u64,
    pub count: u64,
}

impl Shard {
    /// Parses `I/N` with 1 ≤ I ≤ N.
    pub fn parse(text: &str) -> Result<Shard, String> {
        let bad = || format!("--shard must look like I/N with 1 <= I <= N, got '{text}'");
        let (index, count) = text.split_once('/').ok_or_else(bad)?;
        let index = digits(index).ok_or_else(bad)?;
        let count = digits(count).ok_or_else(bad)?;
        if index == 0 || index > count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }
}

/// A number written in digits alone, as every number on the command line is:
/// `u64::from_str` would also take a leading `+` (`--seeds +1..5`).
fn digits(text: &str) -> Option<u64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// The seeds a sweep runs: every seed `s` of `range` with
/// `(s - range.start) % shard.count == shard.index - 1` (all of them without a shard).
/// Seeds are computed, never listed, so a huge range costs no memory up front.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Selection {
    pub range: SeedRange,
    pub shard: Option<Shard>,
}

impl Selection {
    /// The first selected seed (if the range reaches it) and the step between seeds.
    fn first_and_step(&self) -> (Option<u64>, u64) {
        let (skip, step) = self.shard.map_or((0, 1), |s| (s.index - 1, s.count));
        let first = self
            .range
            .start
            .checked_add(skip)
            .filter(|&first| first < self.range.end);
        (first, step)
    }

    /// How many seeds are selected.
    pub fn len(&self) -> u64 {
        match self.first_and_step() {
            (Some(first), step) => (self.range.end - 1 - first) / step + 1,
            (None, _) => 0,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The `k`-th selected seed (from 0), or `None` past the last one.
    pub fn nth(&self, k: u64) -> Option<u64> {
        let (first, step) = self.first_and_step();
        let seed = first?.checked_add(k.checked_mul(step)?)?;
        (seed < self.range.end).then_some(seed)
    }

    /// Every selected seed, in order.
    pub fn seeds(self) -> impl Iterator<Item = u64> {
        (0..self.len()).map(move |k| self.nth(k).expect("k < len"))
    }
}

/// What a sweep keeps of one run: small, so a long sweep stays small in memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeedResult {
    pub seed: u64,
    pub verdict: Verdict,
    /// The kinds of the findings that fail the run, in the order the verdict
    /// names them; empty when it passed.
    pub failing: Vec<Kind>,
    /// What the first failing finding says; empty when the run passed.
    pub reason: String,
    pub trace_hash: u64,
    /// The kinds of allowed anomaly the run showed, each once.
    pub anomaly_kinds: BTreeSet<Kind>,
    /// The "sometimes" goals the run reached.
    pub goals: BTreeSet<&'static str>,
    /// The command that replays this run.
    pub replay: String,
}

impl SeedResult {
    pub fn from_report(report: &RunReport) -> SeedResult {
        let judgement = &report.judgement;
        let failing = judgement.failing_kinds();
        let first = failing
            .first()
            .and_then(|kind| judgement.failing().find(|f| f.kind == *kind));
        SeedResult {
            seed: report.seed(),
            verdict: judgement.verdict(),
            failing,
            reason: first.map_or(String::new(), ToString::to_string),
            trace_hash: report.run.trace_hash,
            anomaly_kinds: judgement.allowed().map(|f| f.kind).collect(),
            goals: report.run.goals.keys().copied().collect(),
            replay: replay_command(report),
        }
    }
}

/// What to run.
#[derive(Clone)]
pub struct Sweep {
    pub scenario: Scenario,
    pub selection: Selection,
    /// Worker threads, at least 1.
    pub jobs: usize,
}

/// What a sweep found, every seed in seed order, and how long it took.
#[derive(Debug, Clone)]
pub struct SweepSummary {
    pub scenario: String,
    /// What the scenario is, whatever its name (see `summary::scenario_hash`).
    pub scenario_hash: u64,
    pub selection: Selection,
    pub jobs: usize,
    pub results: Vec<SeedResult>,
    /// Real time, measured outside the simulator (where `Instant` is real).
    pub wall: Duration,
}

impl SweepSummary {
    /// The worst verdict seen; `Ok` for a sweep that ran nothing.
    pub fn worst(&self) -> Verdict {
        (self.results.iter().map(|r| r.verdict))
            .max()
            .unwrap_or(Verdict::Ok)
    }

    pub fn count(&self, verdict: Verdict) -> usize {
        self.results.iter().filter(|r| r.verdict == verdict).count()
    }

    /// For each kind of allowed anomaly, how many runs showed it.
    pub fn anomaly_runs(&self) -> BTreeMap<Kind, usize> {
        let mut runs = BTreeMap::new();
        for kind in self.results.iter().flat_map(|r| &r.anomaly_kinds) {
            *runs.entry(*kind).or_insert(0) += 1;
        }
        runs
    }

    /// How many runs reached each "sometimes" goal.
    pub fn goal_runs(&self) -> BTreeMap<&'static str, usize> {
        let mut runs = BTreeMap::new();
        for goal in self.results.iter().flat_map(|r| &r.goals) {
            *runs.entry(*goal).or_insert(0) += 1;
        }
        runs
    }

    pub fn failing(&self) -> impl Iterator<Item = &SeedResult> {
        self.results.iter().filter(|r| r.verdict != Verdict::Ok)
    }

    pub fn seeds_per_s(&self) -> f64 {
        seeds_per_s(self.results.len(), self.wall)
    }
}

fn seeds_per_s(seeds: usize, wall: Duration) -> f64 {
    seeds as f64 / wall.as_secs_f64().max(1e-9)
}

/// Where a running sweep stands, for the progress line.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tally {
    pub done: u64,
    pub total: u64,
    pub failing: u64,
    pub elapsed: Duration,
}

impl Tally {
    /// `  37/100 seeds, 12.3 seeds/s, 2 failing`
    pub fn line(&self) -> String {
        format!(
            "{:>5}/{} seeds, {:.1} seeds/s, {} failing",
            self.done,
            self.total,
            seeds_per_s(self.done as usize, self.elapsed),
            self.failing
        )
    }
}

/// Runs the sweep. `on_result` hears the tally after every finished seed, in the
/// order seeds finish (which varies); the summary is in seed order (which doesn't).
pub fn run(sweep: &Sweep, on_result: &mut dyn FnMut(&Tally)) -> SweepSummary {
    assert!(sweep.jobs >= 1, "the command line refuses --jobs 0");
    let started = Instant::now();
    let selection = sweep.selection;
    let total = selection.len();
    let workers = (sweep.jobs as u64).min(total.max(1));
    let next = AtomicU64::new(0);
    let (sender, receiver) = mpsc::channel::<SeedResult>();
    let mut results = BTreeMap::new();
    std::thread::scope(|scope| {
        for worker in 0..workers {
            let (next, sender, scenario) = (&next, sender.clone(), &sweep.scenario);
            // Each worker only hands seeds to `run_seed`, which starts a fresh thread
            // (and so a fresh simulator) for every seed: no runtime is ever shared.
            let work = move || {
                while let Some(seed) = selection.nth(next.fetch_add(1, Ordering::Relaxed)) {
                    let report = run_seed(seed, scenario);
                    if sender.send(SeedResult::from_report(&report)).is_err() {
                        return;
                    }
                }
            };
            std::thread::Builder::new()
                .name(format!("sweep-worker-{worker}"))
                .spawn_scoped(scope, work)
                .expect("the OS can start a thread");
        }
        drop(sender);
        let mut tally = Tally {
            done: 0,
            total,
            failing: 0,
            elapsed: Duration::ZERO,
        };
        for result in receiver {
            tally.done += 1;
            tally.failing += u64::from(result.verdict != Verdict::Ok);
            tally.elapsed = started.elapsed();
            on_result(&tally);
            let previous = results.insert(result.seed, result);
            assert!(previous.is_none(), "every seed runs once");
        }
    });
    assert_eq!(results.len() as u64, total, "every selected seed ran");
    SweepSummary {
        scenario: sweep.scenario.name.clone(),
        scenario_hash: summary::scenario_hash(&sweep.scenario),
        selection,
        jobs: sweep.jobs,
        results: results.into_values().collect(),
        wall: started.elapsed(),
    }
}

/// The progress line on stderr: redrawn in place (at most every `REDRAW_MS`) when
/// stderr is a terminal; otherwise only the final line, so logs stay readable.
pub struct Progress<W: std::io::Write> {
    out: W,
    terminal: bool,
    last_drawn: Option<Instant>,
}

/// The shortest time between two redraws of the progress line.
pub const REDRAW_MS: u64 = 100;

impl<W: std::io::Write> Progress<W> {
    pub fn new(out: W, terminal: bool) -> Self {
        Progress {
            out,
            terminal,
            last_drawn: None,
        }
    }

    pub fn update(&mut self, tally: &Tally) {
        let due = self
            .last_drawn
            .is_none_or(|at| at.elapsed() >= Duration::from_millis(REDRAW_MS));
        if self.terminal && (due || tally.done == tally.total) {
            // Padding overwrites the tail of a longer previous line.
            let _ = write!(self.out, "\r{:<60}", tally.line());
            let _ = self.out.flush();
            self.last_drawn = Some(Instant::now());
        }
    }

    pub fn finish(&mut self, summary: &SweepSummary) {
        let line = format!(
            "swept {} in {:.3} s, {:.1} seeds/s, {} failing",
            crate::render::counted(summary.results.len(), "seed"),
            summary.wall.as_secs_f64(),
            summary.seeds_per_s(),
            summary.failing().count()
        );
        let _ = if self.terminal {
            writeln!(self.out, "\r{line:<60}")
        } else {
            writeln!(self.out, "{line}")
        };
    }
}

#[cfg(test)]
mod tests;
