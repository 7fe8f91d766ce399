//! Properties of the consumer partition assignors, checked over random groups.
//!
//! A group here has 1 to 8 members subscribing to some of 1 to 4 topics of 0 to 12
//! partitions (a topic may also be unknown: subscribed to, but without partitions).
//! Members claim previous ownership in two ways: random claims with random
//! generations (stale, conflicting, on gone partitions or unsubscribed topics), or
//! the honest result of an earlier rebalance after some members left and joined.
//!
//! Each property runs proptest's default 256 cases. For a deeper search:
//! `PROPTEST_CASES=10000 cargo test -p kafkasim --test assignors`.
//! A failure prints the smallest group proptest could shrink it to.

use kafkasim::group::assignor::{Assignment, Assignor, Member};
use kafkasim::ids::TopicPartition;
use kafkasim::protocol::Subscription;
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::subsequence;
use std::collections::{BTreeMap, BTreeSet};

const TOPICS: [&str; 4] = ["t0", "t1", "t2", "t3"];
const MEMBERS_MAX: usize = 8;
const PARTITIONS_MAX: i32 = 12;
/// Generations of random claims are drawn below this; honest ones are at it.
const LATEST_GENERATION: i32 = 5;

#[derive(Debug, Clone)]
struct Group {
    members: BTreeMap<String, Member>,
    partitions_per_topic: BTreeMap<String, i32>,
}

impl Group {
    fn assign(&self, assignor: Assignor) -> Assignment {
        assignor.assign(&self.members, &self.partitions_per_topic)
    }
}

// ---- Random groups ------------------------------------------------------------------

/// One member as drawn: topic indices, claims (topic index, partition),
/// generation, and whether it is static.
type MemberDraw = (Vec<usize>, Vec<(usize, i32)>, i32, bool);

fn member_draw(topic_count: usize) -> impl Strategy<Value = MemberDraw> {
    let topics: Vec<usize> = (0..topic_count).collect();
    (
        subsequence(topics, 0..=topic_count),
        // Partitions up to 13 so some claims are on partitions that do not exist.
        vec((0..topic_count, 0..PARTITIONS_MAX + 2), 0..8),
        -1..LATEST_GENERATION,
        any::<bool>(),
    )
}

/// A group with random claims; with `alike`, every member subscribes to the same
/// (non-empty) topics.
fn random_group(alike: bool) -> impl Strategy<Value = Group> {
    (1..=TOPICS.len()).prop_flat_map(move |topic_count| {
        let topics: Vec<usize> = (0..topic_count).collect();
        (
            vec(
                proptest::option::weighted(0.9, 0..=PARTITIONS_MAX),
                topic_count,
            ),
            vec(member_draw(topic_count), 1..=MEMBERS_MAX),
            Just((0..MEMBERS_MAX).collect::<Vec<_>>()).prop_shuffle(),
            subsequence(topics, 1..=topic_count),
        )
            .prop_map(move |(counts, draws, instances, shared)| {
                let partitions_per_topic = (0..)
                    .zip(counts)
                    .filter_map(|(t, count): (usize, _)| Some((TOPICS[t].to_string(), count?)))
                    .collect();
                let members = (0..)
                    .zip(draws)
                    .map(|(i, (topics, claims, generation, is_static)): (usize, _)| {
                        let topics = if alike { shared.clone() } else { topics };
                        let subscription = Subscription {
                            topics: topics.iter().map(|&t| TOPICS[t].to_string()).collect(),
                            owned_partitions: claims.iter().map(|&(t, p)| tp(t, p)).collect(),
                            generation_id: generation,
                        };
                        let group_instance_id =
                            is_static.then(|| format!("instance-{}", instances[i]));
                        let member = Member {
                            group_instance_id,
                            subscription,
                        };
                        (format!("member-{i}"), member)
                    })
                    .collect();
                Group {
                    members,
                    partitions_per_topic,
                }
            })
    })
}

/// A group after an honest rebalance by some assignor: members own what it gave
/// them, then some leave (never the first) and up to three new members join.
fn next_group(alike: bool) -> impl Strategy<Value = Group> {
    let draws = (
        random_group(alike),
        0..Assignor::ALL.len(),
        vec(any::<bool>(), MEMBERS_MAX),
        0..=3,
    );
    draws.prop_map(|(mut group, assignor, leaves, joiners)| {
        let previous = group.assign(Assignor::ALL[assignor]);
        for (id, member) in group.members.iter_mut() {
            member.subscription.owned_partitions = previous[id].clone();
            member.subscription.generation_id = LATEST_GENERATION;
        }
        let ids: Vec<String> = group.members.keys().cloned().collect();
        for (id, leave) in ids.iter().zip(leaves).skip(1) {
            if leave {
                group.members.remove(id);
            }
        }
        let topics = group
            .members
            .values()
            .next()
            .expect("the first stays")
            .subscription
            .topics
            .clone();
        for j in 0..joiners {
            let subscription = Subscription {
                topics: topics.clone(),
                owned_partitions: vec![],
                generation_id: -1,
            };
            group.members.insert(
                format!("joiner-{j}"),
                Member {
                    group_instance_id: None,
                    subscription,
                },
            );
        }
        group
    })
}

