//! The consumer group chapters' outputs: the group scenarios run by the `kafkasim`
//! binary (through the helpers of `failures.rs`), and two tables computed with the
//! library's own functions: where a group's coordinator lives, and what each
//! assignor hands out.

use crate::failures::{grep_run, replay_excerpt, whole_run, ReplayFilter, Window};
use kafkasim::group::assignor::{Assignment, Assignor, Member};
use kafkasim::group::offsets_topic::{java_string_hash, partition_for_group};
use kafkasim::ids::TopicPartition;
use kafkasim::protocol::{Subscription, NO_GENERATION};
use std::collections::BTreeMap;
use std::fmt::Write as _;

// Queue or pub/sub: consumer groups.

/// Which `__consumer_offsets` partition, and so which coordinator, a few group ids
/// get: with the model's 3 partitions and with Kafka's default of 50.
pub(crate) fn group_coordinators() -> String {
    let mut out = String::from(
        "group.id         String.hashCode   partition of 3 (kafkasim)   partition of 50 (Kafka)\n",
    );
    for group in ["group-1", "group-2", "group-3", "billing", "audit-log"] {
        let _ = writeln!(
            out,
            "{group:<16} {:>15}   {:>25}   {:>23}",
            java_string_hash(group),
            partition_for_group(group, 3),
            partition_for_group(group, 50)
        );
    }
    out
}

pub(crate) fn member_joins_run() -> String {
    whole_run("member-joins")
}

/// consumer-2 finds the coordinator and joins; consumer-1 hears of the rebalance in
/// a heartbeat and rejoins; the leader's SyncGroup carries everyone's assignment.
pub(crate) fn member_joins_protocol() -> String {
    replay_excerpt(
        "member-joins",
        ReplayFilter {
            window: Some(Window {
                from: &["← client-7", "FindCoordinator request"],
                // Generation 2's answer to consumer-1: users-0 alone.
                until: &[
                    "client-5 ← broker-1",
                    "SyncGroup response",
                    "assigned [users-0]",
                ],
                ..Window::default()
            }),
            any_of: &[
                "FindCoordinator ",
                "JoinGroup ",
                "SyncGroup ",
                " Heartbeat ",
            ],
            ..ReplayFilter::default()
        },
    )
}

const TOPICS: [(&str, i32); 2] = [("orders", 3), ("users", 3)];

/// A member subscribing to every topic of `TOPICS`, owning `owned` since
/// `generation`.
fn member(owned: &[TopicPartition], generation: i32) -> Member {
    Member {
        group_instance_id: None,
        subscription: Subscription {
            topics: TOPICS.iter().map(|(t, _)| t.to_string()).collect(),
            owned_partitions: owned.to_vec(),
            generation_id: generation,
        },
    }
}

/// The members of the next generation: each current one reports what it owns,
/// plus `joining` owning nothing.
fn next_members(owned: &Assignment, generation: i32, joining: &[&str]) -> BTreeMap<String, Member> {
    let mut members: BTreeMap<String, Member> = owned
        .iter()
        .map(|(id, partitions)| (id.clone(), member(partitions, generation)))
        .collect();
    for id in joining {
        members.insert(id.to_string(), member(&[], NO_GENERATION));
    }
    members
}

/// One line per member, then what changed hands since `before`.
fn show_generation(out: &mut String, label: &str, before: &Assignment, after: &Assignment) {
    for (i, (id, partitions)) in after.iter().enumerate() {
        let names: Vec<String> = partitions.iter().map(ToString::to_string).collect();
        let label = if i == 0 { label } else { "" };
        let _ = writeln!(out, "  {label:<14}{id} [{}]", names.join(", "));
    }
    let owner = |assignment: &Assignment, tp: &TopicPartition| {
        assignment
            .iter()
            .find(|(_, partitions)| partitions.contains(tp))
            .map(|(id, _)| id.clone())
    };
    let mut changes = Vec::new();
    for (topic, count) in TOPICS {
        for p in 0..count {
            let tp = TopicPartition::new(topic, p);
            match (owner(before, &tp), owner(after, &tp)) {
                (Some(from), Some(to)) if from != to => {
                    changes.push(format!("{tp} moves from {from} to {to}"))
                }
                (Some(from), None) => {
                    changes.push(format!("{tp} is taken from {from} and given to nobody"))
                }
                (None, Some(to)) if !before.is_empty() => {
                    changes.push(format!("{tp} is given to {to}"))
                }
                _ => {}
            }
        }
    }
    if before.is_empty() {
        return;
    }
    if changes.is_empty() {
        changes.push("nothing moves".to_string());
    }
    for change in changes {
        let _ = writeln!(out, "  {:<14}{change}", "");
    }
}

