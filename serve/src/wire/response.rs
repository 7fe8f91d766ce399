//! The model's responses into Kafka's (as `kafka-protocol` encodes them).
//!
//! The model answers per partition; Kafka groups partitions by topic, in the
//! order the model answered them. Fields the model does not have get Kafka's
//! "not given" values (`-1`, empty, null).

use super::request::Pending;
use super::{groups, records, versions};
use bytes::{Bytes, BytesMut};
use kafka_protocol::messages::{self as wire, ApiKey, ResponseHeader, ResponseKind};
use kafka_protocol::protocol::{Encodable, StrBytes};
use kafkasim::ids::{BrokerId, TopicPartition};
use kafkasim::protocol::*;

/// What a response needs besides the model's answer.
pub struct Context<'a> {
    /// The broker answering: Metadata's `controller_id` (see `metadata`).
    pub broker: BrokerId,
    /// Each broker's advertised `host:port`, for FindCoordinator.
    pub listeners: &'a (dyn Fn(BrokerId) -> Option<(String, i32)> + Send + Sync),
}

fn s(text: impl Into<String>) -> StrBytes {
    StrBytes::from_string(text.into())
}

fn topic_name(name: &str) -> wire::TopicName {
    wire::TopicName(s(name))
}

/// Groups per-partition answers by topic, keeping the order topics first appear.
fn by_topic<T>(items: Vec<(TopicPartition, T)>) -> Vec<(String, Vec<(i32, T)>)> {
    let mut topics: Vec<(String, Vec<(i32, T)>)> = Vec::new();
    for (tp, item) in items {
        match topics.iter_mut().find(|(t, _)| *t == tp.topic) {
            Some((_, list)) => list.push((tp.partition, item)),
            None => topics.push((tp.topic, vec![(tp.partition, item)])),
        }
    }
    topics
}

/// Kafka's nesting of per-partition answers: one `topic` entry per topic, in
/// the order topics first appear, each holding its partitions' entries, made
/// by `partition` from the partition's index and the model's answer.
fn nested<T, P, W>(
    items: Vec<(TopicPartition, T)>,
    partition: impl Fn(i32, T) -> P,
    topic: impl Fn(wire::TopicName, Vec<P>) -> W,
) -> Vec<W> {
    (by_topic(items).into_iter())
        .map(|(name, parts)| {
            let parts = parts
                .into_iter()
                .map(|(index, item)| partition(index, item));
            topic(topic_name(&name), parts.collect())
        })
        .collect()
}

/// Splits `host:port` (the model's `advertised.listeners`).
pub fn parse_listener(listener: &str) -> Option<(String, i32)> {
    let (host, port) = listener.rsplit_once(':')?;
    Some((host.to_string(), port.parse().ok()?))
}

pub fn api_versions() -> wire::ApiVersionsResponse {
    let mut response = wire::ApiVersionsResponse::default();
    response.api_keys = versions::SUPPORTED
        .iter()
        .map(|&(api, min, max)| {
            let mut v = wire::api_versions_response::ApiVersion::default();
            v.api_key = api as i16;
            v.min_version = min;
            v.max_version = max;
            v
        })
        .collect();
    response
}

/// Frames the answer to `pending`: size, response header, body. An error is a
/// field set that the request's version lacks: a translation bug, which
/// closes that one connection rather than the server.
pub fn encode(pending: &Pending, response: &ResponseKind) -> Result<Bytes, String> {
    let mut buf = BytesMut::new();
    let mut header = ResponseHeader::default();
    header.correlation_id = pending.correlation_id;
    // ApiVersions answers always use header v0, so that a client that asked
    // in a version the server does not know can still read the answer.
    let header_version = match pending.api {
        ApiKey::ApiVersions => 0,
        api => api.response_header_version(pending.version),
    };
    header
        .encode(&mut buf, header_version)
        .map_err(|e| format!("{e:#}"))?;
    response
        .encode(&mut buf, pending.version)
        .map_err(|e| format!("{e:#}"))?;
    Ok(Bytes::from(super::super::frame::frame(&buf)))
}

