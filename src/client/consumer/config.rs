//! The consumer's configuration (`consumer.properties`), with Kafka's keys and defaults.
//!
//! `set` takes one key at a time; rules that tie several keys together are
//! checked once all are set, by [`ConsumerConfig::validate`], which
//! `ConsumerCore::new` runs, as Kafka's `KafkaConsumer` constructor refuses a bad
//! combination before doing anything. The group keys (`group.id`,
//! `session.timeout.ms`, `partition.assignment.strategy`, …) matter only to a
//! consumer that joins a group or commits offsets.

use crate::bugs::Bugs;
use crate::config::ConfigError;
use crate::ids::BrokerId;
use crate::rules::Rules;

/// `auto.offset.reset`: where to start when a partition has no valid position.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OffsetReset {
    Earliest,
    Latest,
    None,
}

/// The assignors a consumer may name in `partition.assignment.strategy`, by the
/// short names Kafka's documentation uses.
pub const ASSIGNMENT_STRATEGIES: [&str; 4] =
    ["range", "roundrobin", "sticky", "cooperative-sticky"];

/// The one assignor that supports Kafka's incremental (cooperative) rebalance
/// protocol (KIP-429); the others only support the eager one.
pub const COOPERATIVE_STICKY: &str = "cooperative-sticky";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerConfig {
    pub bootstrap: Vec<BrokerId>,
    /// `fetch.max.wait.ms` (default 500).
    pub fetch_max_wait_ms: u64,
    /// `fetch.min.bytes` (default 1).
    pub fetch_min_bytes: usize,
    /// `fetch.max.bytes` (default 52428800).
    pub fetch_max_bytes: usize,
    /// `max.partition.fetch.bytes` (default 1048576).
    pub max_partition_fetch_bytes: usize,
    /// `max.poll.records` (default 500).
    pub max_poll_records: usize,
    /// `auto.offset.reset` (default `latest`).
    pub auto_offset_reset: OffsetReset,
    /// `request.timeout.ms` (default 30000).
    pub request_timeout_ms: u64,
    /// `retry.backoff.ms` (default 100).
    pub retry_backoff_ms: u64,
    /// `default.api.timeout.ms` (default 60000): how long `commit_sync` keeps
    /// retrying before it gives up with a timeout.
    pub default_api_timeout_ms: u64,
    /// `group.id` (no default): without it the consumer can neither subscribe
    /// nor commit.
    pub group_id: Option<String>,
    /// `group.instance.id` (no default): set, the member is *static*.
    pub group_instance_id: Option<String>,
    /// `session.timeout.ms` (default 45000).
    pub session_timeout_ms: u64,
    /// `heartbeat.interval.ms` (default 3000).
    pub heartbeat_interval_ms: u64,
    /// `max.poll.interval.ms` (default 300000); also the rebalance timeout.
    pub max_poll_interval_ms: u64,
    /// `enable.auto.commit` as the user set it; `None` when not set. Kafka's
    /// default is true with a `group.id` and false without one.
    pub enable_auto_commit: Option<bool>,
    /// `auto.commit.interval.ms` (default 5000).
    pub auto_commit_interval_ms: u64,
    /// `partition.assignment.strategy`, in order of preference (default
    /// `range, cooperative-sticky`, as Kafka 3.x).
    pub partition_assignment_strategy: Vec<String>,
    /// The rules the group's leader assigns with when this consumer leads
    /// (the range assignor's split; not a Kafka key, see [`crate::rules`]).
    pub rules: Rules,
    /// The timeouts the user set with [`ConsumerConfig::set`], so that a
    /// heartbeat interval past the session timeout is blamed on the one of
    /// the two the user wrote, never on a default.
    given: Given,
    /// The famous bugs switched back on (none by default; not a Kafka key:
    /// see [`crate::bugs`]). The consumer's own rules read it: position
    /// validation and the sticky assignors.
    pub bugs: Bugs,
}

/// Which of the two timeouts compared at creation were set by the user.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Given {
    session_timeout_ms: bool,
    heartbeat_interval_ms: bool,
}

impl ConsumerConfig {
    pub fn new(bootstrap: Vec<BrokerId>) -> Self {
        ConsumerConfig {
            bootstrap,
            fetch_max_wait_ms: 500,
            fetch_min_bytes: 1,
            fetch_max_bytes: 52_428_800,
            max_partition_fetch_bytes: 1_048_576,
            max_poll_records: 500,
            auto_offset_reset: OffsetReset::Latest,
            request_timeout_ms: 30_000,
            retry_backoff_ms: 100,
            default_api_timeout_ms: 60_000,
            group_id: None,
            group_instance_id: None,
            session_timeout_ms: 45_000,
            heartbeat_interval_ms: 3_000,
            max_poll_interval_ms: 300_000,
            enable_auto_commit: None,
            auto_commit_interval_ms: 5_000,
            partition_assignment_strategy: vec!["range".into(), COOPERATIVE_STICKY.into()],
            rules: Rules::KAFKA,
            given: Given::default(),
            bugs: Bugs::NONE,
        }
    }

    /// Sets a default of the caller's own, as a framework ships shorter
    /// timeouts than Kafka's: the same as [`ConsumerConfig::set`], but an
    /// error that involves the key later blames the user's own setting.
    pub fn set_default(&mut self, key: &str, value: &str) -> Result<(), ConfigError> {
        let given = self.given;
        self.set(key, value)?;
        self.given = given;
        Ok(())
    }

