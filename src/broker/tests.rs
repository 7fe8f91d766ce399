use super::*;
use crate::config::ControllerConfig;
use crate::controller::Controller;
use crate::disk::{CrashKind, PageCache};
use crate::error::ErrorCode;
use crate::ids::{LeaderEpoch, Offset};
use crate::metadata::{BrokerInfo, PartitionInfo, TopicInfo};
use crate::record::RecordBatch;

mod replication;

const CLIENT: Peer = Peer {
    node: NodeId::Client(1),
    connection: 100,
};
/// Broker 1's connection as the controller sees it, and the reverse.
const BROKER_1_AT_CONTROLLER: Peer = Peer {
    node: NodeId::Broker(1),
    connection: 1,
};
const CONTROLLER_AT_BROKER_1: Peer = Peer {
    node: NodeId::Controller,
    connection: 1,
};
/// A second broker the tests play by hand at the controller; it leads `orders-1`.
const BROKER_2_AT_CONTROLLER: Peer = Peer {
    node: NodeId::Broker(2),
    connection: 2,
};

type Effects = Vec<Effect<ClusterEvent>>;

fn orders(partition: i32) -> TopicPartition {
    TopicPartition::new("orders", partition)
}

/// A real controller and broker 1, with a tiny relay carrying messages between
/// them. Replies to anyone else and events land in `outbox`, in order.
struct Cluster {
    now_ms: u64,
    controller: Controller,
    broker: Broker,
    broker_config: BrokerConfig,
    next_correlation_id: CorrelationId,
    outbox: Effects,
    /// The broker epoch of the hand-played broker 2.
    broker_2_epoch: i64,
}

impl Cluster {
    /// Broker 1 and a hand-played broker 2 are live; topic `orders` has two
    /// partitions with replication factor 1: broker 1 leads `orders-0`, broker 2
    /// leads `orders-1`.
    fn start(broker_config: BrokerConfig) -> Self {
        let mut cluster = Cluster {
            now_ms: 0,
            controller: Controller::new(ControllerConfig::default(), Disk::default(), 0),
            broker: Broker::new(broker_config.clone(), Disk::default(), 0, 1),
            broker_config,
            next_correlation_id: 0,
            outbox: Vec::new(),
            broker_2_epoch: 0,
        };
        cluster.relay();
        let registration = Request::BrokerRegistration(BrokerRegistrationRequest {
            broker_id: 2,
            incarnation_id: 1,
            listener: "broker-2:9092".into(),
        });
        let Response::BrokerRegistration(r) =
            cluster.call_controller(BROKER_2_AT_CONTROLLER, registration)
        else {
            panic!("not a registration response");
        };
        cluster.broker_2_epoch = r.broker_epoch;
        cluster.heartbeat_broker_2();
        let create = Request::CreateTopics(CreateTopicsRequest {
            topics: vec![CreatableTopic {
                name: "orders".into(),
                num_partitions: 2,
                replication_factor: 1,
                configs: Default::default(),
            }],
            timeout_ms: 30_000,
        });
        cluster.call_controller(CLIENT, create);
        assert_eq!(cluster.leader_of(0), (Some(1), 0));
        assert_eq!(cluster.leader_of(1), (Some(2), 0));
        cluster.outbox.clear();
        cluster
    }

    fn default() -> Self {
        Cluster::start(BrokerConfig::new(1))
    }

    /// Delivers messages between the two nodes and runs their due timers until
    /// nothing moves.
    fn relay(&mut self) {
        let now = self.now_ms;
        for _round in 0..1_000 {
            let mut moved = false;
            for effect in self.broker.take_effects() {
                moved = true;
                match effect {
                    Effect::Send {
                        to: NodeId::Controller,
                        message,
                    } => {
                        self.controller
                            .on_message(now, BROKER_1_AT_CONTROLLER, message);
                        self.controller.invariants();
                    }
                    other => self.outbox.push(other),
                }
            }
            for effect in self.controller.take_effects() {
                moved = true;
                match effect {
                    Effect::Reply { to, message } if to == BROKER_1_AT_CONTROLLER => {
                        self.broker.on_message(now, CONTROLLER_AT_BROKER_1, message);
                        self.broker.invariants();
                    }
                    other => self.outbox.push(other),
                }
            }
            if self.broker.next_deadline_ms().is_some_and(|d| d <= now) {
                moved = true;
                self.broker.on_tick(now);
                self.broker.invariants();
            }
            if self.controller.next_deadline_ms().is_some_and(|d| d <= now) {
                moved = true;
                self.controller.on_tick(now);
                self.controller.invariants();
            }
            if !moved {
                return;
            }
        }
        panic!("the relay never settled");
    }

