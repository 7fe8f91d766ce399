//! `kafkasim shrink`: a failing seed, reduced to a small scenario file that
//! still fails the same way.
//!
//! A swarm run that fails has a dozen faults, thousands of records, five
//! clients; most of it is noise. Shrinking first writes the seed's drawn faults
//! out as an explicit schedule (drawn before the run from a stream of its own,
//! the written schedule gives the same run with the same seed), then tries
//! smaller versions of the workload one at a time, keeping each that still
//! shows the same finding kind with the same seed, until no step helps:
//!
//! 1. drop faults (half of them, then quarters, … then one at a time);
//! 2. shorten each remaining fault (halve its duration), and start them sooner;
//! 3. end the safety phase soon after the last fault;
//! 4. drop producers, consumers and whole groups (the last first), and halve
//!    the producers' rates;
//! 5. halve the partitions of each topic.
//!
//! It is greedy, like delta debugging: the result is *a* minimal file (no single
//! step makes it smaller), not the smallest. Every run is a full simulation with
//! the same seed, so shrinking is as deterministic as a run: the same input
//! gives the same minimal file. The result is a scenario file that says what it
//! shows (`expect`), with a comment on what each remaining fault does.

use crate::render::counted;
use crate::render::Counts;
use crate::run::{run_seed, RunReport};
use crate::scenario::workload::file::{parse, to_toml};
use crate::scenario::workload::{Expectation, FaultPlan, Workload};
use crate::scenario::{LabRules, Scenario};
use kafkasim_check::fault::{Action, Fault, Schedule, Target};
use kafkasim_check::Kind;
use std::collections::BTreeSet;

/// A way to make a workload smaller: each candidate, with what it changed.
type Step = fn(&Workload) -> Vec<(String, Workload)>;

/// How many runs a shrink may take unless told otherwise.
pub const MAX_RUNS_DEFAULT: usize = 300;
/// A fault is not shortened below this.
const SHORTEST_FAULT_MS: u64 = 100;

/// The finding kinds a run showed, allowed or failing.
pub fn shown_kinds(report: &RunReport) -> BTreeSet<Kind> {
    report.judgement.kinds()
}

/// What to shrink.
pub struct Request {
    pub scenario: Scenario,
    pub seed: u64,
    /// The kind to keep; `None`: the first kind that fails the run.
    pub kind: Option<Kind>,
    pub max_runs: usize,
}

/// A minimal workload that still shows the kind, and how it was reached.
pub struct Shrunk {
    pub workload: Workload,
    pub kind: Kind,
    pub runs: usize,
    /// The faults of the original run, and of the minimal one.
    pub faults_before: usize,
    pub records_before: usize,
    pub records_after: usize,
}

impl Shrunk {
    /// How many faults the minimal workload keeps.
    pub fn fault_count(&self) -> usize {
        match &self.workload.faults {
            FaultPlan::Schedule(schedule) => schedule.faults.len(),
            _ => 0,
        }
    }

    /// The minimal scenario file, with what it came from and what each fault does.
    pub fn scenario_file(&self, from: &str, seed: u64) -> String {
        let faults = match &self.workload.faults {
            FaultPlan::Schedule(s) => s.faults.clone(),
            _ => vec![],
        };
        let header = vec![
            format!(
                "A minimal scenario showing {}: `kafkasim shrink --seed {seed} --scenario {from}`",
                self.kind
            ),
            format!(
                "reduced it in {} runs from {} faults and {} acknowledged records to {} and {}.",
                self.runs,
                self.faults_before,
                self.records_before,
                faults.len(),
                self.records_after
            ),
            "Replay it with `kafkasim run --scenario FILE` (its seed is under expect).".into(),
        ];
        let notes: Vec<String> = faults.iter().map(explain).collect();
        to_toml(&self.workload, &header, &notes)
    }
}

