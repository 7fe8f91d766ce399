//! Steps the failure scenarios share: create a topic, send and record, wait for
//! the cluster to reach a state, and read everything back at the end.

use super::{ConsumedRecord, FailedSend, ScenarioOutcome, SentRecord};
use crate::client::{Admin, Consumer, Producer};
use crate::cluster::Cluster;
use crate::driver::now_ms;
use kafkasim::client::admin::{AdminConfig, NewTopic};
use kafkasim::client::consumer::ConsumerConfig;
use kafkasim::client::producer::{ProducerConfig, ProducerRecord};
use kafkasim::client::ClientError;
use kafkasim::error::ErrorCode;
use kafkasim::ids::{Offset, TopicPartition};
use kafkasim::metadata::PartitionInfo;
use kafkasim_check::history::{ConsumerEvent, History, Operation, Outcome};
use std::collections::BTreeMap;
use std::time::Duration;

/// The final read's process name in a history.
pub const READER: &str = "reader";

/// How long a scenario waits for the cluster to reach a state it expects.
const WAIT_LIMIT_MS: u64 = 120_000;

/// Waits for every broker, then creates `topic`; `Err` says why it failed.
pub async fn create_topic(cluster: &Cluster, topic: NewTopic) -> Result<(), String> {
    let admin = Admin::new(cluster, AdminConfig::new(cluster.bootstrap()));
    admin.wait_for_brokers(cluster.bootstrap().len()).await;
    let name = topic.name.clone();
    match admin.create_topics(vec![topic]).await.as_deref() {
        Ok([result]) if result.error_code == ErrorCode::None => {
            cluster
                .trace()
                .timeline(now_ms(), "admin", format!("topic {name} created"));
            Ok(())
        }
        other => Err(format!("creating topic {name} failed: {other:?}")),
    }
}

/// Creates `topic` (one partition is enough for the scenarios that use this)
/// and waits until every replica of its partition 0 is in sync.
pub async fn create_in_sync(cluster: &Cluster, topic: NewTopic) -> Result<PartitionInfo, String> {
    let tp = TopicPartition::new(topic.name.clone(), 0);
    let replicas = topic.replication_factor as usize;
    create_topic(cluster, topic).await?;
    wait_for(cluster, &tp, "every replica in sync", |p| {
        p.isr.len() == replicas
    })
    .await
}

/// A producer configured by Kafka keys.
pub fn producer(cluster: &Cluster, settings: &[(&str, &str)]) -> Producer {
    let mut config = ProducerConfig::new(cluster.bootstrap());
    for (key, value) in settings {
        config
            .set(key, value)
            .unwrap_or_else(|e| panic!("a scenario's producer config is valid: {e}"));
    }
    Producer::new(cluster, config)
        .unwrap_or_else(|e| panic!("a scenario's producer config is consistent: {e}"))
}

/// Sends `value` to partition 0 of `topic` as `who`, and records the outcome both
/// in `outcome` and on the timeline. Returns the offset when acknowledged.
pub async fn send(
    cluster: &Cluster,
    who: &str,
    producer: &Producer,
    topic: &str,
    value: &str,
    outcome: &mut ScenarioOutcome,
) -> Option<i64> {
    let record = ProducerRecord::new(topic, value).partition(0);
    let trace = cluster.trace();
    match producer.send(record).await {
        Ok(metadata) => {
            let acks = producer.acks().as_i16();
            let acks = if acks == -1 {
                "all".to_string()
            } else {
                acks.to_string()
            };
            let text = format!(
                "{value} acknowledged (acks={acks}) at {}@{}",
                metadata.partition, metadata.offset
            );
            trace.timeline(now_ms(), who, text);
            outcome.sent.push(SentRecord {
                time_ms: now_ms(),
                value: value.into(),
                partition: metadata.partition,
                offset: metadata.offset,
                acks: producer.acks(),
            });
            Some(metadata.offset)
        }
        Err(error) => {
            let ambiguous = error.is_ambiguous();
            let kind = if ambiguous {
                "ambiguous: may or may not be written"
            } else {
                "not written"
            };
            trace.timeline(now_ms(), who, format!("{value} failed ({kind}): {error}"));
            outcome.failed.push(FailedSend {
                time_ms: now_ms(),
                value: value.into(),
                error: error.to_string(),
                ambiguous,
            });
            None
        }
    }
}

/// The controller's view of a partition now.
pub fn partition(cluster: &Cluster, tp: &TopicPartition) -> PartitionInfo {
    cluster
        .metadata()
        .partition(tp)
        .cloned()
        .unwrap_or_else(|| panic!("{tp} exists"))
}