fn any_group(alike: bool) -> impl Strategy<Value = Group> {
    prop_oneof![random_group(alike), next_group(alike)]
}

fn tp(topic: usize, partition: i32) -> TopicPartition {
    TopicPartition::new(TOPICS[topic], partition)
}

// ---- The rules, restated independently of the assignors -----------------------------

fn subscribes(member: &Member, topic: &str) -> bool {
    member.subscription.topics.iter().any(|t| t == topic)
}

/// Partitions of known topics that at least one member subscribes to.
fn subscribed_partitions(group: &Group) -> BTreeSet<TopicPartition> {
    let mut partitions = BTreeSet::new();
    for (topic, &count) in &group.partitions_per_topic {
        if group
            .members
            .values()
            .any(|member| subscribes(member, topic))
        {
            partitions.extend((0..count).map(|p| TopicPartition::new(topic.as_str(), p)));
        }
    }
    partitions
}

/// Kafka's member order: static members by instance id, then dynamic by member id.
fn kafka_order(group: &Group) -> Vec<&str> {
    let mut statics: Vec<(&str, &str)> = vec![];
    let mut dynamics: Vec<&str> = vec![];
    for (id, member) in &group.members {
        match &member.group_instance_id {
            Some(instance) => statics.push((instance, id)),
            None => dynamics.push(id),
        }
    }
    statics.sort();
    statics
        .into_iter()
        .map(|(_, id)| id)
        .chain(dynamics)
        .collect()
}

/// Valid previous owners: on an existing partition of a subscribed topic, with
/// the highest generation among the claims on it, not shared with another member.
fn previous_owners(group: &Group) -> BTreeMap<TopicPartition, &str> {
    let mut claims: BTreeMap<&TopicPartition, BTreeMap<i32, BTreeSet<&str>>> = BTreeMap::new();
    for (id, member) in &group.members {
        for partition in &member.subscription.owned_partitions {
            let count = group
                .partitions_per_topic
                .get(&partition.topic)
                .copied()
                .unwrap_or(0);
            if partition.partition < count && subscribes(member, &partition.topic) {
                let generation = member.subscription.generation_id;
                claims
                    .entry(partition)
                    .or_default()
                    .entry(generation)
                    .or_default()
                    .insert(id);
            }
        }
    }
    claims
        .into_iter()
        .filter_map(|(partition, by_generation)| {
            let (_, newest) = by_generation.into_iter().next_back()?;
            (newest.len() == 1)
                .then(|| (partition.clone(), newest.into_iter().next().expect("one")))
        })
        .collect()
}

/// Members that list `partition` as owned, whether or not the claim is valid.
fn listed_by<'a>(group: &'a Group, partition: &TopicPartition) -> BTreeSet<&'a str> {
    let members = group.members.iter();
    members
        .filter(|(_, m)| m.subscription.owned_partitions.contains(partition))
        .map(|(id, _)| id.as_str())
        .collect()
}

fn assigned(assignment: &Assignment) -> BTreeSet<TopicPartition> {
    assignment.values().flatten().cloned().collect()
}

fn counts(assignment: &Assignment) -> Vec<usize> {
    assignment.values().map(Vec::len).collect()
}

fn spread(counts: &[usize]) -> usize {
    counts.iter().max().unwrap_or(&0) - counts.iter().min().unwrap_or(&0)
}

// ---- Properties ---------------------------------------------------------------------