/// What a fault does to the cluster, in a sentence or two.
pub fn explain(fault: &Fault) -> String {
    let what = match &fault.action {
        Action::Crash { node: Target::Controller } => {
            "the controller is down: no elections, fencing or ISR changes until it returns.".into()
        }
        Action::Crash { node } => format!(
            "{node}'s process dies (its page cache survives). The partitions it led elect new leaders;\nwhen it returns it truncates what the new leaders do not have."
        ),
        Action::PowerLoss { node } => format!(
            "{node} loses power: what it had neither flushed nor written back is gone when it restarts,\nacknowledged or not."
        ),
        Action::ReplaceDisk { node } => format!(
            "{node}'s disk is replaced: it restarts with no logs and must fetch everything again;\nuntil it has, it must not rejoin an ISR (KIP-903)."
        ),
        Action::Pause { node } => format!(
            "{node} stops the world: it neither fetches nor answers. Past broker.session.timeout.ms the\ncontroller fences it and moves its leaderships; it resumes believing it still leads."
        ),
        Action::Isolate { node: Target::Controller } => {
            "the controller is cut off from every broker: brokers serve clients with the metadata they have,\nnothing is elected and no ISR changes; past broker.session.timeout.ms it fences the brokers\nit no longer hears, and their stalled heartbeats unfence them after the heal.".into()
        }
        Action::Isolate { node } => format!(
            "{node} is cut off from the controller and the other brokers (clients still reach it):\nit goes on acting as a leader with stale metadata until it is fenced."
        ),
        Action::LinkCut { nodes: [a, b] } => format!(
            "{a} and {b} cannot talk: whichever follows the other falls behind and leaves the\nISR after replica.lag.time.max.ms."
        ),
        Action::Split { nodes } => {
            let names: Vec<String> = nodes.iter().map(Target::to_string).collect();
            let (lose, its, it) = match names.len() {
                1 => ("loses", "its", "it"),
                _ => ("lose", "their", "them"),
            };
            format!(
                "{} {lose} the controller and the other brokers: fenced after broker.session.timeout.ms,\n{its} leaderships move to the majority, where the ISRs shrink to exclude {it}.",
                names.join(" and ")
            )
        }
        Action::OneWay { from, to } => format!(
            "messages from {from} to {to} stall while the other way flows: requests arrive but their\nanswers (or the requests themselves) do not, so fetches lag, heartbeats go unheard or unanswered."
        ),
        Action::SlowNetwork { extra_ms } => format!(
            "every message takes {extra_ms} ms longer: requests near their timeouts expire and are retried,\nfollowers lag, and acks=all writes wait longer for the ISR."
        ),
        Action::FlakyLink { nodes: [a, b] } => format!(
            "the link between {a} and {b} clogs and opens over and over, as a lossy link looks\nto TCP: fetches between them stall and resume, connects are refused, the ISR may shrink and grow."
        ),
        Action::LostResponse { node, api } => format!(
            "the next {api} response from {node} is lost: the server did the work, the client sees a broken\nconnection and retries."
        ),
        Action::StallApi { node, api } => format!(
            "every {api} message from {node} stalls while its others flow: its heartbeats keep its session,\nbut what that API asks or answers arrives late, when the world it was meant for has moved on."
        ),
        Action::ClientCut { client, node } => format!(
            "{client} cannot reach {node}: its requests there time out and are retried."
        ),
        Action::ClientPause { client } => format!(
            "{client} stops the world: a consumer paused past session.timeout.ms leaves its group and\nresumes a zombie, still holding the records it polled."
        ),
        Action::ClientCrash { client } => format!(
            "{client} dies, closing nothing: a consumer's partitions move on after session.timeout.ms."
        ),
    };
    format!("{fault}:\n{what}")
}

