//! Consumer group scenarios: consumers share a topic's partitions, and crash,
//! stall or lose their coordinator while doing it.
//!
//! Each consumer is a [`Worker`] on its own client machine (so a fault can stop
//! it alone), which "processes" a record by noting it; what was processed, by
//! whom, is the scenario's final read, so the checks see duplicates (a record
//! processed twice) and losses (a record never processed). Whether the
//! application commits after or before processing decides which of the two a
//! crash causes.

use super::toolkit::{create_topic, pause, producer};
use super::worker::{wait_processed, Commit, Narration, Processed, SelfFault, Worker};
use super::{Body, Scenario, ScenarioFuture, ScenarioOutcome, SentRecord};
use crate::check::processing_anomalies;
use crate::cluster::{Cluster, ClusterSpec};
use crate::driver::now_ms;
use kafkasim::client::admin::NewTopic;
use kafkasim::client::producer::ProducerRecord;
use kafkasim::disk::CrashKind;
use kafkasim::group::offsets_topic::{partition_for_group, OFFSETS_TOPIC};

/// Every group scenario, in the order the book meets them.
pub const ALL: &[Scenario] = &[
    CONSUMER_CRASH,
    MEMBER_JOINS,
    ZOMBIE_CONSUMER,
    COORDINATOR_CRASH,
    COMMIT_AFTER_PROCESSING,
    COMMIT_BEFORE_PROCESSING,
];

const TOPIC: &str = "users";
const GROUP: &str = "group-1";

/// Starts a consumer of `GROUP` on its own machine `name`, telling every
/// record it processes on the timeline.
fn spawn_worker(
    cluster: &Cluster,
    name: &'static str,
    topics: Vec<String>,
    commit: Commit,
    fault: SelfFault,
    processed: Processed,
) {
    let worker = Worker {
        name: name.into(),
        group: GROUP.into(),
        topics,
        commit,
        fault,
        narration: Narration::EveryRecord,
        settings: vec![],
        history: None,
    };
    worker.spawn(cluster, processed);
}

/// Sends `values` round-robin over `partitions` partitions of `TOPIC`.
async fn produce(
    cluster: &Cluster,
    outcome: &mut ScenarioOutcome,
    values: &[String],
    partitions: i32,
) {
    let producer = producer(cluster, &[("acks", "all")]);
    for (i, value) in values.iter().enumerate() {
        let record = ProducerRecord::new(TOPIC, value.as_str()).partition(i as i32 % partitions);
        if let Ok(metadata) = producer.send(record).await {
            outcome.sent.push(SentRecord {
                time_ms: now_ms(),
                value: value.clone(),
                partition: metadata.partition,
                offset: metadata.offset,
                acks: producer.acks(),
            });
        }
    }
}

fn values(prefix: &str, count: usize) -> Vec<String> {
    (0..count).map(|i| format!("{prefix}{i}")).collect()
}

/// Runs a group scenario body on a client machine named `app`.
fn on_app<F, Fut>(cluster: Cluster, partitions: i32, body: F) -> ScenarioFuture
where
    F: FnOnce(Cluster, ScenarioOutcome) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ScenarioOutcome> + Send + 'static,
{
    Box::pin(async move {
        let app = cluster.clone();
        cluster
            .spawn_client("app", async move {
                let mut outcome = ScenarioOutcome::default();
                match setup(&app, partitions).await {
                    Ok(()) => body(app, outcome).await,
                    Err(why) => {
                        outcome.failure = Some(why);
                        outcome
                    }
                }
            })
            .await
            .expect("the app task finishes")
    })
}

/// A consumer of `TOPIC` that processes, then commits, and brings on no fault.
fn spawn_consumer(cluster: &Cluster, name: &'static str, processed: &Processed) {
    spawn_worker(
        cluster,
        name,
        vec![TOPIC.into()],
        Commit::AfterProcessing,
        SelfFault::None,
        processed.clone(),
    );
}

