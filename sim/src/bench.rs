//! `kafkasim bench`: how fast the `standard` scenario runs, and what the model
//! costs per message over madsim alone.
//!
//! Three passes over the same seeds, each seed in a fresh simulator on a fresh
//! thread (`run::run_seed`), with workers taking seeds from a shared counter as
//! `sweep` does:
//!
//! 1. **One job.** Each seed's real time is measured around its `run_seed` call.
//!    From these: wall time per seed, simulated time per wall time (a run's
//!    `simulated_ms`), and delivered messages per wall-second (a run's `messages`).
//! 2. **Two jobs.** Only the pass's total time counts: seeds per second against
//!    the first pass. Both passes must give every seed the same verdict and trace
//!    hash; the report says whether they did.
//! 3. **The baseline** (`bench/baseline.rs`): for each seed, as many messages as
//!    that seed's run delivered, exchanged as requests and responses between two
//!    simulated machines over madsim's connection, timed the same way. The model's
//!    wall nanoseconds per message over the baseline's is the model's overhead.
//!
//! Peak memory is the process's `VmHWM` (from `/proc/self/status`): the peak of
//! the whole bench, both passes and the baseline, not of one seed.
//!
//! Wall times depend on the machine and on whatever else runs on it; the report
//! prints the load average so a reader can judge. Simulated figures do not vary.

use crate::run::run_seed;
use crate::scenario::{self, Scenario};
use crate::sweep::SeedRange;
use kafkasim_check::Verdict as VerdictKind;
use kafkasim_sim::baseline::{self, BaselineRun};
use serde::Serialize;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The scenario the bench runs.
pub const SCENARIO: &str = "standard";

/// The seeds the bench runs without `--seeds`: `1..=20`.
pub const DEFAULT_SEEDS: SeedRange = SeedRange { start: 1, end: 21 };

/// The targets the report checks.
pub const TARGET_SIMULATED_PER_WALL: f64 = 1000.0;
pub const TARGET_OVERHEAD_MAX: f64 = 2.0;
pub const TARGET_TWO_JOBS_SPEEDUP: f64 = 1.7;

/// One seed of one pass.
#[derive(Debug, Clone, PartialEq)]
pub struct SeedTiming {
    pub seed: u64,
    pub verdict: VerdictKind,
    pub trace_hash: u64,
    pub simulated_ms: u64,
    pub messages: u64,
    /// Real time around `run_seed`.
    pub wall: Duration,
}

/// One pass over the seeds.
#[derive(Debug, Clone)]
pub struct Pass {
    pub jobs: usize,
    /// In seed order.
    pub seeds: Vec<SeedTiming>,
    /// Real time of the whole pass.
    pub wall: Duration,
    /// CPU time the process used during the pass (all threads), when the OS says.
    pub cpu: Option<Duration>,
}

impl Pass {
    pub fn seeds_per_s(&self) -> f64 {
        self.seeds.len() as f64 / self.wall.as_secs_f64().max(1e-9)
    }

    /// How many cores were busy on average: CPU time over wall time.
    pub fn cores_busy(&self) -> Option<f64> {
        self.cpu
            .map(|cpu| cpu.as_secs_f64() / self.wall.as_secs_f64().max(1e-9))
    }

    fn seed_wall_s(&self) -> f64 {
        self.seeds.iter().map(|s| s.wall.as_secs_f64()).sum()
    }

    fn messages(&self) -> u64 {
        self.seeds.iter().map(|s| s.messages).sum()
    }

    fn simulated_ms(&self) -> u64 {
        self.seeds.iter().map(|s| s.simulated_ms).sum()
    }
}

/// Where the bench ran.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Machine {
    /// The cores this process may use.
    pub cores: usize,
    /// `model name` of `/proc/cpuinfo`, when there is one.
    pub cpu: Option<String>,
    /// `/proc/loadavg`'s 1, 5 and 15 minute load averages before the bench.
    pub load_before: Option<String>,
    /// The same, after.
    pub load_after: Option<String>,
    /// Two threads each running a plain CPU loop, against one thread running it
    /// alone, measured just before the 2-job pass: about the most the machine
    /// could give 2 jobs then (2.0 on two idle cores).
    pub spin_speedup_2_threads: f64,
}

/// Everything the bench measured.
#[derive(Debug, Clone)]
pub struct BenchReport {
    pub range: SeedRange,
    pub machine: Machine,
    pub one_job: Pass,
    pub two_jobs: Pass,
    pub baseline: Vec<BaselineRun>,
    /// `VmHWM` at the end, in KiB.
    pub peak_memory_kib: Option<u64>,
}

