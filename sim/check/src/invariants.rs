//! Replica and group invariants, checked on the events the nodes report as a run
//! goes (not on their insides): each a named rule of `checkers.md`.
//!
//! | invariant | holds when |
//! |---|---|
//! | `one-leader-per-epoch` | no two brokers act as leader of a partition in one leader epoch |
//! | `hw-monotonic` | a leader's high watermark never goes down during its epoch |
//! | `exclusive-assignment` | no partition is given to two members of one generation |
//! | `one-assignment-per-generation` | a generation, once started, is never started again with other members or partitions |
//! | `fenced-commits` | every commit the coordinator persisted came from a member of the generation it names |
//!
//! The replicas' agreement below the high watermark (`committed-prefix-agreement`)
//! is checked at the end of every run by comparing the logs ([`crate::divergence`]).
//! A violation of any of these is a bug in the model, whatever the settings:
//! Kafka keeps them even under unclean elections and power losses. (A power loss
//! can cost the offsets topic a generation's record, so the group invariants are
//! judged afresh each time a coordinator loads a partition of the offsets topic.)

use crate::finding::{Detail, Finding, Kind};
use kafkasim::event::ClusterEvent;
use kafkasim::group::coordinator::GroupEvent;
use kafkasim::ids::{BrokerId, LeaderEpoch, Offset, TopicPartition};
use std::collections::BTreeMap;

/// At most this many violations of one invariant are kept (the first ones).
const KEPT_PER_INVARIANT: usize = 5;

/// The invariants' state over a run, fed one event at a time.
#[derive(Debug, Default)]
pub struct Invariants {
    /// Who led each partition in each epoch, and since when.
    leaders: BTreeMap<(TopicPartition, LeaderEpoch), (BrokerId, u64)>,
    /// Each acting leader's epoch and last high watermark, by broker and partition.
    leading: BTreeMap<(BrokerId, TopicPartition), (LeaderEpoch, Option<Offset>)>,
    /// Each started generation's assignment, by group and generation.
    generations: BTreeMap<(String, i32), BTreeMap<String, Vec<TopicPartition>>>,
    violations: BTreeMap<Kind, Vec<Finding>>,
}

impl Invariants {
    /// Takes in one event a node reported at `time_ms`.
    pub fn observe(&mut self, time_ms: u64, event: &ClusterEvent) {
        match event {
            ClusterEvent::BecameLeader {
                broker,
                partition,
                leader_epoch,
            } => self.became_leader(time_ms, *broker, partition, *leader_epoch),
            ClusterEvent::BecameFollower {
                broker, partition, ..
            } => {
                self.leading.remove(&(*broker, partition.clone()));
            }
            ClusterEvent::HighWatermark {
                broker,
                partition,
                high_watermark,
            } => self.high_watermark(time_ms, *broker, partition, *high_watermark),
            ClusterEvent::Group(GroupEvent::GenerationStarted {
                group,
                generation_id,
                members,
                ..
            }) => self.generation_started(time_ms, group, *generation_id, members),
            // A coordinator that takes a partition of the offsets topic over
            // rebuilds its groups from the log; what the log lost (a power loss
            // of every replica) it does not know, and it may hand a generation
            // number out again. A group lost whole is not even named here, so
            // every group is judged afresh from each load on.
            ClusterEvent::Group(GroupEvent::PartitionLoaded { .. }) => self.generations.clear(),
            // A topic created again under a deleted one's name starts its
            // leader epochs over (Kafka tells the two apart by topic id, which
            // the model does not have): what the deleted one did is forgotten.
            ClusterEvent::TopicDeleted { topic, .. } => {
                self.leaders.retain(|(tp, _), _| tp.topic != *topic);
                self.leading.retain(|(_, tp), _| tp.topic != *topic);
            }
            ClusterEvent::Group(GroupEvent::OffsetCommitted {
                group,
                member_id,
                generation_id,
                partition,
                offset,
            }) => self.committed(
                time_ms,
                group,
                member_id,
                *generation_id,
                partition,
                *offset,
            ),
            _ => {}
        }
    }

    /// A broker's process restarted: what it led before is over.
    pub fn restarted(&mut self, broker: BrokerId) {
        self.leading.retain(|(b, _), _| *b != broker);
    }

