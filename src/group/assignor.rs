//! Consumer partition assignors: who in a group reads which partition.
//!
//! In Kafka's classic group protocol the coordinator does not decide the
//! assignment. It picks one member as the group's leader and hands it every
//! member's subscription; the leader runs the assignor the group agreed on
//! (`partition.assignment.strategy`) and sends the result back in its SyncGroup.
//! An assignor is therefore a pure function from members and partition counts to
//! an assignment, and that is all this module is.
//!
//! The four built-in assignors, as Kafka describes them:
//!
//! - **range** (`RangeAssignor`) works topic by topic. The partitions of a topic,
//!   in numeric order, are split into contiguous ranges over the members that
//!   subscribe to it, in member order; when the count does not divide evenly, the
//!   first members get one partition more. With many topics the first members
//!   collect all the extras, the known weakness of range.
//! - **roundrobin** (`RoundRobinAssignor`) lays out every subscribed partition,
//!   sorted by topic and partition, and deals them one by one to the members in
//!   turn, skipping a member that does not subscribe to the partition's topic.
//! - **sticky** (`StickyAssignor`) aims first at a balanced assignment (member
//!   counts differ by at most one when members subscribe alike) and second at
//!   moving as few partitions as possible from their previous owners, which each
//!   member reports in its subscription (`owned_partitions`, `generation_id`).
//! - **cooperative-sticky** (`CooperativeStickyAssignor`, KIP-429) computes the
//!   same sticky target but never gives a member a partition that another member
//!   still owns: such a partition is left out of this round. Its owner, seeing it
//!   missing from its new assignment, revokes it and rejoins, and the next
//!   rebalance assigns it to its target.
//!
//! Member order, where an assignor needs one, is Kafka's (`MemberInfo`): static
//! members (with a `group.instance.id`) first, sorted by instance id, then dynamic
//! members sorted by member id. Sorting by instance id is what lets a static member
//! that restarts with a new member id get its old partitions back.
//!
//! **Eager vs cooperative rebalancing.** With the eager assignors (range,
//! roundrobin, sticky) every member revokes all its partitions before it rejoins,
//! so nobody consumes anything during a rebalance ("stop the world"), and no
//! partition can be owned twice. With cooperative-sticky members keep consuming
//! what they own while they rejoin; only the partitions that move stop, and they
//! move in two rebalances: revoked in the first, assigned in the second.
//!
//! Previous ownership, for the sticky assignors: a member's claim on a partition
//! counts only if the partition still exists and the member still subscribes to
//! its topic. When several members claim the same partition, the claim with the
//! highest `generation_id` wins; when the highest is shared, nobody is considered
//! its owner (Kafka, finding several consumers claiming a partition in the same
//! generation, logs an error and invalidates their claims).
//!
//! What the model simplifies:
//! - Rack awareness (KIP-881: matching `client.rack` to replica racks) is ignored.
//! - The sticky algorithm is the model's own (see `sticky`): it finds the most
//!   balanced assignment and, among those, the one that moves the fewest
//!   partitions. Kafka's heuristics promise the same guarantees (balance, keeping
//!   owned partitions up to a fair share) but may break ties differently, i.e.
//!   move other partitions when several could move.
//!   Kafka's constrained path also drops every claim of a member whose generation
//!   is behind the group's highest; the model weighs claims partition by partition.
//! - Kafka's eager `sticky` reads previous ownership from its own user data; the
//!   model reads it from the subscription fields both sticky assignors share.
//! - The consumer protocol's user data and the assignor's `onAssignment` callback
//!   are not modelled.

mod sticky;

use crate::bugs::{Bug, Bugs};
use crate::ids::TopicPartition;
use crate::protocol::Subscription;
use crate::rules::{RangeAssign, Rules};
use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};

/// A group's assignment: member id -> its partitions, sorted.
pub type Assignment = BTreeMap<String, Vec<TopicPartition>>;

/// One of Kafka's built-in consumer partition assignors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Assignor {
    Range,
    RoundRobin,
    Sticky,
    CooperativeSticky,
}

/// One group member as the assignor sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// `group.instance.id`: set for static members.
    pub group_instance_id: Option<String>,
    pub subscription: Subscription,
}

impl Assignor {
    /// Every assignor, in the order of the enum.
    pub const ALL: [Assignor; 4] = [
        Assignor::Range,
        Assignor::RoundRobin,
        Assignor::Sticky,
        Assignor::CooperativeSticky,
    ];