/// What the bench tells while it runs.
pub trait Progress {
    /// A pass or the baseline starts.
    fn phase(&mut self, name: &str, total: u64);
    /// One more seed of the current phase is done.
    fn done(&mut self, done: u64, total: u64);
    /// The current phase ended after `wall`.
    fn finished(&mut self, wall: Duration);
}

/// Runs the bench over `range`.
pub fn run(range: SeedRange, progress: &mut dyn Progress) -> BenchReport {
    let scenario = scenario::builtin(SCENARIO).expect("standard is built in");
    let load_before = load_average();
    let seeds: Vec<u64> = (range.start..range.end).collect();
    let one_job = pass(&scenario, &seeds, 1, progress);
    let spin_speedup_2_threads = spin_speedup();
    let two_jobs = pass(&scenario, &seeds, 2, progress);
    progress.phase("baseline, madsim alone", seeds.len() as u64);
    let started = Instant::now();
    let mut baseline = Vec::new();
    for (done, timing) in one_job.seeds.iter().enumerate() {
        baseline.push(baseline::run(timing.seed, timing.messages));
        progress.done(done as u64 + 1, seeds.len() as u64);
    }
    progress.finished(started.elapsed());
    BenchReport {
        range,
        machine: Machine {
            cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
            cpu: cpu_model(),
            load_before,
            load_after: load_average(),
            spin_speedup_2_threads,
        },
        one_job,
        two_jobs,
        baseline,
        peak_memory_kib: peak_memory_kib(),
    }
}

/// Runs every seed with `jobs` workers, as `sweep` does, timing each seed.
fn pass(scenario: &Scenario, seeds: &[u64], jobs: usize, progress: &mut dyn Progress) -> Pass {
    let total = seeds.len() as u64;
    progress.phase(&jobs_phrase(jobs), total);
    let next = AtomicU64::new(0);
    let results = Mutex::new(Vec::new());
    let cpu_before = cpu_time();
    let started = Instant::now();
    let (sender, receiver) = std::sync::mpsc::channel::<()>();
    std::thread::scope(|scope| {
        for worker in 0..jobs {
            let (next, results, sender) = (&next, &results, sender.clone());
            let work = move || {
                while let Some(&seed) = seeds.get(next.fetch_add(1, Ordering::Relaxed) as usize) {
                    let at = Instant::now();
                    let report = run_seed(seed, scenario);
                    let wall = at.elapsed();
                    let timing = SeedTiming {
                        seed,
                        verdict: report.verdict(),
                        trace_hash: report.run.trace_hash,
                        simulated_ms: report.run.simulated_ms,
                        messages: report.run.messages,
                        wall,
                    };
                    results.lock().expect("results lock").push(timing);
                    let _ = sender.send(());
                }
            };
            std::thread::Builder::new()
                .name(format!("bench-worker-{worker}"))
                .spawn_scoped(scope, work)
                .expect("the OS can start a thread");
        }
        drop(sender);
        for (done, ()) in receiver.iter().enumerate() {
            progress.done(done as u64 + 1, total);
        }
    });
    let wall = started.elapsed();
    let cpu = cpu_time()
        .zip(cpu_before)
        .map(|(after, before)| after.saturating_sub(before));
    progress.finished(wall);
    let mut seeds = results.into_inner().expect("results lock");
    seeds.sort_by_key(|s| s.seed);
    Pass {
        jobs,
        seeds,
        wall,
        cpu,
    }
}

/// `1 job`, `2 jobs`.
fn jobs_phrase(jobs: usize) -> String {
    match jobs {
        1 => "1 job".into(),
        n => format!("{n} jobs"),
    }
}

/// The progress `kafkasim bench` shows on stderr: a counter redrawn in place on
/// a terminal, otherwise one line per finished phase.
pub struct StderrProgress {
    terminal: bool,
    phase: String,
}

impl StderrProgress {
    pub fn new(terminal: bool) -> Self {
        StderrProgress {
            terminal,
            phase: String::new(),
        }
    }
}

impl Progress for StderrProgress {
    fn phase(&mut self, name: &str, total: u64) {
        self.phase = name.to_string();
        if self.terminal {
            eprint!("\rbench: {name}: 0/{total} seeds");
        }
    }

    fn done(&mut self, done: u64, total: u64) {
        if self.terminal {
            eprint!("\rbench: {}: {done}/{total} seeds", self.phase);
        }
    }

    fn finished(&mut self, wall: Duration) {
        let line = format!("bench: {} done in {:.3} s", self.phase, wall.as_secs_f64());
        if self.terminal {
            eprintln!("\r{line:<60}");
        } else {
            eprintln!("{line}");
        }
    }
}

