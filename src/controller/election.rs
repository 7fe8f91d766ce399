//! Leader election rules, as pure functions over one partition.
//!
//! Kafka's rule: keep a live leader; otherwise pick the first replica, in
//! assignment order, that is in the ISR and alive. If there is none and
//! `unclean.leader.election.enable` is on, pick the first live replica and make it
//! the whole ISR: committed data may be lost, which is what "unclean" means.
//! The ISR never becomes empty: when its last member dies it stays, so that the
//! controller remembers who holds the committed data.

use crate::ids::BrokerId;
use crate::metadata::PartitionInfo;

/// The partition after `fenced` lost its liveness, if anything changed.
/// The flag says whether the new leader came from an unclean election.
pub fn on_broker_fenced(
    p: &PartitionInfo,
    fenced: BrokerId,
    live: &[BrokerId],
    unclean: bool,
) -> Option<(PartitionInfo, bool)> {
    let mut next = p.clone();
    if next.isr.len() > 1 {
        next.isr.retain(|&b| b != fenced);
    }
    if next.leader == Some(fenced) {
        next.leader = None;
        if let Some(elected) = elect(&next, live, unclean) {
            return Some(elected);
        }
        // No eligible replica: the partition goes offline, which is a leader change too.
        next.leader_epoch += 1;
    }
    if next == *p {
        return None;
    }
    next.partition_epoch += 1;
    Some((next, false))
}

/// Elects a leader for a leaderless partition, if any replica is eligible.
pub fn elect(p: &PartitionInfo, live: &[BrokerId], unclean: bool) -> Option<(PartitionInfo, bool)> {
    let is_live = |b: &BrokerId| live.contains(b);
    let clean = p.replicas.iter().find(|b| p.isr.contains(b) && is_live(b));
    let (leader, was_unclean) = match clean {
        Some(&b) => (b, false),
        None if unclean => (*p.replicas.iter().find(|b| is_live(b))?, true),
        None => return None,
    };
    let mut next = p.clone();
    if was_unclean {
        next.isr = vec![leader];
    } else {
        // Dead ISR members leave the ISR now that a live leader exists.
        next.isr.retain(|b| is_live(b) || *b == leader);
    }
    next.leader = Some(leader);
    // Every leader change starts a new epoch, including one from "no leader".
    next.leader_epoch = p.leader_epoch + 1;
    next.partition_epoch = p.partition_epoch + 1;
    Some((next, was_unclean))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn partition(
        replicas: &[BrokerId],
        isr: &[BrokerId],
        leader: Option<BrokerId>,
    ) -> PartitionInfo {
        PartitionInfo {
            partition: 0,
            replicas: replicas.to_vec(),
            isr: isr.to_vec(),
            leader,
            leader_epoch: 3,
            partition_epoch: 7,
        }
    }

    #[test]
    fn fencing_the_leader_elects_the_first_live_isr_member_in_assignment_order() {
        let p = partition(&[1, 2, 3], &[3, 2, 1], Some(1));
        let (next, unclean) = on_broker_fenced(&p, 1, &[2, 3], false).unwrap();
        assert_eq!(next.leader, Some(2));
        assert_eq!(next.isr, vec![3, 2]);
        assert_eq!(next.leader_epoch, 4);
        assert!(!unclean);
    }

    #[test]
    fn the_last_isr_member_stays_when_it_dies() {
        let p = partition(&[1], &[1], Some(1));
        let (next, _) = on_broker_fenced(&p, 1, &[], false).unwrap();
        assert_eq!(next.leader, None);
        assert_eq!(next.isr, vec![1]);
        assert_eq!(next.leader_epoch, 4);
    }

    #[test]
    fn without_unclean_election_an_out_of_sync_replica_is_never_elected() {
        let p = partition(&[1, 2], &[1], None);
        assert_eq!(elect(&p, &[2], false), None);
    }

    #[test]
    fn unclean_election_picks_a_live_replica_and_makes_it_the_whole_isr() {
        let p = partition(&[1, 2], &[1], None);
        let (next, unclean) = elect(&p, &[2], true).unwrap();
        assert_eq!(
            (next.leader, next.isr.clone(), unclean),
            (Some(2), vec![2], true)
        );
        assert_eq!(next.leader_epoch, 4);
    }

    #[test]
    fn a_returning_isr_member_is_elected() {
        let p = partition(&[1], &[1], None);
        let (next, _) = elect(&p, &[1], false).unwrap();
        assert_eq!(next.leader, Some(1));
        assert_eq!(next.leader_epoch, 4);
    }

    #[test]
    fn fencing_a_follower_only_shrinks_the_isr() {
        let p = partition(&[1, 2], &[1, 2], Some(1));
        let (next, _) = on_broker_fenced(&p, 2, &[1], false).unwrap();
        assert_eq!(
            (next.leader, next.isr.clone(), next.leader_epoch),
            (Some(1), vec![1], 3)
        );
        assert_eq!(next.partition_epoch, 8);
    }
}
