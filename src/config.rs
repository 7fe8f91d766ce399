//! Configuration, keyed by Kafka's own names.
//!
//! Each struct holds typed values with Kafka's defaults unless the doc says
//! otherwise, and `set(key, value)` accepts the string form a Kafka properties file
//! uses, naming the key in its error. Units are in the field names (`_ms`, `_bytes`).

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

fn error(key: &str, value: &str, reason: impl Into<String>) -> ConfigError {
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

fn parse_bool(key: &str, value: &str) -> Result<bool, ConfigError> {
    match value.trim() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(error(key, value, "expected true or false")),
    }
}

/// Per-topic configuration, set with CreateTopics.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopicConfig {
    /// `min.insync.replicas` (default 1).
    pub min_insync_replicas: i32,
    /// `unclean.leader.election.enable` (default false).
    pub unclean_leader_election_enable: bool,
}

impl Default for TopicConfig {
    fn default() -> Self {
        TopicConfig {
            min_insync_replicas: 1,
            unclean_leader_election_enable: false,
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
    /// `broker.heartbeat.interval.ms` (default 2000).
    pub broker_heartbeat_interval_ms: u64,
    /// `log.flush.interval.messages`: flush after this many unflushed records.
    /// `None` means never, Kafka's default (Long.MAX_VALUE).
    pub log_flush_interval_messages: Option<u64>,
    /// `replica.fetch.wait.max.ms` (default 500), also used for metadata fetches.
    pub replica_fetch_wait_max_ms: u64,
    /// `request.timeout.ms` for the broker's own requests to the controller.
    pub request_timeout_ms: u64,
}

impl BrokerConfig {
    pub fn new(node_id: i32) -> Self {
        BrokerConfig {
            node_id,
            broker_heartbeat_interval_ms: 2_000,
            log_flush_interval_messages: None,
            replica_fetch_wait_max_ms: 500,
            request_timeout_ms: 30_000,
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
}

impl Default for ControllerConfig {
    fn default() -> Self {
        ControllerConfig {
            broker_session_timeout_ms: 9_000,
            metadata_fetch_max_wait_ms: 500,
        }
    }
}
