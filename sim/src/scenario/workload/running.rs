//! Running a workload: set up, the safety phase under its schedule, the heal,
//! the bounded liveness phase, and the final read. The clients record the
//! history as they go; the run is judged after it ends (see the `run` module).
//!
//! What the liveness phase waits for and does not see within its bound is
//! reported as a finding: a producer still waiting for answers, replicas not
//! back in sync. A group that has not processed every acknowledged record is
//! the judge's to find (`never-processed`), from the history.

use super::producing::{start_producers, tell_sends, wait_for_producers, Start};
use super::{GroupSpec, Workload};
use crate::scenario::worker::{Narration, Processed, SelfFault, Worker};
use kafkasim::ids::TopicPartition;
use kafkasim_check::fault::Schedule;
use kafkasim_check::finding::PartitionState;
use kafkasim_check::history::{value_text, Entry, OpId, Operation, Outcome, Reply, Value};
use kafkasim_check::{Detail, Finding, Kind};
use kafkasim_sim::schedule::run_safety_phase;
use kafkasim_sim::time::{now_ms, sleep_ms};
use kafkasim_sim::trace::Tone;
use kafkasim_sim::Cluster;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// How often the liveness phase looks at what the groups processed.
const PROGRESS_CHECK_MS: u64 = 500;

/// Runs `workload` on `cluster` with `schedule` as its faults; `told` are the
/// lines that say where the schedule came from, first on the timeline.
pub async fn run(cluster: Cluster, workload: Arc<Workload>, schedule: Schedule, told: Vec<String>) {
    for line in told {
        cluster
            .trace()
            .timeline_toned(now_ms(), "nemesis", Tone::Notice, line);
    }
    if set_up(&cluster, &workload).await.is_err() {
        return; // the finding says why
    }
    let groups = start_groups(&cluster, &workload);
    let stop = Arc::new(AtomicBool::new(false));
    let producing = start_producers(&cluster, starts(&workload), &stop);

    run_safety_phase(&cluster, &schedule).await;
    stop.store(true, Ordering::Relaxed);

    // The liveness phase: one bound, counted from the heal, for all of it.
    let deadline_ms = now_ms() + workload.liveness_ms;
    wait_for_producers(&cluster, producing, deadline_ms).await;
    tell_sends(&cluster, &workload);
    for (group, processed) in &groups {
        let acked = cluster
            .history()
            .with_entries(|e| acked_to(e, &group.topics));
        let missing = wait_until_processed(&cluster, &acked, processed, deadline_ms).await;
        let who = match workload.groups.len() {
            1 => "the group".to_string(),
            _ => format!("group {}", group.id),
        };
        tell_processing(&cluster, &who, acked.len(), processed, missing);
    }
    wait_until_in_sync(&cluster, &workload, deadline_ms).await;
    cluster.read_back().await;
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

/// Creates the topics and waits until every replica of every partition is in sync.
async fn set_up(cluster: &Cluster, workload: &Workload) -> Result<(), Finding> {
    for topic in &workload.topics {
        let mut new = kafkasim::client::admin::NewTopic::new(
            &topic.name,
            topic.partitions,
            topic.replication_factor,
        );
        for (key, value) in &topic.configs {
            new = new.config(key, value);
        }
        cluster.create_topic_in_sync(new).await?;
    }
    Ok(())
}

/// Starts every group's workers; returns what each group will have processed.
fn start_groups<'w>(cluster: &Cluster, workload: &'w Workload) -> Vec<(&'w GroupSpec, Processed)> {
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
            };
            worker.spawn(cluster, processed.clone());
        }
        groups.push((group, processed));
    }
    groups
}

/// Every acknowledged send to `topics` (with an offset), by partition and value
/// (a workload's values are its own: `p1-17` is producer-1's 18th send).
fn acked_to(entries: &[Entry], topics: &[String]) -> BTreeSet<(TopicPartition, String)> {
    let mut values: BTreeMap<OpId, &Value> = BTreeMap::new();
    let mut acked = BTreeSet::new();
    for entry in entries {
        match entry {
            Entry::Invoke {
                op,
                operation: Operation::Send { value, .. },
                ..
            } => {
                values.insert(*op, value);
            }
            Entry::Complete {
                op,
                outcome: Outcome::Ok(Reply::Sent { partition, offset }),
                ..
            } if *offset >= 0 && topics.contains(&partition.topic) => {
                if let Some(value) = values.get(op) {
                    acked.insert((partition.clone(), value.to_string()));
                }
            }
            _ => {}
        }
    }
    acked
}

