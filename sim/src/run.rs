//! One seeded run of a scenario, judged.
//!
//! A workload's faults are settled before the run starts: a drawn plan is
//! drawn from the seed here (see [`crate::nemesis`]), so the schedule a run
//! carried out is known, printed first on its timeline and kept in its report,
//! and writing it out to a scenario file gives the same run. The run itself
//! happens in the simulated world (`kafkasim_sim::simulate`); its clients record
//! the history, and the one judge gives the findings and the verdict.

use crate::nemesis::{draw, Targets};
use crate::scenario::workload::{FaultPlan, Workload};
use crate::scenario::StoryFuture;
use crate::scenario::{Body, Scenario};
use kafkasim::bugs::Bugs;
use kafkasim_check::fault::Schedule;
use kafkasim_check::{Judgement, Verdict};
use kafkasim_sim::runtime::TIME_LIMIT_MS_DEFAULT;
use kafkasim_sim::{simulate, Cluster, ClusterSpec, Options, Run, TraceLines};
use std::sync::Arc;

/// What a run keeps besides its report, and the knobs a run may turn.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunOptions {
    /// Keep every trace line, read as this says (`kafkasim replay`).
    pub keep_trace: Option<TraceLines>,
    /// Capture typed events and the replicas' logs (`kafkasim run --report`).
    pub capture: bool,
    /// How long a workload's safety phase lasts, instead of its own
    /// (`kafkasim run --safety-phase-s`); stories written as code ignore it.
    pub safety_phase_ms: Option<u64>,
}

/// A run of a scenario and its judgement.
#[derive(Debug, Clone)]
pub struct RunReport {
    pub scenario: String,
    /// Everything the run left: history, trace facts, partitions, timeline.
    pub run: Run<()>,
    pub judgement: Judgement,
    /// The faults a workload's run carried out (drawn or written).
    pub schedule: Option<Schedule>,
    /// The longer safety phase the run was asked for, if any.
    pub safety_phase_ms: Option<u64>,
    /// Every bug switch the run had on, and those of them the command line
    /// added (which a replay command must name again).
    pub bugs: Bugs,
    pub added_bugs: Bugs,
    /// A bug hunt: the run's text says bugs are on, not which (its JSON and
    /// report still name them).
    pub bugs_hidden: bool,
    /// The lab whose rules the run had instead of Kafka's, if any (a replay
    /// command names it again).
    pub lab: Option<&'static str>,
}

impl RunReport {
    pub fn seed(&self) -> u64 {
        self.run.seed
    }

    pub fn verdict(&self) -> Verdict {
        self.judgement.verdict()
    }
}

/// The simulated time a run may take: the standard bound, longer by as much
/// as a longer safety phase asks for.
pub fn time_limit_ms(options: &RunOptions) -> u64 {
    TIME_LIMIT_MS_DEFAULT + options.safety_phase_ms.unwrap_or(0)
}

/// What running a scenario with a seed takes: the cluster, the application
/// code that runs on its `app` machine, and (for a workload) the faults.
pub struct Prepared {
    pub cluster: ClusterSpec,
    pub app: Box<dyn FnOnce(Cluster) -> StoryFuture + Send>,
    pub schedule: Option<Schedule>,
}

/// Prepares `scenario` for a run with `seed`: a workload's faults are drawn or
/// read here, before anything runs.
pub fn prepare(seed: u64, scenario: &Scenario, options: &RunOptions) -> Prepared {
    match &scenario.body {
        Body::Code { run, .. } => {
            let story = *run;
            Prepared {
                cluster: scenario.cluster(),
                app: Box::new(story),
                schedule: None,
            }
        }
        Body::Workload(workload) => {
            let mut workload = (**workload).clone();
            if let Some(ms) = options.safety_phase_ms {
                workload = workload.with_safety_phase(ms);
            }
            if workload.is_story() {
                let cluster = workload.cluster.clone();
                let workload = Arc::new(workload);
                let app = move |c: Cluster| -> StoryFuture {
                    Box::pin(crate::scenario::workload::run_story(c, workload))
                };
                return Prepared {
                    cluster,
                    app: Box::new(app),
                    schedule: None,
                };
            }
            let (schedule, told) = plan(seed, &workload);
            let cluster = workload.cluster.clone();
            let (workload, carried) = (Arc::new(workload), schedule.clone());
            let app = move |c: Cluster| -> StoryFuture {
                Box::pin(crate::scenario::workload::run(c, workload, carried, told))
            };
            Prepared {
                cluster,
                app: Box::new(app),
                schedule: Some(schedule),
            }
        }
    }
}

/// Runs `scenario` with `seed`, as `options` say, in a fresh simulator on a
/// fresh thread, and judges it.
pub fn run_scenario(seed: u64, scenario: &Scenario, options: &RunOptions) -> RunReport {
    let sim = Options {
        keep_trace: options.keep_trace,
        capture: options.capture,
        time_limit_ms: time_limit_ms(options),
    };
    let Prepared {
        cluster,
        app,
        schedule,
    } = prepare(seed, scenario, options);
    let bugs = cluster.bugs;
    let run = simulate(seed, cluster, &sim, app);
    let judgement = run.judge();
    RunReport {
        scenario: scenario.name.clone(),
        run,
        judgement,
        schedule,
        safety_phase_ms: options.safety_phase_ms,
        bugs,
        added_bugs: scenario.added_bugs,
        bugs_hidden: scenario.hunt(),
        lab: scenario.lab.map(|lab| lab.lab),
    }
}

/// Runs `scenario` with `seed` and nothing kept but the report.
pub fn run_seed(seed: u64, scenario: &Scenario) -> RunReport {
    run_scenario(seed, scenario, &RunOptions::default())
}

/// A workload's faults for `seed`, and the lines that tell where they came
/// from: drawn under a profile, written out, or none.
pub fn plan(seed: u64, workload: &Workload) -> (Schedule, Vec<String>) {
    let (schedule, first) = match &workload.faults {
        FaultPlan::None => {
            let schedule = Schedule {
                phase_ms: workload.safety_ms,
                faults: vec![],
            };
            (schedule, "nemesis (no faults): ".to_string())
        }
        FaultPlan::Schedule(schedule) => {
            (schedule.clone(), "nemesis (a written schedule): ".into())
        }
        FaultPlan::Swarm(profile) => {
            let targets = Targets {
                brokers: (1..=workload.cluster.brokers as i32).collect(),
                clients: workload.clients(),
                partitions: workload.partitions(),
            };
            let nemesis = draw(seed, *profile, &targets, workload.safety_ms);
            let mut told = vec![nemesis.headline()];
            told.extend(nemesis.schedule.faults.iter().map(ToString::to_string));
            return (nemesis.schedule, told);
        }
    };
    let mut told: Vec<String> = schedule.to_string().lines().map(String::from).collect();
    told[0] = format!("{first}{}", told[0]);
    (schedule, told)
}
