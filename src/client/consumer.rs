//! The consumer's core: manual assignment, positions, long-polling fetches.
//!
//! The application `assign`s partitions, may `seek`, and `poll`s. A partition
//! without a position first asks its leader for one with ListOffsets, following
//! `auto.offset.reset` (`earliest`, `latest`, or `none`: fail the poll). While a
//! poll waits, the core sends one Fetch per leader for the partitions whose buffer
//! is empty; the broker holds it until `fetch.min.bytes` arrive or
//! `fetch.max.wait.ms` passes. `poll` returns up to `max.poll.records` and moves the
//! position past what it returned.
//!
//! Consumer groups (subscribe, rebalancing, committed offsets) are not in this core
//! yet: the model's consumer is what Kafka calls a consumer with manual assignment.

use super::network::NetworkClient;
use super::{ClientError, Completion, Token};
use crate::config::ConfigError;
use crate::error::ErrorCode;
use crate::ids::{BrokerId, NodeId, Offset, TopicPartition};
use crate::node::{Effect, Node, Peer};
use crate::protocol::*;
use std::collections::{BTreeMap, VecDeque};

/// `auto.offset.reset`: where to start when a partition has no valid position.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OffsetReset {
    Earliest,
    Latest,
    None,
}

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
        }
    }

    /// Sets a configuration by its Kafka key, as in a `consumer.properties` file.
    pub fn set(&mut self, key: &str, value: &str) -> Result<(), ConfigError> {
        let err = |reason: &str| ConfigError {
            key: key.into(),
            value: value.into(),
            reason: reason.into(),
        };
        let num = |v: &str| {
            v.trim()
                .parse::<u64>()
                .map_err(|_| err("not a valid non-negative number"))
        };
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
            _ => return Err(err("unknown consumer configuration")),
        }
        Ok(())
    }
}

/// A record as `poll` returns it (Kafka's `ConsumerRecord`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerRecord {
    pub partition: TopicPartition,
    pub offset: Offset,
    pub key: Option<String>,
    pub value: String,
    pub timestamp_ms: u64,
}

