//! Leader election and ISR change rules, as pure functions over one partition.
//!
//! Kafka's rule: keep a live leader; otherwise pick the first replica, in
//! assignment order, that is in the ISR and alive. If there is none and
//! `unclean.leader.election.enable` is on, pick the first live replica and make it
//! the whole ISR: committed data may be lost, which is what "unclean" means.
//!
//! Without eligible leader replicas (Kafka 4.0's default) the ISR never becomes
//! empty: when its last member dies it stays, so that the controller remembers
//! who holds the committed data, and trusts it to still hold it when it
//! returns. With them (KIP-966, `eligible.leader.replicas.version` 1, on for
//! new Kafka 4.1 clusters; `PartitionChangeBuilder`), a replica that leaves an
//! ISR smaller than `min.insync.replicas` becomes an *eligible leader replica*
//! (ELR): it still holds every committed record, since the high watermark
//! cannot move while the ISR is that small. The last ISR member leaves too when
//! it is fenced, and an empty ISR elects from the ELR. A broker that comes back
//! from an unclean shutdown (every restart here: the model has no controlled
//! shutdown) leaves both: its log may have lost what it acknowledged.

use crate::error::ErrorCode;
use crate::ids::{BrokerId, LeaderEpoch};
use crate::metadata::PartitionInfo;

/// What a partition's election rules depend on besides the partition.
#[derive(Debug, Clone, Copy)]
pub struct Rules<'a> {
    /// The brokers that are registered and unfenced.
    pub live: &'a [BrokerId],
    /// The topic's `unclean.leader.election.enable`.
    pub unclean: bool,
    /// With eligible leader replicas on, the topic's `min.insync.replicas`.
    pub elr_min_isr: Option<usize>,
}

impl Rules<'_> {
    fn is_live(&self, broker: &BrokerId) -> bool {
        self.live.contains(broker)
    }
}

/// A rule for what a partition becomes when one of its replicas changes state:
/// `(partition, broker, rules)` → the changed partition and whether its new
/// leader came from an unclean election.
pub type BrokerRule = fn(&PartitionInfo, BrokerId, &Rules) -> Option<(PartitionInfo, bool)>;

/// The partition after `fenced` lost its liveness, if anything changed: it
/// leaves the ISR (unless it is the last member and eligible leader replicas
/// are off) and loses leadership. The flag says whether the new leader came
/// from an unclean election.
pub fn on_broker_fenced(
    p: &PartitionInfo,
    fenced: BrokerId,
    rules: &Rules,
) -> Option<(PartitionInfo, bool)> {
    leave(p, fenced, rules, None)
}

// ANCHOR: reregistered
/// The partition after `broker` registered again as a new incarnation (its
/// process restarted, and nothing proves the stop was clean). Kafka 4.x
/// accepts a new incarnation only once the old one's session is over, so the
/// controller has fenced it already (`handleBrokerFenced`): it left the ISR
/// unless it was the last member, and lost leadership. It earns its ISR place
/// back by fetching until it has caught up with the leader. Without eligible
/// leader replicas the last member stays: the controller remembers who may
/// hold the committed records, even when a power loss took them. With them,
/// `handleBrokerUncleanShutdown` also takes the broker out of the last ISR
/// place and the ELR: after an unclean shutdown nothing vouches for its log.
pub fn on_broker_reregistered(
    p: &PartitionInfo,
    broker: BrokerId,
    rules: &Rules,
) -> Option<(PartitionInfo, bool)> {
    leave(p, broker, rules, Some(broker))
}
// ANCHOR_END: reregistered