/// Every assignor on the same group: topics orders and users with 3 partitions each;
/// consumer-1 and consumer-2 form generation 1, consumer-3 joins for generation 2,
/// each member reporting what it owned. Cooperative-sticky needs a generation 3.
pub(crate) fn assignors() -> String {
    let topics: BTreeMap<String, i32> = TOPICS.iter().map(|(t, n)| (t.to_string(), *n)).collect();
    let mut out = String::from(
        "topics orders and users, 3 partitions each; every member subscribes to both\n\
         generation 1: consumer-1 and consumer-2; generation 2: consumer-3 joins\n",
    );
    for assignor in Assignor::ALL {
        let _ = writeln!(out, "\n{}", assignor.name());
        let none = Assignment::new();
        let first = assignor.assign(
            &next_members(&none, 0, &["consumer-1", "consumer-2"]),
            &topics,
        );
        show_generation(&mut out, "generation 1", &none, &first);
        let second = assignor.assign(&next_members(&first, 1, &["consumer-3"]), &topics);
        show_generation(&mut out, "generation 2", &first, &second);
        if assignor.is_cooperative() {
            let third = assignor.assign(&next_members(&second, 2, &[]), &topics);
            show_generation(&mut out, "generation 3", &second, &third);
        }
    }
    out
}

// Rebalancing, generations and zombies.

pub(crate) fn consumer_crash_run() -> String {
    whole_run("consumer-crash")
}

pub(crate) fn zombie_consumer() -> String {
    grep_run(
        "zombie-consumer",
        &[
            "group-1:",
            "consumer-2",
            "b1 (",
            "processed-again",
            "verdict",
        ],
    )
}

/// What the zombie says to its coordinator when it wakes up, and what it is told.
pub(crate) fn zombie_fencing() -> String {
    replay_excerpt(
        "zombie-consumer",
        ReplayFilter {
            window: Some(Window {
                from: &["broker-1 ← client-7", "FindCoordinator request"],
                until: &["event: group group-1: rebalance", "client-7-2"],
                ..Window::default()
            }),
            any_of: &["client-7", "rejected"],
            none_of: &["Metadata ", "client-7 event"],
            ..ReplayFilter::default()
        },
    )
}

pub(crate) fn coordinator_crash() -> String {
    grep_run(
        "coordinator-crash",
        &[
            "group-1",
            "crashed",
            "broker-1 fenced",
            "leader broker-2, leader epoch 1",
            "b0 (",
            "b1 (",
            "verdict",
        ],
    )
}

/// While broker-1 is down, FindCoordinator still names it; once the controller has
/// moved the partition, it names broker-2, which knows the member at once.
pub(crate) fn coordinator_failover() -> String {
    let mut out = replay_excerpt(
        "coordinator-crash",
        ReplayFilter {
            window: Some(Window {
                after: &["fault broker-1: crashed"],
                from: &["client-7 cannot connect broker-1"],
                until: &["client-7 ← broker-2", "FindCoordinator response"],
            }),
            any_of: &["FindCoordinator ", "cannot connect"],
            all_of: &["client-7"],
            ..ReplayFilter::default()
        },
    );
    out.push_str(&replay_excerpt(
        "coordinator-crash",
        ReplayFilter {
            window: Some(Window {
                from: &["event: coordinator of __consumer_offsets-", ": loaded"],
                until: &["client-7 ← broker-2", "Heartbeat response"],
                ..Window::default()
            }),
            any_of: &[": loaded", "FindCoordinator ", " Heartbeat "],
            none_of: &["client-6"],
            ..ReplayFilter::default()
        },
    ));
    out
}

// Committed offsets and delivery semantics.

/// One commit, from the request to its answer: it is a record appended to
/// `__consumer_offsets-2`, replicated like any other, and answered once committed.
pub(crate) fn commit_record() -> String {
    replay_excerpt(
        "commit-after-processing",
        ReplayFilter {
            window: Some(Window {
                from: &["OffsetCommit request"],
                until: &["OffsetCommit response"],
                ..Window::default()
            }),
            any_of: &[
                "OffsetCommit ",
                ") committed ",
                "[offset/",
                "to __consumer_offsets-2 at",
                "of __consumer_offsets-2 now",
            ],
            ..ReplayFilter::default()
        },
    )
}

pub(crate) fn commit_after_processing_run() -> String {
    whole_run("commit-after-processing")
}

pub(crate) fn commit_before_processing() -> String {
    grep_run(
        "commit-before-processing",
        &["consumer-", "generation", "never-processed", "verdict"],
    )
}

/// Where consumer-2 starts: the committed offset it is given, in each run.
pub(crate) fn committed_offsets_read() -> String {
    let mut out = String::new();
    for name in ["commit-after-processing", "commit-before-processing"] {
        out.push_str(&replay_excerpt(
            name,
            ReplayFilter {
                any_of: &["OffsetFetch response"],
                all_of: &["client-7"],
                ..ReplayFilter::default()
            },
        ));
    }
    out
}