/// The figures the report prints, computed from the measurements.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Figures {
    pub scenario: &'static str,
    /// The seeds, half-open.
    pub seeds: RangeFigures,
    pub machine: Machine,
    pub verdicts: VerdictFigures,
    /// Whether both passes gave every seed the same verdict and trace hash.
    pub same_results_with_1_and_2_jobs: bool,
    pub wall_per_seed_ms: Spread,
    pub simulated_per_seed_ms: Spread,
    pub messages_per_seed: Spread,
    pub seeds_per_s_1_job: f64,
    pub seeds_per_s_2_jobs: f64,
    /// CPU time over wall time in each pass: how many cores were busy, on
    /// average. Below the jobs, a pass waited (for a core, or for a lock).
    pub cores_busy_1_job: Option<f64>,
    pub cores_busy_2_jobs: Option<f64>,
    /// `seeds_per_s_2_jobs / seeds_per_s_1_job`.
    pub two_jobs_speedup: f64,
    /// Simulated time over wall time, one job.
    pub simulated_per_wall: f64,
    /// Delivered messages per wall-second, one job.
    pub messages_per_wall_s: f64,
    /// Wall nanoseconds per delivered message, one job.
    pub model_ns_per_message: f64,
    pub baseline: BaselineFigures,
    /// `model_ns_per_message / baseline.ns_per_message`.
    pub overhead: f64,
    /// `VmHWM` of the bench process at its end: the peak of all passes.
    pub peak_memory_mib: Option<f64>,
    pub targets: Vec<Target>,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct RangeFigures {
    pub start: u64,
    pub end: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct VerdictFigures {
    pub ok: usize,
    pub correctness: usize,
    pub liveness: usize,
    pub crash: usize,
}

/// Mean, least and most of one figure over the seeds of the one-job pass.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Spread {
    pub mean: f64,
    pub min: f64,
    pub max: f64,
}

