//! Typed trace events, captured for run reports (`kafkasim run --report`).
//!
//! Each event says when it happened, where (the node, as `controller`,
//! `broker-2`, `client-3`), what kind it is, which partitions it concerns and a
//! short text. They are serialized as the lines of a report's `trace.jsonl`; the
//! report module documents the shape of each.

use crate::narrate::narrate;
use kafkasim::event::ClusterEvent;
use kafkasim::group::coordinator::GroupEvent;
use kafkasim::ids::{NodeId, Offset, TopicPartition};
use kafkasim::protocol::{Message, Request, Response, CONSUMER_REPLICA_ID};
use kafkasim::record::RecordBatch;
use kafkasim_check::fault::Action;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One captured event: a line of `trace.jsonl` (with its `seq`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Captured {
    /// A message delivered to a node.
    Message(MessageEvent),
    /// Something a server did (an election, an append, a truncation, …).
    Node(NodeEvent),
    /// A fault done to the cluster on purpose (a crash, a cut link, a pause, …).
    Fault(FaultEvent),
    /// A line of the human timeline.
    Timeline(TimelineEvent),
}

impl Captured {
    pub fn time_ms(&self) -> u64 {
        match self {
            Captured::Message(e) => e.time_ms,
            Captured::Node(e) => e.time_ms,
            Captured::Fault(e) => e.time_ms,
            Captured::Timeline(e) => e.time_ms,
        }
    }
}

/// Whether a message asks or answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Request,
    Response,
}

/// A record a message carries, where it sits in its partition's log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordAt {
    pub partition: String,
    pub offset: Offset,
    /// The leader epoch the batch was appended in.
    pub epoch: i32,
    pub value: String,
}

/// A delivered message: sent by `from` at `sent_ms`, read by `to` at `time_ms`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessageEvent {
    pub time_ms: u64,
    pub sent_ms: u64,
    pub from: String,
    pub to: String,
    /// Kafka's API name: `Produce`, `Fetch`, `BrokerHeartbeat`, …
    pub kind: String,
    pub dir: Direction,
    pub correlation_id: u64,
    pub partitions: Vec<String>,
    pub text: String,
    /// The records a Produce request or a Fetch response carries (empty for every
    /// other message); a Produce request's are not placed yet (offset and epoch -1).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub records: Vec<RecordAt>,
    /// The high watermark a Fetch response gives for each partition (empty for
    /// every other message).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub high_watermarks: BTreeMap<String, Offset>,
}

/// What a server reported (a `ClusterEvent`), with a short text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NodeEvent {
    pub time_ms: u64,
    pub node: String,
    /// The event's name: `LeaderElected`, `Truncated`, `HighWatermark`, …; group
    /// coordinator events by their own name (`GenerationStarted`, …).
    pub kind: String,
    pub partitions: Vec<String>,
    pub text: String,
    /// The event itself, as the model defines it.
    pub event: ClusterEvent,
}

/// Whether a fault starts or is undone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    Start,
    End,
}

/// A fault carried out: its start or its end. `nodes` are the servers it hit
/// (a role resolved when it started), `client` the client machine (by its name,
/// e.g. `consumer-2`) if it hit one; a fault's start and end share its `id`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaultEvent {
    pub time_ms: u64,
    pub id: u64,
    pub phase: Phase,
    pub action: Action,
    pub nodes: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client: Option<String>,
    pub text: String,
}

/// A timeline line, as `kafkasim run` prints it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimelineEvent {
    pub time_ms: u64,
    pub node: String,
    pub text: String,
}

/// At most this many values are named in a message's text.
const VALUES_SHOWN: usize = 4;

