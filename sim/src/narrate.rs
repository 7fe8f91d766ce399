//! Turns cluster events into timeline sentences a learner can follow.

use kafkasim::event::ClusterEvent;

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
        ClusterEvent::LeaderElected {
            partition,
            leader,
            leader_epoch,
            isr,
            unclean,
        } => Some(match leader {
            Some(l) => format!(
                "{partition}: leader broker-{l}, leader epoch {leader_epoch}, ISR {}{}",
                brokers(isr),
                if *unclean { " (UNCLEAN election)" } else { "" }
            ),
            None => format!(
                "{partition}: no leader available (leader epoch {leader_epoch}, ISR {})",
                brokers(isr)
            ),
        }),
        ClusterEvent::IsrChanged {
            partition, isr, ..
        } => Some(format!("{partition}: ISR now {}", brokers(isr))),
        ClusterEvent::Truncated {
            broker,
            partition,
            log_end_offset,
            records,
        } => Some(format!(
            "broker-{broker} truncated {partition} to offset {log_end_offset}, dropping {records} record(s)"
        )),
        ClusterEvent::BecameLeader { .. }
        | ClusterEvent::BecameFollower { .. }
        | ClusterEvent::Appended { .. }
        | ClusterEvent::HighWatermark { .. } => None,
    }
}

fn brokers(ids: &[i32]) -> String {
    let names: Vec<String> = ids.iter().map(|b| b.to_string()).collect();
    format!("[{}]", names.join(","))
}
