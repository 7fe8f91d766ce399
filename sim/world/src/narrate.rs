//! Turns cluster events into timeline sentences a learner can follow.

use kafkasim::event::ClusterEvent;
use kafkasim::group::coordinator::GroupEvent;
use kafkasim::ids::BrokerId;

/// What kind of line a timeline line is, for whoever shows it (a terminal
/// colours faults red): said by the code that writes the line, so that no
/// reader has to guess it from the words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Tone {
    #[default]
    Plain,
    /// A fault starts: a crash, a pause, a cut.
    Fault,
    /// A fault ends: a restart, a resume, a reconnection.
    Recovery,
    /// What the faults led to, or the nemesis's plan: a truncation, a fenced
    /// broker, an unclean election, a partition without a leader.
    Notice,
}

/// How a told event reads: a fenced broker, a truncation, an unclean election
/// or a partition left without a leader are what faults led to.
pub fn tone(event: &ClusterEvent) -> Tone {
    match event {
        ClusterEvent::BrokerFenced { .. } | ClusterEvent::Truncated { .. } => Tone::Notice,
        ClusterEvent::LeaderElected {
            leader, unclean, ..
        } if leader.is_none() || *unclean => Tone::Notice,
        _ => Tone::Plain,
    }
}

/// The eligible leader replicas, when there are any (KIP-966).
fn eligible(elr: &[BrokerId]) -> String {
    match elr {
        [] => String::new(),
        elr => format!(", ELR {}", brokers(elr)),
    }
}

/// A sentence for the events worth telling; `None` for the rest (they stay in
/// the full trace).
pub fn narrate(event: &ClusterEvent) -> Option<String> {
    match event {
        ClusterEvent::BrokerRegistered {
            broker,
            broker_epoch,
        } => Some(format!(
            "broker-{broker} registered (broker epoch {broker_epoch})"
        )),
        ClusterEvent::BrokerFenced { broker } => Some(format!(
            "broker-{broker} fenced: no heartbeat within the session timeout"
        )),
        ClusterEvent::BrokerUnfenced { broker } => Some(format!(
            "broker-{broker} unfenced: heartbeating, may lead partitions"
        )),
        ClusterEvent::TopicCreated { topic, replicas } => {
            let placement: Vec<String> = replicas
                .iter()
                .enumerate()
                .map(|(p, r)| format!("{topic}-{p} on {}", brokers(r)))
                .collect();
            Some(format!("topic {topic} created: {}", placement.join(", ")))
        }
        ClusterEvent::TopicDeleted { topic, partitions } => Some(format!(
            "topic {topic} deleted: its {partitions} partition(s) left the metadata"
        )),
        ClusterEvent::LeaderElected {
            partition,
            leader,
            leader_epoch,
            isr,
            elr,
            unclean,
        } => Some(match leader {
            Some(l) => format!(
                "{partition}: leader broker-{l}, leader epoch {leader_epoch}, ISR {}{}{}",
                brokers(isr),
                eligible(elr),
                if *unclean { " (UNCLEAN election)" } else { "" }
            ),
            None => format!(
                "{partition}: no leader available (leader epoch {leader_epoch}, ISR {}{})",
                brokers(isr),
                eligible(elr)
            ),
        }),
        ClusterEvent::IsrChanged {
            partition, isr, elr, ..
        } => Some(format!("{partition}: ISR now {}{}", brokers(isr), eligible(elr))),
        ClusterEvent::Truncated {
            broker,
            partition,
            log_end_offset,
            records,
        } => Some(format!(
            "broker-{broker} truncated {partition} to offset {log_end_offset}, dropping {records} record(s)"
        )),
        ClusterEvent::Group(event) => narrate_group(event),
        ClusterEvent::BecameLeader { .. }
        | ClusterEvent::BecameFollower { .. }
        | ClusterEvent::Appended { .. }
        | ClusterEvent::HighWatermark { .. } => None,
    }
}

fn narrate_group(event: &GroupEvent) -> Option<String> {
    match event {
        GroupEvent::PartitionLoaded { partition, groups } if !groups.is_empty() => Some(format!(
            "coordinator of __consumer_offsets-{partition}: loaded group(s) {}",
            groups.join(", ")
        )),
        GroupEvent::MemberAdded {
            group, member_id, ..
        } => Some(format!("group {group}: {member_id} joins")),
        GroupEvent::StaticMemberReplaced {
            group,
            group_instance_id,
            old_member_id,
            new_member_id,
        } => Some(format!(
            "group {group}: static member {group_instance_id} is now {new_member_id}; {old_member_id} is fenced"
        )),
        GroupEvent::MemberRemoved {
            group,
            member_id,
            reason,
        } => Some(format!("group {group}: {member_id} removed ({reason:?})")),
        GroupEvent::RebalanceStarted { group, reason, .. } => {
            Some(format!("group {group}: rebalance ({reason})"))
        }
        GroupEvent::GenerationStarted {
            group,
            generation_id,
            leader,
            members,
        } => {
            let owners: Vec<String> = members
                .iter()
                .map(|(member, partitions)| {
                    let parts: Vec<String> = partitions.iter().map(|p| p.to_string()).collect();
                    format!("{member} [{}]", parts.join(","))
                })
                .collect();
            Some(format!(
                "group {group}: generation {generation_id} (leader {leader}): {}",
                owners.join(", ")
            ))
        }
        GroupEvent::CommitRejected {
            group,
            member_id,
            generation_id,
            error,
        } => Some(format!(
            "group {group}: commit from {member_id} (generation {generation_id}) rejected: {error}"
        )),
        GroupEvent::CommitAppendFailed {
            group,
            member_id,
            error,
            ..
        } => Some(format!(
            "group {group}: commit from {member_id} not written: {error}"
        )),
        GroupEvent::PartitionLoaded { .. }
        | GroupEvent::PartitionUnloaded { .. }
        | GroupEvent::JoinCompleted { .. }
        | GroupEvent::OffsetCommitted { .. } => None,
    }
}

fn brokers(ids: &[i32]) -> String {
    let names: Vec<String> = ids.iter().map(|b| b.to_string()).collect();
    format!("[{}]", names.join(","))
}