pub fn from_model(response: Response, pending: &Pending, cx: &Context) -> ResponseKind {
    match response {
        Response::Metadata(r) => metadata(r, pending.version, cx),
        Response::CreateTopics(r) => {
            let mut out = wire::CreateTopicsResponse::default();
            out.topics = r
                .topics
                .into_iter()
                .map(|t| {
                    let mut result = wire::create_topics_response::CreatableTopicResult::default();
                    result.name = topic_name(&t.name);
                    result.error_code = t.error_code.code();
                    result.error_message = t.error_message.map(s);
                    result
                })
                .collect();
            ResponseKind::CreateTopics(out)
        }
        Response::DeleteTopics(r) => {
            let mut out = wire::DeleteTopicsResponse::default();
            out.responses = (r.responses.into_iter())
                .map(|t| {
                    let mut result = wire::delete_topics_response::DeletableTopicResult::default();
                    result.name = Some(topic_name(&t.name));
                    result.error_code = t.error_code.code();
                    // error_message is in v5 and later only.
                    if pending.version >= 5 {
                        result.error_message = t.error_message.map(s);
                    }
                    result
                })
                .collect();
            ResponseKind::DeleteTopics(out)
        }
        Response::Produce(r) => produce(r.responses, pending),
        Response::Fetch(r) => fetch(r, pending.version),
        Response::ListOffsets(r) => {
            let mut out = wire::ListOffsetsResponse::default();
            let items = r
                .partitions
                .into_iter()
                .map(|p| (p.partition.clone(), p))
                .collect();
            let partition = |index, p: ListOffsetsPartitionResponse| {
                let mut part = wire::list_offsets_response::ListOffsetsPartitionResponse::default();
                part.partition_index = index;
                part.error_code = p.error_code.code();
                part.timestamp = -1;
                part.offset = p.offset;
                if pending.version >= 4 {
                    part.leader_epoch = p.leader_epoch;
                }
                part
            };
            out.topics = nested(items, partition, |name, partitions| {
                let mut topic = wire::list_offsets_response::ListOffsetsTopicResponse::default();
                topic.name = name;
                topic.partitions = partitions;
                topic
            });
            ResponseKind::ListOffsets(out)
        }
        Response::InitProducerId(r) => {
            let mut out = wire::InitProducerIdResponse::default();
            out.error_code = r.error_code.code();
            out.producer_id = wire::ProducerId(r.producer_id);
            out.producer_epoch = r.producer_epoch;
            ResponseKind::InitProducerId(out)
        }
        Response::FindCoordinator(r) => {
            let mut out = wire::FindCoordinatorResponse::default();
            out.error_code = r.error_code.code();
            if pending.version >= 1 {
                out.error_message = r.error_message.map(s);
            }
            out.node_id = wire::BrokerId(r.node_id);
            let (host, port) = (cx.listeners)(r.node_id).unwrap_or_default();
            out.host = s(host);
            out.port = port;
            ResponseKind::FindCoordinator(out)
        }
        other => groups_response(other, pending.version),
    }
}

/// Kafka in KRaft mode names a random live broker as `controller_id`, since
/// clients cannot reach the controller and brokers forward its APIs to it. The
/// answering broker is live and forwards them, so it is named.
fn metadata(r: MetadataResponse, version: i16, cx: &Context) -> ResponseKind {
    let mut out = wire::MetadataResponse::default();
    out.brokers = r
        .brokers
        .iter()
        .filter_map(|b| {
            let (host, port) = parse_listener(&b.listener)?;
            let mut broker = wire::metadata_response::MetadataResponseBroker::default();
            broker.node_id = wire::BrokerId(b.node_id);
            broker.host = s(host);
            broker.port = port;
            Some(broker)
        })
        .collect();
    if version >= 2 {
        out.cluster_id = Some(s("kafkasim"));
    }
    out.controller_id = wire::BrokerId(cx.broker);
    out.topics = r
        .topics
        .into_iter()
        .map(|t| {
            let mut topic = wire::metadata_response::MetadataResponseTopic::default();
            topic.error_code = t.error_code.code();
            topic.is_internal = t.name == "__consumer_offsets";
            topic.name = Some(topic_name(&t.name));
            topic.partitions = t
                .partitions
                .into_iter()
                .map(|p| {
                    let mut part = wire::metadata_response::MetadataResponsePartition::default();
                    part.error_code = p.error_code.code();
                    part.partition_index = p.partition_index;
                    part.leader_id = wire::BrokerId(p.leader_id.unwrap_or(-1));
                    part.leader_epoch = p.leader_epoch;
                    part.replica_nodes = p.replica_nodes.into_iter().map(wire::BrokerId).collect();
                    part.isr_nodes = p.isr_nodes.into_iter().map(wire::BrokerId).collect();
                    part
                })
                .collect();
            topic
        })
        .collect();
    ResponseKind::Metadata(out)
}

/// The model's answers plus the partitions the edge refused.
pub fn produce(answers: Vec<PartitionProduceResponse>, pending: &Pending) -> ResponseKind {
    let mut items: Vec<(TopicPartition, (i16, i64, i64))> = answers
        .into_iter()
        .map(|p| {
            (
                p.partition,
                (p.error_code.code(), p.base_offset, p.log_start_offset),
            )
        })
        .collect();
    for (tp, code) in &pending.refused_partitions {
        items.push((tp.clone(), (*code, -1, -1)));
    }
    let mut out = wire::ProduceResponse::default();
    let partition = |index, (code, base_offset, log_start_offset)| {
        let mut part = wire::produce_response::PartitionProduceResponse::default();
        part.index = index;
        part.error_code = code;
        part.base_offset = base_offset;
        part.log_append_time_ms = -1;
        if pending.version >= 5 {
            part.log_start_offset = log_start_offset;
        }
        part
    };
    out.responses = nested(items, partition, |name, partitions| {
        let mut topic = wire::produce_response::TopicProduceResponse::default();
        topic.name = name;
        topic.partition_responses = partitions;
        topic
    });
    ResponseKind::Produce(out)
}

