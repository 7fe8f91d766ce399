//! The producer core driven by hand: the test plays the brokers, answering each
//! request the core sends, and reads the completions it emits.

use super::*;
use crate::ids::CorrelationId;

const TOPIC: &str = "orders";
const LEADER: BrokerId = 1;
const LEADER_EPOCH: i32 = 3;
const PRODUCER_ID: i64 = 4000;

/// One producer core, the simulated clock, and what the core has sent and
/// completed so far.
struct Harness {
    core: ProducerCore,
    now_ms: u64,
    next_token: Token,
    /// Requests sent and not yet looked at by the test.
    outbox: Vec<(CorrelationId, Request)>,
    completions: Vec<Completion<SendOutcome>>,
}

impl Harness {
    /// A producer with `linger.ms=0` and the given extra settings.
    fn new(settings: &[(&str, &str)]) -> Self {
        let mut config = ProducerConfig::new(vec![LEADER]);
        config.set("linger.ms", "0").expect("valid");
        for (key, value) in settings {
            config.set(key, value).expect("valid");
        }
        let core = ProducerCore::new(config).expect("a valid configuration");
        Harness {
            core,
            now_ms: 0,
            next_token: 0,
            outbox: Vec::new(),
            completions: Vec::new(),
        }
    }

    /// Moves what the core did into the outbox and the completions.
    fn collect(&mut self) {
        self.core.invariants();
        for effect in self.core.take_effects() {
            match effect {
                Effect::Send {
                    to,
                    message:
                        Message::Request {
                            correlation_id,
                            request,
                        },
                } => {
                    assert_eq!(to, NodeId::Broker(LEADER), "one broker in these tests");
                    self.outbox.push((correlation_id, request));
                }
                Effect::Emit(completion) => self.completions.push(completion),
                other => panic!("a producer does not {other:?}"),
            }
        }
    }

    /// Takes the requests of this kind sent and not yet taken.
    fn all(&mut self, api: &str) -> Vec<(CorrelationId, Request)> {
        self.collect();
        let (matching, rest) = std::mem::take(&mut self.outbox)
            .into_iter()
            .partition(|(_, r)| r.api_name() == api);
        self.outbox = rest;
        matching
    }

    /// Takes the one request of this kind sent and not yet taken.
    fn one(&mut self, api: &str) -> (CorrelationId, Request) {
        let mut matching = self.all(api);
        assert_eq!(matching.len(), 1, "expected one {api} request");
        matching.pop().expect("one")
    }

    fn no(&mut self, api: &str) {
        let sent = self.all(api);
        assert!(sent.is_empty(), "expected no {api} request, got {sent:?}");
    }

    fn send(&mut self, partition: i32, value: &str) -> Token {
        self.next_token += 1;
        let record = ProducerRecord::new(TOPIC, value).partition(partition);
        self.core.send(self.now_ms, self.next_token, record);
        self.next_token
    }

    fn tick_at(&mut self, now_ms: u64) {
        self.now_ms = now_ms;
        self.core.on_tick(now_ms);
    }

    fn answer(&mut self, correlation_id: CorrelationId, response: Response) {
        let from = Peer {
            node: NodeId::Broker(LEADER),
            connection: 0,
        };
        let message = Message::Response {
            correlation_id,
            response,
        };
        self.core.on_message(self.now_ms, from, message);
    }

    /// Answers the pending Metadata request: `TOPIC` has two partitions led by `LEADER`.
    fn answer_metadata(&mut self) {
        let (id, _) = self.one("Metadata");
        let partitions = (0..2)
            .map(|i| MetadataResponsePartition {
                error_code: ErrorCode::None,
                partition_index: i,
                leader_id: Some(LEADER),
                leader_epoch: LEADER_EPOCH,
                replica_nodes: vec![LEADER],
                isr_nodes: vec![LEADER],
            })
            .collect();
        let topic = MetadataResponseTopic {
            error_code: ErrorCode::None,
            name: TOPIC.into(),
            partitions,
        };
        let broker = MetadataResponseBroker {
            node_id: LEADER,
            listener: "broker-1:9092".into(),
        };
        let response = MetadataResponse {
            brokers: vec![broker],
            topics: vec![topic],
            metadata_version: 1,
        };
        self.answer(id, Response::Metadata(response));
    }

    fn answer_init(&mut self, correlation_id: CorrelationId, error_code: ErrorCode) {
        let response = InitProducerIdResponse {
            error_code,
            producer_id: PRODUCER_ID,
            producer_epoch: 0,
        };
        self.answer(correlation_id, Response::InitProducerId(response));
    }

