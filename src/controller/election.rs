//! Leader election and ISR change rules, as pure functions over one partition.
//!
//! Kafka's rule: keep a live leader; otherwise pick the first replica, in
//! assignment order, that is in the ISR and alive. If there is none and
//! `unclean.leader.election.enable` is on, pick the first live replica and make it
//! the whole ISR: committed data may be lost, which is what "unclean" means.
//! The ISR never becomes empty: when its last member dies it stays, so that the
//! controller remembers who holds the committed data.

use crate::error::ErrorCode;
use crate::ids::{BrokerId, LeaderEpoch};
use crate::metadata::PartitionInfo;

/// A rule for what a partition becomes when one of its replicas changes state:
/// `(partition, broker, live brokers, unclean allowed)` → the changed partition
/// and whether its new leader came from an unclean election.
pub type BrokerRule =
    fn(&PartitionInfo, BrokerId, &[BrokerId], bool) -> Option<(PartitionInfo, bool)>;

/// The partition after `fenced` lost its liveness, if anything changed: it
/// leaves the ISR (unless it is the last member) and loses leadership.
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

// ANCHOR: reregistered
/// The partition after `broker` registered again as a new incarnation (its
/// process restarted, and nothing proves the stop was clean). Kafka 4.x
/// without eligible leader replicas (`ReplicationControlManager.
/// handleBrokerShutdown`) treats it as a fence: the broker leaves the ISR
/// unless it is the last member, and loses leadership. It earns its ISR place
/// back by fetching until it has caught up with the leader. The last member
/// stays: the controller remembers who may hold the committed records, even
/// when a power loss took them.
pub fn on_broker_reregistered(
    p: &PartitionInfo,
    broker: BrokerId,
    live: &[BrokerId],
    unclean: bool,
) -> Option<(PartitionInfo, bool)> {
    on_broker_fenced(p, broker, live, unclean)
}
// ANCHOR_END: reregistered

// ANCHOR: elect
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
    Some((with_leader(&next, leader), was_unclean))
}
// ANCHOR_END: elect

/// The partition with a new leader: every leader change starts a new epoch,
/// including one from "no leader".
fn with_leader(p: &PartitionInfo, leader: BrokerId) -> PartitionInfo {
    let mut next = p.clone();
    next.leader = Some(leader);
    next.leader_epoch = p.leader_epoch + 1;
    next.partition_epoch = p.partition_epoch + 1;
    next
}

// ANCHOR: elect_preferred
/// Preferred leader election (`ElectLeaders` with type PREFERRED): move
/// leadership back to `replicas[0]` if it is alive and in sync.
pub fn elect_preferred(p: &PartitionInfo, live: &[BrokerId]) -> Result<PartitionInfo, ErrorCode> {
    let preferred = p.replicas[0];
    if p.leader == Some(preferred) {
        return Err(ErrorCode::ElectionNotNeeded);
    }
    if !live.contains(&preferred) || !p.isr.contains(&preferred) {
        return Err(ErrorCode::PreferredLeaderNotAvailable);
    }
    Ok(with_leader(p, preferred))
}
// ANCHOR_END: elect_preferred