/// Fetch sessions (KIP-227) are not modelled: `session_id` 0 tells the client
/// none was made, and it keeps sending full fetches.
fn fetch(r: FetchResponse, version: i16) -> ResponseKind {
    let mut out = wire::FetchResponse::default();
    if version >= 7 {
        out.error_code = r.error_code.code();
    }
    out.session_id = 0;
    let items = r
        .responses
        .into_iter()
        .map(|p| (p.partition.clone(), p))
        .collect();
    let partition = |index, p: FetchablePartitionResponse| {
        let mut part = wire::fetch_response::PartitionData::default();
        part.partition_index = index;
        part.error_code = p.error_code.code();
        part.high_watermark = p.high_watermark;
        // No transactions: everything below the high watermark is stable.
        part.last_stable_offset = p.high_watermark;
        if version >= 5 {
            part.log_start_offset = p.log_start_offset;
        }
        part.aborted_transactions = Some(Vec::new());
        part.preferred_read_replica = wire::BrokerId(-1);
        part.records = Some(records::batches_to_wire(&p.records));
        part
    };
    out.responses = nested(items, partition, |name, partitions| {
        let mut topic = wire::fetch_response::FetchableTopicResponse::default();
        topic.topic = name;
        topic.partitions = partitions;
        topic
    });
    ResponseKind::Fetch(out)
}

pub fn join_group_error(code: i16) -> ResponseKind {
    let mut out = wire::JoinGroupResponse::default();
    out.error_code = code;
    out.generation_id = -1;
    ResponseKind::JoinGroup(out)
}

pub fn sync_group_error(code: i16) -> ResponseKind {
    let mut out = wire::SyncGroupResponse::default();
    out.error_code = code;
    ResponseKind::SyncGroup(out)
}

fn groups_response(response: Response, version: i16) -> ResponseKind {
    match response {
        Response::JoinGroup(r) => {
            let mut out = wire::JoinGroupResponse::default();
            out.error_code = r.error_code.code();
            out.generation_id = r.generation_id;
            out.protocol_name = r.protocol_name.map(s);
            out.leader = s(r.leader);
            out.member_id = s(r.member_id);
            out.members = r
                .members
                .into_iter()
                .map(|m| {
                    let mut member = wire::join_group_response::JoinGroupResponseMember::default();
                    member.member_id = s(m.member_id);
                    member.group_instance_id = m.group_instance_id.map(s);
                    member.metadata = groups::subscription_to_wire(&m.metadata);
                    member
                })
                .collect();
            ResponseKind::JoinGroup(out)
        }
        Response::SyncGroup(r) => {
            let mut out = wire::SyncGroupResponse::default();
            out.error_code = r.error_code.code();
            out.assignment = groups::assignment_to_wire(&r.assignment);
            ResponseKind::SyncGroup(out)
        }
        Response::Heartbeat(r) => {
            let mut out = wire::HeartbeatResponse::default();
            out.error_code = r.error_code.code();
            ResponseKind::Heartbeat(out)
        }
        Response::LeaveGroup(r) => {
            let mut out = wire::LeaveGroupResponse::default();
            out.error_code = r.error_code.code();
            ResponseKind::LeaveGroup(out)
        }
        Response::OffsetCommit(r) => {
            let mut out = wire::OffsetCommitResponse::default();
            let items = r
                .partitions
                .into_iter()
                .map(|p| (p.partition.clone(), p))
                .collect();
            let partition = |index, p: OffsetCommitResponsePartition| {
                let mut part =
                    wire::offset_commit_response::OffsetCommitResponsePartition::default();
                part.partition_index = index;
                part.error_code = p.error_code.code();
                part
            };
            out.topics = nested(items, partition, |name, partitions| {
                let mut topic = wire::offset_commit_response::OffsetCommitResponseTopic::default();
                topic.name = name;
                topic.partitions = partitions;
                topic
            });
            ResponseKind::OffsetCommit(out)
        }
        Response::OffsetFetch(r) => {
            let mut out = wire::OffsetFetchResponse::default();
            if version >= 2 {
                out.error_code = r.error_code.code();
            }
            let items = r
                .partitions
                .into_iter()
                .map(|p| (p.partition.clone(), p))
                .collect();
            let partition = |index, p: OffsetFetchResponsePartition| {
                let mut part = wire::offset_fetch_response::OffsetFetchResponsePartition::default();
                part.partition_index = index;
                part.committed_offset = p.committed_offset;
                if version >= 5 {
                    part.committed_leader_epoch = p.committed_leader_epoch.unwrap_or(-1);
                }
                part.metadata = p.metadata.map(s);
                part.error_code = p.error_code.code();
                part
            };
            out.topics = nested(items, partition, |name, partitions| {
                let mut topic = wire::offset_fetch_response::OffsetFetchResponseTopic::default();
                topic.name = name;
                topic.partitions = partitions;
                topic
            });
            ResponseKind::OffsetFetch(out)
        }
        other => unreachable!(
            "a broker answers a client only in the API it asked: {}",
            other.api_name()
        ),
    }
}
