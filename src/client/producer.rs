//! The producer's core: partitioning, batching, sending, retrying.
//!
//! `send` picks a partition (explicit, key hash, sticky or round-robin) and adds
//! the record to that partition's open batch in the *record accumulator*. A batch
//! is sent when it is full (`batch.size`) or has waited `linger.ms`, to the
//! partition's leader, with at most `max.in.flight.requests.per.connection` requests
//! outstanding per broker. A retriable error sends the batch again after
//! `retry.backoff.ms` (refreshing metadata first when the leader may have moved),
//! until `delivery.timeout.ms` has passed since the batch was created.
//!
//! Without idempotence, a retried batch can land after a later one (reordering),
//! and a retry after a lost *response* writes the records twice: both are Kafka's
//! real behaviour and both are kept.
//!
//! With idempotence (`enable.idempotence`, on by default with `acks=all`), the
//! producer first gets a producer id with `InitProducerId`, then numbers each
//! partition's batches from sequence 0 (see `producer/idempotence.rs`). A retry
//! carries the same numbers, so the broker writes it once and answers a duplicate
//! with the original offset; retries of a partition go out in sequence order, and
//! a batch the broker refuses as `OUT_OF_ORDER_SEQUENCE_NUMBER` waits for an
//! earlier batch still pending. Order and exactly-once writing then hold per
//! partition, with up to 5 requests in flight. A restarted producer gets a new id
//! and may duplicate.

use super::network::{Connection, Failed, NetworkClient};
use super::{ClientError, Completion, Token};
use crate::config::ConfigError;
use crate::error::ErrorCode;
use crate::ids::{BrokerId, NodeId, Offset, TopicPartition};
use crate::node::{Effect, Node, Peer};
use crate::partitioner::PartitionerKind;
use crate::protocol::*;
use crate::record::{Data, Header, ProducerIdentity, Record, RecordBatch};
use std::collections::{BTreeMap, VecDeque};

mod config;
mod idempotence;
#[cfg(test)]
mod tests;

pub use config::{ProducerConfig, MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION_FOR_IDEMPOTENCE};
use idempotence::Idempotence;

/// `InitProducerId`'s `transaction_timeout_ms` (Kafka's `transaction.timeout.ms`
/// default). Unused without transactions, sent as Kafka's client sends it.
const TRANSACTION_TIMEOUT_MS: u64 = 60_000;

/// What the application sends (Kafka's `ProducerRecord`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProducerRecord {
    pub topic: String,
    pub partition: Option<i32>,
    pub key: Option<Data>,
    /// `None` sends a tombstone.
    pub value: Option<Data>,
    pub headers: Vec<Header>,
}

impl ProducerRecord {
    pub fn new(topic: impl Into<String>, value: impl Into<Data>) -> Self {
        ProducerRecord {
            topic: topic.into(),
            partition: None,
            key: None,
            value: Some(value.into()),
            headers: Vec::new(),
        }
    }

    /// A record with no value: Kafka's tombstone, "delete this key" to a
    /// compacted topic.
    pub fn tombstone(topic: impl Into<String>, key: impl Into<Data>) -> Self {
        ProducerRecord {
            value: None,
            ..ProducerRecord::new(topic, "").key(key)
        }
    }

    /// Adds a header; Kafka keeps headers in order, and a key may repeat.
    pub fn header(mut self, key: impl Into<String>, value: Option<Data>) -> Self {
        self.headers.push(Header {
            key: key.into(),
            value,
        });
        self
    }

    pub fn partition(mut self, partition: i32) -> Self {
        self.partition = Some(partition);
        self
    }

    pub fn key(mut self, key: impl Into<Data>) -> Self {
        self.key = Some(key.into());
        self
    }
}

/// Where an acknowledged record landed (Kafka's `RecordMetadata`).
#[derive(Debug, Clone, PartialEq, Hash, Eq)]
pub struct RecordMetadata {
    pub partition: TopicPartition,
    /// `-1` with `acks=0`: the producer never hears the offset.
    pub offset: Offset,
}

pub type SendOutcome = Result<RecordMetadata, ClientError>;

