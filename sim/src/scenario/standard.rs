//! `standard`: the swarm scenario. A safe configuration under faults the seed
//! draws; every acknowledged record must be kept, and processed.
//!
//! Three brokers; topic `events` with 6 partitions, RF 3 and
//! `min.insync.replicas` 2. Two idempotent `acks=all` producers send keyed
//! records at a steady rate, each on its own client machine; a group of three
//! [`Worker`]s processes them, committing after processing (at-least-once).
//! The [`nemesis`](crate::nemesis) draws a fault mix and a schedule from the
//! seed under [`Profile::SAFE`] and prints both first on the timeline.
//!
//! A run has three phases. **Safety**: 60 s of producing under the schedule.
//! **Heal**: every fault still on is undone, and the producers stop sending.
//! **Liveness**: up to 60 s for the producers' last sends to finish, for the
//! group to process every acknowledged record, and for every replica to be back
//! in sync. Then a fresh consumer reads every partition from the beginning.
//!
//! The judgement uses [`crate::check`]'s functions. Lost writes, duplicates in the log
//! and reorderings (read against each producer's own sends, in the order it
//! issued them: an idempotent producer keeps that order within a partition)
//! and divergent replicas (`run` checks those) break Kafka's promises: a
//! correctness failure. A record processed twice is allowed (at-least-once, with
//! rebalances). An acknowledged record the group never processed within the
//! bound, though the log still holds it, or a replica still out of sync at the
//! bound, is a liveness failure.

use super::toolkit::{create_topic, pause, read_partitions, wait_for};
use super::worker::{Commit, Narration, Processed, SelfFault, Worker};
use super::{ConsumedRecord, Scenario, ScenarioFuture, ScenarioOutcome, SentRecord};
use crate::check::{processing_anomalies, write_anomalies, Anomaly};
use crate::cluster::{Cluster, ClusterSpec};
use crate::driver::now_ms;
use crate::nemesis::{draw_for_run, run_safety_phase, Nemesis, Profile, Targets};
use kafkasim::client::admin::NewTopic;
use kafkasim::ids::{Offset, TopicPartition};
use producing::{start_producers, tell_sends, wait_for_producers};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

mod producing;

pub const STANDARD: Scenario = Scenario {
    name: "standard",
    summary: "swarm: 6 partitions (RF 3, min ISR 2), 2 idempotent producers, a group of 3; 60 s of faults drawn from the seed, heal, then every acknowledged record must be kept and processed",
    cluster: ClusterSpec::default,
    run,
};

const TOPIC: &str = "events";
const PARTITIONS: i32 = 6;
const GROUP: &str = "group-1";
const PRODUCERS: [&str; 2] = ["producer-1", "producer-2"];
const CONSUMERS: [&str; 3] = ["consumer-1", "consumer-2", "consumer-3"];
/// How long faults are drawn and carried out.
pub const SAFETY_PHASE_MS: u64 = 60_000;
/// How long after the heal the producers and the group have to finish.
pub const LIVENESS_PHASE_MS: u64 = 60_000;
/// How often the liveness phase looks at what the group processed.
const PROGRESS_CHECK_MS: u64 = 500;

fn run(cluster: Cluster) -> ScenarioFuture {
    Box::pin(async move {
        let clients = PRODUCERS.iter().chain(&CONSUMERS);
        let targets = Targets {
            brokers: cluster.bootstrap(),
            clients: clients.map(|name| name.to_string()).collect(),
        };
        // Drawn before anything else runs, so the schedule is the seed's alone.
        let safety_ms = crate::run::safety_phase_ms().unwrap_or(SAFETY_PHASE_MS);
        let nemesis = draw_for_run(Profile::SAFE, &targets, safety_ms);
        nemesis.tell(&cluster);
        let app = cluster.clone();
        cluster
            .spawn_client("app", async move { standard(app, nemesis).await })
            .await
            .expect("the app task finishes")
    })
}

fn partitions() -> Vec<TopicPartition> {
    (0..PARTITIONS)
        .map(|p| TopicPartition::new(TOPIC, p))
        .collect()
}

async fn standard(cluster: Cluster, nemesis: Nemesis) -> ScenarioOutcome {
    let mut outcome = ScenarioOutcome::default();
    if let Err(why) = set_up(&cluster).await {
        outcome.failure = Some(why);
        return outcome;
    }
    let processed = start_group(&cluster);
    let stop = Arc::new(AtomicBool::new(false));
    let (producers, producing) = start_producers(&cluster, &stop);

    run_safety_phase(&cluster, &nemesis.schedule).await;
    stop.store(true, Ordering::Relaxed);

    // The liveness phase: one bound, counted from the heal, for all of it.
    let deadline_ms = now_ms() + LIVENESS_PHASE_MS;
    let mut stuck = wait_for_producers(producing, deadline_ms).await;
    let per_producer: Vec<Vec<SentRecord>> = (producers.iter())
        .map(|sends| sends.take(&mut outcome))
        .collect();
    tell_sends(&cluster, &outcome);
    let missing = wait_until_processed(&outcome.sent, &processed, deadline_ms).await;
    tell_processing(&cluster, &outcome.sent, &processed, missing);
    stuck.extend(wait_until_in_sync(&cluster, deadline_ms).await);

    let final_read = read_partitions(&cluster, partitions(), &last_acked(&outcome.sent)).await;
    outcome.consumed = processed.lock().expect("processed lock").clone();
    judge(&mut outcome, &per_producer, &final_read, stuck);
    outcome
}

