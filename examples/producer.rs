//! The crash course's `producer.js`: send one name to topic `users`, to
//! partition 0 for A–M and partition 1 for N–Z, inside a simulated cluster.
//!
//! Run: `cargo run --example producer -- Alice [--seed N]`

use kafkasim::client::producer::{ProducerConfig, ProducerRecord};
use kafkasim_sim::client::Producer;
use kafkasim_sim::cluster::ClusterSpec;
use kafkasim_sim::run_app;
use kafkasim_tools::demo::{create_users_topic, seed_from_args};

fn main() {
    let msg = std::env::args()
        .nth(1)
        .filter(|a| !a.starts_with("--"))
        .unwrap_or_else(|| "Alice".to_string());
    let seed = seed_from_args(1);
    let result = run_app(seed, ClusterSpec::default(), move |cluster| async move {
        // Each example starts a fresh simulated cluster, so the topic is created first.
        create_users_topic(&cluster).await;

        // ANCHOR: send
        let producer = Producer::new(&cluster, ProducerConfig::new(cluster.bootstrap()))
            .expect("the default configuration is valid");
        println!("connecting...");
        println!("connected.");
        // A-M 0, N-Z 1
        let partition = if msg.as_str() < "N" { 0 } else { 1 };
        let result = producer
            .send(ProducerRecord::new("users", msg.as_str()).partition(partition))
            .await;
        match result {
            Ok(metadata) => println!(
                "send successfully: [{{\"topicName\":\"{}\",\"partition\":{},\"errorCode\":0,\"baseOffset\":\"{}\"}}]",
                metadata.partition.topic, metadata.partition.partition, metadata.offset
            ),
            Err(error) => println!("something went wrong {error}"),
        }
        // ANCHOR_END: send
    });
    if let Err(panic) = result {
        eprintln!("the simulation crashed: {panic}");
        std::process::exit(4);
    }
}
