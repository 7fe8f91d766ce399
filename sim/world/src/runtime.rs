//! One seeded run: a fresh simulator, a cluster, application code, and what
//! the run leaves to judge.
//!
//! Every run gets its own OS thread, because madsim's determinism (and the
//! order of std's `HashMap`) holds only for a runtime that starts on a fresh
//! thread. A panic inside the simulation (a node invariant broke) ends the run
//! with a `crash` finding instead of taking the caller down, and a run that
//! does not finish within its simulated time limit ends with `run-timed-out`;
//! either way the trace and the history recorded so far are kept.

use crate::cluster::{Cluster, ClusterSpec};
use crate::end::{divergence_findings, replica_logs, summarize, PartitionLogs, PartitionSummary};
use crate::network::SEND_LATENCY;
use crate::trace::{Captured, TimelineEntry, Trace, TraceLines};
use kafkasim_check::history::{Entry, History};
use kafkasim_check::{judge, Config, Detail, Finding, Judgement, Kind};
use std::collections::BTreeMap;
use std::future::Future;

/// A run that has not finished after this much simulated time is stuck.
pub const TIME_LIMIT_MS_DEFAULT: u64 = 600_000;

/// The project's simulator settings: latencies of 1–5 ms, no packet loss
/// (connections are TCP-like; faults come from the harness, not from noise).
fn sim_config() -> madsim::Config {
    let mut config = madsim::Config::default();
    config.net.send_latency = SEND_LATENCY;
    config.net.packet_loss_rate = 0.0;
    config
}

/// A fresh madsim runtime for `seed` with the project's network settings.
pub(crate) fn runtime(seed: u64) -> madsim::runtime::Runtime {
    madsim::runtime::Runtime::with_seed_and_config(seed, sim_config())
}

/// What a run keeps besides what every run keeps, and how long it may take.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// Keep every trace line, read as this says (`kafkasim replay`).
    pub keep_trace: Option<TraceLines>,
    /// Capture typed events and the replicas' logs (`kafkasim run --report`).
    pub capture: bool,
    /// The simulated time the application code may take.
    pub time_limit_ms: u64,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            keep_trace: None,
            capture: false,
            time_limit_ms: TIME_LIMIT_MS_DEFAULT,
        }
    }
}

/// Runs `app` as [`simulate`] does, and returns what it returned, or why the
/// run ended without it (the panic's message, or the time limit): for examples
/// and tests that want the application's own result.
pub fn run_app<F, Fut, T>(seed: u64, spec: ClusterSpec, app: F) -> Result<T, String>
where
    F: FnOnce(Cluster) -> Fut + Send + 'static,
    Fut: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let run = simulate(seed, spec, &Options::default(), app);
    let why = |run: &Run<T>| {
        let ended = run
            .observed
            .iter()
            .find(|f| matches!(f.kind, Kind::Crash | Kind::RunTimedOut));
        ended.map_or("the run ended without a result".into(), |f| {
            match &f.detail {
                Detail::Crash { message } => message.clone(),
                _ => f.to_string(),
            }
        })
    };
    match run.value {
        Some(value) => Ok(value),
        None => Err(why(&run)),
    }
}

/// What a run leaves: what the application returned, what its clients saw,
/// what the nodes did, and the partitions at the end.
#[derive(Debug, Clone)]
pub struct Run<T> {
    pub seed: u64,
    pub brokers: u32,
    /// What the application code returned; `None` if it crashed or timed out.
    pub value: Option<T>,
    /// Every client operation, as the clients recorded it.
    pub history: Vec<Entry>,
    /// What the driver found as the run went and at its end: broken invariants,
    /// divergent replicas, a crash or a timeout.
    pub observed: Vec<Finding>,
    /// Whether a broker lost power (what it had not flushed is gone).
    pub power_loss: bool,
    /// Whether the cluster was configured with eligible leader replicas
    /// (KIP-966). The configuration, not what the controller did: a bug
    /// switch that turns the feature off does not turn Kafka's promise off.
    pub eligible_leader_replicas: bool,
    /// Whether a topic allows unclean leader elections, at the end.
    pub unclean_leader_election: bool,
    pub partitions: Vec<PartitionSummary>,
    pub timeline: Vec<TimelineEntry>,
    pub trace_hash: u64,
    pub trace_events: u64,
    pub messages: u64,
    pub simulated_ms: u64,
    /// The full trace, when asked for.
    pub trace_lines: Vec<String>,
    /// The "sometimes" goals the run reached, with how often (see `goals`).
    pub goals: BTreeMap<&'static str, u64>,
    /// What the run captured for a report (`None` unless asked for).
    pub capture: Option<Capture>,
}

/// What a run captured for its report (`Options::capture`).
#[derive(Debug, Clone, Default)]
pub struct Capture {
    /// Every captured event, in the order it happened.
    pub events: Vec<Captured>,
    /// The machine each client node ran on (`client-3` → `producer`).
    pub machines: BTreeMap<String, String>,
    /// Every partition at the end, with each replica's log.
    pub logs: Vec<PartitionLogs>,
}

impl<T> Run<T> {
    /// Whether the run ended in a crash or at its time limit: its history is
    /// cut short, and only what was observed is judged.
    pub fn interrupted(&self) -> bool {
        (self.observed.iter()).any(|f| matches!(f.kind, Kind::Crash | Kind::RunTimedOut))
    }

    /// The judge's configuration as the run itself tells it: the producers'
    /// settings and the groups from the history, the topics' unclean election
    /// setting, and whether a broker lost power.
    pub fn config(&self) -> Config {
        let mut config = Config::of_history(&self.history);
        config.unclean_leader_election = self.unclean_leader_election;
        config.power_loss = self.power_loss;
        config.eligible_leader_replicas = self.eligible_leader_replicas;
        config
    }

