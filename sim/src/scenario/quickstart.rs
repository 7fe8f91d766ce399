//! `quickstart`: the crash course's example, inside a simulated cluster.
//!
//! An admin creates topic `users` with 2 partitions; a producer sends names,
//! A–M to partition 0 and N–Z to partition 1, exactly as the crash course's
//! producer script chooses them; a consumer reads both partitions from the
//! beginning. The clients record what they did, and the judge checks it: every
//! acknowledged name read back, once, where it was acknowledged.

use super::Scenario;
use kafkasim::client::admin::NewTopic;
use kafkasim::client::consumer::ConsumerConfig;
use kafkasim::client::producer::{ProducerConfig, ProducerRecord};
use kafkasim::ids::TopicPartition;
use kafkasim_check::history::value_text;
use kafkasim_check::{Detail, Finding, Kind};
use kafkasim_sim::time::now_ms;
use kafkasim_sim::{Cluster, ClusterSpec, Consumer, Producer};

pub fn scenario() -> Scenario {
    Scenario::code(
        "quickstart",
        "the crash course: topic users with 2 partitions, names A-M to 0 and N-Z to 1, read back",
        ClusterSpec::default,
        |cluster| Box::pin(quickstart(cluster)),
    )
}

// ANCHOR: names
/// The names the producer sends, in order.
pub const NAMES: [&str; 10] = [
    "Olivia", "Alice", "Bob", "Niaj", "Carol", "Trent", "Dave", "Mallory", "Peggy", "Zoe",
];
// ANCHOR_END: names

/// How long the consumer keeps polling for the records it expects.
const CONSUME_DEADLINE_MS: u64 = 60_000;

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

async fn quickstart(cluster: Cluster) {
    let trace = cluster.trace().clone();

    // ANCHOR: create_topic
    let admin = cluster.admin();
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
            let what = format!("creating topic users failed: {other:?}");
            let detail = Detail::SetupFailed {
                what,
                time_ms: now_ms(),
            };
            cluster.report(Finding::new(Kind::SetupFailed, detail));
            return;
        }
    }

    // ANCHOR: produce
    let config = ProducerConfig::new(cluster.bootstrap());
    let producer =
        Producer::named(&cluster, config, "producer").expect("the default configuration is valid");
    let mut sent = 0;
    for name in NAMES {
        let record = ProducerRecord::new("users", name).partition(partition_for_name(name));
        match producer.send(record).await {
            Ok(metadata) => {
                sent += 1;
                let text = format!(
                    "send {name:<8} -> {} at offset {}",
                    metadata.partition, metadata.offset
                );
                trace.timeline(now_ms(), "producer", text);
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
    let consumer = Consumer::named(&cluster, config, "consumer").expect("a valid configuration");
    consumer.assign(vec![
        TopicPartition::new("users", 0),
        TopicPartition::new("users", 1),
    ]);
    let deadline_ms = now_ms() + CONSUME_DEADLINE_MS;
    let mut received = 0;
    while received < sent && now_ms() < deadline_ms {
        for record in consumer.poll(1_000).await.unwrap_or_default() {
            let text = format!(
                "Received message {} on partition {} (offset {})",
                value_text(&record.value),
                record.partition.partition,
                record.offset
            );
            trace.timeline(now_ms(), "consumer", text);
            received += 1;
        }
    }
    // ANCHOR_END: consume
}