#[derive(Debug, Clone, PartialEq, Eq)]
struct ProducerBatch {
    partition: TopicPartition,
    records: Vec<Record>,
    tokens: Vec<Token>,
    created_ms: u64,
    attempts: u32,
    retry_at_ms: u64,
    size_bytes: usize,
    /// Producer id, epoch and first sequence, given when the batch is first sent
    /// by an idempotent producer and kept through its retries.
    identity: Option<ProducerIdentity>,
    /// The error of its last failed attempt, if it was ever sent.
    last_error: Option<ErrorCode>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Purpose {
    Metadata,
    InitProducerId,
    Produce(Vec<ProducerBatch>),
}

impl Connection for Purpose {}

#[derive(Debug)]
pub struct ProducerCore {
    config: ProducerConfig,
    network: NetworkClient<Purpose>,
    accumulator: BTreeMap<TopicPartition, VecDeque<ProducerBatch>>,
    /// Records whose topic has no metadata yet, with their `max.block.ms` deadline.
    waiting_for_metadata: Vec<(Token, ProducerRecord, u64)>,
    /// Per topic, the sticky partition or the next round-robin one.
    next_partition: BTreeMap<String, i32>,
    /// Producer id and sequences; `None` when the producer is not idempotent.
    idempotence: Option<Idempotence>,
    effects: Vec<Effect<Completion<SendOutcome>>>,
}

impl ProducerCore {
    /// A producer with this configuration, or the reason Kafka would refuse it.
    pub fn new(config: ProducerConfig) -> Result<Self, ConfigError> {
        config.validate()?;
        let network = NetworkClient::new(
            config.bootstrap.clone(),
            config.request_timeout_ms,
            config.retry_backoff_ms,
        );
        let idempotence = config.idempotent().then(Idempotence::new);
        Ok(ProducerCore {
            config,
            network,
            accumulator: BTreeMap::new(),
            waiting_for_metadata: Vec::new(),
            next_partition: BTreeMap::new(),
            idempotence,
            effects: Vec::new(),
        })
    }

    pub fn config(&self) -> &ProducerConfig {
        &self.config
    }

    /// Starts sending a record; its outcome comes back as a completion with `token`.
    pub fn send(&mut self, now_ms: u64, token: Token, record: ProducerRecord) {
        if let Some(error) = self.fatal_error() {
            return self.complete(token, Err(error));
        }
        self.network.want_topic(&record.topic);
        match self.network.metadata.partition_count(&record.topic) {
            Some(Ok(count)) => self.accumulate(now_ms, token, record, count),
            _ => self
                .waiting_for_metadata
                .push((token, record, now_ms + self.config.max_block_ms)),
        }
        self.on_tick(now_ms);
    }

    /// Records still waiting to be acknowledged (queued, or in flight).
    pub fn pending(&self) -> usize {
        let queued: usize = self
            .accumulator
            .values()
            .flatten()
            .map(|b| b.tokens.len())
            .sum();
        let in_flight: usize = self
            .network
            .in_flight()
            .map(|p| match p {
                Purpose::Produce(batches) => batches.iter().map(|b| b.tokens.len()).sum(),
                Purpose::Metadata | Purpose::InitProducerId => 0,
            })
            .sum();
        queued + in_flight + self.waiting_for_metadata.len()
    }

    fn complete(&mut self, token: Token, outcome: SendOutcome) {
        self.effects
            .push(Effect::Emit(Completion { token, outcome }));
    }

    fn choose_partition(&mut self, record: &ProducerRecord, count: i32) -> i32 {
        if let Some(p) = record.partition {
            return p;
        }
        if let Some(key) = &record.key {
            return (self.config.rules.partition_for_key)(key.as_bytes(), count);
        }
        let next = self.next_partition.entry(record.topic.clone()).or_insert(0);
        let p = *next % count;
        if self.config.partitioner == PartitionerKind::RoundRobin {
            *next = (p + 1) % count;
        }
        p
    }

    fn accumulate(&mut self, now_ms: u64, token: Token, record: ProducerRecord, count: i32) {
        let partition = self.choose_partition(&record, count);
        if !(0..count).contains(&partition) {
            let message = format!("Invalid partition given with record: {partition} is not in the range [0...{count}).");
            return self.complete(token, Err(ClientError::Invalid { message }));
        }
        let tp = TopicPartition::new(record.topic, partition);
        let record = Record {
            key: record.key,
            value: record.value,
            headers: record.headers,
            timestamp_ms: now_ms,
        };
        let size = record.size_bytes();
        let queue = self.accumulator.entry(tp.clone()).or_default();
        let open = queue
            .back_mut()
            .filter(|b| b.attempts == 0 && b.size_bytes + size <= self.config.batch_size);
        match open {
            Some(batch) => {
                batch.records.push(record);
                batch.tokens.push(token);
                batch.size_bytes += size;
            }
            None => queue.push_back(ProducerBatch {
                last_error: None,
                partition: tp,
                records: vec![record],
                tokens: vec![token],
                created_ms: now_ms,
                attempts: 0,
                retry_at_ms: now_ms,
                size_bytes: size,
                identity: None,
            }),
        }
    }