    /// Every violation, by invariant, the first ones of each.
    pub fn violations(&self) -> Vec<Finding> {
        self.violations.values().flatten().cloned().collect()
    }

    fn violate(&mut self, kind: Kind, detail: Detail) {
        let found = self.violations.entry(kind).or_default();
        if found.len() < KEPT_PER_INVARIANT {
            found.push(Finding::new(kind, detail));
        }
    }

    fn became_leader(
        &mut self,
        time_ms: u64,
        broker: BrokerId,
        tp: &TopicPartition,
        epoch: LeaderEpoch,
    ) {
        match self.leaders.get(&(tp.clone(), epoch)) {
            Some(&(other, since)) if other != broker => self.violate(
                Kind::OneLeaderPerEpoch,
                Detail::LeaderTwice {
                    partition: tp.clone(),
                    leader_epoch: epoch,
                    first: other,
                    first_ms: since,
                    second: broker,
                    second_ms: time_ms,
                },
            ),
            Some(_) => {}
            None => {
                self.leaders.insert((tp.clone(), epoch), (broker, time_ms));
            }
        }
        self.leading.insert((broker, tp.clone()), (epoch, None));
    }

    fn high_watermark(&mut self, time_ms: u64, broker: BrokerId, tp: &TopicPartition, hw: Offset) {
        let Some((epoch, last)) = self.leading.get_mut(&(broker, tp.clone())) else {
            return;
        };
        let (epoch, before) = (*epoch, *last);
        *last = Some(before.map_or(hw, |before| before.max(hw)));
        if let Some(before) = before.filter(|&before| hw < before) {
            self.violate(
                Kind::HwMonotonic,
                Detail::HighWatermarkBack {
                    broker,
                    partition: tp.clone(),
                    leader_epoch: epoch,
                    before,
                    after: hw,
                    time_ms,
                },
            );
        }
    }

    fn generation_started(
        &mut self,
        time_ms: u64,
        group: &str,
        generation: i32,
        members: &BTreeMap<String, Vec<TopicPartition>>,
    ) {
        let mut owner: BTreeMap<&TopicPartition, &str> = BTreeMap::new();
        for (member, partitions) in members {
            for tp in partitions {
                if let Some(first) = owner.insert(tp, member) {
                    let members = [first.to_string(), member.clone()];
                    self.violate(
                        Kind::ExclusiveAssignment,
                        Detail::AssignedTwice {
                            group: group.to_string(),
                            generation,
                            partition: tp.clone(),
                            members,
                            time_ms,
                        },
                    );
                }
            }
        }
        let key = (group.to_string(), generation);
        match self.generations.get(&key) {
            // A coordinator that takes over rebuilds the group: the same start again.
            Some(before) if before == members => {}
            Some(_) => self.violate(
                Kind::OneAssignmentPerGeneration,
                Detail::GenerationRestarted {
                    group: group.to_string(),
                    generation,
                    time_ms,
                },
            ),
            None => {
                self.generations.insert(key, members.clone());
            }
        }
    }

