//! The crash course's "Queue vs. PubSub", answered with consumer groups, inside a
//! simulated cluster.
//!
//! "To act like a queue, put all your consumers in one group. To act like a
//! pub/sub, put each consumer in a unique group." This program creates topic
//! `users` with 2 partitions and produces six names, then
//!
//! - queue: group `group-1` with two consumers; the group gives each one
//!   partition, so every name is received once;
//! - pub/sub: groups `group-a` and `group-b` with one consumer each; each group
//!   keeps its own offsets, so every name is received by both.
//!
//! The work is done by `kafkasim_sim::demo::queue_vs_pubsub`, which the test
//! `tests/examples.rs` runs too; this program prints what it returns.
//!
//! Run: `cargo run --example queue_vs_pubsub [-- --seed N]`

use kafkasim_sim::cluster::ClusterSpec;
use kafkasim_sim::run_app;
use kafkasim_tools::demo::seed_from_args;
use kafkasim_tools::demo::{queue_vs_pubsub, QueueVsPubSub, Reader};

fn main() {
    let seed = seed_from_args(1);
    let result = run_app(seed, ClusterSpec::default(), |cluster| async move {
        queue_vs_pubsub(&cluster).await
    });
    match result {
        Ok(demo) => print_transcript(&demo),
        Err(panic) => {
            eprintln!("the simulation crashed: {panic}");
            std::process::exit(4);
        }
    }
}

fn print_transcript(demo: &QueueVsPubSub) {
    println!("Topic users has 2 partitions. Produced:");
    for (partition, name) in &demo.produced {
        println!("  {name} to partition {partition}");
    }

    println!();
    println!("Queue: one group (group-1), two consumers.");
    for reader in &demo.queue {
        print_reader(reader);
    }
    let verdict = if demo.queue_splits_the_partitions() && demo.queue_reads_each_record_once() {
        "The group split the partitions: each name was received once, by one consumer."
    } else {
        "UNEXPECTED: the group did not split the partitions cleanly."
    };
    println!("  => {verdict}");

    println!();
    println!("Pub/sub: two groups (group-a, group-b), one consumer each.");
    for reader in &demo.pubsub {
        print_reader(reader);
    }
    let verdict = if demo.every_group_reads_every_record() {
        "Each group received every name."
    } else {
        "UNEXPECTED: a group missed some names."
    };
    println!("  => {verdict}");
}

fn print_reader(reader: &Reader) {
    let partitions: Vec<String> = reader.partitions.iter().map(i32::to_string).collect();
    let owns = match partitions.len() {
        0 => "owns no partition".to_string(),
        1 => format!("owns partition {}", partitions[0]),
        _ => format!("owns partitions {}", partitions.join(", ")),
    };
    println!(
        "  {} {} {owns}, received: {}",
        reader.group,
        reader.name,
        reader.values().join(", ")
    );
}