    /// When the front batch of a partition may be sent, if it may at all now.
    fn ready_at_ms(&self, queue: &VecDeque<ProducerBatch>) -> Option<u64> {
        let front = queue.front()?;
        let full = queue.len() > 1 || front.size_bytes >= self.config.batch_size;
        let linger_done_ms = if full || front.attempts > 0 {
            front.created_ms
        } else {
            front.created_ms + self.config.linger_ms
        };
        Some(linger_done_ms.max(front.retry_at_ms))
    }

    /// The leader to send `tp`'s front batch to, if it is known, has a free
    /// in-flight slot, and the idempotent producer's rules let the batch go now.
    fn sendable_to(&self, tp: &TopicPartition, front: &ProducerBatch) -> Option<BrokerId> {
        let leader = self.network.metadata.leader(tp)?.leader?;
        let slots = self.config.max_in_flight_requests_per_connection;
        let free = self.network.in_flight_to(NodeId::Broker(leader)) < slots;
        (free && self.may_send_in_sequence(tp, front)).then_some(leader)
    }

    /// Sends every ready batch whose leader is known and has a free in-flight slot.
    fn send_ready(&mut self, now_ms: u64) {
        let mut by_leader: BTreeMap<BrokerId, Vec<ProducerBatch>> = BTreeMap::new();
        let ready: Vec<TopicPartition> = self
            .accumulator
            .iter()
            .filter(|(_, q)| self.ready_at_ms(q).is_some_and(|t| t <= now_ms))
            .map(|(tp, _)| tp.clone())
            .collect();
        for tp in ready {
            let leader_known = self.network.metadata.leader(&tp).and_then(|l| l.leader);
            if leader_known.is_none() {
                self.network.request_metadata_update();
                continue;
            }
            let front = self.accumulator[&tp].front().expect("ready");
            let Some(leader) = self.sendable_to(&tp, front) else {
                continue;
            };
            let mut batch = self
                .accumulator
                .get_mut(&tp)
                .and_then(VecDeque::pop_front)
                .expect("ready");
            if let (Some(idempotence), None) = (&mut self.idempotence, batch.identity) {
                batch.identity = Some(idempotence.number(&tp, batch.records.len()));
            }
            self.advance_sticky(&tp);
            by_leader.entry(leader).or_default().push(batch);
        }
        for (leader, batches) in by_leader {
            self.send_produce(now_ms, leader, batches);
        }
        self.accumulator.retain(|_, q| !q.is_empty());
    }

    /// The sticky partitioner moves on once its batch is sent (KIP-480).
    fn advance_sticky(&mut self, tp: &TopicPartition) {
        if self.config.partitioner != PartitionerKind::Sticky {
            return;
        }
        let count = self
            .network
            .metadata
            .partition_count(&tp.topic)
            .and_then(Result::ok)
            .unwrap_or(1);
        if let Some(next) = self.next_partition.get_mut(&tp.topic) {
            if *next == tp.partition {
                *next = (tp.partition + 1) % count;
            }
        }
    }

    fn send_produce(&mut self, now_ms: u64, leader: BrokerId, mut batches: Vec<ProducerBatch>) {
        let metadata = &self.network.metadata;
        let partitions = batches
            .iter_mut()
            .map(|b| {
                b.attempts += 1;
                let mut records = RecordBatch::new(b.records.clone());
                records.producer = b.identity;
                PartitionProduceData {
                    partition: b.partition.clone(),
                    current_leader_epoch: metadata.leader(&b.partition).map(|l| l.leader_epoch),
                    records,
                }
            })
            .collect();
        let request = ProduceRequest {
            acks: self.config.acks,
            timeout_ms: self.config.request_timeout_ms,
            partitions,
        };
        let to = NodeId::Broker(leader);
        if self.config.acks == Acks::None {
            // Nobody will answer: the record counts as sent once it is on the wire.
            self.network
                .send_without_response(to, Request::Produce(request), &mut self.effects);
            for batch in batches {
                self.succeed(&batch, -1);
            }
            return;
        }
        self.network.send(
            now_ms,
            to,
            Request::Produce(request),
            Purpose::Produce(batches),
            &mut self.effects,
        );
    }

