//! Kafka's documented examples, from the assignors' javadoc, as scenarios.

use super::{Assignment, Assignor, Member};
use crate::ids::TopicPartition;
use crate::protocol::{Subscription, NO_GENERATION};
use std::collections::BTreeMap;

/// A group under construction: members and the partition counts they see.
#[derive(Default)]
struct Group {
    members: BTreeMap<String, Member>,
    partitions_per_topic: BTreeMap<String, i32>,
}

impl Group {
    fn topic(mut self, topic: &str, partitions: i32) -> Self {
        self.partitions_per_topic
            .insert(topic.to_string(), partitions);
        self
    }

    /// A dynamic member that owns nothing.
    fn member(self, id: &str, topics: &[&str]) -> Self {
        self.owning(id, topics, &[], NO_GENERATION)
    }

    /// A member that owned `owned` (written like "t0p1") in `generation`.
    fn owning(mut self, id: &str, topics: &[&str], owned: &[&str], generation: i32) -> Self {
        let subscription = Subscription {
            topics: topics.iter().map(|topic| topic.to_string()).collect(),
            owned_partitions: owned.iter().map(|name| tp(name)).collect(),
            generation_id: generation,
        };
        let member = Member {
            group_instance_id: None,
            subscription,
        };
        self.members.insert(id.to_string(), member);
        self
    }

    fn static_member(mut self, id: &str, instance: &str, topics: &[&str]) -> Self {
        self = self.member(id, topics);
        let member = self.members.get_mut(id).expect("just added");
        member.group_instance_id = Some(instance.to_string());
        self
    }

    fn assign(&self, assignor: Assignor) -> Assignment {
        assignor.assign(&self.members, &self.partitions_per_topic)
    }
}

/// "t1p2" -> topic t1, partition 2: the notation of Kafka's javadoc.
fn tp(name: &str) -> TopicPartition {
    let (topic, partition) = name.rsplit_once('p').expect("names look like t0p1");
    TopicPartition::new(topic, partition.parse().expect("a partition number"))
}

fn expect(assignment: &[(&str, &[&str])]) -> Assignment {
    assignment
        .iter()
        .map(|(id, names)| (id.to_string(), names.iter().map(|name| tp(name)).collect()))
        .collect()
}

#[test]
fn names_round_trip_and_only_cooperative_sticky_is_cooperative() {
    for assignor in Assignor::ALL {
        assert_eq!(Assignor::from_name(assignor.name()), Some(assignor));
        assert_eq!(
            assignor.is_cooperative(),
            assignor == Assignor::CooperativeSticky
        );
    }
    assert_eq!(
        Assignor::from_name("cooperative-sticky"),
        Some(Assignor::CooperativeSticky)
    );
    assert_eq!(Assignor::from_name("uniform"), None);
}

#[test]
fn range_gives_the_first_member_the_extra_partition_of_every_topic() {
    let group = Group::default()
        .topic("t0", 3)
        .topic("t1", 3)
        .member("C0", &["t0", "t1"])
        .member("C1", &["t0", "t1"]);
    let expected = expect(&[
        ("C0", &["t0p0", "t0p1", "t1p0", "t1p1"]),
        ("C1", &["t0p2", "t1p2"]),
    ]);
    assert_eq!(group.assign(Assignor::Range), expected);
}

#[test]
fn range_puts_static_members_first_in_instance_id_order() {
    // "a" sorts first by member id, but static members come before dynamic ones,
    // and "z" is static under instance id "i1", before "m" under "i2".
    let group = Group::default()
        .topic("t0", 5)
        .member("a", &["t0"])
        .static_member("m", "i2", &["t0"])
        .static_member("z", "i1", &["t0"]);
    let expected = expect(&[
        ("a", &["t0p4"]),
        ("m", &["t0p2", "t0p3"]),
        ("z", &["t0p0", "t0p1"]),
    ]);
    assert_eq!(group.assign(Assignor::Range), expected);
}

#[test]
fn roundrobin_deals_partitions_alternately_to_members_that_subscribe_alike() {
    let group = Group::default()
        .topic("t0", 3)
        .topic("t1", 3)
        .member("C0", &["t0", "t1"])
        .member("C1", &["t0", "t1"]);
    let expected = expect(&[
        ("C0", &["t0p0", "t0p2", "t1p1"]),
        ("C1", &["t0p1", "t1p0", "t1p2"]),
    ]);
    assert_eq!(group.assign(Assignor::RoundRobin), expected);
}

#[test]
fn roundrobin_skips_members_not_subscribed_to_the_topic() {
    let group = Group::default()
        .topic("t0", 1)
        .topic("t1", 2)
        .topic("t2", 3)
        .member("C0", &["t0"])
        .member("C1", &["t0", "t1"])
        .member("C2", &["t0", "t1", "t2"]);
    let expected = expect(&[
        ("C0", &["t0p0"]),
        ("C1", &["t1p0"]),
        ("C2", &["t1p1", "t2p0", "t2p1", "t2p2"]),
    ]);
    assert_eq!(group.assign(Assignor::RoundRobin), expected);
}