impl MessageEvent {
    /// The event for `message`, sent by `from` at `sent_ms` and delivered to `to`
    /// at `time_ms`.
    pub fn delivered(
        time_ms: u64,
        sent_ms: u64,
        from: NodeId,
        to: NodeId,
        message: &Message,
    ) -> Captured {
        let (correlation_id, dir, kind) = match message {
            Message::Request {
                correlation_id,
                request,
            } => (*correlation_id, Direction::Request, request.api_name()),
            Message::Response {
                correlation_id,
                response,
            } => (*correlation_id, Direction::Response, response.api_name()),
        };
        let (partitions, details, records) = match message {
            Message::Request { request, .. } => {
                let (partitions, details) = describe_request(request);
                (partitions, details, produced_records(request))
            }
            Message::Response { response, .. } => describe_response(response),
        };
        let mut partitions: Vec<String> = partitions.iter().map(|p| p.to_string()).collect();
        partitions.sort();
        partitions.dedup();
        let dir_name = match dir {
            Direction::Request => "",
            Direction::Response => " response",
        };
        let text = if details.is_empty() {
            format!("{kind}{dir_name}")
        } else {
            format!("{kind}{dir_name}: {details}")
        };
        Captured::Message(MessageEvent {
            time_ms,
            sent_ms,
            from: from.to_string(),
            to: to.to_string(),
            kind: kind.to_string(),
            dir,
            correlation_id,
            partitions,
            text,
            records,
            high_watermarks: match message {
                Message::Response {
                    response: Response::Fetch(fetch),
                    ..
                } => (fetch.responses.iter())
                    .filter(|p| p.error_code == kafkasim::error::ErrorCode::None)
                    .map(|p| (p.partition.to_string(), p.high_watermark))
                    .collect(),
                _ => BTreeMap::new(),
            },
        })
    }
}

fn values(batch: &RecordBatch) -> String {
    let mut shown: Vec<&str> = batch
        .records
        .iter()
        .take(VALUES_SHOWN)
        .map(|r| r.value.as_str())
        .collect();
    let more = batch.records.len().saturating_sub(VALUES_SHOWN);
    let more = if more > 0 {
        format!(" +{more}")
    } else {
        String::new()
    };
    if shown.iter().any(|v| v.len() > 40) {
        shown = vec!["…"];
    }
    format!("[{}{more}]", shown.join(", "))
}

/// The records a Produce request carries, not placed yet (offset and epoch -1).
fn produced_records(request: &Request) -> Vec<RecordAt> {
    let Request::Produce(produce) = request else {
        return vec![];
    };
    (produce.partitions.iter())
        .flat_map(|p| {
            p.records.records.iter().map(|r| RecordAt {
                partition: p.partition.to_string(),
                offset: -1,
                epoch: -1,
                value: r.value.clone(),
            })
        })
        .collect()
}

fn describe_request(request: &Request) -> (Vec<TopicPartition>, String) {
    match request {
        Request::Produce(r) => {
            let parts = r.partitions.iter().map(|p| p.partition.clone()).collect();
            let text: Vec<String> = r
                .partitions
                .iter()
                .map(|p| format!("{} {}", p.partition, values(&p.records)))
                .collect();
            (
                parts,
                format!("acks={} {}", r.acks.as_i16(), text.join(", ")),
            )
        }
        Request::Fetch(r) => {
            let parts = r.partitions.iter().map(|p| p.partition.clone()).collect();
            let text: Vec<String> = r
                .partitions
                .iter()
                .map(|p| format!("{}@{}", p.partition, p.fetch_offset))
                .collect();
            let text = shortened(text);
            let who = if r.replica_id == CONSUMER_REPLICA_ID {
                String::new()
            } else {
                format!("replica {} ", r.replica_id)
            };
            (parts, format!("{who}{}", text.join(", ")))
        }
        Request::ListOffsets(r) => {
            let parts: Vec<TopicPartition> =
                r.partitions.iter().map(|p| p.partition.clone()).collect();
            let text = names(&parts);
            (parts, text)
        }
        Request::OffsetsForLeaderEpoch(r) => {
            let parts = r.partitions.iter().map(|p| p.partition.clone()).collect();
            let text: Vec<String> = r
                .partitions
                .iter()
                .map(|p| format!("{} epoch {}", p.partition, p.leader_epoch))
                .collect();
            (parts, text.join(", "))
        }
        Request::AlterPartition(r) => {
            let parts = r.partitions.iter().map(|p| p.partition.clone()).collect();
            let text: Vec<String> = r
                .partitions
                .iter()
                .map(|p| format!("{} ISR {:?}", p.partition, p.new_isr))
                .collect();
            (parts, text.join(", "))
        }
        Request::ElectLeaders(r) => {
            let parts = r.partitions.clone().unwrap_or_default();
            let text = format!("{:?} {}", r.election_type, names(&parts));
            (parts, text)
        }
        Request::CreateTopics(r) => {
            let text: Vec<String> = r.topics.iter().map(|t| t.name.clone()).collect();
            (vec![], text.join(", "))
        }
        Request::FindCoordinator(r) => (vec![], r.key.clone()),
        Request::JoinGroup(r) => (vec![], format!("{} {}", r.group_id, r.member_id)),
        Request::SyncGroup(r) => (
            vec![],
            format!(
                "{} generation {} {}",
                r.group_id, r.generation_id, r.member_id
            ),
        ),
        Request::Heartbeat(r) => (
            vec![],
            format!(
                "{} generation {} {}",
                r.group_id, r.generation_id, r.member_id
            ),
        ),
        Request::LeaveGroup(r) => (vec![], r.group_id.clone()),
        Request::OffsetCommit(r) => {
            let parts = r.partitions.iter().map(|p| p.partition.clone()).collect();
            let text: Vec<String> = r
                .partitions
                .iter()
                .map(|p| format!("{}@{}", p.partition, p.committed_offset))
                .collect();
            (
                parts,
                format!(
                    "{} generation {}: {}",
                    r.group_id,
                    r.generation_id,
                    text.join(", ")
                ),
            )
        }
        Request::OffsetFetch(r) => (r.partitions.clone().unwrap_or_default(), r.group_id.clone()),
        Request::BrokerHeartbeat(r) => (vec![], format!("broker epoch {}", r.broker_epoch)),
        Request::Metadata(_)
        | Request::InitProducerId(_)
        | Request::BrokerRegistration(_)
        | Request::ClusterMetadataFetch(_) => (vec![], String::new()),
    }
}

