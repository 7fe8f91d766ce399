//! What application code does with a running cluster, besides its clients:
//! create topics, wait for the cluster to reach a state, and read everything
//! back at the end.
//!
//! A step that cannot go on reports a finding to the cluster (a topic that
//! could not be created, a state that did not come within the wait limit) and
//! returns it as an error; the run's judge sees every reported finding, so an
//! application that stops there is judged for what it saw and for why it stopped.
//!
//! The final read is the one reader of every run: a fresh consumer, process
//! `reader`, reads every partition from the beginning until it has read past
//! each acknowledged offset (as the history knows them) and a poll comes back
//! empty. Its polls go into the history like any other, which is how a lost
//! write shows: a poll went past an acknowledged offset without its value.

use crate::client::{Admin, Consumer, Producer};
use crate::cluster::Cluster;
use crate::time::{now_ms, sleep_ms};
use kafkasim::client::admin::{AdminConfig, NewTopic};
use kafkasim::client::consumer::ConsumerConfig;
use kafkasim::client::producer::ProducerConfig;
use kafkasim::client::ClientError;
use kafkasim::config::ConfigError;
use kafkasim::error::ErrorCode;
use kafkasim::ids::{Offset, TopicPartition};
use kafkasim::metadata::PartitionInfo;
use kafkasim_check::history::{Entry, OpId, Outcome, PolledRecord, Reply, Value};
use kafkasim_check::{Detail, Finding, Kind};
use std::collections::BTreeMap;

/// How long a step waits for the cluster to reach a state it expects.
pub const WAIT_LIMIT_MS: u64 = 120_000;
/// How often a wait looks at the controller's metadata again.
const WAIT_CHECK_MS: u64 = 100;
/// A final read of at most this many records lists them on the timeline.
const FINAL_READ_LISTED_MAX: usize = 20;
/// How long the reader's polls wait for records.
const READER_POLL_MS: u64 = 1_000;

impl Cluster {
    /// An `Admin` client with every broker as `bootstrap.servers`.
    pub fn admin(&self) -> Admin {
        Admin::new(self, AdminConfig::new(self.bootstrap()))
    }

    /// A producer configured by Kafka keys, on the current client machine. In
    /// the history it is named after its machine, or `producer` (then
    /// `producer#2`, …) on the `app` machine that every run's application uses.
    pub fn producer(&self, settings: &[(&str, &str)]) -> Result<Producer, ConfigError> {
        let config = producer_config(self, settings)?;
        match role_name("producer") {
            Some(name) => Producer::named(self, config, name),
            None => Producer::new(self, config),
        }
    }

    /// A producer configured by Kafka keys, named `process` in the history.
    pub fn producer_named(
        &self,
        process: &str,
        settings: &[(&str, &str)],
    ) -> Result<Producer, ConfigError> {
        Producer::named(self, producer_config(self, settings)?, process)
    }

    /// A consumer configured by Kafka keys, on the current client machine,
    /// named as [`Cluster::producer`] names producers (`consumer` on `app`).
    pub fn consumer(&self, settings: &[(&str, &str)]) -> Result<Consumer, ConfigError> {
        let mut config = ConsumerConfig::new(self.bootstrap());
        for (key, value) in settings {
            config.set(key, value)?;
        }
        match role_name("consumer") {
            Some(name) => Consumer::named(self, config, name),
            None => Consumer::new(self, config),
        }
    }

    /// Records a finding the application made (a state that did not come, a
    /// topic that could not be created): the run's judge sees it.
    pub fn report(&self, finding: Finding) {
        self.trace().report(finding);
    }

    /// Waits for every broker, then creates `topic`.
    pub async fn create_topic(&self, topic: NewTopic) -> Result<(), Finding> {
        let admin = self.admin();
        admin.wait_for_brokers(self.bootstrap().len()).await;
        let name = topic.name.clone();
        match admin.create_topics(vec![topic]).await.as_deref() {
            Ok([result]) if result.error_code == ErrorCode::None => {
                let text = format!("topic {name} created");
                self.trace().timeline(now_ms(), "admin", text);
                Ok(())
            }
            other => {
                let why = match other {
                    Ok([result]) => result.error_code.name().to_string(),
                    Ok(_) => "an answer about other topics".to_string(),
                    Err(error) => error.to_string(),
                };
                let what = format!("creating topic {name} failed: {why}");
                Err(self.stuck(
                    Kind::SetupFailed,
                    Detail::SetupFailed {
                        what,
                        time_ms: now_ms(),
                    },
                ))
            }
        }
    }

