//! One message of every API, both ways, and the events nodes emit: each reads
//! as one line of Kafka's words, with none of Rust's `Debug` syntax and no
//! integer standing in for "no bound".

use super::{message, EventText};
use kafkasim::client::admin::AdminOutcome;
use kafkasim::client::consumer::{ConsumerOutcome, ConsumerRecord};
use kafkasim::client::producer::{RecordMetadata, SendOutcome};
use kafkasim::client::{ClientError, Completion};
use kafkasim::config::TopicConfig;
use kafkasim::error::ErrorCode;
use kafkasim::event::ClusterEvent;
use kafkasim::group::coordinator::{GroupEvent, RemovalReason};
use kafkasim::ids::TopicPartition;
use kafkasim::metadata::{BrokerInfo, MetadataImage, PartitionInfo, TopicInfo};
use kafkasim::protocol::*;
use kafkasim::record::{ProducerIdentity, RecordBatch};
use std::collections::{BTreeMap, BTreeSet};

fn orders(partition: i32) -> TopicPartition {
    TopicPartition::new("orders", partition)
}

/// A batch as a producer sends it, idempotent.
fn batch() -> RecordBatch {
    let mut batch = RecordBatch::from_values(&["Alice", "Bob"]);
    batch.producer = Some(ProducerIdentity {
        producer_id: 1000,
        producer_epoch: 0,
        base_sequence: 4,
    });
    batch
}

fn subscription() -> Subscription {
    Subscription {
        topics: vec!["orders".into()],
        owned_partitions: vec![orders(0)],
        generation_id: 2,
    }
}

fn requests() -> Vec<Request> {
    vec![
        Request::Metadata(MetadataRequest { topics: None }),
        Request::Metadata(MetadataRequest {
            topics: Some(vec!["orders".into()]),
        }),
        Request::CreateTopics(CreateTopicsRequest {
            topics: vec![CreatableTopic {
                name: "orders".into(),
                num_partitions: 3,
                replication_factor: 3,
                configs: BTreeMap::from([("min.insync.replicas".into(), "2".into())]),
            }],
            timeout_ms: 30_000,
        }),
        Request::Produce(ProduceRequest {
            acks: Acks::All,
            timeout_ms: u64::MAX,
            partitions: vec![PartitionProduceData {
                partition: orders(0),
                current_leader_epoch: Some(3),
                records: batch(),
            }],
        }),
        Request::Fetch(FetchRequest {
            replica_id: 2,
            replica_epoch: 7,
            max_wait_ms: 500,
            min_bytes: 1,
            max_bytes: usize::MAX,
            partitions: (0..9)
                .map(|p| FetchPartition {
                    partition: orders(p),
                    current_leader_epoch: if p == 0 { None } else { Some(1) },
                    fetch_offset: 12,
                    partition_max_bytes: 1 << 20,
                })
                .collect(),
        }),
        Request::ListOffsets(ListOffsetsRequest {
            replica_id: CONSUMER_REPLICA_ID,
            partitions: vec![ListOffsetsPartition {
                partition: orders(0),
                current_leader_epoch: None,
                timestamp: EARLIEST_TIMESTAMP,
            }],
        }),
        Request::OffsetsForLeaderEpoch(OffsetsForLeaderEpochRequest {
            replica_id: 2,
            partitions: vec![OffsetForLeaderPartition {
                partition: orders(0),
                current_leader_epoch: 4,
                leader_epoch: 3,
            }],
        }),
        Request::InitProducerId(InitProducerIdRequest {
            transactional_id: None,
            transaction_timeout_ms: 60_000,
        }),
        Request::ElectLeaders(ElectLeadersRequest {
            election_type: ElectionType::Preferred,
            partitions: None,
            timeout_ms: 30_000,
        }),
        Request::AlterPartition(AlterPartitionRequest {
            broker_id: 1,
            broker_epoch: 3,
            partitions: vec![AlterPartitionData {
                partition: orders(0),
                leader_epoch: 2,
                new_isr: vec![1, 2],
                new_isr_broker_epochs: vec![3, -1],
                partition_epoch: 5,
            }],
        }),
        Request::FindCoordinator(FindCoordinatorRequest {
            key: "group-1".into(),
        }),
        Request::JoinGroup(JoinGroupRequest {
            group_id: "group-1".into(),
            session_timeout_ms: 45_000,
            rebalance_timeout_ms: 300_000,
            member_id: UNKNOWN_MEMBER_ID.into(),
            group_instance_id: Some("app-1".into()),
            protocol_type: "consumer".into(),
            protocols: vec![JoinGroupRequestProtocol {
                name: "range".into(),
                metadata: subscription(),
            }],
        }),
        Request::SyncGroup(SyncGroupRequest {
            group_id: "group-1".into(),
            generation_id: 3,
            member_id: "client-7-1".into(),
            group_instance_id: None,
            assignments: vec![SyncGroupRequestAssignment {
                member_id: "client-7-1".into(),
                assignment: Assignment {
                    partitions: vec![orders(0), orders(1)],
                },
            }],
        }),
        Request::Heartbeat(HeartbeatRequest {
            group_id: "group-1".into(),
            generation_id: 3,
            member_id: "client-7-1".into(),
            group_instance_id: None,
        }),
        Request::LeaveGroup(LeaveGroupRequest {
            group_id: "group-1".into(),
            members: vec![MemberIdentity {
                member_id: "client-7-1".into(),
                group_instance_id: None,
            }],
        }),
        Request::OffsetCommit(OffsetCommitRequest {
            group_id: "group-1".into(),
            generation_id: NO_GENERATION,
            member_id: "client-7-1".into(),
            group_instance_id: None,
            partitions: vec![OffsetCommitRequestPartition {
                partition: orders(0),
                committed_offset: 5,
                committed_leader_epoch: Some(0),
                committed_metadata: None,
            }],
        }),
        Request::OffsetFetch(OffsetFetchRequest {
            group_id: "group-1".into(),
            partitions: Some(vec![orders(0)]),
        }),
        Request::BrokerRegistration(BrokerRegistrationRequest {
            broker_id: 2,
            incarnation_id: 1,
            listener: "broker-2:9092".into(),
        }),
        Request::BrokerHeartbeat(BrokerHeartbeatRequest {
            broker_id: 2,
            broker_epoch: 1,
            current_metadata_offset: 6,
        }),
        Request::ClusterMetadataFetch(ClusterMetadataFetchRequest {
            broker_id: 1,
            known_version: 5,
            max_wait_ms: 500,
        }),
        Request::DeleteTopics(DeleteTopicsRequest {
            topic_names: vec!["orders".into(), "payments".into()],
            timeout_ms: 30_000,
        }),
    ]
}