/// At most this many partitions are named in a message's text.
const PARTITIONS_SHOWN: usize = 3;

/// The first few items, and how many more there are.
fn shortened(mut items: Vec<String>) -> Vec<String> {
    if items.len() > PARTITIONS_SHOWN {
        let more = items.len() - PARTITIONS_SHOWN;
        items.truncate(PARTITIONS_SHOWN);
        items.push(format!("+{more} more"));
    }
    items
}

fn names(parts: &[TopicPartition]) -> String {
    let names: Vec<String> = parts.iter().map(TopicPartition::to_string).collect();
    names.join(", ")
}

fn error_suffix(code: kafkasim::error::ErrorCode) -> String {
    if code == kafkasim::error::ErrorCode::None {
        String::new()
    } else {
        format!(" {}", code.name())
    }
}

fn describe_response(response: &Response) -> (Vec<TopicPartition>, String, Vec<RecordAt>) {
    match response {
        Response::Produce(r) => {
            let parts = r.responses.iter().map(|p| p.partition.clone()).collect();
            let text: Vec<String> = r
                .responses
                .iter()
                .map(|p| {
                    format!(
                        "{}@{}{}",
                        p.partition,
                        p.base_offset,
                        error_suffix(p.error_code)
                    )
                })
                .collect();
            (parts, text.join(", "), vec![])
        }
        Response::Fetch(r) => {
            let parts = r.responses.iter().map(|p| p.partition.clone()).collect();
            let mut records = Vec::new();
            // Partitions with records or an error are told; the others counted.
            let mut quiet = 0;
            let mut text: Vec<String> = Vec::new();
            for p in &r.responses {
                let count: usize = p.records.iter().map(|b| b.records.len()).sum();
                for batch in &p.records {
                    for (offset, record) in batch.offset_records() {
                        records.push(RecordAt {
                            partition: p.partition.to_string(),
                            offset,
                            epoch: batch.partition_leader_epoch,
                            value: record.value.clone(),
                        });
                    }
                }
                if count == 0 && p.error_code == kafkasim::error::ErrorCode::None {
                    quiet += 1;
                } else {
                    text.push(format!(
                        "{} {} record(s) HW {}{}",
                        p.partition,
                        count,
                        p.high_watermark,
                        error_suffix(p.error_code)
                    ));
                }
            }
            let mut text = shortened(text);
            if quiet > 0 {
                text.push(format!("{quiet} partition(s) without records"));
            }
            (
                parts,
                format!("{}{}", text.join(", "), error_suffix(r.error_code)),
                records,
            )
        }
        Response::ListOffsets(r) => {
            let parts = r.partitions.iter().map(|p| p.partition.clone()).collect();
            let text: Vec<String> = r
                .partitions
                .iter()
                .map(|p| format!("{}@{}{}", p.partition, p.offset, error_suffix(p.error_code)))
                .collect();
            (parts, text.join(", "), vec![])
        }
        Response::OffsetsForLeaderEpoch(r) => {
            let parts = r.partitions.iter().map(|p| p.partition.clone()).collect();
            let text: Vec<String> = r
                .partitions
                .iter()
                .map(|p| {
                    format!(
                        "{} epoch {} ends at {}{}",
                        p.partition,
                        p.leader_epoch,
                        p.end_offset,
                        error_suffix(p.error_code)
                    )
                })
                .collect();
            (parts, text.join(", "), vec![])
        }
        Response::AlterPartition(r) => {
            let parts = r.partitions.iter().map(|p| p.partition.clone()).collect();
            let text: Vec<String> = r
                .partitions
                .iter()
                .map(|p| {
                    format!(
                        "{} ISR {:?}{}",
                        p.partition,
                        p.isr,
                        error_suffix(p.error_code)
                    )
                })
                .collect();
            (
                parts,
                format!("{}{}", text.join(", "), error_suffix(r.error_code)),
                vec![],
            )
        }
        Response::ElectLeaders(r) => {
            let parts = r.results.iter().map(|p| p.partition.clone()).collect();
            let text: Vec<String> = r
                .results
                .iter()
                .map(|p| format!("{}{}", p.partition, error_suffix(p.error_code)))
                .collect();
            (parts, text.join(", "), vec![])
        }
        Response::OffsetCommit(r) => {
            let parts = r.partitions.iter().map(|p| p.partition.clone()).collect();
            let text: Vec<String> = r
                .partitions
                .iter()
                .map(|p| format!("{}{}", p.partition, error_suffix(p.error_code)))
                .collect();
            (parts, text.join(", "), vec![])
        }
        Response::JoinGroup(r) => (
            vec![],
            format!(
                "generation {} member {}{}",
                r.generation_id,
                r.member_id,
                error_suffix(r.error_code)
            ),
            vec![],
        ),
        Response::SyncGroup(r) => (
            r.assignment.partitions.clone(),
            format!(
                "assigned [{}]{}",
                names(&r.assignment.partitions),
                error_suffix(r.error_code)
            ),
            vec![],
        ),
        Response::Heartbeat(r) => (vec![], error_suffix(r.error_code).trim().into(), vec![]),
        Response::LeaveGroup(r) => (vec![], error_suffix(r.error_code).trim().into(), vec![]),
        Response::FindCoordinator(r) => (
            vec![],
            format!("broker-{}{}", r.node_id, error_suffix(r.error_code)),
            vec![],
        ),
        Response::BrokerHeartbeat(r) => (
            vec![],
            format!(
                "{}{}",
                if r.is_fenced { "fenced" } else { "unfenced" },
                error_suffix(r.error_code)
            ),
            vec![],
        ),
        Response::BrokerRegistration(r) => (
            vec![],
            format!(
                "broker epoch {}{}",
                r.broker_epoch,
                error_suffix(r.error_code)
            ),
            vec![],
        ),
        Response::InitProducerId(r) => (
            vec![],
            format!(
                "producer id {}{}",
                r.producer_id,
                error_suffix(r.error_code)
            ),
            vec![],
        ),
        Response::ClusterMetadataFetch(r) => (
            vec![],
            if r.image.is_some() {
                "new image".to_string()
            } else {
                "no change".to_string()
            },
            vec![],
        ),
        Response::Metadata(r) => (vec![], format!("version {}", r.metadata_version), vec![]),
        Response::CreateTopics(r) => {
            let text: Vec<String> = r
                .topics
                .iter()
                .map(|t| format!("{}{}", t.name, error_suffix(t.error_code)))
                .collect();
            (vec![], text.join(", "), vec![])
        }
        Response::OffsetFetch(_) => (vec![], String::new(), vec![]),
    }
}