    /// Completes every record of `batch`; `base_offset` -1 when it is unknown.
    fn succeed(&mut self, batch: &ProducerBatch, base_offset: Offset) {
        if let (Some(idempotence), Some(identity)) = (&mut self.idempotence, &batch.identity) {
            idempotence.on_batch_acked(&batch.partition, identity, batch.records.len());
        }
        for (i, token) in batch.tokens.iter().enumerate() {
            let offset = if base_offset < 0 {
                -1
            } else {
                base_offset + i as i64
            };
            let metadata = RecordMetadata {
                partition: batch.partition.clone(),
                offset,
            };
            self.complete(*token, Ok(metadata));
        }
    }

    fn on_produce_response(
        &mut self,
        now_ms: u64,
        batches: Vec<ProducerBatch>,
        response: ProduceResponse,
    ) {
        for batch in batches {
            let answer = response
                .responses
                .iter()
                .find(|r| r.partition == batch.partition);
            let code = answer.map_or(ErrorCode::UnknownTopicOrPartition, |r| r.error_code);
            match code {
                // A duplicate the broker recognised also answers NONE, with the
                // offset the batch was first written at.
                ErrorCode::None => self.succeed(&batch, answer.expect("answered").base_offset),
                // The broker has seen this sequence but no longer knows where it
                // was written: Kafka's client counts the send as done, offset unknown.
                ErrorCode::DuplicateSequenceNumber if batch.identity.is_some() => {
                    self.succeed(&batch, -1)
                }
                code => self.retry_or_fail(now_ms, batch, code),
            }
        }
    }

    /// An attempt to send `batch` failed with `code`.
    fn retry_or_fail(&mut self, now_ms: u64, mut batch: ProducerBatch, code: ErrorCode) {
        batch.last_error = Some(code);
        if code.invalidates_metadata() {
            self.network.request_metadata_update();
        }
        let expired = now_ms >= batch.created_ms + self.config.delivery_timeout_ms;
        let out_of_order = code == ErrorCode::OutOfOrderSequenceNumber && batch.identity.is_some();
        if out_of_order {
            self.on_out_of_order(&mut batch);
        }
        let retriable = code.is_retriable() || out_of_order;
        if retriable && !expired && batch.attempts <= self.config.retries {
            batch.retry_at_ms = now_ms + self.config.retry_backoff_ms;
            return self.requeue(batch);
        }
        let error = if expired {
            expiry_error(now_ms, &batch)
        } else {
            ClientError::Broker {
                code,
                message: String::new(),
            }
        };
        self.fail(batch, error);
    }

    /// Puts a batch back for a retry. Without idempotence it goes first in its
    /// queue (Kafka's `reenqueue` does `addFirst`, which is how a retry lands
    /// behind a later batch). With idempotence a numbered batch goes among the
    /// retries in sequence order (`insertInSequenceOrder`), and one whose
    /// sequence was taken away (`on_out_of_order`) after the numbered ones, in
    /// the order the batches were made: batches coming back one by one must
    /// not be renumbered in reverse.
    fn requeue(&mut self, batch: ProducerBatch) {
        let idempotent = self.idempotence.is_some();
        let queue = self.accumulator.entry(batch.partition.clone()).or_default();
        let Some(identity) = batch.identity else {
            if !idempotent {
                return queue.push_front(batch);
            }
            let made_later =
                |b: &ProducerBatch| b.identity.is_none() && b.tokens[0] > batch.tokens[0];
            let at = queue.iter().position(made_later).unwrap_or(queue.len());
            return queue.insert(at, batch);
        };
        let at = queue
            .iter()
            .position(|b| {
                b.identity
                    .is_none_or(|o| o.base_sequence > identity.base_sequence)
            })
            .unwrap_or(queue.len());
        queue.insert(at, batch);
    }

    /// Fails every record of `batch`; a numbered batch leaves a hole in its
    /// partition's sequence, which the producer epoch bump closes.
    fn fail(&mut self, batch: ProducerBatch, error: ClientError) {
        if let (Some(idempotence), Some(identity)) = (&mut self.idempotence, &batch.identity) {
            idempotence.on_batch_failed(&batch.partition, identity, batch.records.len());
        }
        for token in batch.tokens {
            self.complete(token, Err(error.clone()));
        }
    }

    fn on_failed(&mut self, now_ms: u64, failed: Failed<Purpose>) {
        match failed.purpose {
            Purpose::Produce(batches) => {
                for batch in batches {
                    self.retry_or_fail(now_ms, batch, failed.code);
                }
            }
            Purpose::InitProducerId => self
                .idempotence
                .as_mut()
                .expect("only an idempotent producer asks for an id")
                .on_init_failed(now_ms, self.config.retry_backoff_ms),
            Purpose::Metadata => {}
        }
    }

