//! Properties of the group coordinator state machine over random sequences of
//! joins, syncs, heartbeats, leaves, commits, session timeouts, append outcomes
//! and coordinator failovers.
//!
//! The coordinator (the real `GroupCoordinator`, through its public API) leads the
//! three `__consumer_offsets` partitions. It runs as a `CoordinatorNode` on the
//! shared test network (`kafkasim::testing`), which stands in for the broker
//! around it: appends are acknowledged in order or fail when a step says so, and
//! a failover builds a new coordinator from the acknowledged records. The test
//! plays four consumers of group
//! `orders-app`, which subscribe to topic `orders` (6 partitions). A consumer keeps
//! what the coordinator told it (member id, generation, whether it leads) and acts
//! on it as a client would; the group's leader computes the assignment with the
//! real assignor the coordinator chose. Some steps misbehave on purpose: commits
//! with a stale generation, another member's id, a made-up id, or from outside the
//! group (generation -1).
//!
//! After every call the coordinator's own invariants hold, and the test checks:
//! - **one owner per partition per generation**: each generation starts once, with
//!   the assignment its own leader sent, in which no partition has two owners;
//!   every SyncGroup answer hands a member exactly its share of what its
//!   generation's leader sent, and no two answers of one generation hand out the
//!   same partition;
//! - **fenced commits**: a commit is accepted only from a member of the current
//!   generation, in Stable or PreparingRebalance (or from outside the group when
//!   it is Empty), and otherwise refused with Kafka's code: UNKNOWN_MEMBER_ID,
//!   ILLEGAL_GENERATION or REBALANCE_IN_PROGRESS;
//! - **committed offsets**: OffsetFetch answers exactly the offsets of the commits
//!   that were answered NONE, the latest per partition, before and after failovers;
//! - **generations never go back** on one coordinator, and a failover keeps every
//!   generation that started. (A generation whose assignment was not yet persisted
//!   is lost with its coordinator, and its number is handed out again: Kafka
//!   persists a group only once the leader's assignment is in.)
//!
//! Cases: 128 by default (CI); `PROPTEST_CASES=5000 cargo test -p kafkasim --test
//! coordinator_properties` searches deeper. Failing cases are saved to
//! `tests/coordinator_properties.proptest-regressions` and replayed first.

use kafkasim::error::ErrorCode;
use kafkasim::group::coordinator::{GroupState, GroupSummary};
use kafkasim::ids::{NodeId, TopicPartition};
use kafkasim::protocol::*;
use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;

const GROUP: &str = "orders-app";
const TOPIC: &str = "orders";
const PARTITIONS: i32 = 6;
const CLIENTS: u8 = 4;
const OFFSETS_PARTITIONS: i32 = 3;
const SESSION_TIMEOUT_MS: u64 = 10_000;
const REBALANCE_TIMEOUT_MS: u64 = 30_000;
/// Offsets fetched by this client id, which never joins.
const ADMIN: u32 = 99;
/// Where the coordinator runs: in the broker leading `__consumer_offsets`.
const COORDINATOR: NodeId = NodeId::Broker(1);

fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn orders(partition: i32) -> TopicPartition {
    TopicPartition::new(TOPIC, partition)
}

// The world around the coordinator; the checker of the properties.
#[path = "coordinator_properties/checker.rs"]
mod checker;
#[path = "coordinator_properties/world.rs"]
mod world;

use checker::Reached;
use world::World;

// ---- Steps ----------------------------------------------------------------------------

/// Whose name a commit goes out under.
#[derive(Debug, Clone, Copy)]
enum CommitAs {
    /// The client's own member id and generation.
    Itself,
    /// Its own member id, the generation before its own.
    StaleGeneration,
    /// Another client's member id and generation.
    Other(u8),
    /// A member id the coordinator never gave, with the client's generation.
    MadeUp,
    /// From outside group management: no member id, generation -1.
    Outside,
}

#[derive(Debug, Clone)]
enum Step {
    /// The client does what a consumer would do next: join (again) when it has
    /// no generation or was told to rejoin, sync after a join, heartbeat once it
    /// has its assignment; nothing while an answer is outstanding.
    Poll {
        client: u8,
    },
    /// JoinGroup with the member id the client has (none at first).
    Join {
        client: u8,
    },
    /// SyncGroup in the client's generation; a leader sends the assignment.
    Sync {
        client: u8,
    },
    Heartbeat {
        client: u8,
    },
    Leave {
        client: u8,
    },
    Commit {
        client: u8,
        name: CommitAs,
        partition: u8,
    },
    /// OffsetFetch of every partition, checked against the model.
    Fetch,
    /// The client restarts: it forgets its member id and generation.
    Forget {
        client: u8,
    },
    Advance {
        ms: u32,
    },
    /// The broker acknowledges the oldest `count` appends in flight.
    AckAppends {
        count: u8,
    },
    /// Every append in flight fails (the partition's leader lost its ISR, say).
    FailAppends,
    /// The broker leading `__consumer_offsets` fails over: a new coordinator
    /// rebuilds the groups from the acknowledged records; requests and appends in
    /// flight are lost.
    Failover,
}

fn client() -> impl Strategy<Value = u8> {
    0..CLIENTS
}

