//! Consumer groups end to end: one group shares the partitions like a queue.

use kafkasim::client::admin::{AdminConfig, NewTopic};
use kafkasim::client::consumer::ConsumerConfig;
use kafkasim::client::producer::{ProducerConfig, ProducerRecord};
use kafkasim_sim::app::run_app;
use kafkasim_sim::client::{Admin, Consumer, Producer};
use kafkasim_sim::cluster::ClusterSpec;
use std::collections::BTreeSet;

#[test]
fn two_consumers_of_one_group_split_the_partitions_and_read_every_record_once() {
    let (per_consumer, all) = run_app(5, ClusterSpec::default(), |cluster| async move {
        let admin = Admin::new(&cluster, AdminConfig::new(cluster.bootstrap()));
        admin.wait_for_brokers(3).await;
        admin
            .create_topics(vec![NewTopic::new("users", 2, 3)])
            .await
            .expect("created");
        let producer = Producer::new(&cluster, ProducerConfig::new(cluster.bootstrap()))
            .expect("a valid config");
        for i in 0..10 {
            let record = ProducerRecord::new("users", format!("u{i}")).partition(i % 2);
            producer.send(record).await.expect("acknowledged");
        }
        let consumer = || {
            let mut config = ConsumerConfig::new(cluster.bootstrap());
            config.set("group.id", "group-1").expect("valid");
            config.set("auto.offset.reset", "earliest").expect("valid");
            Consumer::new(&cluster, config).expect("a valid config")
        };
        let (a, b) = (consumer(), consumer());
        a.subscribe(vec!["users".into()]).await.expect("subscribed");
        b.subscribe(vec!["users".into()]).await.expect("subscribed");
        let mut seen: Vec<BTreeSet<(i32, String)>> = vec![BTreeSet::new(), BTreeSet::new()];
        for _ in 0..40 {
            for (i, c) in [&a, &b].into_iter().enumerate() {
                for r in c.poll(500).await.unwrap_or_default() {
                    seen[i].insert((r.partition.partition, r.value));
                }
            }
        }
        let all: BTreeSet<String> = seen.iter().flatten().map(|(_, v)| v.clone()).collect();
        (seen, all)
    })
    .expect("the simulation runs");
    assert_eq!(all.len(), 10, "every record read: {all:?}");
    let partitions: Vec<BTreeSet<i32>> = per_consumer
        .iter()
        .map(|s| s.iter().map(|(p, _)| *p).collect())
        .collect();
    assert_eq!(partitions[0].len(), 1, "{per_consumer:?}");
    assert_eq!(partitions[1].len(), 1, "{per_consumer:?}");
    assert_ne!(partitions[0], partitions[1], "each partition has one owner");
}
