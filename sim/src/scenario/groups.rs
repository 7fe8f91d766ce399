//! Consumer group scenarios: consumers share a topic's partitions, and crash,
//! stall or lose their coordinator while doing it.
//!
//! Each consumer is a [`Worker`] on its own client machine (so a fault can stop
//! it alone), which "processes" a record by noting it in the history; the judge
//! compares what the group processed with the acknowledged sends and finds
//! duplicates (a record processed twice) and losses (a record never
//! processed). Whether the application commits after or before processing
//! decides which of the two a crash causes, and so which the judge allows.
//! These stay code: each needs a fault at an exact point of a consumer's
//! processing (a crash between two records of a batch, a stall between a poll
//! and its processing), which no timed step can hit.

use super::worker::{wait_processed, Commit, HeldPause, Narration, Processed, SelfFault, Worker};
use super::{Scenario, StoryFuture};
use kafkasim::client::admin::NewTopic;
use kafkasim::client::producer::ProducerRecord;
use kafkasim_check::fault::{Action, Target};
use kafkasim_sim::time::{now_ms, sleep_ms};
use kafkasim_sim::{Cluster, ClusterSpec};
use std::future::Future;

const TOPIC: &str = "users";
const GROUP: &str = "group-1";

/// Every group scenario, in the order the built-in list has them.
pub fn all() -> Vec<Scenario> {
    vec![
        Scenario::code(
            "consumer-crash",
            "two consumers share topic users; one crashes and after session.timeout.ms the other takes its partition from the committed offset",
            ClusterSpec::default,
            |c| story(c, 2, consumer_crash),
        ),
        Scenario::code(
            "member-joins",
            "a second consumer joins group-1 mid-stream: a rebalance splits the partitions, each with one owner",
            ClusterSpec::default,
            |c| story(c, 2, member_joins),
        ),
        Scenario::code(
            "zombie-consumer",
            "a consumer stalls past session.timeout.ms holding records; its partition moves on, it wakes up, processes them again, and its commit is refused",
            ClusterSpec::default,
            |c| story(c, 2, zombie_consumer),
        ),
        Scenario::code(
            "coordinator-crash",
            "the broker coordinating group-1 crashes: the group finds the new coordinator, which rebuilt the committed offsets from __consumer_offsets",
            ClusterSpec::default,
            |c| story(c, 2, coordinator_crash),
        ),
        Scenario::code(
            "commit-after-processing",
            "process, then commit (at-least-once): a crash mid-batch makes the next consumer process part of the batch again",
            ClusterSpec::default,
            |c| story(c, 1, |c| commit_strategy(c, Commit::AfterProcessing)),
        ),
        Scenario::code(
            "commit-before-processing",
            "commit, then process (at-most-once): a crash mid-batch makes the rest of the batch never processed",
            ClusterSpec::default,
            |c| story(c, 1, |c| commit_strategy(c, Commit::BeforeProcessing)),
        ),
    ]
}

/// Creates topic `users` with `partitions` partitions, then runs the story.
fn story<F, Fut>(cluster: Cluster, partitions: i32, body: F) -> StoryFuture
where
    F: FnOnce(Cluster) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    Box::pin(async move {
        let topic = NewTopic::new(TOPIC, partitions, 3);
        if cluster.create_topic(topic).await.is_ok() {
            body(cluster).await;
        }
    })
}

/// Starts a consumer of `GROUP` on its own machine `name`, telling every
/// record it processes on the timeline.
fn spawn_worker(
    cluster: &Cluster,
    name: &str,
    commit: Commit,
    fault: SelfFault,
    processed: &Processed,
) {
    let worker = Worker {
        name: name.into(),
        group: GROUP.into(),
        topics: vec![TOPIC.into()],
        commit,
        fault,
        narration: Narration::EveryRecord,
        settings: vec![],
    };
    worker.spawn(cluster, processed.clone());
}

/// A consumer of `TOPIC` that processes, then commits, and brings on no fault.
fn spawn_consumer(cluster: &Cluster, name: &str, processed: &Processed) {
    spawn_worker(
        cluster,
        name,
        Commit::AfterProcessing,
        SelfFault::None,
        processed,
    );
}