    /// Creates `topic` and waits until every replica of each of its partitions
    /// is in sync; returns its partition 0 as the controller then has it.
    pub async fn create_topic_in_sync(&self, topic: NewTopic) -> Result<PartitionInfo, Finding> {
        let (name, partitions) = (topic.name.clone(), topic.num_partitions);
        let replicas = topic.replication_factor as usize;
        self.create_topic(topic).await?;
        let mut first = None;
        for p in 0..partitions {
            let tp = TopicPartition::new(&name, p);
            let info =
                (self.wait_for(&tp, "every replica in sync", |p| p.isr.len() == replicas)).await?;
            first.get_or_insert(info);
        }
        Ok(first.expect("a topic has a partition"))
    }

    /// The controller's view of a partition now, if it exists.
    pub fn partition(&self, tp: &TopicPartition) -> Option<PartitionInfo> {
        self.metadata().partition(tp).cloned()
    }

    /// Waits until the controller's view of `tp` satisfies `done`; after
    /// two minutes (`WAIT_LIMIT_MS`), reports a `wait-timed-out` finding naming `what`.
    pub async fn wait_for(
        &self,
        tp: &TopicPartition,
        what: &str,
        done: impl Fn(&PartitionInfo) -> bool,
    ) -> Result<PartitionInfo, Finding> {
        let deadline_ms = now_ms() + WAIT_LIMIT_MS;
        loop {
            let p = self.partition(tp);
            if let Some(p) = p.as_ref().filter(|p| done(p)) {
                return Ok(p.clone());
            }
            if now_ms() >= deadline_ms {
                let now = match p {
                    Some(p) => format!(" (leader {:?}, ISR {:?})", p.leader, p.isr),
                    None => " (no such partition)".into(),
                };
                let detail = Detail::WaitTimedOut {
                    what: format!("{what} in {tp}{now}"),
                    waited_ms: WAIT_LIMIT_MS,
                    time_ms: now_ms(),
                };
                return Err(self.stuck(Kind::WaitTimedOut, detail));
            }
            sleep_ms(WAIT_CHECK_MS).await;
        }
    }

    /// Waits until every replica of every partition of `topics` is in sync.
    pub async fn wait_until_in_sync(&self, topics: &[&str]) -> Result<(), Finding> {
        let image = self.metadata();
        for topic in topics {
            let count = image.topics.get(*topic).map_or(0, |t| t.partitions.len());
            for p in 0..count as i32 {
                let tp = TopicPartition::new(*topic, p);
                let in_sync =
                    |p: &PartitionInfo| p.leader.is_some() && p.isr.len() == p.replicas.len();
                self.wait_for(&tp, "every replica in sync", in_sync).await?;
            }
        }
        Ok(())
    }

    fn stuck(&self, kind: Kind, detail: Detail) -> Finding {
        let finding = Finding::new(kind, detail);
        self.report(finding.clone());
        finding
    }

    /// The final read of every partition of every topic but the internal ones.
    pub async fn read_back(&self) -> Vec<PolledRecord> {
        let image = self.metadata();
        let partitions = (image.partitions())
            .map(|(tp, _)| tp)
            .filter(|tp| !tp.topic.starts_with("__"))
            .collect();
        self.read_back_partitions(partitions).await
    }

    /// The final read of `partitions`, by a fresh consumer named `reader`,
    /// from the beginning, until a poll comes back empty having read past the
    /// last acknowledged offset of each, or having read each to its end (its
    /// high watermark), or the wait limit passes. Reading every partition to
    /// its end goes into the history, with each end: an acknowledged offset at
    /// or past it is gone from the log. A record read twice at one offset (the
    /// reader retried a fetch) is kept once; two sends' records at one offset
    /// are both kept.
    pub async fn read_back_partitions(&self, partitions: Vec<TopicPartition>) -> Vec<PolledRecord> {
        let read_past = self.history().with_entries(last_acked);
        let mut config = ConsumerConfig::new(self.bootstrap());
        config
            .set("auto.offset.reset", "earliest")
            .expect("a valid value");
        let consumer = Consumer::named(self, config, "reader").expect("a valid configuration");
        consumer.assign(partitions.clone());
        // A record is known by its place and its send (its id, and its value
        // for a record without one).
        type Known = ((TopicPartition, Offset, Option<OpId>), Value);
        let mut read: BTreeMap<Known, PolledRecord> = BTreeMap::new();
        let mut reached: BTreeMap<TopicPartition, Offset> = BTreeMap::new();
        let deadline_ms = now_ms() + WAIT_LIMIT_MS;
        while now_ms() < deadline_ms {
            let records = match consumer.poll(READER_POLL_MS).await {
                Ok(records) => records,
                Err(ClientError::Broker { .. } | ClientError::Timeout { .. }) => vec![],
                Err(other) => panic!("the final read failed: {other}"),
            };
            if records.is_empty() {
                if let Some(ends) = read_to_end(&consumer, &partitions).await {
                    for (tp, end) in ends {
                        consumer.read_to_end(tp, end);
                    }
                    break;
                }
                let covered = (read_past.iter())
                    .filter(|(tp, _)| partitions.contains(tp))
                    .all(|(tp, &last)| reached.get(tp).is_some_and(|&at| at >= last));
                if covered {
                    break;
                }
            }
            for record in &records {
                let at = reached.entry(record.partition.clone()).or_insert(-1);
                *at = (*at).max(record.offset);
                let polled = PolledRecord::from(record);
                let key = (polled.partition.clone(), polled.offset, polled.send);
                read.entry((key, polled.value.clone())).or_insert(polled);
            }
        }
        let read: Vec<PolledRecord> = read.into_values().collect();
        self.tell_final_read(&partitions, &read);
        read
    }

