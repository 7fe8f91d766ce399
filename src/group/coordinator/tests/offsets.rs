//! OffsetCommit fencing and durability, and OffsetFetch.

use super::*;

fn rejections(sim: &Sim) -> Vec<ErrorCode> {
    sim.events
        .iter()
        .filter_map(|e| match e {
            GroupEvent::CommitRejected { error, .. } => Some(*error),
            _ => None,
        })
        .collect()
}

#[test]
fn a_commit_is_answered_only_once_its_append_is_done() {
    let mut sim = Sim::new();
    let generation = sim.stable_group(&[1, 2]);
    let cid = sim.commit(1, generation.member(1), 1, &[(0, 42), (2, 7)]);
    assert!(sim.answer(cid).is_none());
    assert_eq!(
        sim.committed(&[0, 2]),
        [-1, -1],
        "not visible before it is committed"
    );
    sim.ack_appends();
    assert_eq!(sim.commit_answer(cid), [ErrorCode::None, ErrorCode::None]);
    assert_eq!(sim.committed(&[0, 2]), [42, 7]);
    assert!(sim.events.contains(&GroupEvent::OffsetCommitted {
        group: GROUP.into(),
        member_id: generation.member(1).into(),
        generation_id: 1,
        partition: orders(0),
        offset: 42,
    }));
}

#[test]
fn offset_fetch_returns_committed_offsets_and_minus_one_for_the_rest() {
    let mut sim = Sim::new();
    let generation = sim.stable_group(&[1]);
    let cid = sim.commit(1, generation.member(1), 1, &[(1, 10), (3, 30)]);
    sim.ack_appends();
    sim.commit_answer(cid);
    let some = sim.fetch(GROUP, Some(&[1, 2]));
    assert_eq!(some.error_code, ErrorCode::None);
    let found: Vec<(TopicPartition, Offset, Option<i32>)> = some
        .partitions
        .iter()
        .map(|p| {
            (
                p.partition.clone(),
                p.committed_offset,
                p.committed_leader_epoch,
            )
        })
        .collect();
    assert_eq!(found, [(orders(1), 10, Some(0)), (orders(2), -1, None)]);
    let all: Vec<(TopicPartition, Offset)> = sim
        .fetch(GROUP, None)
        .partitions
        .iter()
        .map(|p| (p.partition.clone(), p.committed_offset))
        .collect();
    assert_eq!(all, [(orders(1), 10), (orders(3), 30)]);
    let unknown = sim.fetch("no-such-group", Some(&[0]));
    assert_eq!(
        (unknown.error_code, unknown.partitions[0].committed_offset),
        (ErrorCode::None, -1)
    );
}

#[test]
fn a_commit_from_a_stale_generation_gets_illegal_generation() {
    let mut sim = Sim::new();
    let generation = sim.stable_group(&[1, 2]);
    // Member 1 rejoins alone after member 2's session ran out: generation 2.
    sim.advance(SESSION_TIMEOUT_MS - 1);
    sim.heartbeat(1, generation.member(1), 1);
    sim.advance(1);
    let cid = sim.join(1, generation.member(1));
    assert_eq!(sim.join_answer(cid).generation_id, 2);
    let cid = sim.commit(1, generation.member(1), 1, &[(0, 5)]);
    assert_eq!(sim.commit_answer(cid), [ErrorCode::IllegalGeneration]);
    assert_eq!(rejections(&sim), [ErrorCode::IllegalGeneration]);
    assert!(sim.in_flight.is_empty(), "nothing is written");
}

#[test]
fn a_commit_from_an_unknown_member_gets_unknown_member_id() {
    let mut sim = Sim::new();
    let generation = sim.stable_group(&[1, 2]);
    // The zombie: evicted for silence, it still commits what it processed.
    sim.advance(SESSION_TIMEOUT_MS - 1);
    sim.heartbeat(1, generation.member(1), 1);
    sim.advance(1);
    assert_eq!(sim.state(), GroupState::PreparingRebalance);
    let cid = sim.commit(2, generation.member(2), 1, &[(3, 99)]);
    assert_eq!(sim.commit_answer(cid), [ErrorCode::UnknownMemberId]);
    assert_eq!(rejections(&sim), [ErrorCode::UnknownMemberId]);
}