/// `broker` leaves the ISR (and, after an `unclean_shutdown`, the ELR) and
/// loses leadership; a leaderless partition elects.
fn leave(
    p: &PartitionInfo,
    broker: BrokerId,
    rules: &Rules,
    unclean_shutdown: Option<BrokerId>,
) -> Option<(PartitionInfo, bool)> {
    let mut next = p.clone();
    if next.isr.len() > 1 || rules.elr_min_isr.is_some() {
        next.isr.retain(|&b| b != broker);
    }
    next.elr = eligible_leader_replicas(p, &next.isr, rules, unclean_shutdown);
    if next.leader == Some(broker) {
        next.leader = None;
        if let Some(elected) = elect(&next, rules) {
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

// ANCHOR: elr
/// The ELR once `p`'s ISR becomes `new_isr` (Kafka's
/// `PartitionChangeBuilder.maybePopulateTargetElr`): empty while the ISR has
/// `min.insync.replicas` members; below that, everyone who was in the ISR or
/// the ELR and is not in the new ISR, except a broker back from an unclean
/// shutdown.
fn eligible_leader_replicas(
    p: &PartitionInfo,
    new_isr: &[BrokerId],
    rules: &Rules,
    unclean_shutdown: Option<BrokerId>,
) -> Vec<BrokerId> {
    let Some(min_isr) = rules.elr_min_isr else {
        return Vec::new();
    };
    if new_isr.len() >= min_isr {
        return Vec::new();
    }
    let was_eligible = |b: &BrokerId| p.isr.contains(b) || p.elr.contains(b);
    (p.replicas.iter().copied())
        .filter(|b| was_eligible(b) && !new_isr.contains(b) && unclean_shutdown != Some(*b))
        .collect()
}
// ANCHOR_END: elr

// ANCHOR: elect
/// Elects a leader for a leaderless partition, if any replica is eligible:
/// a live ISR member; with an empty ISR, a live eligible leader replica, which
/// becomes the ISR; else, if allowed, any live replica (unclean).
pub fn elect(p: &PartitionInfo, rules: &Rules) -> Option<(PartitionInfo, bool)> {
    let first_live_of =
        |set: &[BrokerId]| (p.replicas.iter()).find(|b| set.contains(b) && rules.is_live(b));
    let mut next = p.clone();
    let from_elr = || p.isr.is_empty().then(|| first_live_of(&p.elr)).flatten();
    let (leader, was_unclean) = if let Some(&b) = first_live_of(&p.isr) {
        // Dead ISR members leave the ISR now that a live leader exists.
        next.isr.retain(|b| rules.is_live(b));
        (b, false)
    } else if let Some(&b) = from_elr() {
        next.isr = vec![b];
        (b, false)
    } else if rules.unclean {
        let b = *p.replicas.iter().find(|b| rules.is_live(b))?;
        next.isr = vec![b];
        (b, true)
    } else {
        return None;
    };
    next.elr = match was_unclean {
        true => Vec::new(), // an unclean election forgets who was eligible
        false => eligible_leader_replicas(p, &next.isr, rules, None),
    };
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
/// leader, and adds only live brokers. Each member comes with the broker epoch
/// the leader saw in its fetches (`-1`: unknown); one that is not the epoch
/// `registered` now is a past incarnation, perhaps with a lost disk, and makes
/// the proposal `INELIGIBLE_REPLICA` (KIP-903, Kafka 3.5+).
pub fn alter_isr(
    p: &PartitionInfo,
    from: BrokerId,
    (leader_epoch, partition_epoch): (LeaderEpoch, i32),
    (new_isr, broker_epochs): (&[BrokerId], &[i64]),
    registered: impl Fn(BrokerId) -> Option<i64>,
    rules: &Rules,
) -> Result<PartitionInfo, ErrorCode> {
    let live = rules.live;
    if leader_epoch != p.leader_epoch {
        return Err(ErrorCode::FencedLeaderEpoch);
    }
    if p.leader != Some(from) {
        return Err(ErrorCode::InvalidRequest);
    }
    if partition_epoch != p.partition_epoch {
        return Err(ErrorCode::InvalidUpdateVersion);
    }
    let well_formed = new_isr.len() == broker_epochs.len()
        && new_isr.contains(&from)
        && new_isr.iter().all(|b| p.replicas.contains(b))
        && (1..new_isr.len()).all(|i| !new_isr[..i].contains(&new_isr[i]));
    if !well_formed {
        return Err(ErrorCode::InvalidRequest);
    }
    let adds_ineligible = new_isr
        .iter()
        .any(|b| !p.isr.contains(b) && !live.contains(b));
    let stale = (new_isr.iter().zip(broker_epochs))
        .any(|(&b, &epoch)| epoch != -1 && registered(b) != Some(epoch));
    if adds_ineligible || stale {
        return Err(ErrorCode::IneligibleReplica);
    }
    let mut next = p.clone();
    next.isr = new_isr.to_vec();
    next.elr = eligible_leader_replicas(p, new_isr, rules, None);
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
            elr: vec![],
            leader,
            leader_epoch: 3,
            partition_epoch: 7,
        }
    }

    fn rules(live: &[BrokerId], unclean: bool) -> Rules<'_> {
        Rules {
            live,
            unclean,
            elr_min_isr: None,
        }
    }

    /// Rules with eligible leader replicas on and `min.insync.replicas` 2.
    fn elr_rules(live: &[BrokerId]) -> Rules<'_> {
        Rules {
            live,
            unclean: false,
            elr_min_isr: Some(2),
        }
    }

    #[test]
    fn below_min_isr_a_replica_leaving_the_isr_becomes_eligible() {
        let p = partition(&[1, 2, 3], &[1, 2], Some(1));
        let (next, _) = on_broker_fenced(&p, 2, &elr_rules(&[1, 3])).unwrap();
        assert_eq!((next.isr.clone(), next.elr.clone()), (vec![1], vec![2]));
        // Back to min.insync.replicas: the ELR is forgotten.
        let grown = alter_isr(
            &next,
            1,
            (3, 8),
            (&[1, 3], &[-1; 2]),
            |_| None,
            &elr_rules(&[1, 3]),
        )
        .unwrap();
        assert_eq!((grown.isr, grown.elr), (vec![1, 3], vec![]));
    }

    #[test]
    fn with_elr_the_last_isr_member_leaves_and_an_eligible_replica_is_elected() {
        let p = partition(&[1, 2], &[1], Some(1));
        let p = PartitionInfo { elr: vec![2], ..p };
        // The leader, last in the ISR, is fenced while broker 2 is down too.
        let (offline, _) = on_broker_fenced(&p, 1, &elr_rules(&[])).unwrap();
        assert_eq!((offline.leader, offline.isr.clone()), (None, vec![]));
        assert_eq!(offline.elr, vec![1, 2]);
        // Broker 2 was only cut off from the controller, and heartbeats again
        // as the same incarnation: it is eligible, so it leads and is the ISR.
        let (led, unclean) = elect(&offline, &elr_rules(&[2])).unwrap();
        assert_eq!(
            (led.leader, led.isr.clone(), led.elr.clone()),
            (Some(2), vec![2], vec![1])
        );
        assert!(!unclean, "an election from the ELR is clean");
    }

    #[test]
    fn with_elr_a_restarted_broker_is_no_longer_eligible() {
        let offline = PartitionInfo {
            elr: vec![1, 2],
            ..partition(&[1, 2], &[], None)
        };
        let (next, _) = on_broker_reregistered(&offline, 2, &elr_rules(&[])).unwrap();
        assert_eq!((next.isr.clone(), next.elr.clone()), (vec![], vec![1]));
        let (next, _) = on_broker_reregistered(&next, 1, &elr_rules(&[])).unwrap();
        assert!(next.elr.is_empty(), "nothing vouches for either log");
        assert_eq!(
            elect(&next, &elr_rules(&[1, 2])),
            None,
            "the partition waits"
        );
    }

    #[test]
    fn fencing_the_leader_elects_the_first_live_isr_member_in_assignment_order() {
        let p = partition(&[1, 2, 3], &[3, 2, 1], Some(1));
        let (next, unclean) = on_broker_fenced(&p, 1, &rules(&[2, 3], false)).unwrap();
        assert_eq!(next.leader, Some(2));
        assert_eq!(next.isr, vec![3, 2]);
        assert_eq!(next.leader_epoch, 4);
        assert!(!unclean);
    }

    #[test]
    fn the_last_isr_member_stays_when_it_dies() {
        let p = partition(&[1], &[1], Some(1));
        let (next, _) = on_broker_fenced(&p, 1, &rules(&[], false)).unwrap();
        assert_eq!(next.leader, None);
        assert_eq!(next.isr, vec![1]);
        assert_eq!(next.leader_epoch, 4);
    }

    #[test]
    fn without_unclean_election_an_out_of_sync_replica_is_never_elected() {
        let p = partition(&[1, 2], &[1], None);
        assert_eq!(elect(&p, &rules(&[2], false)), None);
    }

    #[test]
    fn unclean_election_picks_a_live_replica_and_makes_it_the_whole_isr() {
        let p = partition(&[1, 2], &[1], None);
        let (next, unclean) = elect(&p, &rules(&[2], true)).unwrap();
        assert_eq!(
            (next.leader, next.isr.clone(), unclean),
            (Some(2), vec![2], true)
        );
        assert_eq!(next.leader_epoch, 4);
    }

    #[test]
    fn a_returning_isr_member_is_elected() {
        let p = partition(&[1], &[1], None);
        let (next, _) = elect(&p, &rules(&[1], false)).unwrap();
        assert_eq!(next.leader, Some(1));
        assert_eq!(next.leader_epoch, 4);
    }

    #[test]
    fn a_reregistered_leader_loses_leadership_and_its_isr_place() {
        let p = partition(&[1, 2], &[1, 2], Some(1));
        let (next, _) = on_broker_reregistered(&p, 1, &rules(&[2], false)).unwrap();
        assert_eq!((next.leader, next.isr.clone()), (Some(2), vec![2]));
    }

    #[test]
    fn a_reregistered_last_isr_member_keeps_its_place_and_the_partition_goes_offline() {
        let p = partition(&[1, 2], &[1], Some(1));
        let (next, _) = on_broker_reregistered(&p, 1, &rules(&[2], false)).unwrap();
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
        let shrunk = alter_isr(
            &p,
            1,
            (3, 7),
            (&[1, 2], &[-1; 2]),
            |_| None,
            &rules(&[1, 2, 3], false),
        )
        .unwrap();
        assert_eq!(
            (shrunk.isr.clone(), shrunk.partition_epoch),
            (vec![1, 2], 8)
        );
        assert_eq!(
            alter_isr(
                &p,
                2,
                (3, 7),
                (&[2], &[-1; 1]),
                |_| None,
                &rules(&[1, 2, 3], false)
            ),
            Err(ErrorCode::InvalidRequest)
        );
        assert_eq!(
            alter_isr(
                &p,
                1,
                (2, 7),
                (&[1], &[-1; 1]),
                |_| None,
                &rules(&[1, 2, 3], false)
            ),
            Err(ErrorCode::FencedLeaderEpoch)
        );
        assert_eq!(
            alter_isr(
                &p,
                1,
                (3, 6),
                (&[1], &[-1; 1]),
                |_| None,
                &rules(&[1, 2, 3], false)
            ),
            Err(ErrorCode::InvalidUpdateVersion)
        );
        assert_eq!(
            alter_isr(
                &p,
                1,
                (3, 7),
                (&[2, 3], &[-1; 2]),
                |_| None,
                &rules(&[1, 2, 3], false)
            ),
            Err(ErrorCode::InvalidRequest)
        );
    }

    #[test]
    fn an_isr_member_fetching_as_a_past_incarnation_is_ineligible() {
        let p = partition(&[1, 2, 3], &[1], Some(1));
        // Broker 2 restarted (epoch 5 -> 9, say with an empty disk); the leader
        // still counts a fetch its old incarnation sent.
        let registered = |b: BrokerId| Some(if b == 2 { 9 } else { 4 });
        let live = rules(&[1, 2, 3], false);
        let stale = alter_isr(&p, 1, (3, 7), (&[1, 2], &[4, 5]), registered, &live);
        assert_eq!(stale, Err(ErrorCode::IneligibleReplica));
        let current = alter_isr(&p, 1, (3, 7), (&[1, 2], &[4, 9]), registered, &live);
        assert_eq!(current.map(|p| p.isr), Ok(vec![1, 2]));
        let unknown = alter_isr(&p, 1, (3, 7), (&[1, 2], &[-1, -1]), registered, &live);
        assert!(unknown.is_ok(), "-1 skips the check, as in Kafka");
    }

    #[test]
    fn an_isr_expansion_may_add_only_live_brokers() {
        let p = partition(&[1, 2, 3], &[1], Some(1));
        assert_eq!(
            alter_isr(
                &p,
                1,
                (3, 7),
                (&[1, 2], &[-1; 2]),
                |_| None,
                &rules(&[1, 3], false)
            ),
            Err(ErrorCode::IneligibleReplica)
        );
        assert_eq!(
            alter_isr(
                &p,
                1,
                (3, 7),
                (&[1, 3], &[-1; 2]),
                |_| None,
                &rules(&[1, 3], false)
            )
            .unwrap()
            .isr,
            vec![1, 3]
        );
    }

    #[test]
    fn fencing_a_follower_only_shrinks_the_isr() {
        let p = partition(&[1, 2], &[1, 2], Some(1));
        let (next, _) = on_broker_fenced(&p, 2, &rules(&[1], false)).unwrap();
        assert_eq!(
            (next.leader, next.isr.clone(), next.leader_epoch),
            (Some(1), vec![1], 3)
        );
        assert_eq!(next.partition_epoch, 8);
    }
}