#[test]
fn sticky_balances_different_subscriptions_better_than_roundrobin() {
    let group = Group::default()
        .topic("t0", 1)
        .topic("t1", 2)
        .topic("t2", 3)
        .member("C0", &["t0"])
        .member("C1", &["t0", "t1"])
        .member("C2", &["t0", "t1", "t2"]);
    let expected = expect(&[
        ("C0", &["t0p0"]),
        ("C1", &["t1p0", "t1p1"]),
        ("C2", &["t2p0", "t2p1", "t2p2"]),
    ]);
    assert_eq!(group.assign(Assignor::Sticky), expected);
}

#[test]
fn sticky_keeps_every_owned_partition_when_a_member_leaves() {
    // Kafka's example: C0, C1, C2 shared t0..t3 (2 partitions each), then C1 left.
    // Roundrobin would reshuffle everything; sticky only places C1's three.
    let all = ["t0", "t1", "t2", "t3"];
    let group = Group::default()
        .topic("t0", 2)
        .topic("t1", 2)
        .topic("t2", 2)
        .topic("t3", 2)
        .owning("C0", &all, &["t0p0", "t1p1", "t3p0"], 1)
        .owning("C2", &all, &["t1p0", "t2p1"], 1);
    let expected = expect(&[
        ("C0", &["t0p0", "t1p1", "t2p0", "t3p0"]),
        ("C2", &["t0p1", "t1p0", "t2p1", "t3p1"]),
    ]);
    assert_eq!(group.assign(Assignor::Sticky), expected);
}

#[test]
fn sticky_believes_the_claim_of_the_newer_generation() {
    // C1 was evicted in generation 1 and still believes it owns t0p0; C0 got it in 2.
    let group = Group::default()
        .topic("t0", 2)
        .owning("C0", &["t0"], &["t0p0"], 2)
        .owning("C1", &["t0"], &["t0p0"], 1);
    let expected = expect(&[("C0", &["t0p0"]), ("C1", &["t0p1"])]);
    assert_eq!(group.assign(Assignor::Sticky), expected);
}

#[test]
fn sticky_takes_from_a_member_only_what_exceeds_its_fair_share() {
    let group = Group::default()
        .topic("t0", 4)
        .owning("C0", &["t0"], &["t0p0", "t0p1", "t0p2", "t0p3"], 1)
        .member("C1", &["t0"]);
    let expected = expect(&[("C0", &["t0p0", "t0p1"]), ("C1", &["t0p2", "t0p3"])]);
    assert_eq!(group.assign(Assignor::Sticky), expected);
}

#[test]
fn cooperative_sticky_withholds_moving_partitions_until_they_are_revoked() {
    let first = Group::default()
        .topic("t0", 4)
        .owning("C0", &["t0"], &["t0p0", "t0p1", "t0p2", "t0p3"], 1)
        .member("C1", &["t0"]);
    // First rebalance: C0 must give up t0p2 and t0p3, so C1 gets nothing yet.
    let expected = expect(&[("C0", &["t0p0", "t0p1"]), ("C1", &[])]);
    assert_eq!(first.assign(Assignor::CooperativeSticky), expected);

    // C0 revokes them and rejoins owning the rest; now C1 can have them.
    let second = Group::default()
        .topic("t0", 4)
        .owning("C0", &["t0"], &["t0p0", "t0p1"], 2)
        .owning("C1", &["t0"], &[], 2);
    let expected = expect(&[("C0", &["t0p0", "t0p1"]), ("C1", &["t0p2", "t0p3"])]);
    assert_eq!(second.assign(Assignor::CooperativeSticky), expected);
}

#[test]
fn topics_without_known_partitions_get_nothing() {
    let group = Group::default()
        .topic("t0", 0)
        .member("C0", &["t0", "unknown"]);
    for assignor in Assignor::ALL {
        assert_eq!(
            group.assign(assignor),
            expect(&[("C0", &[])]),
            "{}",
            assignor.name()
        );
    }
}

#[test]
fn sticky_relieves_a_member_through_a_chain_of_hand_overs() {
    // C holds four t1 partitions and B none, but B reads only t0: C hands two to
    // A, which hands its t0 partitions to B. No single move could balance this.
    let group = Group::default()
        .topic("t0", 2)
        .topic("t1", 4)
        .owning("A", &["t0", "t1"], &["t0p0", "t0p1"], 1)
        .member("B", &["t0"])
        .owning("C", &["t1"], &["t1p0", "t1p1", "t1p2", "t1p3"], 1);
    let expected = expect(&[
        ("A", &["t1p2", "t1p3"]),
        ("B", &["t0p0", "t0p1"]),
        ("C", &["t1p0", "t1p1"]),
    ]);
    assert_eq!(group.assign(Assignor::Sticky), expected);
}