    /// A read in the middle of a run, by a fresh consumer (process
    /// `consumer`, then `consumer#2`, …): it reads `partitions` from the
    /// beginning until a poll comes back empty with each read to its high
    /// watermark, or the wait limit passes. Its polls go into the history,
    /// which is how a record that consumers could see and the log later lost
    /// shows. Unlike the final read it says nothing of where logs end: a
    /// leader just elected may not know its high watermark yet.
    pub async fn read_now(&self, partitions: Vec<TopicPartition>) -> Vec<PolledRecord> {
        let mut config = ConsumerConfig::new(self.bootstrap());
        config
            .set("auto.offset.reset", "earliest")
            .expect("a valid value");
        let consumer = Consumer::named(self, config, "consumer").expect("a valid configuration");
        consumer.assign(partitions.clone());
        let mut read: Vec<PolledRecord> = Vec::new();
        let deadline_ms = now_ms() + WAIT_LIMIT_MS;
        while now_ms() < deadline_ms {
            let records = match consumer.poll(READER_POLL_MS).await {
                Ok(records) => records,
                Err(ClientError::Broker { .. } | ClientError::Timeout { .. }) => vec![],
                Err(other) => panic!("a read failed: {other}"),
            };
            if records.is_empty() && read_to_end(&consumer, &partitions).await.is_some() {
                break;
            }
            read.extend(records.iter().map(PolledRecord::from));
        }
        self.tell_read(consumer.process(), "read", &partitions, &read);
        read
    }

    fn tell_final_read(&self, partitions: &[TopicPartition], read: &[PolledRecord]) {
        self.tell_read("reader", "final read", partitions, read);
    }

    fn tell_read(
        &self,
        who: &str,
        what: &str,
        partitions: &[TopicPartition],
        read: &[PolledRecord],
    ) {
        let names: Vec<String> = partitions.iter().map(ToString::to_string).collect();
        let text = match read.len() <= FINAL_READ_LISTED_MAX {
            true => {
                let records: Vec<String> = (read.iter())
                    .map(|r| format!("{}@{}", r.value, r.offset))
                    .collect();
                format!("{what} of {}: [{}]", names.join(", "), records.join(", "))
            }
            false => format!("{what} of {}: {} records", names.join(", "), read.len()),
        };
        self.trace().timeline(now_ms(), who.to_string(), text);
    }
}

/// Each partition with its end, when `consumer` has read every one of them
/// to its high watermark.
async fn read_to_end(
    consumer: &Consumer,
    partitions: &[TopicPartition],
) -> Option<Vec<(TopicPartition, Offset)>> {
    let mut ends = Vec::new();
    for tp in partitions {
        if consumer.current_lag(tp.clone()).await != Some(0) {
            return None;
        }
        let end = consumer.position(tp.clone()).await?;
        ends.push((tp.clone(), end));
    }
    Some(ends)
}

/// `role` as a client's name in the history when it runs on the shared `app`
/// machine, where the machine's name would not tell clients apart.
fn role_name(role: &str) -> Option<&str> {
    (crate::cluster::current_machine().as_deref() == Some("app")).then_some(role)
}

fn producer_config(
    cluster: &Cluster,
    settings: &[(&str, &str)],
) -> Result<ProducerConfig, ConfigError> {
    let mut config = ProducerConfig::new(cluster.bootstrap());
    for (key, value) in settings {
        config.set(key, value)?;
    }
    Ok(config)
}

/// The last acknowledged offset of each partition: how far a final read goes.
fn last_acked(entries: &[Entry]) -> BTreeMap<TopicPartition, Offset> {
    let mut last: BTreeMap<TopicPartition, Offset> = BTreeMap::new();
    for entry in entries {
        if let Entry::Complete {
            outcome: Outcome::Ok(Reply::Sent { partition, offset }),
            ..
        } = entry
        {
            let at = last.entry(partition.clone()).or_insert(*offset);
            *at = (*at).max(*offset);
        }
    }
    last
}
