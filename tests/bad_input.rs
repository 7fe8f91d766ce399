//! Bad requests get Kafka's errors; bad configuration gets a message naming the key.

use kafkasim::client::admin::{AdminConfig, NewTopic};
use kafkasim::client::producer::{ProducerConfig, ProducerRecord};
use kafkasim::client::ClientError;
use kafkasim::error::ErrorCode;
use kafkasim_sim::app::run_app;
use kafkasim_sim::client::{Admin, Producer};
use kafkasim_sim::cluster::{Cluster, ClusterSpec};

/// Creates `topics` one by one on a fresh 3-broker cluster; returns each error code.
fn create(topics: Vec<NewTopic>) -> Vec<ErrorCode> {
    run_app(11, ClusterSpec::default(), |cluster| async move {
        let admin = Admin::new(&cluster, AdminConfig::new(cluster.bootstrap()));
        admin.wait_for_brokers(3).await;
        let mut codes = Vec::new();
        for topic in topics {
            let results = admin
                .create_topics(vec![topic])
                .await
                .expect("a broker answers");
            codes.push(results[0].error_code);
        }
        codes
    })
    .expect("the simulation runs")
}

#[test]
fn creating_an_existing_topic_answers_topic_already_exists() {
    let codes = create(vec![
        NewTopic::new("users", 2, 1),
        NewTopic::new("users", 2, 1),
    ]);
    assert_eq!(codes, vec![ErrorCode::None, ErrorCode::TopicAlreadyExists]);
}

#[test]
fn zero_partitions_answers_invalid_partitions() {
    assert_eq!(
        create(vec![NewTopic::new("users", 0, 1)]),
        vec![ErrorCode::InvalidPartitions]
    );
}

#[test]
fn a_replication_factor_above_the_live_brokers_answers_invalid_replication_factor() {
    assert_eq!(
        create(vec![NewTopic::new("users", 1, 4)]),
        vec![ErrorCode::InvalidReplicationFactor]
    );
}

#[test]
fn min_insync_replicas_above_the_replication_factor_answers_invalid_config() {
    let topic = NewTopic::new("users", 1, 1).config("min.insync.replicas", "2");
    assert_eq!(create(vec![topic]), vec![ErrorCode::InvalidConfig]);
}

/// Sends one record on a cluster where only topic `users` (2 partitions) exists.
fn send_one(record: ProducerRecord) -> Result<i64, ClientError> {
    run_app(12, ClusterSpec::default(), |cluster: Cluster| async move {
        let admin = Admin::new(&cluster, AdminConfig::new(cluster.bootstrap()));
        admin.wait_for_brokers(3).await;
        admin
            .create_topics(vec![NewTopic::new("users", 2, 1)])
            .await
            .expect("created");
        let mut config = ProducerConfig::new(cluster.bootstrap());
        config.set("max.block.ms", "5000").expect("valid");
        let producer = Producer::new(&cluster, config).expect("a valid configuration");
        producer.send(record).await.map(|m| m.offset)
    })
    .expect("the simulation runs")
}

#[test]
fn producing_to_a_missing_topic_fails_after_the_metadata_timeout() {
    let error = send_one(ProducerRecord::new("no-such-topic", "x")).unwrap_err();
    assert_eq!(
        error,
        ClientError::Timeout {
            message: "Topic no-such-topic not present in metadata after 5000 ms.".into()
        }
    );
}

#[test]
fn producing_to_a_partition_out_of_range_fails_clearly() {
    let error = send_one(ProducerRecord::new("users", "x").partition(5)).unwrap_err();
    assert_eq!(
        error,
        ClientError::Invalid {
            message: "Invalid partition given with record: 5 is not in the range [0...2).".into()
        }
    );
    assert!(!error.is_ambiguous());
}

#[test]
fn an_invalid_acks_value_is_rejected_naming_the_key() {
    let mut config = ProducerConfig::new(vec![1]);
    let error = config.set("acks", "2").unwrap_err();
    assert_eq!(
        error.to_string(),
        "invalid value '2' for configuration 'acks': String must be one of: all, -1, 0, 1"
    );
}

#[test]
fn an_idempotent_producer_with_acks_1_is_refused_naming_the_key() {
    let mut config = ProducerConfig::new(vec![1]);
    config.set("enable.idempotence", "true").expect("valid");
    config.set("acks", "1").expect("valid on its own");
    let error = kafkasim::client::producer::ProducerCore::new(config).unwrap_err();
    assert_eq!(
        error.to_string(),
        "invalid value '1' for configuration 'acks': Must set acks to all in order to use \
         the idempotent producer. Otherwise we cannot guarantee idempotence."
    );
}