proptest! {
    #[test]
    fn no_assignor_gives_a_partition_to_two_members(group in any_group(false)) {
        for assignor in Assignor::ALL {
            let mut seen = BTreeSet::new();
            for (id, partitions) in &group.assign(assignor) {
                for partition in partitions {
                    prop_assert!(seen.insert(partition.clone()), "{}: {partition} again, to {id}", assignor.name());
                }
            }
        }
    }

    #[test]
    fn members_get_only_existing_partitions_of_topics_they_subscribe_to(group in any_group(false)) {
        for assignor in Assignor::ALL {
            let assignment = group.assign(assignor);
            prop_assert!(assignment.keys().eq(group.members.keys()), "{}: one entry per member", assignor.name());
            for (id, partitions) in &assignment {
                prop_assert!(partitions.is_sorted(), "{}: {id}'s partitions are sorted", assignor.name());
                for partition in partitions {
                    let count = group.partitions_per_topic.get(&partition.topic).copied().unwrap_or(0);
                    prop_assert!((0..count).contains(&partition.partition), "{}: {partition} does not exist", assignor.name());
                    prop_assert!(subscribes(&group.members[id], &partition.topic), "{}: {id} got {partition}", assignor.name());
                }
            }
        }
    }

    #[test]
    fn eager_assignors_assign_every_subscribed_partition(group in any_group(false)) {
        for assignor in [Assignor::Range, Assignor::RoundRobin, Assignor::Sticky] {
            prop_assert_eq!(assigned(&group.assign(assignor)), subscribed_partitions(&group), "{}", assignor.name());
        }
    }

    #[test]
    fn cooperative_sticky_is_the_sticky_target_minus_partitions_another_member_owns(group in any_group(false)) {
        let mut expected = group.assign(Assignor::Sticky);
        for (id, partitions) in expected.iter_mut() {
            partitions.retain(|partition| listed_by(&group, partition).iter().all(|owner| owner == id));
        }
        prop_assert_eq!(group.assign(Assignor::CooperativeSticky), expected);
    }

    #[test]
    fn cooperative_sticky_never_gives_a_partition_another_member_still_owns(group in any_group(false)) {
        for (id, partitions) in &group.assign(Assignor::CooperativeSticky) {
            for partition in partitions {
                let owners = listed_by(&group, partition);
                prop_assert!(owners.iter().all(|owner| owner == id), "{partition} to {id}, owned by {owners:?}");
            }
        }
    }

    #[test]
    fn cooperative_sticky_completes_in_the_second_rebalance(group in any_group(false)) {
        let first = group.assign(Assignor::CooperativeSticky);
        // Every member revokes what it lost and rejoins owning what it was given.
        let mut second = group.clone();
        for (id, member) in second.members.iter_mut() {
            member.subscription.owned_partitions = first[id].clone();
            member.subscription.generation_id = LATEST_GENERATION + 1;
        }
        prop_assert_eq!(assigned(&second.assign(Assignor::CooperativeSticky)), subscribed_partitions(&group));
    }

    #[test]
    fn roundrobin_and_sticky_balance_alike_members_within_one(group in any_group(true)) {
        for assignor in [Assignor::RoundRobin, Assignor::Sticky] {
            let counts = counts(&group.assign(assignor));
            prop_assert!(spread(&counts) <= 1, "{}: counts {counts:?}", assignor.name());
        }
    }

    #[test]
    fn range_splits_each_topic_into_contiguous_ranges_extras_first(group in any_group(false)) {
        let assignment = group.assign(Assignor::Range);
        let order = kafka_order(&group);
        for (topic, &count) in &group.partitions_per_topic {
            let subscribers: Vec<&str> = order.iter().copied().filter(|id| subscribes(&group.members[*id], topic)).collect();
            let mut next = 0;
            for (i, id) in (0..).zip(&subscribers) {
                let mine: Vec<i32> = assignment[*id].iter().filter(|p| &p.topic == topic).map(|p| p.partition).collect();
                let share = count / subscribers.len() as i32 + i32::from(i < count % subscribers.len() as i32);
                prop_assert_eq!(mine, (next..next + share).collect::<Vec<_>>(), "{}'s range of {}", id, topic);
                next += share;
            }
        }
    }

    #[test]
    fn sticky_keeps_owned_partitions_up_to_a_fair_share(group in any_group(true)) {
        let assignment = group.assign(Assignor::Sticky);
        let owners = previous_owners(&group);
        let fair_share = subscribed_partitions(&group).len() / group.members.len();
        for (id, partitions) in &assignment {
            let owned: BTreeSet<&TopicPartition> = owners.iter().filter(|(_, o)| *o == id).map(|(p, _)| p).collect();
            let kept = partitions.iter().filter(|p| owned.contains(p)).count();
            prop_assert!(kept >= owned.len().min(fair_share), "{id} kept {kept} of {owned:?}, fair share {fair_share}");
            if kept < owned.len() {
                // A member that gives up an owned partition holds nothing new.
                prop_assert_eq!(kept, partitions.len(), "{} gave up owned partitions but got new ones", id);
            }
        }
    }

    #[test]
    fn sticky_moves_nothing_when_nothing_changed(group in any_group(false)) {
        let first = group.assign(Assignor::Sticky);
        let mut again = group.clone();
        for (id, member) in again.members.iter_mut() {
            member.subscription.owned_partitions = first[id].clone();
            member.subscription.generation_id = LATEST_GENERATION + 1;
        }
        prop_assert_eq!(again.assign(Assignor::Sticky), first);
    }

    #[test]
    fn assignments_depend_on_the_group_not_on_the_order_of_its_lists(group in any_group(false)) {
        let mut reordered = group.clone();
        for member in reordered.members.values_mut() {
            member.subscription.topics.reverse();
            member.subscription.owned_partitions.reverse();
        }
        for assignor in Assignor::ALL {
            let assignment = group.assign(assignor);
            prop_assert_eq!(&group.assign(assignor), &assignment, "{} twice", assignor.name());
            prop_assert_eq!(&reordered.assign(assignor), &assignment, "{} reordered", assignor.name());
        }
    }
}
