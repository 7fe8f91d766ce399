//! One seeded run: a fresh simulator, a cluster, a scenario, and the report.
//!
//! Every run gets its own OS thread, because madsim's determinism (and the order
//! of std's `HashMap`) holds only for a runtime that starts on a fresh thread. A
//! panic inside the simulation (a node invariant broke) becomes a `Crash` verdict
//! instead of taking the caller down.

use crate::check::replica_divergence;
use crate::cluster::Cluster;
use crate::scenario::{Scenario, ScenarioOutcome};
use crate::trace::{Captured, TimelineEntry, Trace};
use kafkasim::ids::{BrokerId, Offset, TopicPartition};
use kafkasim::log::Log;
use kafkasim::metadata::PartitionInfo;
use std::cell::Cell;
use std::collections::BTreeMap;
use std::time::Duration;

/// A scenario that has not finished after this much simulated time is stuck.
pub const SCENARIO_TIME_LIMIT_MS: u64 = 600_000;

/// What a run keeps besides its report, and the knobs a run may turn.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunOptions {
    /// Keep every trace line (`kafkasim replay`).
    pub keep_trace: bool,
    /// Capture typed events and the replicas' logs (`kafkasim run --report`).
    pub capture: bool,
    /// How long the `standard` scenario draws and carries out faults, instead of
    /// its 60 s (`kafkasim run --safety-phase-s`); other scenarios ignore it.
    pub safety_phase_ms: Option<u64>,
}

thread_local! {
    /// The current run's `RunOptions::safety_phase_ms` (each run has its own thread).
    static SAFETY_PHASE_MS: Cell<Option<u64>> = const { Cell::new(None) };
}

/// The safety phase the current run asked for, if any (read by `standard`).
pub fn safety_phase_ms() -> Option<u64> {
    SAFETY_PHASE_MS.with(Cell::get)
}

/// What a run captured for its report (`RunOptions::capture`).
#[derive(Debug, Clone, Default)]
pub struct RunCapture {
    /// Every captured event, in the order it happened.
    pub events: Vec<Captured>,
    /// The machine each client node ran on (`client-3` → `producer`).
    pub machines: BTreeMap<String, String>,
    /// Every partition at the end, with each replica's log.
    pub logs: Vec<PartitionLogs>,
}

/// One partition at the end of a run: the controller's view and every replica's log.
#[derive(Debug, Clone)]
pub struct PartitionLogs {
    pub partition: TopicPartition,
    pub info: PartitionInfo,
    /// Each assigned replica's log (`None`: the broker has none, or is down).
    pub replicas: Vec<(BrokerId, Option<Log>)>,
}

/// What one partition looks like on its leader at the end of a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionSummary {
    pub partition: TopicPartition,
    pub leader: Option<BrokerId>,
    pub log_start_offset: Offset,
    pub high_watermark: Offset,
    pub log_end_offset: Offset,
    pub values: Vec<String>,
    /// Replicas that disagree with the leader's committed records.
    pub divergence: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The scenario finished and its own checks passed.
    Ok,
    /// The scenario finished but a check failed.
    Failed(String),
    /// The scenario did not finish in simulated time, or did not see the
    /// progress it waits for within its own bound (a liveness failure).
    Stuck(String),
    /// A node or the scenario panicked.
    Crash(String),
}

#[derive(Debug, Clone)]
pub struct RunReport {
    pub seed: u64,
    pub scenario: &'static str,
    pub brokers: u32,
    pub timeline: Vec<TimelineEntry>,
    pub partitions: Vec<PartitionSummary>,
    pub trace_hash: u64,
    pub trace_events: u64,
    pub messages: u64,
    pub simulated_ms: u64,
    /// The full trace, when asked for.
    pub trace_lines: Vec<String>,
    /// The "sometimes" goals the run reached, with how often (see `goals`).
    pub goals: std::collections::BTreeMap<&'static str, u64>,
    pub outcome: ScenarioOutcome,
    pub verdict: Verdict,
    /// What the run captured for a report (`None` unless asked for).
    pub capture: Option<RunCapture>,
    /// The longer safety phase the run was asked for (`RunOptions`), if any.
    pub safety_phase_ms: Option<u64>,
}

/// Runs `scenario` with `seed` in a fresh simulator on a fresh thread.
pub fn run_seed(seed: u64, scenario: &'static Scenario, keep_trace: bool) -> RunReport {
    let options = RunOptions {
        keep_trace,
        ..RunOptions::default()
    };
    run_seed_with(seed, scenario, &options)
}

/// Runs `scenario` with `seed` as `options` say, in a fresh simulator on a fresh thread.
pub fn run_seed_with(seed: u64, scenario: &'static Scenario, options: &RunOptions) -> RunReport {
    // The trace lives outside the worker so that a crash still shows what led to it.
    let trace = Trace::new(options.keep_trace, options.capture);
    let worker_trace = trace.clone();
    let worker_options = options.clone();
    let worker = std::thread::Builder::new()
        .name(format!("seed-{seed}"))
        .spawn(move || simulate(seed, scenario, worker_trace, &worker_options))
        .expect("the OS can start a thread");
    match worker.join() {
        Ok(report) => report,
        Err(panic) => {
            let mut report = crash_report(seed, scenario, &trace, panic_message(&panic));
            report.safety_phase_ms = options.safety_phase_ms;
            report
        }
    }
}

/// The simulated time a scenario may take: the standard bound, longer by as much
/// as a longer safety phase asks for.
pub fn time_limit_ms(options: &RunOptions) -> u64 {
    let extra = options.safety_phase_ms.unwrap_or(0);
    SCENARIO_TIME_LIMIT_MS + extra
}