/// An image with a fenced broker and a topic whose partition has no leader.
fn image() -> MetadataImage {
    let brokers = (1..=3)
        .map(|id| {
            let info = BrokerInfo {
                broker_id: id,
                broker_epoch: id as i64,
                incarnation_id: 1,
                listener: format!("broker-{id}:9092"),
                fenced: id == 3,
            };
            (id, info)
        })
        .collect();
    let partition = PartitionInfo {
        partition: 0,
        replicas: vec![1, 2, 3],
        isr: vec![1],
        elr: vec![],
        leader: None,
        leader_epoch: 4,
        partition_epoch: 9,
    };
    let topic = TopicInfo {
        name: "orders".into(),
        config: TopicConfig::default(),
        partitions: vec![partition],
    };
    MetadataImage {
        version: 5,
        brokers,
        topics: BTreeMap::from([("orders".into(), topic)]),
    }
}

fn metadata_response() -> MetadataResponse {
    MetadataResponse {
        brokers: vec![MetadataResponseBroker {
            node_id: 1,
            listener: "broker-1:9092".into(),
        }],
        topics: vec![MetadataResponseTopic {
            error_code: ErrorCode::None,
            name: "orders".into(),
            partitions: vec![MetadataResponsePartition {
                error_code: ErrorCode::LeaderNotAvailable,
                partition_index: 0,
                leader_id: None,
                leader_epoch: 4,
                replica_nodes: vec![1, 2, 3],
                isr_nodes: vec![1],
            }],
        }],
        metadata_version: 6,
    }
}

fn placed_batch() -> RecordBatch {
    let mut batch = batch();
    batch.base_offset = 7;
    batch.partition_leader_epoch = 2;
    batch
}