fn commit_as() -> impl Strategy<Value = CommitAs> {
    prop_oneof![
        4 => Just(CommitAs::Itself),
        1 => Just(CommitAs::StaleGeneration),
        1 => client().prop_map(CommitAs::Other),
        1 => Just(CommitAs::MadeUp),
        1 => Just(CommitAs::Outside),
    ]
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        40 => client().prop_map(|client| Step::Poll { client }),
        1 => client().prop_map(|client| Step::Join { client }),
        1 => client().prop_map(|client| Step::Sync { client }),
        1 => client().prop_map(|client| Step::Heartbeat { client }),
        1 => client().prop_map(|client| Step::Leave { client }),
        8 => (client(), commit_as(), 0..PARTITIONS as u8)
            .prop_map(|(client, name, partition)| Step::Commit { client, name, partition }),
        3 => Just(Step::Fetch),
        1 => client().prop_map(|client| Step::Forget { client }),
        10 => prop_oneof![
            8 => 1..2_000u32,
            2 => 2_000..6_000u32,
            1 => 10_000..40_000u32,
        ]
        .prop_map(|ms| Step::Advance { ms }),
        8 => (1..4u8).prop_map(|count| Step::AckAppends { count }),
        1 => Just(Step::FailAppends),
        1 => Just(Step::Failover),
    ]
}

/// (`handleCommitOffsets` / `validateOffsetCommit` of the classic protocol).
fn expected_commit_error(
    group: Option<&GroupSummary>,
    member_id: &str,
    generation_id: i32,
) -> Option<ErrorCode> {
    let Some(group) = group else {
        // No group: only a commit from outside group management creates one.
        return (generation_id >= 0).then_some(ErrorCode::IllegalGeneration);
    };
    let is_member = group.members.iter().any(|m| m.member_id == member_id);
    if generation_id < 0 && group.state == GroupState::Empty {
        None
    } else if generation_id >= 0 || !member_id.is_empty() {
        if !is_member {
            Some(ErrorCode::UnknownMemberId)
        } else if generation_id != group.generation_id {
            Some(ErrorCode::IllegalGeneration)
        } else if group.state == GroupState::CompletingRebalance {
            Some(ErrorCode::RebalanceInProgress)
        } else {
            None
        }
    } else {
        Some(ErrorCode::UnknownMemberId)
    }
}

fn run(steps: &[Step]) -> Result<Reached, String> {
    let mut world = World::new()?;
    for (i, step) in steps.iter().enumerate() {
        world
            .run_step(step)
            .map_err(|e| format!("at step {i} ({step:?}), {} ms: {e}", world.now_ms()))?;
    }
    Ok(world.checker.reached)
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: cases(128),
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource("proptest-regressions"))),
        ..ProptestConfig::default()
    })]

    #[test]
    fn generations_have_one_owner_per_partition_and_only_current_members_commit(
        steps in proptest::collection::vec(step(), 1..200),
    ) {
        if let Err(why) = run(&steps) {
            return Err(TestCaseError::fail(why));
        }
    }
}

/// The random sequences must reach generations, syncs, accepted and refused
/// commits, failovers and session expiries: 64 cases from a fixed seed do.
#[test]
fn the_random_sequences_reach_generations_commits_failovers_and_expiries() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
    let mut runner = TestRunner::new_with_rng(
        Config::default(),
        TestRng::deterministic_rng(RngAlgorithm::ChaCha),
    );
    let case = proptest::collection::vec(step(), 1..200);
    let mut total = Reached::default();
    for _ in 0..64 {
        let steps = case.new_tree(&mut runner).expect("a case").current();
        total.add(run(&steps).expect("the properties hold"));
    }
    eprintln!("reached over 64 cases: {total:?}");
    assert!(total.generations >= 15, "{total:?}");
    assert!(total.syncs_checked >= 30, "{total:?}");
    assert!(total.commits_accepted >= 30, "{total:?}");
    assert!(total.commits_refused >= 30, "{total:?}");
    assert!(total.fetches_checked >= 30, "{total:?}");
    assert!(total.failovers >= 10, "{total:?}");
    assert!(total.session_expiries >= 10, "{total:?}");
}

/// Every rule of `expected_commit_error` is reached by a hand-made group.
#[test]
fn the_commit_oracle_follows_kafka_s_order_of_checks() {
    let group = |state, generation_id| GroupSummary {
        group_id: GROUP.into(),
        state,
        generation_id,
        protocol_name: None,
        leader: None,
        members: vec![kafkasim::group::coordinator::MemberSummary {
            member_id: "m-1".into(),
            group_instance_id: None,
            assignment: Assignment::default(),
        }],
    };
    let stable = group(GroupState::Stable, 3);
    let cases: [(Option<&GroupSummary>, &str, i32, Option<ErrorCode>); 7] = [
        (None, "", -1, None),
        (None, "m-1", 2, Some(ErrorCode::IllegalGeneration)),
        (Some(&stable), "m-1", 3, None),
        (Some(&stable), "m-1", 2, Some(ErrorCode::IllegalGeneration)),
        (Some(&stable), "m-2", 3, Some(ErrorCode::UnknownMemberId)),
        (Some(&stable), "", -1, Some(ErrorCode::UnknownMemberId)),
        (
            Some(&group(GroupState::CompletingRebalance, 3)),
            "m-1",
            3,
            Some(ErrorCode::RebalanceInProgress),
        ),
    ];
    for (group, member, generation, expected) in cases {
        assert_eq!(
            expected_commit_error(group, member, generation),
            expected,
            "{member} {generation} {group:?}"
        );
    }
}
