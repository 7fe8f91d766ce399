//! The one place where the group's leader member calls an assignor.
//!
//! In Kafka's classic protocol the coordinator does not decide who reads what:
//! it hands the leader member every member's subscription, the leader runs the
//! assignor the group chose (`range`, `roundrobin`, `sticky`,
//! `cooperative-sticky`, from [`crate::group::assignor`]) and sends the result
//! back in its SyncGroup.

use crate::bugs::Bugs;
use crate::group::assignor::Assignor;
use crate::ids::TopicPartition;
use crate::rules::Rules;
use std::collections::BTreeMap;

pub(super) use crate::group::assignor::Member;

/// Runs the assignor named `name` (with the consumer's `rules`) over the members' subscriptions and the
/// partition count of each subscribed topic the leader knows. Every member gets
/// an entry, possibly empty. `Err` says why the assignment cannot be made.
pub(super) fn run_assignor(
    rules: &Rules,
    name: &str,
    members: &BTreeMap<String, Member>,
    partitions_per_topic: &BTreeMap<String, i32>,
    bugs: Bugs,
) -> Result<BTreeMap<String, Vec<TopicPartition>>, String> {
    Assignor::from_name(name)
        .map(|assignor| assignor.assign_with(rules, members, partitions_per_topic, bugs))
        .ok_or_else(|| format!("the group chose unknown assignor {name}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::Subscription;

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
    fn the_leader_runs_the_assignor_the_group_chose() {
        let members = BTreeMap::from([
            ("a".to_string(), member(&["t"])),
            ("b".to_string(), member(&["t"])),
        ]);
        let counts = BTreeMap::from([("t".to_string(), 3)]);
        let range =
            run_assignor(&Rules::KAFKA, "range", &members, &counts, Bugs::NONE).expect("assigned");
        assert_eq!(
            range["a"],
            vec![TopicPartition::new("t", 0), TopicPartition::new("t", 1)]
        );
        assert_eq!(range["b"], vec![TopicPartition::new("t", 2)]);
        let roundrobin = run_assignor(&Rules::KAFKA, "roundrobin", &members, &counts, Bugs::NONE)
            .expect("assigned");
        assert_eq!(
            roundrobin["a"],
            vec![TopicPartition::new("t", 0), TopicPartition::new("t", 2)]
        );
    }

    #[test]
    fn an_unknown_assignor_is_refused() {
        assert!(run_assignor(
            &Rules::KAFKA,
            "magic",
            &BTreeMap::new(),
            &BTreeMap::new(),
            Bugs::NONE
        )
        .is_err());
    }
}