    /// Judges the run under its own configuration ([`Run::config`]).
    pub fn judge(&self) -> Judgement {
        self.judge_with(&self.config())
    }

    /// Judges the run under `config`.
    pub fn judge_with(&self, config: &Config) -> Judgement {
        let history: &[Entry] = match self.interrupted() {
            true => &[],
            false => &self.history,
        };
        judge(history, config, self.observed.clone())
    }
}

/// Runs `app` on a client machine named `app` of a fresh cluster shaped like
/// `spec`, in a fresh simulator seeded with `seed`, on a fresh thread.
pub fn simulate<F, Fut, T>(seed: u64, spec: ClusterSpec, options: &Options, app: F) -> Run<T>
where
    F: FnOnce(Cluster) -> Fut + Send + 'static,
    Fut: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    // The trace and the history live outside the worker, so that a crash still
    // shows what led to it.
    let trace = Trace::new(options.keep_trace, options.capture);
    let history = History::new();
    let (worker_trace, worker_history) = (trace.clone(), history.clone());
    let worker_spec = spec.clone();
    let (limit_ms, capture) = (options.time_limit_ms, options.capture);
    let worker = std::thread::Builder::new()
        .name(format!("seed-{seed}"))
        .spawn(move || {
            runtime(seed).block_on(async move {
                let cluster = Cluster::start(&worker_spec, worker_trace, worker_history);
                let app_cluster = cluster.clone();
                let task = cluster.spawn_client("app", app(app_cluster));
                let value = crate::time::timeout_ms(limit_ms, task).await;
                let value = value.map(|joined| joined.expect("the app task finishes"));
                let end = End {
                    partitions: summarize(&cluster),
                    divergence: divergence_findings(&cluster),
                    logs: if capture {
                        replica_logs(&cluster)
                    } else {
                        vec![]
                    },
                    unclean: cluster.allows_unclean_election(),
                    power_loss: cluster.lost_power(),
                    simulated_ms: crate::time::now_ms(),
                };
                // Drops the tasks still running, which would otherwise outlive the run.
                cluster.shut_down();
                (value, end)
            })
        })
        .expect("the OS can start a thread");
    let (value, end, crash) = match worker.join() {
        Ok((value, end)) => (value, end, None),
        Err(panic) => (None, End::after_crash(&trace), Some(panic_message(&panic))),
    };
    let mut observed = trace.invariant_violations();
    observed.extend(trace.reported());
    observed.extend(end.divergence);
    if let Some(message) = crash {
        observed.push(Finding::new(Kind::Crash, Detail::Crash { message }));
    } else if value.is_none() {
        let detail = Detail::RunTimedOut { limit_ms };
        observed.push(Finding::new(Kind::RunTimedOut, detail));
    }
    Run {
        seed,
        brokers: spec.brokers,
        value,
        history: history.entries(),
        observed,
        power_loss: end.power_loss,
        eligible_leader_replicas: spec.controller.eligible_leader_replicas,
        unclean_leader_election: end.unclean,
        partitions: end.partitions,
        timeline: trace.timeline_entries(),
        trace_hash: trace.hash(),
        trace_events: trace.events(),
        messages: trace.messages(),
        simulated_ms: end.simulated_ms,
        trace_lines: trace.lines(),
        goals: trace.goals(),
        capture: trace.is_capturing().then(|| Capture {
            events: trace.captured(),
            machines: trace.machines(),
            logs: end.logs,
        }),
    }
}

/// Runs `run` twice with the same seed and compares every random number the
/// two runs draw, in order (madsim's `Runtime::check_determinism`): a hidden
/// source of nondeterminism, such as a real clock, an OS random number or an
/// unordered map feeding a decision, is caught even where the trace would not
/// show it. Returns the second run's output; panics, naming the first
/// difference, when the runs differ. `run` usually [`play`]s a cluster.
pub fn check_determinism<F>(seed: u64, run: fn() -> F) -> F::Output
where
    F: Future + 'static,
    F::Output: Send,
{
    madsim::runtime::Runtime::check_determinism(seed, sim_config(), run)
}

/// Runs `app` on a fresh cluster shaped like `spec` inside the current
/// simulation, and returns what it returned (`None` past the time limit). What
/// [`simulate`] does on a fresh thread, for code that runs inside a simulation
/// it did not make, such as [`check_determinism`].
pub async fn play<F, Fut, T>(spec: &ClusterSpec, options: &Options, app: F) -> Option<T>
where
    F: FnOnce(Cluster) -> Fut + Send + 'static,
    Fut: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let trace = Trace::new(options.keep_trace, options.capture);
    let cluster = Cluster::start(spec, trace, History::new());
    let task = cluster.spawn_client("app", app(cluster.clone()));
    let value = crate::time::timeout_ms(options.time_limit_ms, task).await;
    cluster.shut_down();
    value.map(|joined| joined.expect("the app task finishes"))
}

/// What the end of a run showed.
struct End {
    partitions: Vec<PartitionSummary>,
    divergence: Vec<Finding>,
    logs: Vec<PartitionLogs>,
    unclean: bool,
    power_loss: bool,
    simulated_ms: u64,
}

impl End {
    /// A run that crashed has no end to look at, only its trace.
    fn after_crash(trace: &Trace) -> End {
        End {
            partitions: vec![],
            divergence: vec![],
            logs: vec![],
            unclean: false,
            power_loss: false,
            simulated_ms: trace.timeline_entries().last().map_or(0, |e| e.time_ms),
        }
    }
}

/// A panic's message, or a note that it had none.
pub fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "a panic without a message".into())
}
