//! Running a workload: set up, the safety phase under the fault plan, the heal,
//! the bounded liveness phase, the final read, and the judgement.

use super::judge::{judge, Judged};
use super::producing::{start_producers, tell_sends, wait_for_producers, Start};
use super::{FaultPlan, Workload};
use crate::cluster::Cluster;
use crate::driver::now_ms;
use crate::nemesis::{draw_for_run, run_safety_phase, Schedule, Targets};
use crate::scenario::toolkit::{create_topic, pause, read_partitions, wait_for};
use crate::scenario::worker::{Narration, Processed, SelfFault, Worker};
use crate::scenario::{ScenarioOutcome, SentRecord};
use kafkasim::client::admin::NewTopic;
use kafkasim::ids::{Offset, TopicPartition};
use kafkasim_check::history::History;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// How often the liveness phase looks at what the groups processed.
const PROGRESS_CHECK_MS: u64 = 500;

pub(super) async fn run(workload: Arc<Workload>, cluster: Cluster) -> ScenarioOutcome {
    // Drawn before anything else runs, so the schedule is the seed's alone.
    let schedule = match &workload.faults {
        FaultPlan::None => {
            let schedule = Schedule {
                phase_ms: workload.safety_ms,
                faults: vec![],
            };
            tell_schedule(&cluster, "no faults", &schedule);
            schedule
        }
        FaultPlan::Swarm(profile) => {
            let targets = Targets {
                brokers: cluster.bootstrap(),
                clients: workload.clients(),
                partitions: workload.partitions(),
            };
            let nemesis = draw_for_run(*profile, &targets, workload.safety_ms);
            nemesis.tell(&cluster);
            nemesis.schedule
        }
        FaultPlan::Schedule(schedule) => {
            tell_schedule(&cluster, "a written schedule", schedule);
            schedule.clone()
        }
    };
    let app = cluster.clone();
    cluster
        .spawn_client("app", async move { app_run(app, workload, schedule).await })
        .await
        .expect("the app task finishes")
}

/// `nemesis (a written schedule): 2 faults in 60.000 s`, then each fault.
fn tell_schedule(cluster: &Cluster, what: &str, schedule: &Schedule) {
    let (trace, now) = (cluster.trace(), now_ms());
    let mut lines = schedule.to_string();
    if let Some(first) = lines.lines().next() {
        lines = lines.replacen(first, &format!("nemesis ({what}): {first}"), 1);
    }
    for line in lines.lines() {
        trace.timeline(now, "nemesis", line);
    }
}

async fn app_run(cluster: Cluster, workload: Arc<Workload>, schedule: Schedule) -> ScenarioOutcome {
    let mut outcome = ScenarioOutcome {
        schedule: Some(schedule.clone()),
        ..ScenarioOutcome::default()
    };
    if let Err(why) = set_up(&cluster, &workload).await {
        outcome.failure = Some(why);
        return outcome;
    }
    let history = History::new();
    let groups = start_groups(&cluster, &workload, &history);
    let stop = Arc::new(AtomicBool::new(false));
    let (sends, producing) = start_producers(&cluster, starts(&workload), &stop, &history);

    run_safety_phase(&cluster, &schedule).await;
    stop.store(true, Ordering::Relaxed);

    // The liveness phase: one bound, counted from the heal, for all of it.
    let deadline_ms = now_ms() + workload.liveness_ms;
    let mut stuck = wait_for_producers(producing, deadline_ms).await;
    for producer in &sends {
        producer.take(&mut outcome);
    }
    tell_sends(&cluster, &outcome);
    for (group, processed) in &groups {
        let sent = sent_to(&outcome.sent, &group.topics);
        let missing = wait_until_processed(&sent, processed, deadline_ms).await;
        let who = match workload.groups.len() {
            1 => "the group".to_string(),
            _ => format!("group {}", group.id),
        };
        tell_processing(&cluster, &who, &sent, processed, missing);
    }
    stuck.extend(wait_until_in_sync(&cluster, &workload, deadline_ms).await);

    let partitions = all_partitions(&workload);
    let read_past = last_acked(&outcome.sent);
    read_partitions(&cluster, partitions, &read_past, Some(&history)).await;
    let processed: Vec<(&super::GroupSpec, Vec<_>)> = (groups.iter())
        .map(|(group, p)| (*group, p.lock().expect("processed lock").clone()))
        .collect();
    let judged = Judged {
        workload: &workload,
        history: &history,
        processed: &processed,
    };
    judge(&mut outcome, judged, stuck);
    outcome
}

/// Each producer's start: its spec, its validated configuration, its topic's size.
fn starts(workload: &Workload) -> Vec<Start> {
    (workload.producers.iter())
        .map(|spec| Start {
            config: (workload.producer_config(spec))
                .unwrap_or_else(|e| panic!("a validated workload's producer config: {e}")),
            partitions: workload.topic(&spec.topic).map_or(1, |t| t.partitions),
            spec: spec.clone(),
        })
        .collect()
}

fn all_partitions(workload: &Workload) -> Vec<TopicPartition> {
    (workload.topics.iter())
        .flat_map(|t| (0..t.partitions).map(|p| TopicPartition::new(&t.name, p)))
        .collect()
}