impl Spread {
    fn of(values: impl Iterator<Item = f64> + Clone) -> Spread {
        let count = values.clone().count().max(1) as f64;
        Spread {
            mean: values.clone().sum::<f64>() / count,
            min: values.clone().fold(f64::INFINITY, f64::min),
            max: values.fold(f64::NEG_INFINITY, f64::max),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct BaselineFigures {
    /// Messages delivered over all its runs.
    pub messages: u64,
    pub wall_s: f64,
    pub simulated_per_wall: f64,
    pub ns_per_message: f64,
}

/// A target and whether the bench met it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Target {
    pub name: &'static str,
    pub wanted: String,
    pub measured: String,
    pub met: bool,
}

impl BenchReport {
    pub fn figures(&self) -> Figures {
        let one = &self.one_job;
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        let seed_wall_s = one.seed_wall_s();
        let simulated_per_wall = one.simulated_ms() as f64 / 1000.0 / seed_wall_s.max(1e-9);
        let model_ns_per_message = seed_wall_s * 1e9 / one.messages().max(1) as f64;
        let baseline_messages: u64 = self.baseline.iter().map(|b| b.messages).sum();
        let baseline_wall_s: f64 = self.baseline.iter().map(|b| b.wall.as_secs_f64()).sum();
        let baseline_simulated_s: f64 = self
            .baseline
            .iter()
            .map(|b| b.simulated_ms as f64)
            .sum::<f64>()
            / 1000.0;
        let baseline = BaselineFigures {
            messages: baseline_messages,
            wall_s: baseline_wall_s,
            simulated_per_wall: baseline_simulated_s / baseline_wall_s.max(1e-9),
            ns_per_message: baseline_wall_s * 1e9 / baseline_messages.max(1) as f64,
        };
        let overhead = model_ns_per_message / baseline.ns_per_message.max(1e-9);
        let two_jobs_speedup = self.two_jobs.seeds_per_s() / one.seeds_per_s().max(1e-9);
        let count = |kind| one.seeds.iter().filter(|s| s.verdict == kind).count();
        let outcome = |s: &SeedTiming| (s.seed, s.verdict, s.trace_hash);
        let targets = vec![
            Target {
                name: "simulated time per wall time, 1 job",
                wanted: format!(">= {TARGET_SIMULATED_PER_WALL:.0}x"),
                measured: format!("{simulated_per_wall:.0}x"),
                met: simulated_per_wall >= TARGET_SIMULATED_PER_WALL,
            },
            Target {
                name: "model cost per message over the baseline",
                wanted: format!("<= {TARGET_OVERHEAD_MAX:.1}x"),
                measured: format!("{overhead:.2}x"),
                met: overhead <= TARGET_OVERHEAD_MAX,
            },
            Target {
                name: "seeds/s with 2 jobs over 1 job",
                wanted: format!(">= {TARGET_TWO_JOBS_SPEEDUP:.1}x"),
                measured: format!("{two_jobs_speedup:.2}x"),
                met: two_jobs_speedup >= TARGET_TWO_JOBS_SPEEDUP,
            },
        ];
        Figures {
            scenario: SCENARIO,
            seeds: RangeFigures {
                start: self.range.start,
                end: self.range.end,
            },
            machine: self.machine.clone(),
            verdicts: VerdictFigures {
                ok: count(VerdictKind::Ok),
                correctness: count(VerdictKind::Correctness),
                liveness: count(VerdictKind::Liveness),
                crash: count(VerdictKind::Crash),
            },
            same_results_with_1_and_2_jobs: one.seeds.iter().map(outcome).eq(self
                .two_jobs
                .seeds
                .iter()
                .map(outcome)),
            wall_per_seed_ms: Spread::of(one.seeds.iter().map(|s| ms(s.wall))),
            simulated_per_seed_ms: Spread::of(one.seeds.iter().map(|s| s.simulated_ms as f64)),
            messages_per_seed: Spread::of(one.seeds.iter().map(|s| s.messages as f64)),
            seeds_per_s_1_job: one.seeds_per_s(),
            seeds_per_s_2_jobs: self.two_jobs.seeds_per_s(),
            cores_busy_1_job: one.cores_busy(),
            cores_busy_2_jobs: self.two_jobs.cores_busy(),
            two_jobs_speedup,
            simulated_per_wall,
            messages_per_wall_s: one.messages() as f64 / seed_wall_s.max(1e-9),
            model_ns_per_message,
            baseline,
            overhead,
            peak_memory_mib: self.peak_memory_kib.map(|kib| kib as f64 / 1024.0),
            targets,
        }
    }
}

/// The text `kafkasim bench` prints.
pub fn render_text(figures: &Figures) -> String {
    let f = figures;
    let mut out = String::new();
    let seeds = SeedRange {
        start: f.seeds.start,
        end: f.seeds.end,
    };
    let count = match f.seeds.end - f.seeds.start {
        1 => "1 seed".to_string(),
        n => format!("{n} seeds"),
    };
    let _ = writeln!(
        out,
        "bench: scenario {}, seeds {seeds} ({count})",
        f.scenario
    );
    let machine = &f.machine;
    let _ = writeln!(
        out,
        "machine: {} cores, {}; load average {} before, {} after",
        machine.cores,
        machine.cpu.as_deref().unwrap_or("CPU model unknown"),
        machine.load_before.as_deref().unwrap_or("unknown"),
        machine.load_after.as_deref().unwrap_or("unknown"),
    );
    let _ = writeln!(
        out,
        "machine: a plain CPU loop on 2 threads ran {:.2}x one thread (2.00 on two idle cores)",
        machine.spin_speedup_2_threads
    );
    let v = &f.verdicts;
    let _ = writeln!(
        out,
        "verdicts: {} ok, {} correctness, {} liveness, {} crash; same verdicts and trace hashes with 1 and 2 jobs: {}",
        v.ok,
        v.correctness,
        v.liveness,
        v.crash,
        if f.same_results_with_1_and_2_jobs { "yes" } else { "NO" }
    );
    let spread = |s: &Spread, unit: &str, decimals: usize| {
        format!(
            "mean {:.decimals$}{unit}, min {:.decimals$}{unit}, max {:.decimals$}{unit}",
            s.mean, s.min, s.max
        )
    };
    let _ = writeln!(out, "1 job:");
    let _ = writeln!(
        out,
        "  wall time per seed      {}",
        spread(&f.wall_per_seed_ms, " ms", 1)
    );
    let _ = writeln!(
        out,
        "  simulated per seed      {}",
        spread(&f.simulated_per_seed_ms, " ms", 0)
    );
    let _ = writeln!(
        out,
        "  messages per seed       {}",
        spread(&f.messages_per_seed, "", 0)
    );
    let _ = writeln!(out, "  seeds/s                 {:.2}", f.seeds_per_s_1_job);
    let _ = writeln!(
        out,
        "  cores busy              {}",
        busy(f.cores_busy_1_job)
    );
    let _ = writeln!(
        out,
        "  simulated/wall          {:.0}x",
        f.simulated_per_wall
    );
    let _ = writeln!(
        out,
        "  messages/wall-second    {:.0} ({:.0} ns per message)",
        f.messages_per_wall_s, f.model_ns_per_message
    );
    let _ = writeln!(out, "2 jobs:");
    let _ = writeln!(
        out,
        "  seeds/s                 {:.2} ({:.2}x 1 job)",
        f.seeds_per_s_2_jobs, f.two_jobs_speedup
    );
    let _ = writeln!(
        out,
        "  cores busy              {}",
        busy(f.cores_busy_2_jobs)
    );
    let b = &f.baseline;
    let _ = writeln!(
        out,
        "baseline (madsim alone: request/response over one connect1 connection):"
    );
    let _ = writeln!(
        out,
        "  {} messages in {:.3} s: {:.0} ns per message, simulated/wall {:.0}x",
        b.messages, b.wall_s, b.ns_per_message, b.simulated_per_wall
    );
    let _ = writeln!(
        out,
        "  model per message       {:.2}x the baseline",
        f.overhead
    );
    let _ = match f.peak_memory_mib {
        Some(mib) => writeln!(
            out,
            "peak memory: {mib:.1} MiB (VmHWM: the peak of this whole process)"
        ),
        None => writeln!(out, "peak memory: unknown (no /proc/self/status)"),
    };
    let _ = writeln!(out, "targets:");
    let width = f.targets.iter().map(|t| t.name.len()).max().unwrap_or(0);
    for target in &f.targets {
        let _ = writeln!(
            out,
            "  {:<width$}  {:>8}  wanted {:<8}  {}",
            target.name,
            target.measured,
            target.wanted,
            if target.met { "met" } else { "NOT MET" }
        );
    }
    out
}

/// `1.97` cores busy, or `unknown`.
fn busy(cores: Option<f64>) -> String {
    cores.map_or("unknown".into(), |c| format!("{c:.2}"))
}

/// The JSON `kafkasim bench --json` prints: one object, one line.
pub fn render_json(figures: &Figures) -> String {
    let mut text = serde_json::to_string(figures).expect("plain structs serialize");
    text.push('\n');
    text
}

/// `VmHWM` of `/proc/self/status`, in KiB: the peak resident memory of this process.
pub fn peak_memory_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// The CPU time this process used so far, all its threads, from `/proc/self/stat`
/// (fields 14 and 15, user and system time, in the kernel's fixed USER_HZ of 100
/// ticks a second).
pub fn cpu_time() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The command name, field 2, is in parentheses and may hold spaces.
    let after_name = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // `after_name` starts at field 3, so field 14 is at index 11.
    let ticks = |index: usize| fields.get(index)?.parse::<u64>().ok();
    let total = ticks(11)? + ticks(12)?;
    Some(Duration::from_millis(total * 10))
}

/// How long the one-thread spin runs; the two threads then do the same work each.
const SPIN_MS: u64 = 100;

/// Spin rounds between two looks at the clock.
const SPIN_CHUNK: u64 = 1 << 16;

fn spin_chunk(mut x: u64) -> u64 {
    for _ in 0..SPIN_CHUNK {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x = std::hint::black_box(x);
    }
    x
}

/// Two threads each doing the work one thread did alone in `SPIN_MS`: how much
/// more work per second than one thread (2.0 when two cores are free).
pub fn spin_speedup() -> f64 {
    let started = Instant::now();
    let (mut chunks, mut x) = (0u64, 0x9e37_79b9_7f4a_7c15u64);
    while started.elapsed() < Duration::from_millis(SPIN_MS) {
        x = spin_chunk(x);
        chunks += 1;
    }
    let one = started.elapsed();
    let work = move || (0..chunks).fold(x, |x, _| spin_chunk(x));
    let started = Instant::now();
    std::thread::scope(|scope| {
        let a = scope.spawn(work);
        let b = scope.spawn(work);
        let spun = (a.join().expect("a loop"), b.join().expect("a loop"));
        std::hint::black_box(spun);
    });
    2.0 * one.as_secs_f64() / started.elapsed().as_secs_f64().max(1e-9)
}

fn cpu_model() -> Option<String> {
    let info = std::fs::read_to_string("/proc/cpuinfo").ok()?;
    let line = info.lines().find(|l| l.starts_with("model name"))?;
    Some(line.split_once(':')?.1.trim().to_string())
}

fn load_average() -> Option<String> {
    let load = std::fs::read_to_string("/proc/loadavg").ok()?;
    let three: Vec<&str> = load.split_whitespace().take(3).collect();
    (three.len() == 3).then(|| three.join(" "))
}

#[cfg(test)]
mod tests;