    /// Answers a Produce request's only partition.
    fn answer_produce(&mut self, request: &(CorrelationId, Request), code: ErrorCode, base: i64) {
        let [data] = partitions(request) else {
            panic!("one partition per request here");
        };
        let partition = data.partition.clone();
        let answer = PartitionProduceResponse {
            partition,
            error_code: code,
            base_offset: base,
            log_start_offset: 0,
        };
        let response = ProduceResponse {
            responses: vec![answer],
        };
        self.answer(request.0, Response::Produce(response));
    }

    /// An idempotent producer that knows its id and the topic's leaders.
    fn ready() -> Self {
        let mut harness = Harness::new(&[]);
        harness.tick_at(0);
        let (init, _) = harness.one("InitProducerId");
        harness.answer_init(init, ErrorCode::None);
        harness.core.network.want_topic(TOPIC);
        harness.tick_at(0);
        harness.answer_metadata();
        harness
    }

    fn outcome(&mut self, token: Token) -> &SendOutcome {
        self.collect();
        let completion = self.completions.iter().find(|c| c.token == token);
        &completion.expect("the send has completed").outcome
    }
}

/// The partitions of a Produce request.
fn partitions(request: &(CorrelationId, Request)) -> &[PartitionProduceData] {
    let Request::Produce(produce) = &request.1 else {
        panic!("not a Produce request: {request:?}");
    };
    &produce.partitions
}

/// The partition data of a Produce request that carries one partition.
fn produce_data(request: &(CorrelationId, Request)) -> &PartitionProduceData {
    let [data] = partitions(request) else {
        panic!("one partition per request here");
    };
    data
}

/// (producer epoch, base sequence, values) of a Produce request's batch.
fn numbered(request: &(CorrelationId, Request)) -> (i16, i32, Vec<String>) {
    numbered_data(produce_data(request))
}

fn numbered_data(data: &PartitionProduceData) -> (i16, i32, Vec<String>) {
    let records = &data.records;
    let identity = records.producer.expect("an idempotent batch");
    assert_eq!(identity.producer_id, PRODUCER_ID);
    let values = records.records.iter().map(|r| r.value_text()).collect();
    (identity.producer_epoch, identity.base_sequence, values)
}

fn offset(outcome: &SendOutcome) -> Offset {
    outcome.as_ref().expect("acknowledged").offset
}

#[test]
fn an_idempotent_producer_asks_for_a_producer_id_before_producing() {
    let mut harness = Harness::new(&[]);
    harness.tick_at(0);
    let (init, request) = harness.one("InitProducerId");
    let expected = InitProducerIdRequest {
        transactional_id: None,
        transaction_timeout_ms: 60_000,
    };
    assert_eq!(request, Request::InitProducerId(expected));
    harness.send(0, "a");
    harness.answer_metadata();
    harness.tick_at(50);
    harness.no("Produce");
    harness.answer_init(init, ErrorCode::None);
    let produce = harness.one("Produce");
    assert_eq!(numbered(&produce), (0, 0, vec!["a".to_string()]));
    assert_eq!(
        produce_data(&produce).current_leader_epoch,
        Some(LEADER_EPOCH)
    );
}

#[test]
fn sequences_start_at_0_per_partition_and_advance_by_record_count() {
    let mut harness = Harness::ready();
    harness.core.config.linger_ms = 10;
    for value in ["a", "b", "c"] {
        harness.send(0, value);
    }
    harness.tick_at(10);
    let first = harness.one("Produce");
    harness.send(0, "d");
    harness.send(1, "x");
    harness.tick_at(20);
    let second = harness.one("Produce");
    let abc = ["a", "b", "c"].map(String::from).to_vec();
    assert_eq!(numbered(&first), (0, 0, abc));
    let [p0, p1] = partitions(&second) else {
        panic!("both partitions in one request to their leader");
    };
    assert_eq!(numbered_data(p0), (0, 3, vec!["d".to_string()]));
    assert_eq!(numbered_data(p1), (0, 0, vec!["x".to_string()]));
}

#[test]
fn a_retry_after_a_network_exception_resends_the_same_producer_id_and_sequence() {
    let mut harness = Harness::ready();
    harness.send(0, "a");
    let first = harness.one("Produce");
    harness.core.on_disconnect(0, NodeId::Broker(LEADER));
    harness.tick_at(100);
    let retry = harness.one("Produce");
    assert_eq!(numbered(&retry), numbered(&first));
    assert_eq!(numbered(&retry), (0, 0, vec!["a".to_string()]));
}

