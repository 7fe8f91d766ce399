//! Followers copy the leader's log; the high watermark waits for the ISR.

use kafkasim::client::admin::{AdminConfig, NewTopic};
use kafkasim::client::producer::{ProducerConfig, ProducerRecord};
use kafkasim::ids::TopicPartition;
use kafkasim_sim::cluster::ClusterSpec;
use kafkasim_sim::run_app;
use kafkasim_sim::{Admin, Producer};

#[test]
fn every_replica_holds_an_acks_all_write_and_learns_the_high_watermark() {
    let logs = run_app(3, ClusterSpec::default(), |cluster| async move {
        let admin = Admin::new(&cluster, AdminConfig::new(cluster.bootstrap()));
        admin.wait_for_brokers(3).await;
        let topic = NewTopic::new("orders", 1, 3).config("min.insync.replicas", "2");
        let results = admin.create_topics(vec![topic]).await.expect("answered");
        assert_eq!(results[0].error_code, kafkasim::error::ErrorCode::None);
        let mut config = ProducerConfig::new(cluster.bootstrap());
        config.set("acks", "all").expect("valid");
        let producer = Producer::new(&cluster, config).expect("a valid producer config");
        for value in ["a", "b", "c"] {
            producer
                .send(ProducerRecord::new("orders", value))
                .await
                .expect("acknowledged");
        }
        // One more follower fetch round carries the new high watermark.
        kafkasim_sim::time::sleep_ms(2000).await;
        let tp = TopicPartition::new("orders", 0);
        (1..=3)
            .map(|b| {
                let log = cluster.log(b, &tp).expect("every replica has the log");
                (log.log_end_offset(), log.high_watermark())
            })
            .collect::<Vec<_>>()
    })
    .expect("the simulation runs");
    assert_eq!(logs, vec![(3, 3), (3, 3), (3, 3)]);
}