/// Creates the topic and waits until every replica of every partition is in sync.
async fn set_up(cluster: &Cluster) -> Result<(), String> {
    let topic = NewTopic::new(TOPIC, PARTITIONS, 3).config("min.insync.replicas", "2");
    create_topic(cluster, topic).await?;
    for tp in partitions() {
        wait_for(cluster, &tp, "every replica in sync", |p| p.isr.len() == 3).await?;
    }
    Ok(())
}

/// Starts the group's workers; returns what they will have processed.
fn start_group(cluster: &Cluster) -> Processed {
    let processed = Processed::default();
    for name in CONSUMERS {
        let worker = Worker {
            name,
            group: GROUP,
            topics: vec![TOPIC.into()],
            commit: Commit::AfterProcessing,
            fault: SelfFault::None,
            narration: Narration::Rebalances,
        };
        worker.spawn(cluster, processed.clone());
    }
    processed
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

/// How many acknowledged records the group has not processed yet.
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

/// Tells how far the group got with the acknowledged records.
fn tell_processing(cluster: &Cluster, sent: &[SentRecord], processed: &Processed, missing: usize) {
    let processings = processed.lock().expect("processed lock").len();
    let text = if missing == 0 {
        format!(
            "the group processed all {} acknowledged records ({processings} processings in all)",
            sent.len()
        )
    } else {
        format!(
            "the group left {missing} of {} acknowledged records unprocessed at the bound",
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
async fn wait_until_in_sync(cluster: &Cluster, deadline_ms: u64) -> Option<String> {
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
                LIVENESS_PHASE_MS / 1000,
                lagging.join(", ")
            ));
        }
        pause(PROGRESS_CHECK_MS).await;
    }
}

// ---- judging ------------------------------------------------------------------------

/// Judges the run: see the module's doc for what fails it and what is allowed.
fn judge(
    outcome: &mut ScenarioOutcome,
    per_producer: &[Vec<SentRecord>],
    final_read: &[ConsumedRecord],
    mut stuck: Vec<String>,
) {
    let broken = broken_promises(per_producer, final_read);
    let lost: BTreeSet<(TopicPartition, Offset)> = (broken.iter())
        .filter_map(|a| match a {
            Anomaly::LostWrite {
                partition, offset, ..
            } => Some((partition.clone(), *offset)),
            _ => None,
        })
        .collect();
    let mut never_processed = Vec::new();
    for anomaly in processing_anomalies(outcome) {
        match &anomaly {
            Anomaly::ProcessedAgain { .. } => outcome.allowed_anomalies.push(format!(
                "{anomaly} (allowed: at-least-once; a rebalance hands a partition over from its last commit)"
            )),
            // A lost write is never processed either; it is told once, as lost.
            Anomaly::NotProcessed {
                partition, offset, ..
            } if lost.contains(&(partition.clone(), *offset)) => {}
            _ => never_processed.push(anomaly.to_string()),
        }
    }
    if !broken.is_empty() {
        let lines: Vec<String> = broken.iter().map(ToString::to_string).collect();
        outcome.failure = Some(lines.join("; "));
    }
    if !never_processed.is_empty() {
        let count = never_processed.len();
        let shown: Vec<String> = never_processed.into_iter().take(5).collect();
        stuck.push(format!(
            "{count} acknowledged record(s) not processed {} s after the heal: {}",
            LIVENESS_PHASE_MS / 1000,
            shown.join("; ")
        ));
    }
    if !stuck.is_empty() {
        outcome.liveness_failure = Some(stuck.join("; "));
    }
}

/// The write anomalies of the final read: each producer's acknowledged sends,
/// in the order it issued them, against the log. `write_anomalies` reads its
/// sends' order as one producer's, so each producer is checked on its own, and
/// an anomaly of the log alone (a duplicate) is kept once.
fn broken_promises(
    per_producer: &[Vec<SentRecord>],
    final_read: &[ConsumedRecord],
) -> Vec<Anomaly> {
    let mut broken: Vec<Anomaly> = Vec::new();
    for sent in per_producer {
        let view = ScenarioOutcome {
            sent: sent.clone(),
            consumed: final_read.to_vec(),
            ..ScenarioOutcome::default()
        };
        for anomaly in write_anomalies(&view) {
            if !broken.contains(&anomaly) {
                broken.push(anomaly);
            }
        }
    }
    broken
}