    /// Moves the clock to `target_ms`, firing every timer due on the way.
    fn advance_to(&mut self, target_ms: u64) {
        loop {
            let next = [
                self.broker.next_deadline_ms(),
                self.controller.next_deadline_ms(),
            ]
            .into_iter()
            .flatten()
            .min();
            match next {
                Some(next) if next <= target_ms => {
                    self.now_ms = next.max(self.now_ms);
                    self.relay();
                }
                _ => break,
            }
        }
        self.now_ms = target_ms;
        self.relay();
    }

    /// Sends a client request to broker 1; returns its correlation id.
    fn send(&mut self, request: Request) -> CorrelationId {
        let correlation_id = self.next_correlation_id;
        self.next_correlation_id += 1;
        let message = Message::Request {
            correlation_id,
            request,
        };
        self.broker.on_message(self.now_ms, CLIENT, message);
        self.broker.invariants();
        self.relay();
        correlation_id
    }

    /// Takes broker 1's answer to the client's request `correlation_id`, if sent.
    fn answer(&mut self, correlation_id: CorrelationId) -> Option<Response> {
        self.take_reply(CLIENT, correlation_id)
    }

    /// Sends a client request to broker 1 and expects an answer at once.
    fn call(&mut self, request: Request) -> Response {
        let correlation_id = self.send(request);
        self.answer(correlation_id).expect("answered at once")
    }

    fn take_reply(&mut self, to: Peer, correlation_id: CorrelationId) -> Option<Response> {
        let position = self.outbox.iter().position(|e| {
            matches!(e, Effect::Reply {
                to: peer,
                message: Message::Response { correlation_id: c, .. },
            } if *peer == to && *c == correlation_id)
        })?;
        match self.outbox.remove(position) {
            Effect::Reply {
                message: Message::Response { response, .. },
                ..
            } => Some(response),
            _ => unreachable!(),
        }
    }

    /// Sends a request straight to the controller (as broker 2 or an admin).
    fn call_controller(&mut self, from: Peer, request: Request) -> Response {
        let correlation_id = 1_000 + self.next_correlation_id;
        self.next_correlation_id += 1;
        let message = Message::Request {
            correlation_id,
            request,
        };
        self.controller.on_message(self.now_ms, from, message);
        self.controller.invariants();
        self.relay();
        self.take_reply(from, correlation_id)
            .expect("the controller answers at once")
    }

    /// The leader and leader epoch of `orders-<partition>` in broker 1's metadata.
    fn leader_of(&self, partition: i32) -> (Option<BrokerId>, LeaderEpoch) {
        let p = self.broker.image.partition(&orders(partition)).unwrap();
        (p.leader, p.leader_epoch)
    }

    fn events(&self) -> Vec<ClusterEvent> {
        self.outbox
            .iter()
            .filter_map(|e| match e {
                Effect::Emit(event) => Some(event.clone()),
                _ => None,
            })
            .collect()
    }

    fn log(&self) -> &Log {
        self.broker
            .log(&orders(0))
            .expect("broker 1 has a log of orders-0")
    }

    fn heartbeat_broker_2(&mut self) {
        let heartbeat = Request::BrokerHeartbeat(BrokerHeartbeatRequest {
            broker_id: 2,
            broker_epoch: self.broker_2_epoch,
            current_metadata_offset: 0,
        });
        self.call_controller(BROKER_2_AT_CONTROLLER, heartbeat);
    }