/// The processed records become the final read; duplicates and losses are
/// judged against what the scenario says its settings allow.
fn judge(outcome: &mut ScenarioOutcome, processed: &Processed, allowed: Option<&str>) {
    outcome.consumed = processed.lock().expect("processed lock").clone();
    let anomalies = processing_anomalies(outcome);
    let lines: Vec<String> = anomalies.iter().map(ToString::to_string).collect();
    match allowed {
        _ if lines.is_empty() => {}
        Some(why) => outcome
            .allowed_anomalies
            .extend(lines.into_iter().map(|l| format!("{l} (allowed: {why})"))),
        None => outcome.failure = Some(lines.join("; ")),
    }
}

async fn setup(cluster: &Cluster, partitions: i32) -> Result<(), String> {
    create_topic(cluster, NewTopic::new(TOPIC, partitions, 3)).await
}

// ---- consumer-crash ------------------------------------------------------------------

pub const CONSUMER_CRASH: Scenario = Scenario {
    name: "consumer-crash",
    summary: "two consumers share topic users; one crashes and after session.timeout.ms the other takes its partition from the committed offset",
    body: Body::Code {
        cluster: ClusterSpec::default,
        run: |cluster| on_app(cluster, 2, consumer_crash),
    },
};

async fn consumer_crash(cluster: Cluster, mut outcome: ScenarioOutcome) -> ScenarioOutcome {
    produce(&cluster, &mut outcome, &values("a", 10), 2).await;
    let processed = Processed::default();
    for name in ["consumer-1", "consumer-2"] {
        spawn_consumer(&cluster, name, &processed);
    }
    wait_processed(&processed, 10, 60_000).await;
    pause(1_000).await; // the last commits land
    cluster.crash_client("consumer-2");
    produce(&cluster, &mut outcome, &values("b", 10), 2).await;
    wait_processed(&processed, 20, 60_000).await;
    judge(&mut outcome, &processed, None);
    outcome
}

// ---- member-joins --------------------------------------------------------------------

pub const MEMBER_JOINS: Scenario = Scenario {
    name: "member-joins",
    summary: "a second consumer joins group-1 mid-stream: a rebalance splits the partitions, each with one owner",
    body: Body::Code {
        cluster: ClusterSpec::default,
        run: |cluster| on_app(cluster, 2, member_joins),
    },
};

async fn member_joins(cluster: Cluster, mut outcome: ScenarioOutcome) -> ScenarioOutcome {
    let processed = Processed::default();
    spawn_consumer(&cluster, "consumer-1", &processed);
    produce(&cluster, &mut outcome, &values("a", 10), 2).await;
    wait_processed(&processed, 10, 60_000).await;
    spawn_consumer(&cluster, "consumer-2", &processed);
    pause(8_000).await; // the rebalance completes
    produce(&cluster, &mut outcome, &values("b", 10), 2).await;
    wait_processed(&processed, 20, 60_000).await;
    judge(&mut outcome, &processed, None);
    outcome
}

// ---- zombie-consumer ------------------------------------------------------------------

pub const ZOMBIE_CONSUMER: Scenario = Scenario {
    name: "zombie-consumer",
    summary: "a consumer stalls past session.timeout.ms holding records; its partition moves on, it wakes up, processes them again, and its commit is refused",
    body: Body::Code {
        cluster: ClusterSpec::default,
        run: |cluster| on_app(cluster, 2, zombie_consumer),
    },
};

async fn zombie_consumer(cluster: Cluster, mut outcome: ScenarioOutcome) -> ScenarioOutcome {
    let processed = Processed::default();
    spawn_consumer(&cluster, "consumer-1", &processed);
    spawn_worker(
        &cluster,
        "consumer-2",
        vec![TOPIC.into()],
        Commit::AfterProcessing,
        SelfFault::PauseAfterPollAt(1),
        processed.clone(),
    );
    produce(&cluster, &mut outcome, &values("a", 10), 2).await;
    wait_processed(&processed, 10, 60_000).await;
    produce(&cluster, &mut outcome, &values("b", 10), 2).await;
    // consumer-2 stalls with its share of b in hand; consumer-1 takes over.
    pause(20_000).await;
    cluster.resume_client("consumer-2");
    pause(5_000).await;
    judge(
        &mut outcome,
        &processed,
        Some("Kafka never fences fetches: a zombie keeps processing until it next talks to the coordinator"),
    );
    outcome
}