/// Shrinks; `progress` hears one line per step tried.
pub fn shrink(request: &Request, progress: &mut dyn FnMut(&str)) -> Result<Shrunk, String> {
    let name = &request.scenario.name;
    let mut workload = request.scenario.as_workload().cloned().ok_or_else(|| {
        format!(
            "scenario {name} is written as code, not as a workload; shrink works on `standard` and scenario files (see sim/scenarios/, e.g. high-watermark-truncation.toml for KIP-101)"
        )
    })?;
    if workload.is_story() {
        return Err(format!(
            "scenario {name} is a story: its steps already say every fault and when; shrink works on workloads whose faults are drawn from the seed or scheduled (`standard`, sim/scenarios/*.toml)"
        ));
    }
    workload.expect = None;
    let first = run_seed(request.seed, &request.scenario);
    let kind = target_kind(request, &first)?;
    progress(&format!(
        "seed {} of {name} shows {kind}; shrinking (at most {} runs)",
        request.seed, request.max_runs
    ));
    let mut shrinker = Shrinker {
        seed: request.seed,
        lab: request.scenario.lab,
        kind,
        runs: 1,
        max_runs: request.max_runs,
        progress,
    };
    let faults_before = first.schedule.as_ref().map_or(0, |s| s.faults.len());
    let records_before = Counts::of(&first.run.history).acknowledged;
    workload = shrinker.written_out(workload, &first)?;
    let mut best = workload;
    loop {
        let before = shrinker.runs;
        let smaller = shrinker.pass(best.clone());
        let progressed = smaller.is_some();
        if let Some(smaller) = smaller {
            best = smaller;
        }
        if !progressed || shrinker.runs >= shrinker.max_runs || shrinker.runs == before {
            break;
        }
    }
    let last = shrinker.run(&best);
    let records_after = last
        .as_ref()
        .map_or(0, |r| Counts::of(&r.run.history).acknowledged);
    if !best.summary.starts_with("minimal") {
        best.summary = format!("minimal, shrunk from: {}", best.summary);
    }
    best.expect = Some(Expectation {
        seed: shrinker.seed,
        kind,
    });
    Ok(Shrunk {
        workload: best,
        kind,
        runs: shrinker.runs,
        faults_before,
        records_before,
        records_after,
    })
}

/// The kind to keep, or why there is nothing to shrink.
fn target_kind(request: &Request, first: &RunReport) -> Result<Kind, String> {
    let (name, seed) = (&request.scenario.name, request.seed);
    let shown = shown_kinds(first);
    let listed = |kinds: &BTreeSet<Kind>| match kinds.is_empty() {
        true => "no anomaly at all".to_string(),
        false => (kinds.iter().map(|k| k.name()))
            .collect::<Vec<_>>()
            .join(", "),
    };
    match request.kind {
        Some(kind) if shown.contains(&kind) => Ok(kind),
        Some(kind) => Err(format!(
            "seed {seed} of {name} does not show {kind}; it shows {}",
            listed(&shown)
        )),
        None => first.judgement.failing_kinds().into_iter().next().ok_or_else(|| {
            let hint = match shown.is_empty() {
                true => String::new(),
                false => " (pass --kind KIND to shrink toward an allowed anomaly)".into(),
            };
            format!(
                "seed {seed} of {name} does not fail (verdict ok; it shows {}): nothing to shrink{hint}",
                listed(&shown)
            )
        }),
    }
}

struct Shrinker<'p> {
    seed: u64,
    lab: Option<LabRules>,
    kind: Kind,
    runs: usize,
    max_runs: usize,
    progress: &'p mut dyn FnMut(&str),
}

impl Shrinker<'_> {
    /// Runs `workload` with the seed; `None` when it cannot be written as a
    /// file (a step removed what a fault names) or the budget is spent.
    fn run(&mut self, workload: &Workload) -> Option<RunReport> {
        if self.runs >= self.max_runs {
            return None;
        }
        // Only what a scenario file can say counts: the result must be one.
        let text = to_toml(workload, &[], &[]);
        let workload = parse(&text).ok()?;
        self.runs += 1;
        let mut scenario = Scenario::workload("shrinking", workload);
        if let Some(lab) = self.lab {
            // A file does not say a lab's rules: they go with every run.
            scenario = scenario.with_lab(lab);
        }
        Some(run_seed(self.seed, &scenario))
    }

    fn shows(&mut self, workload: &Workload, step: &str) -> bool {
        let Some(report) = self.run(workload) else {
            return false;
        };
        let kept = shown_kinds(&report).contains(&self.kind);
        let verdict = if kept {
            "still shows"
        } else {
            "no longer shows"
        };
        let line = format!("run {}: {step}: {verdict} {}", self.runs, self.kind);
        (self.progress)(&line);
        kept
    }

    /// The workload with the seed's drawn faults written out. They were drawn
    /// before the run from a stream of their own, so the written schedule gives
    /// the same run with the same seed; a run that does not is a bug, told.
    fn written_out(
        &mut self,
        mut workload: Workload,
        first: &RunReport,
    ) -> Result<Workload, String> {
        if let FaultPlan::Schedule(_) | FaultPlan::None = workload.faults {
            return Ok(workload);
        }
        let schedule = first.schedule.clone().ok_or("the run left no schedule")?;
        workload.faults = FaultPlan::Schedule(schedule);
        match self.shows(&workload, "the drawn faults written out") {
            true => Ok(workload),
            false => Err(format!(
                "written out as a schedule, the faults of seed {} no longer show {}: a written schedule must replay its draw exactly (a bug)",
                self.seed, self.kind
            )),
        }
    }

    /// One pass over every kind of step; the smaller workload, if any step held.
    fn pass(&mut self, start: Workload) -> Option<Workload> {
        let mut best = start;
        let mut progressed = false;
        let steps: [Step; 6] = [
            drop_faults,
            shorten_faults,
            start_sooner,
            shorten_safety_phase,
            fewer_clients,
            fewer_partitions,
        ];
        for step in steps {
            // Candidates are retried from the top after each success.
            'again: loop {
                for (what, candidate) in step(&best) {
                    if self.runs >= self.max_runs {
                        return progressed.then_some(best);
                    }
                    if self.shows(&candidate, &what) {
                        best = candidate;
                        progressed = true;
                        continue 'again;
                    }
                }
                break;
            }
        }
        progressed.then_some(best)
    }
}