    /// Broker 1 goes down with `kind` and starts again on the same disk. Its
    /// new incarnation registers once the old one's session is over (the
    /// controller fences it after `broker.session.timeout.ms`), while broker 2
    /// keeps heartbeating.
    fn restart_broker(&mut self, kind: CrashKind) {
        // A throwaway broker stands in while the old one hands over its disk.
        let stand_in = Broker::new(self.broker_config.clone(), Disk::default(), self.now_ms, 0);
        let old = std::mem::replace(&mut self.broker, stand_in);
        let incarnation_id = old.incarnation_id() + 1;
        let mut disk = old.into_disk();
        disk.crash(kind, self.now_ms, PageCache::default());
        self.broker = Broker::new(
            self.broker_config.clone(),
            disk,
            self.now_ms,
            incarnation_id,
        );
        self.broker.invariants();
        self.controller
            .on_disconnect(self.now_ms, NodeId::Broker(1));
        self.controller.invariants();
        self.relay();
        let back_by = self.now_ms + ControllerConfig::default().broker_session_timeout_ms + 2_000;
        while self.now_ms < back_by {
            self.advance_to(self.now_ms + 1_000);
            self.heartbeat_broker_2();
        }
    }

    fn produce(&mut self, tp: TopicPartition, acks: Acks, values: &[&str]) -> CorrelationId {
        self.send(Request::Produce(ProduceRequest {
            acks,
            timeout_ms: 30_000,
            partitions: vec![PartitionProduceData {
                current_leader_epoch: None,
                partition: tp,
                records: RecordBatch::from_values(values),
            }],
        }))
    }

    /// Produces with `acks=1` and returns the partition's answer.
    fn produce_acked(&mut self, tp: TopicPartition, values: &[&str]) -> PartitionProduceResponse {
        let correlation_id = self.produce(tp, Acks::Leader, values);
        produced(
            self.answer(correlation_id)
                .expect("acks=1 is answered at once"),
        )
    }

    fn fetch(&mut self, fetch_offset: Offset, min_bytes: usize, max_wait_ms: u64) -> CorrelationId {
        self.send(fetch_request(
            orders(0),
            None,
            fetch_offset,
            min_bytes,
            max_wait_ms,
        ))
    }

    fn list_offset(&mut self, timestamp: i64) -> ListOffsetsPartitionResponse {
        let response = self.call(Request::ListOffsets(ListOffsetsRequest {
            replica_id: CONSUMER_REPLICA_ID,
            partitions: vec![ListOffsetsPartition {
                partition: orders(0),
                current_leader_epoch: None,
                timestamp,
            }],
        }));
        let Response::ListOffsets(mut r) = response else {
            panic!("not a ListOffsets response: {response:?}");
        };
        assert_eq!(r.partitions.len(), 1);
        r.partitions.remove(0)
    }
}

fn fetch_request(
    tp: TopicPartition,
    current_leader_epoch: Option<LeaderEpoch>,
    fetch_offset: Offset,
    min_bytes: usize,
    max_wait_ms: u64,
) -> Request {
    Request::Fetch(FetchRequest {
        replica_id: CONSUMER_REPLICA_ID,
        replica_epoch: -1,
        max_wait_ms,
        min_bytes,
        max_bytes: 1 << 20,
        partitions: vec![FetchPartition {
            partition: tp,
            current_leader_epoch,
            fetch_offset,
            partition_max_bytes: 1 << 20,
        }],
    })
}

fn produced(response: Response) -> PartitionProduceResponse {
    let Response::Produce(mut r) = response else {
        panic!("not a Produce response: {response:?}");
    };
    assert_eq!(r.responses.len(), 1);
    r.responses.remove(0)
}

fn fetched(response: Response) -> FetchablePartitionResponse {
    let Response::Fetch(mut r) = response else {
        panic!("not a Fetch response: {response:?}");
    };
    assert_eq!(r.error_code, ErrorCode::None);
    assert_eq!(r.responses.len(), 1);
    r.responses.remove(0)
}

/// The records of a fetch answer as (offset, value).
fn values(p: &FetchablePartitionResponse) -> Vec<(Offset, String)> {
    p.records
        .iter()
        .flat_map(|b| b.offset_records().map(|(o, r)| (o, r.value_text())))
        .collect()
}

// ---- Start-up and the controller link ---------------------------------------------

#[test]
fn a_starting_broker_registers_with_the_controller() {
    let mut broker = Broker::new(BrokerConfig::new(1), Disk::default(), 0, 1);
    broker.invariants();
    assert_eq!(
        broker.take_effects(),
        vec![Effect::Send {
            to: NodeId::Controller,
            message: Message::Request {
                correlation_id: 0,
                request: Request::BrokerRegistration(BrokerRegistrationRequest {
                    broker_id: 1,
                    incarnation_id: 1,
                    listener: "broker-1:9092".into(),
                }),
            },
        }]
    );
}