/// Creates the topics and waits until every replica of every partition is in sync.
async fn set_up(cluster: &Cluster, workload: &Workload) -> Result<(), String> {
    for topic in &workload.topics {
        let mut new = NewTopic::new(&topic.name, topic.partitions, topic.replication_factor);
        for (key, value) in &topic.configs {
            new = new.config(key, value);
        }
        create_topic(cluster, new).await?;
        let replicas = topic.replication_factor as usize;
        for p in 0..topic.partitions {
            let tp = TopicPartition::new(&topic.name, p);
            wait_for(cluster, &tp, "every replica in sync", |p| {
                p.isr.len() == replicas
            })
            .await?;
        }
    }
    Ok(())
}

/// Starts every group's workers; returns what each group will have processed.
fn start_groups<'w>(
    cluster: &Cluster,
    workload: &'w Workload,
    history: &History,
) -> Vec<(&'w super::GroupSpec, Processed)> {
    let mut groups = Vec::new();
    for group in &workload.groups {
        let processed = Processed::default();
        for name in &group.consumers {
            let worker = Worker {
                name: name.clone(),
                group: group.id.clone(),
                topics: group.topics.clone(),
                commit: group.commit,
                fault: SelfFault::None,
                narration: Narration::Rebalances,
                settings: group.settings.clone(),
                history: Some(history.clone()),
            };
            worker.spawn(cluster, processed.clone());
        }
        groups.push((group, processed));
    }
    groups
}

/// The acknowledged sends to `topics`.
fn sent_to(sent: &[SentRecord], topics: &[String]) -> Vec<SentRecord> {
    (sent.iter())
        .filter(|s| topics.contains(&s.partition.topic))
        .cloned()
        .collect()
}

/// The last acknowledged offset of each partition: how far the final read goes.
fn last_acked(sent: &[SentRecord]) -> BTreeMap<TopicPartition, Offset> {
    let mut last: BTreeMap<TopicPartition, Offset> = BTreeMap::new();
    for record in sent {
        let at = last
            .entry(record.partition.clone())
            .or_insert(record.offset);
        *at = (*at).max(record.offset);
    }
    last
}

// ---- processing ----------------------------------------------------------------------

/// How many acknowledged records a group has not processed yet.
fn unprocessed(sent: &[SentRecord], processed: &Processed) -> usize {
    let done: BTreeSet<(TopicPartition, Offset)> = (processed.lock().expect("processed lock"))
        .iter()
        .map(|c| (c.partition.clone(), c.offset))
        .collect();
    (sent.iter())
        .filter(|s| !done.contains(&(s.partition.clone(), s.offset)))
        .count()
}

/// Waits until the group processed every acknowledged record or `deadline_ms`
/// passed; returns how many are still unprocessed.
async fn wait_until_processed(
    sent: &[SentRecord],
    processed: &Processed,
    deadline_ms: u64,
) -> usize {
    loop {
        let missing = unprocessed(sent, processed);
        if missing == 0 || now_ms() >= deadline_ms {
            return missing;
        }
        pause(PROGRESS_CHECK_MS).await;
    }
}

/// Tells how far a group got with the acknowledged records.
fn tell_processing(
    cluster: &Cluster,
    who: &str,
    sent: &[SentRecord],
    processed: &Processed,
    missing: usize,
) {
    let processings = processed.lock().expect("processed lock").len();
    let text = if missing == 0 {
        format!(
            "{who} processed all {} acknowledged records ({processings} processings in all)",
            sent.len()
        )
    } else {
        format!(
            "{who} left {missing} of {} acknowledged records unprocessed at the bound",
            sent.len()
        )
    };
    cluster.trace().timeline(now_ms(), "app", text);
}

// ---- replicas ------------------------------------------------------------------------

/// The partitions, of every topic, without a leader or with a replica out of the
/// ISR, as the controller sees them.
fn out_of_sync(cluster: &Cluster) -> Vec<String> {
    (cluster.metadata().partitions())
        .filter(|(_, p)| p.leader.is_none() || p.isr.len() < p.replicas.len())
        .map(|(tp, p)| format!("{tp} (leader {:?}, ISR {:?})", p.leader, p.isr))
        .collect()
}

/// Waits until every replica is back in sync; says which partitions were not
/// by `deadline_ms`. A replica back in the ISR has truncated what it wrote as a
/// stale leader, so only then do replicas agree below the high watermark, which
/// is what `run`'s divergence check compares.
async fn wait_until_in_sync(
    cluster: &Cluster,
    workload: &Workload,
    deadline_ms: u64,
) -> Option<String> {
    loop {
        let lagging = out_of_sync(cluster);
        if lagging.is_empty() {
            let text = "every replica of every partition in sync";
            cluster.trace().timeline(now_ms(), "app", text);
            return None;
        }
        if now_ms() >= deadline_ms {
            return Some(format!(
                "not every replica back in sync {} s after the heal: {}",
                workload.liveness_ms / 1000,
                lagging.join(", ")
            ));
        }
        pause(PROGRESS_CHECK_MS).await;
    }
}
