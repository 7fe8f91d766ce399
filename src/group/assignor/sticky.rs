//! The sticky target both sticky assignors compute: balanced first, sticky second.
//!
//! The model states the goal as a cost and finds the cheapest assignment. An
//! assignment costs, first, its imbalance (the sum of the squares of the members'
//! partition counts, smallest when counts are even) and second, the partitions
//! that are not with their previous owner (one nobody owned counts wherever it
//! goes). Imbalance always weighs more: one unit of it costs more than moving
//! every partition would.
//!
//! 1. **Keep.** Every partition goes back to its previous owner (the claim rules
//!    are in the parent module's docs).
//! 2. **Place.** Each unowned partition goes to the subscribed member holding the
//!    fewest partitions. The partitions with the fewest possible members go first,
//!    as in Kafka's `sortPartitions`, so the choosy ones still find room.
//! 3. **Improve.** While some cycle of hand-overs lowers the cost, apply it. The
//!    simplest cycle is one partition moving from a member with two more than
//!    another; longer ones pass partitions along a chain of members, which is how
//!    a member that cannot take the overloaded member's partitions still gets
//!    relief. Each cycle lowers the integer cost, so this ends.
//!
//! The problem is a min-cost flow (partitions flow to members; a member's k-th
//! partition costs `2k - 1` units of imbalance), and a flow with no cost-lowering
//! cycle is optimal. So the result is the most balanced assignment possible, and
//! among those the one that moves the fewest partitions. When all members
//! subscribe alike, counts differ by at most one, and a member gives up an owned
//! partition only if it owned more than `floor(total / members)`; it then keeps
//! at least that many, all of them owned ones.
//! Because the target is optimal, not just good enough, a rebalance that changes
//! nothing moves nothing, and the second rebalance of the cooperative protocol
//! keeps everything the first one left in place: it only adds what was held back.
//!
//! Simplification: Kafka's `AbstractStickyAssignor` gets there by heuristics (a
//! fast path when subscriptions are equal, otherwise single moves until no single
//! move improves balance, remembering older owners to break ties). The model's
//! result is at least as balanced, and as sticky as that balance allows, but it
//! may move other partitions than Kafka would.

use super::{kafka_order, subscribed_partitions, subscribes, Assignment, Member};
use crate::ids::TopicPartition;
use std::collections::btree_map::Entry;
use std::collections::{BTreeMap, BTreeSet};

/// The sticky assignment of `partitions_per_topic` to `members`.
pub(super) fn assign(
    members: &BTreeMap<String, Member>,
    partitions_per_topic: &BTreeMap<String, i32>,
) -> Assignment {
    let mut plan = Plan::new(members, partitions_per_topic);
    plan.place_unowned();
    let mut cost = plan.cost();
    while let Some(cycle) = plan.improving_cycle() {
        for hand_over in cycle {
            plan.hand_over(hand_over);
        }
        let lowered = plan.cost();
        assert!(
            lowered < cost,
            "an improving cycle lowers the cost: {cost} -> {lowered}"
        );
        cost = lowered;
    }
    plan.ids
        .iter()
        .zip(plan.held)
        .map(|(id, held)| (id.to_string(), held.into_iter().collect()))
        .collect()
}

/// Who owned each partition before this rebalance, as far as the assignor may
/// honour it: the claim must be on an existing partition of a topic the member
/// still subscribes to, and must carry the highest generation among the claims on
/// that partition, unshared.
fn previous_owners<'a>(
    members: &'a BTreeMap<String, Member>,
    partitions_per_topic: &BTreeMap<String, i32>,
) -> BTreeMap<TopicPartition, &'a str> {
    // partition -> (highest generation claimed, its claimant if only one).
    let mut claims: BTreeMap<TopicPartition, (i32, Option<&str>)> = BTreeMap::new();
    for (id, member) in members {
        let generation = member.subscription.generation_id;
        // A set, so a member listing a partition twice does not tie with itself.
        let listed: BTreeSet<&TopicPartition> =
            member.subscription.owned_partitions.iter().collect();
        for partition in listed {
            let count = partitions_per_topic
                .get(&partition.topic)
                .copied()
                .unwrap_or(0);
            if !(0..count).contains(&partition.partition) || !subscribes(member, &partition.topic) {
                continue;
            }
            match claims.entry(partition.clone()) {
                Entry::Vacant(entry) => {
                    entry.insert((generation, Some(id.as_str())));
                }
                Entry::Occupied(mut entry) => {
                    let (highest, _) = *entry.get();
                    if generation > highest {
                        entry.insert((generation, Some(id.as_str())));
                    } else if generation == highest {
                        entry.insert((highest, None));
                    }
                }
            }
        }
    }
    claims
        .into_iter()
        .filter_map(|(partition, (_, owner))| owner.map(|owner| (partition, owner)))
        .collect()
}

