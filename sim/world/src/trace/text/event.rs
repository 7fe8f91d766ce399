//! The words for the events nodes emit: what a server did (the timeline's
//! sentence where it tells the event, a short one where it does not), and the
//! calls a client completed, named by the client method the application called.

use super::{counted, listed, record, records, response};
use kafkasim::client::admin::AdminOutcome;
use kafkasim::client::consumer::ConsumerOutcome;
use kafkasim::client::producer::SendOutcome;
use kafkasim::client::{ClientError, Completion};
use kafkasim::event::ClusterEvent;
use kafkasim::group::coordinator::GroupEvent;
use kafkasim::protocol::{CreateTopicsResponse, ElectLeadersResponse, Response};

/// An event in one line of text, for the trace.
pub trait EventText {
    fn text(&self) -> String;
}

impl EventText for ClusterEvent {
    fn text(&self) -> String {
        crate::narrate::narrate(self).unwrap_or_else(|| quiet(self))
    }
}

/// A short text for the events the timeline does not tell.
fn quiet(event: &ClusterEvent) -> String {
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
            format!(
                "broker-{broker} appended {} to {partition} at offset {base_offset}",
                counted(usize::try_from(*records).unwrap_or(0), "record")
            )
        }
        ClusterEvent::HighWatermark {
            broker,
            partition,
            high_watermark,
        } => format!("broker-{broker}: high watermark of {partition} now {high_watermark}"),
        ClusterEvent::Group(group) => quiet_group(group),
        // The timeline tells every other event (see `narrate`); this names it
        // should that ever change.
        ClusterEvent::BrokerRegistered { broker, .. }
        | ClusterEvent::BrokerFenced { broker }
        | ClusterEvent::BrokerUnfenced { broker } => format!("broker-{broker} changed"),
        ClusterEvent::TopicCreated { topic, .. } => format!("topic {topic} created"),
        ClusterEvent::TopicDeleted { topic, .. } => format!("topic {topic} deleted"),
        ClusterEvent::LeaderElected { partition, .. }
        | ClusterEvent::IsrChanged { partition, .. }
        | ClusterEvent::Truncated { partition, .. } => format!("{partition} changed"),
    }
}

fn quiet_group(event: &GroupEvent) -> String {
    match event {
        GroupEvent::OffsetCommitted {
            group,
            member_id,
            generation_id,
            partition,
            offset,
        } => format!(
            "group {group}: {member_id} (generation {generation_id}) committed {partition}@{offset}"
        ),
        GroupEvent::JoinCompleted {
            group,
            generation_id,
            members,
            ..
        } => format!(
            "group {group}: join of generation {generation_id} complete, members [{}]",
            members.join(", ")
        ),
        GroupEvent::PartitionLoaded { partition, .. } => {
            format!("coordinator of __consumer_offsets-{partition}: loaded")
        }
        GroupEvent::PartitionUnloaded { partition, groups } if groups.is_empty() => {
            format!("coordinator of __consumer_offsets-{partition}: unloaded, no groups")
        }
        GroupEvent::PartitionUnloaded { partition, groups } => format!(
            "coordinator of __consumer_offsets-{partition}: unloaded group(s) {}",
            groups.join(", ")
        ),
        GroupEvent::MemberAdded { group, .. }
        | GroupEvent::StaticMemberReplaced { group, .. }
        | GroupEvent::MemberRemoved { group, .. }
        | GroupEvent::RebalanceStarted { group, .. }
        | GroupEvent::GenerationStarted { group, .. }
        | GroupEvent::CommitRejected { group, .. }
        | GroupEvent::CommitAppendFailed { group, .. } => format!("group {group} changed"),
    }
}

/// `send (call 3) failed: NOT_ENOUGH_REPLICAS`.
fn failed(call: &str, token: u64, error: &ClientError) -> String {
    format!("{call} (call {token}) failed: {error}")
}

/// `create_topics (call 2) done: orders created`.
fn done(call: &str, token: u64, text: &str) -> String {
    if text.is_empty() {
        format!("{call} (call {token}) done")
    } else {
        format!("{call} (call {token}) done: {text}")
    }
}

impl EventText for Completion<AdminOutcome> {
    fn text(&self) -> String {
        let token = self.token;
        // Each outcome holds what the response held: told in the response's words.
        let told = |call: &str, answer: Response| done(call, token, &response(&answer).text);
        match &self.outcome {
            AdminOutcome::CreateTopics(Ok(topics)) => told(
                "create_topics",
                Response::CreateTopics(CreateTopicsResponse {
                    topics: topics.clone(),
                }),
            ),
            AdminOutcome::Describe(Ok(metadata)) => {
                told("describe", Response::Metadata(metadata.clone()))
            }
            AdminOutcome::ElectLeaders(Ok(results)) => told(
                "elect_leaders",
                Response::ElectLeaders(ElectLeadersResponse {
                    error_code: kafkasim::error::ErrorCode::None,
                    results: results.clone(),
                }),
            ),
            AdminOutcome::CreateTopics(Err(e)) => failed("create_topics", token, e),
            AdminOutcome::Describe(Err(e)) => failed("describe", token, e),
            AdminOutcome::ElectLeaders(Err(e)) => failed("elect_leaders", token, e),
        }
    }
}

impl EventText for Completion<SendOutcome> {
    fn text(&self) -> String {
        match &self.outcome {
            Ok(sent) if sent.offset < 0 => done(
                "send",
                self.token,
                &format!("{}, offset unknown (acks=0)", sent.partition),
            ),
            Ok(sent) => format!(
                "send (call {}) acknowledged: {} offset {}",
                self.token, sent.partition, sent.offset
            ),
            Err(e) => failed("send", self.token, e),
        }
    }
}

impl EventText for Completion<ConsumerOutcome> {
    fn text(&self) -> String {
        let token = self.token;
        match &self.outcome {
            ConsumerOutcome::Poll(Ok(polled)) if polled.is_empty() => {
                format!("poll (call {token}) returned no records")
            }
            ConsumerOutcome::Poll(Ok(polled)) => {
                let each = polled.iter().map(|r| {
                    format!(
                        "{}@{} {}",
                        r.partition,
                        r.offset,
                        record(r.key.as_ref(), r.value.as_ref())
                    )
                });
                format!(
                    "poll (call {token}) returned {}: {}",
                    records(polled.len()),
                    listed(each, ", ")
                )
            }
            ConsumerOutcome::Poll(Err(e)) => failed("poll", token, e),
            ConsumerOutcome::Commit(Ok(())) => done("commit_sync", token, ""),
            ConsumerOutcome::Commit(Err(e)) => failed("commit_sync", token, e),
            ConsumerOutcome::Close => done("close", token, ""),
        }
    }
}
