//! The crash course's "queue vs. pub/sub", run: consumers of one group share a
//! topic's partitions like a queue; consumers of different groups each read every
//! record, like pub/sub.
//!
//! [`queue_vs_pubsub`] produces names to topic `users` (2 partitions), then lets
//! group `group-1` read them with two consumers, and groups `group-a` and
//! `group-b` with one consumer each. It returns what every consumer owned and
//! read, so that `examples/queue_vs_pubsub.rs` can print it and
//! `tests/examples.rs` can check it: the example and the test run the same code.
//!
//! The consumers of one phase poll in turn from one task, as one thread would
//! drive several `KafkaConsumer`s. Their first polls fall within the
//! coordinator's `group.initial.rebalance.delay.ms` (3 s), so a group's members
//! join its first generation together and no partition changes hands midway.

use kafkasim::client::admin::NewTopic;
use kafkasim::client::consumer::{ConsumerConfig, RebalanceEvent};
use kafkasim::client::producer::{ProducerConfig, ProducerRecord};
use kafkasim::ids::Offset;
use kafkasim_check::history::value_text;
use kafkasim_sim::{Cluster, Consumer, Producer};
use std::collections::{BTreeMap, BTreeSet};

/// The names the demo produces: three for each partition of `users`.
pub const DEMO_NAMES: [&str; 6] = ["Alice", "Bob", "Mallory", "Niaj", "Trent", "Zoe"];
/// How long each poll waits for records, in simulated time.
pub const POLL_TIMEOUT_MS: u64 = 500;
/// Polls each consumer makes at most before a phase gives up (a liveness bound:
/// 100 polls of 500 ms is far longer than any group takes to form and read).
pub const POLL_ROUNDS_MAX: usize = 100;

/// The crash course's partition choice: A–M to partition 0, N–Z to partition 1.
pub fn users_partition(name: &str) -> i32 {
    if name < "N" {
        0
    } else {
        1
    }
}

/// One consumer's view of a phase.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reader {
    pub group: String,
    /// A name for the transcript, numbered within its group: `consumer-1`, …
    pub name: String,
    /// The partitions of `users` it owned when the phase ended.
    pub partitions: BTreeSet<i32>,
    /// What its polls returned, in order: (partition, offset, value).
    pub records: Vec<(i32, Offset, String)>,
}

impl Reader {
    pub fn values(&self) -> Vec<&str> {
        self.records.iter().map(|(_, _, v)| v.as_str()).collect()
    }
}

/// Everything the demo produced and every consumer read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueVsPubSub {
    /// What was produced, in order: (partition, value).
    pub produced: Vec<(i32, String)>,
    /// Group `group-1` with two consumers.
    pub queue: Vec<Reader>,
    /// Groups `group-a` and `group-b`, one consumer each.
    pub pubsub: Vec<Reader>,
}

impl QueueVsPubSub {
    fn produced_values(&self) -> BTreeSet<&str> {
        self.produced.iter().map(|(_, v)| v.as_str()).collect()
    }

    /// Queue: every record produced was read exactly once, by one of the consumers.
    pub fn queue_reads_each_record_once(&self) -> bool {
        let mut read: Vec<&str> = self.queue.iter().flat_map(Reader::values).collect();
        read.sort_unstable();
        let mut produced: Vec<&str> = self.produced_values().into_iter().collect();
        produced.sort_unstable();
        read == produced
    }

    /// Queue: each consumer owns exactly one partition, and no partition has two owners.
    pub fn queue_splits_the_partitions(&self) -> bool {
        let owned: Vec<&BTreeSet<i32>> = self.queue.iter().map(|r| &r.partitions).collect();
        let union: BTreeSet<i32> = owned.iter().flat_map(|p| p.iter().copied()).collect();
        owned.iter().all(|p| p.len() == 1) && union.len() == owned.len()
    }

    /// Pub/sub: every group read every record produced.
    pub fn every_group_reads_every_record(&self) -> bool {
        let produced = self.produced_values();
        self.pubsub.iter().all(|r| {
            let read: BTreeSet<&str> = r.values().into_iter().collect();
            read == produced
        })
    }
}