/// Waits until the controller's view of `tp` satisfies `done`; `Err` after the
/// wait limit, naming `what` was awaited.
pub async fn wait_for(
    cluster: &Cluster,
    tp: &TopicPartition,
    what: &str,
    done: impl Fn(&PartitionInfo) -> bool,
) -> Result<PartitionInfo, String> {
    let deadline_ms = now_ms() + WAIT_LIMIT_MS;
    loop {
        let p = partition(cluster, tp);
        if done(&p) {
            return Ok(p);
        }
        if now_ms() >= deadline_ms {
            return Err(format!(
                "{tp}: gave up waiting for {what} after {} s (leader {:?}, ISR {:?})",
                WAIT_LIMIT_MS / 1000,
                p.leader,
                p.isr
            ));
        }
        madsim::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Sleeps `ms` of simulated time.
pub async fn pause(ms: u64) {
    madsim::time::sleep(Duration::from_millis(ms)).await;
}

/// Reads partition 0 of `topic` from the beginning with a fresh consumer until
/// three polls in a row bring nothing, and records what it read as the run's
/// final read.
pub async fn read_back(cluster: &Cluster, topic: &str, outcome: &mut ScenarioOutcome) {
    let mut config = ConsumerConfig::new(cluster.bootstrap());
    config
        .set("auto.offset.reset", "earliest")
        .expect("a valid value");
    let consumer = Consumer::new(cluster, config).expect("a valid configuration");
    consumer.assign(vec![TopicPartition::new(topic, 0)]);
    let mut empty_polls = 0;
    let deadline_ms = now_ms() + WAIT_LIMIT_MS;
    while empty_polls < 3 && now_ms() < deadline_ms {
        match consumer.poll(1_000).await {
            Ok(records) if !records.is_empty() => {
                empty_polls = 0;
                for record in records {
                    outcome.consumed.push(ConsumedRecord {
                        time_ms: now_ms(),
                        value: record.value,
                        partition: record.partition,
                        offset: record.offset,
                    });
                }
            }
            Ok(_) => empty_polls += 1,
            Err(ClientError::Broker { .. } | ClientError::Timeout { .. }) => empty_polls += 1,
            Err(other) => panic!("the final read failed: {other}"),
        }
    }
    let read: Vec<String> = outcome
        .consumed
        .iter()
        .map(|c| format!("{}@{}", c.value, c.offset))
        .collect();
    cluster.trace().timeline(
        now_ms(),
        "reader",
        format!("final read of {topic}-0: [{}]", read.join(", ")),
    );
}

/// Reads `partitions` from the beginning with a fresh consumer, as a run's final
/// read, until it has read past `read_past[tp]` in each (the last offset that
/// matters there) and a poll comes back empty, or the wait limit passes. A record
/// read twice at one offset (the reader retried a fetch) is kept once; two
/// different values read at one offset are both kept, for the checks to see.
/// With a `history`, the reader's assignment and every poll go into it, as
/// process `reader`.
pub async fn read_partitions(
    cluster: &Cluster,
    partitions: Vec<TopicPartition>,
    read_past: &BTreeMap<TopicPartition, Offset>,
    history: Option<&History>,
) -> Vec<ConsumedRecord> {
    let mut config = ConsumerConfig::new(cluster.bootstrap());
    config
        .set("auto.offset.reset", "earliest")
        .expect("a valid value");
    let consumer = Consumer::new(cluster, config).expect("a valid configuration");
    consumer.assign(partitions.clone());
    if let Some(history) = history {
        let event = ConsumerEvent::Assigned {
            partitions: partitions.clone(),
        };
        history.event(now_ms(), READER, event);
    }
    let mut read: BTreeMap<(TopicPartition, Offset, String), ConsumedRecord> = BTreeMap::new();
    let mut reached: BTreeMap<TopicPartition, Offset> = BTreeMap::new();
    let deadline_ms = now_ms() + WAIT_LIMIT_MS;
    while now_ms() < deadline_ms {
        let poll = Operation::Poll {
            partitions: partitions.clone(),
        };
        let op = history.map(|h| h.invoke(now_ms(), READER, poll));
        let polled = consumer.poll(1_000).await;
        if let (Some(history), Some(op)) = (history, op) {
            let outcome = Outcome::of_poll(&polled);
            history.complete(op, now_ms(), outcome);
        }
        let records = match polled {
            Ok(records) => records,
            Err(ClientError::Broker { .. } | ClientError::Timeout { .. }) => vec![],
            Err(other) => panic!("the final read failed: {other}"),
        };
        let covered =
            (read_past.iter()).all(|(tp, &last)| reached.get(tp).is_some_and(|&at| at >= last));
        if records.is_empty() && covered {
            break;
        }
        for record in records {
            let at = reached.entry(record.partition.clone()).or_insert(-1);
            *at = (*at).max(record.offset);
            let key = (
                record.partition.clone(),
                record.offset,
                record.value.clone(),
            );
            read.entry(key).or_insert(ConsumedRecord {
                time_ms: now_ms(),
                value: record.value,
                partition: record.partition,
                offset: record.offset,
            });
        }
    }
    let names: Vec<String> = partitions.iter().map(ToString::to_string).collect();
    cluster.trace().timeline(
        now_ms(),
        "reader",
        format!("final read of {}: {} records", names.join(", "), read.len()),
    );
    read.into_values().collect()
}