/// The acked records still in their partition's log, as its leader holds it
/// now: a truncation below the high watermark (an unclean election, a power
/// loss) can take one away, and no group can process it then.
fn still_there<'a>(
    cluster: &Cluster,
    acked: &'a BTreeSet<(TopicPartition, String)>,
) -> Vec<&'a (TopicPartition, String)> {
    let image = cluster.metadata();
    // `None`: no leader to read now (offline, or down): every record counts.
    let mut logs: BTreeMap<&TopicPartition, Option<BTreeSet<String>>> = BTreeMap::new();
    for (tp, _) in acked {
        if logs.contains_key(tp) {
            continue;
        }
        let leader = image.partition(tp).and_then(|p| p.leader);
        let values = leader.and_then(|leader| {
            cluster.with_log(leader, tp, |log| {
                (log.batches().iter())
                    .flat_map(|b| b.records.iter().map(|r| value_text(&r.value)))
                    .collect::<BTreeSet<String>>()
            })
        });
        logs.insert(tp, values);
    }
    acked
        .iter()
        .filter(|(tp, value)| match logs.get(tp) {
            Some(Some(values)) => values.contains(value),
            _ => true,
        })
        .collect()
}

// ---- processing ----------------------------------------------------------------------

/// Waits until the group processed every acknowledged record still in its
/// partition, or `deadline_ms` passed; returns how many are unprocessed.
async fn wait_until_processed(
    cluster: &Cluster,
    acked: &BTreeSet<(TopicPartition, String)>,
    processed: &Processed,
    deadline_ms: u64,
) -> usize {
    loop {
        let missing = processed.missing(still_there(cluster, acked));
        if missing == 0 || now_ms() >= deadline_ms {
            return missing;
        }
        sleep_ms(PROGRESS_CHECK_MS).await;
    }
}

/// Tells how far a group got with the acknowledged records.
fn tell_processing(
    cluster: &Cluster,
    who: &str,
    acked: usize,
    processed: &Processed,
    missing: usize,
) {
    let processings = processed.processings();
    let text = if missing == 0 {
        format!(
            "{who} processed all {acked} acknowledged records ({processings} processings in all)"
        )
    } else {
        format!("{who} left {missing} of {acked} acknowledged records unprocessed at the bound")
    };
    cluster.trace().timeline(now_ms(), "app", text);
}

// ---- replicas ------------------------------------------------------------------------

/// The partitions, of every topic, without a leader or with a replica out of the
/// ISR, as the controller sees them.
fn out_of_sync(cluster: &Cluster) -> Vec<PartitionState> {
    (cluster.metadata().partitions())
        .filter(|(_, p)| p.leader.is_none() || p.isr.len() < p.replicas.len())
        .map(|(tp, p)| PartitionState {
            partition: tp,
            leader: p.leader,
            isr: p.isr.clone(),
        })
        .collect()
}

/// Waits until every replica is back in sync; reports `not-in-sync` when they
/// were not by `deadline_ms`. A replica back in the ISR has truncated what it
/// wrote as a stale leader, so only then do replicas agree below the high
/// watermark, which is what the end of a run compares.
async fn wait_until_in_sync(cluster: &Cluster, workload: &Workload, deadline_ms: u64) {
    loop {
        let lagging = out_of_sync(cluster);
        if lagging.is_empty() {
            let text = "every replica of every partition in sync";
            cluster.trace().timeline(now_ms(), "app", text);
            return;
        }
        if now_ms() >= deadline_ms {
            let detail = Detail::NotInSync {
                partitions: lagging,
                bound_ms: workload.liveness_ms,
                time_ms: now_ms(),
            };
            cluster.report(Finding::new(Kind::NotInSync, detail));
            return;
        }
        sleep_ms(PROGRESS_CHECK_MS).await;
    }
}