#[test]
fn a_duplicate_answer_completes_with_the_original_offset() {
    let mut harness = Harness::ready();
    let token = harness.send(0, "a");
    harness.one("Produce");
    harness.core.on_disconnect(0, NodeId::Broker(LEADER));
    harness.tick_at(100);
    let retry = harness.one("Produce");
    // The first attempt was written at offset 7; the broker recognises the retry.
    harness.answer_produce(&retry, ErrorCode::None, 7);
    assert_eq!(offset(harness.outcome(token)), 7);
}

#[test]
fn duplicate_sequence_number_completes_without_an_offset() {
    let mut harness = Harness::ready();
    let token = harness.send(0, "a");
    let produce = harness.one("Produce");
    harness.answer_produce(&produce, ErrorCode::DuplicateSequenceNumber, -1);
    assert_eq!(offset(harness.outcome(token)), -1);
}

#[test]
fn out_of_order_for_the_next_batch_bumps_the_epoch_and_writes_it_again_from_sequence_0() {
    let mut harness = Harness::ready();
    let first = harness.send(0, "a");
    let produce = harness.one("Produce");
    harness.answer_produce(&produce, ErrorCode::None, 0);
    assert_eq!(offset(harness.outcome(first)), 0);
    // The broker lost "a" (an unclean election, say): "b", the next batch, is
    // out of order for it. Kafka 4.x bumps the epoch and retries; the
    // application never hears of it.
    let token = harness.send(0, "b");
    let produce = harness.one("Produce");
    assert_eq!(numbered(&produce), (0, 1, vec!["b".to_string()]));
    harness.answer_produce(&produce, ErrorCode::OutOfOrderSequenceNumber, -1);
    harness.tick_at(100);
    let retry = harness.one("Produce");
    assert_eq!(numbered(&retry), (1, 0, vec!["b".to_string()]));
    harness.answer_produce(&retry, ErrorCode::None, 1);
    assert_eq!(offset(harness.outcome(token)), 1);
}

#[test]
fn out_of_order_for_a_batch_later_ones_overtook_is_retried_as_it_is() {
    let mut harness = Harness::ready();
    let first_token = harness.send(0, "a");
    let first = harness.one("Produce");
    let second_token = harness.send(0, "b");
    let second = harness.one("Produce");
    // "b" was acknowledged first ("a" went to a broker that lost leadership);
    // the broker then no longer recognises "a" as a duplicate.
    harness.answer_produce(&second, ErrorCode::None, 11);
    harness.answer_produce(&first, ErrorCode::NotLeaderOrFollower, -1);
    harness.tick_at(100);
    let retry = harness.one("Produce");
    harness.answer_produce(&retry, ErrorCode::OutOfOrderSequenceNumber, -1);
    harness.tick_at(200);
    let again = harness.one("Produce");
    assert_eq!(
        numbered(&again),
        (0, 0, vec!["a".to_string()]),
        "no epoch bump"
    );
    harness.answer_produce(&again, ErrorCode::None, 10);
    assert_eq!(offset(harness.outcome(first_token)), 10);
    assert_eq!(offset(harness.outcome(second_token)), 11);
}

#[test]
fn out_of_order_behind_an_earlier_pending_batch_is_retried_after_it_in_sequence_order() {
    let mut harness = Harness::ready();
    let first_token = harness.send(0, "a");
    let first = harness.one("Produce");
    let second_token = harness.send(0, "b");
    let second = harness.one("Produce");
    // "b" overtook "a" (say, "a" went to a broker that lost leadership).
    harness.answer_produce(&second, ErrorCode::OutOfOrderSequenceNumber, -1);
    harness.tick_at(100);
    harness.no("Produce"); // "b" waits while "a" is in flight
    harness.answer_produce(&first, ErrorCode::NotLeaderOrFollower, -1);
    harness.tick_at(200);
    let retry_a = harness.one("Produce");
    assert_eq!(numbered(&retry_a), (0, 0, vec!["a".to_string()]));
    harness.answer_produce(&retry_a, ErrorCode::None, 10);
    harness.tick_at(200);
    let retry_b = harness.one("Produce");
    assert_eq!(numbered(&retry_b), (0, 1, vec!["b".to_string()]));
    harness.answer_produce(&retry_b, ErrorCode::None, 11);
    assert_eq!(offset(harness.outcome(first_token)), 10);
    assert_eq!(offset(harness.outcome(second_token)), 11);
}