impl NodeEvent {
    /// The event `node` emitted at `time_ms`.
    pub fn captured(time_ms: u64, node: NodeId, event: &ClusterEvent) -> Captured {
        let (kind, partitions) = kind_and_partitions(event);
        let text = narrate(event).unwrap_or_else(|| describe_quiet(event));
        Captured::Node(NodeEvent {
            time_ms,
            node: node.to_string(),
            kind: kind.to_string(),
            partitions: partitions.iter().map(TopicPartition::to_string).collect(),
            text,
            event: event.clone(),
        })
    }
}

fn kind_and_partitions(event: &ClusterEvent) -> (&'static str, Vec<TopicPartition>) {
    match event {
        ClusterEvent::BrokerRegistered { .. } => ("BrokerRegistered", vec![]),
        ClusterEvent::BrokerFenced { .. } => ("BrokerFenced", vec![]),
        ClusterEvent::BrokerUnfenced { .. } => ("BrokerUnfenced", vec![]),
        ClusterEvent::TopicCreated { topic, replicas } => (
            "TopicCreated",
            (0..replicas.len() as i32)
                .map(|p| TopicPartition::new(topic.clone(), p))
                .collect(),
        ),
        ClusterEvent::LeaderElected { partition, .. } => ("LeaderElected", vec![partition.clone()]),
        ClusterEvent::IsrChanged { partition, .. } => ("IsrChanged", vec![partition.clone()]),
        ClusterEvent::BecameFollower { partition, .. } => {
            ("BecameFollower", vec![partition.clone()])
        }
        ClusterEvent::Truncated { partition, .. } => ("Truncated", vec![partition.clone()]),
        ClusterEvent::BecameLeader { partition, .. } => ("BecameLeader", vec![partition.clone()]),
        ClusterEvent::Appended { partition, .. } => ("Appended", vec![partition.clone()]),
        ClusterEvent::HighWatermark { partition, .. } => ("HighWatermark", vec![partition.clone()]),
        ClusterEvent::Group(group) => match group {
            GroupEvent::PartitionLoaded { .. } => ("PartitionLoaded", vec![]),
            GroupEvent::PartitionUnloaded { .. } => ("PartitionUnloaded", vec![]),
            GroupEvent::MemberAdded { .. } => ("MemberAdded", vec![]),
            GroupEvent::StaticMemberReplaced { .. } => ("StaticMemberReplaced", vec![]),
            GroupEvent::MemberRemoved { .. } => ("MemberRemoved", vec![]),
            GroupEvent::RebalanceStarted { .. } => ("RebalanceStarted", vec![]),
            GroupEvent::JoinCompleted { .. } => ("JoinCompleted", vec![]),
            GroupEvent::GenerationStarted { members, .. } => {
                let mut parts: Vec<TopicPartition> = members.values().flatten().cloned().collect();
                parts.sort();
                ("GenerationStarted", parts)
            }
            GroupEvent::OffsetCommitted { partition, .. } => {
                ("OffsetCommitted", vec![partition.clone()])
            }
            GroupEvent::CommitRejected { .. } => ("CommitRejected", vec![]),
            GroupEvent::CommitAppendFailed { .. } => ("CommitAppendFailed", vec![]),
        },
    }
}

