//! The crash course's `topic.js`: connect an admin client and create topic
//! `users` with 2 partitions, inside a simulated cluster.
//!
//! Run: `cargo run --example create_topic [-- --seed N]`

use kafkasim::client::admin::{AdminConfig, NewTopic};
use kafkasim::error::ErrorCode;
use kafkasim_sim::cluster::ClusterSpec;
use kafkasim_sim::run_app;
use kafkasim_sim::Admin;
use kafkasim_tools::demo::seed_from_args;

fn main() {
    let seed = seed_from_args(1);
    let result = run_app(seed, ClusterSpec::default(), |cluster| async move {
        // ANCHOR: create_topic
        let admin = Admin::new(&cluster, AdminConfig::new(cluster.bootstrap()));
        println!("connecting...");
        admin.wait_for_brokers(cluster.bootstrap().len()).await;
        println!("connected.");
        // A-M, N-Z
        let results = admin
            .create_topics(vec![NewTopic::new("users", 2, 1)])
            .await;
        match results.as_deref() {
            Ok([topic]) if topic.error_code == ErrorCode::None => {
                println!("topic created successfully")
            }
            Ok([topic]) => println!(
                "something went wrong {}: {}",
                topic.error_code,
                topic.error_message.clone().unwrap_or_default()
            ),
            other => println!("something went wrong {other:?}"),
        }
        // ANCHOR_END: create_topic
    });
    if let Err(panic) = result {
        eprintln!("the simulation crashed: {panic}");
        std::process::exit(4);
    }
}
