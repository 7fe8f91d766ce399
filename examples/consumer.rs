//! The crash course's `consumer.js`: join consumer group `group-1`, subscribe
//! to topic `users` from the beginning and print every message with its
//! partition, inside a simulated cluster.
//!
//! Each example starts a fresh cluster, so this one first creates the topic and
//! produces a few names. The consumer is alone in its group, so the group gives
//! it both partitions; `examples/queue_vs_pubsub.rs` shows a group sharing them.
//! Where `consumer.js` runs forever, this program stops once it has received
//! every name, and closes the consumer so that it leaves the group.
//!
//! Run: `cargo run --example consumer [-- --seed N]`

use kafkasim::client::consumer::ConsumerConfig;
use kafkasim::client::producer::{ProducerConfig, ProducerRecord};
use kafkasim_sim::cluster::ClusterSpec;
use kafkasim_sim::run_app;
use kafkasim_sim::{Consumer, Producer};
use kafkasim_tools::demo::{create_users_topic, seed_from_args};

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
        config.set("group.id", "group-1").expect("a valid value");
        config
            .set("auto.offset.reset", "earliest")
            .expect("a valid value"); // fromBeginning: true
        let consumer = Consumer::new(&cluster, config).expect("a valid configuration");
        println!("connecting...");
        println!("connected.");
        consumer
            .subscribe(vec!["users".to_string()])
            .await
            .expect("a consumer with a group.id may subscribe");
        let mut received = 0;
        while received < NAMES.len() {
            for record in consumer.poll(1_000).await.expect("poll") {
                println!(
                    "Received message {} on partition {}",
                    record.value_text(),
                    record.partition.partition
                );
                received += 1;
            }
        }
        consumer.close().await;
        // ANCHOR_END: consume
    });
    if let Err(panic) = result {
        eprintln!("the simulation crashed: {panic}");
        std::process::exit(4);
    }
}