#[test]
fn a_registered_broker_heartbeats_with_its_epoch_and_fetches_metadata() {
    let mut broker = Broker::new(BrokerConfig::new(1), Disk::default(), 0, 1);
    broker.take_effects();
    let response = Response::BrokerRegistration(BrokerRegistrationResponse {
        error_code: ErrorCode::None,
        broker_epoch: 5,
    });
    let message = Message::Response {
        correlation_id: 0,
        response,
    };
    broker.on_message(10, CONTROLLER_AT_BROKER_1, message);
    broker.invariants();
    let requests: Vec<Request> = broker
        .take_effects()
        .into_iter()
        .map(|e| match e {
            Effect::Send {
                to: NodeId::Controller,
                message: Message::Request { request, .. },
            } => request,
            other => panic!("unexpected effect {other:?}"),
        })
        .collect();
    assert_eq!(
        requests,
        vec![
            Request::BrokerHeartbeat(BrokerHeartbeatRequest {
                broker_id: 1,
                broker_epoch: 5,
                current_metadata_offset: 0,
            }),
            Request::ClusterMetadataFetch(ClusterMetadataFetchRequest {
                broker_id: 1,
                known_version: 0,
                max_wait_ms: 500,
            }),
        ]
    );
}

#[test]
fn a_broker_leads_the_partitions_the_controller_gives_it() {
    let cluster = Cluster::default();
    assert!(cluster.broker.leading.contains_key(&orders(0)));
    assert!(!cluster.broker.leading.contains_key(&orders(1)));
    assert_eq!(cluster.log().log_end_offset(), 0);
    assert!(cluster.broker.log(&orders(1)).is_none());
}

#[test]
fn a_delete_topics_goes_to_the_controller_and_the_broker_drops_its_replica() {
    let mut cluster = Cluster::default();
    cluster.produce_acked(orders(0), &["a"]);
    let delete = Request::DeleteTopics(DeleteTopicsRequest {
        topic_names: vec!["orders".into(), "payments".into()],
        timeout_ms: 30_000,
    });
    let Response::DeleteTopics(r) = cluster.call(delete) else {
        panic!("not a DeleteTopics response");
    };
    let codes: Vec<ErrorCode> = r.responses.iter().map(|t| t.error_code).collect();
    assert_eq!(codes, [ErrorCode::None, ErrorCode::UnknownTopicOrPartition]);
    // The broker pulled the image without `orders`: its replica is gone.
    assert!(!cluster.broker.image.topics.contains_key("orders"));
    assert!(cluster.broker.log(&orders(0)).is_none());
    assert!(!cluster.broker.leading.contains_key(&orders(0)));
    let refused = cluster.produce(orders(0), Acks::Leader, &["b"]);
    let refused = produced(cluster.answer(refused).expect("answered at once"));
    assert_eq!(refused.error_code, ErrorCode::UnknownTopicOrPartition);
}

// ---- Produce --------------------------------------------------------------------

#[test]
fn produce_with_acks_1_answers_with_consecutive_base_offsets() {
    let mut cluster = Cluster::default();
    let first = cluster.produce_acked(orders(0), &["a", "b"]);
    assert_eq!(
        first,
        PartitionProduceResponse {
            partition: orders(0),
            error_code: ErrorCode::None,
            base_offset: 0,
            log_start_offset: 0,
        }
    );
    assert_eq!(
        cluster.events(),
        vec![
            ClusterEvent::Appended {
                broker: 1,
                partition: orders(0),
                base_offset: 0,
                records: 2,
            },
            ClusterEvent::HighWatermark {
                broker: 1,
                partition: orders(0),
                high_watermark: 2,
            },
        ]
    );
    let second = cluster.produce_acked(orders(0), &["c"]);
    assert_eq!(
        (second.error_code, second.base_offset),
        (ErrorCode::None, 2)
    );
    assert_eq!(cluster.log().log_end_offset(), 3);
}

#[test]
fn produce_with_acks_0_appends_but_sends_no_reply() {
    let mut cluster = Cluster::default();
    let correlation_id = cluster.produce(orders(0), Acks::None, &["a"]);
    assert_eq!(cluster.answer(correlation_id), None);
    assert_eq!(cluster.log().log_end_offset(), 1);
}

