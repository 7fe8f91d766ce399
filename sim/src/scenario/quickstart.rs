//! `quickstart`: the crash course's example, inside a simulated cluster.
//!
//! An admin creates topic `users` with 2 partitions; a producer sends names,
//! A–M to partition 0 and N–Z to partition 1, exactly as the crash course's
//! producer script chooses them; a consumer reads both partitions from the
//! beginning. The checks: every sent record is consumed exactly once, in offset
//! order per partition, with offsets dense from 0, each name in its half.

use super::{Body, ConsumedRecord, Scenario, ScenarioFuture, ScenarioOutcome, SentRecord};
use crate::client::{Admin, Consumer, Producer};
use crate::cluster::{Cluster, ClusterSpec};
use crate::driver::now_ms;
use kafkasim::client::admin::{AdminConfig, NewTopic};
use kafkasim::client::consumer::ConsumerConfig;
use kafkasim::client::producer::{ProducerConfig, ProducerRecord};
use kafkasim::ids::TopicPartition;

pub const SCENARIO: Scenario = Scenario {
    name: "quickstart",
    summary:
        "the crash course: topic users with 2 partitions, names A-M to 0 and N-Z to 1, read back",
    body: Body::Code {
        cluster: ClusterSpec::default,
        run,
    },
};

// ANCHOR: names
/// The names the producer sends, in order.
pub const NAMES: [&str; 10] = [
    "Olivia", "Alice", "Bob", "Niaj", "Carol", "Trent", "Dave", "Mallory", "Peggy", "Zoe",
];
// ANCHOR_END: names

/// How long the consumer keeps polling for the records it expects.
const CONSUME_DEADLINE_MS: u64 = 60_000;

fn run(cluster: Cluster) -> ScenarioFuture {
    Box::pin(async move {
        let app = cluster.clone();
        cluster
            .spawn_client("app", async move { quickstart(app).await })
            .await
            .expect("the app task finishes")
    })
}

// ANCHOR: partition_choice
/// The crash course's producer: `msg[0] < 'N' ? 0 : 1`.
pub fn partition_for_name(name: &str) -> i32 {
    if name < "N" {
        0
    } else {
        1
    }
}
// ANCHOR_END: partition_choice

async fn quickstart(cluster: Cluster) -> ScenarioOutcome {
    let trace = cluster.trace().clone();
    let mut outcome = ScenarioOutcome::default();

    // ANCHOR: create_topic
    let admin = Admin::new(&cluster, AdminConfig::new(cluster.bootstrap()));
    admin.wait_for_brokers(cluster.bootstrap().len()).await;
    let results = admin
        .create_topics(vec![NewTopic::new("users", 2, 1)])
        .await;
    // ANCHOR_END: create_topic
    match results.as_deref() {
        Ok([result]) if result.error_code == kafkasim::error::ErrorCode::None => {
            trace.timeline(now_ms(), "admin", "topic created successfully")
        }
        other => {
            outcome.failure = Some(format!("creating topic users failed: {other:?}"));
            return outcome;
        }
    }

    // ANCHOR: produce
    let producer = Producer::new(&cluster, ProducerConfig::new(cluster.bootstrap()))
        .expect("the default configuration is valid");
    for name in NAMES {
        let record = ProducerRecord::new("users", name).partition(partition_for_name(name));
        match producer.send(record).await {
            Ok(metadata) => {
                let text = format!(
                    "send {name:<8} -> {} at offset {}",
                    metadata.partition, metadata.offset
                );
                trace.timeline(now_ms(), "producer", text);
                let (partition, offset) = (metadata.partition, metadata.offset);
                outcome.sent.push(SentRecord {
                    time_ms: now_ms(),
                    value: name.into(),
                    partition,
                    offset,
                    acks: producer.acks(),
                });
            }
            Err(error) => {
                trace.timeline(now_ms(), "producer", format!("send {name} failed: {error}"))
            }
        }
    }
    // ANCHOR_END: produce

    // ANCHOR: consume
    let mut config = ConsumerConfig::new(cluster.bootstrap());
    config
        .set("auto.offset.reset", "earliest")
        .expect("a valid value");
    let consumer = Consumer::new(&cluster, config).expect("a valid configuration");
    consumer.assign(vec![
        TopicPartition::new("users", 0),
        TopicPartition::new("users", 1),
    ]);
    let deadline_ms = now_ms() + CONSUME_DEADLINE_MS;
    while outcome.consumed.len() < outcome.sent.len() && now_ms() < deadline_ms {
        for record in consumer.poll(1_000).await.unwrap_or_default() {
            let text = format!(
                "Received message {} on partition {} (offset {})",
                record.value, record.partition.partition, record.offset
            );
            trace.timeline(now_ms(), "consumer", text);
            outcome.consumed.push(ConsumedRecord {
                time_ms: now_ms(),
                value: record.value,
                partition: record.partition,
                offset: record.offset,
            });
        }
    }
    // ANCHOR_END: consume
    outcome.failure = check(&outcome).err();
    outcome
}

/// The quickstart's promises, checked against what the clients saw.
pub fn check(outcome: &ScenarioOutcome) -> Result<(), String> {
    if outcome.sent.len() != NAMES.len() {
        return Err(format!(
            "{} of {} sends were acknowledged",
            outcome.sent.len(),
            NAMES.len()
        ));
    }
    for sent in &outcome.sent {
        let times = outcome
            .consumed
            .iter()
            .filter(|c| c.value == sent.value)
            .count();
        if times != 1 {
            return Err(format!(
                "{} was consumed {times} times, expected exactly once",
                sent.value
            ));
        }
        if sent.partition.partition != partition_for_name(&sent.value) {
            return Err(format!(
                "{} landed in {}, expected its half",
                sent.value, sent.partition
            ));
        }
    }
    for partition in 0..2 {
        let offsets: Vec<i64> = outcome
            .consumed
            .iter()
            .filter(|c| c.partition.partition == partition)
            .map(|c| c.offset)
            .collect();
        let dense: Vec<i64> = (0..offsets.len() as i64).collect();
        if offsets != dense {
            return Err(format!(
                "users-{partition} was consumed at offsets {offsets:?}, expected {dense:?}"
            ));
        }
    }
    Ok(())
}
