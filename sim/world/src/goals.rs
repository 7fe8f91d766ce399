//! "Sometimes" goals: interesting things a run did at least once.
//!
//! A run that is green only because its faults never exercised failover proves
//! little. Each run counts the events below, and a sweep reports how many of its
//! runs reached each goal, so a fault mix that never changes a leader, shrinks an
//! ISR or completes a rebalance is visible instead of silently green.

use kafkasim::event::ClusterEvent;
use kafkasim::group::coordinator::GroupEvent;

/// The goal an event reaches, if any.
pub fn goal_of(event: &ClusterEvent) -> Option<&'static str> {
    match event {
        ClusterEvent::BrokerFenced { .. } => Some("broker fenced"),
        ClusterEvent::LeaderElected { unclean: true, .. } => Some("unclean election"),
        ClusterEvent::LeaderElected {
            leader: Some(_),
            leader_epoch,
            ..
        } if *leader_epoch > 0 => Some("leader changed"),
        ClusterEvent::IsrChanged { .. } => Some("ISR changed"),
        ClusterEvent::Truncated { .. } => Some("follower truncated"),
        ClusterEvent::Group(GroupEvent::GenerationStarted { generation_id, .. })
            if *generation_id > 1 =>
        {
            Some("rebalance completed")
        }
        ClusterEvent::Group(GroupEvent::CommitRejected { .. }) => Some("commit fenced"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kafkasim::ids::TopicPartition;

    #[test]
    fn a_leader_change_counts_but_the_first_election_does_not() {
        let elected = |leader_epoch, unclean| ClusterEvent::LeaderElected {
            partition: TopicPartition::new("t", 0),
            leader: Some(1),
            leader_epoch,
            isr: vec![1],
            elr: vec![],
            unclean,
        };
        assert_eq!(goal_of(&elected(0, false)), None);
        assert_eq!(goal_of(&elected(2, false)), Some("leader changed"));
        assert_eq!(goal_of(&elected(2, true)), Some("unclean election"));
    }
}