#[test]
fn produce_with_acks_all_and_one_replica_answers_once_the_high_watermark_covers_it() {
    let mut cluster = Cluster::default();
    let correlation_id = cluster.produce(orders(0), Acks::All, &["a", "b"]);
    let hw_moved = cluster.outbox.iter().position(|e| {
        e == &Effect::Emit(ClusterEvent::HighWatermark {
            broker: 1,
            partition: orders(0),
            high_watermark: 2,
        })
    });
    let answered = cluster
        .outbox
        .iter()
        .position(|e| matches!(e, Effect::Reply { to, .. } if *to == CLIENT));
    assert!(
        hw_moved.is_some() && hw_moved < answered,
        "{:?}",
        cluster.outbox
    );
    let response = produced(cluster.answer(correlation_id).unwrap());
    assert_eq!(
        (response.error_code, response.base_offset),
        (ErrorCode::None, 0)
    );
    assert_eq!(cluster.log().high_watermark(), 2);
}

#[test]
fn produce_to_a_partition_led_elsewhere_fails_with_not_leader_or_follower() {
    let mut cluster = Cluster::default();
    let response = cluster.produce_acked(orders(1), &["a"]);
    assert_eq!(
        (response.error_code, response.base_offset),
        (ErrorCode::NotLeaderOrFollower, -1)
    );
    assert!(cluster.broker.log(&orders(1)).is_none());
}

#[test]
fn produce_to_an_unknown_topic_fails_with_unknown_topic_or_partition() {
    let mut cluster = Cluster::default();
    let missing = TopicPartition::new("missing", 0);
    let response = cluster.produce_acked(missing.clone(), &["a"]);
    assert_eq!(
        (response.error_code, response.base_offset),
        (ErrorCode::UnknownTopicOrPartition, -1)
    );
    assert!(cluster.broker.log(&missing).is_none());
}

// ---- acks=all with a follower (a hand-built image) -----------------------------------

/// Broker 1 alone, given by hand an image in which it leads `orders-0` with
/// broker 2 as an in-sync follower (replication factor 2).
fn broker_leading_with_a_follower() -> Broker {
    let mut broker = Broker::new(BrokerConfig::new(1), Disk::default(), 0, 1);
    let answer = |broker: &mut Broker, correlation_id, response| {
        let message = Message::Response {
            correlation_id,
            response,
        };
        broker.on_message(0, CONTROLLER_AT_BROKER_1, message);
        broker.invariants();
        broker.take_effects()
    };
    broker.take_effects(); // registration, correlation id 0
    let registered = Response::BrokerRegistration(BrokerRegistrationResponse {
        error_code: ErrorCode::None,
        broker_epoch: 1,
    });
    answer(&mut broker, 0, registered); // heartbeat 1, metadata fetch 2
    let live = |broker_id| BrokerInfo {
        broker_id,
        broker_epoch: 1,
        incarnation_id: 1,
        listener: format!("broker-{broker_id}:9092"),
        fenced: false,
    };
    let topic = TopicInfo {
        name: "orders".into(),
        config: Default::default(),
        partitions: vec![PartitionInfo {
            partition: 0,
            replicas: vec![1, 2],
            isr: vec![1, 2],
            elr: vec![],
            leader: Some(1),
            leader_epoch: 0,
            partition_epoch: 0,
        }],
    };
    let image = MetadataImage {
        version: 3,
        brokers: [(1, live(1)), (2, live(2))].into(),
        topics: [("orders".to_string(), topic)].into(),
    };
    let fetched =
        Response::ClusterMetadataFetch(ClusterMetadataFetchResponse { image: Some(image) });
    answer(&mut broker, 2, fetched);
    assert!(broker.leading.contains_key(&orders(0)));
    broker
}

fn deliver(
    broker: &mut Broker,
    now_ms: u64,
    from: Peer,
    correlation_id: u64,
    request: Request,
) -> Vec<Response> {
    let message = Message::Request {
        correlation_id,
        request,
    };
    broker.on_message(now_ms, from, message);
    broker.invariants();
    client_replies(broker, from)
}

fn client_replies(broker: &mut Broker, to: Peer) -> Vec<Response> {
    broker
        .take_effects()
        .into_iter()
        .filter_map(|e| match e {
            Effect::Reply {
                to: peer,
                message: Message::Response { response, .. },
            } if peer == to => Some(response),
            _ => None,
        })
        .collect()
}

