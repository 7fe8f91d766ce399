//! The crash course's `consumer.js`: read topic `users` from the beginning and
//! print every message with its partition, inside a simulated cluster.
//!
//! Each example starts a fresh cluster, so this one first creates the topic and
//! produces a few names. The consumer assigns itself both partitions; joining
//! consumer group `group-1` as the seed does comes with consumer groups.
//!
//! Run: `cargo run --example consumer [-- --seed N]`

use kafkasim::client::consumer::ConsumerConfig;
use kafkasim::client::producer::{ProducerConfig, ProducerRecord};
use kafkasim::ids::TopicPartition;
use kafkasim_sim::app::{create_users_topic, run_app, seed_from_args};
use kafkasim_sim::client::{Consumer, Producer};
use kafkasim_sim::cluster::ClusterSpec;

const NAMES: [&str; 4] = ["Alice", "Niaj", "Bob", "Zoe"];

fn main() {
    let seed = seed_from_args(1);
    let result = run_app(seed, ClusterSpec::default(), |cluster| async move {
        create_users_topic(&cluster).await;
        let producer = Producer::new(&cluster, ProducerConfig::new(cluster.bootstrap()))
            .expect("the default configuration is valid");
        for name in NAMES {
            let partition = if name < "N" { 0 } else { 1 };
            producer
                .send(ProducerRecord::new("users", name).partition(partition))
                .await
                .expect("sent");
        }

        // ANCHOR: consume
        let mut config = ConsumerConfig::new(cluster.bootstrap());
        config
            .set("auto.offset.reset", "earliest")
            .expect("a valid value"); // fromBeginning: true
        let consumer = Consumer::new(&cluster, config).expect("a valid configuration");
        println!("connecting...");
        println!("connected.");
        consumer.assign(vec![
            TopicPartition::new("users", 0),
            TopicPartition::new("users", 1),
        ]);
        let mut received = 0;
        while received < NAMES.len() {
            for record in consumer.poll(1_000).await.expect("poll") {
                println!(
                    "Received message {} on partition {}",
                    record.value, record.partition.partition
                );
                received += 1;
            }
        }
        // ANCHOR_END: consume
    });
    if let Err(panic) = result {
        eprintln!("the simulation crashed: {panic}");
        std::process::exit(4);
    }
}