/// Creates `users`, produces [`DEMO_NAMES`], and runs the two phases.
pub async fn queue_vs_pubsub(cluster: &Cluster) -> QueueVsPubSub {
    create_users_topic(cluster).await;
    let producer = Producer::new(cluster, ProducerConfig::new(cluster.bootstrap()))
        .expect("the default configuration is valid");
    let mut produced = Vec::new();
    for name in DEMO_NAMES {
        let record = ProducerRecord::new("users", name).partition(users_partition(name));
        let metadata = producer.send(record).await.expect("acknowledged");
        produced.push((metadata.partition.partition, name.to_string()));
    }
    let expected = produced.len();
    let queue = read_together(cluster, &["group-1", "group-1"], expected).await;
    let pubsub = read_together(cluster, &["group-a", "group-b"], expected).await;
    QueueVsPubSub {
        produced,
        queue,
        pubsub,
    }
}

/// Starts one consumer per entry of `groups` (in that group), all subscribed to
/// `users` from the beginning, and polls them in turn until every group has read
/// `expected` records (or [`POLL_ROUNDS_MAX`] rounds pass). Then closes them.
pub async fn read_together(cluster: &Cluster, groups: &[&str], expected: usize) -> Vec<Reader> {
    let mut consumers = Vec::new();
    let mut readers = Vec::new();
    for (i, group) in groups.iter().enumerate() {
        let mut config = ConsumerConfig::new(cluster.bootstrap());
        config.set("group.id", group).expect("a valid group id");
        config.set("auto.offset.reset", "earliest").expect("valid");
        let consumer = Consumer::new(cluster, config).expect("a valid configuration");
        consumer
            .subscribe(vec!["users".into()])
            .await
            .expect("a consumer with a group.id may subscribe");
        consumers.push(consumer);
        let in_group = groups[..=i].iter().filter(|g| *g == group).count();
        readers.push(Reader {
            group: group.to_string(),
            name: format!("consumer-{in_group}"),
            partitions: BTreeSet::new(),
            records: Vec::new(),
        });
    }
    for _ in 0..POLL_ROUNDS_MAX {
        if every_group_has_read(&readers, expected) {
            break;
        }
        for (consumer, reader) in consumers.iter().zip(readers.iter_mut()) {
            let records = consumer.poll(POLL_TIMEOUT_MS).await.expect("poll");
            let read = records
                .into_iter()
                .map(|r| (r.partition.partition, r.offset, value_text(&r.value)));
            reader.records.extend(read);
            track_assignment(&mut reader.partitions, consumer.rebalance_events());
        }
    }
    for consumer in &consumers {
        consumer.close().await;
    }
    readers
}

fn every_group_has_read(readers: &[Reader], expected: usize) -> bool {
    let mut per_group: BTreeMap<&str, usize> = BTreeMap::new();
    for reader in readers {
        *per_group.entry(reader.group.as_str()).or_default() += reader.records.len();
    }
    per_group.values().all(|&n| n >= expected)
}

/// Follows the rebalance listener's events to know which partitions a consumer owns.
fn track_assignment(owned: &mut BTreeSet<i32>, events: Vec<RebalanceEvent>) {
    for event in events {
        match event {
            RebalanceEvent::Assigned(tps) => owned.extend(tps.iter().map(|tp| tp.partition)),
            RebalanceEvent::Revoked(tps) | RebalanceEvent::Lost(tps) => {
                for tp in tps {
                    owned.remove(&tp.partition);
                }
            }
        }
    }
}

/// Waits for every broker, then creates the crash course's topic `users` with 2
/// partitions: the set-up each example needs on its fresh cluster.
pub async fn create_users_topic(cluster: &Cluster) {
    let created = cluster.create_topic(NewTopic::new("users", 2, 1)).await;
    assert!(
        created.is_ok(),
        "a fresh cluster creates topic users: {created:?}"
    );
}

/// Reads an optional `--seed N` from the command line of an example.
pub fn seed_from_args(default: u64) -> u64 {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let position = args.iter().position(|a| a == "--seed");
    match position.and_then(|i| args.get(i + 1)) {
        Some(text) => {
            let text = text.to_string_lossy();
            let digits = !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit());
            match text.parse().ok().filter(|_| digits) {
                Some(seed) => seed,
                None => {
                    eprintln!("error: --seed must be a whole number, digits only, got '{text}'");
                    std::process::exit(2);
                }
            }
        }
        None => default,
    }
}