fn produce_all(timeout_ms: u64) -> Request {
    Request::Produce(ProduceRequest {
        acks: Acks::All,
        timeout_ms,
        partitions: vec![PartitionProduceData {
            current_leader_epoch: None,
            partition: orders(0),
            records: RecordBatch::from_values(&["a", "b"]),
        }],
    })
}

#[test]
fn an_acks_all_produce_waits_until_the_follower_has_the_batch() {
    let mut broker = broker_leading_with_a_follower();
    assert!(deliver(&mut broker, 0, CLIENT, 9, produce_all(30_000)).is_empty());
    assert_eq!(broker.log(&orders(0)).unwrap().high_watermark(), 0);

    // The follower fetches from offset 2: it has both records.
    let follower = Peer {
        node: NodeId::Broker(2),
        connection: 2,
    };
    let Request::Fetch(mut fetch) = fetch_request(orders(0), Some(0), 2, 0, 0) else {
        unreachable!()
    };
    fetch.replica_id = 2;
    let message = Message::Request {
        correlation_id: 4,
        request: Request::Fetch(fetch),
    };
    broker.on_message(10, follower, message);
    broker.invariants();
    assert_eq!(broker.log(&orders(0)).unwrap().high_watermark(), 2);
    let replies = client_replies(&mut broker, CLIENT);
    assert_eq!(replies.len(), 1);
    let response = produced(replies[0].clone());
    assert_eq!(
        (response.error_code, response.base_offset),
        (ErrorCode::None, 0)
    );
}

#[test]
fn an_acks_all_produce_times_out_when_the_follower_never_catches_up() {
    let mut broker = broker_leading_with_a_follower();
    assert!(deliver(&mut broker, 0, CLIENT, 9, produce_all(1_000)).is_empty());
    broker.on_tick(999);
    broker.invariants();
    assert!(client_replies(&mut broker, CLIENT).is_empty());
    broker.on_tick(1_000);
    broker.invariants();
    let replies = client_replies(&mut broker, CLIENT);
    assert_eq!(replies.len(), 1);
    let response = produced(replies[0].clone());
    assert_eq!(
        (response.error_code, response.base_offset),
        (ErrorCode::RequestTimedOut, -1)
    );
}

// ---- Fetch ----------------------------------------------------------------------

#[test]
fn a_fetch_below_the_high_watermark_is_answered_at_once_with_the_records() {
    let mut cluster = Cluster::default();
    cluster.produce_acked(orders(0), &["a", "b"]);
    cluster.produce_acked(orders(0), &["c"]);
    let correlation_id = cluster.fetch(1, 1, 500);
    let response = fetched(cluster.answer(correlation_id).expect("answered at once"));
    assert_eq!(response.error_code, ErrorCode::None);
    assert_eq!(
        values(&response),
        vec![(1, "b".to_string()), (2, "c".to_string())]
    );
    assert_eq!((response.high_watermark, response.log_start_offset), (3, 0));
}

#[test]
fn a_fetch_at_the_log_end_waits_for_new_data() {
    let mut cluster = Cluster::default();
    let correlation_id = cluster.fetch(0, 1, 500);
    assert_eq!(cluster.answer(correlation_id), None);
    assert_eq!(cluster.broker.next_deadline_ms(), Some(500));

    cluster.advance_to(100);
    assert_eq!(cluster.answer(correlation_id), None);
    cluster.produce_acked(orders(0), &["a"]);
    let response = fetched(cluster.answer(correlation_id).expect("woken by the append"));
    assert_eq!(values(&response), vec![(0, "a".to_string())]);
    assert_eq!(response.high_watermark, 1);
}

#[test]
fn a_fetch_at_the_log_end_is_answered_empty_at_its_max_wait() {
    let mut cluster = Cluster::default();
    cluster.advance_to(1_000);
    let correlation_id = cluster.fetch(0, 1, 100);
    cluster.advance_to(1_099);
    assert_eq!(cluster.answer(correlation_id), None);
    cluster.advance_to(1_100);
    let response = fetched(
        cluster
            .answer(correlation_id)
            .expect("answered at the deadline"),
    );
    assert_eq!(response.error_code, ErrorCode::None);
    assert!(response.records.is_empty());
    assert_eq!(response.high_watermark, 0);
}