fn responses() -> Vec<Response> {
    vec![
        Response::Metadata(metadata_response()),
        Response::CreateTopics(CreateTopicsResponse {
            topics: vec![CreatableTopicResult {
                name: "orders".into(),
                error_code: ErrorCode::TopicAlreadyExists,
                error_message: Some("Topic 'orders' already exists.".into()),
            }],
        }),
        Response::Produce(ProduceResponse {
            responses: vec![
                PartitionProduceResponse {
                    partition: orders(0),
                    error_code: ErrorCode::None,
                    base_offset: 7,
                    log_start_offset: 0,
                },
                PartitionProduceResponse {
                    partition: orders(1),
                    error_code: ErrorCode::NotLeaderOrFollower,
                    base_offset: -1,
                    log_start_offset: -1,
                },
            ],
        }),
        Response::Fetch(FetchResponse {
            error_code: ErrorCode::None,
            responses: vec![
                FetchablePartitionResponse {
                    partition: orders(0),
                    error_code: ErrorCode::None,
                    high_watermark: 9,
                    log_start_offset: 0,
                    records: vec![placed_batch()],
                },
                FetchablePartitionResponse {
                    partition: orders(1),
                    error_code: ErrorCode::FencedLeaderEpoch,
                    high_watermark: -1,
                    log_start_offset: -1,
                    records: vec![],
                },
            ],
        }),
        Response::ListOffsets(ListOffsetsResponse {
            partitions: vec![ListOffsetsPartitionResponse {
                partition: orders(0),
                error_code: ErrorCode::None,
                offset: 0,
                leader_epoch: 2,
            }],
        }),
        Response::OffsetsForLeaderEpoch(OffsetsForLeaderEpochResponse {
            partitions: vec![EpochEndOffset {
                partition: orders(0),
                error_code: ErrorCode::None,
                leader_epoch: UNDEFINED_EPOCH,
                end_offset: UNDEFINED_EPOCH_OFFSET,
            }],
        }),
        Response::InitProducerId(InitProducerIdResponse {
            error_code: ErrorCode::None,
            producer_id: 1000,
            producer_epoch: 0,
        }),
        Response::ElectLeaders(ElectLeadersResponse {
            error_code: ErrorCode::None,
            results: vec![PartitionElectionResult {
                partition: orders(0),
                error_code: ErrorCode::ElectionNotNeeded,
                error_message: None,
            }],
        }),
        Response::AlterPartition(AlterPartitionResponse {
            error_code: ErrorCode::None,
            partitions: vec![AlterPartitionResult {
                partition: orders(0),
                error_code: ErrorCode::None,
                leader_id: Some(1),
                leader_epoch: 2,
                isr: vec![1, 2],
                partition_epoch: 6,
            }],
        }),
        Response::FindCoordinator(FindCoordinatorResponse {
            error_code: ErrorCode::None,
            error_message: None,
            node_id: 2,
        }),
        Response::JoinGroup(JoinGroupResponse {
            error_code: ErrorCode::None,
            generation_id: 3,
            protocol_name: Some("range".into()),
            leader: "client-7-1".into(),
            member_id: "client-7-1".into(),
            members: vec![JoinGroupResponseMember {
                member_id: "client-7-1".into(),
                group_instance_id: None,
                metadata: subscription(),
            }],
        }),
        Response::SyncGroup(SyncGroupResponse {
            error_code: ErrorCode::None,
            assignment: Assignment {
                partitions: vec![orders(0)],
            },
        }),
        Response::Heartbeat(HeartbeatResponse {
            error_code: ErrorCode::RebalanceInProgress,
        }),
        Response::LeaveGroup(LeaveGroupResponse {
            error_code: ErrorCode::None,
        }),
        Response::OffsetCommit(OffsetCommitResponse {
            partitions: vec![OffsetCommitResponsePartition {
                partition: orders(0),
                error_code: ErrorCode::IllegalGeneration,
            }],
        }),
        Response::OffsetFetch(OffsetFetchResponse {
            error_code: ErrorCode::None,
            partitions: vec![OffsetFetchResponsePartition {
                partition: orders(0),
                committed_offset: -1,
                committed_leader_epoch: None,
                metadata: None,
                error_code: ErrorCode::None,
            }],
        }),
        Response::BrokerRegistration(BrokerRegistrationResponse {
            error_code: ErrorCode::None,
            broker_epoch: 3,
        }),
        Response::BrokerHeartbeat(BrokerHeartbeatResponse {
            error_code: ErrorCode::None,
            is_fenced: true,
        }),
        Response::ClusterMetadataFetch(ClusterMetadataFetchResponse { image: None }),
        Response::ClusterMetadataFetch(ClusterMetadataFetchResponse {
            image: Some(image()),
        }),
        Response::DeleteTopics(DeleteTopicsResponse {
            responses: vec![
                DeletableTopicResult {
                    name: "orders".into(),
                    error_code: ErrorCode::None,
                    error_message: None,
                },
                DeletableTopicResult {
                    name: "payments".into(),
                    error_code: ErrorCode::UnknownTopicOrPartition,
                    error_message: None,
                },
            ],
        }),
    ]
}