fn schedule_of(workload: &Workload) -> Option<&Schedule> {
    match &workload.faults {
        FaultPlan::Schedule(s) => Some(s),
        _ => None,
    }
}

fn with_faults(workload: &Workload, faults: Vec<Fault>) -> Workload {
    let mut smaller = workload.clone();
    smaller.faults = FaultPlan::Schedule(Schedule {
        phase_ms: workload.safety_ms,
        faults,
    });
    smaller
}

/// Without half the faults, then without each quarter, …, then without each one.
fn drop_faults(workload: &Workload) -> Vec<(String, Workload)> {
    let Some(schedule) = schedule_of(workload) else {
        return vec![];
    };
    let n = schedule.faults.len();
    let mut candidates = Vec::new();
    let mut chunk = n.div_ceil(2);
    while chunk >= 1 && n > 0 {
        for start in (0..n).step_by(chunk) {
            let end = (start + chunk).min(n);
            let kept: Vec<Fault> = (schedule.faults.iter().enumerate())
                .filter(|(i, _)| *i < start || *i >= end)
                .map(|(_, f)| f.clone())
                .collect();
            let what = match end - start {
                1 => format!("without fault {}", schedule.faults[start]),
                k => format!("without faults {}..{} ({k} of {n})", start + 1, end),
            };
            candidates.push((what, with_faults(workload, kept)));
        }
        if chunk == 1 {
            break;
        }
        chunk = chunk.div_ceil(2);
    }
    candidates
}

/// Each fault lasting half as long.
fn shorten_faults(workload: &Workload) -> Vec<(String, Workload)> {
    let Some(schedule) = schedule_of(workload) else {
        return vec![];
    };
    let mut candidates = Vec::new();
    for (i, timed) in schedule.faults.iter().enumerate() {
        let lasting = timed.for_ms;
        if lasting / 2 < SHORTEST_FAULT_MS {
            continue;
        }
        let mut faults = schedule.faults.clone();
        faults[i].for_ms = lasting / 2;
        let what = format!("fault {} lasting {} ms", timed, lasting / 2);
        candidates.push((what, with_faults(workload, faults)));
    }
    candidates
}

/// Every fault starting sooner, by half the time before the first one (less
/// producing before the story starts).
fn start_sooner(workload: &Workload) -> Vec<(String, Workload)> {
    let Some(schedule) = schedule_of(workload) else {
        return vec![];
    };
    let Some(first) = schedule.faults.first() else {
        return vec![];
    };
    let by = first.at_ms / 2;
    if by < 500 {
        return vec![];
    }
    let faults = (schedule.faults.iter())
        .map(|f| Fault {
            at_ms: f.at_ms - by,
            ..f.clone()
        })
        .collect();
    vec![(
        format!("every fault {by} ms sooner"),
        with_faults(workload, faults),
    )]
}