#[test]
fn a_fetch_beyond_the_log_end_fails_with_offset_out_of_range() {
    let mut cluster = Cluster::default();
    cluster.produce_acked(orders(0), &["a"]);
    let correlation_id = cluster.fetch(2, 1, 500);
    let response = fetched(cluster.answer(correlation_id).expect("answered at once"));
    assert_eq!(response.error_code, ErrorCode::OffsetOutOfRange);
    assert!(response.records.is_empty());
}

#[test]
fn a_fetch_with_an_older_leader_epoch_is_fenced_and_a_newer_one_is_unknown() {
    let mut cluster = Cluster::default();
    cluster.produce_acked(orders(0), &["a"]);
    // A restart makes the controller move leadership away and back: epoch 0 -> 2.
    cluster.restart_broker(CrashKind::ProcessCrash);
    assert_eq!(cluster.leader_of(0), (Some(1), 2));

    let fetch_in_epoch = |cluster: &mut Cluster, epoch| {
        let request = fetch_request(orders(0), Some(epoch), 0, 1, 500);
        fetched(cluster.call(request))
    };
    let stale = fetch_in_epoch(&mut cluster, 0);
    assert_eq!(stale.error_code, ErrorCode::FencedLeaderEpoch);
    assert!(stale.records.is_empty());
    let ahead = fetch_in_epoch(&mut cluster, 3);
    assert_eq!(ahead.error_code, ErrorCode::UnknownLeaderEpoch);
    let current = fetch_in_epoch(&mut cluster, 2);
    assert_eq!(current.error_code, ErrorCode::None);
    assert_eq!(values(&current), vec![(0, "a".to_string())]);
}

// ---- ListOffsets and Metadata ---------------------------------------------------------

#[test]
fn list_offsets_answers_the_log_start_for_earliest_and_the_high_watermark_for_latest() {
    let mut cluster = Cluster::default();
    assert_eq!(cluster.list_offset(LATEST_TIMESTAMP).offset, 0);
    cluster.produce_acked(orders(0), &["a", "b", "c"]);
    assert_eq!(
        cluster.list_offset(EARLIEST_TIMESTAMP),
        ListOffsetsPartitionResponse {
            partition: orders(0),
            error_code: ErrorCode::None,
            offset: 0,
            leader_epoch: 0,
        }
    );
    assert_eq!(
        cluster.list_offset(LATEST_TIMESTAMP),
        ListOffsetsPartitionResponse {
            partition: orders(0),
            error_code: ErrorCode::None,
            offset: 3,
            leader_epoch: 0,
        }
    );
}

#[test]
fn metadata_lists_live_brokers_and_partition_leaders() {
    let mut cluster = Cluster::default();
    // Broker 3 registers but never heartbeats: it stays fenced and is not listed.
    let registration = Request::BrokerRegistration(BrokerRegistrationRequest {
        broker_id: 3,
        incarnation_id: 1,
        listener: "broker-3:9092".into(),
    });
    let broker_3 = Peer {
        node: NodeId::Broker(3),
        connection: 3,
    };
    cluster.call_controller(broker_3, registration);
    assert!(cluster.broker.image.brokers.contains_key(&3));

    let Response::Metadata(response) =
        cluster.call(Request::Metadata(MetadataRequest { topics: None }))
    else {
        panic!("not a Metadata response");
    };
    let broker = |node_id| MetadataResponseBroker {
        node_id,
        listener: format!("broker-{node_id}:9092"),
    };
    assert_eq!(response.brokers, vec![broker(1), broker(2)]);
    let partition = |index, leader| MetadataResponsePartition {
        error_code: ErrorCode::None,
        partition_index: index,
        leader_id: Some(leader),
        leader_epoch: 0,
        replica_nodes: vec![leader],
        isr_nodes: vec![leader],
    };
    assert_eq!(
        response.topics,
        vec![MetadataResponseTopic {
            error_code: ErrorCode::None,
            name: "orders".into(),
            partitions: vec![partition(0, 1), partition(1, 2)],
        }]
    );
    assert_eq!(
        response.metadata_version,
        cluster.controller.image().version
    );
}