    /// Records waiting for metadata: place them once it arrives, fail them after
    /// `max.block.ms`.
    fn place_waiting(&mut self, now_ms: u64) {
        for (token, record, deadline_ms) in std::mem::take(&mut self.waiting_for_metadata) {
            match self.network.metadata.partition_count(&record.topic) {
                Some(Ok(count)) => self.accumulate(now_ms, token, record, count),
                _ if now_ms >= deadline_ms => {
                    let message = format!(
                        "Topic {} not present in metadata after {} ms.",
                        record.topic, self.config.max_block_ms
                    );
                    self.complete(token, Err(ClientError::Timeout { message }));
                }
                _ => {
                    self.network.request_metadata_update();
                    self.waiting_for_metadata.push((token, record, deadline_ms));
                }
            }
        }
    }

    /// Batches past `delivery.timeout.ms` fail without another attempt.
    fn expire_batches(&mut self, now_ms: u64) {
        let timeout_ms = self.config.delivery_timeout_ms;
        let mut expired = Vec::new();
        for queue in self.accumulator.values_mut() {
            while queue
                .front()
                .is_some_and(|b| now_ms >= b.created_ms + timeout_ms)
            {
                expired.push(queue.pop_front().expect("checked"));
            }
        }
        for batch in expired {
            let error = expiry_error(now_ms, &batch);
            self.fail(batch, error);
        }
        self.accumulator.retain(|_, q| !q.is_empty());
    }
}

/// Kafka's `TimeoutException` for a batch past `delivery.timeout.ms`, naming
/// what went wrong last (the model's addition to Kafka's message).
fn expiry_error(now_ms: u64, batch: &ProducerBatch) -> ClientError {
    let last = match batch.last_error {
        Some(code) => format!("last error {code}"),
        None => "never sent: no leader was known".to_string(),
    };
    let message = format!(
        "Expiring {} record(s) for {}: {} ms has passed since batch creation ({last})",
        batch.tokens.len(),
        batch.partition,
        now_ms - batch.created_ms
    );
    ClientError::Timeout { message }
}

impl Node for ProducerCore {
    type Event = Completion<SendOutcome>;

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
            (Purpose::InitProducerId, Response::InitProducerId(r)) => {
                self.on_init_producer_id_response(now_ms, &r)
            }
            (Purpose::Produce(batches), Response::Produce(r)) => {
                self.on_produce_response(now_ms, batches, r)
            }
            (_, other) => panic!("producer got an unexpected {} response", other.api_name()),
        }
        self.on_tick(now_ms);
    }

    fn on_disconnect(&mut self, now_ms: u64, peer: NodeId) {
        for failed in self.network.on_disconnect(peer) {
            self.on_failed(now_ms, failed);
        }
        self.on_tick(now_ms);
    }

    fn on_tick(&mut self, now_ms: u64) {
        for failed in self.network.expire(now_ms) {
            self.on_failed(now_ms, failed);
        }
        self.place_waiting(now_ms);
        self.fail_all_if_fatal();
        self.expire_batches(now_ms);
        self.maybe_init_producer_id(now_ms);
        self.send_ready(now_ms);
        self.network
            .maybe_update_metadata(now_ms, Purpose::Metadata, &mut self.effects);
    }

    fn next_deadline_ms(&self) -> Option<u64> {
        let sendable = self.accumulator.iter().filter_map(|(tp, q)| {
            self.sendable_to(tp, q.front()?)?;
            self.ready_at_ms(q)
        });
        let expiries = self
            .accumulator
            .values()
            .filter_map(|q| q.front())
            .map(|b| b.created_ms + self.config.delivery_timeout_ms);
        let blocked = self
            .waiting_for_metadata
            .iter()
            .map(|(_, _, deadline)| *deadline);
        let network = [
            self.network.next_timeout_ms(),
            self.network.next_metadata_attempt_ms(),
            self.idempotence.as_ref().and_then(Idempotence::init_due_ms),
        ];
        sendable
            .chain(expiries)
            .chain(blocked)
            .chain(network.into_iter().flatten())
            .min()
    }

    fn take_effects(&mut self) -> Vec<Effect<Self::Event>> {
        std::mem::take(&mut self.effects)
    }

    fn invariants(&self) {
        for (tp, queue) in &self.accumulator {
            assert!(!queue.is_empty(), "empty queues are dropped");
            for batch in queue {
                assert_eq!(&batch.partition, tp);
                assert_eq!(
                    batch.records.len(),
                    batch.tokens.len(),
                    "one token per record"
                );
            }
            self.sequence_invariants(queue);
        }
        if let Some(idempotence) = &self.idempotence {
            idempotence.invariants();
        }
    }
}
