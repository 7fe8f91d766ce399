//! The consumer-group worker the group scenarios and `standard` share: a
//! consumer of one group on its own client machine, which polls, "processes" a
//! record by noting it, and commits by hand after or before processing.
//!
//! Each worker runs on a machine of its own, so a fault can stop it alone. Each
//! record it processes goes into the run's history (`Consumer::processed`): the
//! judge compares what the group processed with the acknowledged sends and
//! finds duplicates (a record processed twice) and losses (a record never
//! processed). Whether the application commits after or before processing
//! decides which of the two a crash causes. Simplification: a real application
//! would process in its own code and time; here processing takes no time at all.

use kafkasim::client::consumer::{ConsumerConfig, ConsumerRecord, RebalanceEvent};
use kafkasim::config::ConfigError;
use kafkasim::ids::{BrokerId, TopicPartition};
use kafkasim_check::fault::Action;
use kafkasim_check::history::value_text;
use kafkasim_sim::time::{now_ms, sleep_ms};
use kafkasim_sim::{Cluster, Consumer};
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

/// Short enough that a lost member is noticed within a run of seconds.
const SESSION_TIMEOUT_MS: &str = "10000";

/// A worker's consumer configuration: the group's id, the worker's own
/// settings, shorter timeouts than Kafka's (as defaults: a group's own
/// settings replace them), then the group's `settings`.
pub fn consumer_config(
    bootstrap: Vec<BrokerId>,
    group: &str,
    settings: &[(String, String)],
) -> Result<ConsumerConfig, ConfigError> {
    // ANCHOR: worker_settings
    let mut config = ConsumerConfig::new(bootstrap);
    config.set("group.id", group)?;
    config.set("auto.offset.reset", "earliest")?;
    config.set("enable.auto.commit", "false")?;
    config.set_default("session.timeout.ms", SESSION_TIMEOUT_MS)?;
    config.set_default("heartbeat.interval.ms", "1000")?;
    config.set_default("max.poll.records", "5")?;
    for (key, value) in settings {
        config.set(key, value)?;
    }
    // ANCHOR_END: worker_settings
    config.validate()?;
    Ok(config)
}

/// When the application commits what it read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Commit {
    /// Process the batch, then commit it: a crash in between redelivers.
    AfterProcessing,
    /// Commit the batch, then process it: a crash in between skips records.
    BeforeProcessing,
}

/// Where a worker leaves the pause it brought on itself, for the scenario to end.
pub type HeldPause = Arc<Mutex<Option<kafkasim_sim::faults::Started>>>;

impl Commit {
    /// What committing this way promises: at least, or at most, once.
    pub fn delivery_mode(self) -> kafkasim_check::DeliveryMode {
        match self {
            Commit::AfterProcessing => kafkasim_check::DeliveryMode::AtLeastOnce,
            Commit::BeforeProcessing => kafkasim_check::DeliveryMode::AtMostOnce,
        }
    }
}

/// A fault the worker brings on itself at an exact point of its processing.
#[derive(Debug, Clone)]
pub enum SelfFault {
    None,
    /// Crash after processing this many records in all.
    CrashAfter(usize),
    /// Stall (a stop-the-world pause) right after the first poll that returns
    /// records once this many have been processed; the pause is left in the
    /// slot, for the scenario to end.
    PauseAfterPollAt(usize, HeldPause),
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

/// What a group's workers processed, for the scenario to wait on: which
/// records, and how many processings in all (the judge reads the history).
#[derive(Debug, Clone, Default)]
pub struct Processed(Arc<Mutex<Tally>>);

#[derive(Debug, Default)]
struct Tally {
    /// Each record processed, by partition and value (each send's value is
    /// its own: after a truncation below the high watermark an offset can
    /// hold another record than the one processed there).
    records: BTreeSet<(TopicPartition, String)>,
    processings: usize,
}

impl Processed {
    fn note(&self, record: &ConsumerRecord) {
        let mut tally = self.0.lock().expect("processed lock");
        tally
            .records
            .insert((record.partition.clone(), value_text(&record.value)));
        tally.processings += 1;
    }

    /// How many processings there were, a record processed twice counting twice.
    pub fn processings(&self) -> usize {
        self.0.lock().expect("processed lock").processings
    }

    /// How many of `records` (partition, value) were never processed.
    pub fn missing<'a>(
        &self,
        records: impl IntoIterator<Item = &'a (TopicPartition, String)>,
    ) -> usize {
        let tally = self.0.lock().expect("processed lock");
        records
            .into_iter()
            .filter(|r| !tally.records.contains(*r))
            .count()
    }
}

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
        } = self;
        let name = name.as_str();
        let trace = cluster.trace().clone();
        // Scenario files are validated with the same function (`consumer_config`).
        let config = consumer_config(cluster.bootstrap(), &group, &extra)
            .expect("a valid setting, as validated");
        let consumer = Consumer::new(&cluster, config).expect("a valid configuration");
        consumer.subscribe(topics).await.expect("subscribed");
        consumer.declare_delivery(commit.delivery_mode());
        let mut done = 0;
        loop {
            let polled = consumer.poll(500).await;
            let events = consumer.rebalance_events();
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
            if let SelfFault::PauseAfterPollAt(at, held) = &fault {
                if done >= *at {
                    let client = name.to_string();
                    let paused = cluster.start_fault(&Action::ClientPause { client });
                    *held.lock().expect("held pause lock") = paused;
                    sleep_ms(1).await; // stalls here until resumed
                }
            }
            // ANCHOR: commit_placement
            if commit == Commit::BeforeProcessing {
                commit_now(&consumer, &cluster, name, narration).await;
            }
            for record in records {
                process(&cluster, &consumer, narration, &processed, record);
                done += 1;
                if matches!(fault, SelfFault::CrashAfter(after) if after == done) {
                    let client = name.to_string();
                    cluster.start_fault(&Action::ClientCrash { client });
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

/// "Processes" a record: notes it, and tells it when every record is told.
fn process(
    cluster: &Cluster,
    consumer: &Consumer,
    narration: Narration,
    processed: &Processed,
    record: ConsumerRecord,
) {
    if narration == Narration::EveryRecord {
        let text = format!(
            "processed {} ({}@{})",
            value_text(&record.value),
            record.partition,
            record.offset
        );
        cluster.trace().timeline(now_ms(), consumer.process(), text);
    }
    consumer.processed(&record);
    processed.note(&record);
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

/// Waits until `count` processings happened, or `limit_ms` passed.
pub async fn wait_processed(processed: &Processed, count: usize, limit_ms: u64) {
    let deadline = now_ms() + limit_ms;
    while processed.processings() < count && now_ms() < deadline {
        sleep_ms(100).await;
    }
}