/// Sends `values` round-robin over `partitions` partitions of `TOPIC`.
async fn produce(cluster: &Cluster, prefix: &str, count: usize, partitions: i32) {
    let producer =
        (cluster.producer_named("producer", &[("acks", "all")])).expect("a valid producer config");
    for i in 0..count {
        let value = format!("{prefix}{i}");
        let record = ProducerRecord::new(TOPIC, value).partition(i as i32 % partitions);
        let _ = producer.send(record).await;
    }
}

// ---- consumer-crash ------------------------------------------------------------------

async fn consumer_crash(cluster: Cluster) {
    produce(&cluster, "a", 10, 2).await;
    let processed = Processed::default();
    for name in ["consumer-1", "consumer-2"] {
        spawn_consumer(&cluster, name, &processed);
    }
    wait_processed(&processed, 10, 60_000).await;
    sleep_ms(1_000).await; // the last commits land
    let client = "consumer-2".to_string();
    cluster.start_fault(&Action::ClientCrash { client });
    produce(&cluster, "b", 10, 2).await;
    wait_processed(&processed, 20, 60_000).await;
    cluster.read_back().await;
}

// ---- member-joins --------------------------------------------------------------------

async fn member_joins(cluster: Cluster) {
    let processed = Processed::default();
    spawn_consumer(&cluster, "consumer-1", &processed);
    produce(&cluster, "a", 10, 2).await;
    wait_processed(&processed, 10, 60_000).await;
    spawn_consumer(&cluster, "consumer-2", &processed);
    sleep_ms(8_000).await; // the rebalance completes
    produce(&cluster, "b", 10, 2).await;
    wait_processed(&processed, 20, 60_000).await;
    cluster.read_back().await;
}

// ---- zombie-consumer ------------------------------------------------------------------

async fn zombie_consumer(cluster: Cluster) {
    let processed = Processed::default();
    spawn_consumer(&cluster, "consumer-1", &processed);
    let held = HeldPause::default();
    let stall = SelfFault::PauseAfterPollAt(1, held.clone());
    spawn_worker(
        &cluster,
        "consumer-2",
        Commit::AfterProcessing,
        stall,
        &processed,
    );
    produce(&cluster, "a", 10, 2).await;
    wait_processed(&processed, 10, 60_000).await;
    produce(&cluster, "b", 10, 2).await;
    // consumer-2 stalls with its share of b in hand; consumer-1 takes over.
    sleep_ms(20_000).await;
    let paused = held.lock().expect("held pause lock").take();
    if let Some(paused) = paused {
        cluster.end_fault(paused);
    }
    sleep_ms(5_000).await;
    cluster.read_back().await;
}

// ---- coordinator-crash -----------------------------------------------------------------

async fn coordinator_crash(cluster: Cluster) {
    let processed = Processed::default();
    for name in ["consumer-1", "consumer-2"] {
        spawn_consumer(&cluster, name, &processed);
    }
    produce(&cluster, "a", 10, 2).await;
    wait_processed(&processed, 10, 60_000).await;
    sleep_ms(1_000).await;
    let coordinator = Target::CoordinatorOf(GROUP.into());
    if let Ok(node) = coordinator.resolve(&cluster.metadata()) {
        let text = format!("group-1 is coordinated by {node}");
        cluster.trace().timeline(now_ms(), "app", text);
    }
    cluster.start_fault(&Action::Crash { node: coordinator });
    produce(&cluster, "b", 10, 2).await;
    wait_processed(&processed, 20, 90_000).await;
    cluster.read_back().await;
}

// ---- commit-after-processing / commit-before-processing ---------------------------------

/// One partition, batches of 5; consumer-1 crashes after processing 8 records,
/// in the middle of its second batch; consumer-2 then takes the partition over.
async fn commit_strategy(cluster: Cluster, commit: Commit) {
    produce(&cluster, "p", 10, 1).await;
    let processed = Processed::default();
    spawn_worker(
        &cluster,
        "consumer-1",
        commit,
        SelfFault::CrashAfter(8),
        &processed,
    );
    wait_processed(&processed, 8, 60_000).await;
    spawn_worker(&cluster, "consumer-2", commit, SelfFault::None, &processed);
    sleep_ms(30_000).await;
    cluster.read_back().await;
}