#[test]
fn init_producer_id_is_retried_after_a_retriable_error_and_a_lost_connection() {
    let mut harness = Harness::new(&[]);
    harness.tick_at(0);
    let (init, _) = harness.one("InitProducerId");
    harness.answer_init(init, ErrorCode::CoordinatorNotAvailable);
    harness.tick_at(99);
    harness.no("InitProducerId");
    harness.tick_at(100);
    harness.one("InitProducerId");
    harness.core.on_disconnect(150, NodeId::Broker(LEADER));
    harness.tick_at(250);
    harness.one("InitProducerId");
}

#[test]
fn a_non_retriable_init_producer_id_error_fails_every_send() {
    let mut harness = Harness::new(&[]);
    let waiting = harness.send(0, "a");
    let (init, _) = harness.one("InitProducerId");
    harness.answer_init(init, ErrorCode::InvalidRequest);
    let later = harness.send(0, "b");
    for token in [waiting, later] {
        let error = harness.outcome(token).clone().unwrap_err();
        assert!(matches!(
            error,
            ClientError::Broker {
                code: ErrorCode::InvalidRequest,
                ..
            }
        ));
    }
}

#[test]
fn batches_waiting_for_a_producer_id_still_expire() {
    let mut harness = Harness::new(&[
        ("request.timeout.ms", "1000"),
        ("delivery.timeout.ms", "1000"),
    ]);
    harness.tick_at(0);
    harness.one("InitProducerId");
    let token = harness.send(0, "a");
    harness.answer_metadata();
    harness.tick_at(1_000);
    let error = harness.outcome(token).clone().unwrap_err();
    assert!(matches!(error, ClientError::Timeout { .. }), "{error:?}");
}

#[test]
fn conflicting_explicit_configs_are_rejected_naming_the_key() {
    let cases = [
        ("acks", "1", "Must set acks to all in order to use the idempotent producer. Otherwise we cannot guarantee idempotence."),
        ("retries", "0", "Must set retries to non-zero when using the idempotent producer."),
        ("max.in.flight.requests.per.connection", "6", "Must set max.in.flight.requests.per.connection to at most 5 to use the idempotent producer."),
    ];
    for (key, value, reason) in cases {
        let mut config = ProducerConfig::new(vec![LEADER]);
        config.set("enable.idempotence", "true").expect("valid");
        config.set(key, value).expect("valid on its own");
        let error = ProducerCore::new(config).unwrap_err();
        assert_eq!((error.key.as_str(), error.reason.as_str()), (key, reason));
        assert_eq!(error.value, value);
    }
}

#[test]
fn conflicts_with_the_default_turn_idempotence_off_silently() {
    for (key, value) in [
        ("acks", "1"),
        ("retries", "0"),
        ("max.in.flight.requests.per.connection", "6"),
    ] {
        let mut harness = Harness::new(&[(key, value)]);
        assert!(!harness.core.config().idempotent(), "{key}={value}");
        harness.send(0, "a");
        harness.no("InitProducerId");
        harness.answer_metadata();
        let produce = harness.one("Produce");
        assert_eq!(produce_data(&produce).records.producer, None);
        assert_eq!(
            produce_data(&produce).current_leader_epoch,
            Some(LEADER_EPOCH)
        );
    }
    let explicit_off = Harness::new(&[("enable.idempotence", "false")]);
    assert!(!explicit_off.core.config().idempotent());
    assert!(
        ProducerConfig::new(vec![LEADER]).idempotent(),
        "Kafka's default"
    );
}

#[test]
fn without_idempotence_a_retry_goes_to_the_front_of_its_queue() {
    let mut harness = Harness::new(&[("enable.idempotence", "false")]);
    harness.send(0, "a");
    harness.answer_metadata();
    let first = harness.one("Produce");
    harness.send(0, "b");
    let second = harness.one("Produce");
    harness.answer_produce(&first, ErrorCode::NotLeaderOrFollower, -1);
    harness.answer_produce(&second, ErrorCode::None, 0);
    harness.tick_at(100);
    let retry = harness.one("Produce");
    let values: Vec<&str> = produce_data(&retry)
        .records
        .records
        .iter()
        .map(|r| r.value.as_ref().and_then(Data::as_str).expect("text"))
        .collect();
    // "a" is retried after "b" was written: the reordering Kafka allows here.
    assert_eq!(values, vec!["a"]);
    assert_eq!(produce_data(&retry).records.producer, None);
}

