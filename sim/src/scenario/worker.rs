//! The consumer-group worker the group scenarios and `standard` share: a
//! consumer of one group on its own client machine, which polls, "processes" a
//! record by noting it, and commits by hand after or before processing.
//!
//! Each worker runs on a machine of its own, so a fault can stop it alone. What
//! the workers processed, by whom, is a scenario's record of the group's work:
//! the checks compare it with the acknowledged sends and find duplicates (a
//! record processed twice) and losses (a record never processed). Whether the
//! application commits after or before processing decides which of the two a
//! crash causes. Simplification: a real application would process in its own
//! code and time; here processing takes no time at all.

use super::toolkit::pause;
use super::ConsumedRecord;
use crate::client::Consumer;
use crate::cluster::Cluster;
use crate::driver::now_ms;
use kafkasim::client::consumer::{ConsumerConfig, ConsumerRecord, RebalanceEvent};
use kafkasim::ids::TopicPartition;
use kafkasim_check::history::{ConsumerEvent, History, Operation, Outcome};
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

/// Short enough that a lost member is noticed within a run of seconds.
const SESSION_TIMEOUT_MS: &str = "10000";

/// When the application commits what it read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Commit {
    /// Process the batch, then commit it: a crash in between redelivers.
    AfterProcessing,
    /// Commit the batch, then process it: a crash in between skips records.
    BeforeProcessing,
}

/// A fault the worker brings on itself at an exact point of its processing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SelfFault {
    None,
    /// Crash after processing this many records in all.
    CrashAfter(usize),
    /// Stall (a stop-the-world pause) right after the first poll that returns
    /// records once this many have been processed; the scenario resumes it.
    PauseAfterPollAt(usize),
}

/// How much of its work a worker tells on the timeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Narration {
    /// Every processed record and every commit: for short scenarios a reader
    /// follows record by record.
    EveryRecord,
    /// Only rebalances and failed commits: for long runs of thousands of
    /// records, whose story is the faults and the group's answers to them.
    Rebalances,
}

/// What the scenario's consumers share: everything processed, in order.
pub type Processed = Arc<Mutex<Vec<ConsumedRecord>>>;

/// One consumer of a group, on its own client machine named `name`.
#[derive(Debug, Clone)]
pub struct Worker {
    pub name: String,
    pub group: String,
    pub topics: Vec<String>,
    pub commit: Commit,
    pub fault: SelfFault,
    pub narration: Narration,
    /// Consumer configs by Kafka key, set after the worker's own.
    pub settings: Vec<(String, String)>,
    /// Where the worker records its polls and rebalances, if anywhere.
    pub history: Option<History>,
}

impl Worker {
    /// Starts the worker; it polls until its machine is killed.
    pub fn spawn(self, cluster: &Cluster, processed: Processed) {
        let worker_cluster = cluster.clone();
        let name = self.name.clone();
        cluster.spawn_client(&name, async move {
            self.run(worker_cluster, processed).await;
        });
    }

    async fn run(self, cluster: Cluster, processed: Processed) {
        let Worker {
            name,
            group,
            topics,
            commit,
            fault,
            narration,
            settings: extra,
            history,
        } = self;
        let name = name.as_str();
        let trace = cluster.trace().clone();
        // ANCHOR: worker_settings
        let mut config = ConsumerConfig::new(cluster.bootstrap());
        let settings = [
            ("group.id", group.as_str()),
            ("auto.offset.reset", "earliest"),
            ("enable.auto.commit", "false"),
            ("session.timeout.ms", SESSION_TIMEOUT_MS),
            ("heartbeat.interval.ms", "1000"),
            ("max.poll.records", "5"),
        ];
        let extra = extra.iter().map(|(k, v)| (k.as_str(), v.as_str()));
        for (key, value) in settings.into_iter().chain(extra) {
            config.set(key, value).expect("a valid setting");
        }
        let consumer = Consumer::new(&cluster, config).expect("a valid configuration");
        consumer.subscribe(topics).await.expect("subscribed");
        // ANCHOR_END: worker_settings
        let mut done = 0;
        let mut polls = PollRecorder::new(name, history);
        loop {
            let op = polls.invoke();
            let polled = consumer.poll(500).await;
            let events = consumer.rebalance_events().await;
            polls.events(&events);
            polls.complete(op, &polled);
            let records = polled.unwrap_or_default();
            for event in events {
                let (what, partitions) = match event {
                    RebalanceEvent::Assigned(p) => ("assigned", p),
                    RebalanceEvent::Revoked(p) => ("revoked", p),
                    RebalanceEvent::Lost(p) => ("lost", p),
                };
                if !partitions.is_empty() {
                    let names: Vec<String> = partitions.iter().map(|p| p.to_string()).collect();
                    trace.timeline(now_ms(), name, format!("{what} [{}]", names.join(", ")));
                }
            }
            if records.is_empty() {
                continue;
            }
            if let SelfFault::PauseAfterPollAt(at) = fault {
                if done >= at {
                    cluster.pause_client(name);
                    pause(1).await; // stalls here until resumed
                }
            }
            // ANCHOR: commit_placement
            if commit == Commit::BeforeProcessing {
                commit_now(&consumer, &cluster, name, narration).await;
            }
            for record in records {
                process(&cluster, name, narration, &processed, record);
                done += 1;
                if fault == SelfFault::CrashAfter(done) {
                    cluster.crash_client(name);
                    std::future::pending::<()>().await;
                }
            }
            if commit == Commit::AfterProcessing {
                commit_now(&consumer, &cluster, name, narration).await;
            }
            // ANCHOR_END: commit_placement
        }
    }
}

