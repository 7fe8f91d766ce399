//! Kafka requests (as `kafka-protocol` decodes them) into the model's requests.
//!
//! `decode` parses one frame. What it cannot parse, or an API or version this
//! server does not speak, is a `Refusal`: the connection closes, as Kafka
//! closes it. A request the model can take becomes a `Request` plus a
//! `Pending`, what the answer's encoding needs; parts the edge refuses (a batch
//! in an unsupported compression, say) travel in the `Pending` and are merged
//! into the model's answer.

use super::{codes, groups, records, versions};
use bytes::{Buf, Bytes};
use kafka_protocol::messages::{self as wire, ApiKey, RequestHeader, RequestKind};
use kafka_protocol::protocol::Decodable;
use kafkasim::ids::TopicPartition;
use kafkasim::protocol::*;
use std::fmt;

/// What the answer to a request needs to know about it.
#[derive(Debug, Clone)]
pub struct Pending {
    pub api: ApiKey,
    pub version: i16,
    pub correlation_id: i32,
    /// Partitions the edge refused, with their error code (Produce).
    pub refused_partitions: Vec<(TopicPartition, i16)>,
    /// Produce with `acks=0`: no answer is sent.
    pub expects_response: bool,
}

/// Why a frame is not answered: its connection closes.
#[derive(Debug)]
pub enum Refusal {
    UnknownApi(i16),
    UnsupportedVersion { api: ApiKey, version: i16 },
    Malformed(String),
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::UnknownApi(key) => write!(f, "unknown API key {key}"),
            Refusal::UnsupportedVersion { api, version } => {
                write!(f, "unsupported version {version} of {api:?}")
            }
            Refusal::Malformed(why) => write!(f, "malformed request: {why}"),
        }
    }
}

/// A decoded frame.
#[derive(Debug)]
pub enum Decoded {
    /// For the model.
    Model { request: Request, pending: Pending },
    /// Answered by the edge alone (ApiVersions, or a request whose every part
    /// the edge refused).
    Answer {
        response: wire::ResponseKind,
        pending: Pending,
    },
}

pub fn decode(mut frame: Bytes) -> Result<Decoded, Refusal> {
    if frame.remaining() < 4 {
        return Err(Refusal::Malformed(format!("{}-byte frame", frame.len())));
    }
    let key = i16::from_be_bytes([frame[0], frame[1]]);
    let version = i16::from_be_bytes([frame[2], frame[3]]);
    let api = ApiKey::try_from(key).map_err(|_| Refusal::UnknownApi(key))?;
    if !versions::supports(api, version) {
        // Kafka answers an ApiVersions it cannot parse with v0 and
        // UNSUPPORTED_VERSION, so the client can retry in a version it shares.
        if api == ApiKey::ApiVersions && version > 0 {
            let header = RequestHeader::decode(&mut frame, 1)
                .map_err(|e| Refusal::Malformed(e.to_string()))?;
            let pending = pending(api, 0, header.correlation_id);
            let mut response = super::response::api_versions();
            response.error_code = codes::UNSUPPORTED_VERSION;
            return Ok(Decoded::Answer {
                response: wire::ResponseKind::ApiVersions(response),
                pending,
            });
        }
        return Err(Refusal::UnsupportedVersion { api, version });
    }
    let header = RequestHeader::decode(&mut frame, api.request_header_version(version))
        .map_err(|e| Refusal::Malformed(format!("{e:#}")))?;
    let body = RequestKind::decode(api, &mut frame, version)
        .map_err(|e| Refusal::Malformed(format!("{e:#}")))?;
    let pending = pending(api, version, header.correlation_id);
    Ok(translate(body, pending))
}

fn pending(api: ApiKey, version: i16, correlation_id: i32) -> Pending {
    Pending {
        api,
        version,
        correlation_id,
        refused_partitions: Vec::new(),
        expects_response: true,
    }
}

fn model(request: Request, pending: Pending) -> Decoded {
    Decoded::Model { request, pending }
}