/// A short text for the events the timeline does not tell.
fn describe_quiet(event: &ClusterEvent) -> String {
    match event {
        ClusterEvent::BecameLeader {
            broker,
            partition,
            leader_epoch,
        } => format!("broker-{broker} leads {partition} in leader epoch {leader_epoch}"),
        ClusterEvent::BecameFollower {
            broker,
            partition,
            leader,
            leader_epoch,
        } => format!(
            "broker-{broker} follows broker-{leader} for {partition} in leader epoch {leader_epoch}"
        ),
        ClusterEvent::Appended {
            broker,
            partition,
            base_offset,
            records,
        } => {
            format!("broker-{broker} appended {records} record(s) to {partition} at {base_offset}")
        }
        ClusterEvent::HighWatermark {
            broker,
            partition,
            high_watermark,
        } => format!("broker-{broker}: {partition} high watermark {high_watermark}"),
        ClusterEvent::Group(GroupEvent::OffsetCommitted {
            group,
            member_id,
            generation_id,
            partition,
            offset,
        }) => format!(
            "group {group}: {member_id} (generation {generation_id}) committed {partition}@{offset}"
        ),
        ClusterEvent::Group(GroupEvent::JoinCompleted {
            group,
            generation_id,
            members,
            ..
        }) => format!(
            "group {group}: join of generation {generation_id} complete, members [{}]",
            members.join(", ")
        ),
        ClusterEvent::Group(GroupEvent::PartitionLoaded { partition, .. }) => {
            format!("coordinator of __consumer_offsets-{partition}: loaded")
        }
        ClusterEvent::Group(GroupEvent::PartitionUnloaded { partition, groups }) => format!(
            "coordinator of __consumer_offsets-{partition}: unloaded [{}]",
            groups.join(", ")
        ),
        other => format!("{other:?}"),
    }
}