/// A proposed ISR change (`AlterPartition`) from the broker `from`, checked the
/// way Kafka's controller checks it, in its order: a proposal from an older leader
/// epoch is fenced (`FENCED_LEADER_EPOCH`, what a deposed leader gets); in the
/// current epoch only the leader may propose (`INVALID_REQUEST` otherwise), based
/// on the current partition epoch; the ISR stays inside the replicas, keeps the
/// leader, and adds only live brokers.
pub fn alter_isr(
    p: &PartitionInfo,
    from: BrokerId,
    leader_epoch: LeaderEpoch,
    partition_epoch: i32,
    new_isr: &[BrokerId],
    live: &[BrokerId],
) -> Result<PartitionInfo, ErrorCode> {
    if leader_epoch != p.leader_epoch {
        return Err(ErrorCode::FencedLeaderEpoch);
    }
    if p.leader != Some(from) {
        return Err(ErrorCode::InvalidRequest);
    }
    if partition_epoch != p.partition_epoch {
        return Err(ErrorCode::InvalidUpdateVersion);
    }
    let well_formed = new_isr.contains(&from)
        && new_isr.iter().all(|b| p.replicas.contains(b))
        && (1..new_isr.len()).all(|i| !new_isr[..i].contains(&new_isr[i]));
    if !well_formed {
        return Err(ErrorCode::InvalidRequest);
    }
    let adds_ineligible = new_isr
        .iter()
        .any(|b| !p.isr.contains(b) && !live.contains(b));
    if adds_ineligible {
        return Err(ErrorCode::IneligibleReplica);
    }
    let mut next = p.clone();
    next.isr = new_isr.to_vec();
    next.partition_epoch += 1;
    Ok(next)
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
    fn a_reregistered_leader_loses_leadership_and_its_isr_place() {
        let p = partition(&[1, 2], &[1, 2], Some(1));
        let (next, _) = on_broker_reregistered(&p, 1, &[2], false).unwrap();
        assert_eq!((next.leader, next.isr.clone()), (Some(2), vec![2]));
    }

    #[test]
    fn a_reregistered_last_isr_member_keeps_its_place_and_the_partition_goes_offline() {
        let p = partition(&[1, 2], &[1], Some(1));
        let (next, _) = on_broker_reregistered(&p, 1, &[2], false).unwrap();
        assert_eq!((next.leader, next.isr.clone()), (None, vec![1]));
    }

    #[test]
    fn preferred_election_moves_leadership_back_to_the_first_replica_when_in_sync() {
        let p = partition(&[1, 2], &[2, 1], Some(2));
        let next = elect_preferred(&p, &[1, 2]).unwrap();
        assert_eq!((next.leader, next.leader_epoch), (Some(1), 4));
        let leading = partition(&[1, 2], &[1, 2], Some(1));
        assert_eq!(
            elect_preferred(&leading, &[1, 2]),
            Err(ErrorCode::ElectionNotNeeded)
        );
        let out_of_sync = partition(&[1, 2], &[2], Some(2));
        assert_eq!(
            elect_preferred(&out_of_sync, &[1, 2]),
            Err(ErrorCode::PreferredLeaderNotAvailable)
        );
    }

    #[test]
    fn only_the_current_leader_in_the_current_epochs_may_change_the_isr() {
        let p = partition(&[1, 2, 3], &[1, 2, 3], Some(1));
        let shrunk = alter_isr(&p, 1, 3, 7, &[1, 2], &[1, 2, 3]).unwrap();
        assert_eq!(
            (shrunk.isr.clone(), shrunk.partition_epoch),
            (vec![1, 2], 8)
        );
        assert_eq!(
            alter_isr(&p, 2, 3, 7, &[2], &[1, 2, 3]),
            Err(ErrorCode::InvalidRequest)
        );
        assert_eq!(
            alter_isr(&p, 1, 2, 7, &[1], &[1, 2, 3]),
            Err(ErrorCode::FencedLeaderEpoch)
        );
        assert_eq!(
            alter_isr(&p, 1, 3, 6, &[1], &[1, 2, 3]),
            Err(ErrorCode::InvalidUpdateVersion)
        );
        assert_eq!(
            alter_isr(&p, 1, 3, 7, &[2, 3], &[1, 2, 3]),
            Err(ErrorCode::InvalidRequest)
        );
    }

    #[test]
    fn an_isr_expansion_may_add_only_live_brokers() {
        let p = partition(&[1, 2, 3], &[1], Some(1));
        assert_eq!(
            alter_isr(&p, 1, 3, 7, &[1, 2], &[1, 3]),
            Err(ErrorCode::IneligibleReplica)
        );
        assert_eq!(
            alter_isr(&p, 1, 3, 7, &[1, 3], &[1, 3]).unwrap().isr,
            vec![1, 3]
        );
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
