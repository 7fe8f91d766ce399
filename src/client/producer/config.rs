//! The producer's configuration (`producer.properties`), with Kafka's keys and defaults.
//!
//! `set` takes one key at a time, so rules that tie several keys together are
//! checked once all are set, by [`ProducerConfig::validate`], which
//! `ProducerCore::new` runs: a producer never starts with a combination Kafka
//! would refuse. The one such rule is idempotence's, exactly as Kafka 3.x applies
//! it in `ProducerConfig`: an explicit `enable.idempotence=true` requires
//! `acks=all`, `retries` > 0 and at most 5 requests in flight per connection; the
//! default (true, not set by the user) quietly gives way to a conflicting setting.

use crate::config::ConfigError;
use crate::ids::BrokerId;
use crate::partitioner::PartitionerKind;
use crate::protocol::Acks;
use crate::rules::Rules;

/// The most requests in flight per connection an idempotent producer may have:
/// a broker remembers a producer's last 5 batches per partition
/// (`producer_state::NUM_BATCHES_TO_RETAIN`), so it recognises every retry.
pub const MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION_FOR_IDEMPOTENCE: usize = 5;

/// `delivery.timeout.ms`'s default.
const DELIVERY_TIMEOUT_MS_DEFAULT: u64 = 120_000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProducerConfig {
    /// `bootstrap.servers`, as broker ids.
    pub bootstrap: Vec<BrokerId>,
    /// `acks` (default `all` since Kafka 3.0).
    pub acks: Acks,
    /// `enable.idempotence` as the user set it; `None` when not set. Kafka's
    /// default is true, but an unset value gives way to conflicting settings
    /// (see [`ProducerConfig::idempotent`]).
    pub enable_idempotence: Option<bool>,
    /// `linger.ms` (default 5 since Kafka 4.0).
    pub linger_ms: u64,
    /// `batch.size` in bytes (default 16384).
    pub batch_size: usize,
    /// `retries` (default 2147483647: retry until `delivery.timeout.ms`).
    pub retries: u32,
    /// `retry.backoff.ms` (default 100).
    pub retry_backoff_ms: u64,
    /// `delivery.timeout.ms` (default 120000, raised to `linger.ms +
    /// request.timeout.ms` when that is larger and the user did not set it).
    pub delivery_timeout_ms: u64,
    /// Whether the user set `delivery.timeout.ms` (Kafka then refuses a value
    /// below `linger.ms + request.timeout.ms` instead of raising it).
    delivery_timeout_ms_set: bool,
    /// The `delivery.timeout.ms` used when the user sets none.
    delivery_timeout_default_ms: u64,
    /// `request.timeout.ms` (default 30000).
    pub request_timeout_ms: u64,
    /// `max.block.ms` (default 60000): how long `send` waits for topic metadata.
    pub max_block_ms: u64,
    /// `max.in.flight.requests.per.connection` (default 5).
    pub max_in_flight_requests_per_connection: usize,
    /// `partitioner.class` for keyless records.
    pub partitioner: PartitionerKind,
    /// The rules the producer follows: its key partitioner
    /// (`rules.partition_for_key`; not a Kafka key, see [`crate::rules`]).
    pub rules: Rules,
}

impl ProducerConfig {
    pub fn new(bootstrap: Vec<BrokerId>) -> Self {
        ProducerConfig {
            bootstrap,
            acks: Acks::All,
            enable_idempotence: None,
            linger_ms: 5,
            batch_size: 16_384,
            retries: i32::MAX as u32,
            retry_backoff_ms: 100,
            delivery_timeout_ms: DELIVERY_TIMEOUT_MS_DEFAULT,
            delivery_timeout_ms_set: false,
            delivery_timeout_default_ms: DELIVERY_TIMEOUT_MS_DEFAULT,
            request_timeout_ms: 30_000,
            max_block_ms: 60_000,
            max_in_flight_requests_per_connection: 5,
            partitioner: PartitionerKind::Sticky,
            rules: Rules::KAFKA,
        }
    }