/// The safety phase ending a second after the last fault ends (or half as long
/// without faults).
fn shorten_safety_phase(workload: &Workload) -> Vec<(String, Workload)> {
    let faults = schedule_of(workload).map_or(vec![], |s| s.faults.clone());
    let last_end = faults.iter().map(Fault::end_ms).max();
    let target = match last_end {
        Some(end) => (end + 1_000).div_ceil(1_000) * 1_000,
        None => workload.safety_ms / 2,
    };
    if target == 0 || target >= workload.safety_ms {
        return vec![];
    }
    let mut smaller = with_faults(workload, faults);
    smaller.safety_ms = target;
    if let FaultPlan::Schedule(s) = &mut smaller.faults {
        s.phase_ms = target;
        if s.faults.is_empty() && workload.faults == FaultPlan::None {
            smaller.faults = FaultPlan::None;
        }
    }
    vec![(format!("a safety phase of {target} ms"), smaller)]
}

/// Without the last producer, the last consumer of each group, each group; the
/// producers sending half as fast.
fn fewer_clients(workload: &Workload) -> Vec<(String, Workload)> {
    let mut candidates = Vec::new();
    if workload.producers.len() > 1 {
        let mut smaller = workload.clone();
        let gone = smaller.producers.pop().expect("more than one").name;
        candidates.push((format!("without {gone}"), without_client(smaller, &gone)));
    }
    for (i, group) in workload.groups.iter().enumerate() {
        let mut smaller = workload.clone();
        let removed: Vec<String> = smaller.groups.remove(i).consumers;
        let smaller = removed.iter().fold(smaller, |w, c| without_client(w, c));
        candidates.push((format!("without group {}", group.id), renumbered(smaller)));
        if group.consumers.len() > 1 {
            let mut smaller = workload.clone();
            let gone = smaller.groups[i].consumers.pop().expect("more than one");
            let smaller = renumbered(without_client(smaller, &gone));
            candidates.push((format!("without {gone}"), smaller));
        }
    }
    let slower: Vec<u64> = (workload.producers.iter())
        .map(|p| (1000 / p.interval_ms.max(1)) / 2)
        .collect();
    if slower.iter().all(|&rate| rate >= 1) && !workload.producers.is_empty() {
        let mut smaller = workload.clone();
        for (producer, rate) in smaller.producers.iter_mut().zip(&slower) {
            producer.interval_ms = 1000 / rate;
        }
        candidates.push(("the producers at half the rate".to_string(), smaller));
    }
    candidates
}

/// `workload` without the faults that name `client`.
fn without_client(mut workload: Workload, client: &str) -> Workload {
    if let FaultPlan::Schedule(schedule) = &mut workload.faults {
        schedule
            .faults
            .retain(|f| f.action.client() != Some(client));
    }
    workload
}

/// Consumers renamed in order (`consumer-1`, …), as a file names them, and the
/// faults that name them renamed to match.
fn renumbered(mut workload: Workload) -> Workload {
    let mut renames: Vec<(String, String)> = Vec::new();
    let mut n = 0;
    for group in &mut workload.groups {
        for consumer in &mut group.consumers {
            n += 1;
            let name = format!("consumer-{n}");
            renames.push((consumer.clone(), name.clone()));
            *consumer = name;
        }
    }
    if let FaultPlan::Schedule(schedule) = &mut workload.faults {
        for timed in &mut schedule.faults {
            if let Action::ClientCut { client, .. }
            | Action::ClientPause { client }
            | Action::ClientCrash { client } = &mut timed.action
            {
                if let Some((_, to)) = renames.iter().find(|(from, _)| from == client) {
                    *client = to.clone();
                }
            }
        }
    }
    workload
}

/// Each topic with half its partitions.
fn fewer_partitions(workload: &Workload) -> Vec<(String, Workload)> {
    let mut candidates = Vec::new();
    for (i, topic) in workload.topics.iter().enumerate() {
        if topic.partitions > 1 {
            let mut smaller = workload.clone();
            smaller.topics[i].partitions = topic.partitions / 2;
            let partitions = usize::try_from(topic.partitions / 2).unwrap_or(0);
            let what = format!(
                "topic {} with {}",
                topic.name,
                counted(partitions, "partition")
            );
            candidates.push((what, smaller));
        }
    }
    candidates
}

#[cfg(test)]
mod tests;