/// What no line may show: Rust's `Debug` syntax, or `u64::MAX`/`usize::MAX`
/// standing for "no bound".
fn assert_readable(line: &str) {
    for debug in [
        "Some(",
        "None",
        "{",
        "}",
        "Ok(",
        "Err(",
        "18446744073709551615",
    ] {
        assert!(!line.contains(debug), "{debug:?} in: {line}");
    }
    assert!(!line.contains('\n'), "one line: {line}");
}

#[test]
fn every_request_and_response_reads_as_one_line_naming_its_api() {
    let mut requests_told = BTreeSet::new();
    for (i, request) in requests().into_iter().enumerate() {
        let api = request.api_name();
        let line = message(&Message::Request {
            correlation_id: i as u64,
            request,
        });
        assert_readable(&line);
        let start = format!("{api} request (correlation {i})");
        assert!(line.starts_with(&start), "{line}");
        requests_told.insert(api);
    }
    let mut responses_told = BTreeSet::new();
    for (i, response) in responses().into_iter().enumerate() {
        let api = response.api_name();
        let line = message(&Message::Response {
            correlation_id: i as u64,
            response,
        });
        assert_readable(&line);
        let start = format!("{api} response (correlation {i})");
        assert!(line.starts_with(&start), "{line}");
        responses_told.insert(api);
    }
    let every: BTreeSet<&str> = API_NAMES.into_iter().collect();
    assert_eq!(requests_told, every, "a request of every API");
    assert_eq!(responses_told, every, "a response of every API");
}

fn request_line(request: Request) -> String {
    message(&Message::Request {
        correlation_id: 4,
        request,
    })
}

fn response_line(response: Response) -> String {
    message(&Message::Response {
        correlation_id: 4,
        response,
    })
}

#[test]
fn a_produce_request_names_acks_the_producer_and_the_values() {
    let line = request_line(requests().swap_remove(3));
    assert_eq!(
        line,
        "Produce request (correlation 4): acks=all, timeout no deadline, orders-0: 1 batch, \
         base sequence 4, producer id 1000 epoch 0, current_leader_epoch 3, [Alice, Bob]"
    );
}

#[test]
fn a_replica_fetch_names_its_offsets_and_counts_what_it_does_not_name() {
    let line = request_line(requests().swap_remove(4));
    assert!(
        line.starts_with(
            "Fetch request (correlation 4): replica 2 (broker epoch 7), max wait 500 ms, \
             min_bytes 1: orders-0 fetch_offset 12; orders-1 fetch_offset 12, \
             current_leader_epoch 1;"
        ),
        "{line}"
    );
    assert!(
        line.ends_with("; +3 more"),
        "nine partitions, six named: {line}"
    );
}

#[test]
fn a_fetch_response_tells_records_high_watermarks_and_errors() {
    let line = response_line(responses().swap_remove(3));
    assert_eq!(
        line,
        "Fetch response (correlation 4): orders-0 high_watermark 9, log_start_offset 0, \
         2 records from offset 7 (leader epoch 2) [Alice, Bob]; orders-1 FENCED_LEADER_EPOCH"
    );
}