/// Records a worker's polls, and the rebalances between them, in the history.
///
/// Kafka runs the rebalance listener inside `poll`, so the events a poll brought
/// are recorded before its completion. The partitions a poll names are the
/// worker's assignment as it knew it when it polled.
struct PollRecorder<'a> {
    name: &'a str,
    history: Option<History>,
    assigned: BTreeSet<TopicPartition>,
}

impl<'a> PollRecorder<'a> {
    fn new(name: &'a str, history: Option<History>) -> Self {
        PollRecorder {
            name,
            history,
            assigned: BTreeSet::new(),
        }
    }

    fn invoke(&self) -> Option<kafkasim_check::history::OpId> {
        let partitions = self.assigned.iter().cloned().collect();
        let history = self.history.as_ref()?;
        Some(history.invoke(now_ms(), self.name, Operation::Poll { partitions }))
    }

    fn events(&mut self, events: &[RebalanceEvent]) {
        for event in events {
            match event {
                RebalanceEvent::Assigned(p) => self.assigned.extend(p.iter().cloned()),
                RebalanceEvent::Revoked(p) | RebalanceEvent::Lost(p) => {
                    p.iter().for_each(|tp| {
                        self.assigned.remove(tp);
                    });
                }
            }
            if let Some(history) = &self.history {
                history.event(now_ms(), self.name, ConsumerEvent::from(event.clone()));
            }
        }
    }

    fn complete<E: std::fmt::Display>(
        &self,
        op: Option<kafkasim_check::history::OpId>,
        polled: &Result<Vec<ConsumerRecord>, E>,
    ) {
        let (Some(history), Some(op)) = (&self.history, op) else {
            return;
        };
        let outcome = Outcome::of_poll(polled);
        history.complete(op, now_ms(), outcome);
    }
}

/// "Processes" a record: notes it, and tells it when every record is told.
fn process(
    cluster: &Cluster,
    name: &str,
    narration: Narration,
    processed: &Processed,
    record: ConsumerRecord,
) {
    if narration == Narration::EveryRecord {
        let text = format!(
            "processed {} ({}@{})",
            record.value, record.partition, record.offset
        );
        cluster.trace().timeline(now_ms(), name, text);
    }
    processed
        .lock()
        .expect("processed lock")
        .push(ConsumedRecord {
            time_ms: now_ms(),
            value: record.value,
            partition: record.partition,
            offset: record.offset,
        });
}

/// Commits the consumer's positions, telling the timeline how it went (a
/// success only when every record is told).
async fn commit_now(consumer: &Consumer, cluster: &Cluster, name: &str, narration: Narration) {
    let text = match consumer.commit_sync(None).await {
        Ok(()) if narration == Narration::Rebalances => return,
        Ok(()) => "committed its positions".to_string(),
        Err(error) => format!("commit failed: {error}"),
    };
    cluster.trace().timeline(now_ms(), name, text);
}

/// Waits until `count` records were processed, or `limit_ms` passed.
pub async fn wait_processed(processed: &Processed, count: usize, limit_ms: u64) {
    let deadline = now_ms() + limit_ms;
    while processed.lock().expect("processed lock").len() < count && now_ms() < deadline {
        pause(100).await;
    }
}