    /// Kafka's names: "range", "roundrobin", "sticky", "cooperative-sticky".
    pub fn name(self) -> &'static str {
        match self {
            Assignor::Range => "range",
            Assignor::RoundRobin => "roundrobin",
            Assignor::Sticky => "sticky",
            Assignor::CooperativeSticky => "cooperative-sticky",
        }
    }

    pub fn from_name(name: &str) -> Option<Assignor> {
        Assignor::ALL
            .into_iter()
            .find(|assignor| assignor.name() == name)
    }

    /// Cooperative (incremental) rebalancing: KIP-429.
    pub fn is_cooperative(self) -> bool {
        self == Assignor::CooperativeSticky
    }

    /// Assigns the partitions of `partitions_per_topic` (topic -> partition count)
    /// to `members` (member id -> member). A topic missing from
    /// `partitions_per_topic` has no known partitions and gets nothing.
    ///
    /// Returns an entry for every member, possibly empty, its partitions sorted.
    pub fn assign(
        self,
        members: &BTreeMap<String, Member>,
        partitions_per_topic: &BTreeMap<String, i32>,
    ) -> Assignment {
        self.assign_with(&Rules::KAFKA, members, partitions_per_topic, Bugs::NONE)
    }

    /// [`Assignor::assign`] with `rules`' range split (`range` reads it),
    /// and some of Kafka's famous bugs switched back on (see
    /// [`crate::bugs`]): `kip-341` makes the eager sticky assignor honour
    /// every claim, as it did before Kafka 2.3.
    pub fn assign_with(
        self,
        rules: &Rules,
        members: &BTreeMap<String, Member>,
        partitions_per_topic: &BTreeMap<String, i32>,
        bugs: Bugs,
    ) -> Assignment {
        assert!(
            partitions_per_topic.values().all(|&count| count >= 0),
            "partition counts are never negative: {partitions_per_topic:?}"
        );
        let mut assignment = match self {
            Assignor::Range => range(members, partitions_per_topic, rules.range_assign),
            Assignor::RoundRobin => round_robin(members, partitions_per_topic),
            Assignor::Sticky => sticky::assign(members, partitions_per_topic),
            Assignor::CooperativeSticky => cooperative_sticky(members, partitions_per_topic),
        };
        if self == Assignor::Sticky && bugs.on(Bug::Kip341) {
            sticky::keep_every_claim(members, partitions_per_topic, &mut assignment);
            for partitions in assignment.values_mut() {
                partitions.sort();
                partitions.dedup();
            }
            return assignment; // may give a partition to two members: the bug
        }
        for partitions in assignment.values_mut() {
            partitions.sort();
        }
        check_assignment(members, partitions_per_topic, &assignment);
        assignment
    }
}

// ANCHOR: range
/// Range: per topic, the subscribed members in Kafka's order, each given the
/// partitions `range_assign` (the model's
/// [`range_assign`](crate::assignment::range_assign), or a lab's rule)
/// gives its place in that order.
fn range(
    members: &BTreeMap<String, Member>,
    partitions_per_topic: &BTreeMap<String, i32>,
    range_assign: RangeAssign,
) -> Assignment {
    let order = kafka_order(members);
    let mut assignment = empty_assignment(members);
    for (topic, &count) in partitions_per_topic {
        let subscribers: Vec<&str> = order
            .iter()
            .copied()
            .filter(|id| subscribes(&members[*id], topic))
            .collect();
        if subscribers.is_empty() {
            continue;
        }
        for (id, ranges) in subscribers
            .iter()
            .zip(range_assign(count, subscribers.len()))
        {
            let partitions = assignment.get_mut(*id).expect("every member has an entry");
            partitions.extend(
                ranges
                    .into_iter()
                    .map(|p| TopicPartition::new(topic.as_str(), p)),
            );
        }
    }
    assignment
}

// ANCHOR_END: range