    /// Sets a configuration by its Kafka key, as in a `producer.properties` file.
    pub fn set(&mut self, key: &str, value: &str) -> Result<(), ConfigError> {
        let err = |reason: &str| crate::config::error(key, value, reason);
        let num = |v: &str| crate::config::parse_non_negative(key, v);
        match key {
            "acks" => {
                self.acks = match value.trim() {
                    "0" => Acks::None,
                    "1" => Acks::Leader,
                    "all" | "-1" => Acks::All,
                    _ => return Err(err("String must be one of: all, -1, 0, 1")),
                }
            }
            "enable.idempotence" => {
                self.enable_idempotence = Some(crate::config::parse_bool(key, value)?)
            }
            "linger.ms" => self.linger_ms = num(value)?,
            "batch.size" => self.batch_size = num(value)? as usize,
            "retries" => self.retries = num(value)?.min(u32::MAX as u64) as u32,
            "retry.backoff.ms" => self.retry_backoff_ms = num(value)?,
            "delivery.timeout.ms" => {
                self.delivery_timeout_ms = num(value)?;
                self.delivery_timeout_ms_set = true;
            }
            "request.timeout.ms" => self.request_timeout_ms = num(value)?,
            "max.block.ms" => self.max_block_ms = num(value)?,
            "max.in.flight.requests.per.connection" => {
                let n = num(value)?;
                if n == 0 {
                    return Err(err("must be at least 1"));
                }
                self.max_in_flight_requests_per_connection = n as usize;
            }
            "partitioner.class" => {
                self.partitioner = match value.trim() {
                    "sticky" | "default" => PartitionerKind::Sticky,
                    "round-robin" | "org.apache.kafka.clients.producer.RoundRobinPartitioner" => {
                        PartitionerKind::RoundRobin
                    }
                    _ => return Err(err("expected sticky or round-robin")),
                }
            }
            _ => return Err(err("unknown producer configuration")),
        }
        self.raise_default_delivery_timeout();
        Ok(())
    }

    /// Sets a default in place of Kafka's, as a framework around the producer
    /// would: a `delivery.timeout.ms` set here still gives way to a longer
    /// `linger.ms + request.timeout.ms`, as Kafka's own default does. Any other
    /// key is set as by [`ProducerConfig::set`].
    pub fn set_default(&mut self, key: &str, value: &str) -> Result<(), ConfigError> {
        if key != "delivery.timeout.ms" {
            return self.set(key, value);
        }
        self.delivery_timeout_default_ms = crate::config::parse_non_negative(key, value)?;
        self.raise_default_delivery_timeout();
        Ok(())
    }

    /// Kafka's `KafkaProducer.configureDeliveryTimeout` for an unset
    /// `delivery.timeout.ms`: the default, or `linger.ms + request.timeout.ms`
    /// if that is longer.
    fn raise_default_delivery_timeout(&mut self) {
        if !self.delivery_timeout_ms_set {
            let floor = self.linger_ms.saturating_add(self.request_timeout_ms);
            self.delivery_timeout_ms = self.delivery_timeout_default_ms.max(floor);
        }
    }

    /// Whether the producer is idempotent: as set, or, when not set, unless
    /// `acks`, `retries` or `max.in.flight.requests.per.connection` conflict with it
    /// (Kafka 3.x then logs that idempotence is disabled and carries on).
    pub fn idempotent(&self) -> bool {
        self.enable_idempotence
            .unwrap_or_else(|| self.idempotence_conflict().is_none())
    }

    /// Refuses what Kafka's `ProducerConfig` refuses: an explicit
    /// `enable.idempotence=true` with a setting that would break its guarantee.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let floor = self.linger_ms.saturating_add(self.request_timeout_ms);
        if self.delivery_timeout_ms_set && self.delivery_timeout_ms < floor {
            return Err(ConfigError {
                key: "delivery.timeout.ms".into(),
                value: self.delivery_timeout_ms.to_string(),
                reason: "delivery.timeout.ms should be equal to or larger than linger.ms + request.timeout.ms".into(),
            });
        }
        match self.enable_idempotence {
            Some(true) => self.idempotence_conflict().map_or(Ok(()), Err),
            _ => Ok(()),
        }
    }

    /// The first setting idempotence cannot work with, in the order Kafka checks them.
    fn idempotence_conflict(&self) -> Option<ConfigError> {
        let conflict = |key: &str, value: String, reason: &str| ConfigError {
            key: key.into(),
            value,
            reason: reason.into(),
        };
        if self.retries == 0 {
            return Some(conflict(
                "retries",
                "0".into(),
                "Must set retries to non-zero when using the idempotent producer.",
            ));
        }
        if self.acks != Acks::All {
            return Some(conflict(
                "acks",
                self.acks.as_i16().to_string(),
                "Must set acks to all in order to use the idempotent producer. Otherwise we cannot guarantee idempotence.",
            ));
        }
        let in_flight = self.max_in_flight_requests_per_connection;
        if in_flight > MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION_FOR_IDEMPOTENCE {
            return Some(conflict(
                "max.in.flight.requests.per.connection",
                in_flight.to_string(),
                "Must set max.in.flight.requests.per.connection to at most 5 to use the idempotent producer.",
            ));
        }
        None
    }
}