#[test]
fn a_commit_during_completing_rebalance_gets_rebalance_in_progress() {
    let mut sim = Sim::new();
    let (generation, _) = sim.join_all(&[1, 2]);
    let cid = sim.commit(2, generation.member(2), 1, &[(0, 1)]);
    assert_eq!(sim.commit_answer(cid), [ErrorCode::RebalanceInProgress]);
}

#[test]
fn a_commit_from_the_ending_generation_is_accepted_during_preparing_rebalance() {
    let mut sim = Sim::new();
    let generation = sim.stable_group(&[1, 2]);
    sim.join(1, generation.member(1));
    assert_eq!(sim.state(), GroupState::PreparingRebalance);
    let cid = sim.commit(2, generation.member(2), 1, &[(3, 12)]);
    sim.ack_appends();
    assert_eq!(sim.commit_answer(cid), [ErrorCode::None]);
}

#[test]
fn a_simple_commit_with_generation_minus_one_creates_an_empty_group() {
    let mut sim = Sim::new();
    let cid = sim.commit(1, UNKNOWN_MEMBER_ID, NO_GENERATION, &[(0, 8)]);
    sim.ack_appends();
    assert_eq!(sim.commit_answer(cid), [ErrorCode::None]);
    assert_eq!(sim.committed(&[0]), [8]);
    let summary = sim.describe();
    assert_eq!(
        (summary.state, summary.generation_id),
        (GroupState::Empty, 0)
    );
    // Simple commits keep working on the Empty group.
    let cid = sim.commit(1, UNKNOWN_MEMBER_ID, NO_GENERATION, &[(0, 9)]);
    sim.ack_appends();
    assert_eq!(sim.commit_answer(cid), [ErrorCode::None]);
}

#[test]
fn a_simple_commit_to_a_group_with_members_gets_unknown_member_id() {
    let mut sim = Sim::new();
    sim.stable_group(&[1]);
    let cid = sim.commit(2, UNKNOWN_MEMBER_ID, NO_GENERATION, &[(0, 8)]);
    assert_eq!(sim.commit_answer(cid), [ErrorCode::UnknownMemberId]);
}

#[test]
fn a_commit_naming_a_generation_of_a_group_that_does_not_exist_gets_illegal_generation() {
    let mut sim = Sim::new();
    let cid = sim.commit(1, "client-1-0", 3, &[(0, 8)]);
    assert_eq!(sim.commit_answer(cid), [ErrorCode::IllegalGeneration]);
    assert!(sim.coordinator.describe(GROUP).is_none());
}

#[test]
fn commits_check_neither_ownership_nor_that_offsets_grow() {
    let mut sim = Sim::new();
    let generation = sim.stable_group(&[1, 2]);
    let owned_by_2 = sim.describe().members[1].assignment.partitions[0].partition;
    for offset in [50, 20] {
        let cid = sim.commit(1, generation.member(1), 1, &[(owned_by_2, offset)]);
        sim.ack_appends();
        assert_eq!(sim.commit_answer(cid), [ErrorCode::None]);
    }
    assert_eq!(sim.committed(&[owned_by_2]), [20]);
}

#[test]
fn a_failed_commit_append_answers_an_error_and_stores_nothing() {
    let mut sim = Sim::new();
    let generation = sim.stable_group(&[1]);
    let cases = [
        (ErrorCode::NotLeaderOrFollower, ErrorCode::NotCoordinator),
        (
            ErrorCode::NotEnoughReplicas,
            ErrorCode::CoordinatorNotAvailable,
        ),
        (ErrorCode::RequestTimedOut, ErrorCode::RequestTimedOut),
    ];
    for (append_error, answered) in cases {
        let cid = sim.commit(1, generation.member(1), 1, &[(0, 5)]);
        sim.fail_appends(append_error);
        assert_eq!(sim.commit_answer(cid), [answered]);
        assert!(sim.events.iter().any(|e| matches!(e,
            GroupEvent::CommitAppendFailed { error, .. } if *error == answered)));
    }
    assert_eq!(sim.committed(&[0]), [-1]);
}

#[test]
fn a_commit_of_no_partitions_is_answered_at_once() {
    let mut sim = Sim::new();
    let generation = sim.stable_group(&[1]);
    let cid = sim.commit(1, generation.member(1), 1, &[]);
    assert_eq!(sim.commit_answer(cid), []);
    assert!(sim.in_flight.is_empty());
}