fn translate(body: RequestKind, pending: Pending) -> Decoded {
    match body {
        RequestKind::ApiVersions(_) => Decoded::Answer {
            response: wire::ResponseKind::ApiVersions(super::response::api_versions()),
            pending,
        },
        RequestKind::Metadata(req) => {
            let topics = req.topics.map(|topics| {
                topics
                    .into_iter()
                    .filter_map(|t| t.name.map(|n| n.to_string()))
                    .collect()
            });
            model(Request::Metadata(MetadataRequest { topics }), pending)
        }
        RequestKind::CreateTopics(req) => {
            let topics = req
                .topics
                .into_iter()
                .map(|t| CreatableTopic {
                    name: t.name.to_string(),
                    num_partitions: t.num_partitions,
                    replication_factor: t.replication_factor,
                    configs: t
                        .configs
                        .into_iter()
                        .filter_map(|c| Some((c.name.to_string(), c.value?.to_string())))
                        .collect(),
                })
                .collect();
            let timeout_ms = req.timeout_ms.max(0) as u64;
            model(
                Request::CreateTopics(CreateTopicsRequest { topics, timeout_ms }),
                pending,
            )
        }
        RequestKind::DeleteTopics(req) => {
            // v1–v5 name the topics; v6's topic ids (not in the model) are
            // not advertised (`versions`).
            let topic_names = req.topic_names.iter().map(|n| n.to_string()).collect();
            let timeout_ms = req.timeout_ms.max(0) as u64;
            let request = DeleteTopicsRequest {
                topic_names,
                timeout_ms,
            };
            model(Request::DeleteTopics(request), pending)
        }
        RequestKind::Produce(req) => produce(req, pending),
        RequestKind::Fetch(req) => {
            let partitions = req
                .topics
                .iter()
                .flat_map(|t| {
                    t.partitions.iter().map(|p| FetchPartition {
                        partition: TopicPartition::new(t.topic.to_string(), p.partition),
                        current_leader_epoch: epoch(p.current_leader_epoch),
                        fetch_offset: p.fetch_offset,
                        partition_max_bytes: p.partition_max_bytes.max(0) as usize,
                    })
                })
                .collect();
            let fetch = FetchRequest {
                replica_id: CONSUMER_REPLICA_ID,
                replica_epoch: -1,
                max_wait_ms: req.max_wait_ms.max(0) as u64,
                min_bytes: req.min_bytes.max(0) as usize,
                max_bytes: req.max_bytes.max(0) as usize,
                partitions,
            };
            model(Request::Fetch(fetch), pending)
        }
        RequestKind::ListOffsets(req) => {
            let partitions = req
                .topics
                .iter()
                .flat_map(|t| {
                    t.partitions.iter().map(|p| ListOffsetsPartition {
                        partition: TopicPartition::new(t.name.to_string(), p.partition_index),
                        current_leader_epoch: epoch(p.current_leader_epoch),
                        timestamp: p.timestamp,
                    })
                })
                .collect();
            // Clients only: a broker's own replica id never comes over this edge.
            let replica_id = CONSUMER_REPLICA_ID;
            model(
                Request::ListOffsets(ListOffsetsRequest {
                    replica_id,
                    partitions,
                }),
                pending,
            )
        }
        RequestKind::InitProducerId(req) => {
            let request = InitProducerIdRequest {
                transactional_id: req.transactional_id.map(|t| t.to_string()),
                transaction_timeout_ms: req.transaction_timeout_ms.max(0) as u64,
            };
            model(Request::InitProducerId(request), pending)
        }
        RequestKind::FindCoordinator(req) => {
            // Key type 1 (transactions) is not modelled; its key is asked for
            // as a group's, and the model answers for that group.
            let key = req.key.to_string();
            model(
                Request::FindCoordinator(FindCoordinatorRequest { key }),
                pending,
            )
        }
        other => match groups_request(other, &pending) {
            Ok(request) => model(request, pending),
            Err(response) => Decoded::Answer {
                response: *response,
                pending,
            },
        },
    }
}

/// `-1` means "no epoch given" on the wire.
fn epoch(wire: i32) -> Option<i32> {
    (wire >= 0).then_some(wire)
}

fn produce(req: wire::ProduceRequest, mut pending: Pending) -> Decoded {
    let acks = match req.acks {
        0 => Acks::None,
        1 => Acks::Leader,
        _ => Acks::All,
    };
    pending.expects_response = acks != Acks::None;
    let mut partitions = Vec::new();
    for topic in &req.topic_data {
        for p in &topic.partition_data {
            let partition = TopicPartition::new(topic.name.to_string(), p.index);
            let batch = match &p.records {
                Some(bytes) => records::batch_from_wire(bytes),
                None => Err(codes::INVALID_RECORD),
            };
            match batch {
                Ok(records) => partitions.push(PartitionProduceData {
                    partition,
                    current_leader_epoch: None,
                    records,
                }),
                Err(code) => pending.refused_partitions.push((partition, code)),
            }
        }
    }
    if partitions.is_empty() {
        let response = super::response::produce(Vec::new(), &pending);
        return Decoded::Answer { response, pending };
    }
    let request = ProduceRequest {
        acks,
        timeout_ms: req.timeout_ms.max(0) as u64,
        partitions,
    };
    model(Request::Produce(request), pending)
}

