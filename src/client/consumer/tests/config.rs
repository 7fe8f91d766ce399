//! Group configuration and the calls Kafka refuses.

use super::*;

fn refused(key: &str, value: &str) -> crate::config::ConfigError {
    let mut config = ConsumerConfig::new(vec![LEADER]);
    config.set(key, value).expect_err("refused")
}

#[test]
fn group_settings_default_to_kafkas() {
    let config = ConsumerConfig::new(vec![LEADER]);
    assert_eq!(config.group_id, None);
    assert_eq!(config.session_timeout_ms, 45_000);
    assert_eq!(config.heartbeat_interval_ms, 3_000);
    assert_eq!(config.max_poll_interval_ms, 300_000);
    assert_eq!(config.auto_commit_interval_ms, 5_000);
    assert_eq!(
        config.partition_assignment_strategy,
        ["range", "cooperative-sticky"]
    );
    assert!(!config.auto_commit(), "no auto-commit without a group");
    assert!(
        !config.cooperative(),
        "range only speaks the eager protocol"
    );
    let mut config = config;
    config.set("group.id", GROUP).expect("valid");
    assert!(config.auto_commit());
}

#[test]
fn bad_group_settings_are_refused_naming_the_key() {
    let error = refused("group.id", "");
    assert_eq!(error.key, "group.id");
    assert!(error.reason.contains("must not be empty"), "{error}");
    let error = refused("partition.assignment.strategy", "range, magic");
    assert_eq!(error.key, "partition.assignment.strategy");
    assert!(
        error
            .reason
            .contains("range, roundrobin, sticky, cooperative-sticky"),
        "{error}"
    );
    assert_eq!(
        refused("session.timeout.ms", "soon").key,
        "session.timeout.ms"
    );
    assert_eq!(
        refused("enable.auto.commit", "yes").key,
        "enable.auto.commit"
    );
    assert_eq!(refused("group.instance.id", " ").key, "group.instance.id");
}

#[test]
fn a_heartbeat_interval_not_below_the_session_timeout_is_refused() {
    let mut config = ConsumerConfig::new(vec![LEADER]);
    config
        .set("session.timeout.ms", "3000")
        .expect("valid alone");
    let error = ConsumerCore::new(config.clone()).expect_err("refused");
    // Only the session timeout was set: the error names it, not the default.
    assert_eq!(error.key, "session.timeout.ms");
    assert!(
        error
            .reason
            .contains("lower than the session timeout (heartbeat.interval.ms=3000 by default)"),
        "{error}"
    );
    config
        .set("heartbeat.interval.ms", "3000")
        .expect("valid alone");
    let error = ConsumerCore::new(config.clone()).expect_err("refused");
    assert_eq!(error.key, "heartbeat.interval.ms", "the user set both");
    // A framework's own default is not the user's setting either.
    let mut framework = ConsumerConfig::new(vec![LEADER]);
    framework
        .set_default("heartbeat.interval.ms", "1000")
        .unwrap();
    framework.set("session.timeout.ms", "500").unwrap();
    let error = ConsumerCore::new(framework).expect_err("refused");
    assert_eq!(error.key, "session.timeout.ms");
}

#[test]
fn auto_commit_without_a_group_id_is_refused() {
    let mut config = ConsumerConfig::new(vec![LEADER]);
    config
        .set("enable.auto.commit", "true")
        .expect("valid alone");
    let error = ConsumerCore::new(config).expect_err("refused");
    assert_eq!(error.key, "enable.auto.commit");
}

#[test]
fn assignors_may_be_named_by_kafkas_class_names() {
    let mut config = ConsumerConfig::new(vec![LEADER]);
    let value = "org.apache.kafka.clients.consumer.CooperativeStickyAssignor";
    config
        .set("partition.assignment.strategy", value)
        .expect("valid");
    assert_eq!(config.partition_assignment_strategy, ["cooperative-sticky"]);
    assert!(config.cooperative());
}

#[test]
fn subscribe_without_a_group_id_fails_and_says_why() {
    let mut h = Harness::with(&[]);
    let Err(ClientError::Invalid { message }) = h.core.subscribe(0, vec![TOPIC.into()]) else {
        panic!("refused");
    };
    assert!(
        message.contains("you must provide a valid group.id"),
        "{message}"
    );
}

#[test]
fn assign_and_subscribe_are_mutually_exclusive() {
    let mut h = Harness::new(&[]);
    h.core.assign(vec![tp(0)]).expect("assigned");
    assert!(matches!(
        h.core.subscribe(0, vec![TOPIC.into()]),
        Err(ClientError::Invalid { .. })
    ));
    h.core.assign(vec![]).expect("unassigned");
    h.subscribe();
    assert!(matches!(
        h.core.assign(vec![tp(0)]),
        Err(ClientError::Invalid { .. })
    ));
}
