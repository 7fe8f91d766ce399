//! The examples' claims, checked through the same library code they run.
//!
//! `examples/queue_vs_pubsub.rs` prints what `kafkasim_tools::demo::queue_vs_pubsub`
//! returns; these tests run that function on several seeds and check what the
//! crash course promises: one group is a queue, separate groups are pub/sub.

use kafkasim_sim::cluster::ClusterSpec;
use kafkasim_sim::run_app;
use kafkasim_tools::demo::{queue_vs_pubsub, QueueVsPubSub, DEMO_NAMES};
use std::collections::BTreeSet;

/// Seeds to run the demo with: the example's default (1) and a few more.
const SEEDS: [u64; 4] = [1, 2, 3, 42];

fn demo(seed: u64) -> QueueVsPubSub {
    run_app(seed, ClusterSpec::default(), |cluster| async move {
        queue_vs_pubsub(&cluster).await
    })
    .expect("the simulation runs")
}

#[test]
fn one_group_with_two_consumers_splits_the_partitions_like_a_queue() {
    for seed in SEEDS {
        let demo = demo(seed);
        assert_eq!(demo.produced.len(), DEMO_NAMES.len(), "seed {seed}");
        let [first, second] = &demo.queue[..] else {
            panic!("seed {seed}: the queue has two consumers: {demo:?}");
        };
        for reader in [first, second] {
            assert_eq!(reader.group, "group-1");
            assert_eq!(reader.partitions.len(), 1, "seed {seed}: {reader:?}");
            let read_from: BTreeSet<i32> = reader.records.iter().map(|r| r.0).collect();
            assert_eq!(
                read_from, reader.partitions,
                "seed {seed}: a consumer reads only the partition it owns: {reader:?}"
            );
        }
        assert!(
            first.partitions.is_disjoint(&second.partitions),
            "seed {seed}: no partition has two owners: {demo:?}"
        );
        let mut read: Vec<&str> = first.values();
        read.extend(second.values());
        read.sort_unstable();
        let mut names = DEMO_NAMES.to_vec();
        names.sort_unstable();
        assert_eq!(read, names, "seed {seed}: every record read exactly once");
        assert!(demo.queue_splits_the_partitions() && demo.queue_reads_each_record_once());
    }
}

#[test]
fn two_groups_with_one_consumer_each_both_read_every_record_like_pub_sub() {
    for seed in SEEDS {
        let demo = demo(seed);
        let groups: Vec<&str> = demo.pubsub.iter().map(|r| r.group.as_str()).collect();
        assert_eq!(groups, ["group-a", "group-b"], "seed {seed}");
        for reader in &demo.pubsub {
            assert_eq!(
                reader.partitions,
                BTreeSet::from([0, 1]),
                "seed {seed}: alone in its group, a consumer owns both partitions"
            );
            let mut read = reader.values();
            read.sort_unstable();
            let mut names = DEMO_NAMES.to_vec();
            names.sort_unstable();
            assert_eq!(
                read, names,
                "seed {seed}: {} read everything once",
                reader.group
            );
        }
        assert!(demo.every_group_reads_every_record());
    }
}

#[test]
fn the_demo_is_deterministic_for_a_seed() {
    assert_eq!(demo(7), demo(7));
}
