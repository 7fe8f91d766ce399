//! Crashes keep what the disk kept: all of it after a process crash, only the
//! flushed part after a power loss (these runs are shorter than the page
//! cache's 30-second writeback), nothing after a disk replacement. Connections to a crashed broker break and
//! clients find the partition's leader again after the restart.

use kafkasim::client::admin::{AdminConfig, NewTopic};
use kafkasim::client::consumer::ConsumerConfig;
use kafkasim::client::producer::{ProducerConfig, ProducerRecord};
use kafkasim::disk::CrashKind;
use kafkasim::ids::TopicPartition;
use kafkasim_check::fault::{Action, Target};
use kafkasim_sim::time::sleep_ms;
use kafkasim_sim::{run_app, Admin, ClusterSpec, Consumer, Producer};

/// Writes three records to a one-partition topic led by broker 1, crashes and
/// restarts broker 1, then reads the partition from the beginning.
fn values_after_crash(kind: CrashKind, flush_every: Option<u64>) -> Vec<String> {
    let spec = ClusterSpec {
        log_flush_interval_messages: flush_every,
        ..ClusterSpec::default()
    };
    run_app(5, spec, move |cluster| async move {
        let admin = Admin::new(&cluster, AdminConfig::new(cluster.bootstrap()));
        admin.wait_for_brokers(3).await;
        admin
            .create_topics(vec![NewTopic::new("events", 1, 1)])
            .await
            .expect("created");
        let leader = cluster.metadata().topics["events"].partitions[0]
            .leader
            .expect("a leader");
        let mut config = ProducerConfig::new(cluster.bootstrap());
        config.set("acks", "1").expect("valid");
        let producer = Producer::new(&cluster, config).expect("a valid configuration");
        for value in ["a", "b", "c"] {
            producer
                .send(ProducerRecord::new("events", value))
                .await
                .expect("acknowledged");
        }
        let node = Target::Broker(leader);
        let crash = match kind {
            CrashKind::ProcessCrash => Action::Crash { node },
            CrashKind::PowerLoss => Action::PowerLoss { node },
            CrashKind::DiskReplaced => Action::ReplaceDisk { node },
        };
        let down = cluster.start_fault(&crash).expect("the leader crashes");
        sleep_ms(1_000).await;
        cluster.end_fault(down);

        let mut config = ConsumerConfig::new(cluster.bootstrap());
        config.set("auto.offset.reset", "earliest").expect("valid");
        let consumer = Consumer::new(&cluster, config).expect("valid");
        consumer.assign(vec![TopicPartition::new("events", 0)]);
        let mut values = Vec::new();
        // Nothing more arrives after the restart; read until a few empty polls.
        for _ in 0..30 {
            let records = consumer.poll(1_000).await.expect("poll");
            values.extend(records.into_iter().map(|r| r.value_text()));
        }
        values
    })
    .expect("the simulation runs")
}

#[test]
fn a_broker_restarted_after_a_process_crash_keeps_its_whole_log() {
    assert_eq!(
        values_after_crash(CrashKind::ProcessCrash, None),
        vec!["a", "b", "c"]
    );
}

#[test]
fn a_power_loss_drops_everything_that_was_not_flushed() {
    // Kafka's default: never flush; the acknowledged records were only in the page cache.
    assert_eq!(
        values_after_crash(CrashKind::PowerLoss, None),
        Vec::<String>::new()
    );
}

#[test]
fn a_power_loss_keeps_what_was_flushed() {
    assert_eq!(
        values_after_crash(CrashKind::PowerLoss, Some(1)),
        vec!["a", "b", "c"]
    );
}

#[test]
fn a_replaced_disk_keeps_nothing_even_what_was_flushed() {
    assert_eq!(
        values_after_crash(CrashKind::DiskReplaced, Some(1)),
        Vec::<String>::new()
    );
}