    /// Sets a configuration by its Kafka key, as in a `consumer.properties` file.
    pub fn set(&mut self, key: &str, value: &str) -> Result<(), ConfigError> {
        let err = |reason: &str| crate::config::error(key, value, reason);
        let num = |v: &str| crate::config::parse_non_negative(key, v);
        match key {
            "fetch.max.wait.ms" => self.fetch_max_wait_ms = num(value)?,
            "fetch.min.bytes" => self.fetch_min_bytes = num(value)? as usize,
            "fetch.max.bytes" => self.fetch_max_bytes = num(value)? as usize,
            "max.partition.fetch.bytes" => self.max_partition_fetch_bytes = num(value)? as usize,
            "max.poll.records" => {
                let n = num(value)?;
                if n == 0 {
                    return Err(err("must be at least 1"));
                }
                self.max_poll_records = n as usize;
            }
            "auto.offset.reset" => {
                self.auto_offset_reset = match value.trim() {
                    "earliest" => OffsetReset::Earliest,
                    "latest" => OffsetReset::Latest,
                    "none" => OffsetReset::None,
                    _ => return Err(err("String must be one of: latest, earliest, none")),
                }
            }
            "request.timeout.ms" => self.request_timeout_ms = num(value)?,
            "retry.backoff.ms" => self.retry_backoff_ms = num(value)?,
            "default.api.timeout.ms" => self.default_api_timeout_ms = num(value)?,
            "group.id" => {
                if value.trim().is_empty() {
                    return Err(err("group.id must not be empty"));
                }
                self.group_id = Some(value.trim().to_string());
            }
            "group.instance.id" => {
                if value.trim().is_empty() {
                    return Err(err("Group instance id must be non-empty string"));
                }
                self.group_instance_id = Some(value.trim().to_string());
            }
            "session.timeout.ms" => {
                self.session_timeout_ms = at_least_1(num(value)?, &err)?;
                self.given.session_timeout_ms = true;
            }
            "heartbeat.interval.ms" => {
                self.heartbeat_interval_ms = at_least_1(num(value)?, &err)?;
                self.given.heartbeat_interval_ms = true;
            }
            "max.poll.interval.ms" => self.max_poll_interval_ms = at_least_1(num(value)?, &err)?,
            "auto.commit.interval.ms" => self.auto_commit_interval_ms = num(value)?,
            "enable.auto.commit" => {
                self.enable_auto_commit = Some(crate::config::parse_bool(key, value)?)
            }
            "partition.assignment.strategy" => {
                self.partition_assignment_strategy = parse_strategies(value).map_err(|r| err(&r))?
            }
            _ => return Err(err("unknown consumer configuration")),
        }
        Ok(())
    }

    /// Whether offsets are committed automatically: as set, else only with a
    /// `group.id` (Kafka turns the default off for a consumer without a group).
    pub fn auto_commit(&self) -> bool {
        self.group_id.is_some() && self.enable_auto_commit.unwrap_or(true)
    }

    /// Whether every configured assignor supports the cooperative protocol, so
    /// the group rebalances incrementally. Kafka picks the protocol all of a
    /// member's assignors support: with the default `range, cooperative-sticky`
    /// that is the eager one, whichever assignor the group then chooses.
    pub fn cooperative(&self) -> bool {
        self.partition_assignment_strategy
            .iter()
            .all(|s| s == COOPERATIVE_STICKY)
    }

    /// Refuses what Kafka's consumer refuses when it is created.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.heartbeat_interval_ms >= self.session_timeout_ms {
            // Kafka's `Heartbeat` says this of the pair; the key named is the
            // one the user set (the heartbeat when both were), the other
            // value is told beside it.
            let (session, heartbeat) = (self.session_timeout_ms, self.heartbeat_interval_ms);
            let error = match self.given {
                Given {
                    session_timeout_ms: true,
                    heartbeat_interval_ms: false,
                } => ConfigError {
                    key: "session.timeout.ms".into(),
                    value: session.to_string(),
                    reason: format!(
                        "Heartbeat must be set lower than the session timeout (heartbeat.interval.ms={heartbeat} by default)"
                    ),
                },
                _ => ConfigError {
                    key: "heartbeat.interval.ms".into(),
                    value: heartbeat.to_string(),
                    reason: format!(
                        "Heartbeat must be set lower than the session timeout (session.timeout.ms={session})"
                    ),
                },
            };
            return Err(error);
        }
        if self.group_id.is_none() && self.enable_auto_commit == Some(true) {
            return Err(ConfigError {
                key: "enable.auto.commit".into(),
                value: "true".into(),
                reason:
                    "enable.auto.commit cannot be set to true when default group id (null) is used."
                        .into(),
            });
        }
        Ok(())
    }
}

fn at_least_1(n: u64, err: &dyn Fn(&str) -> ConfigError) -> Result<u64, ConfigError> {
    if n == 0 {
        return Err(err("must be at least 1"));
    }
    Ok(n)
}

/// Parses a comma-separated list of assignor names. Kafka's fully qualified
/// class names are accepted too and mapped to the short names.
fn parse_strategies(value: &str) -> Result<Vec<String>, String> {
    let mut names = Vec::new();
    for item in value.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let short = match item.rsplit('.').next().unwrap_or(item) {
            "RangeAssignor" => "range",
            "RoundRobinAssignor" => "roundrobin",
            "StickyAssignor" => "sticky",
            "CooperativeStickyAssignor" => COOPERATIVE_STICKY,
            other => other,
        };
        if !ASSIGNMENT_STRATEGIES.contains(&short) {
            return Err(format!(
                "unknown assignor '{item}'; valid ones are: {}",
                ASSIGNMENT_STRATEGIES.join(", ")
            ));
        }
        if !names.iter().any(|n| n == short) {
            names.push(short.to_string());
        }
    }
    if names.is_empty() {
        return Err(format!(
            "at least one assignor is needed; valid ones are: {}",
            ASSIGNMENT_STRATEGIES.join(", ")
        ));
    }
    Ok(names)
}