// ---- coordinator-crash -----------------------------------------------------------------

pub const COORDINATOR_CRASH: Scenario = Scenario {
    name: "coordinator-crash",
    summary: "the broker coordinating group-1 crashes: the group finds the new coordinator, which rebuilt the committed offsets from __consumer_offsets",
    body: Body::Code {
        cluster: ClusterSpec::default,
        run: |cluster| on_app(cluster, 2, coordinator_crash),
    },
};

async fn coordinator_crash(cluster: Cluster, mut outcome: ScenarioOutcome) -> ScenarioOutcome {
    let processed = Processed::default();
    for name in ["consumer-1", "consumer-2"] {
        spawn_consumer(&cluster, name, &processed);
    }
    produce(&cluster, &mut outcome, &values("a", 10), 2).await;
    wait_processed(&processed, 10, 60_000).await;
    pause(1_000).await;
    let image = cluster.metadata();
    let offsets = &image.topics[OFFSETS_TOPIC];
    let partition = partition_for_group(GROUP, offsets.partitions.len() as i32);
    let Some(coordinator) = offsets.partitions[partition as usize].leader else {
        outcome.failure = Some("group-1's __consumer_offsets partition has no leader".into());
        return outcome;
    };
    cluster.trace().timeline(
        now_ms(),
        "app",
        format!("group-1 is coordinated by broker-{coordinator} ({OFFSETS_TOPIC}-{partition})"),
    );
    cluster.crash_broker(coordinator, CrashKind::ProcessCrash);
    produce(&cluster, &mut outcome, &values("b", 10), 2).await;
    wait_processed(&processed, 20, 90_000).await;
    judge(&mut outcome, &processed, None);
    outcome
}

// ---- commit-after-processing / commit-before-processing ---------------------------------

pub const COMMIT_AFTER_PROCESSING: Scenario = Scenario {
    name: "commit-after-processing",
    summary: "process, then commit (at-least-once): a crash mid-batch makes the next consumer process part of the batch again",
    body: Body::Code {
        cluster: ClusterSpec::default,
        run: |cluster| on_app(cluster, 1, |c, o| commit_strategy(c, o, Commit::AfterProcessing)),
    },
};

pub const COMMIT_BEFORE_PROCESSING: Scenario = Scenario {
    name: "commit-before-processing",
    summary: "commit, then process (at-most-once): a crash mid-batch makes the rest of the batch never processed",
    body: Body::Code {
        cluster: ClusterSpec::default,
        run: |cluster| on_app(cluster, 1, |c, o| commit_strategy(c, o, Commit::BeforeProcessing)),
    },
};

/// One partition, batches of 5; consumer-1 crashes after processing 8 records,
/// in the middle of its second batch; consumer-2 then takes the partition over.
async fn commit_strategy(
    cluster: Cluster,
    mut outcome: ScenarioOutcome,
    commit: Commit,
) -> ScenarioOutcome {
    produce(&cluster, &mut outcome, &values("p", 10), 1).await;
    let processed = Processed::default();
    spawn_worker(
        &cluster,
        "consumer-1",
        vec![TOPIC.into()],
        commit,
        SelfFault::CrashAfter(8),
        processed.clone(),
    );
    wait_processed(&processed, 8, 60_000).await;
    spawn_worker(
        &cluster,
        "consumer-2",
        vec![TOPIC.into()],
        commit,
        SelfFault::None,
        processed.clone(),
    );
    pause(30_000).await;
    let why = match commit {
        Commit::AfterProcessing => {
            "at-least-once: what was processed but not committed is delivered again"
        }
        Commit::BeforeProcessing => {
            "at-most-once: what was committed but not processed is never delivered again"
        }
    };
    judge(&mut outcome, &processed, Some(why));
    outcome
}
