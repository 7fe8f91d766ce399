//! Typed trace events, captured for run reports (`kafkasim run --report`).
//!
//! Each event says when it happened, where (the node, as `controller`,
//! `broker-2`, `client-3`), what kind it is, which partitions it concerns and its
//! text, the same words `kafkasim replay` prints for it (made by `text`). They
//! are serialized as the lines of a report's `trace.jsonl`; the report module
//! documents the shape of each.

use super::text::{self, EventText as _};
use kafkasim::event::ClusterEvent;
use kafkasim::group::coordinator::GroupEvent;
use kafkasim::ids::{NodeId, Offset, TopicPartition};
use kafkasim::protocol::{Message, Request, Response};
use kafkasim_check::fault::Action;
use kafkasim_check::history::value_text;
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
        let (correlation_id, dir, kind, told, records) = match message {
            Message::Request {
                correlation_id,
                request,
            } => (
                *correlation_id,
                Direction::Request,
                request.api_name(),
                text::request(request),
                produced_records(request),
            ),
            Message::Response {
                correlation_id,
                response,
            } => (
                *correlation_id,
                Direction::Response,
                response.api_name(),
                text::response(response),
                fetched_records(response),
            ),
        };
        let mut partitions: Vec<String> = told.partitions.iter().map(|p| p.to_string()).collect();
        partitions.sort();
        partitions.dedup();
        Captured::Message(MessageEvent {
            time_ms,
            sent_ms,
            from: from.to_string(),
            to: to.to_string(),
            kind: kind.to_string(),
            dir,
            correlation_id,
            partitions,
            text: text::message(message),
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
                value: value_text(&r.value),
            })
        })
        .collect()
}

/// The records a Fetch response carries, where each sits in its partition.
fn fetched_records(response: &Response) -> Vec<RecordAt> {
    let Response::Fetch(fetch) = response else {
        return vec![];
    };
    let mut records = Vec::new();
    for p in &fetch.responses {
        for batch in &p.records {
            for (offset, record) in batch.offset_records() {
                records.push(RecordAt {
                    partition: p.partition.to_string(),
                    offset,
                    epoch: batch.partition_leader_epoch,
                    value: value_text(&record.value),
                });
            }
        }
    }
    records
}

impl NodeEvent {
    /// The event `node` emitted at `time_ms`.
    pub fn captured(time_ms: u64, node: NodeId, event: &ClusterEvent) -> Captured {
        let (kind, partitions) = kind_and_partitions(event);
        Captured::Node(NodeEvent {
            time_ms,
            node: node.to_string(),
            kind: kind.to_string(),
            partitions: partitions.iter().map(TopicPartition::to_string).collect(),
            text: event.text(),
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
        ClusterEvent::TopicDeleted { topic, partitions } => (
            "TopicDeleted",
            (0..*partitions)
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