/// The group APIs; `Err` is the edge's own answer (a member's subscription or
/// assignment bytes it cannot parse).
fn groups_request(
    body: RequestKind,
    pending: &Pending,
) -> Result<Request, Box<wire::ResponseKind>> {
    let text = |s: Option<kafka_protocol::protocol::StrBytes>| s.map(|s| s.to_string());
    Ok(match body {
        RequestKind::JoinGroup(req) => {
            let mut protocols = Vec::new();
            for p in &req.protocols {
                let Some(metadata) = groups::subscription_from_wire(&p.metadata) else {
                    return Err(Box::new(super::response::join_group_error(
                        codes::INVALID_REQUEST,
                    )));
                };
                protocols.push(JoinGroupRequestProtocol {
                    name: p.name.to_string(),
                    metadata,
                });
            }
            Request::JoinGroup(JoinGroupRequest {
                group_id: req.group_id.to_string(),
                session_timeout_ms: req.session_timeout_ms.max(0) as u64,
                rebalance_timeout_ms: req.rebalance_timeout_ms.max(0) as u64,
                member_id: req.member_id.to_string(),
                group_instance_id: text(req.group_instance_id),
                protocol_type: req.protocol_type.to_string(),
                protocols,
            })
        }
        RequestKind::SyncGroup(req) => {
            let mut assignments = Vec::new();
            for a in &req.assignments {
                let Some(assignment) = groups::assignment_from_wire(&a.assignment) else {
                    return Err(Box::new(super::response::sync_group_error(
                        codes::INVALID_REQUEST,
                    )));
                };
                assignments.push(SyncGroupRequestAssignment {
                    member_id: a.member_id.to_string(),
                    assignment,
                });
            }
            Request::SyncGroup(SyncGroupRequest {
                group_id: req.group_id.to_string(),
                generation_id: req.generation_id,
                member_id: req.member_id.to_string(),
                group_instance_id: text(req.group_instance_id),
                assignments,
            })
        }
        RequestKind::Heartbeat(req) => Request::Heartbeat(HeartbeatRequest {
            group_id: req.group_id.to_string(),
            generation_id: req.generation_id,
            member_id: req.member_id.to_string(),
            group_instance_id: text(req.group_instance_id),
        }),
        RequestKind::LeaveGroup(req) => {
            // v0–2 name one member; v3+ a list of them.
            let members = if pending.version < 3 {
                vec![MemberIdentity {
                    member_id: req.member_id.to_string(),
                    group_instance_id: None,
                }]
            } else {
                req.members
                    .into_iter()
                    .map(|m| MemberIdentity {
                        member_id: m.member_id.to_string(),
                        group_instance_id: text(m.group_instance_id),
                    })
                    .collect()
            };
            Request::LeaveGroup(LeaveGroupRequest {
                group_id: req.group_id.to_string(),
                members,
            })
        }
        RequestKind::OffsetCommit(req) => {
            let partitions = req
                .topics
                .iter()
                .flat_map(|t| {
                    t.partitions.iter().map(|p| OffsetCommitRequestPartition {
                        partition: TopicPartition::new(t.name.to_string(), p.partition_index),
                        committed_offset: p.committed_offset,
                        committed_leader_epoch: epoch(p.committed_leader_epoch),
                        committed_metadata: text(p.committed_metadata.clone()),
                    })
                })
                .collect();
            Request::OffsetCommit(OffsetCommitRequest {
                group_id: req.group_id.to_string(),
                generation_id: req.generation_id_or_member_epoch,
                member_id: req.member_id.to_string(),
                group_instance_id: text(req.group_instance_id),
                partitions,
            })
        }
        RequestKind::OffsetFetch(req) => {
            let partitions = req.topics.map(|topics| {
                topics
                    .iter()
                    .flat_map(|t| {
                        t.partition_indexes
                            .iter()
                            .map(|&p| TopicPartition::new(t.name.to_string(), p))
                    })
                    .collect()
            });
            Request::OffsetFetch(OffsetFetchRequest {
                group_id: req.group_id.to_string(),
                partitions,
            })
        }
        other => unreachable!(
            "versions::SUPPORTED lists only translated APIs, not {:?}",
            std::mem::discriminant(&other)
        ),
    })
}