pub type PollOutcome = Result<Vec<ConsumerRecord>, ClientError>;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Assigned {
    /// The offset of the next record `poll` returns; `None` until known.
    position: Option<Offset>,
    /// Fetched, not yet returned by `poll`.
    buffered: VecDeque<ConsumerRecord>,
    /// After an error, the partition waits until then before the next request.
    retry_at_ms: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Purpose {
    Metadata,
    Fetch(Vec<TopicPartition>),
    ListOffsets(Vec<TopicPartition>),
}

#[derive(Debug)]
pub struct ConsumerCore {
    config: ConsumerConfig,
    network: NetworkClient<Purpose>,
    assigned: BTreeMap<TopicPartition, Assigned>,
    /// The poll waiting for records, with its deadline.
    pending_poll: Option<(Token, u64)>,
    effects: Vec<Effect<Completion<PollOutcome>>>,
}

impl ConsumerCore {
    pub fn new(config: ConsumerConfig) -> Self {
        let network = NetworkClient::new(
            config.bootstrap.clone(),
            config.request_timeout_ms,
            config.retry_backoff_ms,
        );
        ConsumerCore {
            config,
            network,
            assigned: BTreeMap::new(),
            pending_poll: None,
            effects: Vec::new(),
        }
    }

    /// Replaces the assignment. Partitions kept keep their position.
    pub fn assign(&mut self, partitions: Vec<TopicPartition>) {
        let mut next = BTreeMap::new();
        for tp in partitions {
            self.network.want_topic(&tp.topic);
            let state = self.assigned.remove(&tp).unwrap_or_default();
            next.insert(tp, state);
        }
        self.assigned = next;
    }

    pub fn assignment(&self) -> Vec<TopicPartition> {
        self.assigned.keys().cloned().collect()
    }

    /// Sets the next offset `poll` returns for a partition.
    pub fn seek(&mut self, tp: &TopicPartition, offset: Offset) -> Result<(), ClientError> {
        let state = self
            .assigned
            .get_mut(tp)
            .ok_or_else(|| ClientError::Invalid {
                message: format!("No current assignment for partition {tp}"),
            })?;
        state.position = Some(offset);
        state.buffered.clear();
        Ok(())
    }

    pub fn position(&self, tp: &TopicPartition) -> Option<Offset> {
        self.assigned.get(tp).and_then(|s| s.position)
    }

    /// Waits up to `timeout_ms` for records; the answer comes as a completion.
    pub fn poll(&mut self, now_ms: u64, token: Token, timeout_ms: u64) {
        assert!(
            self.pending_poll.is_none(),
            "a consumer is not thread-safe: one poll at a time"
        );
        self.pending_poll = Some((token, now_ms + timeout_ms));
        self.on_tick(now_ms);
    }

    fn finish_poll(&mut self, outcome: PollOutcome) {
        let (token, _) = self.pending_poll.take().expect("a poll is pending");
        self.effects
            .push(Effect::Emit(Completion { token, outcome }));
    }

    /// Returns buffered records, partition by partition, up to `max.poll.records`.
    fn drain_buffered(&mut self) -> Vec<ConsumerRecord> {
        let mut records = Vec::new();
        for state in self.assigned.values_mut() {
            while records.len() < self.config.max_poll_records {
                let Some(record) = state.buffered.pop_front() else {
                    break;
                };
                state.position = Some(record.offset + 1);
                records.push(record);
            }
        }
        records
    }

    fn leader_of(&self, tp: &TopicPartition) -> Option<(BrokerId, i32)> {
        let view = self.network.metadata.leader(tp)?;
        Some((view.leader?, view.leader_epoch))
    }

    fn requested(&self) -> Vec<TopicPartition> {
        self.network
            .in_flight()
            .flat_map(|p| match p {
                Purpose::Fetch(tps) | Purpose::ListOffsets(tps) => tps.clone(),
                Purpose::Metadata => vec![],
            })
            .collect()
    }

    /// Partitions ready for a request: idle, past their backoff, leader known.
    fn idle_by_leader(
        &mut self,
        now_ms: u64,
        want_position: bool,
    ) -> BTreeMap<BrokerId, Vec<(TopicPartition, i32)>> {
        let requested = self.requested();
        let mut by_leader: BTreeMap<BrokerId, Vec<(TopicPartition, i32)>> = BTreeMap::new();
        let mut missing_leader = false;
        for (tp, state) in &self.assigned {
            let wanted = state.position.is_some() == want_position && state.buffered.is_empty();
            if !wanted || requested.contains(tp) || now_ms < state.retry_at_ms {
                continue;
            }
            match self.leader_of(tp) {
                Some((leader, epoch)) => by_leader
                    .entry(leader)
                    .or_default()
                    .push((tp.clone(), epoch)),
                None => missing_leader = true,
            }
        }
        if missing_leader {
            self.network.request_metadata_update();
        }
        by_leader
    }

    fn send_list_offsets(&mut self, now_ms: u64) {
        let timestamp = match self.config.auto_offset_reset {
            OffsetReset::Earliest => EARLIEST_TIMESTAMP,
            OffsetReset::Latest => LATEST_TIMESTAMP,
            OffsetReset::None => {
                let undefined: Vec<String> = self
                    .assigned
                    .iter()
                    .filter(|(_, s)| s.position.is_none())
                    .map(|(tp, _)| tp.to_string())
                    .collect();
                if !undefined.is_empty() && self.pending_poll.is_some() {
                    let message = format!(
                        "Undefined offset with no reset policy for partitions: [{}]",
                        undefined.join(", ")
                    );
                    self.finish_poll(Err(ClientError::Invalid { message }));
                }
                return;
            }
        };
        for (leader, tps) in self.idle_by_leader(now_ms, false) {
            let partitions = tps
                .iter()
                .map(|(tp, epoch)| ListOffsetsPartition {
                    partition: tp.clone(),
                    current_leader_epoch: Some(*epoch),
                    timestamp,
                })
                .collect();
            let request = Request::ListOffsets(ListOffsetsRequest {
                replica_id: CONSUMER_REPLICA_ID,
                partitions,
            });
            let purpose = Purpose::ListOffsets(tps.into_iter().map(|(tp, _)| tp).collect());
            self.network.send(
                now_ms,
                NodeId::Broker(leader),
                request,
                purpose,
                &mut self.effects,
            );
        }
    }

    fn send_fetches(&mut self, now_ms: u64) {
        for (leader, tps) in self.idle_by_leader(now_ms, true) {
            if self.network.in_flight_to(NodeId::Broker(leader)) > 0 {
                continue; // one fetch per broker at a time, as Kafka's fetcher
            }
            let partitions = tps
                .iter()
                .map(|(tp, epoch)| FetchPartition {
                    partition: tp.clone(),
                    current_leader_epoch: Some(*epoch),
                    fetch_offset: self.assigned[tp]
                        .position
                        .expect("fetching from a known position"),
                    partition_max_bytes: self.config.max_partition_fetch_bytes,
                })
                .collect();
            let request = Request::Fetch(FetchRequest {
                replica_id: CONSUMER_REPLICA_ID,
                max_wait_ms: self.config.fetch_max_wait_ms,
                min_bytes: self.config.fetch_min_bytes,
                max_bytes: self.config.fetch_max_bytes,
                partitions,
            });
            let purpose = Purpose::Fetch(tps.into_iter().map(|(tp, _)| tp).collect());
            self.network.send(
                now_ms,
                NodeId::Broker(leader),
                request,
                purpose,
                &mut self.effects,
            );
        }
    }

    /// A partition's request failed: refresh metadata if useful, back off.
    fn back_off(&mut self, now_ms: u64, tp: &TopicPartition, code: ErrorCode) {
        if code.invalidates_metadata() {
            self.network.request_metadata_update();
        }
        if let Some(state) = self.assigned.get_mut(tp) {
            state.retry_at_ms = now_ms + self.config.retry_backoff_ms;
        }
    }

    fn on_fetch_response(&mut self, now_ms: u64, response: FetchResponse) {
        for part in response.responses {
            let Some(state) = self.assigned.get_mut(&part.partition) else {
                continue;
            };
            match part.error_code {
                ErrorCode::None => {
                    let position = state.position.expect("fetched from a known position");
                    let records = part.records.iter().flat_map(|b| b.offset_records());
                    for (offset, record) in records.filter(|(o, _)| *o >= position) {
                        state.buffered.push_back(ConsumerRecord {
                            partition: part.partition.clone(),
                            offset,
                            key: record.key.clone(),
                            value: record.value.clone(),
                            timestamp_ms: record.timestamp_ms,
                        });
                    }
                }
                ErrorCode::OffsetOutOfRange => {
                    // The position no longer exists: reset it per auto.offset.reset.
                    state.position = None;
                }
                code => self.back_off(now_ms, &part.partition, code),
            }
        }
    }

    fn on_list_offsets_response(&mut self, now_ms: u64, response: ListOffsetsResponse) {
        for part in response.partitions {
            let Some(state) = self.assigned.get_mut(&part.partition) else {
                continue;
            };
            if part.error_code == ErrorCode::None {
                state.position.get_or_insert(part.offset);
            } else {
                self.back_off(now_ms, &part.partition, part.error_code);
            }
        }
    }

    fn on_request_failed(&mut self, now_ms: u64, purpose: Purpose, code: ErrorCode) {
        if let Purpose::Fetch(tps) | Purpose::ListOffsets(tps) = purpose {
            for tp in tps {
                self.back_off(now_ms, &tp, code);
            }
        }
    }
}

impl Node for ConsumerCore {
    type Event = Completion<PollOutcome>;

    fn on_message(&mut self, now_ms: u64, _from: Peer, message: Message) {
        let Message::Response {
            correlation_id,
            response,
        } = message
        else {
            return;
        };
        let Some(purpose) = self.network.complete(correlation_id) else {
            return;
        };
        match (purpose, response) {
            (Purpose::Metadata, Response::Metadata(r)) => {
                self.network.on_metadata_response(correlation_id, &r)
            }
            (Purpose::Fetch(_), Response::Fetch(r)) => self.on_fetch_response(now_ms, r),
            (Purpose::ListOffsets(_), Response::ListOffsets(r)) => {
                self.on_list_offsets_response(now_ms, r)
            }
            (_, other) => panic!("consumer got an unexpected {} response", other.api_name()),
        }
        self.on_tick(now_ms);
    }

    fn on_disconnect(&mut self, now_ms: u64, peer: NodeId) {
        for failed in self.network.on_disconnect(peer) {
            self.on_request_failed(now_ms, failed.purpose, failed.code);
        }
        self.on_tick(now_ms);
    }

    fn on_tick(&mut self, now_ms: u64) {
        for failed in self.network.expire(now_ms) {
            self.on_request_failed(now_ms, failed.purpose, failed.code);
        }
        if let Some((_, deadline_ms)) = self.pending_poll {
            let records = self.drain_buffered();
            if !records.is_empty() || now_ms >= deadline_ms {
                self.finish_poll(Ok(records));
            }
        }
        if self.pending_poll.is_some() {
            self.send_list_offsets(now_ms);
        }
        if self.pending_poll.is_some() {
            self.send_fetches(now_ms);
        }
        self.network
            .maybe_update_metadata(now_ms, Purpose::Metadata, &mut self.effects);
        for state in self.assigned.values_mut() {
            if state.retry_at_ms <= now_ms {
                state.retry_at_ms = 0; // backoff over: no longer a reason to wake up
            }
        }
    }

    fn next_deadline_ms(&self) -> Option<u64> {
        let poll = self.pending_poll.map(|(_, deadline)| deadline);
        let retries = self
            .pending_poll
            .is_some()
            .then(|| {
                self.assigned
                    .values()
                    .map(|s| s.retry_at_ms)
                    .filter(|&t| t > 0)
                    .min()
            })
            .flatten();
        [
            poll,
            retries,
            self.network.next_timeout_ms(),
            self.network.next_metadata_attempt_ms(),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    fn take_effects(&mut self) -> Vec<Effect<Self::Event>> {
        std::mem::take(&mut self.effects)
    }

    fn invariants(&self) {
        for (tp, state) in &self.assigned {
            let mut expected = state.position;
            for record in &state.buffered {
                assert_eq!(&record.partition, tp);
                assert!(
                    expected.is_none_or(|e| record.offset >= e),
                    "buffered records are in offset order"
                );
                expected = Some(record.offset + 1);
            }
        }
    }
}