/// Before Kafka 2.3 (KIP-341, KAFKA-7026) the eager sticky assignor's user
/// data carried no generation: every member's list of what it owned was taken
/// as current, and a partition two members listed stayed with both. A member
/// that was dropped from the group (a long pause), whose partitions the group
/// gave to another, came back listing them, and both were assigned them. This
/// puts each partition claimed (on a topic its claimant still subscribes to)
/// back with every claimant.
pub(super) fn keep_every_claim(
    members: &BTreeMap<String, Member>,
    partitions_per_topic: &BTreeMap<String, i32>,
    assignment: &mut Assignment,
) {
    for (id, member) in members {
        for partition in &member.subscription.owned_partitions {
            let count = partitions_per_topic
                .get(&partition.topic)
                .copied()
                .unwrap_or(0);
            if (0..count).contains(&partition.partition) && subscribes(member, &partition.topic) {
                if let Some(held) = assignment.get_mut(id) {
                    held.push(partition.clone());
                }
            }
        }
    }
}

/// A sticky assignment in the making. Members are numbered in Kafka's order.
struct Plan<'a> {
    ids: Vec<&'a str>,
    /// Member -> the partitions it holds now.
    held: Vec<BTreeSet<TopicPartition>>,
    /// Partition -> the members subscribed to its topic, in member order.
    candidates: BTreeMap<TopicPartition, Vec<usize>>,
    /// Partition -> its previous owner, if the claim is valid.
    owners: BTreeMap<TopicPartition, usize>,
    /// The cost of one unit of imbalance: more than moving every partition.
    imbalance_weight: i64,
}

/// Member `from` gives `partition` to member `to`.
struct HandOver {
    from: usize,
    to: usize,
    partition: TopicPartition,
}

impl<'a> Plan<'a> {
    /// Step 1: every member holds what it validly owned.
    fn new(
        members: &'a BTreeMap<String, Member>,
        partitions_per_topic: &BTreeMap<String, i32>,
    ) -> Self {
        let ids = kafka_order(members);
        let index: BTreeMap<&str, usize> = (0..).zip(&ids).map(|(i, id)| (*id, i)).collect();
        let candidates: BTreeMap<TopicPartition, Vec<usize>> =
            subscribed_partitions(members, partitions_per_topic)
                .into_iter()
                .map(|partition| {
                    let subscribers = (0..ids.len())
                        .filter(|&m| subscribes(&members[ids[m]], &partition.topic))
                        .collect();
                    (partition, subscribers)
                })
                .collect();
        let owners: BTreeMap<TopicPartition, usize> =
            previous_owners(members, partitions_per_topic)
                .into_iter()
                .map(|(partition, owner)| (partition, index[owner]))
                .collect();
        let mut held = vec![BTreeSet::new(); ids.len()];
        for (partition, &owner) in &owners {
            held[owner].insert(partition.clone());
        }
        let imbalance_weight = candidates.len() as i64 + 1;
        Plan {
            ids,
            held,
            candidates,
            owners,
            imbalance_weight,
        }
    }

    /// Step 2: each unowned partition, choosiest first, to its least loaded
    /// candidate (the first in member order among equals).
    fn place_unowned(&mut self) {
        let mut unowned: Vec<(&TopicPartition, &Vec<usize>)> = self
            .candidates
            .iter()
            .filter(|(partition, _)| !self.owners.contains_key(*partition))
            .collect();
        unowned.sort_by_key(|(partition, members)| (members.len(), *partition));
        for (partition, members) in unowned {
            let least_loaded = members
                .iter()
                .copied()
                .min_by_key(|&m| self.held[m].len())
                .expect("a subscribed partition has a candidate");
            self.held[least_loaded].insert(partition.clone());
        }
    }

    /// 0 if `member` owned `partition` before, 1 if holding it means a move.
    fn moved(&self, partition: &TopicPartition, member: usize) -> i64 {
        i64::from(self.owners.get(partition) != Some(&member))
    }

    fn cost(&self) -> i64 {
        let counts = self.held.iter().map(|held| held.len() as i64);
        let imbalance: i64 = counts.map(|count| count * count).sum();
        let moved: i64 = (0..self.held.len())
            .flat_map(|m| {
                self.held[m]
                    .iter()
                    .map(move |partition| self.moved(partition, m))
            })
            .sum();
        imbalance * self.imbalance_weight + moved
    }