    fn committed(
        &mut self,
        time_ms: u64,
        group: &str,
        member: &str,
        generation: i32,
        tp: &TopicPartition,
        offset: Offset,
    ) {
        // A commit from outside group management names no member or generation.
        if member.is_empty() && generation < 0 {
            return;
        }
        // A generation started before this coordinator took over is not known.
        let Some(members) = self.generations.get(&(group.to_string(), generation)) else {
            return;
        };
        if !members.contains_key(member) {
            self.violate(
                Kind::FencedCommits,
                Detail::UnfencedCommit {
                    group: group.to_string(),
                    member: member.to_string(),
                    generation,
                    partition: tp.clone(),
                    offset,
                    time_ms,
                },
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tp() -> TopicPartition {
        TopicPartition::new("events", 0)
    }

    fn leader(broker: BrokerId, epoch: LeaderEpoch) -> ClusterEvent {
        ClusterEvent::BecameLeader {
            broker,
            partition: tp(),
            leader_epoch: epoch,
        }
    }

    fn hw(broker: BrokerId, high_watermark: Offset) -> ClusterEvent {
        ClusterEvent::HighWatermark {
            broker,
            partition: tp(),
            high_watermark,
        }
    }

    fn started(generation_id: i32, members: &[(&str, &[i32])]) -> ClusterEvent {
        ClusterEvent::Group(GroupEvent::GenerationStarted {
            group: "g".into(),
            generation_id,
            leader: members[0].0.into(),
            members: (members.iter())
                .map(|(m, ps)| {
                    (
                        m.to_string(),
                        ps.iter()
                            .map(|&p| TopicPartition::new("events", p))
                            .collect(),
                    )
                })
                .collect(),
        })
    }

    fn commit(member: &str, generation_id: i32) -> ClusterEvent {
        ClusterEvent::Group(GroupEvent::OffsetCommitted {
            group: "g".into(),
            member_id: member.into(),
            generation_id,
            partition: tp(),
            offset: 7,
        })
    }

    fn run(events: &[ClusterEvent]) -> Vec<String> {
        let mut invariants = Invariants::default();
        for (t, e) in events.iter().enumerate() {
            invariants.observe(t as u64, e);
        }
        invariants
            .violations()
            .iter()
            .map(Finding::to_string)
            .collect()
    }

    #[test]
    fn a_clean_history_of_leaders_and_generations_passes() {
        let events = [
            leader(1, 0),
            hw(1, 3),
            hw(1, 5),
            leader(2, 1),
            hw(2, 4),
            started(1, &[("a", &[0]), ("b", &[1])]),
            commit("a", 1),
            started(1, &[("a", &[0]), ("b", &[1])]),
            commit("", -1),
        ];
        assert_eq!(run(&events), Vec::<String>::new());
    }

    #[test]
    fn two_leaders_in_one_epoch_are_found() {
        let found = run(&[leader(1, 2), leader(2, 2)]);
        assert_eq!(
            found,
            ["one-leader-per-epoch: events-0 leader epoch 2 was led by broker-1 (from 0 ms) and by broker-2 (from 1 ms)"]
        );
    }

    #[test]
    fn a_topic_deleted_and_created_again_starts_its_epochs_afresh() {
        let deleted = ClusterEvent::TopicDeleted {
            topic: "events".into(),
            partitions: 1,
        };
        assert!(run(&[leader(1, 0), hw(1, 5), deleted, leader(2, 0), hw(2, 1)]).is_empty());
    }

    #[test]
    fn a_leader_s_high_watermark_going_back_is_found_but_a_new_epoch_starts_afresh() {
        let found = run(&[leader(1, 0), hw(1, 5), hw(1, 4)]);
        assert_eq!(
            found,
            ["hw-monotonic: broker-1, leading events-0 in epoch 0, moved its high watermark back from 5 to 4 at 2 ms"]
        );
        assert!(run(&[leader(1, 0), hw(1, 5), leader(1, 1), hw(1, 4)]).is_empty());
        let mut invariants = Invariants::default();
        invariants.observe(0, &leader(1, 0));
        invariants.observe(1, &hw(1, 5));
        invariants.restarted(1);
        invariants.observe(2, &hw(1, 2));
        assert!(
            invariants.violations().is_empty(),
            "a restarted broker leads nothing"
        );
    }

    #[test]
    fn a_partition_given_twice_or_a_generation_started_twice_is_found() {
        let found = run(&[started(3, &[("a", &[0, 1]), ("b", &[1])])]);
        assert_eq!(
            found,
            ["exclusive-assignment: group g generation 3 (at 0 ms) gave events-1 to both a and b"]
        );
        let found = run(&[started(3, &[("a", &[0])]), started(3, &[("b", &[0])])]);
        assert_eq!(
            found,
            ["one-assignment-per-generation: group g generation 3 started again at 1 ms with another assignment"]
        );
    }

    #[test]
    fn a_commit_from_outside_the_generation_it_names_is_found() {
        let found = run(&[started(1, &[("a", &[0])]), commit("b", 1)]);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].starts_with(
            "fenced-commits: group g persisted a commit of events-0@7 at 1 ms from b"
        ));
        let loaded = ClusterEvent::Group(GroupEvent::PartitionLoaded {
            partition: 0,
            groups: vec![],
        });
        let after_a_load = run(&[started(1, &[("a", &[0])]), loaded, commit("b", 1)]);
        assert!(
            after_a_load.is_empty(),
            "a generation from before the load is not judged"
        );
    }
}
