//! SyncGroup: the leader's assignment, persisted before anyone gets it.

use super::*;

#[test]
fn a_followers_sync_waits_for_the_leaders_assignment_to_be_persisted() {
    let mut sim = Sim::new();
    let (generation, _) = sim.join_all(&[1, 2]);
    let (leader, follower) = (
        generation.member(1).to_string(),
        generation.member(2).to_string(),
    );
    let follower_sync = sim.sync(2, &follower, 1, &[]);
    assert!(sim.answer(follower_sync).is_none(), "no assignment yet");
    let plan: [(&str, &[i32]); 2] = [(&leader, &[0, 1, 2]), (&follower, &[3, 4, 5])];
    let leader_sync = sim.sync(1, &leader, 1, &plan);
    assert!(
        sim.answer(leader_sync).is_none(),
        "answered once the append is committed"
    );
    assert!(sim.answer(follower_sync).is_none());
    assert_eq!(
        sim.in_flight.len(),
        1,
        "the assignment is appended as group metadata"
    );
    assert_eq!(sim.state(), GroupState::CompletingRebalance);

    sim.ack_appends();
    let leader_answer = sim.sync_answer(leader_sync);
    let follower_answer = sim.sync_answer(follower_sync);
    assert_eq!(leader_answer.error_code, ErrorCode::None);
    assert_eq!(
        leader_answer.assignment.partitions,
        [orders(0), orders(1), orders(2)]
    );
    assert_eq!(
        follower_answer.assignment.partitions,
        [orders(3), orders(4), orders(5)]
    );
    assert_eq!(sim.state(), GroupState::Stable);
    assert!(sim.events.contains(&GroupEvent::GenerationStarted {
        group: GROUP.into(),
        generation_id: 1,
        leader: leader.clone(),
        members: BTreeMap::from([
            (leader, vec![orders(0), orders(1), orders(2)]),
            (follower, vec![orders(3), orders(4), orders(5)]),
        ]),
    }));
}

#[test]
fn members_the_leader_left_out_get_an_empty_assignment() {
    let mut sim = Sim::new();
    let (generation, _) = sim.join_all(&[1, 2]);
    let leader = generation.member(1).to_string();
    let plan: [(&str, &[i32]); 2] = [(&leader, &[0]), ("not-a-member", &[1])];
    let leader_sync = sim.sync(1, &leader, 1, &plan);
    let follower_sync = sim.sync(2, generation.member(2), 1, &[]);
    sim.ack_appends();
    assert_eq!(
        sim.sync_answer(leader_sync).assignment.partitions,
        [orders(0)]
    );
    assert_eq!(
        sim.sync_answer(follower_sync).assignment,
        Assignment::default()
    );
}

#[test]
fn a_sync_in_a_stable_group_answers_the_members_current_assignment() {
    let mut sim = Sim::new();
    let generation = sim.stable_group(&[1, 2]);
    let cid = sim.sync(2, generation.member(2), 1, &[]);
    let answer = sim.sync_answer(cid);
    assert_eq!(answer.error_code, ErrorCode::None);
    assert_eq!(
        answer.assignment.partitions,
        sim.describe().members[1].assignment.partitions
    );
}

#[test]
fn a_failed_assignment_append_answers_the_syncs_with_an_error_and_rebalances() {
    let mut sim = Sim::new();
    let (generation, _) = sim.join_all(&[1, 2]);
    let syncs = [
        sim.sync(2, generation.member(2), 1, &[]),
        sim.sync(1, generation.member(1), 1, &[]),
    ];
    sim.fail_appends(ErrorCode::NotEnoughReplicas);
    for cid in syncs {
        assert_eq!(
            sim.sync_answer(cid).error_code,
            ErrorCode::CoordinatorNotAvailable
        );
    }
    assert_eq!(sim.state(), GroupState::PreparingRebalance);

    // The next generation's append fails because leadership moved: NOT_COORDINATOR.
    let rejoins: Vec<CorrelationId> = generation
        .members
        .iter()
        .map(|(c, m)| sim.join(*c, m))
        .collect();
    let answers: Vec<JoinGroupResponse> = rejoins
        .into_iter()
        .map(|cid| sim.join_answer(cid))
        .collect();
    assert!(answers.iter().all(|a| a.generation_id == 2));
    let cid = sim.sync(1, generation.member(1), 2, &[]);
    sim.fail_appends(ErrorCode::NotLeaderOrFollower);
    assert_eq!(sim.sync_answer(cid).error_code, ErrorCode::NotCoordinator);
}

#[test]
fn a_sync_during_preparing_rebalance_gets_rebalance_in_progress() {
    let mut sim = Sim::new();
    let generation = sim.stable_group(&[1, 2]);
    sim.join(1, generation.member(1));
    let cid = sim.sync(2, generation.member(2), 1, &[]);
    assert_eq!(
        sim.sync_answer(cid).error_code,
        ErrorCode::RebalanceInProgress
    );
}

#[test]
fn a_sync_parked_when_a_rebalance_starts_gets_rebalance_in_progress() {
    let mut sim = Sim::new();
    let (generation, _) = sim.join_all(&[1, 2]);
    let follower_sync = sim.sync(2, generation.member(2), 1, &[]);
    let id = sim.member_id_for(3);
    sim.join(3, &id);
    assert_eq!(
        sim.sync_answer(follower_sync).error_code,
        ErrorCode::RebalanceInProgress
    );
    assert_eq!(sim.state(), GroupState::PreparingRebalance);
}

#[test]
fn a_sync_from_a_stale_generation_or_an_unknown_member_is_fenced() {
    let mut sim = Sim::new();
    let generation = sim.stable_group(&[1, 2]);
    let cid = sim.sync(2, generation.member(2), 0, &[]);
    assert_eq!(
        sim.sync_answer(cid).error_code,
        ErrorCode::IllegalGeneration
    );
    let cid = sim.sync(3, "client-3-9", 1, &[]);
    assert_eq!(sim.sync_answer(cid).error_code, ErrorCode::UnknownMemberId);
}

#[test]
fn a_leader_whose_assignment_arrives_after_a_new_rebalance_started_changes_nothing() {
    let mut sim = Sim::new();
    let (generation, _) = sim.join_all(&[1, 2]);
    let leader_sync = sim.sync(1, generation.member(1), 1, &[(generation.member(1), &[0])]);
    // A member leaves before the append is committed: the group rebalances.
    assert_eq!(sim.leave(2, generation.member(2)), ErrorCode::None);
    assert_eq!(
        sim.sync_answer(leader_sync).error_code,
        ErrorCode::RebalanceInProgress
    );
    sim.ack_appends();
    assert_eq!(sim.state(), GroupState::PreparingRebalance);
    assert!(sim.describe().members[0].assignment.partitions.is_empty());
}
