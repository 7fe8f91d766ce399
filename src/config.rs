//! Configuration, keyed by Kafka's own names.
//!
//! Each struct holds typed values with Kafka's defaults unless the doc says
//! otherwise, and `set(key, value)` accepts the string form a Kafka properties file
//! uses, naming the key in its error. Units are in the field names (`_ms`, `_bytes`).

use crate::bugs::Bugs;
use crate::rules::Rules;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// An operator error in a configuration: which key, which value, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub key: String,
    pub value: String,
    pub reason: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid value '{}' for configuration '{}': {}",
            self.value, self.key, self.reason
        )
    }
}

impl std::error::Error for ConfigError {}

/// A configuration error naming `key` and `value`.
pub(crate) fn error(key: &str, value: &str, reason: impl Into<String>) -> ConfigError {
    ConfigError {
        key: key.into(),
        value: value.into(),
        reason: reason.into(),
    }
}

fn parse<T: std::str::FromStr>(key: &str, value: &str) -> Result<T, ConfigError> {
    value
        .trim()
        .parse()
        .map_err(|_| error(key, value, "not a valid number"))
}

/// A count or a duration in a client's configuration: a whole number ≥ 0.
pub(crate) fn parse_non_negative(key: &str, value: &str) -> Result<u64, ConfigError> {
    value
        .trim()
        .parse()
        .map_err(|_| error(key, value, "not a valid non-negative number"))
}

pub(crate) fn parse_bool(key: &str, value: &str) -> Result<bool, ConfigError> {
    match value.trim() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(error(key, value, "expected true or false")),
    }
}

// ANCHOR: topic_name
/// Kafka's rule for a topic name (`Topic.validate`): 1 to 249 characters,
/// each an ASCII letter, digit, `.`, `_` or `-`, and not `.` or `..`.
/// The error is Kafka's message; CreateTopics answers it with
/// `INVALID_TOPIC_EXCEPTION`.
pub fn validate_topic_name(name: &str) -> Result<(), String> {
    const MAX_NAME_LENGTH: usize = 249;
    let legal = |c: char| c.is_ascii_alphanumeric() || c == '.' || c == '_' || c == '-';
    if name.is_empty() {
        Err("Topic name is illegal, it can't be empty".into())
    } else if name == "." || name == ".." {
        Err("Topic name cannot be \".\" or \"..\"".into())
    } else if name.len() > MAX_NAME_LENGTH {
        Err(format!(
            "Topic name is illegal, it can't be longer than {MAX_NAME_LENGTH} characters, topic name: {}",
            name.escape_debug()
        ))
    } else if !name.chars().all(legal) {
        Err(format!(
            "Topic name \"{}\" is illegal, it contains a character other than ASCII alphanumerics, '.', '_' and '-'",
            name.escape_debug()
        ))
    } else {
        Ok(())
    }
}
// ANCHOR_END: topic_name

/// Per-topic configuration, set with CreateTopics.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TopicConfig {
    /// `min.insync.replicas` (default 1).
    pub min_insync_replicas: i32,
    /// `unclean.leader.election.enable` (default false).
    pub unclean_leader_election_enable: bool,
    /// Whether `unclean_leader_election_enable` is on only because the
    /// topic did not set it and the `kip-106` switch brought back the old
    /// default (true before Kafka 0.11): not a choice the topic made.
    #[serde(default)]
    pub unclean_by_old_default: bool,
}

impl Default for TopicConfig {
    fn default() -> Self {
        TopicConfig {
            min_insync_replicas: 1,
            unclean_leader_election_enable: false,
            unclean_by_old_default: false,
        }
    }
}

impl TopicConfig {
    pub fn set(&mut self, key: &str, value: &str) -> Result<(), ConfigError> {
        match key {
            "min.insync.replicas" => {
                let n: i32 = parse(key, value)?;
                if n < 1 {
                    return Err(error(key, value, "must be at least 1"));
                }
                self.min_insync_replicas = n;
            }
            "unclean.leader.election.enable" => {
                self.unclean_leader_election_enable = parse_bool(key, value)?
            }
            _ => return Err(error(key, value, "unknown topic configuration")),
        }
        Ok(())
    }

    /// Builds a topic configuration from CreateTopics' key/value pairs.
    pub fn from_map(configs: &BTreeMap<String, String>) -> Result<Self, ConfigError> {
        let mut config = TopicConfig::default();
        for (key, value) in configs {
            config.set(key, value)?;
        }
        Ok(config)
    }
}