fn simulate(
    seed: u64,
    scenario: &'static Scenario,
    trace: Trace,
    options: &RunOptions,
) -> RunReport {
    SAFETY_PHASE_MS.with(|cell| cell.set(options.safety_phase_ms));
    let runtime = crate::app::runtime(seed);
    let spec = scenario.cluster();
    let run_trace = trace.clone();
    let limit_ms = time_limit_ms(options);
    let capture = options.capture;
    let (outcome, partitions, logs, simulated_ms, finished) = runtime.block_on(async move {
        let cluster = Cluster::start(&spec, run_trace);
        let limit = Duration::from_millis(limit_ms);
        let result = madsim::time::timeout(limit, scenario.start(cluster.clone())).await;
        let partitions = summarize(&cluster);
        let logs = if capture {
            replica_logs(&cluster)
        } else {
            vec![]
        };
        // Drops the tasks still running, which would otherwise outlive the run.
        cluster.shut_down();
        let finished = result.is_ok();
        (
            result.unwrap_or_default(),
            partitions,
            logs,
            crate::driver::now_ms(),
            finished,
        )
    });
    // Replicas that disagree below the high watermark, and broken replica or
    // group invariants: model bugs, whatever the scenario allows.
    let mut divergence: Vec<String> = partitions
        .iter()
        .flat_map(|p| p.divergence.iter().cloned())
        .collect();
    divergence.extend(trace.invariant_violations());
    let failure = outcome
        .failure
        .clone()
        .or_else(|| (!divergence.is_empty()).then(|| divergence.join("; ")));
    let verdict = match (&failure, &outcome.liveness_failure, finished) {
        (_, _, false) => Verdict::Stuck(format!(
            "the scenario did not finish within {} s of simulated time",
            limit_ms / 1000
        )),
        // A broken promise outranks slowness; the slowness is still told.
        (Some(failure), Some(stuck), true) => {
            Verdict::Failed(format!("{failure}; and (liveness) {stuck}"))
        }
        (Some(failure), None, true) => Verdict::Failed(failure.clone()),
        (None, Some(stuck), true) => Verdict::Stuck(stuck.clone()),
        (None, None, true) => Verdict::Ok,
    };
    RunReport {
        seed,
        scenario: scenario.name,
        brokers: spec_brokers(scenario),
        timeline: trace.timeline_entries(),
        partitions,
        trace_hash: trace.hash(),
        trace_events: trace.events(),
        messages: trace.messages(),
        simulated_ms,
        trace_lines: trace.lines(),
        goals: trace.goals(),
        outcome,
        verdict,
        capture: capture.then(|| RunCapture {
            events: trace.captured(),
            machines: trace.machines(),
            logs,
        }),
        safety_phase_ms: options.safety_phase_ms,
    }
}

/// Every replica's log of every partition, for a report.
fn replica_logs(cluster: &Cluster) -> Vec<PartitionLogs> {
    let image = cluster.metadata();
    image
        .partitions()
        .map(|(tp, info)| PartitionLogs {
            replicas: (info.replicas.iter())
                .map(|&b| (b, cluster.log(b, &tp)))
                .collect(),
            info: info.clone(),
            partition: tp,
        })
        .collect()
}

fn spec_brokers(scenario: &Scenario) -> u32 {
    scenario.cluster().brokers
}

fn summarize(cluster: &Cluster) -> Vec<PartitionSummary> {
    let image = cluster.metadata();
    image
        .partitions()
        .map(|(tp, p)| {
            let empty = PartitionSummary {
                divergence: vec![],
                leader: p.leader,
                log_start_offset: 0,
                high_watermark: 0,
                log_end_offset: 0,
                values: vec![],
                partition: tp.clone(),
            };
            let Some(leader) = p.leader else {
                return empty;
            };
            // The logs are read in place: copying every replica's log at the end
            // of every run cost more than the comparison itself.
            let summary = cluster.with_log(leader, &tp, |leader_log| {
                let mut divergence = Vec::new();
                for &follower in p.replicas.iter().filter(|&&b| b != leader) {
                    cluster.with_log(follower, &tp, |log| {
                        divergence.extend(replica_divergence(
                            &tp,
                            (leader, leader_log),
                            &[(follower, log)],
                        ))
                    });
                }
                PartitionSummary {
                    divergence,
                    log_start_offset: leader_log.log_start_offset(),
                    high_watermark: leader_log.high_watermark(),
                    log_end_offset: leader_log.log_end_offset(),
                    values: (leader_log.batches().iter())
                        .flat_map(|b| b.records.iter().map(|r| r.value.clone()))
                        .collect(),
                    ..empty.clone()
                }
            });
            summary.unwrap_or(empty)
        })
        .collect()
}

fn crash_report(
    seed: u64,
    scenario: &'static Scenario,
    trace: &Trace,
    message: String,
) -> RunReport {
    RunReport {
        seed,
        scenario: scenario.name,
        brokers: spec_brokers(scenario),
        timeline: trace.timeline_entries(),
        partitions: vec![],
        trace_hash: trace.hash(),
        trace_events: trace.events(),
        messages: trace.messages(),
        simulated_ms: trace.timeline_entries().last().map_or(0, |e| e.time_ms),
        trace_lines: trace.lines(),
        goals: trace.goals(),
        outcome: ScenarioOutcome::default(),
        verdict: Verdict::Crash(message),
        capture: trace.is_capturing().then(|| RunCapture {
            events: trace.captured(),
            machines: trace.machines(),
            logs: vec![],
        }),
        safety_phase_ms: None,
    }
}

pub(crate) fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "a panic without a message".into())
}