#[test]
fn metadata_for_a_missing_topic_answers_unknown_topic_or_partition() {
    let mut cluster = Cluster::default();
    let request = Request::Metadata(MetadataRequest {
        topics: Some(vec!["missing".into(), "orders".into()]),
    });
    let Response::Metadata(response) = cluster.call(request) else {
        panic!("not a Metadata response");
    };
    let codes: Vec<(&str, ErrorCode, usize)> = response
        .topics
        .iter()
        .map(|t| (t.name.as_str(), t.error_code, t.partitions.len()))
        .collect();
    assert_eq!(
        codes,
        vec![
            ("missing", ErrorCode::UnknownTopicOrPartition, 0),
            ("orders", ErrorCode::None, 2),
        ]
    );
}

// ---- Crashes ----------------------------------------------------------------------

fn with_flush_interval(messages: Option<u64>) -> BrokerConfig {
    let mut config = BrokerConfig::new(1);
    config.log_flush_interval_messages = messages;
    config
}

/// Produces two batches, crashes broker 1 with `kind`, restarts it and returns
/// the records it still has.
fn records_after_crash(config: BrokerConfig, kind: CrashKind) -> Vec<(Offset, String)> {
    records_after_a_pause_and_crash(config, 0, kind)
}

/// Produces `[a, b]`, waits `pause_ms`, produces `[c]`, and crashes the broker
/// with `kind` right away; what it reads after its restart.
fn records_after_a_pause_and_crash(
    config: BrokerConfig,
    pause_ms: u64,
    kind: CrashKind,
) -> Vec<(Offset, String)> {
    let mut cluster = Cluster::start(config);
    cluster.produce_acked(orders(0), &["a", "b"]);
    cluster.advance_to(cluster.now_ms + pause_ms);
    cluster.produce_acked(orders(0), &["c"]);
    cluster.restart_broker(kind);
    assert_eq!(cluster.leader_of(0), (Some(1), 2), "broker 1 leads again");
    let log_end = cluster.log().log_end_offset();
    assert_eq!(cluster.list_offset(LATEST_TIMESTAMP).offset, log_end);
    let correlation_id = cluster.fetch(0, 0, 0);
    values(&fetched(
        cluster.answer(correlation_id).expect("min_bytes 0"),
    ))
}

fn abc() -> Vec<(Offset, String)> {
    vec![(0, "a".into()), (1, "b".into()), (2, "c".into())]
}

// ANCHOR: flush_tests
#[test]
fn a_process_crash_keeps_unflushed_records() {
    let records = records_after_crash(with_flush_interval(None), CrashKind::ProcessCrash);
    assert_eq!(records, abc());
}

#[test]
fn a_power_loss_loses_the_unflushed_tail() {
    let records = records_after_crash(with_flush_interval(None), CrashKind::PowerLoss);
    assert_eq!(records, vec![]);
}

#[test]
fn a_power_loss_keeps_records_flushed_on_every_message() {
    let records = records_after_crash(with_flush_interval(Some(1)), CrashKind::PowerLoss);
    assert_eq!(records, abc());
}

#[test]
fn a_power_loss_keeps_only_the_flushed_prefix_with_a_larger_flush_interval() {
    // Flush after 2 unflushed records: the first batch (2 records) is flushed,
    // the second (1 record) is not.
    let records = records_after_crash(with_flush_interval(Some(2)), CrashKind::PowerLoss);
    assert_eq!(records, vec![(0, "a".into()), (1, "b".into())]);
}

#[test]
fn a_power_loss_keeps_what_the_page_cache_wrote_back_on_its_own() {
    // Without any flush, the flusher (waking every 5 s) wrote `[a, b]` back
    // once it had been dirty for 30 s (Linux's defaults), before the power went
    // 40 s in. `[c]`, written just before the power went, was not.
    let records =
        records_after_a_pause_and_crash(with_flush_interval(None), 40_000, CrashKind::PowerLoss);
    assert_eq!(records, vec![(0, "a".into()), (1, "b".into())]);
}
// ANCHOR_END: flush_tests

#[test]
fn sorted_walks_agree_with_lookups() {
    use super::{sorted_disjoint, sorted_subset};
    let sets: [&[i32]; 6] = [&[], &[1], &[2], &[1, 3], &[1, 2, 3], &[0, 4]];
    for a in sets {
        for b in sets {
            assert_eq!(
                sorted_subset(a.iter(), b.iter()),
                a.iter().all(|x| b.contains(x)),
                "{a:?} in {b:?}"
            );
            assert_eq!(
                sorted_disjoint(a.iter(), b.iter()),
                a.iter().all(|x| !b.contains(x)),
                "{a:?} apart from {b:?}"
            );
        }
    }
}