    fn hand_over(&mut self, hand_over: HandOver) {
        let HandOver {
            from,
            to,
            partition,
        } = hand_over;
        assert!(
            self.candidates[&partition].contains(&to),
            "{partition} only goes to a subscriber"
        );
        assert!(
            self.held[from].remove(&partition),
            "{partition} is held by its giver"
        );
        self.held[to].insert(partition);
    }
}

/// An edge of the hand-over graph: `partition` is `None` on edges to or from
/// the spare node, which move no partition by themselves.
struct Edge {
    from: usize,
    to: usize,
    cost: i64,
    partition: Option<TopicPartition>,
}

impl Plan<'_> {
    /// Step 3's search: a cycle of hand-overs that lowers the cost, if any.
    ///
    /// Bellman-Ford over the hand-over graph, from a virtual source linked to
    /// every node at cost 0: with no negative cycle, distances settle within one
    /// round per node; if some distance still drops after that, walking back
    /// along the edges that last improved each node leads into a negative cycle.
    fn improving_cycle(&self) -> Option<Vec<HandOver>> {
        let edges = self.hand_over_graph();
        let nodes = self.ids.len() + 1;
        let mut distance = vec![0_i64; nodes];
        // Node -> the index of the edge that last lowered its distance.
        let mut via: Vec<Option<usize>> = vec![None; nodes];
        let mut still_dropping = None;
        for _round in 0..=nodes {
            still_dropping = None;
            for (index, edge) in edges.iter().enumerate() {
                if distance[edge.from] + edge.cost < distance[edge.to] {
                    distance[edge.to] = distance[edge.from] + edge.cost;
                    via[edge.to] = Some(index);
                    still_dropping = Some(edge.to);
                }
            }
            // Settled: there is no negative cycle, so the plan is optimal.
            still_dropping?;
        }
        let reach_back = |node: usize| &edges[via[node].expect("a lowered node has an edge")];
        // `nodes` steps back from a node still dropping is surely on the cycle.
        let mut node = still_dropping.expect("distances kept dropping");
        for _ in 0..nodes {
            node = reach_back(node).from;
        }
        let start = node;
        let mut cycle = Vec::new();
        loop {
            let edge = reach_back(node);
            if let Some(partition) = &edge.partition {
                let partition = partition.clone();
                cycle.push(HandOver {
                    from: edge.from,
                    to: edge.to,
                    partition,
                });
            }
            node = edge.from;
            if node == start {
                break;
            }
        }
        assert!(
            !cycle.is_empty(),
            "a negative cycle hands over at least one partition"
        );
        Some(cycle)
    }

    /// The graph step 3 searches. Nodes are the members plus one more, the
    /// spare node, which stands for a change of count: an edge from it to member
    /// `a` means `a` ends with one partition fewer, an edge from `z` to it that `z`
    /// ends with one more. An edge from `a` to `b` is the cheapest partition `a`
    /// can give `b`. A cycle spare -> a -> ... -> z -> spare passes partitions
    /// along a chain from `a` to `z`; a cycle among members swaps them around.
    fn hand_over_graph(&self) -> Vec<Edge> {
        let spare = self.ids.len();
        let weight = self.imbalance_weight;
        let mut edges = Vec::new();
        for (a, held) in self.held.iter().enumerate() {
            // (count + 1)² - count² and (count - 1)² - count² units of imbalance.
            let count = held.len() as i64;
            let (to, cost) = (spare, (2 * count + 1) * weight);
            edges.push(Edge {
                from: a,
                to,
                cost,
                partition: None,
            });
            if count > 0 {
                let (from, cost) = (spare, -(2 * count - 1) * weight);
                edges.push(Edge {
                    from,
                    to: a,
                    cost,
                    partition: None,
                });
            }
            // Among equally cheap partitions the highest, so a member gives up its
            // last partitions first.
            let mut cheapest: BTreeMap<usize, (i64, &TopicPartition)> = BTreeMap::new();
            for partition in held.iter().rev() {
                for &b in &self.candidates[partition] {
                    let cost = self.moved(partition, b) - self.moved(partition, a);
                    if b != a && cheapest.get(&b).is_none_or(|(best, _)| cost < *best) {
                        cheapest.insert(b, (cost, partition));
                    }
                }
            }
            for (b, (cost, partition)) in cheapest {
                let partition = Some(partition.clone());
                edges.push(Edge {
                    from: a,
                    to: b,
                    cost,
                    partition,
                });
            }
        }
        edges
    }
}