#[test]
fn retries_of_a_partition_go_out_again_in_sequence_order() {
    let mut harness = Harness::ready();
    harness.send(0, "a");
    let first = harness.one("Produce");
    harness.send(0, "b");
    let second = harness.one("Produce");
    harness.answer_produce(&first, ErrorCode::NotLeaderOrFollower, -1);
    harness.answer_produce(&second, ErrorCode::NotLeaderOrFollower, -1);
    harness.tick_at(100);
    let retry_a = harness.one("Produce");
    assert_eq!(numbered(&retry_a), (0, 0, vec!["a".to_string()]));
    harness.answer_produce(&retry_a, ErrorCode::None, 0);
    let retry_b = harness.one("Produce");
    assert_eq!(numbered(&retry_b), (0, 1, vec!["b".to_string()]));
}

#[test]
fn batches_that_lose_their_sequence_one_by_one_are_renumbered_in_the_order_they_were_made() {
    let mut harness = Harness::ready();
    let tokens: Vec<Token> = ["a", "b", "c"].iter().map(|v| harness.send(0, v)).collect();
    let sent = harness.all("Produce");
    assert_eq!(sent.len(), 3, "three batches in flight");
    // The broker lost "a" and refuses each batch as out of order, one answer
    // at a time: "a" bumps the epoch, and "b" and "c" come back stale.
    for produce in &sent {
        harness.answer_produce(produce, ErrorCode::OutOfOrderSequenceNumber, -1);
    }
    let mut resent = Vec::new();
    for at in [100, 200, 300] {
        harness.tick_at(at);
        for produce in harness.all("Produce") {
            resent.push(numbered(&produce));
            harness.answer_produce(&produce, ErrorCode::None, resent.len() as i64 - 1);
        }
    }
    let values = |v: &str| vec![v.to_string()];
    assert_eq!(
        resent,
        vec![
            (1, 0, values("a")),
            (1, 1, values("b")),
            (1, 2, values("c"))
        ],
        "renumbered in the order they were sent, never reversed"
    );
    for (offset_of, token) in tokens.into_iter().enumerate() {
        assert_eq!(offset(harness.outcome(token)), offset_of as i64);
    }
}

/// `standard` seed 9718 once wrote records twice: a batch of one partition
/// whose earlier attempt had been appended (and its answer lost) was refused
/// as out of order because the broker had forgotten it; the epoch had just
/// been bumped for another partition's failed batch, and the producer numbered
/// the refused batch and the one after it again, so the broker wrote them as
/// new. Only the partition whose next batch was refused is numbered again.
#[test]
fn out_of_order_after_another_partition_bumped_the_epoch_is_retried_as_it_is() {
    let mut harness = Harness::ready();
    harness.send(1, "a");
    let a = harness.one("Produce");
    harness.send(1, "b");
    let b = harness.one("Produce");
    harness.answer_produce(&b, ErrorCode::None, 11); // "a" is still pending
    harness.send(0, "x");
    let x = harness.one("Produce");
    harness.answer_produce(&x, ErrorCode::InvalidRequiredAcks, -1);
    harness.tick_at(100);
    harness.no("Produce"); // "x" failed for good: the epoch moves to 1
                           // "a" was written, but the broker has forgotten it: out of order.
    harness.answer_produce(&a, ErrorCode::OutOfOrderSequenceNumber, -1);
    harness.tick_at(200);
    let retry = harness.one("Produce");
    assert_eq!(
        numbered(&retry),
        (0, 0, vec!["a".to_string()]),
        "the same epoch and sequence, so a broker that has it answers DUPLICATE"
    );
}

/// Kafka's `KafkaProducer.configureDeliveryTimeout`: a `delivery.timeout.ms`
/// the user set below `linger.ms + request.timeout.ms` is refused; the
/// default is raised to it instead.
#[test]
fn delivery_timeout_must_cover_linger_and_request_timeouts() {
    let mut config = ProducerConfig::new(vec![LEADER]);
    config.set("request.timeout.ms", "200000").expect("valid");
    assert_eq!(config.delivery_timeout_ms, 200_005, "the default gives way");
    assert_eq!(config.validate(), Ok(()));
    config
        .set("delivery.timeout.ms", "100000")
        .expect("a number");
    let refused = config.validate().expect_err("set below the floor");
    assert_eq!(refused.key, "delivery.timeout.ms");
    assert!(ProducerCore::new(config).is_err());
}
