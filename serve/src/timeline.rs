//! The server's timeline: one line per cluster event a person starting a
//! server wants to see (brokers registering, topics created, leaders elected,
//! groups rebalancing). The other events (appends, high watermarks) are
//! left out: a produce would print several lines; so are offset commits (a
//! consumer commits every few seconds) and a coordinator loading a partition
//! with no groups in it. Faults and the driver's crashes and restarts are
//! shown too.

use crate::hub::{DriverEvent, Event};
use kafkasim::disk::CrashKind;
use kafkasim::event::ClusterEvent;
use kafkasim::group::coordinator::{GroupEvent, RemovalReason};

/// The line for `event` at `at_ms` since start, if it is one worth showing.
pub fn line(at_ms: u64, event: &Event) -> Option<String> {
    let text = match event {
        Event::Cluster(event) => cluster(event)?,
        Event::Driver(DriverEvent::Crashed { node, kind }) => {
            let what = match kind {
                CrashKind::ProcessCrash => "a process crash: its page cache is kept",
                CrashKind::PowerLoss => "a power loss: what was not yet on disk is lost",
                CrashKind::DiskReplaced => "a disk replacement: every log is gone",
            };
            format!("{node} down ({what})")
        }
        Event::Driver(DriverEvent::Restarted { node, incarnation }) => {
            format!("{node} restarted from its disk (start {incarnation})")
        }
        Event::Driver(DriverEvent::ListenFailed {
            broker,
            addr,
            error,
        }) => format!(
            "broker-{broker} cannot listen on {addr} again ({error}): it runs, but no \
             client reaches it; trying every {} s",
            crate::RELISTEN_EVERY.as_secs()
        ),
        Event::Driver(DriverEvent::ListeningAgain { broker, addr }) => {
            format!("broker-{broker} listening on {addr} again")
        }
        Event::Fault(text) => text.clone(),
    };
    Some(format!("{:>7.3}s  {text}", at_ms as f64 / 1000.0))
}

fn cluster(event: &ClusterEvent) -> Option<String> {
    let text = match event {
        ClusterEvent::BrokerRegistered {
            broker,
            broker_epoch,
        } => format!("broker-{broker} registered (broker epoch {broker_epoch})"),
        ClusterEvent::BrokerFenced { broker } => format!("broker-{broker} fenced"),
        ClusterEvent::TopicDeleted { topic, partitions } => {
            format!("topic {topic} deleted, {partitions} partition(s)")
        }
        ClusterEvent::BrokerUnfenced { broker } => format!("broker-{broker} unfenced"),
        ClusterEvent::TopicCreated { topic, replicas } => {
            format!(
                "topic {topic} created, {} partition(s), replicas {replicas:?}",
                replicas.len()
            )
        }
        ClusterEvent::LeaderElected {
            partition,
            leader,
            leader_epoch,
            isr,
            ..
        } => match leader {
            Some(leader) => {
                format!("{partition}: leader broker-{leader}, epoch {leader_epoch}, isr {isr:?}")
            }
            None => format!("{partition}: no leader (epoch {leader_epoch})"),
        },
        ClusterEvent::Group(event) => group(event)?,
        _ => return None,
    };
    Some(text)
}

/// A group coordinator's event, in Kafka's words, or `None` for the noisy ones.
fn group(event: &GroupEvent) -> Option<String> {
    Some(match event {
        GroupEvent::PartitionLoaded { groups, .. } if groups.is_empty() => return None,
        GroupEvent::PartitionLoaded { partition, groups } => {
            format!(
                "coordinator of __consumer_offsets-{partition} loaded groups {}",
                groups.join(", ")
            )
        }
        GroupEvent::PartitionUnloaded { groups, .. } if groups.is_empty() => return None,
        GroupEvent::PartitionUnloaded { partition, groups } => format!(
            "coordinator of __consumer_offsets-{partition} unloaded groups {} (Dead here)",
            groups.join(", ")
        ),
        GroupEvent::MemberAdded {
            group, member_id, ..
        } => format!("group {group}: {member_id} joined"),
        GroupEvent::StaticMemberReplaced {
            group,
            group_instance_id,
            old_member_id,
            new_member_id,
        } => format!(
            "group {group}: static member {group_instance_id} is now {new_member_id} \
             ({old_member_id} fenced)"
        ),
        GroupEvent::MemberRemoved {
            group,
            member_id,
            reason,
        } => {
            let why = match reason {
                RemovalReason::SessionTimeout => "session.timeout.ms passed without a heartbeat",
                RemovalReason::LeaveGroup => "LeaveGroup",
                RemovalReason::RebalanceTimeout => "it did not rejoin within the rebalance timeout",
                RemovalReason::SyncTimeout => "it sent no SyncGroup within the rebalance timeout",
            };
            format!("group {group}: {member_id} removed ({why})")
        }
        GroupEvent::RebalanceStarted {
            group,
            generation_id,
            reason,
        } => format!("group {group}: rebalancing after generation {generation_id} ({reason})"),
        GroupEvent::JoinCompleted {
            group,
            generation_id,
            members,
            ..
        } if members.is_empty() => format!("group {group}: generation {generation_id}, Empty"),
        GroupEvent::JoinCompleted {
            group,
            generation_id,
            leader,
            members,
            ..
        } => format!(
            "group {group}: generation {generation_id} joined by {}, leader {}",
            members.join(", "),
            leader.as_deref().unwrap_or("none")
        ),
        GroupEvent::GenerationStarted {
            group,
            generation_id,
            members,
            ..
        } => {
            let each: Vec<String> = (members.iter())
                .map(|(member, partitions)| {
                    let names: Vec<String> = partitions.iter().map(|p| p.to_string()).collect();
                    format!("{member} gets [{}]", names.join(", "))
                })
                .collect();
            format!(
                "group {group}: generation {generation_id} Stable: {}",
                each.join("; ")
            )
        }
        GroupEvent::OffsetCommitted { .. } => return None,
        GroupEvent::CommitRejected {
            group,
            member_id,
            generation_id,
            error,
        } => format!(
            "group {group}: commit by {member_id} (generation {generation_id}) refused: {error}"
        ),
        GroupEvent::CommitAppendFailed {
            group,
            member_id,
            error,
            ..
        } => format!("group {group}: commit by {member_id} failed to append: {error}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use kafkasim::ids::TopicPartition;

    #[test]
    fn a_stable_generation_names_each_members_partitions() {
        let members = [
            ("a".to_string(), vec![TopicPartition::new("users", 0)]),
            ("b".to_string(), vec![TopicPartition::new("users", 1)]),
        ];
        let event = Event::Cluster(ClusterEvent::Group(GroupEvent::GenerationStarted {
            group: "group-1".into(),
            generation_id: 2,
            leader: "a".into(),
            members: members.into_iter().collect(),
        }));
        assert_eq!(
            line(1500, &event).as_deref(),
            Some(
                "  1.500s  group group-1: generation 2 Stable: a gets [users-0]; b gets [users-1]"
            )
        );
    }
}