#[test]
fn a_delete_topics_names_each_topic_and_its_answer() {
    let request = (requests().into_iter())
        .find(|r| matches!(r, Request::DeleteTopics(_)))
        .expect("listed");
    assert_eq!(
        request_line(request),
        "DeleteTopics request (correlation 4): topics orders, payments"
    );
    let response = (responses().into_iter())
        .find(|r| matches!(r, Response::DeleteTopics(_)))
        .expect("listed");
    assert_eq!(
        response_line(response),
        "DeleteTopics response (correlation 4): orders deleted, payments UNKNOWN_TOPIC_OR_PARTITION"
    );
}

#[test]
fn a_metadata_image_is_summarized() {
    let image = (responses().into_iter())
        .find(|r| matches!(r, Response::ClusterMetadataFetch(f) if f.image.is_some()))
        .expect("the image");
    let line = response_line(image);
    assert_eq!(
        line,
        "ClusterMetadataFetch response (correlation 4): image version 5, 3 brokers \
         (broker-3 fenced), 1 topic (orders: 1 partition)"
    );
}

#[test]
fn a_partition_without_a_leader_says_so() {
    let line = response_line(Response::Metadata(metadata_response()));
    assert_eq!(
        line,
        "Metadata response (correlation 4): metadata version 6, brokers [1], orders-0 no \
         leader, leader_epoch 4, replicas [1,2,3], ISR [1] LEADER_NOT_AVAILABLE"
    );
}

fn cluster_events() -> Vec<ClusterEvent> {
    vec![
        ClusterEvent::BrokerRegistered {
            broker: 1,
            broker_epoch: 3,
        },
        ClusterEvent::LeaderElected {
            partition: orders(0),
            leader: None,
            leader_epoch: 2,
            isr: vec![1],
            elr: vec![],
            unclean: false,
        },
        ClusterEvent::BecameFollower {
            broker: 2,
            partition: orders(0),
            leader: 1,
            leader_epoch: 2,
        },
        ClusterEvent::Appended {
            broker: 1,
            partition: orders(0),
            base_offset: 7,
            records: 2,
        },
        ClusterEvent::HighWatermark {
            broker: 1,
            partition: orders(0),
            high_watermark: 9,
        },
        ClusterEvent::Group(GroupEvent::MemberRemoved {
            group: "group-1".into(),
            member_id: "client-7-1".into(),
            reason: RemovalReason::SessionTimeout,
        }),
        ClusterEvent::Group(GroupEvent::PartitionUnloaded {
            partition: 2,
            groups: vec![],
        }),
    ]
}

#[test]
fn every_event_reads_as_one_line() {
    let mut lines: Vec<String> = cluster_events().iter().map(EventText::text).collect();
    let error = ClientError::Broker {
        code: ErrorCode::NotEnoughReplicas,
        message: String::new(),
    };
    let sent: Vec<SendOutcome> = vec![
        Ok(RecordMetadata {
            partition: orders(0),
            offset: 7,
        }),
        Ok(RecordMetadata {
            partition: orders(0),
            offset: -1,
        }),
        Err(error.clone()),
    ];
    for outcome in sent {
        lines.push(Completion { token: 3, outcome }.text());
    }
    let record = ConsumerRecord {
        partition: orders(0),
        offset: 7,
        leader_epoch: 2,
        key: Some("a".into()),
        value: Some("Alice".into()),
        headers: Vec::new(),
        timestamp_ms: 10,
    };
    for outcome in [
        ConsumerOutcome::Poll(Ok(vec![record])),
        ConsumerOutcome::Poll(Ok(vec![])),
        ConsumerOutcome::Commit(Err(error.clone())),
        ConsumerOutcome::Close,
    ] {
        lines.push(Completion { token: 4, outcome }.text());
    }
    for outcome in [
        AdminOutcome::Describe(Ok(metadata_response())),
        AdminOutcome::CreateTopics(Err(error)),
    ] {
        lines.push(Completion { token: 5, outcome }.text());
    }
    for line in &lines {
        assert_readable(line);
    }
    assert_eq!(
        lines[3],
        "broker-1 appended 2 records to orders-0 at offset 7"
    );
    assert_eq!(lines[7], "send (call 3) acknowledged: orders-0 offset 7");
    assert_eq!(lines[9], "send (call 3) failed: NOT_ENOUGH_REPLICAS");
    assert_eq!(
        lines[10],
        "poll (call 4) returned 1 record: orders-0@7 a: Alice"
    );
}