/// Broker configuration (`server.properties`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrokerConfig {
    /// `node.id`.
    pub node_id: i32,
    /// `advertised.listeners`: the `host:port` the broker registers with the
    /// controller, and so the address Metadata gives clients for it. Kafka's
    /// value is a list of `NAME://host:port`; the model has one plaintext
    /// listener, so it keeps only `host:port`. Default `broker-<id>:9092`, the
    /// simulated machine's name and the crash course's port.
    pub advertised_listeners: String,
    /// `broker.heartbeat.interval.ms` (default 2000).
    pub broker_heartbeat_interval_ms: u64,
    /// `log.flush.interval.messages`: flush after this many unflushed records.
    /// `None` means never, Kafka's default (Long.MAX_VALUE).
    pub log_flush_interval_messages: Option<u64>,
    /// `replica.fetch.wait.max.ms` (default 500), also used for metadata fetches.
    pub replica_fetch_wait_max_ms: u64,
    /// `request.timeout.ms` for the broker's own requests (to the controller and,
    /// as a follower, to leaders).
    pub request_timeout_ms: u64,
    /// `replica.lag.time.max.ms` (default 30000): a follower that has not caught up
    /// with the leader's log end for this long leaves the ISR.
    pub replica_lag_time_max_ms: u64,
    /// `replica.fetch.backoff.ms` (default 1000): pause after a failed replica fetch.
    pub replica_fetch_backoff_ms: u64,
    /// `replica.fetch.max.bytes` (default 1 MiB) per partition.
    pub replica_fetch_max_bytes: usize,
    /// The famous bugs switched back on (none by default; not Kafka keys:
    /// each is a rule as Kafka had it before a fix, see [`crate::bugs`]).
    pub bugs: Bugs,
    /// `offsets.topic.num.partitions`: Kafka's default is 50; the model's is 3,
    /// so that a small run shows several coordinators without noise.
    pub offsets_topic_num_partitions: i32,
    /// `offsets.topic.replication.factor` (default 3; creating the topic waits
    /// until that many brokers are alive).
    pub offsets_topic_replication_factor: i16,
    /// The rules the broker decides the high watermark, a follower's
    /// truncation point and idempotent producers' sequences with (not Kafka
    /// keys, and never written out: see [`crate::rules`]).
    #[serde(skip)]
    pub rules: Rules,
}

impl BrokerConfig {
    pub fn new(node_id: i32) -> Self {
        BrokerConfig {
            node_id,
            advertised_listeners: format!("broker-{node_id}:9092"),
            broker_heartbeat_interval_ms: 2_000,
            log_flush_interval_messages: None,
            replica_fetch_wait_max_ms: 500,
            request_timeout_ms: 30_000,
            replica_lag_time_max_ms: 30_000,
            replica_fetch_backoff_ms: 1_000,
            replica_fetch_max_bytes: 1_048_576,
            bugs: Bugs::NONE,
            offsets_topic_num_partitions: 3,
            offsets_topic_replication_factor: 3,
            rules: Rules::KAFKA,
        }
    }
}

/// Controller configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ControllerConfig {
    /// `broker.session.timeout.ms` (default 9000): fence a broker silent for this long.
    pub broker_session_timeout_ms: u64,
    /// Longest a broker's metadata fetch is held waiting for a change.
    pub metadata_fetch_max_wait_ms: u64,
    /// The `eligible.leader.replicas.version` feature (KIP-966): at 1 the
    /// controller keeps eligible leader replicas and lets the ISR become
    /// empty (Kafka 4.1 turns it on for new clusters); at 0, Kafka 4.0's
    /// default, the last ISR member always keeps its place.
    pub eligible_leader_replicas: bool,
    /// The famous bugs switched back on (see [`crate::bugs`]); the controller
    /// reads `kip-903` and `kip-966`.
    pub bugs: Bugs,
    /// `num.partitions` (default 1): the partitions of a topic created with
    /// `num_partitions = -1` (CreateTopics lets a client ask for the default
    /// since Kafka 2.4, KIP-464; kafkajs sends -1 when none is given).
    pub num_partitions: i32,
    /// `default.replication.factor` (default 1): the replication factor of a
    /// topic created with `replication_factor = -1` (KIP-464, as above).
    pub default_replication_factor: i16,
}

impl Default for ControllerConfig {
    fn default() -> Self {
        ControllerConfig {
            broker_session_timeout_ms: 9_000,
            metadata_fetch_max_wait_ms: 500,
            eligible_leader_replicas: false,
            bugs: Bugs::NONE,
            num_partitions: 1,
            default_replication_factor: 1,
        }
    }
}
