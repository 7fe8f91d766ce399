//! The one place where the group's leader member calls an assignor.
//!
//! In Kafka's classic protocol the coordinator does not decide who reads what:
//! it hands the leader member every member's subscription, the leader runs the
//! assignor the group chose (`range`, `roundrobin`, `sticky`,
//! `cooperative-sticky`) and sends the result back in its SyncGroup.
//!
//! TEMPORARY: the real assignors live in `crate::group::assignor`, written
//! separately. Until they are merged, [`run_assignor`] answers every name with
//! a plain range assignment, so the membership protocol can be built and tested
//! on its own. Swapping in the real ones replaces the body of `run_assignor`
//! with
//! `crate::group::assignor::Assignor::from_name(name).map(|a| a.assign(members, partitions_per_topic)).ok_or_else(|| format!("unknown assignor {name}"))`
//! and `Member` with `pub(super) use crate::group::assignor::Member;`.

use crate::ids::TopicPartition;
use crate::protocol::Subscription;
use std::collections::BTreeMap;

/// A group member as the assignor sees it (same shape as
/// `crate::group::assignor::Member`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Member {
    pub group_instance_id: Option<String>,
    pub subscription: Subscription,
}

/// Runs the assignor named `name` over the members' subscriptions and the
/// partition count of each subscribed topic the leader knows. Every member gets
/// an entry, possibly empty. `Err` says why the assignment cannot be made.
pub(super) fn run_assignor(
    name: &str,
    members: &BTreeMap<String, Member>,
    partitions_per_topic: &BTreeMap<String, i32>,
) -> Result<BTreeMap<String, Vec<TopicPartition>>, String> {
    if !super::config::ASSIGNMENT_STRATEGIES.contains(&name) {
        return Err(format!("the group chose unknown assignor {name}"));
    }
    Ok(temporary_range(members, partitions_per_topic))
}

/// Kafka's `RangeAssignor`, short: per topic, the subscribed members in member
/// id order each take a contiguous range; the first `partitions % members` take
/// one more. Topics the leader has no partition count for are not assigned.
fn temporary_range(
    members: &BTreeMap<String, Member>,
    partitions_per_topic: &BTreeMap<String, i32>,
) -> BTreeMap<String, Vec<TopicPartition>> {
    let mut assignment: BTreeMap<String, Vec<TopicPartition>> =
        members.keys().map(|id| (id.clone(), Vec::new())).collect();
    for (topic, &count) in partitions_per_topic {
        let subscribers: Vec<&String> = members
            .iter()
            .filter(|(_, m)| m.subscription.topics.contains(topic))
            .map(|(id, _)| id)
            .collect();
        if subscribers.is_empty() {
            continue;
        }
        let n = subscribers.len() as i32;
        let (per_member, extra) = (count / n, count % n);
        for (i, member) in subscribers.into_iter().enumerate() {
            let i = i as i32;
            let start = per_member * i + i.min(extra);
            let length = per_member + i32::from(i < extra);
            let partitions =
                (start..start + length).map(|p| TopicPartition::new(topic.as_str(), p));
            assignment
                .get_mut(member)
                .expect("every member has an entry")
                .extend(partitions);
        }
    }
    assignment
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(topics: &[&str]) -> Member {
        Member {
            group_instance_id: None,
            subscription: Subscription {
                topics: topics.iter().map(|t| t.to_string()).collect(),
                owned_partitions: vec![],
                generation_id: -1,
            },
        }
    }

    #[test]
    fn range_gives_the_first_members_one_partition_more() {
        let members = BTreeMap::from([
            ("a".to_string(), member(&["t"])),
            ("b".to_string(), member(&["t"])),
        ]);
        let counts = BTreeMap::from([("t".to_string(), 3)]);
        let result = run_assignor("range", &members, &counts).expect("assigned");
        assert_eq!(
            result["a"],
            vec![TopicPartition::new("t", 0), TopicPartition::new("t", 1)]
        );
        assert_eq!(result["b"], vec![TopicPartition::new("t", 2)]);
    }

    #[test]
    fn an_unknown_assignor_is_refused() {
        assert!(run_assignor("magic", &BTreeMap::new(), &BTreeMap::new()).is_err());
    }
}