// ANCHOR: round_robin
/// Roundrobin: every subscribed partition in (topic, partition) order, dealt to
/// the members in Kafka's order, skipping members not subscribed to its topic.
fn round_robin(
    members: &BTreeMap<String, Member>,
    partitions_per_topic: &BTreeMap<String, i32>,
) -> Assignment {
    let order = kafka_order(members);
    let mut assignment = empty_assignment(members);
    // Index into `order` of the member whose turn it is.
    let mut turn = 0;
    for partition in subscribed_partitions(members, partitions_per_topic) {
        // The partition's topic has a subscriber, so one lap around finds it.
        let owner = (0..order.len())
            .map(|step| (turn + step) % order.len())
            .find(|&index| subscribes(&members[order[index]], &partition.topic))
            .expect("a subscribed partition has a subscriber");
        assignment
            .get_mut(order[owner])
            .expect("every member has an entry")
            .push(partition);
        turn = (owner + 1) % order.len();
    }
    assignment
}
// ANCHOR_END: round_robin

// ANCHOR: cooperative_sticky
/// Cooperative-sticky: the sticky target, minus every partition that another
/// member still lists as owned. Any listing counts, even a claim the sticky
/// assignor ignored (stale generation, unsubscribed topic): until that member
/// has revoked the partition it may still be consuming it.
fn cooperative_sticky(
    members: &BTreeMap<String, Member>,
    partitions_per_topic: &BTreeMap<String, i32>,
) -> Assignment {
    let mut claimants: BTreeMap<&TopicPartition, BTreeSet<&str>> = BTreeMap::new();
    for (id, member) in members {
        for partition in &member.subscription.owned_partitions {
            claimants.entry(partition).or_default().insert(id);
        }
    }
    let mut assignment = sticky::assign(members, partitions_per_topic);
    for (id, partitions) in assignment.iter_mut() {
        partitions.retain(|partition| {
            let owned_by_another = claimants
                .get(partition)
                .is_some_and(|owners| owners.iter().any(|owner| owner != id));
            !owned_by_another
        });
    }
    assignment
}
// ANCHOR_END: cooperative_sticky

/// Kafka's member order (`MemberInfo.compareTo`): static members first, by
/// `group.instance.id`, then dynamic members by member id. The member id breaks
/// the (invalid) tie of two members sharing an instance id, so the order is total.
fn kafka_order(members: &BTreeMap<String, Member>) -> Vec<&str> {
    let mut order: Vec<(&String, &Member)> = members.iter().collect();
    order.sort_by(|(a_id, a), (b_id, b)| {
        let by_instance = match (&a.group_instance_id, &b.group_instance_id) {
            (Some(a_instance), Some(b_instance)) => a_instance.cmp(b_instance),
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => Ordering::Equal,
        };
        by_instance.then_with(|| a_id.cmp(b_id))
    });
    order.into_iter().map(|(id, _)| id.as_str()).collect()
}

fn subscribes(member: &Member, topic: &str) -> bool {
    member
        .subscription
        .topics
        .iter()
        .any(|subscribed| subscribed == topic)
}

fn empty_assignment(members: &BTreeMap<String, Member>) -> Assignment {
    members.keys().map(|id| (id.clone(), Vec::new())).collect()
}

/// Every partition of every known topic that at least one member subscribes to.
fn subscribed_partitions(
    members: &BTreeMap<String, Member>,
    partitions_per_topic: &BTreeMap<String, i32>,
) -> BTreeSet<TopicPartition> {
    partitions_per_topic
        .iter()
        .filter(|(topic, _)| members.values().any(|member| subscribes(member, topic)))
        .flat_map(|(topic, &count)| (0..count).map(move |p| TopicPartition::new(topic.as_str(), p)))
        .collect()
}

/// What every assignor promises, whatever its strategy: an entry per member, and
/// each partition, existing and subscribed to by its member, given at most once.
fn check_assignment(
    members: &BTreeMap<String, Member>,
    partitions_per_topic: &BTreeMap<String, i32>,
    assignment: &Assignment,
) {
    assert!(
        assignment.keys().eq(members.keys()),
        "an assignment has exactly one entry per member"
    );
    let mut seen = BTreeSet::new();
    for (id, partitions) in assignment {
        for partition in partitions {
            let count = partitions_per_topic
                .get(&partition.topic)
                .copied()
                .unwrap_or(0);
            assert!(
                (0..count).contains(&partition.partition),
                "{partition} given to {id} does not exist"
            );
            assert!(
                subscribes(&members[id], &partition.topic),
                "{partition} given to {id}, which does not subscribe to its topic"
            );
            assert!(seen.insert(partition), "{partition} given to two members");
        }
    }
}

#[cfg(test)]
mod tests;
