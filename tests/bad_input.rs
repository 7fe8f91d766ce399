//! Bad requests get Kafka's errors; bad configuration gets a message naming the key.

use kafkasim::client::admin::{AdminConfig, NewTopic};
use kafkasim::client::consumer::ConsumerConfig;
use kafkasim::client::producer::{ProducerConfig, ProducerRecord};
use kafkasim::client::ClientError;
use kafkasim::error::ErrorCode;
use kafkasim_sim::cluster::{Cluster, ClusterSpec};
use kafkasim_sim::run_app;
use kafkasim_sim::{Admin, Consumer, Producer};
use kafkasim_tools::demo::create_users_topic;

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

/// A consumer with `settings` subscribes to `topic` on a cluster where only topic
/// `users` (2 partitions) exists, and polls until a poll fails: its error, or
/// `None` if [`POLLS_MAX`] polls all succeed.
fn first_poll_error(settings: &[(&str, &str)], topic: &str) -> Option<ClientError> {
    let settings: Vec<(String, String)> = settings
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let topic = topic.to_string();
    run_app(13, ClusterSpec::default(), |cluster: Cluster| async move {
        create_users_topic(&cluster).await;
        let mut config = ConsumerConfig::new(cluster.bootstrap());
        config.set("group.id", "group-1").expect("valid");
        for (key, value) in &settings {
            config.set(key, value).expect("valid on its own");
        }
        let consumer = Consumer::new(&cluster, config).expect("a valid configuration");
        consumer.subscribe(vec![topic]).await.expect("subscribed");
        for _ in 0..POLLS_MAX {
            if let Err(error) = consumer.poll(1_000).await {
                return Some(error);
            }
        }
        None
    })
    .expect("the simulation runs")
}

/// Polls of one second each a consumer makes before a test says it never failed.
const POLLS_MAX: usize = 30;

#[test]
fn an_unknown_assignor_is_rejected_naming_the_key() {
    let mut config = ConsumerConfig::new(vec![1]);
    let error = config
        .set("partition.assignment.strategy", "range, fastest")
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "invalid value 'range, fastest' for configuration 'partition.assignment.strategy': \
         unknown assignor 'fastest'; valid ones are: range, roundrobin, sticky, cooperative-sticky"
    );
}

#[test]
fn an_empty_group_id_is_rejected_naming_the_key() {
    for value in ["", "   "] {
        let mut config = ConsumerConfig::new(vec![1]);
        let error = config.set("group.id", value).unwrap_err();
        assert_eq!(
            error.to_string(),
            format!(
                "invalid value '{value}' for configuration 'group.id': group.id must not be empty"
            )
        );
    }
}

#[test]
fn a_session_timeout_below_the_brokers_minimum_fails_the_poll_with_invalid_session_timeout() {
    let settings = [
        ("session.timeout.ms", "1000"),
        ("heartbeat.interval.ms", "300"),
    ];
    let error = first_poll_error(&settings, "users").expect("the poll fails");
    let ClientError::Broker { code, message } = &error else {
        panic!("a broker's definite answer, not {error:?}");
    };
    assert_eq!(*code, ErrorCode::InvalidSessionTimeout, "{error}");
    assert!(message.contains("session.timeout.ms=1000"), "{error}");
    assert!(!error.is_ambiguous());
}

#[test]
fn a_session_timeout_above_the_brokers_maximum_fails_the_poll_with_invalid_session_timeout() {
    let error =
        first_poll_error(&[("session.timeout.ms", "1800001")], "users").expect("the poll fails");
    assert!(
        matches!(
            &error,
            ClientError::Broker { code: ErrorCode::InvalidSessionTimeout, message }
                if message.contains("session.timeout.ms=1800001")
        ),
        "{error:?}"
    );
}

#[test]
fn a_session_timeout_at_the_limits_of_the_allowed_range_is_accepted() {
    for (session, heartbeat) in [("6000", "2000"), ("1800000", "3000")] {
        let settings = [
            ("session.timeout.ms", session),
            ("heartbeat.interval.ms", heartbeat),
        ];
        assert_eq!(first_poll_error(&settings, "users"), None, "{session}");
    }
}

#[test]
fn subscribing_to_a_missing_topic_fails_the_poll_naming_the_topic() {
    let error = first_poll_error(&[], "no-such-topic").expect("the poll fails");
    let ClientError::Broker { code, message } = &error else {
        panic!("a definite error, not {error:?}");
    };
    assert_eq!(*code, ErrorCode::UnknownTopicOrPartition, "{error}");
    assert!(message.contains("topic 'no-such-topic'"), "{error}");
}

#[test]
fn a_missing_topic_created_after_the_failed_poll_is_read_by_the_next_polls() {
    let read = run_app(14, ClusterSpec::default(), |cluster: Cluster| async move {
        let admin = Admin::new(&cluster, AdminConfig::new(cluster.bootstrap()));
        admin.wait_for_brokers(3).await;
        let mut config = ConsumerConfig::new(cluster.bootstrap());
        config.set("group.id", "group-1").expect("valid");
        config.set("auto.offset.reset", "earliest").expect("valid");
        let consumer = Consumer::new(&cluster, config).expect("a valid configuration");
        consumer
            .subscribe(vec!["late".into()])
            .await
            .expect("subscribed");
        let first = consumer.poll(1_000).await;
        assert!(
            matches!(
                first,
                Err(ClientError::Broker {
                    code: ErrorCode::UnknownTopicOrPartition,
                    ..
                })
            ),
            "{first:?}"
        );
        admin
            .create_topics(vec![NewTopic::new("late", 1, 1)])
            .await
            .expect("created");
        let producer = Producer::new(&cluster, ProducerConfig::new(cluster.bootstrap()))
            .expect("a valid configuration");
        producer
            .send(ProducerRecord::new("late", "hello"))
            .await
            .expect("acknowledged");
        for _ in 0..POLLS_MAX {
            if let Ok(records) = consumer.poll(1_000).await {
                if let Some(record) = records.first() {
                    return Some(record.value_text());
                }
            }
        }
        None
    })
    .expect("the simulation runs");
    assert_eq!(read.as_deref(), Some("hello"));
}
